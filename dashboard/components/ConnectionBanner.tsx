'use client';
// ConnectionBanner.tsx — the live feed's state in a bar of fixed height that is
// always there (so nothing jumps when it changes): "Live", or "Reconnecting…"
// while the feed is down; the lists may be behind until it is back.
import type { FeedStatus } from '../lib/feed';

const TEXT: Record<FeedStatus, string> = {
  idle: 'Connecting…',
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting… updates will catch up',
  stopped: 'Offline',
};

export function ConnectionBanner({ status }: { status: FeedStatus }) {
  return (
    <div className={`conn conn-${status}`} role="status" aria-live="polite" data-feed={status}>
      <span className="conn-dot" aria-hidden="true" />
      {TEXT[status]}
    </div>
  );
}
