// owner_journey.test.mjs — the dashboard in a real browser against the real
// edge, database and fake providers: sign up → onboarding → simulated missed
// call → the conversation appears without reload → a thread opened by its URL
// names the caller before the list loads → customer reply → countdown and alert
// → take over → reply, its delivery state followed live → the fake Twilio
// receives it → hand back.
// Screenshots of each step (phone and desktop) go to test/browser/screenshots/.
// Prints the onboarding time, the owner's action count and webhook → visible
// latency (recorded in docs/performance.md). Waits on conditions only.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { actor, freshScreenshots, launch, screenshots, unlabelledControls } from './lib/browser.mjs';
import { BASE_URL, fake, FAKE_URL, sql, useFakeTwilio, useSandbox, waitFor } from './lib/env.mjs';

const CALLER = '+15125550142';          // the wizard's sample caller (components/TestCall.tsx)
const SECOND_CALLER = '+15125550177';
const REPLY = 'On my way, be there in 30 minutes.';

let browser;
let page;
let shot = 0;
const figures = {};

async function api(method, path, body) {
  const token = await page.evaluate(() => localStorage.getItem('nmc.session'));
  const res = await fetch(BASE_URL + path, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json();
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

before(async () => {
  useSandbox();
  freshScreenshots();
  browser = await launch();
  // Record notifications instead of showing them (headless has no notification centre).
  await browser.context.addInitScript(() => {
    window.__notifications = [];
    window.Notification = class {
      static permission = 'granted';
      static requestPermission() { return Promise.resolve('granted'); }
      constructor(title, opts) { window.__notifications.push({ title, body: opts?.body }); }
      close() {}
    };
  });
  // Let the test cut the live feed and keep it down (the app must show it and resume after).
  await browser.context.addInitScript(() => {
    const Native = window.WebSocket;
    window.__ws = { sockets: [], blocked: false };
    window.WebSocket = class extends Native {
      constructor(url, protocols) {
        super(window.__ws.blocked ? 'ws://127.0.0.1:9/blocked' : url, protocols);
        window.__ws.sockets.push(this);
      }
    };
  });
  page = browser.context.pages()[0] ?? await browser.context.newPage();
  page.setDefaultTimeout(15_000);
});

after(async () => {
  await browser?.close();
  if (FAKE_URL) useSandbox();
  if (Object.keys(figures).length) console.log(`# dashboard figures: ${JSON.stringify(figures)}`);
});

test('a new owner signs up, onboards, and handles a reply from a missed caller', async (t) => {
  const me = actor(page);
  const started = Date.now();
  const email = `joe+${Date.now()}@example.com`;

  await t.test('sign up', async () => {
    await page.goto(`${BASE_URL}/signup`);
    await me.fill(page.getByLabel('Your name'), 'Joe Rivera');
    await me.fill(page.getByLabel('Business name'), "Joe's Plumbing");
    await me.fill(page.getByLabel('Email'), email);
    await me.fill(page.getByLabel('Password'), 'a good password');
    await screenshots(page, ++shot, 'signup');
    await me.click(page.getByRole('button', { name: 'Create account' }));
    await page.waitForURL('**/onboarding');
  });

  await t.test('onboarding: profile', async () => {
    await page.getByRole('heading', { name: 'Your business' }).waitFor();
    await me.fill(page.getByLabel('Phone to forward calls to'), '(512) 555-0199');
    await me.fill(page.getByLabel('Street address'), '100 Congress Ave');
    await me.fill(page.getByLabel('City'), 'Austin');
    await me.fill(page.getByLabel('State'), 'TX');
    await me.fill(page.getByLabel('ZIP'), '78701');
    assert.deepEqual(await unlabelledControls(page), []);
    await screenshots(page, ++shot, 'onboarding-profile');
    await me.click(page.getByRole('button', { name: 'Save and continue' }));
  });

  await t.test('onboarding: hours (Monday to Friday 8–18 suggested)', async () => {
    await page.getByRole('heading', { name: 'Hours' }).waitFor();
    assert.deepEqual(await unlabelledControls(page), []);
    await screenshots(page, ++shot, 'onboarding-hours');
    await me.click(page.getByRole('button', { name: 'Save and continue' }));
  });

  await t.test('onboarding: greeting with a live preview', async () => {
    await page.getByRole('heading', { name: 'Greeting' }).waitFor();
    const box = page.getByLabel('Greeting text');
    await box.waitFor();
    const preview = page.getByRole('region', { name: 'Preview' }).or(page.locator('.preview'));
    await waitFor('the default greeting preview', async () => (await page.locator('.preview .bubble').textContent())?.includes("Joe's Plumbing"));
    await me.fill(box, 'Sorry we missed you! {{business_name}} here. What do you need help with?');
    await waitFor('the preview to follow the typing', async () => (await page.locator('.preview .bubble').textContent())?.startsWith("Sorry we missed you! Joe's Plumbing here."));
    assert.match(await preview.first().textContent(), /1 SMS segment/);
    await screenshots(page, ++shot, 'onboarding-greeting');
    await me.click(page.getByRole('button', { name: 'Save and continue' }));
  });

  await t.test('onboarding: phone number search, pick, buy', async () => {
    await page.getByRole('heading', { name: 'Phone number' }).waitFor();
    assert.equal(await page.getByLabel('Area code').inputValue(), '512', 'the area code comes from the forwarding phone');
    // Sandbox searches leave out taken numbers, so 512 offers some until a reused database
    // has all hundred of its 555-0100…0199; only then does the test type another area code.
    const area = ['512', '737', '210', '214', '469'].find((a) => sql(`SELECT count(*) < 100 FROM nmc.phone_numbers WHERE phone LIKE '+1${a}55501__'`) === 't');
    if (area !== '512') await me.fill(page.getByLabel('Area code'), area);
    await me.click(page.getByRole('button', { name: 'Search' }));
    await page.getByRole('radio').first().waitFor();
    await screenshots(page, ++shot, 'onboarding-number');
    await me.click(page.getByRole('button', { name: /^Get / }));
  });

  let conversationUrl;
  await t.test('onboarding: test it with a simulated missed call', async () => {
    await page.getByRole('heading', { name: 'Test it' }).waitFor();
    await page.evaluate(() => { window.__sameDocument = true; });
    await me.click(page.getByRole('button', { name: 'Simulate a missed call' }));
    await page.getByText('Conversation opened').waitFor();
    await page.getByText('Your greeting was texted back').waitFor();
    await screenshots(page, ++shot, 'onboarding-test-call');
    await me.click(page.getByRole('button', { name: 'Open the conversation' }));
    await page.waitForURL('**/conversations?c=*');
    conversationUrl = page.url();
    figures.onboarding_seconds = Number(((Date.now() - started) / 1000).toFixed(1));
    figures.onboarding_actions = me.count;
  });

  await t.test('the greeting shows in the thread with its author and delivery status', async () => {
    const greeting = page.locator('.msg-system').first();
    await greeting.waitFor();
    assert.match(await greeting.textContent(), /Sorry we missed you! Joe's Plumbing here/);
    // Sandbox mode: the send is simulated, and message.status says so (live, or in the thread's read).
    await page.locator('.msg-system[data-status=simulated]').first().waitFor();
    assert.match(await greeting.locator('.msg-status').textContent(), /Simulated \(sandbox\)/);
    assert.ok(await page.evaluate(() => window.__sameDocument), 'no page reload since the wizard');
    await screenshots(page, ++shot, 'thread-greeting');
  });

  await t.test('new missed calls appear in the list without a reload (timed)', async () => {
    await page.goto(conversationUrl.replace(/\?.*$/, ''));
    await page.locator('.conv-row').first().waitFor();
    await page.evaluate(() => { window.__sameDocument = true; });
    const rowMs = [];
    const numberMs = [];
    let withRow = 0;
    for (const [i, from] of [SECOND_CALLER, '+15125550171', '+15125550172', '+15125550173', '+15125550174'].entries()) {
      const rows = await page.locator('.conv-row').count();
      const number = `(512) 555-${from.slice(-4)}`;
      // Timed in the page, when the DOM changes (same clock as the test): the test's own polling would add its interval.
      await page.evaluate(({ rows, number }) => {
        window.__seen = {};
        window.__seenObserver?.disconnect();
        window.__seenObserver = new MutationObserver(() => {
          const all = document.querySelectorAll('.conv-row');
          if (!window.__seen.row && all.length > rows) window.__seen.row = Date.now();
          if (!window.__seen.caller && [...all].some((r) => r.textContent.includes(number))) window.__seen.caller = Date.now();
        });
        window.__seenObserver.observe(document.querySelector('.conv-list'), { childList: true, subtree: true, characterData: true });
      }, { rows, number });
      const sent = Date.now();
      await api('POST', '/api/sandbox/missed-call', { from });
      await page.locator('.conv-row').nth(rows).waitFor();
      await page.locator('.conv-row', { hasText: number }).waitFor();
      const seen = await page.evaluate(() => { window.__seenObserver.disconnect(); return window.__seen; });
      rowMs.push(seen.row - sent);
      numberMs.push(seen.caller - sent);
      if (seen.caller === seen.row) withRow += 1;
      if (i === 0) await screenshots(page, ++shot, 'list-second-call');
    }
    const stats = (xs) => { const v = [...xs].sort((a, b) => a - b); return { median: v[Math.floor(v.length / 2)], max: v[v.length - 1] }; };
    figures.webhook_to_row_ms = stats(rowMs);
    figures.webhook_to_row_with_caller_ms = stats(numberMs);
    figures.rows_with_caller_at_once = `${withRow}/${rowMs.length}`;
    // How often the number came with the row is a figure, not an assertion: under load React may
    // paint the row and its text in two frames. That the number shows at all is waited on above.
    assert.ok(await page.evaluate(() => window.__sameDocument), 'the list updated in place');
  });

  await t.test('a thread opened by its URL names the caller before the list loads', async () => {
    const other = await browser.context.newPage();
    const list = /\/api\/conversations\?/;   // the list's reads, not a conversation's detail
    const held = [];
    await other.route(list, (route) => { held.push(route); });
    try {
      const t0 = Date.now();
      await other.goto(conversationUrl);
      await other.locator('.thread-head h2', { hasText: '(512) 555-0142' }).waitFor();
      figures.thread_url_to_caller_ms = Date.now() - t0;
      await waitFor('the list read to be asked for (and held)', () => held.length > 0);
      // The business has six conversations by now: the list shows only the one opened, from its detail.
      assert.equal(await other.locator('.conv-row').count(), 1, 'the list has not loaded');
      await screenshots(other, ++shot, 'thread-by-url');
    } finally {
      await other.unroute(list);
      await Promise.all(held.map((r) => r.continue().catch(() => undefined)));
      await other.close();
    }
  });

  await t.test('a customer reply opens the human window: countdown and alert', async () => {
    await me.click(page.locator('.conv-row', { hasText: '(512) 555-0142' }).getByRole('link'));
    await page.locator('.thread-actions').waitFor();
    const boxes = () => Promise.all(['.thread-head', '.thread-actions', '.composer', '.conn'].map((sel) => page.locator(sel).boundingBox()));
    const before = await boxes();
    await api('POST', '/api/sandbox/customer-reply', { from: CALLER, body: 'My kitchen sink is leaking' });
    await page.locator('.msg-customer', { hasText: 'My kitchen sink is leaking' }).waitFor();
    const countdown = page.locator('.thread-actions .countdown');
    await countdown.waitFor();
    assert.deepEqual(await boxes(), before, 'a new message and the countdown move nothing around the messages');
    const first = Number(await countdown.getAttribute('data-seconds'));
    assert.ok(first > 0 && first <= 60, `countdown starts at the window (${first} s)`);
    await waitFor('the countdown to tick', async () => Number(await countdown.getAttribute('data-seconds')) < first, 5_000);
    await waitFor('a browser notification', () => page.evaluate(() => window.__notifications.length > 0));
    assert.deepEqual(await unlabelledControls(page), []);
    await screenshots(page, ++shot, 'human-window-countdown');
  });

  await t.test('take over, reply, and the fake Twilio receives the text', async () => {
    await me.click(page.getByRole('button', { name: 'Take over' }));
    await page.locator('.thread-actions [data-mode=human]').waitFor();
    await page.getByRole('button', { name: 'Hand back to AI' }).waitFor();
    assert.equal(await page.locator('.thread-actions .countdown').count(), 0, 'no countdown once taken over');
    if (FAKE_URL) {
      useFakeTwilio();
      await fake('POST', '/_fake/reset');
    }
    await me.fill(page.getByLabel('Your reply'), REPLY);
    await me.click(page.getByRole('button', { name: 'Send' }));
    const bubble = page.locator('.msg-owner', { hasText: REPLY });
    await bubble.waitFor();
    if (FAKE_URL) {
      const hit = await waitFor('the text at the fake Twilio', async () => {
        const reqs = await fake('GET', '/_fake/requests', { path: 'Messages.json' });
        return reqs.find((r) => new URLSearchParams(r.body).get('Body') === REPLY);
      });
      assert.equal(new URLSearchParams(hit.body).get('To'), CALLER);
    }
    // "Sending…" until Twilio answers, then what it said, from the feed (message.status): the fake
    // Twilio answers "queued" and sends no delivery callback; sandbox mode simulates the send.
    const [status, label] = FAKE_URL ? ['queued', 'Queued'] : ['simulated', 'Simulated (sandbox)'];
    await page.locator(`.msg-owner[data-status=${status}]`, { hasText: REPLY }).waitFor();
    assert.equal((await bubble.locator('.msg-status').textContent()).replace(/^ · /, ''), label);
    assert.ok(await page.evaluate(() => window.__sameDocument), 'followed live, without a reload');
    if (FAKE_URL) useSandbox();
    await screenshots(page, ++shot, 'taken-over-reply');
  });

  await t.test('hand back to the assistant', async () => {
    await me.press(page.getByRole('button', { name: 'Hand back to AI' }), 'Enter');  // by keyboard
    await page.locator('.thread-actions [data-mode=waiting]').waitFor();
    await page.getByRole('button', { name: 'Take over' }).waitFor();
    await screenshots(page, ++shot, 'handed-back');
  });

  await t.test('the feed drops: "reconnecting" shows, and what happened meanwhile arrives on resume', async () => {
    await page.evaluate(() => { window.__sameDocument = true; window.__ws.blocked = true; window.__ws.sockets.at(-1).close(); });
    try {
      await page.locator('[data-feed=reconnecting]').waitFor();
      await api('POST', '/api/sandbox/customer-reply', { from: CALLER, body: 'Are you still coming?' });
      await screenshots(page, ++shot, 'reconnecting');
      assert.equal(await page.locator('.msg-customer', { hasText: 'Are you still coming?' }).count(), 0, 'nothing arrives while the feed is down');
    } finally {
      await page.evaluate(() => { window.__ws.blocked = false; window.dispatchEvent(new Event('online')); });
    }
    await page.locator('[data-feed=live]').waitFor();
    await page.locator('.msg-customer', { hasText: 'Are you still coming?' }).waitFor();
    await page.locator('.thread-actions .countdown').waitFor();
    assert.ok(await page.evaluate(() => window.__sameDocument), 'resumed without a reload');
  });

  await t.test('an emergency text raises an alert that leads to the thread', async () => {
    await api('POST', '/api/sandbox/customer-reply', { from: '+15125550171', body: 'I smell gas in the basement' });
    const alert = page.locator('.alert-emergency');
    await alert.waitFor();
    assert.match(await alert.textContent(), /smell gas/);
    await screenshots(page, ++shot, 'emergency-alert');
    await me.click(alert.getByRole('link', { name: 'Open' }));
    await page.locator('.msg-customer', { hasText: 'I smell gas in the basement' }).waitFor();
    await page.locator('.thread-actions [data-mode=human]').waitFor();
    await me.click(alert.getByRole('button', { name: 'Dismiss alert' }));
    await alert.waitFor({ state: 'detached' });
  });

  const nav = (name) => me.click(page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name }));

  await t.test('leads: each missed call is one, with its text decision; change a status', async () => {
    await nav('Leads');
    await page.getByRole('heading', { name: 'Leads', level: 1 }).waitFor();
    const lead = page.locator('.lead', { hasText: '(512) 555-0142' });
    await lead.getByText('missed call: greeting sent').waitFor();
    assert.equal(await lead.getByRole('link', { name: 'Call (512) 555-0142' }).getAttribute('href'), 'tel:+15125550142',
      'the number is a tap-to-call link');
    await me.select(lead.getByLabel('Status'), 'qualified');
    await page.locator('.lead[data-status=qualified]', { hasText: '(512) 555-0142' }).waitFor();
    const other = page.locator('.lead', { hasText: '(512) 555-0177' });
    await me.select(other.getByLabel('Status'), 'lost');
    await me.fill(other.getByLabel('Why was it lost?'), 'Went with another company');
    await me.click(other.getByRole('button', { name: 'Mark lost' }));
    await page.locator('.lead[data-status=lost]', { hasText: 'Went with another company' }).waitFor();
    await screenshots(page, ++shot, 'leads');
  });

  await t.test('appointments: a booking shows up live in the list and the week; cancel it', async () => {
    await nav('Appointments');
    await page.getByRole('heading', { name: 'Appointments', level: 1 }).waitFor();
    const { slots } = await api('GET', '/api/appointments/open-slots');
    assert.ok(slots.length > 0, 'the hours set in the wizard leave open slots');
    await api('POST', '/api/appointments', { customer_phone: CALLER, starts_at: slots[0].starts_at, problem: 'Leaking kitchen sink', service_address: '12 Elm St, Austin' });
    await page.locator('.appt', { hasText: 'Leaking kitchen sink' }).waitFor();
    await me.click(page.getByRole('button', { name: 'Week' }));
    const inWeek = page.locator('.cal .appt', { hasText: 'Leaking kitchen sink' });
    if (await page.locator('.cal .appt').count() === 0) await me.click(page.getByRole('button', { name: 'Later' }));
    await inWeek.waitFor();
    await screenshots(page, ++shot, 'appointments-week');
    await me.click(inWeek.getByRole('button', { name: 'Cancel' }));
    await me.click(inWeek.getByRole('button', { name: 'Yes, cancel' }));
    await page.locator('.cal .appt-cancelled', { hasText: 'Leaking kitchen sink' }).waitFor();
  });

  await t.test('settings: human window length, a closed day, a blocked number, a service radius and the emergency text are saved', async () => {
    await nav('Settings');
    await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
    const assistant = page.getByRole('form', { name: 'Assistant' });
    await me.fill(assistant.getByLabel('Seconds you have to answer before the assistant does'), '90');
    await me.click(assistant.getByRole('button', { name: 'Save' }));
    await assistant.getByText('Saved.').waitFor();
    assert.equal((await api('GET', '/api/business')).business.human_window_seconds, 90);
    assert.deepEqual(await unlabelledControls(page), [], 'every control on the settings page has a name');
    const closed = page.getByRole('form', { name: 'Add a closed day' });
    const day = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
    await me.fill(closed.getByLabel('Closed on'), day);
    await me.fill(closed.getByLabel('Reason (optional)'), 'Family holiday');
    await me.click(closed.getByRole('button', { name: 'Add' }));
    await page.locator('#closed').getByText('Family holiday').waitFor();
    const block = page.getByRole('form', { name: 'Block a number' });
    await me.fill(block.getByLabel('Number to block'), '(512) 555-0999');
    await me.click(block.getByRole('button', { name: 'Block' }));
    await page.locator('#blocked').getByText('(512) 555-0999').waitFor();
    await screenshots(page, ++shot, 'settings');

    // Service area by radius: the browser refuses what the API would, then 25 km around a centre.
    const area = page.getByRole('form', { name: 'Service area' });
    await area.getByText('against your ZIP codes and/or the radius').waitFor();
    await me.fill(area.getByLabel('Radius (km)'), '600');
    await me.click(area.getByRole('button', { name: 'Save' }));
    await area.getByText('Enter a radius from 0 to 500 km').waitFor();
    assert.equal(await area.getByLabel('Radius (km)').getAttribute('aria-invalid'), 'true', 'the error is tied to its field');
    await me.fill(area.getByLabel('Radius (km)'), '25');
    await me.fill(area.getByLabel('Latitude'), '30.2672');
    await me.fill(area.getByLabel('Longitude'), '-97.7431');
    await me.click(area.getByRole('button', { name: 'Save' }));
    await area.getByText('Saved.').waitFor();
    // The emergency text to the owner's phone, on by default: switch it off (saved at once).
    const emergency = page.getByRole('checkbox', { name: 'Text me when a customer reports an emergency' });
    assert.equal(await emergency.isChecked(), true, 'on by default');
    await page.getByText(/until then to \(512\) 555-0199\.$/).waitFor();
    await me.click(emergency);
    await page.getByRole('group', { name: 'Emergency texts' }).getByText('Saved.').waitFor();
    const { business } = await api('GET', '/api/business');
    assert.deepEqual([business.service_radius_km, business.service_center, business.emergency_sms_to_owner],
      [25, { lat: 30.2672, lng: -97.7431 }, false]);

    // Both survive a reload (the form fills in once the business has loaded).
    await page.reload();
    await area.getByLabel('Radius (km)').waitFor();
    assert.deepEqual(await Promise.all(['Radius (km)', 'Latitude', 'Longitude'].map((l) => area.getByLabel(l).inputValue())),
      ['25', '30.2672', '-97.7431']);
    await emergency.waitFor();
    assert.equal(await emergency.isChecked(), false, 'the emergency text stays off');
    assert.deepEqual(await unlabelledControls(page), [], 'every control on the settings page still has a name');
    await screenshots(page, ++shot, 'settings-alerts', { scrollTo: page.locator('#alerts') });
    await screenshots(page, ++shot, 'settings-service-area', { scrollTo: page.locator('#area') });
  });

  await t.test('settings: an alert phone, verified by a texted code, and which alerts go to it', async () => {
    const alerts = page.getByRole('group', { name: 'Alerts by text' });
    await alerts.getByLabel('Alert phone').waitFor();
    assert.equal(await alerts.getByLabel('Alert phone').inputValue(), '+15125550199', 'the forward-to phone at first');
    assert.equal(await alerts.getByRole('checkbox', { name: 'A customer replied and it is my turn' }).isDisabled(), true,
      'nothing to switch before the phone is verified');
    await me.fill(alerts.getByLabel('Alert phone'), '(512) 555-0188');
    await me.click(alerts.getByRole('button', { name: 'Text me a code' }));
    await alerts.getByText('A code is on its way to that phone.').waitFor();
    // Sandbox mode: the text is simulated and its code forgotten once "sent"; the test sets a code it knows.
    sql(`UPDATE nmc.login_codes SET code_hash = nmc.login_code_hash(id, '482913') WHERE purpose = 'alert_phone' AND phone = '+15125550188'`);
    await me.fill(alerts.getByLabel('Code from the text'), '482913');
    await me.click(alerts.getByRole('button', { name: 'Verify' }));
    await alerts.getByText('Verified: alerts go to this phone.').waitFor();
    const replied = alerts.getByRole('checkbox', { name: 'A customer replied and it is my turn' });
    assert.equal(await replied.isChecked(), true, 'on once verified');
    await me.click(alerts.getByRole('checkbox', { name: 'The assistant booked a job' }));
    await alerts.getByText('Saved.').waitFor();
    const { alerts: saved } = await api('GET', '/api/business/alerts');
    assert.deepEqual([saved.phone, saved.verified, saved.kinds], ['+15125550188', true, ['customer_replied', 'handoff', 'undelivered']]);
    await alerts.getByText('Answer customers by replying to an alert').waitFor();
  });

  await t.test('the owner answers an alert by text: the thread shows it as theirs, taken over', async () => {
    const customer = '+15125550166';
    await api('POST', '/api/sandbox/customer-reply', { from: customer, body: 'Is the water heater job still on?' });
    const alerted = () => sql(`SELECT body FROM nmc.messages WHERE to_phone = '+15125550188' AND body LIKE '#%Is the water heater job%'`);
    await waitFor('the alert to the owner\'s phone', () => alerted() !== '', 10_000);
    const tag = /^(#\d+) \+15125550166: "Is the water heater job still on\?" Your turn/.exec(alerted())?.[1];
    assert.ok(tag, `the alert names the customer and starts with its number: ${alerted()}`);
    // Another customer was alerted earlier: the owner starts with this one's number.
    await api('POST', '/api/sandbox/customer-reply', { from: '+15125550188', body: `${tag} Yes, see you at 2` });
    await nav('Conversations');
    await me.click(page.locator('.conv-row', { hasText: '(512) 555-0166' }).getByRole('link'));
    await page.locator('.msg-owner', { hasText: 'Yes, see you at 2' }).waitFor();
    await page.locator('.thread-actions [data-mode=human]').waitFor();
    assert.equal(sql(`SELECT count(*) FROM nmc.messages WHERE body = 'Yes, see you at 2' AND author <> 'owner'`), '0',
      'the owner\'s text is nobody\'s customer message');
  });

  await t.test('the owner\'s phone texts STOP: the settings say nothing is texted to it', async () => {
    await api('POST', '/api/sandbox/customer-reply', { from: '+15125550188', body: 'STOP' });
    await waitFor('the stop recorded', async () => (await api('GET', '/api/business/alerts')).alerts.stopped !== null, 10_000);
    await nav('Settings');
    const alerts = page.getByRole('group', { name: 'Alerts by text' });
    await alerts.getByText(/\(512\) 555-0188 texted STOP to your number on .* no alert, not even an emergency/).waitFor();
    await screenshots(page, ++shot, 'settings-alert-phone-stopped', { scrollTo: page.locator('#alerts') });
    await api('POST', '/api/sandbox/customer-reply', { from: '+15125550188', body: 'START' });
    await waitFor('the stop lifted', async () => (await api('GET', '/api/business/alerts')).alerts.stopped === null, 10_000);
  });

  await t.test('status shows the services and the sandbox', async () => {
    await nav('Status');
    await page.getByRole('heading', { name: 'System status', level: 1 }).waitFor();
    await page.getByText('Sandbox: texts are simulated').waitFor();
    await page.getByText('Sandbox mode').first().waitFor();
    await page.getByText('Calls and texts from Twilio (inbox)').waitFor();
    await page.getByText(/^Running · 0 waiting/).waitFor();
    await screenshots(page, ++shot, 'status');
  });

  await t.test('log out, and log in again straight to the conversations', async () => {
    await me.click(page.getByRole('button', { name: 'Log out' }));
    await page.waitForURL('**/login');
    assert.equal(await page.evaluate(() => localStorage.getItem('nmc.session')), null, 'the token is gone');
    await me.fill(page.getByLabel('Email'), email);
    await me.fill(page.getByLabel('Password'), 'a good password');
    await screenshots(page, ++shot, 'login');
    const t0 = Date.now();
    await me.click(page.getByRole('button', { name: 'Log in' }));
    await page.waitForURL('**/conversations');
    await page.locator('.conv-row').first().waitFor();
    await page.locator('[data-feed=live]').waitFor();
    figures.login_to_live_list_ms = Date.now() - t0;
    const devices = JSON.parse(await page.evaluate(() => localStorage.getItem('nmc.devices')) ?? '{}');
    assert.match(devices[email.toLowerCase()] ?? '', /^nmcd_/, 'the browser keeps a device token for the email');
  });

  await t.test('someone guessing the password does not shut the owner out of a known browser', async () => {
    for (let i = 0; i < 6; i++) {
      await fetch(BASE_URL + '/api/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password: `guess ${i}` }) });
    }
    const blocked = await fetch(BASE_URL + '/api/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: 'a good password' }) });
    assert.equal(blocked.status, 429, 'the right password without the device token must wait');
    await me.click(page.getByRole('button', { name: 'Log out' }));
    await page.waitForURL('**/login');
    await me.fill(page.getByLabel('Email'), email);
    await me.fill(page.getByLabel('Password'), 'a good password');
    await me.click(page.getByRole('button', { name: 'Log in' }));
    await page.waitForURL('**/conversations');
    await sql(`DELETE FROM nmc.login_failures WHERE scope = 'source' AND key = '127.0.0.1'`);
  });

  await t.test('a forgotten password: a texted code sets a new one, and older sessions end', async () => {
    const oldToken = await page.evaluate(() => localStorage.getItem('nmc.session'));
    await me.click(page.getByRole('button', { name: 'Log out' }));
    await page.waitForURL('**/login');
    await me.click(page.getByRole('link', { name: 'Forgot your password?' }));
    await me.fill(page.getByLabel('Email'), email);
    // The server's answer first (what it said, if it was not the 202), then the words on the page.
    const asked = page.waitForResponse((r) => r.url().endsWith('/api/auth/password/forgot') && r.request().method() === 'POST', { timeout: 30_000 });
    await me.click(page.getByRole('button', { name: 'Text me a code' }));
    const answer = await asked;
    assert.equal(answer.status(), 202, `POST /api/auth/password/forgot: ${answer.status()} ${await answer.text()}`);
    await page.getByText(/a code to set a new password is on its way/).waitFor();
    assert.deepEqual(await unlabelledControls(page), []);
    // The code went out as a text (simulated here); the test knows it by setting it.
    sql(`UPDATE nmc.login_codes SET code_hash = nmc.login_code_hash(id, '604817') WHERE purpose = 'password_reset'
           AND user_id = (SELECT id FROM nmc.users WHERE email = '${email}')`);
    await me.fill(page.getByLabel('Code from the text'), '604817');
    await me.fill(page.getByLabel('New password', { exact: true }), 'a newer good password');
    await me.click(page.getByRole('button', { name: 'Save and log in' }));
    await page.waitForURL('**/conversations');
    const old = await fetch(BASE_URL + '/api/me', { headers: { authorization: `Bearer ${oldToken}` } });
    assert.equal(old.status, 401, 'the session from before the new password has ended');
    assert.equal((await old.json()).error.code, 'session_revoked');
    await nav('Settings');
    await me.click(page.getByRole('button', { name: 'Sign out everywhere' }));
    await page.waitForURL('**/login');
    await page.getByText('You were signed out everywhere.', { exact: false }).waitFor();
  });
});
