'use client';
// ServiceWorkerRegistration.tsx — registers the service worker (public/sw.js:
// the offline app shell and Web Push) once per page load, where the browser has
// service workers. Production builds only: `next dev` serves changing files
// under fixed names, which sw.js would keep serving from its cache.
// Mounted by app/layout.tsx; renders nothing.
import { useEffect } from 'react';

export function ServiceWorkerRegistration() {
  useEffect(() => {
    if (process.env.NODE_ENV !== 'production' || !('serviceWorker' in navigator)) return;
    // A failure only costs the offline shell and alerts on this device, which say so themselves.
    navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => undefined);
  }, []);
  return null;
}
