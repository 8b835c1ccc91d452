-- Generated from sql/ by extension/Makefile; edit the files in sql/.
\echo Use "CREATE EXTENSION nevermisscall" to load this file. \quit

-- ==== ../sql/roles.sql
-- roles.sql — the cluster-wide roles the extension relies on (created once, guarded).
-- nmc_owner owns the tables and is itself subject to row-level security;
-- nmc_api owns the SECURITY DEFINER API functions; nmc_auth owns the few
-- functions that must look a user up before the tenant is known (login);
-- nmc_monitor owns the few functions that report on the whole system (the
-- job queue for /metrics and the status page), never on one tenant's data;
-- nmc_edge is the only login role and may only execute the nmc_api schema.
DO $roles$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'nmc_owner') THEN
        CREATE ROLE nmc_owner NOLOGIN NOBYPASSRLS;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'nmc_api') THEN
        CREATE ROLE nmc_api NOLOGIN NOBYPASSRLS;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'nmc_auth') THEN
        CREATE ROLE nmc_auth NOLOGIN NOBYPASSRLS;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'nmc_monitor') THEN
        CREATE ROLE nmc_monitor NOLOGIN NOBYPASSRLS;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'nmc_edge') THEN
        CREATE ROLE nmc_edge LOGIN NOBYPASSRLS;
    END IF;
END
$roles$;

-- ==== ../sql/schema.sql
-- schema.sql — the two schemas and the small pieces every domain uses:
-- nmc holds data and internal functions (no access for nmc_edge);
-- nmc_api holds the only entry point the edge may call.
CREATE SCHEMA nmc;
CREATE SCHEMA nmc_api;
COMMENT ON SCHEMA nmc IS 'NeverMissCall data and internal functions. DBAs work here; the edge has no access.';
COMMENT ON SCHEMA nmc_api IS 'NeverMissCall HTTP API entry points: the only functions the nmc_edge role may execute.';

-- Errors that reach API clients carry SQLSTATE NMxxx, where xxx is the HTTP
-- status, a stable code in DETAIL and the offending field (if any) in HINT.
CREATE FUNCTION nmc.raise_api_error(status int, code text, message text, field text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    RAISE EXCEPTION USING
        ERRCODE = 'NM' || lpad(status::text, 3, '0'),
        MESSAGE = message,
        DETAIL = code,
        HINT = coalesce(field, '');
END
$$;
COMMENT ON FUNCTION nmc.raise_api_error(int, text, text, text) IS
    'Raises an error the API turns into HTTP status `status` with body {"error":{"code","message","field"}}. SQLSTATE is NM<status>.';

CREATE FUNCTION nmc.current_business_id()
RETURNS uuid
LANGUAGE sql STABLE
AS $$ SELECT nullif(current_setting('nmc.business_id', true), '')::uuid $$;
COMMENT ON FUNCTION nmc.current_business_id() IS
    'The business the current transaction acts for, or NULL (policies then match nothing). Set per transaction by the API.';

CREATE FUNCTION nmc.current_user_id()
RETURNS uuid
LANGUAGE sql STABLE
AS $$ SELECT nullif(current_setting('nmc.user_id', true), '')::uuid $$;
COMMENT ON FUNCTION nmc.current_user_id() IS
    'The user the current API transaction acts for, or NULL.';

CREATE FUNCTION nmc.touch_updated_at()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION nmc.touch_updated_at() IS 'Trigger: keeps updated_at current on every UPDATE.';

CREATE TYPE nmc.http_response AS (
    status       int,
    body         jsonb,
    headers      text,
    content_type text,
    text_body    text
);
COMMENT ON TYPE nmc.http_response IS 'What an API or webhook handler answers: HTTP status, a JSON body (or, with content_type, a text body such as TwiML), and extra header lines ("Name: value", newline-separated) or NULL.';

CREATE FUNCTION nmc.respond(status int, body jsonb, headers text DEFAULT NULL)
RETURNS nmc.http_response
LANGUAGE sql IMMUTABLE
AS $$ SELECT ROW(status, body, headers, NULL, NULL)::nmc.http_response $$;
COMMENT ON FUNCTION nmc.respond(int, jsonb, text) IS 'Builds a JSON nmc.http_response.';

CREATE FUNCTION nmc.respond_text(status int, content_type text, body text)
RETURNS nmc.http_response
LANGUAGE sql IMMUTABLE
AS $$ SELECT ROW(status, NULL, NULL, content_type, body)::nmc.http_response $$;
COMMENT ON FUNCTION nmc.respond_text(int, text, text) IS 'Builds a non-JSON nmc.http_response (TwiML for Twilio''s webhooks).';

CREATE FUNCTION nmc.error_body(code text, message text, field text DEFAULT NULL)
RETURNS jsonb
LANGUAGE sql IMMUTABLE
AS $$
    SELECT jsonb_build_object('error',
        jsonb_build_object('code', code, 'message', message)
        || CASE WHEN coalesce(field, '') <> '' THEN jsonb_build_object('field', field) ELSE '{}' END)
$$;
COMMENT ON FUNCTION nmc.error_body(text, text, text) IS 'The JSON error body every API error uses: {"error":{"code","message"[,"field"]}}.';

-- ==== ../sql/settings.sql
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
    ('maps_api_key', '', true, 'Google Maps API key (NMC_MAPS_API_KEY).'),
    ('maps_api_base', 'https://maps.googleapis.com', false, 'Base URL of the Google Maps APIs (NMC_MAPS_API_BASE).'),
    ('jwt_secret', encode(gen_random_bytes(32), 'hex'), true, 'HS256 key for session tokens; generated at install.'),
    ('sandbox_webhook_token', encode(gen_random_bytes(16), 'hex'), true, 'Sandbox mode only: the key webhooks are signed with when there is no Twilio auth token (the simulator uses it).'),
    ('jwt_ttl_seconds', '604800', false, 'Lifetime of a session token in seconds.'),
    ('bcrypt_cost', '12', false, 'bcrypt cost for new password hashes (NMC_BCRYPT_COST); each hash keeps its own cost.'),
    ('login_failure_window_seconds', '900', false, 'Window over which failed logins are counted.'),
    ('login_max_failures_per_email', '5', false, 'Failed logins for one email within the window before 429.'),
    ('login_max_failures_per_source', '30', false, 'Failed logins from one client address within the window before 429.'),
    ('register_window_seconds', '3600', false, 'Window over which sign-ups from one client address are counted.'),
    ('register_max_per_source', '10', false, 'Sign-ups (each a bcrypt hash) from one client address within the window before 429.'),
    ('dispatcher_max_concurrency', '64', false, 'Most HTTP requests the dispatcher runs at once.'),
    ('dispatcher_claim_batch', '100', false, 'Most jobs claimed in one transaction.'),
    ('dispatcher_idle_poll_ms', '60000', false, 'Longest the dispatcher sleeps without a wake-up before looking at the queue anyway.'),
    ('dispatcher_lease_margin_ms', '5000', false, 'A claimed job''s lease is its kind''s total timeout plus this.'),
    ('job_backoff_base_ms', '1000', false, 'First retry delay of a job; doubles per attempt (with jitter).'),
    ('job_backoff_max_ms', '300000', false, 'Longest retry delay computed by backoff.'),
    ('job_retry_after_max_ms', '3600000', false, 'Longest delay a provider''s Retry-After may impose.'),
    ('job_retention_hours', '168', false, 'Finished jobs, attempts and fired timers are deleted after this.'),
    ('conversation_idle_close_hours', '24', false, 'Open conversations with no message for this long are closed by housekeeping; the next text opens a fresh one.'),
    ('event_retention_hours', '720', false, 'Events older than this are deleted (a dashboard away longer than this reloads instead of replaying).'),
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

-- ==== ../sql/input.sql
-- input.sql — validation of JSON request bodies, shared by every API handler:
-- each refusal is an NM400 error with a stable code naming the field.
CREATE FUNCTION nmc.input_object(body jsonb)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    IF body IS NULL OR jsonb_typeof(body) <> 'object' THEN
        PERFORM nmc.raise_api_error(400, 'invalid_body', 'the request body must be a JSON object');
    END IF;
    RETURN body;
END
$$;
COMMENT ON FUNCTION nmc.input_object(jsonb) IS 'Returns body if it is a JSON object, else raises NM400 invalid_body.';

CREATE FUNCTION nmc.input_allowed_fields(body jsonb, allowed text[])
RETURNS void
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    k text;
BEGIN
    SELECT key INTO k FROM jsonb_object_keys(body) AS key WHERE key <> ALL (allowed) ORDER BY key LIMIT 1;
    IF k IS NOT NULL THEN
        PERFORM nmc.raise_api_error(400, 'unknown_field',
            format('%s is not a field here; allowed: %s', k, array_to_string(allowed, ', ')), k);
    END IF;
END
$$;
COMMENT ON FUNCTION nmc.input_allowed_fields(jsonb, text[]) IS 'Raises NM400 unknown_field naming the first field of body that is not in allowed.';

CREATE FUNCTION nmc.input_text(body jsonb, field text, required boolean, max_length int, min_length int DEFAULT 1)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    v jsonb := body -> field;
    s text;
BEGIN
    IF v IS NULL OR jsonb_typeof(v) = 'null' THEN
        IF required THEN
            PERFORM nmc.raise_api_error(400, 'missing_field', field || ' is required', field);
        END IF;
        RETURN NULL;
    END IF;
    IF jsonb_typeof(v) <> 'string' THEN
        PERFORM nmc.raise_api_error(400, 'invalid_field', field || ' must be a string', field);
    END IF;
    s := btrim(v #>> '{}');
    IF length(s) < min_length OR length(s) > max_length THEN
        PERFORM nmc.raise_api_error(400, 'invalid_field',
            format('%s must be %s to %s characters', field, min_length, max_length), field);
    END IF;
    RETURN s;
END
$$;
COMMENT ON FUNCTION nmc.input_text(jsonb, text, boolean, int, int) IS
    'The trimmed string body->field, checked for presence, type and length; NULL if absent and not required. Raises NM400 missing_field / invalid_field.';

CREATE FUNCTION nmc.input_int(body jsonb, field text, min_value int, max_value int)
RETURNS int
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    v jsonb := body -> field;
BEGIN
    IF v IS NULL OR jsonb_typeof(v) <> 'number' OR (v #>> '{}') !~ '^-?[0-9]+$'
       OR (v #>> '{}')::numeric NOT BETWEEN min_value AND max_value THEN
        PERFORM nmc.raise_api_error(400, 'invalid_field',
            format('%s must be a whole number from %s to %s', field, min_value, max_value), field);
    END IF;
    RETURN (v #>> '{}')::int;
END
$$;
COMMENT ON FUNCTION nmc.input_int(jsonb, text, int, int) IS 'The whole number body->field within [min_value, max_value]; raises NM400 invalid_field otherwise.';

CREATE FUNCTION nmc.input_timezone(tz text, field text DEFAULT 'timezone')
RETURNS text
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    IF tz IS NULL OR NOT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = tz) THEN
        PERFORM nmc.raise_api_error(400, 'invalid_timezone',
            field || ' must be an IANA time zone name such as America/Chicago', field);
    END IF;
    RETURN tz;
END
$$;
COMMENT ON FUNCTION nmc.input_timezone(text, text) IS 'Returns tz if it names a known IANA time zone, else raises NM400 invalid_timezone.';

-- ==== ../sql/phone.sql
-- phone.sql — phone numbers to E.164. The rule set (also in docs/phone-numbers.md):
--   * separators space - . ( ) are ignored; any other character is refused;
--   * "+" or "00" starts an international number: 8 to 15 digits, no leading 0;
--   * without a country prefix only North American (NANP) numbers are accepted:
--     10 digits, or 11 digits starting with 1;
--   * every +1 number must be a valid NANP number: area code and exchange
--     start with 2-9 and the area code is not an N11 service code.
-- No other guessing: anything else is an invalid_phone error naming the field.
CREATE FUNCTION nmc.normalize_phone(raw text, field text DEFAULT 'phone')
RETURNS text
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    s text;
    digits text;
BEGIN
    IF raw IS NULL OR btrim(raw) = '' THEN
        PERFORM nmc.raise_api_error(400, 'invalid_phone', field || ' is required', field);
    END IF;
    IF length(raw) > 32 THEN
        PERFORM nmc.raise_api_error(400, 'invalid_phone', field || ' is too long to be a phone number', field);
    END IF;
    s := regexp_replace(btrim(raw), '[ .()-]', '', 'g');
    IF s !~ '^\+?[0-9]+$' THEN
        PERFORM nmc.raise_api_error(400, 'invalid_phone',
            field || ' may contain only digits, an optional leading +, spaces, dashes, dots and parentheses', field);
    END IF;

    IF left(s, 1) = '+' THEN
        digits := substr(s, 2);
    ELSIF left(s, 2) = '00' THEN
        digits := substr(s, 3);
    ELSIF length(s) = 10 THEN
        digits := '1' || s;
    ELSIF length(s) = 11 AND left(s, 1) = '1' THEN
        digits := s;
    ELSE
        PERFORM nmc.raise_api_error(400, 'invalid_phone',
            field || ' needs a country code (for example +44 20 7946 0958) unless it is a 10-digit North American number', field);
    END IF;

    IF left(digits, 1) = '0' OR length(digits) < 8 OR length(digits) > 15 THEN
        PERFORM nmc.raise_api_error(400, 'invalid_phone',
            field || ' is not a valid international number: 8 to 15 digits after the country code prefix, not starting with 0', field);
    END IF;
    IF left(digits, 1) = '1' THEN
        IF length(digits) <> 11 THEN
            PERFORM nmc.raise_api_error(400, 'invalid_phone',
                field || ' is not a valid North American number: +1 then 10 digits', field);
        END IF;
        IF substr(digits, 2, 3) !~ '^[2-9][0-9][0-9]$' OR substr(digits, 3, 2) = '11'
           OR substr(digits, 5, 3) !~ '^[2-9][0-9][0-9]$' THEN
            PERFORM nmc.raise_api_error(400, 'invalid_phone',
                field || ' is not a valid North American number: area code and exchange must start with 2-9 and the area code cannot be an N11 code', field);
        END IF;
    END IF;
    RETURN '+' || digits;
END
$$;
COMMENT ON FUNCTION nmc.normalize_phone(text, text) IS
    'Normalises a phone number to E.164 (+<digits>) by the documented rule set, or raises NM400 invalid_phone naming `field`.';

CREATE FUNCTION nmc.phone_or_null(raw text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    RETURN nmc.normalize_phone(raw, 'phone');
EXCEPTION WHEN SQLSTATE 'NM400' THEN
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION nmc.phone_or_null(text) IS 'nmc.normalize_phone, or NULL where it would raise (for sorting input, not for answering it).';

CREATE DOMAIN nmc.e164 AS text CHECK (VALUE ~ '^\+[1-9][0-9]{7,14}$');
COMMENT ON DOMAIN nmc.e164 IS 'A phone number in E.164 form, as nmc.normalize_phone returns it.';

-- ==== ../sql/businesses.sql
-- businesses.sql — the tenant: a business, its trade and profile.
-- Every other tenant table hangs off nmc.businesses.id as business_id.
CREATE TABLE nmc.trade_types (
    code  text PRIMARY KEY CHECK (code ~ '^[a-z_]+$'),
    label text NOT NULL
);
COMMENT ON TABLE nmc.trade_types IS 'The fixed list of trades a business can be; referenced by nmc.businesses.trade_type.';
INSERT INTO nmc.trade_types (code, label) VALUES
    ('plumbing', 'Plumbing'),
    ('electrical', 'Electrical'),
    ('hvac', 'Heating & air conditioning'),
    ('roofing', 'Roofing'),
    ('locksmith', 'Locksmith'),
    ('appliance_repair', 'Appliance repair'),
    ('garage_door', 'Garage doors'),
    ('pest_control', 'Pest control'),
    ('landscaping', 'Landscaping'),
    ('cleaning', 'Cleaning'),
    ('handyman', 'Handyman'),
    ('general_contractor', 'General contractor'),
    ('other', 'Other trade');

CREATE TABLE nmc.businesses (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    trade_type       text NOT NULL REFERENCES nmc.trade_types (code),
    address_line1    text CHECK (length(address_line1) <= 200),
    address_line2    text CHECK (length(address_line2) <= 200),
    city             text CHECK (length(city) <= 100),
    region           text CHECK (length(region) <= 100),
    postal_code      text CHECK (length(postal_code) <= 20),
    country          text NOT NULL DEFAULT 'US' CHECK (country ~ '^[A-Z]{2}$'),
    timezone         text NOT NULL DEFAULT 'UTC',
    forward_to_phone nmc.e164,
    -- Call handling and texting, tunable per business (see PATCH /api/business):
    ring_timeout_seconds  int NOT NULL DEFAULT 20 CHECK (ring_timeout_seconds BETWEEN 5 AND 600),
    min_ring_seconds      int NOT NULL DEFAULT 0 CHECK (min_ring_seconds BETWEEN 0 AND 600),
    repeat_window_seconds int NOT NULL DEFAULT 600 CHECK (repeat_window_seconds BETWEEN 0 AND 86400),
    human_window_seconds  int NOT NULL DEFAULT 60 CHECK (human_window_seconds BETWEEN 0 AND 3600),
    max_reply_segments    int NOT NULL DEFAULT 6 CHECK (max_reply_segments BETWEEN 1 AND 10),
    max_ai_segments       int NOT NULL DEFAULT 3 CHECK (max_ai_segments BETWEEN 1 AND 10),
    appointment_minutes   int NOT NULL DEFAULT 60 CHECK (appointment_minutes BETWEEN 15 AND 480),
    greeting_template     text CHECK (length(greeting_template) BETWEEN 1 AND 1000),
    after_hours_message   text CHECK (length(after_hours_message) BETWEEN 1 AND 500),
    help_text             text CHECK (length(help_text) BETWEEN 1 AND 320),
    safety_advice         text CHECK (length(safety_advice) BETWEEN 1 AND 480),
    ai_disclosure         text CHECK (length(ai_disclosure) BETWEEN 1 AND 200),
    service_postal_codes  text[] CHECK (array_length(service_postal_codes, 1) <= 500),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    -- Since 0.2.0 (columns are added at the end: upgrades append them).
    service_radius_km      numeric(5,1) CHECK (service_radius_km > 0 AND service_radius_km <= 500),
    service_lat            double precision CHECK (service_lat BETWEEN -90 AND 90),
    service_lng            double precision CHECK (service_lng BETWEEN -180 AND 180),
    emergency_sms_to_owner boolean NOT NULL DEFAULT true
);
COMMENT ON TABLE nmc.businesses IS 'One row per business (tenant): profile, trade, address, time zone and the phone missed calls were forwarded to.';
CREATE TRIGGER businesses_touch BEFORE UPDATE ON nmc.businesses
    FOR EACH ROW EXECUTE FUNCTION nmc.touch_updated_at();

ALTER TABLE nmc.businesses ENABLE ROW LEVEL SECURITY;
ALTER TABLE nmc.businesses FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON nmc.businesses
    USING (id = nmc.current_business_id())
    WITH CHECK (id = nmc.current_business_id());

CREATE FUNCTION nmc.default_after_hours_message(b nmc.businesses)
RETURNS text
LANGUAGE sql STABLE
AS $$ SELECT format('Thanks for calling %s. We can''t take your call right now; we''ll text you in a moment.', b.name) $$;
COMMENT ON FUNCTION nmc.default_after_hours_message(nmc.businesses) IS 'What a caller hears when the business is closed, unless the business wrote its own.';

CREATE FUNCTION nmc.default_help_text(b nmc.businesses)
RETURNS text
LANGUAGE sql STABLE
AS $$ SELECT format('%s: reply to this number to reach us. Reply STOP to stop texts.', b.name) $$;
COMMENT ON FUNCTION nmc.default_help_text(nmc.businesses) IS 'The reply to HELP, unless the business wrote its own.';

CREATE FUNCTION nmc.default_safety_advice(b nmc.businesses)
RETURNS text
LANGUAGE sql STABLE
AS $$ SELECT format('If you smell gas, see smoke or sparks, or feel unsafe, leave the building and call 911. We''ve alerted %s and will call you right away.', b.name) $$;
COMMENT ON FUNCTION nmc.default_safety_advice(nmc.businesses) IS 'What a customer reporting danger is told at once, unless the business wrote its own (safety_advice).';


CREATE FUNCTION nmc.default_ai_disclosure(b nmc.businesses)
RETURNS text
LANGUAGE sql STABLE
AS $$ SELECT format('Hi, this is %s''s automated assistant.', b.name) $$;
COMMENT ON FUNCTION nmc.default_ai_disclosure(nmc.businesses) IS 'How the automated assistant introduces itself in its first message, unless the business wrote its own (ai_disclosure).';

CREATE FUNCTION nmc.business_json(b nmc.businesses)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT jsonb_build_object(
        'id', b.id,
        'name', b.name,
        'trade_type', b.trade_type,
        'address_line1', b.address_line1,
        'address_line2', b.address_line2,
        'city', b.city,
        'region', b.region,
        'postal_code', b.postal_code,
        'country', b.country,
        'timezone', b.timezone,
        'forward_to_phone', b.forward_to_phone,
        'ring_timeout_seconds', b.ring_timeout_seconds,
        'min_ring_seconds', b.min_ring_seconds,
        'repeat_window_seconds', b.repeat_window_seconds,
        'human_window_seconds', b.human_window_seconds,
        'max_reply_segments', b.max_reply_segments,
        'max_ai_segments', b.max_ai_segments,
        'appointment_minutes', b.appointment_minutes,
        'after_hours_message', coalesce(b.after_hours_message, nmc.default_after_hours_message(b)),
        'help_text', coalesce(b.help_text, nmc.default_help_text(b)),
        'safety_advice', coalesce(b.safety_advice, nmc.default_safety_advice(b)),
        'ai_disclosure', coalesce(b.ai_disclosure, nmc.default_ai_disclosure(b)),
        'service_postal_codes', coalesce(to_jsonb(b.service_postal_codes), '[]'),
        'service_radius_km', b.service_radius_km,
        'service_center', CASE WHEN b.service_lat IS NOT NULL THEN jsonb_build_object('lat', b.service_lat, 'lng', b.service_lng) END,
        'emergency_sms_to_owner', b.emergency_sms_to_owner,
        'created_at', b.created_at,
        'updated_at', b.updated_at)
$$;
COMMENT ON FUNCTION nmc.business_json(nmc.businesses) IS 'The API representation of a business.';

CREATE FUNCTION nmc.input_trade_type(code text, field text DEFAULT 'trade_type')
RETURNS text
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    IF code IS NULL OR NOT EXISTS (SELECT 1 FROM nmc.trade_types t WHERE t.code = input_trade_type.code) THEN
        PERFORM nmc.raise_api_error(400, 'invalid_trade_type',
            format('%s must be one of: %s', field,
                   (SELECT string_agg(t.code, ', ' ORDER BY t.code) FROM nmc.trade_types t)), field);
    END IF;
    RETURN code;
END
$$;
COMMENT ON FUNCTION nmc.input_trade_type(text, text) IS 'Returns code if it is a known trade type, else raises NM400 invalid_trade_type listing the choices.';

CREATE FUNCTION nmc.business_update(patch jsonb)
RETURNS nmc.businesses
LANGUAGE plpgsql
AS $$
DECLARE
    b nmc.businesses;
    v text;
BEGIN
    PERFORM nmc.input_object(patch);
    PERFORM nmc.input_allowed_fields(patch, ARRAY['name', 'trade_type', 'address_line1', 'address_line2',
        'city', 'region', 'postal_code', 'country', 'timezone', 'forward_to_phone', 'ring_timeout_seconds',
        'min_ring_seconds', 'repeat_window_seconds', 'human_window_seconds', 'max_reply_segments', 'max_ai_segments', 'appointment_minutes',
        'after_hours_message', 'help_text', 'safety_advice', 'ai_disclosure', 'service_postal_codes',
        'service_radius_km', 'service_center', 'emergency_sms_to_owner']);

    SELECT * INTO b FROM nmc.businesses WHERE id = nmc.current_business_id() FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM nmc.raise_api_error(404, 'not_found', 'business not found');
    END IF;

    IF patch ? 'name' THEN
        b.name := nmc.input_text(patch, 'name', true, 200);
    END IF;
    IF patch ? 'trade_type' THEN
        b.trade_type := nmc.input_trade_type(nmc.input_text(patch, 'trade_type', true, 50));
    END IF;
    IF patch ? 'address_line1' THEN
        b.address_line1 := nmc.input_text(patch, 'address_line1', false, 200, 0);
    END IF;
    IF patch ? 'address_line2' THEN
        b.address_line2 := nmc.input_text(patch, 'address_line2', false, 200, 0);
    END IF;
    IF patch ? 'city' THEN
        b.city := nmc.input_text(patch, 'city', false, 100, 0);
    END IF;
    IF patch ? 'region' THEN
        b.region := nmc.input_text(patch, 'region', false, 100, 0);
    END IF;
    IF patch ? 'postal_code' THEN
        b.postal_code := nmc.input_text(patch, 'postal_code', false, 20, 0);
    END IF;
    IF patch ? 'country' THEN
        v := upper(nmc.input_text(patch, 'country', true, 2, 2));
        IF v !~ '^[A-Z]{2}$' THEN
            PERFORM nmc.raise_api_error(400, 'invalid_field', 'country must be a two-letter ISO 3166 code such as US', 'country');
        END IF;
        b.country := v;
    END IF;
    IF patch ? 'timezone' THEN
        b.timezone := nmc.input_timezone(nmc.input_text(patch, 'timezone', true, 64));
    END IF;
    IF patch ? 'forward_to_phone' THEN
        v := nmc.input_text(patch, 'forward_to_phone', false, 32, 0);
        b.forward_to_phone := CASE WHEN coalesce(v, '') = '' THEN NULL
                                   ELSE nmc.normalize_phone(v, 'forward_to_phone') END;
    END IF;

    IF patch ? 'ring_timeout_seconds' THEN
        b.ring_timeout_seconds := nmc.input_int(patch, 'ring_timeout_seconds', 5, 600);
    END IF;
    IF patch ? 'min_ring_seconds' THEN
        b.min_ring_seconds := nmc.input_int(patch, 'min_ring_seconds', 0, 600);
    END IF;
    IF patch ? 'repeat_window_seconds' THEN
        b.repeat_window_seconds := nmc.input_int(patch, 'repeat_window_seconds', 0, 86400);
    END IF;
    IF patch ? 'human_window_seconds' THEN
        b.human_window_seconds := nmc.input_int(patch, 'human_window_seconds', 0, 3600);
    END IF;
    IF patch ? 'max_ai_segments' THEN
        b.max_ai_segments := nmc.input_int(patch, 'max_ai_segments', 1, 10);
    END IF;
    IF patch ? 'appointment_minutes' THEN
        b.appointment_minutes := nmc.input_int(patch, 'appointment_minutes', 15, 480);
    END IF;
    IF patch ? 'max_reply_segments' THEN
        b.max_reply_segments := nmc.input_int(patch, 'max_reply_segments', 1, 10);
    END IF;
    IF patch ? 'after_hours_message' THEN
        b.after_hours_message := nullif(nmc.input_text(patch, 'after_hours_message', false, 500, 0), '');
    END IF;
    IF patch ? 'service_postal_codes' THEN
        IF jsonb_typeof(patch -> 'service_postal_codes') <> 'array'
           OR EXISTS (SELECT 1 FROM jsonb_array_elements(patch -> 'service_postal_codes') z
                       WHERE jsonb_typeof(z) <> 'string' OR (z #>> '{}') !~ '^[A-Za-z0-9 -]{3,10}$')
           OR jsonb_array_length(patch -> 'service_postal_codes') > 500 THEN
            PERFORM nmc.raise_api_error(400, 'invalid_field', 'service_postal_codes must be a list of postal codes such as "78701" (empty: no limit)',
                                        'service_postal_codes');
        END IF;
        b.service_postal_codes := nullif(ARRAY(SELECT upper(btrim(z)) FROM jsonb_array_elements_text(patch -> 'service_postal_codes') z), '{}');
    END IF;
    IF patch ? 'ai_disclosure' THEN
        b.ai_disclosure := nullif(nmc.input_text(patch, 'ai_disclosure', false, 200, 0), '');
    END IF;
    IF patch ? 'safety_advice' THEN
        b.safety_advice := nullif(nmc.input_text(patch, 'safety_advice', false, 480, 0), '');
    END IF;
    IF patch ? 'help_text' THEN
        b.help_text := nullif(nmc.input_text(patch, 'help_text', false, 320, 0), '');
    END IF;
    IF patch ? 'service_radius_km' THEN
        IF patch -> 'service_radius_km' = 'null' OR patch -> 'service_radius_km' = '0' THEN
            b.service_radius_km := NULL;
        ELSIF jsonb_typeof(patch -> 'service_radius_km') <> 'number'
              OR (patch ->> 'service_radius_km')::numeric <= 0 OR (patch ->> 'service_radius_km')::numeric > 500 THEN
            PERFORM nmc.raise_api_error(400, 'invalid_field', 'service_radius_km must be a number of kilometres up to 500 (0 or null: no radius)',
                                        'service_radius_km');
        ELSE
            b.service_radius_km := round((patch ->> 'service_radius_km')::numeric, 1);
        END IF;
    END IF;
    IF patch ? 'service_center' THEN
        IF patch -> 'service_center' = 'null' THEN
            b.service_lat := NULL;
            b.service_lng := NULL;
        ELSIF jsonb_typeof(patch #> '{service_center,lat}') IS DISTINCT FROM 'number'
              OR jsonb_typeof(patch #> '{service_center,lng}') IS DISTINCT FROM 'number'
              OR abs((patch #>> '{service_center,lat}')::float8) > 90 OR abs((patch #>> '{service_center,lng}')::float8) > 180 THEN
            PERFORM nmc.raise_api_error(400, 'invalid_field', 'service_center must be {"lat": …, "lng": …} in degrees (null: from the business address)',
                                        'service_center');
        ELSE
            b.service_lat := (patch #>> '{service_center,lat}')::float8;
            b.service_lng := (patch #>> '{service_center,lng}')::float8;
        END IF;
    END IF;
    IF patch ? 'emergency_sms_to_owner' THEN
        IF jsonb_typeof(patch -> 'emergency_sms_to_owner') IS DISTINCT FROM 'boolean' THEN
            PERFORM nmc.raise_api_error(400, 'invalid_field', 'emergency_sms_to_owner must be true or false', 'emergency_sms_to_owner');
        END IF;
        b.emergency_sms_to_owner := (patch ->> 'emergency_sms_to_owner')::boolean;
    END IF;

    UPDATE nmc.businesses SET
        name = b.name, trade_type = b.trade_type,
        ring_timeout_seconds = b.ring_timeout_seconds, min_ring_seconds = b.min_ring_seconds,
        repeat_window_seconds = b.repeat_window_seconds, human_window_seconds = b.human_window_seconds,
        max_reply_segments = b.max_reply_segments, after_hours_message = b.after_hours_message,
        appointment_minutes = b.appointment_minutes, max_ai_segments = b.max_ai_segments,
        help_text = b.help_text, safety_advice = b.safety_advice, ai_disclosure = b.ai_disclosure,
        service_postal_codes = b.service_postal_codes, service_radius_km = b.service_radius_km,
        service_lat = b.service_lat, service_lng = b.service_lng, emergency_sms_to_owner = b.emergency_sms_to_owner,
        address_line1 = nullif(b.address_line1, ''), address_line2 = nullif(b.address_line2, ''),
        city = nullif(b.city, ''), region = nullif(b.region, ''), postal_code = nullif(b.postal_code, ''),
        country = b.country, timezone = b.timezone, forward_to_phone = b.forward_to_phone
     WHERE id = b.id
    RETURNING * INTO b;
    -- A radius needs a centre: the business address, geocoded (when Maps is configured).
    IF b.service_radius_km IS NOT NULL AND b.service_lat IS NULL AND b.address_line1 IS NOT NULL AND nmc.maps_configured() THEN
        PERFORM nmc.job_enqueue('maps.geocode', b.id, jsonb_build_object('purpose', 'business_center', 'country', b.country,
                                'address', concat_ws(', ', b.address_line1, b.city, b.region, b.postal_code)));
    END IF;
    RETURN b;
END
$$;
COMMENT ON FUNCTION nmc.business_update(jsonb) IS
    'Applies a partial profile update to the current business (RLS-scoped); validates every field and refuses unknown ones. Empty optional strings clear the field.';

-- ==== ../sql/users.sql
-- users.sql — people who log in to a business's dashboard: profile,
-- preferences and password hash. Phase 1 has one user per business, but
-- nothing here assumes it.
CREATE TABLE nmc.users (
    id            uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
    business_id   uuid NOT NULL REFERENCES nmc.businesses (id) ON DELETE CASCADE,
    email         text NOT NULL CHECK (email = lower(email) AND length(email) <= 254),
    password_hash text NOT NULL,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    preferences   jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(preferences) = 'object'),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (business_id, id)
);
COMMENT ON TABLE nmc.users IS 'Dashboard users. email is stored lower-cased and is unique across the product; password_hash is bcrypt (pgcrypto crypt()).';
CREATE UNIQUE INDEX users_email_key ON nmc.users (email);
CREATE TRIGGER users_touch BEFORE UPDATE ON nmc.users
    FOR EACH ROW EXECUTE FUNCTION nmc.touch_updated_at();

ALTER TABLE nmc.users ENABLE ROW LEVEL SECURITY;
ALTER TABLE nmc.users FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON nmc.users
    USING (business_id = nmc.current_business_id())
    WITH CHECK (business_id = nmc.current_business_id());
-- Login must find a user by email before any tenant is known; only the
-- login function's owner (nmc_auth) may read across businesses.
CREATE POLICY login_lookup ON nmc.users FOR SELECT TO nmc_auth USING (true);

CREATE FUNCTION nmc.user_json(u nmc.users)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT jsonb_build_object(
        'id', u.id,
        'business_id', u.business_id,
        'email', u.email,
        'name', u.name,
        'preferences', u.preferences,
        'created_at', u.created_at,
        'updated_at', u.updated_at)
$$;
COMMENT ON FUNCTION nmc.user_json(nmc.users) IS 'The API representation of a user (never the password hash).';

CREATE FUNCTION nmc.user_update(patch jsonb)
RETURNS nmc.users
LANGUAGE plpgsql
AS $$
DECLARE
    u nmc.users;
BEGIN
    PERFORM nmc.input_object(patch);
    PERFORM nmc.input_allowed_fields(patch, ARRAY['name', 'preferences']);

    SELECT * INTO u FROM nmc.users WHERE id = nmc.current_user_id() FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM nmc.raise_api_error(404, 'not_found', 'user not found');
    END IF;
    IF patch ? 'name' THEN
        u.name := nmc.input_text(patch, 'name', true, 200);
    END IF;
    IF patch ? 'preferences' THEN
        IF jsonb_typeof(patch -> 'preferences') <> 'object' THEN
            PERFORM nmc.raise_api_error(400, 'invalid_field', 'preferences must be a JSON object', 'preferences');
        END IF;
        IF length((u.preferences || (patch -> 'preferences'))::text) > 16384 THEN
            PERFORM nmc.raise_api_error(400, 'invalid_field', 'preferences must stay under 16 KiB', 'preferences');
        END IF;
        -- Merge: a client can change one preference without knowing the others;
        -- a key set to null is removed.
        u.preferences := jsonb_strip_nulls(u.preferences || (patch -> 'preferences'));
    END IF;
    UPDATE nmc.users SET name = u.name, preferences = u.preferences WHERE id = u.id RETURNING * INTO u;
    RETURN u;
END
$$;
COMMENT ON FUNCTION nmc.user_update(jsonb) IS
    'Updates the current user''s name and/or preferences (shallow merge; null removes a key). RLS-scoped.';

-- ==== ../sql/jwt.sql
-- jwt.sql — SQL declarations of the HS256 JWT functions written in C (extension/src/jwt.c).
CREATE FUNCTION nmc.jwt_sign(claims jsonb, secret text)
RETURNS text
LANGUAGE c STRICT IMMUTABLE
AS 'MODULE_PATHNAME', 'nmc_jwt_sign';
COMMENT ON FUNCTION nmc.jwt_sign(jsonb, text) IS
    'Signs claims as an HS256 JWT with secret. Header is {"alg":"HS256","typ":"JWT"}.';

CREATE FUNCTION nmc.jwt_verify(token text, secret text, at timestamptz DEFAULT now())
RETURNS jsonb
LANGUAGE c STRICT STABLE
AS 'MODULE_PATHNAME', 'nmc_jwt_verify';
COMMENT ON FUNCTION nmc.jwt_verify(text, text, timestamptz) IS
    'Verifies an HS256 JWT and returns its claims. Refusals: NMJ01 jwt_malformed, NMJ02 jwt_alg_not_allowed, NMJ03 jwt_bad_signature, NMJ04 jwt_expired (exp <= at), NMJ05 jwt_alg_none, NMJ06 jwt_not_yet_valid (nbf > at, or iat more than 60 s after at).';

-- ==== ../sql/auth.sql
-- auth.sql — registration, login with rate limiting, session tokens, and
-- authenticating an API call (which scopes the transaction to one business).
CREATE TABLE nmc.login_failures (
    scope     text NOT NULL CHECK (scope IN ('email', 'source')),
    key       text NOT NULL,
    failed_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE nmc.login_failures IS 'One row per failed login, by email and by client address; counted over login_failure_window_seconds for rate limiting.';
CREATE INDEX login_failures_lookup ON nmc.login_failures (scope, key, failed_at);

CREATE TABLE nmc.registration_attempts (
    source       text NOT NULL,
    attempted_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE nmc.registration_attempts IS 'One row per sign-up that got as far as hashing its password, by client address; counted over register_window_seconds for throttling (each costs a bcrypt hash), and pruned by the next sign-up from that address.';
CREATE INDEX registration_attempts_lookup ON nmc.registration_attempts (source, attempted_at);

CREATE FUNCTION nmc.input_email(body jsonb)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    e text := lower(nmc.input_text(body, 'email', true, 254));
BEGIN
    IF e !~ '^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:].]+$' THEN
        PERFORM nmc.raise_api_error(400, 'invalid_field', 'email must be an address like name@example.com', 'email');
    END IF;
    RETURN e;
END
$$;
COMMENT ON FUNCTION nmc.input_email(jsonb) IS 'The lower-cased body->email, checked for shape; raises NM400 otherwise.';

CREATE FUNCTION nmc.input_password(body jsonb, min_bytes int)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    v jsonb := body -> 'password';
BEGIN
    IF v IS NULL OR jsonb_typeof(v) = 'null' THEN
        PERFORM nmc.raise_api_error(400, 'missing_field', 'password is required', 'password');
    END IF;
    IF jsonb_typeof(v) <> 'string' THEN
        PERFORM nmc.raise_api_error(400, 'invalid_field', 'password must be a string', 'password');
    END IF;
    -- bcrypt only uses the first 72 bytes: refuse longer ones rather than ignore a suffix.
    IF octet_length(v #>> '{}') < min_bytes OR octet_length(v #>> '{}') > 72 THEN
        PERFORM nmc.raise_api_error(400, 'invalid_field',
            format('password must be %s to 72 bytes long', min_bytes), 'password');
    END IF;
    RETURN v #>> '{}';
END
$$;
COMMENT ON FUNCTION nmc.input_password(jsonb, int) IS 'body->password as given (not trimmed), min_bytes to 72 bytes; raises NM400 otherwise.';

CREATE FUNCTION nmc.issue_token(u nmc.users)
RETURNS text
LANGUAGE sql STABLE
AS $$
    SELECT nmc.jwt_sign(jsonb_build_object(
        'sub', u.id,
        'business_id', u.business_id,
        'iat', floor(extract(epoch FROM now()))::bigint,
        'exp', floor(extract(epoch FROM now()))::bigint + nmc.setting_int('jwt_ttl_seconds')),
        nmc.setting('jwt_secret'))
$$;
COMMENT ON FUNCTION nmc.issue_token(nmc.users) IS 'A session JWT for u: sub, business_id, iat, exp (jwt_ttl_seconds from now).';

CREATE FUNCTION nmc.register(body jsonb, client_addr text)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $$
DECLARE
    v_email text;
    v_password text;
    v_name text;
    v_business_name text;
    v_trade text;
    v_timezone text;
    b nmc.businesses;
    u nmc.users;
    v_source text := coalesce(client_addr, '');
    win interval := make_interval(secs => nmc.setting_int('register_window_seconds'));
    n bigint;
    oldest timestamptz;
    retry_after int;
BEGIN
    PERFORM nmc.input_object(body);
    PERFORM nmc.input_allowed_fields(body, ARRAY['email', 'password', 'name', 'business_name', 'trade_type', 'timezone']);
    v_email := nmc.input_email(body);
    v_password := nmc.input_password(body, 8);
    v_name := nmc.input_text(body, 'name', true, 200);
    v_business_name := nmc.input_text(body, 'business_name', true, 200);
    v_trade := nmc.input_trade_type(nmc.input_text(body, 'trade_type', true, 50));
    v_timezone := nmc.input_timezone(coalesce(nmc.input_text(body, 'timezone', false, 64), 'UTC'));

    -- Each sign-up costs a bcrypt hash: an address gets register_max_per_source
    -- of them per window. Sign-ups from one address take turns here, so a burst
    -- of parallel ones is counted exactly.
    PERFORM pg_advisory_xact_lock(hashtextextended('nmc.register ' || v_source, 0));
    DELETE FROM nmc.registration_attempts WHERE source = v_source AND attempted_at <= now() - win;
    SELECT count(*), min(attempted_at) INTO n, oldest FROM nmc.registration_attempts WHERE source = v_source;
    IF n >= nmc.setting_int('register_max_per_source') THEN
        retry_after := greatest(1, ceil(extract(epoch FROM oldest + win - now())))::int;
        RETURN nmc.respond(429, nmc.error_body('rate_limited', format('too many sign-ups from this address; try again in %s seconds', retry_after)),
                           'Retry-After: ' || retry_after);
    END IF;
    INSERT INTO nmc.registration_attempts (source) VALUES (v_source);

    -- The new rows belong to the new business: scope the transaction to it
    -- so row-level security checks the inserts like any other write.
    b.id := gen_random_uuid();
    PERFORM set_config('nmc.business_id', b.id::text, true);
    BEGIN
        INSERT INTO nmc.businesses (id, name, trade_type, timezone)
        VALUES (b.id, v_business_name, v_trade, v_timezone)
        RETURNING * INTO b;
        INSERT INTO nmc.users (business_id, email, password_hash, name)
        VALUES (b.id, v_email, crypt(v_password, gen_salt('bf', nmc.setting_int('bcrypt_cost')::int)), v_name)
        RETURNING * INTO u;
    EXCEPTION WHEN unique_violation THEN
        -- Returned, not raised: the attempt (and its hash) still counts.
        PERFORM set_config('nmc.business_id', '', true);
        RETURN nmc.respond(409, nmc.error_body('email_taken', 'an account with this email already exists; log in instead', 'email'));
    END;
    PERFORM set_config('nmc.user_id', u.id::text, true);
    RETURN nmc.respond(201, jsonb_build_object(
        'token', nmc.issue_token(u),
        'user', nmc.user_json(u),
        'business', nmc.business_json(b)));
END
$$;
COMMENT ON FUNCTION nmc.register(jsonb, text) IS
    'Creates a business and its first user in one transaction from {email, password, name, business_name, trade_type[, timezone]}; answers 201 {token, user, business}, 400/409, or 429 rate_limited (with Retry-After) once the client address made register_max_per_source sign-ups within register_window_seconds.';

CREATE FUNCTION nmc.login_rate_limited(v_email text, client_addr text)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $$
DECLARE
    win interval := make_interval(secs => nmc.setting_int('login_failure_window_seconds'));
    scope_name text;
    scope_key text;
    max_failures bigint;
    n bigint;
    oldest timestamptz;
    retry_after int;
BEGIN
    FOR scope_name, scope_key, max_failures IN
        VALUES ('email', v_email, nmc.setting_int('login_max_failures_per_email')),
               ('source', coalesce(client_addr, ''), nmc.setting_int('login_max_failures_per_source'))
    LOOP
        -- The oldest failure that still counts decides when one more try is allowed.
        SELECT count(*), min(failed_at) INTO n, oldest
          FROM (SELECT failed_at FROM nmc.login_failures
                 WHERE scope = scope_name AND key = scope_key AND failed_at > now() - win
                 ORDER BY failed_at DESC LIMIT max_failures) recent;
        IF n >= max_failures THEN
            retry_after := greatest(1, ceil(extract(epoch FROM oldest + win - now())))::int;
            RETURN nmc.respond(429,
                nmc.error_body('rate_limited', format('too many failed logins; try again in %s seconds', retry_after)),
                'Retry-After: ' || retry_after);
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION nmc.login_rate_limited(text, text) IS 'A 429 response when the email or client address has too many recent failed logins, else NULL.';

CREATE FUNCTION nmc.login(body jsonb, client_addr text)
RETURNS nmc.http_response
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = nmc, public, pg_temp
AS $$
DECLARE
    v_email text;
    v_password text;
    limited nmc.http_response;
    u nmc.users;
    attempt text;
BEGIN
    PERFORM nmc.input_object(body);
    PERFORM nmc.input_allowed_fields(body, ARRAY['email', 'password']);
    v_email := lower(nmc.input_text(body, 'email', true, 254));
    v_password := nmc.input_password(body, 1);

    -- Serialise attempts on one email so concurrent guesses are all counted.
    PERFORM pg_advisory_xact_lock(hashtextextended('nmc.login:' || v_email, 0));
    limited := nmc.login_rate_limited(v_email, client_addr);
    IF limited.status IS NOT NULL THEN
        RETURN limited;
    END IF;

    SELECT * INTO u FROM nmc.users WHERE email = v_email;
    -- An unknown email still pays one hash so timing does not reveal which emails exist.
    attempt := crypt(v_password, coalesce(u.password_hash, gen_salt('bf', nmc.setting_int('bcrypt_cost')::int)));
    IF u.id IS NULL OR attempt IS DISTINCT FROM u.password_hash THEN
        INSERT INTO nmc.login_failures (scope, key) VALUES ('email', v_email), ('source', coalesce(client_addr, ''));
        RETURN nmc.respond(401, nmc.error_body('invalid_credentials', 'email or password is wrong'));
    END IF;

    DELETE FROM nmc.login_failures WHERE scope = 'email' AND key = v_email;
    PERFORM set_config('nmc.business_id', u.business_id::text, true);
    PERFORM set_config('nmc.user_id', u.id::text, true);
    RETURN nmc.respond(200, jsonb_build_object('token', nmc.issue_token(u), 'user', nmc.user_json(u)));
END
$$;
COMMENT ON FUNCTION nmc.login(jsonb, text) IS
    'Checks {email, password}; 200 {token, user}, 401 invalid_credentials (counted), or 429 rate_limited with Retry-After. Failures are returned, not raised, so they are recorded. Runs as nmc_auth to find the user before the tenant is known.';

CREATE FUNCTION nmc.authenticate(headers jsonb)
RETURNS nmc.users
LANGUAGE plpgsql
AS $$
DECLARE
    auth text := headers ->> 'authorization';
    claims jsonb;
    u nmc.users;
BEGIN
    IF auth IS NULL OR auth = '' THEN
        PERFORM nmc.raise_api_error(401, 'missing_token', 'send Authorization: Bearer <token> (log in to get one)');
    END IF;
    IF auth !~* '^Bearer [^ ]+$' THEN
        PERFORM nmc.raise_api_error(401, 'jwt_malformed', 'the Authorization header must be "Bearer <token>"');
    END IF;
    BEGIN
        claims := nmc.jwt_verify(substr(auth, 8), nmc.setting('jwt_secret'));
    EXCEPTION WHEN OTHERS THEN
        IF SQLSTATE LIKE 'NMJ%' THEN
            PERFORM nmc.raise_api_error(401, split_part(SQLERRM, ':', 1), btrim(split_part(SQLERRM, ':', 2)));
        END IF;
        RAISE;
    END;
    IF coalesce(claims ->> 'business_id', '') !~ '^[0-9a-f-]{36}$' OR coalesce(claims ->> 'sub', '') !~ '^[0-9a-f-]{36}$' THEN
        PERFORM nmc.raise_api_error(401, 'jwt_malformed', 'the token lacks sub or business_id');
    END IF;
    PERFORM set_config('nmc.business_id', claims ->> 'business_id', true);
    PERFORM set_config('nmc.user_id', claims ->> 'sub', true);
    SELECT * INTO u FROM nmc.users WHERE id = (claims ->> 'sub')::uuid;
    IF NOT FOUND THEN
        PERFORM nmc.raise_api_error(401, 'unknown_user', 'the account of this token no longer exists');
    END IF;
    RETURN u;
END
$$;
COMMENT ON FUNCTION nmc.authenticate(jsonb) IS
    'Verifies the Bearer JWT in headers, scopes the transaction to its business and user (nmc.business_id, nmc.user_id) and returns the user; raises NM401 with the reason code otherwise.';

-- ==== ../sql/api.sql
-- api.sql — the HTTP API: a route table and nmc_api.handle, the one function
-- the edge calls for every /api request. handle finds the route, parses the
-- body, authenticates when the route needs it, runs the handler and maps
-- NMxxx errors to HTTP responses (PostgREST-style: one place for that table).
CREATE TABLE nmc.api_routes (
    route_method text NOT NULL CHECK (route_method IN ('GET', 'POST', 'PUT', 'PATCH', 'DELETE')),
    route_path   text NOT NULL CHECK (route_path ~ '^/(api|webhooks)/'),
    handler      text NOT NULL,
    auth         text NOT NULL CHECK (auth IN ('public', 'jwt', 'twilio')),
    summary      text NOT NULL,
    PRIMARY KEY (route_method, route_path)
);
COMMENT ON TABLE nmc.api_routes IS 'Every HTTP route answered in SQL: method, path pattern ({name} matches one path segment), handler nmc.<handler>(req jsonb) → nmc.http_response, and how the caller is authenticated: public, jwt (Bearer token → tenant), twilio (X-Twilio-Signature over the form body).';

-- Handlers receive req = {method, path, params, query, headers, client_addr, body}.
CREATE FUNCTION nmc.api_trade_types(req jsonb)
RETURNS nmc.http_response
LANGUAGE sql STABLE
AS $$
    SELECT nmc.respond(200, jsonb_build_object('trade_types',
        (SELECT jsonb_agg(jsonb_build_object('code', code, 'label', label) ORDER BY label) FROM nmc.trade_types)))
$$;
COMMENT ON FUNCTION nmc.api_trade_types(jsonb) IS 'GET /api/trade-types: the trades a business can choose.';

CREATE FUNCTION nmc.api_auth_register(req jsonb)
RETURNS nmc.http_response
LANGUAGE sql
AS $$ SELECT nmc.register(req -> 'body', req ->> 'client_addr') $$;
COMMENT ON FUNCTION nmc.api_auth_register(jsonb) IS 'POST /api/auth/register: see nmc.register.';

CREATE FUNCTION nmc.api_auth_login(req jsonb)
RETURNS nmc.http_response
LANGUAGE sql
AS $$ SELECT nmc.login(req -> 'body', req ->> 'client_addr') $$;
COMMENT ON FUNCTION nmc.api_auth_login(jsonb) IS 'POST /api/auth/login: see nmc.login.';

CREATE FUNCTION nmc.api_me_get(req jsonb)
RETURNS nmc.http_response
LANGUAGE sql STABLE
AS $$
    SELECT nmc.respond(200, jsonb_build_object('user', nmc.user_json(u)))
      FROM nmc.users u WHERE u.id = nmc.current_user_id()
$$;
COMMENT ON FUNCTION nmc.api_me_get(jsonb) IS 'GET /api/me: the logged-in user.';

CREATE FUNCTION nmc.api_me_patch(req jsonb)
RETURNS nmc.http_response
LANGUAGE sql
AS $$ SELECT nmc.respond(200, jsonb_build_object('user', nmc.user_json(nmc.user_update(req -> 'body')))) $$;
COMMENT ON FUNCTION nmc.api_me_patch(jsonb) IS 'PATCH /api/me: change name and/or preferences.';

CREATE FUNCTION nmc.api_business_get(req jsonb)
RETURNS nmc.http_response
LANGUAGE sql STABLE
AS $$
    SELECT nmc.respond(200, jsonb_build_object('business', nmc.business_json(b)))
      FROM nmc.businesses b WHERE b.id = nmc.current_business_id()
$$;
COMMENT ON FUNCTION nmc.api_business_get(jsonb) IS 'GET /api/business: the profile of the logged-in user''s business.';

CREATE FUNCTION nmc.api_business_patch(req jsonb)
RETURNS nmc.http_response
LANGUAGE sql
AS $$ SELECT nmc.respond(200, jsonb_build_object('business', nmc.business_json(nmc.business_update(req -> 'body')))) $$;
COMMENT ON FUNCTION nmc.api_business_patch(jsonb) IS 'PATCH /api/business: partial update of the business profile.';

INSERT INTO nmc.api_routes (route_method, route_path, handler, auth, summary) VALUES
    ('GET', '/api/trade-types', 'api_trade_types', 'public', 'List the trades a business can choose'),
    ('POST', '/api/auth/register', 'api_auth_register', 'public', 'Create a user and their business; returns a session token'),
    ('POST', '/api/auth/login', 'api_auth_login', 'public', 'Log in; returns a session token'),
    ('GET', '/api/me', 'api_me_get', 'jwt', 'The logged-in user'),
    ('PATCH', '/api/me', 'api_me_patch', 'jwt', 'Update the logged-in user''s name and preferences'),
    ('GET', '/api/business', 'api_business_get', 'jwt', 'The business profile'),
    ('PATCH', '/api/business', 'api_business_patch', 'jwt', 'Update the business profile');

CREATE FUNCTION nmc.route_regex(route_path text)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$ SELECT '^' || regexp_replace(route_path, '\{[a-z_]+\}', '([^/]+)', 'g') || '$' $$;
COMMENT ON FUNCTION nmc.route_regex(text) IS 'The anchored regular expression a route path pattern matches.';

CREATE FUNCTION nmc_api.handle(method text, path text, query jsonb, request_headers jsonb,
                               client_addr text, request_body text, raw_query text DEFAULT NULL)
RETURNS TABLE (status int, content_type text, headers text, body text)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = nmc, public, pg_temp
AS $$
DECLARE
    route nmc.api_routes;
    params text[];
    allowed text;
    parsed jsonb;
    form_pairs text[];
    resp nmc.http_response;
    err_state text;
    err_message text;
    err_code text;
    err_field text;
BEGIN
    -- Never inherit a tenant from an earlier call in the same transaction.
    PERFORM set_config('nmc.business_id', '', true), set_config('nmc.user_id', '', true);
    -- Exact paths first (an index lookup); patterns with {params} only if none.
    SELECT r.* INTO route FROM nmc.api_routes r
     WHERE r.route_method = upper(handle.method) AND r.route_path = handle.path;
    IF route.handler IS NULL THEN
        SELECT r.* INTO route FROM nmc.api_routes r
         WHERE r.route_method = upper(handle.method) AND r.route_path ~ '\{' AND handle.path ~ nmc.route_regex(r.route_path)
         LIMIT 1;
    END IF;
    IF route.handler IS NULL THEN
        SELECT string_agg(DISTINCT r.route_method, ', ') INTO allowed
          FROM nmc.api_routes r WHERE handle.path ~ nmc.route_regex(r.route_path);
        IF allowed IS NULL THEN
            resp := nmc.respond(404, nmc.error_body('not_found', format('no route %s', handle.path)));
        ELSE
            resp := nmc.respond(405, nmc.error_body('method_not_allowed',
                        format('%s does not accept %s; allowed: %s', handle.path, upper(handle.method), allowed)),
                        'Allow: ' || allowed);
        END IF;
        RETURN QUERY SELECT resp.status, 'application/json'::text, resp.headers, resp.body::text;
        RETURN;
    END IF;

    params := CASE WHEN route.route_path ~ '\{' THEN regexp_match(handle.path, nmc.route_regex(route.route_path)) ELSE '{}' END;
    -- Everything below runs in one subtransaction: an error leaves no trace.
    BEGIN
        IF route.auth = 'twilio' THEN
            -- Twilio posts its webhooks form-encoded, always.
            IF split_part(lower(coalesce(request_headers ->> 'content-type', '')), ';', 1) <> 'application/x-www-form-urlencoded' THEN
                PERFORM nmc.raise_api_error(415, 'unsupported_media_type',
                    'Twilio webhooks are application/x-www-form-urlencoded', 'content-type');
            END IF;
            BEGIN
                form_pairs := nmc.form_decode(coalesce(request_body, ''));
            EXCEPTION WHEN invalid_text_representation THEN
                PERFORM nmc.raise_api_error(400, 'malformed_form', 'the request body is not a valid form');
            END;
            PERFORM nmc.webhook_fields_check(form_pairs);
            IF NOT nmc.twilio_request_is_signed(handle.path, raw_query, form_pairs,
                                                request_headers ->> 'x-twilio-signature') THEN
                PERFORM nmc.raise_api_error(403, 'invalid_signature',
                    'X-Twilio-Signature is missing or does not match this request');
            END IF;
            parsed := nmc.form_object(form_pairs);
        ELSIF coalesce(request_body, '') <> '' THEN
            BEGIN
                parsed := request_body::jsonb;
            EXCEPTION
                WHEN invalid_text_representation THEN
                    PERFORM nmc.raise_api_error(400, 'malformed_json', 'the request body is not valid JSON');
                WHEN untranslatable_character THEN
                    -- \u0000, which no text in the database can hold.
                    PERFORM nmc.raise_api_error(400, 'malformed_json', 'the request body holds a character that is not accepted (\u0000)');
                WHEN statement_too_complex OR program_limit_exceeded THEN
                    -- Nested deeper than the parser's stack allows.
                    PERFORM nmc.raise_api_error(400, 'malformed_json', 'the request body is nested too deeply');
            END;
        END IF;
        IF route.auth = 'jwt' THEN
            PERFORM nmc.authenticate(coalesce(request_headers, '{}'));
        END IF;
        resp := nmc.api_dispatch(route.handler, jsonb_build_object(
                'method', upper(handle.method), 'path', handle.path, 'params', to_jsonb(params),
                'query', coalesce(query, '{}'), 'headers', coalesce(request_headers, '{}'),
                'client_addr', client_addr, 'body', parsed));
        IF resp.status IS NULL THEN
            PERFORM nmc.raise_api_error(404, 'not_found', 'not found');
        END IF;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS err_state = RETURNED_SQLSTATE, err_message = MESSAGE_TEXT,
                                err_code = PG_EXCEPTION_DETAIL, err_field = PG_EXCEPTION_HINT;
        IF err_state ~ '^NM[0-9]{3}$' THEN
            resp := nmc.respond(substr(err_state, 3)::int, nmc.error_body(err_code, err_message, err_field));
        ELSE
            RAISE LOG 'nmc_api.handle % %: unexpected error % %', upper(handle.method), handle.path, err_state, err_message;
            resp := nmc.respond(500, nmc.error_body('internal_error', 'internal error'));
        END IF;
    END;
    IF resp.content_type IS NOT NULL THEN
        RETURN QUERY SELECT resp.status, resp.content_type, resp.headers, resp.text_body;
    ELSE
        RETURN QUERY SELECT resp.status, 'application/json'::text, resp.headers, resp.body::text;
    END IF;
END
$$;
COMMENT ON FUNCTION nmc_api.handle(text, text, jsonb, jsonb, text, text, text) IS
    'The edge''s one entry point for /api and /webhooks: (method, path, query args, lower-cased request headers, client address, raw body, raw query string) → (status, content type, extra header lines, body). API errors are JSON {"error":{"code","message"[,"field"]}}; Twilio webhooks are signature-checked and answer TwiML.';

CREATE FUNCTION nmc_api.handle_many(requests jsonb)
RETURNS TABLE (status int, content_type text, headers text, body text)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = nmc, public, pg_temp
AS $$
BEGIN
    -- One after the other, in order, each exactly as nmc_api.handle alone (its
    -- own subtransaction; tenant reset at its start); one commit for all.
    -- (PL/pgSQL: the statement is planned once per session, not per call.)
    RETURN QUERY
    SELECT h.status, h.content_type, h.headers, h.body
      FROM jsonb_array_elements(requests) WITH ORDINALITY AS r(req, i)
     CROSS JOIN LATERAL nmc_api.handle(r.req ->> 0, r.req ->> 1, r.req -> 2, r.req -> 3, r.req ->> 4, r.req ->> 5, r.req ->> 6) h
     ORDER BY r.i;
END
$$;
COMMENT ON FUNCTION nmc_api.handle_many(jsonb) IS
    'Several requests in one transaction, for the edge''s group commit of the routes nmc_api.grouped_routes lists: requests is a JSON array of [method, path, query, request_headers, client_addr, request_body, raw_query] (the arguments of nmc_api.handle, query and headers as objects); one result row per request, in order. An error one request meets is its own response, as with nmc_api.handle.';

CREATE FUNCTION nmc_api.grouped_routes()
RETURNS TABLE (method text, path text)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = nmc, public, pg_temp
AS $$
    -- Twilio's webhooks only record themselves in the webhook inbox (one insert,
    -- no lock another webhook waits for) and are idempotent on their key, so a
    -- call of a group that fails may safely run again alone.
    SELECT r.route_method, r.route_path FROM nmc.api_routes r WHERE r.auth = 'twilio' ORDER BY 1, 2
$$;
COMMENT ON FUNCTION nmc_api.grouped_routes() IS 'The routes whose concurrent requests the edge may commit together (nmc_api.handle_many): requests that only record themselves and are idempotent — Twilio''s webhooks. The edge reads this list instead of knowing any route.';

-- ==== ../sql/sms_text.sql
-- sms_text.sql — SMS text rules (extension/src/sms_segments.c): which
-- encoding a text needs and how many segments it costs.
CREATE FUNCTION nmc.sms_segments(body text, OUT encoding text, OUT segments int, OUT units int)
LANGUAGE c IMMUTABLE STRICT
AS 'MODULE_PATHNAME', 'nmc_sms_segments';
CREATE FUNCTION nmc.sms_fit(body text, max_segments int)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    t text := body;
    cut text;
BEGIN
    IF (nmc.sms_segments(t)).segments <= max_segments THEN
        RETURN t;
    END IF;
    -- Shorten character by character budget, then end on a sentence if one ends late enough.
    -- Three dots, not '…': that character alone would force the whole text into UCS-2.
    WHILE length(t) > 1 AND (nmc.sms_segments(t || '...')).segments > max_segments LOOP
        t := left(t, greatest(1, length(t) - greatest(1, (length(t) / 20))));
    END LOOP;
    cut := substring(t FROM '^(.*[.!?])\s');
    IF cut IS NOT NULL AND length(cut) >= length(t) / 2 THEN
        RETURN cut;
    END IF;
    RETURN rtrim(t) || '...';
END
$$;
COMMENT ON FUNCTION nmc.sms_fit(text, int) IS 'A text shortened to fit max_segments SMS segments: cut at the last full sentence if that keeps at least half, else ending with three dots.';

COMMENT ON FUNCTION nmc.sms_segments(text) IS
    'GSM-7 or UCS-2, the segment count (GSM-7: 160 septets in one, 153 per part; UCS-2: 70 UTF-16 units in one, 67 per part) and the septets/units used.';

-- ==== ../sql/customers.sql
-- customers.sql — the people who call and text a business: one row per
-- business + phone number, with what we know about their reachability
-- (opted out by STOP, or a number that cannot receive texts).
CREATE TABLE nmc.customers (
    id                       uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
    business_id              uuid NOT NULL REFERENCES nmc.businesses (id) ON DELETE CASCADE,
    phone                    nmc.e164 NOT NULL,
    name                     text CHECK (length(name) <= 200),
    opted_out_at             timestamptz,
    sms_unreachable_at       timestamptz,
    sms_unreachable_reason   text,
    last_greeting_at         timestamptz,
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    UNIQUE (business_id, id),
    UNIQUE (business_id, phone)
);
COMMENT ON TABLE nmc.customers IS 'A caller/texter of a business, unique per business and phone. opted_out_at: they replied STOP (or Twilio said 21610); sms_unreachable_*: Twilio said the number cannot receive texts (21211, 21614).';
CREATE TRIGGER customers_touch BEFORE UPDATE ON nmc.customers
    FOR EACH ROW EXECUTE FUNCTION nmc.touch_updated_at();
ALTER TABLE nmc.customers ENABLE ROW LEVEL SECURITY;
ALTER TABLE nmc.customers FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON nmc.customers
    USING (business_id = nmc.current_business_id())
    WITH CHECK (business_id = nmc.current_business_id());

CREATE FUNCTION nmc.customer_upsert(p_business_id uuid, p_phone text)
RETURNS nmc.customers
LANGUAGE plpgsql
AS $$
DECLARE
    c nmc.customers;
    normal text := nmc.normalize_phone(p_phone, 'phone');
BEGIN
    -- Found and locked without writing a new version (a returning customer changes
    -- nothing); created if new. Locked either way: callers decide from its state
    -- (opted out, last greeting), and two calls at once must decide one after the other.
    SELECT * INTO c FROM nmc.customers WHERE business_id = p_business_id AND phone = normal FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        INSERT INTO nmc.customers (business_id, phone) VALUES (p_business_id, normal)
        ON CONFLICT (business_id, phone) DO NOTHING
        RETURNING * INTO c;
        IF NOT FOUND THEN
            -- Created by a concurrent transaction just now.
            SELECT * INTO c FROM nmc.customers WHERE business_id = p_business_id AND phone = normal FOR NO KEY UPDATE;
        END IF;
    END IF;
    RETURN c;
END
$$;
COMMENT ON FUNCTION nmc.customer_upsert(uuid, text) IS 'The customer of a business with this phone (normalised), created if new; the row is locked until the transaction ends.';

CREATE FUNCTION nmc.customer_brief(p_customer_id uuid)
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    r jsonb;
BEGIN
    SELECT jsonb_build_object('id', c.id, 'phone', c.phone, 'name', c.name) INTO r FROM nmc.customers c WHERE c.id = p_customer_id;
    RETURN r;
END
$$;
COMMENT ON FUNCTION nmc.customer_brief(uuid) IS 'A customer as events and lists show them: {id, phone, name}.';

-- ==== ../sql/phone_numbers.sql
-- phone_numbers.sql — the Twilio numbers a business owns. A number belongs
-- to exactly one business; calls and texts to it are that business's.
CREATE TABLE nmc.phone_numbers (
    id             uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
    business_id    uuid NOT NULL REFERENCES nmc.businesses (id) ON DELETE CASCADE,
    phone          nmc.e164 NOT NULL UNIQUE,
    twilio_sid     text UNIQUE CHECK (twilio_sid ~ '^PN[0-9a-f]{32}$'),
    friendly_name  text,
    simulated      boolean NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (business_id, id)
);
COMMENT ON TABLE nmc.phone_numbers IS 'Twilio numbers owned by businesses (unique across the product). simulated: bought in sandbox mode, not a real number.';
ALTER TABLE nmc.phone_numbers ENABLE ROW LEVEL SECURITY;
ALTER TABLE nmc.phone_numbers FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON nmc.phone_numbers
    USING (business_id = nmc.current_business_id())
    WITH CHECK (business_id = nmc.current_business_id());
-- A webhook names only the number that was called; nmc_auth may look numbers
-- up across businesses to learn whose it is (nmc.webhook_tenant).
CREATE POLICY webhook_lookup ON nmc.phone_numbers FOR SELECT TO nmc_auth USING (true);

CREATE FUNCTION nmc.webhook_tenant(business_phone text)
RETURNS nmc.phone_numbers
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = nmc, public, pg_temp
AS $$
DECLARE
    pn nmc.phone_numbers;
BEGIN
    SELECT * INTO pn FROM nmc.phone_numbers WHERE phone = business_phone;
    IF FOUND THEN
        PERFORM set_config('nmc.business_id', pn.business_id::text, true);
    END IF;
    RETURN pn;
END
$$;
CREATE FUNCTION nmc.phone_number_available(phone text)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = nmc, public, pg_temp
AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM nmc.phone_numbers p WHERE p.phone = phone_number_available.phone) THEN
        PERFORM nmc.raise_api_error(409, 'number_taken', 'this number already belongs to a business', 'phone_number');
    END IF;
END
$$;
COMMENT ON FUNCTION nmc.phone_number_available(text) IS 'Raises NM409 number_taken if any business owns this number. Runs as nmc_auth (numbers are unique across businesses).';

COMMENT ON FUNCTION nmc.webhook_tenant(text) IS 'The business number a webhook is about (NULL fields if it is not ours), scoping the transaction to its business. Runs as nmc_auth.';

-- ==== ../sql/messages.sql
-- messages.sql — every SMS in or out of a business, and sending one: the
-- message row and its twilio.sms.send job are written in one transaction,
-- and the dispatcher sends it at commit.
CREATE TABLE nmc.messages (
    id             uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
    business_id    uuid NOT NULL,  -- checked through (business_id, customer_id) → customers below
    customer_id    uuid NOT NULL,
    conversation_id uuid,
    direction      text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    author         text NOT NULL CHECK (author IN ('customer', 'ai', 'owner', 'system')),
    from_phone     nmc.e164 NOT NULL,
    to_phone       nmc.e164 NOT NULL,
    body           text NOT NULL CHECK (length(body) BETWEEN 1 AND 1600),
    status         text NOT NULL CHECK (status IN ('pending', 'queued', 'sending', 'sent', 'delivered',
                                                   'undelivered', 'failed', 'received', 'simulated', 'dropped')),
    twilio_sid     text UNIQUE,
    error_code     int,
    error_message  text,
    sent_at        timestamptz,
    delivered_at   timestamptz,
    simulated      boolean NOT NULL DEFAULT false,
    -- clock_timestamp: messages of one transaction still come out in order.
    created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    -- No UNIQUE (business_id, id) as on other tenant tables: nothing refers to a
    -- message by it, and every text would pay for one more unique index.
    FOREIGN KEY (business_id, customer_id) REFERENCES nmc.customers (business_id, id) ON DELETE CASCADE
) WITH (fillfactor = 80);
-- fillfactor 80: delivery status changes several times per message; room on
-- the page keeps those updates HOT.
COMMENT ON TABLE nmc.messages IS 'SMS in and out. Outbound: pending until Twilio accepts it (then its status and SID), or simulated in sandbox mode; failed with error_code/error_message when Twilio refuses it; dropped = an AI reply that arrived after a human took over, kept for audit and never sent.';
CREATE INDEX messages_customer ON nmc.messages (business_id, customer_id, created_at);
CREATE TRIGGER messages_touch BEFORE UPDATE ON nmc.messages
    FOR EACH ROW EXECUTE FUNCTION nmc.touch_updated_at();
ALTER TABLE nmc.messages ENABLE ROW LEVEL SECURITY;
ALTER TABLE nmc.messages FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON nmc.messages
    USING (business_id = nmc.current_business_id())
    WITH CHECK (business_id = nmc.current_business_id());

CREATE FUNCTION nmc.message_json(m nmc.messages)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$ SELECT jsonb_build_object('id', m.id, 'conversation_id', m.conversation_id, 'customer_id', m.customer_id,
                                'direction', m.direction, 'author', m.author, 'body', m.body, 'status', m.status,
                                'error_code', m.error_code, 'simulated', m.simulated, 'created_at', m.created_at) $$;
COMMENT ON FUNCTION nmc.message_json(nmc.messages) IS 'The API representation of a message (events carry only its id and status).';

CREATE FUNCTION nmc.sms_enqueue(m nmc.messages)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM nmc.job_enqueue('twilio.sms.send', m.business_id, jsonb_build_object('message_id', m.id), 'sms:' || m.id);
END
$$;
COMMENT ON FUNCTION nmc.sms_enqueue(nmc.messages) IS 'Queues the twilio.sms.send job of a recorded outbound message (once: keyed by the message id).';

CREATE FUNCTION nmc.sms_send(p_business_id uuid, p_customer_id uuid, p_from text, p_body text,
                             p_author text DEFAULT 'system', p_conversation_id uuid DEFAULT NULL)
RETURNS nmc.messages
LANGUAGE plpgsql
AS $$
DECLARE
    c nmc.customers;
    m nmc.messages;
BEGIN
    SELECT * INTO c FROM nmc.customers WHERE business_id = p_business_id AND id = p_customer_id;
    IF NOT FOUND THEN
        PERFORM nmc.raise_api_error(404, 'not_found', 'customer not found');
    END IF;
    IF c.opted_out_at IS NOT NULL THEN
        PERFORM nmc.raise_api_error(409, 'customer_opted_out', 'this customer replied STOP; texts to them are blocked until they reply START');
    END IF;
    IF c.sms_unreachable_at IS NOT NULL THEN
        PERFORM nmc.raise_api_error(409, 'customer_unreachable', 'this number cannot receive texts: ' || coalesce(c.sms_unreachable_reason, 'unknown reason'));
    END IF;
    INSERT INTO nmc.messages (business_id, customer_id, conversation_id, direction, author, from_phone, to_phone, body, status)
    VALUES (p_business_id, p_customer_id, p_conversation_id, 'outbound', p_author, nmc.normalize_phone(p_from, 'from'), c.phone, p_body, 'pending')
    RETURNING * INTO m;
    PERFORM nmc.sms_enqueue(m);
    IF p_conversation_id IS NOT NULL THEN
        UPDATE nmc.conversations SET last_message_at = m.created_at WHERE id = p_conversation_id;
    END IF;
    PERFORM nmc.emit_event(p_business_id, 'message.created', nmc.message_json(m) - 'body');
    RETURN m;
END
$$;
COMMENT ON FUNCTION nmc.sms_send(uuid, uuid, text, text, text, uuid) IS
    'Records an outbound SMS (status pending) and enqueues its twilio.sms.send job in the same transaction; refuses opted-out and unreachable customers (NM409).';

-- ==== ../sql/jobs.sql
-- jobs.sql — the outbox: every call to the outside world is a row here that
-- the dispatcher worker claims, sends over libcurl and completes. This file
-- owns the job life cycle (queued → in_flight → done | failed | cancelled,
-- with retries back to queued), its kinds, attempts, and DBA functions.
CREATE TABLE nmc.job_kinds (
    kind               text PRIMARY KEY,
    provider           text NOT NULL CHECK (provider IN ('twilio', 'openai', 'maps')),
    max_attempts       int NOT NULL CHECK (max_attempts BETWEEN 1 AND 100),
    connect_timeout_ms int NOT NULL CHECK (connect_timeout_ms > 0),
    total_timeout_ms   int NOT NULL CHECK (total_timeout_ms > 0),
    description        text NOT NULL
);
COMMENT ON TABLE nmc.job_kinds IS 'Job kinds and their tunables: retry limit and timeouts. Which functions build, apply, fail and simulate each kind: sql/job_dispatch.sql.';

CREATE TABLE nmc.jobs (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    business_id      uuid NOT NULL REFERENCES nmc.businesses (id) ON DELETE CASCADE,
    kind             text NOT NULL REFERENCES nmc.job_kinds (kind),
    payload          jsonb NOT NULL DEFAULT '{}',
    status           text NOT NULL DEFAULT 'queued'
                     CHECK (status IN ('queued', 'in_flight', 'done', 'failed', 'cancelled')),
    attempts         int NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    lease_expires_at timestamptz,
    last_http_status int,
    last_error       text,
    error_code       text,
    result           jsonb,
    simulated        boolean NOT NULL DEFAULT false,
    idempotency_key  text,
    parent_id        bigint REFERENCES nmc.jobs (id) ON DELETE SET NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz,
    UNIQUE (business_id, id)
) WITH (fillfactor = 70);
COMMENT ON TABLE nmc.jobs IS 'The outbox. Never holds a secret: requests are built from payload + settings at send time. error_code is the provider''s (Twilio code, OpenAI error.type, Maps status).';
CREATE UNIQUE INDEX jobs_idempotency_key ON nmc.jobs (idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX jobs_due ON nmc.jobs (next_attempt_at) WHERE status = 'queued';
CREATE INDEX jobs_leased ON nmc.jobs (lease_expires_at) WHERE status = 'in_flight';
CREATE INDEX jobs_finished ON nmc.jobs (finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX jobs_parent ON nmc.jobs (parent_id) WHERE parent_id IS NOT NULL;
ALTER TABLE nmc.jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE nmc.jobs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON nmc.jobs
    USING (business_id = nmc.current_business_id())
    WITH CHECK (business_id = nmc.current_business_id());

CREATE TABLE nmc.job_attempts (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- No foreign key: an attempt row is history written once per request on
    -- the dispatcher's hot path; housekeeping deletes it with its job.
    job_id      bigint NOT NULL,
    business_id uuid NOT NULL,
    attempt     int NOT NULL,
    outcome     text NOT NULL CHECK (outcome IN ('done', 'retry', 'failed', 'stale')),
    http_status int,
    error       text,
    duration_ms double precision,
    finished_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (business_id, id)
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
    basic_password text
);
COMMENT ON TYPE nmc.http_request IS 'An outbound HTTP request built by a job kind''s build_fn; lives only in the dispatcher''s memory (it may carry credentials).';

-- Raised by apply functions that find a 2xx answer is really a failure
-- (Google Maps answers errors with HTTP 200 and a status field).
CREATE FUNCTION nmc.job_transient_error(message text, code text DEFAULT NULL)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'NMR01', MESSAGE = message, DETAIL = coalesce(code, '');
END $$;
COMMENT ON FUNCTION nmc.job_transient_error(text, text) IS 'For apply functions: this response is a transient failure; the job is retried with backoff.';

CREATE FUNCTION nmc.job_permanent_error(message text, code text DEFAULT NULL)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'NMR02', MESSAGE = message, DETAIL = coalesce(code, '');
END $$;
COMMENT ON FUNCTION nmc.job_permanent_error(text, text) IS 'For apply functions: this response is a permanent failure; the job is marked failed.';

CREATE FUNCTION nmc.job_enqueue(p_kind text, p_business_id uuid, p_payload jsonb,
                                p_idempotency_key text DEFAULT NULL, p_parent_id bigint DEFAULT NULL,
                                p_not_before timestamptz DEFAULT now())
RETURNS nmc.jobs
LANGUAGE plpgsql
AS $$
DECLARE
    j nmc.jobs;
BEGIN
    INSERT INTO nmc.jobs (kind, business_id, payload, idempotency_key, parent_id, next_attempt_at)
    VALUES (p_kind, p_business_id, p_payload, p_idempotency_key, p_parent_id, p_not_before)
    ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
    RETURNING * INTO j;
    IF NOT FOUND THEN
        SELECT * INTO j FROM nmc.jobs WHERE idempotency_key = p_idempotency_key;
    END IF;
    RETURN j;
END
$$;
COMMENT ON FUNCTION nmc.job_enqueue(text, uuid, jsonb, text, bigint, timestamptz) IS
    'Queues a job (the dispatcher is woken when the transaction commits, never before). With an idempotency key already used, returns the existing job instead.';

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
     WHERE id = j.id;
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
    IF j.attempts >= k.max_attempts THEN
        PERFORM nmc.job_fail_permanently(j, k, p_http_status, p_code,
            format('gave up after %s attempts: %s', j.attempts, p_error));
        RETURN 'failed';
    END IF;
    UPDATE nmc.jobs SET status = 'queued', lease_expires_at = NULL,
           next_attempt_at = now() + nmc.job_backoff(j.attempts, p_retry_after),
           last_http_status = p_http_status, last_error = nmc.redact_secrets(p_error),
           error_code = p_code, updated_at = now()
     WHERE id = j.id;
    RETURN 'retry';
END
$$;
COMMENT ON FUNCTION nmc.job_retry_or_fail(nmc.jobs, nmc.job_kinds, int, text, text, text) IS 'After a transient failure: back to queued with backoff, or failed once max_attempts is reached.';

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
     WHERE id = p_job_id AND status IN ('queued', 'in_flight')
    RETURNING * INTO j;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'job % is not queued or in flight', p_job_id
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    RETURN j;
END
$$;
COMMENT ON FUNCTION nmc.job_cancel(bigint) IS 'DBA: cancels a queued or in-flight job. A response that arrives for it later is recorded as a stale attempt and applied to nothing.';

-- ==== ../sql/timers.sql
-- timers.sql — things that must happen at a time (the 60-second human
-- window, for one): a row per timer, fired once by the dispatcher within
-- 100 ms of due_at by calling its kind's handler in its own transaction.
CREATE TABLE nmc.timer_kinds (
    kind        text PRIMARY KEY,
    handler     text NOT NULL,
    description text NOT NULL
);
COMMENT ON TABLE nmc.timer_kinds IS 'Timer kinds and their handler: nmc.<handler>(nmc.timers), called once when the timer fires.';

CREATE TABLE nmc.timers (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    business_id  uuid NOT NULL REFERENCES nmc.businesses (id) ON DELETE CASCADE,
    kind         text NOT NULL REFERENCES nmc.timer_kinds (kind),
    subject_id   uuid,
    payload      jsonb NOT NULL DEFAULT '{}',
    due_at       timestamptz NOT NULL,
    fired_at     timestamptz,
    cancelled_at timestamptz,
    error        text,
    created_at   timestamptz NOT NULL DEFAULT now()
    -- No UNIQUE (business_id, id): nothing refers to a timer by it.
);
COMMENT ON TABLE nmc.timers IS 'Pending and past timers. A timer fires once (fired_at), unless cancelled first; error holds what its handler raised, if anything.';
CREATE INDEX timers_pending ON nmc.timers (due_at) WHERE fired_at IS NULL AND cancelled_at IS NULL;
CREATE INDEX timers_subject ON nmc.timers (subject_id) WHERE fired_at IS NULL AND cancelled_at IS NULL;
ALTER TABLE nmc.timers ENABLE ROW LEVEL SECURITY;
ALTER TABLE nmc.timers FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON nmc.timers
    USING (business_id = nmc.current_business_id())
    WITH CHECK (business_id = nmc.current_business_id());

CREATE FUNCTION nmc.timer_set(p_business_id uuid, p_kind text, p_subject_id uuid, p_due_at timestamptz,
                              p_payload jsonb DEFAULT '{}')
RETURNS nmc.timers
LANGUAGE plpgsql
AS $$
DECLARE
    t nmc.timers;
BEGIN
    INSERT INTO nmc.timers (business_id, kind, subject_id, due_at, payload)
    VALUES (p_business_id, p_kind, p_subject_id, p_due_at, p_payload)
    RETURNING * INTO t;
    RETURN t;
END
$$;
COMMENT ON FUNCTION nmc.timer_set(uuid, text, uuid, timestamptz, jsonb) IS 'Sets a timer; the dispatcher learns of it when the transaction commits.';

CREATE FUNCTION nmc.timer_cancel(p_timer_id bigint)
RETURNS boolean
LANGUAGE plpgsql
AS $$
BEGIN
    UPDATE nmc.timers SET cancelled_at = now()
     WHERE id = p_timer_id AND fired_at IS NULL AND cancelled_at IS NULL;
    RETURN FOUND;
END
$$;
COMMENT ON FUNCTION nmc.timer_cancel(bigint) IS 'Cancels a pending timer; false if it already fired or was cancelled.';

CREATE FUNCTION nmc.timer_fire(p_timer_id bigint)
RETURNS boolean
LANGUAGE plpgsql
AS $$
DECLARE
    t nmc.timers;
    h text;
BEGIN
    UPDATE nmc.timers SET fired_at = now()
     WHERE id = p_timer_id AND fired_at IS NULL AND cancelled_at IS NULL AND due_at <= now()
    RETURNING * INTO t;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    SELECT handler INTO h FROM nmc.timer_kinds WHERE kind = t.kind;
    BEGIN
        EXECUTE format('SELECT nmc.%I($1)', h) USING t;
    EXCEPTION
        WHEN deadlock_detected OR serialization_failure OR lock_not_available THEN
            -- Transient: the whole firing is undone and the timer fires again.
            RAISE;
        WHEN OTHERS THEN
            -- A failing handler must not make the timer fire again and again.
            UPDATE nmc.timers SET error = nmc.redact_secrets(SQLERRM) WHERE id = t.id;
            RAISE WARNING 'nevermisscall: timer % (%) handler failed: %', t.id, t.kind, SQLERRM;
    END;
    RETURN true;
END
$$;
COMMENT ON FUNCTION nmc.timer_fire(bigint) IS 'Fires one due timer exactly once: marks it fired and runs its handler; a handler error is recorded on the timer, not retried — except a deadlock or serialization failure, which undoes the firing so the timer fires again.';

-- ==== ../sql/dispatcher.sql
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
               basic_user text, basic_password text, connect_timeout_ms int, total_timeout_ms int)
LANGUAGE plpgsql
AS $$
DECLARE
    j nmc.jobs;
    k nmc.job_kinds;
    req nmc.http_request;
    sandbox boolean := nmc.sandbox_mode();
    lease_margin_ms bigint := nmc.setting_int('dispatcher_lease_margin_ms');
    cfg jsonb := nmc.settings_json();
    simulated jsonb;
BEGIN
    IF max_jobs <= 0 THEN
        RETURN;
    END IF;
    -- The claim need not wait for its WAL flush: if a crash loses it, the
    -- job is simply still queued, and delivery is at-least-once anyway.
    PERFORM set_config('synchronous_commit', 'off', true);
    FOR j IN
        UPDATE nmc.jobs SET status = 'in_flight', attempts = jobs.attempts + 1, updated_at = now(),
               lease_expires_at = now() + make_interval(secs => (kk.total_timeout_ms + lease_margin_ms) / 1000.0)
          FROM nmc.job_kinds kk,
               (SELECT d.id FROM (SELECT q.id FROM nmc.jobs q
                                   WHERE q.status = 'queued' AND q.next_attempt_at <= now()
                                   ORDER BY q.next_attempt_at LIMIT max_jobs FOR UPDATE SKIP LOCKED) d
                UNION ALL
                SELECT e.id FROM (SELECT x.id FROM nmc.jobs x
                                   WHERE x.status = 'in_flight' AND x.lease_expires_at <= now()
                                   ORDER BY x.lease_expires_at LIMIT max_jobs FOR UPDATE SKIP LOCKED) e
                LIMIT max_jobs) due
         WHERE jobs.id = due.id AND kk.kind = jobs.kind
        RETURNING jobs.*
    LOOP
        SELECT * INTO k FROM nmc.job_kinds WHERE kind = j.kind;
        BEGIN
            IF j.attempts > k.max_attempts THEN
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
            RETURN NEXT;
        EXCEPTION WHEN OTHERS THEN
            PERFORM nmc.job_finish(j, 'failed', NULL, NULL, 'could not build the request: ' || SQLERRM, 'build_error');
        END;
    END LOOP;
END
$$;
COMMENT ON FUNCTION nmc.dispatcher_claim(int) IS
    'Dispatcher: claims up to max_jobs due jobs (queued and due, or in flight with an expired lease) with SKIP LOCKED, leases them, and returns their HTTP requests. Sandbox-mode Twilio jobs complete here, simulated. A job whose request cannot be built fails alone.';

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
        -- An apply function that finds the answer unusable raises NMR01
        -- (retry) or NMR02 (fail); nmc.dispatcher_complete_batch rolls this
        -- job back and calls nmc.dispatcher_reject for it.
        IF p_transport_error IS NOT NULL THEN
            PERFORM nmc.job_permanent_error(p_transport_error, 'invalid_response');
        END IF;
        BEGIN
            parsed := p_body::jsonb;
        EXCEPTION WHEN invalid_text_representation THEN
            PERFORM nmc.job_permanent_error('the provider answered with something that is not JSON', 'invalid_response');
        END;
        PERFORM nmc.job_apply_success(j, k, p_http_status, parsed, false);
        outcome := 'done';
    ELSE
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
    'Dispatcher: records one HTTP attempt and moves the job on: 2xx → apply to the domain and done; transport error, 408, 429, 5xx → retry with backoff (Retry-After honoured) until max_attempts; other 4xx → failed with the provider''s code. Returns the outcome.';

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
    -- Events numbered once at the end (each business's counter moved once and
    -- held only until this commit, not from the first text of the batch on).
    PERFORM nmc.defer_events();
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
    PERFORM nmc.emit_deferred_events();
    RETURN coalesce(array_length(job_ids, 1), 0);
END
$$;
COMMENT ON FUNCTION nmc.dispatcher_complete_batch(bigint[], int[], int[], text[], text[], text[], double precision[]) IS
    'Dispatcher: completes a batch of finished requests in one transaction (one call, one commit), each in its own subtransaction so a poison job is failed alone; their events are numbered together at the end (nmc.defer_events).';

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
              FROM (SELECT min(next_attempt_at) AS t FROM nmc.jobs WHERE status = 'queued'
                    UNION ALL SELECT min(lease_expires_at) FROM nmc.jobs WHERE status = 'in_flight') s),
           (SELECT CASE WHEN min(due_at) IS NOT NULL
                        THEN greatest(0, ceil(extract(epoch FROM (min(due_at) - clock_timestamp())) * 1000))::bigint END
              FROM nmc.timers t WHERE t.fired_at IS NULL AND t.cancelled_at IS NULL),
           nmc.setting_int('dispatcher_idle_poll_ms')::int,
           nmc.setting_int('dispatcher_max_concurrency')::int,
           nmc.setting_int('dispatcher_claim_batch')::int
      INTO next_job_due_ms, next_timer_due_ms, idle_poll_ms, max_concurrency, claim_batch;
END
$$;
COMMENT ON FUNCTION nmc.dispatcher_plan() IS 'Dispatcher: milliseconds until the next job (or lease expiry) and the next timer are due (NULL if none), and its tunables from nmc.settings.';

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

-- ==== ../sql/twilio.sql
-- twilio.sql — the Twilio job kinds: building REST requests (form-encoded,
-- HTTP Basic with the account SID and auth token from nmc.settings),
-- applying responses to messages and phone numbers, reacting to permanent
-- errors, and realistic simulations for sandbox mode.
CREATE FUNCTION nmc.url_encode(t text)
RETURNS text
LANGUAGE c IMMUTABLE STRICT
AS 'MODULE_PATHNAME', 'nmc_url_encode';
COMMENT ON FUNCTION nmc.url_encode(text) IS 'Percent-encodes UTF-8 text for a URL query or a form body (RFC 3986 unreserved characters kept).';

CREATE FUNCTION nmc.form_encode(fields jsonb)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    f record;
    body text := '';
BEGIN
    -- PL/pgSQL rather than SQL: its plan is cached, and this runs for every request.
    FOR f IN SELECT key, value FROM jsonb_each_text(fields) WHERE value IS NOT NULL ORDER BY key LOOP
        body := body || CASE WHEN body = '' THEN '' ELSE '&' END || nmc.url_encode(f.key) || '=' || nmc.url_encode(f.value);
    END LOOP;
    RETURN body;
END
$$;
COMMENT ON FUNCTION nmc.form_encode(jsonb) IS 'application/x-www-form-urlencoded body from a flat JSON object (null values left out).';

CREATE FUNCTION nmc.twilio_request(cfg jsonb, method text, resource text, form jsonb DEFAULT NULL, query jsonb DEFAULT NULL)
RETURNS nmc.http_request
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN ROW(method,
               rtrim(cfg ->> 'twilio_api_base', '/') || '/2010-04-01/Accounts/'
                   || nmc.url_encode(cfg ->> 'twilio_account_sid') || '/' || resource
                   || CASE WHEN query IS NULL THEN '' ELSE '?' || nmc.form_encode(query) END,
               CASE WHEN form IS NULL THEN ARRAY['Accept: application/json']
                    ELSE ARRAY['Accept: application/json', 'Content-Type: application/x-www-form-urlencoded'] END,
               CASE WHEN form IS NULL THEN NULL ELSE nmc.form_encode(form) END,
               cfg ->> 'twilio_account_sid',
               cfg ->> 'twilio_auth_token')::nmc.http_request;
END
$$;
COMMENT ON FUNCTION nmc.twilio_request(jsonb, text, text, jsonb, jsonb) IS 'A Twilio REST request for a resource under the configured account (e.g. Messages.json), authenticated with HTTP Basic.';

CREATE FUNCTION nmc.twilio_webhook_url(cfg jsonb, path text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
AS $$ BEGIN RETURN rtrim(cfg ->> 'public_url', '/') || path; END $$;
COMMENT ON FUNCTION nmc.twilio_webhook_url(jsonb, text) IS 'Absolute URL of one of our webhooks under public_url, as Twilio must call it.';

CREATE FUNCTION nmc.twilio_random_sid(prefix text)
RETURNS text
LANGUAGE sql VOLATILE
AS $$ SELECT prefix || encode(gen_random_bytes(16), 'hex') $$;
COMMENT ON FUNCTION nmc.twilio_random_sid(text) IS 'A random Twilio-shaped SID (2-letter prefix + 32 hex) for sandbox simulations.';

CREATE FUNCTION nmc.twilio_date(t timestamptz)
RETURNS text
LANGUAGE sql STABLE
AS $$ SELECT to_char(t AT TIME ZONE 'UTC', 'Dy, DD Mon YYYY HH24:MI:SS') || ' +0000' $$;
COMMENT ON FUNCTION nmc.twilio_date(timestamptz) IS 'RFC 2822 date as Twilio writes it in REST JSON.';

-- twilio.sms.send ---------------------------------------------------------
CREATE FUNCTION nmc.twilio_sms_send_build(j nmc.jobs, cfg jsonb)
RETURNS nmc.http_request
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    m nmc.messages;
BEGIN
    SELECT * INTO m FROM nmc.messages WHERE id = (j.payload ->> 'message_id')::uuid;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'message % no longer exists', j.payload ->> 'message_id';
    END IF;
    RETURN nmc.twilio_request(cfg, 'POST', 'Messages.json', jsonb_build_object(
        'To', m.to_phone, 'From', m.from_phone, 'Body', m.body,
        'StatusCallback', nmc.twilio_webhook_url(cfg, '/webhooks/twilio/sms/status')));
END
$$;
COMMENT ON FUNCTION nmc.twilio_sms_send_build(nmc.jobs, jsonb) IS 'twilio.sms.send: POST Messages.json with To, From, Body and our status callback.';

CREATE FUNCTION nmc.twilio_sms_send_apply(j nmc.jobs, response jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    m nmc.messages;
BEGIN
    IF coalesce(response ->> 'sid', '') !~ '^(SM|MM)[0-9a-f]{32}$' THEN
        PERFORM nmc.job_permanent_error('Twilio accepted the message but returned no message SID', 'invalid_response');
    END IF;
    UPDATE nmc.messages
       SET twilio_sid = response ->> 'sid',
           status = CASE WHEN coalesce((response ->> 'nmc_simulated')::boolean, false) THEN 'simulated'
                         WHEN response ->> 'status' IN ('queued', 'sending', 'sent', 'delivered', 'undelivered', 'failed')
                              AND status IN ('pending', 'queued') THEN response ->> 'status'
                         ELSE status END,
           simulated = coalesce((response ->> 'nmc_simulated')::boolean, false)
     WHERE id = (j.payload ->> 'message_id')::uuid
    RETURNING * INTO m;
    IF FOUND THEN
        PERFORM nmc.emit_event(m.business_id, 'message.status',
            jsonb_build_object('id', m.id, 'conversation_id', m.conversation_id, 'status', m.status, 'error_code', m.error_code));
    END IF;
    RETURN response - 'nmc_simulated';
END
$$;
COMMENT ON FUNCTION nmc.twilio_sms_send_apply(nmc.jobs, jsonb) IS 'twilio.sms.send success: stores the message SID and Twilio''s status on the message row (simulated in sandbox mode); emits message.status.';

CREATE FUNCTION nmc.twilio_sms_send_failed(j nmc.jobs, code text, message text)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    m nmc.messages;
BEGIN
    UPDATE nmc.messages SET status = 'failed', error_code = CASE WHEN code ~ '^[0-9]+$' THEN code::int END,
           error_message = message
     WHERE id = (j.payload ->> 'message_id')::uuid
    RETURNING * INTO m;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    PERFORM nmc.emit_event(m.business_id, 'message.status',
        jsonb_build_object('id', m.id, 'conversation_id', m.conversation_id, 'status', m.status, 'error_code', m.error_code));
    IF code = '21610' THEN
        UPDATE nmc.customers SET opted_out_at = coalesce(opted_out_at, now())
         WHERE business_id = m.business_id AND id = m.customer_id;
    ELSIF code IN ('21211', '21614') THEN
        UPDATE nmc.customers SET sms_unreachable_at = coalesce(sms_unreachable_at, now()),
               sms_unreachable_reason = CASE code WHEN '21211' THEN 'not a valid phone number (Twilio 21211)'
                                                  ELSE 'cannot receive text messages, e.g. a landline (Twilio 21614)' END
         WHERE business_id = m.business_id AND id = m.customer_id;
    END IF;
END
$$;
COMMENT ON FUNCTION nmc.twilio_sms_send_failed(nmc.jobs, text, text) IS
    'twilio.sms.send permanent failure: the message is failed with Twilio''s code (message.status emitted); 21610 marks the customer opted out, 21211/21614 mark the number unable to receive texts.';

CREATE FUNCTION nmc.twilio_sms_send_simulate(j nmc.jobs)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    m nmc.messages;
    sid text := nmc.twilio_random_sid('SM');
    acct text := coalesce(nullif(nmc.setting('twilio_account_sid'), ''), 'AC' || repeat('0', 32));
BEGIN
    SELECT * INTO m FROM nmc.messages WHERE id = (j.payload ->> 'message_id')::uuid;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'message % no longer exists', j.payload ->> 'message_id';
    END IF;
    RETURN jsonb_build_object(
        'account_sid', acct, 'api_version', '2010-04-01', 'body', m.body,
        'date_created', nmc.twilio_date(now()), 'date_sent', NULL, 'date_updated', nmc.twilio_date(now()),
        'direction', 'outbound-api', 'error_code', NULL, 'error_message', NULL,
        'from', m.from_phone, 'messaging_service_sid', NULL, 'num_media', '0',
        'num_segments', (nmc.sms_segments(m.body)).segments::text, 'price', NULL, 'price_unit', 'USD',
        'sid', sid, 'status', 'queued', 'to', m.to_phone,
        'uri', '/2010-04-01/Accounts/' || acct || '/Messages/' || sid || '.json',
        'nmc_simulated', true);
END
$$;
COMMENT ON FUNCTION nmc.twilio_sms_send_simulate(nmc.jobs) IS 'Sandbox mode: the response Twilio would give to twilio.sms.send, with a fresh SID; nothing is sent.';

-- twilio.numbers.search ---------------------------------------------------
CREATE FUNCTION nmc.twilio_numbers_search_build(j nmc.jobs, cfg jsonb)
RETURNS nmc.http_request
LANGUAGE sql STABLE
AS $$
    SELECT nmc.twilio_request(cfg, 'GET',
        'AvailablePhoneNumbers/' || coalesce(j.payload ->> 'country', 'US') || '/Local.json', NULL,
        jsonb_strip_nulls(jsonb_build_object('AreaCode', j.payload ->> 'area_code', 'SmsEnabled', 'true',
                                             'VoiceEnabled', 'true', 'PageSize', coalesce(j.payload ->> 'limit', '20'))))
$$;
COMMENT ON FUNCTION nmc.twilio_numbers_search_build(nmc.jobs, jsonb) IS 'twilio.numbers.search: GET AvailablePhoneNumbers/{country}/Local.json by area code, SMS and voice capable.';

CREATE FUNCTION nmc.twilio_numbers_search_apply(j nmc.jobs, response jsonb)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT jsonb_build_object('numbers', coalesce(jsonb_agg(jsonb_build_object(
               'phone_number', n ->> 'phone_number', 'friendly_name', n ->> 'friendly_name',
               'locality', n ->> 'locality', 'region', n ->> 'region', 'postal_code', n ->> 'postal_code')), '[]'))
      FROM jsonb_array_elements(coalesce(response -> 'available_phone_numbers', '[]')) n
$$;
COMMENT ON FUNCTION nmc.twilio_numbers_search_apply(nmc.jobs, jsonb) IS 'twilio.numbers.search success: the job result lists the numbers offered (polled by the API).';

CREATE FUNCTION nmc.twilio_numbers_search_simulate(j nmc.jobs)
RETURNS jsonb
LANGUAGE sql VOLATILE
AS $$
    -- 555-01XX is reserved for fiction in the NANP: plausible, never real.
    SELECT jsonb_build_object('available_phone_numbers', jsonb_agg(jsonb_build_object(
               'friendly_name', format('(%s) 555-01%s', ac, lpad(i::text, 2, '0')),
               'phone_number', format('+1%s55501%s', ac, lpad(i::text, 2, '0')),
               'locality', 'Sandbox', 'region', NULL, 'postal_code', NULL, 'iso_country', 'US',
               'capabilities', jsonb_build_object('voice', true, 'SMS', true, 'MMS', true)) ORDER BY i),
           'nmc_simulated', true)
      FROM (SELECT coalesce(nullif(j.payload ->> 'area_code', ''), '555') AS ac) a,
           LATERAL (SELECT g AS i FROM generate_series(0, 99) g
                     WHERE NOT EXISTS (SELECT 1 FROM nmc.phone_numbers p WHERE p.phone = format('+1%s55501%s', a.ac, lpad(g::text, 2, '0')))
                     ORDER BY g LIMIT 10) n
$$;
COMMENT ON FUNCTION nmc.twilio_numbers_search_simulate(nmc.jobs) IS 'Sandbox mode: up to ten plausible numbers in the requested area code from the fictional 555-0100…0199 range, leaving out those already taken.';

-- twilio.numbers.buy ------------------------------------------------------
CREATE FUNCTION nmc.twilio_numbers_buy_build(j nmc.jobs, cfg jsonb)
RETURNS nmc.http_request
LANGUAGE sql STABLE
AS $$
    SELECT nmc.twilio_request(cfg, 'POST', 'IncomingPhoneNumbers.json', jsonb_build_object(
        'PhoneNumber', j.payload ->> 'phone_number',
        'FriendlyName', left(coalesce(j.payload ->> 'friendly_name', j.payload ->> 'phone_number'), 64),
        'VoiceUrl', nmc.twilio_webhook_url(cfg, '/webhooks/twilio/voice'), 'VoiceMethod', 'POST',
        'SmsUrl', nmc.twilio_webhook_url(cfg, '/webhooks/twilio/sms'), 'SmsMethod', 'POST',
        'StatusCallback', nmc.twilio_webhook_url(cfg, '/webhooks/twilio/voice/status'), 'StatusCallbackMethod', 'POST'))
$$;
COMMENT ON FUNCTION nmc.twilio_numbers_buy_build(nmc.jobs, jsonb) IS 'twilio.numbers.buy: POST IncomingPhoneNumbers.json with our voice, SMS and status webhook URLs under public_url.';

CREATE FUNCTION nmc.twilio_numbers_buy_apply(j nmc.jobs, response jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    pn nmc.phone_numbers;
    is_simulated boolean := coalesce((response ->> 'nmc_simulated')::boolean, false);
BEGIN
    IF coalesce(response ->> 'sid', '') !~ '^PN[0-9a-f]{32}$' OR response ->> 'phone_number' IS NULL THEN
        PERFORM nmc.job_permanent_error('Twilio bought the number but returned no SID', 'invalid_response');
    END IF;
    INSERT INTO nmc.phone_numbers (business_id, phone, twilio_sid, friendly_name, simulated)
    VALUES (j.business_id, response ->> 'phone_number', response ->> 'sid', response ->> 'friendly_name', is_simulated)
    ON CONFLICT (twilio_sid) DO UPDATE SET friendly_name = EXCLUDED.friendly_name
    RETURNING * INTO pn;
    RETURN jsonb_build_object('phone_number_id', pn.id, 'phone_number', pn.phone, 'twilio_sid', pn.twilio_sid,
                              'simulated', is_simulated);
END
$$;
COMMENT ON FUNCTION nmc.twilio_numbers_buy_apply(nmc.jobs, jsonb) IS 'twilio.numbers.buy success: the number now belongs to the business (nmc.phone_numbers).';

CREATE FUNCTION nmc.twilio_numbers_buy_simulate(j nmc.jobs)
RETURNS jsonb
LANGUAGE sql VOLATILE
AS $$
    SELECT jsonb_build_object('sid', nmc.twilio_random_sid('PN'), 'phone_number', j.payload ->> 'phone_number',
                              'friendly_name', coalesce(j.payload ->> 'friendly_name', j.payload ->> 'phone_number'),
                              'status', 'in-use', 'voice_url', nmc.twilio_webhook_url(nmc.settings_json(), '/webhooks/twilio/voice'),
                              'sms_url', nmc.twilio_webhook_url(nmc.settings_json(), '/webhooks/twilio/sms'),
                              'status_callback', nmc.twilio_webhook_url(nmc.settings_json(), '/webhooks/twilio/voice/status'),
                              'nmc_simulated', true)
$$;
COMMENT ON FUNCTION nmc.twilio_numbers_buy_simulate(nmc.jobs) IS 'Sandbox mode: a simulated purchase; the number is recorded as simulated.';

-- ==== ../sql/twilio_signature.sql
-- twilio_signature.sql — validating X-Twilio-Signature (../shared/reference/twilio.md §4):
-- HMAC-SHA1, keyed by the auth token, over the full URL Twilio requested
-- followed by every form parameter (sorted by name, then value) as name+value.
CREATE FUNCTION nmc.form_decode(body text)
RETURNS text[]
LANGUAGE c IMMUTABLE STRICT
AS 'MODULE_PATHNAME', 'nmc_form_decode';
COMMENT ON FUNCTION nmc.form_decode(text) IS 'A form-encoded body as a flat array name1, value1, name2, value2, … (repeats and order kept); raises invalid_text_representation when malformed or not UTF-8.';

CREATE FUNCTION nmc.form_object(pairs text[])
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    -- jsonb_object keeps the last value of a repeated key, as jsonb does.
    RETURN jsonb_object(coalesce(pairs, '{}'));
END
$$;
COMMENT ON FUNCTION nmc.form_object(text[]) IS 'Form pairs as a JSON object (for a repeated name, the last value).';

-- Twilio's own limits: a message body is at most 1,600 characters (ten
-- concatenated segments); its other fields are identifiers, numbers, statuses
-- and URLs. Anything longer did not come from Twilio.
CREATE FUNCTION nmc.webhook_fields_check(pairs text[])
RETURNS void
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    i int;
    longest int;
BEGIN
    FOR i IN 1 .. coalesce(array_length(pairs, 1), 0) / 2 LOOP
        longest := CASE WHEN pairs[2 * i - 1] = 'Body' THEN 1600 ELSE 4096 END;
        IF length(pairs[2 * i]) > longest THEN
            PERFORM nmc.raise_api_error(400, 'field_too_long',
                format('%s is longer than Twilio sends (%s characters at most)', pairs[2 * i - 1], longest), pairs[2 * i - 1]);
        END IF;
    END LOOP;
END
$$;
COMMENT ON FUNCTION nmc.webhook_fields_check(text[]) IS 'Refuses a Twilio webhook with a field longer than Twilio sends (Body 1,600 characters, any other 4,096): NM400 field_too_long, naming the field.';

CREATE FUNCTION nmc.secure_compare(a text, b text)
RETURNS boolean
LANGUAGE c IMMUTABLE STRICT
AS 'MODULE_PATHNAME', 'nmc_secure_compare';
COMMENT ON FUNCTION nmc.secure_compare(text, text) IS 'Equality in constant time, for signatures.';

-- Computed in C (extension/src/twilio_signature.c): every webhook checks one.
CREATE FUNCTION nmc.twilio_signature(url text, pairs text[], token text)
RETURNS text
LANGUAGE c IMMUTABLE STRICT
AS 'MODULE_PATHNAME', 'nmc_twilio_signature';
COMMENT ON FUNCTION nmc.twilio_signature(text, text[], text) IS 'The X-Twilio-Signature Twilio sends for a request to url with these form pairs, signed with token: base64 HMAC-SHA1 of the URL followed by each distinct name+value, sorted by name then value.';

CREATE FUNCTION nmc.twilio_signature_valid(url text, pairs text[], token text, signature text)
RETURNS boolean
LANGUAGE c IMMUTABLE
AS 'MODULE_PATHNAME', 'nmc_twilio_signature_valid';
COMMENT ON FUNCTION nmc.twilio_signature_valid(text, text[], text, text) IS 'True if signature is Twilio''s signature of (url, pairs) under token, for any of the URL forms Twilio signs: as given, without its port, or with the scheme''s default port (compared in constant time; false if anything is missing).';

CREATE FUNCTION nmc.webhook_signing_token()
RETURNS text
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    token text;
BEGIN
    -- One read of both settings (this runs for every webhook).
    SELECT coalesce(nullif(max(value) FILTER (WHERE name = 'twilio_auth_token'), ''), max(value) FILTER (WHERE name = 'sandbox_webhook_token'))
      INTO token FROM nmc.settings WHERE name IN ('twilio_auth_token', 'sandbox_webhook_token');
    RETURN token;
END
$$;
COMMENT ON FUNCTION nmc.webhook_signing_token() IS 'The key webhooks must be signed with: the Twilio auth token, or in sandbox mode the generated sandbox_webhook_token (used by the simulator).';

CREATE FUNCTION nmc.twilio_request_is_signed(path text, raw_query text, pairs text[], signature text)
RETURNS boolean
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    base_url text;
BEGIN
    -- Read directly (this runs for every webhook); nmc.setting's check that the
    -- name exists is for callers that could misspell it.
    SELECT value INTO base_url FROM nmc.settings WHERE name = 'public_url';
    IF NOT FOUND THEN
        base_url := nmc.setting('public_url');  -- raises: unknown setting
    END IF;
    RETURN nmc.twilio_signature_valid(
        rtrim(base_url, '/') || path || CASE WHEN coalesce(raw_query, '') <> '' THEN '?' || raw_query ELSE '' END,
        pairs, nmc.webhook_signing_token(), signature);
END
$$;
COMMENT ON FUNCTION nmc.twilio_request_is_signed(text, text, text[], text) IS 'Whether a webhook request to path (under public_url, with its raw query) carries a valid X-Twilio-Signature.';

-- ==== ../sql/openai.sql
-- openai.sql — the openai.chat job kind: a chat completion request to an
-- OpenAI-compatible endpoint (base URL and model from nmc.settings, bearer
-- key never stored in the job). The conversation engine builds the request
-- body and consumes the result.
CREATE FUNCTION nmc.openai_chat_build(j nmc.jobs, cfg jsonb)
RETURNS nmc.http_request
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    IF coalesce(cfg ->> 'openai_api_key', '') = '' THEN
        RAISE EXCEPTION 'OpenAI is not configured (NMC_OPENAI_API_KEY is empty)';
    END IF;
    IF jsonb_typeof(j.payload -> 'request') IS DISTINCT FROM 'object'
       OR jsonb_typeof(j.payload #> '{request,messages}') IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION 'openai.chat payload needs request.messages';
    END IF;
    RETURN ROW('POST', rtrim(cfg ->> 'openai_api_base', '/') || '/chat/completions',
               ARRAY['Content-Type: application/json', 'Accept: application/json',
                     'Authorization: Bearer ' || (cfg ->> 'openai_api_key')],
               (jsonb_build_object('model', cfg ->> 'openai_model') || (j.payload -> 'request'))::text,
               NULL, NULL)::nmc.http_request;
END
$$;
COMMENT ON FUNCTION nmc.openai_chat_build(nmc.jobs, jsonb) IS 'openai.chat: POST {openai_api_base}/chat/completions with payload.request plus the configured model.';

CREATE FUNCTION nmc.openai_chat_apply(j nmc.jobs, response jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
BEGIN
    IF jsonb_typeof(response #> '{choices,0,message}') IS DISTINCT FROM 'object' THEN
        PERFORM nmc.job_permanent_error('the chat completion has no choices[0].message', 'invalid_response');
    END IF;
    IF j.payload ? 'turn_id' THEN
        PERFORM nmc.ai_turn_apply(j, response #> '{choices,0,message}');
    END IF;
    RETURN jsonb_build_object('message', response #> '{choices,0,message}',
                              'finish_reason', response #>> '{choices,0,finish_reason}',
                              'usage', response -> 'usage', 'id', response -> 'id');
END
$$;
COMMENT ON FUNCTION nmc.openai_chat_apply(nmc.jobs, jsonb) IS 'openai.chat success: an assistant turn''s step is applied (nmc.ai_turn_apply); the job result keeps the assistant message, finish reason and usage.';

-- ==== ../sql/maps.sql
-- maps.sql — the maps.geocode job kind: Google Maps Geocoding for the
-- service-area check (key from nmc.settings, never stored in the job), with
-- Google's HTTP-200 error statuses sorted into retry and failure.
CREATE FUNCTION nmc.maps_geocode_build(j nmc.jobs, cfg jsonb)
RETURNS nmc.http_request
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    IF coalesce(cfg ->> 'maps_api_key', '') = '' THEN
        RAISE EXCEPTION 'Google Maps is not configured (NMC_MAPS_API_KEY is empty)';
    END IF;
    IF coalesce(j.payload ->> 'address', '') = '' THEN
        RAISE EXCEPTION 'maps.geocode payload needs address';
    END IF;
    RETURN ROW('GET', rtrim(cfg ->> 'maps_api_base', '/') || '/maps/api/geocode/json?'
                   || nmc.form_encode(jsonb_strip_nulls(jsonb_build_object(
                          'address', j.payload ->> 'address',
                          'components', CASE WHEN j.payload ? 'country' THEN 'country:' || (j.payload ->> 'country') END,
                          'key', cfg ->> 'maps_api_key'))),
               ARRAY['Accept: application/json'], NULL, NULL, NULL)::nmc.http_request;
END
$$;
COMMENT ON FUNCTION nmc.maps_geocode_build(nmc.jobs, jsonb) IS 'maps.geocode: GET {maps_api_base}/maps/api/geocode/json?address=…&key=…';

CREATE FUNCTION nmc.maps_geocode_apply(j nmc.jobs, response jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    st text := response ->> 'status';
    r jsonb := response #> '{results,0}';
    result jsonb;
BEGIN
    IF st = 'ZERO_RESULTS' THEN
        result := jsonb_build_object('found', false);
    ELSIF st IN ('OVER_QUERY_LIMIT', 'UNKNOWN_ERROR') THEN
        PERFORM nmc.job_transient_error(coalesce(response ->> 'error_message', 'Google Maps answered ' || st), st);
    ELSIF st IS DISTINCT FROM 'OK' OR r IS NULL THEN
        PERFORM nmc.job_permanent_error(coalesce(response ->> 'error_message', 'Google Maps answered ' || coalesce(st, 'no status')),
                                        coalesce(st, 'invalid_response'));
    ELSE
        result := jsonb_build_object(
            'found', true,
            'formatted_address', r ->> 'formatted_address',
            'lat', (r #>> '{geometry,location,lat}')::double precision,
            'lng', (r #>> '{geometry,location,lng}')::double precision,
            'location_type', r #>> '{geometry,location_type}',
            'partial_match', coalesce((r ->> 'partial_match')::boolean, false),
            'postal_code', (SELECT c ->> 'short_name' FROM jsonb_array_elements(r -> 'address_components') c
                             WHERE c -> 'types' ? 'postal_code' LIMIT 1));
    END IF;
    PERFORM nmc.maps_geocode_effects(j, result);
    RETURN result;
END
$$;
COMMENT ON FUNCTION nmc.maps_geocode_apply(nmc.jobs, jsonb) IS 'maps.geocode success: the best match (address, point, precision, postal code) or found=false, handed to what asked for it (nmc.maps_geocode_effects); OVER_QUERY_LIMIT/UNKNOWN_ERROR retry, other statuses fail.';

CREATE FUNCTION nmc.maps_geocode_effects(j nmc.jobs, geo jsonb)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    CASE j.payload ->> 'purpose'
        WHEN 'service_area' THEN PERFORM nmc.ai_geocode_apply(j, geo);
        WHEN 'business_center' THEN PERFORM nmc.business_center_apply(j, geo);
        ELSE NULL;
    END CASE;
END
$$;
COMMENT ON FUNCTION nmc.maps_geocode_effects(nmc.jobs, jsonb) IS 'What a geocoding result (NULL: the job failed) does, by payload.purpose: service_area → the assistant turn''s check_service_area; business_center → the centre of the service radius.';

-- ==== ../sql/job_dispatch.sql
-- job_dispatch.sql — the one place that maps each job kind to its functions
-- (request builder, success applier, failure effects, sandbox simulation)
-- and registers the kinds with their limits. Static dispatch, not EXECUTE:
-- PL/pgSQL caches these plans, which keeps the dispatcher's per-job cost low.
CREATE FUNCTION nmc.job_build_request(j nmc.jobs, cfg jsonb)
RETURNS nmc.http_request
LANGUAGE plpgsql
AS $$
BEGIN
    CASE j.kind
        WHEN 'twilio.sms.send' THEN RETURN nmc.twilio_sms_send_build(j, cfg);
        WHEN 'twilio.numbers.search' THEN RETURN nmc.twilio_numbers_search_build(j, cfg);
        WHEN 'twilio.numbers.buy' THEN RETURN nmc.twilio_numbers_buy_build(j, cfg);
        WHEN 'openai.chat' THEN RETURN nmc.openai_chat_build(j, cfg);
        WHEN 'maps.geocode' THEN RETURN nmc.maps_geocode_build(j, cfg);
    END CASE;
END
$$;
COMMENT ON FUNCTION nmc.job_build_request(nmc.jobs, jsonb) IS 'The HTTP request for a job, by kind, from the settings in cfg (raises for an unknown kind: the job then fails alone).';

CREATE FUNCTION nmc.job_apply(j nmc.jobs, response jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
BEGIN
    CASE j.kind
        WHEN 'twilio.sms.send' THEN RETURN nmc.twilio_sms_send_apply(j, response);
        WHEN 'twilio.numbers.search' THEN RETURN nmc.twilio_numbers_search_apply(j, response);
        WHEN 'twilio.numbers.buy' THEN RETURN nmc.twilio_numbers_buy_apply(j, response);
        WHEN 'openai.chat' THEN RETURN nmc.openai_chat_apply(j, response);
        WHEN 'maps.geocode' THEN RETURN nmc.maps_geocode_apply(j, response);
    END CASE;
END
$$;
COMMENT ON FUNCTION nmc.job_apply(nmc.jobs, jsonb) IS 'Applies a successful response to the domain, by kind; returns what to keep as the job result.';

CREATE FUNCTION nmc.job_on_failure(j nmc.jobs, code text, message text)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    IF j.kind = 'twilio.sms.send' THEN
        PERFORM nmc.twilio_sms_send_failed(j, code, message);
    ELSIF j.kind = 'openai.chat' AND j.payload ? 'turn_id' THEN
        PERFORM nmc.ai_turn_failed(j, message);
    ELSIF j.kind = 'maps.geocode' THEN
        PERFORM nmc.maps_geocode_effects(j, NULL);
    END IF;
END
$$;
COMMENT ON FUNCTION nmc.job_on_failure(nmc.jobs, text, text) IS 'Domain effects of a permanent failure, by kind: a failed text marks the message (and may mark the customer); a failed model call hands the conversation to a person; a failed geocoding answers the assistant''s area check.';

CREATE FUNCTION nmc.job_simulate(j nmc.jobs)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN CASE j.kind
        WHEN 'twilio.sms.send' THEN nmc.twilio_sms_send_simulate(j)
        WHEN 'twilio.numbers.search' THEN nmc.twilio_numbers_search_simulate(j)
        WHEN 'twilio.numbers.buy' THEN nmc.twilio_numbers_buy_simulate(j)
    END;
END
$$;
COMMENT ON FUNCTION nmc.job_simulate(nmc.jobs) IS 'Sandbox mode: the response the provider would give, by kind, or NULL for kinds that are never simulated.';

INSERT INTO nmc.job_kinds (kind, provider, max_attempts, connect_timeout_ms, total_timeout_ms, description) VALUES
    ('twilio.sms.send', 'twilio', 8, 3000, 15000, 'Send one SMS through Twilio Messages.json'),
    ('twilio.numbers.search', 'twilio', 3, 3000, 15000, 'Search available local numbers by area code'),
    ('twilio.numbers.buy', 'twilio', 3, 3000, 30000, 'Buy a number and point its webhooks at us'),
    ('openai.chat', 'openai', 3, 5000, 60000, 'One chat completion for an AI turn'),
    ('maps.geocode', 'maps', 4, 3000, 10000, 'Geocode an address for the service-area check');

-- ==== ../sql/events.sql
-- events.sql — the append-only feed of what happened, numbered per business
-- in commit order (a counter row per business, updated in the same
-- transaction, serialises a business's commits), notified at commit. The
-- dashboard replays it after the last number it saw.
CREATE TABLE nmc.event_counters (
    business_id uuid PRIMARY KEY REFERENCES nmc.businesses (id) ON DELETE CASCADE,
    last_seq    bigint NOT NULL DEFAULT 0
);
COMMENT ON TABLE nmc.event_counters IS 'The last event number of each business.';
ALTER TABLE nmc.event_counters ENABLE ROW LEVEL SECURITY;
ALTER TABLE nmc.event_counters FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON nmc.event_counters
    USING (business_id = nmc.current_business_id())
    WITH CHECK (business_id = nmc.current_business_id());

CREATE TABLE nmc.events (
    -- No foreign key (checking one per event cost a quarter of threading a text):
    -- an event is written with its business's counter row, which has one, and
    -- leaves with it (trigger below).
    business_id uuid NOT NULL,
    seq         bigint NOT NULL,
    type        text NOT NULL CHECK (type ~ '^[a-z_]+\.[a-z_]+$'),
    body        jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (business_id, seq)
);
COMMENT ON TABLE nmc.events IS 'What happened, per business, numbered 1, 2, 3… in commit order. Bodies are small: ids and changed fields, never whole threads.';
CREATE INDEX events_created ON nmc.events (created_at);
ALTER TABLE nmc.events ENABLE ROW LEVEL SECURITY;
ALTER TABLE nmc.events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON nmc.events
    USING (business_id = nmc.current_business_id())
    WITH CHECK (business_id = nmc.current_business_id());

CREATE FUNCTION nmc.events_of_gone_counters()
RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    b uuid;
    tenant text := current_setting('nmc.business_id', true);
BEGIN
    -- Each business's events under its own tenant setting, so row-level
    -- security lets whoever deleted the business delete them too.
    FOR b IN SELECT business_id FROM gone LOOP
        PERFORM set_config('nmc.business_id', b::text, true);
        DELETE FROM nmc.events WHERE business_id = b;
    END LOOP;
    PERFORM set_config('nmc.business_id', coalesce(tenant, ''), true);
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION nmc.events_of_gone_counters() IS 'Trigger: the events of businesses whose counter row is deleted (with the business, by its foreign key''s cascade) are deleted too.';
CREATE TRIGGER event_counters_gone AFTER DELETE ON nmc.event_counters
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION nmc.events_of_gone_counters();

CREATE FUNCTION nmc.events_truncated_with_counters()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    TRUNCATE nmc.events;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION nmc.events_truncated_with_counters() IS 'Trigger: TRUNCATE of the counters (TRUNCATE nmc.businesses CASCADE reaches them) empties the events too, as the cascade of a foreign key would.';
CREATE TRIGGER event_counters_truncated AFTER TRUNCATE ON nmc.event_counters
    FOR EACH STATEMENT EXECUTE FUNCTION nmc.events_truncated_with_counters();

CREATE FUNCTION nmc.emit_event(p_business_id uuid, p_type text, p_body jsonb)
RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
    n bigint;
BEGIN
    IF current_setting('nmc.events_deferred', true) = 'on' THEN
        -- Inside an inbox batch: numbered with the batch's others when it ends.
        INSERT INTO pg_temp.nmc_deferred_events (business_id, type, body) VALUES (p_business_id, p_type, p_body);
        RETURN NULL;
    END IF;
    -- UPDATE first: the counter row exists for all but a business's first event.
    UPDATE nmc.event_counters SET last_seq = last_seq + 1 WHERE business_id = p_business_id RETURNING last_seq INTO n;
    IF NOT FOUND THEN
        INSERT INTO nmc.event_counters AS c (business_id, last_seq) VALUES (p_business_id, 1)
        ON CONFLICT (business_id) DO UPDATE SET last_seq = c.last_seq + 1
        RETURNING last_seq INTO n;
    END IF;
    INSERT INTO nmc.events (business_id, seq, type, body) VALUES (p_business_id, n, p_type, p_body);
    -- One notification per business per transaction: Postgres folds equal payloads.
    PERFORM pg_notify('nmc_events', p_business_id::text);
    RETURN n;
END
$$;
COMMENT ON FUNCTION nmc.emit_event(uuid, text, jsonb) IS 'Appends an event for a business in the current transaction and notifies channel nmc_events (payload: the business id) at commit. Returns its number (NULL inside an inbox batch, where nmc.emit_deferred_events numbers it when the batch ends).';

CREATE FUNCTION nmc.emit_events(p_business_ids uuid[], p_types text[], p_bodies jsonb[])
RETURNS void
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    IF coalesce(cardinality(p_business_ids), 0) = 0 THEN
        RETURN;
    END IF;
    IF current_setting('nmc.events_deferred', true) = 'on' THEN
        INSERT INTO pg_temp.nmc_deferred_events (business_id, type, body)
        SELECT u.b, u.t, u.body FROM unnest(p_business_ids, p_types, p_bodies) WITH ORDINALITY AS u(b, t, body, ord) ORDER BY u.ord;
        RETURN;
    END IF;
    -- Each business's counter moves once by its number of events; they take the
    -- numbers after its old value in array order.
    WITH e AS (
        SELECT u.b, u.t, u.body, u.ord,
               row_number() OVER (PARTITION BY u.b ORDER BY u.ord) AS k, count(*) OVER (PARTITION BY u.b) AS n
          FROM unnest(p_business_ids, p_types, p_bodies) WITH ORDINALITY AS u(b, t, body, ord)
    ), counters AS (
        -- In business order: two transactions that move several counters never
        -- wait on each other crosswise.
        INSERT INTO nmc.event_counters AS c (business_id, last_seq)
        SELECT DISTINCT e.b, e.n FROM e ORDER BY e.b
        ON CONFLICT (business_id) DO UPDATE SET last_seq = c.last_seq + excluded.last_seq
        RETURNING c.business_id, c.last_seq
    )
    INSERT INTO nmc.events (business_id, seq, type, body)
    SELECT e.b, counters.last_seq - e.n + e.k, e.t, e.body
      FROM e JOIN counters ON counters.business_id = e.b
     ORDER BY e.ord;
    PERFORM pg_notify('nmc_events', d.b::text) FROM (SELECT DISTINCT u.b FROM unnest(p_business_ids) AS u(b)) d;
END
$$;
COMMENT ON FUNCTION nmc.emit_events(uuid[], text[], jsonb[]) IS 'nmc.emit_event for many events at once (element k of each array is one event), numbered per business in array order; one notification per business.';

-- An inbox batch applies hundreds of webhooks in one transaction, often for
-- one business: numbering each event as it comes would update that business's
-- counter row hundreds of times (each update a new row version the next must
-- walk past). The batch keeps its events in order instead and numbers them at
-- its end, moving each counter once.
CREATE FUNCTION nmc.defer_events()
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    IF to_regclass('pg_temp.nmc_deferred_events') IS NULL THEN
        CREATE TEMP TABLE nmc_deferred_events (
            ord         bigint GENERATED ALWAYS AS IDENTITY,
            business_id uuid NOT NULL,
            type        text NOT NULL,
            body        jsonb NOT NULL
        ) ON COMMIT DELETE ROWS;
    END IF;
    PERFORM set_config('nmc.events_deferred', 'on', true);
END
$$;
COMMENT ON FUNCTION nmc.defer_events() IS 'From now to the end of the transaction (or nmc.emit_deferred_events), events are kept in order in a temporary table of the session instead of being numbered one by one.';

CREATE FUNCTION nmc.emit_deferred_events()
RETURNS void
LANGUAGE plpgsql
-- The kept events are read whole: a sequential scan is the plan (the inbox
-- batch that calls this plans with sequential scans off, which would make the
-- planner think it costly enough to compile with JIT, tens of milliseconds).
SET enable_seqscan = on
AS $$
DECLARE
    b uuid[];
    t text[];
    bodies jsonb[];
BEGIN
    IF current_setting('nmc.events_deferred', true) IS DISTINCT FROM 'on' THEN
        RETURN;
    END IF;
    PERFORM set_config('nmc.events_deferred', 'off', true);
    SELECT array_agg(e.business_id ORDER BY e.ord), array_agg(e.type ORDER BY e.ord), array_agg(e.body ORDER BY e.ord)
      INTO b, t, bodies
      FROM pg_temp.nmc_deferred_events e;
    DELETE FROM pg_temp.nmc_deferred_events;
    PERFORM nmc.emit_events(b, t, bodies);
END
$$;
COMMENT ON FUNCTION nmc.emit_deferred_events() IS 'Numbers and notifies the events kept since nmc.defer_events, in the order they were emitted (nmc.emit_events: each business''s counter moves once), and stops deferring.';

-- ==== ../sql/hours.sql
-- hours.sql — when a business answers its phone: weekly hours (several
-- ranges a day) and dated closures, in the business's own time zone, and
-- "open now?" computed in that zone so it stays right across DST changes.
CREATE TABLE nmc.business_hours (
    id          uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
    business_id uuid NOT NULL REFERENCES nmc.businesses (id) ON DELETE CASCADE,
    weekday     smallint NOT NULL CHECK (weekday BETWEEN 0 AND 6),
    opens_at    time NOT NULL,
    closes_at   time NOT NULL CHECK (closes_at > opens_at),
    UNIQUE (business_id, id)
);
COMMENT ON TABLE nmc.business_hours IS 'Weekly opening ranges in the business''s local time. weekday: 0 = Sunday … 6 = Saturday. closes_at may be 24:00; a range past midnight is two ranges.';
CREATE INDEX business_hours_day ON nmc.business_hours (business_id, weekday);
ALTER TABLE nmc.business_hours ENABLE ROW LEVEL SECURITY;
ALTER TABLE nmc.business_hours FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON nmc.business_hours
    USING (business_id = nmc.current_business_id())
    WITH CHECK (business_id = nmc.current_business_id());

CREATE TABLE nmc.business_closures (
    id          uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
    business_id uuid NOT NULL REFERENCES nmc.businesses (id) ON DELETE CASCADE,
    closed_on   date NOT NULL,
    reason      text CHECK (length(reason) <= 200),
    UNIQUE (business_id, id),
    UNIQUE (business_id, closed_on)
);
COMMENT ON TABLE nmc.business_closures IS 'Whole days the business is closed (holidays), in its local calendar.';
ALTER TABLE nmc.business_closures ENABLE ROW LEVEL SECURITY;
ALTER TABLE nmc.business_closures FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON nmc.business_closures
    USING (business_id = nmc.current_business_id())
    WITH CHECK (business_id = nmc.current_business_id());

CREATE FUNCTION nmc.business_is_open(p_business_id uuid, at timestamptz DEFAULT now())
RETURNS boolean
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    tz text;
    local timestamp;
BEGIN
    SELECT timezone INTO tz FROM nmc.businesses WHERE id = p_business_id;
    local := at AT TIME ZONE tz;
    IF EXISTS (SELECT 1 FROM nmc.business_closures WHERE business_id = p_business_id AND closed_on = local::date) THEN
        RETURN false;
    END IF;
    RETURN EXISTS (SELECT 1 FROM nmc.business_hours
                    WHERE business_id = p_business_id AND weekday = extract(dow FROM local)
                      AND local::time >= opens_at AND (local::time < closes_at OR closes_at = '24:00'));
END
$$;
COMMENT ON FUNCTION nmc.business_is_open(uuid, timestamptz) IS 'Whether the business is open at a moment: its local date is not a closure and its local time is inside a range of that weekday.';

CREATE FUNCTION nmc.format_time_of_day(t time)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$ SELECT CASE WHEN t = '24:00' THEN 'midnight' ELSE ltrim(to_char(t, 'HH12:MI AM'), '0') END $$;
COMMENT ON FUNCTION nmc.format_time_of_day(time) IS 'A time as a person reads it: 8:00 AM, 5:30 PM, midnight.';

CREATE FUNCTION nmc.business_hours_text(p_business_id uuid, on_day date)
RETURNS text
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    ranges text;
BEGIN
    IF EXISTS (SELECT 1 FROM nmc.business_closures WHERE business_id = p_business_id AND closed_on = on_day) THEN
        RETURN 'closed today';
    END IF;
    SELECT string_agg(nmc.format_time_of_day(opens_at) || '–' || nmc.format_time_of_day(closes_at), ', ' ORDER BY opens_at)
      INTO ranges
      FROM nmc.business_hours WHERE business_id = p_business_id AND weekday = extract(dow FROM on_day);
    RETURN coalesce('open today ' || ranges, 'closed today');
END
$$;
COMMENT ON FUNCTION nmc.business_hours_text(uuid, date) IS 'Hours of a local day as a phrase for texts: "open today 8:00 AM–5:00 PM" or "closed today".';

CREATE FUNCTION nmc.hours_json(p_business_id uuid)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT jsonb_build_object(
        'timezone', b.timezone,
        'open_now', nmc.business_is_open(b.id),
        'hours', coalesce((SELECT jsonb_agg(jsonb_build_object('weekday', h.weekday, 'opens_at', to_char(h.opens_at, 'HH24:MI'),
                                                               'closes_at', to_char(h.closes_at, 'HH24:MI'))
                                            ORDER BY h.weekday, h.opens_at)
                             FROM nmc.business_hours h WHERE h.business_id = b.id), '[]'),
        'closures', coalesce((SELECT jsonb_agg(jsonb_build_object('id', c.id, 'date', c.closed_on, 'reason', c.reason) ORDER BY c.closed_on)
                                FROM nmc.business_closures c WHERE c.business_id = b.id AND c.closed_on >= (now() AT TIME ZONE b.timezone)::date), '[]'))
      FROM nmc.businesses b WHERE b.id = p_business_id
$$;
COMMENT ON FUNCTION nmc.hours_json(uuid) IS 'A business''s hours, upcoming closures and whether it is open now, as the API shows them.';

CREATE FUNCTION nmc.hours_replace(p_business_id uuid, hours jsonb)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    h jsonb;
    i int := 0;
    d int;
    o time;
    c time;
BEGIN
    IF jsonb_typeof(hours) IS DISTINCT FROM 'array' THEN
        PERFORM nmc.raise_api_error(400, 'invalid_field', 'hours must be a list of {weekday, opens_at, closes_at}', 'hours');
    END IF;
    DELETE FROM nmc.business_hours WHERE business_id = p_business_id;
    FOR h IN SELECT * FROM jsonb_array_elements(hours) LOOP
        i := i + 1;
        IF jsonb_typeof(h) <> 'object' OR NOT (h ?& ARRAY['weekday', 'opens_at', 'closes_at'])
           OR jsonb_typeof(h -> 'weekday') <> 'number' OR (h ->> 'weekday') !~ '^[0-6]$'
           OR coalesce(h ->> 'opens_at', '') !~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'
           OR coalesce(h ->> 'closes_at', '') !~ '^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$' THEN
            PERFORM nmc.raise_api_error(400, 'invalid_field',
                format('hours[%s] must be {"weekday": 0-6 (0 = Sunday), "opens_at": "HH:MM", "closes_at": "HH:MM"}', i - 1), 'hours');
        END IF;
        d := (h ->> 'weekday')::int;
        o := (h ->> 'opens_at')::time;
        c := (h ->> 'closes_at')::time;
        IF c <= o THEN
            PERFORM nmc.raise_api_error(400, 'invalid_field',
                format('hours[%s] closes before it opens; split a range past midnight into two days', i - 1), 'hours');
        END IF;
        IF EXISTS (SELECT 1 FROM nmc.business_hours WHERE business_id = p_business_id AND weekday = d
                    AND opens_at < c AND o < closes_at) THEN
            PERFORM nmc.raise_api_error(400, 'invalid_field', format('hours[%s] overlaps another range of the same day', i - 1), 'hours');
        END IF;
        INSERT INTO nmc.business_hours (business_id, weekday, opens_at, closes_at) VALUES (p_business_id, d, o, c);
    END LOOP;
END
$$;
COMMENT ON FUNCTION nmc.hours_replace(uuid, jsonb) IS 'Replaces a business''s weekly hours with a validated list of ranges (no overlaps within a day).';

-- ==== ../sql/greeting.sql
-- greeting.sql — the text a caller gets after a missed call: a template per
-- business with variables, validated on save, a default per trade so a new
-- business is useful at once, and a preview with encoding and segments.
-- The one place that renders templates (docs/greetings.md lists the variables).
CREATE TABLE nmc.greeting_defaults (
    trade_type text PRIMARY KEY REFERENCES nmc.trade_types (code),
    template   text NOT NULL
);
COMMENT ON TABLE nmc.greeting_defaults IS 'The greeting a business of each trade sends until it writes its own.';
INSERT INTO nmc.greeting_defaults (trade_type, template)
SELECT code, CASE code
    WHEN 'plumbing' THEN 'Sorry we missed your call! This is {{business_name}}. Leak, clog or no hot water? Reply with what''s going on and your address and we''ll get right back to you. {{callback_line}}'
    WHEN 'electrical' THEN 'Sorry we missed your call! This is {{business_name}}. Tell us what''s going on with your electrical and your address, and we''ll get right back to you. {{callback_line}}'
    WHEN 'hvac' THEN 'Sorry we missed your call! This is {{business_name}}. Heating or cooling trouble? Reply with what''s happening and your address and we''ll get right back to you. {{callback_line}}'
    WHEN 'locksmith' THEN 'Sorry we missed your call! This is {{business_name}}. Locked out or need a lock changed? Reply with your address and we''ll get right back to you. {{callback_line}}'
    ELSE 'Sorry we missed your call! This is {{business_name}}, your local {{trade}} team. How can we help? Reply here and we''ll get right back to you. {{callback_line}}'
  END
  FROM nmc.trade_types;

CREATE FUNCTION nmc.greeting_variables()
RETURNS text[]
LANGUAGE sql IMMUTABLE
AS $$ SELECT ARRAY['business_name', 'trade', 'hours_today', 'callback_line'] $$;
COMMENT ON FUNCTION nmc.greeting_variables() IS 'The variables a greeting template may use, as {{name}}.';

CREATE FUNCTION nmc.greeting_validate(template text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    v text;
BEGIN
    IF template IS NULL OR length(btrim(template)) = 0 OR length(template) > 1000 THEN
        PERFORM nmc.raise_api_error(400, 'invalid_field', 'the greeting must be 1 to 1000 characters', 'greeting_template');
    END IF;
    SELECT m[1] INTO v FROM regexp_matches(template, '\{\{\s*([^}]*?)\s*\}\}', 'g') m
     WHERE m[1] <> ALL (nmc.greeting_variables()) LIMIT 1;
    IF FOUND THEN
        PERFORM nmc.raise_api_error(400, 'unknown_variable',
            format('{{%s}} is not a greeting variable; use %s', v,
                   (SELECT string_agg('{{' || x || '}}', ', ') FROM unnest(nmc.greeting_variables()) x)), 'greeting_template');
    END IF;
    IF regexp_replace(template, '\{\{[^{}]*\}\}', '', 'g') ~ '\{\{|\}\}' THEN
        PERFORM nmc.raise_api_error(400, 'invalid_template', 'a {{ has no matching }} in the greeting', 'greeting_template');
    END IF;
    -- Carriers filter texts with links, and a first text should not carry one.
    IF template ~* '(https?://|www\.|\m[a-z0-9-]+\.(com|net|org|io|co|us|biz|info)\M)' THEN
        PERFORM nmc.raise_api_error(400, 'links_not_allowed', 'the greeting must not contain links', 'greeting_template');
    END IF;
    RETURN template;
END
$$;
COMMENT ON FUNCTION nmc.greeting_validate(text) IS 'Returns template if it is a usable greeting: 1–1000 characters, known {{variables}} only, balanced braces, no links. Raises NM400 otherwise.';

CREATE FUNCTION nmc.format_phone(phone text)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
    SELECT CASE WHEN phone ~ '^\+1[0-9]{10}$'
                THEN format('(%s) %s-%s', substr(phone, 3, 3), substr(phone, 6, 3), substr(phone, 9, 4))
                ELSE phone END
$$;
COMMENT ON FUNCTION nmc.format_phone(text) IS 'A phone number as people write it: (512) 555-0143 for North American numbers, E.164 otherwise.';

CREATE FUNCTION nmc.greeting_render(p_business_id uuid, template text, business_phone text, at timestamptz DEFAULT now())
RETURNS text
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    b nmc.businesses;
    t text := template;
BEGIN
    SELECT * INTO b FROM nmc.businesses WHERE id = p_business_id;
    -- One regular expression to normalise {{ name }}, then plain replacements:
    -- this runs for every missed call.
    IF t ~ '\{\{\s|\s\}\}' THEN
        t := regexp_replace(t, '\{\{\s*([a-z_]+)\s*\}\}', '{{\1}}', 'g');
    END IF;
    t := replace(t, '{{business_name}}', b.name);
    IF position('{{trade}}' IN t) > 0 THEN
        t := replace(t, '{{trade}}', (SELECT lower(label) FROM nmc.trade_types WHERE code = b.trade_type));
    END IF;
    IF position('{{hours_today}}' IN t) > 0 THEN
        t := replace(t, '{{hours_today}}', nmc.business_hours_text(b.id, (at AT TIME ZONE b.timezone)::date));
    END IF;
    t := replace(t, '{{callback_line}}', CASE WHEN business_phone IS NULL THEN ''
                                               ELSE 'You can also call us back at ' || nmc.format_phone(business_phone) || '.' END);
    RETURN btrim(regexp_replace(t, '[ \t]{2,}', ' ', 'g'));
END
$$;
COMMENT ON FUNCTION nmc.greeting_render(uuid, text, text, timestamptz) IS 'Renders a greeting template for a business: {{business_name}}, {{trade}}, {{hours_today}} (its local day at `at`), {{callback_line}} (a call-back sentence with the number that was called, no link).';

CREATE FUNCTION nmc.greeting_template_of(p_business_id uuid)
RETURNS text
LANGUAGE sql STABLE
AS $$
    SELECT coalesce(b.greeting_template, d.template)
      FROM nmc.businesses b LEFT JOIN nmc.greeting_defaults d ON d.trade_type = b.trade_type
     WHERE b.id = p_business_id
$$;
COMMENT ON FUNCTION nmc.greeting_template_of(uuid) IS 'The template a business''s greetings use: its own, or its trade''s default.';

CREATE FUNCTION nmc.greeting_preview(p_business_id uuid, template text)
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    phone text := (SELECT p.phone FROM nmc.phone_numbers p WHERE p.business_id = p_business_id ORDER BY p.created_at LIMIT 1);
    rendered text := nmc.greeting_render(p_business_id, nmc.greeting_validate(template), coalesce(phone, '+15555550100'));
    seg record := nmc.sms_segments(rendered);
BEGIN
    RETURN jsonb_build_object('text', rendered, 'encoding', seg.encoding, 'segments', seg.segments, 'characters', seg.units);
END
$$;
COMMENT ON FUNCTION nmc.greeting_preview(uuid, text) IS 'What a template renders to for this business now, with its SMS encoding (GSM-7 or UCS-2) and segment count. Validates the template first.';

-- ==== ../sql/block_list.sql
-- block_list.sql — numbers a business never texts after a missed call
-- (spam callers, its own staff, suppliers).
CREATE TABLE nmc.blocked_numbers (
    id          uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
    business_id uuid NOT NULL REFERENCES nmc.businesses (id) ON DELETE CASCADE,
    phone       nmc.e164 NOT NULL,
    reason      text CHECK (length(reason) <= 200),
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (business_id, id),
    UNIQUE (business_id, phone)
);
COMMENT ON TABLE nmc.blocked_numbers IS 'Per business: callers who never get a missed-call text (the decision says suppressed_blocked).';
ALTER TABLE nmc.blocked_numbers ENABLE ROW LEVEL SECURITY;
ALTER TABLE nmc.blocked_numbers FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON nmc.blocked_numbers
    USING (business_id = nmc.current_business_id())
    WITH CHECK (business_id = nmc.current_business_id());

-- ==== ../sql/leads.sql
-- leads.sql — every missed call becomes a tracked lead: one active lead per
-- customer at a time, touched by repeat calls, moved along its statuses in
-- one function.
CREATE TABLE nmc.leads (
    id               uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
    business_id      uuid NOT NULL REFERENCES nmc.businesses (id) ON DELETE CASCADE,
    customer_id      uuid NOT NULL,
    status           text NOT NULL DEFAULT 'new'
                     CHECK (status IN ('new', 'contacted', 'qualified', 'appointment_scheduled', 'won', 'lost', 'out_of_area')),
    calls_count      int NOT NULL DEFAULT 1,
    delivery_error   text,
    last_activity_at timestamptz NOT NULL DEFAULT now(),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    -- Since 0.2.0: what the assistant (or intake engine) captured, and why a lead was won or lost.
    service_address  text CHECK (length(service_address) <= 300),
    problem          text CHECK (length(problem) <= 1000),
    urgency          text CHECK (urgency IN ('normal', 'urgent', 'emergency')),
    status_reason    text CHECK (length(status_reason) <= 500),
    UNIQUE (business_id, id),
    FOREIGN KEY (business_id, customer_id) REFERENCES nmc.customers (business_id, id) ON DELETE CASCADE
);
COMMENT ON TABLE nmc.leads IS 'A prospective job from a missed call. Active while new, contacted, qualified or appointment_scheduled; delivery_error shows when our text could not be delivered.';
CREATE UNIQUE INDEX leads_one_active_per_customer ON nmc.leads (business_id, customer_id)
    WHERE status IN ('new', 'contacted', 'qualified', 'appointment_scheduled');
CREATE TRIGGER leads_touch BEFORE UPDATE ON nmc.leads FOR EACH ROW EXECUTE FUNCTION nmc.touch_updated_at();
ALTER TABLE nmc.leads ENABLE ROW LEVEL SECURITY;
ALTER TABLE nmc.leads FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON nmc.leads
    USING (business_id = nmc.current_business_id())
    WITH CHECK (business_id = nmc.current_business_id());

CREATE FUNCTION nmc.lead_json(l nmc.leads)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$ SELECT jsonb_build_object('id', l.id, 'customer_id', l.customer_id, 'status', l.status, 'calls_count', l.calls_count,
                                'delivery_error', l.delivery_error, 'service_address', l.service_address, 'problem', l.problem,
                                'urgency', l.urgency, 'status_reason', l.status_reason,
                                'last_activity_at', l.last_activity_at, 'created_at', l.created_at) $$;
COMMENT ON FUNCTION nmc.lead_json(nmc.leads) IS 'The API and event representation of a lead.';

CREATE FUNCTION nmc.active_lead(p_business_id uuid, p_customer_id uuid)
RETURNS nmc.leads
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    l nmc.leads;
BEGIN
    SELECT * INTO l FROM nmc.leads
     WHERE business_id = p_business_id AND customer_id = p_customer_id
       AND status IN ('new', 'contacted', 'qualified', 'appointment_scheduled');
    RETURN l;
END
$$;
COMMENT ON FUNCTION nmc.active_lead(uuid, uuid) IS 'The customer''s active lead (new, contacted, qualified or appointment_scheduled; at most one), or a row of NULLs.';

CREATE FUNCTION nmc.lead_for_call(p_business_id uuid, p_customer_id uuid)
RETURNS nmc.leads
LANGUAGE plpgsql
AS $$
DECLARE
    l nmc.leads;
BEGIN
    UPDATE nmc.leads SET calls_count = calls_count + 1, last_activity_at = now()
     WHERE business_id = p_business_id AND customer_id = p_customer_id
       AND status IN ('new', 'contacted', 'qualified', 'appointment_scheduled')
    RETURNING * INTO l;
    IF NOT FOUND THEN
        INSERT INTO nmc.leads (business_id, customer_id) VALUES (p_business_id, p_customer_id) RETURNING * INTO l;
    END IF;
    PERFORM nmc.emit_event(p_business_id, 'lead.updated', nmc.lead_json(l) || jsonb_build_object('customer', nmc.customer_brief(l.customer_id)));
    RETURN l;
END
$$;
COMMENT ON FUNCTION nmc.lead_for_call(uuid, uuid) IS 'The customer''s active lead, touched (calls_count, last activity), or a new lead (status new); emits lead.updated.';

CREATE FUNCTION nmc.lead_transition(p_lead_id uuid, p_status text)
RETURNS nmc.leads
LANGUAGE plpgsql
AS $$
DECLARE
    l nmc.leads;
    order_of text[] := ARRAY['new', 'contacted', 'qualified', 'appointment_scheduled'];
BEGIN
    SELECT * INTO l FROM nmc.leads WHERE id = p_lead_id FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM nmc.raise_api_error(404, 'not_found', 'lead not found');
    END IF;
    IF p_status NOT IN ('new', 'contacted', 'qualified', 'appointment_scheduled', 'won', 'lost', 'out_of_area') THEN
        PERFORM nmc.raise_api_error(400, 'invalid_status', 'unknown lead status ' || p_status, 'status');
    END IF;
    -- Automatic progress only moves forward; won/lost/out_of_area are the owner's (or the AI's) call.
    IF p_status = ANY (order_of) AND l.status = ANY (order_of)
       AND array_position(order_of, p_status) <= array_position(order_of, l.status) THEN
        RETURN l;
    END IF;
    UPDATE nmc.leads SET status = p_status, last_activity_at = now() WHERE id = l.id RETURNING * INTO l;
    PERFORM nmc.emit_event(l.business_id, 'lead.updated', nmc.lead_json(l));
    RETURN l;
END
$$;
COMMENT ON FUNCTION nmc.lead_transition(uuid, text) IS 'Moves a lead: new → contacted → qualified → appointment_scheduled only forward; won, lost, out_of_area from any state. Emits lead.updated.';

-- ==== ../sql/conversations.sql
-- conversations.sql — the SMS thread between a business number and a
-- customer: at most one open conversation per (business number, customer),
-- its mode (waiting for the customer, human window open, AI, human) and the
-- human response window timer. Transitions live in nmc.conversation_set_mode.
CREATE TABLE nmc.conversations (
    id                    uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
    business_id           uuid NOT NULL,  -- checked through (business_id, customer_id) → customers below
    customer_id           uuid NOT NULL,
    phone_number_id       uuid NOT NULL,
    lead_id               uuid,
    state                 text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'closed')),
    mode                  text NOT NULL DEFAULT 'waiting' CHECK (mode IN ('waiting', 'human_window', 'ai', 'human')),
    human_window_deadline timestamptz,
    human_window_timer_id bigint,
    last_message_at       timestamptz,
    intake                jsonb NOT NULL DEFAULT '{}',   -- the intake engine's gathered details (intake_engine.sql)
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    closed_at             timestamptz,
    UNIQUE (business_id, id),
    FOREIGN KEY (business_id, customer_id) REFERENCES nmc.customers (business_id, id) ON DELETE CASCADE,
    FOREIGN KEY (business_id, phone_number_id) REFERENCES nmc.phone_numbers (business_id, id) ON DELETE CASCADE,
    FOREIGN KEY (business_id, lead_id) REFERENCES nmc.leads (business_id, id) ON DELETE SET NULL (lead_id)
);
COMMENT ON TABLE nmc.conversations IS 'SMS threads. mode: waiting (for the customer), human_window (the customer wrote; the business has until human_window_deadline), ai, human (taken over).';
CREATE UNIQUE INDEX conversations_one_open ON nmc.conversations (business_id, phone_number_id, customer_id) WHERE state = 'open';
CREATE TRIGGER conversations_touch BEFORE UPDATE ON nmc.conversations FOR EACH ROW EXECUTE FUNCTION nmc.touch_updated_at();
ALTER TABLE nmc.conversations ENABLE ROW LEVEL SECURITY;
ALTER TABLE nmc.conversations FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON nmc.conversations
    USING (business_id = nmc.current_business_id())
    WITH CHECK (business_id = nmc.current_business_id());

ALTER TABLE nmc.messages ADD FOREIGN KEY (business_id, conversation_id) REFERENCES nmc.conversations (business_id, id) ON DELETE CASCADE;
CREATE INDEX messages_conversation ON nmc.messages (business_id, conversation_id, created_at);

CREATE FUNCTION nmc.conversation_json(c nmc.conversations)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$ SELECT jsonb_build_object('id', c.id, 'customer_id', c.customer_id, 'phone_number_id', c.phone_number_id, 'lead_id', c.lead_id,
                                'state', c.state, 'mode', c.mode, 'human_window_deadline', c.human_window_deadline,
                                'last_message_at', c.last_message_at, 'created_at', c.created_at) $$;
COMMENT ON FUNCTION nmc.conversation_json(nmc.conversations) IS 'The API and event representation of a conversation (never its messages).';

CREATE FUNCTION nmc.conversation_open(p_business_id uuid, p_customer_id uuid, p_phone_number_id uuid, p_lead_id uuid DEFAULT NULL)
RETURNS nmc.conversations
LANGUAGE plpgsql
AS $$
DECLARE
    c nmc.conversations;
BEGIN
    SELECT * INTO c FROM nmc.conversations
     WHERE business_id = p_business_id AND phone_number_id = p_phone_number_id AND customer_id = p_customer_id AND state = 'open'
     FOR UPDATE;
    IF FOUND THEN
        IF p_lead_id IS NOT NULL AND c.lead_id IS DISTINCT FROM p_lead_id THEN
            UPDATE nmc.conversations SET lead_id = p_lead_id WHERE id = c.id RETURNING * INTO c;
        END IF;
        RETURN c;
    END IF;
    INSERT INTO nmc.conversations (business_id, customer_id, phone_number_id, lead_id)
    VALUES (p_business_id, p_customer_id, p_phone_number_id,
            coalesce(p_lead_id, (SELECT id FROM nmc.leads WHERE business_id = p_business_id AND customer_id = p_customer_id
                                   AND status IN ('new', 'contacted', 'qualified', 'appointment_scheduled'))))
    ON CONFLICT (business_id, phone_number_id, customer_id) WHERE state = 'open' DO NOTHING
    RETURNING * INTO c;
    IF NOT FOUND THEN
        -- A concurrent delivery opened it first: use theirs.
        SELECT * INTO c FROM nmc.conversations
         WHERE business_id = p_business_id AND phone_number_id = p_phone_number_id AND customer_id = p_customer_id AND state = 'open'
         FOR UPDATE;
        RETURN c;
    END IF;
    PERFORM nmc.emit_event(p_business_id, 'conversation.created',
                           nmc.conversation_json(c) || jsonb_build_object('customer', nmc.customer_brief(c.customer_id)));
    RETURN c;
END
$$;
COMMENT ON FUNCTION nmc.conversation_open(uuid, uuid, uuid, uuid) IS 'The open conversation between a business number and a customer (locked), or a new one (emits conversation.created, with the customer).';

CREATE FUNCTION nmc.conversation_set_mode(c nmc.conversations, p_mode text, p_deadline timestamptz DEFAULT NULL)
RETURNS nmc.conversations
LANGUAGE plpgsql
AS $$
DECLARE
    allowed boolean;
BEGIN
    -- The one place conversation modes change: every allowed (from, to) is listed here.
    allowed := (c.mode, p_mode) IN (('waiting', 'human_window'), ('human_window', 'waiting'), ('human_window', 'human_window'),
                                    ('waiting', 'waiting'), ('human_window', 'ai'), ('ai', 'ai'),
                                    -- Takeover, from any mode, and release back to waiting.
                                    ('waiting', 'human'), ('human_window', 'human'), ('ai', 'human'), ('human', 'human'),
                                    ('human', 'waiting'));
    IF NOT allowed THEN
        PERFORM nmc.raise_api_error(409, 'invalid_transition', format('a conversation cannot go from %s to %s', c.mode, p_mode));
    END IF;
    IF c.human_window_timer_id IS NOT NULL AND p_mode <> 'human_window' THEN
        PERFORM nmc.timer_cancel(c.human_window_timer_id);
    END IF;
    UPDATE nmc.conversations SET mode = p_mode,
           human_window_deadline = CASE WHEN p_mode = 'human_window' THEN p_deadline END,
           human_window_timer_id = CASE WHEN p_mode = 'human_window' THEN human_window_timer_id END
     WHERE id = c.id RETURNING * INTO c;
    PERFORM nmc.emit_event(c.business_id, 'conversation.updated',
        jsonb_build_object('id', c.id, 'mode', c.mode, 'state', c.state, 'human_window_deadline', c.human_window_deadline));
    RETURN c;
END
$$;
COMMENT ON FUNCTION nmc.conversation_set_mode(nmc.conversations, text, timestamptz) IS 'Changes a conversation''s mode if the transition is allowed (else NM409 invalid_transition), cancelling a pending human-window timer when leaving that mode; emits conversation.updated.';

CREATE FUNCTION nmc.conversation_close(c nmc.conversations, p_intake jsonb DEFAULT '{}')
RETURNS nmc.conversations
LANGUAGE plpgsql
AS $$
BEGIN
    IF c.human_window_timer_id IS NOT NULL THEN
        PERFORM nmc.timer_cancel(c.human_window_timer_id);
    END IF;
    UPDATE nmc.conversations SET state = 'closed', closed_at = now(), human_window_timer_id = NULL, intake = intake || p_intake
     WHERE id = c.id RETURNING * INTO c;
    PERFORM nmc.emit_event(c.business_id, 'conversation.updated', jsonb_build_object('id', c.id, 'mode', c.mode, 'state', c.state));
    RETURN c;
END
$$;
COMMENT ON FUNCTION nmc.conversation_close(nmc.conversations, jsonb) IS 'Closes a conversation (booked, out of area, or idle): its human-window timer cancelled, p_intake merged into what was gathered; emits conversation.updated. The next text opens a fresh one.';

CREATE FUNCTION nmc.conversation_customer_wrote(c nmc.conversations)
RETURNS nmc.conversations
LANGUAGE plpgsql
AS $$
DECLARE
    b nmc.businesses;
    t nmc.timers;
BEGIN
    IF c.mode IN ('human', 'human_window') THEN
        -- Taken over, or already counting down: the first unanswered message sets the deadline.
        RETURN c;
    END IF;
    SELECT * INTO b FROM nmc.businesses WHERE id = c.business_id;
    t := nmc.timer_set(c.business_id, 'conversation.human_window', c.id, now() + make_interval(secs => b.human_window_seconds));
    UPDATE nmc.conversations SET human_window_timer_id = t.id WHERE id = c.id RETURNING * INTO c;
    RETURN nmc.conversation_set_mode(c, 'human_window', t.due_at);
END
$$;
COMMENT ON FUNCTION nmc.conversation_customer_wrote(nmc.conversations) IS 'A customer message opens the human response window: a conversation.human_window timer for the business''s human_window_seconds, mode human_window with its deadline.';

CREATE FUNCTION nmc.conversation_human_window_expired(t nmc.timers)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    c nmc.conversations;
BEGIN
    SELECT * INTO c FROM nmc.conversations WHERE id = t.subject_id FOR UPDATE;
    IF NOT FOUND OR c.mode <> 'human_window' OR c.human_window_timer_id IS DISTINCT FROM t.id THEN
        RETURN;
    END IF;
    -- Nobody answered in time: the assistant takes the conversation on.
    UPDATE nmc.conversations SET human_window_timer_id = NULL WHERE id = c.id RETURNING * INTO c;
    PERFORM nmc.conversation_set_mode(c, 'ai');
    PERFORM nmc.ai_respond(c.id);
END
$$;
COMMENT ON FUNCTION nmc.conversation_human_window_expired(nmc.timers) IS 'Timer handler: the human window ran out with no reply from the business; the conversation goes to AI mode and the assistant answers (nmc.ai_respond).';
INSERT INTO nmc.timer_kinds (kind, handler, description) VALUES
    ('conversation.human_window', 'conversation_human_window_expired', 'The business''s time to answer a customer by hand has run out');

-- ==== ../sql/emergencies.sql
-- emergencies.sql — words of danger in a customer's text (gas smell,
-- flooding, sparks, no heat, carbon monoxide…), per trade: such a text skips
-- the human window — the owner is alerted at once (an event, so the dashboard
-- rings, and a text to the forward-to phone unless emergency_sms_to_owner is
-- off) and the customer immediately gets the business's safety advice.
CREATE TABLE nmc.emergency_terms (
    trade_type text REFERENCES nmc.trade_types (code),
    term       text NOT NULL CHECK (term = lower(term)),
    UNIQUE (trade_type, term)
);
COMMENT ON TABLE nmc.emergency_terms IS 'Words of danger per trade (trade_type NULL: every trade). Matched as whole words, case-insensitively, punctuation ignored, in inbound texts (terms are lower-case words separated by single spaces).';
INSERT INTO nmc.emergency_terms (trade_type, term) VALUES
    (NULL, 'gas smell'), (NULL, 'smell gas'), (NULL, 'smells like gas'), (NULL, 'gas leak'), (NULL, 'carbon monoxide'),
    (NULL, 'co alarm'), (NULL, 'fire'), (NULL, 'smoke'),
    ('plumbing', 'flooding'), ('plumbing', 'flooded'), ('plumbing', 'burst pipe'), ('plumbing', 'pipe burst'),
    ('plumbing', 'water everywhere'), ('plumbing', 'sewage'),
    ('electrical', 'sparks'), ('electrical', 'sparking'), ('electrical', 'burning smell'), ('electrical', 'shock'),
    ('electrical', 'exposed wire'), ('electrical', 'exposed wires'),
    ('hvac', 'no heat'), ('hvac', 'furnace out'), ('hvac', 'heat is out');

CREATE FUNCTION nmc.emergency_words(body text)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$ SELECT ' ' || btrim(regexp_replace(lower(body), '[^[:alnum:]]+', ' ', 'g')) || ' ' $$;
COMMENT ON FUNCTION nmc.emergency_words(text) IS 'A text as lower-case words between single spaces (" water everywhere help "), where an emergency term matches as strpos(words, '' '' || term || '' '') > 0.';

CREATE FUNCTION nmc.emergency_term_in(p_business_id uuid, body text)
RETURNS text
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    words text := nmc.emergency_words(body);
    hit text;
BEGIN
    -- The inbox worker asks the same of many texts at once (nmc.webhook_inbox_run).
    SELECT t.term INTO hit FROM nmc.emergency_terms t
     WHERE (t.trade_type IS NULL OR t.trade_type = (SELECT b.trade_type FROM nmc.businesses b WHERE b.id = p_business_id))
       AND strpos(words, ' ' || t.term || ' ') > 0
     ORDER BY length(t.term) DESC LIMIT 1;
    RETURN hit;
END
$$;
COMMENT ON FUNCTION nmc.emergency_term_in(uuid, text) IS 'The word of danger for the business''s trade found in a text (whole words, any case, punctuation ignored), or NULL; the longest if several.';

CREATE FUNCTION nmc.conversation_emergency(conv nmc.conversations, term text)
RETURNS nmc.conversations
LANGUAGE plpgsql
AS $$
DECLARE
    b nmc.businesses;
BEGIN
    SELECT * INTO b FROM nmc.businesses WHERE id = conv.business_id;
    PERFORM nmc.sms_send(b.id, conv.customer_id, (SELECT phone FROM nmc.phone_numbers WHERE id = conv.phone_number_id),
                         coalesce(b.safety_advice, nmc.default_safety_advice(b)), 'system', conv.id);
    PERFORM nmc.emit_event(b.id, 'conversation.emergency', jsonb_build_object('id', conv.id, 'customer_id', conv.customer_id, 'term', term));
    IF b.emergency_sms_to_owner AND b.forward_to_phone IS NOT NULL THEN
        PERFORM nmc.owner_alert_send(b, conv, format('EMERGENCY (%s) from %s: "%s" Reply to them now on your dashboard.',
            term, (SELECT phone FROM nmc.customers WHERE id = conv.customer_id),
            left((SELECT body FROM nmc.messages WHERE conversation_id = conv.id AND direction = 'inbound'
                   ORDER BY created_at DESC, id DESC LIMIT 1), 200)));
    END IF;
    -- A person handles danger: no countdown, and no AI small talk about a gas leak.
    RETURN nmc.conversation_set_mode(conv, 'human');
END
$$;
COMMENT ON FUNCTION nmc.conversation_emergency(nmc.conversations, text) IS 'A text reported danger: safety advice to the customer at once, a conversation.emergency event for the owner, and the conversation handed to a human (no human window, no AI).';

CREATE FUNCTION nmc.owner_alert_send(b nmc.businesses, conv nmc.conversations, body text)
RETURNS nmc.messages
LANGUAGE plpgsql
AS $$
DECLARE
    m nmc.messages;
BEGIN
    -- Recorded against the customer it is about, outside their thread (no conversation).
    INSERT INTO nmc.messages (business_id, customer_id, conversation_id, direction, author, from_phone, to_phone, body, status)
    VALUES (b.id, conv.customer_id, NULL, 'outbound', 'system', (SELECT phone FROM nmc.phone_numbers WHERE id = conv.phone_number_id),
            b.forward_to_phone, left(body, 480), 'pending')
    RETURNING * INTO m;
    PERFORM nmc.sms_enqueue(m);
    RETURN m;
END
$$;
COMMENT ON FUNCTION nmc.owner_alert_send(nmc.businesses, nmc.conversations, text) IS 'Texts the owner''s forward-to phone from the business number (an emergency alert); recorded as a system message about the customer, outside the conversation.';

-- ==== ../sql/twiml.sql
-- twiml.sql — the one place that writes TwiML, Twilio's XML call and
-- message instructions (../shared/reference/twilio.md §1.2, §2.2).
CREATE FUNCTION nmc.xml_escape(t text)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$ SELECT replace(replace(replace(replace(replace(t, '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), '"', '&quot;'), '''', '&apos;') $$;
COMMENT ON FUNCTION nmc.xml_escape(text) IS 'Text made safe for XML content and attribute values.';

CREATE FUNCTION nmc.twiml(inner_xml text)
RETURNS nmc.http_response
LANGUAGE sql IMMUTABLE
AS $$ SELECT nmc.respond_text(200, 'text/xml', '<?xml version="1.0" encoding="UTF-8"?><Response>' || coalesce(inner_xml, '') || '</Response>') $$;
COMMENT ON FUNCTION nmc.twiml(text) IS 'A TwiML document (HTTP 200, text/xml) around the given verbs; no verbs = do nothing.';

CREATE FUNCTION nmc.twiml_dial(forward_to text, ring_timeout_seconds int, action_url text)
RETURNS nmc.http_response
LANGUAGE sql IMMUTABLE
AS $$
    SELECT nmc.twiml(format('<Dial timeout="%s" action="%s" method="POST" answerOnBridge="true"><Number>%s</Number></Dial>',
                            ring_timeout_seconds, nmc.xml_escape(action_url), nmc.xml_escape(forward_to)))
$$;
COMMENT ON FUNCTION nmc.twiml_dial(text, int, text) IS 'Forward the call to the owner''s phone; Twilio requests action_url with DialCallStatus when the dial ends.';

CREATE FUNCTION nmc.twiml_say_and_hang_up(message text)
RETURNS nmc.http_response
LANGUAGE sql IMMUTABLE
AS $$ SELECT nmc.twiml('<Say>' || nmc.xml_escape(message) || '</Say><Hangup/>') $$;
COMMENT ON FUNCTION nmc.twiml_say_and_hang_up(text) IS 'Say a message to the caller, then end the call.';

-- ==== ../sql/webhook_inbox.sql
-- webhook_inbox.sql — every Twilio webhook between its acceptance and its
-- effect. A webhook only records itself here (one insert, so Twilio, and a
-- caller listening on a voice webhook, get the answer at once and a burst costs
-- a commit each); the inbox worker (extension/src/inbox_worker.c), woken at
-- that commit, applies them in arrival order, many per transaction, and deletes
-- each one it has applied. One that fails stays here, marked, for a DBA.
CREATE TABLE nmc.webhook_inbox (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- No foreign keys: each would lock the business's row from every concurrent
    -- webhook. The webhook found both in the same transaction; a webhook whose
    -- number or business is gone by the time it is applied is logged and dropped.
    business_id     uuid NOT NULL,
    phone_number_id uuid NOT NULL,
    webhook_key     text NOT NULL,
    params          jsonb NOT NULL,
    received_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    failed_at       timestamptz,
    error           text,
    kind            text NOT NULL CHECK (kind IN ('sms', 'sms_status', 'voice', 'voice_dial', 'voice_status')),
    UNIQUE (kind, webhook_key)
) WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000);
-- A queue: every row is deleted within milliseconds. Vacuumed after every
-- thousand, or the oldest-first scan walks ever more dead index entries.
COMMENT ON TABLE nmc.webhook_inbox IS 'Twilio webhooks accepted and not yet applied (normally for a few milliseconds). kind: sms (an inbound text), sms_status, voice (an incoming call), voice_dial (the forwarded call ended), voice_status. params: the webhook''s form fields (a voice webhook adds nmc_answer, what the caller was told). failed_at/error: applying it raised an error; the row is kept and skipped until a DBA clears failed_at (then it is applied again).';
COMMENT ON COLUMN nmc.webhook_inbox.webhook_key IS 'What makes a delivery of this webhook the same as another (Twilio retries): the MessageSid or CallSid, with the status for status callbacks.';
COMMENT ON COLUMN nmc.webhook_inbox.received_at IS 'When the webhook was accepted: the time of what it reports (a text''s created_at, a call''s start or end).';
ALTER TABLE nmc.webhook_inbox ENABLE ROW LEVEL SECURITY;
ALTER TABLE nmc.webhook_inbox FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON nmc.webhook_inbox
    USING (business_id = nmc.current_business_id())
    WITH CHECK (business_id = nmc.current_business_id());

CREATE FUNCTION nmc.inbox_wake()
RETURNS void
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'nmc_inbox_wake';
COMMENT ON FUNCTION nmc.inbox_wake() IS 'Wakes the inbox worker when the current transaction commits (nothing happens if it rolls back).';

CREATE FUNCTION nmc.inbox_process(OUT pid int, OUT heartbeat_at timestamptz)
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'nmc_inbox_process';
COMMENT ON FUNCTION nmc.inbox_process() IS 'The inbox worker''s pid (NULL if not running) and last heartbeat, from shared memory.';

CREATE FUNCTION nmc.webhook_inbox_put(p_kind text, p_key text, pn nmc.phone_numbers, p_params jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    recorded jsonb;
BEGIN
    INSERT INTO nmc.webhook_inbox (business_id, phone_number_id, webhook_key, params, kind)
    VALUES (pn.business_id, pn.id, p_key, p_params, p_kind)
    ON CONFLICT (kind, webhook_key) DO NOTHING
    RETURNING params INTO recorded;
    IF FOUND THEN
        PERFORM nmc.inbox_wake();
        RETURN recorded;
    END IF;
    -- Twilio delivered it again: what the first delivery recorded, if it still waits.
    SELECT i.params INTO recorded FROM nmc.webhook_inbox i WHERE i.kind = p_kind AND i.webhook_key = p_key;
    RETURN recorded;
END
$$;
COMMENT ON FUNCTION nmc.webhook_inbox_put(text, text, nmc.phone_numbers, jsonb) IS 'How every Twilio webhook is accepted: one insert into nmc.webhook_inbox for the business of the number pn, idempotent on (kind, key), waking the inbox worker at commit. Returns the params recorded — these, or those of an earlier delivery of the same webhook that still waits — or NULL when an earlier delivery was applied already (applying is idempotent too).';

CREATE FUNCTION nmc.webhook_status_accept(req jsonb, p_kind text, sid_field text, status_field text, our_number_field text)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $$
DECLARE
    sid text := nmc.webhook_field(req, sid_field);
    new_status text := nmc.webhook_field(req, status_field);
    pn nmc.phone_numbers := nmc.webhook_tenant(nmc.webhook_field(req, our_number_field));
BEGIN
    IF pn.id IS NOT NULL THEN
        PERFORM nmc.webhook_inbox_put(p_kind, sid || ' ' || new_status, pn, req -> 'body');
    END IF;
    RETURN nmc.twiml(NULL);
END
$$;
COMMENT ON FUNCTION nmc.webhook_status_accept(jsonb, text, text, text, text) IS 'How a Twilio status callback is accepted: its SID, status and our number (the field named, each required) — recorded in the webhook inbox as p_kind, keyed by SID and status (a retry of the same status is the same webhook), answered with empty TwiML. Callbacks for a number that is not ours are answered and dropped.';

CREATE FUNCTION nmc.webhook_inbox_apply(t nmc.webhook_inbox)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    CASE t.kind
        WHEN 'sms' THEN PERFORM nmc.sms_received(t);
        WHEN 'sms_status' THEN PERFORM nmc.message_status_reported(t);
        WHEN 'voice' THEN PERFORM nmc.call_rang(t);
        WHEN 'voice_dial' THEN PERFORM nmc.call_dial_ended(t);
        WHEN 'voice_status' THEN PERFORM nmc.call_status_reported(t);
    END CASE;
END
$$;
COMMENT ON FUNCTION nmc.webhook_inbox_apply(nmc.webhook_inbox) IS 'Applies one accepted webhook by its kind, in the business''s tenant scope: an inbound text (nmc.sms_received), a message status (nmc.message_status_reported), an incoming call (nmc.call_rang), the end of a forwarded call (nmc.call_dial_ended), a call status (nmc.call_status_reported). Each is idempotent: a webhook delivered again after it was applied changes nothing.';

CREATE FUNCTION nmc.webhook_inbox_run(max_webhooks int DEFAULT 500, isolate boolean DEFAULT false, min_together int DEFAULT 8)
RETURNS int
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
-- Every lookup here goes by index. The worker plans once per session, possibly on
-- a fresh install's empty-table statistics, and a sequential scan chosen then
-- would grow with the tables until the next ANALYZE.
SET enable_seqscan = off
AS $$
DECLARE
    t nmc.webhook_inbox;
    batch nmc.webhook_inbox[];
    callers text[];
    modes text[];
    routine boolean[];
    run_from int;
    run_len int;
    done int;
    n int := 0;
    err_state text;
    err_message text;
BEGIN
    -- If a crash loses this transaction, its webhooks are still in the inbox and
    -- are applied again; a text one of its jobs had sent meanwhile is sent again
    -- (at-least-once, as the dispatcher's claims). Nobody waits for its flush.
    PERFORM set_config('synchronous_commit', 'off', true);
    PERFORM nmc.defer_events();
    IF isolate THEN
        -- Each webhook alone, in a subtransaction: a failing one is marked and kept.
        FOR t IN SELECT * FROM nmc.webhook_inbox WHERE failed_at IS NULL ORDER BY id LIMIT max_webhooks FOR UPDATE SKIP LOCKED LOOP
            PERFORM set_config('nmc.business_id', t.business_id::text, true);
            BEGIN
                PERFORM nmc.webhook_inbox_apply(t);
                DELETE FROM nmc.webhook_inbox WHERE id = t.id;
            EXCEPTION
                WHEN deadlock_detected OR serialization_failure OR lock_not_available THEN
                    -- Transient: this webhook and everything after it wait for the next
                    -- round (a customer's STOP and START, a call and its end, keep their order).
                    RAISE LOG 'nevermisscall: % webhook % (inbox %) will be retried: %', t.kind, t.webhook_key, t.id, SQLERRM;
                    EXIT;
                WHEN OTHERS THEN
                    GET STACKED DIAGNOSTICS err_state = RETURNED_SQLSTATE, err_message = MESSAGE_TEXT;
                    RAISE WARNING 'nevermisscall: % webhook % (inbox %) could not be applied: % %', t.kind, t.webhook_key, t.id, err_state, err_message;
                    UPDATE nmc.webhook_inbox SET failed_at = now(), error = err_state || ': ' || err_message WHERE id = t.id;
            END;
            n := n + 1;
        END LOOP;
        PERFORM set_config('nmc.business_id', '', true);
        PERFORM nmc.emit_deferred_events();
        RETURN n;
    END IF;

    WHILE n < max_webhooks LOOP
        SELECT array_agg(q ORDER BY q.id) INTO batch
          FROM (SELECT * FROM nmc.webhook_inbox WHERE failed_at IS NULL ORDER BY id LIMIT max_webhooks - n FOR UPDATE SKIP LOCKED) q;
        EXIT WHEN batch IS NULL;
        -- Every path locks a conversation before its business's event counter. With
        -- several webhooks this transaction takes all their open conversations (by id)
        -- before touching any; their counters it takes only at its end, in business
        -- order, when it numbers its events (nmc.emit_deferred_events): a business's
        -- other writers (the dispatcher completing texts) wait for no batch.
        -- Each sender's number, normalised once (NULL: not a number we can text);
        -- a text that will go alone is normalised by nmc.sms_received.
        callers := CASE WHEN cardinality(batch) > 1 OR cardinality(batch) >= min_together
                        THEN ARRAY(SELECT nmc.phone_or_null(g.params ->> 'From') FROM unnest(batch) g) END;
        IF cardinality(batch) > 1 THEN
            PERFORM 1 FROM nmc.conversations c
              JOIN (SELECT DISTINCT g.business_id, g.phone_number_id, callers[g.ordinality] AS phone
                      FROM unnest(batch) WITH ORDINALITY AS g) k
                ON c.business_id = k.business_id AND c.phone_number_id = k.phone_number_id AND c.state = 'open'
              JOIN nmc.customers cu ON cu.id = c.customer_id AND cu.business_id = k.business_id AND cu.phone = k.phone
             ORDER BY c.id FOR UPDATE OF c;
        END IF;
        -- Which texts are routine (see nmc.sms_thread_routine): an inbound text, not
        -- a keyword, no emergency to raise (the terms of nmc.emergency_term_in, for
        -- all texts in one pass), not for the assistant, not already threaded.
        routine := NULL;
        IF cardinality(batch) >= min_together THEN
            SELECT array_agg(x.mode ORDER BY x.i), array_agg(x.routine ORDER BY x.i)
              INTO modes, routine
              FROM (SELECT g.ordinality AS i, o.mode,
                           g.kind = 'sms' AND callers[g.ordinality] IS NOT NULL AND nmc.sms_keyword(coalesce(g.params ->> 'Body', '')) IS NULL
                           AND b.id IS NOT NULL
                           AND EXISTS (SELECT 1 FROM nmc.phone_numbers p WHERE p.id = g.phone_number_id AND p.business_id = g.business_id)
                           AND NOT EXISTS (SELECT 1 FROM nmc.messages m WHERE m.twilio_sid = g.webhook_key)
                           AND coalesce(o.mode, 'waiting') <> 'ai'
                           AND (cu.opted_out_at IS NOT NULL OR coalesce(o.mode, 'waiting') = 'human'
                                OR NOT EXISTS (SELECT 1 FROM nmc.emergency_terms et
                                                WHERE (et.trade_type IS NULL OR et.trade_type = b.trade_type)
                                                  AND strpos(w.words, ' ' || et.term || ' ') > 0)) AS routine
                      FROM unnest(batch) WITH ORDINALITY AS g
                      CROSS JOIN LATERAL (SELECT CASE WHEN g.kind = 'sms' THEN nmc.emergency_words(coalesce(g.params ->> 'Body', '')) END
                                                 AS words OFFSET 0) w  -- once per text
                      LEFT JOIN nmc.businesses b ON b.id = g.business_id
                      LEFT JOIN nmc.customers cu ON cu.business_id = g.business_id AND cu.phone = callers[g.ordinality]
                      LEFT JOIN nmc.conversations o ON o.business_id = cu.business_id AND o.phone_number_id = g.phone_number_id
                                                   AND o.customer_id = cu.id AND o.state = 'open') x;
        END IF;
        -- The first run of at least min_together routine texts: run_len of them from run_from.
        run_from := NULL;
        run_len := 0;
        FOR i IN 1 .. coalesce(cardinality(routine), 0) LOOP
            IF routine[i] THEN
                run_len := run_len + 1;
                IF run_len >= min_together AND run_from IS NULL THEN
                    run_from := i - run_len + 1;
                END IF;
            ELSIF run_from IS NOT NULL THEN
                EXIT;
            ELSE
                run_len := 0;
            END IF;
        END LOOP;
        IF run_from = 1 THEN
            -- A run of routine texts together (planned once for any size).
            PERFORM nmc.sms_thread_routine(batch[1:run_len], callers[1:run_len], modes[1:run_len]);
            -- By an array of ids (one index probe each; IN (subquery) planned generically
            -- compared every inbox row with every text).
            DELETE FROM nmc.webhook_inbox WHERE id = ANY (ARRAY(SELECT r.id FROM unnest(batch[1:run_len]) r));
            done := run_len;
        ELSE
            -- Everything up to the next such run, one by one, each by its kind.
            done := coalesce(run_from - 1, cardinality(batch));
            FOREACH t IN ARRAY batch[1:done] LOOP
                PERFORM set_config('nmc.business_id', t.business_id::text, true);
                PERFORM nmc.webhook_inbox_apply(t);
                DELETE FROM nmc.webhook_inbox WHERE id = t.id;
            END LOOP;
            PERFORM set_config('nmc.business_id', '', true);
        END IF;
        n := n + done;
        -- The inbox had no more than this batch, and all of it is done.
        EXIT WHEN done = cardinality(batch) AND cardinality(batch) < max_webhooks - n + done;
    END LOOP;
    PERFORM nmc.emit_deferred_events();
    RETURN n;
END
$$;
COMMENT ON FUNCTION nmc.webhook_inbox_run(int, boolean, int) IS 'Applies up to max_webhooks inbox webhooks in arrival order and deletes them; returns how many it took. A run of at least min_together routine inbound texts goes through nmc.sms_thread_routine at once; every other webhook (calls, status callbacks, texts that are not routine, runs too short to be worth it) through nmc.webhook_inbox_apply one by one, many per transaction. Events are numbered when the run ends (nmc.defer_events), and the transaction commits without waiting for its WAL flush (a crash that loses it leaves its webhooks in the inbox). The inbox worker runs it in one transaction per batch; when a batch raises an error (a deadlock with a timer included) it runs it again with isolate, which gives each webhook a subtransaction and marks a failing one (failed_at, error) instead of losing the batch — one that meets a deadlock or serialization failure again is left for the next round, not marked.';

CREATE FUNCTION nmc.inbox_health(OUT worker_pid int, OUT heartbeat_age interval, OUT waiting bigint,
                                 OUT oldest_waiting_age interval, OUT failed bigint)
LANGUAGE sql STABLE
AS $$
    SELECT p.pid, greatest(interval '0', clock_timestamp() - p.heartbeat_at),
           (SELECT count(*) FROM nmc.webhook_inbox WHERE failed_at IS NULL),
           (SELECT greatest(interval '0', clock_timestamp() - min(received_at)) FROM nmc.webhook_inbox WHERE failed_at IS NULL),
           (SELECT count(*) FROM nmc.webhook_inbox WHERE failed_at IS NOT NULL)
      FROM nmc.inbox_process() p
$$;
COMMENT ON FUNCTION nmc.inbox_health() IS 'DBA and status page: the inbox worker''s pid and heartbeat age, webhooks waiting to be applied and how long the oldest has waited, and webhooks whose processing failed.';

-- ==== ../sql/calls.sql
-- calls.sql — Twilio's voice webhooks and the missed-call decision. Each
-- webhook is accepted into the webhook inbox and answered at once: an incoming
-- call is forwarded to the owner while open (TwiML <Dial>) or counts as missed
-- at once while closed. The inbox worker then applies it: a missed call
-- becomes, in one transaction, a customer, a lead, an open conversation, the
-- greeting text and its job, and events. Every decision is recorded on the call.
CREATE TABLE nmc.calls (
    id               uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
    business_id      uuid NOT NULL REFERENCES nmc.businesses (id) ON DELETE CASCADE,
    phone_number_id  uuid NOT NULL,
    twilio_call_sid  text NOT NULL UNIQUE CHECK (twilio_call_sid ~ '^CA[0-9a-zA-Z]{32}$'),
    from_raw         text NOT NULL,
    to_phone         text NOT NULL,
    customer_id      uuid,
    status           text NOT NULL CHECK (status IN ('ringing', 'forwarded', 'answered', 'missed')),
    missed_reason    text CHECK (missed_reason IN ('no-answer', 'busy', 'failed', 'canceled', 'not-bridged', 'after_hours', 'no_forward_phone')),
    dial_call_status text,
    call_status      text,
    duration_seconds int,
    decision         text CHECK (decision IN ('texted', 'suppressed_repeat', 'suppressed_opted_out', 'suppressed_blocked',
                                              'suppressed_short_ring', 'suppressed_unreachable', 'suppressed_anonymous', 'not_missed')),
    decision_reason  text,
    lead_id          uuid,
    conversation_id  uuid,
    message_id       uuid,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    missed_at        timestamptz,
    UNIQUE (business_id, id),
    FOREIGN KEY (business_id, phone_number_id) REFERENCES nmc.phone_numbers (business_id, id) ON DELETE CASCADE
);
COMMENT ON TABLE nmc.calls IS 'Every call to a business number, keyed by Twilio''s CallSid. decision says whether a missed call was texted and, if not, why (decision_reason in words).';
CREATE INDEX calls_recent ON nmc.calls (business_id, created_at DESC);
CREATE TRIGGER calls_touch BEFORE UPDATE ON nmc.calls FOR EACH ROW EXECUTE FUNCTION nmc.touch_updated_at();
ALTER TABLE nmc.calls ENABLE ROW LEVEL SECURITY;
ALTER TABLE nmc.calls FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON nmc.calls
    USING (business_id = nmc.current_business_id())
    WITH CHECK (business_id = nmc.current_business_id());

CREATE FUNCTION nmc.call_json(c nmc.calls)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$ SELECT jsonb_build_object('id', c.id, 'from', c.from_raw, 'to', c.to_phone, 'status', c.status, 'missed_reason', c.missed_reason,
                                'decision', c.decision, 'decision_reason', c.decision_reason, 'customer_id', c.customer_id,
                                'lead_id', c.lead_id, 'conversation_id', c.conversation_id, 'message_id', c.message_id,
                                'duration_seconds', c.duration_seconds, 'created_at', c.created_at, 'missed_at', c.missed_at) $$;
COMMENT ON FUNCTION nmc.call_json(nmc.calls) IS 'The API and event representation of a call, with its text decision.';

CREATE FUNCTION nmc.webhook_field(req jsonb, name text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    IF coalesce(req #>> ARRAY['body', name], '') = '' THEN
        PERFORM nmc.raise_api_error(400, 'missing_field', name || ' is required', name);
    END IF;
    RETURN req #>> ARRAY['body', name];
END
$$;
COMMENT ON FUNCTION nmc.webhook_field(jsonb, text) IS 'A required parameter of a Twilio webhook; NM400 missing_field if absent.';

-- What the caller hears, decided when the webhook is accepted (the caller is
-- listening: it never waits for the call to be applied).
CREATE FUNCTION nmc.call_answer_twiml(b nmc.businesses, answer text)
RETURNS nmc.http_response
LANGUAGE plpgsql
STABLE
AS $$
BEGIN
    IF answer = 'forward' AND b.forward_to_phone IS NOT NULL THEN
        RETURN nmc.twiml_dial(b.forward_to_phone, b.ring_timeout_seconds,
                              nmc.twilio_webhook_url(nmc.settings_json(), '/webhooks/twilio/voice/dial'));
    ELSIF answer IN ('after_hours', 'no_forward_phone') THEN
        RETURN nmc.twiml_say_and_hang_up(coalesce(b.after_hours_message, nmc.default_after_hours_message(b)));
    ELSIF answer = 'missed' THEN
        RETURN nmc.twiml_say_and_hang_up(format('Sorry we couldn''t take your call. %s will text you right away.', b.name));
    END IF;
    RETURN nmc.twiml('<Hangup/>');
END
$$;
COMMENT ON FUNCTION nmc.call_answer_twiml(nmc.businesses, text) IS 'The TwiML for a call: forward (<Dial> to the owner with the ring timeout and our action URL), after_hours or no_forward_phone (the after-hours message), missed (a text is coming), anything else hang up.';

CREATE FUNCTION nmc.call_missed(c nmc.calls, p_reason text, at timestamptz)
RETURNS nmc.calls
LANGUAGE plpgsql
AS $$
DECLARE
    b nmc.businesses;
    pn nmc.phone_numbers;
    caller text;
    cust nmc.customers;
    l nmc.leads;
    conv nmc.conversations;
    m nmc.messages;
    v_decision text;
    why text;
BEGIN
    SELECT * INTO b FROM nmc.businesses WHERE id = c.business_id;
    SELECT * INTO pn FROM nmc.phone_numbers WHERE id = c.phone_number_id;
    BEGIN
        caller := nmc.normalize_phone(c.from_raw, 'From');
    EXCEPTION WHEN SQLSTATE 'NM400' THEN
        caller := NULL;
    END;

    IF caller IS NULL THEN
        v_decision := 'suppressed_anonymous';
        why := format('the caller''s number (%s) cannot receive a text', c.from_raw);
    ELSE
        cust := nmc.customer_upsert(b.id, caller);
        l := nmc.lead_for_call(b.id, cust.id);
        IF EXISTS (SELECT 1 FROM nmc.blocked_numbers WHERE business_id = b.id AND phone = caller) THEN
            v_decision := 'suppressed_blocked';
            why := 'the number is on the block list';
        ELSIF cust.opted_out_at IS NOT NULL THEN
            v_decision := 'suppressed_opted_out';
            why := 'the customer replied STOP';
        ELSIF cust.sms_unreachable_at IS NOT NULL THEN
            v_decision := 'suppressed_unreachable';
            why := 'the number cannot receive texts: ' || coalesce(cust.sms_unreachable_reason, 'unknown');
        ELSIF p_reason NOT IN ('after_hours', 'no_forward_phone')
              AND at - c.created_at < make_interval(secs => b.min_ring_seconds) THEN
            v_decision := 'suppressed_short_ring';
            why := format('the caller hung up after %s s, before the minimum ring time of %s s',
                          round(extract(epoch FROM at - c.created_at)), b.min_ring_seconds);
        ELSIF cust.last_greeting_at > at - make_interval(secs => b.repeat_window_seconds) THEN
            v_decision := 'suppressed_repeat';
            why := format('this number got a greeting %s s ago (repeat window %s s)',
                          round(extract(epoch FROM at - cust.last_greeting_at)), b.repeat_window_seconds);
        ELSE
            conv := nmc.conversation_open(b.id, cust.id, pn.id, l.id);
            m := nmc.sms_send(b.id, cust.id, pn.phone,
                              nmc.greeting_render(b.id, nmc.greeting_template_of(b.id), pn.phone), 'system', conv.id);
            UPDATE nmc.customers SET last_greeting_at = greatest(at, last_greeting_at) WHERE id = cust.id;
            v_decision := 'texted';
            why := 'missed call: greeting sent';
        END IF;
    END IF;

    UPDATE nmc.calls SET status = 'missed', missed_reason = p_reason, missed_at = at, decision = v_decision,
           decision_reason = why, customer_id = cust.id, lead_id = l.id, conversation_id = conv.id, message_id = m.id
     WHERE id = c.id RETURNING * INTO c;
    PERFORM nmc.emit_event(b.id, 'call.missed', nmc.call_json(c) || jsonb_build_object('customer', nmc.customer_brief(c.customer_id)));
    RETURN c;
END
$$;
COMMENT ON FUNCTION nmc.call_missed(nmc.calls, text, timestamptz) IS
    'A call missed at the moment at (when its webhook was accepted), in the caller''s transaction: customer, lead (new, or the active one touched), and the text decision — blocked, opted out, unreachable, hung up before min_ring_seconds, greeted within repeat_window_seconds, or texted (open conversation, rendered greeting, twilio.sms.send job). Emits call.missed.';

CREATE FUNCTION nmc.webhook_voice(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $$
DECLARE
    sid text := nmc.webhook_field(req, 'CallSid');
    pn nmc.phone_numbers := nmc.webhook_tenant(nmc.webhook_field(req, 'To'));
    b nmc.businesses;
    c nmc.calls;
    answer text;
BEGIN
    IF pn.id IS NULL THEN
        RAISE LOG 'nevermisscall: call % to %, which is not one of our numbers', sid, req #>> '{body,To}';
        RETURN nmc.twiml_say_and_hang_up('Sorry, this number is not in service.');
    END IF;
    SELECT * INTO b FROM nmc.businesses WHERE id = pn.business_id;
    answer := CASE WHEN b.forward_to_phone IS NULL THEN 'no_forward_phone'
                   WHEN NOT nmc.business_is_open(b.id) THEN 'after_hours'
                   ELSE 'forward' END;
    answer := nmc.webhook_inbox_put('voice', sid, pn, (req -> 'body') || jsonb_build_object('nmc_answer', answer)) ->> 'nmc_answer';
    IF answer IS NULL THEN
        -- Twilio retried after the call was applied: the answer it got then.
        SELECT * INTO c FROM nmc.calls WHERE twilio_call_sid = sid;
        answer := CASE WHEN c.status = 'missed' AND c.missed_reason IN ('after_hours', 'no_forward_phone') THEN c.missed_reason
                       WHEN c.status = 'missed' THEN 'missed'
                       WHEN c.status IN ('ringing', 'forwarded') THEN 'forward' END;
    END IF;
    RETURN nmc.call_answer_twiml(b, answer);
END
$$;
COMMENT ON FUNCTION nmc.webhook_voice(jsonb) IS 'POST /webhooks/twilio/voice: an incoming call, accepted into the webhook inbox and answered at once. Open → forward to the owner (<Dial> with ring timeout and action); closed or no forward phone → the after-hours message (the call is then missed: nmc.call_rang). Idempotent on CallSid: a retry gets the same answer.';

-- A call's row is created by whichever of its webhooks is applied first
-- (normally the incoming call; its dial result if that came alone).
CREATE FUNCTION nmc.call_record(t nmc.webhook_inbox, p_status text)
RETURNS nmc.calls
LANGUAGE plpgsql
AS $$
DECLARE
    c nmc.calls;
BEGIN
    INSERT INTO nmc.calls (business_id, phone_number_id, twilio_call_sid, from_raw, to_phone, status, call_status, created_at)
    SELECT t.business_id, pn.id, t.webhook_key, coalesce(t.params ->> 'From', 'unknown'), pn.phone, p_status, t.params ->> 'CallStatus',
           t.received_at
      FROM nmc.phone_numbers pn WHERE pn.id = t.phone_number_id AND pn.business_id = t.business_id
    ON CONFLICT (twilio_call_sid) DO NOTHING
    RETURNING * INTO c;
    IF NOT FOUND AND NOT EXISTS (SELECT 1 FROM nmc.phone_numbers WHERE id = t.phone_number_id AND business_id = t.business_id) THEN
        RAISE LOG 'nevermisscall: call % arrived for a number the business no longer has', t.webhook_key;
    END IF;
    RETURN c;
END
$$;
COMMENT ON FUNCTION nmc.call_record(nmc.webhook_inbox, text) IS 'Records the call an accepted voice webhook belongs to, with p_status, created when the webhook was accepted; returns the new row, or a row of NULLs when the call was recorded already (idempotent on CallSid) or its number is gone (logged).';

CREATE FUNCTION nmc.call_rang(t nmc.webhook_inbox)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    answer text := t.params ->> 'nmc_answer';
    c nmc.calls := nmc.call_record(t, CASE WHEN answer = 'forward' THEN 'forwarded' ELSE 'ringing' END);
BEGIN
    IF c.id IS NULL THEN
        RETURN;  -- Applied before (Twilio retried), its dial result came first, or the number is gone.
    ELSIF answer = 'forward' THEN
        PERFORM nmc.emit_event(c.business_id, 'call.updated', nmc.call_json(c));
    ELSE
        PERFORM nmc.call_missed(c, answer, t.received_at);
    END IF;
END
$$;
COMMENT ON FUNCTION nmc.call_rang(nmc.webhook_inbox) IS 'Applies an accepted incoming call: the call is recorded (created when the webhook was accepted) as forwarded, or missed at once when the caller was told the business is closed or has no forward phone. Idempotent on CallSid.';

CREATE FUNCTION nmc.webhook_voice_dial(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $$
DECLARE
    sid text := nmc.webhook_field(req, 'CallSid');
    dial_status text := nmc.webhook_field(req, 'DialCallStatus');
    pn nmc.phone_numbers := nmc.webhook_tenant(nmc.webhook_field(req, 'To'));
    b nmc.businesses;
BEGIN
    IF pn.id IS NULL THEN
        RAISE LOG 'nevermisscall: dial result for call % to %, which is not one of our numbers', sid, req #>> '{body,To}';
        RETURN nmc.twiml('<Hangup/>');
    END IF;
    PERFORM nmc.webhook_inbox_put('voice_dial', sid, pn, req -> 'body');
    SELECT * INTO b FROM nmc.businesses WHERE id = pn.business_id;
    RETURN nmc.call_answer_twiml(b, CASE WHEN nmc.call_dial_missed_reason(req -> 'body') IS NOT NULL THEN 'missed' END);
END
$$;
COMMENT ON FUNCTION nmc.webhook_voice_dial(jsonb) IS 'POST /webhooks/twilio/voice/dial: the <Dial> ended; accepted into the webhook inbox (nmc.call_dial_ended applies it) and answered at once — a missed call hears that a text is coming, an answered one hangs up. Idempotent on CallSid.';

CREATE FUNCTION nmc.call_dial_missed_reason(params jsonb)
RETURNS text
LANGUAGE sql
IMMUTABLE
AS $$
    SELECT CASE WHEN params ->> 'DialCallStatus' IN ('no-answer', 'busy', 'failed', 'canceled') THEN params ->> 'DialCallStatus'
                WHEN params ->> 'DialBridged' = 'false' THEN 'not-bridged' END
$$;
COMMENT ON FUNCTION nmc.call_dial_missed_reason(jsonb) IS 'Why the forwarded call counts as missed, from the <Dial> action''s fields: no-answer, busy, failed, canceled, or not-bridged; NULL when the owner answered.';

CREATE FUNCTION nmc.call_dial_ended(t nmc.webhook_inbox)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    c nmc.calls;
    reason text := nmc.call_dial_missed_reason(t.params);
BEGIN
    PERFORM nmc.call_record(t, 'forwarded');
    SELECT * INTO c FROM nmc.calls WHERE twilio_call_sid = t.webhook_key FOR UPDATE;
    IF NOT FOUND OR c.status IN ('answered', 'missed') THEN
        RETURN;  -- Its number is gone (and its calls with it), or it was applied before.
    END IF;
    UPDATE nmc.calls SET dial_call_status = t.params ->> 'DialCallStatus', call_status = coalesce(t.params ->> 'CallStatus', call_status),
           duration_seconds = CASE WHEN t.params ->> 'DialCallDuration' ~ '^[0-9]+$' THEN (t.params ->> 'DialCallDuration')::int END
     WHERE id = c.id RETURNING * INTO c;
    IF reason IS NOT NULL THEN
        PERFORM nmc.call_missed(c, reason, t.received_at);
    ELSE
        -- Completed calls are never texted.
        UPDATE nmc.calls SET status = 'answered', decision = 'not_missed', decision_reason = 'the call was answered'
         WHERE id = c.id RETURNING * INTO c;
        PERFORM nmc.emit_event(c.business_id, 'call.updated', nmc.call_json(c));
    END IF;
END
$$;
COMMENT ON FUNCTION nmc.call_dial_ended(nmc.webhook_inbox) IS 'Applies an accepted <Dial> result: no-answer, busy, failed, canceled (or not bridged) → a missed call, decided as of the moment the webhook was accepted (nmc.call_missed); answered → never texted. Idempotent on CallSid.';

CREATE FUNCTION nmc.webhook_voice_status(req jsonb)
RETURNS nmc.http_response
LANGUAGE sql
AS $$ SELECT nmc.webhook_status_accept(req, 'voice_status', 'CallSid', 'CallStatus', 'To') $$;
COMMENT ON FUNCTION nmc.webhook_voice_status(jsonb) IS 'POST /webhooks/twilio/voice/status: the call''s final status and duration, accepted into the webhook inbox (nmc.call_status_reported applies it). Idempotent on CallSid and status.';

CREATE FUNCTION nmc.call_status_reported(t nmc.webhook_inbox)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    c nmc.calls;
BEGIN
    UPDATE nmc.calls SET call_status = coalesce(t.params ->> 'CallStatus', call_status),
           duration_seconds = coalesce(CASE WHEN t.params ->> 'CallDuration' ~ '^[0-9]+$' THEN (t.params ->> 'CallDuration')::int END, duration_seconds)
     WHERE twilio_call_sid = t.params ->> 'CallSid' AND business_id = t.business_id
       AND (call_status IS DISTINCT FROM t.params ->> 'CallStatus' OR duration_seconds IS NULL)
    RETURNING * INTO c;
    IF FOUND THEN
        PERFORM nmc.emit_event(c.business_id, 'call.updated', nmc.call_json(c));
    END IF;
END
$$;
COMMENT ON FUNCTION nmc.call_status_reported(nmc.webhook_inbox) IS 'Applies an accepted call status callback: the call''s status and duration. Repeats change nothing.';

-- ==== ../sql/sms_inbound.sql
-- sms_inbound.sql — Twilio's messaging webhooks: an inbound text recorded in
-- the webhook inbox (sms_threading.sql threads it), the opt-out / opt-in / help keywords,
-- and delivery status callbacks that only ever move a message forward.
CREATE FUNCTION nmc.sms_keyword(body text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    k text := regexp_replace(upper(btrim(body, E' \t\r\n.!')), '\s+', ' ', 'g');
BEGIN
    IF k IN ('STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'REVOKE', 'OPTOUT') THEN
        RETURN 'opt_out';
    ELSIF k IN ('START', 'YES', 'UNSTOP') THEN
        RETURN 'opt_in';
    ELSIF k IN ('HELP', 'INFO') THEN
        RETURN 'help';
    -- Plain-language opt-outs: a person who writes this must never be texted again.
    -- (None is longer than 48 characters; longer texts skip the patterns.)
    -- (One pattern with four alternatives: one match per text instead of four.)
    ELSIF length(k) <= 60 AND k ~ ('^(?:'
             '(PLEASE )?(STOP|QUIT|NO MORE) (TEXTING|MESSAGING|CONTACTING|TEXTS|MESSAGES)( ME| US)?( PLEASE)?'
          '|(PLEASE )?(DO NOT|DONT|DON''T|NEVER) (TEXT|MESSAGE|CONTACT) (ME|US|THIS NUMBER)( AGAIN| ANYMORE)?( PLEASE)?'
          '|(REMOVE|TAKE) ME (FROM|OFF) (YOUR|THE|THIS) (LIST|TEXTS)( PLEASE)?'
          '|UNSUBSCRIBE ME|LEAVE ME ALONE)$') THEN
        RETURN 'opt_out';
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION nmc.sms_keyword(text) IS 'opt_out, opt_in or help when a text is exactly one of Twilio''s keywords (any case, surrounding spaces and punctuation ignored); opt_out also for plain-language requests such as "stop texting me" or "don''t message me again"; else NULL.';

CREATE FUNCTION nmc.webhook_sms(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $$
DECLARE
    sid text := req #>> '{body,MessageSid}';
    pn nmc.phone_numbers;
BEGIN
    -- Each required field checked at once; nmc.webhook_field names the missing one.
    IF coalesce(sid, '') = '' OR coalesce(req #>> '{body,To}', '') = '' OR coalesce(req #>> '{body,From}', '') = '' THEN
        PERFORM nmc.webhook_field(req, f) FROM unnest(ARRAY['MessageSid', 'To', 'From']) f;
    END IF;
    pn := nmc.webhook_tenant(req #>> '{body,To}');
    IF pn.id IS NULL THEN
        RAISE LOG 'nevermisscall: text % to %, which is not one of our numbers', sid, req #>> '{body,To}';
        RETURN nmc.twiml(NULL);
    END IF;
    -- Kept first, threaded right after commit by the inbox worker (nmc.sms_received).
    PERFORM nmc.webhook_inbox_put('sms', sid, pn, req -> 'body');
    RETURN nmc.twiml(NULL);
END
$$;
COMMENT ON FUNCTION nmc.webhook_sms(jsonb) IS 'POST /webhooks/twilio/sms: an inbound text is recorded in nmc.webhook_inbox (one insert, idempotent on MessageSid) and answered at once; the inbox worker threads it into its conversation right after commit (nmc.sms_received). Texts to numbers that are not ours are logged and dropped.';

CREATE FUNCTION nmc.message_status_rank(status text)
RETURNS int
LANGUAGE sql IMMUTABLE
AS $$ SELECT CASE status WHEN 'pending' THEN 0 WHEN 'accepted' THEN 1 WHEN 'queued' THEN 1 WHEN 'sending' THEN 2 WHEN 'sent' THEN 3
                         WHEN 'delivered' THEN 4 WHEN 'undelivered' THEN 4 WHEN 'failed' THEN 4 WHEN 'read' THEN 5 ELSE -1 END $$;
COMMENT ON FUNCTION nmc.message_status_rank(text) IS 'How far along an outbound message status is; callbacks may arrive out of order and only move a message forward.';

CREATE FUNCTION nmc.webhook_sms_status(req jsonb)
RETURNS nmc.http_response
LANGUAGE sql
AS $$ SELECT nmc.webhook_status_accept(req, 'sms_status', 'MessageSid', 'MessageStatus', 'From') $$;
COMMENT ON FUNCTION nmc.webhook_sms_status(jsonb) IS 'POST /webhooks/twilio/sms/status: an outbound message''s delivery status, accepted into the webhook inbox (nmc.message_status_reported applies it) and answered at once. Idempotent on MessageSid and status.';

CREATE FUNCTION nmc.message_status_reported(t nmc.webhook_inbox)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    new_status text := t.params ->> 'MessageStatus';
    code text := t.params ->> 'ErrorCode';
    m nmc.messages;
    lead uuid;
BEGIN
    SELECT * INTO m FROM nmc.messages WHERE twilio_sid = t.params ->> 'MessageSid' AND business_id = t.business_id FOR UPDATE;
    IF NOT FOUND OR nmc.message_status_rank(new_status) <= nmc.message_status_rank(m.status)
       OR new_status NOT IN ('queued', 'sending', 'sent', 'delivered', 'undelivered', 'failed') THEN
        RETURN;
    END IF;
    UPDATE nmc.messages SET status = new_status,
           error_code = CASE WHEN code ~ '^[0-9]+$' THEN code::int ELSE error_code END,
           error_message = CASE WHEN new_status IN ('undelivered', 'failed') THEN 'Twilio delivery error ' || coalesce(code, 'unknown') ELSE error_message END,
           sent_at = CASE WHEN new_status IN ('sent', 'delivered') THEN coalesce(sent_at, t.received_at) ELSE sent_at END,
           delivered_at = CASE WHEN new_status = 'delivered' THEN t.received_at ELSE delivered_at END
     WHERE id = m.id RETURNING * INTO m;
    PERFORM nmc.emit_event(m.business_id, 'message.status',
        jsonb_build_object('id', m.id, 'conversation_id', m.conversation_id, 'status', m.status, 'error_code', m.error_code));
    SELECT c.lead_id INTO lead FROM nmc.conversations c WHERE c.id = m.conversation_id;
    IF lead IS NOT NULL AND new_status = 'delivered' THEN
        PERFORM nmc.lead_transition(lead, 'contacted');
    ELSIF lead IS NOT NULL AND new_status IN ('undelivered', 'failed') THEN
        UPDATE nmc.leads SET delivery_error = m.error_message WHERE id = lead;
    END IF;
END
$$;
COMMENT ON FUNCTION nmc.message_status_reported(nmc.webhook_inbox) IS 'Applies an accepted delivery status callback, only if it moves the message forward; delivered moves its lead to contacted, a delivery failure shows on the lead.';

INSERT INTO nmc.api_routes (route_method, route_path, handler, auth, summary) VALUES
    ('POST', '/webhooks/twilio/voice', 'webhook_voice', 'twilio', 'Twilio: an incoming call'),
    ('POST', '/webhooks/twilio/voice/dial', 'webhook_voice_dial', 'twilio', 'Twilio: the forwarded call ended (Dial action)'),
    ('POST', '/webhooks/twilio/voice/status', 'webhook_voice_status', 'twilio', 'Twilio: call status callback'),
    ('POST', '/webhooks/twilio/sms', 'webhook_sms', 'twilio', 'Twilio: an incoming text'),
    ('POST', '/webhooks/twilio/sms/status', 'webhook_sms_status', 'twilio', 'Twilio: outbound message status callback');

-- ==== ../sql/sms_threading.sql
-- sms_threading.sql — an inbound text applied from the webhook inbox
-- (webhook_inbox.sql): one by one (nmc.sms_received) or, for a run of routine
-- texts, many at once (nmc.sms_thread_routine), with the same result.
CREATE FUNCTION nmc.sms_received(t nmc.webhook_inbox)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    sid text := t.webhook_key;
    body text := coalesce(t.params ->> 'Body', '');
    pn nmc.phone_numbers;
    caller text;
    cust nmc.customers;
    conv nmc.conversations;
    m nmc.messages;
    kw text;
    danger text;
    b nmc.businesses;
BEGIN
    IF EXISTS (SELECT 1 FROM nmc.messages WHERE twilio_sid = sid) THEN
        RETURN;  -- Twilio delivered it again after it was threaded.
    END IF;
    BEGIN
        caller := nmc.normalize_phone(t.params ->> 'From', 'From');
    EXCEPTION WHEN SQLSTATE 'NM400' THEN
        RAISE LOG 'nevermisscall: text % from % cannot be answered by text', sid, t.params ->> 'From';
        RETURN;
    END;
    SELECT * INTO pn FROM nmc.phone_numbers WHERE id = t.phone_number_id;
    SELECT * INTO b FROM nmc.businesses WHERE id = t.business_id;
    IF pn.id IS NULL OR b.id IS NULL OR pn.business_id <> b.id THEN
        RAISE LOG 'nevermisscall: text % arrived for a number the business no longer has', sid;
        RETURN;
    END IF;
    cust := nmc.customer_upsert(b.id, caller);
    conv := nmc.conversation_open(b.id, cust.id, pn.id);
    INSERT INTO nmc.messages (business_id, customer_id, conversation_id, direction, author, from_phone, to_phone, body, status,
                              twilio_sid, created_at)
    VALUES (b.id, cust.id, conv.id, 'inbound', 'customer', caller, pn.phone, left(CASE WHEN body = '' THEN '(empty message)' ELSE body END, 1600),
            'received', sid, t.received_at)
    ON CONFLICT (twilio_sid) DO NOTHING
    RETURNING * INTO m;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    UPDATE nmc.conversations SET last_message_at = greatest(last_message_at, m.created_at) WHERE id = conv.id RETURNING * INTO conv;
    PERFORM nmc.emit_event(b.id, 'message.created', nmc.message_json(m) - 'body');

    kw := nmc.sms_keyword(body);
    IF kw IS NULL THEN
        danger := nmc.emergency_term_in(b.id, body);
    END IF;
    IF kw = 'opt_out' THEN
        UPDATE nmc.customers SET opted_out_at = now() WHERE id = cust.id;
        -- Nobody may text them now, so nobody is waited for.
        IF conv.mode = 'human_window' THEN
            PERFORM nmc.conversation_set_mode(conv, 'waiting');
        END IF;
    ELSIF kw = 'opt_in' THEN
        UPDATE nmc.customers SET opted_out_at = NULL WHERE id = cust.id;
    ELSIF kw = 'help' THEN
        IF cust.opted_out_at IS NULL AND cust.sms_unreachable_at IS NULL THEN
            PERFORM nmc.sms_send(b.id, cust.id, pn.phone, coalesce(b.help_text, nmc.default_help_text(b)), 'system', conv.id);
        END IF;
    ELSIF danger IS NOT NULL AND cust.opted_out_at IS NULL AND conv.mode <> 'human' THEN
        PERFORM nmc.conversation_emergency(conv, danger);
    ELSIF conv.mode = 'ai' THEN
        -- The assistant has the conversation: it answers at once.
        PERFORM nmc.ai_respond(conv.id);
    ELSE
        PERFORM nmc.conversation_customer_wrote(conv);
    END IF;
END
$$;
COMMENT ON FUNCTION nmc.sms_received(nmc.webhook_inbox) IS 'Threads one inbound text into the open conversation of (business number, customer), or a new one. STOP-words opt the customer out, START-words back in, HELP gets the help text; words of danger get safety advice and alert the owner at once; in AI mode the assistant answers; anything else opens the human response window. Idempotent on MessageSid.';

CREATE FUNCTION nmc.sms_thread_routine(texts nmc.webhook_inbox[], callers text[], modes text[])
RETURNS void
LANGUAGE plpgsql
-- Planned once, not for every batch: the plans (index lookups per text) suit any batch size.
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    cust uuid[];
    conv uuid[];
    created nmc.conversations[];
    msgs nmc.messages[];
    windows nmc.conversations[];
    timer_conv uuid[];
    timer_ids bigint[];
    timer_due timestamptz[];
    ev_b uuid[];
    ev_t text[];
    ev_body jsonb[];
BEGIN
    -- No ON CONFLICT clauses below (speculative insertion costs a third of the
    -- batch): the inbox worker is the only one threading texts, and a customer or
    -- conversation created meanwhile by a call, or a text threaded twice, makes
    -- the batch fail on a unique index — the worker then runs it one by one.
    -- Customers, created if new (as nmc.customer_upsert does).
    INSERT INTO nmc.customers AS c (business_id, phone)
    SELECT DISTINCT x.business_id, callers[x.ordinality] FROM unnest(texts) WITH ORDINALITY AS x
     WHERE NOT EXISTS (SELECT 1 FROM nmc.customers o WHERE o.business_id = x.business_id AND o.phone = callers[x.ordinality]);
    SELECT array_agg(c.id ORDER BY x.ordinality) INTO cust
      FROM unnest(texts) WITH ORDINALITY AS x JOIN nmc.customers c ON c.business_id = x.business_id AND c.phone = callers[x.ordinality];

    -- A conversation for each (number, customer) without an open one, linked to
    -- the customer's active lead, as nmc.conversation_open does.
    WITH pairs AS (
        SELECT DISTINCT x.business_id AS b, x.phone_number_id AS pn, cust[x.ordinality] AS c FROM unnest(texts) WITH ORDINALITY AS x
    ), ins AS (
        INSERT INTO nmc.conversations (business_id, customer_id, phone_number_id, lead_id)
        SELECT p.b, p.c, p.pn, (SELECT l.id FROM nmc.leads l WHERE l.business_id = p.b AND l.customer_id = p.c
                                   AND l.status IN ('new', 'contacted', 'qualified', 'appointment_scheduled'))
          FROM pairs p
         WHERE NOT EXISTS (SELECT 1 FROM nmc.conversations o
                            WHERE o.business_id = p.b AND o.phone_number_id = p.pn AND o.customer_id = p.c AND o.state = 'open')
        RETURNING *)
    SELECT array_agg(ins::nmc.conversations) INTO created FROM ins;

    SELECT array_agg(o.id ORDER BY x.ordinality) INTO conv
      FROM unnest(texts) WITH ORDINALITY AS x
      JOIN nmc.conversations o ON o.business_id = x.business_id AND o.phone_number_id = x.phone_number_id
                              AND o.customer_id = cust[x.ordinality] AND o.state = 'open';
    -- Locked as nmc.conversation_open locks them. One closed, or whose mode
    -- changed since the texts were sorted (a timer handed it to the assistant, the
    -- owner took it over), sends the batch to the one-by-one path.
    IF (SELECT count(*) FROM (SELECT 1 FROM nmc.conversations WHERE id = ANY (conv) AND state = 'open' ORDER BY id FOR UPDATE) l)
       <> (SELECT count(DISTINCT x) FROM unnest(conv) x) OR coalesce(cardinality(conv), 0) <> cardinality(texts)
       OR EXISTS (SELECT 1 FROM unnest(texts) WITH ORDINALITY AS x JOIN nmc.conversations c ON c.id = conv[x.ordinality]
                   WHERE c.mode <> coalesce(modes[x.ordinality], 'waiting')) THEN
        RAISE EXCEPTION 'nevermisscall: a conversation changed while texts were being threaded' USING ERRCODE = 'serialization_failure';
    END IF;

    WITH m AS (
        INSERT INTO nmc.messages (business_id, customer_id, conversation_id, direction, author, from_phone, to_phone, body, status,
                                  twilio_sid, created_at)
        SELECT x.business_id, cust[x.ordinality], conv[x.ordinality], 'inbound', 'customer', callers[x.ordinality], pn.phone,
               left(CASE WHEN coalesce(x.params ->> 'Body', '') = '' THEN '(empty message)' ELSE x.params ->> 'Body' END, 1600),
               'received', x.webhook_key, x.received_at
          FROM unnest(texts) WITH ORDINALITY AS x JOIN nmc.phone_numbers pn ON pn.id = x.phone_number_id
         ORDER BY x.ordinality
        RETURNING *)
    SELECT array_agg(m::nmc.messages) INTO msgs FROM m;

    -- The customer wrote: each conversation's last message moves on, and where
    -- the conversation waited for the customer the human response window opens
    -- (nmc.conversation_customer_wrote, for many at once) — one update each. The
    -- timers' conversations come back as an array, and each conversation finds its
    -- timer by position: joining the two row sets would compare every pair.
    WITH t AS (
        INSERT INTO nmc.timers (business_id, kind, subject_id, due_at)
        SELECT c.business_id, 'conversation.human_window', c.id, now() + make_interval(secs => b.human_window_seconds)
          FROM nmc.conversations c JOIN nmc.businesses b ON b.id = c.business_id
         WHERE c.id = ANY (conv) AND c.mode = 'waiting'
        RETURNING id, subject_id, due_at)
    SELECT array_agg(t.subject_id), array_agg(t.id), array_agg(t.due_at) INTO timer_conv, timer_ids, timer_due FROM t;
    WITH u AS (
        UPDATE nmc.conversations c
           SET last_message_at = greatest(c.last_message_at, last.last_at),
               mode = CASE WHEN last.k IS NULL THEN c.mode ELSE 'human_window' END,
               human_window_deadline = CASE WHEN last.k IS NULL THEN c.human_window_deadline ELSE timer_due[last.k] END,
               human_window_timer_id = CASE WHEN last.k IS NULL THEN c.human_window_timer_id ELSE timer_ids[last.k] END
          FROM (SELECT m.conversation_id AS id, max(m.created_at) AS last_at, array_position(timer_conv, m.conversation_id) AS k
                  FROM unnest(msgs) m GROUP BY 1) last
         WHERE c.id = last.id
        RETURNING c AS row, last.k)
    SELECT array_agg(u.row) INTO windows FROM u WHERE u.k IS NOT NULL;

    -- Events in the order the one-by-one path emits them: per text, the new
    -- conversation, the message, then the window it opened.
    WITH tx AS (SELECT x.ordinality AS i, x.webhook_key AS sid, conv[x.ordinality] AS conv_id FROM unnest(texts) WITH ORDINALITY AS x),
         firsts AS (SELECT tx.conv_id, min(tx.i) AS i FROM tx GROUP BY tx.conv_id),
         e AS (SELECT f.i, 0 AS sub, c.business_id AS b, 'conversation.created'::text AS t,
                      nmc.conversation_json(c) || jsonb_build_object('customer', nmc.customer_brief(c.customer_id)) AS body
                 FROM unnest(created) c JOIN firsts f ON f.conv_id = c.id
               UNION ALL
               SELECT tx.i, 1, m.business_id, 'message.created', nmc.message_json(m) - 'body'
                 FROM unnest(msgs) m JOIN tx ON tx.sid = m.twilio_sid
               UNION ALL
               SELECT f.i, 2, w.business_id, 'conversation.updated',
                      jsonb_build_object('id', w.id, 'mode', w.mode, 'state', w.state, 'human_window_deadline', w.human_window_deadline)
                 FROM unnest(windows) w JOIN firsts f ON f.conv_id = w.id)
    SELECT array_agg(e.b ORDER BY e.i, e.sub), array_agg(e.t ORDER BY e.i, e.sub), array_agg(e.body ORDER BY e.i, e.sub)
      INTO ev_b, ev_t, ev_body
      FROM e;
    PERFORM nmc.emit_events(ev_b, ev_t, ev_body);
END
$$;
COMMENT ON FUNCTION nmc.sms_thread_routine(nmc.webhook_inbox[], text[], text[]) IS 'Threads many routine inbound texts at once (callers: their normalised From numbers; modes: the mode of the open conversation each was sorted with, NULL if none — all in the same order): what nmc.sms_received does for a text that is not a keyword, raises no emergency and is not for the assistant — customer, conversation, message dated at receipt, the human response window where the conversation waited for the customer, and the same events in the same order. nmc.webhook_inbox_run decides which texts are routine.';

-- ==== ../sql/api_onboarding.sql
-- api_onboarding.sql — the JSON API for setting a business up: hours and
-- closures, greeting (with preview), block list, phone numbers (search and
-- purchase run as dispatcher jobs the client polls), and owner replies.
CREATE FUNCTION nmc.api_hours_get(req jsonb)
RETURNS nmc.http_response LANGUAGE sql STABLE
AS $$ SELECT nmc.respond(200, nmc.hours_json(nmc.current_business_id())) $$;
COMMENT ON FUNCTION nmc.api_hours_get(jsonb) IS 'GET /api/business/hours: weekly hours, upcoming closures, open now.';

CREATE FUNCTION nmc.api_hours_put(req jsonb)
RETURNS nmc.http_response LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM nmc.input_object(req -> 'body');
    PERFORM nmc.input_allowed_fields(req -> 'body', ARRAY['hours']);
    PERFORM nmc.hours_replace(nmc.current_business_id(), req #> '{body,hours}');
    RETURN nmc.respond(200, nmc.hours_json(nmc.current_business_id()));
END $$;
COMMENT ON FUNCTION nmc.api_hours_put(jsonb) IS 'PUT /api/business/hours {hours: [{weekday, opens_at, closes_at}]}: replaces the weekly hours.';

CREATE FUNCTION nmc.api_closures_post(req jsonb)
RETURNS nmc.http_response LANGUAGE plpgsql
AS $$
DECLARE
    d text := nmc.input_text(nmc.input_object(req -> 'body'), 'date', true, 10, 10);
    c nmc.business_closures;
BEGIN
    PERFORM nmc.input_allowed_fields(req -> 'body', ARRAY['date', 'reason']);
    IF d !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' OR to_char(to_date(d, 'YYYY-MM-DD'), 'YYYY-MM-DD') <> d THEN
        PERFORM nmc.raise_api_error(400, 'invalid_field', 'date must be a calendar date YYYY-MM-DD', 'date');
    END IF;
    INSERT INTO nmc.business_closures (business_id, closed_on, reason)
    VALUES (nmc.current_business_id(), d::date, nmc.input_text(req -> 'body', 'reason', false, 200, 0))
    ON CONFLICT (business_id, closed_on) DO UPDATE SET reason = EXCLUDED.reason
    RETURNING * INTO c;
    RETURN nmc.respond(201, jsonb_build_object('closure', jsonb_build_object('id', c.id, 'date', c.closed_on, 'reason', c.reason)));
END $$;
COMMENT ON FUNCTION nmc.api_closures_post(jsonb) IS 'POST /api/business/closures {date, reason}: a day the business is closed.';

CREATE FUNCTION nmc.input_uuid(v text, field text DEFAULT 'id')
RETURNS uuid LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    IF v !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
        PERFORM nmc.raise_api_error(404, 'not_found', 'no such ' || field);
    END IF;
    RETURN v::uuid;
END $$;
COMMENT ON FUNCTION nmc.input_uuid(text, text) IS 'A path id as a uuid; anything else is a 404 (it names nothing).';

CREATE FUNCTION nmc.api_closures_delete(req jsonb)
RETURNS nmc.http_response LANGUAGE plpgsql
AS $$
BEGIN
    DELETE FROM nmc.business_closures WHERE id = nmc.input_uuid(req #>> '{params,0}', 'closure');
    IF NOT FOUND THEN
        PERFORM nmc.raise_api_error(404, 'not_found', 'no such closure');
    END IF;
    RETURN nmc.respond(200, jsonb_build_object('deleted', true));
END $$;
COMMENT ON FUNCTION nmc.api_closures_delete(jsonb) IS 'DELETE /api/business/closures/{id}.';

CREATE FUNCTION nmc.greeting_json(p_business_id uuid)
RETURNS jsonb LANGUAGE sql STABLE
AS $$
    SELECT jsonb_build_object('template', nmc.greeting_template_of(b.id), 'is_default', b.greeting_template IS NULL,
                              'default_template', (SELECT template FROM nmc.greeting_defaults WHERE trade_type = b.trade_type),
                              'variables', to_jsonb(nmc.greeting_variables()),
                              'preview', nmc.greeting_preview(b.id, nmc.greeting_template_of(b.id)))
      FROM nmc.businesses b WHERE b.id = p_business_id
$$;
COMMENT ON FUNCTION nmc.greeting_json(uuid) IS 'A business''s greeting as the API shows it, with the trade default and a preview.';

CREATE FUNCTION nmc.api_greeting_get(req jsonb)
RETURNS nmc.http_response LANGUAGE sql STABLE
AS $$ SELECT nmc.respond(200, nmc.greeting_json(nmc.current_business_id())) $$;
COMMENT ON FUNCTION nmc.api_greeting_get(jsonb) IS 'GET /api/business/greeting.';

CREATE FUNCTION nmc.api_greeting_put(req jsonb)
RETURNS nmc.http_response LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM nmc.input_object(req -> 'body');
    PERFORM nmc.input_allowed_fields(req -> 'body', ARRAY['template']);
    IF NOT (req -> 'body') ? 'template' THEN
        PERFORM nmc.raise_api_error(400, 'missing_field', 'template is required (null restores the default)', 'template');
    END IF;
    UPDATE nmc.businesses SET greeting_template =
        CASE WHEN jsonb_typeof(req #> '{body,template}') = 'null' THEN NULL
             ELSE nmc.greeting_validate(nmc.input_text(req -> 'body', 'template', true, 1000)) END
     WHERE id = nmc.current_business_id();
    RETURN nmc.respond(200, nmc.greeting_json(nmc.current_business_id()));
END $$;
COMMENT ON FUNCTION nmc.api_greeting_put(jsonb) IS 'PUT /api/business/greeting {template}: a validated template, or null for the trade default.';

CREATE FUNCTION nmc.api_greeting_preview(req jsonb)
RETURNS nmc.http_response LANGUAGE plpgsql STABLE
AS $$
BEGIN
    PERFORM nmc.input_allowed_fields(nmc.input_object(req -> 'body'), ARRAY['template']);
    RETURN nmc.respond(200, nmc.greeting_preview(nmc.current_business_id(), nmc.input_text(req -> 'body', 'template', true, 1000)));
END $$;
COMMENT ON FUNCTION nmc.api_greeting_preview(jsonb) IS 'POST /api/business/greeting/preview {template}: the rendered text, encoding (GSM-7/UCS-2) and segments, or why the template is refused.';

CREATE FUNCTION nmc.api_blocked_list(req jsonb)
RETURNS nmc.http_response LANGUAGE sql STABLE
AS $$
    SELECT nmc.respond(200, jsonb_build_object('blocked_numbers', coalesce(jsonb_agg(jsonb_build_object(
               'id', id, 'phone', phone, 'reason', reason, 'created_at', created_at) ORDER BY created_at), '[]')))
      FROM nmc.blocked_numbers WHERE business_id = nmc.current_business_id()
$$;
COMMENT ON FUNCTION nmc.api_blocked_list(jsonb) IS 'GET /api/business/blocked-numbers.';

CREATE FUNCTION nmc.api_blocked_add(req jsonb)
RETURNS nmc.http_response LANGUAGE plpgsql
AS $$
DECLARE
    r nmc.blocked_numbers;
BEGIN
    PERFORM nmc.input_allowed_fields(nmc.input_object(req -> 'body'), ARRAY['phone', 'reason']);
    INSERT INTO nmc.blocked_numbers (business_id, phone, reason)
    VALUES (nmc.current_business_id(), nmc.normalize_phone(nmc.input_text(req -> 'body', 'phone', true, 32), 'phone'),
            nmc.input_text(req -> 'body', 'reason', false, 200, 0))
    ON CONFLICT (business_id, phone) DO UPDATE SET reason = EXCLUDED.reason
    RETURNING * INTO r;
    RETURN nmc.respond(201, jsonb_build_object('blocked_number', jsonb_build_object('id', r.id, 'phone', r.phone, 'reason', r.reason)));
END $$;
COMMENT ON FUNCTION nmc.api_blocked_add(jsonb) IS 'POST /api/business/blocked-numbers {phone, reason}.';

CREATE FUNCTION nmc.api_blocked_delete(req jsonb)
RETURNS nmc.http_response LANGUAGE plpgsql
AS $$
BEGIN
    DELETE FROM nmc.blocked_numbers WHERE id = nmc.input_uuid(req #>> '{params,0}', 'blocked number');
    IF NOT FOUND THEN
        PERFORM nmc.raise_api_error(404, 'not_found', 'no such blocked number');
    END IF;
    RETURN nmc.respond(200, jsonb_build_object('deleted', true));
END $$;
COMMENT ON FUNCTION nmc.api_blocked_delete(jsonb) IS 'DELETE /api/business/blocked-numbers/{id}.';

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

CREATE FUNCTION nmc.api_phone_numbers_list(req jsonb)
RETURNS nmc.http_response LANGUAGE sql STABLE
AS $$
    SELECT nmc.respond(200, jsonb_build_object('phone_numbers', coalesce(jsonb_agg(jsonb_build_object(
               'id', id, 'phone', phone, 'friendly_name', friendly_name, 'simulated', simulated, 'created_at', created_at) ORDER BY created_at), '[]')))
      FROM nmc.phone_numbers WHERE business_id = nmc.current_business_id()
$$;
COMMENT ON FUNCTION nmc.api_phone_numbers_list(jsonb) IS 'GET /api/phone-numbers: the business''s numbers.';

CREATE FUNCTION nmc.api_phone_numbers_search(req jsonb)
RETURNS nmc.http_response LANGUAGE plpgsql
AS $$
DECLARE
    ac text;
BEGIN
    PERFORM nmc.input_allowed_fields(nmc.input_object(req -> 'body'), ARRAY['area_code']);
    ac := nmc.input_text(req -> 'body', 'area_code', true, 3, 3);
    IF ac !~ '^[2-9][0-9][0-9]$' THEN
        PERFORM nmc.raise_api_error(400, 'invalid_field', 'area_code must be a 3-digit North American area code', 'area_code');
    END IF;
    RETURN nmc.respond(202, jsonb_build_object('job', nmc.job_json(
        nmc.job_enqueue('twilio.numbers.search', nmc.current_business_id(), jsonb_build_object('area_code', ac, 'country', 'US')))));
END $$;
COMMENT ON FUNCTION nmc.api_phone_numbers_search(jsonb) IS 'POST /api/phone-numbers/search {area_code}: starts a search; 202 with the job to poll (GET /api/jobs/{id}), whose result lists the numbers.';

CREATE FUNCTION nmc.api_phone_numbers_buy(req jsonb)
RETURNS nmc.http_response LANGUAGE plpgsql
AS $$
DECLARE
    phone text;
BEGIN
    PERFORM nmc.input_allowed_fields(nmc.input_object(req -> 'body'), ARRAY['phone_number']);
    phone := nmc.normalize_phone(nmc.input_text(req -> 'body', 'phone_number', true, 32), 'phone_number');
    PERFORM nmc.phone_number_available(phone);
    RETURN nmc.respond(202, jsonb_build_object('job', nmc.job_json(
        nmc.job_enqueue('twilio.numbers.buy', nmc.current_business_id(), jsonb_build_object('phone_number', phone),
                        'buy:' || phone || ':' || nmc.current_business_id()))));
END $$;
COMMENT ON FUNCTION nmc.api_phone_numbers_buy(jsonb) IS 'POST /api/phone-numbers {phone_number}: buys a number for the business and points its webhooks at us; 202 with the job to poll. The same request twice is one purchase.';

CREATE FUNCTION nmc.api_conversation_reply(req jsonb)
RETURNS nmc.http_response LANGUAGE plpgsql
AS $$
DECLARE
    conv nmc.conversations;
    b nmc.businesses;
    body text;
    m nmc.messages;
BEGIN
    PERFORM nmc.input_allowed_fields(nmc.input_object(req -> 'body'), ARRAY['body']);
    body := nmc.input_text(req -> 'body', 'body', true, 1600);
    conv := nmc.conversation_for_update(nmc.input_uuid(req #>> '{params,0}', 'conversation'));
    SELECT * INTO b FROM nmc.businesses WHERE id = conv.business_id;
    IF (nmc.sms_segments(body)).segments > b.max_reply_segments THEN
        PERFORM nmc.raise_api_error(400, 'message_too_long',
            format('this message would be %s SMS segments; the limit is %s (max_reply_segments)', (nmc.sms_segments(body)).segments, b.max_reply_segments),
            'body');
    END IF;
    m := nmc.sms_send(b.id, conv.customer_id, (SELECT phone FROM nmc.phone_numbers WHERE id = conv.phone_number_id),
                      body, 'owner', conv.id);
    -- A human answered: the window closes and no one else will answer for the business.
    IF conv.mode = 'human_window' THEN
        PERFORM nmc.conversation_set_mode(conv, 'waiting');
    END IF;
    RETURN nmc.respond(201, jsonb_build_object('message', nmc.message_json(m)));
END $$;
COMMENT ON FUNCTION nmc.api_conversation_reply(jsonb) IS 'POST /api/conversations/{id}/messages {body}: the owner texts the customer from the business number; refused if longer than max_reply_segments (never cut) or if the customer opted out. Closes the human window.';

CREATE FUNCTION nmc.api_conversation_get(req jsonb)
RETURNS nmc.http_response LANGUAGE plpgsql STABLE
AS $$
DECLARE
    conv nmc.conversations;
BEGIN
    SELECT * INTO conv FROM nmc.conversations WHERE id = nmc.input_uuid(req #>> '{params,0}', 'conversation');
    IF NOT FOUND THEN
        PERFORM nmc.raise_api_error(404, 'not_found', 'no such conversation');
    END IF;
    RETURN nmc.respond(200, jsonb_build_object('conversation', nmc.conversation_json(conv) || jsonb_build_object('customer', nmc.customer_brief(conv.customer_id)),
        'messages', coalesce((SELECT jsonb_agg(nmc.message_json(m) ORDER BY m.created_at, m.id)
                                FROM nmc.messages m WHERE m.business_id = conv.business_id AND m.conversation_id = conv.id), '[]')));
END $$;
COMMENT ON FUNCTION nmc.api_conversation_get(jsonb) IS 'GET /api/conversations/{id}: the conversation (with its customer) and its messages.';

CREATE FUNCTION nmc.api_calls_list(req jsonb)
RETURNS nmc.http_response LANGUAGE sql STABLE
AS $$
    SELECT nmc.respond(200, jsonb_build_object('calls', coalesce(jsonb_agg(nmc.call_json(c) ORDER BY c.created_at DESC), '[]')))
      FROM (SELECT * FROM nmc.calls WHERE business_id = nmc.current_business_id() ORDER BY created_at DESC LIMIT 100) c
$$;
COMMENT ON FUNCTION nmc.api_calls_list(jsonb) IS 'GET /api/calls: the latest 100 calls with their text decision.';

INSERT INTO nmc.api_routes (route_method, route_path, handler, auth, summary) VALUES
    ('GET', '/api/business/hours', 'api_hours_get', 'jwt', 'Weekly hours, upcoming closures, open now'),
    ('PUT', '/api/business/hours', 'api_hours_put', 'jwt', 'Replace the weekly hours'),
    ('POST', '/api/business/closures', 'api_closures_post', 'jwt', 'Add a closed day'),
    ('DELETE', '/api/business/closures/{id}', 'api_closures_delete', 'jwt', 'Remove a closed day'),
    ('GET', '/api/business/greeting', 'api_greeting_get', 'jwt', 'The greeting template, its default and a preview'),
    ('PUT', '/api/business/greeting', 'api_greeting_put', 'jwt', 'Set (or reset) the greeting template'),
    ('POST', '/api/business/greeting/preview', 'api_greeting_preview', 'jwt', 'Render a template with encoding and segments'),
    ('GET', '/api/business/blocked-numbers', 'api_blocked_list', 'jwt', 'The block list'),
    ('POST', '/api/business/blocked-numbers', 'api_blocked_add', 'jwt', 'Block a number from missed-call texts'),
    ('DELETE', '/api/business/blocked-numbers/{id}', 'api_blocked_delete', 'jwt', 'Unblock a number'),
    ('GET', '/api/phone-numbers', 'api_phone_numbers_list', 'jwt', 'The business''s Twilio numbers'),
    ('POST', '/api/phone-numbers/search', 'api_phone_numbers_search', 'jwt', 'Search numbers by area code (a job)'),
    ('POST', '/api/phone-numbers', 'api_phone_numbers_buy', 'jwt', 'Buy a number (a job)'),
    ('GET', '/api/jobs/{id}', 'api_job_get', 'jwt', 'Poll a job'),
    ('GET', '/api/calls', 'api_calls_list', 'jwt', 'Latest calls with their text decision'),
    ('GET', '/api/conversations/{id}', 'api_conversation_get', 'jwt', 'A conversation and its messages'),
    ('POST', '/api/conversations/{id}/messages', 'api_conversation_reply', 'jwt', 'Send a text as the business');

-- ==== ../sql/sandbox.sql
-- sandbox.sql — sandbox mode's rehearsal routes: an owner (the dashboard's
-- "test it" step) plays an unanswered call or a customer's text to their own
-- number, and everything after runs exactly as for Twilio's webhooks.
CREATE FUNCTION nmc.sandbox_number()
RETURNS nmc.phone_numbers
LANGUAGE plpgsql
AS $$
DECLARE
    pn nmc.phone_numbers;
BEGIN
    IF NOT nmc.sandbox_mode() THEN
        PERFORM nmc.raise_api_error(409, 'sandbox_only',
            'rehearsals run in sandbox mode only; with Twilio configured, call your number from a phone');
    END IF;
    SELECT * INTO pn FROM nmc.phone_numbers WHERE business_id = nmc.current_business_id()
     ORDER BY created_at LIMIT 1;
    IF NOT FOUND THEN
        PERFORM nmc.raise_api_error(409, 'no_phone_number', 'get a phone number first');
    END IF;
    RETURN pn;
END
$$;
COMMENT ON FUNCTION nmc.sandbox_number() IS 'The current business''s number for a rehearsal; NM409 sandbox_only outside sandbox mode, NM409 no_phone_number before it has one.';

CREATE FUNCTION nmc.sandbox_caller(req jsonb)
RETURNS text
LANGUAGE sql STABLE
AS $$ SELECT nmc.normalize_phone(coalesce(nullif(req #>> '{body,from}', ''), '+15125550142'), 'from') $$;
COMMENT ON FUNCTION nmc.sandbox_caller(jsonb) IS 'The rehearsal''s customer: body.from (any phone format) or a sample caller, +1 512-555-0142.';

CREATE FUNCTION nmc.api_sandbox_missed_call(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $$
DECLARE
    pn nmc.phone_numbers := nmc.sandbox_number();
    caller text := nmc.sandbox_caller(req);
    sid text := nmc.twilio_random_sid('CA');
BEGIN
    -- The voice webhook, then (if it rang the owner) the <Dial> ending unanswered;
    -- the inbox worker applies both right after this commit, as for Twilio's.
    PERFORM nmc.webhook_voice(jsonb_build_object('body', jsonb_build_object(
        'CallSid', sid, 'From', caller, 'To', pn.phone, 'CallStatus', 'ringing', 'Direction', 'inbound')));
    IF (SELECT i.params ->> 'nmc_answer' FROM nmc.webhook_inbox i WHERE i.kind = 'voice' AND i.webhook_key = sid) = 'forward' THEN
        PERFORM nmc.webhook_voice_dial(jsonb_build_object('body', jsonb_build_object(
            'CallSid', sid, 'From', caller, 'To', pn.phone, 'CallStatus', 'in-progress',
            'DialCallStatus', 'no-answer', 'DialCallDuration', '0')));
    END IF;
    RETURN nmc.respond(202, jsonb_build_object('call_sid', sid, 'from', caller, 'to', pn.phone));
END
$$;
COMMENT ON FUNCTION nmc.api_sandbox_missed_call(jsonb) IS 'POST /api/sandbox/missed-call {from?}: sandbox mode only — an unanswered call to the business''s number, through the same code as Twilio''s voice webhooks (accepted now; greeting text, lead, conversation and events right after, from the inbox worker).';

CREATE FUNCTION nmc.api_sandbox_customer_reply(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $$
DECLARE
    pn nmc.phone_numbers := nmc.sandbox_number();
    caller text := nmc.sandbox_caller(req);
    body text := nmc.input_text(req -> 'body', 'body', true, 1600);
    sid text := nmc.twilio_random_sid('SM');
BEGIN
    PERFORM nmc.webhook_sms(jsonb_build_object('body', jsonb_build_object(
        'MessageSid', sid, 'SmsSid', sid, 'From', caller, 'To', pn.phone, 'Body', body, 'NumSegments', '1')));
    RETURN nmc.respond(202, jsonb_build_object('message_sid', sid, 'from', caller, 'to', pn.phone));
END
$$;
COMMENT ON FUNCTION nmc.api_sandbox_customer_reply(jsonb) IS 'POST /api/sandbox/customer-reply {from?, body}: sandbox mode only — a text from a customer to the business''s number, through the same code as Twilio''s SMS webhook.';

INSERT INTO nmc.api_routes (route_method, route_path, handler, auth, summary) VALUES
    ('POST', '/api/sandbox/missed-call', 'api_sandbox_missed_call', 'jwt', 'Sandbox: rehearse an unanswered call to your number'),
    ('POST', '/api/sandbox/customer-reply', 'api_sandbox_customer_reply', 'jwt', 'Sandbox: rehearse a customer''s text to your number');

-- ==== ../sql/takeover.sql
-- takeover.sql — the owner's one-tap takeover and release, and the guarantee
-- that the AI is silent once a human has taken over: an AI reply becomes a
-- text only if the conversation is in AI mode at that instant, checked under
-- the conversation's row lock in the transaction that would send it.
CREATE FUNCTION nmc.conversation_for_update(p_conversation_id uuid, must_be_open boolean DEFAULT true)
RETURNS nmc.conversations
LANGUAGE plpgsql
AS $$
DECLARE
    c nmc.conversations;
BEGIN
    SELECT * INTO c FROM nmc.conversations WHERE id = p_conversation_id FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM nmc.raise_api_error(404, 'not_found', 'no such conversation');
    END IF;
    IF must_be_open AND c.state <> 'open' THEN
        PERFORM nmc.raise_api_error(409, 'conversation_closed', 'this conversation is closed');
    END IF;
    RETURN c;
END
$$;
COMMENT ON FUNCTION nmc.conversation_for_update(uuid, boolean) IS 'A conversation of the current business, locked for the rest of the transaction; NM404 if there is none, NM409 conversation_closed if it must be open and is not.';

CREATE FUNCTION nmc.conversation_takeover(p_conversation_id uuid)
RETURNS nmc.conversations
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN nmc.conversation_set_mode(nmc.conversation_for_update(p_conversation_id), 'human');
END
$$;
COMMENT ON FUNCTION nmc.conversation_takeover(uuid) IS 'The owner takes the conversation over: mode human, any human-window timer cancelled; from then on no AI reply is sent (nmc.ai_send_reply drops them).';

CREATE FUNCTION nmc.conversation_release(p_conversation_id uuid)
RETURNS nmc.conversations
LANGUAGE plpgsql
AS $$
DECLARE
    c nmc.conversations := nmc.conversation_for_update(p_conversation_id, false);
BEGIN
    IF c.mode <> 'human' THEN
        PERFORM nmc.raise_api_error(409, 'invalid_transition', 'only a conversation taken over can be released');
    END IF;
    RETURN nmc.conversation_set_mode(c, 'waiting');
END
$$;
COMMENT ON FUNCTION nmc.conversation_release(uuid) IS 'The owner hands the conversation back: mode waiting; the next customer message opens the human window again.';

CREATE FUNCTION nmc.ai_send_reply(p_conversation_id uuid, p_body text)
RETURNS nmc.messages
LANGUAGE plpgsql
AS $$
DECLARE
    c nmc.conversations;
    m nmc.messages;
BEGIN
    -- The lock orders this against a concurrent takeover: whichever commits
    -- first wins, and a takeover that won is seen here.
    c := nmc.conversation_for_update(p_conversation_id, false);
    IF c.mode = 'ai' AND c.state = 'open' THEN
        -- The assistant's replies are capped at the business's max_ai_segments.
        RETURN nmc.sms_send(c.business_id, c.customer_id, (SELECT phone FROM nmc.phone_numbers WHERE id = c.phone_number_id),
                            nmc.sms_fit(p_body, (SELECT max_ai_segments FROM nmc.businesses WHERE id = c.business_id)), 'ai', c.id);
    END IF;
    INSERT INTO nmc.messages (business_id, customer_id, conversation_id, direction, author, from_phone, to_phone, body, status, error_message)
    SELECT c.business_id, c.customer_id, c.id, 'outbound', 'ai', p.phone, cu.phone, left(p_body, 1600), 'dropped',
           format('not sent: the conversation was in %s mode when the AI reply arrived', c.mode)
      FROM nmc.phone_numbers p, nmc.customers cu WHERE p.id = c.phone_number_id AND cu.id = c.customer_id
    RETURNING * INTO m;
    PERFORM nmc.emit_event(c.business_id, 'message.created', nmc.message_json(m) - 'body');
    RETURN m;
END
$$;
COMMENT ON FUNCTION nmc.ai_send_reply(uuid, text) IS 'Sends an AI reply only if the conversation is in AI mode at this instant (under its row lock); otherwise keeps it as a dropped message for audit, never sent.';

CREATE FUNCTION nmc.api_conversation_takeover(req jsonb)
RETURNS nmc.http_response LANGUAGE sql
AS $$ SELECT nmc.respond(200, jsonb_build_object('conversation', nmc.conversation_json(
          nmc.conversation_takeover(nmc.input_uuid(req #>> '{params,0}', 'conversation'))))) $$;
COMMENT ON FUNCTION nmc.api_conversation_takeover(jsonb) IS 'POST /api/conversations/{id}/takeover.';

CREATE FUNCTION nmc.api_conversation_release(req jsonb)
RETURNS nmc.http_response LANGUAGE sql
AS $$ SELECT nmc.respond(200, jsonb_build_object('conversation', nmc.conversation_json(
          nmc.conversation_release(nmc.input_uuid(req #>> '{params,0}', 'conversation'))))) $$;
COMMENT ON FUNCTION nmc.api_conversation_release(jsonb) IS 'POST /api/conversations/{id}/release.';

INSERT INTO nmc.api_routes (route_method, route_path, handler, auth, summary) VALUES
    ('POST', '/api/conversations/{id}/takeover', 'api_conversation_takeover', 'jwt', 'Take the conversation over (the AI goes silent)'),
    ('POST', '/api/conversations/{id}/release', 'api_conversation_release', 'jwt', 'Hand the conversation back');

-- ==== ../sql/appointments.sql
-- appointments.sql — booked jobs: a time range per appointment that no two
-- appointments of a business may share (an exclusion constraint, so double
-- booking is impossible whoever books), open slots inside business hours and
-- closures, booking and cancelling, and the confirmation text — written from
-- the appointment row, never by a model.
CREATE TABLE nmc.appointments (
    id           uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
    business_id  uuid NOT NULL REFERENCES nmc.businesses (id) ON DELETE CASCADE,
    customer_id  uuid NOT NULL,
    lead_id      uuid,
    during       tstzrange NOT NULL CHECK (NOT isempty(during) AND lower_inc(during) AND NOT upper_inc(during)),
    status       text NOT NULL DEFAULT 'booked' CHECK (status IN ('booked', 'cancelled')),
    service_address text CHECK (length(service_address) <= 300),
    problem      text CHECK (length(problem) <= 1000),
    booked_by    text NOT NULL CHECK (booked_by IN ('owner', 'ai')),
    cancel_reason text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (business_id, id),
    FOREIGN KEY (business_id, customer_id) REFERENCES nmc.customers (business_id, id) ON DELETE CASCADE,
    FOREIGN KEY (business_id, lead_id) REFERENCES nmc.leads (business_id, id) ON DELETE SET NULL (lead_id),
    -- Two booked appointments of one business never overlap, however they were made.
    CONSTRAINT appointments_no_double_booking EXCLUDE USING gist (business_id WITH =, during WITH &&) WHERE (status = 'booked')
);
COMMENT ON TABLE nmc.appointments IS 'Booked jobs. during is [start, end); the exclusion constraint makes overlapping booked appointments of one business impossible.';
CREATE TRIGGER appointments_touch BEFORE UPDATE ON nmc.appointments FOR EACH ROW EXECUTE FUNCTION nmc.touch_updated_at();
ALTER TABLE nmc.appointments ENABLE ROW LEVEL SECURITY;
ALTER TABLE nmc.appointments FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON nmc.appointments
    USING (business_id = nmc.current_business_id())
    WITH CHECK (business_id = nmc.current_business_id());


CREATE FUNCTION nmc.appointment_json(a nmc.appointments)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$ SELECT jsonb_build_object('id', a.id, 'customer_id', a.customer_id, 'lead_id', a.lead_id, 'starts_at', lower(a.during),
                                'ends_at', upper(a.during), 'status', a.status, 'service_address', a.service_address,
                                'problem', a.problem, 'booked_by', a.booked_by, 'cancel_reason', a.cancel_reason) $$;
COMMENT ON FUNCTION nmc.appointment_json(nmc.appointments) IS 'The API and event representation of an appointment.';

CREATE FUNCTION nmc.open_slots(p_business_id uuid, p_from timestamptz, p_count int DEFAULT 3, p_minutes int DEFAULT NULL)
RETURNS TABLE (starts_at timestamptz, ends_at timestamptz)
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    b nmc.businesses;
    len interval;
    day date;
    h record;
    s timestamptz;
    found_n int := 0;
BEGIN
    SELECT * INTO b FROM nmc.businesses WHERE id = p_business_id;
    len := make_interval(mins => coalesce(p_minutes, b.appointment_minutes));
    -- Walk local days for two weeks; slots start on the hour or half hour.
    FOR day IN SELECT generate_series((p_from AT TIME ZONE b.timezone)::date, (p_from AT TIME ZONE b.timezone)::date + 13, interval '1 day')::date LOOP
        CONTINUE WHEN EXISTS (SELECT 1 FROM nmc.business_closures c WHERE c.business_id = b.id AND c.closed_on = day);
        FOR h IN SELECT opens_at, closes_at FROM nmc.business_hours
                  WHERE business_id = b.id AND weekday = extract(dow FROM day) ORDER BY opens_at LOOP
            s := (day + h.opens_at) AT TIME ZONE b.timezone;
            WHILE s + len <= CASE WHEN h.closes_at = '24:00' THEN (day + 1) AT TIME ZONE b.timezone
                                  ELSE (day + h.closes_at) AT TIME ZONE b.timezone END LOOP
                IF s >= p_from AND NOT EXISTS (SELECT 1 FROM nmc.appointments a WHERE a.business_id = b.id AND a.status = 'booked'
                                                  AND a.during && tstzrange(s, s + len, '[)')) THEN
                    starts_at := s;
                    ends_at := s + len;
                    RETURN NEXT;
                    found_n := found_n + 1;
                    IF found_n >= p_count THEN
                        RETURN;
                    END IF;
                END IF;
                s := s + interval '30 minutes';
            END LOOP;
        END LOOP;
    END LOOP;
END
$$;
COMMENT ON FUNCTION nmc.open_slots(uuid, timestamptz, int, int) IS 'The next p_count free slots of the job''s length from p_from: inside business hours (local time), not on closures, not overlapping a booked appointment; starting on the hour or half hour, up to two weeks ahead.';

CREATE FUNCTION nmc.appointment_book(p_business_id uuid, p_customer_id uuid, p_starts_at timestamptz, p_booked_by text,
                                     p_address text DEFAULT NULL, p_problem text DEFAULT NULL, p_minutes int DEFAULT NULL)
RETURNS nmc.appointments
LANGUAGE plpgsql
AS $$
DECLARE
    b nmc.businesses;
    a nmc.appointments;
    l uuid;
BEGIN
    SELECT * INTO b FROM nmc.businesses WHERE id = p_business_id;
    IF NOT nmc.business_is_open(b.id, p_starts_at)
       OR NOT nmc.business_is_open(b.id, p_starts_at + make_interval(mins => coalesce(p_minutes, b.appointment_minutes)) - interval '1 second') THEN
        PERFORM nmc.raise_api_error(400, 'outside_business_hours', 'that time is outside the business''s hours', 'starts_at');
    END IF;
    SELECT id INTO l FROM nmc.leads WHERE business_id = b.id AND customer_id = p_customer_id
       AND status IN ('new', 'contacted', 'qualified', 'appointment_scheduled');
    BEGIN
        INSERT INTO nmc.appointments (business_id, customer_id, lead_id, during, booked_by, service_address, problem)
        VALUES (b.id, p_customer_id, l, tstzrange(p_starts_at, p_starts_at + make_interval(mins => coalesce(p_minutes, b.appointment_minutes)), '[)'),
                p_booked_by, p_address, p_problem)
        RETURNING * INTO a;
    EXCEPTION WHEN exclusion_violation THEN
        PERFORM nmc.raise_api_error(409, 'slot_taken', 'another appointment is booked at that time', 'starts_at');
    END;
    IF l IS NOT NULL THEN
        PERFORM nmc.lead_transition(l, 'appointment_scheduled');
    END IF;
    PERFORM nmc.emit_event(b.id, 'appointment.created', nmc.appointment_json(a));
    RETURN a;
END
$$;
COMMENT ON FUNCTION nmc.appointment_book(uuid, uuid, timestamptz, text, text, text, int) IS 'Books a job inside business hours; NM409 slot_taken when it would overlap another (the exclusion constraint decides, even under concurrency). Moves the customer''s lead to appointment_scheduled; emits appointment.created.';

CREATE FUNCTION nmc.appointment_cancel(p_appointment_id uuid, p_reason text DEFAULT NULL)
RETURNS nmc.appointments
LANGUAGE plpgsql
AS $$
DECLARE
    a nmc.appointments;
BEGIN
    UPDATE nmc.appointments SET status = 'cancelled', cancel_reason = p_reason
     WHERE id = p_appointment_id AND status = 'booked' RETURNING * INTO a;
    IF NOT FOUND THEN
        PERFORM nmc.raise_api_error(404, 'not_found', 'no booked appointment with this id');
    END IF;
    PERFORM nmc.emit_event(a.business_id, 'appointment.cancelled', nmc.appointment_json(a));
    RETURN a;
END
$$;
COMMENT ON FUNCTION nmc.appointment_cancel(uuid, text) IS 'Cancels a booked appointment (its time becomes free); emits appointment.cancelled.';

CREATE FUNCTION nmc.appointment_confirmation(p_appointment_id uuid)
RETURNS text
LANGUAGE sql STABLE
AS $$
    SELECT format('You''re booked with %s on %s at %s%s. Reply here if anything changes.',
                  b.name,
                  to_char(lower(a.during) AT TIME ZONE b.timezone, 'FMDay, FMMonth FMDD'),
                  nmc.format_time_of_day((lower(a.during) AT TIME ZONE b.timezone)::time),
                  CASE WHEN a.service_address IS NOT NULL THEN ' at ' || a.service_address ELSE '' END)
      FROM nmc.appointments a JOIN nmc.businesses b ON b.id = a.business_id
     WHERE a.id = p_appointment_id AND a.status = 'booked'
$$;
COMMENT ON FUNCTION nmc.appointment_confirmation(uuid) IS 'The confirmation text of a booked appointment, written from the row in the business''s local time: a customer is never told of a booking the database does not have.';

CREATE FUNCTION nmc.api_appointments_list(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    from_at timestamptz := now();
    to_at timestamptz;
BEGIN
    BEGIN
        from_at := coalesce((req #>> '{query,from}')::timestamptz, now());
        to_at := (req #>> '{query,to}')::timestamptz;
    EXCEPTION WHEN OTHERS THEN
        PERFORM nmc.raise_api_error(400, 'invalid_field', 'from and to must be timestamps (ISO 8601)', 'from');
    END;
    RETURN nmc.respond(200, jsonb_build_object('appointments', coalesce((
        SELECT jsonb_agg(nmc.appointment_json(a) ORDER BY lower(a.during))
          FROM nmc.appointments a
         WHERE a.business_id = nmc.current_business_id() AND upper(a.during) > from_at
           AND (to_at IS NULL OR lower(a.during) < to_at)
           AND (req #>> '{query,status}' IS NULL OR a.status = req #>> '{query,status}')), '[]')));
END
$$;
COMMENT ON FUNCTION nmc.api_appointments_list(jsonb) IS 'GET /api/appointments?from=&to=&status=: appointments ending after from (default now), in time order — upcoming list and day/week views.';

CREATE FUNCTION nmc.api_appointments_create(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $$
DECLARE
    body jsonb := nmc.input_object(req -> 'body');
    cust nmc.customers;
    starts timestamptz;
BEGIN
    PERFORM nmc.input_allowed_fields(body, ARRAY['customer_phone', 'starts_at', 'minutes', 'service_address', 'problem']);
    BEGIN
        starts := nmc.input_text(body, 'starts_at', true, 40)::timestamptz;
    EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow THEN
        PERFORM nmc.raise_api_error(400, 'invalid_field', 'starts_at must be an ISO 8601 timestamp', 'starts_at');
    END;
    cust := nmc.customer_upsert(nmc.current_business_id(), nmc.input_text(body, 'customer_phone', true, 32));
    RETURN nmc.respond(201, jsonb_build_object('appointment', nmc.appointment_json(nmc.appointment_book(
        nmc.current_business_id(), cust.id, starts, 'owner',
        nmc.input_text(body, 'service_address', false, 300, 0), nmc.input_text(body, 'problem', false, 1000, 0),
        CASE WHEN body ? 'minutes' THEN nmc.input_int(body, 'minutes', 15, 480) END))));
END
$$;
COMMENT ON FUNCTION nmc.api_appointments_create(jsonb) IS 'POST /api/appointments {customer_phone, starts_at[, minutes, service_address, problem]}: the owner books by hand; 409 slot_taken on overlap.';

CREATE FUNCTION nmc.api_appointments_cancel(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $$
BEGIN
    IF req -> 'body' IS NOT NULL THEN
        PERFORM nmc.input_allowed_fields(nmc.input_object(req -> 'body'), ARRAY['reason']);
    END IF;
    RETURN nmc.respond(200, jsonb_build_object('appointment', nmc.appointment_json(nmc.appointment_cancel(
        nmc.input_uuid(req #>> '{params,0}', 'appointment'), nmc.input_text(coalesce(req -> 'body', '{}'), 'reason', false, 300, 0)))));
END
$$;
COMMENT ON FUNCTION nmc.api_appointments_cancel(jsonb) IS 'POST /api/appointments/{id}/cancel {reason?}.';

CREATE FUNCTION nmc.api_open_slots(req jsonb)
RETURNS nmc.http_response
LANGUAGE sql STABLE
AS $$
    SELECT nmc.respond(200, jsonb_build_object('slots', coalesce(jsonb_agg(jsonb_build_object('starts_at', s.starts_at, 'ends_at', s.ends_at)
                                                                           ORDER BY s.starts_at), '[]')))
      FROM nmc.open_slots(nmc.current_business_id(), now(), 10) s
$$;
COMMENT ON FUNCTION nmc.api_open_slots(jsonb) IS 'GET /api/appointments/open-slots: the next ten free slots.';

INSERT INTO nmc.api_routes (route_method, route_path, handler, auth, summary) VALUES
    ('GET', '/api/appointments', 'api_appointments_list', 'jwt', 'Appointments in a time window'),
    ('POST', '/api/appointments', 'api_appointments_create', 'jwt', 'Book an appointment by hand'),
    ('POST', '/api/appointments/{id}/cancel', 'api_appointments_cancel', 'jwt', 'Cancel an appointment'),
    ('GET', '/api/appointments/open-slots', 'api_open_slots', 'jwt', 'The next free slots');

-- ==== ../sql/intake_engine.sql
-- intake_engine.sql — the built-in intake engine: when nobody at the business
-- answered within the human window, it carries the conversation to a booked
-- appointment without any outside AI — asks for what is missing (problem,
-- name, service address; the ZIP code when the business limits its service
-- area by postal codes, and declines politely outside it), offers the next open slots, books the one the
-- customer picks ("2", "the first one"), confirms from the appointment row,
-- and hands off to a human on anything it cannot parse twice. Every reply goes
-- through nmc.ai_send_reply, so a takeover silences it at once.

CREATE FUNCTION nmc.intake_name(t text)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
    SELECT CASE WHEN n ~ '^[[:alpha:]][[:alpha:] .''-]{0,59}$' AND n !~ '[0-9]' THEN initcap(n) END
      FROM (SELECT btrim(regexp_replace(btrim(t, E' \t\r\n.!'), '^(my name is|my name''s|this is|i am|i''m|it''s|its|name:?)\s+', '', 'i')) AS n) x
$$;
COMMENT ON FUNCTION nmc.intake_name(text) IS 'A person''s name from a reply such as "Jane Doe" or "my name is jane doe", or NULL if it does not look like one.';

CREATE FUNCTION nmc.intake_address(t text)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$ SELECT CASE WHEN btrim(t) ~* '^[0-9]+[a-z]?\s+\S+.*[[:alpha:]]' AND length(btrim(t)) <= 200 THEN btrim(t, E' \t\r\n.!') END $$;
COMMENT ON FUNCTION nmc.intake_address(text) IS 'A street address (starting with a house number) from a reply, or NULL.';

CREATE FUNCTION nmc.intake_slot_choice(t text, offered int)
RETURNS int
LANGUAGE sql IMMUTABLE
AS $$
    SELECT CASE WHEN n BETWEEN 1 AND offered THEN n END
      FROM (SELECT CASE
                WHEN k ~ '^\(?([0-9])\)?$' THEN substring(k FROM '([0-9])')::int
                WHEN k ~ '\m(first|1st|one)\M' THEN 1
                WHEN k ~ '\m(second|2nd|two)\M' THEN 2
                WHEN k ~ '\m(third|3rd|three)\M' THEN 3
                WHEN k ~ '^(option|number|#)\s*[0-9]$' THEN right(k, 1)::int
            END AS n
              FROM (SELECT lower(btrim(t, E' \t\r\n.!')) AS k) x) y
$$;
COMMENT ON FUNCTION nmc.intake_slot_choice(text, int) IS 'Which of the offered slots a reply picks ("2", "(2)", "the second one", "option 2"), or NULL.';

CREATE FUNCTION nmc.intake_slot_by_time(t text, offered jsonb, tz text)
RETURNS int
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    k text := lower(t);
    m text[];
    hh int;
    mm int := 0;
    day date;
    local_today date := (now() AT TIME ZONE tz)::date;
    hits int[];
BEGIN
    -- The time: "9am", "9:30 pm", "14:00", or "at 10" (1-6 o'clock meaning afternoon).
    m := regexp_match(k, '\m(\d{1,2})(?::(\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)');
    IF m IS NOT NULL THEN
        hh := m[1]::int % 12 + CASE WHEN m[3] LIKE 'p%' THEN 12 ELSE 0 END;
        mm := coalesce(m[2]::int, 0);
    ELSE
        m := regexp_match(k, '\m(\d{1,2}):(\d{2})\M');
        IF m IS NOT NULL THEN
            hh := m[1]::int;
            mm := m[2]::int;
        ELSE
            m := regexp_match(k, '\mat (\d{1,2})\M');
            IF m IS NOT NULL THEN
                hh := m[1]::int + CASE WHEN m[1]::int BETWEEN 1 AND 6 THEN 12 ELSE 0 END;
            END IF;
        END IF;
    END IF;
    -- The day: today, tomorrow, or a weekday name.
    IF k ~ '\mtoday\M' THEN
        day := local_today;
    ELSIF k ~ '\mtomorrow\M' THEN
        day := local_today + 1;
    ELSE
        m := regexp_match(k, '\m(sun|mon|tue|wed|thu|fri|sat)[a-z]*\M');
        IF m IS NOT NULL THEN
            SELECT d INTO day FROM generate_series(local_today, local_today + 6, interval '1 day') g(d0), LATERAL (SELECT g.d0::date AS d) x
             WHERE to_char(x.d, 'dy') = m[1] LIMIT 1;
        END IF;
    END IF;
    IF hh IS NULL AND day IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT array_agg(n::int ORDER BY n) INTO hits
      FROM jsonb_array_elements_text(offered) WITH ORDINALITY AS o(ts, n)
     WHERE (day IS NULL OR (o.ts::timestamptz AT TIME ZONE tz)::date = day)
       AND (hh IS NULL OR (extract(hour FROM o.ts::timestamptz AT TIME ZONE tz) = hh
                           AND extract(minute FROM o.ts::timestamptz AT TIME ZONE tz) = mm));
    -- Only an answer that names exactly one of the offered times counts.
    RETURN CASE WHEN cardinality(hits) = 1 THEN hits[1] END;
END
$$;
COMMENT ON FUNCTION nmc.intake_slot_by_time(text, jsonb, text) IS 'Which of the offered slots (timestamps) a reply names by day and/or time in the business''s time zone ("tomorrow 9am", "Thursday at 2", "the 10:30 one"); NULL unless exactly one matches.';

CREATE FUNCTION nmc.intake_reply(conv nmc.conversations, body text)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    b nmc.businesses;
BEGIN
    SELECT * INTO b FROM nmc.businesses WHERE id = conv.business_id;
    -- The first thing the assistant says discloses that it is automated.
    IF NOT EXISTS (SELECT 1 FROM nmc.messages WHERE conversation_id = conv.id AND author = 'ai') THEN
        body := coalesce(b.ai_disclosure, nmc.default_ai_disclosure(b)) || ' ' || body;
    END IF;
    PERFORM nmc.ai_send_reply(conv.id, body);
END
$$;
COMMENT ON FUNCTION nmc.intake_reply(nmc.conversations, text) IS 'Sends an assistant reply, from either engine (prefixed with the disclosure the first time), only while the conversation is in AI mode.';

CREATE FUNCTION nmc.intake_turn(p_conversation_id uuid)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    conv nmc.conversations := nmc.conversation_for_update(p_conversation_id);
    b nmc.businesses;
    last_text text;
    i jsonb;
    v text;
    pick int;
    a nmc.appointments;
    slots jsonb;
    understood boolean := true;
BEGIN
    IF conv.mode <> 'ai' THEN
        RETURN;
    END IF;
    SELECT * INTO b FROM nmc.businesses WHERE id = conv.business_id;
    i := conv.intake;
    SELECT m.body INTO last_text FROM nmc.messages m
     WHERE m.conversation_id = conv.id AND m.direction = 'inbound' ORDER BY m.created_at DESC, m.id DESC LIMIT 1;

    -- Take in the customer's latest answer to what was asked.
    IF i ->> 'awaiting' = 'name' THEN
        v := nmc.intake_name(last_text);
        understood := v IS NOT NULL;
        IF understood THEN
            i := i || jsonb_build_object('name', v);
            UPDATE nmc.customers SET name = v WHERE id = conv.customer_id;
        END IF;
    ELSIF i ->> 'awaiting' = 'address' THEN
        v := nmc.intake_address(last_text);
        understood := v IS NOT NULL;
        IF understood THEN
            i := i || jsonb_build_object('address', v);
            IF substring(v FROM '\m([0-9]{5})(-[0-9]{4})?\s*$') IS NOT NULL THEN
                i := i || jsonb_build_object('zip', substring(v FROM '\m([0-9]{5})(-[0-9]{4})?\s*$'));
            END IF;
        END IF;
    ELSIF i ->> 'awaiting' = 'zip' THEN
        v := substring(last_text FROM '\m([0-9]{5})\M');
        understood := v IS NOT NULL;
        IF understood THEN
            i := i || jsonb_build_object('zip', v);
        END IF;
    ELSIF i ->> 'awaiting' = 'slot' THEN
        pick := coalesce(nmc.intake_slot_by_time(last_text, i -> 'offered_slots', b.timezone),
                         nmc.intake_slot_choice(last_text, jsonb_array_length(i -> 'offered_slots')));
        understood := pick IS NOT NULL;
        IF understood THEN
            BEGIN
                a := nmc.appointment_book(b.id, conv.customer_id, (i #>> ARRAY['offered_slots', (pick - 1)::text])::timestamptz, 'ai',
                                          i ->> 'address', i ->> 'problem');
            EXCEPTION WHEN SQLSTATE 'NM409' OR SQLSTATE 'NM400' THEN
                -- Taken meanwhile: offer fresh slots.
                i := i - 'offered_slots';
                a := NULL;
            END;
            IF a.id IS NOT NULL THEN
                PERFORM nmc.intake_reply(conv, nmc.appointment_confirmation(a.id));
                PERFORM nmc.conversation_close(conv, i || jsonb_build_object('awaiting', 'nothing', 'appointment_id', a.id));
                RETURN;
            END IF;
        END IF;
    ELSIF NOT i ? 'problem' AND last_text IS NOT NULL THEN
        -- The customer's first words are usually the problem itself.
        i := i || jsonb_build_object('problem', left(last_text, 1000));
    END IF;

    IF NOT understood THEN
        IF coalesce((i ->> 'misunderstood')::int, 0) >= 1 THEN
            PERFORM nmc.intake_reply(conv, format('Sorry, I didn''t catch that. I''ll have someone from %s text you shortly.', b.name));
            UPDATE nmc.conversations SET intake = i WHERE id = conv.id RETURNING * INTO conv;
            PERFORM nmc.emit_event(b.id, 'conversation.handoff', jsonb_build_object('id', conv.id, 'reason', 'the assistant could not understand the customer twice'));
            PERFORM nmc.conversation_set_mode(conv, 'human');
            RETURN;
        END IF;
        i := i || jsonb_build_object('misunderstood', 1);
    ELSE
        i := i - 'misunderstood';
    END IF;

    -- Ask for what is still missing, in order; then offer slots.
    IF NOT i ? 'problem' THEN
        i := i || '{"awaiting":"problem"}';
        PERFORM nmc.intake_reply(conv, 'What can we help you with?');
    ELSIF NOT i ? 'name' THEN
        i := i || '{"awaiting":"name"}';
        PERFORM nmc.intake_reply(conv, CASE WHEN understood THEN 'Thanks! What''s your name?' ELSE 'Sorry, what''s your name?' END);
    ELSIF NOT i ? 'address' THEN
        i := i || '{"awaiting":"address"}';
        PERFORM nmc.intake_reply(conv, CASE WHEN understood THEN format('Thanks, %s. What''s the address for the job (street and number)?', i ->> 'name')
                                            ELSE 'Sorry, I need the street address with the house number, like "12 Elm St".' END);
    ELSIF b.service_postal_codes IS NOT NULL AND NOT i ? 'zip' THEN
        i := i || '{"awaiting":"zip"}';
        PERFORM nmc.intake_reply(conv, CASE WHEN understood THEN 'And the ZIP code?' ELSE 'Sorry, what''s the 5-digit ZIP code?' END);
    ELSIF b.service_postal_codes IS NOT NULL AND NOT (i ->> 'zip') = ANY (b.service_postal_codes) THEN
        -- Outside the service area: say so politely, mark the lead, and stop.
        PERFORM nmc.intake_reply(conv, format('Sorry, %s doesn''t serve %s. We hope you find help quickly!', b.name, i ->> 'zip'));
        conv := nmc.conversation_close(conv, i || '{"awaiting":"nothing","out_of_area":true,"in_area":false}');
        PERFORM nmc.lead_capture(conv, '{}');   -- marks the lead out_of_area
        RETURN;
    ELSE
        IF NOT i ? 'offered_slots' OR NOT understood THEN
            SELECT jsonb_agg(s.starts_at ORDER BY s.starts_at) INTO slots FROM nmc.open_slots(b.id, now() + interval '1 hour', 3) s;
            IF slots IS NULL THEN
                PERFORM nmc.intake_reply(conv, format('Thanks! We have no open times in the next two weeks; someone from %s will text you to find one.', b.name));
                UPDATE nmc.conversations SET intake = i WHERE id = conv.id RETURNING * INTO conv;
                PERFORM nmc.conversation_set_mode(conv, 'human');
                RETURN;
            END IF;
            -- Everything is known and the area check (by ZIP) passed: lead_capture qualifies the lead.
            i := i || jsonb_build_object('offered_slots', slots, 'in_area', true);
        END IF;
        i := i || '{"awaiting":"slot"}';
        PERFORM nmc.intake_reply(conv, (CASE WHEN understood THEN 'I can book you in at: ' ELSE 'Sorry, which time? ' END)
            || (SELECT string_agg(format('%s) %s', n, to_char(t::timestamptz AT TIME ZONE b.timezone, 'Dy Mon FMDD') || ' at '
                                                       || nmc.format_time_of_day((t::timestamptz AT TIME ZONE b.timezone)::time)), ', ' ORDER BY n)
                  FROM jsonb_array_elements_text(i -> 'offered_slots') WITH ORDINALITY AS x(t, n))
            || '. Reply 1, 2 or 3 (or the day and time).');
    END IF;
    UPDATE nmc.conversations SET intake = i WHERE id = conv.id RETURNING * INTO conv;
    -- What it learned lands on the customer and the lead too.
    PERFORM nmc.lead_capture(conv, '{}');
END
$$;
COMMENT ON FUNCTION nmc.intake_turn(uuid) IS 'One turn of the built-in intake engine for a conversation in AI mode: take in the customer''s latest answer, then ask for what is missing or offer slots; book and confirm from the row; hand off to a human after two replies it could not understand.';

-- ==== ../sql/ai_engine.sql
-- ai_engine.sql — the assistant's turn with an OpenAI-compatible model. A turn
-- is a row (nmc.ai_turns); each model call is an openai.chat job, each tool that
-- needs HTTP (geocoding) a maps.geocode job, linked by parent_id and applied in
-- their own transactions; the turn's step limit counts model calls across them.
-- The model never sends anything itself: replies go through nmc.ai_send_reply
-- (silent after a takeover), bookings are confirmed from the appointment row,
-- and a provider failure hands the conversation to a person, never to silence.
-- Without an OpenAI key, nmc.ai_respond runs the intake engine instead.
CREATE TABLE nmc.ai_turns (
    id              uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
    business_id     uuid NOT NULL REFERENCES nmc.businesses (id) ON DELETE CASCADE,
    conversation_id uuid NOT NULL,
    status          text NOT NULL DEFAULT 'running'
                    CHECK (status IN ('running', 'replied', 'booked', 'handed_off', 'failed', 'dropped')),
    steps           int NOT NULL DEFAULT 0,
    transcript      jsonb NOT NULL DEFAULT '[]',
    pending_tools   int NOT NULL DEFAULT 0,
    rerun           boolean NOT NULL DEFAULT false,
    outcome         text,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    UNIQUE (business_id, id),
    FOREIGN KEY (business_id, conversation_id) REFERENCES nmc.conversations (business_id, id) ON DELETE CASCADE
);
COMMENT ON TABLE nmc.ai_turns IS 'One assistant turn (OpenAI engine): status running → replied | booked | handed_off | failed | dropped (a human took over); steps = model calls so far; transcript = the tool calls and results of this turn; pending_tools = tool calls waiting on HTTP; rerun = the customer wrote again meanwhile.';
CREATE UNIQUE INDEX ai_turns_one_running ON nmc.ai_turns (conversation_id) WHERE status = 'running';
CREATE TRIGGER ai_turns_touch BEFORE UPDATE ON nmc.ai_turns FOR EACH ROW EXECUTE FUNCTION nmc.touch_updated_at();
ALTER TABLE nmc.ai_turns ENABLE ROW LEVEL SECURITY;
ALTER TABLE nmc.ai_turns FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON nmc.ai_turns
    USING (business_id = nmc.current_business_id())
    WITH CHECK (business_id = nmc.current_business_id());

INSERT INTO nmc.settings (name, value, is_secret, description) VALUES
    ('max_ai_steps', '6', false, 'Most model calls in one assistant turn (tool calls included) before the conversation is handed to a person.'),
    ('ai_history_messages', '20', false, 'How many of the conversation''s latest messages the model sees.'),
    ('openai_temperature', '0.3', false, 'Sampling temperature of the assistant''s model calls; empty: not sent (reasoning models refuse one).'),
    ('ai_turn_stale_minutes', '15', false, 'A running assistant turn with no progress for this long is given up when the customer writes again.');

CREATE FUNCTION nmc.openai_configured()
RETURNS boolean
LANGUAGE plpgsql STABLE
AS $$ BEGIN RETURN coalesce(nmc.setting('openai_api_key'), '') <> ''; END $$;
COMMENT ON FUNCTION nmc.openai_configured() IS 'True when an OpenAI key is set: assistant turns then go to the model; otherwise the built-in intake engine answers.';

CREATE FUNCTION nmc.maps_configured()
RETURNS boolean
LANGUAGE plpgsql STABLE
AS $$ BEGIN RETURN coalesce(nmc.setting('maps_api_key'), '') <> ''; END $$;
COMMENT ON FUNCTION nmc.maps_configured() IS 'True when a Google Maps key is set: addresses are geocoded for the service-area check.';

CREATE FUNCTION nmc.ai_respond(p_conversation_id uuid)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    IF nmc.openai_configured() THEN
        PERFORM nmc.ai_turn_start(p_conversation_id);
    ELSE
        PERFORM nmc.intake_turn(p_conversation_id);
    END IF;
END
$$;
COMMENT ON FUNCTION nmc.ai_respond(uuid) IS 'The assistant answers a conversation in AI mode: an OpenAI turn when a key is configured, else the built-in intake engine.';

-- What is known about the customer and the job, merged into the conversation's
-- intake, the customer (name) and the active lead (address, problem, urgency).
-- The area decides the lead's progress: out of area marks it so; in the area (or
-- no area set) with name, address and problem known, it is qualified.
CREATE FUNCTION nmc.lead_capture(conv nmc.conversations, details jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    i jsonb := conv.intake || jsonb_strip_nulls(details);
    l nmc.leads := nmc.active_lead(conv.business_id, conv.customer_id);
    b nmc.businesses;
    in_area boolean := (i ->> 'in_area')::boolean;
BEGIN
    IF i IS DISTINCT FROM conv.intake THEN
        UPDATE nmc.conversations SET intake = i WHERE id = conv.id;
    END IF;
    IF i ->> 'name' IS NOT NULL THEN
        UPDATE nmc.customers SET name = left(i ->> 'name', 200)
         WHERE id = conv.customer_id AND name IS DISTINCT FROM left(i ->> 'name', 200);
    END IF;
    IF l.id IS NULL THEN
        RETURN i;
    END IF;
    IF (l.service_address, l.problem, l.urgency) IS DISTINCT FROM
       (coalesce(left(i ->> 'address', 300), l.service_address), coalesce(left(i ->> 'problem', 1000), l.problem), coalesce(i ->> 'urgency', l.urgency)) THEN
        UPDATE nmc.leads SET service_address = coalesce(left(i ->> 'address', 300), service_address),
                             problem = coalesce(left(i ->> 'problem', 1000), problem),
                             urgency = coalesce(i ->> 'urgency', urgency)
         WHERE id = l.id RETURNING * INTO l;
        PERFORM nmc.emit_event(l.business_id, 'lead.updated', nmc.lead_json(l));
    END IF;
    IF in_area IS FALSE THEN
        PERFORM nmc.lead_transition(l.id, 'out_of_area');
    ELSIF i ? 'name' AND i ? 'address' AND i ? 'problem' AND l.status IN ('new', 'contacted') THEN
        SELECT * INTO b FROM nmc.businesses WHERE id = conv.business_id;
        IF in_area OR (b.service_postal_codes IS NULL AND b.service_radius_km IS NULL) THEN
            PERFORM nmc.lead_transition(l.id, 'qualified');
        END IF;
    END IF;
    RETURN i;
END
$$;
COMMENT ON FUNCTION nmc.lead_capture(nmc.conversations, jsonb) IS 'Merges captured details (name, address, zip, problem, urgency, in_area) into the conversation''s intake, the customer''s name and the active lead; in_area false marks the lead out_of_area, and a complete lead in the area (or with no area set) is qualified. Returns the merged intake.';

CREATE FUNCTION nmc.ai_system_prompt(b nmc.businesses, conv nmc.conversations)
RETURNS text
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    hours text;
    area text;
    known text;
    i jsonb := conv.intake;
BEGIN
    SELECT string_agg(format('%s %s-%s', (ARRAY['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'])[h.weekday + 1],
                             nmc.format_time_of_day(h.opens_at),
                             CASE WHEN h.closes_at = '24:00' THEN 'midnight' ELSE nmc.format_time_of_day(h.closes_at) END),
                      ', ' ORDER BY h.weekday, h.opens_at)
      INTO hours FROM nmc.business_hours h WHERE h.business_id = b.id;
    area := concat_ws(' or ',
        CASE WHEN b.service_postal_codes IS NOT NULL THEN 'ZIP codes ' || array_to_string(b.service_postal_codes, ', ') END,
        CASE WHEN b.service_radius_km IS NOT NULL THEN format('within %s km of %s', b.service_radius_km,
                                                             coalesce(nullif(concat_ws(', ', b.address_line1, b.city), ''), 'the business')) END);
    known := concat_ws('; ',
        'name: ' || coalesce(i ->> 'name', 'unknown'),
        'service address: ' || coalesce(i ->> 'address', 'unknown'),
        'problem: ' || coalesce(i ->> 'problem', 'unknown'),
        CASE WHEN i ? 'in_area' THEN 'address in service area: ' || (i ->> 'in_area') END);
    RETURN format($p$You are the text-message assistant of %s, a %s business%s. It is now %s (time zone %s).
A customer called, nobody could answer, and you are texting with them. Your goal: learn their name, the service address and the problem, check the address is in the service area with check_service_area, then offer open times from find_open_slots and book the one they choose with book_appointment.
Business hours: %s. Service area: %s.
Known so far: %s.
Rules:
- Write SMS: short, friendly, plain text, at most %s characters, no links, no markdown, one question at a time.
- Save what the customer tells you with save_customer_details as soon as you learn it.
- Only offer times that find_open_slots returned. Never say an appointment is booked: book_appointment does it, and the system texts the confirmation itself.
- Never invent prices, arrival times or promises. You are an automated assistant: never claim to be a person.
- If the customer asks for a person, is upset, reports danger (gas, fire, smoke, flooding, sparks, carbon monoxide), or you cannot help, call request_human.
- If check_service_area says the address is outside the area, say politely that the business does not serve it.$p$,
        b.name, replace(b.trade_type, '_', ' '),
        CASE WHEN b.city IS NOT NULL THEN ' in ' || b.city ELSE '' END,
        to_char(now() AT TIME ZONE b.timezone, 'FMDay, Mon FMDD YYYY, FMHH12:MI AM'), b.timezone,
        coalesce(hours, 'not set'), coalesce(area, 'anywhere'), known, b.max_ai_segments * 150);
END
$$;
COMMENT ON FUNCTION nmc.ai_system_prompt(nmc.businesses, nmc.conversations) IS 'The model''s instructions for one business and conversation: profile, trade, local time, hours, service area, what is known about the customer, and the rules of the job.';

CREATE FUNCTION nmc.ai_tools()
RETURNS jsonb
LANGUAGE sql IMMUTABLE
AS $$ SELECT $tools$[
  {"type": "function", "function": {"name": "save_customer_details", "strict": true,
    "description": "Save what the customer told you. Pass null for anything not learned yet.",
    "parameters": {"type": "object", "additionalProperties": false,
      "required": ["name", "service_address", "problem", "urgency"],
      "properties": {
        "name": {"type": ["string", "null"], "description": "The customer's name"},
        "service_address": {"type": ["string", "null"], "description": "Street address of the job, with house number, city and ZIP if given"},
        "problem": {"type": ["string", "null"], "description": "What needs doing, in a sentence"},
        "urgency": {"type": ["string", "null"], "enum": ["normal", "urgent", "emergency", null]}}}}},
  {"type": "function", "function": {"name": "check_service_area", "strict": true,
    "description": "Check whether an address is inside the business's service area.",
    "parameters": {"type": "object", "additionalProperties": false, "required": ["address"],
      "properties": {"address": {"type": "string", "description": "The full service address"}}}}},
  {"type": "function", "function": {"name": "find_open_slots", "strict": true,
    "description": "Open appointment times inside business hours, soonest first.",
    "parameters": {"type": "object", "additionalProperties": false, "required": ["on_or_after", "count"],
      "properties": {
        "on_or_after": {"type": ["string", "null"], "description": "A date YYYY-MM-DD in the business's time zone, or null for the soonest"},
        "count": {"type": ["integer", "null"], "description": "How many times to return (1-5, default 3)"}}}}},
  {"type": "function", "function": {"name": "book_appointment", "strict": true,
    "description": "Book one of the times find_open_slots returned, once the customer has chosen it.",
    "parameters": {"type": "object", "additionalProperties": false, "required": ["starts_at"],
      "properties": {"starts_at": {"type": "string", "description": "The chosen slot's starts_at exactly as find_open_slots returned it"}}}}},
  {"type": "function", "function": {"name": "request_human", "strict": true,
    "description": "Hand the conversation to a person at the business.",
    "parameters": {"type": "object", "additionalProperties": false, "required": ["reason"],
      "properties": {"reason": {"type": "string", "description": "Why a person is needed"}}}}}
]$tools$::jsonb $$;
COMMENT ON FUNCTION nmc.ai_tools() IS 'The tools offered to the model, with strict JSON schemas: save_customer_details, check_service_area, find_open_slots, book_appointment, request_human.';

-- The request of the turn's next model call: instructions, the conversation so
-- far (bounded), then this turn's tool calls and results.
CREATE FUNCTION nmc.ai_request(t nmc.ai_turns)
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    conv nmc.conversations;
    b nmc.businesses;
    history jsonb;
BEGIN
    SELECT * INTO conv FROM nmc.conversations WHERE id = t.conversation_id;
    SELECT * INTO b FROM nmc.businesses WHERE id = t.business_id;
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'role', CASE WHEN m.direction = 'inbound' THEN 'user' ELSE 'assistant' END,
               'content', CASE WHEN m.author = 'owner' THEN '(' || b.name || ' staff) ' ELSE '' END || left(m.body, 1000))
             ORDER BY m.created_at, m.id), '[]')
      INTO history
      FROM (SELECT * FROM nmc.messages
             WHERE conversation_id = conv.id AND status <> 'dropped'
             ORDER BY created_at DESC, id DESC LIMIT nmc.setting_int('ai_history_messages')) m;
    RETURN jsonb_build_object(
        'messages', jsonb_build_array(jsonb_build_object('role', 'system', 'content', nmc.ai_system_prompt(b, conv)))
                    || history || t.transcript,
        'tools', nmc.ai_tools(),
        'tool_choice', 'auto',
        'max_completion_tokens', 400)
        -- Reasoning models refuse a temperature: an empty setting leaves it out.
        || CASE WHEN nmc.setting('openai_temperature') ~ '^[0-9]+(\.[0-9]+)?$'
                THEN jsonb_build_object('temperature', nmc.setting('openai_temperature')::numeric) ELSE '{}' END;
END
$$;
COMMENT ON FUNCTION nmc.ai_request(nmc.ai_turns) IS 'The chat completion request for a turn''s next step: system prompt, the latest messages (ai_history_messages; dropped ones left out), this turn''s tool calls and results, the tools, max_completion_tokens and (if set) openai_temperature.';

CREATE FUNCTION nmc.ai_turn_step(t nmc.ai_turns, p_parent_job_id bigint)
RETURNS nmc.ai_turns
LANGUAGE plpgsql
AS $$
BEGIN
    IF t.steps >= nmc.setting_int('max_ai_steps') THEN
        RETURN nmc.ai_turn_hand_off(t, 'the assistant reached its step limit', 'failed');
    END IF;
    UPDATE nmc.ai_turns SET steps = steps + 1 WHERE id = t.id RETURNING * INTO t;
    PERFORM nmc.job_enqueue('openai.chat', t.business_id,
                            jsonb_build_object('turn_id', t.id, 'conversation_id', t.conversation_id, 'step', t.steps,
                                               'request', nmc.ai_request(t)),
                            NULL, p_parent_job_id);
    RETURN t;
END
$$;
COMMENT ON FUNCTION nmc.ai_turn_step(nmc.ai_turns, bigint) IS 'Queues the turn''s next model call (an openai.chat job, child of the job that led to it), or hands off to a person once max_ai_steps calls were made.';

CREATE FUNCTION nmc.ai_turn_start(p_conversation_id uuid)
RETURNS nmc.ai_turns
LANGUAGE plpgsql
AS $$
DECLARE
    conv nmc.conversations := nmc.conversation_for_update(p_conversation_id, false);
    t nmc.ai_turns;
BEGIN
    IF conv.mode <> 'ai' OR conv.state <> 'open' THEN
        RETURN NULL;
    END IF;
    -- A turn that made no progress for ai_turn_stale_minutes (its job cancelled by hand,
    -- say) must not hold the conversation forever.
    UPDATE nmc.ai_turns SET status = 'failed', outcome = 'no progress for ' || nmc.setting('ai_turn_stale_minutes') || ' minutes',
                            finished_at = now()
     WHERE conversation_id = conv.id AND status = 'running'
       AND updated_at < now() - make_interval(mins => nmc.setting_int('ai_turn_stale_minutes')::int);
    -- One turn at a time: a running turn answers again once it is done.
    UPDATE nmc.ai_turns SET rerun = true WHERE conversation_id = conv.id AND status = 'running' RETURNING * INTO t;
    IF FOUND THEN
        RETURN t;
    END IF;
    INSERT INTO nmc.ai_turns (business_id, conversation_id) VALUES (conv.business_id, conv.id) RETURNING * INTO t;
    RETURN nmc.ai_turn_step(t, NULL);
END
$$;
COMMENT ON FUNCTION nmc.ai_turn_start(uuid) IS 'Starts an assistant turn for a conversation in AI mode (its first model call); if one is running, marks it to answer again when done (unless it is stale: ai_turn_stale_minutes without progress).';

CREATE FUNCTION nmc.ai_turn_finish(t nmc.ai_turns, p_status text, p_outcome text)
RETURNS nmc.ai_turns
LANGUAGE plpgsql
AS $$
BEGIN
    UPDATE nmc.ai_turns SET status = p_status, outcome = left(p_outcome, 500), finished_at = now()
     WHERE id = t.id RETURNING * INTO t;
    -- The customer wrote while the turn ran: answer that too.
    IF t.rerun AND p_status = 'replied' THEN
        PERFORM nmc.ai_turn_start(t.conversation_id);
    END IF;
    RETURN t;
END
$$;
COMMENT ON FUNCTION nmc.ai_turn_finish(nmc.ai_turns, text, text) IS 'Ends a turn with its status and outcome; a turn that replied while the customer wrote again starts the next one.';

CREATE FUNCTION nmc.ai_turn_hand_off(t nmc.ai_turns, reason text, p_status text DEFAULT 'handed_off')
RETURNS nmc.ai_turns
LANGUAGE plpgsql
AS $$
DECLARE
    conv nmc.conversations := nmc.conversation_for_update(t.conversation_id, false);
    b nmc.businesses;
BEGIN
    SELECT * INTO b FROM nmc.businesses WHERE id = t.business_id;
    IF conv.mode = 'ai' AND conv.state = 'open' THEN
        -- The customer is told, never left waiting in silence; then a person has it.
        BEGIN
            PERFORM nmc.intake_reply(conv, format('Thanks for your patience. Someone from %s will text you shortly.', b.name));
        EXCEPTION WHEN SQLSTATE 'NM409' THEN
            NULL;  -- opted out or unreachable: nothing may be sent
        END;
        PERFORM nmc.emit_event(b.id, 'conversation.handoff', jsonb_build_object('id', conv.id, 'reason', reason));
        PERFORM nmc.conversation_set_mode(conv, 'human');
    END IF;
    RETURN nmc.ai_turn_finish(t, p_status, reason);
END
$$;
COMMENT ON FUNCTION nmc.ai_turn_hand_off(nmc.ai_turns, text, text) IS 'Ends a turn by handing the conversation to a person: the customer is told someone will text shortly, the owner gets conversation.handoff, the mode becomes human.';

-- Service area of an address already geocoded (or not): postal codes, then radius.
CREATE FUNCTION nmc.service_area_verdict(b nmc.businesses, postal_code text, lat double precision, lng double precision)
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    km double precision;
BEGIN
    IF b.service_postal_codes IS NULL AND b.service_radius_km IS NULL THEN
        RETURN '{"in_area": true, "note": "the business has no service area limit"}';
    END IF;
    IF b.service_postal_codes IS NOT NULL AND postal_code IS NOT NULL AND upper(postal_code) = ANY (b.service_postal_codes) THEN
        RETURN jsonb_build_object('in_area', true, 'postal_code', postal_code);
    END IF;
    IF b.service_radius_km IS NOT NULL AND b.service_lat IS NOT NULL AND lat IS NOT NULL THEN
        -- Great-circle distance (haversine), Earth radius 6371 km.
        km := 2 * 6371 * asin(sqrt(power(sin(radians(lat - b.service_lat) / 2), 2)
                                   + cos(radians(b.service_lat)) * cos(radians(lat)) * power(sin(radians(lng - b.service_lng) / 2), 2)));
        RETURN jsonb_build_object('in_area', km <= b.service_radius_km, 'distance_km', round(km::numeric, 1),
                                  'radius_km', b.service_radius_km);
    END IF;
    IF b.service_postal_codes IS NOT NULL AND postal_code IS NULL THEN
        RETURN '{"in_area": null, "error": "no ZIP code in the address: ask the customer for it"}';
    END IF;
    IF b.service_postal_codes IS NOT NULL AND b.service_radius_km IS NULL THEN
        RETURN jsonb_build_object('in_area', false, 'postal_code', postal_code);
    END IF;
    -- A radius that cannot be measured (no geocoding, or no centre yet): accept, the owner checks.
    RETURN jsonb_build_object('in_area', CASE WHEN b.service_postal_codes IS NULL THEN true ELSE false END,
                              'note', 'the distance could not be measured; the owner will confirm');
END
$$;
COMMENT ON FUNCTION nmc.service_area_verdict(nmc.businesses, text, double precision, double precision) IS 'Whether a place is in the business''s service area: its postal code in service_postal_codes, or within service_radius_km of the business''s centre (haversine); no limit set: in. Returns {in_area, …} for the model.';

-- A tool result of the turn, and the area verdict's effects on intake and lead.
CREATE FUNCTION nmc.ai_area_result(t nmc.ai_turns, address text, verdict jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    conv nmc.conversations;
BEGIN
    SELECT * INTO conv FROM nmc.conversations WHERE id = t.conversation_id;
    IF jsonb_typeof(verdict -> 'in_area') = 'boolean' THEN
        PERFORM nmc.lead_capture(conv, jsonb_build_object('address', address, 'in_area', (verdict ->> 'in_area')::boolean,
                                                          'zip', verdict ->> 'postal_code'));
    END IF;
    RETURN verdict;
END
$$;
COMMENT ON FUNCTION nmc.ai_area_result(nmc.ai_turns, text, jsonb) IS 'Records a service-area verdict on the intake and lead through nmc.lead_capture (out of area marks the lead out_of_area). Returns the verdict for the model.';

CREATE FUNCTION nmc.ai_tool(t nmc.ai_turns, p_job_id bigint, call jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    conv nmc.conversations;
    b nmc.businesses;
    name text := call #>> '{function,name}';
    args jsonb;
    a nmc.appointments;
    from_ts timestamptz;
    n int;
    slots jsonb;
BEGIN
    SELECT * INTO conv FROM nmc.conversations WHERE id = t.conversation_id;
    SELECT * INTO b FROM nmc.businesses WHERE id = t.business_id;
    BEGIN
        args := (call #>> '{function,arguments}')::jsonb;
    EXCEPTION WHEN invalid_text_representation THEN
        RETURN '{"error": "the arguments were not valid JSON"}';
    END;
    IF jsonb_typeof(args) IS DISTINCT FROM 'object' THEN
        RETURN '{"error": "the arguments must be a JSON object"}';
    END IF;

    IF name = 'save_customer_details' THEN
        IF args ->> 'urgency' IS NOT NULL AND args ->> 'urgency' NOT IN ('normal', 'urgent', 'emergency') THEN
            RETURN '{"error": "urgency must be normal, urgent or emergency"}';
        END IF;
        PERFORM nmc.lead_capture(conv, jsonb_build_object(
            'name', nullif(btrim(left(args ->> 'name', 200)), ''), 'address', nullif(btrim(left(args ->> 'service_address', 300)), ''),
            'problem', nullif(btrim(left(args ->> 'problem', 1000)), ''), 'urgency', args ->> 'urgency'));
        SELECT * INTO conv FROM nmc.conversations WHERE id = conv.id;
        RETURN jsonb_build_object('saved', true, 'still_missing',
            to_jsonb(ARRAY(SELECT k FROM unnest(ARRAY['name', 'address', 'problem']) k WHERE NOT conv.intake ? k)));

    ELSIF name = 'check_service_area' THEN
        IF coalesce(btrim(args ->> 'address'), '') = '' THEN
            RETURN '{"error": "address is required"}';
        END IF;
        IF (b.service_radius_km IS NOT NULL OR b.service_postal_codes IS NOT NULL) AND nmc.maps_configured() THEN
            -- Geocoding is HTTP: the tool's result arrives with the maps.geocode job.
            PERFORM nmc.job_enqueue('maps.geocode', b.id,
                jsonb_build_object('purpose', 'service_area', 'turn_id', t.id, 'tool_call_id', call ->> 'id',
                                   'address', left(args ->> 'address', 300), 'country', b.country),
                NULL, p_job_id);
            RETURN NULL;
        END IF;
        RETURN nmc.ai_area_result(t, left(args ->> 'address', 300),
            nmc.service_area_verdict(b, substring(args ->> 'address' FROM '\m([0-9]{5})(-[0-9]{4})?\M'), NULL, NULL));

    ELSIF name = 'find_open_slots' THEN
        n := least(greatest(coalesce((args ->> 'count')::int, 3), 1), 5);
        from_ts := now() + interval '1 hour';
        IF args ->> 'on_or_after' ~ '^\d{4}-\d{2}-\d{2}$' THEN
            from_ts := greatest(from_ts, ((args ->> 'on_or_after')::date::timestamp AT TIME ZONE b.timezone));
        END IF;
        SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'starts_at', to_char(s.starts_at AT TIME ZONE b.timezone, 'YYYY-MM-DD"T"HH24:MI'),
                   'label', to_char(s.starts_at AT TIME ZONE b.timezone, 'Dy Mon FMDD') || ' at '
                            || nmc.format_time_of_day((s.starts_at AT TIME ZONE b.timezone)::time)) ORDER BY s.starts_at), '[]')
          INTO slots FROM nmc.open_slots(b.id, from_ts, n) s;
        RETURN jsonb_build_object('time_zone', b.timezone, 'slots', slots,
                                  'note', CASE WHEN slots = '[]' THEN 'no open times in the next two weeks: call request_human' END);

    ELSIF name = 'book_appointment' THEN
        IF NOT (conv.intake ? 'name' AND conv.intake ? 'address' AND conv.intake ? 'problem') THEN
            RETURN '{"booked": false, "error": "save the customer''s name, service address and problem with save_customer_details first"}';
        END IF;
        IF (conv.intake ->> 'in_area')::boolean IS FALSE THEN
            RETURN '{"booked": false, "error": "the address is outside the service area"}';
        END IF;
        BEGIN
            from_ts := ((args ->> 'starts_at')::timestamp AT TIME ZONE b.timezone);
        EXCEPTION WHEN OTHERS THEN
            RETURN '{"booked": false, "error": "starts_at must be a time find_open_slots returned, like 2026-12-01T09:00"}';
        END;
        BEGIN
            a := nmc.appointment_book(b.id, conv.customer_id, from_ts, 'ai', conv.intake ->> 'address', conv.intake ->> 'problem');
        EXCEPTION WHEN SQLSTATE 'NM409' OR SQLSTATE 'NM400' THEN
            RETURN jsonb_build_object('booked', false, 'error', 'that time is not available; call find_open_slots again');
        END;
        -- The confirmation comes from the row, never from the model.
        PERFORM nmc.intake_reply(conv, nmc.appointment_confirmation(a.id));
        PERFORM nmc.conversation_close(conv, jsonb_build_object('appointment_id', a.id));
        PERFORM nmc.ai_turn_finish(t, 'booked', 'appointment ' || a.id);
        RETURN jsonb_build_object('booked', true, 'appointment_id', a.id);

    ELSIF name = 'request_human' THEN
        PERFORM nmc.ai_turn_hand_off(t, 'the assistant asked for a person: ' || coalesce(left(args ->> 'reason', 300), 'no reason given'));
        RETURN '{"handed_off": true}';
    END IF;
    RETURN jsonb_build_object('error', format('there is no tool named %s', coalesce(name, '(none)')));
END
$$;
COMMENT ON FUNCTION nmc.ai_tool(nmc.ai_turns, bigint, jsonb) IS 'Runs one tool call of the model and returns its result (JSON for the model), or NULL when the result comes later from an HTTP job (check_service_area with geocoding). book_appointment confirms from the row and closes the conversation; request_human hands off.';

-- A tool result joins the transcript; when none is pending, the turn goes on.
CREATE FUNCTION nmc.ai_tool_result(p_turn_id uuid, p_job_id bigint, tool_call_id text, result jsonb)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    t nmc.ai_turns;
BEGIN
    UPDATE nmc.ai_turns SET transcript = transcript || jsonb_build_array(jsonb_build_object(
               'role', 'tool', 'tool_call_id', tool_call_id, 'content', result::text)),
           pending_tools = greatest(pending_tools - 1, 0)
     WHERE id = p_turn_id AND status = 'running'
    RETURNING * INTO t;
    IF FOUND AND t.pending_tools = 0 THEN
        PERFORM nmc.ai_turn_step(t, p_job_id);
    END IF;
END
$$;
COMMENT ON FUNCTION nmc.ai_tool_result(uuid, bigint, text, jsonb) IS 'Adds a late tool result (from an HTTP job) to a running turn; the last one pending queues the next model call.';

-- openai.chat applied: the model answered one step of a turn.
CREATE FUNCTION nmc.ai_turn_apply(j nmc.jobs, message jsonb)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    t nmc.ai_turns;
    conv nmc.conversations;
    call jsonb;
    result jsonb;
    results jsonb := '[]';
    pending int := 0;
    content text := nullif(btrim(message ->> 'content'), '');
BEGIN
    SELECT * INTO t FROM nmc.ai_turns WHERE id = (j.payload ->> 'turn_id')::uuid FOR UPDATE;
    IF NOT FOUND OR t.status <> 'running' THEN
        RETURN;
    END IF;
    conv := nmc.conversation_for_update(t.conversation_id, false);
    IF conv.mode <> 'ai' OR conv.state <> 'open' THEN
        -- A person took over (or the thread closed) while the model thought:
        -- whatever it said is kept for the audit, never sent.
        IF content IS NOT NULL THEN
            PERFORM nmc.ai_send_reply(conv.id, content);
        END IF;
        PERFORM nmc.ai_turn_finish(t, 'dropped', format('the conversation was in %s mode', conv.mode));
        RETURN;
    END IF;

    IF jsonb_typeof(message -> 'tool_calls') = 'array' AND jsonb_array_length(message -> 'tool_calls') > 0 THEN
        UPDATE nmc.ai_turns SET transcript = transcript || jsonb_build_array(jsonb_strip_nulls(jsonb_build_object(
                   'role', 'assistant', 'content', message -> 'content', 'tool_calls', message -> 'tool_calls')))
         WHERE id = t.id RETURNING * INTO t;
        FOR call IN SELECT c FROM jsonb_array_elements(message -> 'tool_calls') c LOOP
            result := nmc.ai_tool(t, j.id, call);
            SELECT * INTO t FROM nmc.ai_turns WHERE id = t.id;
            IF t.status <> 'running' THEN
                RETURN;  -- booked or handed off: the turn is over
            END IF;
            IF result IS NULL THEN
                pending := pending + 1;
            ELSE
                results := results || jsonb_build_array(jsonb_build_object(
                    'role', 'tool', 'tool_call_id', call ->> 'id', 'content', result::text));
            END IF;
        END LOOP;
        UPDATE nmc.ai_turns SET transcript = transcript || results, pending_tools = pending WHERE id = t.id RETURNING * INTO t;
        IF pending = 0 THEN
            PERFORM nmc.ai_turn_step(t, j.id);
        END IF;
        RETURN;
    END IF;

    IF content IS NULL THEN
        PERFORM nmc.ai_turn_hand_off(t, coalesce('the model refused: ' || (message ->> 'refusal'), 'the model gave no answer'), 'failed');
        RETURN;
    END IF;
    PERFORM nmc.intake_reply(conv, content);
    PERFORM nmc.ai_turn_finish(t, 'replied', NULL);
END
$$;
COMMENT ON FUNCTION nmc.ai_turn_apply(nmc.jobs, jsonb) IS 'Applies one model answer to its turn: tool calls run (their results go back to the model in the next step), text is sent through nmc.ai_send_reply (dropped after a takeover), nothing usable hands off to a person.';

-- maps.geocode applied or failed for a turn's check_service_area.
CREATE FUNCTION nmc.ai_geocode_apply(j nmc.jobs, geo jsonb)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    t nmc.ai_turns;
    b nmc.businesses;
    verdict jsonb;
BEGIN
    SELECT * INTO t FROM nmc.ai_turns WHERE id = (j.payload ->> 'turn_id')::uuid FOR UPDATE;
    IF NOT FOUND OR t.status <> 'running' THEN
        RETURN;
    END IF;
    SELECT * INTO b FROM nmc.businesses WHERE id = t.business_id;
    IF geo IS NULL THEN
        verdict := '{"in_area": null, "error": "the address could not be checked right now; ask the customer to confirm the street, city and ZIP code, or call request_human"}';
    ELSIF NOT (geo ->> 'found')::boolean THEN
        verdict := '{"in_area": null, "error": "no such address was found; ask the customer to check it"}';
    ELSE
        verdict := nmc.ai_area_result(t, coalesce(geo ->> 'formatted_address', j.payload ->> 'address'),
                       nmc.service_area_verdict(b, geo ->> 'postal_code', (geo ->> 'lat')::double precision, (geo ->> 'lng')::double precision)
                       || jsonb_build_object('formatted_address', geo ->> 'formatted_address'));
    END IF;
    PERFORM nmc.ai_tool_result(t.id, j.id, j.payload ->> 'tool_call_id', verdict);
END
$$;
COMMENT ON FUNCTION nmc.ai_geocode_apply(nmc.jobs, jsonb) IS 'The geocoding result of a turn''s check_service_area (NULL: geocoding failed): the area verdict becomes the tool result and the turn goes on.';

-- openai.chat failed for good (timeouts, 429, 5xx after retries, or a 4xx).
CREATE FUNCTION nmc.ai_turn_failed(j nmc.jobs, message text)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    t nmc.ai_turns;
BEGIN
    SELECT * INTO t FROM nmc.ai_turns WHERE id = (j.payload ->> 'turn_id')::uuid FOR UPDATE;
    IF FOUND AND t.status = 'running' THEN
        PERFORM nmc.ai_turn_hand_off(t, 'the AI provider failed: ' || coalesce(left(message, 300), 'unknown error'), 'failed');
    END IF;
END
$$;
COMMENT ON FUNCTION nmc.ai_turn_failed(nmc.jobs, text) IS 'A turn''s model call failed for good: the conversation is handed to a person (customer told, owner alerted by conversation.handoff).';

-- maps.geocode for the business itself: the centre of its service radius.
CREATE FUNCTION nmc.business_center_apply(j nmc.jobs, geo jsonb)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    IF (geo ->> 'found')::boolean THEN
        UPDATE nmc.businesses SET service_lat = (geo ->> 'lat')::double precision, service_lng = (geo ->> 'lng')::double precision
         WHERE id = j.business_id;
    END IF;
END
$$;
COMMENT ON FUNCTION nmc.business_center_apply(nmc.jobs, jsonb) IS 'Sets the centre of the business''s service radius from the geocoded business address.';

-- ==== ../sql/feed.sql
-- feed.sql — reading the event feed: after an event number over HTTP, and the
-- two functions the edge's WebSocket relay calls: ws_hello (a client's first
-- message: token and the last event it saw) and ws_events (events of a
-- business after a number, as ready-to-send frames).
CREATE FUNCTION nmc.event_frame(e nmc.events)
RETURNS text
LANGUAGE sql STABLE
AS $$ SELECT jsonb_build_object('id', e.seq, 'type', e.type, 'created_at', e.created_at, 'data', e.body)::text $$;
COMMENT ON FUNCTION nmc.event_frame(nmc.events) IS 'An event as the dashboard receives it: {id, type, created_at, data}.';

CREATE FUNCTION nmc.api_events_list(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    after_seq bigint := 0;
    max_events int := 100;
BEGIN
    IF req #>> '{query,after}' IS NOT NULL THEN
        IF req #>> '{query,after}' !~ '^[0-9]{1,18}$' THEN
            PERFORM nmc.raise_api_error(400, 'invalid_field', 'after must be an event id', 'after');
        END IF;
        after_seq := (req #>> '{query,after}')::bigint;
    END IF;
    IF req #>> '{query,limit}' IS NOT NULL THEN
        IF req #>> '{query,limit}' !~ '^[0-9]{1,4}$' OR (req #>> '{query,limit}')::int NOT BETWEEN 1 AND 1000 THEN
            PERFORM nmc.raise_api_error(400, 'invalid_field', 'limit must be 1 to 1000', 'limit');
        END IF;
        max_events := (req #>> '{query,limit}')::int;
    END IF;
    RETURN nmc.respond(200, jsonb_build_object(
        'events', coalesce((SELECT jsonb_agg(nmc.event_frame(e)::jsonb ORDER BY e.seq)
                              FROM (SELECT * FROM nmc.events WHERE business_id = nmc.current_business_id() AND seq > after_seq
                                     ORDER BY seq LIMIT max_events) e), '[]'),
        'last_event_id', coalesce((SELECT last_seq FROM nmc.event_counters WHERE business_id = nmc.current_business_id()), 0)));
END
$$;
COMMENT ON FUNCTION nmc.api_events_list(jsonb) IS 'GET /api/events?after=N&limit=M: the business''s events after number N, in order, and the latest number.';

CREATE FUNCTION nmc.api_realtime(req jsonb)
RETURNS nmc.http_response
LANGUAGE sql STABLE
AS $$
    SELECT nmc.respond(200, jsonb_build_object('ws_url', nmc.setting('public_ws_url'),
        'protocol', 'Send {"token": "<JWT>", "last_event_id": <last id seen, or null>} as the first message; then receive events as {id, type, created_at, data}.'))
$$;
COMMENT ON FUNCTION nmc.api_realtime(jsonb) IS 'GET /api/realtime: where the live feed''s WebSocket is and how to speak to it.';

INSERT INTO nmc.api_routes (route_method, route_path, handler, auth, summary) VALUES
    ('GET', '/api/events', 'api_events_list', 'jwt', 'Events after a given id (resume)'),
    ('GET', '/api/realtime', 'api_realtime', 'jwt', 'The live feed''s WebSocket URL and protocol');

CREATE FUNCTION nmc_api.ws_hello(hello text, OUT business_id uuid, OUT resume_after bigint, OUT error_code text, OUT error_message text)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = nmc, public, pg_temp
AS $$
DECLARE
    msg jsonb;
    u nmc.users;
    newest bigint;
    oldest bigint;
    asked bigint;
BEGIN
    BEGIN
        msg := hello::jsonb;
    EXCEPTION WHEN OTHERS THEN
        msg := NULL;
    END;
    IF jsonb_typeof(msg) IS DISTINCT FROM 'object' OR jsonb_typeof(msg -> 'token') IS DISTINCT FROM 'string' THEN
        error_code := 'bad_hello';
        error_message := 'the first message must be {"token": "<JWT>", "last_event_id": <number or null>}';
        RETURN;
    END IF;
    BEGIN
        u := nmc.authenticate(jsonb_build_object('authorization', 'Bearer ' || (msg ->> 'token')));
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS error_code = PG_EXCEPTION_DETAIL, error_message = MESSAGE_TEXT;
        IF SQLSTATE !~ '^NM' THEN
            RAISE;
        END IF;
        RETURN;
    END;
    business_id := u.business_id;
    newest := coalesce((SELECT c.last_seq FROM nmc.event_counters c WHERE c.business_id = u.business_id), 0);
    IF msg -> 'last_event_id' IS NULL OR jsonb_typeof(msg -> 'last_event_id') = 'null' THEN
        resume_after := newest;
        RETURN;
    END IF;
    IF jsonb_typeof(msg -> 'last_event_id') <> 'number' OR (msg ->> 'last_event_id') !~ '^[0-9]{1,18}$' THEN
        error_code := 'bad_hello';
        error_message := 'last_event_id must be a whole number or null';
        business_id := NULL;
        RETURN;
    END IF;
    asked := (msg ->> 'last_event_id')::bigint;
    oldest := (SELECT min(e.seq) FROM nmc.events e WHERE e.business_id = u.business_id);
    IF asked > newest OR (oldest IS NOT NULL AND asked < oldest - 1) OR (oldest IS NULL AND asked < newest) THEN
        -- Events the client missed are gone (retention), or it saw ids we never gave: start over.
        error_code := 'resync';
        error_message := 'the events after this id are no longer available; reload and reconnect';
        business_id := NULL;
        RETURN;
    END IF;
    resume_after := asked;
END
$$;
COMMENT ON FUNCTION nmc_api.ws_hello(text) IS
    'WebSocket relay: checks a client''s first message {"token", "last_event_id"}. Returns its business and the id to replay after (the latest, if none was given), or error_code (a JWT refusal code, bad_hello, or resync when the events it missed were deleted).';

CREATE FUNCTION nmc_api.ws_events(p_business_id uuid, after_seq bigint, max_events int)
RETURNS TABLE (seq bigint, frame text)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = nmc, public, pg_temp
AS $$
BEGIN
    -- The relay is trusted to send these only to sockets that authenticated
    -- as this business (ws_hello); the feed's tenancy is enforced there.
    PERFORM set_config('nmc.business_id', p_business_id::text, true);
    RETURN QUERY SELECT e.seq, nmc.event_frame(e) FROM nmc.events e
                  WHERE e.business_id = p_business_id AND e.seq > after_seq
                  ORDER BY e.seq LIMIT least(greatest(max_events, 1), 10000);
END
$$;
COMMENT ON FUNCTION nmc_api.ws_events(uuid, bigint, int) IS 'WebSocket relay: up to max_events events of a business after an id, in order, as frames ready to send.';

CREATE FUNCTION nmc_api.ws_events_many(p_business_ids uuid[], after_seqs bigint[], max_events int)
RETURNS TABLE (business_id uuid, seq bigint, frame text)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = nmc, public, pg_temp
AS $$
DECLARE
    i int;
BEGIN
    -- nmc_api.ws_events for several businesses in one round trip (the relay
    -- reads every business notified since its last look at once), each under
    -- its own tenant setting; rows come business by business, in array order.
    FOR i IN 1 .. coalesce(cardinality(p_business_ids), 0) LOOP
        PERFORM set_config('nmc.business_id', p_business_ids[i]::text, true);
        RETURN QUERY SELECT e.business_id, e.seq, nmc.event_frame(e) FROM nmc.events e
                      WHERE e.business_id = p_business_ids[i] AND e.seq > after_seqs[i]
                      ORDER BY e.seq LIMIT least(greatest(max_events, 1), 10000);
    END LOOP;
END
$$;
COMMENT ON FUNCTION nmc_api.ws_events_many(uuid[], bigint[], int) IS 'WebSocket relay: nmc_api.ws_events for several businesses at once (element k of each array is one business and the id after which to read); up to max_events per business, business by business in array order, each in seq order.';

-- ==== ../sql/api_feed_views.sql
-- api_feed_views.sql — the JSON API the dashboard lists things with:
-- conversations (keyset pagination, filters by state and mode), leads (by
-- status, with the call's text decision; change status), calls, and the
-- status page. Lists are newest first; `before` is the cursor a page returns.
CREATE FUNCTION nmc.page_args(req jsonb, OUT before_at timestamptz, OUT before_id uuid, OUT page_size int)
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    cursor_text text := req #>> '{query,before}';
BEGIN
    page_size := 50;
    IF req #>> '{query,limit}' IS NOT NULL THEN
        IF req #>> '{query,limit}' !~ '^[0-9]{1,3}$' OR (req #>> '{query,limit}')::int NOT BETWEEN 1 AND 200 THEN
            PERFORM nmc.raise_api_error(400, 'invalid_field', 'limit must be 1 to 200', 'limit');
        END IF;
        page_size := (req #>> '{query,limit}')::int;
    END IF;
    IF cursor_text IS NOT NULL THEN
        BEGIN
            before_at := split_part(convert_from(decode(cursor_text, 'base64'), 'UTF8'), '|', 1)::timestamptz;
            before_id := split_part(convert_from(decode(cursor_text, 'base64'), 'UTF8'), '|', 2)::uuid;
        EXCEPTION WHEN OTHERS THEN
            PERFORM nmc.raise_api_error(400, 'invalid_field', 'before must be a cursor returned by a previous page', 'before');
        END;
    END IF;
END
$$;
COMMENT ON FUNCTION nmc.page_args(jsonb) IS 'Keyset pagination arguments from ?limit=&before=<cursor>: the cursor encodes the (timestamp, id) of the last row of the previous page.';

CREATE FUNCTION nmc.page_cursor(at timestamptz, id uuid)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$ SELECT CASE WHEN at IS NULL THEN NULL ELSE encode(convert_to(at::text || '|' || id::text, 'UTF8'), 'base64') END $$;
COMMENT ON FUNCTION nmc.page_cursor(timestamptz, uuid) IS 'The cursor for the page after a row with this (timestamp, id).';

CREATE FUNCTION nmc.api_conversations_list(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    p record := nmc.page_args(req);
    f_state text := req #>> '{query,state}';
    f_mode text := req #>> '{query,mode}';
    rows jsonb;
    last_at timestamptz;
    last_id uuid;
    n int;
BEGIN
    IF f_state IS NOT NULL AND f_state NOT IN ('open', 'closed') THEN
        PERFORM nmc.raise_api_error(400, 'invalid_field', 'state must be open or closed', 'state');
    END IF;
    IF f_mode IS NOT NULL AND f_mode NOT IN ('waiting', 'human_window', 'ai', 'human') THEN
        PERFORM nmc.raise_api_error(400, 'invalid_field', 'mode must be waiting, human_window, ai or human', 'mode');
    END IF;
    WITH page AS (
        SELECT c.* FROM nmc.conversations c
         WHERE c.business_id = nmc.current_business_id()
           AND (f_state IS NULL OR c.state = f_state) AND (f_mode IS NULL OR c.mode = f_mode)
           AND (p.before_at IS NULL OR (coalesce(c.last_message_at, c.created_at), c.id) < (p.before_at, p.before_id))
         ORDER BY coalesce(c.last_message_at, c.created_at) DESC, c.id DESC
         LIMIT p.page_size)
    SELECT jsonb_agg(nmc.conversation_json(page::nmc.conversations)
                     || jsonb_build_object('customer', jsonb_build_object('id', cu.id, 'phone', cu.phone, 'name', cu.name),
                                           'last_message', (SELECT jsonb_build_object('body', m.body, 'author', m.author, 'created_at', m.created_at)
                                                              FROM nmc.messages m WHERE m.business_id = page.business_id AND m.conversation_id = page.id
                                                              ORDER BY m.created_at DESC LIMIT 1))
                     ORDER BY coalesce(page.last_message_at, page.created_at) DESC, page.id DESC),
           min(coalesce(page.last_message_at, page.created_at)), count(*)
      INTO rows, last_at, n
      FROM page JOIN nmc.customers cu ON cu.id = page.customer_id;
    IF n = p.page_size THEN
        SELECT x.id INTO last_id FROM jsonb_to_recordset(rows) AS x(id uuid) OFFSET n - 1 LIMIT 1;
    END IF;
    RETURN nmc.respond(200, jsonb_build_object('conversations', coalesce(rows, '[]'),
        'next', CASE WHEN n = p.page_size THEN nmc.page_cursor(last_at, last_id) END));
END
$$;
COMMENT ON FUNCTION nmc.api_conversations_list(jsonb) IS 'GET /api/conversations?state=&mode=&limit=&before=: conversations, most recent activity first, with the customer and last message; next is the cursor of the following page.';

CREATE FUNCTION nmc.api_leads_list(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    p record := nmc.page_args(req);
    f_status text := req #>> '{query,status}';
    rows jsonb;
    n int;
    last_at timestamptz;
    last_id uuid;
BEGIN
    IF f_status IS NOT NULL AND f_status NOT IN ('new', 'contacted', 'qualified', 'appointment_scheduled', 'won', 'lost', 'out_of_area') THEN
        PERFORM nmc.raise_api_error(400, 'invalid_field', 'unknown lead status', 'status');
    END IF;
    WITH page AS (
        SELECT l.* FROM nmc.leads l
         WHERE l.business_id = nmc.current_business_id() AND (f_status IS NULL OR l.status = f_status)
           AND (p.before_at IS NULL OR (l.last_activity_at, l.id) < (p.before_at, p.before_id))
         ORDER BY l.last_activity_at DESC, l.id DESC LIMIT p.page_size)
    SELECT jsonb_agg(nmc.lead_json(page::nmc.leads)
                     || jsonb_build_object('customer', jsonb_build_object('id', cu.id, 'phone', cu.phone, 'name', cu.name),
                                           'last_call', (SELECT jsonb_build_object('id', c.id, 'decision', c.decision, 'decision_reason', c.decision_reason,
                                                                                    'created_at', c.created_at)
                                                           FROM nmc.calls c WHERE c.business_id = page.business_id AND c.lead_id = page.id
                                                           ORDER BY c.created_at DESC LIMIT 1))
                     ORDER BY page.last_activity_at DESC, page.id DESC),
           count(*), min(page.last_activity_at)
      INTO rows, n, last_at
      FROM page JOIN nmc.customers cu ON cu.id = page.customer_id;
    IF n = p.page_size THEN
        SELECT x.id INTO last_id FROM jsonb_to_recordset(rows) AS x(id uuid) OFFSET n - 1 LIMIT 1;
    END IF;
    RETURN nmc.respond(200, jsonb_build_object('leads', coalesce(rows, '[]'),
        'next', CASE WHEN n = p.page_size THEN nmc.page_cursor(last_at, last_id) END));
END
$$;
COMMENT ON FUNCTION nmc.api_leads_list(jsonb) IS 'GET /api/leads?status=&limit=&before=: leads, latest activity first, with the customer and the last call''s text decision.';

CREATE FUNCTION nmc.api_lead_patch(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $$
DECLARE
    l nmc.leads;
    want text;
    reason text;
BEGIN
    PERFORM nmc.input_allowed_fields(nmc.input_object(req -> 'body'), ARRAY['status', 'reason']);
    want := nmc.input_text(req -> 'body', 'status', true, 30);
    reason := nmc.input_text(req -> 'body', 'reason', false, 500);
    SELECT * INTO l FROM nmc.leads WHERE id = nmc.input_uuid(req #>> '{params,0}', 'lead') FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM nmc.raise_api_error(404, 'not_found', 'no such lead');
    END IF;
    -- The owner may set any status, backwards too (a lead marked lost by mistake).
    IF want NOT IN ('new', 'contacted', 'qualified', 'appointment_scheduled', 'won', 'lost', 'out_of_area') THEN
        PERFORM nmc.raise_api_error(400, 'invalid_field', 'status must be new, contacted, qualified, appointment_scheduled, won, lost or out_of_area', 'status');
    END IF;
    IF want = 'lost' AND reason IS NULL THEN
        PERFORM nmc.raise_api_error(400, 'missing_field', 'say why the lead was lost (reason), e.g. "went with another company"', 'reason');
    END IF;
    -- A reason belongs to won and lost; any other status clears it.
    UPDATE nmc.leads SET status = want, last_activity_at = now(),
           status_reason = CASE WHEN want IN ('won', 'lost') THEN reason END
     WHERE id = l.id RETURNING * INTO l;
    PERFORM nmc.emit_event(l.business_id, 'lead.updated', nmc.lead_json(l));
    RETURN nmc.respond(200, jsonb_build_object('lead', nmc.lead_json(l)));
END
$$;
COMMENT ON FUNCTION nmc.api_lead_patch(jsonb) IS 'PATCH /api/leads/{id} {status, reason}: the owner moves a lead, any status (a reason is required for lost, kept for won and lost); emits lead.updated.';

CREATE FUNCTION nmc.api_status(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    h record;
    i record;
BEGIN
    -- Invoker's rights: row-level security limits the counts to the caller's
    -- business; whether the workers run is the same for everyone.
    SELECT * INTO h FROM nmc.dispatcher_health();
    SELECT * INTO i FROM nmc.inbox_health();
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
        'providers_5m', nmc.provider_stats_5m(),
        -- The edge that answers adds its live-feed figures to every request.
        'websocket', CASE WHEN req #>> '{headers,x-nmc-edge-ws-clients}' ~ '^[0-9]+$' THEN jsonb_build_object(
                         'clients', (req #>> '{headers,x-nmc-edge-ws-clients}')::bigint,
                         'dropped_slow', (req #>> '{headers,x-nmc-edge-ws-dropped-slow}')::bigint) END));
END
$$;
COMMENT ON FUNCTION nmc.api_status(jsonb) IS 'GET /api/status: database, sandbox mode, whether the dispatcher and the inbox worker run (heartbeats), and — of the caller''s business only — its queued jobs, its webhooks waiting in the inbox and provider successes / retries / failures over 5 minutes; and the answering edge''s WebSocket clients (connected, dropped for being slow).';

INSERT INTO nmc.api_routes (route_method, route_path, handler, auth, summary) VALUES
    ('GET', '/api/conversations', 'api_conversations_list', 'jwt', 'Conversations, filtered and paged'),
    ('GET', '/api/leads', 'api_leads_list', 'jwt', 'Leads by status, paged'),
    ('PATCH', '/api/leads/{id}', 'api_lead_patch', 'jwt', 'Change a lead''s status'),
    ('GET', '/api/status', 'api_status', 'jwt', 'System status for the status page');

-- ==== ../sql/monitoring.sql
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
SELECT cron.schedule('nevermisscall-health', '* * * * *', 'SELECT nmc.report_system_health()');

-- ==== openapi_document.sql
-- Generated from docs/openapi.yaml by extension/Makefile.
CREATE FUNCTION nmc.openapi_document() RETURNS text LANGUAGE sql IMMUTABLE AS $nmc_fn$ SELECT $nmc_openapi$openapi: 3.0.3
info:
  title: NeverMissCall API
  version: 0.1.0
  description: |
    The JSON API the dashboard uses, and the Twilio webhooks. Every /api route is answered
    by nmc_api.handle in Postgres (docs/architecture.md). Errors are always
    {"error": {"code", "message", "field"?}} with the status given below; see docs/http-api.md
    for the codes. The live feed is a WebSocket (GET /api/realtime says where).
    This file is served at GET /api/openapi.yaml; test/edge/05_openapi_coverage.t fails when
    a route exists without an entry here or the other way round.
servers:
  - url: http://localhost:8080
components:
  securitySchemes:
    bearer:
      type: http
      scheme: bearer
      bearerFormat: JWT
    twilioSignature:
      type: apiKey
      in: header
      name: X-Twilio-Signature
      description: HMAC-SHA1 of the public URL and the sorted form parameters, keyed by the Twilio auth token.
  schemas:
    Error:
      type: object
      required: [error]
      properties:
        error:
          type: object
          required: [code, message]
          properties:
            code: {type: string}
            message: {type: string}
            field: {type: string}
  responses:
    Error:
      description: The request was refused; the body says why.
      content:
        application/json:
          schema: {$ref: '#/components/schemas/Error'}
    TwiML:
      description: TwiML instructions for Twilio.
      content:
        text/xml:
          schema: {type: string}
paths:
  /metrics:
    get:
      summary: "Prometheus metrics: requests by route and status, latency histograms, live-feed clients, NOTIFY-to-send latency, jobs by state (answered by the edge)"
      security: []
      responses:
        '200':
          description: Prometheus text exposition format.
          content:
            text/plain:
              schema: {type: string}
  /healthz:
    get:
      summary: "Liveness; 200 only when the database answers (answered by the edge)"
      security: []
      responses:
        '200': {description: The database answers.}
        '503': {description: The database is unreachable.}
  /api/appointments:
    get:
      summary: "Appointments in a time window"
      security: [{bearer: []}]
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
    post:
      summary: "Book an appointment by hand"
      security: [{bearer: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object}
      responses:
        '201':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/appointments/open-slots:
    get:
      summary: "The next free slots"
      security: [{bearer: []}]
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/appointments/{id}/cancel:
    post:
      summary: "Cancel an appointment"
      security: [{bearer: []}]
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/auth/login:
    post:
      summary: "Log in; returns a session token"
      security: []
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object}
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/auth/register:
    post:
      summary: "Create a user and their business; returns a session token"
      security: []
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object}
      responses:
        '201':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/business:
    get:
      summary: "The business profile"
      security: [{bearer: []}]
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
    patch:
      summary: "Update the business profile"
      security: [{bearer: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object}
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/business/blocked-numbers:
    get:
      summary: "The block list"
      security: [{bearer: []}]
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
    post:
      summary: "Block a number from missed-call texts"
      security: [{bearer: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object}
      responses:
        '201':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/business/blocked-numbers/{id}:
    delete:
      summary: "Unblock a number"
      security: [{bearer: []}]
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/business/closures:
    post:
      summary: "Add a closed day"
      security: [{bearer: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object}
      responses:
        '201':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/business/closures/{id}:
    delete:
      summary: "Remove a closed day"
      security: [{bearer: []}]
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/business/greeting:
    get:
      summary: "The greeting template, its default and a preview"
      security: [{bearer: []}]
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
    put:
      summary: "Set (or reset) the greeting template"
      security: [{bearer: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object}
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/business/greeting/preview:
    post:
      summary: "Render a template with encoding and segments"
      security: [{bearer: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object}
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/business/hours:
    get:
      summary: "Weekly hours, upcoming closures, open now"
      security: [{bearer: []}]
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
    put:
      summary: "Replace the weekly hours"
      security: [{bearer: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object}
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/calls:
    get:
      summary: "Latest calls with their text decision"
      security: [{bearer: []}]
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/conversations:
    get:
      summary: "Conversations, filtered and paged"
      security: [{bearer: []}]
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/conversations/{id}:
    get:
      summary: "A conversation and its messages"
      security: [{bearer: []}]
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/conversations/{id}/messages:
    post:
      summary: "Send a text as the business"
      security: [{bearer: []}]
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object}
      responses:
        '201':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/conversations/{id}/release:
    post:
      summary: "Hand the conversation back"
      security: [{bearer: []}]
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/conversations/{id}/takeover:
    post:
      summary: "Take the conversation over (the AI goes silent)"
      security: [{bearer: []}]
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/events:
    get:
      summary: "Events after a given id (resume)"
      security: [{bearer: []}]
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/jobs/{id}:
    get:
      summary: "Poll a job"
      security: [{bearer: []}]
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/leads:
    get:
      summary: "Leads by status, paged"
      security: [{bearer: []}]
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/leads/{id}:
    patch:
      summary: "Change a lead's status"
      description: "Any status; lost needs a reason, won may have one (other statuses clear it)."
      security: [{bearer: []}]
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [status]
              properties:
                status: {type: string, enum: [new, contacted, qualified, appointment_scheduled, won, lost, out_of_area]}
                reason: {type: string, maxLength: 500}
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/me:
    get:
      summary: "The logged-in user"
      security: [{bearer: []}]
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
    patch:
      summary: "Update the logged-in user's name and preferences"
      security: [{bearer: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object}
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/openapi.yaml:
    get:
      summary: "This document"
      security: []
      responses:
        '200':
          description: Success.
          content:
            application/yaml:
              schema: {type: string}
        default: {$ref: '#/components/responses/Error'}
  /api/phone-numbers:
    get:
      summary: "The business's Twilio numbers"
      security: [{bearer: []}]
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
    post:
      summary: "Buy a number (a job)"
      security: [{bearer: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object}
      responses:
        '202':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/phone-numbers/search:
    post:
      summary: "Search numbers by area code (a job)"
      security: [{bearer: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object}
      responses:
        '202':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/realtime:
    get:
      summary: "The live feed's WebSocket URL and protocol"
      security: [{bearer: []}]
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/sandbox/customer-reply:
    post:
      summary: "Sandbox mode only: rehearse a customer's text to your number"
      description: "Runs the same code as Twilio's SMS webhook. 409 sandbox_only when Twilio is configured, 409 no_phone_number before the business has a number."
      security: [{bearer: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [body]
              properties:
                from: {type: string, description: "The customer's phone (default +15125550142)"}
                body: {type: string, maxLength: 1600}
      responses:
        '202':
          description: "Accepted: {message_sid, from, to}."
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/sandbox/missed-call:
    post:
      summary: "Sandbox mode only: rehearse an unanswered call to your number"
      description: "Runs the same code as Twilio's voice webhooks (the <Dial> ends no-answer when the owner would have been rung): accepted at once, then applied by the inbox worker like any webhook: greeting text, lead, conversation, events. 409 sandbox_only when Twilio is configured, 409 no_phone_number before the business has a number."
      security: [{bearer: []}]
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties:
                from: {type: string, description: "The caller's phone (default +15125550142)"}
      responses:
        '202':
          description: "Accepted: {call_sid, from, to}; the inbox worker applies the call right after."
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/status:
    get:
      summary: "System status for the status page"
      security: [{bearer: []}]
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/trade-types:
    get:
      summary: "List the trades a business can choose"
      security: []
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /webhooks/twilio/sms:
    post:
      summary: "Twilio: an incoming text"
      description: >-
        Recorded in the inbound-text inbox (idempotent on MessageSid) and answered at once
        with empty TwiML; the inbox worker threads it into its conversation right after
        the commit (message.created and the rest reach the live feed then).
      security: [{twilioSignature: []}]
      requestBody:
        required: true
        content:
          application/x-www-form-urlencoded:
            schema: {type: object, additionalProperties: {type: string}}
      responses:
        '200': {$ref: '#/components/responses/TwiML'}
        '400': {$ref: '#/components/responses/Error'}
        '403': {$ref: '#/components/responses/Error'}
  /webhooks/twilio/sms/status:
    post:
      summary: "Twilio: outbound message status callback"
      security: [{twilioSignature: []}]
      requestBody:
        required: true
        content:
          application/x-www-form-urlencoded:
            schema: {type: object, additionalProperties: {type: string}}
      responses:
        '200': {$ref: '#/components/responses/TwiML'}
        '400': {$ref: '#/components/responses/Error'}
        '403': {$ref: '#/components/responses/Error'}
  /webhooks/twilio/voice:
    post:
      summary: "Twilio: an incoming call"
      security: [{twilioSignature: []}]
      requestBody:
        required: true
        content:
          application/x-www-form-urlencoded:
            schema: {type: object, additionalProperties: {type: string}}
      responses:
        '200': {$ref: '#/components/responses/TwiML'}
        '400': {$ref: '#/components/responses/Error'}
        '403': {$ref: '#/components/responses/Error'}
  /webhooks/twilio/voice/dial:
    post:
      summary: "Twilio: the forwarded call ended (Dial action)"
      security: [{twilioSignature: []}]
      requestBody:
        required: true
        content:
          application/x-www-form-urlencoded:
            schema: {type: object, additionalProperties: {type: string}}
      responses:
        '200': {$ref: '#/components/responses/TwiML'}
        '400': {$ref: '#/components/responses/Error'}
        '403': {$ref: '#/components/responses/Error'}
  /webhooks/twilio/voice/status:
    post:
      summary: "Twilio: call status callback"
      security: [{twilioSignature: []}]
      requestBody:
        required: true
        content:
          application/x-www-form-urlencoded:
            schema: {type: object, additionalProperties: {type: string}}
      responses:
        '200': {$ref: '#/components/responses/TwiML'}
        '400': {$ref: '#/components/responses/Error'}
        '403': {$ref: '#/components/responses/Error'}
$nmc_openapi$::text $nmc_fn$;
COMMENT ON FUNCTION nmc.openapi_document() IS 'The text of docs/openapi.yaml.';

-- ==== ../sql/openapi.sql
-- openapi.sql — serves docs/openapi.yaml at GET /api/openapi.yaml. The text
-- itself is compiled in by extension/Makefile (openapi_document.sql, built
-- from docs/openapi.yaml), so the document and the code ship together.
CREATE FUNCTION nmc.api_openapi(req jsonb)
RETURNS nmc.http_response
LANGUAGE sql IMMUTABLE
AS $$ SELECT nmc.respond_text(200, 'application/yaml', nmc.openapi_document()) $$;
COMMENT ON FUNCTION nmc.api_openapi(jsonb) IS 'GET /api/openapi.yaml: the OpenAPI 3 description of every route.';

INSERT INTO nmc.api_routes (route_method, route_path, handler, auth, summary) VALUES
    ('GET', '/api/openapi.yaml', 'api_openapi', 'public', 'This document');

-- ==== ../sql/housekeeping.sql
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
         WHERE status = 'in_flight' AND lease_expires_at < now()
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
    conversations_closed := nmc.close_idle_conversations();
    -- Event numbers live on in nmc.event_counters, so deleting old events never reuses one.
    WITH d AS (DELETE FROM nmc.events WHERE created_at < now() - make_interval(hours => nmc.setting_int('event_retention_hours')::int) RETURNING 1)
    SELECT count(*) INTO events_deleted FROM d;
END
$$;
COMMENT ON FUNCTION nmc.housekeeping() IS
    'pg_cron, every 10 minutes: closes conversations idle for conversation_idle_close_hours, and deletes finished jobs, their attempts and past timers older than job_retention_hours, events older than event_retention_hours, and login failures older than the rate-limit window.';

-- pg_cron runs in cron.database_name, which make run sets to this database.
SELECT cron.schedule('nevermisscall-backstop', '* * * * *', 'SELECT nmc.dispatcher_backstop()');
SELECT cron.schedule('nevermisscall-housekeeping', '*/10 * * * *', 'SELECT nmc.housekeeping()');

-- ==== ../sql/api_dispatch.sql
-- api_dispatch.sql — the call from a route to its handler. nmc_api.handle
-- used to EXECUTE a dynamic "SELECT nmc.<handler>($1)", parsed and planned on
-- every request (≈ 0.1 ms); nmc.api_dispatch is generated from nmc.api_routes
-- instead — one static call per handler, planned once per connection. It is
-- rebuilt at the end of every install and upgrade (after all routes exist).
CREATE FUNCTION nmc.api_dispatch_build()
RETURNS void
LANGUAGE plpgsql
AS $build$
DECLARE
    branches text;
BEGIN
    -- Twilio's webhooks first: they come most often, and CASE tries the branches in order.
    SELECT string_agg(format('        WHEN %L THEN RETURN nmc.%I(req);', h.handler, h.handler), E'\n'
                      ORDER BY h.handler NOT LIKE 'webhook\_%', h.handler)
      INTO branches
      FROM (SELECT DISTINCT handler FROM nmc.api_routes) h;
    EXECUTE format($f$
CREATE OR REPLACE FUNCTION nmc.api_dispatch(handler text, req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $dispatch$
BEGIN
    CASE handler
%s
    END CASE;
END
$dispatch$;
COMMENT ON FUNCTION nmc.api_dispatch(text, jsonb) IS 'Calls nmc.<handler>(req) for a handler of nmc.api_routes (generated by nmc.api_dispatch_build()); an unknown handler raises case_not_found.';
$f$, branches);
END
$build$;
COMMENT ON FUNCTION nmc.api_dispatch_build() IS 'Generates nmc.api_dispatch from the handlers in nmc.api_routes. Run by the install script and by every upgrade script after the routes are in place.';

SELECT nmc.api_dispatch_build();

-- ==== ../sql/planner_statistics.sql
-- planner_statistics.sql — no statistics on the tenant column. Every query is
-- for one business, but a cached plan is made before the planner knows which,
-- and statistics describe the businesses seen at the last ANALYZE: a business
-- new since then looks empty, so a lookup by a unique key (a MessageSid, a
-- CallSid) under row-level security was planned as a scan of the business's
-- index — every message of the business, on every inbound text. Without
-- statistics on business_id its equality is estimated at the default 0.5 %,
-- unique keys use their unique index, and lists still use the business
-- indexes. Applied at install and again by every upgrade (new tables included).
DO $stats$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT a.attrelid::regclass AS rel, a.attnum
               FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
              WHERE c.relnamespace = 'nmc'::regnamespace AND c.relkind IN ('r', 'p')
                AND a.attname = 'business_id' AND NOT a.attisdropped
    LOOP
        EXECUTE format('ALTER TABLE %s ALTER COLUMN business_id SET STATISTICS 0', r.rel);
        DELETE FROM pg_statistic WHERE starelid = r.rel AND staattnum = r.attnum;
    END LOOP;
END
$stats$;

-- ==== ../sql/grants.sql
-- grants.sql — ownership and privileges, applied last (and again by every
-- upgrade script): tables belong to nmc_owner under forced row-level
-- security, API functions run as nmc_api (login as nmc_auth), and nmc_edge
-- can execute nmc_api and nothing else.
DO $own$
DECLARE
    rel regclass;
BEGIN
    FOR rel IN SELECT c.oid::regclass FROM pg_class c
                WHERE c.relnamespace = 'nmc'::regnamespace AND c.relkind IN ('r', 'v')
    LOOP
        EXECUTE format('ALTER TABLE %s OWNER TO nmc_owner', rel);
    END LOOP;
END
$own$;

GRANT USAGE ON SCHEMA nmc TO nmc_owner, nmc_api, nmc_auth;
GRANT USAGE ON SCHEMA nmc_api TO nmc_api, nmc_edge;

GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA nmc TO nmc_api;
GRANT SELECT ON nmc.settings, nmc.users, nmc.businesses, nmc.phone_numbers TO nmc_auth;
GRANT SELECT, INSERT, DELETE ON nmc.login_failures TO nmc_auth;

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA nmc FROM PUBLIC;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA nmc_api FROM PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA nmc TO nmc_api, nmc_auth;
-- Policies call these as whoever queries the table, the owner included.
GRANT EXECUTE ON FUNCTION nmc.current_business_id(), nmc.current_user_id() TO nmc_owner;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA nmc_api TO nmc_edge;

-- Every nmc_api function runs as nmc_api unless reassigned below; a definer
-- function left to the installing superuser would bypass row-level security.
DO $api_owner$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN SELECT p.oid::regprocedure FROM pg_proc p WHERE p.pronamespace = 'nmc_api'::regnamespace LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO nmc_api', f);
    END LOOP;
END
$api_owner$;
ALTER FUNCTION nmc.login(jsonb, text) OWNER TO nmc_auth;
ALTER FUNCTION nmc.webhook_tenant(text) OWNER TO nmc_auth;
ALTER FUNCTION nmc.phone_number_available(text) OWNER TO nmc_auth;
GRANT USAGE ON SCHEMA nmc TO nmc_monitor;
GRANT SELECT ON nmc.jobs, nmc.job_attempts, nmc.job_kinds, nmc.settings, nmc.webhook_inbox TO nmc_monitor;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA nmc TO nmc_monitor;
ALTER FUNCTION nmc_api.metrics() OWNER TO nmc_monitor;
-- nmc_monitor owns nmc_api.metrics (a definer function), so it needs the schema too.
GRANT USAGE ON SCHEMA nmc_api TO nmc_monitor;
