// feed.ts — the live feed's WebSocket client (protocol: docs/http-api.md, "Live
// feed"): sends the JWT and the last event id seen as its first message,
// reconnects with backoff and resumes exactly where it stopped, and reports its
// state (connecting / live / reconnecting) for the "reconnecting" banner.
// A 4408/4409 resync close asks the app to reload its snapshots; a 4401 logs out.
// Used by components/LiveProvider.tsx; unit-tested in test/feed.test.ts.
import type { FeedEvent } from './types';

export type FeedStatus = 'idle' | 'connecting' | 'live' | 'reconnecting' | 'stopped';

export const CLOSE_AUTH = 4401;
export const CLOSE_BAD_HELLO = 4400;
export const CLOSE_SLOW = 4408;
export const CLOSE_RESYNC = 4409;

export interface SocketLike {
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason?: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export interface FeedOptions {
  url: string;
  token: string;
  /** The last event id the app has applied; null = only new events. Read at every (re)connect. */
  lastEventId: () => number | null;
  onHello: (resumeAfter: number) => void;
  onEvent: (e: FeedEvent) => void;
  onStatus: (s: FeedStatus, detail?: { attempt: number; retryInMs?: number; code?: number }) => void;
  /** The server cannot replay what we missed: reload everything, then the feed starts from new events. */
  onResync: () => Promise<void> | void;
  onAuthFailed: (code: string) => void;
  makeSocket?: (url: string) => SocketLike;
  random?: () => number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (t: unknown) => void;
}

/** Delay before reconnect attempt n (1-based): 0.5 s, 1 s, 2 s … capped at 15 s, with ±25 % jitter. */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(15_000, 500 * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.75 + random() * 0.5));
}

export class FeedClient {
  private ws: SocketLike | null = null;
  private attempt = 0;
  private timer: unknown = null;
  private stopped = false;
  private fresh = false;
  private errorCode = '';
  status: FeedStatus = 'idle';

  constructor(private o: FeedOptions) {}

  start(): void {
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.clear();
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.onclose = null;
      ws.close(1000, 'bye');
    }
    this.setStatus('stopped');
  }

  /** Reconnect now (the browser came back online or the tab became visible). */
  nudge(): void {
    if (this.stopped || this.status === 'live' || this.status === 'connecting') return;
    this.clear();
    this.connect();
  }

  private clear() {
    if (this.timer !== null) (this.o.clearTimer ?? clearTimeout)(this.timer as ReturnType<typeof setTimeout>);
    this.timer = null;
  }

  private setStatus(s: FeedStatus, detail?: { attempt: number; retryInMs?: number; code?: number }) {
    this.status = s;
    this.o.onStatus(s, detail);
  }

  private connect() {
    if (this.stopped) return;
    this.setStatus(this.attempt === 0 ? 'connecting' : 'reconnecting', { attempt: this.attempt });
    let ws: SocketLike;
    try {
      ws = (this.o.makeSocket ?? ((u) => new WebSocket(u) as unknown as SocketLike))(this.o.url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    this.errorCode = '';
    ws.onopen = () => {
      const after = this.fresh ? null : this.o.lastEventId();
      ws.send(JSON.stringify({ token: this.o.token, last_event_id: after }));
    };
    ws.onmessage = (ev) => this.receive(ev.data);
    ws.onerror = () => { /* a close always follows */ };
    ws.onclose = (ev) => this.closed(ev.code);
  }

  private receive(raw: unknown) {
    if (typeof raw !== 'string') return;
    let msg: any;
    try { msg = JSON.parse(raw); } catch { return; }
    if (msg && msg.type === 'hello') {
      this.attempt = 0;
      this.fresh = false;
      this.o.onHello(Number(msg.resume_after));
      this.setStatus('live', { attempt: 0 });
    } else if (msg && msg.error) {
      this.errorCode = String(msg.error.code ?? '');
    } else if (msg && typeof msg.id === 'number' && typeof msg.type === 'string') {
      this.o.onEvent(msg as FeedEvent);
    }
  }

  private async closed(code: number) {
    this.ws = null;
    if (this.stopped) return;
    if (code === CLOSE_AUTH) {
      this.stopped = true;
      this.setStatus('stopped', { attempt: this.attempt, code });
      this.o.onAuthFailed(this.errorCode || 'jwt_expired');
      return;
    }
    if (code === CLOSE_RESYNC || code === CLOSE_SLOW) {
      // What we missed is gone (or we fell too far behind): reload, then only new events.
      this.fresh = true;
      this.setStatus('reconnecting', { attempt: this.attempt, code });
      try { await this.o.onResync(); } catch { /* the reconnect below retries */ }
    }
    this.scheduleReconnect(code);
  }

  private scheduleReconnect(code?: number) {
    if (this.stopped) return;
    this.attempt += 1;
    const wait = backoffMs(this.attempt, this.o.random);
    this.setStatus('reconnecting', { attempt: this.attempt, retryInMs: wait, code });
    this.timer = (this.o.setTimer ?? setTimeout)(() => { this.timer = null; this.connect(); }, wait);
  }
}
