// connection.ts — what the connection bar says (components/ConnectionBanner.tsx):
// the browser offline, the server out of reach (the last API request failed and
// the feed is not live), or else the live feed's own state; and the small store
// through which the API client (lib/api.ts) reports whether its last request
// reached the server. Unit-tested in test/connection.test.ts.
import type { FeedStatus } from './feed';

export type Connection = FeedStatus | 'offline' | 'unreachable';

export function connection(browserOnline: boolean, serverReached: boolean, feed: FeedStatus): Connection {
  if (!browserOnline) return 'offline';
  // A live feed proves the server is there even when an older request failed.
  if (!serverReached && feed !== 'live') return 'unreachable';
  return feed;
}

/** Whether the last request reached the server, for useSyncExternalStore. */
export interface Reachability {
  reached: () => boolean;
  report: (reached: boolean) => void;
  subscribe: (onChange: () => void) => () => void;
}

export function createReachability(): Reachability {
  let reached = true;
  const listeners = new Set<() => void>();
  return {
    reached: () => reached,
    report(r) {
      if (r === reached) return;
      reached = r;
      for (const l of listeners) l();
    },
    subscribe(onChange) {
      listeners.add(onChange);
      return () => { listeners.delete(onChange); };
    },
  };
}
