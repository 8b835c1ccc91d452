'use client';
// EmergencyTextForm.tsx — whether a customer's text reporting danger is also
// texted to the owner's phone — the verified alert phone, else the forward-to
// phone (PATCH /api/business emergency_sms_to_owner, default on). Saved on each change, like the alerts above it.
import { useId, useState } from 'react';
import { formatPhone } from '../lib/format';
import { errorText, FormStatus } from './FormStatus';
import { useLive } from './LiveProvider';
import { useSession } from './SessionProvider';

export function EmergencyTextForm() {
  const { api } = useSession();
  const { business, setBusiness } = useLive();
  const [pending, setPending] = useState<boolean | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const hint = useId();
  if (!business) return <p className="page-loading">Loading…</p>;
  const phone = business.forward_to_phone;

  async function set(value: boolean) {
    setError(null); setSaved(null); setPending(value);
    try {
      const r = await api.patchBusiness({ emergency_sms_to_owner: value });
      setBusiness(r.business);
      setSaved('Saved.');
    } catch (x) {
      setError(errorText(x));
    } finally {
      setPending(null);
    }
  }

  return (
    <div className="form" role="group" aria-label="Emergency texts">
      <label className="check">
        <input type="checkbox" name="emergency_sms_to_owner" aria-describedby={hint} checked={pending ?? business.emergency_sms_to_owner !== false}
          disabled={pending !== null} onChange={(e) => set(e.target.checked)} />
        Text me when a customer reports an emergency
      </label>
      <p className="hint" id={hint}>
        {phone
          ? `A text to your phone, even when the dashboard is closed: to the alert phone once it is verified (below), until then to ${formatPhone(phone)}.`
          : 'Add a forward-to phone in the business profile, or verify an alert phone below, to get these texts.'}
      </p>
      <FormStatus error={error} saved={saved} />
    </div>
  );
}
