-- provider_requests.sql — each job kind builds the request its provider's
-- reference describes, applies answers (including Google's HTTP-200 errors),
-- and in sandbox mode Twilio kinds complete locally, marked simulated.
BEGIN;
SELECT plan(33);

INSERT INTO nmc.businesses (id, name, trade_type) VALUES ('b0000000-0000-0000-0000-000000000002', 'Sparks', 'electrical');
UPDATE nmc.jobs SET next_attempt_at = now() + interval '1 day' WHERE status = 'queued';
CREATE FUNCTION pg_temp.job(kind text, payload jsonb) RETURNS bigint LANGUAGE sql AS $$
    SELECT (nmc.job_enqueue(kind, 'b0000000-0000-0000-0000-000000000002', payload)).id $$;
CREATE FUNCTION pg_temp.claim_one() RETURNS SETOF record LANGUAGE sql AS $$ SELECT * FROM nmc.dispatcher_claim(1) $$;

-- Sandbox mode (no Twilio credentials): simulated, realistic, nothing sent.
SELECT nmc.configure('{"twilio_account_sid":"","twilio_auth_token":""}');
CREATE TEMP TABLE cu AS SELECT * FROM nmc.customer_upsert('b0000000-0000-0000-0000-000000000002', '+15125550199');
CREATE TEMP TABLE sm AS SELECT * FROM nmc.sms_send('b0000000-0000-0000-0000-000000000002', (SELECT id FROM cu), '+15125550100', 'Sandbox hello');
SELECT is((SELECT count(*) FROM nmc.dispatcher_claim(10)), 0::bigint, 'sandbox: no HTTP request is handed to the worker');
SELECT matches((SELECT twilio_sid FROM nmc.messages WHERE id = (SELECT id FROM sm)), '^SM[0-9a-f]{32}$', 'sandbox: the message gets a realistic SID');
SELECT is((SELECT status || ' ' || simulated FROM nmc.messages WHERE id = (SELECT id FROM sm)), 'simulated true', 'sandbox: the message says simulated, not sent');
SELECT is((SELECT status || ' ' || simulated FROM nmc.jobs WHERE payload ->> 'message_id' = (SELECT id::text FROM sm)), 'done true', 'sandbox: the job is done and marked simulated');
SELECT pg_temp.job('twilio.numbers.search', '{"area_code":"512"}') AS search_job \gset
SELECT is((SELECT count(*) FROM nmc.dispatcher_claim(10)), 0::bigint, 'sandbox: number search completes locally');
SELECT is((SELECT jsonb_array_length(result -> 'numbers') FROM nmc.jobs WHERE id = :search_job), 10, 'sandbox search offers ten numbers');
SELECT ok((SELECT bool_and(n ->> 'phone_number' ~ '^\+1512555010[0-9]|^\+151255501[0-9]{2}$') FROM nmc.jobs, jsonb_array_elements(result -> 'numbers') n WHERE id = :search_job),
          '… in the requested area code, from the fictional 555-01XX range');
SELECT pg_temp.job('twilio.numbers.buy', '{"phone_number":"+15125550110"}') AS buy_job \gset
SELECT is((SELECT count(*) FROM nmc.dispatcher_claim(10)), 0::bigint, 'sandbox: purchase completes locally');
SELECT is((SELECT phone || ' ' || simulated FROM nmc.phone_numbers WHERE business_id = 'b0000000-0000-0000-0000-000000000002'),
          '+15125550110 true', 'sandbox purchase records a simulated number for the business');

-- Real mode: requests as the providers document them.
SELECT nmc.configure('{"twilio_account_sid":"ACffffffffffffffffffffffffffffffff","twilio_auth_token":"tok_abcdef",
                       "twilio_api_base":"http://twilio.test","public_url":"https://nmc.example.com/",
                       "openai_api_key":"sk-test-key","openai_api_base":"http://openai.test/v1","openai_model":"gpt-4o-mini",
                       "maps_api_key":"maps-key-1","maps_api_base":"http://maps.test"}');
SELECT pg_temp.job('twilio.numbers.search', '{"area_code":"217"}') AS s2 \gset
SELECT is((SELECT url FROM nmc.dispatcher_claim(1)),
          'http://twilio.test/2010-04-01/Accounts/ACffffffffffffffffffffffffffffffff/AvailablePhoneNumbers/US/Local.json?AreaCode=217&PageSize=20&SmsEnabled=true&VoiceEnabled=true',
          'number search: GET Local.json by area code');
SELECT is(nmc.dispatcher_complete(:s2, 1, 200, NULL,
          '{"available_phone_numbers":[{"friendly_name":"(217) 555-0142","phone_number":"+12175550142","locality":"Springfield","region":"IL","postal_code":"62701"}]}', NULL, 1),
          'done', 'number search answer applied');
SELECT is((SELECT result #>> '{numbers,0,phone_number}' FROM nmc.jobs WHERE id = :s2), '+12175550142', 'the offered numbers are the job result');

SELECT pg_temp.job('twilio.numbers.buy', '{"phone_number":"+12175550142"}') AS b2 \gset
CREATE TEMP TABLE buy AS SELECT * FROM nmc.dispatcher_claim(1);
SELECT is((SELECT url FROM buy), 'http://twilio.test/2010-04-01/Accounts/ACffffffffffffffffffffffffffffffff/IncomingPhoneNumbers.json', 'purchase: POST IncomingPhoneNumbers.json');
SELECT ok((SELECT string_to_array(body, '&') @> ARRAY['SmsUrl=https%3A%2F%2Fnmc.example.com%2Fwebhooks%2Ftwilio%2Fsms',
                                                      'VoiceUrl=https%3A%2F%2Fnmc.example.com%2Fwebhooks%2Ftwilio%2Fvoice',
                                                      'StatusCallback=https%3A%2F%2Fnmc.example.com%2Fwebhooks%2Ftwilio%2Fvoice%2Fstatus',
                                                      'PhoneNumber=%2B12175550142'] FROM buy),
          'purchase sets VoiceUrl, SmsUrl and StatusCallback under the public URL');
SELECT is(nmc.dispatcher_complete(:b2, 1, 201, NULL, '{"sid":"PN0f1e2d3c4b5a69788796a5b4c3d2e1f0","phone_number":"+12175550142","friendly_name":"(217) 555-0142"}', NULL, 1),
          'done', 'purchase answer applied');
SELECT is((SELECT business_id::text FROM nmc.phone_numbers WHERE phone = '+12175550142'), 'b0000000-0000-0000-0000-000000000002', 'the bought number belongs to the business');

SELECT pg_temp.job('openai.chat', '{"request":{"messages":[{"role":"user","content":"hi"}],"temperature":0.2}}') AS oc \gset
CREATE TEMP TABLE chat AS SELECT * FROM nmc.dispatcher_claim(1);
SELECT is((SELECT url FROM chat), 'http://openai.test/v1/chat/completions', 'openai.chat: POST /chat/completions under the base');
SELECT ok((SELECT 'Authorization: Bearer sk-test-key' = ANY (headers) FROM chat), '… with the bearer key (in memory only)');
SELECT is((SELECT body::jsonb ->> 'model' FROM chat), 'gpt-4o-mini', '… and the configured model');
SELECT is(nmc.dispatcher_complete(:oc, 1, 401, NULL, '{"error":{"message":"Incorrect API key provided: sk-t****-key.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}', NULL, 1),
          'failed', 'OpenAI 401 fails the job');
SELECT is((SELECT error_code || ' / ' || last_error FROM nmc.jobs WHERE id = :oc), 'invalid_request_error / Incorrect API key provided: sk-t****-key.', '… with error.type and message');
SELECT is((SELECT count(*) FROM nmc.jobs WHERE (payload::text || coalesce(result::text, '') || coalesce(last_error, '')) ~ 'sk-test-key|tok_abcdef|maps-key-1'),
          0::bigint, 'no job holds a provider secret');

-- Through the batch entry point, as the worker calls it: apply errors are
-- sorted into retry and failure there. Returns the job's status afterwards.
CREATE FUNCTION pg_temp.geocode(answer text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE jid bigint := pg_temp.job('maps.geocode', '{"address":"12 Elm St, Springfield, IL"}');
BEGIN
    PERFORM nmc.dispatcher_claim(1);
    PERFORM nmc.dispatcher_complete_batch(ARRAY[jid], ARRAY[1], ARRAY[200], ARRAY[NULL::text], ARRAY[answer],
                                          ARRAY[NULL::text], ARRAY[1.0::float8]);
    RETURN (SELECT status FROM nmc.jobs WHERE id = jid);
END $$;
SELECT is((SELECT url FROM (SELECT pg_temp.job('maps.geocode', '{"address":"12 Elm St"}')) x, nmc.dispatcher_claim(1)),
          'http://maps.test/maps/api/geocode/json?address=12%20Elm%20St&key=maps-key-1', 'maps.geocode: GET geocode/json with address and key');
SELECT is(pg_temp.geocode('{"status":"OK","results":[{"formatted_address":"12 Elm St, Springfield, IL 62701, USA","geometry":{"location":{"lat":39.8,"lng":-89.65},"location_type":"ROOFTOP"},"address_components":[{"long_name":"62701","short_name":"62701","types":["postal_code"]}]}]}'),
          'done', 'geocode OK → done');
SELECT is((SELECT result ->> 'postal_code' || ' ' || (result ->> 'lat') FROM nmc.jobs WHERE kind = 'maps.geocode' AND status = 'done' ORDER BY id DESC LIMIT 1),
          '62701 39.8', '… with the point and postal code');
SELECT is(pg_temp.geocode('{"status":"ZERO_RESULTS","results":[]}'), 'done', 'ZERO_RESULTS is an answer, not an error');
SELECT is(pg_temp.geocode('{"status":"OVER_QUERY_LIMIT","results":[],"error_message":"slow down"}'), 'queued', 'OVER_QUERY_LIMIT (HTTP 200) → queued for a retry');
SELECT is(pg_temp.geocode('{"status":"REQUEST_DENIED","results":[],"error_message":"The provided API key is invalid."}'), 'failed', 'REQUEST_DENIED (HTTP 200) → failed');
SELECT is(pg_temp.geocode('<html>not json</html>'), 'failed', 'a 2xx that is not JSON fails');
SELECT is((SELECT error_code FROM nmc.jobs WHERE kind = 'maps.geocode' ORDER BY id DESC LIMIT 1), 'invalid_response', '… as invalid_response');
SELECT is((SELECT error_code || ' ' || outcome FROM nmc.jobs j JOIN nmc.job_attempts a ON a.job_id = j.id
            WHERE j.kind = 'maps.geocode' AND j.error_code = 'REQUEST_DENIED'), 'REQUEST_DENIED failed', 'the rejected attempt is recorded with the provider status');

-- A request that cannot be built fails alone.
SELECT pg_temp.job('twilio.sms.send', '{"message_id":"00000000-0000-0000-0000-000000000000"}') AS lost \gset
SELECT is((SELECT count(*) FROM nmc.dispatcher_claim(5)), 0::bigint, 'a job whose message is gone is not sent');
SELECT is((SELECT status || ' ' || error_code FROM nmc.jobs WHERE id = :lost), 'failed build_error', '… it fails with build_error');

SELECT * FROM finish();
ROLLBACK;
