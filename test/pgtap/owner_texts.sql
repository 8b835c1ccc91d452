-- owner_texts.sql — the owner answers by text from their phone: a reply to an
-- alert goes to that customer as the owner's and takes the conversation over;
-- "#N" picks another; an untagged text right after a second customer's alert
-- is held and the owner asked which; AI hands back (the assistant answers at
-- once when the customer is waiting, and an assistant text queued before the
-- owner's is never sent after it); NUMBER, HELP; STOP from the owner's phone
-- stops our texts to it (shown in the settings), START resumes; a 21610 on an
-- alert stops the owner's phone, not the customer's; calls from the owner's
-- phones are never missed customers; Twilio's retries change nothing.
BEGIN;
SELECT plan(54);

SELECT nmc.configure('{"openai_api_key": ""}');
CREATE TEMP TABLE r AS SELECT nmc_test.register('owner-texts@example.com', 'Reply Plumbing') AS body;
CREATE TEMP TABLE b AS SELECT (body #>> '{business,id}')::uuid AS id, body ->> 'token' AS token FROM r;
UPDATE nmc.businesses SET forward_to_phone = '+15125550199', human_window_seconds = 60, timezone = 'America/Chicago',
       alert_phone = '+15125550188', alert_phone_verified_at = now() WHERE id = (SELECT id FROM b);
INSERT INTO nmc.phone_numbers (business_id, phone) SELECT id, '+15125550300' FROM b;
SELECT nmc.hours_replace((SELECT id FROM b), (SELECT jsonb_agg(jsonb_build_object('weekday', d, 'opens_at', '00:00', 'closes_at', '24:00'))
                                               FROM generate_series(0, 6) d));

CREATE FUNCTION pg_temp.api(method text, path text, body jsonb DEFAULT NULL) RETURNS TABLE (status int, body jsonb) LANGUAGE sql AS $$
    SELECT a.status, a.body FROM nmc_test.api(method, path, body, (SELECT token FROM b)) a $$;
CREATE FUNCTION pg_temp.text_in(n int, caller text, words text) RETURNS int LANGUAGE sql AS $$
    SELECT status FROM nmc_test.twilio_post('/webhooks/twilio/sms', jsonb_build_object('MessageSid', 'SM' || lpad(n::text, 32, '0'),
                                            'From', caller, 'To', '+15125550300', 'Body', words)) $$;
-- The owner texts from the alert phone; returns what was done with it.
CREATE FUNCTION pg_temp.owner_says(n int, words text, phone text DEFAULT '+15125550188') RETURNS text LANGUAGE sql AS $$
    SELECT pg_temp.text_in(n, phone, words);
    SELECT outcome FROM nmc.owner_texts WHERE twilio_sid = 'SM' || lpad(n::text, 32, '0') $$;
-- The latest text to the owner's alert phone.
CREATE FUNCTION pg_temp.last_to_owner(phone text DEFAULT '+15125550188') RETURNS text LANGUAGE sql AS $$
    SELECT body FROM nmc.messages WHERE business_id = (SELECT id FROM b) AND to_phone = phone AND conversation_id IS NULL
     ORDER BY created_at DESC, id DESC LIMIT 1 $$;
CREATE FUNCTION pg_temp.to_owner(phone text DEFAULT '+15125550188') RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM nmc.messages WHERE business_id = (SELECT id FROM b) AND to_phone = phone AND conversation_id IS NULL $$;
CREATE FUNCTION pg_temp.conv(caller text) RETURNS nmc.conversations LANGUAGE sql AS $$
    SELECT cv.* FROM nmc.conversations cv JOIN nmc.customers c ON c.id = cv.customer_id
     WHERE c.phone = caller AND c.business_id = (SELECT id FROM b) ORDER BY cv.created_at DESC LIMIT 1 $$;
CREATE FUNCTION pg_temp.owner_texts_to(caller text) RETURNS SETOF text LANGUAGE sql AS $$
    SELECT m.body FROM nmc.messages m JOIN nmc.customers c ON c.id = m.customer_id
     WHERE c.phone = caller AND m.to_phone = caller AND m.author = 'owner' ORDER BY m.created_at, m.id $$;
-- Alerts so far happened minutes ago (the owner has read them).
CREATE FUNCTION pg_temp.age_alerts() RETURNS void LANGUAGE sql AS $$
    UPDATE nmc.owner_alerts SET created_at = created_at - interval '5 minutes' WHERE business_id = (SELECT id FROM b) $$;

-- One customer writes; the owner, alerted, answers by text.
SELECT is(pg_temp.text_in(1, '+15125550401', 'Water under the sink, can you come?'), 200, 'a customer writes');
SELECT matches(pg_temp.last_to_owner(), '^#1 \+15125550401: "Water under the sink', 'the owner is alerted, the alert numbered #1');
SELECT is(pg_temp.owner_says(2, 'On my way, 20 minutes'), 'relayed', 'the owner''s reply (no #) goes to that customer');
SELECT is(ARRAY(SELECT pg_temp.owner_texts_to('+15125550401')), ARRAY['On my way, 20 minutes'], '… as the owner''s text, to the customer''s phone');
SELECT is((SELECT from_phone FROM nmc.messages WHERE to_phone = '+15125550401' AND author = 'owner'), '+15125550300', '… from the business number');
SELECT is((SELECT (cv.mode, cv.taken_over_at IS NOT NULL)::text FROM pg_temp.conv('+15125550401') cv), '(human,t)',
          'it counts as taking over: mode human, the assistant silent');
SELECT is((SELECT count(*) FROM nmc.customers WHERE business_id = (SELECT id FROM b) AND phone = '+15125550188'), 0::bigint,
          'the owner''s phone is no customer');
SELECT is(pg_temp.to_owner(), 1::bigint, 'a reply that went through is not confirmed (only the alert was texted)');
SELECT is(pg_temp.text_in(2, '+15125550188', 'On my way, 20 minutes'), 200, 'Twilio delivers the owner''s text again');
SELECT is(ARRAY(SELECT pg_temp.owner_texts_to('+15125550401')), ARRAY['On my way, 20 minutes'], '… nothing is sent twice');

-- A second customer is alerted just before an untagged text: held, and the owner asked.
SELECT is(pg_temp.text_in(3, '+15125550402', 'Furnace is out, freezing here'), 200, 'a second customer writes');
SELECT matches(pg_temp.last_to_owner(), '^#2 \+15125550402: "Furnace', 'the second alert is #2');
SELECT is(pg_temp.owner_says(4, 'ok see you soon'), 'which_customer', 'an untagged text right after another customer''s alert is not sent');
SELECT is(pg_temp.last_to_owner(), 'NeverMissCall: not sent, which customer? Start with their number: #2 +15125550402, #1 +15125550401.',
          '… the owner is asked which, latest first');
SELECT is((SELECT count(*) FROM nmc.messages WHERE author = 'owner' AND body = 'ok see you soon'), 0::bigint, '… and nobody got it');
SELECT is(pg_temp.owner_says(5, '#2 Be there at 3'), 'relayed', '"#2 …" reaches the second customer');
SELECT is(ARRAY(SELECT pg_temp.owner_texts_to('+15125550402')), ARRAY['Be there at 3'], '… without the #2');
SELECT is(pg_temp.owner_says(6, '#7 hello?'), 'no_customer', 'a # no alert carries: nothing sent');
SELECT matches(pg_temp.last_to_owner(), '^NeverMissCall: no customer is #7 now, nothing was sent\. Now: #2 ', '… and the owner is told who is');
SELECT is(pg_temp.owner_says(61, '#100000000000 hi'), 'no_customer', 'a # with too many digits is no customer either (never cut to another)');

-- Minutes later an untagged text goes to the latest alert's customer.
SELECT pg_temp.age_alerts();
SELECT is(pg_temp.owner_says(7, 'Running 10 min late'), 'relayed', 'once the alerts are minutes old, an untagged text is sent');
SELECT is(ARRAY(SELECT pg_temp.owner_texts_to('+15125550402')), ARRAY['Be there at 3', 'Running 10 min late'], '… to the latest alert''s customer');
SELECT is(pg_temp.owner_says(8, 'number'), 'number', 'NUMBER');
SELECT is(pg_temp.last_to_owner(), 'NeverMissCall: #2 +15125550402', '… texts back the customer''s number');
UPDATE nmc.customers SET name = 'Ann Lee' WHERE phone = '+15125550401' AND business_id = (SELECT id FROM b);
SELECT is(pg_temp.owner_says(9, '#1 Phone'), 'number', '"#1 Phone"');
SELECT is(pg_temp.last_to_owner(), 'NeverMissCall: #1 Ann Lee: +15125550401', '… with the name when it is known');
SELECT is(pg_temp.owner_says(10, 'HELP'), 'help', 'HELP');
SELECT matches(pg_temp.last_to_owner(), '^NeverMissCall: Reply to an alert to text that customer .* Now: #2 \+15125550402, #1 Ann Lee\.$',
               '… the rules and who can be answered');

-- Handing back: the customer is waiting, so the assistant answers at once.
SELECT is(pg_temp.text_in(11, '+15125550402', 'What time exactly?'), 200, 'the second customer writes again');
SELECT is((pg_temp.conv('+15125550402')).mode, 'human', '… the owner has the conversation: no window, no assistant');
SELECT is(pg_temp.owner_says(12, '#2 AI'), 'handed_back', '"#2 AI" hands it back');
SELECT is((pg_temp.conv('+15125550402')).mode, 'ai', '… the assistant has it');
CREATE TEMP TABLE ai_reply AS SELECT m.* FROM nmc.messages m WHERE m.conversation_id = (pg_temp.conv('+15125550402')).id AND m.author = 'ai';
SELECT is((SELECT count(*) FROM ai_reply), 1::bigint, '… and answered the customer at once');
SELECT is(pg_temp.last_to_owner(), 'NeverMissCall: the assistant is answering +15125550402 now.', '… the owner is told');
-- The owner changes their mind before the assistant's text went out: it never goes.
SELECT is(pg_temp.owner_says(13, '#2 Sorry, I will call you myself'), 'relayed', 'the owner writes again before the assistant''s text left');
SELECT throws_ok($$ SELECT nmc.twilio_sms_send_build(j, nmc.settings_json()) FROM nmc.jobs j
                     WHERE j.kind = 'twilio.sms.send' AND j.payload ->> 'message_id' = (SELECT id::text FROM ai_reply) $$,
                 'NMD01', NULL, '… the assistant''s queued text is not sent after the owner''s');
SELECT is(pg_temp.owner_says(14, '#1 AI'), 'handed_back', 'handing back a conversation whose customer is not waiting');
SELECT is((pg_temp.conv('+15125550401')).mode, 'waiting', '… waits for the customer, as the dashboard''s hand-back');

-- A customer who opted out is not texted; the owner is told to call.
SELECT is(pg_temp.text_in(15, '+15125550401', 'STOP'), 200, 'the first customer replies STOP');
SELECT is(pg_temp.owner_says(16, '#1 Are you sure?'), 'not_sent', 'the owner''s text to them is not sent');
SELECT is(pg_temp.last_to_owner(), 'NeverMissCall: not sent: Ann Lee replied STOP to texts. Call them: +15125550401', '… and the owner is told why');

-- Quiet hours hold alerts, not the answers to the owner's own texts.
UPDATE nmc.businesses SET quiet_hours_start = ((now() AT TIME ZONE 'America/Chicago') - interval '1 hour')::time,
                          quiet_hours_end = ((now() AT TIME ZONE 'America/Chicago') + interval '1 hour')::time WHERE id = (SELECT id FROM b);
CREATE TEMP TABLE texted_quiet AS SELECT pg_temp.to_owner() AS n;
SELECT is(pg_temp.text_in(20, '+15125550404', 'Hello? Anyone?'), 200, 'in the quiet hours a new customer writes');
SELECT is(pg_temp.to_owner(), (SELECT n FROM texted_quiet), '… no alert');
SELECT is(pg_temp.owner_says(21, 'help'), 'help', 'the owner texts HELP in the quiet hours');
SELECT is(pg_temp.to_owner(), (SELECT n FROM texted_quiet) + 1, '… and is answered');
UPDATE nmc.businesses SET quiet_hours_start = NULL, quiet_hours_end = NULL WHERE id = (SELECT id FROM b);

-- STOP from the owner's phone: nothing more is texted to it, and the settings say so.
SELECT is(pg_temp.owner_says(17, 'STOP'), 'alerts_stopped', 'STOP from the owner''s phone');
SELECT is((SELECT body #>> '{alerts,stopped,phone}' FROM pg_temp.api('GET', '/api/business/alerts')), '+15125550188',
          '… GET /api/business/alerts shows which phone stopped our texts');
CREATE TEMP TABLE texted_before AS SELECT pg_temp.to_owner() AS n;
SELECT is(pg_temp.text_in(18, '+15125550403', 'I smell gas'), 200, 'an emergency meanwhile');
SELECT is(pg_temp.to_owner(), (SELECT n FROM texted_before), '… is not texted to the stopped phone (Twilio would refuse it)');
SELECT is(pg_temp.owner_says(19, 'start'), 'alerts_resumed', 'START resumes');
SELECT matches(pg_temp.last_to_owner(), '^NeverMissCall: texts to this phone are back on\. ', '… and says so');

-- A 21610 on an alert: the owner's phone stopped our texts; the customer did not.
SELECT nmc.twilio_sms_send_failed(j, '21610', 'Attempt to send to unsubscribed recipient')
  FROM nmc.jobs j WHERE j.kind = 'twilio.sms.send'
   AND j.payload ->> 'message_id' = (SELECT id::text FROM nmc.messages WHERE to_phone = '+15125550188' ORDER BY created_at DESC, id DESC LIMIT 1);
SELECT is((SELECT (b2.owner_phone_stopped, c.opted_out_at IS NULL)::text FROM nmc.businesses b2, nmc.customers c
            WHERE b2.id = (SELECT id FROM b) AND c.business_id = b2.id AND c.phone = '+15125550402'), '(+15125550188,t)',
          'Twilio''s 21610 on a text to the owner stops the owner''s phone, not the customer it was about');

-- Calls from the owner's phones are not missed customers.
SELECT matches((SELECT body FROM nmc_test.twilio_post('/webhooks/twilio/voice', jsonb_build_object(
                   'CallSid', 'CA' || lpad('901', 32, '0'), 'From', '+15125550199', 'To', '+15125550300', 'CallStatus', 'ringing')))::text,
               'This is your NeverMissCall number', 'the forward-to phone calling the business number is told it is the owner''s own (not dialled back to itself)');
SELECT is((SELECT (status, decision, customer_id IS NULL, lead_id IS NULL)::text FROM nmc.calls WHERE twilio_call_sid = 'CA' || lpad('901', 32, '0')),
          '(missed,suppressed_owner,t,t)', '… recorded, never texted, no customer, no lead');

SELECT * FROM finish();
ROLLBACK;
