-- job_lifecycle.sql — the dispatcher's SQL side driven by hand inside one
-- transaction (the worker never sees uncommitted jobs): claiming builds the
-- Twilio request with credentials only in memory; completing applies 2xx to
-- the domain, retries transient failures with backoff and Retry-After, fails
-- permanent ones with their domain effects, and ignores stale attempts.
BEGIN;
SELECT plan(38);

SELECT nmc.configure('{"twilio_account_sid":"ACffffffffffffffffffffffffffffffff","twilio_auth_token":"tok_secret_123456",
                       "twilio_api_base":"http://127.0.0.1:9/","public_url":"https://nmc.example.com",
                       "job_backoff_base_ms":"1000","job_backoff_max_ms":"60000"}');
INSERT INTO nmc.businesses (id, name, trade_type) VALUES ('b0000000-0000-0000-0000-000000000001', 'Pipes', 'plumbing');
CREATE TEMP TABLE c AS SELECT * FROM nmc.customer_upsert('b0000000-0000-0000-0000-000000000001', '(512) 555-0143');
CREATE TEMP TABLE m AS SELECT * FROM nmc.sms_send('b0000000-0000-0000-0000-000000000001', (SELECT id FROM c), '+15125550100', 'Hi & welcome');
-- Only this test's jobs: anything else queued must not be claimed here.
UPDATE nmc.jobs SET next_attempt_at = now() + interval '1 day' WHERE payload ->> 'message_id' IS DISTINCT FROM (SELECT id::text FROM m) AND status = 'queued';

SELECT is((SELECT status FROM nmc.jobs WHERE payload ->> 'message_id' = (SELECT id::text FROM m)), 'queued', 'sms_send queues a twilio.sms.send job');
SELECT is((SELECT status FROM m), 'pending', 'the message is pending until Twilio accepts it');
SELECT is((SELECT count(*) FROM nmc.jobs WHERE payload::text LIKE '%tok_secret%'), 0::bigint, 'no secret in the job');

CREATE TEMP TABLE claimed AS SELECT * FROM nmc.dispatcher_claim(10);
SELECT is((SELECT count(*) FROM claimed), 1::bigint, 'claim returns the due job');
SELECT is((SELECT url FROM claimed), 'http://127.0.0.1:9/2010-04-01/Accounts/ACffffffffffffffffffffffffffffffff/Messages.json',
          'the request goes to Messages.json of the account under the configured base');
SELECT is((SELECT method FROM claimed), 'POST', '… as a POST');
SELECT is((SELECT body FROM claimed),
          'Body=Hi%20%26%20welcome&From=%2B15125550100&StatusCallback=https%3A%2F%2Fnmc.example.com%2Fwebhooks%2Ftwilio%2Fsms%2Fstatus&To=%2B15125550143',
          '… form-encoded with To, From, Body and our status callback');
SELECT ok((SELECT 'Content-Type: application/x-www-form-urlencoded' = ANY (headers) FROM claimed), '… with the form content type');
SELECT is((SELECT basic_user || ':' || basic_password FROM claimed), 'ACffffffffffffffffffffffffffffffff:tok_secret_123456', '… and HTTP Basic credentials');
SELECT is((SELECT status || '/' || attempts FROM nmc.jobs WHERE id = (SELECT job_id FROM claimed)), 'in_flight/1', 'the job is in flight, attempt 1');
SELECT ok((SELECT lease_expires_at > now() FROM nmc.jobs WHERE id = (SELECT job_id FROM claimed)), 'with a lease');
SELECT is((SELECT count(*) FROM nmc.dispatcher_claim(10)), 0::bigint, 'a leased job is not claimed twice');

-- A 503: retried with backoff.
SELECT is(nmc.dispatcher_complete((SELECT job_id FROM claimed), 1, 503, NULL, '{"code":20500,"message":"Internal"}', NULL, 12.5), 'retry', '503 → retry');
SELECT ok((SELECT next_attempt_at BETWEEN now() + interval '0.49 s' AND now() + interval '1.01 s' FROM nmc.jobs WHERE id = (SELECT job_id FROM claimed)),
          'first retry after 0.5–1 s (1 s base with jitter)');
SELECT is((SELECT error_code FROM nmc.jobs WHERE id = (SELECT job_id FROM claimed)), '20500', 'the provider code is kept');

-- A 429 with Retry-After: honoured.
UPDATE nmc.jobs SET next_attempt_at = now() WHERE id = (SELECT job_id FROM claimed);
SELECT is((SELECT count(*) FROM nmc.dispatcher_claim(10)), 1::bigint, 'due again: claimed');
SELECT is(nmc.dispatcher_complete((SELECT job_id FROM claimed), 2, 429, '7', '{"code":20429,"message":"Too Many Requests"}', NULL, 3), 'retry', '429 → retry');
SELECT ok((SELECT next_attempt_at BETWEEN now() + interval '6.99 s' AND now() + interval '7.01 s' FROM nmc.jobs WHERE id = (SELECT job_id FROM claimed)),
          'Retry-After: 7 sets the next attempt 7 s later');

-- A transport error: retried; then the late answer of an old attempt is stale.
UPDATE nmc.jobs SET next_attempt_at = now() WHERE id = (SELECT job_id FROM claimed);
SELECT is((SELECT count(*) FROM nmc.dispatcher_claim(10)), 1::bigint, 'claimed for attempt 3');
SELECT is(nmc.dispatcher_complete((SELECT job_id FROM claimed), 2, 201, NULL, '{"sid":"SM00000000000000000000000000000000"}', NULL, 1), 'stale',
          'an answer for an earlier attempt is recorded as stale and applied to nothing');
SELECT is(nmc.dispatcher_complete((SELECT job_id FROM claimed), 3, 0, NULL, NULL, 'Failed to connect to 127.0.0.1 port 9 (tok_secret_123456)', 1), 'retry',
          'a connection error → retry');
SELECT is((SELECT last_error FROM nmc.jobs WHERE id = (SELECT job_id FROM claimed)), 'Failed to connect to 127.0.0.1 port 9 ([redacted])',
          'secrets are redacted from stored errors');

-- Success: the message gets its SID and status.
UPDATE nmc.jobs SET next_attempt_at = now() WHERE id = (SELECT job_id FROM claimed);
SELECT is((SELECT count(*) FROM nmc.dispatcher_claim(10)), 1::bigint, 'claimed for attempt 4');
SELECT is(nmc.dispatcher_complete((SELECT job_id FROM claimed), 4, 201, NULL,
          '{"sid":"SM0aa1bb2cc3dd4ee5ff60718293a4b5c6","status":"queued"}', NULL, 2), 'done', '201 → done');
SELECT is((SELECT twilio_sid || ' ' || status FROM nmc.messages WHERE id = (SELECT id FROM m)),
          'SM0aa1bb2cc3dd4ee5ff60718293a4b5c6 queued', 'the message row has the Twilio SID and status');
SELECT is((SELECT array_agg(outcome ORDER BY id) FROM nmc.job_attempts WHERE job_id = (SELECT job_id FROM claimed)),
          ARRAY['retry', 'retry', 'stale', 'retry', 'done'], 'every attempt is recorded');

-- Permanent failures and their domain effects.
CREATE FUNCTION pg_temp.send_and_fail(phone text, code int) RETURNS text LANGUAGE plpgsql AS $$
DECLARE cust uuid; msg uuid; jid bigint;
BEGIN
    cust := (nmc.customer_upsert('b0000000-0000-0000-0000-000000000001', phone)).id;
    msg := (nmc.sms_send('b0000000-0000-0000-0000-000000000001', cust, '+15125550100', 'hello')).id;
    SELECT job_id INTO jid FROM nmc.dispatcher_claim(10);
    RETURN nmc.dispatcher_complete(jid, 1, 400, NULL,
        format('{"code":%s,"message":"refused","more_info":"https://www.twilio.com/docs/errors/%s","status":400}', code, code), NULL, 1);
END $$;
SELECT is(pg_temp.send_and_fail('+15005550004', 21610), 'failed', '400 → failed at once');
SELECT nmc_test.events_numbered();
SELECT is((SELECT body ->> 'error_code' FROM nmc.events WHERE business_id = 'b0000000-0000-0000-0000-000000000001' AND type = 'job.failed'
            ORDER BY seq DESC LIMIT 1), '21610', 'a failed job is a job.failed event for the dashboard');
SELECT ok((SELECT opted_out_at IS NOT NULL FROM nmc.customers WHERE phone = '+15005550004'), '21610 marks the customer opted out');
SELECT is((SELECT status || ' ' || error_code FROM nmc.messages WHERE to_phone = '+15005550004'), 'failed 21610', 'the message is failed with the code');
SELECT throws_ok($$ SELECT nmc.sms_send('b0000000-0000-0000-0000-000000000001',
                        (SELECT id FROM nmc.customers WHERE phone = '+15005550004'), '+15125550100', 'again') $$,
                 'NM409', NULL, 'an opted-out customer gets no further texts');
SELECT is(pg_temp.send_and_fail('+15005550009', 21614), 'failed', '21614 → failed');
SELECT alike((SELECT sms_unreachable_reason FROM nmc.customers WHERE phone = '+15005550009'), '%21614%', '21614 marks the number unable to receive texts');
SELECT is(pg_temp.send_and_fail('+15005550001', 21211), 'failed', '21211 → failed');
SELECT ok((SELECT sms_unreachable_at IS NOT NULL FROM nmc.customers WHERE phone = '+15005550001'), '21211 marks the number unable to receive texts');

-- Giving up after max_attempts.
UPDATE nmc.job_kinds SET max_attempts = 1 WHERE kind = 'twilio.sms.send';
SELECT ok((nmc.sms_send('b0000000-0000-0000-0000-000000000001', (SELECT id FROM c), '+15125550100', 'last try')).id IS NOT NULL, 'one more text queued');
SELECT is((SELECT nmc.dispatcher_complete(job_id, 1, 500, NULL, 'oops', NULL, 1) FROM nmc.dispatcher_claim(10)), 'failed',
          'a transient failure on the last allowed attempt fails the job');
SELECT alike((SELECT last_error FROM nmc.jobs ORDER BY id DESC LIMIT 1), 'gave up after 1 attempts%', '… saying it gave up');

SELECT * FROM finish();
ROLLBACK;
