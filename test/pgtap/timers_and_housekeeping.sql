-- timers_and_housekeeping.sql — timers fire once (never when cancelled, and a
-- failing handler is recorded, not retried); the pg_cron backstop recovers
-- overdue timers and expired leases; housekeeping keeps tables bounded; DBA
-- retry/cancel; idempotency keys; backoff arithmetic; SMS text rules.
BEGIN;
SELECT plan(36);

INSERT INTO nmc.businesses (id, name, trade_type) VALUES ('b0000000-0000-0000-0000-000000000003', 'Cool Air', 'hvac');
CREATE TABLE nmc_test.fired (timer_id bigint, payload jsonb);
CREATE FUNCTION nmc.test_timer_record(t nmc.timers) RETURNS void LANGUAGE sql AS $$
    INSERT INTO nmc_test.fired VALUES (t.id, t.payload) $$;
CREATE FUNCTION nmc.test_timer_explode(t nmc.timers) RETURNS void LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'handler exploded'; END $$;
CREATE FUNCTION nmc.test_timer_deadlock(t nmc.timers) RETURNS void LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'deadlock stand-in' USING ERRCODE = 'deadlock_detected'; END $$;
INSERT INTO nmc.timer_kinds VALUES ('test.record', 'test_timer_record', 'test'), ('test.explode', 'test_timer_explode', 'test'),
                                   ('test.deadlock', 'test_timer_deadlock', 'test');

CREATE TEMP TABLE t1 AS SELECT * FROM nmc.timer_set('b0000000-0000-0000-0000-000000000003', 'test.record', NULL, now() - interval '1 s', '{"n":1}');
CREATE TEMP TABLE t2 AS SELECT * FROM nmc.timer_set('b0000000-0000-0000-0000-000000000003', 'test.record', NULL, now() + interval '1 hour', '{"n":2}');
CREATE TEMP TABLE t3 AS SELECT * FROM nmc.timer_set('b0000000-0000-0000-0000-000000000003', 'test.explode', NULL, now() - interval '1 s');
SELECT ok((SELECT id FROM t1) = ANY (ARRAY(SELECT nmc.dispatcher_due_timers(100))), 'a past-due timer is due');
SELECT ok(NOT (SELECT id FROM t2) = ANY (ARRAY(SELECT nmc.dispatcher_due_timers(100))), 'a future timer is not');
SELECT ok(nmc.timer_fire((SELECT id FROM t1)), 'firing a due timer');
SELECT is((SELECT payload FROM nmc_test.fired), '{"n": 1}'::jsonb, '… runs its handler with the timer');
SELECT ok(NOT nmc.timer_fire((SELECT id FROM t1)), 'a timer fires only once');
SELECT ok(NOT nmc.timer_fire((SELECT id FROM t2)), 'a timer does not fire early');
SELECT ok(nmc.timer_cancel((SELECT id FROM t2)), 'cancelling a pending timer');
UPDATE nmc.timers SET due_at = now() - interval '1 s' WHERE id = (SELECT id FROM t2);
SELECT ok(NOT nmc.timer_fire((SELECT id FROM t2)), 'a cancelled timer never fires');
SELECT ok(nmc.timer_fire((SELECT id FROM t3)), 'a timer whose handler fails still counts as fired');
SELECT is((SELECT error FROM nmc.timers WHERE id = (SELECT id FROM t3)), 'handler exploded', '… and the error is recorded on it');
CREATE TEMP TABLE t5 AS SELECT * FROM nmc.timer_set('b0000000-0000-0000-0000-000000000003', 'test.deadlock', NULL, now() - interval '1 s');
SELECT throws_ok(format('SELECT nmc.timer_fire(%s)', (SELECT id FROM t5)), '40P01', 'deadlock stand-in',
                 'a handler that meets a deadlock undoes the firing (the dispatcher rolls back and tries again)');
SELECT is((SELECT fired_at IS NULL AND error IS NULL FROM nmc.timers WHERE id = (SELECT id FROM t5)), true, '… so the timer is still due');
DELETE FROM nmc.timers WHERE id = (SELECT id FROM t5);

-- The backstop: what the dispatcher would have done, if it were down.
CREATE TEMP TABLE t4 AS SELECT * FROM nmc.timer_set('b0000000-0000-0000-0000-000000000003', 'test.record', NULL, now() - interval '30 s', '{"n":4}');
INSERT INTO nmc.jobs (business_id, kind, payload, status, attempts, lease_expires_at)
VALUES ('b0000000-0000-0000-0000-000000000003', 'twilio.sms.send', '{"message_id":"00000000-0000-0000-0000-000000000001"}', 'in_flight', 1, now() - interval '1 s');
SELECT is((SELECT timers_fired || '/' || leases_requeued FROM nmc.dispatcher_backstop()), '1/1', 'the backstop fires the overdue timer and requeues the expired lease');
SELECT is((SELECT count(*) FROM nmc_test.fired WHERE (payload ->> 'n') = '4'), 1::bigint, '… the timer''s handler ran');
SELECT is((SELECT status FROM nmc.jobs WHERE payload ->> 'message_id' = '00000000-0000-0000-0000-000000000001'), 'queued', '… the job is queued again');
SELECT ok((SELECT count(*) = 3 FROM cron.job WHERE jobname IN ('nevermisscall-backstop', 'nevermisscall-housekeeping', 'nevermisscall-health')),
          'pg_cron runs the backstop, housekeeping and the health report');
DELETE FROM nmc.system_state;
SELECT ok(nmc.report_system_health() >= 1, 'a first health report tells every business');
SELECT nmc_test.events_numbered();
SELECT is((SELECT body ? 'dispatcher_running' FROM nmc.events WHERE business_id = 'b0000000-0000-0000-0000-000000000003' AND type = 'system.health'), true,
          '… as a system.health event');
SELECT is(nmc.report_system_health(), 0, 'an unchanged state is not reported again');

-- DBA controls.
CREATE TEMP TABLE j AS SELECT * FROM nmc.job_enqueue('maps.geocode', 'b0000000-0000-0000-0000-000000000003', '{"address":"x"}', 'geo-key-1', NULL, now() + interval '1 hour');
SELECT is((nmc.job_enqueue('maps.geocode', 'b0000000-0000-0000-0000-000000000003', '{"address":"y"}', 'geo-key-1')).id, (SELECT id FROM j),
          'an idempotency key already used returns the existing job');
SELECT is((nmc.job_cancel((SELECT id FROM j))).status, 'cancelled', 'a queued job can be cancelled');
SELECT throws_ok($$ SELECT nmc.job_cancel((SELECT id FROM j)) $$, '55000', NULL, 'cancelling twice is refused');
SELECT is((SELECT status || ' ' || attempts FROM nmc.job_retry((SELECT id FROM j))), 'queued 0', 'a cancelled job can be retried');

-- Housekeeping.
UPDATE nmc.jobs SET status = 'done', finished_at = now() - interval '8 days' WHERE id = (SELECT id FROM j);
INSERT INTO nmc.login_failures (scope, key, failed_at) VALUES ('email', 'old@example.com', now() - interval '2 days');
SELECT nmc.emit_event('b0000000-0000-0000-0000-000000000003', 'test.old', '{}') IS NULL;
SELECT nmc_test.events_numbered();
UPDATE nmc.events SET created_at = now() - interval '31 days' WHERE type = 'test.old';
SELECT is((SELECT jobs_deleted >= 1 AND login_failures_deleted >= 1 AND events_deleted >= 1 FROM nmc.housekeeping()), true,
          'housekeeping deletes old finished jobs, login failures and events');
SELECT is((SELECT count(*) FROM nmc.jobs WHERE id = (SELECT id FROM j)), 0::bigint, '… the job is gone');
SELECT nmc_test.business_with_number('+15125550900') IS NULL;
SELECT nmc_test.twilio_post('/webhooks/twilio/sms', jsonb_build_object('MessageSid', 'SM' || lpad('901', 32, '0'), 'From', '+15125550901',
                            'To', '+15125550900', 'Body', 'hi')) IS NULL;
UPDATE nmc.conversations SET last_message_at = now() - interval '25 hours'
 WHERE customer_id = (SELECT id FROM nmc.customers WHERE phone = '+15125550901');
SELECT ok((SELECT conversations_closed >= 1 FROM nmc.housekeeping()), 'housekeeping closes a conversation idle for 24 h');
SELECT is((SELECT state FROM nmc.conversations WHERE customer_id = (SELECT id FROM nmc.customers WHERE phone = '+15125550901')), 'closed',
          '… it is closed');

-- Backoff arithmetic.
SELECT nmc.configure('{"job_backoff_base_ms":"1000","job_backoff_max_ms":"8000","job_retry_after_max_ms":"60000"}');
SELECT ok((SELECT bool_and(nmc.job_backoff(5, NULL) BETWEEN interval '4 s' AND interval '8 s') FROM generate_series(1, 50)),
          'attempt 5 waits between half and all of the 8 s cap');
SELECT is(nmc.job_backoff(1, to_char(now() AT TIME ZONE 'GMT' + interval '30 s', 'Dy, DD Mon YYYY HH24:MI:SS') || ' GMT') > interval '28 s', true,
          'Retry-After as an HTTP date is honoured');
SELECT is(nmc.job_backoff(1, '86400'), interval '60 s', 'a huge Retry-After is capped');

-- The dispatcher's sleep plan: nothing pending means no deadline (it would
-- otherwise spin), a pending timer means its distance.
UPDATE nmc.timers SET cancelled_at = now() WHERE fired_at IS NULL AND cancelled_at IS NULL;
UPDATE nmc.jobs SET status = 'cancelled' WHERE status IN ('queued', 'in_flight');
SELECT is((SELECT ARRAY[next_job_due_ms, next_timer_due_ms] FROM nmc.dispatcher_plan()), ARRAY[NULL, NULL]::bigint[],
          'with nothing pending the plan has no deadline');
SELECT nmc.timer_set('b0000000-0000-0000-0000-000000000003', 'test.record', NULL, clock_timestamp() + interval '10 s') IS NULL;
SELECT ok((SELECT next_timer_due_ms BETWEEN 9000 AND 10000 FROM nmc.dispatcher_plan()), 'a timer 10 s away is planned 10 s away');

-- SMS text rules.
SELECT is((SELECT encoding || ' ' || segments FROM nmc.sms_segments(repeat('a', 160))), 'GSM-7 1', '160 GSM characters: one segment');
SELECT is((SELECT encoding || ' ' || segments FROM nmc.sms_segments(repeat('a', 161))), 'GSM-7 2', '161: two segments of 153');
SELECT is((SELECT units FROM nmc.sms_segments('Price: 10€ [approx]')), 22, '19 characters, three of them (€ [ ]) from the extension table at two septets: 22');
SELECT is((SELECT encoding || ' ' || segments FROM nmc.sms_segments('Thanks 👍 ' || repeat('a', 60))), 'UCS-2 1', 'an emoji forces UCS-2 (70 units fit)');

SELECT * FROM finish();
ROLLBACK;
