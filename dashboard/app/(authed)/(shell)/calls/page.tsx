'use client';
// calls/page.tsx — the call log: the latest 100 calls (GET /api/calls), newest
// first, live from the feed (call.missed, call.updated): when, who, answered or
// missed and why, and whether the caller was texted — in words. Read again
// whenever the feed goes live (after a drop or a resync); a tap opens the
// customer's conversation.
import { useEffect, useState } from 'react';
import { CallRow } from '../../../../components/CallRow';
import { useLive } from '../../../../components/LiveProvider';
import { useSession } from '../../../../components/SessionProvider';
import { conversationFor, customerOf, sortedCalls } from '../../../../lib/liveState';

export default function CallsPage() {
  const { api } = useSession();
  const { state, dispatch, business, feedStatus } = useLive();
  const [load, setLoad] = useState<'loading' | 'loaded' | 'failed'>('loading');
  const live = feedStatus === 'live';

  useEffect(() => {
    let current = true;
    api.calls()
      .then((r) => { if (current) { dispatch({ type: 'calls/loaded', items: r.calls }); setLoad('loaded'); } })
      .catch(() => { if (current) setLoad((l) => (l === 'loaded' ? l : 'failed')); });
    return () => { current = false; };
  }, [api, dispatch, live]);

  const calls = sortedCalls(state).slice(0, 100);
  return (
    <div className="page">
      <h1>Calls</h1>
      <p className="hint">Every call to your number, newest first: answered or missed, and whether the caller was texted.</p>
      {calls.length === 0 ? (
        <p className="empty">{load === 'loading' ? 'Loading…' : load === 'failed' ? 'Not loaded: the server could not be reached. This fills in when the connection is back.' : 'No calls yet.'}</p>
      ) : (
        <ul className="calls" aria-label="Calls">
          {calls.map((c) => {
            const customerId = c.customer_id ?? c.customer?.id ?? null;
            return (
              <CallRow key={c.id} call={c} customer={customerOf(state, customerId) ?? c.customer ?? null}
                conversationId={conversationFor(state, c.conversation_id, customerId)} timeZone={business?.timezone} />
            );
          })}
        </ul>
      )}
    </div>
  );
}
