-- number_detach.sql — a number attached from the owner's Twilio account can be
-- detached: its earlier webhooks go back on it (POST IncomingPhoneNumbers/{sid}.json
-- with them), then it is nobody's number (kept, detached, with its calls) and
-- can be listed and attached again; the same request twice is one job; a number
-- bought here is 409 number_not_attached, another business's 404.
BEGIN;
SELECT plan(16);

UPDATE nmc.jobs SET next_attempt_at = now() + interval '1 day' WHERE status = 'queued';
SELECT nmc.configure('{"twilio_account_sid":"","twilio_auth_token":""}');
CREATE TEMP TABLE reg AS SELECT nmc_test.register('number-detach@example.com', 'Detach Plumbing') AS body;
CREATE FUNCTION pg_temp.api(method text, path text, body jsonb DEFAULT NULL) RETURNS TABLE (status int, body jsonb)
LANGUAGE sql AS $$ SELECT a.status, a.body FROM nmc_test.api(method, path, body, (SELECT body ->> 'token' FROM reg)) a $$;
CREATE FUNCTION pg_temp.job(r jsonb) RETURNS nmc.jobs LANGUAGE sql AS $$ SELECT * FROM nmc.jobs WHERE id = (r #>> '{job,id}')::bigint $$;
CREATE FUNCTION pg_temp.mine() RETURNS uuid LANGUAGE sql AS $$ SELECT (body #>> '{user,business_id}')::uuid FROM reg $$;

-- Attach the sandbox account's first number (sandbox: jobs complete locally).
CREATE TEMP TABLE listing AS SELECT * FROM pg_temp.api('POST', '/api/phone-numbers/owned', '{}');
DO $$ BEGIN PERFORM * FROM nmc.dispatcher_claim(10); END $$;
CREATE TEMP TABLE attach AS SELECT * FROM pg_temp.api('POST', '/api/phone-numbers/attach',
    jsonb_build_object('twilio_sid', (SELECT (pg_temp.job(body)).result #>> '{numbers,0,twilio_sid}' FROM listing)));
DO $$ BEGIN PERFORM * FROM nmc.dispatcher_claim(10); END $$;
CREATE TEMP TABLE pn AS SELECT * FROM nmc.phone_numbers WHERE business_id = pg_temp.mine();
SELECT is((SELECT phone FROM pn), '+15555550197', 'the sandbox number is attached');

-- Refusals.
SELECT is((SELECT status || ' ' || (body #>> '{error,code}') FROM pg_temp.api('POST', '/api/phone-numbers/' || gen_random_uuid() || '/detach', '{}')),
          '404 not_found', 'a number that is not the business''s: 404 not_found');
SELECT is((SELECT status || ' ' || (body #>> '{error,code}') FROM pg_temp.api('POST', '/api/phone-numbers/nope/detach', '{}')),
          '404 not_found', 'not an id: 404 not_found');
INSERT INTO nmc.phone_numbers (business_id, phone) VALUES (nmc_test.business_with_number('+15125550791'), '+15125550792');
SELECT is((SELECT status || ' ' || (body #>> '{error,code}') FROM pg_temp.api('POST', '/api/phone-numbers/'
              || (SELECT id FROM nmc.phone_numbers WHERE phone = '+15125550792') || '/detach', '{}')),
          '404 not_found', 'another business''s number: 404 not_found');
INSERT INTO nmc.phone_numbers (business_id, phone, created_at) VALUES (pg_temp.mine(), '+15125550793', now() + interval '1 s');
SELECT is((SELECT status || ' ' || (body #>> '{error,code}') FROM pg_temp.api('POST', '/api/phone-numbers/'
              || (SELECT id FROM nmc.phone_numbers WHERE phone = '+15125550793') || '/detach', '{}')),
          '409 number_not_attached', 'a number bought here has nothing to put back: 409 number_not_attached');
DELETE FROM nmc.phone_numbers WHERE phone = '+15125550793';

-- Detach: one job, however often asked.
CREATE TEMP TABLE detach AS SELECT * FROM pg_temp.api('POST', '/api/phone-numbers/' || (SELECT id FROM pn) || '/detach', '{}');
SELECT is((SELECT status FROM detach), 202, 'detach: 202 with a job');
SELECT is((SELECT (body #>> '{job,id}') FROM pg_temp.api('POST', '/api/phone-numbers/' || (SELECT id FROM pn) || '/detach', '{}')),
          (SELECT body #>> '{job,id}' FROM detach), 'asked again while under way: the same job');
SELECT is((SELECT count(*) FROM nmc.dispatcher_claim(10)), 0::bigint, 'sandbox: the detach completes locally');
SELECT is((SELECT (pg_temp.job(body)).result -> 'restored_webhooks' FROM detach), (SELECT previous_webhooks FROM pn),
          'the number has its previous webhooks again');
SELECT ok((SELECT detached_at IS NOT NULL FROM nmc.phone_numbers WHERE id = (SELECT id FROM pn)), 'it is kept, detached');
SELECT is((SELECT body -> 'phone_numbers' FROM pg_temp.api('GET', '/api/phone-numbers')), '[]', 'it is no longer the business''s number');
SELECT is((nmc.webhook_tenant('+15555550197')).business_id, NULL, 'a webhook to it finds no business');
SELECT is((SELECT body #>> '{job,id}' FROM pg_temp.api('POST', '/api/phone-numbers/' || (SELECT id FROM pn) || '/detach', '{}')),
          (SELECT body #>> '{job,id}' FROM detach), 'asked again once done: the same job');

-- It is free again: listed, and attached anew.
CREATE TEMP TABLE relisting AS SELECT * FROM pg_temp.api('POST', '/api/phone-numbers/owned', '{}');
DO $$ BEGIN PERFORM * FROM nmc.dispatcher_claim(10); END $$;
SELECT ok((SELECT (pg_temp.job(body)).result -> 'numbers' @> '[{"phone_number":"+15555550197"}]' FROM relisting), 'listed again');
CREATE TEMP TABLE reattach AS SELECT * FROM pg_temp.api('POST', '/api/phone-numbers/attach',
    jsonb_build_object('twilio_sid', (SELECT twilio_sid FROM pn)));
DO $$ BEGIN PERFORM * FROM nmc.dispatcher_claim(10); END $$;
SELECT is((SELECT (pg_temp.job(r.body)).status || ' ' || ((pg_temp.job(r.body)).id <> (pg_temp.job(a.body)).id) FROM reattach r, attach a), 'done true',
          'attached again: a new job, done');

-- Real mode: the request puts back exactly what was kept.
SELECT nmc.configure('{"twilio_account_sid":"ACffffffffffffffffffffffffffffffff","twilio_auth_token":"tok_abcdef",
                       "twilio_api_base":"http://twilio.test","public_url":"https://nmc.example.com/"}');
INSERT INTO nmc.jobs (kind, business_id, payload)
VALUES ('twilio.numbers.detach', pg_temp.mine(),
        '{"twilio_sid":"PN0f1e2d3c4b5a69788796a5b4c3d2e1f0","phone_number":"+12175550143",
          "previous_webhooks":{"voice_url":"https://old.example.com/voice","voice_method":"GET","sms_url":"https://old.example.com/sms",
                               "sms_method":null,"status_callback":"","status_callback_method":"POST"}}');
SELECT is((SELECT method || ' ' || url || ' ' || body FROM nmc.dispatcher_claim(10) WHERE url LIKE '%/IncomingPhoneNumbers/PN%'),
          'POST http://twilio.test/2010-04-01/Accounts/ACffffffffffffffffffffffffffffffff/IncomingPhoneNumbers/PN0f1e2d3c4b5a69788796a5b4c3d2e1f0.json '
          || 'SmsMethod=POST&SmsUrl=https%3A%2F%2Fold.example.com%2Fsms&StatusCallback=&StatusCallbackMethod=POST'
          || '&VoiceMethod=GET&VoiceUrl=https%3A%2F%2Fold.example.com%2Fvoice',
          'detach: POST IncomingPhoneNumbers/{sid}.json with the kept webhooks (none: empty, no method: POST)');

SELECT * FROM finish();
ROLLBACK;
