// calendar.test.ts — day and week views group appointments by local date.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { groupByDay, localDate, shiftDate, viewDates } from '../lib/calendar';
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
