'use client';
// LiveProvider.tsx — the logged-in app's live model: loads the snapshots
// (conversations, leads, appointments, status, the user), keeps them current
// from the WebSocket feed through lib/liveState.ts, fills in what events leave
// out from the API (message text; the customer, should an event lack it), and
// alerts the owner to customer replies in the human window. Started offline
// (the shell from the service worker), it says the snapshots failed and tries
// again when the connection is back. Mounted by app/(authed)/layout.tsx.
import { createContext, useCallback, useContext, useEffect, useMemo, useReducer, useRef, useState } from 'react';
import { useRouter } from 'next/navigation';
import { backoffMs, FeedClient, type FeedStatus } from '../lib/feed';
import { initialLiveState, liveReducer, replyAlertFor, type LiveAction, type LiveState } from '../lib/liveState';
import { playChime, showNotification, unlockSound } from '../lib/notify';
import type { Business, FeedEvent, User } from '../lib/types';
import { formatPhone } from '../lib/format';
import { useSession } from './SessionProvider';
import { loadMeta } from './useMeta';

/** The first load of the snapshots: failed means the lists are empty because nothing was loaded. */
export type SnapshotState = 'loading' | 'loaded' | 'failed';

interface LiveContext {
  state: LiveState;
  snapshot: SnapshotState;
  dispatch: React.Dispatch<LiveAction>;
  feedStatus: FeedStatus;
  retryInMs: number | null;
  user: User | null;
  setUser: (u: User) => void;
  business: Business | null;
  setBusiness: (b: Business) => void;
  sandbox: boolean | null;
  openThread: (id: string | null) => void;
  reloadAll: () => Promise<void>;
  /** Cursors of the next older pages (null: everything is loaded). */
  olderConversations: string | null;
  olderLeads: string | null;
  loadOlder: (what: 'conversations' | 'leads') => Promise<void>;
}

const Ctx = createContext<LiveContext | null>(null);
const REFRESH_DEBOUNCE_MS = 50;

export function LiveProvider({ children }: { children: React.ReactNode }) {
  const { session, api, logOut } = useSession();
  const router = useRouter();
  const [state, dispatch] = useReducer(liveReducer, initialLiveState);
  const stateRef = useRef(state);
  stateRef.current = state;
  const [snapshot, setSnapshot] = useState<SnapshotState>('loading');
  const [feedStatus, setFeedStatus] = useState<FeedStatus>('idle');
  const [retryInMs, setRetryInMs] = useState<number | null>(null);
  const [user, setUser] = useState<User | null>(null);
  const userRef = useRef<User | null>(null);
  userRef.current = user;
  const [business, setBusiness] = useState<Business | null>(null);
  const openThreadRef = useRef<string | null>(null);
  const [olderConversations, setOlderConversations] = useState<string | null>(null);
  const [olderLeads, setOlderLeads] = useState<string | null>(null);

  const reloadAll = useCallback(async () => {
    const since = new Date(Date.now() - 86_400_000).toISOString();
    const asOf = stateRef.current.lastEventId;   // what the feed had said when these reads were asked for
    const [convs, leads, appts, status, me, biz] = await Promise.all([
      api.conversations({ limit: 100 }),
      api.leads({ limit: 100 }),
      api.appointments({ from: since }),
      api.status().catch(() => null),
      api.me(),
      api.business(),
    ]);
    dispatch({ type: 'conversations/loaded', items: convs.conversations, asOf });
    dispatch({ type: 'leads/loaded', items: leads.leads });
    setOlderConversations(convs.next);
    setOlderLeads(leads.next);
    dispatch({ type: 'appointments/loaded', items: appts.appointments });
    if (status) dispatch({ type: 'health/loaded', health: { sandbox_mode: status.sandbox_mode, dispatcher_running: status.dispatcher.running } });
    setUser(me.user);
    setBusiness(biz.business);
    if (openThreadRef.current) {
      const t = await api.conversation(openThreadRef.current).catch(() => null);
      if (t) dispatch({ type: 'conversation/loaded', conversation: t.conversation, messages: t.messages, asOf });
    }
  }, [api]);

  const alertOwner = useCallback((e: FeedEvent) => {
    const hit = replyAlertFor(stateRef.current, e, api.serverNow());
    if (!hit) return;
    const prefs = userRef.current?.preferences ?? {};
    const conv = stateRef.current.conversations[hit.conversationId];
    const who = conv?.customer?.name || formatPhone(conv?.customer?.phone) || 'A customer';
    if (prefs.sound !== false) playChime();
    if (prefs.notify_replies !== false) {
      showNotification(`${who} replied`, hit.deadline ? 'Answer now, before the assistant does.' : 'New text in a conversation you took over.',
        () => router.push(`/conversations?c=${hit.conversationId}`));
    }
  }, [api, router]);

  // The feed: connect once per session; snapshots load alongside. What failed (offline at
  // the start, the server down) is tried again when the browser is back online, the tab is
  // shown again or the feed goes live; getting the feed's address, also after a backoff.
  useEffect(() => {
    if (!session) return;
    let feed: FeedClient | null = null;
    let cancelled = false;
    let loaded = false;
    let heardHello = false;
    let connecting = false;
    let attempts = 0;
    let retry: ReturnType<typeof setTimeout> | undefined;
    // The server's order of a text's states (lib/delivery.ts) comes with every snapshot until
    // it has arrived once: a page opened while the server was down asks again when it is back.
    const load = () => loadMeta(api).catch(() => undefined).then(reloadAll).then(
      () => { loaded = true; setSnapshot('loaded'); },
      () => { if (!loaded) setSnapshot('failed'); },
    );
    const connect = () => {
      if (feed || connecting || cancelled) return;
      connecting = true;
      clearTimeout(retry);
      api.realtime().then(({ ws_url }) => {
        if (cancelled) return;
        feed = new FeedClient({
          url: ws_url,
          token: session.token,
          lastEventId: () => stateRef.current.lastEventId,
          onHello: (n) => dispatch({ type: 'feed/hello', resumeAfter: n }),
          onEvent: (e) => { alertOwner(e); dispatch({ type: 'event', event: e }); },
          onStatus: (s, d) => {
            setFeedStatus(s);
            setRetryInMs(d?.retryInMs ?? null);
            // The first hello starts the feed from "now": whatever changed between the
            // snapshot's reads and that moment is read again (once), or it would be missed.
            if (s === 'live' && (!loaded || !heardHello)) { heardHello = true; void load(); }
          },
          onResync: async () => { dispatch({ type: 'reset' }); await reloadAll(); },
          onAuthFailed: () => logOut('Your session ended. Please log in again.'),
        });
        feed.start();
      }).catch(() => {
        setFeedStatus('reconnecting');
        retry = setTimeout(connect, backoffMs(++attempts));
      }).finally(() => { connecting = false; });
    };
    // The order first: the feed's reports are ranked by it.
    void loadMeta(api).catch(() => undefined).then(() => {
      if (cancelled) return;
      void load();
      connect();
    });
    const nudge = () => {
      if (!loaded) void load();
      if (feed) feed.nudge(); else connect();
    };
    window.addEventListener('online', nudge);
    document.addEventListener('visibilitychange', nudge);
    return () => {
      cancelled = true;
      clearTimeout(retry);
      window.removeEventListener('online', nudge);
      document.removeEventListener('visibilitychange', nudge);
      feed?.stop();
    };
  }, [session, api, reloadAll, alertOwner, logOut]);

  // Events carry ids and customers, not text: fetch what the screen needs, coalescing bursts.
  // The open thread's read names its customer; the list is read for the other rows' last message.
  const staleKey = Object.keys(state.stale).sort().join(',');
  useEffect(() => {
    if (!staleKey) return;
    const ids = staleKey.split(',');
    const t = setTimeout(async () => {
      const open = openThreadRef.current;
      const asOf = stateRef.current.lastEventId;
      const jobs: Promise<unknown>[] = [];
      if (open && ids.includes(open)) {
        jobs.push(api.conversation(open).then((r) => dispatch({ type: 'conversation/loaded', conversation: r.conversation, messages: r.messages, asOf })));
      }
      if (ids.some((id) => id !== open || !stateRef.current.conversations[id]?.customer)) {
        jobs.push(api.conversations({ limit: 100 }).then((r) => dispatch({ type: 'conversations/loaded', items: r.conversations, asOf })));
      }
      await Promise.allSettled(jobs);
      dispatch({ type: 'stale/clear', ids, asOf });
    }, REFRESH_DEBOUNCE_MS);
    return () => clearTimeout(t);
  }, [staleKey, state.staleRound, api]);

  useEffect(() => {
    if (!state.leadsStale) return;
    const t = setTimeout(() => {
      api.leads({ limit: 100 }).then((r) => dispatch({ type: 'leads/loaded', items: r.leads })).catch(() => undefined);
    }, REFRESH_DEBOUNCE_MS);
    return () => clearTimeout(t);
  }, [state.leadsStale, api]);

  // Browsers allow sound only after a gesture: the first tap anywhere unlocks the chime.
  useEffect(() => {
    const unlock = () => unlockSound();
    window.addEventListener('pointerdown', unlock, { once: true });
    window.addEventListener('keydown', unlock, { once: true });
    return () => { window.removeEventListener('pointerdown', unlock); window.removeEventListener('keydown', unlock); };
  }, []);

  const openThread = useCallback((id: string | null) => {
    openThreadRef.current = id;
    if (!id) return;
    const asOf = stateRef.current.lastEventId;
    api.conversation(id)
      .then((r) => dispatch({ type: 'conversation/loaded', conversation: r.conversation, messages: r.messages, asOf }))
      .catch(() => { /* the thread view shows its own error */ });
  }, [api]);

  const loadOlder = useCallback(async (what: 'conversations' | 'leads') => {
    if (what === 'conversations' && olderConversations) {
      const asOf = stateRef.current.lastEventId;
      const r = await api.conversations({ limit: 100, before: olderConversations });
      dispatch({ type: 'conversations/loaded', items: r.conversations, asOf });
      setOlderConversations(r.next);
    } else if (what === 'leads' && olderLeads) {
      const r = await api.leads({ limit: 100, before: olderLeads });
      dispatch({ type: 'leads/loaded', items: r.leads });
      setOlderLeads(r.next);
    }
  }, [api, olderConversations, olderLeads]);

  const value = useMemo<LiveContext>(() => ({
    state, snapshot, dispatch, feedStatus, retryInMs, user, setUser, business, setBusiness,
    sandbox: state.health?.sandbox_mode ?? null, openThread, reloadAll, olderConversations, olderLeads, loadOlder,
  }), [state, snapshot, feedStatus, retryInMs, user, business, openThread, reloadAll, olderConversations, olderLeads, loadOlder]);
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useLive(): LiveContext {
  const c = useContext(Ctx);
  if (!c) throw new Error('useLive outside LiveProvider');
  return c;
}
