-- dispatcher_claims_a_backlog.sql — a backlog of texts committed at once is
-- claimed max_jobs at a time, with the dispatcher's plan made while the jobs
-- table was empty (its statistics then say no rows): the plan of a
-- long-running worker, held until the next re-plan. The claim once joined
-- the jobs to lease with the locking subquery that chose them; planned on an
-- empty table, it scanned every job and re-ran that subquery for each,
-- leasing the whole backlog in one claim (10,000 jobs: 22 s, every request
-- started at once past the concurrency limit).
BEGIN;
SELECT plan(5);

SELECT nmc.configure('{"twilio_account_sid":"ACffffffffffffffffffffffffffffffff","twilio_auth_token":"tok_secret_123456",
                       "twilio_api_base":"http://127.0.0.1:9/","public_url":"https://nmc.example.com"}');
INSERT INTO nmc.businesses (id, name, trade_type) VALUES ('b0000000-0000-0000-0000-0000000000c1', 'Backlog Plumbing', 'plumbing');
CREATE TEMP TABLE c AS SELECT * FROM nmc.customer_upsert('b0000000-0000-0000-0000-0000000000c1', '(512) 555-0177');

-- The worker's situation: a generic plan, made on an empty, analyzed table.
SET LOCAL plan_cache_mode = force_generic_plan;
TRUNCATE nmc.jobs CASCADE;
ANALYZE nmc.jobs;
SELECT is((SELECT count(*) FROM nmc.dispatcher_claim(64)), 0::bigint, 'an empty table: nothing to claim (the plan is made now)');

-- 1,000 texts committed at once.
SELECT count(nmc.sms_send('b0000000-0000-0000-0000-0000000000c1', (SELECT id FROM c), '+15125550100', 'backlog ' || g))
  FROM generate_series(1, 1000) g;

SELECT is((SELECT count(*) FROM nmc.dispatcher_claim(64)), 64::bigint, 'a claim of 64 returns 64 requests');
SELECT is((SELECT count(*) FROM nmc.jobs WHERE status = 'in_flight'), 64::bigint, '… and leases those 64, no more');
SELECT is((SELECT count(*) FROM nmc.jobs WHERE status = 'queued'), 936::bigint, 'the other 936 wait for the next claims');
SELECT is((SELECT count(*) FROM nmc.dispatcher_claim(64)), 64::bigint, 'the next claim takes the next 64');

SELECT * FROM finish();
ROLLBACK;
