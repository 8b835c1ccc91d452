-- appointments_no_double_booking.sql — booking inside business hours only,
-- overlapping appointments refused by the exclusion constraint (whoever
-- inserts), open slots that respect hours, closures and bookings, the
-- confirmation written from the row, cancellation freeing the slot, and the
-- lead moving to appointment_scheduled.
BEGIN;
SELECT plan(19);

CREATE TEMP TABLE b AS SELECT nmc_test.business_with_number('+15125550600', '+15125550699', false, 'America/Chicago') AS id;
SELECT nmc.hours_replace((SELECT id FROM b), '[{"weekday":2,"opens_at":"08:00","closes_at":"12:00"},{"weekday":3,"opens_at":"08:00","closes_at":"12:00"}]');
INSERT INTO nmc.business_closures (business_id, closed_on) SELECT id, '2026-12-02' FROM b;   -- a Wednesday
SELECT nmc_test.twilio_post('/webhooks/twilio/voice/dial', jsonb_build_object('CallSid', 'CA' || lpad('601', 32, '0'), 'From', '+15125550601',
                            'To', '+15125550600', 'DialCallStatus', 'no-answer')) IS NULL;
CREATE TEMP TABLE c AS SELECT id FROM nmc.customers WHERE phone = '+15125550601';

-- Tuesday 2026-12-01 08:00 Chicago = 14:00 UTC.
SELECT is((SELECT array_agg(to_char(starts_at AT TIME ZONE 'America/Chicago', 'Dy HH24:MI') ORDER BY starts_at)
             FROM nmc.open_slots((SELECT id FROM b), '2026-12-01 13:00+00', 3)),
          ARRAY['Tue 08:00', 'Tue 08:30', 'Tue 09:00'], 'open slots start at opening time, every half hour');
CREATE TEMP TABLE a1 AS SELECT * FROM nmc.appointment_book((SELECT id FROM b), (SELECT id FROM c), '2026-12-01 14:00+00', 'ai', '12 Elm St', 'leaking heater');
SELECT is((SELECT upper(during) - lower(during) FROM a1), interval '60 minutes', 'a booking takes the business''s job length');
SELECT throws_ok($$ SELECT nmc.appointment_book((SELECT id FROM b), (SELECT id FROM c), '2026-12-01 14:30+00', 'owner') $$,
                 'NM409', 'another appointment is booked at that time, or too close to it', 'an overlapping booking is refused: slot_taken');
SELECT throws_ok($$ INSERT INTO nmc.appointments (business_id, customer_id, during, booked_by)
                    SELECT id, (SELECT id FROM c), tstzrange('2026-12-01 14:15+00', '2026-12-01 14:45+00', '[)'), 'owner' FROM b $$,
                 '23P01', NULL, 'even a direct insert cannot double-book (exclusion constraint)');
SELECT is((SELECT array_agg(to_char(starts_at AT TIME ZONE 'America/Chicago', 'HH24:MI') ORDER BY starts_at)
             FROM nmc.open_slots((SELECT id FROM b), '2026-12-01 13:00+00', 2)),
          ARRAY['09:00', '09:30'], 'open slots skip the booked hour');
SELECT is((SELECT to_char(min(starts_at) AT TIME ZONE 'America/Chicago', 'Dy DD')
             FROM nmc.open_slots((SELECT id FROM b), '2026-12-01 18:00+00', 1)), 'Tue 08', 'after Tuesday''s hours, the closed Wednesday is skipped');
SELECT throws_ok($$ SELECT nmc.appointment_book((SELECT id FROM b), (SELECT id FROM c), '2026-12-01 17:30+00', 'owner') $$,
                 'NM400', NULL, 'a booking running past closing time is refused');
-- A buffer of 30 minutes after each job (travel): kept by the constraint, and by the free times offered.
UPDATE nmc.businesses SET appointment_buffer_minutes = 30 WHERE id = (SELECT id FROM b);
CREATE TEMP TABLE a2 AS SELECT * FROM nmc.appointment_book((SELECT id FROM b), (SELECT id FROM c), '2026-12-01 16:00+00', 'owner');
SELECT is((SELECT blocks FROM a2), tstzrange('2026-12-01 16:00+00', '2026-12-01 17:30+00', '[)'), 'a job at 10:00 holds until 11:30 with its buffer');
SELECT throws_ok($$ SELECT nmc.appointment_book((SELECT id FROM b), (SELECT id FROM c), '2026-12-01 17:00+00', 'owner') $$,
                 'NM409', 'another appointment is booked at that time, or too close to it', 'a job starting within the buffer after another is refused');
SELECT throws_ok($$ SELECT nmc.appointment_book((SELECT id FROM b), (SELECT id FROM c), '2026-12-01 15:00+00', 'owner') $$,
                 'NM409', NULL, 'a job whose own buffer would run into the next is refused');
SELECT is((SELECT to_char(min(starts_at) AT TIME ZONE 'America/Chicago', 'Mon DD HH24:MI') FROM nmc.open_slots((SELECT id FROM b), '2026-12-01 15:00+00', 1)),
          'Dec 08 08:00', 'no free time is offered inside a buffer: the next is the next open morning');
SELECT is((nmc.appointment_move((SELECT id FROM a2), '2026-12-01 16:30+00')).blocks, tstzrange('2026-12-01 16:30+00', '2026-12-01 18:00+00', '[)'),
          'moved, a job takes its buffer along');
SELECT is(nmc.appointment_confirmation((SELECT id FROM a1)),
          'You''re booked with Test Plumbing +15125550600 on Tuesday, December 1 at 8:00 AM at 12 Elm St. Reply here if anything changes.',
          'the confirmation is written from the appointment row, in local time');
SELECT is((SELECT l.status FROM nmc.leads l WHERE l.customer_id = (SELECT id FROM c)), 'appointment_scheduled', 'the lead moves to appointment_scheduled');
SELECT nmc_test.events_numbered();
SELECT ok((SELECT count(*) >= 1 FROM nmc.events WHERE business_id = (SELECT id FROM b) AND type = 'appointment.created'), 'appointment.created is emitted');
SELECT is((nmc.appointment_cancel((SELECT id FROM a1), 'customer called')).status, 'cancelled', 'cancelling');
SELECT is(nmc.appointment_confirmation((SELECT id FROM a1)), NULL, 'a cancelled appointment confirms nothing');
SELECT is((SELECT to_char(min(starts_at) AT TIME ZONE 'America/Chicago', 'HH24:MI') FROM nmc.open_slots((SELECT id FROM b), '2026-12-01 13:00+00', 1)),
          '08:00', 'the cancelled time is free again');
SELECT nmc_test.events_numbered();
SELECT ok((SELECT count(*) >= 1 FROM nmc.events WHERE business_id = (SELECT id FROM b) AND type = 'appointment.cancelled'), 'appointment.cancelled is emitted');

SELECT * FROM finish();
ROLLBACK;
