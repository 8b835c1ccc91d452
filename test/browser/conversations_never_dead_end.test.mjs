// conversations_never_dead_end.test.mjs — conversations never dead-end, and
// quick replies, in Chromium against the real edge and database (sandbox mode:
// texts are simulated): a closed (booked) conversation is texted again from its
// thread, and the thread switches to the conversation the text went to, the
// owner's; "New text" to a new number refuses what is not a phone number in
// words, then opens a conversation with that message; a quick reply chip fills
// the composer with its text rendered for the customer, editable, and it sends;
// "no texting number yet" and a customer who texted STOP are said in words;
// a quick reply added in Settings (and a reorder, and a delete) shows in the
// composer. Registers its own owner through the API and buys a sandbox number;
// closes the conversation through SQL. Waits on conditions only.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { launch, unlabelledControls } from './lib/browser.mjs';
import { BASE_URL, sql, useSandbox, waitFor } from './lib/env.mjs';

const CALLER = '+15125550158';
const NEW_NUMBER = '(512) 555-0163';
const BUSINESS = 'Reyes Plumbing';

let browser;
let page;
let token;
let businessId;
let convId;          // the missed call's conversation, closed by the test
let reopenedId;      // the conversation the owner's text to the closed one went to

async function api(method, path, body) {
  const res = await fetch(BASE_URL + path, {
    method,
    headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json().catch(() => null) };
}

async function ok(method, path, body) {
  const r = await api(method, path, body);
  assert.ok(r.status >= 200 && r.status < 300, `${method} ${path}: ${r.status} ${JSON.stringify(r.json)}`);
  return r.json;
}

async function job(id) {
  return waitFor(`job ${id}`, async () => {
    const { job: j } = await ok('GET', `/api/jobs/${id}`);
    return ['done', 'failed', 'cancelled'].includes(j.status) ? j : null;
  }, 15_000, 100);
}

/** A sandbox texting number: the first free one of a few area codes (others may run beside this test). */
async function buyNumber() {
  for (const area of ['830', '903', '936', '940', '979', '361']) {
    const search = await job((await ok('POST', '/api/phone-numbers/search', { area_code: area })).job.id);
    for (const n of search.result?.numbers ?? search.result?.available_phone_numbers ?? []) {
      const r = await api('POST', '/api/phone-numbers', { phone_number: n.phone_number });
      if (r.status !== 202) continue;
      if ((await job(r.json.job.id)).status === 'done') return n.phone_number;
    }
  }
  throw new Error('no sandbox number could be bought');
}

const composer = () => page.getByRole('form', { name: 'Reply' });
const replyBox = () => page.getByLabel('Your reply');

before(async () => {
  useSandbox();
  const { json: { trade_types: trades } } = await api('GET', '/api/trade-types');
  const reg = await api('POST', '/api/auth/register', {
    email: `reyes+${Date.now()}@example.com`, password: 'a good password', name: 'Luis Reyes',
    business_name: BUSINESS, trade_type: (trades.find((t) => t.code === 'plumbing') ?? trades[0]).code, timezone: 'America/Chicago',
  });
  assert.equal(reg.status, 201, JSON.stringify(reg.json));
  token = reg.json.token;
  businessId = reg.json.business.id;
  await ok('PATCH', '/api/me', { preferences: { onboarded: true } });

  browser = await launch();
  page = browser.context.pages()[0] ?? await browser.context.newPage();
  page.setDefaultTimeout(15_000);
  await page.goto(`${BASE_URL}/login`);
  await page.evaluate((t) => localStorage.setItem('nmc.session', t), token);
});

after(async () => {
  await browser?.close();
});

test('"New text" before the business has a texting number says so', async () => {
  await page.goto(`${BASE_URL}/conversations`);
  await page.getByRole('button', { name: 'New text' }).click();
  const form = page.getByRole('form', { name: 'New text' });
  await form.getByLabel('To (phone number)').fill(NEW_NUMBER);
  await form.getByLabel('Message').fill('Hello from Reyes Plumbing');
  await form.getByRole('button', { name: 'Send text' }).click();
  await form.getByRole('alert').filter({ hasText: 'You have no texting number yet' }).waitFor();
  assert.equal(await form.getByLabel('Message').inputValue(), 'Hello from Reyes Plumbing', 'nothing typed is lost');
  await form.getByRole('button', { name: 'Cancel' }).click();
  await form.waitFor({ state: 'detached' });
  assert.equal((await ok('GET', '/api/conversations')).conversations.length, 0, 'nothing was sent');

  // The number, and a missed call, for what follows.
  await buyNumber();
  await ok('POST', '/api/sandbox/missed-call', { from: CALLER });
  convId = await waitFor('the missed call\'s conversation', async () => {
    const { conversations } = await ok('GET', '/api/conversations');
    return conversations.find((c) => c.customer?.phone === CALLER)?.id;
  }, 15_000, 100);
});

test('a booked, closed conversation is texted again from its thread, which switches to the reopened one', async () => {
  await page.goto(`${BASE_URL}/conversations?c=${convId}`);
  await page.locator('.msg-system').first().waitFor();   // the greeting
  // Booked and closed while the owner looks at it: the feed says so.
  sql(`SELECT nmc.conversation_close(c) FROM nmc.conversations c WHERE id = '${convId}'`);
  await page.locator('.thread-actions [data-mode=closed]').waitFor();
  await composer().getByText('Sending a text reopens it and you take it over').waitFor();
  assert.equal(await replyBox().isEnabled(), true, 'the box stays usable on a closed conversation');
  assert.equal(await page.getByRole('button', { name: 'Take over' }).count(), 0);
  assert.deepEqual(await unlabelledControls(page), []);

  const text = 'Hi, this is Luis again: can I come back tomorrow to check the pipe?';
  await replyBox().fill(text);
  const answer = page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith(`/api/conversations/${convId}/messages`));
  await composer().getByRole('button', { name: 'Send' }).click();
  const sent = await (await answer).json();
  assert.equal((await answer).status(), 201, JSON.stringify(sent));
  reopenedId = sent.conversation.id;
  assert.notEqual(reopenedId, convId, 'a closed conversation stays closed: the text went to a new one');
  await page.waitForURL(`**/conversations?c=${reopenedId}`);
  await page.locator('.msg-owner', { hasText: text }).waitFor();
  await page.locator('.thread-actions [data-mode=human]').waitFor();
  await page.getByRole('button', { name: 'Hand back to AI' }).waitFor();
  assert.equal(await composer().getByText('This conversation is closed').count(), 0, 'no closed hint on the open one');
  await page.locator('.msg-owner[data-status=simulated]', { hasText: text }).waitFor();

  const { conversation, messages } = await ok('GET', `/api/conversations/${reopenedId}`);
  assert.deepEqual([conversation.state, conversation.mode, conversation.customer.phone], ['open', 'human', CALLER]);
  assert.ok(messages.some((m) => m.author === 'owner' && m.body === text));
  assert.equal((await ok('GET', `/api/conversations/${convId}`)).conversation.state, 'closed');
});

test('"New text" refuses what is not a phone number in words, then opens a conversation with the message', async () => {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Conversations' }).click();
  await page.getByRole('button', { name: 'New text' }).click();
  const form = page.getByRole('form', { name: 'New text' });
  await form.getByLabel('To (phone number)').fill('call me');
  await form.getByLabel('Message').fill('Hi, this is Luis from Reyes Plumbing about your quote.');
  assert.deepEqual(await unlabelledControls(page), []);
  await form.getByRole('button', { name: 'Send text' }).click();
  await form.getByText('That is not a phone number').waitFor();
  assert.equal(await form.getByLabel('To (phone number)').getAttribute('aria-invalid'), 'true', 'the error is tied to the number');
  assert.equal(await form.getByLabel('Message').inputValue(), 'Hi, this is Luis from Reyes Plumbing about your quote.', 'the message is kept');

  await form.getByLabel('To (phone number)').fill(NEW_NUMBER);
  await form.getByRole('button', { name: 'Send text' }).click();
  await page.waitForURL((u) => { const c = new URL(u).searchParams.get('c'); return !!c && c !== convId && c !== reopenedId; });
  const id = new URL(page.url()).searchParams.get('c');
  await page.locator('.thread-head h2', { hasText: NEW_NUMBER }).waitFor();
  await page.locator('.msg-owner', { hasText: 'about your quote' }).waitFor();
  await page.locator('.thread-actions [data-mode=human]').waitFor();
  assert.equal(await page.getByRole('form', { name: 'New text' }).count(), 0, 'the form closed');
  const { conversation } = await ok('GET', `/api/conversations/${id}`);
  assert.deepEqual([conversation.state, conversation.mode, conversation.customer.phone], ['open', 'human', '+15125550163']);
});

test('a customer who texted STOP cannot be texted, and the composer says why', async () => {
  // The thread of the new number is on screen (previous test).
  await ok('POST', '/api/sandbox/customer-reply', { from: '+15125550163', body: 'STOP' });
  await page.locator('.msg-customer', { hasText: 'STOP' }).waitFor();
  await waitFor('the opt-out to be recorded', () =>
    sql(`SELECT opted_out_at IS NOT NULL FROM nmc.customers WHERE business_id = '${businessId}' AND phone = '+15125550163'`) === 't');
  await replyBox().fill('Sorry to bother you');
  await composer().getByRole('button', { name: 'Send' }).click();
  await composer().getByRole('alert').filter({ hasText: 'This customer texted STOP' }).waitFor();
  assert.equal(await replyBox().inputValue(), 'Sorry to bother you', 'the draft is kept');
  assert.equal(await page.locator('.msg-owner', { hasText: 'Sorry to bother you' }).count(), 0);
});

test("a quick reply chip fills the composer with its text for this customer, editable, and it sends", async () => {
  sql(`UPDATE nmc.customers SET name = 'Maria Lopez' WHERE phone = '${CALLER}'`);
  await page.goto(`${BASE_URL}/conversations?c=${reopenedId}`);
  const { quick_replies: qrs } = await ok('GET', `/api/quick-replies?conversation=${reopenedId}`);
  assert.deepEqual(qrs.map((q) => q.label), ['On my way', 'Running late', 'Booked'], 'a new business starts with three');
  const onMyWay = qrs[0];
  assert.match(onMyWay.text, /Maria/, 'rendered with the customer\'s first name');
  assert.match(onMyWay.text, new RegExp(BUSINESS));
  const chips = composer().getByRole('group', { name: 'Quick replies' });
  await chips.getByRole('button', { name: 'Quick reply: On my way' }).click();
  assert.equal(await replyBox().inputValue(), onMyWay.text);
  assert.equal(await replyBox().evaluate((el) => el === document.activeElement), true, 'the box has the focus to edit');
  await replyBox().press('End');
  await replyBox().pressSequentially(' Gate code?');
  const text = `${onMyWay.text} Gate code?`;
  assert.equal(await replyBox().inputValue(), text);
  assert.deepEqual(await unlabelledControls(page), []);
  await composer().getByRole('button', { name: 'Send' }).click();
  await page.locator('.msg-owner', { hasText: text }).waitFor();
  assert.equal(await replyBox().inputValue(), '', 'the box empties once sent');
  assert.equal(new URL(page.url()).searchParams.get('c'), reopenedId, 'an open conversation stays on screen');
});

test('a quick reply added in Settings, a move and a delete show in the composer', async () => {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings' }).click();
  const section = page.locator('#quick-replies');
  await section.getByRole('heading', { name: 'Quick replies' }).waitFor();
  await section.getByText('{{customer_name}}').first().waitFor();   // the variables are explained
  await section.getByRole('button', { name: 'Move On my way up' }).waitFor();
  const add = page.getByRole('form', { name: 'Add a quick reply' });
  await add.getByLabel('Button label').fill('Gate code');
  await add.getByLabel('Text').fill('Hi {{customer_name}}, what is the gate code for {{business_name}}?');
  await add.getByRole('button', { name: 'Add' }).click();
  // Its text as a customer without a name would get it.
  await section.getByText(`Hi there, what is the gate code for ${BUSINESS}?`).waitFor();
  await section.getByRole('button', { name: 'Move Gate code up' }).click();
  await section.getByText('Order saved.').waitFor();
  await section.getByRole('button', { name: 'Delete Running late' }).click();
  await section.getByText('Deleted.').waitFor();
  assert.equal(await section.getByRole('button', { name: 'Delete Running late' }).count(), 0);
  assert.deepEqual((await ok('GET', '/api/quick-replies')).quick_replies.map((q) => q.label), ['On my way', 'Gate code', 'Booked']);
  assert.deepEqual(await unlabelledControls(page), [], 'every control in Settings has a name');

  // Edit one: its new label is its chip.
  await section.getByRole('button', { name: 'Edit Booked' }).click();
  const edit = section.getByRole('form', { name: 'Edit Booked' });
  await edit.getByLabel('Button label').fill('Booked!');
  await edit.getByRole('button', { name: 'Save' }).click();
  await section.getByRole('button', { name: 'Edit Booked!' }).waitFor();

  await page.goto(`${BASE_URL}/conversations?c=${reopenedId}`);
  const chips = composer().getByRole('group', { name: 'Quick replies' });
  await chips.getByRole('button', { name: 'Quick reply: Gate code' }).waitFor();
  assert.deepEqual(await chips.getByRole('button').allTextContents(), ['On my way', 'Gate code', 'Booked!'], 'in the order set in Settings');
  await chips.getByRole('button', { name: 'Quick reply: Gate code' }).click();
  assert.equal(await replyBox().inputValue(), `Hi Maria, what is the gate code for ${BUSINESS}?`);
  await composer().getByRole('button', { name: 'Send' }).click();
  await page.locator('.msg-owner', { hasText: 'what is the gate code for' }).waitFor();
});
