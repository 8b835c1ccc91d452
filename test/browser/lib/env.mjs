// env.mjs — where the stack under test is: the edge, the database (for the two
// settings the test flips) and the fake providers. scripts/test.sh exports
// these; they can also point at a stack started by hand (see docs/dashboard.md).
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const BASE_URL = process.env.NMC_TEST_BASE_URL ?? `http://127.0.0.1:${process.env.NMC_HTTP_PORT ?? 8080}`;
export const FAKE_URL = process.env.NMC_TEST_FAKE_URL ?? null;
export const SCREENSHOT_DIR = process.env.NMC_SCREENSHOT_DIR ?? path.join(ROOT, 'test/browser/screenshots');
export const CHROMIUM = process.env.NMC_CHROMIUM ?? '/usr/bin/chromium';

// playwright-core is a dev dependency of the dashboard (one lockfile for all JavaScript).
export const playwright = createRequire(path.join(ROOT, 'dashboard/package.json'))('playwright-core');

/** Runs SQL as the superuser through scripts/stack.sh psql (same ports as the stack). */
export function sql(query) {
  return execFileSync(path.join(ROOT, 'scripts/stack.sh'), ['psql', '-X', '-q', '-A', '-t', '-c', query], { encoding: 'utf8' }).trim();
}

export async function fake(method, p, query) {
  if (!FAKE_URL) throw new Error('NMC_TEST_FAKE_URL is not set: run through make test');
  const qs = query ? `?${new URLSearchParams(query)}` : '';
  const res = await fetch(`${FAKE_URL}${p}${qs}`, { method });
  if (!res.ok) throw new Error(`fake ${method} ${p}: ${res.status}`);
  return res.json();
}

/** Sandbox mode: no Twilio credentials (earlier test files leave the fakes configured). */
export function useSandbox() {
  sql(`SELECT nmc.configure('{"twilio_account_sid":"","twilio_auth_token":"","openai_api_key":""}')`);
}

/** Texts really go out, to the fake Twilio (same credentials as test/dispatcher/lib/NmcTest.pm). */
export function useFakeTwilio() {
  sql(`SELECT nmc.configure('{"twilio_account_sid":"ACffffffffffffffffffffffffffffffff",
       "twilio_auth_token":"fake_auth_token_0123456789abcdef","twilio_api_base":"${FAKE_URL}"}')`);
}

/** Polls a condition until it holds (no fixed sleeps); returns its value. */
export async function waitFor(what, cond, timeoutMs = 10_000, everyMs = 25) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
