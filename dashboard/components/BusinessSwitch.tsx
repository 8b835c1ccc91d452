'use client';
// BusinessSwitch.tsx — one on/off setting of the business (a boolean field of
// PATCH /api/business), saved on each change: emergency texts to the owner,
// voicemail for missed callers.
import { type ReactNode, useId, useState } from 'react';
import type { Business } from '../lib/types';
import { errorText, FormStatus } from './FormStatus';
import { useLive } from './LiveProvider';
import { useSession } from './SessionProvider';

type Flag = { [K in keyof Business]: Business[K] extends boolean ? K : never }[keyof Business];

interface Props { field: Flag; group: string; label: string; hint: (b: Business) => ReactNode }

export function BusinessSwitch({ field, group, label, hint }: Props) {
  const { api } = useSession();
  const { business, setBusiness } = useLive();
  const [pending, setPending] = useState<boolean | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const hintId = useId();
  if (!business) return <p className="page-loading">Loading…</p>;

  async function set(value: boolean) {
    setError(null); setSaved(null); setPending(value);
    try {
      const r = await api.patchBusiness({ [field]: value });
      setBusiness(r.business);
      setSaved('Saved.');
    } catch (x) {
      setError(errorText(x));
    } finally {
      setPending(null);
    }
  }

  return (
    <div className="form" role="group" aria-label={group}>
      <label className="check">
        <input type="checkbox" name={field} aria-describedby={hintId} checked={pending ?? business[field] !== false}
          disabled={pending !== null} onChange={(e) => set(e.target.checked)} />
        {label}
      </label>
      <p className="hint" id={hintId}>{hint(business)}</p>
      <FormStatus error={error} saved={saved} />
    </div>
  );
}
