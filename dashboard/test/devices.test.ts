import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deviceFor, rememberDevice } from '../lib/devices';

function memory(): Storage {
  const m = new Map<string, string>();
  return {
    getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v),
    removeItem: (k: string) => void m.delete(k), clear: () => m.clear(), key: () => null, get length() { return m.size; },
  } as Storage;
}

test('a device token is kept per email, case-insensitively', () => {
  const s = memory();
  assert.equal(deviceFor(s, 'ann@example.com'), null);
  rememberDevice(s, 'Ann@Example.com ', 'nmcd_a');
  rememberDevice(s, 'bob@example.com', 'nmcd_b');
  assert.equal(deviceFor(s, 'ann@example.com'), 'nmcd_a');
  assert.equal(deviceFor(s, 'BOB@example.com'), 'nmcd_b');
});

test('no token from the login leaves the known one in place', () => {
  const s = memory();
  rememberDevice(s, 'ann@example.com', 'nmcd_a');
  rememberDevice(s, 'ann@example.com', undefined);
  assert.equal(deviceFor(s, 'ann@example.com'), 'nmcd_a');
});

test('garbage in storage is ignored, and at most 20 emails are kept', () => {
  const s = memory();
  s.setItem('nmc.devices', '[not json');
  assert.equal(deviceFor(s, 'x@example.com'), null);
  for (let i = 0; i < 25; i++) rememberDevice(s, `u${i}@example.com`, `nmcd_${i}`);
  assert.equal(deviceFor(s, 'u0@example.com'), null);
  assert.equal(deviceFor(s, 'u24@example.com'), 'nmcd_24');
  assert.equal(Object.keys(JSON.parse(s.getItem('nmc.devices')!)).length, 20);
});
