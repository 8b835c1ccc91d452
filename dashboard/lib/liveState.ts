// liveState.ts — the dashboard's live model and the reducer that applies the
// feed's events to it (conversations, threads, leads, appointments, calls,
// system health, alerts). Pure: no fetching here. Snapshots from the API and
// events from the WebSocket meet in this one place; events are applied in id
// order and a replayed id is ignored; a text's delivery state only moves
// forward (lib/delivery.ts). Unit-tested in test/liveState.test.ts.
import { newerDelivery, type Delivery } from './delivery';
import type { Appointment, Call, Conversation, Customer, FeedEvent, Lead, Message } from './types';

export interface Alert { id: number; kind: 'emergency' | 'handoff' | 'job_failed' | 'reply'; text: string; conversationId?: string; at: string }
export interface Health { dispatcher_running?: boolean; sandbox_mode?: boolean }

export interface LiveState {
  lastEventId: number | null;
  conversations: Record<string, Conversation>;
  /** Messages of the threads that have been opened, in time order. */
  threads: Record<string, Message[]>;
  leads: Record<string, Lead>;
  appointments: Record<string, Appointment>;
  calls: Record<string, Call>;
  /** Customers learned outside conversations and leads (a missed call's caller, a number the owner booked). */
  customers: Record<string, Customer>;
  health: Health | null;
  alerts: Alert[];
  /** Conversations whose list entry lacks data only the API has (customer if an event left it out, last message text),
   *  or whose read was taken before an event changed them: read again. */
  stale: Record<string, true>;
  /** The id of the last event that changed each conversation: a read taken before it must not undo it. */
  changedBy: Record<string, number>;
  /** Counts the rounds of reads that left a conversation stale (changed while it was read): each asks for another. */
  staleRound: number;
  /** A lead arrived from the feed without its customer (or a missed call named a lead not loaded): the list needs a refetch. */
  leadsStale: boolean;
  /** Delivery states heard (message.status) for texts not yet in a loaded thread, by message id; applied when it loads. */
  deliveries: Record<string, Delivery>;
}

export const initialLiveState: LiveState = {
  lastEventId: null, conversations: {}, threads: {}, leads: {}, appointments: {}, calls: {}, customers: {}, health: null, alerts: [], stale: {}, leadsStale: false,
  deliveries: {}, changedBy: {}, staleRound: 0,
};

/** Delivery states kept for texts outside loaded threads: enough for any burst, bounded over a long session. */
export const MAX_DELIVERIES = 200;

export type LiveAction =
  | { type: 'reset' }
  | { type: 'feed/hello'; resumeAfter: number }
  | { type: 'event'; event: FeedEvent }
  // asOf: lastEventId when the read was asked for (see readBefore); absent, the read is taken as current.
  | { type: 'conversations/loaded'; items: Conversation[]; asOf?: number | null }
  | { type: 'conversation/loaded'; conversation: Conversation; messages: Message[]; asOf?: number | null }
  | { type: 'conversation/patched'; conversation: Partial<Conversation> & { id: string } }
  | { type: 'message/sent'; message: Message }
  | { type: 'leads/loaded'; items: Lead[] }
  | { type: 'lead/patched'; lead: Lead }
  | { type: 'appointments/loaded'; items: Appointment[] }
  | { type: 'appointment/patched'; appointment: Appointment }
  | { type: 'calls/loaded'; items: Call[] }
  | { type: 'customer/known'; customer: Customer }
  | { type: 'health/loaded'; health: Health }
  | { type: 'alert/dismiss'; id: number }
  | { type: 'stale/clear'; ids: string[]; asOf?: number | null };

const MAX_ALERTS = 20;

/** A read asked for when the feed stood at asOf, of a conversation an event changed since: the event is newer. */
function readBefore(s: LiveState, id: string, asOf: number | null | undefined): boolean {
  if (asOf === undefined) return false;
  const changed = s.changedBy[id];
  return changed !== undefined && changed > (asOf ?? -1);
}

function byId<T extends { id: string }>(items: T[], old: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = { ...old };
  for (const it of items) out[it.id] = { ...old[it.id], ...it };
  return out;
}

function later(a: string | null | undefined, b: string | null | undefined): string | null {
  if (!a) return b ?? null;
  if (!b) return a;
  return Date.parse(a) >= Date.parse(b) ? a : b;
}

/** The message with the furthest-along of its own delivery state and `known`'s. */
function withDelivery(m: Message, known: Delivery | undefined): Message {
  if (!known) return m;
  const d = newerDelivery<Delivery>(known, { status: m.status, error_code: m.error_code });
  return d.status === m.status && d.error_code === m.error_code ? m : { ...m, status: d.status, error_code: d.error_code };
}

/** Inserts or updates a message, keeping time order, any body already known and the furthest delivery state. */
export function upsertMessage(list: Message[] | undefined, m: Message): Message[] {
  const cur = list ?? [];
  const i = cur.findIndex((x) => x.id === m.id);
  if (i >= 0) {
    const next = cur.slice();
    next[i] = withDelivery({ ...cur[i], ...m, body: m.body ?? cur[i].body }, cur[i]);
    return next;
  }
  const next = [...cur, m];
  next.sort((a, b) => Date.parse(a.created_at) - Date.parse(b.created_at));
  return next;
}

function pushAlert(s: LiveState, a: Alert): Alert[] {
  return [a, ...s.alerts].slice(0, MAX_ALERTS);
}

/** Remembers a delivery state for a text outside the loaded threads (oldest dropped past MAX_DELIVERIES). */
function rememberDelivery(all: Record<string, Delivery>, id: string, d: Delivery): Record<string, Delivery> {
  const out = { ...all };
  delete out[id];
  out[id] = newerDelivery(all[id], d);
  const ids = Object.keys(out);
  for (const old of ids.slice(0, Math.max(0, ids.length - MAX_DELIVERIES))) delete out[old];
  return out;
}

/** Messages from the API merged with what the model already knows of their delivery; `used` lists the remembered states applied. */
function mergeDeliveries(messages: Message[], thread: Message[] | undefined, remembered: Record<string, Delivery>): { messages: Message[]; used: string[] } {
  const used: string[] = [];
  const out = messages.map((m) => {
    const inThread = thread?.find((x) => x.id === m.id);
    if (remembered[m.id]) used.push(m.id);
    return withDelivery(withDelivery(m, inThread), remembered[m.id]);
  });
  return { messages: out, used };
}

function without(all: Record<string, Delivery>, ids: string[]): Record<string, Delivery> {
  if (!ids.length) return all;
  const out = { ...all };
  for (const id of ids) delete out[id];
  return out;
}

/** A lead whose last call's text this is shows where the text is now (never moving back). */
function leadsHearTextStatus(s: LiveState, messageId: string, status: string): LiveState {
  let leads: LiveState['leads'] | null = null;
  for (const [id, l] of Object.entries(s.leads)) {
    const lc = l.last_call;
    if (!lc || lc.message_id !== messageId) continue;
    const kept = newerDelivery<Delivery>(lc.text_status ? { status: lc.text_status, error_code: null } : undefined, { status, error_code: null });
    if (kept.status === lc.text_status) continue;
    leads = leads ?? { ...s.leads };
    leads[id] = { ...l, last_call: { ...lc, text_status: kept.status } };
  }
  return leads ? { ...s, leads } : s;
}

/** A call whose greeting this is shows where the text is now (never moving back), in the call log. */
function callsHearTextStatus(s: LiveState, messageId: string, status: string, errorCode: number | null): LiveState {
  let calls: LiveState['calls'] | null = null;
  for (const [id, c] of Object.entries(s.calls)) {
    if (!c.message_id || c.message_id !== messageId) continue;
    const cur = c.text ?? { status: 'pending', error_code: null, error_message: null };
    const kept = newerDelivery<Delivery>({ status: cur.status, error_code: cur.error_code }, { status, error_code: errorCode });
    if (kept.status === cur.status && kept.error_code === cur.error_code) continue;
    calls = calls ?? { ...s.calls };
    calls[id] = { ...c, text: { ...cur, status: kept.status, error_code: kept.error_code } };
  }
  return calls ? { ...s, calls } : s;
}

function applyEvent(s: LiveState, e: FeedEvent): LiveState {
  const d = e.data as Record<string, any>;
  switch (e.type) {
    case 'conversation.created':
    case 'conversation.updated': {
      const old = s.conversations[d.id];
      const conv = { ...(old ?? {}), ...d } as Conversation;
      // conversation.updated sends the deadline only when it matters; leaving human_window clears it.
      if (!('human_window_deadline' in d) && d.mode && d.mode !== 'human_window') conv.human_window_deadline = null;
      // conversation.created names the customer; without one (older servers) the list is read for it.
      const stale = conv.customer ? s.stale : { ...s.stale, [d.id]: true as const };
      return { ...s, conversations: { ...s.conversations, [d.id]: conv }, stale };
    }
    case 'message.created': {
      const msg = d as Message;
      const old = s.conversations[msg.conversation_id];
      const conversations = old
        ? {
            ...s.conversations,
            [msg.conversation_id]: {
              ...old,
              last_message_at: later(old.last_message_at, msg.created_at),
              last_message: { author: msg.author, created_at: msg.created_at },
            },
          }
        : s.conversations;
      const loaded = s.threads[msg.conversation_id];
      const threads = loaded
        ? { ...s.threads, [msg.conversation_id]: upsertMessage(loaded, withDelivery(msg, s.deliveries[msg.id])) }
        : s.threads;
      const deliveries = loaded ? without(s.deliveries, [msg.id]) : s.deliveries;
      return { ...s, conversations, threads, deliveries, stale: { ...s.stale, [msg.conversation_id]: true } };
    }
    case 'message.status': {
      const heard: Delivery = { status: d.status, error_code: d.error_code ?? null };
      s = callsHearTextStatus(leadsHearTextStatus(s, d.id, d.status), d.id, d.status, d.error_code ?? null);
      const list = s.threads[d.conversation_id];
      const i = list ? list.findIndex((m) => m.id === d.id) : -1;
      // Not on screen yet (thread not loaded, or its read still under way): kept for when it is.
      if (!list || i < 0) return { ...s, deliveries: rememberDelivery(s.deliveries, d.id, heard) };
      const cur = list[i];
      const kept = newerDelivery<Delivery>({ status: cur.status, error_code: cur.error_code }, heard);
      if (kept.status === cur.status && kept.error_code === cur.error_code) return s;
      const next = list.slice();
      next[i] = { ...cur, ...kept };
      return { ...s, threads: { ...s.threads, [d.conversation_id]: next } };
    }
    case 'lead.updated': {
      const lead = { ...s.leads[d.id], ...(d as Lead) };
      return { ...s, leads: { ...s.leads, [d.id]: lead }, leadsStale: s.leadsStale || !lead.customer };
    }
    case 'appointment.created':
    case 'appointment.updated':   // moved by the owner: its new time
    case 'appointment.cancelled':
      return { ...s, appointments: { ...s.appointments, [d.id]: { ...s.appointments[d.id], ...(d as Appointment) } } };
    case 'call.missed': {
      const calls = { ...s.calls, [d.id]: { ...s.calls[d.id], ...(d as Call) } };
      if (d.customer?.id) s = { ...s, customers: { ...s.customers, [d.customer.id]: d.customer as Customer } };
      if (!d.lead_id) return { ...s, calls };
      // The lead's card says what the last call did: the event has it (lead.updated came first, without it).
      const lead = s.leads[d.lead_id];
      if (!lead) return { ...s, calls, leadsStale: true };
      const last_call = { id: d.id, decision: d.decision, decision_reason: d.decision_reason, created_at: d.created_at,
                          message_id: d.message_id ?? null, text_status: d.text?.status ?? null };
      return { ...s, calls, leads: { ...s.leads, [d.lead_id]: { ...lead, last_call } } };
    }
    case 'call.updated':
      return { ...s, calls: { ...s.calls, [d.id]: { ...s.calls[d.id], ...(d as Call) } } };
    case 'system.health':
      return { ...s, health: { ...s.health, ...(d as Health) } };
    case 'conversation.emergency':
      return { ...s, alerts: pushAlert(s, { id: e.id, kind: 'emergency', conversationId: d.id, at: e.created_at,
        text: `Emergency reported (“${d.term}”): safety advice was sent; call the customer now.` }) };
    case 'conversation.handoff':
      return { ...s, alerts: pushAlert(s, { id: e.id, kind: 'handoff', conversationId: d.id, at: e.created_at,
        text: `The assistant handed a conversation to you: ${d.reason}.` }) };
    case 'job.failed':
      return { ...s, alerts: pushAlert(s, { id: e.id, kind: 'job_failed', at: e.created_at,
        text: `A ${d.kind} request failed for good (${d.error_code ?? 'unknown error'}).` }) };
    default:
      return s;
  }
}

export function liveReducer(s: LiveState, a: LiveAction): LiveState {
  switch (a.type) {
    case 'reset':
      return initialLiveState;
    case 'feed/hello':
      return s.lastEventId === null || a.resumeAfter > s.lastEventId ? { ...s, lastEventId: a.resumeAfter } : s;
    case 'event': {
      if (s.lastEventId !== null && a.event.id <= s.lastEventId) return s;
      const next = applyEvent(s, a.event);
      let changedBy = s.changedBy;
      for (const id of Object.keys(next.conversations)) {
        if (next.conversations[id] !== s.conversations[id]) changedBy = { ...changedBy, [id]: a.event.id };
      }
      return { ...next, lastEventId: a.event.id, changedBy };
    }
    case 'conversations/loaded': {
      // A row read before an event changed it keeps what the event said and is read again.
      const stale = { ...s.stale };
      const fresh: Conversation[] = [];
      for (const c of a.items) {
        if (readBefore(s, c.id, a.asOf)) { stale[c.id] = true; continue; }
        delete stale[c.id];
        fresh.push(c);
      }
      return { ...s, conversations: byId(fresh, s.conversations), stale };
    }
    case 'conversation/loaded': {
      const c = a.conversation;
      const last = a.messages[a.messages.length - 1];
      const behind = readBefore(s, c.id, a.asOf);
      const merged: Conversation = behind ? { ...c, ...s.conversations[c.id] } : {
        ...s.conversations[c.id], ...c,
        last_message: last ? { body: last.body, author: last.author, created_at: last.created_at } : s.conversations[c.id]?.last_message ?? null,
      };
      // The read may predate events already applied: a delivery state never steps back.
      const { messages, used } = mergeDeliveries(a.messages, s.threads[c.id], s.deliveries);
      let thread = messages;
      // Keep stubs the feed delivered after the API read its rows.
      for (const m of s.threads[c.id] ?? []) if (!thread.some((x) => x.id === m.id)) thread = upsertMessage(thread, m);
      return { ...s, conversations: { ...s.conversations, [c.id]: merged }, threads: { ...s.threads, [c.id]: thread }, deliveries: without(s.deliveries, used) };
    }
    case 'conversation/patched':
      return { ...s, conversations: { ...s.conversations, [a.conversation.id]: { ...s.conversations[a.conversation.id], ...a.conversation } as Conversation } };
    case 'message/sent': {
      // The send's answer ("pending") can arrive after the feed said the text was queued.
      const m = withDelivery(a.message, s.deliveries[a.message.id]);
      const old = s.conversations[m.conversation_id];
      return {
        ...s,
        deliveries: without(s.deliveries, [m.id]),
        threads: { ...s.threads, [m.conversation_id]: upsertMessage(s.threads[m.conversation_id], m) },
        conversations: old ? { ...s.conversations, [m.conversation_id]: { ...old, last_message_at: later(old.last_message_at, m.created_at),
          last_message: { body: m.body, author: m.author, created_at: m.created_at } } } : s.conversations,
      };
    }
    case 'leads/loaded':
      return { ...s, leads: byId(a.items, s.leads), leadsStale: false };
    case 'lead/patched':
      return { ...s, leads: { ...s.leads, [a.lead.id]: { ...s.leads[a.lead.id], ...a.lead } } };
    case 'appointments/loaded':
      return { ...s, appointments: byId(a.items, s.appointments) };
    case 'appointment/patched':
      return { ...s, appointments: { ...s.appointments, [a.appointment.id]: { ...s.appointments[a.appointment.id], ...a.appointment } } };
    case 'calls/loaded':
      return { ...s, calls: byId(a.items, s.calls) };
    case 'customer/known':
      return { ...s, customers: { ...s.customers, [a.customer.id]: { ...s.customers[a.customer.id], ...a.customer } } };
    case 'health/loaded':
      return { ...s, health: { ...s.health, ...a.health } };
    case 'stale/clear': {
      const stale = { ...s.stale };
      let kept = false;
      for (const id of a.ids) {
        if (readBefore(s, id, a.asOf)) kept = true; else delete stale[id];
      }
      return { ...s, stale, staleRound: kept ? s.staleRound + 1 : s.staleRound };
    }
    case 'alert/dismiss':
      return { ...s, alerts: s.alerts.filter((x) => x.id !== a.id) };
    default:
      return s;
  }
}

/** Who a customer is, from whatever the model holds: a conversation, a lead, a call, or one learned on its own. */
export function customerOf(s: LiveState, customerId: string | null | undefined): Customer | null {
  if (!customerId) return null;
  const found = [
    s.customers[customerId],
    ...Object.values(s.conversations).filter((c) => c.customer_id === customerId).map((c) => c.customer),
    ...Object.values(s.leads).filter((l) => l.customer_id === customerId).map((l) => l.customer),
    ...Object.values(s.calls).filter((c) => c.customer_id === customerId || c.customer?.id === customerId).map((c) => c.customer),
  ].filter((c): c is Customer => !!c && !!c.phone);
  return found.find((c) => c.name) ?? found[0] ?? null;
}

/** The conversation a tap on a customer opens: the one named, else their open one, else their latest. */
export function conversationFor(s: LiveState, conversationId: string | null | undefined, customerId: string | null | undefined): string | null {
  if (conversationId && s.conversations[conversationId]) return conversationId;
  const theirs = Object.values(s.conversations).filter((c) => customerId && c.customer_id === customerId);
  theirs.sort((a, b) => Number(b.state === 'open') - Number(a.state === 'open')
    || Date.parse(b.last_message_at ?? b.created_at) - Date.parse(a.last_message_at ?? a.created_at));
  return theirs[0]?.id ?? conversationId ?? null;
}

/** Calls for the log: newest first. */
export function sortedCalls(s: LiveState): Call[] {
  return Object.values(s.calls).sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at) || (a.id < b.id ? 1 : -1));
}

/** Conversations for the list: latest activity first. */
export function sortedConversations(s: LiveState, filter?: (c: Conversation) => boolean): Conversation[] {
  const all = Object.values(s.conversations).filter((c) => (filter ? filter(c) : true));
  const key = (c: Conversation) => Date.parse(c.last_message_at ?? c.created_at);
  return all.sort((a, b) => key(b) - key(a) || (a.id < b.id ? 1 : -1));
}

/**
 * Whether an event is a customer reply the owner should be alerted to: the
 * conversation enters the human window with a deadline still ahead (a new
 * reply), or the customer writes again while it is there or taken over.
 */
export function replyAlertFor(prev: LiveState, e: FeedEvent, serverNow: number): { conversationId: string; deadline: string | null } | null {
  const d = e.data as Record<string, any>;
  if (e.type === 'conversation.updated' && d.mode === 'human_window' && d.human_window_deadline) {
    const old = prev.conversations[d.id];
    if (old?.mode === 'human_window' && old.human_window_deadline === d.human_window_deadline) return null;
    if (Date.parse(d.human_window_deadline) <= serverNow) return null;
    return { conversationId: d.id, deadline: d.human_window_deadline };
  }
  const mode = prev.conversations[d.conversation_id]?.mode;
  if (e.type === 'message.created' && d.author === 'customer' && (mode === 'human' || mode === 'human_window')) {
    if (serverNow - Date.parse(d.created_at) > 60_000) return null;
    return { conversationId: d.conversation_id, deadline: null };
  }
  return null;
}
