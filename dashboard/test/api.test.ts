// api.test.ts — the API client: headers, query strings, JSON errors with the
// API's codes, 401 ends the session, network failures, clock offset, job polling,
// whether the server was reached, the Web Push calls.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError, clockOffset, createApi, queryString } from '../lib/api';

interface Call { url: string; init: RequestInit }
function fakeFetch(responses: Array<{ status: number; body?: unknown; headers?: Record<string, string> }>) {
  const calls: Call[] = [];
  const impl = async (url: string | URL | Request, init?: RequestInit) => {
    calls.push({ url: String(url), init: init ?? {} });
    const r = responses.shift();
    if (!r) throw new TypeError('network down');
    return new Response(r.body === undefined ? null : JSON.stringify(r.body), { status: r.status, headers: r.headers });
  };
  return { calls, impl: impl as typeof fetch };
}

test('sends the bearer token and JSON, returns the parsed body', async () => {
  const f = fakeFetch([{ status: 200, body: { conversations: [], next: null } }]);
  const api = createApi({ baseUrl: 'http://edge', getToken: () => 'T', fetchImpl: f.impl });
  const r = await api.conversations({ state: 'open', limit: 20 });
  assert.deepEqual(r, { conversations: [], next: null });
  assert.equal(f.calls[0].url, 'http://edge/api/conversations?state=open&limit=20');
  assert.equal((f.calls[0].init.headers as Record<string, string>).Authorization, 'Bearer T');
  assert.equal(f.calls[0].init.method, 'GET');
});

test('POST bodies are JSON; ids are escaped into paths', async () => {
  const f = fakeFetch([{ status: 201, body: { message: { id: 'm' } } }]);
  const api = createApi({ getToken: () => null, fetchImpl: f.impl });
  await api.sendMessage('a/b', 'hi');
  assert.equal(f.calls[0].url, '/api/conversations/a%2Fb/messages');
  assert.equal(f.calls[0].init.body, JSON.stringify({ body: 'hi' }));
  assert.equal((f.calls[0].init.headers as Record<string, string>)['Content-Type'], 'application/json');
  assert.equal((f.calls[0].init.headers as Record<string, string>).Authorization, undefined);
});

test('errors carry the stable code, message and field', async () => {
  const f = fakeFetch([{ status: 409, body: { error: { code: 'customer_opted_out', message: 'replied STOP', field: 'body' } } }]);
  const api = createApi({ getToken: () => 'T', fetchImpl: f.impl });
  await assert.rejects(api.sendMessage('c', 'x'), (e: unknown) => {
    assert.ok(e instanceof ApiError);
    assert.equal(e.status, 409);
    assert.equal(e.code, 'customer_opted_out');
    assert.equal(e.message, 'replied STOP');
    assert.equal(e.field, 'body');
    return true;
  });
});

test('a 401 with a token ends the session; a failed login does not', async () => {
  const ended: string[] = [];
  const f = fakeFetch([
    { status: 401, body: { error: { code: 'jwt_expired', message: 'expired' } } },
    { status: 401, body: { error: { code: 'invalid_credentials', message: 'wrong' } } },
  ]);
  let token: string | null = 'T';
  const api = createApi({ getToken: () => token, fetchImpl: f.impl, onUnauthorized: (c) => ended.push(c) });
  await assert.rejects(api.me());
  token = null;
  await assert.rejects(api.login('a@b.c', 'nope'));
  assert.deepEqual(ended, ['jwt_expired']);
});

test('network failures and non-JSON errors become ApiErrors', async () => {
  const api = createApi({ getToken: () => null, fetchImpl: fakeFetch([{ status: 502 }]).impl });
  await assert.rejects(api.me(), (e: unknown) => e instanceof ApiError && e.code === 'http_502');
  const down = createApi({ getToken: () => null, fetchImpl: fakeFetch([]).impl });
  await assert.rejects(down.me(), (e: unknown) => e instanceof ApiError && e.code === 'network_error' && e.status === 0);
});

test('reachability follows the last request: a network failure, then any answer', async () => {
  const api = createApi({ getToken: () => null, fetchImpl: fakeFetch([{ status: 500 }]).impl });
  assert.equal(api.reachability.reached(), true);
  await assert.rejects(api.me());
  assert.equal(api.reachability.reached(), true, 'a 500 is an answer: the server is there');
  await assert.rejects(api.me());
  assert.equal(api.reachability.reached(), false);
});

test('Web Push: the key, a subscription as the browser gives it, unsubscribe by endpoint', async () => {
  const f = fakeFetch([
    { status: 200, body: { public_key: 'BAAA' } },
    { status: 201, body: { subscription: { id: '1', endpoint: 'https://push.example/x', created_at: '2026-11-25T12:00:00Z' } } },
    { status: 200, body: { unsubscribed: true } },
  ]);
  const api = createApi({ getToken: () => 'T', fetchImpl: f.impl });
  assert.deepEqual(await api.pushKey(), { public_key: 'BAAA' });
  const sub = { endpoint: 'https://push.example/x', expirationTime: null, keys: { p256dh: 'P', auth: 'A' } };
  assert.equal((await api.addPushSubscription(sub)).subscription.id, '1');
  assert.deepEqual(await api.removePushSubscription('https://push.example/x'), { unsubscribed: true });
  assert.deepEqual(f.calls.map((c) => `${c.init.method} ${c.url} ${c.init.body ?? ''}`), [
    'GET /api/push/key ',
    `POST /api/push/subscriptions ${JSON.stringify(sub)}`,
    'POST /api/push/unsubscribe {"endpoint":"https://push.example/x"}',
  ]);
});

test('query strings skip empty values', () => {
  assert.equal(queryString({ a: 1, b: undefined, c: null, d: '', e: 'x y' }), '?a=1&e=x%20y');
  assert.equal(queryString({}), '');
});

test('the server clock offset comes from the Date header, ignoring sub-second noise', () => {
  const sent = Date.parse('2026-11-25T12:00:00.000Z');
  assert.equal(clockOffset('Wed, 25 Nov 2026 12:00:00 GMT', sent, sent + 100), 0);
  assert.equal(clockOffset('Wed, 25 Nov 2026 12:00:30 GMT', sent, sent + 100), 30_450);
  assert.equal(clockOffset(null, sent, sent), null);
});

test('serverNow follows the measured offset', async () => {
  let now = Date.parse('2026-11-25T12:00:00.000Z');
  const f = fakeFetch([{ status: 200, body: { user: {} }, headers: { Date: 'Wed, 25 Nov 2026 12:01:00 GMT' } }]);
  const api = createApi({ getToken: () => 'T', fetchImpl: f.impl, now: () => now });
  await api.me();
  now += 1000;
  assert.equal(api.serverNow(), Date.parse('2026-11-25T12:01:01.500Z'));
});

test('waitForJob polls until the job ends and reports each state', async () => {
  const f = fakeFetch([
    { status: 200, body: { job: { id: 7, status: 'queued' } } },
    { status: 200, body: { job: { id: 7, status: 'in_flight' } } },
    { status: 200, body: { job: { id: 7, status: 'done', result: { numbers: [] } } } },
  ]);
  const api = createApi({ getToken: () => 'T', fetchImpl: f.impl });
  const seen: string[] = [];
  const job = await api.waitForJob(7, (j) => seen.push(j.status), 1);
  assert.equal(job.status, 'done');
  assert.deepEqual(seen, ['queued', 'in_flight', 'done']);
  assert.equal(f.calls.length, 3);
});

test('texts to any number, and the quick replies, go where the API says', async () => {
  const f = fakeFetch([
    { status: 201, body: { message: { id: 'm' }, conversation: { id: 'c2' } } },
    { status: 200, body: { quick_replies: [] } },
    { status: 200, body: { quick_replies: [] } },
    { status: 201, body: { quick_reply: { id: 'q' } } },
    { status: 200, body: { quick_reply: { id: 'q' } } },
    { status: 200, body: { deleted: true } },
  ]);
  const api = createApi({ getToken: () => 'T', fetchImpl: f.impl });
  const sent = await api.startConversation('+15125550100', 'hi');
  assert.equal(sent.conversation?.id, 'c2');
  await api.quickReplies('c 1');
  await api.quickReplies();
  await api.addQuickReply({ label: 'On my way', body: 'Coming' });
  await api.patchQuickReply('q/1', { position: 2 });
  await api.deleteQuickReply('q1');
  assert.deepEqual(f.calls.map((c) => `${c.init.method} ${c.url} ${c.init.body ?? ''}`), [
    'POST /api/conversations {"to":"+15125550100","body":"hi"}',
    'GET /api/quick-replies?conversation=c%201 ',
    'GET /api/quick-replies ',
    'POST /api/quick-replies {"label":"On my way","body":"Coming"}',
    'PATCH /api/quick-replies/q%2F1 {"position":2}',
    'DELETE /api/quick-replies/q1 ',
  ]);
});

test('appointments: book, move, cancel and the calendar file, with the token in the header only', async () => {
  const ics = 'BEGIN:VCALENDAR\r\nDTSTART:20261204T150000Z\r\nEND:VCALENDAR\r\n';
  const responses = [
    { status: 201, body: { appointment: { id: 'a1' }, customer_texted: true } },
    { status: 200, body: { appointment: { id: 'a1' }, customer_texted: false } },
    { status: 200, body: { appointment: { id: 'a1', status: 'cancelled' }, customer_texted: true } },
    { status: 409, body: { error: { code: 'slot_taken', message: 'another appointment is booked at that time', field: 'starts_at' } } },
  ];
  const f = fakeFetch(responses);
  const calls = f.calls;
  let icsAsked: RequestInit | null = null;
  const impl = (async (url: string | URL | Request, init?: RequestInit) => {
    if (String(url).endsWith('/ics')) {
      icsAsked = init ?? {};
      calls.push({ url: String(url), init: init ?? {} });
      return new Response(ics, { status: 200, headers: { 'Content-Type': 'text/calendar; charset=utf-8' } });
    }
    return f.impl(url, init);
  }) as typeof fetch;
  const api = createApi({ getToken: () => 'T', fetchImpl: impl });
  const booked = await api.createAppointment({ customer_phone: '(512) 555-0142', starts_at: '2026-12-04T15:00:00.000Z', notify_customer: true });
  assert.equal(booked.customer_texted, true);
  assert.deepEqual(JSON.parse(String(calls[0].init.body)), { customer_phone: '(512) 555-0142', starts_at: '2026-12-04T15:00:00.000Z', notify_customer: true });
  await api.moveAppointment('a1', { starts_at: '2026-12-04T17:00:00.000Z', notify_customer: false });
  assert.equal(calls[1].init.method, 'PATCH');
  assert.equal(calls[1].url, '/api/appointments/a1');
  await api.cancelAppointment('a1', { reason: '', notify_customer: true });
  assert.equal(calls[2].url, '/api/appointments/a1/cancel');
  assert.deepEqual(JSON.parse(String(calls[2].init.body)), { notify_customer: true }, 'an empty reason is left out');
  await assert.rejects(api.moveAppointment('a1', { starts_at: 'x', notify_customer: true }),
    (e: unknown) => e instanceof ApiError && e.code === 'slot_taken' && e.field === 'starts_at');
  const file = await api.appointmentIcs('a1');
  assert.equal(file.text, ics);
  assert.equal(file.type, 'text/calendar; charset=utf-8');
  assert.equal(calls[4].url, '/api/appointments/a1/ics', 'no token in the URL');
  assert.equal((icsAsked!.headers as Record<string, string>).Authorization, 'Bearer T');
  assert.equal((icsAsked!.headers as Record<string, string>).Accept, 'text/calendar');
});

test('media: only our own media paths, fetched as bytes with the token; not ready is an ApiError with its code', async () => {
  const bytes = new Uint8Array([0xff, 0xd8, 0x00, 0x01, 0xfe]);
  const calls: Call[] = [];
  const responses = [
    new Response(bytes, { status: 200, headers: { 'Content-Type': 'image/jpeg' } }),
    new Response(JSON.stringify({ error: { code: 'media_not_ready', message: 'still fetching' } }), { status: 409 }),
  ];
  const impl = (async (url: string | URL | Request, init?: RequestInit) => {
    calls.push({ url: String(url), init: init ?? {} });
    return responses.shift() as Response;
  }) as typeof fetch;
  const api = createApi({ getToken: () => 'tok', fetchImpl: impl });
  const path = '/api/media/0b7e7d1c-3f1e-4c55-9a55-5b7b0f3c9d21';
  const blob = await api.media(path);
  assert.deepEqual(new Uint8Array(await blob.arrayBuffer()), bytes);
  assert.equal((calls[0].init.headers as Record<string, string>).Authorization, 'Bearer tok');
  await assert.rejects(api.media(path), (e: unknown) => e instanceof ApiError && e.code === 'media_not_ready' && e.status === 409);
  await assert.rejects(api.media('https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1'), (e: unknown) => e instanceof ApiError && e.code === 'invalid_media_url');
  assert.equal(calls.length, 2, 'a URL that is not ours is never fetched');
});
