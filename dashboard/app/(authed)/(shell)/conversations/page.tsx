'use client';
// conversations/page.tsx — the live list and, with ?c=<id>, the thread: side by
// side on a desktop, one at a time on a phone.
import { useSearchParams } from 'next/navigation';
import { Suspense } from 'react';
import { ConversationList } from '../../../../components/ConversationList';
import { NotificationPrompt } from '../../../../components/NotificationPrompt';
import { ThreadView } from '../../../../components/ThreadView';

function Conversations() {
  const selected = useSearchParams()?.get('c') ?? null;
  return (
    <div className={`conversations${selected ? ' has-thread' : ''}`}>
      <div className="conv-pane">
        <h1>Conversations</h1>
        <NotificationPrompt />
        <ConversationList selectedId={selected} />
      </div>
      {selected ? <ThreadView key={selected} id={selected} /> : <div className="thread thread-empty"><p className="empty">Pick a conversation.</p></div>}
    </div>
  );
}

export default function ConversationsPage() {
  return <Suspense fallback={<p className="page-loading">Loading…</p>}><Conversations /></Suspense>;
}
