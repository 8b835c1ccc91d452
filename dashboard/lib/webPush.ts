// webPush.ts — the browser side of Web Push, "Alerts on this device": the
// server's VAPID key as bytes, what state this browser is in, and turning its
// subscription on and off against the API (GET /api/push/key, POST
// /api/push/subscriptions, POST /api/push/unsubscribe). The browser's objects
// come in through PushDeps, so the flows are unit-tested (test/webPush.test.ts);
// browserPush() supplies the real ones. Used by components/DeviceAlerts.tsx.
import type { Api } from './api';

/** unreachable: the browser could not reach its push service (offline, or no push service at all). */
export type DevicePush = 'unsupported' | 'blocked' | 'off' | 'on' | 'unreachable';

const P256_UNCOMPRESSED_LENGTH = 65; // 0x04, then x and y of 32 bytes each (SEC 1, 2.3.3)

/** How long the browser's push service gets to answer a subscribe. Chromium does not fail
 *  while it cannot reach its service (offline, or no route to it): it waits without end. */
export const SUBSCRIBE_TIMEOUT_MS = 15_000;

/** The server's key (base64url of an uncompressed P-256 point) as applicationServerKey bytes. */
export function applicationServerKey(b64url: string): Uint8Array<ArrayBuffer> {
  if (!/^[A-Za-z0-9_-]+$/.test(b64url)) throw new Error('The server sent a push key that is not base64url.');
  const b64 = b64url.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(b64url.length / 4) * 4, '=');
  const key = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  if (key.length !== P256_UNCOMPRESSED_LENGTH || key[0] !== 0x04) {
    throw new Error('The server sent a push key that is not a P-256 public key.');
  }
  return key;
}

function sameBytes(a: ArrayBuffer | null | undefined, b: Uint8Array): boolean {
  if (!a || a.byteLength !== b.length) return false;
  const x = new Uint8Array(a);
  return x.every((v, i) => v === b[i]);
}

export interface SubscriptionLike {
  endpoint: string;
  options: { applicationServerKey: ArrayBuffer | null };
  toJSON(): PushSubscriptionJSON;
  unsubscribe(): Promise<boolean>;
}

export interface PushManagerLike {
  getSubscription(): Promise<SubscriptionLike | null>;
  subscribe(options: { userVisibleOnly: boolean; applicationServerKey: Uint8Array<ArrayBuffer> }): Promise<SubscriptionLike>;
}

export interface PushDeps {
  permission: () => NotificationPermission;
  requestPermission: () => Promise<NotificationPermission>;
  /** null where this browser has no Web Push or no service worker is registered. */
  pushManager: () => Promise<PushManagerLike | null>;
  api: Pick<Api, 'pushKey' | 'addPushSubscription' | 'removePushSubscription'>;
  subscribeTimeoutMs?: number;
}

export async function devicePushState(d: PushDeps): Promise<DevicePush> {
  const pm = await d.pushManager();
  if (!pm) return 'unsupported';
  if (d.permission() === 'denied') return 'blocked';
  return d.permission() === 'granted' && (await pm.getSubscription()) ? 'on' : 'off';
}

/** Asks permission (call from a tap), subscribes with the server's key and registers the
 *  subscription. A refusal by the API is thrown (ApiError) with nothing left subscribed. */
export async function turnOnDevicePush(d: PushDeps): Promise<DevicePush> {
  const pm = await d.pushManager();
  if (!pm) return 'unsupported';
  const permission = d.permission() === 'granted' ? 'granted' : await d.requestPermission();
  if (permission === 'denied') return 'blocked';
  if (permission !== 'granted') return 'off';
  const key = applicationServerKey((await d.api.pushKey()).public_key);
  let sub = await pm.getSubscription();
  // A subscription made with another key (the server's was replaced) cannot carry its alerts.
  if (sub && !sameBytes(sub.options.applicationServerKey, key)) {
    await sub.unsubscribe();
    sub = null;
  }
  if (!sub) {
    const pending = pm.subscribe({ userVisibleOnly: true, applicationServerKey: key });
    try {
      sub = await withTimeout(pending, d.subscribeTimeoutMs ?? SUBSCRIBE_TIMEOUT_MS);
    } catch (e) {
      // Given up on: should the push service answer after all, that subscription goes, or
      // this browser would look on while the server knows nothing of it.
      pending.then((late) => late.unsubscribe(), () => false).catch(() => false);
      return e instanceof Error && e.name === 'NotAllowedError' ? 'blocked' : 'unreachable';
    }
  }
  try {
    await d.api.addPushSubscription(sub.toJSON());
  } catch (e) {
    // The server does not know it, so no alert would come: say off, not on.
    await sub.unsubscribe().catch(() => false);
    throw e;
  }
  return 'on';
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DOMException('The push service did not answer.', 'TimeoutError')), ms);
  });
  return Promise.race([p, expired]).finally(() => clearTimeout(timer));
}

/** The server forgets this browser first: if it cannot be reached, nothing changes and the error is thrown. */
export async function turnOffDevicePush(d: PushDeps): Promise<DevicePush> {
  const sub = await (await d.pushManager())?.getSubscription();
  if (!sub) return 'off';
  await d.api.removePushSubscription(sub.endpoint);
  await sub.unsubscribe();
  return 'off';
}

/** The real browser: Notification, the service worker's PushManager (components/ServiceWorkerRegistration.tsx). */
export function browserPush(api: PushDeps['api']): PushDeps {
  return {
    permission: () => Notification.permission,
    requestPermission: () => Notification.requestPermission(),
    async pushManager() {
      if (!('serviceWorker' in navigator) || !('PushManager' in window) || !('Notification' in window)) return null;
      // No registration in `next dev`, which registers no service worker: ready would never settle.
      if (!(await navigator.serviceWorker.getRegistration())) return null;
      return (await navigator.serviceWorker.ready).pushManager;
    },
    api,
  };
}
