-- dispatcher.sql — the SQL side of the dispatcher background worker
-- (extension/src/dispatcher*.c): waking it at commit, what it claims and how
-- it completes, its plan for sleeping, and what DBAs watch.
CREATE FUNCTION nmc.dispatcher_wake()
RETURNS void
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'nmc_dispatcher_wake';
COMMENT ON FUNCTION nmc.dispatcher_wake() IS 'Wakes the dispatcher when the current transaction commits (nothing happens if it rolls back).';

CREATE FUNCTION nmc.dispatcher_process(OUT pid int, OUT heartbeat_at timestamptz, OUT started_at timestamptz)
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'nmc_dispatcher_process';
COMMENT ON FUNCTION nmc.dispatcher_process() IS 'The dispatcher worker''s pid (NULL if not running), last heartbeat and start time, from shared memory.';

CREATE FUNCTION nmc.dispatcher_wake_trigger()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM nmc.dispatcher_wake();
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION nmc.dispatcher_wake_trigger() IS 'Statement trigger on jobs: new work wakes the dispatcher at commit. (Functions that change the schedule of existing work call nmc.dispatcher_wake themselves.)';
CREATE FUNCTION nmc.dispatcher_wake_at(due timestamptz)
RETURNS void
LANGUAGE c VOLATILE STRICT
AS 'MODULE_PATHNAME', 'nmc_dispatcher_wake_at';
COMMENT ON FUNCTION nmc.dispatcher_wake_at(timestamptz) IS 'Wakes the dispatcher when the current transaction commits, but only if work due at this time comes before the round the dispatcher has already planned.';

CREATE FUNCTION nmc.timer_wake_trigger()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM nmc.dispatcher_wake_at(min(due_at)) FROM added;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION nmc.timer_wake_trigger() IS 'Statement trigger on timers: new timers wake the dispatcher at commit only if the earliest is due before the dispatcher''s next planned round.';
CREATE TRIGGER jobs_wake AFTER INSERT ON nmc.jobs
    FOR EACH STATEMENT EXECUTE FUNCTION nmc.dispatcher_wake_trigger();
-- Per statement: the inbox worker opens many timers in one.
CREATE TRIGGER timers_wake AFTER INSERT ON nmc.timers
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION nmc.timer_wake_trigger();

CREATE FUNCTION nmc.dispatcher_claim(max_jobs int)
RETURNS TABLE (job_id bigint, attempt int, method text, url text, headers text[], body text,
               basic_user text, basic_password text, connect_timeout_ms int, total_timeout_ms int, body_bytes bytea)
LANGUAGE plpgsql
-- Leasing by id = ANY (an array of 1–64): left to choose, the plan cache kept re-planning
-- (a custom plan per claim, 0.19 ms) because a generic plan assumes ten elements.
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    j nmc.jobs;
    k nmc.job_kinds;
    req nmc.http_request;
    sandbox boolean := nmc.sandbox_mode();
    lease_margin_ms bigint := nmc.setting_int('dispatcher_lease_margin_ms');
    cfg jsonb := nmc.settings_json();
    simulated jsonb;
    probe_ids bigint[];
    due_ids bigint[];
    drop_code text;
    drop_message text;
BEGIN
    IF max_jobs <= 0 THEN
        RETURN;
    END IF;
    probe_ids := nmc.circuit_hold_and_probe();
    -- The claim need not wait for its WAL flush: if a crash loses it, the
    -- job is simply still queued, and delivery is at-least-once anyway.
    PERFORM set_config('synchronous_commit', 'off', true);
    -- The jobs to lease, chosen (and locked) first; then leased by id. One
    -- statement joining the two was planned, on statistics of an empty table,
    -- as a scan of every job re-running the locking subquery for each: a
    -- backlog of 10,000 committed at once took one claim 22 s.
    due_ids := ARRAY(
        SELECT d.id FROM (SELECT q.id FROM nmc.jobs q
                           WHERE q.status = 'queued' AND q.next_attempt_at <= now()
                           ORDER BY q.next_attempt_at LIMIT max_jobs FOR UPDATE SKIP LOCKED) d
        UNION ALL
        SELECT e.id FROM (SELECT x.id FROM nmc.jobs x
                           WHERE x.status = 'in_flight' AND x.lease_expires_at <= now()
                           ORDER BY x.lease_expires_at LIMIT max_jobs FOR UPDATE SKIP LOCKED) e
        UNION ALL
        SELECT unnest(probe_ids)
        LIMIT max_jobs + cardinality(probe_ids));
    FOR j IN
        UPDATE nmc.jobs SET status = 'in_flight', attempts = jobs.attempts + 1, updated_at = now(), held_at = NULL,
               lease_expires_at = now() + make_interval(secs => (kk.total_timeout_ms + lease_margin_ms) / 1000.0)
          FROM nmc.job_kinds kk
         WHERE jobs.id = ANY (due_ids) AND kk.kind = jobs.kind AND nmc.job_transition_allowed(jobs.status, 'in_flight')
        RETURNING jobs.*
    LOOP
        SELECT * INTO k FROM nmc.job_kinds WHERE kind = j.kind;
        BEGIN
            IF j.attempts - j.retry_budget_from > k.max_attempts THEN
                -- Only a lease that kept expiring gets here (crashes mid-flight).
                PERFORM nmc.job_fail_permanently(j, k, j.last_http_status, 'lease_expired',
                    format('gave up after %s attempts whose outcome was never recorded', j.attempts - 1));
                CONTINUE;
            END IF;
            simulated := CASE WHEN sandbox AND k.provider = 'twilio' THEN nmc.job_simulate(j) END;
            IF simulated IS NOT NULL THEN
                INSERT INTO nmc.job_attempts (job_id, business_id, attempt, outcome, http_status, duration_ms)
                VALUES (j.id, j.business_id, j.attempts, 'done', 201, 0);
                PERFORM nmc.job_apply_success(j, k, 201, simulated, true);
                CONTINUE;
            END IF;
            req := nmc.job_build_request(j, cfg);
            job_id := j.id;
            attempt := j.attempts;
            method := req.method;
            url := req.url;
            headers := req.headers;
            body := req.body;
            basic_user := req.basic_user;
            basic_password := req.basic_password;
            connect_timeout_ms := k.connect_timeout_ms;
            total_timeout_ms := k.total_timeout_ms;
            body_bytes := req.body_bytes;
            RETURN NEXT;
        EXCEPTION
            WHEN SQLSTATE 'NMD01' THEN
                -- No longer wanted at the moment it would go out (see nmc.job_not_wanted).
                GET STACKED DIAGNOSTICS drop_code = PG_EXCEPTION_DETAIL, drop_message = MESSAGE_TEXT;
                PERFORM nmc.job_drop(j, drop_code, drop_message);
                PERFORM nmc.circuit_probe_again(k.provider, j.id = ANY (probe_ids));
            WHEN OTHERS THEN
                -- Failed like any job: its kind's domain effects follow (a text marked failed, …).
                PERFORM nmc.job_fail_permanently(j, k, NULL, 'build_error', 'could not build the request: ' || SQLERRM);
                PERFORM nmc.circuit_probe_again(k.provider, j.id = ANY (probe_ids));
        END;
    END LOOP;
END
$$;
COMMENT ON FUNCTION nmc.dispatcher_claim(int) IS
    'Dispatcher: claims up to max_jobs due jobs (queued and due, or in flight with an expired lease) with SKIP LOCKED, plus the probe of each open provider circuit whose probe is due (nmc.circuit_hold_and_probe holds the rest), leases them, and returns their HTTP requests (body_bytes: a binary body, sent instead of body). Sandbox-mode Twilio jobs complete here, simulated. A job whose request cannot be built fails alone; one no longer wanted when it would go out (NMD01) is dropped (nmc.job_drop).';

CREATE FUNCTION nmc.dispatcher_complete(p_job_id bigint, p_attempt int, p_http_status int, p_retry_after text,
                                        p_body text, p_transport_error text, p_duration_ms double precision)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    j nmc.jobs;
    k nmc.job_kinds;
    parsed jsonb;
    outcome text;
    err_code text;
    err_message text;
BEGIN
    SELECT * INTO j FROM nmc.jobs WHERE id = p_job_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 'gone';
    END IF;
    IF j.status <> 'in_flight' OR j.attempts <> p_attempt THEN
        -- Cancelled meanwhile, or its lease expired and another attempt owns it.
        INSERT INTO nmc.job_attempts (job_id, business_id, attempt, outcome, http_status, error, duration_ms)
        VALUES (j.id, j.business_id, p_attempt, 'stale', nullif(p_http_status, 0), nmc.redact_secrets(p_transport_error), p_duration_ms);
        RETURN 'stale';
    END IF;
    SELECT * INTO k FROM nmc.job_kinds WHERE kind = j.kind;

    IF p_transport_error IS NOT NULL AND coalesce(p_http_status, 0) = 0 THEN
        outcome := nmc.job_retry_or_fail(j, k, NULL, 'transport_error', p_transport_error, NULL);
    ELSIF p_http_status IN (408, 429) OR p_http_status >= 500 THEN
        SELECT * INTO err_code, err_message FROM nmc.job_provider_error(k.provider, p_http_status, p_body);
        outcome := nmc.job_retry_or_fail(j, k, p_http_status, err_code, err_message, p_retry_after);
    ELSIF p_http_status BETWEEN 200 AND 299 THEN
        PERFORM nmc.circuit_success(k.provider);
        -- An apply function that finds the answer unusable raises NMR01
        -- (retry) or NMR02 (fail); nmc.dispatcher_complete_batch rolls this
        -- job back and calls nmc.dispatcher_reject for it.
        IF p_transport_error IS NOT NULL THEN
            PERFORM nmc.job_permanent_error(p_transport_error, 'invalid_response');
        END IF;
        -- A push service accepts with 201 and no body (RFC 8030 §5).
        IF k.provider = 'push' THEN
            parsed := '{}';
        ELSE
            BEGIN
                parsed := p_body::jsonb;
            EXCEPTION WHEN invalid_text_representation THEN
                PERFORM nmc.job_permanent_error('the provider answered with something that is not JSON', 'invalid_response');
            END;
        END IF;
        PERFORM nmc.job_apply_success(j, k, p_http_status, parsed, false);
        outcome := 'done';
    ELSE
        PERFORM nmc.circuit_success(k.provider);   -- up, and refusing this one request
        SELECT * INTO err_code, err_message FROM nmc.job_provider_error(k.provider, p_http_status, p_body);
        PERFORM nmc.job_fail_permanently(j, k, p_http_status, err_code, err_message);
        outcome := 'failed';
    END IF;

    INSERT INTO nmc.job_attempts (job_id, business_id, attempt, outcome, http_status, error, duration_ms)
    VALUES (j.id, j.business_id, p_attempt, outcome, nullif(p_http_status, 0),
            nmc.redact_secrets(coalesce(p_transport_error, err_message)), p_duration_ms);
    RETURN outcome;
END
$$;
COMMENT ON FUNCTION nmc.dispatcher_complete(bigint, int, int, text, text, text, double precision) IS
    'Dispatcher: records one HTTP attempt and moves the job on: 2xx → apply to the domain (the JSON answer; a push service''s has none) and done; transport error, 408, 429, 5xx → retry with backoff (Retry-After honoured) until max_attempts, or held while the provider''s circuit is open (nmc.job_retry_or_fail); other 4xx → failed with the provider''s code. Any answer but a transient failure tells the circuit the provider is up. Returns the outcome.';

CREATE FUNCTION nmc.dispatcher_reject(p_job_id bigint, p_attempt int, p_http_status int, p_retry_after text,
                                      p_duration_ms double precision, p_transient boolean, p_code text, p_error text)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    j nmc.jobs;
    k nmc.job_kinds;
    outcome text;
BEGIN
    SELECT * INTO j FROM nmc.jobs WHERE id = p_job_id AND status = 'in_flight' AND attempts = p_attempt FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 'stale';
    END IF;
    SELECT * INTO k FROM nmc.job_kinds WHERE kind = j.kind;
    IF p_transient THEN
        outcome := nmc.job_retry_or_fail(j, k, p_http_status, p_code, p_error, p_retry_after);
    ELSE
        PERFORM nmc.job_fail_permanently(j, k, p_http_status, coalesce(p_code, 'invalid_response'), p_error);
        outcome := 'failed';
    END IF;
    INSERT INTO nmc.job_attempts (job_id, business_id, attempt, outcome, http_status, error, duration_ms)
    VALUES (j.id, j.business_id, p_attempt, outcome, nullif(p_http_status, 0), nmc.redact_secrets(p_error), p_duration_ms);
    RETURN outcome;
END
$$;
COMMENT ON FUNCTION nmc.dispatcher_reject(bigint, int, int, text, double precision, boolean, text, text) IS
    'Dispatcher: a 2xx answer its apply function found unusable (NMR01 → retry, NMR02 → failed), recorded after that apply was rolled back.';

CREATE FUNCTION nmc.dispatcher_fail(p_job_id bigint, p_attempt int, p_error text)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    j nmc.jobs;
BEGIN
    SELECT * INTO j FROM nmc.jobs WHERE id = p_job_id AND status = 'in_flight' AND attempts = p_attempt FOR UPDATE;
    IF FOUND THEN
        PERFORM nmc.job_finish(j, 'failed', NULL, NULL, 'internal error applying the response: ' || p_error, 'internal_error');
        INSERT INTO nmc.job_attempts (job_id, business_id, attempt, outcome, error)
        VALUES (j.id, j.business_id, p_attempt, 'failed', nmc.redact_secrets(p_error));
    END IF;
END
$$;
COMMENT ON FUNCTION nmc.dispatcher_fail(bigint, int, text) IS 'Dispatcher: marks a job failed when completing it raised an unexpected error, so one poison job never stops the others.';

CREATE FUNCTION nmc.dispatcher_complete_batch(job_ids bigint[], attempts int[], http_statuses int[], retry_afters text[],
                                              bodies text[], transport_errors text[], durations_ms double precision[])
RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
    i int;
    err_code text;
    err_message text;
BEGIN
    FOR i IN 1 .. coalesce(array_length(job_ids, 1), 0) LOOP
        BEGIN
            PERFORM nmc.dispatcher_complete(job_ids[i], attempts[i], http_statuses[i], retry_afters[i],
                                            bodies[i], transport_errors[i], durations_ms[i]);
        EXCEPTION
            WHEN SQLSTATE 'NMR01' OR SQLSTATE 'NMR02' THEN
                GET STACKED DIAGNOSTICS err_message = MESSAGE_TEXT, err_code = PG_EXCEPTION_DETAIL;
                PERFORM nmc.dispatcher_reject(job_ids[i], attempts[i], http_statuses[i], retry_afters[i],
                                              durations_ms[i], SQLSTATE = 'NMR01', nullif(err_code, ''), err_message);
            WHEN OTHERS THEN
                -- A poison job: fail it alone, keep going with the rest.
                RAISE WARNING 'nevermisscall dispatcher: completing job % failed: %', job_ids[i], SQLERRM;
                PERFORM nmc.dispatcher_fail(job_ids[i], attempts[i], SQLERRM);
        END;
    END LOOP;
    RETURN coalesce(array_length(job_ids, 1), 0);
END
$$;
COMMENT ON FUNCTION nmc.dispatcher_complete_batch(bigint[], int[], int[], text[], text[], text[], double precision[]) IS
    'Dispatcher: completes a batch of finished requests in one transaction (one call, one commit), each in its own subtransaction so a poison job is failed alone; their events are numbered after it commits (nmc.events_number), so no business''s other writers wait for it.';

CREATE FUNCTION nmc.dispatcher_due_timers(max_timers int)
RETURNS SETOF bigint
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN QUERY SELECT id FROM nmc.timers
                  WHERE fired_at IS NULL AND cancelled_at IS NULL AND due_at <= now()
                  ORDER BY due_at LIMIT max_timers;
END
$$;
COMMENT ON FUNCTION nmc.dispatcher_due_timers(int) IS 'Dispatcher: ids of timers that are due now, earliest first.';

CREATE FUNCTION nmc.dispatcher_plan(OUT next_job_due_ms bigint, OUT next_timer_due_ms bigint, OUT idle_poll_ms int,
                                    OUT max_concurrency int, OUT claim_batch int)
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    -- greatest() ignores NULLs, so "nothing pending" must stay NULL explicitly.
    SELECT (SELECT CASE WHEN min(t) IS NOT NULL
                        THEN greatest(0, ceil(extract(epoch FROM (min(t) - clock_timestamp())) * 1000))::bigint END
              FROM (SELECT min(next_attempt_at) AS t FROM nmc.jobs WHERE status = 'queued' AND next_attempt_at < 'infinity'
                    UNION ALL SELECT min(lease_expires_at) FROM nmc.jobs WHERE status = 'in_flight'
                    -- held jobs wait for their circuit's next probe
                    UNION ALL SELECT min(probe_at) FROM nmc.provider_circuits WHERE state = 'open') s),
           (SELECT CASE WHEN min(due_at) IS NOT NULL
                        THEN greatest(0, ceil(extract(epoch FROM (min(due_at) - clock_timestamp())) * 1000))::bigint END
              FROM nmc.timers t WHERE t.fired_at IS NULL AND t.cancelled_at IS NULL),
           nmc.setting_int('dispatcher_idle_poll_ms')::int,
           nmc.setting_int('dispatcher_max_concurrency')::int,
           nmc.setting_int('dispatcher_claim_batch')::int
      INTO next_job_due_ms, next_timer_due_ms, idle_poll_ms, max_concurrency, claim_batch;
END
$$;
COMMENT ON FUNCTION nmc.dispatcher_plan() IS 'Dispatcher: milliseconds until the next job (or lease expiry, or probe of an open provider circuit) and the next timer are due (NULL if none), and its tunables from nmc.settings.';

CREATE VIEW nmc.job_queue WITH (security_invoker = true) AS
SELECT kind, status, count(*) AS jobs,
       count(*) FILTER (WHERE status = 'queued' AND next_attempt_at <= now()) AS due,
       max(now() - next_attempt_at) FILTER (WHERE status = 'queued' AND next_attempt_at <= now()) AS oldest_due_age
  FROM nmc.jobs
 GROUP BY kind, status;
COMMENT ON VIEW nmc.job_queue IS 'DBA: jobs by kind and status, how many are due and how long the oldest due one has waited.';

CREATE FUNCTION nmc.dispatcher_health(
    OUT worker_pid int, OUT heartbeat_age interval, OUT queued bigint, OUT due bigint, OUT in_flight bigint,
    OUT oldest_due_age interval, OUT retries_5m bigint, OUT failures_5m bigint, OUT done_5m bigint)
LANGUAGE sql STABLE
AS $$
    SELECT p.pid, greatest(interval '0', clock_timestamp() - p.heartbeat_at),
           (SELECT count(*) FROM nmc.jobs WHERE status = 'queued'),
           (SELECT count(*) FROM nmc.jobs WHERE status = 'queued' AND next_attempt_at <= now()),
           (SELECT count(*) FROM nmc.jobs WHERE status = 'in_flight'),
           (SELECT now() - min(next_attempt_at) FROM nmc.jobs WHERE status = 'queued' AND next_attempt_at <= now()),
           (SELECT count(*) FROM nmc.job_attempts WHERE outcome = 'retry' AND finished_at > now() - interval '5 minutes'),
           (SELECT count(*) FROM nmc.job_attempts WHERE outcome = 'failed' AND finished_at > now() - interval '5 minutes'),
           (SELECT count(*) FROM nmc.job_attempts WHERE outcome = 'done' AND finished_at > now() - interval '5 minutes')
      FROM nmc.dispatcher_process() p
$$;
COMMENT ON FUNCTION nmc.dispatcher_health() IS 'DBA and status page: worker pid and heartbeat age, queue depth, in flight, oldest due job age, and retries / failures / successes over the last 5 minutes.';
