// webPush.test.ts — "Alerts on this device": the VAPID key's decoding, the state
// shown, and turning the subscription on and off against a fake browser and API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../lib/api';
import {
  applicationServerKey, devicePushState, turnOffDevicePush, turnOnDevicePush,
  type PushDeps, type PushManagerLike, type SubscriptionLike,
} from '../lib/webPush';

const KEY = new Uint8Array(65).map((_, i) => (i === 0 ? 4 : i));
const KEY_B64URL = Buffer.from(KEY).toString('base64url');

interface FakeOptions {
  permission?: NotificationPermission;
  answer?: NotificationPermission;
  subscribeFails?: string;
  /** The push service answers only when answerLate() is called (as Chromium offline: never). */
  subscribeHangs?: boolean;
  noPush?: boolean;
}

function fakeBrowser(o: FakeOptions = {}) {
  const calls: string[] = [];
  let permission = o.permission ?? 'default';
  let current: SubscriptionLike | null = null;
  let answerLate: (() => void) | null = null;
  const make = (key: ArrayBuffer, endpoint: string): SubscriptionLike => ({
    endpoint,
    options: { applicationServerKey: key },
    toJSON: () => ({ endpoint, expirationTime: null, keys: { p256dh: 'P', auth: 'A' } }),
    unsubscribe: async () => { calls.push(`unsubscribe ${endpoint}`); current = null; return true; },
  });
  const pm: PushManagerLike = {
    getSubscription: async () => current,
    subscribe: async ({ applicationServerKey: k }) => {
      calls.push('subscribe');
      if (o.subscribeFails) throw new DOMException('Registration failed - push service not available', o.subscribeFails);
      if (o.subscribeHangs) await new Promise<void>((r) => { answerLate = r; });
      current = make(k.slice().buffer, 'https://push.example/new');
      return current;
    },
  };
  let serverDown = false;
  const deps: PushDeps = {
    permission: () => permission,
    requestPermission: async () => { calls.push('ask'); permission = o.answer ?? 'granted'; return permission; },
    pushManager: async () => (o.noPush ? null : pm),
    subscribeTimeoutMs: 20,
    api: {
      pushKey: async () => { calls.push('key'); return { public_key: KEY_B64URL }; },
      addPushSubscription: async (s) => {
        calls.push(`post ${s.endpoint}`);
        if (serverDown) throw new ApiError(0, 'network_error', 'The server could not be reached.');
        return { subscription: { id: '1', endpoint: s.endpoint!, created_at: 'now' } };
      },
      removePushSubscription: async (endpoint) => {
        calls.push(`forget ${endpoint}`);
        if (serverDown) throw new ApiError(0, 'network_error', 'The server could not be reached.');
        return { unsubscribed: true };
      },
    },
  };
  return {
    deps, calls,
    setServerDown: (v: boolean) => { serverDown = v; },
    holdSubscription: (key: Uint8Array, endpoint: string) => { current = make(key.slice().buffer, endpoint); },
    answerLate: () => answerLate?.(),
    get current() { return current; },
  };
}

test('the server key decodes from base64url to the 65 bytes of a P-256 point', () => {
  assert.deepEqual(applicationServerKey(KEY_B64URL), KEY);
  assert.throws(() => applicationServerKey(Buffer.from(KEY).toString('base64')), /not base64url/);
  assert.throws(() => applicationServerKey(Buffer.from(KEY.slice(1)).toString('base64url')), /not a P-256/);
  assert.throws(() => applicationServerKey(Buffer.from(new Uint8Array(65)).toString('base64url')), /not a P-256/);
  assert.throws(() => applicationServerKey(''), /not base64url/);
});

test('the state: unsupported, blocked, off, on', async () => {
  assert.equal(await devicePushState(fakeBrowser({ noPush: true }).deps), 'unsupported');
  assert.equal(await devicePushState(fakeBrowser({ permission: 'denied' }).deps), 'blocked');
  assert.equal(await devicePushState(fakeBrowser({ permission: 'granted' }).deps), 'off');
  const b = fakeBrowser({ permission: 'granted' });
  b.holdSubscription(KEY, 'https://push.example/old');
  assert.equal(await devicePushState(b.deps), 'on');
});

test('turning on asks on the tap, subscribes with the server key and registers the subscription', async () => {
  const b = fakeBrowser();
  assert.equal(await turnOnDevicePush(b.deps), 'on');
  assert.deepEqual(b.calls, ['ask', 'key', 'subscribe', 'post https://push.example/new']);
});

test('a refusal by the browser or its push service is said as such, and nothing is posted', async () => {
  const denied = fakeBrowser({ answer: 'denied' });
  assert.equal(await turnOnDevicePush(denied.deps), 'blocked');
  assert.deepEqual(denied.calls, ['ask']);
  const dismissed = fakeBrowser({ answer: 'default' });
  assert.equal(await turnOnDevicePush(dismissed.deps), 'off');
  const offline = fakeBrowser({ permission: 'granted', subscribeFails: 'AbortError' });
  assert.equal(await turnOnDevicePush(offline.deps), 'unreachable');
  assert.deepEqual(offline.calls, ['key', 'subscribe']);
  const notAllowed = fakeBrowser({ permission: 'granted', subscribeFails: 'NotAllowedError' });
  assert.equal(await turnOnDevicePush(notAllowed.deps), 'blocked');
  assert.equal(await turnOnDevicePush(fakeBrowser({ noPush: true }).deps), 'unsupported');
});

test('a push service that never answers is said to be out of reach; a late answer is undone', async () => {
  const b = fakeBrowser({ permission: 'granted', subscribeHangs: true });
  assert.equal(await turnOnDevicePush(b.deps), 'unreachable');
  assert.deepEqual(b.calls, ['key', 'subscribe']);
  b.answerLate();
  await new Promise((r) => setImmediate(r));
  assert.equal(b.current, null);
  assert.deepEqual(b.calls, ['key', 'subscribe', 'unsubscribe https://push.example/new']);
});

test('when the server cannot take the subscription, the browser drops it and the error is thrown', async () => {
  const b = fakeBrowser({ permission: 'granted' });
  b.setServerDown(true);
  await assert.rejects(turnOnDevicePush(b.deps), (e: unknown) => e instanceof ApiError && e.code === 'network_error');
  assert.equal(b.current, null);
  assert.deepEqual(b.calls, ['key', 'subscribe', 'post https://push.example/new', 'unsubscribe https://push.example/new']);
});

test('a subscription made with another key is replaced; one with this key is registered again as it is', async () => {
  const b = fakeBrowser({ permission: 'granted' });
  b.holdSubscription(new Uint8Array(65).fill(4), 'https://push.example/old');
  assert.equal(await turnOnDevicePush(b.deps), 'on');
  assert.deepEqual(b.calls, ['key', 'unsubscribe https://push.example/old', 'subscribe', 'post https://push.example/new']);
  const same = fakeBrowser({ permission: 'granted' });
  same.holdSubscription(KEY, 'https://push.example/kept');
  assert.equal(await turnOnDevicePush(same.deps), 'on');
  assert.deepEqual(same.calls, ['key', 'post https://push.example/kept']);
});

test('turning off tells the server first; if it cannot be reached the subscription stays', async () => {
  const b = fakeBrowser({ permission: 'granted' });
  b.holdSubscription(KEY, 'https://push.example/s');
  b.setServerDown(true);
  await assert.rejects(turnOffDevicePush(b.deps));
  assert.notEqual(b.current, null);
  b.setServerDown(false);
  assert.equal(await turnOffDevicePush(b.deps), 'off');
  assert.equal(b.current, null);
  assert.deepEqual(b.calls, ['forget https://push.example/s', 'forget https://push.example/s', 'unsubscribe https://push.example/s']);
  assert.equal(await turnOffDevicePush(b.deps), 'off');
});
