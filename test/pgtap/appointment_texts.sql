-- appointment_texts.sql — scheduling an owner can run the day on: a booking by
-- hand is texted to the customer in their conversation; reminders are set for
-- the evening before (18:00) and hours before on the day (business time),
-- follow a move and go with a cancellation; a reminder for a time the
-- appointment no longer has is not sent; a move never double-books; the
-- owner can keep a change to themselves (notify_customer false); a customer
-- who replied STOP is not texted; an appointment downloads as iCalendar.
BEGIN;
SELECT plan(31);

CREATE TEMP TABLE r AS SELECT nmc_test.register('schedule@example.com', 'Day Planner Plumbing') AS body;
CREATE TEMP TABLE b AS SELECT (body #>> '{business,id}')::uuid AS id, body ->> 'token' AS token FROM r;
UPDATE nmc.businesses SET timezone = 'America/Chicago' WHERE id = (SELECT id FROM b);
INSERT INTO nmc.phone_numbers (business_id, phone) SELECT id, '+15125550330' FROM b;
SELECT nmc.hours_replace((SELECT id FROM b), (SELECT jsonb_agg(jsonb_build_object('weekday', d, 'opens_at', '06:00', 'closes_at', '20:00'))
                                               FROM generate_series(0, 6) d));
CREATE FUNCTION pg_temp.api(method text, path text, body jsonb DEFAULT NULL) RETURNS TABLE (status int, body jsonb) LANGUAGE sql AS $$
    SELECT a.status, a.body FROM nmc_test.api(method, path, body, (SELECT token FROM b)) a $$;
-- A local time N days from today, in the business's zone.
CREATE FUNCTION pg_temp.local(days int, hhmm text) RETURNS timestamptz LANGUAGE sql AS $$
    SELECT (((now() AT TIME ZONE 'America/Chicago')::date + days) + hhmm::time) AT TIME ZONE 'America/Chicago' $$;
CREATE FUNCTION pg_temp.texts_to(phone text) RETURNS SETOF text LANGUAGE sql AS $$
    SELECT body FROM nmc.messages WHERE to_phone = phone AND business_id = (SELECT id FROM b) ORDER BY created_at, id $$;
CREATE FUNCTION pg_temp.reminders(appt uuid) RETURNS SETOF timestamptz LANGUAGE sql AS $$
    SELECT due_at FROM nmc.timers WHERE subject_id = appt AND kind = 'appointment.reminder' AND fired_at IS NULL AND cancelled_at IS NULL ORDER BY due_at $$;

-- The owner books by hand: the customer is told, and reminded later.
CREATE TEMP TABLE booked AS SELECT status, body FROM pg_temp.api('POST', '/api/appointments', jsonb_build_object(
    'customer_phone', '+15125550431', 'starts_at', pg_temp.local(3, '10:00'), 'service_address', '55 Oak St', 'problem', 'Leaking water heater'));
CREATE TEMP TABLE appt AS SELECT (body #>> '{appointment,id}')::uuid AS id FROM booked;
SELECT is((SELECT status || ' ' || (body ->> 'customer_texted') FROM booked), '201 true', 'a booking by hand: 201, the customer texted');
SELECT matches((SELECT string_agg(t, '|') FROM pg_temp.texts_to('+15125550431') t), '^You''re booked with Day Planner Plumbing on \w+, \w+ \d+ at 10:00 AM at 55 Oak St\.',
               '… the confirmation, in the business''s time');
SELECT is((SELECT count(*) FROM nmc.messages m JOIN nmc.conversations c ON c.id = m.conversation_id
            WHERE m.to_phone = '+15125550431' AND c.state = 'open'), 1::bigint, '… in the customer''s conversation (their reply threads into it)');
SELECT is(ARRAY(SELECT pg_temp.reminders((SELECT id FROM appt))), ARRAY[pg_temp.local(2, '18:00'), pg_temp.local(3, '08:00')],
          'two reminders: 18:00 the evening before, two hours before on the day');

-- Moved: the reminders follow, the customer is told.
CREATE TEMP TABLE moved AS SELECT status, body FROM pg_temp.api('PATCH', '/api/appointments/' || (SELECT id FROM appt),
    jsonb_build_object('starts_at', pg_temp.local(4, '07:30')));
SELECT is((SELECT status || ' ' || (body #>> '{appointment,ends_at}')::timestamptz::text FROM moved), '200 ' || pg_temp.local(4, '08:30')::text,
          'PATCH moves it, keeping its length');
SELECT is(ARRAY(SELECT pg_temp.reminders((SELECT id FROM appt))), ARRAY[pg_temp.local(3, '18:00'), pg_temp.local(4, '07:00')],
          'the reminders follow it; the one on the day not before 07:00');
SELECT matches((SELECT t FROM pg_temp.texts_to('+15125550431') t OFFSET 1 LIMIT 1),
               '^Day Planner Plumbing moved your appointment to \w+, \w+ \d+ at 7:30 AM\. Reply here', '… and the customer is told the new time');
SELECT is((SELECT status || ' ' || (body #>> '{error,code}') FROM pg_temp.api('PATCH', '/api/appointments/' || (SELECT id FROM appt),
              jsonb_build_object('starts_at', pg_temp.local(4, '21:00')))), '400 outside_business_hours', 'not outside business hours');
SELECT is((SELECT status FROM pg_temp.api('POST', '/api/appointments', jsonb_build_object(
              'customer_phone', '+15125550432', 'starts_at', pg_temp.local(5, '09:00'), 'notify_customer', false))), 201, 'another booking, kept from the customer');
SELECT is((SELECT count(*) FROM pg_temp.texts_to('+15125550432')), 0::bigint, '… who gets no text');
SELECT is((SELECT status || ' ' || (body #>> '{error,code}') FROM pg_temp.api('PATCH', '/api/appointments/' || (SELECT id FROM appt),
              jsonb_build_object('starts_at', pg_temp.local(5, '09:30')))), '409 slot_taken', 'a move onto another appointment: 409 slot_taken');
SELECT is(ARRAY(SELECT pg_temp.reminders((SELECT id FROM appt))), ARRAY[pg_temp.local(3, '18:00'), pg_temp.local(4, '07:00')],
          '… and the reminders stay as they were');

-- The reminder fires.
UPDATE nmc.timers SET due_at = now() WHERE subject_id = (SELECT id FROM appt) AND kind = 'appointment.reminder' AND cancelled_at IS NULL
   AND due_at = pg_temp.local(3, '18:00');
SELECT ok(nmc.timer_fire((SELECT id FROM nmc.timers WHERE subject_id = (SELECT id FROM appt) AND kind = 'appointment.reminder'
                            AND cancelled_at IS NULL AND due_at <= now())), 'the reminder fires');
SELECT matches((SELECT t FROM pg_temp.texts_to('+15125550431') t OFFSET 2 LIMIT 1),
               '^Reminder: Day Planner Plumbing is coming on \w+, \w+ \d+ at 7:30 AM \(55 Oak St\)\. Reply here if anything changes\.$',
               '… the customer is reminded, with the address');
-- One set for a time the appointment no longer has says nothing.
INSERT INTO nmc.timers (business_id, kind, subject_id, due_at, payload)
SELECT (SELECT id FROM b), 'appointment.reminder', (SELECT id FROM appt), now(), jsonb_build_object('starts_at', pg_temp.local(3, '10:00'), 'which', 'same_day');
SELECT ok(nmc.timer_fire((SELECT max(id) FROM nmc.timers WHERE subject_id = (SELECT id FROM appt))), 'a reminder for the old time fires');
SELECT is((SELECT count(*) FROM pg_temp.texts_to('+15125550431')), 3::bigint, '… and sends nothing');

-- iCalendar.
CREATE TEMP TABLE ics AS SELECT h.* FROM nmc_api.handle('GET', '/api/appointments/' || (SELECT id FROM appt) || '/ics', '{}',
    jsonb_build_object('authorization', 'Bearer ' || (SELECT token FROM b)), '192.0.2.10', NULL) h;
SELECT is((SELECT status || ' ' || content_type FROM ics), '200 text/calendar; charset=utf-8', 'GET …/ics: text/calendar');
SELECT matches((SELECT body FROM ics), E'^BEGIN:VCALENDAR\r\nVERSION:2\\.0\r\n.*BEGIN:VEVENT\r\nUID:[0-9a-f-]+@nevermisscall\r\n', '… a calendar with one event');
SELECT matches((SELECT body FROM ics), E'\r\nDTSTART:' || to_char(pg_temp.local(4, '07:30') AT TIME ZONE 'UTC', 'YYYYMMDD"T"HH24MISS"Z"') || E'\r\n',
               '… starting at the appointment''s time, in UTC');
SELECT matches((SELECT body FROM ics), E'\r\nLOCATION:55 Oak St\r\n', '… with the address');
SELECT is((SELECT count(*) FROM ics, regexp_split_to_table(body, E'\r\n') l WHERE octet_length(l) > 75), 0::bigint, '… lines at most 75 octets');

-- Free times of a chosen day, as the dashboard asks for them.
CREATE FUNCTION pg_temp.free(q text) RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(to_char((x ->> 'starts_at')::timestamptz AT TIME ZONE 'America/Chicago', 'HH24:MI'), ' ' ORDER BY x ->> 'starts_at')
      FROM pg_temp.api('GET', '/api/appointments/open-slots?' || q) a, jsonb_array_elements(a.body -> 'slots') x $$;
SELECT matches(pg_temp.free('date=' || (pg_temp.local(5, '00:00') AT TIME ZONE 'America/Chicago')::date || '&minutes=60'),
               '^06:00 06:30 07:00 07:30 08:00 10:00 10:30 .* 19:00$', 'open slots of a day: every free start, not over the 09:00 booking');
SELECT matches(pg_temp.free('date=' || (pg_temp.local(4, '00:00') AT TIME ZONE 'America/Chicago')::date || '&minutes=60'),
               '^06:00 06:30 08:30 ', '… 07:30 is taken on the day of the moved appointment');
SELECT matches(pg_temp.free('date=' || (pg_temp.local(4, '00:00') AT TIME ZONE 'America/Chicago')::date || '&minutes=60&exclude=' || (SELECT id FROM appt)),
               '^06:00 06:30 07:00 07:30 08:00 ', '… but free to that appointment itself (exclude)');
SELECT is((SELECT status || ' ' || (body #>> '{error,field}') FROM pg_temp.api('GET', '/api/appointments/open-slots?date=2026-02-30')), '400 date',
          'a day that does not exist: 400');

-- Cancelled: the reminders go, the customer is told.
SELECT is((SELECT status || ' ' || (body ->> 'customer_texted') FROM pg_temp.api('POST', '/api/appointments/' || (SELECT id FROM appt) || '/cancel',
              '{"reason": "customer fixed it"}')), '200 true', 'cancelled, the customer texted');
SELECT matches((SELECT t FROM pg_temp.texts_to('+15125550431') t OFFSET 3 LIMIT 1), '^Day Planner Plumbing cancelled your appointment on ',
               '… that it is cancelled');
SELECT is((SELECT count(*) FROM pg_temp.reminders((SELECT id FROM appt))), 0::bigint, '… and no reminder is left');

-- Settings, and a customer who replied STOP.
SELECT is((SELECT status FROM pg_temp.api('PATCH', '/api/business', '{"reminder_hours_before": 0}')), 200, 'no reminder on the day, in the settings');
UPDATE nmc.customers SET opted_out_at = now() WHERE phone = '+15125550431' AND business_id = (SELECT id FROM b);
CREATE TEMP TABLE third AS SELECT status, body FROM pg_temp.api('POST', '/api/appointments', jsonb_build_object(
    'customer_phone', '+15125550431', 'starts_at', pg_temp.local(6, '11:00')));
SELECT is((SELECT status || ' ' || (body ->> 'customer_texted') FROM third), '201 false', 'a customer who replied STOP is booked, not texted');
SELECT is(ARRAY(SELECT pg_temp.reminders((SELECT (body #>> '{appointment,id}')::uuid FROM third))), ARRAY[pg_temp.local(5, '18:00')],
          '… one reminder set (the evening before; the firing texts nobody who opted out)');

SELECT * FROM finish();
ROLLBACK;
