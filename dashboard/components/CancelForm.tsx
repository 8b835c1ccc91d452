'use client';
// CancelForm.tsx — the owner cancels an appointment, after confirming
// (POST /api/appointments/{id}/cancel): a reason (optional) and whether to text
// the customer that it is cancelled (on by default).
import { useState } from 'react';
import { changeSummary } from '../lib/appointments';
import type { Appointment } from '../lib/types';
import { errorText } from './FormStatus';
import { useLive } from './LiveProvider';
import { useSession } from './SessionProvider';

interface Props { appointment: Appointment; title: string; who: string; onDone: (summary: string) => void; onClose: () => void }

export function CancelForm({ appointment: a, title, who, onDone, onClose }: Props) {
  const { api } = useSession();
  const { business, dispatch } = useLive();
  const [reason, setReason] = useState('');
  const [notify, setNotify] = useState(true);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    setBusy(true); setError(null);
    try {
      const r = await api.cancelAppointment(a.id, { reason: reason.trim() || undefined, notify_customer: notify });
      dispatch({ type: 'appointment/patched', appointment: r.appointment });
      onDone(changeSummary('cancelled', r.appointment, r.customer_texted, notify, who, business?.timezone));
    } catch (x) {
      setError(errorText(x));
      setBusy(false);
    }
  }

  return (
    <form className="appt-panel form" onSubmit={submit} aria-label={`Cancel ${title}`}>
      <label className="field">
        <span>Reason (optional)</span>
        <input value={reason} maxLength={300} onChange={(e) => setReason(e.target.value)} />
      </label>
      <label className="check">
        <input type="checkbox" checked={notify} onChange={(e) => setNotify(e.target.checked)} />
        Text the customer that it is cancelled
      </label>
      {error && <p className="form-status error" role="alert">{error}</p>}
      <div className="row">
        <button type="submit" className="danger" disabled={busy}>{busy ? 'Cancelling…' : 'Yes, cancel'}</button>
        <button type="button" onClick={onClose}>Keep</button>
      </div>
    </form>
  );
}
