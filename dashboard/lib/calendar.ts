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

/** Milliseconds the timezone's wall clock is ahead of UTC at an instant (negative west of Greenwich). */
export function tzOffsetMs(instant: number, timeZone?: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
  }).formatToParts(new Date(instant));
  const n = (t: string) => Number(parts.find((p) => p.type === t)?.value);
  const wall = Date.UTC(n('year'), n('month') - 1, n('day'), n('hour') % 24, n('minute'), n('second'));
  return wall - Math.floor(instant / 1000) * 1000;
}

/** The instant (ISO, UTC) of a wall-clock date and time in a timezone: "2026-12-04" "09:30" in Chicago → "2026-12-04T15:30:00.000Z".
 *  A time the clocks skip (spring forward) reads as the same time after the jump, as a watch would; a repeated one, its first. */
export function zonedToUtc(date: string, time: string, timeZone?: string): string {
  const [y, m, d] = date.split('-').map(Number);
  const [hh, mm] = time.split(':').map(Number);
  const wall = Date.UTC(y, m - 1, d, hh, mm);
  const t1 = wall - tzOffsetMs(wall, timeZone);
  const t2 = wall - tzOffsetMs(t1, timeZone);
  const t = tzOffsetMs(t2, timeZone) === wall - t2 ? t2 : Math.max(t1, t2);
  return new Date(t).toISOString();
}

/** HH:MM of an instant on the timezone's wall clock. */
export function localTime(iso: string | number, timeZone?: string): string {
  const off = tzOffsetMs(new Date(iso).getTime(), timeZone);
  return new Date(new Date(iso).getTime() + off).toISOString().slice(11, 16);
}


