-- dashboard_event_details.sql — what the dashboard needs without an extra read:
-- the customer on call.missed, conversation.created, the missed call's
-- lead.updated and a conversation's detail; message.status as soon as a text is
-- handed to Twilio or fails; sandbox number searches without taken numbers.
BEGIN;
SELECT plan(8);

CREATE TEMP TABLE o AS SELECT nmc_test.register('details@example.com', 'Details Plumbing') AS r;
CREATE TEMP TABLE t AS SELECT r ->> 'token' AS token, (r #>> '{business,id}')::uuid AS business_id FROM o;
INSERT INTO nmc.phone_numbers (business_id, phone) SELECT business_id, '+15125550100' FROM t;
UPDATE nmc.businesses SET forward_to_phone = '+15125550199' WHERE id = (SELECT business_id FROM t);
SELECT nmc.hours_replace((SELECT business_id FROM t), (SELECT jsonb_agg(jsonb_build_object('weekday', d, 'opens_at', '00:00', 'closes_at', '24:00'))
                                                        FROM generate_series(0, 6) d));
SELECT FROM nmc_test.twilio_post('/webhooks/twilio/voice', '{"CallSid": "CA00000000000000000000000000000d01", "From": "+15125550181", "To": "+15125550100", "CallStatus": "ringing"}');
SELECT FROM nmc_test.twilio_post('/webhooks/twilio/voice/dial', '{"CallSid": "CA00000000000000000000000000000d01", "From": "+15125550181", "To": "+15125550100", "DialCallStatus": "no-answer"}');

CREATE FUNCTION pg_temp.event(kind text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT nmc_test.events_numbered();
    SELECT body FROM nmc.events WHERE business_id = (SELECT business_id FROM t) AND type = kind ORDER BY seq DESC LIMIT 1 $$;
SELECT is(pg_temp.event('call.missed') #>> '{customer,phone}', '+15125550181', 'call.missed carries the customer');
SELECT is(pg_temp.event('conversation.created') #>> '{customer,phone}', '+15125550181', 'conversation.created carries the customer');
SELECT is(pg_temp.event('lead.updated') #>> '{customer,phone}', '+15125550181', 'the missed call''s lead.updated carries the customer');

CREATE TEMP TABLE cv AS SELECT id FROM nmc.conversations WHERE business_id = (SELECT business_id FROM t);
GRANT SELECT ON t, cv TO nmc_edge;
SET ROLE nmc_edge;
SELECT is((SELECT body #>> '{conversation,customer,phone}' FROM nmc_test.api('GET', '/api/conversations/' || (SELECT id FROM cv), NULL, (SELECT token FROM t))),
          '+15125550181', 'a conversation''s detail carries its customer');
RESET ROLE;

-- The greeting's job is handed to Twilio (as the dispatcher would apply it).
SELECT nmc.job_apply_success(j, (SELECT k FROM nmc.job_kinds k WHERE kind = 'twilio.sms.send'), 201,
                             jsonb_build_object('sid', 'SM' || repeat('d', 32), 'status', 'queued'), false)
  FROM nmc.jobs j WHERE j.kind = 'twilio.sms.send' AND j.business_id = (SELECT business_id FROM t);
SELECT is(pg_temp.event('message.status') ->> 'status', 'queued', 'message.status as soon as Twilio accepts the text');
UPDATE nmc.jobs SET status = 'queued' WHERE kind = 'twilio.sms.send' AND business_id = (SELECT business_id FROM t);
SELECT nmc.job_fail_permanently(j, (SELECT k FROM nmc.job_kinds k WHERE kind = 'twilio.sms.send'), 400, '21211', 'The ''To'' number is not a valid phone number.')
  FROM nmc.jobs j WHERE j.kind = 'twilio.sms.send' AND j.business_id = (SELECT business_id FROM t);
SELECT is(pg_temp.event('message.status') ->> 'status', 'failed', '… and when it fails');

-- Sandbox searches leave out numbers already taken.
CREATE TEMP TABLE found AS SELECT nmc.twilio_numbers_search_simulate(jsonb_populate_record(NULL::nmc.jobs, '{"payload": {"area_code": "512"}}')) AS r;
SELECT is((SELECT r #>> '{available_phone_numbers,0,phone_number}' FROM found), '+15125550101', 'a sandbox search skips a number already taken');
SELECT is((SELECT jsonb_array_length(r -> 'available_phone_numbers') FROM found), 10, '… and still offers ten');

SELECT * FROM finish();
ROLLBACK;
