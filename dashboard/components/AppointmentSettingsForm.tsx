'use client';
// AppointmentSettingsForm.tsx — how appointments go (PATCH /api/business): the
// usual length (15–480 minutes, the default when booking), the time kept free
// after each one (travel, clean-up: 0–240 minutes, no job starts inside it), the reminder texted
// to the customer at 18:00 the evening before (on/off) and the one on the day,
// a number of hours before (0–12, 0 = none; never before 07:00).
import { useEffect, useState } from 'react';
import { ApiError } from '../lib/api';
import { lengthWords } from '../lib/appointments';
import { Field } from './Field';
import { errorText, FormStatus } from './FormStatus';
import { useLive } from './LiveProvider';
import { useSession } from './SessionProvider';

interface Values { appointment_minutes: string; appointment_buffer_minutes: string; reminder_day_before: boolean; reminder_hours_before: string }
const HOURS = Array.from({ length: 13 }, (_, i) => i);
const BUFFERS = [0, 15, 30, 45, 60, 90, 120, 180, 240];

export function AppointmentSettingsForm() {
  const { api } = useSession();
  const { business, setBusiness } = useLive();
  const [f, setF] = useState<Values | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [fieldErr, setFieldErr] = useState<{ field?: string; message: string } | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (business && !f) {
      setF({ appointment_minutes: String(business.appointment_minutes), appointment_buffer_minutes: String(business.appointment_buffer_minutes ?? 0),
             reminder_day_before: business.reminder_day_before !== false,
             reminder_hours_before: String(business.reminder_hours_before ?? 2) });
    }
  }, [business, f]);
  if (!f) return <p className="page-loading">Loading…</p>;
  const err = (k: string) => (fieldErr?.field === k ? fieldErr.message : null);
  const minutes = Number(f.appointment_minutes);
  const minutesOk = Number.isInteger(minutes) && minutes >= 15 && minutes <= 480;

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    setError(null); setFieldErr(null); setSaved(null);
    if (!minutesOk) { setFieldErr({ field: 'appointment_minutes', message: 'Enter a length from 15 to 480 minutes.' }); return; }
    setBusy(true);
    try {
      const r = await api.patchBusiness({ appointment_minutes: minutes, appointment_buffer_minutes: Number(f!.appointment_buffer_minutes),
                                          reminder_day_before: f!.reminder_day_before,
                                          reminder_hours_before: Number(f!.reminder_hours_before) });
      setBusiness(r.business);
      setF({ appointment_minutes: String(r.business.appointment_minutes), appointment_buffer_minutes: String(r.business.appointment_buffer_minutes),
             reminder_day_before: r.business.reminder_day_before,
             reminder_hours_before: String(r.business.reminder_hours_before) });
      setSaved('Saved. Reminders follow these settings for appointments booked or moved from now on.');
    } catch (x) {
      if (x instanceof ApiError && x.field) setFieldErr({ field: x.field, message: x.message });
      else setError(errorText(x));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="form" onSubmit={submit} aria-label="Appointments and reminders" noValidate>
      <Field label="Usual appointment length (minutes)" hint={minutesOk ? `${lengthWords(minutes)}; from 15 minutes to 8 hours.` : 'From 15 minutes to 8 hours.'}
        error={err('appointment_minutes')}>
        {(p) => <input {...p} type="number" min={15} max={480} step={15} required value={f.appointment_minutes}
          onChange={(e) => setF({ ...f, appointment_minutes: e.target.value })} />}
      </Field>
      <Field label="Time kept free after each appointment" hint="For travel and clean-up: no appointment starts inside it, whoever books." error={err('appointment_buffer_minutes')}>
        {(p) => (
          <select {...p} value={f.appointment_buffer_minutes} onChange={(e) => setF({ ...f, appointment_buffer_minutes: e.target.value })}>
            {[...new Set([...BUFFERS, Number(f.appointment_buffer_minutes)])].sort((a, b) => a - b)
              .map((m) => <option key={m} value={m}>{m === 0 ? 'None' : lengthWords(m)}</option>)}
          </select>
        )}
      </Field>
      <label className="check">
        <input type="checkbox" checked={f.reminder_day_before} onChange={(e) => setF({ ...f, reminder_day_before: e.target.checked })} />
        Text the customer a reminder at 6 PM the evening before
      </label>
      <Field label="Reminder on the day" hint="Texted that many hours before the appointment, never before 7 AM." error={err('reminder_hours_before')}>
        {(p) => (
          <select {...p} value={f.reminder_hours_before} onChange={(e) => setF({ ...f, reminder_hours_before: e.target.value })}>
            {HOURS.map((h) => <option key={h} value={h}>{h === 0 ? 'No reminder on the day' : `${h} hour${h === 1 ? '' : 's'} before`}</option>)}
          </select>
        )}
      </Field>
      <button type="submit" className="primary" disabled={busy}>{busy ? 'Saving…' : 'Save'}</button>
      <FormStatus error={error} saved={saved} />
    </form>
  );
}
