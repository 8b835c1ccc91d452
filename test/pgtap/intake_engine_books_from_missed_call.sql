-- intake_engine_books_from_missed_call.sql — the offline journey: a missed
-- call, the customer's reply, nobody answers in the human window, the built-in
-- assistant discloses itself, gathers name and address, offers open slots,
-- books the one picked and confirms from the appointment row; the
-- conversation closes and the lead is appointment_scheduled. And a customer it
-- cannot understand twice is handed to a human.
BEGIN;
SELECT plan(23);

CREATE TEMP TABLE b AS SELECT nmc_test.business_with_number('+15125550800') AS id;
CREATE FUNCTION pg_temp.say(n int, caller text, body text) RETURNS void LANGUAGE sql AS $$
    SELECT nmc_test.twilio_post('/webhooks/twilio/sms', jsonb_build_object('MessageSid', 'SM' || lpad(n::text, 32, '0'), 'From', caller,
                                'To', '+15125550800', 'Body', body)) IS NULL $$;
CREATE FUNCTION pg_temp.conv(caller text) RETURNS nmc.conversations LANGUAGE sql AS $$
    SELECT cv.* FROM nmc.conversations cv JOIN nmc.customers cu ON cu.id = cv.customer_id WHERE cu.phone = caller
     ORDER BY cv.created_at DESC LIMIT 1 $$;
CREATE FUNCTION pg_temp.last_ai(caller text) RETURNS text LANGUAGE sql AS $$
    SELECT m.body FROM nmc.messages m WHERE m.conversation_id = (pg_temp.conv(caller)).id AND m.author = 'ai'
     ORDER BY m.created_at DESC, m.id DESC LIMIT 1 $$;
CREATE FUNCTION pg_temp.window_expires(caller text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE t bigint := (pg_temp.conv(caller)).human_window_timer_id;
BEGIN
    UPDATE nmc.timers SET due_at = now() - interval '1 s' WHERE id = t;
    PERFORM nmc.timer_fire(t);
END $$;

SELECT nmc_test.twilio_post('/webhooks/twilio/voice/dial', jsonb_build_object('CallSid', 'CA' || lpad('801', 32, '0'), 'From', '+15125550801',
                            'To', '+15125550800', 'DialCallStatus', 'no-answer')) IS NULL;
SELECT pg_temp.say(801, '+15125550801', 'My water heater is leaking');
SELECT pg_temp.window_expires('+15125550801');
SELECT is((pg_temp.conv('+15125550801')).mode, 'ai', 'nobody answered in the window: the assistant takes over');
SELECT matches(pg_temp.last_ai('+15125550801'), '^Hi, this is Test Plumbing \+15125550800''s automated assistant\. Thanks! What''s your name\?$',
               'its first message says it is automated and asks for the name (the problem was already said)');
SELECT is((SELECT status FROM nmc.messages WHERE body = pg_temp.last_ai('+15125550801')), 'pending', '… and is really sent');

SELECT pg_temp.say(802, '+15125550801', 'my name is jane doe');
SELECT matches(pg_temp.last_ai('+15125550801'), '^Thanks, Jane Doe\. What''s the address', 'it asks for the address');
SELECT is((SELECT name FROM nmc.customers WHERE phone = '+15125550801'), 'Jane Doe', 'the name lands on the customer');
SELECT pg_temp.say(803, '+15125550801', 'somewhere downtown');
SELECT matches(pg_temp.last_ai('+15125550801'), 'house number', 'an answer that is not an address is asked again');
SELECT pg_temp.say(804, '+15125550801', '12 Elm St, Austin');
SELECT matches(pg_temp.last_ai('+15125550801'), '^Got it: 12 Elm St, Austin\. I can book you in at: 1\) .* 2\) .* 3\) .*\. Reply 1, 2 or 3 \(or the day and time\)\.$',
               'it confirms the address and offers three open slots');
SELECT is((SELECT l.status FROM nmc.leads l JOIN nmc.customers c ON c.id = l.customer_id WHERE c.phone = '+15125550801'), 'qualified',
          'with the details complete the lead is qualified');
SELECT pg_temp.say(805, '+15125550801', 'the second one');
SELECT is((SELECT count(*) FROM nmc.appointments a JOIN nmc.customers c ON c.id = a.customer_id WHERE c.phone = '+15125550801' AND a.status = 'booked'),
          1::bigint, 'the picked slot is booked');
SELECT is(pg_temp.last_ai('+15125550801'),
          (SELECT nmc.appointment_confirmation(a.id) FROM nmc.appointments a JOIN nmc.customers c ON c.id = a.customer_id WHERE c.phone = '+15125550801'),
          'the confirmation is the one written from the appointment row');
SELECT is((SELECT service_address FROM nmc.appointments a JOIN nmc.customers c ON c.id = a.customer_id WHERE c.phone = '+15125550801'),
          '12 Elm St, Austin', 'with the address it gathered');
SELECT is((pg_temp.conv('+15125550801')).state || ' / ' || (SELECT l.status FROM nmc.leads l JOIN nmc.customers c ON c.id = l.customer_id WHERE c.phone = '+15125550801'),
          'closed / appointment_scheduled', 'the conversation closes; the lead is appointment_scheduled');

-- Two replies it cannot understand: a human takes it from there.
SELECT pg_temp.say(811, '+15125550802', 'hello?');
SELECT pg_temp.window_expires('+15125550802');
SELECT pg_temp.say(812, '+15125550802', '???');
SELECT pg_temp.say(813, '+15125550802', '42');
SELECT is((pg_temp.conv('+15125550802')).mode, 'human', 'after two misunderstood replies the conversation goes to a human');
SELECT matches(pg_temp.last_ai('+15125550802'), 'someone from Test Plumbing', '… and the customer is told so');

-- A business that serves only some postal codes.
UPDATE nmc.businesses SET service_postal_codes = ARRAY['78701'] WHERE id = (SELECT id FROM b);
SELECT nmc_test.twilio_post('/webhooks/twilio/voice/dial', jsonb_build_object('CallSid', 'CA' || lpad('821', 32, '0'), 'From', '+15125550803',
                            'To', '+15125550800', 'DialCallStatus', 'busy')) IS NULL;
SELECT pg_temp.say(821, '+15125550803', 'Toilet is clogged');
SELECT pg_temp.window_expires('+15125550803');
SELECT pg_temp.say(822, '+15125550803', 'Sam Lee');
SELECT pg_temp.say(823, '+15125550803', '9 Oak Ave, Austin');
SELECT is(pg_temp.last_ai('+15125550803'), 'Got it: 9 Oak Ave, Austin. And the ZIP code?', 'with a postal-code service area and no ZIP in the address, it asks');
SELECT pg_temp.say(824, '+15125550803', '78745');
SELECT matches(pg_temp.last_ai('+15125550803'), 'doesn''t serve 78745', 'outside the area it declines politely');
SELECT is((SELECT l.status FROM nmc.leads l JOIN nmc.customers c ON c.id = l.customer_id WHERE c.phone = '+15125550803'), 'out_of_area',
          '… and marks the lead out of area');
SELECT pg_temp.say(831, '+15125550804', 'No hot water');
SELECT pg_temp.window_expires('+15125550804');
SELECT pg_temp.say(832, '+15125550804', 'Ana Ruiz');
SELECT pg_temp.say(833, '+15125550804', '1 Congress Ave, Austin TX 78701');
SELECT matches(pg_temp.last_ai('+15125550804'), '^Got it: 1 Congress Ave, Austin, TX 78701\. I can book you in at', 'inside the area (ZIP in the address) it offers slots');

-- Picking a slot by its day and time, among those offered (local time, Chicago).
CREATE TEMP TABLE offered AS SELECT jsonb_build_array(
    ((now() AT TIME ZONE 'America/Chicago')::date + 1 + time '09:00') AT TIME ZONE 'America/Chicago',
    ((now() AT TIME ZONE 'America/Chicago')::date + 1 + time '10:00') AT TIME ZONE 'America/Chicago',
    ((now() AT TIME ZONE 'America/Chicago')::date + 2 + time '09:00') AT TIME ZONE 'America/Chicago') AS o;
SELECT is(nmc.intake_slot_by_time('Tomorrow 9am works', (SELECT o FROM offered), 'America/Chicago'), 1, '"tomorrow 9am" picks that slot');
SELECT is(nmc.intake_slot_by_time('tomorrow at 10 please', (SELECT o FROM offered), 'America/Chicago'), 2, '"tomorrow at 10"');
SELECT is(nmc.intake_slot_by_time('the 10:00 one', (SELECT o FROM offered), 'America/Chicago'), 2, '"the 10:00 one"');
SELECT is(nmc.intake_slot_by_time(to_char((now() AT TIME ZONE 'America/Chicago')::date + 2, 'FMDay') || ' 9 AM', (SELECT o FROM offered), 'America/Chicago'), 3,
          'a weekday name and a time');
SELECT is(nmc.intake_slot_by_time('9am', (SELECT o FROM offered), 'America/Chicago'), NULL, 'a time offered on two days is not a choice');

SELECT * FROM finish();
ROLLBACK;
