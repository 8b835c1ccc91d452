'use client';
// BlockListForm.tsx — numbers that never get a missed-call text (suppliers,
// family, spam): list, add with a reason, remove.
import { useEffect, useState } from 'react';
import { formatPhone } from '../lib/format';
import type { BlockedNumber } from '../lib/types';
import { Field } from './Field';
import { errorText, FormStatus } from './FormStatus';
import { useSession } from './SessionProvider';

export function BlockListForm() {
  const { api } = useSession();
  const [items, setItems] = useState<BlockedNumber[] | null>(null);
  const [phone, setPhone] = useState('');
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string | null>(null);

  useEffect(() => { api.blockedNumbers().then((r) => setItems(r.blocked_numbers)).catch((x) => setError(errorText(x))); }, [api]);

  async function add(e: React.FormEvent) {
    e.preventDefault();
    setError(null);
    try {
      const r = await api.blockNumber(phone, reason || undefined);
      setItems([...(items ?? []), r.blocked_number]);
      setPhone(''); setReason('');
    } catch (x) {
      setError(errorText(x));
    }
  }

  async function remove(id: string) {
    setError(null);
    try {
      await api.unblockNumber(id);
      setItems((items ?? []).filter((b) => b.id !== id));
    } catch (x) {
      setError(errorText(x));
    }
  }

  return (
    <div className="form">
      {items && items.length > 0 ? (
        <ul className="plain-list">
          {items.map((b) => (
            <li key={b.id}>
              <span>{formatPhone(b.phone)}{b.reason ? <span className="hint"> · {b.reason}</span> : null}</span>
              <button type="button" className="link" onClick={() => remove(b.id)} aria-label={`Unblock ${formatPhone(b.phone)}`}>Unblock</button>
            </li>
          ))}
        </ul>
      ) : <p className="hint">No blocked numbers.</p>}
      <form onSubmit={add} className="inline-form" aria-label="Block a number">
        <Field label="Number to block">{(p) => <input {...p} type="tel" required value={phone} onChange={(e) => setPhone(e.target.value)} />}</Field>
        <Field label="Reason (optional)">{(p) => <input {...p} value={reason} onChange={(e) => setReason(e.target.value)} />}</Field>
        <button type="submit">Block</button>
      </form>
      <FormStatus error={error} />
    </div>
  );
}
