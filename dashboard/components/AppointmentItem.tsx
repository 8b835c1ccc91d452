'use client';
// AppointmentItem.tsx — one appointment: time, problem, customer, address, who booked it,
// and Cancel (asks first; the customer is not texted by this button).
import { useState } from 'react';
import { clockTime } from '../lib/format';
import type { Appointment } from '../lib/types';
import { AddressLink, PhoneLink } from './ContactLinks';
import { errorText } from './FormStatus';
import { useLive } from './LiveProvider';
import { useSession } from './SessionProvider';

export function AppointmentItem({ appointment: a, timeZone }: { appointment: Appointment; timeZone?: string }) {
  const { api } = useSession();
  const { dispatch, state } = useLive();
  const customer = Object.values(state.conversations).find((c) => c.customer_id === a.customer_id)?.customer
    ?? Object.values(state.leads).find((l) => l.customer_id === a.customer_id)?.customer;
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function cancel() {
    setError(null);
    try {
      const r = await api.cancelAppointment(a.id, 'cancelled from the dashboard');
      dispatch({ type: 'appointment/patched', appointment: r.appointment });
    } catch (x) {
      setError(errorText(x));
    }
    setConfirming(false);
  }

  return (
    <li className={`appt appt-${a.status}`} data-appointment={a.id}>
      <span className="appt-time">{clockTime(a.starts_at, timeZone)}–{clockTime(a.ends_at, timeZone)}</span>
      <span className="appt-what">
        <strong>{a.problem || 'Appointment'}</strong>
        {customer && <span>{customer.name ? <>{customer.name} · </> : null}<PhoneLink phone={customer.phone} /></span>}
        {a.service_address && <span className="hint"><AddressLink address={a.service_address} /></span>}
        <span className="hint">Booked by {a.booked_by === 'ai' ? 'the assistant' : 'you'}{a.status === 'cancelled' ? ' · cancelled' : ''}</span>
      </span>
      {a.status === 'booked' && (confirming ? (
        <span className="appt-confirm">
          <button type="button" className="danger" onClick={cancel}>Yes, cancel</button>
          <button type="button" onClick={() => setConfirming(false)}>Keep</button>
        </span>
      ) : <button type="button" onClick={() => setConfirming(true)}>Cancel</button>)}
      {error && <p className="form-status error" role="alert">{error}</p>}
    </li>
  );
}
