'use client';
// AppointmentItem.tsx — one appointment: its date and time (the business's
// timezone), a title from the customer and the problem, the customer's number
// and address as links, who booked it; Move (a new date and time, or a tap on a
// free time), Cancel (asks first, with a reason and whether to text the
// customer) and its calendar file. What a change did is said by the page.
import { useState } from 'react';
import { appointmentTitle, whenWords } from '../lib/appointments';
import { formatPhone } from '../lib/format';
import { customerOf } from '../lib/liveState';
import type { Appointment } from '../lib/types';
import { CancelForm } from './CancelForm';
import { AddressLink, PhoneLink } from './ContactLinks';
import { IcsButton } from './IcsButton';
import { useLive } from './LiveProvider';
import { MoveForm } from './MoveForm';

interface Props { appointment: Appointment; timeZone?: string; onDone: (summary: string) => void }

export function AppointmentItem({ appointment: a, timeZone, onDone }: Props) {
  const { state } = useLive();
  const customer = customerOf(state, a.customer_id);
  const title = appointmentTitle(a, customer);
  const who = customer?.name || formatPhone(customer?.phone);
  const [open, setOpen] = useState<'move' | 'cancel' | null>(null);
  const done = (summary: string) => { setOpen(null); onDone(summary); };

  return (
    <li className={`appt appt-${a.status}`} data-appointment={a.id} data-starts={a.starts_at}>
      <span className="appt-time">{whenWords(a.starts_at, a.ends_at, timeZone)}</span>
      <span className="appt-what">
        <strong>{title}</strong>
        {customer && <span>{customer.name ? <>{customer.name} · </> : null}<PhoneLink phone={customer.phone} /></span>}
        {a.service_address && <span className="hint"><AddressLink address={a.service_address} /></span>}
        <span className="hint">Booked by {a.booked_by === 'ai' ? 'the assistant' : 'you'}{a.status === 'cancelled' ? ` · cancelled${a.cancel_reason ? `: ${a.cancel_reason}` : ''}` : ''}</span>
      </span>
      {a.status === 'booked' && !open && (
        <span className="appt-actions">
          <button type="button" onClick={() => setOpen('move')}>Move</button>
          <button type="button" onClick={() => setOpen('cancel')}>Cancel</button>
          <IcsButton appointment={a} title={title} timeZone={timeZone} />
        </span>
      )}
      {a.status === 'booked' && open === 'move' && <MoveForm appointment={a} title={title} who={who} onDone={done} onClose={() => setOpen(null)} />}
      {a.status === 'booked' && open === 'cancel' && <CancelForm appointment={a} title={title} who={who} onDone={done} onClose={() => setOpen(null)} />}
    </li>
  );
}
