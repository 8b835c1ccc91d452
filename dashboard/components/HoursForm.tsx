'use client';
// HoursForm.tsx — the weekly opening hours, one range per day (PUT
// /api/business/hours). Calls forward to the owner inside them; outside, the
// caller gets the after-hours text at once. Used by the wizard and settings.
import { useEffect, useState } from 'react';
import { WEEKDAYS } from '../lib/format';
import type { HoursRange } from '../lib/types';
import { errorText, FormStatus } from './FormStatus';
import { useSession } from './SessionProvider';

interface Day { open: boolean; opens_at: string; closes_at: string }

/** Monday–Friday 8–18 until the owner says otherwise. */
export function defaultWeek(): Day[] {
  return WEEKDAYS.map((_, i) => ({ open: i >= 1 && i <= 5, opens_at: '08:00', closes_at: '18:00' }));
}

function fromRanges(ranges: HoursRange[]): Day[] {
  const week = defaultWeek().map((d) => ({ ...d, open: false }));
  for (const r of ranges) week[r.weekday] = { open: true, opens_at: r.opens_at.slice(0, 5), closes_at: r.closes_at.slice(0, 5) };
  return week;
}

export function HoursForm({ submitLabel, onDone }: { submitLabel: string; onDone?: () => void }) {
  const { api } = useSession();
  const [week, setWeek] = useState<Day[] | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);

  useEffect(() => {
    api.hours().then((h) => setWeek(h.hours.length ? fromRanges(h.hours) : defaultWeek())).catch(() => setWeek(defaultWeek()));
  }, [api]);
  if (!week) return <p className="page-loading">Loading…</p>;

  const update = (i: number, patch: Partial<Day>) => { setWeek(week.map((d, j) => (j === i ? { ...d, ...patch } : d))); setSaved(null); };

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    setBusy(true); setError(null);
    try {
      await api.putHours(week!.flatMap((d, i) => (d.open ? [{ weekday: i, opens_at: d.opens_at, closes_at: d.closes_at }] : [])));
      setSaved('Saved.');
      onDone?.();
    } catch (x) {
      setError(errorText(x));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={submit} className="form" aria-label="Business hours">
      <ul className="hours">
        {[1, 2, 3, 4, 5, 6, 0].map((i) => {
          const d = week[i];
          return (
            <li key={i} className="hours-day">
              <label className="check">
                <input type="checkbox" checked={d.open} onChange={(e) => update(i, { open: e.target.checked })} />
                {WEEKDAYS[i]}
              </label>
              {d.open ? (
                <span className="hours-times">
                  <input type="time" aria-label={`${WEEKDAYS[i]} opens`} value={d.opens_at} onChange={(e) => update(i, { opens_at: e.target.value })} required />
                  <span aria-hidden="true">–</span>
                  <input type="time" aria-label={`${WEEKDAYS[i]} closes`} value={d.closes_at} onChange={(e) => update(i, { closes_at: e.target.value })} required />
                </span>
              ) : <span className="hours-times hint">Closed</span>}
            </li>
          );
        })}
      </ul>
      <button type="submit" className="primary" disabled={busy}>{busy ? 'Saving…' : submitLabel}</button>
      <FormStatus error={error} saved={saved} />
    </form>
  );
}
