'use client';
// MoveForm.tsx — the owner moves an appointment (PATCH /api/appointments/{id}):
// a new date and time (or a tap on a free time of that day), its length kept,
// and whether to text the customer the new time (on by default). Refusals —
// slot taken, outside business hours — in words under the time.
import { useState } from 'react';
import { ApiError } from '../lib/api';
import { appointmentProblem, changeSummary } from '../lib/appointments';
import { localDate, localTime, zonedToUtc } from '../lib/calendar';
import type { Appointment } from '../lib/types';
import { errorText } from './FormStatus';
import { useLive } from './LiveProvider';
import { useSession } from './SessionProvider';
import { TimePicker, type When } from './TimePicker';

interface Props { appointment: Appointment; title: string; who: string; onDone: (summary: string) => void; onClose: () => void }

export function MoveForm({ appointment: a, title, who, onDone, onClose }: Props) {
  const { api } = useSession();
  const { business, dispatch } = useLive();
  const tz = business?.timezone;
  const [when, setWhen] = useState<When>(() => ({ date: localDate(a.starts_at, tz), time: localTime(a.starts_at, tz) }));
  const [notify, setNotify] = useState(true);
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState<{ field: string | null; text: string } | null>(null);
  const minutes = Math.round((Date.parse(a.ends_at) - Date.parse(a.starts_at)) / 60_000);

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    setBusy(true); setErr(null);
    try {
      const r = await api.moveAppointment(a.id, { starts_at: zonedToUtc(when.date, when.time, tz), notify_customer: notify });
      dispatch({ type: 'appointment/patched', appointment: r.appointment });
      onDone(changeSummary('moved', r.appointment, r.customer_texted, notify, who, tz));
    } catch (x) {
      setErr(x instanceof ApiError ? appointmentProblem(x.code, x.field, x.message) : { field: null, text: errorText(x) });
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="appt-panel form" onSubmit={submit} aria-label={`Move ${title}`}>
      <TimePicker value={when} onChange={setWhen} timeZone={tz} minutes={minutes} ignoreId={a.id} error={err?.field ? err.text : null} />
      <label className="check">
        <input type="checkbox" checked={notify} onChange={(e) => setNotify(e.target.checked)} />
        Text the customer the new time
      </label>
      {err && !err.field && <p className="form-status error" role="alert">{err.text}</p>}
      <div className="row">
        <button type="submit" className="primary" disabled={busy}>{busy ? 'Moving…' : 'Save new time'}</button>
        <button type="button" onClick={onClose}>Keep the time</button>
      </div>
    </form>
  );
}
