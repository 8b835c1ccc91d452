'use client';
// AppointmentForm.tsx — the owner books an appointment by hand
// (POST /api/appointments): the customer's number, when (date and time on the
// business's clock, the next free slot filled in), the length (the business's
// appointment length unless changed), address, problem, and whether to text the
// customer a confirmation (on by default). Refusals in words on their field
// (lib/appointments.ts); on success the page says whether the customer was texted.
import { useEffect, useState } from 'react';
import { ApiError } from '../lib/api';
import { appointmentProblem, changeSummary, e164Guess, type AppointmentField } from '../lib/appointments';
import { localDate, localTime, shiftDate, zonedToUtc } from '../lib/calendar';
import { formatPhone } from '../lib/format';
import { Field } from './Field';
import { errorText } from './FormStatus';
import { useLive } from './LiveProvider';
import { useSession } from './SessionProvider';
import { TimePicker, type When } from './TimePicker';

export function AppointmentForm({ onDone, onClose }: { onDone: (summary: string) => void; onClose: () => void }) {
  const { api } = useSession();
  const { business, state, dispatch } = useLive();
  const tz = business?.timezone;
  const [phone, setPhone] = useState('');
  const [when, setWhen] = useState<When>(() => ({ date: shiftDate(localDate(Date.now(), tz), 1), time: '09:00' }));
  const [minutes, setMinutes] = useState(String(business?.appointment_minutes ?? 60));
  const [address, setAddress] = useState('');
  const [problem, setProblem] = useState('');
  const [notify, setNotify] = useState(true);
  const [busy, setBusy] = useState(false);
  const [touched, setTouched] = useState(false);
  const [err, setErr] = useState<{ field: AppointmentField | null; text: string } | null>(null);

  // The next free slot, unless the owner already picked a time.
  useEffect(() => {
    let live = true;
    api.openSlots().then(({ slots }) => {
      if (!live || touched || !slots[0]) return;
      setWhen({ date: localDate(slots[0].starts_at, tz), time: localTime(slots[0].starts_at, tz) });
    }).catch(() => undefined);
    return () => { live = false; };
  }, [api, tz, touched]);

  const fieldErr = (f: AppointmentField) => (err?.field === f ? err.text : null);

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    setBusy(true); setErr(null);
    const length = Number(minutes);
    try {
      const r = await api.createAppointment({
        customer_phone: phone.trim(),
        starts_at: zonedToUtc(when.date, when.time, tz),
        ...(length && length !== business?.appointment_minutes ? { minutes: length } : {}),
        ...(address.trim() ? { service_address: address.trim() } : {}),
        ...(problem.trim() ? { problem: problem.trim() } : {}),
        notify_customer: notify,
      });
      dispatch({ type: 'appointment/patched', appointment: r.appointment });
      if (!state.customers[r.appointment.customer_id]) {
        dispatch({ type: 'customer/known', customer: { id: r.appointment.customer_id, phone: e164Guess(phone), name: null } });
      }
      onDone(changeSummary('booked', r.appointment, r.customer_texted, notify, formatPhone(e164Guess(phone)), tz));
    } catch (x) {
      setErr(x instanceof ApiError ? appointmentProblem(x.code, x.field, x.message) : { field: null, text: errorText(x) });
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="card form appt-form" onSubmit={submit} aria-label="New appointment">
      <h2>New appointment</h2>
      <Field label="Customer's phone" error={fieldErr('customer_phone')}>
        {(p) => <input {...p} type="tel" autoComplete="off" required value={phone} onChange={(e) => setPhone(e.target.value)} autoFocus />}
      </Field>
      <TimePicker value={when} onChange={(w) => { setTouched(true); setWhen(w); }} timeZone={tz} minutes={Number(minutes) || 60}
        error={fieldErr('starts_at')} />
      <Field label="Length (minutes)" hint="Your usual length is set in Settings → Appointments." error={fieldErr('minutes')}>
        {(p) => <input {...p} type="number" min={15} max={480} step={15} required value={minutes} onChange={(e) => setMinutes(e.target.value)} />}
      </Field>
      <Field label="Address (optional)" error={fieldErr('service_address')}>
        {(p) => <input {...p} autoComplete="street-address" maxLength={300} value={address} onChange={(e) => setAddress(e.target.value)} />}
      </Field>
      <Field label="Problem (optional)" error={fieldErr('problem')}>
        {(p) => <textarea {...p} rows={2} maxLength={1000} value={problem} onChange={(e) => setProblem(e.target.value)} />}
      </Field>
      <label className="check">
        <input type="checkbox" checked={notify} onChange={(e) => setNotify(e.target.checked)} />
        Text the customer a confirmation
      </label>
      {err && !err.field && <p className="form-status error" role="alert">{err.text}</p>}
      <div className="row">
        <button type="submit" className="primary" disabled={busy}>{busy ? 'Booking…' : 'Book'}</button>
        <button type="button" onClick={onClose}>Close</button>
      </div>
    </form>
  );
}
