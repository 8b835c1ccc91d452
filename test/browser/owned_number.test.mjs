// owned_number.test.mjs — an owner who already has a Twilio number (here an old
// answering line on the fake Twilio account) uses it from the settings screen:
// lists the account's numbers with where their calls and texts go now, picks
// it, attaches it, and sees it as the texting number with its earlier webhooks
// noted; then stops using it, and the fake account's number has its old
// webhooks again (listed again from the screen, it shows them). In Chromium
// against the real edge, dispatcher and fake Twilio. Waits on conditions only.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { launch, screenshots, unlabelledControls } from './lib/browser.mjs';
import { BASE_URL, fake, FAKE_URL, useFakeTwilio, useSandbox, waitFor } from './lib/env.mjs';

const suffix = String(process.pid % 10000).padStart(4, '0');
const OWNED = `+1737555${suffix}`;
const SHOWN = `(737) 555-${suffix}`;
const OLD = { VoiceUrl: 'https://answering.example.com/voice', SmsUrl: 'https://answering.example.com/sms', SmsMethod: 'GET' };

let browser;
let page;
let token;
let shot = 120;
let sid;          // the fake account's number

async function api(method, path, body) {
  const res = await fetch(BASE_URL + path, {
    method,
    headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json().catch(() => null) };
}

before(async () => {
  assert.ok(FAKE_URL, 'needs the fake providers (NMC_TEST_FAKE_URL): run through scripts/test.sh');
  useFakeTwilio();
  ({ sid } = await fake('POST', '/_fake/twilio/numbers', { PhoneNumber: OWNED, FriendlyName: 'Old answering line', ...OLD }));
  const { json: { trade_types: trades } } = await api('GET', '/api/trade-types');
  const reg = await api('POST', '/api/auth/register', {
    email: `owned+${Date.now()}@example.com`, password: 'a good password', name: 'Rosa Diaz',
    business_name: 'Diaz Electric', trade_type: trades[0].code, timezone: 'America/Chicago',
  });
  assert.equal(reg.status, 201, JSON.stringify(reg.json));
  token = reg.json.token;
  await api('PATCH', '/api/me', { preferences: { onboarded: true } });

  browser = await launch();
  page = browser.context.pages()[0] ?? await browser.context.newPage();
  page.setDefaultTimeout(15_000);
  await page.goto(`${BASE_URL}/login`);
  await page.evaluate((t) => localStorage.setItem('nmc.session', t), token);
});

after(async () => {
  useSandbox();
  await browser?.close();
});

const section = () => page.locator('section#number');
const owned = () => section().getByRole('region', { name: 'A number you already have' });

test('list the Twilio account\'s numbers, attach one, see its earlier webhooks noted', async () => {
  await page.goto(`${BASE_URL}/settings#number`);
  await owned().getByRole('button', { name: 'List my Twilio numbers' }).click();
  const choice = owned().getByRole('radio', { name: new RegExp(SHOWN.replace(/[()]/g, '\\$&')) });
  await choice.waitFor();
  const row = owned().locator('label.owned-number', { hasText: SHOWN });
  assert.match(await row.textContent(), /Now: Calls → https:\/\/answering\.example\.com\/voice · Texts → https:\/\/answering\.example\.com\/sms/,
    'each number says where its calls and texts go now');
  await choice.check();
  assert.deepEqual(await unlabelledControls(page), [], 'every control has a name');
  await screenshots(page, ++shot, 'owned-numbers-listed', { scrollTo: section() });

  await owned().getByRole('button', { name: `Use ${SHOWN}` }).click();
  await section().getByTestId('owned-number').filter({ hasText: SHOWN }).waitFor();
  const earlier = section().getByTestId('previous-webhooks');
  assert.match(await earlier.textContent(), /Calls: POST https:\/\/answering\.example\.com\/voice/);
  assert.match(await earlier.textContent(), /Texts: GET https:\/\/answering\.example\.com\/sms/);
  await screenshots(page, ++shot, 'owned-number-attached', { scrollTo: section() });

  const { json } = await api('GET', '/api/phone-numbers');
  assert.equal(json.phone_numbers[0].phone, OWNED, 'the number is the business\'s');
  const updates = await fake('GET', '/_fake/requests', { path: `IncomingPhoneNumbers/${sid}.json` });
  assert.ok(updates.some((r) => r.method === 'POST' && /VoiceUrl=http%3A%2F%2Flocalhost/.test(r.body)), 'the fake Twilio number now points at us');
});

test('stop using it: the number gets its old webhooks back', async () => {
  await section().getByRole('button', { name: 'Stop using this number here' }).click();
  const confirm = section().getByRole('alertdialog', { name: 'Stop using this number' });
  assert.match(await confirm.textContent(), /Calls → https:\/\/answering\.example\.com\/voice/, 'it says where calls will go again');
  await screenshots(page, ++shot, 'owned-number-detach-confirm', { scrollTo: section() });
  await confirm.getByRole('button', { name: 'Put its old set-up back' }).click();
  // Back to getting a number: the attached one is gone from the screen.
  await owned().getByRole('button', { name: 'List my Twilio numbers' }).waitFor();
  assert.equal(await section().getByTestId('owned-number').count(), 0);

  const updates = await waitFor('the restoring update at the fake Twilio', async () => {
    const reqs = await fake('GET', '/_fake/requests', { path: `IncomingPhoneNumbers/${sid}.json` });
    const mine = reqs.filter((r) => r.method === 'POST');
    return mine.length >= 2 ? mine : null;
  });
  assert.match(updates.at(-1).body, /VoiceUrl=https%3A%2F%2Fanswering\.example\.com%2Fvoice/);
  // The fake account's own record, as listed from the screen again.
  await owned().getByRole('button', { name: 'List my Twilio numbers' }).click();
  const row = owned().locator('label.owned-number', { hasText: SHOWN });
  await row.waitFor();
  assert.match(await row.textContent(), /Now: Calls → https:\/\/answering\.example\.com\/voice · Texts → https:\/\/answering\.example\.com\/sms/,
    'the account\'s number has its old webhooks again');
  await screenshots(page, ++shot, 'owned-number-detached', { scrollTo: section() });
});
