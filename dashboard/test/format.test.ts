// format.test.ts — how phone numbers, times, statuses and postal codes read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { authorLabel, deliveryLabel, formatPhone, parsePostalCodes, timeAgo } from '../lib/format';

test('US numbers read as (512) 555-0142; others stay E.164', () => {
  assert.equal(formatPhone('+15125550142'), '(512) 555-0142');
  assert.equal(formatPhone('+442071838750'), '+442071838750');
  assert.equal(formatPhone(null), '');
});

test('relative times', () => {
  const now = Date.parse('2026-11-25T12:00:00Z');
  assert.equal(timeAgo('2026-11-25T11:59:30Z', now), 'just now');
  assert.equal(timeAgo('2026-11-25T11:50:00Z', now), '10 min ago');
  assert.equal(timeAgo('2026-11-25T09:00:00Z', now), '3 h ago');
  assert.equal(timeAgo('2026-11-23T12:00:00Z', now), '2 d ago');
});

test('authors and delivery states in words, unknown codes passed through', () => {
  assert.equal(authorLabel('ai'), 'Assistant');
  assert.equal(authorLabel('system'), 'Automatic text');
  assert.equal(deliveryLabel('dropped'), 'Not sent');
  assert.equal(deliveryLabel('something_new'), 'something_new');
});

test('postal codes: any separator, no duplicates, no blanks', () => {
  assert.deepEqual(parsePostalCodes(' 78701, 78702\n78703;78701 ,'), ['78701', '78702', '78703']);
  assert.deepEqual(parsePostalCodes(''), []);
});
