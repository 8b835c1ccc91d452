// liveState.test.ts — the event reducer: snapshots and feed events meet in one
// model; replays are ignored; bodies fetched later are kept; alerts for replies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initialLiveState, liveReducer, replyAlertFor, sortedConversations, type LiveState } from '../lib/liveState';
import type { Conversation, FeedEvent, Message } from '../lib/types';

let nextId = 1;
function ev(type: string, data: object, id = nextId++): FeedEvent {
  return { id, type, created_at: "2026-11-25T12:00:00Z", data: data as Record<string, unknown> };
}
const conv = (over: Partial<Conversation> = {}): Conversation => ({
  id: 'c1', customer_id: 'u1', lead_id: 'l1', state: 'open', mode: 'waiting', human_window_deadline: null,
  last_message_at: '2026-11-25T12:00:00Z', created_at: '2026-11-25T12:00:00Z', ...over,
});
const msg = (over: Partial<Message> = {}): Message => ({
  id: 'm1', conversation_id: 'c1', direction: 'inbound', author: 'customer', status: 'received', error_code: null,
  simulated: false, created_at: '2026-11-25T12:00:05Z', ...over,
});
const apply = (s: LiveState, ...events: FeedEvent[]) => events.reduce((acc, e) => liveReducer(acc, { type: 'event', event: e }), s);

test('events apply in order and a replayed id is ignored', () => {
  const s0 = liveReducer(initialLiveState, { type: 'feed/hello', resumeAfter: 10 });
  const s1 = apply(s0, ev('conversation.created', { ...conv() }, 11));
  const s2 = apply(s1, ev('conversation.updated', { id: 'c1', mode: 'ai', state: 'open' }, 11));
  assert.equal(s2.conversations.c1.mode, 'waiting', 'id 11 again: a duplicate');
  assert.equal(s2.lastEventId, 11);
  const s3 = apply(s2, ev('conversation.updated', { id: 'c1', mode: 'ai', state: 'open' }, 12));
  assert.equal(s3.conversations.c1.mode, 'ai');
  assert.equal(s3.lastEventId, 12);
});

test('events before the hello point are not replayed over the snapshot', () => {
  const s = liveReducer(initialLiveState, { type: 'feed/hello', resumeAfter: 50 });
  const s2 = apply(s, ev('conversation.created', conv(), 49));
  assert.deepEqual(s2.conversations, {});
});

test('entering the human window sets the deadline; leaving it clears it', () => {
  let s = liveReducer(initialLiveState, { type: 'conversations/loaded', items: [conv({ customer: { id: 'u1', phone: '+15125550142', name: null } })] });
  s = apply(s, ev('conversation.updated', { id: 'c1', mode: 'human_window', state: 'open', human_window_deadline: '2026-11-25T12:01:00Z' }));
  assert.equal(s.conversations.c1.human_window_deadline, '2026-11-25T12:01:00Z');
  s = apply(s, ev('conversation.updated', { id: 'c1', mode: 'ai', state: 'open' }));
  assert.equal(s.conversations.c1.human_window_deadline, null);
  assert.equal(s.conversations.c1.customer?.phone, '+15125550142', 'fields the event does not carry are kept');
});

test('a message event without its text marks the conversation for a refresh and keeps a known body', () => {
  let s = liveReducer(initialLiveState, { type: 'conversations/loaded', items: [conv({ customer: { id: 'u1', phone: '+1', name: null } })] });
  s = liveReducer(s, { type: 'conversation/loaded', conversation: conv(), messages: [msg({ body: 'Hello' })] });
  s = apply(s, ev('message.created', { ...msg({ id: 'm2', created_at: '2026-11-25T12:00:09Z' }) }));
  assert.equal(s.stale.c1, true);
  assert.deepEqual(s.threads.c1.map((m) => m.id), ['m1', 'm2']);
  assert.equal(s.conversations.c1.last_message_at, '2026-11-25T12:00:09Z');
  s = apply(s, ev('message.status', { id: 'm1', conversation_id: 'c1', status: 'delivered', error_code: null }));
  assert.equal(s.threads.c1[0].status, 'delivered');
  assert.equal(s.threads.c1[0].body, 'Hello');
  s = liveReducer(s, { type: 'stale/clear', ids: ['c1'] });
  assert.deepEqual(s.stale, {});
});

test('a thread loaded from the API keeps messages the feed delivered after the read', () => {
  let s = liveReducer(initialLiveState, { type: 'conversation/loaded', conversation: conv(), messages: [msg()] });
  s = apply(s, ev('message.created', msg({ id: 'm9', created_at: '2026-11-25T12:00:30Z' })));
  s = liveReducer(s, { type: 'conversation/loaded', conversation: conv(), messages: [msg({ body: 'hi' })] });
  assert.deepEqual(s.threads.c1.map((m) => m.id), ['m1', 'm9']);
  assert.equal(s.conversations.c1.last_message?.body, 'hi');
});

test('leads, appointments, calls and health follow their events', () => {
  const s = apply(initialLiveState,
    ev('lead.updated', { id: 'l1', customer_id: 'u1', status: 'new', calls_count: 1, delivery_error: null, last_activity_at: '2026-11-25T12:00:00Z', created_at: '2026-11-25T12:00:00Z' }),
    ev('lead.updated', { id: 'l1', customer_id: 'u1', status: 'contacted', calls_count: 1, delivery_error: null, last_activity_at: '2026-11-25T12:00:01Z', created_at: '2026-11-25T12:00:00Z' }),
    ev('appointment.created', { id: 'a1', status: 'booked', starts_at: '2026-11-26T15:00:00Z', ends_at: '2026-11-26T16:00:00Z' }),
    ev('appointment.cancelled', { id: 'a1', status: 'cancelled', starts_at: '2026-11-26T15:00:00Z', ends_at: '2026-11-26T16:00:00Z' }),
    ev('call.missed', { id: 'k1', from: '+15125550142', conversation_id: 'c1', decision: 'texted' }),
    ev('system.health', { dispatcher_running: true, sandbox_mode: true }),
  );
  assert.equal(s.leads.l1.status, 'contacted');
  assert.equal(s.leads.l1.customer, undefined);
  assert.equal(s.leadsStale, true, 'a lead from the feed lacks its customer: the list is refetched');
  assert.equal(s.appointments.a1.status, 'cancelled');
  assert.equal(s.calls.k1.decision, 'texted');
  assert.deepEqual(s.health, { dispatcher_running: true, sandbox_mode: true });
});

test('emergencies and hand-offs become alerts, newest first, dismissable', () => {
  let s = apply(initialLiveState,
    ev('conversation.emergency', { id: 'c1', customer_id: 'u1', term: 'gas' }, 100),
    ev('conversation.handoff', { id: 'c2', reason: 'the assistant could not understand the customer twice' }, 101));
  assert.deepEqual(s.alerts.map((a) => a.kind), ['handoff', 'emergency']);
  assert.match(s.alerts[1].text, /gas/);
  s = liveReducer(s, { type: 'alert/dismiss', id: 101 });
  assert.deepEqual(s.alerts.map((a) => a.id), [100]);
});

test('the list is sorted by latest activity', () => {
  const s = liveReducer(initialLiveState, { type: 'conversations/loaded', items: [
    conv({ id: 'a', last_message_at: '2026-11-25T10:00:00Z' }),
    conv({ id: 'b', last_message_at: '2026-11-25T11:00:00Z' }),
    conv({ id: 'c', last_message_at: null, created_at: '2026-11-25T09:00:00Z' }),
  ] });
  assert.deepEqual(sortedConversations(s).map((c) => c.id), ['b', 'a', 'c']);
});

test('reply alerts: a new human window with time left, or a customer text to a taken-over thread', () => {
  const now = Date.parse('2026-11-25T12:00:10Z');
  const s = liveReducer(initialLiveState, { type: 'conversations/loaded', items: [conv(), conv({ id: 'c2', mode: 'human' })] });
  const opening = ev('conversation.updated', { id: 'c1', mode: 'human_window', state: 'open', human_window_deadline: '2026-11-25T12:01:00Z' });
  assert.deepEqual(replyAlertFor(s, opening, now), { conversationId: 'c1', deadline: '2026-11-25T12:01:00Z' });
  assert.equal(replyAlertFor(s, opening, Date.parse('2026-11-25T12:02:00Z')), null, 'a replayed, expired window does not ring');
  const after = apply(s, opening);
  assert.equal(replyAlertFor(after, { ...opening, id: 999 }, now), null, 'same deadline: not a new reply');
  const text = ev('message.created', msg({ conversation_id: 'c2', created_at: '2026-11-25T12:00:05Z' }));
  assert.deepEqual(replyAlertFor(s, text, now), { conversationId: 'c2', deadline: null });
  assert.equal(replyAlertFor(s, ev('message.created', msg({ conversation_id: 'c1', author: 'system', direction: 'outbound' })), now), null);
});
