-- provider_circuits.sql — one circuit per provider (Twilio, OpenAI, Maps), so
-- an outage of any length loses nothing: after circuit_failure_threshold
-- transient failures in a row the circuit opens; jobs of that provider then
-- wait behind it (held: not sent, their retry budget not spent) while one
-- probe at a time, at a growing interval, asks whether the provider is back;
-- the first answer that is not a transient failure closes it and releases the
-- held jobs, oldest first, each with a fresh retry budget. Whether a text is
-- still wanted is decided when it finally goes out (sql/outbox/twilio.sql).
CREATE TABLE nmc.provider_circuits (
    provider   text PRIMARY KEY CHECK (provider IN ('twilio', 'openai', 'maps', 'push')),
    state      text NOT NULL DEFAULT 'closed' CHECK (state IN ('closed', 'open')),
    failures   int NOT NULL DEFAULT 0,
    probes     int NOT NULL DEFAULT 0,
    opened_at  timestamptz,
    probe_at   timestamptz,
    last_error text
);
COMMENT ON TABLE nmc.provider_circuits IS 'Circuit breaker per provider. failures: transient failures in a row (any job); open: jobs of the provider are held (nmc.jobs.held_at) and only a probe goes out, at probe_at (then every circuit_probe_base_ms, doubling per failed probe, at most circuit_probe_max_ms). Platform state, not tenant data.';
INSERT INTO nmc.provider_circuits (provider) VALUES ('twilio'), ('openai'), ('maps'), ('push');

CREATE FUNCTION nmc.circuit_failure(p_provider text, p_error text)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    c nmc.provider_circuits;
BEGIN
    UPDATE nmc.provider_circuits SET failures = failures + 1, last_error = left(nmc.redact_secrets(p_error), 500)
     WHERE provider = p_provider RETURNING * INTO c;
    IF c.state = 'closed' AND c.failures >= nmc.setting_int('circuit_failure_threshold') THEN
        UPDATE nmc.provider_circuits SET state = 'open', opened_at = now(), probes = 0,
               probe_at = now() + make_interval(secs => nmc.setting_int('circuit_probe_base_ms') / 1000.0)
         WHERE provider = p_provider RETURNING * INTO c;
        RAISE LOG 'nevermisscall: the % circuit opened after % transient failures in a row: %', p_provider, c.failures, c.last_error;
    ELSIF c.state = 'open' THEN
        -- A probe (or a send that was already out when the circuit opened) failed.
        UPDATE nmc.provider_circuits SET probes = probes + 1,
               probe_at = now() + make_interval(secs => least(nmc.setting_int('circuit_probe_max_ms'),
                               nmc.setting_int('circuit_probe_base_ms') * power(2, least(probes + 1, 30))) / 1000.0)
         WHERE provider = p_provider RETURNING * INTO c;
    END IF;
    RETURN c.state;
END
$$;
COMMENT ON FUNCTION nmc.circuit_failure(text, text) IS 'A transient failure (transport error, 408, 429, 5xx) of a provider: counts it, opens the circuit at circuit_failure_threshold in a row, and pushes the next probe back while open. Returns the circuit''s state.';

CREATE FUNCTION nmc.circuit_success(p_provider text)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    c nmc.provider_circuits;
BEGIN
    -- The common case (closed, no failures; every success of every job) only reads.
    SELECT * INTO c FROM nmc.provider_circuits WHERE provider = p_provider;
    IF c.state = 'closed' AND c.failures = 0 THEN
        RETURN;
    END IF;
    UPDATE nmc.provider_circuits SET state = 'closed', failures = 0, probes = 0, probe_at = NULL WHERE provider = p_provider;
    IF c.state = 'open' THEN
        -- Drain, oldest first, each with a fresh retry budget.
        UPDATE nmc.jobs SET held_at = NULL, next_attempt_at = created_at, retry_budget_from = attempts, updated_at = now()
         WHERE status = 'queued' AND held_at IS NOT NULL
           AND kind IN (SELECT kind FROM nmc.job_kinds WHERE provider = p_provider);
        RAISE LOG 'nevermisscall: the % circuit closed: held jobs released', p_provider;
    END IF;
END
$$;
COMMENT ON FUNCTION nmc.circuit_success(text) IS 'The provider answered (anything but a transient failure): resets its failure count; if the circuit was open, closes it and releases the held jobs, due at their creation time so they go oldest first, each with a fresh retry budget.';

CREATE FUNCTION nmc.circuit_hold_and_probe()
RETURNS bigint[]
LANGUAGE plpgsql
AS $$
DECLARE
    blocked text[];
    probe_ids bigint[] := '{}';
    c nmc.provider_circuits;
    probe bigint;
BEGIN
    SELECT array_agg(k.kind) INTO blocked
      FROM nmc.provider_circuits pc JOIN nmc.job_kinds k ON k.provider = pc.provider WHERE pc.state = 'open';
    IF blocked IS NULL THEN
        RETURN probe_ids;   -- every circuit closed: nothing to do (the usual case)
    END IF;
    -- Due jobs of an open circuit wait, out of the due index, until it closes.
    UPDATE nmc.jobs SET held_at = now(), next_attempt_at = 'infinity', updated_at = now()
     WHERE status = 'queued' AND next_attempt_at <= now() AND kind = ANY (blocked);
    FOR c IN SELECT * FROM nmc.provider_circuits WHERE state = 'open' AND probe_at <= now() FOR UPDATE LOOP
        SELECT j.id INTO probe FROM nmc.jobs j JOIN nmc.job_kinds k ON k.kind = j.kind
         WHERE j.status = 'queued' AND j.held_at IS NOT NULL AND k.provider = c.provider
         ORDER BY j.id LIMIT 1 FOR UPDATE OF j SKIP LOCKED;
        IF probe IS NOT NULL THEN
            probe_ids := probe_ids || probe;
            -- One probe at a time: the next only if this one's answer never
            -- comes (within the longest lease of the provider's kinds).
            UPDATE nmc.provider_circuits
               SET probe_at = now() + make_interval(secs => ((SELECT max(total_timeout_ms) FROM nmc.job_kinds WHERE provider = c.provider)
                                                            + nmc.setting_int('dispatcher_lease_margin_ms')) / 1000.0)
             WHERE provider = c.provider;
        END IF;
    END LOOP;
    RETURN probe_ids;
END
$$;
COMMENT ON FUNCTION nmc.circuit_hold_and_probe() IS 'Dispatcher, before each claim: holds the due jobs of providers whose circuit is open, and picks one held job (the oldest) as the probe of each open circuit whose probe is due. Returns the probes'' job ids (claimed with the due jobs).';

CREATE FUNCTION nmc.circuit_probe_again(p_provider text, was_probe boolean)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    IF was_probe THEN
        UPDATE nmc.provider_circuits SET probe_at = now() WHERE provider = p_provider AND state = 'open';
    END IF;
END
$$;
COMMENT ON FUNCTION nmc.circuit_probe_again(text, boolean) IS 'Dispatcher: the probe picked for an open circuit never went out (dropped, or its request could not be built): another is due at once.';

CREATE FUNCTION nmc.provider_circuit_status()
RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT coalesce(jsonb_object_agg(pc.provider, jsonb_build_object(
               'state', pc.state,
               'since', CASE WHEN pc.state = 'open' THEN pc.opened_at END,
               'next_probe_at', CASE WHEN pc.state = 'open' THEN pc.probe_at END,
               'waiting', (SELECT count(*) FROM nmc.jobs j JOIN nmc.job_kinds k ON k.kind = j.kind
                            WHERE j.status = 'queued' AND j.held_at IS NOT NULL AND k.provider = pc.provider))
           ORDER BY pc.provider), '{}')
      FROM nmc.provider_circuits pc
$$;
COMMENT ON FUNCTION nmc.provider_circuit_status() IS 'Per provider: closed or open (since, next probe) and how many jobs wait behind it — counted under the caller''s row-level security (a tenant sees its own).';
