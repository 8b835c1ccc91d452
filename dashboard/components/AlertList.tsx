'use client';
// AlertList.tsx — emergencies, hand-offs and failed requests from the feed, as
// dismissable notices at the top of the page, newest first.
import Link from 'next/link';
import { useLive } from './LiveProvider';

export function AlertList() {
  const { state, dispatch } = useLive();
  if (state.alerts.length === 0) return null;
  return (
    <ul className="alerts" aria-label="Alerts">
      {state.alerts.slice(0, 3).map((a) => (
        <li key={a.id} className={`alert alert-${a.kind}`}>
          <span>{a.text}</span>
          {a.conversationId && <Link href={`/conversations?c=${a.conversationId}`}>Open</Link>}
          <button type="button" className="link" onClick={() => dispatch({ type: 'alert/dismiss', id: a.id })} aria-label="Dismiss alert">✕</button>
        </li>
      ))}
    </ul>
  );
}
