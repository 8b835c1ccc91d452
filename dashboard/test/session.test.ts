// session.test.ts — the stored token: decoded claims, expiry drops it, clear.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clearSession, decodeToken, loadSession, saveSession } from '../lib/session';

function jwt(claims: object): string {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}.sig`;
}
function memory() {
  const m = new Map<string, string>();
  return { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => { m.set(k, v); }, removeItem: (k: string) => { m.delete(k); }, m };
}

test('decodes the business and expiry from the token', () => {
  const s = decodeToken(jwt({ sub: 'u1', business_id: 'b1', exp: 2000000000 }))!;
  assert.deepEqual(s, { token: s.token, businessId: 'b1', userId: 'u1', expiresAt: 2000000000000 });
  assert.equal(decodeToken('garbage'), null);
  assert.equal(decodeToken(jwt({ sub: 'u1' })), null);
});

test('a saved token loads until it expires, then is removed', () => {
  const st = memory();
  const t = jwt({ sub: 'u1', business_id: 'b1', exp: 1000 });
  assert.ok(saveSession(st, t));
  assert.equal(loadSession(st, 999_000)?.token, t);
  assert.equal(loadSession(st, 1_000_000), null);
  assert.equal(st.m.size, 0);
});

test('clear forgets the token', () => {
  const st = memory();
  saveSession(st, jwt({ sub: 'u', business_id: 'b', exp: 2000000000 }));
  clearSession(st);
  assert.equal(loadSession(st), null);
});
