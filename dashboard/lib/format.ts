// format.ts — how numbers, times and codes read on screen: US phone numbers,
// relative and local times, the words for modes, authors, lead statuses and
// message delivery states. Pure functions shared by the components.
import type { Author, LeadStatus, Mode } from './types';

export function formatPhone(e164: string | null | undefined): string {
  if (!e164) return '';
  const m = /^\+1(\d{3})(\d{3})(\d{4})$/.exec(e164);
  return m ? `(${m[1]}) ${m[2]}-${m[3]}` : e164;
}

export function timeAgo(iso: string | null | undefined, now: number): string {
  if (!iso) return '';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 45) return 'just now';
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

export function clockTime(iso: string, timeZone?: string): string {
  return new Date(iso).toLocaleTimeString([], { hour: 'numeric', minute: '2-digit', timeZone });
}

export function dayLabel(iso: string, timeZone?: string): string {
  return new Date(iso).toLocaleDateString([], { weekday: 'short', month: 'short', day: 'numeric', timeZone });
}

export const MODE_LABEL: Record<Mode | 'closed', string> = {
  waiting: 'Waiting',
  human_window: 'Your turn',
  ai: 'AI',
  human: 'You',
  closed: 'Closed',
};

export const MODE_HELP: Record<Mode | 'closed', string> = {
  waiting: 'Waiting for the customer to reply',
  human_window: 'The customer replied: answer before the countdown ends or the assistant will',
  ai: 'The assistant is handling this conversation',
  human: 'You took this conversation over; the assistant stays silent',
  closed: 'This conversation is closed',
};

export const AUTHOR_LABEL: Record<string, string> = {
  customer: 'Customer',
  ai: 'Assistant',
  owner: 'You',
  system: 'Automatic text',
};

export function authorLabel(a: Author): string {
  return AUTHOR_LABEL[a] ?? a;
}

export const LEAD_STATUS_LABEL: Record<LeadStatus, string> = {
  new: 'New',
  contacted: 'Contacted',
  qualified: 'Qualified',
  appointment_scheduled: 'Booked',
  won: 'Won',
  lost: 'Lost',
  out_of_area: 'Out of area',
};

export const DELIVERY_LABEL: Record<string, string> = {
  pending: 'Sending…',
  queued: 'Queued',
  sending: 'Sending',
  sent: 'Sent',
  delivered: 'Delivered',
  undelivered: 'Not delivered',
  failed: 'Failed',
  simulated: 'Simulated (sandbox)',
  dropped: 'Not sent',
  received: 'Received',
};

export function deliveryLabel(status: string): string {
  return DELIVERY_LABEL[status] ?? status;
}

export const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/** "78701, 78702 78703;78701" → ["78701", "78702", "78703"]: the service area as typed. */
export function parsePostalCodes(text: string): string[] {
  return [...new Set(text.split(/[\s,;]+/).map((x) => x.trim()).filter(Boolean))];
}
