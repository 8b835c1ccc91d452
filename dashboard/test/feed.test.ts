// feed.test.ts — the WebSocket client: the hello carries the token and the last
// event id, events pass through, reconnects resume, resync reloads, 4401 logs out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffMs, FeedClient, type FeedStatus, type SocketLike } from '../lib/feed';
import type { FeedEvent } from '../lib/types';

class FakeSocket implements SocketLike {
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  sent: string[] = [];
  closed = false;
  send(d: string) { this.sent.push(d); }
  close() { this.closed = true; }
  open() { this.onopen?.({}); }
  receive(obj: unknown) { this.onmessage?.({ data: JSON.stringify(obj) }); }
  drop(code: number) { this.onclose?.({ code }); }
}

function harness() {
  const sockets: FakeSocket[] = [];
  const timers: Array<() => void> = [];
  const events: FeedEvent[] = [];
  const statuses: FeedStatus[] = [];
  const out = { resyncs: 0, authFailed: '' as string, last: null as number | null };
  const client = new FeedClient({
    url: 'ws://x/ws',
    token: 'JWT',
    lastEventId: () => out.last,
    onHello: (n) => { if (out.last === null || n > out.last) out.last = n; },
    onEvent: (e) => { events.push(e); out.last = e.id; },
    onStatus: (s) => statuses.push(s),
    onResync: () => { out.resyncs += 1; out.last = null; },
    onAuthFailed: (c) => { out.authFailed = c; },
    makeSocket: () => { const s = new FakeSocket(); sockets.push(s); return s; },
    random: () => 0.5,
    setTimer: (fn) => { timers.push(fn); return timers.length; },
    clearTimer: () => undefined,
  });
  return { client, sockets, timers, events, statuses, out };
}

test('backoff doubles from half a second and stops at 15 s, with jitter', () => {
  assert.equal(backoffMs(1, () => 0.5), 500);
  assert.equal(backoffMs(2, () => 0.5), 1000);
  assert.equal(backoffMs(3, () => 0.5), 2000);
  assert.equal(backoffMs(20, () => 0.5), 15000);
  assert.equal(backoffMs(1, () => 0), 375);
  assert.equal(backoffMs(1, () => 1), 625);
});

test('the first message is the token with no last id; events flow after the hello', () => {
  const h = harness();
  h.client.start();
  h.sockets[0].open();
  assert.deepEqual(JSON.parse(h.sockets[0].sent[0]), { token: 'JWT', last_event_id: null });
  h.sockets[0].receive({ type: 'hello', business_id: 'b', resume_after: 41 });
  h.sockets[0].receive({ id: 42, type: 'lead.updated', created_at: 'x', data: {} });
  assert.deepEqual(h.events.map((e) => e.id), [42]);
  assert.deepEqual(h.statuses, ['connecting', 'live']);
});

test('after a drop it shows reconnecting and resumes after the last event seen', () => {
  const h = harness();
  h.client.start();
  h.sockets[0].open();
  h.sockets[0].receive({ type: 'hello', resume_after: 41 });
  h.sockets[0].receive({ id: 42, type: 'x', created_at: 'x', data: {} });
  h.sockets[0].drop(1006);
  assert.equal(h.client.status, 'reconnecting');
  h.timers.shift()!();
  h.sockets[1].open();
  assert.deepEqual(JSON.parse(h.sockets[1].sent[0]), { token: 'JWT', last_event_id: 42 });
  h.sockets[1].receive({ type: 'hello', resume_after: 42 });
  assert.equal(h.client.status, 'live');
});

test('a resync close reloads, then reconnects for new events only', async () => {
  const h = harness();
  h.client.start();
  h.sockets[0].open();
  h.sockets[0].receive({ type: 'hello', resume_after: 5 });
  h.sockets[0].receive({ error: { code: 'resync', message: 'fell behind' } });
  h.sockets[0].drop(4408);
  await new Promise((r) => setImmediate(r));
  assert.equal(h.out.resyncs, 1);
  h.timers.shift()!();
  h.sockets[1].open();
  assert.deepEqual(JSON.parse(h.sockets[1].sent[0]), { token: 'JWT', last_event_id: null });
});

test('4401 stops the feed and reports the JWT error code', () => {
  const h = harness();
  h.client.start();
  h.sockets[0].open();
  h.sockets[0].receive({ error: { code: 'jwt_expired', message: 'expired' } });
  h.sockets[0].drop(4401);
  assert.equal(h.out.authFailed, 'jwt_expired');
  assert.equal(h.client.status, 'stopped');
  assert.equal(h.timers.length, 0, 'no reconnect');
});

test('stop closes the socket and never reconnects', () => {
  const h = harness();
  h.client.start();
  h.client.stop();
  assert.equal(h.sockets[0].closed, true);
  assert.equal(h.timers.length, 0);
});
