-- jobs.sql — the outbox: every call to the outside world is a row here that
-- the dispatcher worker claims, sends over libcurl and completes. This file
-- owns the job life cycle (queued → in_flight → done | failed | cancelled,
-- with retries back to queued), its kinds, attempts, and DBA functions.
CREATE FUNCTION nmc.job_statuses()
RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT ARRAY['queued', 'in_flight', 'done', 'failed', 'cancelled'] $$;
COMMENT ON FUNCTION nmc.job_statuses() IS 'A job''s statuses, the one list (the domain nmc.job_status checks it, GET /api/meta serves it).';
CREATE DOMAIN nmc.job_status AS text CHECK (VALUE = ANY (nmc.job_statuses()));
COMMENT ON DOMAIN nmc.job_status IS 'A status of nmc.job_statuses(); every UPDATE that moves it checks nmc.job_transition_allowed.';

CREATE FUNCTION nmc.job_transition_allowed(p_from text, p_to text)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE p_from
               WHEN 'queued' THEN p_to IN ('queued', 'in_flight', 'done', 'failed', 'cancelled')
               WHEN 'in_flight' THEN p_to IN ('in_flight', 'queued', 'done', 'failed', 'cancelled')
               WHEN 'failed' THEN p_to = 'queued'
               WHEN 'cancelled' THEN p_to = 'queued'
               ELSE false END
$$;
COMMENT ON FUNCTION nmc.job_transition_allowed(text, text) IS 'A job''s allowed moves, the one place: queued → in_flight (claimed; an expired lease is claimed again) → done, failed, cancelled, or back to queued (retry, lease expired, held behind an open circuit); a queued job may be held, dropped or finished without a send (sandbox); failed and cancelled go back to queued only by a DBA''s nmc.job_retry; done is final. Checked in every UPDATE that sets a job''s status.';

CREATE TABLE nmc.job_kinds (
    kind               text PRIMARY KEY,
    provider           text NOT NULL CHECK (provider IN ('twilio', 'openai', 'maps', 'push')),
    max_attempts       int NOT NULL CHECK (max_attempts BETWEEN 1 AND 100),
    connect_timeout_ms int NOT NULL CHECK (connect_timeout_ms > 0),
    total_timeout_ms   int NOT NULL CHECK (total_timeout_ms > 0),
    description        text NOT NULL
);
COMMENT ON TABLE nmc.job_kinds IS 'Job kinds and their tunables: retry limit and timeouts. Which functions build, apply, fail and simulate each kind: sql/outbox/job_dispatch.sql.';

CREATE TABLE nmc.jobs (
    id               bigint GENERATED ALWAYS AS IDENTITY,
    business_id      uuid NOT NULL REFERENCES nmc.businesses (id) ON DELETE CASCADE,
    kind             text NOT NULL REFERENCES nmc.job_kinds (kind),
    payload          jsonb NOT NULL DEFAULT '{}',
    status           nmc.job_status NOT NULL DEFAULT 'queued',
    attempts         int NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    lease_expires_at timestamptz,
    last_http_status int,
    last_error       text,
    error_code       text,
    result           jsonb,
    simulated        boolean NOT NULL DEFAULT false,
    idempotency_key  text,
    parent_id        bigint,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz,
    -- Since 0.6.0:
    held_at          timestamptz,
    retry_budget_from int NOT NULL DEFAULT 0,
    PRIMARY KEY (business_id, id),
    FOREIGN KEY (business_id, parent_id) REFERENCES nmc.jobs (business_id, id) ON DELETE SET NULL (parent_id)
) WITH (fillfactor = 70);
COMMENT ON TABLE nmc.jobs IS 'The outbox. Never holds a secret: requests are built from payload + settings at send time. error_code is the provider''s (Twilio code, OpenAI error.type, Maps status).';
CREATE INDEX jobs_id ON nmc.jobs (id);  -- the dispatcher finds a job by its id
CREATE UNIQUE INDEX jobs_idempotency_key ON nmc.jobs (idempotency_key, business_id) WHERE idempotency_key IS NOT NULL;
CREATE INDEX jobs_due ON nmc.jobs (next_attempt_at) WHERE status = 'queued';
CREATE INDEX jobs_leased ON nmc.jobs (lease_expires_at) WHERE status = 'in_flight';
CREATE INDEX jobs_finished ON nmc.jobs (finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX jobs_parent ON nmc.jobs (parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX jobs_held ON nmc.jobs (id) WHERE held_at IS NOT NULL AND status = 'queued';
COMMENT ON COLUMN nmc.jobs.held_at IS 'Since when the job waits behind its provider''s open circuit (sql/outbox/provider_circuits.sql): not sent, its retry budget not spent.';
COMMENT ON COLUMN nmc.jobs.retry_budget_from IS 'Attempts made before the retry budget was last renewed: a job released from behind a circuit gets max_attempts more.';
ALTER TABLE nmc.jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE nmc.jobs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON nmc.jobs
    USING (business_id = nmc.current_business_id())
    WITH CHECK (business_id = nmc.current_business_id());

CREATE TABLE nmc.job_attempts (
    id          bigint GENERATED ALWAYS AS IDENTITY,
    -- No foreign key: an attempt row is history written once per request on
    -- the dispatcher's hot path; housekeeping deletes it with its job.
    job_id      bigint NOT NULL,
    business_id uuid NOT NULL,
    attempt     int NOT NULL,
    outcome     text NOT NULL CHECK (outcome IN ('done', 'retry', 'failed', 'stale', 'held')),
    http_status int,
    error       text,
    duration_ms double precision,
    finished_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (business_id, id)
);
COMMENT ON TABLE nmc.job_attempts IS 'One row per HTTP attempt of a job: outcome (done, retry, failed, or stale = completed after the lease had passed to another attempt), status, error, duration.';
CREATE INDEX job_attempts_recent ON nmc.job_attempts (finished_at);
CREATE INDEX job_attempts_job ON nmc.job_attempts (job_id);
ALTER TABLE nmc.job_attempts ENABLE ROW LEVEL SECURITY;
ALTER TABLE nmc.job_attempts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON nmc.job_attempts
    USING (business_id = nmc.current_business_id())
    WITH CHECK (business_id = nmc.current_business_id());

-- The dispatcher's HTTP request for one job, as a kind's build_fn returns it.
CREATE TYPE nmc.http_request AS (
    method         text,
    url            text,
    headers        text[],
    body           text,
    basic_user     text,
    basic_password text,
    body_bytes     bytea    -- a binary body (Web Push), sent instead of body
);
COMMENT ON TYPE nmc.http_request IS 'An outbound HTTP request built by a job kind''s build_fn; lives only in the dispatcher''s memory (it may carry credentials). body_bytes, when set, is sent as the body instead of body.';

-- Raised by apply functions that find a 2xx answer is really a failure
-- (Google Maps answers errors with HTTP 200 and a status field).
CREATE FUNCTION nmc.job_transient_error(message text, code text DEFAULT NULL)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'NMR01', MESSAGE = message, DETAIL = coalesce(code, '');
END $$;
COMMENT ON FUNCTION nmc.job_transient_error(text, text) IS 'For apply functions: this response is a transient failure; the job is retried with backoff.';

-- Raised by build functions: what this job would send is no longer wanted.
CREATE FUNCTION nmc.job_not_wanted(message text, code text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'NMD01', MESSAGE = message, DETAIL = code;
END $$;
COMMENT ON FUNCTION nmc.job_not_wanted(text, text) IS 'For build functions: at the moment it would go out, this job''s request is no longer wanted (code says why); the dispatcher drops the job (nmc.job_drop) instead of sending.';

CREATE FUNCTION nmc.job_permanent_error(message text, code text DEFAULT NULL)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'NMR02', MESSAGE = message, DETAIL = coalesce(code, '');
END $$;
COMMENT ON FUNCTION nmc.job_permanent_error(text, text) IS 'For apply functions: this response is a permanent failure; the job is marked failed.';

CREATE FUNCTION nmc.jobs_enqueue(p_kind text, p_business_ids uuid[], p_payloads jsonb[], p_idempotency_keys text[],
                                 p_parent_id bigint DEFAULT NULL, p_not_before timestamptz DEFAULT now())
RETURNS nmc.jobs[]
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    r nmc.jobs[];
BEGIN
    -- One statement: the dispatcher's wake-up trigger fires once for all of them.
    WITH j AS (
        INSERT INTO nmc.jobs (kind, business_id, payload, idempotency_key, parent_id, next_attempt_at)
        SELECT p_kind, u.b, u.payload, u.k, p_parent_id, p_not_before
          FROM unnest(p_business_ids, p_payloads, p_idempotency_keys) WITH ORDINALITY AS u(b, payload, k, i)
         ORDER BY u.i
        ON CONFLICT (idempotency_key, business_id) WHERE idempotency_key IS NOT NULL DO NOTHING
        RETURNING *)
    SELECT array_agg(j::nmc.jobs) INTO r FROM j;  -- in the order inserted
    RETURN r;
END
$$;
COMMENT ON FUNCTION nmc.jobs_enqueue(text, uuid[], jsonb[], text[], bigint, timestamptz) IS
    'Queues jobs of one kind (element k of each array is one: business, payload, idempotency key) in one statement (the dispatcher is woken when the transaction commits, never before); a job whose idempotency key is already used is not queued again. Returns the jobs queued, in order. The one place jobs are queued (nmc.job_enqueue is it for one).';

CREATE FUNCTION nmc.job_enqueue(p_kind text, p_business_id uuid, p_payload jsonb,
                                p_idempotency_key text DEFAULT NULL, p_parent_id bigint DEFAULT NULL,
                                p_not_before timestamptz DEFAULT now())
RETURNS nmc.jobs
LANGUAGE plpgsql
AS $$
DECLARE
    j nmc.jobs := (nmc.jobs_enqueue(p_kind, ARRAY[p_business_id], ARRAY[p_payload], ARRAY[p_idempotency_key], p_parent_id, p_not_before))[1];
BEGIN
    IF j.id IS NULL THEN
        SELECT * INTO j FROM nmc.jobs WHERE idempotency_key = p_idempotency_key AND business_id = p_business_id;
    END IF;
    RETURN j;
END
$$;
COMMENT ON FUNCTION nmc.job_enqueue(text, uuid, jsonb, text, bigint, timestamptz) IS
    'Queues a job (the dispatcher is woken when the transaction commits, never before). With an idempotency key already used, returns the existing job instead (nmc.jobs_enqueue for one).';

CREATE FUNCTION nmc.job_backoff(attempt int, retry_after text)
RETURNS interval
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    base_ms double precision := nmc.setting_int('job_backoff_base_ms');
    max_ms double precision := nmc.setting_int('job_backoff_max_ms');
    ms double precision;
    hinted double precision;
BEGIN
    -- Full exponential step, then jitter down to half of it, so retries of
    -- many jobs failing together spread out.
    ms := least(max_ms, base_ms * power(2, greatest(attempt - 1, 0)));
    ms := ms * (0.5 + random() * 0.5);
    IF retry_after ~ '^\s*[0-9]+\s*$' THEN
        hinted := btrim(retry_after)::double precision * 1000;
    ELSIF retry_after IS NOT NULL AND btrim(retry_after) <> '' THEN
        BEGIN
            hinted := extract(epoch FROM (btrim(retry_after)::timestamptz - now())) * 1000;
        EXCEPTION WHEN OTHERS THEN
            hinted := NULL;
        END;
    END IF;
    IF hinted IS NOT NULL THEN
        -- The provider said when; never sooner, and never absurdly later.
        ms := least(greatest(hinted, 0), nmc.setting_int('job_retry_after_max_ms'));
    END IF;
    RETURN make_interval(secs => ms / 1000.0);
END
$$;
COMMENT ON FUNCTION nmc.job_backoff(int, text) IS
    'Delay before retry number `attempt`: exponential from job_backoff_base_ms to job_backoff_max_ms with jitter; a Retry-After value (seconds or HTTP date) takes precedence, capped at job_retry_after_max_ms.';

CREATE FUNCTION nmc.job_provider_error(provider text, http_status int, response_body text, OUT code text, OUT message text)
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    b jsonb;
BEGIN
    BEGIN
        b := response_body::jsonb;
    EXCEPTION WHEN OTHERS THEN
        b := NULL;
    END;
    IF provider = 'twilio' THEN
        code := b ->> 'code';
        message := b ->> 'message';
    ELSIF provider = 'openai' THEN
        code := coalesce(b #>> '{error,type}', b #>> '{error,code}');
        message := b #>> '{error,message}';
    ELSIF provider = 'maps' THEN
        code := b ->> 'status';
        message := b ->> 'error_message';
    END IF;
    code := coalesce(code, 'http_' || http_status);
    message := coalesce(message, 'HTTP ' || http_status || ' from ' || provider);
END
$$;
COMMENT ON FUNCTION nmc.job_provider_error(text, int, text) IS 'The provider''s error code and message from an error response body (Twilio code, OpenAI error.type, Maps status).';

CREATE FUNCTION nmc.redact_secrets(t text)
RETURNS text
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    s text;
BEGIN
    IF t IS NULL THEN
        RETURN NULL;
    END IF;
    FOR s IN SELECT value FROM nmc.settings WHERE is_secret AND length(value) >= 4 LOOP
        t := replace(t, s, '[redacted]');
    END LOOP;
    RETURN left(t, 2000);
END
$$;
COMMENT ON FUNCTION nmc.redact_secrets(text) IS 'Replaces every configured secret value in t with [redacted] (and caps its length): applied to every error text stored from the outside world.';

CREATE FUNCTION nmc.job_finish(j nmc.jobs, p_status text, p_result jsonb, p_http_status int,
                               p_error text, p_error_code text, p_simulated boolean DEFAULT false)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    UPDATE nmc.jobs SET status = p_status, result = p_result, last_http_status = p_http_status,
           last_error = nmc.redact_secrets(p_error), error_code = p_error_code,
           simulated = simulated OR p_simulated, lease_expires_at = NULL,
           finished_at = now(), updated_at = now()
     WHERE id = j.id AND nmc.job_transition_allowed(status, p_status);
END
$$;
COMMENT ON FUNCTION nmc.job_finish(nmc.jobs, text, jsonb, int, text, text, boolean) IS 'Marks a job done or failed with its outcome (errors redacted).';

CREATE FUNCTION nmc.job_fail_permanently(j nmc.jobs, k nmc.job_kinds, p_http_status int, p_code text, p_message text)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM nmc.job_finish(j, 'failed', NULL, p_http_status, p_message, p_code);
    PERFORM nmc.job_on_failure(j, p_code, nmc.redact_secrets(p_message));
    PERFORM nmc.emit_event(j.business_id, 'job.failed', jsonb_build_object('job_id', j.id, 'kind', j.kind, 'error_code', p_code));
END
$$;
COMMENT ON FUNCTION nmc.job_fail_permanently(nmc.jobs, nmc.job_kinds, int, text, text) IS 'Marks a job failed, lets its kind apply the domain effects of the failure (nmc.job_on_failure) and emits job.failed.';

CREATE FUNCTION nmc.job_drop(j nmc.jobs, p_code text, p_message text)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM nmc.job_finish(j, 'cancelled', NULL, NULL, p_message, p_code);
    PERFORM nmc.job_on_dropped(j, p_code, p_message);
END
$$;
COMMENT ON FUNCTION nmc.job_drop(nmc.jobs, text, text) IS 'A job no longer wanted when it would go out: cancelled with the reason, and its kind''s domain effects (nmc.job_on_dropped).';

CREATE FUNCTION nmc.job_apply_success(j nmc.jobs, k nmc.job_kinds, p_http_status int, p_body jsonb, p_simulated boolean)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    r jsonb := nmc.job_apply(j, p_body);
BEGIN
    PERFORM nmc.job_finish(j, 'done', coalesce(r, p_body), p_http_status, NULL, NULL, p_simulated);
END
$$;
COMMENT ON FUNCTION nmc.job_apply_success(nmc.jobs, nmc.job_kinds, int, jsonb, boolean) IS 'Applies a successful response to the domain (nmc.job_apply) and marks the job done, in the caller''s transaction.';

CREATE FUNCTION nmc.job_retry_or_fail(j nmc.jobs, k nmc.job_kinds, p_http_status int, p_code text,
                                      p_error text, p_retry_after text)
RETURNS text
LANGUAGE plpgsql
AS $$
BEGIN
    IF nmc.circuit_failure(k.provider, p_error) = 'open' THEN
        -- The provider is down: wait behind its circuit; this attempt (a
        -- probe, or a send out when it opened) is not taken from the budget.
        UPDATE nmc.jobs SET status = 'queued', lease_expires_at = NULL, held_at = coalesce(held_at, now()),
               retry_budget_from = retry_budget_from + 1,
               next_attempt_at = 'infinity', last_http_status = p_http_status,
               last_error = nmc.redact_secrets(p_error), error_code = p_code, updated_at = now()
         WHERE id = j.id AND nmc.job_transition_allowed(status, 'queued');
        RETURN 'held';
    END IF;
    IF j.attempts - j.retry_budget_from >= k.max_attempts THEN
        PERFORM nmc.job_fail_permanently(j, k, p_http_status, p_code,
            format('gave up after %s attempts: %s', j.attempts, p_error));
        RETURN 'failed';
    END IF;
    UPDATE nmc.jobs SET status = 'queued', lease_expires_at = NULL,
           next_attempt_at = now() + nmc.job_backoff(j.attempts, p_retry_after),
           last_http_status = p_http_status, last_error = nmc.redact_secrets(p_error),
           error_code = p_code, updated_at = now()
     WHERE id = j.id AND nmc.job_transition_allowed(status, 'queued');
    RETURN 'retry';
END
$$;
COMMENT ON FUNCTION nmc.job_retry_or_fail(nmc.jobs, nmc.job_kinds, int, text, text, text) IS 'After a transient failure (counted by the provider''s circuit): held behind the circuit if it is open, else back to queued with backoff, or failed once the retry budget (max_attempts) is spent.';

CREATE FUNCTION nmc.job_retry(p_job_id bigint)
RETURNS nmc.jobs
LANGUAGE plpgsql
AS $$
DECLARE
    j nmc.jobs;
BEGIN
    UPDATE nmc.jobs SET status = 'queued', attempts = 0, next_attempt_at = now(), lease_expires_at = NULL,
           finished_at = NULL, updated_at = now()
     WHERE id = p_job_id AND status IN ('failed', 'cancelled', 'queued')
    RETURNING * INTO j;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'job % cannot be retried', p_job_id
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Only failed, cancelled or queued jobs can be retried; see nmc.jobs.status.';
    END IF;
    PERFORM nmc.dispatcher_wake();
    RETURN j;
END
$$;
COMMENT ON FUNCTION nmc.job_retry(bigint) IS 'DBA: runs a failed, cancelled or waiting job again now, with a fresh attempt budget (its attempt history is kept).';

CREATE FUNCTION nmc.job_cancel(p_job_id bigint)
RETURNS nmc.jobs
LANGUAGE plpgsql
AS $$
DECLARE
    j nmc.jobs;
BEGIN
    UPDATE nmc.jobs SET status = 'cancelled', lease_expires_at = NULL, finished_at = now(), updated_at = now()
     WHERE id = p_job_id AND nmc.job_transition_allowed(status, 'cancelled')
    RETURNING * INTO j;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'job % is not queued or in flight', p_job_id
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    RETURN j;
END
$$;
COMMENT ON FUNCTION nmc.job_cancel(bigint) IS 'DBA: cancels a queued or in-flight job. A response that arrives for it later is recorded as a stale attempt and applied to nothing.';

CREATE FUNCTION nmc.job_json(j nmc.jobs)
RETURNS jsonb LANGUAGE sql STABLE
AS $$ SELECT jsonb_build_object('id', j.id, 'kind', j.kind, 'status', j.status, 'attempts', j.attempts, 'simulated', j.simulated,
                                'result', j.result, 'error_code', j.error_code, 'error', j.last_error, 'created_at', j.created_at,
                                'finished_at', j.finished_at) $$;
COMMENT ON FUNCTION nmc.job_json(nmc.jobs) IS 'A job as the API shows it to the business that started it.';

CREATE FUNCTION nmc.api_job_get(req jsonb)
RETURNS nmc.http_response LANGUAGE plpgsql STABLE
AS $$
DECLARE
    j nmc.jobs;
BEGIN
    SELECT * INTO j FROM nmc.jobs WHERE id = CASE WHEN req #>> '{params,0}' ~ '^[0-9]{1,18}$' THEN (req #>> '{params,0}')::bigint END;
    IF NOT FOUND THEN
        PERFORM nmc.raise_api_error(404, 'not_found', 'no such job');
    END IF;
    RETURN nmc.respond(200, jsonb_build_object('job', nmc.job_json(j)));
END $$;
COMMENT ON FUNCTION nmc.api_job_get(jsonb) IS 'GET /api/jobs/{id}: poll a number search or purchase.';
