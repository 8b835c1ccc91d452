'use client';
// TimePicker.tsx — choosing when an appointment is: a date and a time on the
// business's wall clock (native pickers, touch-friendly), and the free times of
// that day as buttons to tap — asked of the server (GET
// /api/appointments/open-slots?date=&minutes=&exclude=), which owns the rule
// (business hours, closed days, other bookings) and asked again when a
// booking changes. The server still decides at saving; its refusal shows under
// the time. Used to book and to move an appointment.
import { useEffect, useState } from 'react';
import { localTime, zonedToUtc } from '../lib/calendar';
import { timeWords } from '../lib/appointments';
import { Field } from './Field';
import { useLive } from './LiveProvider';
import { useSession } from './SessionProvider';

export interface When { date: string; time: string }

interface Props {
  value: When;
  onChange: (w: When) => void;
  timeZone?: string;
  minutes: number;
  /** The appointment being moved: its own time is free to it. */
  ignoreId?: string;
  error?: string | null;
}

export function TimePicker({ value, onChange, timeZone, minutes, ignoreId, error }: Props) {
  const { api } = useSession();
  const { state } = useLive();
  const [free, setFree] = useState<string[] | null>(null);
  // Any booking made, moved or cancelled (here or live) changes the free times.
  const bookings = Object.values(state.appointments).map((a) => `${a.id}:${a.status}:${a.starts_at}:${a.ends_at}`).join(',');
  useEffect(() => {
    let current = true;
    setFree(null);
    if (value.date && minutes >= 15 && minutes <= 480) {
      api.openSlots({ date: value.date, minutes, exclude: ignoreId })
        .then((r) => { if (current) setFree(r.slots.map((s) => localTime(s.starts_at, timeZone))); })
        .catch(() => { if (current) setFree(null); });
    }
    return () => { current = false; };
  }, [api, value.date, minutes, ignoreId, timeZone, bookings]);

  const zone = timeZone ? ` (${timeZone.replace(/_/g, ' ')} time)` : '';
  return (
    <div className="time-picker">
      <div className="row">
        <Field label="Date">
          {(p) => <input {...p} type="date" required value={value.date} onChange={(e) => onChange({ ...value, date: e.target.value })} />}
        </Field>
        <Field label="Time" hint={`Your business's clock${zone}.`} error={error}>
          {(p) => <input {...p} type="time" step={900} required value={value.time} onChange={(e) => onChange({ ...value, time: e.target.value })} />}
        </Field>
      </div>
      {free && (
        free.length === 0
          ? <p className="hint">No free time that day inside your business hours.</p>
          : (
            <div className="chips free-times" role="group" aria-label="Free times that day">
              {free.map((t) => (
                <button key={t} type="button" aria-pressed={value.time === t} onClick={() => onChange({ ...value, time: t })}>
                  {timeWords(zonedToUtc(value.date, t, timeZone), timeZone)}
                </button>
              ))}
            </div>
          )
      )}
    </div>
  );
}
