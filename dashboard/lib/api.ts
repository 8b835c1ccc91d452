// api.ts — the one HTTP client of the dashboard: JSON in and out, the session's
// Bearer token, errors as ApiError carrying the API's stable code
// (docs/http-api.md), the server clock offset for countdowns, and whether the
// last request reached the server (for the connection bar, lib/connection.ts).
// Used by every screen through the session context; unit-tested in test/api.test.ts.
import type {
  AlertKind, AlertSettings, Appointment, AppointmentChange, AvailableNumber, BlockedNumber, OwnedNumber, Business, Call, Conversation, FeedEvent, Greeting,
  GreetingPreview, Hours, HoursRange, Job, Lead, LeadStatus, Message, Meta, PhoneNumber, Preferences,
  PushSubscriptionRecord, QuickReply, SentText, Slot, SystemStatus, TradeType, User,
} from './types';
import { createReachability } from './connection';

export class ApiError extends Error {
  constructor(public status: number, public code: string, message: string, public field?: string) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface ApiOptions {
  baseUrl?: string;
  getToken: () => string | null;
  /** Called on a 401 with a token: the session expired or was revoked. */
  onUnauthorized?: (code: string) => void;
  fetchImpl?: typeof fetch;
  now?: () => number;
}

type Query = Record<string, string | number | undefined | null>;

/** The API's path of a kept file: /api/media/<uuid>. */
export function isMediaPath(url: string): boolean {
  return /^\/api\/media\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(url);
}

export function queryString(q?: Query): string {
  if (!q) return '';
  const parts = Object.entries(q)
    .filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  return parts.length ? `?${parts.join('&')}` : '';
}

/** Milliseconds to add to the local clock to get the server's (from a Date header). */
export function clockOffset(dateHeader: string | null, sentAt: number, receivedAt: number): number | null {
  if (!dateHeader) return null;
  const server = Date.parse(dateHeader);
  if (Number.isNaN(server)) return null;
  // The header has whole seconds: the server's clock read some time in [server, server + 1 s).
  const offset = server + 500 - (sentAt + receivedAt) / 2;
  return Math.abs(offset) < 1500 ? 0 : offset;
}

export const TERMINAL_JOB = new Set(['done', 'failed', 'cancelled']);

export function createApi(opts: ApiOptions) {
  const base = opts.baseUrl ?? '';
  const doFetch = opts.fetchImpl ?? ((...a: Parameters<typeof fetch>) => fetch(...a));
  const now = opts.now ?? (() => Date.now());
  let offset = 0;
  const reachability = createReachability();

  /** One request: the token, the clock offset, reachability; a refusal becomes an ApiError. */
  async function send(method: string, path: string, body: unknown, query: Query | undefined, accept: string,
                      binary = false): Promise<{ res: Response; text: string; blob?: Blob }> {
    const headers: Record<string, string> = { Accept: accept };
    const token = opts.getToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const sentAt = now();
    let res: Response;
    try {
      res = await doFetch(base + path + queryString(query), {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      reachability.report(false);
      throw new ApiError(0, 'network_error', 'The server could not be reached. Check your connection and try again.');
    }
    reachability.report(true);
    const measured = clockOffset(res.headers.get('Date'), sentAt, now());
    if (measured !== null) offset = measured;
    if (binary && res.ok) return { res, text: '', blob: await res.blob() };
    const text = await res.text();
    if (!res.ok) {
      let json: unknown = null;
      try { json = text ? JSON.parse(text) : null; } catch { json = null; }
      const err = (json as { error?: { code?: string; message?: string; field?: string } } | null)?.error;
      const e = new ApiError(res.status, err?.code ?? `http_${res.status}`, err?.message ?? `The server answered ${res.status}.`, err?.field);
      if (res.status === 401 && token && opts.onUnauthorized) opts.onUnauthorized(e.code);
      throw e;
    }
    return { res, text };
  }

  async function request<T>(method: string, path: string, body?: unknown, query?: Query): Promise<T> {
    const { text } = await send(method, path, body, query, 'application/json');
    let json: unknown = null;
    if (text) {
      try { json = JSON.parse(text); } catch { json = null; }
    }
    return json as T;
  }

  /** A file the API serves (not JSON), fetched with the token in the header — never in a URL. */
  async function file(path: string, accept: string): Promise<{ text: string; type: string }> {
    const { res, text } = await send('GET', path, undefined, undefined, accept);
    return { text, type: res.headers.get('Content-Type') ?? accept };
  }

  /** A kept recording or photo (GET /api/media/{id}) as a Blob for an object URL; only our own media paths. */
  async function media(url: string): Promise<Blob> {
    if (!isMediaPath(url)) throw new ApiError(0, 'invalid_media_url', 'This file is not one of ours.');
    const { blob } = await send('GET', url, undefined, undefined, '*/*', true);
    return blob as Blob;
  }

  const get = <T>(p: string, q?: Query) => request<T>('GET', p, undefined, q);
  const post = <T>(p: string, b: unknown = {}) => request<T>('POST', p, b);
  const patch = <T>(p: string, b: unknown) => request<T>('PATCH', p, b);
  const put = <T>(p: string, b: unknown) => request<T>('PUT', p, b);
  const del = <T>(p: string) => request<T>('DELETE', p);
  const id = encodeURIComponent;

  /** Polls a job until it ends; onProgress sees every state. The app polls, tests never sleep. */
  async function waitForJob<R>(jobId: number, onProgress?: (j: Job<R>) => void, intervalMs = 250, signal?: AbortSignal): Promise<Job<R>> {
    for (;;) {
      const { job } = await get<{ job: Job<R> }>(`/api/jobs/${jobId}`);
      onProgress?.(job);
      if (TERMINAL_JOB.has(job.status)) return job;
      if (signal?.aborted) throw new ApiError(0, 'aborted', 'Stopped waiting.');
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }

  return {
    serverNow: () => now() + offset,
    reachability,
    request,
    tradeTypes: () => get<{ trade_types: TradeType[] }>('/api/trade-types'),
    meta: () => get<Meta>('/api/meta'),
    register: (b: { email: string; password: string; name: string; business_name: string; trade_type: string; timezone?: string }) =>
      post<{ token: string; user: User; business: Business }>('/api/auth/register', b),
    /** device: the token this browser got at an earlier login (passes the throttle); loginCode: a texted sign-in code. */
    login: (email: string, password: string, extra: { device?: string | null; loginCode?: string } = {}) =>
      post<{ token: string; user: User; device?: string }>('/api/auth/login', {
        email, password,
        ...(extra.device ? { device: extra.device } : {}),
        ...(extra.loginCode ? { login_code: extra.loginCode } : {}),
      }),
    requestLoginCode: (email: string) => post<{ message: string }>('/api/auth/unlock', { email }),
    /** A code for a new password, texted to the owner's phone (the same answer for unknown emails). */
    forgotPassword: (email: string) => post<{ message: string }>('/api/auth/password/forgot', { email }),
    /** The texted code and a new password: every other session of the account ends. */
    resetPassword: (email: string, code: string, password: string) =>
      post<{ token: string; user: User }>('/api/auth/password/reset', { email, code, password }),
    signOutEverywhere: () => post<{ signed_out: boolean }>('/api/auth/sign-out-everywhere'),
    alerts: () => get<{ alerts: AlertSettings }>('/api/business/alerts'),
    patchAlerts: (b: { kinds?: AlertKind[]; quiet_hours?: { start: string; end: string } | null }) =>
      patch<{ alerts: AlertSettings }>('/api/business/alerts', b),
    setAlertPhone: (phone: string) => put<{ alerts: AlertSettings }>('/api/business/alerts/phone', { phone }),
    verifyAlertPhone: (code: string) => post<{ alerts: AlertSettings }>('/api/business/alerts/phone/verify', { code }),
    me: () => get<{ user: User }>('/api/me'),
    patchMe: (b: { name?: string; preferences?: Partial<Record<keyof Preferences, unknown>> }) => patch<{ user: User }>('/api/me', b),
    business: () => get<{ business: Business }>('/api/business'),
    patchBusiness: (b: Partial<Record<keyof Business, unknown>>) => patch<{ business: Business }>('/api/business', b),
    hours: () => get<Hours>('/api/business/hours'),
    putHours: (hours: HoursRange[]) => put<Hours>('/api/business/hours', { hours }),
    addClosure: (date: string, reason?: string) => post<{ closure: unknown }>('/api/business/closures', { date, reason }),
    deleteClosure: (cid: string) => del<{ deleted: boolean }>(`/api/business/closures/${id(cid)}`),
    greeting: () => get<Greeting>('/api/business/greeting'),
    putGreeting: (template: string | null) => put<Greeting>('/api/business/greeting', { template }),
    previewGreeting: (template: string) => post<GreetingPreview>('/api/business/greeting/preview', { template }),
    blockedNumbers: () => get<{ blocked_numbers: BlockedNumber[] }>('/api/business/blocked-numbers'),
    blockNumber: (phone: string, reason?: string) => post<{ blocked_number: BlockedNumber }>('/api/business/blocked-numbers', { phone, reason }),
    unblockNumber: (bid: string) => del<{ deleted: boolean }>(`/api/business/blocked-numbers/${id(bid)}`),
    phoneNumbers: () => get<{ phone_numbers: PhoneNumber[] }>('/api/phone-numbers'),
    searchNumbers: (area_code: string) => post<{ job: Job<{ numbers: AvailableNumber[] }> }>('/api/phone-numbers/search', { area_code }),
    buyNumber: (phone_number: string) => post<{ job: Job }>('/api/phone-numbers', { phone_number }),
    /** The numbers the Twilio account already owns that no business uses (a job). */
    ownedNumbers: () => post<{ job: Job<{ numbers: OwnedNumber[] }> }>('/api/phone-numbers/owned', {}),
    /** Point one of them at us, keeping its webhooks to restore (a job). */
    attachNumber: (twilio_sid: string) => post<{ job: Job }>('/api/phone-numbers/attach', { twilio_sid }),
    /** Stop using an attached number: its earlier webhooks are put back (a job). */
    detachNumber: (pid: string) => post<{ job: Job }>(`/api/phone-numbers/${id(pid)}/detach`, {}),
    waitForJob,
    conversations: (q?: { state?: string; mode?: string; limit?: number; before?: string }) =>
      get<{ conversations: Conversation[]; next: string | null }>('/api/conversations', q),
    conversation: (cid: string) => get<{ conversation: Conversation; messages: Message[] }>(`/api/conversations/${id(cid)}`),
    /** Also to a closed conversation: the answer's conversation is the one the text went to (its id may differ). */
    sendMessage: (cid: string, body: string) => post<SentText>(`/api/conversations/${id(cid)}/messages`, { body }),
    /** The owner texts any number from the business's number: a new customer or a known one. */
    startConversation: (to: string, body: string) => post<SentText>('/api/conversations', { to, body }),
    /** Saved texts in order, each rendered for that conversation's customer (without one: for "there"). */
    quickReplies: (conversation?: string | null) => get<{ quick_replies: QuickReply[] }>('/api/quick-replies', { conversation }),
    addQuickReply: (b: { label: string; body: string }) => post<{ quick_reply: QuickReply }>('/api/quick-replies', b),
    patchQuickReply: (qid: string, b: { label?: string; body?: string; position?: number }) =>
      patch<{ quick_reply: QuickReply }>(`/api/quick-replies/${id(qid)}`, b),
    deleteQuickReply: (qid: string) => del<{ deleted: boolean }>(`/api/quick-replies/${id(qid)}`),
    takeover: (cid: string) => post<{ conversation: Conversation }>(`/api/conversations/${id(cid)}/takeover`),
    release: (cid: string) => post<{ conversation: Conversation }>(`/api/conversations/${id(cid)}/release`),
    leads: (q?: { status?: string; limit?: number; before?: string }) => get<{ leads: Lead[]; next: string | null }>('/api/leads', q),
    setLeadStatus: (lid: string, status: LeadStatus, reason?: string) =>
      patch<{ lead: Lead }>(`/api/leads/${id(lid)}`, reason ? { status, reason } : { status }),
    appointments: (q?: { from?: string; to?: string; status?: string }) => get<{ appointments: Appointment[] }>('/api/appointments', q),
    /** The owner books by hand; customer_texted: whether the confirmation could be texted. */
    createAppointment: (b: { customer_phone: string; starts_at: string; minutes?: number; service_address?: string; problem?: string; notify_customer: boolean }) =>
      post<AppointmentChange>('/api/appointments', b),
    /** Moves it (its length kept unless minutes is given); 400 outside_business_hours, 409 slot_taken. */
    moveAppointment: (aid: string, b: { starts_at: string; minutes?: number; notify_customer: boolean }) =>
      patch<AppointmentChange>(`/api/appointments/${id(aid)}`, b),
    cancelAppointment: (aid: string, b: { reason?: string; notify_customer?: boolean } = {}) =>
      post<AppointmentChange>(`/api/appointments/${id(aid)}/cancel`, {
        ...(b.reason ? { reason: b.reason } : {}),
        ...(b.notify_customer === undefined ? {} : { notify_customer: b.notify_customer }),
      }),
    /** Free slots: of a local day (date: YYYY-MM-DD), for a length, the moved appointment not counting; else the next ten. */
    openSlots: (q: { date?: string; minutes?: number; exclude?: string } = {}) => {
      const qs = new URLSearchParams();
      if (q.date) qs.set('date', q.date);
      if (q.minutes) qs.set('minutes', String(q.minutes));
      if (q.exclude) qs.set('exclude', q.exclude);
      return get<{ slots: Slot[] }>(`/api/appointments/open-slots${qs.size ? `?${qs}` : ''}`);
    },
    /** The appointment as an iCalendar file (text/calendar). */
    appointmentIcs: (aid: string) => file(`/api/appointments/${id(aid)}/ics`, 'text/calendar'),
    calls: () => get<{ calls: Call[] }>('/api/calls'),
    media,
    status: () => get<SystemStatus>('/api/status'),
    realtime: () => get<{ ws_url: string }>('/api/realtime'),
    events: (after: number, limit = 100) => get<{ events: FeedEvent[]; last_event_id: number }>('/api/events', { after, limit }),
    /** Web Push for "Alerts on this device" (lib/webPush.ts): the server's VAPID public key, base64url. */
    pushKey: () => get<{ public_key: string }>('/api/push/key'),
    /** 201 for a new endpoint, 200 when it was already registered (docs/openapi.json). */
    addPushSubscription: (s: PushSubscriptionJSON) => post<{ subscription: PushSubscriptionRecord }>('/api/push/subscriptions', s),
    removePushSubscription: (endpoint: string) => post<{ unsubscribed: boolean }>('/api/push/unsubscribe', { endpoint }),
    sandboxMissedCall: (from?: string) => post<{ call_sid: string; from: string; to: string }>('/api/sandbox/missed-call', from ? { from } : {}),
    sandboxCustomerReply: (from: string, body: string) => post<{ message_sid: string }>('/api/sandbox/customer-reply', { from, body }),
  };
}

export type Api = ReturnType<typeof createApi>;
