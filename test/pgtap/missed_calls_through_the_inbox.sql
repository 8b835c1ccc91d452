-- missed_calls_through_the_inbox.sql — Twilio's voice webhooks go through the
-- webhook inbox like texts: the caller's TwiML is answered before anything is
-- applied; retries before and after applying change nothing; a burst of
-- missed calls to one number is applied in one run, each texted once, the
-- business's events numbered without a gap; one customer's call, STOP and
-- next call keep their order; decisions are taken as of when each webhook was
-- accepted, however late it is applied; status callbacks go the same way.
BEGIN;
SELECT plan(31);

CREATE TEMP TABLE b AS SELECT nmc_test.business_with_number('+15125550700') AS id;
CREATE FUNCTION pg_temp.sid(n int) RETURNS text LANGUAGE sql AS $$ SELECT 'CA' || lpad(n::text, 32, '0') $$;
CREATE FUNCTION pg_temp.voice(n int, caller text) RETURNS text LANGUAGE sql AS $$
    SELECT body FROM nmc_test.twilio_accept('/webhooks/twilio/voice',
        jsonb_build_object('CallSid', pg_temp.sid(n), 'From', caller, 'To', '+15125550700', 'CallStatus', 'ringing')) $$;
CREATE FUNCTION pg_temp.dial(n int, caller text) RETURNS text LANGUAGE sql AS $$
    SELECT body FROM nmc_test.twilio_accept('/webhooks/twilio/voice/dial',
        jsonb_build_object('CallSid', pg_temp.sid(n), 'From', caller, 'To', '+15125550700', 'DialCallStatus', 'no-answer',
                           'DialBridged', 'false', 'CallStatus', 'in-progress')) $$;
CREATE FUNCTION pg_temp.decision(n int) RETURNS text LANGUAGE sql AS $$
    SELECT decision FROM nmc.calls WHERE twilio_call_sid = pg_temp.sid(n) $$;

-- Accepted, answered, not yet applied.
SELECT matches(pg_temp.voice(1, '+15125550701'), '<Dial timeout="20" action="[^"]*/webhooks/twilio/voice/dial"',
               'the voice webhook is answered with <Dial> at once');
SELECT is((SELECT count(*) FROM nmc.calls WHERE twilio_call_sid = pg_temp.sid(1)), 0::bigint, '… before the call is applied');
SELECT is((SELECT kind || ' ' || (params ->> 'nmc_answer') FROM nmc.webhook_inbox WHERE webhook_key = pg_temp.sid(1)), 'voice forward',
          '… it waits in the inbox with what the caller was told');
SELECT matches(pg_temp.dial(1, '+15125550701'), '<Say>Sorry we couldn&apos;t take your call\. Test Plumbing \+15125550700 will text you right away\. You can also leave a message after the beep\.</Say><Record ',
               'the dial webhook: the caller hears that a text is coming, at once');
SELECT is(pg_temp.voice(1, '+15125550701'), (SELECT body FROM nmc_test.twilio_accept('/webhooks/twilio/voice',
              jsonb_build_object('CallSid', pg_temp.sid(1), 'From', '+15125550701', 'To', '+15125550700'))), 'a retried voice webhook gets the same answer');
SELECT is(pg_temp.dial(1, '+15125550701'), pg_temp.dial(1, '+15125550701'), 'a retried dial webhook too');
SELECT is((SELECT count(*) FROM nmc.webhook_inbox WHERE webhook_key = pg_temp.sid(1)), 2::bigint, '… and the inbox holds each webhook once');
-- Closed while it waited: what the caller was told stands.
UPDATE nmc.businesses SET forward_to_phone = NULL WHERE id = (SELECT id FROM b);
SELECT is(nmc_test.inbox_drain(), 2, 'the inbox worker applies both');
UPDATE nmc.businesses SET forward_to_phone = '+15125550199' WHERE id = (SELECT id FROM b);
SELECT is((SELECT status || ' ' || missed_reason || ' ' || decision FROM nmc.calls WHERE twilio_call_sid = pg_temp.sid(1)), 'missed no-answer texted',
          '… forwarded as the caller was told, then missed and texted');
SELECT is((SELECT count(*) FROM nmc.webhook_inbox), 0::bigint, '… and the inbox is empty');
SELECT matches(pg_temp.dial(1, '+15125550701'), '<Say>Sorry we couldn&apos;t take your call', 'a retry after it was applied gets the same answer');
SELECT is(nmc_test.inbox_drain(), 1, '… is applied');
SELECT is((SELECT count(*) FROM nmc.messages WHERE to_phone = '+15125550701'), 1::bigint, '… and sends nothing more');
SELECT is((SELECT count(*) FROM nmc.calls WHERE twilio_call_sid = pg_temp.sid(1)), 1::bigint, '… nor records the call twice');

-- A burst to one number, applied in one run.
SELECT is((SELECT count(*) FROM generate_series(100, 199) n WHERE pg_temp.dial(n, '+1737555' || lpad(n::text, 4, '0')) ~ '<Say>'), 100::bigint,
          'a burst of 100 missed calls to one number: each answered at once');
SELECT is(nmc_test.inbox_drain(), 100, '… one run of the inbox worker applies them all');
SELECT is((SELECT count(*) FROM nmc.calls WHERE twilio_call_sid IN (SELECT pg_temp.sid(n) FROM generate_series(100, 199) n) AND decision = 'texted'),
          100::bigint, '… each call is texted');
SELECT is((SELECT count(DISTINCT m.to_phone) FROM nmc.messages m JOIN nmc.jobs j ON j.payload ->> 'message_id' = m.id::text
            WHERE m.to_phone LIKE '+1737555%' AND j.kind = 'twilio.sms.send'), 100::bigint, '… once each, with its send job');
SELECT is((SELECT count(*) FILTER (WHERE type = 'call.missed') FROM nmc.events WHERE business_id = (SELECT id FROM b)), 101::bigint,
          '… each with its call.missed event');
SELECT ok((SELECT count(*) = max(seq) AND min(seq) = 1 FROM nmc.events WHERE business_id = (SELECT id FROM b)),
          '… the business''s events numbered 1, 2, 3… without a gap');

-- One customer's webhooks keep their order within a run: a missed call, STOP,
-- another missed call (no repeat window here) — the second is not texted.
UPDATE nmc.businesses SET repeat_window_seconds = 0 WHERE id = (SELECT id FROM b);
SELECT pg_temp.voice(300, '+15125550702'), pg_temp.dial(300, '+15125550702');
SELECT nmc_test.twilio_accept('/webhooks/twilio/sms', jsonb_build_object('MessageSid', 'SM' || lpad('300', 32, '0'), 'From', '+15125550702',
                                                                          'To', '+15125550700', 'Body', 'STOP'));
SELECT pg_temp.voice(301, '+15125550702'), pg_temp.dial(301, '+15125550702');
SELECT nmc_test.twilio_accept('/webhooks/twilio/sms', jsonb_build_object('MessageSid', 'SM' || lpad('301', 32, '0'), 'From', '+15125550702',
                                                                          'To', '+15125550700', 'Body', 'START'));
SELECT pg_temp.voice(302, '+15125550702'), pg_temp.dial(302, '+15125550702');
SELECT is(nmc_test.inbox_drain(), 8, 'a call, STOP, a call, START, a call: applied in one run');
SELECT is(pg_temp.decision(300), 'texted', '… the first call is texted');
SELECT is(pg_temp.decision(301), 'suppressed_opted_out', '… the call after STOP is not');
SELECT is(pg_temp.decision(302), 'texted', '… the call after START is again');

-- Decided as of acceptance: the ring time is measured between the webhooks,
-- not from when the worker got to them.
UPDATE nmc.businesses SET min_ring_seconds = 30 WHERE id = (SELECT id FROM b);
SELECT pg_temp.voice(400, '+15125550703');
UPDATE nmc.webhook_inbox SET received_at = received_at - interval '40 seconds' WHERE webhook_key = pg_temp.sid(400);
SELECT pg_temp.dial(400, '+15125550703');
SELECT pg_temp.voice(401, '+15125550704'), pg_temp.dial(401, '+15125550704');
-- Both are applied "a minute later".
UPDATE nmc.webhook_inbox SET received_at = received_at - interval '60 seconds' WHERE webhook_key IN (pg_temp.sid(400), pg_temp.sid(401));
CREATE TEMP TABLE accepted AS SELECT received_at FROM nmc.webhook_inbox WHERE kind = 'voice_dial' AND webhook_key = pg_temp.sid(400);
SELECT nmc_test.inbox_drain();
SELECT is(pg_temp.decision(400), 'texted', 'a call that rang 40 s is texted (minimum 30 s)');
SELECT is(pg_temp.decision(401), 'suppressed_short_ring', 'a call whose dial ended at once is not, however late it is applied');
SELECT is((SELECT missed_at FROM nmc.calls WHERE twilio_call_sid = pg_temp.sid(400)), (SELECT received_at FROM accepted),
          '… and the call is missed at the time its dial webhook was accepted');

-- Status callbacks through the inbox too.
UPDATE nmc.messages SET twilio_sid = 'SM' || lpad('900', 32, '0'), status = 'sent'
 WHERE id = (SELECT message_id FROM nmc.calls WHERE twilio_call_sid = pg_temp.sid(1));
SELECT nmc_test.twilio_accept('/webhooks/twilio/sms/status', jsonb_build_object('MessageSid', 'SM' || lpad('900', 32, '0'), 'MessageStatus', 'delivered',
                                                                                 'From', '+15125550700', 'To', '+15125550701'));
SELECT is((SELECT status FROM nmc.messages WHERE twilio_sid = 'SM' || lpad('900', 32, '0')), 'sent', 'a delivery callback waits in the inbox');
SELECT nmc_test.inbox_drain();
SELECT is((SELECT m.status || ' ' || l.status FROM nmc.messages m JOIN nmc.calls c ON c.message_id = m.id JOIN nmc.leads l ON l.id = c.lead_id
            WHERE m.twilio_sid = 'SM' || lpad('900', 32, '0')), 'delivered contacted', '… then the message is delivered and its lead contacted');

SELECT matches((SELECT body FROM nmc_test.twilio_accept('/webhooks/twilio/voice',
                  jsonb_build_object('CallSid', pg_temp.sid(500), 'From', '+15125550705', 'To', '+15125559999'))),
               'not in service', 'a call to a number that is not ours gets a polite answer');
SELECT is((SELECT count(*) FROM nmc.webhook_inbox), 0::bigint, '… and nothing waits in the inbox');

SELECT * FROM finish();
ROLLBACK;
