'use client';
// DeviceAlerts.tsx — "Alerts on this device": Web Push to this browser, so the
// owner hears of a customer with the dashboard closed (lib/webPush.ts). A tap
// turns it on (the browser asks for permission then) or off; the state is said
// as it is: on, off, blocked by the browser, not supported, or the browser's
// push service out of reach. In Settings → Alerts.
import { useEffect, useId, useMemo, useState } from 'react';
import { browserPush, devicePushState, turnOffDevicePush, turnOnDevicePush, type DevicePush } from '../lib/webPush';
import { errorText, FormStatus } from './FormStatus';
import { useSession } from './SessionProvider';

const TEXT: Record<DevicePush, string> = {
  on: 'On: this browser shows an alert when a customer needs you, even with the dashboard closed.',
  off: 'Off: get an alert on this phone or computer when a customer needs you, even with the dashboard closed.',
  blocked: 'Blocked by the browser: allow notifications for this site in its settings, then tap again.',
  unsupported: 'This browser cannot show alerts with the dashboard closed. On an iPhone or iPad, add the dashboard to the Home Screen (Share → Add to Home Screen) and open it from there.',
  unreachable: 'This browser could not reach its push service, so alerts are not on. Try again when it is online.',
};

export function DeviceAlerts() {
  const { api } = useSession();
  const push = useMemo(() => browserPush(api), [api]);
  const [state, setState] = useState<DevicePush | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const hint = useId();

  useEffect(() => { void devicePushState(push).then(setState); }, [push]);

  async function toggle(on: boolean) {
    setBusy(true); setError(null);
    try {
      setState(await (on ? turnOnDevicePush(push) : turnOffDevicePush(push)));
    } catch (x) {
      setError(errorText(x));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="form" role="group" aria-label="Alerts on this device">
      <label className="check">
        <input type="checkbox" checked={state === 'on'} disabled={busy || state === null || state === 'unsupported'}
          aria-describedby={hint} onChange={(e) => void toggle(e.target.checked)} />
        Alerts on this device
      </label>
      <p className="hint" id={hint} aria-live="polite" data-push={state ?? 'loading'}>
        {busy ? 'Waiting for this browser…' : state ? TEXT[state] : 'Checking this browser…'}
      </p>
      <FormStatus error={error} />
    </div>
  );
}
