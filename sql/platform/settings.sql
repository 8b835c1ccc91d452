-- settings.sql — nmc.settings, the one source of truth for configuration.
-- (Functions on the dispatcher's path are PL/pgSQL, not SQL: SQL functions
-- that cannot be inlined are parsed and planned again on every call.)
-- The start scripts copy the NMC_* environment into it (nmc.configure); DBAs
-- read it through nmc.settings_redacted. Secrets are readable only by the
-- superuser and the API's definer functions, never by the edge role.
CREATE TABLE nmc.settings (
    name        text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]*$'),
    value       text NOT NULL DEFAULT '',
    is_secret   boolean NOT NULL DEFAULT false,
    description text NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE nmc.settings IS 'Configuration, one row per setting. Empty value means "not configured". Secrets: see nmc.settings_redacted.';

INSERT INTO nmc.settings (name, value, is_secret, description) VALUES
    ('public_url', 'http://localhost:8080', false, 'URL Twilio reaches the edge at (NMC_PUBLIC_URL).'),
    ('public_ws_url', 'ws://localhost:8081/ws', false, 'URL browsers reach the live feed''s WebSocket at (NMC_PUBLIC_WS_URL).'),
    ('twilio_account_sid', '', false, 'Twilio account SID (NMC_TWILIO_ACCOUNT_SID). Empty: sandbox mode.'),
    ('twilio_auth_token', '', true, 'Twilio auth token (NMC_TWILIO_AUTH_TOKEN). Empty: sandbox mode.'),
    ('twilio_api_base', 'https://api.twilio.com', false, 'Base URL of the Twilio REST API (NMC_TWILIO_API_BASE).'),
    ('openai_api_key', '', true, 'OpenAI API key (NMC_OPENAI_API_KEY). Empty: the built-in intake engine answers.'),
    ('openai_api_base', 'https://api.openai.com/v1', false, 'Base URL of an OpenAI-compatible API (NMC_OPENAI_API_BASE).'),
    ('openai_model', 'gpt-4o-mini', false, 'Chat model name (NMC_OPENAI_MODEL).'),
    ('openai_transcription_model', 'whisper-1', false, 'Model that transcribes voicemails (OpenAI audio transcriptions).'),
    ('voicemail_max_seconds', '120', false, 'The longest voicemail a caller can leave.'),
    ('maps_api_key', '', true, 'Google Maps API key (NMC_MAPS_API_KEY).'),
    ('maps_api_base', 'https://maps.googleapis.com', false, 'Base URL of the Google Maps APIs (NMC_MAPS_API_BASE).'),
    ('jwt_secret', encode(gen_random_bytes(32), 'hex'), true, 'HS256 key for session tokens; generated at install.'),
    ('sandbox_webhook_token', encode(gen_random_bytes(16), 'hex'), true, 'Sandbox mode only: the key webhooks are signed with when there is no Twilio auth token (the simulator uses it).'),
    ('jwt_ttl_seconds', '604800', false, 'Lifetime of a session token in seconds.'),
    ('bcrypt_cost', '12', false, 'bcrypt cost for new password hashes (NMC_BCRYPT_COST); each hash keeps its own cost.'),
    ('login_failure_window_seconds', '86400', false, 'Window over which failed logins are counted (for the growing delays of nmc.login_throttled).'),
    ('login_max_failures_per_email', '5', false, 'Failed logins for one email within the window before each further try must wait (login_delay_base_seconds, doubling).'),
    ('login_max_failures_per_source', '30', false, 'Failed logins from one client address within the window before each further try must wait (login_delay_base_seconds, doubling).'),
    ('login_delay_base_seconds', '2', false, 'The first wait after the failures allowed, doubled with each further failure.'),
    ('login_delay_max_seconds', '900', false, 'The longest wait between login tries of a throttled email or address.'),
    ('login_device_max_failures', '5', false, 'Wrong passwords from a known device (since its last success) before it is forgotten.'),
    ('login_code_ttl_seconds', '600', false, 'How long a texted code (sign-in, alert phone) works.'),
    ('login_code_max_attempts', '5', false, 'Wrong tries of a texted code before the live codes of its kind (an account''s sign-in codes, a business''s alert-phone codes) stop working.'),
    ('login_codes_per_hour', '5', false, 'Codes texted in an hour per account (sign-in) or business (alert phone), and sign-in codes asked for per client address.'),
    ('register_window_seconds', '3600', false, 'Window over which sign-ups from one client address are counted.'),
    ('register_max_per_source', '10', false, 'Sign-ups (each a bcrypt hash) from one client address within the window before 429.'),
    ('dispatcher_max_concurrency', '64', false, 'Most HTTP requests the dispatcher runs at once.'),
    ('dispatcher_claim_batch', '100', false, 'Most jobs claimed in one transaction.'),
    ('dispatcher_idle_poll_ms', '60000', false, 'Longest the dispatcher sleeps without a wake-up before looking at the queue anyway.'),
    ('dispatcher_lease_margin_ms', '5000', false, 'A claimed job''s lease is its kind''s total timeout plus this.'),
    ('inbox_batch_size', '500', false, 'Most webhooks the inbox worker applies in one transaction: large enough to share a commit, small enough to stream.'),
    ('events_batch_size', '1000', false, 'Most pending events the events worker numbers in one transaction.'),
    ('inbox_min_together', '8', false, 'A batch of at least this many webhooks means they are arriving fast: the inbox worker then lets the next ones gather for a moment before it looks again (runs of texts or calls are applied as one set at any size).'),
    ('job_backoff_base_ms', '1000', false, 'First retry delay of a job; doubles per attempt (with jitter).'),
    ('job_backoff_max_ms', '300000', false, 'Longest retry delay computed by backoff.'),
    ('job_retry_after_max_ms', '3600000', false, 'Longest delay a provider''s Retry-After may impose.'),
    ('job_retention_hours', '168', false, 'Finished jobs, attempts and fired timers are deleted after this.'),
    ('conversation_idle_close_hours', '24', false, 'Open conversations with no message for this long are closed by housekeeping; the next text opens a fresh one.'),
    ('event_retention_hours', '720', false, 'Events older than this are deleted (a dashboard away longer than this reloads instead of replaying).'),
    ('circuit_failure_threshold', '5', false, 'Transient failures of a provider in a row (any jobs) that open its circuit: its jobs then wait, unspent, behind one probe at a time.'),
    ('circuit_probe_base_ms', '2000', false, 'First wait before probing a provider whose circuit opened; doubles per failed probe.'),
    ('circuit_probe_max_ms', '60000', false, 'Longest wait between probes of a provider that is down.'),
    ('stale_text_seconds', '3600', false, 'A text that could not go out for this long (a provider outage) is not sent; the owner is told instead.'),
    ('alert_min_gap_seconds', '180', false, 'At most one alert to the owner''s phone per conversation within this (emergencies excepted).'),
    ('owner_tag_seconds', '604800', false, 'An alert''s #number stays with its conversation this long after its last alert; the owner''s "#N …" reaches it meanwhile.'),
    ('owner_reply_window_seconds', '86400', false, 'A text from the owner''s phone without #N goes to the conversation of the latest alert sent within this.'),
    ('owner_reply_settle_seconds', '60', false, 'A text from the owner''s phone without #N, coming this soon after an alert while another conversation was alerted too, is not sent: the owner is asked which customer.'),
    ('backstop_grace_ms', '5000', false, 'The pg_cron backstop fires a timer only when it is overdue by this much.');

CREATE FUNCTION nmc.setting(setting_name text)
RETURNS text
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    v text;
BEGIN
    SELECT value INTO v FROM nmc.settings WHERE name = setting_name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown setting "%"', setting_name
            USING ERRCODE = 'undefined_object', HINT = 'See SELECT * FROM nmc.settings_redacted.';
    END IF;
    RETURN v;
END
$$;
COMMENT ON FUNCTION nmc.setting(text) IS 'Value of a setting; raises undefined_object for an unknown name.';

CREATE FUNCTION nmc.setting_int(setting_name text)
RETURNS bigint
LANGUAGE plpgsql STABLE
AS $$ BEGIN RETURN nmc.setting(setting_name)::bigint; END $$;
COMMENT ON FUNCTION nmc.setting_int(text) IS 'Value of an integer setting.';

CREATE FUNCTION nmc.settings_json()
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$ BEGIN RETURN (SELECT jsonb_object_agg(name, value) FROM nmc.settings); END $$;
COMMENT ON FUNCTION nmc.settings_json() IS 'All settings as one JSON object (secrets included): read once per batch by the dispatcher''s request builders.';

CREATE FUNCTION nmc.configure(new_values jsonb)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    k text;
    v text;
BEGIN
    IF jsonb_typeof(new_values) IS DISTINCT FROM 'object' THEN
        RAISE EXCEPTION 'nmc.configure expects a JSON object of setting names to string values'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR k, v IN SELECT key, value #>> '{}' FROM jsonb_each(new_values) LOOP
        UPDATE nmc.settings SET value = coalesce(v, ''), updated_at = now()
         WHERE name = k AND value IS DISTINCT FROM coalesce(v, '');
        IF NOT FOUND AND NOT EXISTS (SELECT 1 FROM nmc.settings WHERE name = k) THEN
            RAISE EXCEPTION 'unknown setting "%"', k USING ERRCODE = 'undefined_object';
        END IF;
    END LOOP;
END
$$;
COMMENT ON FUNCTION nmc.configure(jsonb) IS
    'Sets several settings at once from {"name": "value", ...}; unknown names are refused. Called by make run with the NMC_* environment.';

CREATE FUNCTION nmc.sandbox_mode()
RETURNS boolean
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN nmc.setting('twilio_account_sid') = '' OR nmc.setting('twilio_auth_token') = '';
END
$$;
COMMENT ON FUNCTION nmc.sandbox_mode() IS
    'True when Twilio credentials are not configured: texts are recorded and simulated, never sent.';

CREATE VIEW nmc.settings_redacted WITH (security_invoker = true) AS
SELECT name,
       CASE WHEN is_secret AND value <> '' THEN '(set, hidden)'
            WHEN is_secret THEN '(not set)'
            ELSE value END AS value,
       is_secret, description, updated_at
  FROM nmc.settings;
COMMENT ON VIEW nmc.settings_redacted IS 'Settings with secret values hidden: safe to show on a status page or in a support ticket.';
