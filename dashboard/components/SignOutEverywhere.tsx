'use client';
// SignOutEverywhere.tsx — Settings → Account: end every session of this
// account, on every phone and computer, this one included (a lost phone, a
// shared computer). POST /api/auth/sign-out-everywhere, then log out here.
import { useState } from 'react';
import { errorText, FormStatus } from './FormStatus';
import { useSession } from './SessionProvider';

export function SignOutEverywhere() {
  const { api, logOut } = useSession();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function signOut() {
    setBusy(true); setError(null);
    try {
      await api.signOutEverywhere();
      logOut('You were signed out everywhere. Log in again on the devices you use.');
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  }

  return (
    <div className="form" role="group" aria-label="Sessions">
      <p className="hint">Lost a phone, or logged in on a computer that is not yours? Sign out of every device at once.</p>
      <button type="button" disabled={busy} onClick={signOut}>{busy ? 'Signing out…' : 'Sign out everywhere'}</button>
      <FormStatus error={error} />
    </div>
  );
}
