// calendar.test.ts — day and week views group appointments by local date.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { groupByDay, localDate, localTime, shiftDate, tzOffsetMs, viewDates, zonedToUtc } from '../lib/calendar';
import type { Appointment } from '../lib/types';

const appt = (id: string, starts_at: string): Appointment => ({
  id, customer_id: 'c', lead_id: null, starts_at, ends_at: starts_at, status: 'booked', service_address: null, problem: null, booked_by: 'owner',
});

test('dates of a week and shifting across a month end', () => {
  assert.deepEqual(viewDates('2026-11-29', 7), ['2026-11-29', '2026-11-30', '2026-12-01', '2026-12-02', '2026-12-03', '2026-12-04', '2026-12-05']);
  assert.equal(shiftDate('2026-12-01', -1), '2026-11-30');
});

test('an evening appointment in Chicago belongs to its local day', () => {
  assert.equal(localDate('2026-11-26T02:00:00Z', 'America/Chicago'), '2026-11-25');
  const g = groupByDay([appt('late', '2026-11-26T02:00:00Z'), appt('early', '2026-11-25T15:00:00Z'), appt('out', '2026-12-09T15:00:00Z')],
    ['2026-11-25', '2026-11-26'], 'America/Chicago');
  assert.deepEqual(g['2026-11-25'].map((a) => a.id), ['early', 'late']);
  assert.deepEqual(g['2026-11-26'], []);
});

test('a wall-clock time in the business timezone is the right instant, across DST', () => {
  assert.equal(zonedToUtc('2026-12-04', '09:30', 'America/Chicago'), '2026-12-04T15:30:00.000Z');
  assert.equal(zonedToUtc('2026-07-04', '09:30', 'America/Chicago'), '2026-07-04T14:30:00.000Z');
  assert.equal(zonedToUtc('2026-12-04', '23:00', 'America/Los_Angeles'), '2026-12-05T07:00:00.000Z');
  assert.equal(zonedToUtc('2026-12-04', '09:30', 'UTC'), '2026-12-04T09:30:00.000Z');
  // 2:30 does not exist on 2026-03-08 in Chicago (2:00 → 3:00): read as 3:30 CDT.
  assert.equal(zonedToUtc('2026-03-08', '02:30', 'America/Chicago'), '2026-03-08T08:30:00.000Z');
  // 1:30 happens twice on 2026-11-01: the first (CDT).
  assert.equal(zonedToUtc('2026-11-01', '01:30', 'America/Chicago'), '2026-11-01T06:30:00.000Z');
  assert.equal(zonedToUtc('2026-03-08', '12:00', 'America/Chicago'), '2026-03-08T17:00:00.000Z');
  assert.equal(tzOffsetMs(Date.parse('2026-12-04T15:30:00Z'), 'America/Chicago'), -6 * 3600_000);
  assert.equal(localTime('2026-12-04T15:30:00Z', 'America/Chicago'), '09:30');
  assert.equal(localTime('2026-12-05T05:45:00Z', 'America/Chicago'), '23:45');
});

