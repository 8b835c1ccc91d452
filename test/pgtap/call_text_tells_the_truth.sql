-- call_text_tells_the_truth.sql — a missed call says where its text is, and
-- its lead says why the text never arrived, whichever way it failed: Twilio
-- reporting it undelivered, the send failing for good, or the text dropped as
-- too late after an outage; and a call told "we will text you" by the edge
-- during a database outage (replayed with its edge document's spooled_at) is missed, reason
-- outage, as of when it arrived.
BEGIN;
SELECT plan(12);

CREATE TEMP TABLE b AS SELECT nmc_test.business_with_number('+15125550600') AS id;
CREATE FUNCTION pg_temp.missed(sid text, caller text) RETURNS nmc.calls LANGUAGE plpgsql AS $$
BEGIN
    PERFORM nmc_test.twilio_post('/webhooks/twilio/voice', jsonb_build_object('CallSid', sid, 'From', caller, 'To', '+15125550600', 'CallStatus', 'ringing'));
    PERFORM nmc_test.twilio_post('/webhooks/twilio/voice/dial', jsonb_build_object('CallSid', sid, 'From', caller, 'To', '+15125550600',
                                 'DialCallStatus', 'no-answer', 'DialBridged', 'false'));
    RETURN (SELECT c FROM nmc.calls c WHERE twilio_call_sid = sid);
END $$;
CREATE FUNCTION pg_temp.lead_error(lead uuid) RETURNS text LANGUAGE sql AS $$ SELECT delivery_error FROM nmc.leads WHERE id = lead $$;
CREATE FUNCTION pg_temp.text_of(sid text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT nmc.call_json(c) -> 'text' FROM nmc.calls c WHERE twilio_call_sid = sid $$;

-- 1. Twilio reports the greeting undelivered.
CREATE TEMP TABLE c1 AS SELECT * FROM pg_temp.missed('CA' || lpad('601', 32, '0'), '+15125550601');
SELECT is(pg_temp.text_of('CA' || lpad('601', 32, '0')) ->> 'status', 'pending', 'a texted call says its text is pending at first');
UPDATE nmc.messages SET twilio_sid = 'SM' || lpad('601', 32, '0'), status = 'queued' WHERE id = (SELECT message_id FROM c1);
SELECT nmc_test.twilio_post('/webhooks/twilio/sms/status', jsonb_build_object('MessageSid', 'SM' || lpad('601', 32, '0'),
       'MessageStatus', 'undelivered', 'ErrorCode', '30003', 'From', '+15125550600', 'To', '+15125550601')) IS NULL;
SELECT is(pg_temp.text_of('CA' || lpad('601', 32, '0')) - 'error_message', '{"status": "undelivered", "error_code": 30003}',
          'undelivered, with Twilio''s code');
SELECT is((SELECT pg_temp.lead_error(lead_id) FROM c1), 'Twilio delivery error 30003', 'the lead says the text did not arrive');

-- 2. The send fails for good (Twilio refused it).
CREATE TEMP TABLE c2 AS SELECT * FROM pg_temp.missed('CA' || lpad('602', 32, '0'), '+15125550602');
SELECT nmc.twilio_sms_send_failed(j, '21612', 'The ''To'' phone number is not currently reachable via SMS')
  FROM nmc.jobs j WHERE j.payload ->> 'message_id' = (SELECT message_id::text FROM c2);
SELECT is(pg_temp.text_of('CA' || lpad('602', 32, '0')) ->> 'status', 'failed', 'a send that failed for good: failed');
SELECT is((SELECT pg_temp.lead_error(lead_id) FROM c2), 'The ''To'' phone number is not currently reachable via SMS',
          '… with the provider''s reason on the lead');
SELECT nmc_test.events_numbered();
SELECT ok((SELECT count(*) FROM nmc.events WHERE business_id = (SELECT id FROM b) AND type = 'lead.updated'
             AND body ->> 'delivery_error' IS NOT NULL) >= 2, 'the dashboard hears it (lead.updated)');

-- 3. Too late after an outage: dropped, the owner told.
CREATE TEMP TABLE c3 AS SELECT * FROM pg_temp.missed('CA' || lpad('603', 32, '0'), '+15125550603');
SELECT nmc.job_drop(j, 'stale', 'this text could not go out for 95 minutes (a provider outage); too late to send')
  FROM nmc.jobs j WHERE j.payload ->> 'message_id' = (SELECT message_id::text FROM c3);
SELECT is(pg_temp.text_of('CA' || lpad('603', 32, '0')) ->> 'status', 'dropped', 'too late: dropped');
SELECT is((SELECT pg_temp.lead_error(lead_id) FROM c3), 'this text could not go out for 95 minutes (a provider outage); too late to send',
          '… and the lead says why');
SELECT is((SELECT to_phone FROM nmc.messages WHERE business_id = (SELECT id FROM b) AND to_phone = '+15125550199'
             AND body LIKE '#_ Texting was down: +15125550603 was not texted back%'), '+15125550199', 'the owner is texted to call back');

-- The leads list shows the last call's text too.
SELECT set_config('nmc.business_id', (SELECT id::text FROM b), true) IS NULL;
SELECT is((SELECT l -> 'last_call' ->> 'text_status' FROM jsonb_array_elements((nmc.api_leads_list('{"query": {}}')).body -> 'leads') l
            WHERE l ->> 'id' = (SELECT lead_id::text FROM c3)), 'dropped', 'the leads list shows where the last call''s text is');

-- 4. A call the edge answered while the database was down, replayed later.
SELECT is((SELECT status FROM nmc_api.handle('POST', '/webhooks/twilio/voice', '{}',
              jsonb_build_object('content-type', 'application/x-www-form-urlencoded',
                  'x-twilio-signature', nmc.twilio_signature(rtrim(nmc.setting('public_url'), '/') || '/webhooks/twilio/voice',
                      ARRAY['CallSid', 'CA' || lpad('604', 32, '0'), 'From', '+15125550604', 'To', '+15125550600', 'CallStatus', 'ringing'],
                      nmc.webhook_signing_token())),
              '127.0.0.1', nmc.form_encode(jsonb_build_object('CallSid', 'CA' || lpad('604', 32, '0'), 'From', '+15125550604',
                                                               'To', '+15125550600', 'CallStatus', 'ringing')), NULL,
              jsonb_build_object('spooled_at', (floor(extract(epoch FROM now() - interval '3 minutes') * 1000))::bigint))), 200,
          'a replayed incoming call is accepted');
SELECT nmc_test.inbox_drain() IS NULL;
SELECT is((SELECT missed_reason || ' ' || decision || ' ' || (abs(extract(epoch FROM created_at - (now() - interval '3 minutes'))) < 1)
             FROM nmc.calls WHERE twilio_call_sid = 'CA' || lpad('604', 32, '0')), 'outage texted true',
          'it is a missed call (the caller was told a text is coming), texted, as of when the edge received it');

SELECT * FROM finish();
ROLLBACK;
