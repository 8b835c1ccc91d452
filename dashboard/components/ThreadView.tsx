'use client';
// ThreadView.tsx — one conversation: header with the customer and what the
// lead says about the job, actions, every message, and the composer (also on
// a closed conversation: texting reopens it, see Composer.tsx). Stays
// scrolled to the newest message when the owner is at the bottom, and keeps
// their place when they scrolled up.
import Link from 'next/link';
import { useEffect, useLayoutEffect, useRef } from 'react';
import { formatPhone, LEAD_STATUS_LABEL } from '../lib/format';
import { AddressLink, PhoneLink } from './ContactLinks';
import { Composer } from './Composer';
import { useLive } from './LiveProvider';
import { MessageBubble } from './MessageBubble';
import { ThreadActions } from './ThreadActions';

export function ThreadView({ id }: { id: string }) {
  const { state, openThread } = useLive();
  const conv = state.conversations[id];
  const messages = state.threads[id];
  const listRef = useRef<HTMLOListElement>(null);
  const atBottom = useRef(true);

  useEffect(() => {
    openThread(id);
    return () => openThread(null);
  }, [id, openThread]);

  useLayoutEffect(() => {
    const el = listRef.current;
    if (el && atBottom.current) el.scrollTop = el.scrollHeight;
  }, [messages]);

  // The phone keyboard opening or a rotation shrinks the list: stay at the newest message.
  useEffect(() => {
    const el = listRef.current;
    if (!el || typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(() => { if (atBottom.current) el.scrollTop = el.scrollHeight; });
    ro.observe(el);
    return () => ro.disconnect();
  }, [conv?.id]);

  if (!conv) return <section className="thread"><p className="empty">Loading the conversation…</p></section>;
  const who = conv.customer?.name || formatPhone(conv.customer?.phone) || 'Customer';
  const lead = conv.lead_id ? state.leads[conv.lead_id] : undefined;
  const about = [lead && LEAD_STATUS_LABEL[lead.status], lead?.problem, lead?.service_address].filter(Boolean).join(' · ');
  return (
    <section className="thread" aria-label={`Conversation with ${who}`}>
      <header className="thread-head">
        <Link href="/conversations" className="back" aria-label="Back to conversations">←</Link>
        <div>
          <h2>{who}</h2>
          {conv.customer?.phone && <p className="hint"><PhoneLink phone={conv.customer.phone} /></p>}
          {about && <p className="hint thread-about">Lead: {about}</p>}
          {lead?.service_address && <p className="hint"><AddressLink address={lead.service_address} /></p>}
        </div>
      </header>
      <ThreadActions conversation={conv} />
      <ol
        className="messages" ref={listRef} aria-live="polite" aria-label="Messages"
        onScroll={(e) => { const el = e.currentTarget; atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40; }}
      >
        {(messages ?? []).map((m) => <MessageBubble key={m.id} message={m} />)}
      </ol>
      <Composer conversationId={id} closed={conv.state === 'closed'} />
    </section>
  );
}
