// scheduling_and_calls.test.mjs — scheduling an owner can run the day on, and
// the call log, in Chromium against the real edge and database (sandbox mode:
// texts are simulated). An appointment booked from the screen shows with its
// date and time in the business's timezone and says the customer was texted;
// moved from the list (date and time typed) and from the week view (a free time
// tapped), it shows its new time; a move onto another appointment says the slot
// is taken and one after closing says so too; its .ics download is a
// text/calendar file with the right DTSTART, fetched with the token in a header
// (a blob: link); cancelled, it leaves the upcoming list. The appointment length,
// the buffer after each, and reminders save (checked through GET /api/business). The call log shows a
// simulated missed call live, with what happened and the text decision in
// words, and opens its conversation; a voicemail left on it shows its words and
// plays (our copy, fetched with the token), and a customer's photo shows in the
// thread as a thumbnail. The phone's bottom bar fits its six tabs.
// Registers its own owner through the API and buys a sandbox number. Waits on
// conditions only.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { launch, PHONE, screenshots, unlabelledControls } from './lib/browser.mjs';
import { BASE_URL, sql, useSandbox, waitFor } from './lib/env.mjs';

const TZ = 'America/Chicago';
const CUSTOMER = '(512) 555-0148';
const OTHER = '+15125550149';
const CALLER = '+15125550186';

let browser;
let page;
let token;
let apptId;
let tomorrow;       // YYYY-MM-DD in the business's timezone
let shot = 80;

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
  for (const area of ['254', '325', '432', '806', '915', '956']) {
    const search = await job((await ok('POST', '/api/phone-numbers/search', { area_code: area })).job.id);
    for (const n of search.result?.numbers ?? []) {
      const r = await api('POST', '/api/phone-numbers', { phone_number: n.phone_number });
      if (r.status !== 202) continue;
      if ((await job(r.json.job.id)).status === 'done') return n.phone_number;
    }
  }
  throw new Error('no sandbox number could be bought');
}

const localDate = (iso) => new Intl.DateTimeFormat('en-CA', { timeZone: TZ, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(iso));
const dateWords = (iso) => new Date(iso).toLocaleDateString('en-US', { weekday: 'short', month: 'short', day: 'numeric', timeZone: TZ });
const timeWords = (iso) => new Date(iso).toLocaleTimeString('en-US', { hour: 'numeric', minute: '2-digit', timeZone: TZ });
const icsStamp = (iso) => new Date(iso).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
const upcoming = () => page.locator('.appts-upcoming .appt', { hasText: 'Water heater leaking' });
const summary = () => page.locator('.appt-summary');

before(async () => {
  useSandbox();
  const { json: { trade_types: trades } } = await api('GET', '/api/trade-types');
  const reg = await api('POST', '/api/auth/register', {
    email: `okafor+${Date.now()}@example.com`, password: 'a good password', name: 'Ada Okafor',
    business_name: 'Okafor Plumbing', trade_type: (trades.find((t) => t.code === 'plumbing') ?? trades[0]).code, timezone: TZ,
  });
  assert.equal(reg.status, 201, JSON.stringify(reg.json));
  token = reg.json.token;
  await ok('PATCH', '/api/me', { preferences: { onboarded: true } });
  // Open every day 8–18, so "tomorrow" always has hours.
  await ok('PUT', '/api/business/hours', { hours: [0, 1, 2, 3, 4, 5, 6].map((weekday) => ({ weekday, opens_at: '08:00', closes_at: '18:00' })) });
  await buyNumber();
  const today = localDate(Date.now());
  const [y, m, d] = today.split('-').map(Number);
  tomorrow = new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10);

  browser = await launch();
  page = browser.context.pages()[0] ?? await browser.context.newPage();
  page.setDefaultTimeout(15_000);
  await page.goto(`${BASE_URL}/login`);
  await page.evaluate((t) => localStorage.setItem('nmc.session', t), token);
});

after(async () => {
  await browser?.close();
});

test('an appointment booked from the screen shows its date and time, and says the customer was texted', async () => {
  await page.goto(`${BASE_URL}/appointments`);
  await page.getByRole('heading', { name: 'Appointments', level: 1 }).waitFor();
  await page.getByRole('button', { name: 'New appointment' }).click();
  const form = page.getByRole('form', { name: 'New appointment' });
  assert.equal(await form.getByLabel('Length (minutes)').inputValue(), '60', 'the business\'s appointment length');
  const notify = form.getByRole('checkbox', { name: 'Text the customer a confirmation' });
  assert.equal(await notify.isChecked(), true, 'on by default');
  await form.getByLabel('Customer\'s phone').fill(CUSTOMER);
  await form.getByLabel('Date', { exact: true }).fill(tomorrow);
  await form.getByLabel('Time', { exact: true }).fill('09:00');
  await form.getByLabel('Address (optional)').fill('44 Oak Ave, Austin');
  await form.getByLabel('Problem (optional)').fill('Water heater leaking');
  // The day's free times are offered as buttons.
  await form.getByRole('group', { name: 'Free times that day' }).getByRole('button', { name: '9:00 AM' }).waitFor();
  assert.deepEqual(await unlabelledControls(page), [], 'every control of the form has a name');
  await screenshots(page, ++shot, 'appointment-new');

  const answer = page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/api/appointments'));
  await form.getByRole('button', { name: 'Book' }).click();
  const res = await answer;
  const body = await res.json();
  assert.equal(res.status(), 201, JSON.stringify(body));
  assert.equal(body.customer_texted, true, 'the sandbox number texts the confirmation');
  apptId = body.appointment.id;
  assert.equal(localDate(body.appointment.starts_at), tomorrow, 'the date typed, in the business\'s timezone');
  assert.equal(timeWords(body.appointment.starts_at), '9:00 AM', 'the time typed, on the business\'s clock');

  const when = `${dateWords(body.appointment.starts_at)}, 9:00 AM`;
  await summary().getByText(`Booked for ${when}. ${CUSTOMER} was texted a confirmation.`).waitFor();
  await form.waitFor({ state: 'detached' });
  const item = upcoming();
  await item.getByText(`${when} – 10:00 AM`).waitFor();
  await item.getByText(`${CUSTOMER} · Water heater leaking`).waitFor();   // the title: who and what
  assert.equal(await item.getByRole('link', { name: `Call ${CUSTOMER}` }).getAttribute('href'), 'tel:+15125550148');
  await screenshots(page, ++shot, 'appointments-upcoming');
});

test('moved from the list and from the week view, it shows its new time; taken and closed times are refused in words', async () => {
  let item = upcoming();
  await item.getByRole('button', { name: 'Move' }).click();
  let move = item.getByRole('form', { name: /^Move / });
  assert.equal(await move.getByLabel('Date', { exact: true }).inputValue(), tomorrow, 'starts from its own date');
  assert.equal(await move.getByLabel('Time', { exact: true }).inputValue(), '09:00', 'and its own time');
  assert.equal(await move.getByRole('checkbox', { name: 'Text the customer the new time' }).isChecked(), true);
  await move.getByLabel('Time', { exact: true }).fill('11:00');
  await move.getByRole('button', { name: 'Save new time' }).click();
  const { appointment: moved } = await waitFor('the move', async () => {
    const r = await ok('GET', `/api/appointments?from=${encodeURIComponent(new Date().toISOString())}`);
    const a = r.appointments.find((x) => x.id === apptId);
    return a && timeWords(a.starts_at) === '11:00 AM' ? { appointment: a } : null;
  });
  const when = `${dateWords(moved.starts_at)}, 11:00 AM`;
  await summary().getByText(`Moved to ${when}. ${CUSTOMER} was texted the new time.`).waitFor();
  await item.getByText(`${when} – 12:00 PM`).waitFor();

  // Another booking at 3 PM (through the API, not texted).
  const three = new Date(Date.parse(moved.starts_at) + 4 * 3600_000).toISOString();
  const other = await ok('POST', '/api/appointments', { customer_phone: OTHER, starts_at: three, problem: 'Dripping tap', notify_customer: false });
  assert.equal(other.customer_texted, false);

  // The week view: the appointment on its day, with its time; a tap on a free time moves it.
  await page.getByRole('button', { name: 'Week' }).click();
  const inWeek = page.locator('.cal .appt', { hasText: 'Water heater leaking' });
  await inWeek.getByText(`${when} – 12:00 PM`).waitFor();
  await page.locator('.cal .appt', { hasText: 'Dripping tap' }).getByText(`${dateWords(three)}, 3:00 PM – 4:00 PM`).waitFor();
  await inWeek.getByRole('button', { name: 'Move' }).click();
  move = inWeek.getByRole('form', { name: /^Move / });
  const free = move.getByRole('group', { name: 'Free times that day' });
  assert.equal(await free.getByRole('button', { name: '3:00 PM', exact: true }).count(), 0, 'a booked time is not offered');
  await free.getByRole('button', { name: '1:00 PM', exact: true }).click();
  assert.equal(await move.getByLabel('Time', { exact: true }).inputValue(), '13:00', 'the tap sets the time');
  await move.getByRole('button', { name: 'Save new time' }).click();
  const at1 = `${dateWords(moved.starts_at)}, 1:00 PM`;
  await summary().getByText(`Moved to ${at1}.`).waitFor();
  await inWeek.getByText(`${at1} – 2:00 PM`).waitFor();
  await screenshots(page, ++shot, 'appointments-week-moved');

  // Onto the other appointment: the slot is taken, said on the time field.
  await inWeek.getByRole('button', { name: 'Move' }).click();
  move = inWeek.getByRole('form', { name: /^Move / });
  await move.getByLabel('Time', { exact: true }).fill('15:00');
  await move.getByRole('button', { name: 'Save new time' }).click();
  await move.getByRole('alert').getByText('That time is taken: another appointment is booked then. Pick another time.').waitFor();
  assert.equal(await move.getByLabel('Time', { exact: true }).getAttribute('aria-invalid'), 'true', 'the error is tied to the time');
  // After closing time: outside business hours.
  await move.getByLabel('Time', { exact: true }).fill('19:00');
  await move.getByRole('button', { name: 'Save new time' }).click();
  await move.getByRole('alert').getByText(/That time is outside your business hours/).waitFor();
  assert.deepEqual(await unlabelledControls(page), [], 'every control of the week view and the move form has a name');
  await screenshots(page, ++shot, 'appointment-move-refused');
  await move.getByRole('button', { name: 'Keep the time' }).click();
  await move.waitFor({ state: 'detached' });
  const { appointments } = await ok('GET', '/api/appointments');
  assert.equal(timeWords(appointments.find((a) => a.id === apptId).starts_at), '1:00 PM', 'a refused move changes nothing');
  await page.getByRole('button', { name: 'Upcoming' }).click();
  await upcoming().getByText(`${at1} – 2:00 PM`).waitFor();
});

test('the .ics download is a text/calendar file with the appointment\'s start, fetched without the token in a URL', async () => {
  const { appointments } = await ok('GET', '/api/appointments');
  const appt = appointments.find((a) => a.id === apptId);
  const answer = page.waitForResponse((r) => r.url().endsWith(`/api/appointments/${apptId}/ics`));
  const download = page.waitForEvent('download');
  await upcoming().getByRole('button', { name: /\.ics file\)$/ }).click();
  const res = await answer;
  assert.match(res.headers()['content-type'], /^text\/calendar/);
  assert.match((await res.request().allHeaders()).authorization ?? '', /^Bearer /, 'the token goes in the header');
  const file = await download;
  assert.match(file.url(), /^blob:/, 'saved from a Blob link, no token in any URL');
  assert.equal(file.suggestedFilename(), `appointment-${tomorrow}-1300.ics`);
  const text = readFileSync(await file.path(), 'utf8');
  assert.match(text, /^BEGIN:VCALENDAR\r\n/);
  assert.equal(/DTSTART:(\S+)/.exec(text)?.[1], icsStamp(appt.starts_at));
  assert.equal(/DTEND:(\S+)/.exec(text)?.[1], icsStamp(appt.ends_at));
  assert.match(text, /SUMMARY:\+15125550148 - Water heater leaking/);
});

test('cancelled with a reason, it leaves the upcoming list and the customer is told', async () => {
  const item = upcoming();
  await item.getByRole('button', { name: 'Cancel' }).click();
  const form = item.getByRole('form', { name: /^Cancel / });
  assert.equal(await form.getByRole('checkbox', { name: 'Text the customer that it is cancelled' }).isChecked(), true);
  await form.getByLabel('Reason (optional)').fill('Customer fixed it');
  assert.deepEqual(await unlabelledControls(page), []);
  await form.getByRole('button', { name: 'Yes, cancel' }).click();
  await summary().getByText(/^Cancelled the appointment of .*, 1:00 PM\. \(512\) 555-0148 was texted that it is cancelled\.$/).waitFor();
  await item.waitFor({ state: 'detached' });
  await page.locator('.appts-upcoming .appt', { hasText: 'Dripping tap' }).waitFor();
  const { appointments } = await ok('GET', '/api/appointments');
  const a = appointments.find((x) => x.id === apptId);
  assert.deepEqual([a.status, a.cancel_reason], ['cancelled', 'Customer fixed it']);
});

test('settings: the appointment length and the reminders are saved', async () => {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings' }).click();
  const form = page.getByRole('form', { name: 'Appointments and reminders' });
  await form.getByLabel('Usual appointment length (minutes)').waitFor();
  const evening = form.getByRole('checkbox', { name: 'Text the customer a reminder at 6 PM the evening before' });
  assert.equal(await evening.isChecked(), true, 'on by default');
  assert.equal(await form.getByLabel('Reminder on the day').inputValue(), '2', '2 hours before by default');
  await form.getByLabel('Usual appointment length (minutes)').fill('500');
  await form.getByRole('button', { name: 'Save' }).click();
  await form.getByText('Enter a length from 15 to 480 minutes.').waitFor();
  await form.getByLabel('Usual appointment length (minutes)').fill('90');
  await evening.uncheck();
  await form.getByLabel('Reminder on the day').selectOption('3');
  assert.equal(await form.getByLabel('Time kept free after each appointment').inputValue(), '0', 'no buffer by default');
  await form.getByLabel('Time kept free after each appointment').selectOption({ label: '30 min' });
  await form.getByRole('button', { name: 'Save' }).click();
  await form.getByText(/^Saved\./).waitFor();
  const { business } = await ok('GET', '/api/business');
  assert.deepEqual([business.appointment_minutes, business.reminder_day_before, business.reminder_hours_before, business.appointment_buffer_minutes],
                   [90, false, 3, 30]);
  assert.deepEqual(await unlabelledControls(page), [], 'every control on the settings page has a name');
  await screenshots(page, ++shot, 'settings-appointments', { scrollTo: page.locator('#appointments') });

  await page.reload();
  await form.getByLabel('Usual appointment length (minutes)').waitFor();
  assert.equal(await form.getByLabel('Usual appointment length (minutes)').inputValue(), '90');
  assert.equal(await evening.isChecked(), false);
  assert.equal(await form.getByLabel('Reminder on the day').inputValue(), '3');
  assert.equal(await form.getByLabel('Time kept free after each appointment').inputValue(), '30');
  // "No reminder on the day" is 0.
  await form.getByLabel('Reminder on the day').selectOption({ label: 'No reminder on the day' });
  await form.getByRole('button', { name: 'Save' }).click();
  await waitFor('reminder_hours_before 0', async () => (await ok('GET', '/api/business')).business.reminder_hours_before === 0);

  // A new appointment starts from the new length.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Appointments' }).click();
  await page.getByRole('button', { name: 'New appointment' }).click();
  assert.equal(await page.getByRole('form', { name: 'New appointment' }).getByLabel('Length (minutes)').inputValue(), '90');
  await page.getByRole('form', { name: 'New appointment' }).getByRole('button', { name: 'Close' }).click();
});

test('the call log shows a missed call live, with what happened and the text decision in words, and opens its conversation', async () => {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Calls' }).click();
  await page.getByRole('heading', { name: 'Calls', level: 1 }).waitFor();
  await page.getByText('No calls yet.').waitFor();
  await page.locator('[data-feed=live]').waitFor();
  await page.evaluate(() => { window.__sameDocument = true; });

  await ok('POST', '/api/sandbox/missed-call', { from: CALLER });
  const row = page.locator('.call', { hasText: '(512) 555-0186' });
  await row.getByText('Missed: no phone to ring (set a forward-to phone)').waitFor();
  await row.getByText(/^Texted the greeting/).waitFor();
  // Again within the repeat window: not texted, and why.
  await ok('POST', '/api/sandbox/missed-call', { from: CALLER });
  await waitFor('two calls', async () => (await page.locator('.call').count()) === 2);
  const newest = page.locator('.call').first();
  await newest.locator('.call-decision', { hasText: /^Not texted: texted in the last 10 min/ }).waitFor();
  assert.match(await newest.locator('.call-decision').textContent(), /^Not texted: texted in the last 10 min \(.+ ago\)$/);
  assert.equal(await newest.getAttribute('data-decision'), 'suppressed_repeat');
  assert.ok(await page.evaluate(() => window.__sameDocument), 'both arrived without a reload');
  // Time in the business's timezone.
  const { calls } = await ok('GET', '/api/calls');
  assert.equal(calls.length, 2);
  await newest.getByText(`${dateWords(calls[0].created_at)}, ${timeWords(calls[0].created_at)}`).waitFor();
  assert.deepEqual(await unlabelledControls(page), []);
  await screenshots(page, ++shot, 'calls');

  // A tap opens the customer's conversation (the repeat call has none of its own: the customer's).
  await newest.getByRole('link').click();
  await page.waitForURL(/\/conversations\?c=/);
  const convId = new URL(page.url()).searchParams.get('c');
  assert.equal(convId, calls[1].conversation_id, 'the conversation the first call opened');
  await page.locator('.msg-system').first().waitFor();

  // A reload reads the log from the API, newest first.
  await page.goto(`${BASE_URL}/calls`);
  await page.locator('.call').nth(1).waitFor();
  assert.equal(await page.locator('.call').first().getAttribute('data-call'), calls[0].id);
  assert.match(await page.locator('.call').nth(1).locator('.call-decision').textContent(), /^Texted the greeting · text /);
});

/** A WAV file of `ms` milliseconds of silence (8 kHz, 8-bit mono), as hex for SQL. */
function silentWav(ms) {
  const samples = Math.round(8 * ms);
  const b = Buffer.alloc(44 + samples, 0x80);
  b.write('RIFF', 0); b.writeUInt32LE(36 + samples, 4); b.write('WAVEfmt ', 8);
  b.writeUInt32LE(16, 16); b.writeUInt16LE(1, 20); b.writeUInt16LE(1, 22); b.writeUInt32LE(8000, 24);
  b.writeUInt32LE(8000, 28); b.writeUInt16LE(1, 32); b.writeUInt16LE(8, 34); b.write('data', 36); b.writeUInt32LE(samples, 40);
  return b.toString('hex');
}
const PNG_1PX = '89504e470d0a1a0a0000000d4948445200000001000000010806000000' +
  '1f15c4890000000d49444154789c6360f8cfc0f01f0005000201a5c3a4f50000000049454e44ae426082';

test('a voicemail on a call shows its words and plays; a customer\'s photo shows in the thread', async () => {
  await page.goto(`${BASE_URL}/calls`);
  const { calls } = await ok('GET', '/api/calls');
  const texted = calls.find((c) => c.decision === 'texted');
  // What the recording callback, the copy from Twilio and the transcription
  // leave behind (test/webhooks/09_voicemail_and_photos.t drives them for real).
  sql(`WITH f AS (INSERT INTO nmc.media_files (business_id, source_url, content_type, status, bytes, size_bytes, fetched_at)
                  SELECT business_id, 'https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/RE0', 'audio/wav', 'stored',
                         decode('${silentWav(600)}', 'hex'), 4844, now() FROM nmc.calls WHERE id = '${texted.id}' RETURNING id, business_id)
       INSERT INTO nmc.voicemails (business_id, call_id, recording_sid, status, duration_seconds, file_id, transcript, transcript_status)
       SELECT f.business_id, '${texted.id}', 'RE' || md5(random()::text), 'completed', 3, f.id, 'Water everywhere under the sink, call me back', 'done' FROM f`);
  sql(`SELECT nmc.emit_event(c.business_id, 'call.updated', nmc.call_json(c)) FROM nmc.calls c WHERE c.id = '${texted.id}'`);
  const row = page.locator(`.call[data-call="${texted.id}"]`);
  await row.getByText('Voicemail, 3 s: “Water everywhere under the sink, call me back”').waitFor();
  const audio = row.locator('audio[data-media-state=ready]');
  await audio.waitFor();
  assert.match(await audio.getAttribute('src'), /^blob:/, 'played from our copy, never a provider URL');
  const seconds = await audio.evaluate((a) => new Promise((resolve) => {
    if (a.readyState >= 1) resolve(a.duration); else a.addEventListener('loadedmetadata', () => resolve(a.duration), { once: true });
  }));
  assert.ok(Math.abs(seconds - 0.6) < 0.05, `the browser reads the recording: ${seconds} s`);
  assert.equal(await audio.getAttribute('aria-label'), `Voicemail from ${await row.locator('.call-who').textContent()}`);

  sql(`WITH f AS (INSERT INTO nmc.media_files (business_id, source_url, content_type, status, bytes, size_bytes, fetched_at)
                  SELECT business_id, 'https://api.twilio.com/2010-04-01/Accounts/AC0/Messages/MM0/Media/ME0', 'image/png', 'stored',
                         decode('${PNG_1PX}', 'hex'), 70, now() FROM nmc.calls WHERE id = '${texted.id}' RETURNING id, business_id)
       INSERT INTO nmc.messages (business_id, customer_id, conversation_id, direction, author, from_phone, to_phone, body, status, media)
       SELECT c.business_id, c.customer_id, c.conversation_id, 'inbound', 'customer', '${CALLER}', c.to_phone, '(photo)', 'received',
              jsonb_build_array(jsonb_build_object('content_type', 'image/png', 'url', 'https://api.twilio.com/x', 'file_id', f.id))
         FROM nmc.calls c, f WHERE c.id = '${texted.id}'`);
  await page.goto(`${BASE_URL}/conversations?c=${texted.conversation_id}`);
  const img = page.locator('.msg-in .msg-media img[data-media-state=ready]');
  await img.waitFor();
  assert.equal(await img.getAttribute('alt'), 'Photo 1');
  assert.equal(await img.evaluate((i) => i.complete && i.naturalWidth), 1, 'the thumbnail is the stored picture');
  assert.deepEqual(await unlabelledControls(page), []);
  await screenshots(page, ++shot, 'photo-in-thread');
});

test('the phone\'s bottom bar fits its six tabs', async () => {
  await page.setViewportSize(PHONE);
  const tabs = page.getByRole('navigation', { name: 'Main' }).getByRole('link');
  assert.deepEqual(await tabs.evaluateAll((as) => as.map((a) => a.getAttribute('aria-label'))),
    ['Conversations', 'Leads', 'Appointments', 'Calls', 'Settings', 'Status']);
  const clipped = await tabs.evaluateAll((as) => as
    .filter((a) => a.scrollWidth > a.clientWidth + 1 || a.querySelector('.nav-short').getBoundingClientRect().width > a.clientWidth)
    .map((a) => a.textContent));
  assert.deepEqual(clipped, [], 'no short label is cut off at 360 px');
  const heights = await tabs.evaluateAll((as) => as.map((a) => a.getBoundingClientRect().height));
  assert.ok(heights.every((h) => h >= 44), `touch targets of 44 px at least: ${heights}`);
});
