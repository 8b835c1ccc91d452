'use client';
// NotificationPrompt.tsx — asks once, on a tap (browsers require one), for
// permission to alert the owner with a notification and a sound when a
// customer replies; hidden when granted, refused or switched off in settings.
import { useEffect, useState } from 'react';
import { askNotificationPermission, notificationsSupported, unlockSound } from '../lib/notify';
import { useLive } from './LiveProvider';

export function NotificationPrompt() {
  const { user } = useLive();
  const [perm, setPerm] = useState<string>('granted');
  useEffect(() => { setPerm(notificationsSupported() ? Notification.permission : 'unsupported'); }, []);
  if (perm !== 'default' || user?.preferences?.notify_replies === false) return null;
  return (
    <p className="notice">
      Get an alert when a customer replies, so you can answer before the assistant does.{' '}
      <button type="button" className="link" onClick={async () => { unlockSound(); setPerm(await askNotificationPermission()); }}>
        Turn on alerts
      </button>
    </p>
  );
}
