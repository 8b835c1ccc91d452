'use client';
// PreferencesForm.tsx — the owner's own preferences (PATCH /api/me): a browser
// notification and a sound when a customer replies in the human window.
import { useState } from 'react';
import { askNotificationPermission, playChime, unlockSound } from '../lib/notify';
import { errorText, FormStatus } from './FormStatus';
import { useLive } from './LiveProvider';
import { useSession } from './SessionProvider';

export function PreferencesForm() {
  const { api } = useSession();
  const { user, setUser } = useLive();
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  if (!user) return <p className="page-loading">Loading…</p>;
  const prefs = user.preferences ?? {};

  async function set(key: 'notify_replies' | 'sound', value: boolean) {
    setError(null); setSaved(null);
    unlockSound();
    if (key === 'notify_replies' && value) {
      const p = await askNotificationPermission();
      if (p === 'denied') setError('Your browser blocks notifications for this site; allow them in its site settings.');
    }
    if (key === 'sound' && value) playChime();
    try {
      const r = await api.patchMe({ preferences: { [key]: value } });
      setUser(r.user);
      setSaved('Saved.');
    } catch (x) {
      setError(errorText(x));
    }
  }

  return (
    <div className="form" role="group" aria-label="Alerts">
      <label className="check">
        <input type="checkbox" checked={prefs.notify_replies !== false} onChange={(e) => set('notify_replies', e.target.checked)} />
        Show a notification when a customer replies
      </label>
      <label className="check">
        <input type="checkbox" checked={prefs.sound !== false} onChange={(e) => set('sound', e.target.checked)} />
        Play a sound when a customer replies
      </label>
      <FormStatus error={error} saved={saved} />
    </div>
  );
}
