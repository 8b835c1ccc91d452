-- intake_engine_understands_people.sql — the built-in assistant with real
-- wording: everything in the first reply is taken and confirmed, never asked
-- again; a time preference shapes the offer (fitting, spread out) and "none of
-- those" brings other times; a Spanish-speaking customer is answered in
-- Spanish from the disclosure to the confirmation; a photo and one
-- misunderstanding are no hand-off, asking for a person is. The OpenAI
-- assistant's prompt requires the customer's language too.
BEGIN;
SELECT plan(21);

CREATE TEMP TABLE b AS SELECT nmc_test.business_with_number('+15125550900', '+15125550199', false) AS id;
SELECT nmc.hours_replace((SELECT id FROM b), (SELECT jsonb_agg(jsonb_build_object('weekday', d, 'opens_at', '08:00', 'closes_at', '18:00'))
                                                FROM generate_series(0, 6) d));
UPDATE nmc.businesses SET human_window_seconds = 0, service_postal_codes = ARRAY['78702', '78722'] WHERE id = (SELECT id FROM b);
CREATE FUNCTION pg_temp.say(n int, caller text, body text) RETURNS void LANGUAGE sql AS $$
    SELECT nmc_test.twilio_post('/webhooks/twilio/sms', jsonb_build_object('MessageSid', 'SM' || lpad(n::text, 32, '0'), 'From', caller,
                                'To', '+15125550900', 'Body', body)) IS NULL $$;
CREATE FUNCTION pg_temp.photo(n int, caller text) RETURNS void LANGUAGE sql AS $$
    SELECT nmc_test.twilio_post('/webhooks/twilio/sms', jsonb_build_object('MessageSid', 'SM' || lpad(n::text, 32, '0'), 'From', caller,
                                'To', '+15125550900', 'Body', '', 'NumMedia', '1', 'MediaUrl0', 'https://api.twilio.com/x/Media/ME1',
                                'MediaContentType0', 'image/jpeg')) IS NULL $$;
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
CREATE FUNCTION pg_temp.offered(caller text) RETURNS timestamptz[] LANGUAGE sql AS $$
    SELECT array_agg(x::timestamptz ORDER BY x) FROM jsonb_array_elements_text((pg_temp.conv(caller)).intake -> 'offered_slots') x $$;

-- Everything in the first reply, with a preference.
SELECT pg_temp.say(901, '+15125550901', 'hi this is dave, kitchen sink leaking under the cabinet. 55 oak st 78702. any time after 3 works');
SELECT pg_temp.window_expires('+15125550901');
SELECT matches(pg_temp.last_ai('+15125550901'), 'Thanks, Dave\. Got it: 55 Oak St, 78702\. I can book you in at: 1\)',
               'name, address and ZIP taken from the first reply and confirmed; slots offered at once');
SELECT is((pg_temp.conv('+15125550901')).intake ->> 'problem', 'kitchen sink leaking under the cabinet', 'the problem is what was described');
SELECT is((SELECT count(*) FROM nmc.messages m WHERE m.conversation_id = (pg_temp.conv('+15125550901')).id AND m.author = 'ai'
              AND m.body ~ 'your name|address for the job|ZIP code'), 0::bigint, 'nothing given is asked again');
SELECT ok((SELECT bool_and((x AT TIME ZONE 'America/Chicago')::time >= '15:00') FROM unnest(pg_temp.offered('+15125550901')) x),
          'every slot offered is after 3 PM');
SELECT ok((SELECT bool_and(abs(extract(epoch FROM y - x)) >= 3600) FROM unnest(pg_temp.offered('+15125550901')) WITH ORDINALITY a(x, i),
                  unnest(pg_temp.offered('+15125550901')) WITH ORDINALITY c(y, j) WHERE i < j),
          'the slots are spread out: no two within an hour');
CREATE TEMP TABLE first_offer AS SELECT pg_temp.offered('+15125550901') AS o;
SELECT pg_temp.say(902, '+15125550901', 'none of those work for me');
SELECT matches(pg_temp.last_ai('+15125550901'), '^Other times I can do: 1\)', '"none of those": other times');
SELECT ok(NOT (pg_temp.offered('+15125550901') && (SELECT o FROM first_offer)), '… none of them offered before');
SELECT pg_temp.say(903, '+15125550901', 'the second one');
SELECT is((SELECT lower(a.during) FROM nmc.appointments a JOIN nmc.customers c ON c.id = a.customer_id WHERE c.phone = '+15125550901'),
          (pg_temp.offered('+15125550901'))[2], 'the second of the new times is booked');

-- Spanish from the first words to the confirmation.
SELECT pg_temp.say(911, '+15125550902', 'Hola, me llamo maría lópez. Tengo una fuga debajo del fregadero');
SELECT pg_temp.window_expires('+15125550902');
SELECT is(pg_temp.last_ai('+15125550902'), 'Hola, soy el asistente automático de Test Plumbing +15125550900. Gracias, María López. ¿Cuál es la dirección del trabajo (calle y número)?',
          'the disclosure and the question in Spanish; the name capitalised');
SELECT pg_temp.say(912, '+15125550902', 'vivo en 1802 alamo st 78722');
SELECT matches(pg_temp.last_ai('+15125550902'), '^Anotado: 1802 Alamo St, 78722\. Puedo agendarle: 1\) \S+ \d+ \S+ a las? \d', 'slots in Spanish');
SELECT pg_temp.say(913, '+15125550902', 'la primera');
SELECT matches(pg_temp.last_ai('+15125550902'), '^Listo, tiene cita con Test Plumbing \+15125550900 el \S+ \d+ de \S+ a las? ', 'the confirmation in Spanish');
SELECT is(pg_temp.last_ai('+15125550902'),
          (SELECT nmc.appointment_confirmation(a.id, 'es') FROM nmc.appointments a JOIN nmc.customers c ON c.id = a.customer_id WHERE c.phone = '+15125550902'),
          '… written from the appointment row');

-- A photo, then one reply it cannot read: neither hands off; two in a row do.
SELECT pg_temp.say(921, '+15125550903', 'toilet clogged');
SELECT pg_temp.window_expires('+15125550903');
SELECT pg_temp.photo(922, '+15125550903');
SELECT matches(pg_temp.last_ai('+15125550903'), '^Thanks for the photo, that helps\. What''s your name\?$', 'a photo is thanked for, the question asked again');
SELECT is((pg_temp.conv('+15125550903')).intake ->> 'photos', '1', '… and counted on the intake');
SELECT pg_temp.say(923, '+15125550903', '???');
SELECT is((pg_temp.conv('+15125550903')).mode, 'ai', 'one misunderstanding: still the assistant');
SELECT pg_temp.say(924, '+15125550903', 'Sam Lee');
SELECT matches(pg_temp.last_ai('+15125550903'), '^Thanks, Sam Lee\.', 'understood again: the count starts over');
SELECT pg_temp.say(925, '+15125550903', '!!!');
SELECT pg_temp.say(926, '+15125550903', '...');
SELECT is((pg_temp.conv('+15125550903')).mode, 'human', 'two misunderstandings in a row: a person takes over');

-- Asking for a person.
SELECT pg_temp.say(931, '+15125550904', 'water heater leaking, can I talk to a real person?');
SELECT pg_temp.window_expires('+15125550904');
SELECT is((pg_temp.conv('+15125550904')).mode, 'human', 'asked for a person: handed over at once');
SELECT matches(pg_temp.last_ai('+15125550904'), 'someone from Test Plumbing', '… and told so');

-- A wrong number is closed politely.
SELECT pg_temp.say(941, '+15125550905', 'wrong number sorry');
SELECT pg_temp.window_expires('+15125550905');
SELECT is((pg_temp.conv('+15125550905')).state, 'closed', 'a wrong number: the conversation closes');

-- The OpenAI assistant is told the same about language.
SELECT matches(nmc.ai_system_prompt((SELECT bz FROM nmc.businesses bz WHERE bz.id = (SELECT id FROM b)), pg_temp.conv('+15125550902')),
               'Always answer in the language the customer writes in', 'the OpenAI assistant''s prompt requires the customer''s language');

SELECT * FROM finish();
ROLLBACK;
