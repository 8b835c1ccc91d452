-- missed_call_decisions.sql — the voice webhooks end to end in SQL: forward
-- while open, after-hours while closed, and each text decision (texted,
-- repeat, opted out, blocked, short ring, unreachable, anonymous, answered),
-- with the one-transaction result of a missed call and idempotent retries.
BEGIN;
SELECT plan(31);

CREATE TEMP TABLE b AS SELECT nmc_test.business_with_number('+15125550100') AS id;
CREATE FUNCTION pg_temp.call(sid text, caller text, dial text DEFAULT 'no-answer') RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM nmc_test.twilio_post('/webhooks/twilio/voice', jsonb_build_object('CallSid', sid, 'From', caller, 'To', '+15125550100', 'CallStatus', 'ringing'));
    PERFORM nmc_test.twilio_post('/webhooks/twilio/voice/dial', jsonb_build_object('CallSid', sid, 'From', caller, 'To', '+15125550100',
                                 'DialCallStatus', dial, 'DialBridged', CASE WHEN dial = 'completed' THEN 'true' ELSE 'false' END));
    RETURN (SELECT decision FROM nmc.calls WHERE twilio_call_sid = sid);
END $$;
CREATE FUNCTION pg_temp.sid(n int) RETURNS text LANGUAGE sql AS $$ SELECT 'CA' || lpad(n::text, 32, '0') $$;

SELECT matches((SELECT body FROM nmc_test.twilio_post('/webhooks/twilio/voice',
                  jsonb_build_object('CallSid', pg_temp.sid(1), 'From', '+15125550143', 'To', '+15125550100', 'CallStatus', 'ringing'))),
               '<Dial timeout="20" action="[^"]*/webhooks/twilio/voice/dial" method="POST" answerOnBridge="true"><Number>\+15125550199</Number></Dial>',
               'open: the call is forwarded to the owner with the ring timeout and our action URL');
SELECT is((SELECT content_type FROM nmc_test.twilio_post('/webhooks/twilio/voice',
              jsonb_build_object('CallSid', pg_temp.sid(1), 'From', '+15125550143', 'To', '+15125550100'))), 'text/xml', 'TwiML is text/xml');
SELECT is((SELECT count(*) FROM nmc.calls WHERE twilio_call_sid = pg_temp.sid(1)), 1::bigint, 'a retried voice webhook creates nothing new');

CREATE TEMP TABLE dial AS SELECT * FROM nmc_test.twilio_post('/webhooks/twilio/voice/dial',
    jsonb_build_object('CallSid', pg_temp.sid(1), 'From', '+15125550143', 'To', '+15125550100', 'DialCallStatus', 'no-answer', 'DialBridged', 'false'));
SELECT matches((SELECT body FROM dial), '<Say>.*will text you right away\..*</Say><Record [^>]*/><Hangup/>', 'no-answer: the caller hears that a text is coming, then may leave a voicemail');
SELECT is((SELECT decision || ' ' || status || ' ' || missed_reason FROM nmc.calls WHERE twilio_call_sid = pg_temp.sid(1)), 'texted missed no-answer',
          'no-answer: missed, and texted');
SELECT is((SELECT count(*) FROM nmc.customers WHERE business_id = (SELECT id FROM b) AND phone = '+15125550143'), 1::bigint, 'the caller is a customer');
SELECT is((SELECT l.status FROM nmc.leads l JOIN nmc.calls c ON c.lead_id = l.id WHERE c.twilio_call_sid = pg_temp.sid(1)), 'new', 'a new lead is linked to the call');
SELECT is((SELECT cv.state || ' ' || cv.mode FROM nmc.conversations cv JOIN nmc.calls c ON c.conversation_id = cv.id WHERE c.twilio_call_sid = pg_temp.sid(1)),
          'open waiting', 'an open conversation waits for the customer');
SELECT matches((SELECT m.body FROM nmc.messages m JOIN nmc.calls c ON c.message_id = m.id WHERE c.twilio_call_sid = pg_temp.sid(1)),
               '^Sorry we missed your call! This is Test Plumbing \+15125550100\..*call us back at \(512\) 555-0100\.$', 'the rendered greeting is the first message');
SELECT is((SELECT count(*) FROM nmc.jobs j JOIN nmc.calls c ON j.payload ->> 'message_id' = c.message_id::text
            WHERE c.twilio_call_sid = pg_temp.sid(1) AND j.kind = 'twilio.sms.send'), 1::bigint, 'its twilio.sms.send job is queued');
SELECT ok((SELECT array_agg(type ORDER BY seq) @> ARRAY['lead.updated', 'conversation.created', 'message.created', 'call.missed']
             FROM nmc.events WHERE business_id = (SELECT id FROM b)), 'events for the lead, conversation, message and call');
SELECT is((SELECT body FROM nmc_test.twilio_post('/webhooks/twilio/voice/dial',
              jsonb_build_object('CallSid', pg_temp.sid(1), 'From', '+15125550143', 'To', '+15125550100', 'DialCallStatus', 'no-answer'))),
          (SELECT body FROM dial), 'a retried dial webhook gets the same answer');
SELECT is((SELECT count(*) FROM nmc.messages WHERE to_phone = '+15125550143'), 1::bigint, '… and sends nothing more');

SELECT is(pg_temp.call(pg_temp.sid(2), '+15125550143'), 'suppressed_repeat', 'a repeat call within the window is not texted again');
SELECT is((SELECT calls_count FROM nmc.leads WHERE business_id = (SELECT id FROM b)), 2, '… but it touches the lead');
SELECT matches((SELECT decision_reason FROM nmc.calls WHERE twilio_call_sid = pg_temp.sid(2)), 'repeat window 600 s', '… and says why');

INSERT INTO nmc.blocked_numbers (business_id, phone, reason) VALUES ((SELECT id FROM b), '+15125550144', 'supplier');
SELECT is(pg_temp.call(pg_temp.sid(3), '+15125550144'), 'suppressed_blocked', 'a blocked number is not texted');
UPDATE nmc.customers SET opted_out_at = now() WHERE phone = '+15125550143';
UPDATE nmc.customers SET last_greeting_at = NULL WHERE phone = '+15125550143';
SELECT is(pg_temp.call(pg_temp.sid(4), '+15125550143'), 'suppressed_opted_out', 'an opted-out customer is not texted');
INSERT INTO nmc.customers (business_id, phone, sms_unreachable_at, sms_unreachable_reason) VALUES ((SELECT id FROM b), '+15125550145', now(), 'landline');
SELECT is(pg_temp.call(pg_temp.sid(5), '+15125550145'), 'suppressed_unreachable', 'a number that cannot receive texts is not texted');
SELECT is(pg_temp.call(pg_temp.sid(6), 'anonymous'), 'suppressed_anonymous', 'a withheld caller ID cannot be texted');
SELECT is(pg_temp.call(pg_temp.sid(7), '+15125550146', 'completed'), 'not_missed', 'an answered call is never texted');
SELECT is((SELECT status FROM nmc.calls WHERE twilio_call_sid = pg_temp.sid(7)), 'answered', '… and is recorded as answered');
UPDATE nmc.businesses SET min_ring_seconds = 30 WHERE id = (SELECT id FROM b);
SELECT is(pg_temp.call(pg_temp.sid(8), '+15125550147', 'canceled'), 'suppressed_short_ring', 'a caller who hung up before the minimum ring time is not texted');
UPDATE nmc.businesses SET min_ring_seconds = 0 WHERE id = (SELECT id FROM b);
SELECT is(pg_temp.call(pg_temp.sid(9), '+15125550148', 'busy'), 'texted', 'busy counts as missed');

-- Closed: missed at once, with the after-hours message.
DELETE FROM nmc.business_hours WHERE business_id = (SELECT id FROM b);
SELECT matches((SELECT body FROM nmc_test.twilio_post('/webhooks/twilio/voice',
                  jsonb_build_object('CallSid', pg_temp.sid(10), 'From', '+15125550149', 'To', '+15125550100'))),
               '<Say>Thanks for calling Test Plumbing.*</Say><Record [^>]*/><Hangup/>', 'closed: the after-hours message and a voicemail, no forwarding');
SELECT is((SELECT decision || ' ' || missed_reason FROM nmc.calls WHERE twilio_call_sid = pg_temp.sid(10)), 'texted after_hours', '… and the call is missed at once and texted');

SELECT matches((SELECT body FROM nmc_test.twilio_post('/webhooks/twilio/voice',
                  jsonb_build_object('CallSid', pg_temp.sid(11), 'From', '+15125550149', 'To', '+15125559999'))),
               'not in service', 'a call to a number that is not ours gets a polite answer');
SELECT is((SELECT count(*) FROM nmc.calls WHERE twilio_call_sid = pg_temp.sid(11)), 0::bigint, '… and nothing else');
SELECT is((SELECT status FROM nmc_test.twilio_post('/webhooks/twilio/voice', '{"From":"+15125550149","To":"+15125550100"}')), 400,
          'a webhook without CallSid: 400');
SELECT is((SELECT status FROM nmc_test.twilio_post('/webhooks/twilio/voice/status',
              jsonb_build_object('CallSid', pg_temp.sid(1), 'To', '+15125550100', 'CallStatus', 'completed', 'CallDuration', '31'))), 200,
          'the status callback is accepted');
SELECT is((SELECT call_status || ' ' || duration_seconds FROM nmc.calls WHERE twilio_call_sid = pg_temp.sid(1)), 'completed 31',
          '… and records the final status and duration');

SELECT * FROM finish();
ROLLBACK;
