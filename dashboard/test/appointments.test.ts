// appointments.test.ts — titles, dates and times in the business's timezone,
// refusals and changes in words, the calendar file's name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appointmentProblem, appointmentTitle, changeSummary, e164Guess, icsFileName, lengthWords, whenWords } from '../lib/appointments';

const TZ = 'America/Chicago';

test('a title from the customer and the problem, never raw text', () => {
  assert.equal(appointmentTitle({ problem: 'Leaking kitchen sink' }, { id: 'u', phone: '+15125550142', name: 'Maria Lopez' }), 'Maria Lopez · Leaking kitchen sink');
  assert.equal(appointmentTitle({ problem: 'Leak\nunder the sink, since Monday' }, { id: 'u', phone: '+15125550142', name: null }), '(512) 555-0142 · Leak');
  assert.equal(appointmentTitle({ problem: null }, { id: 'u', phone: '+15125550142', name: '  ' }), '(512) 555-0142');
  assert.equal(appointmentTitle({ problem: 'x'.repeat(100) }, null), `${'x'.repeat(59)}…`);
  assert.equal(appointmentTitle({ problem: '' }, null), 'Appointment');
});

test('date and time in the business timezone', () => {
  assert.equal(whenWords('2026-12-04T15:00:00Z', '2026-12-04T16:30:00Z', TZ), 'Fri, Dec 4, 9:00 AM – 10:30 AM');
  // 23:00 in Chicago is the next day in UTC: the local date is the one shown.
  assert.equal(whenWords('2026-12-05T05:00:00Z', '2026-12-05T06:00:00Z', TZ), 'Fri, Dec 4, 11:00 PM – Sat, Dec 5, 12:00 AM');
  assert.equal(lengthWords(90), '1 h 30 min');
  assert.equal(lengthWords(45), '45 min');
  assert.equal(lengthWords(120), '2 h');
});

test('refusals in words, on the field they concern', () => {
  assert.deepEqual(appointmentProblem('slot_taken', 'starts_at', 'another appointment is booked at that time'),
    { field: 'starts_at', text: 'That time is taken: another appointment is booked then. Pick another time.' });
  assert.equal(appointmentProblem('outside_business_hours', 'starts_at', 'x').field, 'starts_at');
  assert.match(appointmentProblem('outside_business_hours', 'starts_at', 'x').text, /outside your business hours/);
  assert.equal(appointmentProblem('invalid_phone', 'customer_phone', 'x').field, 'customer_phone');
  assert.equal(appointmentProblem('invalid_field', 'minutes', 'minutes must be between 15 and 480').text, 'The length must be from 15 to 480 minutes.');
  assert.deepEqual(appointmentProblem('not_found', undefined, 'no booked appointment with this id').field, null);
  assert.deepEqual(appointmentProblem('network_error', undefined, 'The server could not be reached.'), { field: null, text: 'The server could not be reached.' });
});

test('what a change did, and whether the customer was texted', () => {
  const a = { starts_at: '2026-12-04T17:00:00Z' };
  assert.equal(changeSummary('booked', a, true, true, 'Maria Lopez', TZ), 'Booked for Fri, Dec 4, 11:00 AM. Maria Lopez was texted a confirmation.');
  assert.equal(changeSummary('moved', a, true, true, '', TZ), 'Moved to Fri, Dec 4, 11:00 AM. The customer was texted the new time.');
  assert.equal(changeSummary('moved', a, false, false, 'Maria', TZ), 'Moved to Fri, Dec 4, 11:00 AM. Maria was not texted, as you chose.');
  assert.match(changeSummary('cancelled', a, false, true, 'Maria', TZ), /^Cancelled the appointment of Fri, Dec 4, 11:00 AM\. Maria could not be texted \(/);
  assert.equal(changeSummary('cancelled', a, true, true, 'Maria', TZ), 'Cancelled the appointment of Fri, Dec 4, 11:00 AM. Maria was texted that it is cancelled.');
});

test('the calendar file is named by its local date and time', () => {
  assert.equal(icsFileName({ starts_at: '2026-12-04T15:30:00Z' }, TZ), 'appointment-2026-12-04-0930.ics');
});

test('a typed number as the API will store it', () => {
  assert.equal(e164Guess('(512) 555-0142'), '+15125550142');
  assert.equal(e164Guess('1 512 555 0142'), '+15125550142');
  assert.equal(e164Guess('+44 20 7183 8750'), '+442071838750');
  assert.equal(e164Guess(' 555 '), '555');
});
