-- owned_numbers.sql — a number the Twilio account already owns: the API lists
-- the account's numbers no business uses (with their current webhooks), and
-- attaching one sets our webhooks on it (POST IncomingPhoneNumbers/{sid}.json)
-- and records it for the business with the old ones kept to restore; in
-- sandbox mode both complete locally; refusals are 404 number_not_listed and
-- 409 number_taken.
BEGIN;
SELECT plan(14);

UPDATE nmc.jobs SET next_attempt_at = now() + interval '1 day' WHERE status = 'queued';
SELECT nmc.configure('{"twilio_account_sid":"","twilio_auth_token":""}');
CREATE TEMP TABLE reg AS SELECT nmc_test.register('owned-numbers@example.com', 'Owned Plumbing') AS body;
CREATE FUNCTION pg_temp.api(method text, path text, body jsonb DEFAULT NULL) RETURNS TABLE (status int, body jsonb)
LANGUAGE sql AS $$ SELECT a.status, a.body FROM nmc_test.api(method, path, body, (SELECT body ->> 'token' FROM reg)) a $$;
CREATE FUNCTION pg_temp.job_result(r jsonb) RETURNS jsonb LANGUAGE sql AS $$ SELECT result FROM nmc.jobs WHERE id = (r #>> '{job,id}')::bigint $$;

-- Sandbox: the "account" owns two fictional numbers.
SELECT is((SELECT status FROM pg_temp.api('POST', '/api/phone-numbers/attach', '{"twilio_sid":"PN0123456789abcdef0123456789abcdef"}')), 404,
          'attaching a number never listed: 404');
CREATE TEMP TABLE listing AS SELECT * FROM pg_temp.api('POST', '/api/phone-numbers/owned', '{}');
SELECT is((SELECT status FROM listing), 202, 'listing the account''s numbers: 202 with a job');
SELECT is((SELECT count(*) FROM nmc.dispatcher_claim(10)), 0::bigint, 'sandbox: the listing completes locally');
SELECT is((SELECT jsonb_agg(n ->> 'phone_number' ORDER BY n ->> 'phone_number') FROM listing, jsonb_array_elements(pg_temp.job_result(body) -> 'numbers') n),
          '["+15555550197", "+15555550198"]', 'it lists the sandbox account''s two numbers');
SELECT is((SELECT pg_temp.job_result(body) #>> '{numbers,0,webhooks,voice_url}' FROM listing), 'https://example.com/previous/voice',
          '… with the webhooks they have now');

CREATE TEMP TABLE attach AS
    SELECT * FROM pg_temp.api('POST', '/api/phone-numbers/attach',
                              jsonb_build_object('twilio_sid', (SELECT pg_temp.job_result(body) #>> '{numbers,0,twilio_sid}' FROM listing)));
SELECT is((SELECT status FROM attach), 202, 'attach: 202 with a job');
SELECT is((SELECT count(*) FROM nmc.dispatcher_claim(10)), 0::bigint, 'sandbox: the attach completes locally');
SELECT is((SELECT phone || ' ' || simulated || ' ' || (previous_webhooks ->> 'sms_url') FROM nmc.phone_numbers
            WHERE business_id = (SELECT (body #>> '{user,business_id}')::uuid FROM reg)),
          '+15555550197 true https://example.com/previous/sms', 'the number is the business''s, simulated, its old webhooks kept');
SELECT is((SELECT body #>> '{phone_numbers,0,previous_webhooks,voice_url}' FROM pg_temp.api('GET', '/api/phone-numbers')),
          'https://example.com/previous/voice', 'GET /api/phone-numbers shows the webhooks to restore');

-- Listed again: the attached number is no longer free.
CREATE TEMP TABLE relisting AS SELECT * FROM pg_temp.api('POST', '/api/phone-numbers/owned', '{}');
SELECT is((SELECT count(*) FROM nmc.dispatcher_claim(10)), 0::bigint, 'listing again completes');
SELECT is((SELECT jsonb_agg(n ->> 'phone_number') FROM relisting, jsonb_array_elements(pg_temp.job_result(body) -> 'numbers') n),
          '["+15555550198"]', 'a number a business uses is no longer listed');

-- Another business took the second number meanwhile: 409.
INSERT INTO nmc.phone_numbers (business_id, phone) VALUES (nmc_test.business_with_number('+15125550790'), '+15555550198');
SELECT is((SELECT body #>> '{error,code}' FROM pg_temp.api('POST', '/api/phone-numbers/attach',
              jsonb_build_object('twilio_sid', (SELECT pg_temp.job_result(body) #>> '{numbers,0,twilio_sid}' FROM relisting)))),
          'number_taken', 'a number another business took since the listing: 409 number_taken');

-- Real mode: the requests Twilio's API documents.
SELECT nmc.configure('{"twilio_account_sid":"ACffffffffffffffffffffffffffffffff","twilio_auth_token":"tok_abcdef",
                       "twilio_api_base":"http://twilio.test","public_url":"https://nmc.example.com/"}');
INSERT INTO nmc.jobs (kind, business_id, payload)
VALUES ('twilio.numbers.owned', (SELECT (body #>> '{user,business_id}')::uuid FROM reg), '{}'),
       ('twilio.numbers.attach', (SELECT (body #>> '{user,business_id}')::uuid FROM reg),
        '{"twilio_sid":"PN0f1e2d3c4b5a69788796a5b4c3d2e1f0","phone_number":"+12175550143"}');
CREATE TEMP TABLE reqs AS SELECT * FROM nmc.dispatcher_claim(10);
SELECT is((SELECT method || ' ' || url FROM reqs WHERE url LIKE '%IncomingPhoneNumbers.json%'),
          'GET http://twilio.test/2010-04-01/Accounts/ACffffffffffffffffffffffffffffffff/IncomingPhoneNumbers.json?PageSize=1000',
          'listing: GET IncomingPhoneNumbers.json');
SELECT ok((SELECT url LIKE '%/IncomingPhoneNumbers/PN0f1e2d3c4b5a69788796a5b4c3d2e1f0.json' AND method = 'POST'
                  AND string_to_array(body, '&') @> ARRAY['VoiceUrl=https%3A%2F%2Fnmc.example.com%2Fwebhooks%2Ftwilio%2Fvoice',
                                                          'SmsUrl=https%3A%2F%2Fnmc.example.com%2Fwebhooks%2Ftwilio%2Fsms',
                                                          'StatusCallback=https%3A%2F%2Fnmc.example.com%2Fwebhooks%2Ftwilio%2Fvoice%2Fstatus']
             FROM reqs WHERE url LIKE '%/IncomingPhoneNumbers/PN%'),
          'attach: POST IncomingPhoneNumbers/{sid}.json with our three webhooks under the public URL');

SELECT * FROM finish();
ROLLBACK;
