-- monitoring.sql — system-wide figures for GET /metrics (the job queue and the
-- dispatcher, the webhook inbox and its worker, across all businesses: run as
-- nmc_monitor, whose only cross-tenant right is reading jobs, attempts and the
-- inbox), provider figures for the status page (the caller's business only),
-- and the system.health events.
CREATE POLICY monitoring ON nmc.jobs FOR SELECT TO nmc_monitor USING (true);
CREATE POLICY monitoring ON nmc.job_attempts FOR SELECT TO nmc_monitor USING (true);
CREATE POLICY monitoring ON nmc.webhook_inbox FOR SELECT TO nmc_monitor USING (true);

CREATE FUNCTION nmc.provider_stats_5m()
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN coalesce((SELECT jsonb_object_agg(x.provider, jsonb_build_object('done', x.done, 'retries', x.retries, 'failures', x.failures))
                       FROM (SELECT k.provider,
                                    count(*) FILTER (WHERE a.outcome = 'done') AS done,
                                    count(*) FILTER (WHERE a.outcome = 'retry') AS retries,
                                    count(*) FILTER (WHERE a.outcome = 'failed') AS failures
                               FROM nmc.job_attempts a JOIN nmc.jobs j ON j.id = a.job_id JOIN nmc.job_kinds k ON k.kind = j.kind
                              WHERE a.finished_at > now() - interval '5 minutes'
                              GROUP BY k.provider) x), '{}');
END
$$;
COMMENT ON FUNCTION nmc.provider_stats_5m() IS 'Successes, retries and failures per provider over the last 5 minutes, of the attempts the caller may see: under row-level security, the current business''s own.';

CREATE FUNCTION nmc_api.metrics()
RETURNS text
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = nmc, public, pg_temp
AS $$
DECLARE
    h record;
    out text := '';
BEGIN
    SELECT * INTO h FROM nmc.dispatcher_health();
    out := out || E'# HELP nmc_jobs Jobs in the outbox by kind and status.\n# TYPE nmc_jobs gauge\n'
        || coalesce((SELECT string_agg(format('nmc_jobs{kind="%s",status="%s"} %s', kind, status, n), E'\n' ORDER BY kind, status)
                       FROM (SELECT kind, status, count(*) AS n FROM nmc.jobs GROUP BY kind, status) q) || E'\n', '');
    out := out || E'# HELP nmc_jobs_oldest_due_seconds How long the oldest due job has waited.\n# TYPE nmc_jobs_oldest_due_seconds gauge\n'
        || format(E'nmc_jobs_oldest_due_seconds %s\n', round(coalesce(extract(epoch FROM h.oldest_due_age), 0)::numeric, 3));
    out := out || E'# HELP nmc_job_attempts_5m HTTP attempts of the dispatcher over the last 5 minutes by outcome.\n# TYPE nmc_job_attempts_5m gauge\n'
        || format(E'nmc_job_attempts_5m{outcome="done"} %s\nnmc_job_attempts_5m{outcome="retry"} %s\nnmc_job_attempts_5m{outcome="failed"} %s\n',
                  h.done_5m, h.retries_5m, h.failures_5m);
    out := out || E'# HELP nmc_dispatcher_up Whether the dispatcher worker is running.\n# TYPE nmc_dispatcher_up gauge\n'
        || format(E'nmc_dispatcher_up %s\n', CASE WHEN h.worker_pid IS NULL THEN 0 ELSE 1 END);
    out := out || E'# HELP nmc_dispatcher_heartbeat_age_seconds Seconds since the dispatcher last reported.\n# TYPE nmc_dispatcher_heartbeat_age_seconds gauge\n'
        || format(E'nmc_dispatcher_heartbeat_age_seconds %s\n', round(coalesce(extract(epoch FROM h.heartbeat_age), -1)::numeric, 3));
    SELECT * INTO h FROM nmc.inbox_health();
    out := out || E'# HELP nmc_webhook_inbox Twilio webhooks (calls, texts, status callbacks) accepted and not yet applied, by state.\n# TYPE nmc_webhook_inbox gauge\n'
        || format(E'nmc_webhook_inbox{state="waiting"} %s\nnmc_webhook_inbox{state="failed"} %s\n', h.waiting, h.failed);
    out := out || E'# HELP nmc_webhook_inbox_oldest_seconds How long the oldest waiting webhook has waited.\n# TYPE nmc_webhook_inbox_oldest_seconds gauge\n'
        || format(E'nmc_webhook_inbox_oldest_seconds %s\n', round(coalesce(extract(epoch FROM h.oldest_waiting_age), 0)::numeric, 3));
    out := out || E'# HELP nmc_inbox_worker_up Whether the inbox worker is running.\n# TYPE nmc_inbox_worker_up gauge\n'
        || format(E'nmc_inbox_worker_up %s\n', CASE WHEN h.worker_pid IS NULL THEN 0 ELSE 1 END);
    RETURN out;
END
$$;
COMMENT ON FUNCTION nmc_api.metrics() IS 'The database''s part of GET /metrics (Prometheus text): jobs by kind and status, oldest due job, attempts by outcome, dispatcher up and heartbeat. Runs as nmc_monitor.';

CREATE TABLE nmc.system_state (
    name       text PRIMARY KEY,
    value      text NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE nmc.system_state IS 'Last reported system-wide health (dispatcher running, sandbox mode), so a system.health event is emitted only when it changes.';

CREATE FUNCTION nmc.report_system_health()
RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
    h record;
    now_state jsonb;
    was text;
    n int := 0;
    b uuid;
BEGIN
    SELECT * INTO h FROM nmc.dispatcher_health();
    now_state := jsonb_build_object('dispatcher_running', h.worker_pid IS NOT NULL AND h.heartbeat_age < interval '30 seconds',
                                    'sandbox_mode', nmc.sandbox_mode());
    SELECT value INTO was FROM nmc.system_state WHERE name = 'health' FOR UPDATE;
    IF was IS NOT DISTINCT FROM now_state::text THEN
        RETURN 0;
    END IF;
    INSERT INTO nmc.system_state (name, value) VALUES ('health', now_state::text)
    ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, changed_at = now();
    -- Every dashboard shows the system's state, so every business hears of a change.
    -- In business order, as nmc.emit_events moves several counters (no crosswise waits).
    FOR b IN SELECT id FROM nmc.businesses ORDER BY id LOOP
        PERFORM nmc.emit_event(b, 'system.health', now_state);
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION nmc.report_system_health() IS 'pg_cron, every minute (with the backstop): when the dispatcher''s liveness or sandbox mode changed since the last report, emits system.health to every business. Returns how many were told.';
CREATE FUNCTION nmc.api_status(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    h record;
    i record;
    e record;
BEGIN
    -- Invoker's rights: row-level security limits the counts to the caller's
    -- business; whether the workers run is the same for everyone.
    SELECT * INTO h FROM nmc.dispatcher_health();
    SELECT * INTO i FROM nmc.inbox_health();
    SELECT * INTO e FROM nmc.events_health();
    RETURN nmc.respond(200, jsonb_build_object(
        'database', 'ok',
        'sandbox_mode', nmc.sandbox_mode(),
        'dispatcher', jsonb_build_object('running', h.worker_pid IS NOT NULL,
                                         'heartbeat_age_seconds', round(extract(epoch FROM h.heartbeat_age)::numeric, 3),
                                         'queued', h.queued, 'due', h.due, 'in_flight', h.in_flight,
                                         'oldest_due_age_seconds', round(coalesce(extract(epoch FROM h.oldest_due_age), 0)::numeric, 3)),
        'inbox', jsonb_build_object('running', i.worker_pid IS NOT NULL,
                                    'heartbeat_age_seconds', round(extract(epoch FROM i.heartbeat_age)::numeric, 3),
                                    'waiting', i.waiting, 'failed', i.failed,
                                    'oldest_waiting_age_seconds', round(coalesce(extract(epoch FROM i.oldest_waiting_age), 0)::numeric, 3)),
        'events', jsonb_build_object('running', e.worker_pid IS NOT NULL,
                                     'heartbeat_age_seconds', round(extract(epoch FROM e.heartbeat_age)::numeric, 3),
                                     'pending', e.pending,
                                     'oldest_pending_age_seconds', round(coalesce(extract(epoch FROM e.oldest_pending_age), 0)::numeric, 3)),
        'providers_5m', nmc.provider_stats_5m(),
        'providers', nmc.provider_circuit_status(),
        -- The answering edge's own figures (nmc_api.handle's edge argument, never a header):
        -- Twilio's webhooks it kept while the database was down, not yet replayed; its live-feed clients.
        'edge_spool', CASE WHEN req #>> '{edge,spool_waiting}' ~ '^[0-9]+$' THEN jsonb_build_object(
                         'waiting', (req #>> '{edge,spool_waiting}')::bigint) END,
        'websocket', CASE WHEN req #>> '{edge,ws_clients}' ~ '^[0-9]+$' THEN jsonb_build_object(
                         'clients', (req #>> '{edge,ws_clients}')::bigint,
                         'dropped_slow', (req #>> '{edge,ws_dropped_slow}')::bigint) END));
END
$$;
COMMENT ON FUNCTION nmc.api_status(jsonb) IS 'GET /api/status: database, sandbox mode, whether the dispatcher, the inbox worker and the events worker run (heartbeats), and — of the caller''s business only — its queued jobs, its webhooks waiting in the inbox, its events waiting to be numbered and provider successes / retries / failures over 5 minutes; each provider''s circuit (open when it is down, since when) and how many of its jobs wait behind it; and the answering edge''s WebSocket clients (connected, dropped for being slow) and the webhooks it kept while the database was down and has not replayed yet.';

SELECT cron.schedule('nevermisscall-health', '* * * * *', 'SELECT nmc.report_system_health()');
