-- owner_alerts.sql — the owner away from the dashboard is texted: an alert
-- phone (the forward-to phone until another is set) verified by a texted code;
-- once verified, a customer's reply that opens the human window is texted to
-- it with the customer's words, the seconds left and the link; at most one per
-- conversation per alert_min_gap_seconds; kinds can be switched off; quiet
-- hours hold everything but emergencies; the assistant handing over is texted
-- too, and so are the assistant's bookings and texts that did not arrive. Until
-- the phone is verified only emergencies go out (to the forward-to
-- phone, as before).
BEGIN;
SELECT plan(29);

CREATE TEMP TABLE r AS SELECT nmc_test.register('alerts@example.com', 'Alert Plumbing') AS body;
CREATE TEMP TABLE b AS SELECT (body #>> '{business,id}')::uuid AS id, body ->> 'token' AS token FROM r;
UPDATE nmc.businesses SET forward_to_phone = '+15125550199', human_window_seconds = 60,
       timezone = 'America/Chicago' WHERE id = (SELECT id FROM b);
INSERT INTO nmc.phone_numbers (business_id, phone) SELECT id, '+15125550300' FROM b;
SELECT nmc.hours_replace((SELECT id FROM b), (SELECT jsonb_agg(jsonb_build_object('weekday', d, 'opens_at', '00:00', 'closes_at', '24:00'))
                                               FROM generate_series(0, 6) d));

CREATE FUNCTION pg_temp.api(method text, path text, body jsonb DEFAULT NULL) RETURNS TABLE (status int, body jsonb) LANGUAGE sql AS $$
    SELECT a.status, a.body FROM nmc_test.api(method, path, body, (SELECT token FROM b)) a $$;
CREATE FUNCTION pg_temp.text_in(n int, caller text, words text) RETURNS int LANGUAGE sql AS $$
    SELECT status FROM nmc_test.twilio_post('/webhooks/twilio/sms', jsonb_build_object('MessageSid', 'SM' || lpad(n::text, 32, '0'),
                                            'From', caller, 'To', '+15125550300', 'Body', words)) $$;
CREATE FUNCTION pg_temp.alerts_to(phone text) RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM nmc.messages WHERE business_id = (SELECT id FROM b) AND to_phone = phone AND conversation_id IS NULL $$;
CREATE FUNCTION pg_temp.conv(caller text) RETURNS nmc.conversations LANGUAGE sql AS $$
    SELECT cv.* FROM nmc.conversations cv JOIN nmc.customers c ON c.id = cv.customer_id WHERE c.phone = caller AND cv.state = 'open' $$;

SELECT is((SELECT body -> 'alerts' FROM pg_temp.api('GET', '/api/business/alerts')),
          '{"kinds": ["booking", "customer_replied", "handoff", "undelivered"], "phone": "+15125550199", "stopped": null, "verified": false, "quiet_hours": null, "emergency_sms_to_owner": true}',
          'at first: the forward-to phone, not verified, every kind on, no quiet hours');
SELECT is(pg_temp.text_in(1, '+15125550401', 'Is anyone there?'), 200, 'a customer writes');
SELECT is((pg_temp.conv('+15125550401')).mode, 'human_window', 'the human window opens');
SELECT is(pg_temp.alerts_to('+15125550199'), 0::bigint, 'but no alert: no phone was verified');

-- The owner sets and verifies an alert phone.
SELECT is((SELECT status || ' ' || (body #>> '{alerts,phone}') || ' ' || (body #>> '{alerts,verified}')
             FROM pg_temp.api('PUT', '/api/business/alerts/phone', '{"phone": "(512) 555-0188"}')), '202 +15125550188 false',
          'PUT alerts/phone: 202, the phone, not verified yet');
CREATE TEMP TABLE code AS SELECT substring(text_to_send FROM ' is ([0-9]{6})\.') AS digits, id FROM nmc.login_codes
 WHERE business_id = (SELECT id FROM b) AND purpose = 'alert_phone';
SELECT is((SELECT j.payload ->> 'to' FROM nmc.jobs j JOIN code ON j.payload ->> 'login_code_id' = code.id::text
            WHERE j.kind = 'twilio.sms.login_code'), '+15125550188', 'a code is texted to that phone');
SELECT is((SELECT status FROM pg_temp.api('PUT', '/api/business/alerts/phone', '{"phone": "+15125550188"}')), 429,
          'another code within the minute: 429');
SELECT is((SELECT status || ' ' || (body #>> '{error,code}') FROM pg_temp.api('POST', '/api/business/alerts/phone/verify',
              jsonb_build_object('code', lpad(((SELECT digits::int FROM code) + 1) % 1000000 || '', 6, '0')))), '400 invalid_code',
          'a wrong code: 400 invalid_code');
SELECT is((SELECT status || ' ' || (body #>> '{alerts,verified}') FROM pg_temp.api('POST', '/api/business/alerts/phone/verify',
              jsonb_build_object('code', (SELECT digits FROM code)))), '200 true', 'the right code: verified');
SELECT is((SELECT status FROM nmc_test.api('POST', '/api/auth/login',
              jsonb_build_object('email', 'alerts@example.com', 'password', 'correct horse', 'login_code', (SELECT digits FROM code)))), 401,
          'an alert-phone code is no sign-in code');

-- Now a reply is texted to the owner.
SELECT is(pg_temp.text_in(2, '+15125550402', 'Water coming through the ceiling, can you come today?'), 200, 'another customer writes');
SELECT matches((SELECT body FROM nmc.messages WHERE to_phone = '+15125550188' AND conversation_id IS NULL ORDER BY created_at DESC LIMIT 1),
               '^#1 \+15125550402: "Water coming through the ceiling, can you come today\?" Your turn: (59|60) s before the assistant answers\. http\S+/conversations/[0-9a-f-]{36}$',
               'the owner gets the words, the seconds left and the link');
SELECT is((SELECT from_phone FROM nmc.messages WHERE to_phone = '+15125550188' AND conversation_id IS NULL ORDER BY created_at DESC LIMIT 1),
          '+15125550300', '… from the business number');
SELECT is((SELECT kind FROM nmc.owner_alerts WHERE conversation_id = (pg_temp.conv('+15125550402')).id), 'customer_replied', 'recorded as an alert');

-- Spaced out: the window closes and opens again within the gap — no second alert.
SELECT nmc.conversation_set_mode(pg_temp.conv('+15125550402'), 'waiting') IS NULL;
SELECT is(pg_temp.text_in(3, '+15125550402', 'Hello??'), 200, 'the customer writes again');
SELECT is(pg_temp.alerts_to('+15125550188'), 1::bigint, 'within alert_min_gap_seconds: no second alert for the conversation');
UPDATE nmc.owner_alerts SET created_at = created_at - interval '200 seconds';
SELECT nmc.conversation_set_mode(pg_temp.conv('+15125550402'), 'waiting') IS NULL;
SELECT is(pg_temp.text_in(4, '+15125550402', 'Anyone?'), 200, 'and again, later');
SELECT is(pg_temp.alerts_to('+15125550188'), 2::bigint, 'after the gap: alerted again');

-- A booking by the assistant, and a text that did not arrive.
SELECT nmc.appointment_book((SELECT id FROM b), (pg_temp.conv('+15125550401')).customer_id,
                            date_trunc('hour', now()) + interval '1 day 2 hours', 'ai', '55 Oak St', 'Leak') IS NULL;
SELECT matches((SELECT body FROM nmc.messages WHERE to_phone = '+15125550188' AND conversation_id IS NULL ORDER BY created_at DESC LIMIT 1),
               '^#2 Booked by the assistant: \+15125550401, \w{3} \w{3} \d{2} \d{2}:\d{2}, 55 Oak St\. http\S+/conversations/',
               'a booking by the assistant is texted, with when and where');
SELECT nmc.appointment_book((SELECT id FROM b), (pg_temp.conv('+15125550401')).customer_id,
                            date_trunc('hour', now()) + interval '2 days 2 hours', 'owner') IS NULL;
SELECT is((SELECT count(*) FROM nmc.owner_alerts WHERE business_id = (SELECT id FROM b) AND kind = 'booking'), 1::bigint,
          'one the owner booked is not (never an alert for the owner''s own action)');
UPDATE nmc.owner_alerts SET created_at = created_at - interval '1 hour';
CREATE TEMP TABLE lost_text AS SELECT * FROM nmc.sms_send((SELECT id FROM b), (pg_temp.conv('+15125550402')).customer_id, '+15125550300',
                                                          'On my way', 'owner', (pg_temp.conv('+15125550402')).id);
-- (a conversation that started with a text has no lead yet: give it one, as a missed call would)
INSERT INTO nmc.leads (business_id, customer_id)
SELECT (SELECT id FROM b), (pg_temp.conv('+15125550402')).customer_id WHERE (pg_temp.conv('+15125550402')).lead_id IS NULL;
UPDATE nmc.conversations SET lead_id = (SELECT id FROM nmc.leads WHERE customer_id = (pg_temp.conv('+15125550402')).customer_id)
 WHERE id = (pg_temp.conv('+15125550402')).id;
SELECT nmc.twilio_sms_send_failed(j, '30003', 'Unreachable destination handset') FROM nmc.jobs j
 WHERE j.payload ->> 'message_id' = (SELECT id::text FROM lost_text);
SELECT matches((SELECT body FROM nmc.messages WHERE to_phone = '+15125550188' AND conversation_id IS NULL ORDER BY created_at DESC LIMIT 1),
               '^#1 Our text to \+15125550402 did not arrive \(Unreachable destination handset\)\. http',
               'a text that did not arrive is texted to the owner');

-- Kinds and quiet hours.
SELECT is((SELECT status || ' ' || (body #>> '{error,field}') FROM pg_temp.api('PATCH', '/api/business/alerts', '{"kinds": ["gossip"]}')),
          '400 kinds', 'an unknown kind: 400');
SELECT is((SELECT (body #>> '{alerts,kinds}') FROM pg_temp.api('PATCH', '/api/business/alerts', '{"kinds": ["handoff"]}')), '["handoff"]',
          'only hand-overs, now');
SELECT is(pg_temp.text_in(5, '+15125550403', 'Hi'), 200, 'a third customer writes');
SELECT is(pg_temp.alerts_to('+15125550188'), 4::bigint, 'customer_replied switched off: no alert (still the 4 of before)');
SELECT is((SELECT status FROM pg_temp.api('PATCH', '/api/business/alerts',
              jsonb_build_object('quiet_hours', jsonb_build_object('start', to_char((now() AT TIME ZONE 'America/Chicago') - interval '1 hour', 'HH24:MI'),
                                                                   'end', to_char((now() AT TIME ZONE 'America/Chicago') + interval '1 hour', 'HH24:MI'))))), 200,
          'quiet hours around now (the business''s time)');
SELECT nmc.conversation_handed_over(pg_temp.conv('+15125550403'), 'test') IS NULL;
SELECT is(pg_temp.alerts_to('+15125550188'), 4::bigint, 'in the quiet hours even a hand-over is not texted');
SELECT is(pg_temp.text_in(6, '+15125550404', 'I smell gas in the kitchen'), 200, 'but an emergency comes in');
SELECT matches((SELECT body FROM nmc.messages WHERE to_phone = '+15125550188' AND conversation_id IS NULL ORDER BY created_at DESC LIMIT 1),
               '^#3 EMERGENCY \(smell gas\) from \+15125550404: "I smell gas in the kitchen" Call them now: http', 'an emergency goes through the quiet hours, to the verified alert phone');

SELECT * FROM finish();
ROLLBACK;
