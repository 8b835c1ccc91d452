-- missed_call_batches.sql — many missed calls applied in one inbox run
-- (nmc.calls_apply → nmc.calls_missed) decide exactly as one by one: the same
-- caller twice in a run is a repeat the second time, a blocked, an opted-out
-- caller, the owner's own phone and a withheld number among routine callers
-- keep their decisions, to one business and to several; each texted caller
-- gets one text and one job, the lead counts every call, the events of each
-- business are numbered without a gap.
BEGIN;
SELECT plan(31);

CREATE TEMP TABLE b AS SELECT nmc_test.business_with_number('+15125550800') AS id;
CREATE FUNCTION pg_temp.sid(n int) RETURNS text LANGUAGE sql AS $$ SELECT 'CA' || lpad(n::text, 32, '0') $$;
-- A forwarded call nobody answered: its dial result alone, accepted, not applied.
CREATE FUNCTION pg_temp.dial(n int, caller text, called text DEFAULT '+15125550800') RETURNS int LANGUAGE sql AS $$
    SELECT status FROM nmc_test.twilio_accept('/webhooks/twilio/voice/dial',
        jsonb_build_object('CallSid', pg_temp.sid(n), 'From', caller, 'To', called, 'DialCallStatus', 'no-answer',
                           'DialBridged', 'false', 'CallStatus', 'in-progress')) $$;
CREATE FUNCTION pg_temp.decision(n int) RETURNS text LANGUAGE sql AS $$
    SELECT decision FROM nmc.calls WHERE twilio_call_sid = pg_temp.sid(n) $$;

INSERT INTO nmc.blocked_numbers (business_id, phone, reason) VALUES ((SELECT id FROM b), '+15125550812', 'supplier');
INSERT INTO nmc.customers (business_id, phone, opted_out_at) VALUES ((SELECT id FROM b), '+15125550813', now());

-- One business: eight missed calls in one run.
SELECT is((SELECT sum(pg_temp.dial(n, caller))::int FROM (VALUES (1, '+15125550811'), (2, '+15125550811'), (3, '+15125550812'),
                                                                (4, '+15125550813'), (5, '+15125550814'), (6, '+15125550199'),
                                                                (7, 'anonymous'), (8, '+15125550815')) v(n, caller)),
          8 * 200, 'eight missed calls to one business are accepted');
SELECT is(nmc.webhook_inbox_run(500, false), 8, '… and applied in one run');
SELECT is(pg_temp.decision(1), 'texted', 'a routine caller is texted');
SELECT is(pg_temp.decision(2), 'suppressed_repeat', 'the same caller again in the same run is a repeat');
SELECT matches((SELECT decision_reason FROM nmc.calls WHERE twilio_call_sid = pg_temp.sid(2)), '^this number got a greeting [0-9]+ s ago \(repeat window 600 s\)$',
               '… and says why in the same words as one by one');
SELECT is(pg_temp.decision(3), 'suppressed_blocked', 'a blocked caller among them is not texted');
SELECT is(pg_temp.decision(4), 'suppressed_opted_out', 'an opted-out caller among them is not texted');
SELECT is(pg_temp.decision(5), 'texted', 'the routine caller after them is texted');
SELECT is((SELECT decision || ' ' || decision_reason || ' ' || (customer_id IS NULL) || ' ' || (lead_id IS NULL) FROM nmc.calls WHERE twilio_call_sid = pg_temp.sid(6)),
          'suppressed_owner the call came from the owner''s own phone true true', 'the owner''s own phone: no customer, no lead, not texted');
SELECT is((SELECT decision || ' ' || decision_reason FROM nmc.calls WHERE twilio_call_sid = pg_temp.sid(7)),
          'suppressed_anonymous the caller''s number (anonymous) cannot receive a text', 'a withheld number is not texted');
SELECT is(pg_temp.decision(8), 'texted', 'the last routine caller is texted');
SELECT is((SELECT count(*) FROM nmc.messages WHERE business_id = (SELECT id FROM b) AND direction = 'outbound'), 3::bigint,
          'three texts, one per texted caller');
SELECT is((SELECT count(*) FROM nmc.jobs j JOIN nmc.calls c ON j.payload ->> 'message_id' = c.message_id::text
            WHERE c.business_id = (SELECT id FROM b) AND j.kind = 'twilio.sms.send'), 3::bigint, '… each with its twilio.sms.send job');
SELECT ok((SELECT bool_and(m.body ~ '^Sorry we missed your call! This is Test Plumbing \+15125550800\..*\(512\) 555-0800\.$' AND m.conversation_id = c.conversation_id)
             FROM nmc.calls c JOIN nmc.messages m ON m.id = c.message_id WHERE c.business_id = (SELECT id FROM b)),
          '… each the rendered greeting, in the call''s open conversation');
SELECT is((SELECT calls_count FROM nmc.leads l JOIN nmc.customers cu ON cu.id = l.customer_id WHERE cu.phone = '+15125550811'), 2,
          'the lead of the caller who called twice counts both calls');
SELECT nmc_test.events_numbered();
SELECT is((SELECT array_agg((body ->> 'calls_count')::int ORDER BY seq) FROM nmc.events
            WHERE business_id = (SELECT id FROM b) AND type = 'lead.updated' AND body -> 'customer' ->> 'phone' = '+15125550811'),
          ARRAY[1, 2], '… and its lead.updated events count as one by one');
SELECT is((SELECT count(*) FROM nmc.leads WHERE business_id = (SELECT id FROM b)), 5::bigint, 'one lead per caller with a customer (not the owner, not anonymous)');
SELECT ok((SELECT last_greeting_at IS NOT NULL FROM nmc.customers WHERE phone = '+15125550811' AND business_id = (SELECT id FROM b))
          AND (SELECT last_greeting_at IS NULL FROM nmc.customers WHERE phone = '+15125550812' AND business_id = (SELECT id FROM b)),
          'the last greeting is kept for the texted, not for the blocked');
SELECT is((SELECT count(*) FROM nmc.events WHERE business_id = (SELECT id FROM b) AND type = 'call.missed'), 8::bigint, 'a call.missed event for each call');
SELECT is((SELECT max(seq) - count(*) FROM nmc.events WHERE business_id = (SELECT id FROM b)), 0::bigint, 'the business''s events are numbered without a gap');
SELECT is((SELECT array_agg(body ->> 'decision' ORDER BY seq) FROM nmc.events WHERE business_id = (SELECT id FROM b) AND type = 'call.missed'),
          ARRAY['texted', 'suppressed_repeat', 'suppressed_blocked', 'suppressed_opted_out', 'texted', 'suppressed_owner', 'suppressed_anonymous', 'texted'],
          'call.missed events in the order the calls came');

-- Several businesses, interleaved in one run: one caller who calls two
-- businesses is a customer of each and texted by each; calling the second
-- one twice is a repeat there only.
CREATE TEMP TABLE b2 AS SELECT nmc_test.business_with_number('+15125550900') AS id;
CREATE TEMP TABLE b3 AS SELECT nmc_test.business_with_number('+15125551000') AS id;
INSERT INTO nmc.blocked_numbers (business_id, phone, reason) VALUES ((SELECT id FROM b3), '+15125550922', 'spam');
SELECT is((SELECT sum(pg_temp.dial(n, caller, called))::int FROM (VALUES (21, '+15125550921', '+15125550900'), (22, '+15125550921', '+15125551000'),
                                                                        (23, '+15125550922', '+15125550900'), (24, '+15125550922', '+15125551000'),
                                                                        (25, '+15125550921', '+15125551000'), (26, '+15125550811', '+15125550800')) v(n, caller, called)),
          6 * 200, 'six missed calls to three businesses are accepted');
SELECT is(nmc.webhook_inbox_run(500, false), 6, '… and applied in one run');
SELECT is(ARRAY[pg_temp.decision(21), pg_temp.decision(22), pg_temp.decision(25)], ARRAY['texted', 'texted', 'suppressed_repeat'],
          'a caller of two businesses is texted by each, and a repeat at the one called twice');
SELECT is(ARRAY[pg_temp.decision(23), pg_temp.decision(24)], ARRAY['texted', 'suppressed_blocked'],
          'a number blocked by one business is still texted by another');
SELECT is(pg_temp.decision(26), 'suppressed_repeat', 'a caller greeted in an earlier run is a repeat within the window');
SELECT is((SELECT count(DISTINCT customer_id) FROM nmc.calls WHERE twilio_call_sid IN (pg_temp.sid(21), pg_temp.sid(22))), 2::bigint,
          'the same number is a different customer of each business');
SELECT nmc_test.events_numbered();
SELECT ok((SELECT bool_and(n = m) FROM (SELECT business_id, count(*) AS n, max(seq) AS m FROM nmc.events
                                        WHERE business_id IN ((SELECT id FROM b2), (SELECT id FROM b3)) GROUP BY 1) e),
          'each business''s events are numbered without a gap');
SELECT is((SELECT count(*) FROM nmc.messages WHERE business_id IN ((SELECT id FROM b2), (SELECT id FROM b3)) AND direction = 'outbound'), 3::bigint,
          'three texts across the two businesses');

-- A batch of one decides as the run did: the single path is the same function.
SELECT is(pg_temp.dial(27, '+15125550814'), 200, 'one more call of a caller greeted before');
SELECT is(nmc_test.inbox_drain() || ' ' || pg_temp.decision(27), '1 suppressed_repeat', '… alone in its run, a repeat');

SELECT * FROM finish();
ROLLBACK;
