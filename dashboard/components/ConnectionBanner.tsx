'use client';
// ConnectionBanner.tsx — the connection in a bar that is always there: "Live",
// "Reconnecting…" while the feed is down (the lists may be behind until it is
// back), or, when the browser is offline or the server cannot be reached, that
// the screen shows what was loaded and nothing can be sent (lib/connection.ts).
// A fixed height, so nothing jumps, except offline, where the sentence may wrap.
import { useSyncExternalStore } from 'react';
import { connection, type Connection } from '../lib/connection';
import type { FeedStatus } from '../lib/feed';
import { useSession } from './SessionProvider';

const TEXT: Record<Connection, string> = {
  idle: 'Connecting…',
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting… updates will catch up',
  stopped: 'Offline',
  offline: 'Offline — showing what was loaded; nothing can be sent until the connection is back',
  unreachable: 'The server cannot be reached — showing what was loaded; nothing can be sent until it is back',
};

function subscribeOnline(onChange: () => void): () => void {
  window.addEventListener('online', onChange);
  window.addEventListener('offline', onChange);
  return () => { window.removeEventListener('online', onChange); window.removeEventListener('offline', onChange); };
}

export function ConnectionBanner({ status }: { status: FeedStatus }) {
  const { api } = useSession();
  const online = useSyncExternalStore(subscribeOnline, () => navigator.onLine, () => true);
  const reached = useSyncExternalStore(api.reachability.subscribe, api.reachability.reached, () => true);
  const c = connection(online, reached, status);
  return (
    <div className={`conn conn-${c}`} role="status" aria-live="polite" data-feed={status} data-connection={c}>
      <span className="conn-dot" aria-hidden="true" />
      {TEXT[c]}
    </div>
  );
}
