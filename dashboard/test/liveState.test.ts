// liveState.test.ts — the event reducer: snapshots and feed events meet in one
// model; replays are ignored; bodies fetched later are kept; alerts for replies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { conversationFor, customerOf, initialLiveState, liveReducer, MAX_DELIVERIES, replyAlertFor, sortedCalls, sortedConversations, type LiveState } from '../lib/liveState';
import type { Conversation, FeedEvent, Message } from '../lib/types';
import { loadServerRanks } from './serverRanks';

loadServerRanks();

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

const CUSTOMER = { id: 'u1', phone: '+15125550142', name: null };

test('a missed call names its caller at once: no list read for the conversation or the lead', () => {
  let s = apply(initialLiveState,
    ev('lead.updated', { id: 'l1', customer_id: 'u1', status: 'new', calls_count: 1, delivery_error: null, last_activity_at: '2026-11-25T12:00:00Z', created_at: '2026-11-25T12:00:00Z', customer: CUSTOMER }),
    ev('conversation.created', { ...conv(), customer: CUSTOMER }),
    ev('call.missed', { id: 'k1', from: '+15125550142', lead_id: 'l1', conversation_id: 'c1', decision: 'texted', decision_reason: 'missed call: greeting sent', created_at: '2026-11-25T12:00:00Z', customer: CUSTOMER }),
  );
  assert.equal(s.conversations.c1.customer?.phone, '+15125550142');
  assert.deepEqual(s.stale, {}, 'the list is not read for the customer');
  assert.equal(s.leads.l1.customer?.phone, '+15125550142');
  assert.equal(s.leads.l1.last_call?.decision_reason, 'missed call: greeting sent', 'the lead card learns the last call from call.missed');
  assert.equal(s.leadsStale, false);
  s = apply(s, ev('conversation.updated', { id: 'c1', mode: 'ai', state: 'open' }), ev('lead.updated', { id: 'l1', customer_id: 'u1', status: 'contacted', calls_count: 1, delivery_error: null, last_activity_at: '2026-11-25T12:00:09Z', created_at: '2026-11-25T12:00:00Z' }));
  assert.equal(s.conversations.c1.customer?.phone, '+15125550142', 'later events without the customer keep it');
  assert.equal(s.leads.l1.customer?.phone, '+15125550142');
  assert.equal(s.leads.l1.last_call?.id, 'k1');
  assert.equal(s.leadsStale, false);
});

test('without a customer in the event (older server), the lists are read as before', () => {
  let s = apply(initialLiveState, ev('conversation.created', conv()));
  assert.equal(s.stale.c1, true);
  s = apply(s, ev('call.missed', { id: 'k2', from: '+15125550177', lead_id: 'l9', conversation_id: 'c9', decision: 'texted', decision_reason: 'x', created_at: '2026-11-25T12:00:00Z' }));
  assert.equal(s.leadsStale, true, 'a missed call for a lead not loaded: the leads are read');
});

test('a thread opened by its URL names the customer from the conversation\'s detail', () => {
  const s = liveReducer(initialLiveState, { type: 'conversation/loaded', conversation: conv({ customer: CUSTOMER }), messages: [msg()] });
  assert.equal(s.conversations.c1.customer?.phone, '+15125550142');
});

const reply = (over: Partial<Message> = {}) => msg({ id: 'm7', direction: 'outbound', author: 'owner', body: 'On my way', status: 'pending', created_at: '2026-11-25T12:01:00Z', ...over });

test('an owner\'s reply moves from "Sending…" to its real state live, whatever order the reports arrive in', () => {
  const loaded = liveReducer(initialLiveState, { type: 'conversation/loaded', conversation: conv({ customer: CUSTOMER }), messages: [msg()] });
  // Usual order: the send's answer, then the feed.
  let s = liveReducer(loaded, { type: 'message/sent', message: reply() });
  s = apply(s, ev('message.created', { ...reply(), body: undefined }), ev('message.status', { id: 'm7', conversation_id: 'c1', status: 'queued', error_code: null }));
  assert.equal(s.threads.c1[1].status, 'queued');
  assert.equal(s.threads.c1[1].body, 'On my way');
  // The feed first, the send's answer ("pending") last.
  s = apply(loaded, ev('message.created', { ...reply(), body: undefined }), ev('message.status', { id: 'm7', conversation_id: 'c1', status: 'simulated', error_code: null }));
  s = liveReducer(s, { type: 'message/sent', message: reply() });
  assert.equal(s.threads.c1[1].status, 'simulated', 'the late answer does not bring back "Sending…"');
  assert.equal(s.threads.c1[1].body, 'On my way');
  // A refetch read before Twilio answered arrives after the event.
  s = liveReducer(s, { type: 'conversation/loaded', conversation: conv(), messages: [msg(), reply()] });
  assert.equal(s.threads.c1[1].status, 'simulated');
  // Refused: failed with Twilio's code.
  s = apply(loaded, ev('message.created', reply()), ev('message.status', { id: 'm7', conversation_id: 'c1', status: 'failed', error_code: 21610 }));
  assert.equal(s.threads.c1[1].status, 'failed');
  assert.equal(s.threads.c1[1].error_code, 21610);
  // Delivery callbacks carry it on; a stale report does not step back.
  s = apply(loaded, ev('message.created', reply()), ev('message.status', { id: 'm7', conversation_id: 'c1', status: 'delivered', error_code: null }),
    ev('message.status', { id: 'm7', conversation_id: 'c1', status: 'sent', error_code: null }));
  assert.equal(s.threads.c1[1].status, 'delivered');
});

test('a state heard before its thread loads is applied when it does, then forgotten', () => {
  let s = apply(initialLiveState, ev('message.status', { id: 'm7', conversation_id: 'c1', status: 'queued', error_code: null }));
  assert.deepEqual(s.deliveries, { m7: { status: 'queued', error_code: null } });
  s = liveReducer(s, { type: 'conversation/loaded', conversation: conv(), messages: [msg(), reply()] });
  assert.equal(s.threads.c1[1].status, 'queued');
  assert.deepEqual(s.deliveries, {});
  // Heard while the thread's read was under way, before the message itself.
  s = apply(s, ev('message.status', { id: 'm8', conversation_id: 'c1', status: 'simulated', error_code: null }));
  s = apply(s, ev('message.created', reply({ id: 'm8', created_at: '2026-11-25T12:02:00Z' })));
  assert.equal(s.threads.c1[2].status, 'simulated');
  assert.deepEqual(s.deliveries, {});
});

test('remembered states are bounded', () => {
  let s = initialLiveState;
  for (let i = 0; i < MAX_DELIVERIES + 5; i++) s = apply(s, ev('message.status', { id: `x${i}`, conversation_id: 'c2', status: 'queued', error_code: null }));
  assert.equal(Object.keys(s.deliveries).length, MAX_DELIVERIES);
  assert.ok(!('x0' in s.deliveries) && `x${MAX_DELIVERIES + 4}` in s.deliveries, 'the oldest go first');
});

test("a lead shows where its last call's text is, and never moves it back", () => {
  const lead = { id: 'l1', customer_id: 'u1', status: 'new', calls_count: 1, delivery_error: null,
    last_activity_at: '2026-11-25T12:00:00Z', created_at: '2026-11-25T12:00:00Z' } as unknown as import('../lib/types').Lead;
  let s = liveReducer(liveReducer(initialLiveState, { type: 'feed/hello', resumeAfter: 0 }), { type: 'leads/loaded', items: [lead] });
  s = apply(s, ev('call.missed', { id: 'k1', lead_id: 'l1', decision: 'texted', decision_reason: 'missed call: greeting sent',
                                   created_at: '2026-11-25T12:00:01Z', message_id: 'm9', text: { status: 'pending', error_code: null, error_message: null } }));
  assert.equal(s.leads.l1.last_call?.text_status, 'pending');
  s = apply(s, ev('message.status', { id: 'm9', conversation_id: 'c1', status: 'delivered', error_code: null }));
  assert.equal(s.leads.l1.last_call?.text_status, 'delivered');
  s = apply(s, ev('message.status', { id: 'm9', conversation_id: 'c1', status: 'sent', error_code: null }));
  assert.equal(s.leads.l1.last_call?.text_status, 'delivered', 'a late "sent" does not undo "delivered"');
  s = apply(s, ev('message.status', { id: 'other', conversation_id: 'c1', status: 'failed', error_code: 30003 }));
  assert.equal(s.leads.l1.last_call?.text_status, 'delivered', "another message's status is not this call's");
});

test('a moved appointment (appointment.updated) takes its new time', () => {
  const s = apply(initialLiveState,
    ev('appointment.created', { id: 'a7', status: 'booked', starts_at: '2026-11-26T15:00:00Z', ends_at: '2026-11-26T16:00:00Z', problem: 'Leak' }),
    ev('appointment.updated', { id: 'a7', status: 'booked', starts_at: '2026-11-26T18:00:00Z', ends_at: '2026-11-26T19:00:00Z', problem: 'Leak' }),
  );
  assert.equal(s.appointments.a7.starts_at, '2026-11-26T18:00:00Z');
  assert.equal(s.appointments.a7.ends_at, '2026-11-26T19:00:00Z');
  assert.equal(s.appointments.a7.problem, 'Leak');
});

test('the call log: loaded calls and live ones meet, newest first; callers are remembered', () => {
  const call = (id: string, created_at: string, over: object = {}) => ({ id, from: '+15125550142', to: '+18305550100', status: 'missed',
    decision: 'texted', decision_reason: null, conversation_id: null, created_at, ...over });
  let s = liveReducer(initialLiveState, { type: 'calls/loaded', items: [call('k1', '2026-11-25T10:00:00Z'), call('k2', '2026-11-25T11:00:00Z')] });
  s = apply(s, ev('call.missed', { ...call('k3', '2026-11-25T12:00:00Z', { customer_id: 'u5' }), customer: { id: 'u5', phone: '+15125550199', name: 'Ann' } }));
  s = apply(s, ev('call.updated', { ...call('k1', '2026-11-25T10:00:00Z'), status: 'answered', decision: 'not_missed' }));
  assert.deepEqual(sortedCalls(s).map((c) => c.id), ['k3', 'k2', 'k1']);
  assert.equal(s.calls.k1.status, 'answered');
  assert.equal(customerOf(s, 'u5')?.name, 'Ann', 'a missed call names its caller');
  assert.equal(customerOf(s, 'nobody'), null);
  s = liveReducer(s, { type: 'customer/known', customer: { id: 'u6', phone: '+15125550111', name: null } });
  assert.equal(customerOf(s, 'u6')?.phone, '+15125550111', 'a number the owner booked');
  // A tap opens the call's conversation, else the customer's open one.
  s = liveReducer(s, { type: 'conversations/loaded', items: [
    conv({ id: 'old', customer_id: 'u5', state: 'closed', last_message_at: '2026-11-25T12:30:00Z' }),
    conv({ id: 'open', customer_id: 'u5', state: 'open', last_message_at: '2026-11-25T09:00:00Z' }),
  ] });
  assert.equal(conversationFor(s, 'old', 'u5'), 'old');
  assert.equal(conversationFor(s, null, 'u5'), 'open');
  assert.equal(conversationFor(s, null, 'u9'), null);
});

test('a call in the log shows where its greeting is, live, never moving back', () => {
  let s = liveReducer(initialLiveState, { type: 'calls/loaded', items: [{ id: 'k1', from: '+15125550142', to: '+18305550100', status: 'missed',
    decision: 'texted', decision_reason: null, conversation_id: 'c1', created_at: '2026-11-25T10:00:00Z', message_id: 'm5',
    text: { status: 'pending', error_code: null, error_message: null } }] });
  s = apply(s, ev('message.status', { id: 'm5', conversation_id: 'c1', status: 'delivered', error_code: null }));
  assert.equal(s.calls.k1.text?.status, 'delivered');
  s = apply(s, ev('message.status', { id: 'm5', conversation_id: 'c1', status: 'sent', error_code: null }));
  assert.equal(s.calls.k1.text?.status, 'delivered', 'a late "sent" does not move it back');
});

test('a read asked for before an event does not undo it: the event wins and the conversation is read again', () => {
  const customer = { id: 'u1', phone: '+15125550142', name: null };
  let s = liveReducer(initialLiveState, { type: 'feed/hello', resumeAfter: 100 });
  s = liveReducer(s, { type: 'conversations/loaded', items: [conv({ customer })], asOf: 100 });
  const asOf = s.lastEventId;                                  // a reload is asked for here …
  s = apply(s, ev('conversation.updated', { id: 'c1', mode: 'waiting', state: 'closed' }, 101));   // … the conversation closes …
  // … and the reload's answer, read before the close, arrives after it.
  const list = liveReducer(s, { type: 'conversations/loaded', items: [conv({ customer, state: 'open' })], asOf });
  assert.equal(list.conversations.c1.state, 'closed', 'the list read does not reopen it');
  assert.equal(list.stale.c1, true, 'it is read again');
  const thread = liveReducer(list, { type: 'conversation/loaded', conversation: conv({ customer, state: 'open' }), messages: [msg()], asOf });
  assert.equal(thread.conversations.c1.state, 'closed', 'nor does the thread read');
  assert.equal(thread.threads.c1.length, 1, 'its messages are kept');
  const cleared = liveReducer(thread, { type: 'stale/clear', ids: ['c1'], asOf });
  assert.equal(cleared.stale.c1, true, 'a re-read asked for before the event does not settle it');
  assert.equal(cleared.staleRound, thread.staleRound + 1, '… and asks for another round of reads');
  // The read asked for after the event is current: it applies and settles.
  const later = liveReducer(cleared, { type: 'conversations/loaded', items: [conv({ customer, state: 'closed', mode: 'waiting' })], asOf: 101 });
  assert.equal(later.conversations.c1.state, 'closed');
  assert.equal(later.stale.c1, undefined);
  // A read without asOf (a caller that does not know) is taken as current, as before.
  const plain = liveReducer(s, { type: 'conversations/loaded', items: [conv({ customer, state: 'open' })] });
  assert.equal(plain.conversations.c1.state, 'open');
});
