// countdown.test.ts — the human window countdown: rounding, expiry, urgency, ticks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countdown, formatSeconds, msUntilNextTick, remainingMs } from '../lib/countdown';

const deadline = '2026-11-25T12:01:00.000Z';
const at = (iso: string) => Date.parse(iso);

test('formats minutes and zero-padded seconds', () => {
  assert.equal(formatSeconds(0), '0:00');
  assert.equal(formatSeconds(59), '0:59');
  assert.equal(formatSeconds(60), '1:00');
  assert.equal(formatSeconds(125.9), '2:05');
  assert.equal(formatSeconds(-3), '0:00');
});

test('rounds up so the last second stays on screen until the deadline', () => {
  const v = countdown(deadline, at('2026-11-25T12:00:59.100Z'))!;
  assert.equal(v.seconds, 1);
  assert.equal(v.label, '0:01');
  assert.equal(v.expired, false);
});

test('a full minute shows 1:00 and is not urgent; the last 15 s are', () => {
  assert.deepEqual(countdown(deadline, at('2026-11-25T12:00:00.000Z')), { seconds: 60, label: '1:00', expired: false, urgent: false });
  assert.equal(countdown(deadline, at('2026-11-25T12:00:45.000Z'))!.urgent, true);
  assert.equal(countdown(deadline, at('2026-11-25T12:00:44.000Z'))!.urgent, false);
});

test('past the deadline it is expired at zero, never negative', () => {
  const v = countdown(deadline, at('2026-11-25T12:05:00.000Z'))!;
  assert.equal(v.seconds, 0);
  assert.equal(v.expired, true);
  assert.equal(remainingMs(deadline, at('2026-11-25T12:05:00.000Z')), 0);
});

test('no deadline or a bad one: no countdown', () => {
  assert.equal(countdown(null, 0), null);
  assert.equal(countdown('not a date', 0), null);
});

test('ticks when the label changes, not on a fixed second grid', () => {
  assert.equal(msUntilNextTick(deadline, at('2026-11-25T12:00:30.250Z')), 750);
  assert.equal(msUntilNextTick(deadline, at('2026-11-25T12:00:30.000Z')), 1000);
  assert.equal(msUntilNextTick(deadline, at('2026-11-25T12:02:00.000Z')), null);
});
