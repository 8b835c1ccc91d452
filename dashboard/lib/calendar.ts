// calendar.ts — grouping appointments into the days of a day or week view, in
// the business's timezone. Pure; used by the appointments page.
import type { Appointment } from './types';

/** YYYY-MM-DD of an instant in a timezone. */
export function localDate(iso: string | number, timeZone?: string): string {
  const d = new Date(iso);
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(d);
  return parts; // en-CA formats as YYYY-MM-DD
}

/** The dates of the view: one day, or seven starting at `start`. */
export function viewDates(start: string, days: 1 | 7): string[] {
  const out: string[] = [];
  const [y, m, d] = start.split('-').map(Number);
  for (let i = 0; i < days; i++) {
    const t = new Date(Date.UTC(y, m - 1, d + i));
    out.push(t.toISOString().slice(0, 10));
  }
  return out;
}

export function shiftDate(date: string, days: number): string {
  const [y, m, d] = date.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

export function groupByDay(items: Appointment[], dates: string[], timeZone?: string): Record<string, Appointment[]> {
  const out: Record<string, Appointment[]> = Object.fromEntries(dates.map((d) => [d, []]));
  for (const a of items) {
    const key = localDate(a.starts_at, timeZone);
    if (out[key]) out[key].push(a);
  }
  for (const k of Object.keys(out)) out[k].sort((a, b) => Date.parse(a.starts_at) - Date.parse(b.starts_at));
  return out;
}
