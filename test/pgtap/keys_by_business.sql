-- keys_by_business.sql — tenant tables are keyed by (business_id, id) and their other
-- unique keys carry business_id (docs/scaling.md, "Keys for distribution"), yet what the
-- hot paths find without the business — a row by its id, a Twilio SID, a job's
-- idempotency key, a webhook's key, the inbox oldest first — still finds an index; keys
-- are unique per business; a follow-up job outlives its parent, still its business's.
BEGIN;
SELECT plan(8);

-- The first index a statement's plan uses (sequential scans off: with tables this small
-- the planner would scan them; what matters is which index it can use).
CREATE FUNCTION pg_temp.plan_index(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE line text;
BEGIN
    SET LOCAL enable_seqscan = off;
    FOR line IN EXECUTE 'EXPLAIN ' || q LOOP
        IF line ~ '(using|Bitmap Index Scan on) \S+' THEN
            RETURN (regexp_match(line, '(?:using|Bitmap Index Scan on) (\S+)'))[1];
        END IF;
    END LOOP;
    RETURN NULL;
END $$;

SELECT is((SELECT array_agg(t || ' by ' || coalesce(used, 'no index') ORDER BY t)
             FROM unnest(ARRAY['ai_turns', 'calls', 'conversations', 'customers', 'jobs', 'leads', 'messages', 'phone_numbers',
                               'timers', 'users', 'webhook_inbox']) t,
                  LATERAL pg_temp.plan_index(format('SELECT * FROM nmc.%I WHERE id = %s', t,
                      CASE WHEN t IN ('jobs', 'timers', 'webhook_inbox') THEN '1' ELSE '''00000000-0000-0000-0000-000000000001''' END)) used
            WHERE used IS DISTINCT FROM t || '_id'),
          NULL, 'a row found by its id alone, without its business, goes through the plain index on id');
SELECT is(pg_temp.plan_index('SELECT * FROM nmc.webhook_inbox WHERE failed_at IS NULL ORDER BY id LIMIT 500 FOR UPDATE SKIP LOCKED'),
          'webhook_inbox_id', 'the inbox worker takes webhooks oldest first through the index on id');
SELECT is(ARRAY[pg_temp.plan_index($$SELECT * FROM nmc.calls WHERE twilio_call_sid = 'CA0123'$$),
                pg_temp.plan_index($$SELECT * FROM nmc.owner_texts WHERE twilio_sid = 'SM0123'$$),
                pg_temp.plan_index($$SELECT * FROM nmc.phone_numbers WHERE twilio_sid = 'PN0123' AND detached_at IS NULL$$),
                pg_temp.plan_index($$SELECT * FROM nmc.jobs WHERE idempotency_key = 'k'$$),
                pg_temp.plan_index($$SELECT * FROM nmc.webhook_inbox WHERE kind = 'sms' AND webhook_key = 'SM0123'$$),
                pg_temp.plan_index($$SELECT * FROM nmc.ai_turns WHERE conversation_id = '00000000-0000-0000-0000-000000000001' AND status = 'running'$$)],
          ARRAY['calls_twilio_call_sid_key', 'owner_texts_twilio_sid_key', 'phone_numbers_twilio_sid_key', 'jobs_idempotency_key',
                'webhook_inbox_kind_webhook_key_key', 'ai_turns_one_running'],
          'a SID, an idempotency key, a webhook key, a running turn: found by the value alone through the key that carries business_id last');

-- Unique per business: the same idempotency key in two businesses is two jobs; in one, one.
CREATE TEMP TABLE b AS SELECT nmc_test.business_with_number('+15125550960') AS one, nmc_test.business_with_number('+15125550961') AS two;
CREATE TEMP TABLE j AS
SELECT nmc.job_enqueue('twilio.sms.send', one, '{}', 'keys-test') AS first, nmc.job_enqueue('twilio.sms.send', one, '{}', 'keys-test') AS again,
       nmc.job_enqueue('twilio.sms.send', two, '{}', 'keys-test') AS other
  FROM b;
SELECT is((SELECT (again).id FROM j), (SELECT (first).id FROM j), 'a job queued again with its key is the same job');
SELECT ok((SELECT (other).id <> (first).id AND (other).business_id = b.two FROM j, b),
          'the same key in another business is that business''s own job, never the first one''s');

-- A webhook delivered again to the same business is recorded once.
SELECT is((SELECT count(*) FROM (SELECT nmc.webhook_inbox_put('sms', 'SM' || lpad('960', 32, '0'), pn, '{"Body":"hi"}')
                                   FROM nmc.phone_numbers pn, generate_series(1, 2) WHERE pn.phone = '+15125550960') x), 2::bigint, 'delivered twice');
SELECT is((SELECT count(*) FROM nmc.webhook_inbox WHERE webhook_key = 'SM' || lpad('960', 32, '0')), 1::bigint, '… recorded once');

-- jobs.parent_id → (business_id, parent_id) ON DELETE SET NULL (parent_id): the child stays its business's.
CREATE TEMP TABLE child AS
SELECT nmc.job_enqueue('maps.geocode', b.one, '{}', NULL, (j.first).id) AS c FROM b, j;
DELETE FROM nmc.jobs WHERE id = (SELECT (first).id FROM j);
SELECT is((SELECT parent_id IS NULL AND business_id = (SELECT one FROM b) FROM nmc.jobs WHERE id = (SELECT (c).id FROM child)), true,
          'a follow-up job whose parent is deleted loses only its parent, not its business');

SELECT * FROM finish();
ROLLBACK;
