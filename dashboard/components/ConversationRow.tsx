// ConversationRow.tsx — one conversation in the list: customer, the last
// message (or who wrote it, until its text is fetched), time, mode badge and,
// in the human window, the countdown. Fixed height: rows never reflow.
import Link from 'next/link';
import { authorLabel, formatPhone, timeAgo } from '../lib/format';
import type { Conversation } from '../lib/types';
import { Countdown } from './Countdown';
import { ModeBadge } from './ModeBadge';

interface Props { conversation: Conversation; selected: boolean; serverNow: () => number }

export function ConversationRow({ conversation: c, selected, serverNow }: Props) {
  const who = c.customer?.name || formatPhone(c.customer?.phone) || 'New caller';
  const last = c.last_message;
  const preview = last ? (last.body ?? `${authorLabel(last.author)} wrote…`) : 'Missed call';
  return (
    <li className={`conv-row${selected ? ' selected' : ''}`} data-conversation={c.id} data-mode={c.state === 'closed' ? 'closed' : c.mode}>
      <Link href={`/conversations?c=${c.id}`} aria-current={selected ? 'true' : undefined} className="conv-link">
        <span className="conv-top">
          <span className="conv-who">{who}</span>
          <span className="conv-time">{timeAgo(c.last_message_at ?? c.created_at, serverNow())}</span>
        </span>
        <span className="conv-bottom">
          <span className="conv-preview">{last && last.author !== 'customer' ? `${authorLabel(last.author)}: ` : ''}{preview}</span>
          <span className="conv-state">
            {c.state === 'open' && c.mode === 'human_window' && <Countdown deadline={c.human_window_deadline} serverNow={serverNow} compact />}
            <ModeBadge conversation={c} />
          </span>
        </span>
      </Link>
    </li>
  );
}
