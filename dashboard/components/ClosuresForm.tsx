'use client';
// ClosuresForm.tsx — days the business is closed (holidays, vacations): calls
// on those days go straight to the after-hours text, and no slots are offered.
// Lists the upcoming ones, adds a date with a reason, removes one.
import { useCallback, useEffect, useState } from 'react';
import { dayLabel } from '../lib/format';
import type { Closure } from '../lib/types';
import { Field } from './Field';
import { errorText, FormStatus } from './FormStatus';
import { useSession } from './SessionProvider';

export function ClosuresForm() {
  const { api } = useSession();
  const [items, setItems] = useState<Closure[] | null>(null);
  const [date, setDate] = useState('');
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(() => api.hours().then((h) => setItems(h.closures)).catch((x) => setError(errorText(x))), [api]);
  useEffect(() => { void load(); }, [load]);

  async function add(e: React.FormEvent) {
    e.preventDefault();
    setError(null);
    try {
      await api.addClosure(date, reason || undefined);
      setDate(''); setReason('');
      await load();
    } catch (x) {
      setError(errorText(x));
    }
  }

  async function remove(id: string) {
    setError(null);
    try {
      await api.deleteClosure(id);
      setItems((items ?? []).filter((c) => c.id !== id));
    } catch (x) {
      setError(errorText(x));
    }
  }

  return (
    <div className="form">
      {items && items.length > 0 ? (
        <ul className="plain-list">
          {items.map((c) => (
            <li key={c.id}>
              <span>{dayLabel(`${c.date}T12:00:00Z`, 'UTC')}{c.reason ? <span className="hint"> · {c.reason}</span> : null}</span>
              <button type="button" className="link" onClick={() => remove(c.id)} aria-label={`Open again on ${c.date}`}>Remove</button>
            </li>
          ))}
        </ul>
      ) : <p className="hint">No closed days coming up.</p>}
      <form onSubmit={add} className="inline-form" aria-label="Add a closed day">
        <Field label="Closed on">{(p) => <input {...p} type="date" required value={date} onChange={(e) => setDate(e.target.value)} />}</Field>
        <Field label="Reason (optional)">{(p) => <input {...p} value={reason} onChange={(e) => setReason(e.target.value)} />}</Field>
        <button type="submit">Add</button>
      </form>
      <FormStatus error={error} />
    </div>
  );
}
