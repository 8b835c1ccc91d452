// ModeBadge.tsx — the conversation's mode as a coloured badge with words (not
// colour alone): waiting, your turn (human window), AI, you (taken over), closed.
import { MODE_HELP, MODE_LABEL } from '../lib/format';
import type { Conversation } from '../lib/types';

export function ModeBadge({ conversation }: { conversation: Pick<Conversation, 'mode' | 'state'> }) {
  const key = conversation.state === 'closed' ? 'closed' : conversation.mode;
  return (
    <span className={`badge badge-${key}`} title={MODE_HELP[key]} data-mode={key}>
      {MODE_LABEL[key]}
    </span>
  );
}
