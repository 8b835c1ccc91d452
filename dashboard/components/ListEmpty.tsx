'use client';
// ListEmpty.tsx — what a list of the live model says when it has nothing to
// show: "Loading…" until the first snapshot, that nothing could be loaded
// (offline, the server out of reach) rather than a false "none yet", else the
// list's own words. Used by the conversations, leads and appointments lists.
import { useLive } from './LiveProvider';

export function ListEmpty({ children }: { children: React.ReactNode }) {
  const { snapshot } = useLive();
  if (snapshot === 'loading') return <p className="empty">Loading…</p>;
  if (snapshot === 'failed') return <p className="empty">Not loaded: the server could not be reached. This fills in when the connection is back.</p>;
  return <p className="empty">{children}</p>;
}
