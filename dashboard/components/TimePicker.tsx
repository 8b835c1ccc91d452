'use client';
// TimePicker.tsx — choosing when an appointment is: a date and a time on the
// business's wall clock (native pickers, touch-friendly), and the free times of
// that day as buttons to tap (lib/calendar.ts freeStarts: inside business
// hours, not over another booking). The server still decides; its refusal
// shows under the time. Used to book and to move an appointment.
import { freeStarts, zonedToUtc } from '../lib/calendar';
import { timeWords } from '../lib/appointments';
import type { Appointment, Hours } from '../lib/types';
import { Field } from './Field';

export interface When { date: string; time: string }

interface Props {
  value: When;
  onChange: (w: When) => void;
  timeZone?: string;
  minutes: number;
  hours: Hours | null;
  appointments: Appointment[];
  /** The appointment being moved: its own time is free to it. */
  ignoreId?: string;
  now: number;
  error?: string | null;
}

export function TimePicker({ value, onChange, timeZone, minutes, hours, appointments, ignoreId, now, error }: Props) {
  const free = hours && value.date
    ? freeStarts({ date: value.date, timeZone, hours: hours.hours, closures: hours.closures, appointments, minutes, ignoreId, now })
    : null;
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
