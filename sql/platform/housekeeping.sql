-- housekeeping.sql — periodic work run by pg_cron (minute granularity in
-- pg_cron 1.4; anything finer is the dispatcher's): the backstop that
-- recovers from a stalled or dead dispatcher, and retention.
CREATE FUNCTION nmc.dispatcher_backstop(OUT timers_fired int, OUT leases_requeued int)
LANGUAGE plpgsql
AS $$
DECLARE
    t bigint;
BEGIN
    -- Fire timers the dispatcher has left overdue for more than a few seconds.
    timers_fired := 0;
    FOR t IN SELECT id FROM nmc.timers
              WHERE fired_at IS NULL AND cancelled_at IS NULL
                AND due_at < now() - make_interval(secs => nmc.setting_int('backstop_grace_ms') / 1000.0)
              ORDER BY due_at LIMIT 1000 FOR UPDATE SKIP LOCKED
    LOOP
        IF nmc.timer_fire(t) THEN
            timers_fired := timers_fired + 1;
        END IF;
    END LOOP;
    -- In-flight jobs whose lease ran out go back to the queue.
    WITH expired AS (
        UPDATE nmc.jobs SET status = 'queued', lease_expires_at = NULL, next_attempt_at = now(), updated_at = now(),
               last_error = coalesce(last_error, 'lease expired before the attempt was recorded')
         WHERE status = 'in_flight' AND lease_expires_at < now() AND nmc.job_transition_allowed(status, 'queued')
        RETURNING 1)
    SELECT count(*) INTO leases_requeued FROM expired;
END
$$;
COMMENT ON FUNCTION nmc.dispatcher_backstop() IS
    'pg_cron, every minute: fires timers overdue by more than backstop_grace_ms and re-queues in-flight jobs whose lease expired — what the dispatcher does itself unless it is stuck or down.';

CREATE FUNCTION nmc.close_idle_conversations()
RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
    c nmc.conversations;
    n bigint := 0;
BEGIN
    FOR c IN SELECT * FROM nmc.conversations
              WHERE state = 'open' AND coalesce(last_message_at, created_at)
                    < now() - make_interval(hours => nmc.setting_int('conversation_idle_close_hours')::int)
              ORDER BY coalesce(last_message_at, created_at) LIMIT 10000 FOR UPDATE SKIP LOCKED
    LOOP
        PERFORM nmc.conversation_close(c);
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION nmc.close_idle_conversations() IS 'Closes open conversations idle for conversation_idle_close_hours (housekeeping); a new message then opens a fresh one.';

CREATE FUNCTION nmc.housekeeping(OUT jobs_deleted bigint, OUT attempts_deleted bigint, OUT timers_deleted bigint,
                                 OUT login_failures_deleted bigint, OUT events_deleted bigint, OUT conversations_closed bigint)
LANGUAGE plpgsql
AS $$
DECLARE
    keep interval := make_interval(hours => nmc.setting_int('job_retention_hours')::int);
BEGIN
    WITH d AS (DELETE FROM nmc.jobs WHERE status IN ('done', 'failed', 'cancelled') AND finished_at < now() - keep RETURNING id),
         a AS (DELETE FROM nmc.job_attempts WHERE job_id IN (SELECT id FROM d) OR finished_at < now() - keep RETURNING 1)
    SELECT (SELECT count(*) FROM d), (SELECT count(*) FROM a) INTO jobs_deleted, attempts_deleted;
    WITH d AS (DELETE FROM nmc.timers WHERE (fired_at < now() - keep) OR (cancelled_at < now() - keep) RETURNING 1)
    SELECT count(*) INTO timers_deleted FROM d;
    WITH d AS (DELETE FROM nmc.login_failures
                WHERE failed_at < now() - make_interval(secs => nmc.setting_int('login_failure_window_seconds')) RETURNING 1)
    SELECT count(*) INTO login_failures_deleted FROM d;
    DELETE FROM nmc.login_codes WHERE expires_at < now() - interval '1 day';
    conversations_closed := nmc.close_idle_conversations();
    -- Event numbers live on in nmc.event_counters, so deleting old events never reuses one.
    WITH d AS (DELETE FROM nmc.events WHERE created_at < now() - make_interval(hours => nmc.setting_int('event_retention_hours')::int) RETURNING 1)
    SELECT count(*) INTO events_deleted FROM d;
END
$$;
COMMENT ON FUNCTION nmc.housekeeping() IS
    'pg_cron, every 10 minutes: closes conversations idle for conversation_idle_close_hours, and deletes finished jobs, their attempts and past timers older than job_retention_hours, events older than event_retention_hours, login failures older than the rate-limit window, and sign-in codes a day past their expiry.';

-- pg_cron runs in cron.database_name, which make run sets to this database.
SELECT cron.schedule('nevermisscall-backstop', '* * * * *', 'SELECT nmc.dispatcher_backstop()');
SELECT cron.schedule('nevermisscall-housekeeping', '*/10 * * * *', 'SELECT nmc.housekeeping()');
