// types.ts — the shapes the JSON API and the live feed return (docs/http-api.md).
// Only the fields the dashboard reads are listed; the API may send more.

export type Mode = 'waiting' | 'human_window' | 'ai' | 'human';
export type ConversationState = 'open' | 'closed';
export type Author = 'customer' | 'ai' | 'owner' | 'system' | string;
export type LeadStatus = 'new' | 'contacted' | 'qualified' | 'appointment_scheduled' | 'won' | 'lost' | 'out_of_area';

/** GET /api/meta: the server's rules the dashboard shows (the lists live in SQL, never copied here). */
export interface StateMachine { statuses: string[]; moves: Record<string, string[]> }
export interface Meta {
  state_machines: Record<'lead' | 'call' | 'conversation_state' | 'conversation_mode' | 'appointment' | 'job', StateMachine>;
  /** How far along each state of a text is (pending 0 … final states level); see lib/delivery.ts. */
  message_delivery: { ranks: Record<string, number> };
  limits: { service_radius_km_max: number };
}

export interface User {
  id: string;
  business_id: string;
  email: string;
  name: string;
  preferences: Preferences;
}

export interface Preferences {
  notify_replies?: boolean;
  sound?: boolean;
  onboarded?: boolean;
}

export interface Business {
  id: string;
  name: string;
  trade_type: string;
  address_line1: string | null;
  address_line2: string | null;
  city: string | null;
  region: string | null;
  postal_code: string | null;
  country: string;
  timezone: string;
  forward_to_phone: string | null;
  human_window_seconds: number;
  ai_disclosure: string;
  safety_advice: string;
  service_postal_codes: string[];
  /** Kilometres around service_center; null: no radius. */
  service_radius_km: number | null;
  /** null: the business address (geocoded when Google Maps is configured). */
  service_center: { lat: number; lng: number } | null;
  /** A text reporting danger is also texted to forward_to_phone. */
  emergency_sms_to_owner: boolean;
  max_ai_segments: number;
  /** The default length of an appointment, minutes (15–480). */
  appointment_minutes: number;
  /** Minutes kept free after each appointment (0–240): no appointment starts inside them. */
  appointment_buffer_minutes: number;
  /** A reminder texted to the customer at 18:00 the evening before. */
  reminder_day_before: boolean;
  /** A reminder this many hours before on the day (not before 07:00); 0: none. */
  reminder_hours_before: number;
  /** A missed caller may leave a voicemail after the words (default on). */
  voicemail_enabled: boolean;
}

export interface TradeType { code: string; label: string }

export interface HoursRange { weekday: number; opens_at: string; closes_at: string }
export interface Closure { id: string; date: string; reason: string | null }
export interface Hours { timezone: string; open_now: boolean; hours: HoursRange[]; closures: Closure[] }

export interface GreetingPreview { text: string; encoding: string; segments: number; characters: number }
export interface Greeting {
  template: string;
  is_default: boolean;
  default_template: string;
  variables: string[];
  preview: GreetingPreview;
}

export interface BlockedNumber { id: string; phone: string; reason: string | null }
/** A number's webhook settings as Twilio has them (an empty URL: none). */
export interface NumberWebhooks {
  voice_url: string | null; voice_method: string | null; sms_url: string | null; sms_method: string | null;
  status_callback: string | null; status_callback_method: string | null;
}
/** previous_webhooks: for a number the account owned before it was attached, the webhooks it had (put back on detach). */
export interface PhoneNumber { id: string; phone: string; friendly_name: string | null; simulated: boolean; previous_webhooks?: NumberWebhooks | null }
/** A number the Twilio account owns that no business uses yet (POST /api/phone-numbers/owned). */
export interface OwnedNumber { twilio_sid: string; phone_number: string; friendly_name: string | null; webhooks: NumberWebhooks }
export interface AvailableNumber { phone_number: string; friendly_name: string; locality: string | null; region: string | null }

export type JobStatus = 'queued' | 'in_flight' | 'done' | 'failed' | 'cancelled';
export interface Job<R = unknown> {
  id: number;
  kind: string;
  status: JobStatus;
  attempts: number;
  simulated: boolean;
  result: R | null;
  error_code: string | null;
  error: string | null;
}

export interface Customer { id: string; phone: string; name: string | null }

export interface LastMessage { body?: string; author: Author; created_at: string }

export interface Conversation {
  id: string;
  customer_id: string;
  lead_id: string | null;
  state: ConversationState;
  mode: Mode;
  human_window_deadline: string | null;
  last_message_at: string | null;
  created_at: string;
  /** In the list, a conversation's detail and conversation.created (absent from conversation.updated). */
  customer?: Customer;
  last_message?: LastMessage | null;
}

export interface Message {
  id: string;
  conversation_id: string;
  direction: 'inbound' | 'outbound';
  author: Author;
  body?: string;
  status: string;
  error_code: number | null;
  /** Why it failed or was not sent (e.g. the customer replied STOP before it went out). */
  error_message?: string | null;
  simulated: boolean;
  created_at: string;
  /** An MMS's photos: their type and where we keep a copy (GET /api/media/{id}, with the session). */
  media?: MediaRef[] | null;
}

export interface MediaRef { content_type: string; url?: string | null }

/** A message a missed caller left (GET /api/calls, call.updated). */
export interface Voicemail {
  id: string;
  status: 'completed' | 'absent' | 'failed';
  duration_seconds: number | null;
  /** Where to play it once copied from Twilio (GET, with the session); audio_status: fetching, stored, failed. */
  audio_url: string | null;
  audio_status: 'fetching' | 'stored' | 'failed' | null;
  transcript: string | null;
  /** none: no OpenAI key; pending; done; failed. */
  transcript_status: 'none' | 'pending' | 'done' | 'failed';
  created_at: string;
}

/** The answer to a text the owner sends (POST /api/conversations/{id}/messages, POST /api/conversations):
 *  the text and the conversation it went to — another one than posted to when that one was closed. */
export interface SentText { message: Message; conversation?: Conversation }

/** A saved text (GET /api/quick-replies): body is the template, text it rendered for the conversation asked about. */
export interface QuickReply { id: string; label: string; body: string; text: string; position: number }

export interface Lead {
  id: string;
  customer_id: string;
  status: LeadStatus;
  calls_count: number;
  delivery_error: string | null;
  /** Captured by the assistant or the intake engine. */
  service_address?: string | null;
  problem?: string | null;
  urgency?: 'normal' | 'urgent' | 'emergency' | null;
  /** Why it was won or lost. */
  status_reason?: string | null;
  last_activity_at: string;
  created_at: string;
  customer?: Customer;
  /** text_status: where the greeting of that call is (queued, sent, delivered, failed, dropped…). */
  last_call?: { id: string; decision: string; decision_reason: string; created_at: string; message_id?: string | null; text_status?: string | null } | null;
}

export interface Appointment {
  id: string;
  customer_id: string;
  lead_id: string | null;
  starts_at: string;
  ends_at: string;
  status: 'booked' | 'cancelled';
  service_address: string | null;
  problem: string | null;
  booked_by: string;
  cancel_reason?: string | null;
}

/** The answer to the owner's booking, move or cancellation: whether the customer could be texted about it. */
export interface AppointmentChange { appointment: Appointment; customer_texted: boolean }

/** A free time of appointment_minutes inside business hours (GET /api/appointments/open-slots). */
export interface Slot { starts_at: string; ends_at: string }

export interface Call {
  id: string;
  from: string;
  to: string;
  /** ringing, forwarded (ringing the owner), answered, missed. */
  status: string;
  /** Why it counts as missed (lib/calls.ts says it in words). */
  missed_reason?: string | null;
  customer_id?: string | null;
  duration_seconds?: number | null;
  decision: string | null;
  decision_reason: string | null;
  lead_id?: string | null;
  conversation_id: string | null;
  created_at: string;
  message_id?: string | null;
  /** Where the call's text is: status (queued, sent, delivered, failed, dropped…) and why it failed. */
  text?: { status: string; error_code: number | null; error_message: string | null } | null;
  /** On call.missed: who called. */
  customer?: Customer | null;
  /** The voicemail the caller left, if any. */
  voicemail?: Voicemail | null;
}

export type AlertKind = 'customer_replied' | 'booking' | 'handoff' | 'undelivered';
export const ALERT_KINDS: { kind: AlertKind; label: string }[] = [
  { kind: 'customer_replied', label: 'A customer replied and it is my turn' },
  { kind: 'booking', label: 'The assistant booked a job' },
  { kind: 'handoff', label: 'The assistant handed a conversation to me' },
  { kind: 'undelivered', label: 'A text to a customer did not arrive' },
];
/** Texts to the owner's phone (GET /api/business/alerts). */
export interface AlertSettings {
  phone: string | null;
  verified: boolean;
  kinds: AlertKind[];
  quiet_hours: { start: string; end: string } | null;
  emergency_sms_to_owner: boolean;
  /** One of the owner's phones texted STOP: nothing is texted to it until it texts START. */
  stopped: { phone: string; at: string } | null;
}

/** This browser's Web Push subscription as the server keeps it (POST /api/push/subscriptions). */
export interface PushSubscriptionRecord { id: string; endpoint: string; created_at: string }

export interface ProviderStats { done: number; retries: number; failures: number }
/** A provider's circuit: open while it is down; waiting: your jobs held behind it. */
export interface ProviderCircuit { state: 'closed' | 'open'; since: string | null; next_probe_at: string | null; waiting: number }
export interface SystemStatus {
  database: string;
  sandbox_mode: boolean;
  dispatcher: {
    running: boolean;
    heartbeat_age_seconds: number;
    queued: number;
    due: number;
    in_flight: number;
    oldest_due_age_seconds: number;
  };
  inbox: {
    running: boolean;
    heartbeat_age_seconds: number;
    waiting: number;
    failed: number;
    oldest_waiting_age_seconds: number;
  };
  providers_5m: Record<string, ProviderStats>;
  providers?: Record<string, ProviderCircuit>;
}

export interface FeedEvent<T = Record<string, unknown>> {
  id: number;
  type: string;
  created_at: string;
  data: T;
}
