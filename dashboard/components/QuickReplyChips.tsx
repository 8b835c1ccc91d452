'use client';
// QuickReplyChips.tsx — the owner's saved texts as a row of buttons above the
// composer, rendered by the server for this conversation's customer (GET
// /api/quick-replies?conversation=); a tap hands the text to the composer to
// edit and send. The row keeps one height whatever loads, so nothing moves.
import Link from 'next/link';
import { useEffect, useState } from 'react';
import { sortQuickReplies } from '../lib/quickReplies';
import type { QuickReply } from '../lib/types';
import { useSession } from './SessionProvider';

export function QuickReplyChips({ conversationId, onPick }: { conversationId: string | null; onPick: (text: string) => void }) {
  const { api } = useSession();
  const [items, setItems] = useState<QuickReply[] | null>(null);

  useEffect(() => {
    let live = true;
    api.quickReplies(conversationId).then((r) => { if (live) setItems(sortQuickReplies(r.quick_replies)); }).catch(() => { if (live) setItems([]); });
    return () => { live = false; };
  }, [api, conversationId]);

  return (
    <div className="quick-replies" role="group" aria-label="Quick replies">
      {(items ?? []).map((q) => (
        <button key={q.id} type="button" className="chip" data-quick-reply={q.id} title={q.text}
          aria-label={`Quick reply: ${q.label}`} onClick={() => onPick(q.text)}>{q.label}</button>
      ))}
      {items && <Link href="/settings#quick-replies" className="chip-edit">{items.length ? 'Edit' : 'Add quick replies'}</Link>}
    </div>
  );
}
