'use client';
// conversations/page.tsx — the live list and, with ?c=<id>, the thread: side by
// side on a desktop, one at a time on a phone. "New text" above the list opens
// a small form to text any number (components/NewTextForm.tsx).
import { useSearchParams } from 'next/navigation';
import { Suspense, useState } from 'react';
import { ConversationList } from '../../../../components/ConversationList';
import { NewTextForm } from '../../../../components/NewTextForm';
import { NotificationPrompt } from '../../../../components/NotificationPrompt';
import { ThreadView } from '../../../../components/ThreadView';

function Conversations() {
  const selected = useSearchParams()?.get('c') ?? null;
  const [composing, setComposing] = useState(false);
  return (
    <div className={`conversations${selected ? ' has-thread' : ''}`}>
      <div className="conv-pane">
        <div className="conv-head">
          <h1>Conversations</h1>
          <button type="button" className="primary" aria-expanded={composing} aria-controls={composing ? 'new-text' : undefined}
            onClick={() => setComposing(!composing)}>New text</button>
        </div>
        {composing && <div id="new-text"><NewTextForm onClose={() => setComposing(false)} /></div>}
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
