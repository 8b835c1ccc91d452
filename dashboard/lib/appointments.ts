// appointments.ts — an appointment in the owner's words: its title (the
// customer's name or number and the problem), when it is (date and time in the
// business's timezone), what the API's refusals mean (slot taken, outside
// hours…), what a change did (booked / moved / cancelled, and whether the
// customer was texted), and the name of its calendar file. Pure; used by the
// appointments screen; unit-tested in test/appointments.test.ts.
import { localDate, localTime } from './calendar';
import { formatPhone } from './format';
import type { Appointment, Customer } from './types';

const LOCALE = 'en-US';

/** "Maria Lopez · Leaking kitchen sink": who (name, else number) and the problem's first line, short. */
export function appointmentTitle(a: Pick<Appointment, 'problem'>, customer: Customer | null | undefined): string {
  const who = customer?.name?.trim() || formatPhone(customer?.phone) || '';
  const firstLine = (a.problem ?? '').split(/\r?\n/)[0].trim();
  const what = firstLine.length > 60 ? `${firstLine.slice(0, 59).trimEnd()}…` : firstLine;
  if (who && what) return `${who} · ${what}`;
  return who || what || 'Appointment';
}

/** "Thu, Dec 3" in the timezone. */
export function dateWords(iso: string, timeZone?: string): string {
  return new Date(iso).toLocaleDateString(LOCALE, { weekday: 'short', month: 'short', day: 'numeric', timeZone });
}

/** "9:30 AM" in the timezone. */
export function timeWords(iso: string, timeZone?: string): string {
  return new Date(iso).toLocaleTimeString(LOCALE, { hour: 'numeric', minute: '2-digit', timeZone });
}

/** "Thu, Dec 3, 9:00 AM – 10:00 AM" (the end's date too when it is another day). */
export function whenWords(startsAt: string, endsAt: string, timeZone?: string): string {
  const sameDay = localDate(startsAt, timeZone) === localDate(endsAt, timeZone);
  const end = sameDay ? timeWords(endsAt, timeZone) : `${dateWords(endsAt, timeZone)}, ${timeWords(endsAt, timeZone)}`;
  return `${dateWords(startsAt, timeZone)}, ${timeWords(startsAt, timeZone)} – ${end}`;
}

/** "1 h 30 min" for a length in minutes. */
export function lengthWords(minutes: number): string {
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return [h ? `${h} h` : '', m ? `${m} min` : ''].filter(Boolean).join(' ') || '0 min';
}

export type AppointmentField = 'customer_phone' | 'starts_at' | 'minutes' | 'service_address' | 'problem';

/** What a refused booking or move means, in words, and the field it belongs to (null: the form's). */
export function appointmentProblem(code: string, field: string | undefined, message: string): { field: AppointmentField | null; text: string } {
  switch (code) {
    case 'slot_taken':
      return { field: 'starts_at', text: 'That time is taken: another appointment is booked then. Pick another time.' };
    case 'outside_business_hours':
      return { field: 'starts_at', text: 'That time is outside your business hours (the whole appointment must fit inside them). Pick another time, or change your hours in Settings.' };
    case 'invalid_phone':
      return { field: 'customer_phone', text: 'That is not a phone number. Type the customer\'s number, e.g. (512) 555-0142.' };
    case 'not_found':
      return { field: null, text: 'This appointment is no longer booked (it was cancelled or removed). The list is up to date now.' };
    case 'customer_opted_out':
      return { field: null, text: 'This customer texted STOP: the change was not texted to them.' };
  }
  const known: AppointmentField[] = ['customer_phone', 'starts_at', 'minutes', 'service_address', 'problem'];
  if (field === 'minutes') return { field, text: 'The length must be from 15 to 480 minutes.' };
  return { field: known.includes(field as AppointmentField) ? field as AppointmentField : null, text: message };
}

export type ChangeKind = 'booked' | 'moved' | 'cancelled';

/** What the owner's change did: "Moved to Fri, Dec 4, 11:00 AM. Maria was texted the new time." */
export function changeSummary(kind: ChangeKind, a: Pick<Appointment, 'starts_at'>, customerTexted: boolean, notified: boolean,
                              who: string, timeZone?: string): string {
  const when = `${dateWords(a.starts_at, timeZone)}, ${timeWords(a.starts_at, timeZone)}`;
  const done = kind === 'booked' ? `Booked for ${when}.` : kind === 'moved' ? `Moved to ${when}.` : `Cancelled the appointment of ${when}.`;
  const what = kind === 'booked' ? 'a confirmation' : kind === 'moved' ? 'the new time' : 'that it is cancelled';
  const customer = who || 'The customer';
  if (customerTexted) return `${done} ${customer} was texted ${what}.`;
  if (!notified) return `${done} ${customer} was not texted, as you chose.`;
  return `${done} ${customer} could not be texted (they replied STOP, the number cannot get texts, or you have no texting number yet).`;
}

/** "appointment-2026-12-04-0930.ics": the local date and time, so the file says which one it is. */
export function icsFileName(a: Pick<Appointment, 'starts_at'>, timeZone?: string): string {
  return `appointment-${localDate(a.starts_at, timeZone)}-${localTime(a.starts_at, timeZone).replace(':', '')}.ics`;
}

/** The number as the API will store it, for showing it before the API says (US numbers; else as typed, trimmed). */
export function e164Guess(typed: string): string {
  const digits = typed.replace(/\D/g, '');
  if (/^\+/.test(typed.trim()) && digits.length >= 8) return `+${digits}`;
  if (digits.length === 10) return `+1${digits}`;
  if (digits.length === 11 && digits.startsWith('1')) return `+${digits}`;
  return typed.trim();
}
