-- missed_call_batch_reads_by_key.sql — a batch of one missed call reads its call
-- and its customer by key, whatever plan the inbox worker holds: here the plans
-- are generic and made on empty, analyzed tables (a fresh install, or the start
-- of a burst), then a thousand calls from a thousand callers fill the tables.
-- Before, such a plan made each later batch read every call (calls_id) and every
-- customer of the business (customers_business_id_phone_key): a batch's cost
-- grew with the tables until the next ANALYZE. Counted with the transaction's
-- own index statistics (pg_stat_get_xact_tuples_returned).
BEGIN;
SELECT plan(4);

SET LOCAL plan_cache_mode = force_generic_plan;
CREATE TEMP TABLE b AS SELECT nmc_test.business_with_number('+15125550900') AS id;
TRUNCATE nmc.calls, nmc.customers CASCADE;
ANALYZE nmc.calls;
ANALYZE nmc.customers;
CREATE FUNCTION pg_temp.dial(n int) RETURNS int LANGUAGE sql AS $$
    SELECT status FROM nmc_test.twilio_accept('/webhooks/twilio/voice/dial',
        jsonb_build_object('CallSid', 'CA' || lpad(n::text, 32, '0'), 'From', '+1512' || (5000000 + n), 'To', '+15125550900',
                           'DialCallStatus', 'no-answer', 'DialBridged', 'false', 'CallStatus', 'in-progress')) $$;
CREATE FUNCTION pg_temp.returned(index_name text) RETURNS bigint LANGUAGE sql AS $$
    SELECT pg_stat_get_xact_tuples_returned(('nmc.' || index_name)::regclass) $$;

-- The plans are made now, on the empty tables.
SELECT pg_temp.dial(1);
SELECT is(nmc.webhook_inbox_run(500, false), 1, 'a first missed call is applied (the batch''s plans are made on empty tables)');
-- A thousand more callers.
SELECT count(pg_temp.dial(n)) FROM generate_series(2, 1001) n;
SELECT is(nmc.webhook_inbox_run(1000, false), 1000, 'a thousand more are applied');

SELECT pg_temp.dial(5000);
CREATE TEMP TABLE before AS SELECT pg_temp.returned('calls_id') AS calls, pg_temp.returned('customers_business_id_phone_key') AS customers;
SELECT nmc.webhook_inbox_run(500, false);
SELECT cmp_ok(pg_temp.returned('calls_id') - (SELECT calls FROM before), '<=', 5::bigint,
              'the next batch of one reads its call by id, not the thousand others');
SELECT cmp_ok(pg_temp.returned('customers_business_id_phone_key') - (SELECT customers FROM before), '<=', 5::bigint,
              '… and its customer by key, not the business''s thousand others');

SELECT * FROM finish();
ROLLBACK;
