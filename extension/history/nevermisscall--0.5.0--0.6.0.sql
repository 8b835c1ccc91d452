-- 0.5.0 → 0.6.0, assembled by extension/Makefile (upgrades/assemble.pl) into
-- nevermisscall--0.5.0--0.6.0.sql: table changes written here as upgrade steps;
-- "--@include f" brings sql/f.sql (new in this version), "--@replace f name" the
-- current text of a changed function; then the OpenAPI document, the route
-- dispatcher and sql/grants.sql. test/upgrade/check.sh proves the result equals
-- a fresh 0.6.0 install.
\echo Use "ALTER EXTENSION nevermisscall UPDATE" to load this file. \quit

-- Logins: growing delays instead of a lock, known devices, sign-in codes by
-- text (sql/login_guard.sql).
UPDATE nmc.settings SET value = '86400' WHERE name = 'login_failure_window_seconds' AND value = '900';
UPDATE nmc.settings SET description = 'Window over which failed logins are counted (for the growing delays of nmc.login_throttled).'
 WHERE name = 'login_failure_window_seconds';
UPDATE nmc.settings SET description = 'Failed logins for one email within the window before each further try must wait (login_delay_base_seconds, doubling).'
 WHERE name = 'login_max_failures_per_email';
UPDATE nmc.settings SET description = 'Failed logins from one client address within the window before each further try must wait (login_delay_base_seconds, doubling).'
 WHERE name = 'login_max_failures_per_source';
INSERT INTO nmc.settings (name, value, is_secret, description) VALUES
    ('login_delay_base_seconds', '2', false, 'The first wait after the failures allowed, doubled with each further failure.'),
    ('login_delay_max_seconds', '900', false, 'The longest wait between login tries of a throttled email or address.'),
    ('login_device_max_failures', '5', false, 'Wrong passwords from a known device (since its last success) before it is forgotten.'),
    ('login_code_ttl_seconds', '600', false, 'How long a texted code (sign-in, alert phone) works.'),
    ('login_code_max_attempts', '5', false, 'Wrong tries of a texted code before the live codes of its kind (an account''s sign-in codes, a business''s alert-phone codes) stop working.'),
    ('login_codes_per_hour', '5', false, 'Codes texted in an hour per account (sign-in) or business (alert phone), and sign-in codes asked for per client address.');
COMMENT ON TABLE nmc.login_failures IS 'One row per failed login, by email and by client address; counted over login_failure_window_seconds for the growing delays of nmc.login_throttled.';

CREATE TABLE nmc.user_devices (
    id           uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
    business_id  uuid NOT NULL,
    user_id      uuid NOT NULL,
    token_hash   bytea NOT NULL UNIQUE,
    failures     int NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (business_id, user_id) REFERENCES nmc.users (business_id, id) ON DELETE CASCADE
);
COMMENT ON TABLE nmc.user_devices IS 'Browsers a user logged in from: the SHA-256 of the device token handed out at login. A known device passes the login throttle with the right password; failures counts its wrong passwords since its last success (at login_device_max_failures it is forgotten).';
CREATE INDEX user_devices_user ON nmc.user_devices (user_id, last_used_at);
ALTER TABLE nmc.user_devices ENABLE ROW LEVEL SECURITY;
ALTER TABLE nmc.user_devices FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON nmc.user_devices
    USING (business_id = nmc.current_business_id())
    WITH CHECK (business_id = nmc.current_business_id());

CREATE TABLE nmc.login_codes (
    id           uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
    business_id  uuid NOT NULL,
    user_id      uuid NOT NULL,
    code_hash    bytea NOT NULL,
    requested_from text NOT NULL,
    attempts     int NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz,
    text_to_send text,
    purpose      text NOT NULL DEFAULT 'sign_in' CHECK (purpose IN ('sign_in', 'alert_phone', 'password_reset')),
    phone        nmc.e164,
    FOREIGN KEY (business_id, user_id) REFERENCES nmc.users (business_id, id) ON DELETE CASCADE
);
COMMENT ON TABLE nmc.login_codes IS 'Codes texted to a phone: purpose sign_in (POST /api/auth/unlock, to the business''s phone), password_reset (POST /api/auth/password/forgot, likewise) or alert_phone (proving the owner has the alert phone, whose number is kept in phone). code_hash: the SHA-256 of the code with its row id, tried at most login_code_max_attempts times before expires_at. requested_from: the client address that asked (sends are throttled per address too). text_to_send: the text with the code in it, only until the twilio.sms.login_code job has sent it or given up (the outbox never holds a secret).';
CREATE INDEX login_codes_user ON nmc.login_codes (user_id, created_at);
CREATE INDEX login_codes_source ON nmc.login_codes (requested_from, created_at);
ALTER TABLE nmc.login_codes ENABLE ROW LEVEL SECURITY;
ALTER TABLE nmc.login_codes FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON nmc.login_codes
    USING (business_id = nmc.current_business_id())
    WITH CHECK (business_id = nmc.current_business_id());
CREATE POLICY code_throttle ON nmc.login_codes FOR SELECT TO nmc_auth USING (true);

DROP FUNCTION nmc.login_rate_limited(text, text);
CREATE OR REPLACE FUNCTION nmc.login_delay(failures bigint, allowance bigint)
RETURNS interval
LANGUAGE sql STABLE
AS $$
    SELECT CASE WHEN failures < allowance THEN interval '0'
                ELSE make_interval(secs => least(nmc.setting_int('login_delay_max_seconds'),
                                                 nmc.setting_int('login_delay_base_seconds') * power(2, least(failures - allowance, 40))))
           END
$$;
COMMENT ON FUNCTION nmc.login_delay(bigint, bigint) IS
    'How long after the latest failure the next login try must wait: nothing within the allowance, then login_delay_base_seconds doubling with every further failure, at most login_delay_max_seconds.';
CREATE OR REPLACE FUNCTION nmc.login_throttled(v_email text, client_addr text)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $$
DECLARE
    win interval := make_interval(secs => nmc.setting_int('login_failure_window_seconds'));
    scope_name text;
    scope_key text;
    allowance bigint;
    n bigint;
    latest timestamptz;
    wait_until timestamptz;
    retry_after int;
BEGIN
    FOR scope_name, scope_key, allowance IN
        VALUES ('email', v_email, nmc.setting_int('login_max_failures_per_email')),
               ('source', coalesce(client_addr, ''), nmc.setting_int('login_max_failures_per_source'))
    LOOP
        SELECT count(*), max(failed_at) INTO n, latest
          FROM nmc.login_failures
         WHERE scope = scope_name AND key = scope_key AND failed_at > now() - win;
        wait_until := latest + nmc.login_delay(n, allowance);
        IF wait_until > now() THEN
            retry_after := greatest(1, ceil(extract(epoch FROM wait_until - now())))::int;
            RETURN nmc.respond(429,
                nmc.error_body('rate_limited', format('too many failed logins; try again in %s seconds, '
                    || 'or ask for a sign-in code by text (POST /api/auth/unlock)', retry_after)),
                'Retry-After: ' || retry_after);
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION nmc.login_throttled(text, text) IS
    'A 429 (with Retry-After) while the email or the client address must wait after its recent failed logins (see nmc.login_delay), else NULL. Never a lock: the wait ends, and a known device or a texted code passes it.';
CREATE OR REPLACE FUNCTION nmc.login_failure_record(v_email text, client_addr text, dev nmc.user_devices)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    IF dev.id IS NOT NULL THEN
        -- A known device's own mistakes count against it alone; at the limit it is forgotten.
        UPDATE nmc.user_devices SET failures = failures + 1 WHERE id = dev.id;
        DELETE FROM nmc.user_devices WHERE id = dev.id AND failures >= nmc.setting_int('login_device_max_failures');
    ELSE
        INSERT INTO nmc.login_failures (scope, key) VALUES ('email', v_email), ('source', coalesce(client_addr, ''));
    END IF;
END
$$;
COMMENT ON FUNCTION nmc.login_failure_record(text, text, nmc.user_devices) IS 'Records a wrong password: against the known device it came from, else against the email and the client address.';
CREATE OR REPLACE FUNCTION nmc.device_find(u nmc.users, device_token text)
RETURNS nmc.user_devices
LANGUAGE plpgsql
AS $$
DECLARE
    dev nmc.user_devices;
BEGIN
    IF u.id IS NULL OR device_token IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT * INTO dev FROM nmc.user_devices
     WHERE token_hash = sha256(convert_to(device_token, 'UTF8')) AND user_id = u.id;
    RETURN dev;
END
$$;
COMMENT ON FUNCTION nmc.device_find(nmc.users, text) IS 'The known device of u whose token was presented at login, or NULL (tokens are compared by hash; another user''s device is unknown).';
CREATE OR REPLACE FUNCTION nmc.device_remember(u nmc.users, dev nmc.user_devices)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    token text;
BEGIN
    IF dev.id IS NOT NULL THEN
        UPDATE nmc.user_devices SET failures = 0, last_used_at = now() WHERE id = dev.id;
        RETURN NULL;   -- the browser keeps the token it has
    END IF;
    token := 'nmcd_' || translate(encode(gen_random_bytes(24), 'base64'), '+/', '-_');
    INSERT INTO nmc.user_devices (business_id, user_id, token_hash)
    VALUES (u.business_id, u.id, sha256(convert_to(token, 'UTF8')));
    -- A user keeps their 20 most recent devices.
    DELETE FROM nmc.user_devices
     WHERE user_id = u.id AND id NOT IN (SELECT id FROM nmc.user_devices WHERE user_id = u.id
                                          ORDER BY last_used_at DESC LIMIT 20);
    RETURN token;
END
$$;
COMMENT ON FUNCTION nmc.device_remember(nmc.users, nmc.user_devices) IS 'After a successful login: the known device is refreshed (NULL returned), or a new device token is made and returned (only its hash is kept; a user keeps 20 devices).';
CREATE OR REPLACE FUNCTION nmc.login_code_hash(code_id uuid, code text)
RETURNS bytea
LANGUAGE sql IMMUTABLE
AS $$ SELECT sha256(convert_to(code_id::text || ':' || code, 'UTF8')) $$;
COMMENT ON FUNCTION nmc.login_code_hash(uuid, text) IS 'How a sign-in code is kept: SHA-256 of its row id and the digits.';
CREATE OR REPLACE FUNCTION nmc.login_code_send(p_business_id uuid, p_user_id uuid, p_purpose text, p_to text, p_from text,
                                    p_text text, p_source text)
RETURNS boolean
LANGUAGE plpgsql
AS $$
DECLARE
    code text := lpad((('x' || encode(gen_random_bytes(4), 'hex'))::bit(32)::bigint % 1000000)::text, 6, '0');
    c_id uuid := gen_random_uuid();
BEGIN
    -- Each code is a text: one a minute, and login_codes_per_hour an hour, per account (or business) and purpose.
    IF EXISTS (SELECT 1 FROM nmc.login_codes WHERE business_id = p_business_id AND user_id = coalesce(p_user_id, user_id)
                  AND purpose = p_purpose AND created_at > now() - interval '1 minute')
       OR (SELECT count(*) FROM nmc.login_codes WHERE business_id = p_business_id AND user_id = coalesce(p_user_id, user_id)
              AND purpose = p_purpose AND created_at > now() - interval '1 hour') >= nmc.setting_int('login_codes_per_hour') THEN
        RETURN false;
    END IF;
    INSERT INTO nmc.login_codes (id, business_id, user_id, code_hash, requested_from, expires_at, text_to_send, purpose, phone)
    VALUES (c_id, p_business_id, coalesce(p_user_id, nmc.current_user_id()), nmc.login_code_hash(c_id, code), coalesce(p_source, ''),
            now() + make_interval(secs => nmc.setting_int('login_code_ttl_seconds')), replace(p_text, '{code}', code), p_purpose, p_to);
    PERFORM nmc.job_enqueue('twilio.sms.login_code', p_business_id, jsonb_build_object('login_code_id', c_id, 'to', p_to, 'from', p_from));
    RETURN true;
END
$$;
COMMENT ON FUNCTION nmc.login_code_send(uuid, uuid, text, text, text, text, text) IS
    'Texts a new 6-digit code (p_text with {code} where the code goes) to p_to from p_from, for p_purpose (sign_in for the account p_user_id; alert_phone for the business and the phone p_to): false, and nothing sent, when one went out within the minute or login_codes_per_hour within the hour for the same account (or business, with p_user_id NULL) and purpose.';
CREATE OR REPLACE FUNCTION nmc.login_code_redeem(p_business_id uuid, p_user_id uuid, p_purpose text, p_phone text, code text)
RETURNS boolean
LANGUAGE plpgsql
AS $$
DECLARE
    hit uuid;
BEGIN
    SELECT id INTO hit FROM nmc.login_codes
     WHERE business_id = p_business_id AND user_id = coalesce(p_user_id, user_id) AND purpose = p_purpose
       AND phone IS NOT DISTINCT FROM coalesce(p_phone, phone) AND used_at IS NULL AND expires_at > now()
       AND attempts < nmc.setting_int('login_code_max_attempts')
       AND code_hash = nmc.login_code_hash(id, regexp_replace(code, '[^0-9]', '', 'g'))
     LIMIT 1;
    IF hit IS NULL THEN
        -- Every live code of the same kind pays for a wrong guess.
        UPDATE nmc.login_codes SET attempts = attempts + 1
         WHERE business_id = p_business_id AND user_id = coalesce(p_user_id, user_id) AND purpose = p_purpose
           AND used_at IS NULL AND expires_at > now();
        RETURN false;
    END IF;
    UPDATE nmc.login_codes SET used_at = now() WHERE id = hit;
    RETURN true;
END
$$;
COMMENT ON FUNCTION nmc.login_code_redeem(uuid, uuid, text, text, text) IS 'True (and the code used up) when code is a live code of p_purpose for the business (and the account p_user_id, and the phone p_phone, when given); otherwise every live code of that kind counts one more attempt (login_code_max_attempts each).';
CREATE OR REPLACE FUNCTION nmc.login_codes_asked_too_often(source text, p_purpose text)
RETURNS boolean
LANGUAGE sql STABLE
AS $$ SELECT count(*) >= nmc.setting_int('login_codes_per_hour') FROM nmc.login_codes
       WHERE requested_from = source AND purpose = p_purpose AND created_at > now() - interval '1 hour' $$;
COMMENT ON FUNCTION nmc.login_codes_asked_too_often(text, text) IS 'Whether a client address asked for login_codes_per_hour codes of a purpose within the hour (each code is a text someone pays for).';
CREATE OR REPLACE FUNCTION nmc.login_code_to_owner(body jsonb, client_addr text, p_purpose text, p_what text, p_text text)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $$
DECLARE
    v_email text;
    v_source text := coalesce(client_addr, '');
    u nmc.users;
    b nmc.businesses;
    from_phone text;
    answer nmc.http_response := nmc.respond(202, jsonb_build_object('message',
        format('If this email has an account and its business has a phone on file, a %s is on its way there by text.', p_what)));
BEGIN
    PERFORM nmc.input_object(body);
    PERFORM nmc.input_allowed_fields(body, ARRAY['email']);
    v_email := lower(nmc.input_text(body, 'email', true, 254));

    PERFORM pg_advisory_xact_lock(hashtextextended('nmc.login:' || v_email, 0));
    -- Each code is a text someone pays for: an address asks for a few per hour.
    IF nmc.login_codes_asked_too_often(v_source, p_purpose) THEN
        RETURN nmc.respond(429, nmc.error_body('rate_limited', format('too many %ss asked for from this address; try again later', p_what)),
                           'Retry-After: 3600');
    END IF;
    SELECT * INTO u FROM nmc.users WHERE email = v_email;
    IF NOT FOUND THEN
        RETURN answer;   -- the same answer: whether an email has an account is not told
    END IF;
    PERFORM set_config('nmc.business_id', u.business_id::text, true);
    SELECT * INTO b FROM nmc.businesses WHERE id = u.business_id;
    SELECT phone INTO from_phone FROM nmc.phone_numbers WHERE business_id = b.id ORDER BY created_at, id LIMIT 1;
    IF nmc.owner_phone(b) IS NOT NULL AND from_phone IS NOT NULL THEN
        PERFORM nmc.login_code_send(b.id, u.id, p_purpose, nmc.owner_phone(b), from_phone,
            replace(replace(p_text, '{email}', u.email), '{minutes}', ceil(nmc.setting_int('login_code_ttl_seconds') / 60.0)::text), v_source);
    END IF;
    RETURN answer;   -- the same whether or not a code went out (none within the minute, or past the hour's allowance)
END
$$;
COMMENT ON FUNCTION nmc.login_code_to_owner(jsonb, text, text, text, text) IS
    'For {email}: texts a 6-digit code of p_purpose (nmc.login_code_send; p_text with {code}, {email}, {minutes}) from the business''s number to the owner''s phone — the verified alert phone, else the forward-to phone (at most one a minute and login_codes_per_hour an hour per account, login_codes_per_hour an hour per client address: 429); always answers 202 with the same words (a p_what "is on its way"), so it tells nobody whether an email has an account. Called by the nmc_auth functions that find the user before the tenant is known.';
CREATE OR REPLACE FUNCTION nmc.login_code_request(body jsonb, client_addr text)
RETURNS nmc.http_response
LANGUAGE sql
SECURITY DEFINER
SET search_path = nmc, public, pg_temp
AS $$ SELECT nmc.login_code_to_owner(body, client_addr, 'sign_in', 'sign-in code',
          'NeverMissCall sign-in code: {code} (for {email}, valid {minutes} minutes). If you did not ask for it, someone is guessing your password: ignore this text.') $$;
COMMENT ON FUNCTION nmc.login_code_request(jsonb, text) IS
    'POST /api/auth/unlock {email}: texts a 6-digit sign-in code (nmc.login_code_send) from the business''s number to the owner''s phone — the verified alert phone, else the forward-to phone (at most one a minute and login_codes_per_hour an hour per account and per client address); always answers 202 with the same words, so it tells nobody whether an email has an account. The code, given to POST /api/auth/login as login_code with the right password, passes the login throttle. Runs as nmc_auth (the user is found before the tenant is known).';
CREATE OR REPLACE FUNCTION nmc.login(body jsonb, client_addr text)
RETURNS nmc.http_response
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = nmc, public, pg_temp
AS $$
DECLARE
    v_email text;
    v_password text;
    v_device text;
    v_code text;
    limited nmc.http_response;
    u nmc.users;
    dev nmc.user_devices;
    attempt text;
    device_token text;
BEGIN
    PERFORM nmc.input_object(body);
    PERFORM nmc.input_allowed_fields(body, ARRAY['email', 'password', 'device', 'login_code']);
    v_email := lower(nmc.input_text(body, 'email', true, 254));
    v_password := nmc.input_password(body, 1);
    v_device := nmc.input_text(body, 'device', false, 200);
    v_code := nmc.input_text(body, 'login_code', false, 20);

    -- Serialise attempts on one email so concurrent guesses are all counted.
    PERFORM pg_advisory_xact_lock(hashtextextended('nmc.login:' || v_email, 0));
    SELECT * INTO u FROM nmc.users WHERE email = v_email;
    IF u.id IS NOT NULL THEN
        PERFORM set_config('nmc.business_id', u.business_id::text, true);   -- its devices and codes
    END IF;
    IF v_code IS NOT NULL THEN
        -- A texted code stands in for the throttle, not for the password.
        IF u.id IS NULL OR NOT nmc.login_code_redeem(u.business_id, u.id, 'sign_in', NULL, v_code) THEN
            RETURN nmc.respond(401, nmc.error_body('invalid_login_code', 'this sign-in code is wrong, used or expired; ask for a new one', 'login_code'));
        END IF;
    ELSE
        dev := nmc.device_find(u, v_device);
        IF dev.id IS NULL THEN
            limited := nmc.login_throttled(v_email, client_addr);
            IF limited.status IS NOT NULL THEN
                RETURN limited;
            END IF;
        END IF;
    END IF;

    -- An unknown email still pays one hash so timing does not reveal which emails exist.
    attempt := crypt(v_password, coalesce(u.password_hash, gen_salt('bf', nmc.setting_int('bcrypt_cost')::int)));
    IF u.id IS NULL OR attempt IS DISTINCT FROM u.password_hash THEN
        PERFORM nmc.login_failure_record(v_email, client_addr, dev);
        RETURN nmc.respond(401, nmc.error_body('invalid_credentials', 'email or password is wrong'));
    END IF;

    -- A known device's success leaves a guesser's failures counting; a
    -- success anywhere else (or with a texted code) clears them.
    IF dev.id IS NULL THEN
        DELETE FROM nmc.login_failures WHERE scope = 'email' AND key = v_email;
    END IF;
    device_token := nmc.device_remember(u, dev);
    PERFORM set_config('nmc.user_id', u.id::text, true);
    RETURN nmc.respond(200, jsonb_build_object('token', nmc.issue_token(u), 'user', nmc.user_json(u))
                            || CASE WHEN device_token IS NOT NULL THEN jsonb_build_object('device', device_token) ELSE '{}' END);
END
$$;
COMMENT ON FUNCTION nmc.login(jsonb, text) IS
    'Checks {email, password[, device][, login_code]}; 200 {token, user[, device]} (device: a new device token for the browser to keep and send as device next time), 401 invalid_credentials (counted) or invalid_login_code, or 429 rate_limited with Retry-After while the email or address must wait (nmc.login_throttled) — unless the login comes from a known device or with a texted sign-in code. Failures are returned, not raised, so they are recorded. Runs as nmc_auth to find the user before the tenant is known.';
CREATE OR REPLACE FUNCTION nmc.api_auth_unlock(req jsonb)
RETURNS nmc.http_response
LANGUAGE sql
AS $$ SELECT nmc.login_code_request(req -> 'body', req ->> 'client_addr') $$;
COMMENT ON FUNCTION nmc.api_auth_unlock(jsonb) IS 'POST /api/auth/unlock: see nmc.login_code_request.';
INSERT INTO nmc.api_routes (route_method, route_path, handler, auth, summary) VALUES
    ('POST', '/api/auth/unlock', 'api_auth_unlock', 'public', 'Text a sign-in code to the business''s phone (passes the login throttle)');
CREATE OR REPLACE FUNCTION nmc.housekeeping(OUT jobs_deleted bigint, OUT attempts_deleted bigint, OUT timers_deleted bigint,
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

-- twilio.sms.login_code: a sign-in code to the business's own phone.
INSERT INTO nmc.job_kinds (kind, provider, max_attempts, connect_timeout_ms, total_timeout_ms, description) VALUES
    ('twilio.sms.login_code', 'twilio', 4, 3000, 15000, 'Text a sign-in code to the business''s own phone, outside any customer''s thread');
CREATE OR REPLACE FUNCTION nmc.twilio_message_simulated(from_phone text, to_phone text, body text)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    sid text := nmc.twilio_random_sid('SM');
    acct text := coalesce(nullif(nmc.setting('twilio_account_sid'), ''), 'AC' || repeat('0', 32));
BEGIN
    RETURN jsonb_build_object(
        'account_sid', acct, 'api_version', '2010-04-01', 'body', body,
        'date_created', nmc.twilio_date(now()), 'date_sent', NULL, 'date_updated', nmc.twilio_date(now()),
        'direction', 'outbound-api', 'error_code', NULL, 'error_message', NULL,
        'from', from_phone, 'messaging_service_sid', NULL, 'num_media', '0',
        'num_segments', (nmc.sms_segments(body)).segments::text, 'price', NULL, 'price_unit', 'USD',
        'sid', sid, 'status', 'queued', 'to', to_phone,
        'uri', '/2010-04-01/Accounts/' || acct || '/Messages/' || sid || '.json',
        'nmc_simulated', true);
END
$$;
COMMENT ON FUNCTION nmc.twilio_message_simulated(text, text, text) IS 'Sandbox mode: the Message resource Twilio would answer a send with, with a fresh SID; nothing is sent.';
CREATE OR REPLACE FUNCTION nmc.twilio_sms_send_simulate(j nmc.jobs)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    m nmc.messages;
BEGIN
    SELECT * INTO m FROM nmc.messages WHERE id = (j.payload ->> 'message_id')::uuid;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'message % no longer exists', j.payload ->> 'message_id';
    END IF;
    RETURN nmc.twilio_message_simulated(m.from_phone, m.to_phone, m.body);
END
$$;
COMMENT ON FUNCTION nmc.twilio_sms_send_simulate(nmc.jobs) IS 'Sandbox mode: the response Twilio would give to twilio.sms.send; nothing is sent.';
CREATE OR REPLACE FUNCTION nmc.twilio_sms_login_code_build(j nmc.jobs, cfg jsonb)
RETURNS nmc.http_request
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    body text;
BEGIN
    SELECT text_to_send INTO body FROM nmc.login_codes WHERE id = (j.payload ->> 'login_code_id')::uuid;
    IF body IS NULL THEN
        PERFORM nmc.job_permanent_error('the sign-in code was already sent, given up on, or deleted', 'nothing_to_send');
    END IF;
    RETURN nmc.twilio_request(cfg, 'POST', 'Messages.json', jsonb_build_object(
        'To', j.payload ->> 'to', 'From', j.payload ->> 'from', 'Body', body));
END
$$;
COMMENT ON FUNCTION nmc.twilio_sms_login_code_build(nmc.jobs, jsonb) IS 'twilio.sms.login_code: POST Messages.json to the payload''s To from its From, with the code''s text_to_send as Body (no message row, no status callback).';
CREATE OR REPLACE FUNCTION nmc.twilio_sms_login_code_done(j nmc.jobs)
RETURNS void
LANGUAGE sql
AS $$ UPDATE nmc.login_codes SET text_to_send = NULL WHERE id = (j.payload ->> 'login_code_id')::uuid $$;
COMMENT ON FUNCTION nmc.twilio_sms_login_code_done(nmc.jobs) IS 'twilio.sms.login_code sent or given up: the text with the code in it is forgotten.';
CREATE OR REPLACE FUNCTION nmc.twilio_sms_login_code_apply(j nmc.jobs, response jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM nmc.twilio_sms_login_code_done(j);
    RETURN response - 'body' - 'nmc_simulated';
END
$$;
COMMENT ON FUNCTION nmc.twilio_sms_login_code_apply(nmc.jobs, jsonb) IS 'twilio.sms.login_code success: the code''s text is forgotten, and the job result is Twilio''s answer without the body.';
CREATE OR REPLACE FUNCTION nmc.twilio_sms_login_code_simulate(j nmc.jobs)
RETURNS jsonb
LANGUAGE sql
AS $$
    SELECT nmc.twilio_message_simulated(j.payload ->> 'from', j.payload ->> 'to',
                                        coalesce((SELECT text_to_send FROM nmc.login_codes WHERE id = (j.payload ->> 'login_code_id')::uuid), '(sent)'))
$$;
COMMENT ON FUNCTION nmc.twilio_sms_login_code_simulate(nmc.jobs) IS 'Sandbox mode: the response Twilio would give to twilio.sms.login_code; nothing is sent.';
CREATE OR REPLACE FUNCTION nmc.job_build_request(j nmc.jobs, cfg jsonb)
RETURNS nmc.http_request
LANGUAGE plpgsql
AS $$
BEGIN
    CASE j.kind
        WHEN 'twilio.sms.send' THEN RETURN nmc.twilio_sms_send_build(j, cfg);
        WHEN 'twilio.sms.login_code' THEN RETURN nmc.twilio_sms_login_code_build(j, cfg);
        WHEN 'twilio.numbers.search' THEN RETURN nmc.twilio_numbers_search_build(j, cfg);
        WHEN 'twilio.numbers.buy' THEN RETURN nmc.twilio_numbers_buy_build(j, cfg);
        WHEN 'openai.chat' THEN RETURN nmc.openai_chat_build(j, cfg);
        WHEN 'maps.geocode' THEN RETURN nmc.maps_geocode_build(j, cfg);
        WHEN 'push.send' THEN RETURN nmc.push_send_build(j, cfg);
    END CASE;
END
$$;
COMMENT ON FUNCTION nmc.job_build_request(nmc.jobs, jsonb) IS 'The HTTP request for a job, by kind, from the settings in cfg (raises for an unknown kind: the job then fails alone).';
CREATE OR REPLACE FUNCTION nmc.job_apply(j nmc.jobs, response jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
BEGIN
    CASE j.kind
        WHEN 'twilio.sms.send' THEN RETURN nmc.twilio_sms_send_apply(j, response);
        WHEN 'twilio.sms.login_code' THEN RETURN nmc.twilio_sms_login_code_apply(j, response);
        WHEN 'twilio.numbers.search' THEN RETURN nmc.twilio_numbers_search_apply(j, response);
        WHEN 'twilio.numbers.buy' THEN RETURN nmc.twilio_numbers_buy_apply(j, response);
        WHEN 'openai.chat' THEN RETURN nmc.openai_chat_apply(j, response);
        WHEN 'maps.geocode' THEN RETURN nmc.maps_geocode_apply(j, response);
        WHEN 'push.send' THEN RETURN nmc.push_send_apply(j, response);
    END CASE;
END
$$;
COMMENT ON FUNCTION nmc.job_apply(nmc.jobs, jsonb) IS 'Applies a successful response to the domain, by kind; returns what to keep as the job result.';
CREATE OR REPLACE FUNCTION nmc.job_simulate(j nmc.jobs)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN CASE j.kind
        WHEN 'twilio.sms.send' THEN nmc.twilio_sms_send_simulate(j)
        WHEN 'twilio.sms.login_code' THEN nmc.twilio_sms_login_code_simulate(j)
        WHEN 'twilio.numbers.search' THEN nmc.twilio_numbers_search_simulate(j)
        WHEN 'twilio.numbers.buy' THEN nmc.twilio_numbers_buy_simulate(j)
    END;
END
$$;
COMMENT ON FUNCTION nmc.job_simulate(nmc.jobs) IS 'Sandbox mode: the response the provider would give, by kind, or NULL for kinds that are never simulated.';
CREATE OR REPLACE FUNCTION nmc.job_on_failure(j nmc.jobs, code text, message text)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    IF j.kind = 'twilio.sms.send' THEN
        PERFORM nmc.twilio_sms_send_failed(j, code, message);
    ELSIF j.kind = 'twilio.sms.login_code' THEN
        PERFORM nmc.twilio_sms_login_code_done(j);
    ELSIF j.kind = 'openai.chat' AND j.payload ? 'turn_id' THEN
        PERFORM nmc.ai_turn_failed(j, message);
    ELSIF j.kind = 'maps.geocode' THEN
        PERFORM nmc.maps_geocode_effects(j, NULL);
    ELSIF j.kind = 'push.send' THEN
        PERFORM nmc.push_send_failed(j, code);
    END IF;
END
$$;
COMMENT ON FUNCTION nmc.job_on_failure(nmc.jobs, text, text) IS 'Domain effects of a permanent failure, by kind: a failed text marks the message (and may mark the customer); a sign-in code given up on forgets its text; a failed model call hands the conversation to a person; a failed geocoding answers the assistant''s area check; a push to a device gone (404, 410) forgets the device.';

-- A circuit per provider: an outage of any length loses no text; what a text
-- would say is checked again when it finally goes out (sql/provider_circuits.sql).
INSERT INTO nmc.settings (name, value, is_secret, description) VALUES
    ('circuit_failure_threshold', '5', false, 'Transient failures of a provider in a row (any jobs) that open its circuit: its jobs then wait, unspent, behind one probe at a time.'),
    ('circuit_probe_base_ms', '2000', false, 'First wait before probing a provider whose circuit opened; doubles per failed probe.'),
    ('circuit_probe_max_ms', '60000', false, 'Longest wait between probes of a provider that is down.'),
    ('stale_text_seconds', '3600', false, 'A text that could not go out for this long (a provider outage) is not sent; the owner is told instead.');
ALTER TABLE nmc.jobs ADD COLUMN held_at timestamptz;
ALTER TABLE nmc.jobs ADD COLUMN retry_budget_from int NOT NULL DEFAULT 0;
CREATE INDEX jobs_held ON nmc.jobs (id) WHERE held_at IS NOT NULL AND status = 'queued';
COMMENT ON COLUMN nmc.jobs.held_at IS 'Since when the job waits behind its provider''s open circuit (sql/provider_circuits.sql): not sent, its retry budget not spent.';
COMMENT ON COLUMN nmc.jobs.retry_budget_from IS 'Attempts made before the retry budget was last renewed: a job released from behind a circuit gets max_attempts more.';
ALTER TABLE nmc.job_attempts DROP CONSTRAINT job_attempts_outcome_check;
ALTER TABLE nmc.job_attempts ADD CONSTRAINT job_attempts_outcome_check CHECK (outcome IN ('done', 'retry', 'failed', 'stale', 'held'));
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
CREATE OR REPLACE FUNCTION nmc.circuit_failure(p_provider text, p_error text)
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
CREATE OR REPLACE FUNCTION nmc.circuit_success(p_provider text)
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
CREATE OR REPLACE FUNCTION nmc.circuit_hold_and_probe()
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
CREATE OR REPLACE FUNCTION nmc.circuit_probe_again(p_provider text, was_probe boolean)
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
CREATE OR REPLACE FUNCTION nmc.provider_circuit_status()
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
CREATE OR REPLACE FUNCTION nmc.job_not_wanted(message text, code text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'NMD01', MESSAGE = message, DETAIL = code;
END $$;
COMMENT ON FUNCTION nmc.job_not_wanted(text, text) IS 'For build functions: at the moment it would go out, this job''s request is no longer wanted (code says why); the dispatcher drops the job (nmc.job_drop) instead of sending.';
CREATE OR REPLACE FUNCTION nmc.job_drop(j nmc.jobs, p_code text, p_message text)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM nmc.job_finish(j, 'cancelled', NULL, NULL, p_message, p_code);
    PERFORM nmc.job_on_dropped(j, p_code, p_message);
END
$$;
COMMENT ON FUNCTION nmc.job_drop(nmc.jobs, text, text) IS 'A job no longer wanted when it would go out: cancelled with the reason, and its kind''s domain effects (nmc.job_on_dropped).';
CREATE OR REPLACE FUNCTION nmc.job_retry_or_fail(j nmc.jobs, k nmc.job_kinds, p_http_status int, p_code text,
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
         WHERE id = j.id;
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
     WHERE id = j.id;
    RETURN 'retry';
END
$$;
COMMENT ON FUNCTION nmc.job_retry_or_fail(nmc.jobs, nmc.job_kinds, int, text, text, text) IS 'After a transient failure (counted by the provider''s circuit): held behind the circuit if it is open, else back to queued with backoff, or failed once the retry budget (max_attempts) is spent.';
CREATE OR REPLACE FUNCTION nmc.job_on_dropped(j nmc.jobs, code text, message text)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    IF j.kind = 'twilio.sms.send' THEN
        PERFORM nmc.twilio_sms_send_dropped(j, code, message);
    ELSIF j.kind = 'twilio.sms.login_code' THEN
        PERFORM nmc.twilio_sms_login_code_done(j);
    END IF;
END
$$;
COMMENT ON FUNCTION nmc.job_on_dropped(nmc.jobs, text, text) IS 'Domain effects of a job dropped as no longer wanted, by kind: a text is marked dropped with the reason (and a stale one is told to the owner); a sign-in code forgets its text.';
ALTER TABLE nmc.conversations ADD COLUMN taken_over_at timestamptz;
CREATE OR REPLACE FUNCTION nmc.conversation_takeover(p_conversation_id uuid)
RETURNS nmc.conversations
LANGUAGE plpgsql
AS $$
DECLARE
    c nmc.conversations := nmc.conversation_for_update(p_conversation_id);
BEGIN
    -- The clock, not the transaction's start: read under the lock, it is later
    -- than every assistant text committed before (nmc.twilio_sms_send_build).
    UPDATE nmc.conversations SET taken_over_at = clock_timestamp() WHERE id = c.id RETURNING * INTO c;
    RETURN nmc.conversation_set_mode(c, 'human');
END
$$;
COMMENT ON FUNCTION nmc.conversation_takeover(uuid) IS 'The owner takes the conversation over (on the dashboard, or by texting the customer: nmc.owner_text_received): mode human (taken_over_at recorded, by the clock under the conversation''s lock), any human-window timer cancelled; from then on no AI reply is sent (nmc.ai_send_reply drops new ones; one queued before, still unsent when the takeover came, is dropped when it would go out: nmc.twilio_sms_send_build).';
CREATE OR REPLACE FUNCTION nmc.ai_send_reply(p_conversation_id uuid, p_body text)
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
           format('the conversation was in %s mode when the AI reply arrived', c.mode)
      FROM nmc.phone_numbers p, nmc.customers cu WHERE p.id = c.phone_number_id AND cu.id = c.customer_id
    RETURNING * INTO m;
    PERFORM nmc.emit_event(c.business_id, 'message.created', nmc.message_json(m) - 'body');
    RETURN m;
END
$$;
COMMENT ON FUNCTION nmc.ai_send_reply(uuid, text) IS 'Sends an AI reply only if the conversation is in AI mode at this instant (under its row lock); otherwise keeps it as a dropped message for audit, never sent.';
CREATE OR REPLACE FUNCTION nmc.twilio_sms_send_build(j nmc.jobs, cfg jsonb)
RETURNS nmc.http_request
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    m nmc.messages;
    opted_out timestamptz;
BEGIN
    SELECT * INTO m FROM nmc.messages WHERE id = (j.payload ->> 'message_id')::uuid;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'message % no longer exists', j.payload ->> 'message_id';
    END IF;
    -- Still wanted now that it would go out (after an outage, maybe hours late)?
    SELECT c.opted_out_at INTO opted_out FROM nmc.customers c
     WHERE c.business_id = m.business_id AND c.id = m.customer_id AND c.phone = m.to_phone;
    IF opted_out IS NOT NULL THEN
        PERFORM nmc.job_not_wanted('the customer replied STOP before this text went out', 'opted_out');
    END IF;
    IF m.author = 'ai' AND EXISTS (SELECT 1 FROM nmc.conversations WHERE id = m.conversation_id AND taken_over_at >= m.created_at) THEN
        PERFORM nmc.job_not_wanted('the owner took the conversation over before this assistant text went out', 'taken_over');
    END IF;
    IF m.created_at < now() - make_interval(secs => (cfg ->> 'stale_text_seconds')::int) THEN
        PERFORM nmc.job_not_wanted(format('this text could not go out for %s minutes (a provider outage); too late to send',
                                          floor(extract(epoch FROM now() - m.created_at) / 60)), 'stale');
    END IF;
    RETURN nmc.twilio_request(cfg, 'POST', 'Messages.json', jsonb_build_object(
        'To', m.to_phone, 'From', m.from_phone, 'Body', m.body,
        'StatusCallback', nmc.twilio_webhook_url(cfg, '/webhooks/twilio/sms/status')));
END
$$;
COMMENT ON FUNCTION nmc.twilio_sms_send_build(nmc.jobs, jsonb) IS 'twilio.sms.send: POST Messages.json with To, From, Body and our status callback — unless, at that moment, the customer has opted out, the conversation of an assistant text was taken over, or the text is older than stale_text_seconds (then NMD01: dropped, see nmc.twilio_sms_send_dropped).';
CREATE OR REPLACE FUNCTION nmc.twilio_sms_send_dropped(j nmc.jobs, code text, message text)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    m nmc.messages;
    b nmc.businesses;
    conv nmc.conversations;
BEGIN
    UPDATE nmc.messages SET status = 'dropped', error_message = message, updated_at = now()
     WHERE id = (j.payload ->> 'message_id')::uuid AND status IN ('pending', 'queued')
    RETURNING * INTO m;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    PERFORM nmc.emit_event(m.business_id, 'message.status',
        jsonb_build_object('id', m.id, 'conversation_id', m.conversation_id, 'status', m.status, 'error_code', m.error_code,
                           'reason', code));
    IF code = 'stale' AND m.conversation_id IS NOT NULL THEN
        -- The customer is not texted hours late: the owner is told to call back.
        PERFORM nmc.lead_text_not_delivered(m);
        PERFORM nmc.emit_event(m.business_id, 'message.stale', jsonb_build_object('id', m.id, 'conversation_id', m.conversation_id,
            'customer_id', m.customer_id, 'to', m.to_phone, 'created_at', m.created_at));
        SELECT * INTO b FROM nmc.businesses WHERE id = m.business_id;
        SELECT * INTO conv FROM nmc.conversations WHERE id = m.conversation_id;
        IF conv.id IS NOT NULL THEN
            PERFORM nmc.owner_alert(b, conv, 'call_back', format('Texting was down: %s was not texted back (since %s). Please call them.',
                m.to_phone, to_char(m.created_at AT TIME ZONE b.timezone, 'Mon DD HH24:MI')));
        END IF;
    END IF;
END
$$;
COMMENT ON FUNCTION nmc.twilio_sms_send_dropped(nmc.jobs, text, text) IS 'twilio.sms.send no longer wanted: the message is dropped with the reason (message.status event); a stale text to a customer is told to the owner instead (message.stale event, and a text to the forward-to phone, which goes out now that the provider is back).';
-- Photos of an inbound MMS (sql/sms_threading.sql: nmc.sms_media), before message_json reads them.
ALTER TABLE nmc.messages ADD COLUMN media jsonb CHECK (jsonb_typeof(media) = 'array');
CREATE OR REPLACE FUNCTION nmc.message_json(m nmc.messages)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$ SELECT jsonb_build_object('id', m.id, 'conversation_id', m.conversation_id, 'customer_id', m.customer_id,
                                'direction', m.direction, 'author', m.author, 'body', m.body, 'status', m.status,
                                'error_code', m.error_code, 'error_message', m.error_message, 'simulated', m.simulated,
                                'created_at', m.created_at,
                                'media', (SELECT jsonb_agg(jsonb_build_object('content_type', x ->> 'content_type')) FROM jsonb_array_elements(m.media) x)) $$;
COMMENT ON FUNCTION nmc.message_json(nmc.messages) IS 'The API representation of a message (events carry only its id and status); media: the content types of an MMS''s photos (never their provider URLs), NULL when none.';
CREATE OR REPLACE FUNCTION nmc.sms_media(params jsonb)
RETURNS jsonb
LANGUAGE sql IMMUTABLE
AS $$
    SELECT jsonb_agg(jsonb_build_object('content_type', coalesce(params ->> ('MediaContentType' || n), 'application/octet-stream'),
                                        'url', params ->> ('MediaUrl' || n)) ORDER BY n)
      FROM generate_series(0, least(coalesce(nullif(substring(params ->> 'NumMedia' FROM '^[0-9]{1,2}$'), '')::int, 0), 10) - 1) n
     WHERE params ->> ('MediaUrl' || n) IS NOT NULL
$$;
COMMENT ON FUNCTION nmc.sms_media(jsonb) IS 'The media of an inbound MMS from Twilio''s NumMedia, MediaUrlN and MediaContentTypeN (zero-based; at most 10), or NULL for a plain text.';
CREATE OR REPLACE FUNCTION nmc.sms_media_words(media jsonb)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
    SELECT CASE WHEN bool_and(x ->> 'content_type' LIKE 'image/%')
                THEN CASE WHEN count(*) = 1 THEN '(photo)' ELSE '(' || count(*) || ' photos)' END
                ELSE CASE WHEN count(*) = 1 THEN '(attachment)' ELSE '(' || count(*) || ' attachments)' END END
      FROM jsonb_array_elements(media) x
$$;
COMMENT ON FUNCTION nmc.sms_media_words(jsonb) IS 'How a message with media and no words reads: "(photo)", "(3 photos)", "(attachment)".';
-- A binary request body (Web Push, sql/web_push.sql): the claim returns it too.
ALTER TYPE nmc.http_request ADD ATTRIBUTE body_bytes bytea;
COMMENT ON TYPE nmc.http_request IS 'An outbound HTTP request built by a job kind''s build_fn; lives only in the dispatcher''s memory (it may carry credentials). body_bytes, when set, is sent as the body instead of body.';
DROP FUNCTION nmc.dispatcher_claim(int);
CREATE OR REPLACE FUNCTION nmc.dispatcher_claim(max_jobs int)
RETURNS TABLE (job_id bigint, attempt int, method text, url text, headers text[], body text,
               basic_user text, basic_password text, connect_timeout_ms int, total_timeout_ms int, body_bytes bytea)
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
    probe_ids bigint[];
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
    FOR j IN
        UPDATE nmc.jobs SET status = 'in_flight', attempts = jobs.attempts + 1, updated_at = now(), held_at = NULL,
               lease_expires_at = now() + make_interval(secs => (kk.total_timeout_ms + lease_margin_ms) / 1000.0)
          FROM nmc.job_kinds kk,
               (SELECT d.id FROM (SELECT q.id FROM nmc.jobs q
                                   WHERE q.status = 'queued' AND q.next_attempt_at <= now()
                                   ORDER BY q.next_attempt_at LIMIT max_jobs FOR UPDATE SKIP LOCKED) d
                UNION ALL
                SELECT e.id FROM (SELECT x.id FROM nmc.jobs x
                                   WHERE x.status = 'in_flight' AND x.lease_expires_at <= now()
                                   ORDER BY x.lease_expires_at LIMIT max_jobs FOR UPDATE SKIP LOCKED) e
                UNION ALL
                SELECT unnest(probe_ids)
                LIMIT max_jobs + cardinality(probe_ids)) due
         WHERE jobs.id = due.id AND kk.kind = jobs.kind
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
                PERFORM nmc.job_finish(j, 'failed', NULL, NULL, 'could not build the request: ' || SQLERRM, 'build_error');
                PERFORM nmc.circuit_probe_again(k.provider, j.id = ANY (probe_ids));
        END;
    END LOOP;
END
$$;
COMMENT ON FUNCTION nmc.dispatcher_claim(int) IS
    'Dispatcher: claims up to max_jobs due jobs (queued and due, or in flight with an expired lease) with SKIP LOCKED, plus the probe of each open provider circuit whose probe is due (nmc.circuit_hold_and_probe holds the rest), leases them, and returns their HTTP requests (body_bytes: a binary body, sent instead of body). Sandbox-mode Twilio jobs complete here, simulated. A job whose request cannot be built fails alone; one no longer wanted when it would go out (NMD01) is dropped (nmc.job_drop).';
CREATE OR REPLACE FUNCTION nmc.maps_geocode_build(j nmc.jobs, cfg jsonb)
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
               ARRAY['Accept: application/json'], NULL, NULL, NULL, NULL)::nmc.http_request;
END
$$;
COMMENT ON FUNCTION nmc.maps_geocode_build(nmc.jobs, jsonb) IS 'maps.geocode: GET {maps_api_base}/maps/api/geocode/json?address=…&key=…';
CREATE OR REPLACE FUNCTION nmc.openai_chat_build(j nmc.jobs, cfg jsonb)
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
               NULL, NULL, NULL)::nmc.http_request;
END
$$;
COMMENT ON FUNCTION nmc.openai_chat_build(nmc.jobs, jsonb) IS 'openai.chat: POST {openai_api_base}/chat/completions with payload.request plus the configured model.';
CREATE OR REPLACE FUNCTION nmc.twilio_request(cfg jsonb, method text, resource text, form jsonb DEFAULT NULL, query jsonb DEFAULT NULL)
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
               cfg ->> 'twilio_auth_token', NULL)::nmc.http_request;
END
$$;
COMMENT ON FUNCTION nmc.twilio_request(jsonb, text, text, jsonb, jsonb) IS 'A Twilio REST request for a resource under the configured account (e.g. Messages.json), authenticated with HTTP Basic.';
CREATE OR REPLACE FUNCTION nmc.dispatcher_complete(p_job_id bigint, p_attempt int, p_http_status int, p_retry_after text,
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
CREATE OR REPLACE FUNCTION nmc.dispatcher_plan(OUT next_job_due_ms bigint, OUT next_timer_due_ms bigint, OUT idle_poll_ms int,
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
CREATE OR REPLACE FUNCTION nmc.api_status(req jsonb)
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
        'providers', nmc.provider_circuit_status(),
        -- The edge that answers adds its live-feed figures to every request.
        -- Twilio's webhooks the answering edge kept while the database was down, not yet replayed.
        'edge_spool', CASE WHEN req #>> '{headers,x-nmc-edge-spool-waiting}' ~ '^[0-9]+$' THEN jsonb_build_object(
                         'waiting', (req #>> '{headers,x-nmc-edge-spool-waiting}')::bigint) END,
        'websocket', CASE WHEN req #>> '{headers,x-nmc-edge-ws-clients}' ~ '^[0-9]+$' THEN jsonb_build_object(
                         'clients', (req #>> '{headers,x-nmc-edge-ws-clients}')::bigint,
                         'dropped_slow', (req #>> '{headers,x-nmc-edge-ws-dropped-slow}')::bigint) END));
END
$$;
COMMENT ON FUNCTION nmc.api_status(jsonb) IS 'GET /api/status: database, sandbox mode, whether the dispatcher and the inbox worker run (heartbeats), and — of the caller''s business only — its queued jobs, its webhooks waiting in the inbox and provider successes / retries / failures over 5 minutes; each provider''s circuit (open when it is down, since when) and how many of its jobs wait behind it; and the answering edge''s WebSocket clients (connected, dropped for being slow) and the webhooks it kept while the database was down and has not replayed yet.';

-- Twilio's webhooks while the database is down: the edge answers from
-- nmc_api.webhook_fallbacks, spools them and replays them later.
ALTER TABLE nmc.calls DROP CONSTRAINT calls_missed_reason_check;
ALTER TABLE nmc.calls ADD CONSTRAINT calls_missed_reason_check
    CHECK (missed_reason IN ('no-answer', 'busy', 'failed', 'canceled', 'not-bridged', 'after_hours', 'no_forward_phone', 'outage'));
CREATE OR REPLACE FUNCTION nmc.dial_missed_statuses()
RETURNS text[]
LANGUAGE sql IMMUTABLE
AS $$ SELECT ARRAY['no-answer', 'busy', 'failed', 'canceled'] $$;
COMMENT ON FUNCTION nmc.dial_missed_statuses() IS 'The DialCallStatus values of a forward nobody answered.';
CREATE OR REPLACE FUNCTION nmc.call_dial_missed_reason(params jsonb)
RETURNS text
LANGUAGE sql
IMMUTABLE
AS $$
    SELECT CASE WHEN params ->> 'DialCallStatus' = ANY (nmc.dial_missed_statuses()) THEN params ->> 'DialCallStatus'
                WHEN params ->> 'DialBridged' = 'false' THEN 'not-bridged' END
$$;
COMMENT ON FUNCTION nmc.call_dial_missed_reason(jsonb) IS 'Why the forwarded call counts as missed, from the <Dial> action''s fields: no-answer, busy, failed, canceled, or not-bridged; NULL when the owner answered.';
CREATE OR REPLACE FUNCTION nmc.call_missed(c nmc.calls, p_reason text, at timestamptz)
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
    ELSIF caller = ANY (nmc.owner_phones(b)) THEN
        -- No customer, no lead: the owner called their own number.
        v_decision := 'suppressed_owner';
        why := 'the call came from the owner''s own phone';
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
        ELSIF p_reason NOT IN ('after_hours', 'no_forward_phone', 'outage')
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
    'A call missed at the moment at (when its webhook was accepted), in the caller''s transaction: customer, lead (new, or the active one touched), and the text decision — one of the owner''s own phones (no customer, no lead), blocked, opted out, unreachable, hung up before min_ring_seconds, greeted within repeat_window_seconds, or texted (open conversation, rendered greeting, twilio.sms.send job). Emits call.missed.';
CREATE OR REPLACE FUNCTION nmc.webhook_voice(req jsonb)
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
    -- Kept by the edge while the database was down: the caller was told a
    -- text is coming (nmc_api.webhook_fallbacks), so the call is missed.
    answer := CASE WHEN req #>> '{body,nmc_spooled_at}' IS NOT NULL THEN 'outage'
                   WHEN b.forward_to_phone IS NULL THEN 'no_forward_phone'
                   WHEN nmc.phone_or_null(req #>> '{body,From}') = b.forward_to_phone THEN 'owner_phone'
                   WHEN NOT nmc.business_is_open(b.id) THEN 'after_hours'
                   ELSE 'forward' END;
    answer := nmc.webhook_inbox_put('voice', sid, pn, (req -> 'body') || jsonb_build_object('nmc_answer', answer)) ->> 'nmc_answer';
    IF answer IS NULL THEN
        -- Twilio retried after the call was applied: the answer it got then.
        SELECT * INTO c FROM nmc.calls WHERE twilio_call_sid = sid;
        answer := CASE WHEN c.status = 'missed' AND c.missed_reason IN ('after_hours', 'no_forward_phone', 'owner_phone') THEN c.missed_reason
                       WHEN c.status = 'missed' THEN 'missed'   -- outage too: a text is coming
                       WHEN c.status IN ('ringing', 'forwarded') THEN 'forward' END;
    END IF;
    RETURN nmc.call_answer_twiml(b, answer);
END
$$;
COMMENT ON FUNCTION nmc.webhook_voice(jsonb) IS 'POST /webhooks/twilio/voice: an incoming call, accepted into the webhook inbox and answered at once. Open → forward to the owner (<Dial> with ring timeout and action); closed or no forward phone → the after-hours message (the call is then missed: nmc.call_rang); from the forward-to phone itself → told it is the owner''s own number (missed, reason owner_phone, never texted); replayed from the edge''s spool (the database was down, the caller was told a text is coming) → missed, reason outage. Idempotent on CallSid: a retry gets the same answer.';
CREATE OR REPLACE FUNCTION nmc.webhook_inbox_put(p_kind text, p_key text, pn nmc.phone_numbers, p_params jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    recorded jsonb;
BEGIN
    -- A webhook the edge kept while the database was down happened when it arrived there.
    INSERT INTO nmc.webhook_inbox (business_id, phone_number_id, webhook_key, params, kind, received_at)
    VALUES (pn.business_id, pn.id, p_key, p_params, p_kind, coalesce((p_params ->> 'nmc_spooled_at')::timestamptz, clock_timestamp()))
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
COMMENT ON FUNCTION nmc.webhook_inbox_put(text, text, nmc.phone_numbers, jsonb) IS 'How every Twilio webhook is accepted: one insert into nmc.webhook_inbox for the business of the number pn, idempotent on (kind, key), waking the inbox worker at commit; received when the edge received it (params.nmc_spooled_at, for a webhook replayed from its spool) or now. Returns the params recorded — these, or those of an earlier delivery of the same webhook that still waits — or NULL when an earlier delivery was applied already (applying is idempotent too).';
CREATE OR REPLACE FUNCTION nmc_api.handle(method text, path text, query jsonb, request_headers jsonb,
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
            -- Replayed from the edge's spool: when the edge received it (epoch ms).
            IF coalesce(request_headers ->> 'x-nmc-spooled-at', '') ~ '^[0-9]{10,15}$' THEN
                parsed := parsed || jsonb_build_object('nmc_spooled_at',
                                        to_timestamp((request_headers ->> 'x-nmc-spooled-at')::bigint / 1000.0));
            END IF;
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
        ELSIF err_state IN ('23505', '23503', '23P01') THEN
            -- A rule the schema enforces that no handler checked first: the
            -- request conflicts with what is stored; a client's mistake, not ours.
            RAISE LOG 'nmc_api.handle % %: refused by a constraint: % %', upper(handle.method), handle.path, err_state, err_message;
            resp := nmc.respond(409, nmc.error_body('conflict', CASE err_state
                WHEN '23505' THEN 'this conflicts with something that already exists'
                WHEN '23503' THEN 'this refers to something that does not exist, or is still in use'
                ELSE 'this overlaps with something that already exists' END));
        ELSIF err_state IN ('23502', '23514', '22001', '22003', '22007', '22008', '22023', '22P02') THEN
            -- A value the schema refuses (empty, out of range, too long, malformed).
            RAISE LOG 'nmc_api.handle % %: refused input: % %', upper(handle.method), handle.path, err_state, err_message;
            resp := nmc.respond(400, nmc.error_body('invalid_input', 'a value in the request is not acceptable (missing, too long, out of range or malformed)'));
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
    'The edge''s one entry point for /api and /webhooks: (method, path, query args, lower-cased request headers, client address, raw body, raw query string) → (status, content type, extra header lines, body). API errors are JSON {"error":{"code","message"[,"field"]}}: NMxxx errors with their status, a constraint the request ran into 409 conflict, a value the schema refuses 400 invalid_input, anything else 500; Twilio webhooks are signature-checked and answer TwiML; one the edge replays from its spool carries x-nmc-spooled-at (epoch ms of its arrival), passed to the handler as body.nmc_spooled_at.';
-- webhook_fallbacks.sql — what the edge may answer Twilio with while the
-- database is down (it then keeps the webhook in its spool and replays it when
-- the database is back: edge/webhook_spool.c). The words and rules stay here;
-- the edge keeps a copy and only matches a path and one form field.
CREATE FUNCTION nmc_api.webhook_fallbacks()
RETURNS TABLE (path text, seq int, match_field text, match_values text[], content_type text, body text)
LANGUAGE sql STABLE
SECURITY DEFINER
SET search_path = nmc, public, pg_temp
AS $$
    WITH r(path, seq, match_field, match_values, answer) AS (VALUES
        -- No one can be reached to forward to: the caller is told a text is coming (nmc.webhook_voice records it as missed, reason outage).
        ('/webhooks/twilio/voice', 1, NULL::text, NULL::text[],
         nmc.twiml_say_and_hang_up('Sorry, we can''t take your call right now. We will text you right away.')),
        -- The forward ended: missed as nmc.call_dial_missed_reason says, else hang up.
        ('/webhooks/twilio/voice/dial', 1, 'DialCallStatus', nmc.dial_missed_statuses(),
         nmc.twiml_say_and_hang_up('Sorry we couldn''t take your call. We will text you right away.')),
        ('/webhooks/twilio/voice/dial', 2, 'DialBridged', ARRAY['false'],
         nmc.twiml_say_and_hang_up('Sorry we couldn''t take your call. We will text you right away.')),
        ('/webhooks/twilio/voice/dial', 3, NULL, NULL, nmc.twiml('<Hangup/>')),
        ('/webhooks/twilio/voice/status', 1, NULL, NULL, nmc.twiml(NULL)),
        ('/webhooks/twilio/sms', 1, NULL, NULL, nmc.twiml(NULL)),
        ('/webhooks/twilio/sms/status', 1, NULL, NULL, nmc.twiml(NULL)))
    SELECT r.path, r.seq, r.match_field, r.match_values, (r.answer).content_type, (r.answer).text_body
      FROM r ORDER BY r.path, r.seq
$$;
COMMENT ON FUNCTION nmc_api.webhook_fallbacks() IS
    'For the edge: per Twilio webhook path, the answers it may give while the database is down, in order — the first whose form field match_field has one of match_values (or that has no match_field) wins. The edge fetches these whenever it reaches the database and keeps them on disk; a webhook answered this way is spooled and replayed later with x-nmc-spooled-at (nmc_api.handle).';

-- The record tells the truth: a call says where its text is, a lead why its
-- text did not arrive, whichever way it failed.
CREATE OR REPLACE FUNCTION nmc.call_json(c nmc.calls)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$ SELECT jsonb_build_object('id', c.id, 'from', c.from_raw, 'to', c.to_phone, 'status', c.status, 'missed_reason', c.missed_reason,
                                'decision', c.decision, 'decision_reason', c.decision_reason, 'customer_id', c.customer_id,
                                'lead_id', c.lead_id, 'conversation_id', c.conversation_id, 'message_id', c.message_id,
                                'duration_seconds', c.duration_seconds, 'created_at', c.created_at, 'missed_at', c.missed_at,
                                'text', (SELECT jsonb_build_object('status', m.status, 'error_code', m.error_code, 'error_message', m.error_message)
                                           FROM nmc.messages m WHERE m.id = c.message_id)) $$;
COMMENT ON FUNCTION nmc.call_json(nmc.calls) IS 'The API and event representation of a call, with its text decision and, when texted, where that text is now (text: status pending/queued/sent/delivered/undelivered/failed/dropped, with the provider''s code and the reason).';
CREATE OR REPLACE FUNCTION nmc.api_leads_list(req jsonb)
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
                                                                                    'created_at', c.created_at, 'message_id', c.message_id,
                                                                                    'text_status', (SELECT m.status FROM nmc.messages m WHERE m.id = c.message_id))
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
CREATE OR REPLACE FUNCTION nmc.lead_text_not_delivered(m nmc.messages)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    l nmc.leads;
BEGIN
    UPDATE nmc.leads SET delivery_error = coalesce(m.error_message, 'not delivered')
     WHERE id = (SELECT lead_id FROM nmc.conversations WHERE id = m.conversation_id)
    RETURNING * INTO l;
    IF FOUND THEN
        PERFORM nmc.emit_event(l.business_id, 'lead.updated', nmc.lead_json(l));
        PERFORM nmc.owner_alert(b, c, 'undelivered', format('Our text to %s did not arrive (%s). %s',
                    nmc.owner_alert_who(c), coalesce(m.error_message, 'not delivered'), nmc.owner_alert_link(c)))
          FROM nmc.businesses b, nmc.conversations c WHERE b.id = m.business_id AND c.id = m.conversation_id;
    END IF;
END
$$;
COMMENT ON FUNCTION nmc.lead_text_not_delivered(nmc.messages) IS 'Our text in a lead''s conversation did not reach the customer (Twilio reported it undelivered or failed, the send failed for good, or it was too late to send after an outage): the lead shows why (delivery_error), lead.updated, and the owner''s phone is told (kind undelivered).';
CREATE OR REPLACE FUNCTION nmc.message_status_reported(t nmc.webhook_inbox)
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
    ELSIF new_status IN ('undelivered', 'failed') THEN
        PERFORM nmc.lead_text_not_delivered(m);
    END IF;
END
$$;
COMMENT ON FUNCTION nmc.message_status_reported(nmc.webhook_inbox) IS 'Applies an accepted delivery status callback, only if it moves the message forward; delivered moves its lead to contacted, a delivery failure shows on the lead (nmc.lead_text_not_delivered).';
CREATE OR REPLACE FUNCTION nmc.twilio_sms_send_failed(j nmc.jobs, code text, message text)
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
    PERFORM nmc.lead_text_not_delivered(m);
    -- About the phone it went to: an alert to the owner is recorded against the
    -- customer it is about, whose own phone this says nothing of.
    IF code = '21610' THEN
        UPDATE nmc.customers SET opted_out_at = coalesce(opted_out_at, now())
         WHERE business_id = m.business_id AND id = m.customer_id AND phone = m.to_phone;
        -- The owner's phone texted STOP to this number: alerts to it stop until START.
        UPDATE nmc.businesses b SET owner_phone_stopped = m.to_phone, owner_phone_stopped_at = now()
         WHERE b.id = m.business_id AND m.to_phone = ANY (nmc.owner_phones(b)) AND b.owner_phone_stopped IS DISTINCT FROM m.to_phone;
    ELSIF code IN ('21211', '21614') THEN
        UPDATE nmc.customers SET sms_unreachable_at = coalesce(sms_unreachable_at, now()),
               sms_unreachable_reason = CASE code WHEN '21211' THEN 'not a valid phone number (Twilio 21211)'
                                                  ELSE 'cannot receive text messages, e.g. a landline (Twilio 21614)' END
         WHERE business_id = m.business_id AND id = m.customer_id AND phone = m.to_phone;
    END IF;
END
$$;
COMMENT ON FUNCTION nmc.twilio_sms_send_failed(nmc.jobs, text, text) IS
    'twilio.sms.send permanent failure: the message is failed with Twilio''s code (message.status emitted, the lead shows it); 21610 marks the customer opted out (or, for a text to one of the owner''s phones, stops texts to that phone: owner_phone_stopped), 21211/21614 mark the number unable to receive texts — only when the text went to the customer''s own phone.';

-- Alerts to the owner's phone (sql/owner_alerts.sql): a verified alert phone,
-- the kinds wanted, quiet hours, spacing; the one function that texts the owner.
ALTER TABLE nmc.businesses ADD COLUMN alert_phone nmc.e164;
ALTER TABLE nmc.businesses ADD COLUMN alert_phone_verified_at timestamptz;
ALTER TABLE nmc.businesses ADD COLUMN alert_kinds text[] NOT NULL DEFAULT '{booking,customer_replied,handoff,undelivered}'
    CHECK (alert_kinds <@ '{booking,customer_replied,handoff,undelivered}');
ALTER TABLE nmc.businesses ADD COLUMN quiet_hours_start time;
ALTER TABLE nmc.businesses ADD COLUMN quiet_hours_end time;
ALTER TABLE nmc.businesses ADD CHECK ((quiet_hours_start IS NULL) = (quiet_hours_end IS NULL));
ALTER TABLE nmc.businesses ADD COLUMN owner_phone_stopped nmc.e164;
ALTER TABLE nmc.businesses ADD COLUMN owner_phone_stopped_at timestamptz;
INSERT INTO nmc.settings (name, value, is_secret, description) VALUES
    ('alert_min_gap_seconds', '180', false, 'At most one alert to the owner''s phone per conversation within this (emergencies excepted).'),
    ('owner_tag_seconds', '604800', false, 'An alert''s #number stays with its conversation this long after its last alert; the owner''s "#N …" reaches it meanwhile.'),
    ('owner_reply_window_seconds', '86400', false, 'A text from the owner''s phone without #N goes to the conversation of the latest alert sent within this.'),
    ('owner_reply_settle_seconds', '60', false, 'A text from the owner''s phone without #N, coming this soon after an alert while another conversation was alerted too, is not sent: the owner is asked which customer.');
DROP FUNCTION nmc.owner_alert_send(nmc.businesses, nmc.conversations, text);
-- owner_alerts.sql — the owner's phone, for an owner away from the dashboard:
-- an alert phone verified by a texted code, which kinds of alert go to it
-- (a customer replied and it is the owner's turn, a booking, the assistant
-- handing over, a text that did not arrive), quiet hours in the business's
-- time zone, at most one alert per conversation per alert_min_gap_seconds —
-- and the one function that texts the owner (emergencies too). An alert about
-- a conversation starts with its #number, which the owner's text replies use
-- (sql/owner_texts.sql).
CREATE TABLE nmc.owner_alerts (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    business_id     uuid NOT NULL REFERENCES nmc.businesses (id) ON DELETE CASCADE,
    conversation_id uuid,
    kind            text NOT NULL CHECK (kind IN ('customer_replied', 'emergency', 'booking', 'handoff', 'undelivered', 'call_back')),
    message_id      uuid,
    created_at      timestamptz NOT NULL DEFAULT now(),
    tag             int CHECK (tag > 0)
);
COMMENT ON TABLE nmc.owner_alerts IS 'Every alert texted to the owner: which conversation it named and why (the spacing of alerts per conversation is counted here), and the #number (tag) it gave that conversation: the owner''s "#N …" replies reach it.';
CREATE INDEX owner_alerts_conversation ON nmc.owner_alerts (conversation_id, created_at);
CREATE INDEX owner_alerts_business ON nmc.owner_alerts (business_id, created_at);
ALTER TABLE nmc.owner_alerts ENABLE ROW LEVEL SECURITY;
ALTER TABLE nmc.owner_alerts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON nmc.owner_alerts
    USING (business_id = nmc.current_business_id())
    WITH CHECK (business_id = nmc.current_business_id());

CREATE FUNCTION nmc.owner_phone(b nmc.businesses)
RETURNS text
LANGUAGE sql STABLE
AS $$ SELECT CASE WHEN b.alert_phone_verified_at IS NOT NULL THEN b.alert_phone ELSE b.forward_to_phone END $$;
COMMENT ON FUNCTION nmc.owner_phone(nmc.businesses) IS 'Where texts for the owner go: the verified alert phone, else the forward-to phone.';

CREATE FUNCTION nmc.owner_phones(b nmc.businesses)
RETURNS text[]
LANGUAGE sql STABLE
AS $$ SELECT array_remove(ARRAY[b.forward_to_phone::text, CASE WHEN b.alert_phone_verified_at IS NOT NULL THEN b.alert_phone::text END], NULL) $$;
COMMENT ON FUNCTION nmc.owner_phones(nmc.businesses) IS 'The owner''s own phones: the forward-to phone and the verified alert phone. A text from one is the owner talking (nmc.owner_text_received), a call from one is never a missed customer (nmc.call_missed).';

CREATE FUNCTION nmc.owner_alert_send(b nmc.businesses, p_customer_id uuid, p_phone_number_id uuid, body text, p_to text DEFAULT NULL)
RETURNS nmc.messages
LANGUAGE plpgsql
AS $$
DECLARE
    m nmc.messages;
    to_phone text := coalesce(p_to, nmc.owner_phone(b));
    from_phone text := coalesce((SELECT phone FROM nmc.phone_numbers WHERE id = p_phone_number_id),
                                (SELECT phone FROM nmc.phone_numbers WHERE business_id = b.id ORDER BY created_at, id LIMIT 1));
BEGIN
    -- A phone that texted STOP is not texted (Twilio would refuse it anyway).
    IF to_phone IS NULL OR from_phone IS NULL OR to_phone = b.owner_phone_stopped THEN
        RETURN NULL;
    END IF;
    -- Recorded against the customer it is about (if any), outside their thread.
    INSERT INTO nmc.messages (business_id, customer_id, conversation_id, direction, author, from_phone, to_phone, body, status)
    VALUES (b.id, p_customer_id, NULL, 'outbound', 'system', from_phone, to_phone, left(body, 480), 'pending')
    RETURNING * INTO m;
    PERFORM nmc.sms_enqueue(m);
    RETURN m;
END
$$;
COMMENT ON FUNCTION nmc.owner_alert_send(nmc.businesses, uuid, uuid, text, text) IS 'Texts the owner — p_to, else nmc.owner_phone — from the business number (the given one, else its first); recorded as a system message about the customer (if any), outside the conversation. NULL when there is no phone to text, none to text from, or the phone texted STOP.';

CREATE FUNCTION nmc.owner_alert(b nmc.businesses, conv nmc.conversations, p_kind text, body text)
RETURNS nmc.messages
LANGUAGE plpgsql
AS $$
DECLARE
    m nmc.messages;
    local_time time := (now() AT TIME ZONE b.timezone)::time;
    quiet boolean;
    v_tag int;
    by_text boolean;
    pushed int;
BEGIN
    IF p_kind NOT IN ('emergency', 'call_back') THEN
        -- Everything but danger and a customer we could not text at all: only
        -- the kinds the owner wants, never in their quiet hours, and spaced out.
        IF NOT (p_kind = ANY (b.alert_kinds)) THEN
            RETURN NULL;
        END IF;
        -- Quiet hours may run past midnight (21:00 to 07:00).
        quiet := b.quiet_hours_start IS NOT NULL AND
                 CASE WHEN b.quiet_hours_start <= b.quiet_hours_end THEN local_time >= b.quiet_hours_start AND local_time < b.quiet_hours_end
                      ELSE local_time >= b.quiet_hours_start OR local_time < b.quiet_hours_end END;
        IF quiet THEN
            RETURN NULL;
        END IF;
        IF conv.id IS NOT NULL AND EXISTS (SELECT 1 FROM nmc.owner_alerts a WHERE a.conversation_id = conv.id
                                             AND a.created_at > now() - make_interval(secs => nmc.setting_int('alert_min_gap_seconds'))) THEN
            RETURN NULL;
        END IF;
    END IF;
    IF conv.id IS NOT NULL THEN
        -- The conversation's #number: the one it had within owner_tag_seconds, else the
        -- smallest no other conversation holds (one business's alerts take turns here).
        PERFORM pg_advisory_xact_lock(hashtext('nmc.owner_alert_tag'), hashtext(b.id::text));
        SELECT a.tag INTO v_tag FROM nmc.owner_alerts a
         WHERE a.conversation_id = conv.id AND a.business_id = b.id AND a.tag IS NOT NULL
           AND a.created_at > now() - make_interval(secs => nmc.setting_int('owner_tag_seconds'))
         ORDER BY a.created_at DESC, a.id DESC LIMIT 1;
        IF v_tag IS NULL THEN
            -- (A hashed set: a business alerted thousands of times a week stays quick.)
            WITH used AS (SELECT DISTINCT a.tag FROM nmc.owner_alerts a
                           WHERE a.business_id = b.id AND a.tag IS NOT NULL
                             AND a.created_at > now() - make_interval(secs => nmc.setting_int('owner_tag_seconds')))
            SELECT min(g) INTO v_tag FROM generate_series(1, (SELECT count(*) FROM used)::int + 1) g
             WHERE g NOT IN (SELECT tag FROM used);
        END IF;
        body := '#' || v_tag || ' ' || body;
    END IF;
    -- By text: emergencies (if wanted) and call-backs to the verified alert phone,
    -- else the forward-to phone; the rest only to a verified alert phone.
    by_text := CASE p_kind WHEN 'emergency' THEN b.emergency_sms_to_owner WHEN 'call_back' THEN true
                           ELSE b.alert_phone_verified_at IS NOT NULL END;
    IF by_text THEN
        m := nmc.owner_alert_send(b, conv.customer_id, conv.phone_number_id, body);
    END IF;
    -- Pushed to every device of the business that asked for alerts (sql/web_push.sql).
    pushed := nmc.web_push_notify(b.id, jsonb_build_object(
        'kind', p_kind, 'title', nmc.owner_alert_title(p_kind),
        'body', regexp_replace(body, '\s*https?://\S+$', ''),
        'url', CASE WHEN conv.id IS NOT NULL THEN '/conversations/' || conv.id ELSE '/conversations' END,
        'tag', coalesce('conversation-' || conv.id, 'alert-' || p_kind)));
    IF m.id IS NOT NULL OR pushed > 0 THEN
        INSERT INTO nmc.owner_alerts (business_id, conversation_id, kind, message_id, tag) VALUES (b.id, conv.id, p_kind, m.id, v_tag);
    END IF;
    RETURN m;
END
$$;
COMMENT ON FUNCTION nmc.owner_alert(nmc.businesses, nmc.conversations, text, text) IS
    'Alerts the owner of p_kind about conv, if it should go: an emergency and a call_back (a customer who could not be texted) always; any other kind only if in alert_kinds, not in the quiet hours (business time zone), and not within alert_min_gap_seconds of the last alert about the same conversation. It is texted — an emergency if emergency_sms_to_owner and a call_back to the verified alert phone, else the forward-to phone; other kinds only to a verified alert phone — and pushed to every device that asked for alerts (nmc.web_push_notify: title, the words without the link, the conversation''s path, a tag per conversation so a newer alert replaces an older one). An alert about a conversation starts with its #number (kept for owner_tag_seconds after its last alert, else the smallest free one), for the owner''s text replies. Recorded in nmc.owner_alerts when it went somewhere.';

CREATE FUNCTION nmc.owner_alert_title(p_kind text)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$ SELECT CASE p_kind WHEN 'customer_replied' THEN 'A customer replied: your turn'
                         WHEN 'emergency' THEN 'EMERGENCY: call the customer now'
                         WHEN 'booking' THEN 'New booking'
                         WHEN 'handoff' THEN 'The assistant handed a conversation to you'
                         WHEN 'undelivered' THEN 'A text did not arrive'
                         WHEN 'call_back' THEN 'Please call a customer back' ELSE 'NeverMissCall' END $$;
COMMENT ON FUNCTION nmc.owner_alert_title(text) IS 'The title of a pushed alert, by kind.';

CREATE FUNCTION nmc.owner_alert_link(conv nmc.conversations)
RETURNS text
LANGUAGE sql STABLE
AS $$ SELECT rtrim(nmc.setting('public_url'), '/') || '/conversations/' || conv.id $$;
COMMENT ON FUNCTION nmc.owner_alert_link(nmc.conversations) IS 'The link to a conversation in the dashboard, for alerts.';

CREATE FUNCTION nmc.owner_alert_who(conv nmc.conversations)
RETURNS text
LANGUAGE sql STABLE
AS $$ SELECT coalesce(nullif(c.name, ''), c.phone) FROM nmc.customers c WHERE c.id = conv.customer_id $$;
COMMENT ON FUNCTION nmc.owner_alert_who(nmc.conversations) IS 'How an alert names the customer: their name if known, else their number.';

CREATE FUNCTION nmc.owner_alert_your_turn(conv nmc.conversations)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    b nmc.businesses;
    said text;
BEGIN
    SELECT * INTO b FROM nmc.businesses WHERE id = conv.business_id;
    IF b.alert_phone_verified_at IS NULL AND NOT EXISTS (SELECT 1 FROM nmc.push_subscriptions WHERE business_id = b.id) THEN
        RETURN;   -- the usual case until the owner sets a phone or a device: nothing to look up
    END IF;
    SELECT body INTO said FROM nmc.messages
     WHERE business_id = conv.business_id AND conversation_id = conv.id AND direction = 'inbound'
     ORDER BY created_at DESC, id DESC LIMIT 1;
    PERFORM nmc.owner_alert(b, conv, 'customer_replied',
        format('%s: "%s" Your turn: %s s before the assistant answers. %s', nmc.owner_alert_who(conv), left(coalesce(said, ''), 200),
               greatest(0, round(extract(epoch FROM conv.human_window_deadline - now())))::int, nmc.owner_alert_link(conv)));
END
$$;
COMMENT ON FUNCTION nmc.owner_alert_your_turn(nmc.conversations) IS 'A customer wrote and the human response window opened: the owner gets the customer''s words, the seconds left and the link (nmc.owner_alert, kind customer_replied).';

-- Settings, through the API ---------------------------------------------------
CREATE FUNCTION nmc.owner_alert_settings_json(b nmc.businesses)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT jsonb_build_object(
        'phone', coalesce(b.alert_phone, b.forward_to_phone),
        'verified', b.alert_phone IS NOT NULL AND b.alert_phone_verified_at IS NOT NULL,
        'kinds', to_jsonb(b.alert_kinds),
        'emergency_sms_to_owner', b.emergency_sms_to_owner,
        'quiet_hours', CASE WHEN b.quiet_hours_start IS NOT NULL THEN jsonb_build_object(
                           'start', to_char(b.quiet_hours_start, 'HH24:MI'), 'end', to_char(b.quiet_hours_end, 'HH24:MI')) END,
        'stopped', CASE WHEN b.owner_phone_stopped IS NOT NULL THEN jsonb_build_object(
                           'phone', b.owner_phone_stopped, 'at', b.owner_phone_stopped_at) END)
$$;
COMMENT ON FUNCTION nmc.owner_alert_settings_json(nmc.businesses) IS 'GET /api/business/alerts: the alert phone (the forward-to phone until another is set), whether it is verified (alerts other than emergencies need that), the kinds switched on, the quiet hours, and stopped {phone, at} when one of the owner''s phones texted STOP (nothing is texted to it until it texts START).';

CREATE FUNCTION nmc.api_alerts_get(req jsonb)
RETURNS nmc.http_response
LANGUAGE sql STABLE
AS $$ SELECT nmc.respond(200, jsonb_build_object('alerts', nmc.owner_alert_settings_json(b)))
        FROM nmc.businesses b WHERE b.id = nmc.current_business_id() $$;
COMMENT ON FUNCTION nmc.api_alerts_get(jsonb) IS 'GET /api/business/alerts: see nmc.owner_alert_settings_json.';

CREATE FUNCTION nmc.api_alerts_patch(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $$
DECLARE
    body jsonb := req -> 'body';
    b nmc.businesses;
    kinds text[];
    qh jsonb;
BEGIN
    PERFORM nmc.input_object(body);
    PERFORM nmc.input_allowed_fields(body, ARRAY['kinds', 'quiet_hours']);
    SELECT * INTO b FROM nmc.businesses WHERE id = nmc.current_business_id() FOR UPDATE;
    IF body ? 'kinds' THEN
        IF jsonb_typeof(body -> 'kinds') <> 'array' OR EXISTS (SELECT 1 FROM jsonb_array_elements(body -> 'kinds') k
                WHERE jsonb_typeof(k) <> 'string' OR k #>> '{}' NOT IN ('customer_replied', 'booking', 'handoff', 'undelivered')) THEN
            PERFORM nmc.raise_api_error(400, 'invalid_field',
                'kinds must be a list of: customer_replied, booking, handoff, undelivered (emergencies: emergency_sms_to_owner)', 'kinds');
        END IF;
        SELECT coalesce(array_agg(DISTINCT k ORDER BY k), '{}') INTO kinds FROM jsonb_array_elements_text(body -> 'kinds') k;
        b.alert_kinds := kinds;
    END IF;
    IF body ? 'quiet_hours' THEN
        qh := body -> 'quiet_hours';
        IF jsonb_typeof(qh) = 'null' THEN
            b.quiet_hours_start := NULL;
            b.quiet_hours_end := NULL;
        ELSIF jsonb_typeof(qh) <> 'object' OR coalesce(qh ->> 'start', '') !~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'
              OR coalesce(qh ->> 'end', '') !~ '^([01][0-9]|2[0-3]):[0-5][0-9]$' OR qh ->> 'start' = qh ->> 'end' THEN
            PERFORM nmc.raise_api_error(400, 'invalid_field', 'quiet_hours must be null or {"start": "HH:MM", "end": "HH:MM"}, two different times (e.g. 21:00 to 07:00)', 'quiet_hours');
        ELSE
            b.quiet_hours_start := (qh ->> 'start')::time;
            b.quiet_hours_end := (qh ->> 'end')::time;
        END IF;
    END IF;
    UPDATE nmc.businesses SET alert_kinds = b.alert_kinds, quiet_hours_start = b.quiet_hours_start, quiet_hours_end = b.quiet_hours_end
     WHERE id = b.id RETURNING * INTO b;
    RETURN nmc.respond(200, jsonb_build_object('alerts', nmc.owner_alert_settings_json(b)));
END
$$;
COMMENT ON FUNCTION nmc.api_alerts_patch(jsonb) IS 'PATCH /api/business/alerts {kinds?, quiet_hours?}: which alerts go to the owner''s verified phone, and the quiet hours (business time zone; emergencies still go through).';

CREATE FUNCTION nmc.api_alert_phone_put(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $$
DECLARE
    body jsonb := req -> 'body';
    b nmc.businesses;
    v_phone text;
    from_phone text;
BEGIN
    PERFORM nmc.input_object(body);
    PERFORM nmc.input_allowed_fields(body, ARRAY['phone']);
    v_phone := nmc.normalize_phone(nmc.input_text(body, 'phone', true, 40), 'phone');
    SELECT * INTO b FROM nmc.businesses WHERE id = nmc.current_business_id() FOR UPDATE;
    SELECT phone INTO from_phone FROM nmc.phone_numbers WHERE business_id = b.id ORDER BY created_at, id LIMIT 1;
    IF from_phone IS NULL THEN
        PERFORM nmc.raise_api_error(409, 'no_number', 'get a texting number first: the code is texted from it');
    END IF;
    UPDATE nmc.businesses SET alert_phone = v_phone, alert_phone_verified_at = NULL WHERE id = b.id RETURNING * INTO b;
    IF NOT nmc.login_code_send(b.id, NULL, 'alert_phone', v_phone, from_phone,
               'NeverMissCall: your code to get alerts on this phone is {code}. Enter it on the dashboard.', req ->> 'client_addr') THEN
        PERFORM nmc.raise_api_error(429, 'rate_limited', 'a code was texted a moment ago; wait a minute before asking for another');
    END IF;
    RETURN nmc.respond(202, jsonb_build_object('alerts', nmc.owner_alert_settings_json(b)));
END
$$;
COMMENT ON FUNCTION nmc.api_alert_phone_put(jsonb) IS 'PUT /api/business/alerts/phone {phone}: the phone alerts go to, unverified until its code comes back (POST …/verify); the code is texted from the business number (one a minute, login_codes_per_hour an hour). 409 no_number without a number to text from.';

CREATE FUNCTION nmc.api_alert_phone_verify(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $$
DECLARE
    body jsonb := req -> 'body';
    b nmc.businesses;
    v_code text;
BEGIN
    PERFORM nmc.input_object(body);
    PERFORM nmc.input_allowed_fields(body, ARRAY['code']);
    v_code := regexp_replace(nmc.input_text(body, 'code', true, 20), '[^0-9]', '', 'g');
    SELECT * INTO b FROM nmc.businesses WHERE id = nmc.current_business_id() FOR UPDATE;
    IF b.alert_phone IS NULL OR NOT nmc.login_code_redeem(b.id, NULL, 'alert_phone', b.alert_phone, v_code) THEN
        -- Returned, not raised: the wrong try is counted.
        RETURN nmc.respond(400, nmc.error_body('invalid_code', 'this code is wrong, used or expired; ask for a new one', 'code'));
    END IF;
    UPDATE nmc.businesses SET alert_phone_verified_at = now() WHERE id = b.id RETURNING * INTO b;
    RETURN nmc.respond(200, jsonb_build_object('alerts', nmc.owner_alert_settings_json(b)));
END
$$;
COMMENT ON FUNCTION nmc.api_alert_phone_verify(jsonb) IS 'POST /api/business/alerts/phone/verify {code}: the code texted to the alert phone proves the owner has it; alerts then go there. 400 invalid_code otherwise (login_code_max_attempts tries).';

INSERT INTO nmc.api_routes (route_method, route_path, handler, auth, summary) VALUES
    ('GET', '/api/business/alerts', 'api_alerts_get', 'jwt', 'Alerts to the owner''s phone: the phone, the kinds, the quiet hours'),
    ('PATCH', '/api/business/alerts', 'api_alerts_patch', 'jwt', 'Choose the alerts and the quiet hours'),
    ('PUT', '/api/business/alerts/phone', 'api_alert_phone_put', 'jwt', 'Set the phone alerts go to; a code is texted to it'),
    ('POST', '/api/business/alerts/phone/verify', 'api_alert_phone_verify', 'jwt', 'Verify the alert phone with the texted code');
CREATE OR REPLACE FUNCTION nmc.conversation_emergency(conv nmc.conversations, term text)
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
    PERFORM nmc.owner_alert(b, conv, 'emergency', format('EMERGENCY (%s) from %s: "%s" Call them now: %s',
        term, (SELECT phone FROM nmc.customers WHERE id = conv.customer_id),
        left((SELECT body FROM nmc.messages WHERE conversation_id = conv.id AND direction = 'inbound'
               ORDER BY created_at DESC, id DESC LIMIT 1), 200), nmc.owner_alert_link(conv)));
    -- A person handles danger: no countdown, and no AI small talk about a gas leak.
    RETURN nmc.conversation_set_mode(conv, 'human');
END
$$;
COMMENT ON FUNCTION nmc.conversation_emergency(nmc.conversations, text) IS 'A text reported danger: safety advice to the customer at once, a conversation.emergency event for the owner, and the conversation handed to a human (no human window, no AI).';
CREATE OR REPLACE FUNCTION nmc.conversation_customer_wrote(c nmc.conversations)
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
    c := nmc.conversation_set_mode(c, 'human_window', t.due_at);
    PERFORM nmc.owner_alert_your_turn(c);
    RETURN c;
END
$$;
COMMENT ON FUNCTION nmc.conversation_customer_wrote(nmc.conversations) IS 'A customer message opens the human response window: a conversation.human_window timer for the business''s human_window_seconds, mode human_window with its deadline, and the owner''s phone is told (nmc.owner_alert_your_turn).';
CREATE OR REPLACE FUNCTION nmc.conversation_handed_over(conv nmc.conversations, reason text)
RETURNS nmc.conversations
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM nmc.emit_event(conv.business_id, 'conversation.handoff', jsonb_build_object('id', conv.id, 'reason', reason));
    conv := nmc.conversation_set_mode(conv, 'human');
    PERFORM nmc.owner_alert((SELECT b FROM nmc.businesses b WHERE b.id = conv.business_id), conv, 'handoff',
        format('The assistant handed %s over to you (%s). %s', nmc.owner_alert_who(conv), reason, nmc.owner_alert_link(conv)));
    RETURN conv;
END
$$;
COMMENT ON FUNCTION nmc.conversation_handed_over(nmc.conversations, text) IS 'The assistant gives a conversation to a person: conversation.handoff for the dashboard, mode human, and the owner''s phone is told (kind handoff).';
CREATE OR REPLACE FUNCTION nmc.ai_turn_hand_off(t nmc.ai_turns, reason text, p_status text DEFAULT 'handed_off')
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
        PERFORM nmc.conversation_handed_over(conv, reason);
    END IF;
    RETURN nmc.ai_turn_finish(t, p_status, reason);
END
$$;
COMMENT ON FUNCTION nmc.ai_turn_hand_off(nmc.ai_turns, text, text) IS 'Ends a turn by handing the conversation to a person: the customer is told someone will text shortly, the owner gets conversation.handoff, the mode becomes human.';
CREATE OR REPLACE FUNCTION nmc.intake_turn(p_conversation_id uuid)
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
    photo_only boolean;
BEGIN
    IF conv.mode <> 'ai' THEN
        RETURN;
    END IF;
    SELECT * INTO b FROM nmc.businesses WHERE id = conv.business_id;
    i := conv.intake;
    SELECT m.body, m.media IS NOT NULL AND m.body = nmc.sms_media_words(m.media) INTO last_text, photo_only FROM nmc.messages m
     WHERE m.conversation_id = conv.id AND m.direction = 'inbound' ORDER BY m.created_at DESC, m.id DESC LIMIT 1;

    -- A photo alone answers nothing: thank the customer and ask again (never a hand-off).
    IF photo_only THEN
        PERFORM nmc.intake_reply(conv, 'Thanks for the photo, that helps. ' || CASE coalesce(i ->> 'awaiting', 'problem')
            WHEN 'name' THEN 'What''s your name?'
            WHEN 'address' THEN 'What''s the address for the job (street and number)?'
            WHEN 'zip' THEN 'And the ZIP code?'
            WHEN 'slot' THEN 'Which of the times I sent works for you? Reply 1, 2 or 3 (or the day and time).'
            ELSE 'What can we help you with?' END);
        IF NOT i ? 'awaiting' THEN
            UPDATE nmc.conversations SET intake = i || '{"awaiting":"problem"}' WHERE id = conv.id;
        END IF;
        RETURN;
    END IF;

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
            PERFORM nmc.conversation_handed_over(conv, 'the assistant could not understand the customer twice');
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
COMMENT ON FUNCTION nmc.intake_turn(uuid) IS 'One turn of the built-in intake engine for a conversation in AI mode: take in the customer''s latest answer, then ask for what is missing or offer slots; book and confirm from the row; hand off to a human after two replies it could not understand. A photo alone is thanked for and the question asked again — never a misunderstanding.';
CREATE OR REPLACE FUNCTION nmc.sms_thread_routine(texts nmc.webhook_inbox[], callers text[], modes text[])
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
    -- As nmc.conversation_customer_wrote: the owner's phone is told.
    PERFORM nmc.owner_alert_your_turn(w) FROM unnest(windows) w;
END
$$;
COMMENT ON FUNCTION nmc.sms_thread_routine(nmc.webhook_inbox[], text[], text[]) IS 'Threads many routine inbound texts at once (callers: their normalised From numbers; modes: the mode of the open conversation each was sorted with, NULL if none — all in the same order): what nmc.sms_received does for a text that is not a keyword, raises no emergency and is not for the assistant — customer, conversation, message dated at receipt, the human response window where the conversation waited for the customer, and the same events in the same order. nmc.webhook_inbox_run decides which texts are routine.';
CREATE OR REPLACE FUNCTION nmc.appointment_book(p_business_id uuid, p_customer_id uuid, p_starts_at timestamptz, p_booked_by text,
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
    PERFORM nmc.appointment_reminders_set(a);
    PERFORM nmc.emit_event(b.id, 'appointment.created', nmc.appointment_json(a));
    IF p_booked_by = 'ai' THEN
        PERFORM nmc.owner_alert(b, conv, 'booking', format('Booked by the assistant: %s, %s%s. %s',
                    coalesce(nmc.owner_alert_who(conv), (SELECT phone FROM nmc.customers WHERE id = p_customer_id)),
                    to_char(p_starts_at AT TIME ZONE b.timezone, 'Dy Mon DD HH24:MI'),
                    coalesce(', ' || p_address, ''), coalesce(nmc.owner_alert_link(conv), '')))
          FROM (SELECT c FROM nmc.conversations c WHERE c.business_id = b.id AND c.customer_id = p_customer_id
                 ORDER BY c.state = 'open' DESC, c.created_at DESC LIMIT 1) x(conv);
    END IF;
    RETURN a;
END
$$;
COMMENT ON FUNCTION nmc.appointment_book(uuid, uuid, timestamptz, text, text, text, int) IS 'Books a job inside business hours; NM409 slot_taken when it would overlap another (the exclusion constraint decides, even under concurrency). Moves the customer''s lead to appointment_scheduled; sets the customer''s reminders (nmc.appointment_reminders_set); emits appointment.created; one the assistant booked is texted to the owner''s phone (kind booking).';

-- The owner answers by text (sql/owner_texts.sql): a text from one of the
-- owner's phones is the owner's, a call from one is not a missed customer;
-- texts to the owner about no customer have no customer_id.
ALTER TABLE nmc.messages ALTER COLUMN customer_id DROP NOT NULL;
ALTER TABLE nmc.calls DROP CONSTRAINT calls_missed_reason_check;
ALTER TABLE nmc.calls ADD CONSTRAINT calls_missed_reason_check
    CHECK (missed_reason IN ('no-answer', 'busy', 'failed', 'canceled', 'not-bridged', 'after_hours', 'no_forward_phone', 'outage', 'owner_phone'));
ALTER TABLE nmc.calls DROP CONSTRAINT calls_decision_check;
ALTER TABLE nmc.calls ADD CONSTRAINT calls_decision_check
    CHECK (decision IN ('texted', 'suppressed_repeat', 'suppressed_opted_out', 'suppressed_blocked',
                        'suppressed_short_ring', 'suppressed_unreachable', 'suppressed_anonymous', 'not_missed', 'suppressed_owner'));
-- owner_texts.sql — the owner answers by text. A text to a business number
-- from one of the owner's phones (nmc.owner_phones) is the owner talking,
-- never a customer: it goes to the customer an alert named — "#N …" picks the
-- conversation whose alerts carry #N, a text without one goes to the latest
-- alert's — and takes that conversation over, as the dashboard's button does.
-- Whole-text commands: AI hands the conversation back (the assistant answers
-- now if the customer is waiting),
-- NUMBER texts back the customer's number, HELP the rules. STOP from the
-- owner's phone pauses alerts to it (shown on the dashboard), START resumes
-- them. Whatever cannot be placed for sure gets a short answer and goes to
-- nobody. Every owner text is kept with what was done with it.
CREATE TABLE nmc.owner_texts (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    business_id     uuid NOT NULL REFERENCES nmc.businesses (id) ON DELETE CASCADE,
    twilio_sid      text NOT NULL UNIQUE,
    from_phone      nmc.e164 NOT NULL,
    body            text NOT NULL,
    conversation_id uuid,
    outcome         text NOT NULL CHECK (outcome IN ('relayed', 'handed_back', 'number', 'help', 'which_customer', 'no_customer',
                                                     'not_sent', 'alerts_stopped', 'alerts_resumed')),
    message_id      uuid,
    answer_id       uuid,
    received_at     timestamptz NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE nmc.owner_texts IS 'Texts from the owner''s phones to a business number, keyed by MessageSid, with what was done: relayed to the conversation''s customer (message_id: the text sent), handed_back to the assistant, number (the customer''s number texted back), help, which_customer (no #N and two customers alerted just before: nothing sent), no_customer (no alert to reply to), not_sent (the customer opted out or cannot get texts), alerts_stopped / alerts_resumed (STOP / START). answer_id: our text back to the owner, if any.';
CREATE INDEX owner_texts_business ON nmc.owner_texts (business_id, received_at);
ALTER TABLE nmc.owner_texts ENABLE ROW LEVEL SECURITY;
ALTER TABLE nmc.owner_texts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON nmc.owner_texts
    USING (business_id = nmc.current_business_id())
    WITH CHECK (business_id = nmc.current_business_id());

CREATE FUNCTION nmc.owner_text_recent(b nmc.businesses, before timestamptz, within_seconds bigint)
RETURNS TABLE (conversation_id uuid, tag int, alerted_at timestamptz, alert_id bigint)
LANGUAGE sql STABLE
AS $$
    SELECT DISTINCT ON (a.conversation_id) a.conversation_id, a.tag, a.created_at, a.id
      FROM nmc.owner_alerts a
     WHERE a.business_id = b.id AND a.conversation_id IS NOT NULL AND a.tag IS NOT NULL
       AND a.created_at <= before AND a.created_at > before - make_interval(secs => within_seconds)
     ORDER BY a.conversation_id, a.created_at DESC, a.id DESC
$$;
COMMENT ON FUNCTION nmc.owner_text_recent(nmc.businesses, timestamptz, bigint) IS 'The conversations the owner was alerted about in the within_seconds before a moment, each with its #number and its latest alert (when, and its id: alerts of one moment are ordered by it).';

CREATE FUNCTION nmc.owner_text_list(b nmc.businesses, before timestamptz)
RETURNS text
LANGUAGE sql STABLE
AS $$
    SELECT string_agg('#' || r.tag || ' ' || nmc.owner_alert_who(c), ', ' ORDER BY r.alerted_at DESC, r.alert_id DESC)
      FROM (SELECT * FROM nmc.owner_text_recent(b, before, nmc.setting_int('owner_reply_window_seconds'))
             ORDER BY alerted_at DESC, alert_id DESC LIMIT 4) r
      JOIN nmc.conversations c ON c.id = r.conversation_id
$$;
COMMENT ON FUNCTION nmc.owner_text_list(nmc.businesses, timestamptz) IS 'The customers the owner may reply to, latest alert first ("#4 Ann Lee, #3 +15125550123"), at most four; NULL if none.';

CREATE FUNCTION nmc.owner_text_help(b nmc.businesses, before timestamptz)
RETURNS text
LANGUAGE sql STABLE
AS $$
    SELECT 'Reply to an alert to text that customer (you take the conversation over). Start with its number to pick one: "#3 On my way". '
           'Send AI to hand back to the assistant, NUMBER for the customer''s number.'
           || coalesce(' Now: ' || nmc.owner_text_list(b, before) || '.', '')
$$;
COMMENT ON FUNCTION nmc.owner_text_help(nmc.businesses, timestamptz) IS 'The rules of replying by text, and the customers one may reply to now (answers to the owner put it after their own first words).';

CREATE FUNCTION nmc.owner_text_command(body text)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
    SELECT CASE WHEN k IN ('AI', 'BOT', 'ASSISTANT', 'HANDBACK', 'HANDITBACK', 'HANDBACKTOAI') THEN 'hand_back'
                WHEN k IN ('NUMBER', 'NUM', 'PHONE', 'PHONENUMBER', 'CALL') THEN 'number'
                WHEN k IN ('HELP', 'INFO', '', 'COMMANDS') THEN 'help' END
      FROM (SELECT regexp_replace(upper(body), '[^A-Z]', '', 'g') AS k) w
     WHERE length(body) <= 40
$$;
COMMENT ON FUNCTION nmc.owner_text_command(text) IS 'A whole owner text that is a command (letters only, any case; "Hand back!" too): hand_back (AI, BOT, ASSISTANT, HAND BACK), number (NUMBER, PHONE, CALL), help (HELP, INFO, or nothing but punctuation); NULL for anything else, which is a message to relay.';

CREATE FUNCTION nmc.owner_text_received(t nmc.webhook_inbox, b nmc.businesses, pn nmc.phone_numbers, from_phone text)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    body text := btrim(coalesce(t.params ->> 'Body', ''), E' \t\r\n');
    kw text := nmc.sms_keyword(body);
    v_tag int;
    rest text := body;
    cmd text;
    conv nmc.conversations;
    latest_conv uuid;
    latest_at timestamptz;
    v_outcome text;
    answer text;
    m nmc.messages;
    reply nmc.messages;
    cu nmc.customers;
    who text;
BEGIN
    IF EXISTS (SELECT 1 FROM nmc.owner_texts WHERE twilio_sid = t.webhook_key) THEN
        RETURN;   -- Twilio delivered it again after it was applied.
    END IF;
    IF kw = 'opt_out' THEN
        -- Twilio answers its own keywords (and then blocks our texts to the phone);
        -- a STOP in other words is ours to confirm, while this phone may still be texted.
        IF nmc.sms_carrier_keyword(body) IS NULL THEN
            reply := nmc.owner_alert_send(b, NULL, pn.id, 'NeverMissCall: no more texts to this phone, alerts included. Text START to turn them back on.', from_phone);
        END IF;
        -- The owner does not want our texts on this phone: none goes to it until START.
        UPDATE nmc.businesses SET owner_phone_stopped = from_phone, owner_phone_stopped_at = now() WHERE id = b.id RETURNING * INTO b;
        v_outcome := 'alerts_stopped';
        PERFORM nmc.emit_event(b.id, 'business.alerts', nmc.owner_alert_settings_json(b));
    ELSIF kw = 'opt_in' THEN
        UPDATE nmc.businesses SET owner_phone_stopped = NULL, owner_phone_stopped_at = NULL
         WHERE id = b.id AND owner_phone_stopped = from_phone RETURNING * INTO b;
        IF NOT FOUND THEN
            SELECT * INTO b FROM nmc.businesses WHERE id = t.business_id;
        END IF;
        v_outcome := 'alerts_resumed';
        PERFORM nmc.emit_event(b.id, 'business.alerts', nmc.owner_alert_settings_json(b));
        answer := 'NeverMissCall: texts to this phone are back on. ' || nmc.owner_text_help(b, t.received_at);
    ELSE
        -- "#3 …" names a conversation; the rest is the command or the message.
        IF body ~ '^#\s*[0-9]' THEN
            -- (However many digits: "#12345" is a number no alert carries, never "#1234" and "5".)
            v_tag := least(substring(body FROM '^#\s*([0-9]{1,9})')::bigint, 1000000)::int;
            rest := btrim(regexp_replace(body, '^#\s*[0-9]+[\s:,.-]*', ''), E' \t\r\n');
        END IF;
        cmd := nmc.owner_text_command(rest);
        IF v_tag IS NOT NULL THEN
            SELECT c.* INTO conv FROM nmc.owner_text_recent(b, t.received_at, nmc.setting_int('owner_tag_seconds')) r
              JOIN nmc.conversations c ON c.id = r.conversation_id
             WHERE r.tag = v_tag ORDER BY r.alerted_at DESC, r.alert_id DESC LIMIT 1;
            IF conv.id IS NULL THEN
                v_outcome := 'no_customer';
                answer := format('NeverMissCall: no customer is #%s now, nothing was sent.', v_tag)
                          || coalesce(' Now: ' || nmc.owner_text_list(b, t.received_at) || '.', '');
            END IF;
        ELSIF cmd IS DISTINCT FROM 'help' THEN
            SELECT r.conversation_id, r.alerted_at, r.tag INTO latest_conv, latest_at, v_tag
              FROM nmc.owner_text_recent(b, t.received_at, nmc.setting_int('owner_reply_window_seconds')) r
             ORDER BY r.alerted_at DESC, r.alert_id DESC LIMIT 1;
            IF latest_conv IS NULL THEN
                v_outcome := 'no_customer';
                answer := 'NeverMissCall: no alert to reply to, nothing was sent. ' || nmc.owner_text_help(b, t.received_at);
            ELSIF latest_at > t.received_at - make_interval(secs => nmc.setting_int('owner_reply_settle_seconds'))
                  AND EXISTS (SELECT 1 FROM nmc.owner_text_recent(b, t.received_at, nmc.setting_int('owner_reply_window_seconds')) r
                               WHERE r.conversation_id <> latest_conv) THEN
                -- A new alert came just before this text: it may answer the earlier one.
                v_outcome := 'which_customer';
                answer := 'NeverMissCall: not sent, which customer? Start with their number: '
                          || nmc.owner_text_list(b, t.received_at) || '.';
            ELSE
                SELECT * INTO conv FROM nmc.conversations WHERE id = latest_conv;
            END IF;
        END IF;
        IF cmd = 'help' THEN
            v_outcome := 'help';
            answer := 'NeverMissCall: ' || nmc.owner_text_help(b, t.received_at);
            conv := NULL;
        END IF;
    END IF;

    IF conv.id IS NOT NULL THEN
        SELECT * INTO conv FROM nmc.conversations WHERE id = conv.id FOR UPDATE;
        SELECT * INTO cu FROM nmc.customers WHERE id = conv.customer_id;
        who := nmc.owner_alert_who(conv);
        IF cmd = 'number' THEN
            v_outcome := 'number';
            answer := format('NeverMissCall: #%s %s', v_tag, CASE WHEN who = cu.phone THEN cu.phone ELSE who || ': ' || cu.phone END);
        ELSIF cmd = 'hand_back' THEN
            IF conv.state <> 'open' THEN
                v_outcome := 'help';
                answer := format('NeverMissCall: the conversation with %s has ended; it starts again when they text.', who);
            ELSIF conv.mode = 'ai' THEN
                v_outcome := 'handed_back';
                answer := format('NeverMissCall: the assistant has %s already.', who);
            ELSE
                -- As the dashboard's hand-back: the owner lets go of it.
                IF conv.mode = 'human' THEN
                    conv := nmc.conversation_set_mode(conv, 'waiting');
                END IF;
                IF cu.opted_out_at IS NULL AND cu.sms_unreachable_at IS NULL
                   AND (SELECT direction FROM nmc.messages WHERE conversation_id = conv.id AND author <> 'system'
                         ORDER BY created_at DESC, id DESC LIMIT 1) = 'inbound' THEN
                    -- The customer is waiting for an answer: the owner's window ends now
                    -- and the assistant answers, as when the window runs out.
                    IF conv.mode = 'waiting' THEN
                        conv := nmc.conversation_set_mode(conv, 'human_window', now());
                    END IF;
                    conv := nmc.conversation_set_mode(conv, 'ai');
                    PERFORM nmc.ai_respond(conv.id);
                    answer := format('NeverMissCall: the assistant is answering %s now.', who);
                ELSE
                    answer := format('NeverMissCall: handed back. When %s writes, you have %s s as usual, then the assistant answers.',
                                     who, b.human_window_seconds);
                END IF;
                v_outcome := 'handed_back';
            END IF;
        ELSIF cu.opted_out_at IS NOT NULL OR cu.sms_unreachable_at IS NOT NULL THEN
            v_outcome := 'not_sent';
            answer := format('NeverMissCall: not sent: %s %s. Call them: %s', who,
                             CASE WHEN cu.opted_out_at IS NOT NULL THEN 'replied STOP to texts' ELSE 'cannot get texts' END, cu.phone);
        ELSE
            -- The owner's words go to the customer, and the owner has the conversation.
            IF conv.state <> 'open' THEN
                conv := nmc.conversation_open(b.id, conv.customer_id, conv.phone_number_id);
            END IF;
            conv := nmc.conversation_takeover(conv.id);
            m := nmc.sms_send(b.id, conv.customer_id, (SELECT phone FROM nmc.phone_numbers WHERE id = conv.phone_number_id),
                              left(rest, 1600), 'owner', conv.id);
            v_outcome := 'relayed';
        END IF;
    END IF;

    IF answer IS NOT NULL THEN
        -- From the number the owner texted: their answers stay in one thread.
        reply := nmc.owner_alert_send(b, conv.customer_id, pn.id, answer, from_phone);
    END IF;
    INSERT INTO nmc.owner_texts (business_id, twilio_sid, from_phone, body, conversation_id, outcome, message_id, answer_id, received_at)
    VALUES (b.id, t.webhook_key, from_phone, left(CASE WHEN body = '' THEN '(empty message)' ELSE body END, 1600), conv.id, v_outcome,
            m.id, reply.id, t.received_at);
END
$$;
COMMENT ON FUNCTION nmc.owner_text_received(nmc.webhook_inbox, nmc.businesses, nmc.phone_numbers, text) IS
    'A text from one of the owner''s phones (nmc.sms_received sends it here), as of when it was received. STOP-words: nothing more is texted to that phone (alerts included) until START-words, which answer with the rules. "#N …": the conversation whose alerts carry #N (within owner_tag_seconds); no #N: the latest alert''s (within owner_reply_window_seconds) — unless that alert came less than owner_reply_settle_seconds before and another customer was alerted too: then nothing is sent and the owner is asked which. Then a whole-text command (nmc.owner_text_command): AI hands the conversation back as the dashboard does (mode waiting) and, if the customer is waiting for an answer, ends the owner''s window at once so the assistant answers now, NUMBER texts back the customer''s number, HELP the rules; anything else is sent to the customer as the owner''s (author owner), taking the conversation over (mode human: the assistant is silent) — refused, with the owner told, when the customer opted out or cannot get texts. A closed conversation is opened again. Idempotent on MessageSid; kept in nmc.owner_texts.';
CREATE OR REPLACE FUNCTION nmc.sms_carrier_keyword(body text)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
    SELECT CASE WHEN k IN ('STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'REVOKE', 'OPTOUT') THEN 'opt_out'
                WHEN k IN ('START', 'YES', 'UNSTOP') THEN 'opt_in'
                WHEN k IN ('HELP', 'INFO') THEN 'help' END
      FROM (SELECT regexp_replace(upper(btrim(body, E' \t\r\n.!')), '\s+', ' ', 'g') AS k) w
$$;
COMMENT ON FUNCTION nmc.sms_carrier_keyword(text) IS 'opt_out, opt_in or help when a text is exactly one of Twilio''s keywords (any case, surrounding spaces and punctuation ignored) — the words Twilio itself answers, and after an opt-out blocks our texts to that phone until opt-in; else NULL.';
CREATE OR REPLACE FUNCTION nmc.sms_keyword(body text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    k text := nmc.sms_carrier_keyword(body);
BEGIN
    IF k IS NOT NULL THEN
        RETURN k;
    END IF;
    k := regexp_replace(upper(btrim(body, E' \t\r\n.!')), '\s+', ' ', 'g');
    -- Plain-language opt-outs: a person who writes this must never be texted again.
    -- (None is longer than 48 characters; longer texts skip the patterns.)
    -- (One pattern with four alternatives: one match per text instead of four.)
    IF length(k) <= 60 AND k ~ ('^(?:'
             '(PLEASE )?(STOP|QUIT|NO MORE) (TEXTING|MESSAGING|CONTACTING|TEXTS|MESSAGES)( ME| US)?( PLEASE)?'
          '|(PLEASE )?(DO NOT|DONT|DON''T|NEVER) (TEXT|MESSAGE|CONTACT) (ME|US|THIS NUMBER)( AGAIN| ANYMORE)?( PLEASE)?'
          '|(REMOVE|TAKE) ME (FROM|OFF) (YOUR|THE|THIS) (LIST|TEXTS)( PLEASE)?'
          '|UNSUBSCRIBE ME|LEAVE ME ALONE)$') THEN
        RETURN 'opt_out';
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION nmc.sms_keyword(text) IS 'opt_out, opt_in or help when a text is exactly one of Twilio''s keywords (nmc.sms_carrier_keyword); opt_out also for plain-language requests such as "stop texting me" or "don''t message me again"; else NULL.';
CREATE OR REPLACE FUNCTION nmc.sms_received(t nmc.webhook_inbox)
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
    media jsonb;
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
    IF caller = ANY (nmc.owner_phones(b)) THEN
        -- The owner talking, not a customer.
        PERFORM nmc.owner_text_received(t, b, pn, caller);
        RETURN;
    END IF;
    cust := nmc.customer_upsert(b.id, caller);
    conv := nmc.conversation_open(b.id, cust.id, pn.id);
    media := nmc.sms_media(t.params);
    INSERT INTO nmc.messages (business_id, customer_id, conversation_id, direction, author, from_phone, to_phone, body, status,
                              twilio_sid, created_at, media)
    VALUES (b.id, cust.id, conv.id, 'inbound', 'customer', caller, pn.phone,
            left(CASE WHEN body <> '' THEN body WHEN media IS NOT NULL THEN nmc.sms_media_words(media) ELSE '(empty message)' END, 1600),
            'received', sid, t.received_at, media)
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
COMMENT ON FUNCTION nmc.sms_received(nmc.webhook_inbox) IS 'Threads one inbound text into the open conversation of (business number, customer), or a new one, with its photos (nmc.sms_media: a photo alone reads "(photo)"); a text from one of the owner''s phones is the owner talking (nmc.owner_text_received). STOP-words opt the customer out, START-words back in, HELP gets the help text; words of danger get safety advice and alert the owner at once; in AI mode the assistant answers; anything else opens the human response window. Idempotent on MessageSid.';
CREATE OR REPLACE FUNCTION nmc.webhook_inbox_run(max_webhooks int DEFAULT 500, isolate boolean DEFAULT false, min_together int DEFAULT 8)
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
        -- from the owner's phones, no photos, not a keyword, no emergency to raise (the terms of nmc.emergency_term_in, for
        -- all texts in one pass), not for the assistant, not already threaded.
        routine := NULL;
        IF cardinality(batch) >= min_together THEN
            SELECT array_agg(x.mode ORDER BY x.i), array_agg(x.routine ORDER BY x.i)
              INTO modes, routine
              FROM (SELECT g.ordinality AS i, o.mode,
                           g.kind = 'sms' AND callers[g.ordinality] IS NOT NULL AND nmc.sms_keyword(coalesce(g.params ->> 'Body', '')) IS NULL
                           AND b.id IS NOT NULL AND callers[g.ordinality] <> ALL (nmc.owner_phones(b))
                           AND coalesce(g.params ->> 'NumMedia', '0') = '0'
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
CREATE OR REPLACE FUNCTION nmc.conversation_set_mode(c nmc.conversations, p_mode text, p_deadline timestamptz DEFAULT NULL)
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
CREATE OR REPLACE FUNCTION nmc.call_answer_twiml(b nmc.businesses, answer text)
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
    ELSIF answer = 'owner_phone' THEN
        RETURN nmc.twiml_say_and_hang_up('This is your NeverMissCall number. Calls from your own phone are not forwarded or texted back: call from another phone to try it.');
    END IF;
    RETURN nmc.twiml('<Hangup/>');
END
$$;
COMMENT ON FUNCTION nmc.call_answer_twiml(nmc.businesses, text) IS 'The TwiML for a call: forward (<Dial> to the owner with the ring timeout and our action URL), after_hours or no_forward_phone (the after-hours message), missed (a text is coming), owner_phone (the owner called their own number from the forward-to phone: told so, not forwarded to itself), anything else hang up.';

-- Alerts pushed to the owner's devices (sql/web_push.sql): a push provider and
-- its job kind, the VAPID key made here, the devices' subscriptions.
ALTER TABLE nmc.job_kinds DROP CONSTRAINT job_kinds_provider_check;
ALTER TABLE nmc.job_kinds ADD CONSTRAINT job_kinds_provider_check CHECK (provider IN ('twilio', 'openai', 'maps', 'push'));
INSERT INTO nmc.job_kinds (kind, provider, max_attempts, connect_timeout_ms, total_timeout_ms, description) VALUES
    ('push.send', 'push', 5, 3000, 10000, 'Push an alert to one of the owner''s devices (Web Push)');
-- web_push.sql — alerts pushed to the owner's devices (the installed dashboard
-- app): the VAPID key made at install (ES256, extension/src/web_push.c), the
-- devices' push subscriptions, and the push.send job that the dispatcher
-- sends — the payload encrypted for the device (RFC 8291, aes128gcm), signed
-- for the push service (RFC 8292 VAPID). A subscription the push service
-- calls gone (404, 410) is forgotten.
CREATE FUNCTION nmc.web_push_keys(OUT private_key bytea, OUT public_key bytea)
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'nmc_web_push_keys';
COMMENT ON FUNCTION nmc.web_push_keys() IS 'A new P-256 key pair: the 32-byte private scalar and the 65-byte uncompressed public point.';

CREATE FUNCTION nmc.web_push_public_key(private_key bytea)
RETURNS bytea
LANGUAGE c STRICT IMMUTABLE
AS 'MODULE_PATHNAME', 'nmc_web_push_public_key';
COMMENT ON FUNCTION nmc.web_push_public_key(bytea) IS 'The uncompressed P-256 public point of a 32-byte private scalar.';

CREATE FUNCTION nmc.web_push_encrypt(payload bytea, p256dh bytea, auth bytea, sender_private bytea DEFAULT NULL, salt bytea DEFAULT NULL)
RETURNS bytea
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'nmc_web_push_encrypt';
COMMENT ON FUNCTION nmc.web_push_encrypt(bytea, bytea, bytea, bytea, bytea) IS 'RFC 8291: payload encrypted for a push subscription (its p256dh key and auth secret) as one aes128gcm record, header included; the sender''s ephemeral key and the salt are drawn at random unless given (only to reproduce the RFC''s example). At most 4096 bytes in all.';

CREATE FUNCTION nmc.es256_sign(private_key bytea, message bytea)
RETURNS bytea
LANGUAGE c STRICT VOLATILE
AS 'MODULE_PATHNAME', 'nmc_es256_sign';
COMMENT ON FUNCTION nmc.es256_sign(bytea, bytea) IS 'ECDSA P-256 with SHA-256 of message, as JWS (ES256) wants it: r || s, 64 bytes.';

CREATE FUNCTION nmc.base64url(data bytea)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT
AS $$ SELECT translate(encode(data, 'base64'), E'+/=\n', '-_') $$;
COMMENT ON FUNCTION nmc.base64url(bytea) IS 'Unpadded base64url (RFC 4648 §5).';

CREATE FUNCTION nmc.base64url_decode(s text)
RETURNS bytea
LANGUAGE plpgsql IMMUTABLE STRICT
AS $$
BEGIN
    IF s !~ '^[A-Za-z0-9_-]*={0,2}$' THEN
        RETURN NULL;
    END IF;
    s := rtrim(s, '=');
    RETURN decode(rpad(translate(s, '-_', '+/'), (length(s) + 3) / 4 * 4, '='), 'base64');
EXCEPTION WHEN invalid_parameter_value THEN
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION nmc.base64url_decode(text) IS 'base64url, padded or not, to bytes; NULL if it is not base64url.';

INSERT INTO nmc.settings (name, value, is_secret, description)
SELECT 'web_push_private_key', nmc.base64url(k.private_key), true,
       'The VAPID key (P-256, base64url), made at install: it signs every push to the owner''s devices; its public half is what browsers subscribe with (GET /api/push/key). Changing it orphans every subscription.'
  FROM nmc.web_push_keys() k;
INSERT INTO nmc.settings (name, value, is_secret, description) VALUES
    ('web_push_subject', 'mailto:support@nevermisscall.com', false, 'The contact a push service may use about our pushes (VAPID "sub": a mailto: or https: URL).'),
    ('web_push_endpoints', '^https://(fcm\.googleapis\.com|updates\.push\.services\.mozilla\.com|web\.push\.apple\.com|[a-z0-9.-]+\.notify\.windows\.com|android\.googleapis\.com)/',
     false, 'The push services a subscription may point at (a regular expression on its endpoint): the browsers'' own, so that no account can make the dispatcher post to anything else.'),
    ('web_push_ttl_seconds', '3600', false, 'How long a push service keeps an alert for a device that is offline (TTL): an alert older than this is no use.');

CREATE TABLE nmc.push_subscriptions (
    id           uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
    business_id  uuid NOT NULL,
    user_id      uuid NOT NULL,
    endpoint     text NOT NULL UNIQUE CHECK (length(endpoint) <= 2048),
    p256dh       bytea NOT NULL CHECK (length(p256dh) = 65),
    auth         bytea NOT NULL CHECK (length(auth) = 16),
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_push_at timestamptz,
    FOREIGN KEY (business_id, user_id) REFERENCES nmc.users (business_id, id) ON DELETE CASCADE
);
COMMENT ON TABLE nmc.push_subscriptions IS 'A device of a user that gets alerts pushed (the browser''s PushSubscription: its push service endpoint, p256dh key and auth secret). Forgotten when the push service says it is gone.';
CREATE INDEX push_subscriptions_business ON nmc.push_subscriptions (business_id);
ALTER TABLE nmc.push_subscriptions ENABLE ROW LEVEL SECURITY;
ALTER TABLE nmc.push_subscriptions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON nmc.push_subscriptions
    USING (business_id = nmc.current_business_id())
    WITH CHECK (business_id = nmc.current_business_id());

-- Sending -----------------------------------------------------------------------
CREATE FUNCTION nmc.web_push_notify(p_business_id uuid, payload jsonb)
RETURNS int
LANGUAGE sql
AS $$
    SELECT count(nmc.job_enqueue('push.send', p_business_id, jsonb_build_object('subscription_id', s.id, 'payload', payload)))::int
      FROM nmc.push_subscriptions s WHERE s.business_id = p_business_id
$$;
COMMENT ON FUNCTION nmc.web_push_notify(uuid, jsonb) IS 'Pushes payload ({title, body, url, tag, kind}) to every device of the business: one push.send job each. Returns how many.';

CREATE FUNCTION nmc.vapid_authorization(endpoint text, cfg jsonb)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    priv bytea := nmc.base64url_decode(cfg ->> 'web_push_private_key');
    signing_input text := nmc.base64url(convert_to('{"typ":"JWT","alg":"ES256"}', 'UTF8')) || '.' ||
        nmc.base64url(convert_to(jsonb_build_object(
            'aud', substring(endpoint FROM '^(https?://[^/?#]+)'),
            'exp', floor(extract(epoch FROM now()))::bigint + 12 * 3600,
            'sub', cfg ->> 'web_push_subject')::text, 'UTF8'));
BEGIN
    RETURN 'vapid t=' || signing_input || '.' || nmc.base64url(nmc.es256_sign(priv, convert_to(signing_input, 'UTF8')))
           || ', k=' || nmc.base64url(nmc.web_push_public_key(priv));
END
$$;
COMMENT ON FUNCTION nmc.vapid_authorization(text, jsonb) IS 'RFC 8292: the Authorization header for a push to endpoint — an ES256 JWT for the push service''s origin (aud), valid 12 hours, with our contact (sub), and our public key (k).';

CREATE FUNCTION nmc.push_send_build(j nmc.jobs, cfg jsonb)
RETURNS nmc.http_request
LANGUAGE plpgsql
AS $$
DECLARE
    s nmc.push_subscriptions;
BEGIN
    SELECT * INTO s FROM nmc.push_subscriptions WHERE id = (j.payload ->> 'subscription_id')::uuid;
    IF NOT FOUND THEN
        PERFORM nmc.job_not_wanted('the device stopped taking alerts before this one went out', 'unsubscribed');
    END IF;
    RETURN ROW('POST', s.endpoint,
               ARRAY['Content-Type: application/octet-stream', 'Content-Encoding: aes128gcm',
                     'TTL: ' || (cfg ->> 'web_push_ttl_seconds'), 'Urgency: high',
                     'Authorization: ' || nmc.vapid_authorization(s.endpoint, cfg)],
               NULL, NULL, NULL,
               nmc.web_push_encrypt(convert_to((j.payload -> 'payload')::text, 'UTF8'), s.p256dh, s.auth))::nmc.http_request;
END
$$;
COMMENT ON FUNCTION nmc.push_send_build(nmc.jobs, jsonb) IS 'push.send: POST to the device''s push service the payload encrypted for it (aes128gcm), with TTL web_push_ttl_seconds, Urgency high and the VAPID authorization; dropped (NMD01) if the device unsubscribed meanwhile.';

CREATE FUNCTION nmc.push_send_apply(j nmc.jobs, response jsonb)
RETURNS jsonb
LANGUAGE sql
AS $$
    UPDATE nmc.push_subscriptions SET last_push_at = now() WHERE id = (j.payload ->> 'subscription_id')::uuid;
    SELECT jsonb_build_object('pushed', true)
$$;
COMMENT ON FUNCTION nmc.push_send_apply(nmc.jobs, jsonb) IS 'push.send accepted by the push service (201): the device''s last push is noted.';

CREATE FUNCTION nmc.push_send_failed(j nmc.jobs, code text)
RETURNS void
LANGUAGE sql
AS $$
    DELETE FROM nmc.push_subscriptions WHERE id = (j.payload ->> 'subscription_id')::uuid AND code IN ('http_404', 'http_410')
$$;
COMMENT ON FUNCTION nmc.push_send_failed(nmc.jobs, text) IS 'push.send refused for good: a device its push service calls gone (404, 410) is forgotten; other refusals (400, 403, 413) leave it.';

-- The API -----------------------------------------------------------------------
CREATE FUNCTION nmc.api_push_key(req jsonb)
RETURNS nmc.http_response
LANGUAGE sql STABLE
AS $$ SELECT nmc.respond(200, jsonb_build_object('public_key',
          nmc.base64url(nmc.web_push_public_key(nmc.base64url_decode(nmc.setting('web_push_private_key')))))) $$;
COMMENT ON FUNCTION nmc.api_push_key(jsonb) IS 'GET /api/push/key: the VAPID public key browsers subscribe with (applicationServerKey), base64url.';

CREATE FUNCTION nmc.api_push_subscribe(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $$
DECLARE
    body jsonb := req -> 'body';
    v_endpoint text;
    v_p256dh bytea;
    v_auth bytea;
    s nmc.push_subscriptions;
    existed boolean;
BEGIN
    PERFORM nmc.input_object(body);
    PERFORM nmc.input_allowed_fields(body, ARRAY['endpoint', 'expirationTime', 'keys']);
    v_endpoint := nmc.input_text(body, 'endpoint', true, 2048);
    IF v_endpoint !~ nmc.setting('web_push_endpoints') THEN
        PERFORM nmc.raise_api_error(400, 'invalid_field', 'this push service is not one we send to (web_push_endpoints)', 'endpoint');
    END IF;
    IF jsonb_typeof(body -> 'keys') IS DISTINCT FROM 'object' THEN
        PERFORM nmc.raise_api_error(400, 'invalid_field', 'keys must be {"p256dh": …, "auth": …} as the browser gives them', 'keys');
    END IF;
    v_p256dh := nmc.base64url_decode(body #>> '{keys,p256dh}');
    v_auth := nmc.base64url_decode(body #>> '{keys,auth}');
    IF v_p256dh IS NULL OR length(v_p256dh) <> 65 OR get_byte(v_p256dh, 0) <> 4 THEN
        PERFORM nmc.raise_api_error(400, 'invalid_field', 'keys.p256dh must be an uncompressed P-256 key, base64url', 'keys.p256dh');
    END IF;
    IF v_auth IS NULL OR length(v_auth) <> 16 THEN
        PERFORM nmc.raise_api_error(400, 'invalid_field', 'keys.auth must be 16 bytes, base64url', 'keys.auth');
    END IF;
    DELETE FROM nmc.push_subscriptions WHERE endpoint = v_endpoint;
    existed := FOUND;
    INSERT INTO nmc.push_subscriptions (business_id, user_id, endpoint, p256dh, auth)
    VALUES (nmc.current_business_id(), nmc.current_user_id(), v_endpoint, v_p256dh, v_auth)
    RETURNING * INTO s;
    -- A user keeps their latest 20 devices.
    DELETE FROM nmc.push_subscriptions WHERE id IN (
        SELECT id FROM nmc.push_subscriptions WHERE user_id = s.user_id ORDER BY created_at DESC, id OFFSET 20);
    RETURN nmc.respond(CASE WHEN existed THEN 200 ELSE 201 END, jsonb_build_object('subscription',
        jsonb_build_object('id', s.id, 'endpoint', s.endpoint, 'created_at', s.created_at)));
END
$$;
COMMENT ON FUNCTION nmc.api_push_subscribe(jsonb) IS 'POST /api/push/subscriptions {endpoint, keys: {p256dh, auth}} (a browser''s PushSubscription as JSON): this device gets alerts pushed; 201, or 200 when the endpoint was registered already (its keys replaced). 400 invalid_field for a push service not in web_push_endpoints or keys that are not a P-256 key and a 16-byte secret.';

CREATE FUNCTION nmc.api_push_unsubscribe(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM nmc.input_allowed_fields(nmc.input_object(req -> 'body'), ARRAY['endpoint']);
    DELETE FROM nmc.push_subscriptions WHERE endpoint = nmc.input_text(req -> 'body', 'endpoint', true, 2048);
    RETURN nmc.respond(200, jsonb_build_object('unsubscribed', true));
END
$$;
COMMENT ON FUNCTION nmc.api_push_unsubscribe(jsonb) IS 'POST /api/push/unsubscribe {endpoint}: this device gets no more pushes; 200 {"unsubscribed": true} whether or not it was registered.';

INSERT INTO nmc.api_routes (route_method, route_path, handler, auth, summary) VALUES
    ('GET', '/api/push/key', 'api_push_key', 'jwt', 'The key browsers subscribe to alert pushes with'),
    ('POST', '/api/push/subscriptions', 'api_push_subscribe', 'jwt', 'This device gets alerts pushed'),
    ('POST', '/api/push/unsubscribe', 'api_push_unsubscribe', 'jwt', 'This device gets no more pushes');

-- Conversations never dead-end (sql/api_onboarding.sql): a reply to a closed
-- conversation reopens one, the owner can text any number; quick replies
-- (sql/quick_replies.sql), three to start with for every business.
CREATE OR REPLACE FUNCTION nmc.owner_text_fits(b nmc.businesses, body text)
RETURNS void
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    IF (nmc.sms_segments(body)).segments > b.max_reply_segments THEN
        PERFORM nmc.raise_api_error(400, 'message_too_long',
            format('this message would be %s SMS segments; the limit is %s (max_reply_segments)', (nmc.sms_segments(body)).segments, b.max_reply_segments),
            'body');
    END IF;
END $$;
COMMENT ON FUNCTION nmc.owner_text_fits(nmc.businesses, text) IS 'NM400 message_too_long when a text the owner writes on the dashboard would be more than max_reply_segments SMS segments (it is never cut).';
CREATE OR REPLACE FUNCTION nmc.owner_conversation_json(conv nmc.conversations)
RETURNS jsonb LANGUAGE sql STABLE
AS $$ SELECT nmc.conversation_json(conv) || jsonb_build_object('customer', nmc.customer_brief(conv.customer_id)) $$;
COMMENT ON FUNCTION nmc.owner_conversation_json(nmc.conversations) IS 'A conversation with its customer, as GET /api/conversations/{id} shows it.';
CREATE OR REPLACE FUNCTION nmc.api_conversation_reply(req jsonb)
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
    conv := nmc.conversation_for_update(nmc.input_uuid(req #>> '{params,0}', 'conversation'), false);
    SELECT * INTO b FROM nmc.businesses WHERE id = conv.business_id;
    PERFORM nmc.owner_text_fits(b, body);
    IF conv.state <> 'open' THEN
        -- Never a dead end: the customer's open conversation on that number (a
        -- new one if none) gets it, and the owner has that one.
        conv := nmc.conversation_open(b.id, conv.customer_id, conv.phone_number_id);
        conv := nmc.conversation_takeover(conv.id);
    END IF;
    m := nmc.sms_send(b.id, conv.customer_id, (SELECT phone FROM nmc.phone_numbers WHERE id = conv.phone_number_id),
                      body, 'owner', conv.id);
    -- A human answered: the window closes and no one else will answer for the business.
    IF conv.mode = 'human_window' THEN
        conv := nmc.conversation_set_mode(conv, 'waiting');
    END IF;
    RETURN nmc.respond(201, jsonb_build_object('message', nmc.message_json(m), 'conversation', nmc.owner_conversation_json(conv)));
END $$;
COMMENT ON FUNCTION nmc.api_conversation_reply(jsonb) IS 'POST /api/conversations/{id}/messages {body}: the owner texts the customer from the business number; 201 {message, conversation}. A closed conversation is no dead end: the text goes to the customer''s open conversation on that number, or a new one, which the owner then has (mode human) — conversation says which. Refused if longer than max_reply_segments (never cut) or if the customer opted out or cannot get texts. Closes the human window.';
CREATE OR REPLACE FUNCTION nmc.api_conversation_start(req jsonb)
RETURNS nmc.http_response LANGUAGE plpgsql
AS $$
DECLARE
    b nmc.businesses;
    pn nmc.phone_numbers;
    body text;
    to_phone text;
    cust nmc.customers;
    conv nmc.conversations;
    m nmc.messages;
BEGIN
    PERFORM nmc.input_allowed_fields(nmc.input_object(req -> 'body'), ARRAY['to', 'body']);
    to_phone := nmc.normalize_phone(nmc.input_text(req -> 'body', 'to', true, 40), 'to');
    body := nmc.input_text(req -> 'body', 'body', true, 1600);
    SELECT * INTO b FROM nmc.businesses WHERE id = nmc.current_business_id();
    PERFORM nmc.owner_text_fits(b, body);
    SELECT * INTO pn FROM nmc.phone_numbers WHERE business_id = b.id ORDER BY created_at, id LIMIT 1;
    IF pn.id IS NULL THEN
        PERFORM nmc.raise_api_error(409, 'no_number', 'get a texting number first: texts go out from it');
    END IF;
    cust := nmc.customer_upsert(b.id, to_phone);
    conv := nmc.conversation_takeover((nmc.conversation_open(b.id, cust.id, pn.id)).id);
    m := nmc.sms_send(b.id, cust.id, pn.phone, body, 'owner', conv.id);
    RETURN nmc.respond(201, jsonb_build_object('message', nmc.message_json(m), 'conversation', nmc.owner_conversation_json(conv)));
END $$;
COMMENT ON FUNCTION nmc.api_conversation_start(jsonb) IS 'POST /api/conversations {to, body}: the owner texts any number from the business''s (first) number — a new customer or a known one, in their open conversation or a new one, which the owner has (mode human: the assistant stays out of a conversation the owner started); 201 {message, conversation}. 400 invalid_phone (to) for no phone number, message_too_long; 409 customer_opted_out, customer_unreachable, no_number.';
INSERT INTO nmc.api_routes (route_method, route_path, handler, auth, summary) VALUES
    ('POST', '/api/conversations', 'api_conversation_start', 'jwt', 'Text any number as the business');
-- quick_replies.sql — the owner's saved texts ("On my way", "Running late"):
-- each business's list, in its order, with the greeting's variables plus the
-- customer's name, rendered for the conversation they are about to go to.
-- New businesses start with three.
CREATE TABLE nmc.quick_replies (
    id          uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
    business_id uuid NOT NULL REFERENCES nmc.businesses (id) ON DELETE CASCADE,
    label       text NOT NULL CHECK (length(label) BETWEEN 1 AND 40),
    body        text NOT NULL CHECK (length(body) BETWEEN 1 AND 480),
    position    int NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE nmc.quick_replies IS 'Saved texts the owner sends with one tap: a label, a body with the greeting''s variables and {{customer_name}}, a position in the list.';
CREATE INDEX quick_replies_business ON nmc.quick_replies (business_id, position);
ALTER TABLE nmc.quick_replies ENABLE ROW LEVEL SECURITY;
ALTER TABLE nmc.quick_replies FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON nmc.quick_replies
    USING (business_id = nmc.current_business_id())
    WITH CHECK (business_id = nmc.current_business_id());

CREATE FUNCTION nmc.quick_replies_seed(p_business_id uuid)
RETURNS void
LANGUAGE sql
AS $$
    INSERT INTO nmc.quick_replies (business_id, label, body, position) VALUES
        (p_business_id, 'On my way', 'Hi {{customer_name}}, this is {{business_name}}: I''m on my way, see you soon.', 1),
        (p_business_id, 'Running late', 'Hi {{customer_name}}, {{business_name}} here: I''m running about 15 minutes late. Sorry for the wait!', 2),
        (p_business_id, 'Booked', 'Thanks, you''re booked with {{business_name}}. Reply here if anything changes.', 3)
$$;
COMMENT ON FUNCTION nmc.quick_replies_seed(uuid) IS 'The three quick replies a business starts with.';

CREATE FUNCTION nmc.quick_replies_seed_trigger()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM nmc.quick_replies_seed(NEW.id);
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION nmc.quick_replies_seed_trigger() IS 'Gives a new business its starting quick replies.';
CREATE TRIGGER businesses_quick_replies AFTER INSERT ON nmc.businesses
    FOR EACH ROW EXECUTE FUNCTION nmc.quick_replies_seed_trigger();

CREATE FUNCTION nmc.quick_reply_render(q nmc.quick_replies, conv nmc.conversations)
RETURNS text
LANGUAGE sql STABLE
AS $$
    SELECT nmc.greeting_render(q.business_id,
               replace(regexp_replace(q.body, '\{\{\s*customer_name\s*\}\}', '{{customer_name}}', 'g'), '{{customer_name}}',
                       coalesce(split_part(nullif(btrim((SELECT name FROM nmc.customers WHERE id = conv.customer_id)), ''), ' ', 1), 'there')),
               (SELECT phone FROM nmc.phone_numbers WHERE id = conv.phone_number_id))
$$;
COMMENT ON FUNCTION nmc.quick_reply_render(nmc.quick_replies, nmc.conversations) IS 'A quick reply as it would go to the customer of conv: the greeting''s variables, and {{customer_name}} — their first name, else "there".';

CREATE FUNCTION nmc.quick_reply_json(q nmc.quick_replies, conv nmc.conversations DEFAULT NULL)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$ SELECT jsonb_build_object('id', q.id, 'label', q.label, 'body', q.body, 'position', q.position,
                                'text', nmc.quick_reply_render(q, conv)) $$;
COMMENT ON FUNCTION nmc.quick_reply_json(nmc.quick_replies, nmc.conversations) IS 'A quick reply for the API: its template (body) and its text rendered for conv (or for nobody in particular).';

CREATE FUNCTION nmc.api_quick_replies_list(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    conv nmc.conversations;
BEGIN
    IF req #>> '{query,conversation}' IS NOT NULL THEN
        SELECT * INTO conv FROM nmc.conversations WHERE id = nmc.input_uuid(req #>> '{query,conversation}', 'conversation');
        IF NOT FOUND THEN
            PERFORM nmc.raise_api_error(404, 'not_found', 'no such conversation');
        END IF;
    END IF;
    RETURN nmc.respond(200, jsonb_build_object('quick_replies', coalesce((
        SELECT jsonb_agg(nmc.quick_reply_json(q, conv) ORDER BY q.position, q.created_at, q.id)
          FROM nmc.quick_replies q WHERE q.business_id = nmc.current_business_id()), '[]')));
END
$$;
COMMENT ON FUNCTION nmc.api_quick_replies_list(jsonb) IS 'GET /api/quick-replies[?conversation=id]: the saved texts in order, each with its text rendered for that conversation''s customer.';

CREATE FUNCTION nmc.quick_reply_fields(body jsonb, q nmc.quick_replies)
RETURNS nmc.quick_replies
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    PERFORM nmc.input_allowed_fields(nmc.input_object(body), ARRAY['label', 'body', 'position']);
    IF body ? 'label' OR q.id IS NULL THEN
        q.label := nmc.input_text(body, 'label', true, 40);
    END IF;
    IF body ? 'body' OR q.id IS NULL THEN
        q.body := nmc.input_text(body, 'body', true, 480);
    END IF;
    IF body ? 'position' THEN
        IF jsonb_typeof(body -> 'position') <> 'number' OR (body ->> 'position') !~ '^[0-9]{1,4}$' THEN
            PERFORM nmc.raise_api_error(400, 'invalid_field', 'position must be a whole number from 0 to 9999', 'position');
        END IF;
        q.position := (body ->> 'position')::int;
    END IF;
    RETURN q;
END
$$;
COMMENT ON FUNCTION nmc.quick_reply_fields(jsonb, nmc.quick_replies) IS 'A quick reply with the fields of a request body applied (label ≤ 40, body ≤ 480, position 0–9999; label and body required for a new one).';

CREATE FUNCTION nmc.api_quick_reply_create(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $$
DECLARE
    q nmc.quick_replies := nmc.quick_reply_fields(req -> 'body', NULL);
BEGIN
    INSERT INTO nmc.quick_replies (business_id, label, body, position)
    VALUES (nmc.current_business_id(), q.label, q.body,
            coalesce(q.position, (SELECT coalesce(max(position), 0) + 1 FROM nmc.quick_replies WHERE business_id = nmc.current_business_id())))
    RETURNING * INTO q;
    RETURN nmc.respond(201, jsonb_build_object('quick_reply', nmc.quick_reply_json(q)));
END
$$;
COMMENT ON FUNCTION nmc.api_quick_reply_create(jsonb) IS 'POST /api/quick-replies {label, body, position?}: a new saved text, last in the list unless placed.';

CREATE FUNCTION nmc.api_quick_reply_patch(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $$
DECLARE
    q nmc.quick_replies;
BEGIN
    SELECT * INTO q FROM nmc.quick_replies WHERE id = nmc.input_uuid(req #>> '{params,0}', 'quick_reply') FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM nmc.raise_api_error(404, 'not_found', 'no such quick reply');
    END IF;
    q := nmc.quick_reply_fields(req -> 'body', q);
    UPDATE nmc.quick_replies SET label = q.label, body = q.body, position = q.position WHERE id = q.id RETURNING * INTO q;
    RETURN nmc.respond(200, jsonb_build_object('quick_reply', nmc.quick_reply_json(q)));
END
$$;
COMMENT ON FUNCTION nmc.api_quick_reply_patch(jsonb) IS 'PATCH /api/quick-replies/{id} {label?, body?, position?}.';

CREATE FUNCTION nmc.api_quick_reply_delete(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $$
BEGIN
    DELETE FROM nmc.quick_replies WHERE id = nmc.input_uuid(req #>> '{params,0}', 'quick_reply');
    IF NOT FOUND THEN
        PERFORM nmc.raise_api_error(404, 'not_found', 'no such quick reply');
    END IF;
    RETURN nmc.respond(200, jsonb_build_object('deleted', true));
END
$$;
COMMENT ON FUNCTION nmc.api_quick_reply_delete(jsonb) IS 'DELETE /api/quick-replies/{id}.';

INSERT INTO nmc.api_routes (route_method, route_path, handler, auth, summary) VALUES
    ('GET', '/api/quick-replies', 'api_quick_replies_list', 'jwt', 'Saved texts, rendered for a conversation'),
    ('POST', '/api/quick-replies', 'api_quick_reply_create', 'jwt', 'Save a text'),
    ('PATCH', '/api/quick-replies/{id}', 'api_quick_reply_patch', 'jwt', 'Change a saved text or its place'),
    ('DELETE', '/api/quick-replies/{id}', 'api_quick_reply_delete', 'jwt', 'Delete a saved text');
SELECT nmc.quick_replies_seed(id) FROM nmc.businesses;

-- Scheduling an owner can run the day on (sql/appointment_texts.sql): the owner
-- moves appointments, the customer is texted the owner's changes and reminded
-- the evening before and on the day; an appointment as an .ics file.
ALTER TABLE nmc.businesses ADD COLUMN reminder_day_before boolean NOT NULL DEFAULT true;
ALTER TABLE nmc.businesses ADD COLUMN reminder_hours_before int NOT NULL DEFAULT 2 CHECK (reminder_hours_before BETWEEN 0 AND 12);
CREATE OR REPLACE FUNCTION nmc.business_json(b nmc.businesses)
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
        'reminder_day_before', b.reminder_day_before,
        'reminder_hours_before', b.reminder_hours_before,
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
CREATE OR REPLACE FUNCTION nmc.business_update(patch jsonb)
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
        'service_radius_km', 'service_center', 'emergency_sms_to_owner', 'reminder_day_before', 'reminder_hours_before']);

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
    IF patch ? 'reminder_day_before' THEN
        IF jsonb_typeof(patch -> 'reminder_day_before') IS DISTINCT FROM 'boolean' THEN
            PERFORM nmc.raise_api_error(400, 'invalid_field', 'reminder_day_before must be true or false', 'reminder_day_before');
        END IF;
        b.reminder_day_before := (patch ->> 'reminder_day_before')::boolean;
    END IF;
    IF patch ? 'reminder_hours_before' THEN
        b.reminder_hours_before := nmc.input_int(patch, 'reminder_hours_before', 0, 12);
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
        reminder_day_before = b.reminder_day_before, reminder_hours_before = b.reminder_hours_before,
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
-- appointment_texts.sql — what the customer is told about their appointment,
-- in their conversation (a reply threads into it): the owner's bookings,
-- moves and cancellations, and reminders — the evening before (18:00, the
-- business's time) and a few hours before on the day (not before 07:00) —
-- set by timers when an appointment is booked or moved, cancelled with it.
-- Opted-out and unreachable customers are not texted; a reminder for a time
-- the appointment no longer has is not sent.
CREATE FUNCTION nmc.appointment_tell_customer(a nmc.appointments, body text)
RETURNS nmc.messages
LANGUAGE plpgsql
AS $$
DECLARE
    cu nmc.customers;
    pn uuid;
    conv nmc.conversations;
BEGIN
    SELECT * INTO cu FROM nmc.customers WHERE id = a.customer_id;
    IF cu.opted_out_at IS NOT NULL OR cu.sms_unreachable_at IS NOT NULL THEN
        RETURN NULL;
    END IF;
    -- The number the customer knows: that of their latest conversation, else the business's first.
    SELECT phone_number_id INTO pn FROM nmc.conversations WHERE business_id = a.business_id AND customer_id = a.customer_id
     ORDER BY state = 'open' DESC, created_at DESC LIMIT 1;
    IF pn IS NULL THEN
        SELECT id INTO pn FROM nmc.phone_numbers WHERE business_id = a.business_id ORDER BY created_at, id LIMIT 1;
    END IF;
    IF pn IS NULL THEN
        RETURN NULL;
    END IF;
    conv := nmc.conversation_open(a.business_id, a.customer_id, pn);
    RETURN nmc.sms_send(a.business_id, a.customer_id, (SELECT phone FROM nmc.phone_numbers WHERE id = pn), body, 'system', conv.id);
END
$$;
COMMENT ON FUNCTION nmc.appointment_tell_customer(nmc.appointments, text) IS 'Texts the customer of an appointment in their open conversation (a new one if none) on the number they know; NULL, nothing sent, when they opted out, cannot get texts, or the business has no number.';

CREATE FUNCTION nmc.appointment_reminders_set(a nmc.appointments)
RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
    b nmc.businesses;
    local_start timestamp;
    evening timestamptz;
    on_the_day timestamptz;
    n int := 0;
BEGIN
    SELECT * INTO b FROM nmc.businesses WHERE id = a.business_id;
    local_start := lower(a.during) AT TIME ZONE b.timezone;
    IF b.reminder_day_before THEN
        evening := ((local_start::date - 1) + time '18:00') AT TIME ZONE b.timezone;
        IF evening > now() THEN
            PERFORM nmc.timer_set(a.business_id, 'appointment.reminder', a.id, evening,
                                  jsonb_build_object('starts_at', lower(a.during), 'which', 'day_before'));
            n := n + 1;
        END IF;
    END IF;
    IF b.reminder_hours_before > 0 THEN
        on_the_day := greatest(lower(a.during) - make_interval(hours => b.reminder_hours_before),
                               (local_start::date + time '07:00') AT TIME ZONE b.timezone);
        IF on_the_day > now() AND on_the_day < lower(a.during) THEN
            PERFORM nmc.timer_set(a.business_id, 'appointment.reminder', a.id, on_the_day,
                                  jsonb_build_object('starts_at', lower(a.during), 'which', 'same_day'));
            n := n + 1;
        END IF;
    END IF;
    RETURN n;
END
$$;
COMMENT ON FUNCTION nmc.appointment_reminders_set(nmc.appointments) IS 'Sets an appointment''s reminders: at 18:00 the evening before (reminder_day_before) and reminder_hours_before hours before it starts, not before 07:00 that day (0: none) — business time, only those still ahead. Returns how many.';

CREATE FUNCTION nmc.appointment_reminders_cancel(a nmc.appointments)
RETURNS void
LANGUAGE sql
AS $$
    UPDATE nmc.timers SET cancelled_at = now()
     WHERE subject_id = a.id AND kind = 'appointment.reminder' AND fired_at IS NULL AND cancelled_at IS NULL
$$;
COMMENT ON FUNCTION nmc.appointment_reminders_cancel(nmc.appointments) IS 'Cancels an appointment''s pending reminders (it moved or was cancelled).';

CREATE FUNCTION nmc.appointment_reminder_due(t nmc.timers)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    a nmc.appointments;
    b nmc.businesses;
BEGIN
    SELECT * INTO a FROM nmc.appointments WHERE id = t.subject_id;
    -- Cancelled, or moved since (its new time has reminders of its own).
    IF NOT FOUND OR a.status <> 'booked' OR lower(a.during) IS DISTINCT FROM (t.payload ->> 'starts_at')::timestamptz THEN
        RETURN;
    END IF;
    SELECT * INTO b FROM nmc.businesses WHERE id = a.business_id;
    PERFORM nmc.appointment_tell_customer(a, format('Reminder: %s is coming %s at %s%s. Reply here if anything changes.',
        b.name,
        CASE WHEN (lower(a.during) AT TIME ZONE b.timezone)::date = (now() AT TIME ZONE b.timezone)::date THEN 'today'
             WHEN (lower(a.during) AT TIME ZONE b.timezone)::date = (now() AT TIME ZONE b.timezone)::date + 1 THEN 'tomorrow'
             ELSE 'on ' || to_char(lower(a.during) AT TIME ZONE b.timezone, 'FMDay, FMMonth FMDD') END,
        nmc.format_time_of_day((lower(a.during) AT TIME ZONE b.timezone)::time),
        CASE WHEN a.service_address IS NOT NULL THEN ' (' || a.service_address || ')' ELSE '' END));
END
$$;
COMMENT ON FUNCTION nmc.appointment_reminder_due(nmc.timers) IS 'Timer handler: texts the customer the reminder of a booked appointment ("coming tomorrow at 9:00 AM"), unless it was cancelled or moved since the reminder was set.';
INSERT INTO nmc.timer_kinds (kind, handler, description) VALUES
    ('appointment.reminder', 'appointment_reminder_due', 'A booked appointment''s reminder to the customer is due');

CREATE FUNCTION nmc.appointment_ics(a nmc.appointments)
RETURNS text
LANGUAGE sql STABLE
AS $$
    SELECT array_to_string(ARRAY(SELECT nmc.ics_fold(l) FROM unnest(ARRAY[
        'BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//NeverMissCall//Appointments//EN', 'METHOD:PUBLISH',
        'BEGIN:VEVENT',
        'UID:' || a.id || '@nevermisscall',
        'DTSTAMP:' || to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDD"T"HH24MISS"Z"'),
        'DTSTART:' || to_char(lower(a.during) AT TIME ZONE 'UTC', 'YYYYMMDD"T"HH24MISS"Z"'),
        'DTEND:' || to_char(upper(a.during) AT TIME ZONE 'UTC', 'YYYYMMDD"T"HH24MISS"Z"'),
        'SUMMARY:' || nmc.ics_text(coalesce(nullif(cu.name, ''), cu.phone) || coalesce(' - ' || left(a.problem, 80), '')),
        'LOCATION:' || nmc.ics_text(a.service_address),
        'DESCRIPTION:' || nmc.ics_text(concat_ws(E'\n', 'Customer: ' || coalesce(nullif(cu.name, '') || ' ', '') || cu.phone, a.problem)),
        'STATUS:' || CASE a.status WHEN 'booked' THEN 'CONFIRMED' ELSE 'CANCELLED' END,
        'END:VEVENT', 'END:VCALENDAR']) l WHERE l IS NOT NULL), E'\r\n') || E'\r\n'
      FROM nmc.customers cu WHERE cu.id = a.customer_id
$$;
COMMENT ON FUNCTION nmc.appointment_ics(nmc.appointments) IS 'An appointment as an iCalendar file (RFC 5545, one VEVENT in UTC, lines folded at 75 octets): for the owner''s own calendar.';

CREATE FUNCTION nmc.ics_fold(line text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    out text := '';
    chunk text;
BEGIN
    -- RFC 5545 §3.1: at most 75 octets a line, continued after CRLF and a space;
    -- never inside a multi-byte character.
    WHILE octet_length(line) > 75 LOOP
        chunk := left(line, 74);
        WHILE octet_length(chunk) > 74 LOOP
            chunk := left(chunk, -1);
        END LOOP;
        out := out || chunk || E'\r\n ';
        line := substr(line, length(chunk) + 1);
    END LOOP;
    RETURN out || line;
END
$$;
COMMENT ON FUNCTION nmc.ics_fold(text) IS 'An iCalendar content line folded at 75 octets (RFC 5545 §3.1), never inside a character.';

CREATE FUNCTION nmc.ics_text(t text)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$ SELECT replace(replace(replace(replace(replace(t, '\', '\\'), ';', '\;'), ',', '\,'), E'\r', ''), E'\n', '\n') $$;
COMMENT ON FUNCTION nmc.ics_text(text) IS 'A TEXT value escaped for iCalendar (RFC 5545 §3.3.11).';
CREATE OR REPLACE FUNCTION nmc.appointment_cancel(p_appointment_id uuid, p_reason text DEFAULT NULL)
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
    PERFORM nmc.appointment_reminders_cancel(a);
    PERFORM nmc.emit_event(a.business_id, 'appointment.cancelled', nmc.appointment_json(a));
    RETURN a;
END
$$;
COMMENT ON FUNCTION nmc.appointment_cancel(uuid, text) IS 'Cancels a booked appointment (its time becomes free, its reminders are cancelled); emits appointment.cancelled.';
CREATE OR REPLACE FUNCTION nmc.appointment_move(p_appointment_id uuid, p_starts_at timestamptz, p_minutes int DEFAULT NULL)
RETURNS nmc.appointments
LANGUAGE plpgsql
AS $$
DECLARE
    a nmc.appointments;
    len interval;
BEGIN
    SELECT * INTO a FROM nmc.appointments WHERE id = p_appointment_id AND status = 'booked' FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM nmc.raise_api_error(404, 'not_found', 'no booked appointment with this id');
    END IF;
    len := coalesce(make_interval(mins => p_minutes), upper(a.during) - lower(a.during));
    IF NOT nmc.business_is_open(a.business_id, p_starts_at) OR NOT nmc.business_is_open(a.business_id, p_starts_at + len - interval '1 second') THEN
        PERFORM nmc.raise_api_error(400, 'outside_business_hours', 'that time is outside the business''s hours', 'starts_at');
    END IF;
    BEGIN
        UPDATE nmc.appointments SET during = tstzrange(p_starts_at, p_starts_at + len, '[)') WHERE id = a.id RETURNING * INTO a;
    EXCEPTION WHEN exclusion_violation THEN
        PERFORM nmc.raise_api_error(409, 'slot_taken', 'another appointment is booked at that time', 'starts_at');
    END;
    PERFORM nmc.appointment_reminders_cancel(a);
    PERFORM nmc.appointment_reminders_set(a);
    PERFORM nmc.emit_event(a.business_id, 'appointment.updated', nmc.appointment_json(a));
    RETURN a;
END
$$;
COMMENT ON FUNCTION nmc.appointment_move(uuid, timestamptz, int) IS 'Moves a booked appointment (keeping its length unless given) inside business hours; NM409 slot_taken when it would overlap another — the exclusion constraint decides. Its reminders follow it; emits appointment.updated.';
CREATE OR REPLACE FUNCTION nmc.api_appointments_create(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $$
DECLARE
    body jsonb := nmc.input_object(req -> 'body');
    cust nmc.customers;
    starts timestamptz;
    a nmc.appointments;
    m nmc.messages;
BEGIN
    PERFORM nmc.input_allowed_fields(body, ARRAY['customer_phone', 'starts_at', 'minutes', 'service_address', 'problem', 'notify_customer']);
    starts := nmc.input_timestamptz(body, 'starts_at');
    cust := nmc.customer_upsert(nmc.current_business_id(), nmc.input_text(body, 'customer_phone', true, 32));
    a := nmc.appointment_book(nmc.current_business_id(), cust.id, starts, 'owner',
        nmc.input_text(body, 'service_address', false, 300, 0), nmc.input_text(body, 'problem', false, 1000, 0),
        CASE WHEN body ? 'minutes' THEN nmc.input_int(body, 'minutes', 15, 480) END);
    IF nmc.input_notify_customer(body) THEN
        m := nmc.appointment_tell_customer(a, nmc.appointment_confirmation(a.id));
    END IF;
    RETURN nmc.respond(201, jsonb_build_object('appointment', nmc.appointment_json(a), 'customer_texted', m.id IS NOT NULL));
END
$$;
COMMENT ON FUNCTION nmc.api_appointments_create(jsonb) IS 'POST /api/appointments {customer_phone, starts_at[, minutes, service_address, problem, notify_customer]}: the owner books by hand; the customer is texted the confirmation in their conversation unless notify_customer is false (customer_texted: false when they cannot be texted); 409 slot_taken on overlap.';
CREATE OR REPLACE FUNCTION nmc.input_notify_customer(body jsonb)
RETURNS boolean
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    IF body ? 'notify_customer' AND jsonb_typeof(body -> 'notify_customer') <> 'boolean' THEN
        PERFORM nmc.raise_api_error(400, 'invalid_field', 'notify_customer must be true or false', 'notify_customer');
    END IF;
    RETURN coalesce((body ->> 'notify_customer')::boolean, true);
END
$$;
COMMENT ON FUNCTION nmc.input_notify_customer(jsonb) IS 'Whether an owner''s change to an appointment is texted to the customer (notify_customer, default true).';
CREATE OR REPLACE FUNCTION nmc.api_appointments_patch(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $$
DECLARE
    body jsonb := nmc.input_object(req -> 'body');
    a nmc.appointments;
    b nmc.businesses;
    m nmc.messages;
    starts timestamptz;
BEGIN
    PERFORM nmc.input_allowed_fields(body, ARRAY['starts_at', 'minutes', 'notify_customer']);
    starts := nmc.input_timestamptz(body, 'starts_at');
    a := nmc.appointment_move(nmc.input_uuid(req #>> '{params,0}', 'appointment'), starts,
                              CASE WHEN body ? 'minutes' THEN nmc.input_int(body, 'minutes', 15, 480) END);
    SELECT * INTO b FROM nmc.businesses WHERE id = a.business_id;
    IF nmc.input_notify_customer(body) THEN
        m := nmc.appointment_tell_customer(a, format('%s moved your appointment to %s. Reply here if that does not work for you.',
                                                     b.name, nmc.appointment_when(a, b)));
    END IF;
    RETURN nmc.respond(200, jsonb_build_object('appointment', nmc.appointment_json(a), 'customer_texted', m.id IS NOT NULL));
END
$$;
COMMENT ON FUNCTION nmc.api_appointments_patch(jsonb) IS 'PATCH /api/appointments/{id} {starts_at[, minutes, notify_customer]}: the owner moves an appointment (nmc.appointment_move: same checks as booking); the customer is texted the new time unless notify_customer is false. 409 slot_taken, 400 outside_business_hours, 404.';
CREATE OR REPLACE FUNCTION nmc.api_appointment_ics(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    a nmc.appointments;
BEGIN
    SELECT * INTO a FROM nmc.appointments WHERE id = nmc.input_uuid(req #>> '{params,0}', 'appointment');
    IF NOT FOUND THEN
        PERFORM nmc.raise_api_error(404, 'not_found', 'no such appointment');
    END IF;
    RETURN nmc.respond_text(200, 'text/calendar; charset=utf-8', nmc.appointment_ics(a));
END
$$;
COMMENT ON FUNCTION nmc.api_appointment_ics(jsonb) IS 'GET /api/appointments/{id}/ics: the appointment as an iCalendar file.';
CREATE OR REPLACE FUNCTION nmc.api_appointments_cancel(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $$
DECLARE
    body jsonb := coalesce(req -> 'body', '{}');
    a nmc.appointments;
    b nmc.businesses;
    m nmc.messages;
BEGIN
    PERFORM nmc.input_allowed_fields(nmc.input_object(body), ARRAY['reason', 'notify_customer']);
    a := nmc.appointment_cancel(nmc.input_uuid(req #>> '{params,0}', 'appointment'), nmc.input_text(body, 'reason', false, 300, 0));
    SELECT * INTO b FROM nmc.businesses WHERE id = a.business_id;
    IF nmc.input_notify_customer(body) THEN
        m := nmc.appointment_tell_customer(a, format('%s cancelled your appointment on %s. Reply here to book another time.',
                                                     b.name, nmc.appointment_when(a, b)));
    END IF;
    RETURN nmc.respond(200, jsonb_build_object('appointment', nmc.appointment_json(a), 'customer_texted', m.id IS NOT NULL));
END
$$;
COMMENT ON FUNCTION nmc.api_appointments_cancel(jsonb) IS 'POST /api/appointments/{id}/cancel {reason?, notify_customer?}: the customer is texted that it is cancelled unless notify_customer is false.';
INSERT INTO nmc.api_routes (route_method, route_path, handler, auth, summary) VALUES
    ('PATCH', '/api/appointments/{id}', 'api_appointments_patch', 'jwt', 'Move an appointment'),
    ('GET', '/api/appointments/{id}/ics', 'api_appointment_ics', 'jwt', 'An appointment as an iCalendar file');
SELECT nmc.appointment_reminders_set(a) FROM nmc.appointments a WHERE a.status = 'booked' AND lower(a.during) > now();

-- Account recovery (sql/password_reset.sql): a new password with a texted
-- code, and signing out everywhere (sessions of an earlier sessions_generation).
ALTER TABLE nmc.users ADD COLUMN sessions_generation int NOT NULL DEFAULT 0;
CREATE OR REPLACE FUNCTION nmc.issue_token(u nmc.users)
RETURNS text
LANGUAGE sql STABLE
AS $$
    SELECT nmc.jwt_sign(jsonb_build_object(
        'sub', u.id,
        'business_id', u.business_id,
        'gen', u.sessions_generation,
        'iat', floor(extract(epoch FROM now()))::bigint,
        'exp', floor(extract(epoch FROM now()))::bigint + nmc.setting_int('jwt_ttl_seconds')),
        nmc.setting('jwt_secret'))
$$;
COMMENT ON FUNCTION nmc.issue_token(nmc.users) IS 'A session JWT for u: sub, business_id, gen (the account''s sessions_generation), iat, exp (jwt_ttl_seconds from now).';
CREATE OR REPLACE FUNCTION nmc.authenticate(headers jsonb)
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
    -- Signed out everywhere, or the password was reset, since this token was issued
    -- (a token from before generations existed counts as generation 0).
    IF (CASE WHEN claims ->> 'gen' ~ '^[0-9]{1,9}$' THEN (claims ->> 'gen')::int ELSE 0 END) <> u.sessions_generation THEN
        PERFORM nmc.raise_api_error(401, 'session_revoked', 'this session was signed out (a new password, or signed out everywhere); log in again');
    END IF;
    RETURN u;
END
$$;
COMMENT ON FUNCTION nmc.authenticate(jsonb) IS
    'Verifies the Bearer JWT in headers, scopes the transaction to its business and user (nmc.business_id, nmc.user_id) and returns the user; raises NM401 with the reason code otherwise — session_revoked for a token of an earlier sessions_generation.';
-- password_reset.sql — account recovery and signing out everywhere: a
-- forgotten password is replaced with a 6-digit code texted to the owner's
-- phone (the verified alert phone, else the forward-to phone; throttled,
-- single use, short-lived — nmc.login_code_send), which also signs the account
-- out of every session and forgets its known devices; an owner can sign out
-- everywhere by hand. Both move the account's sessions_generation on: a session
-- token of an earlier generation is refused (nmc.authenticate).
CREATE FUNCTION nmc.password_reset_request(body jsonb, client_addr text)
RETURNS nmc.http_response
LANGUAGE sql
SECURITY DEFINER
SET search_path = nmc, public, pg_temp
AS $$ SELECT nmc.login_code_to_owner(body, client_addr, 'password_reset', 'code to set a new password',
          'NeverMissCall: {code} is your code to set a new password for {email} (valid {minutes} minutes). If you did not ask for it, ignore this text: your password stays as it is.') $$;
COMMENT ON FUNCTION nmc.password_reset_request(jsonb, text) IS
    'POST /api/auth/password/forgot {email}: texts a 6-digit code for a new password to the owner''s phone (verified alert phone, else forward-to phone) from the business''s number — one a minute and login_codes_per_hour an hour per account, login_codes_per_hour an hour per client address (429) — and answers 202 with the same words whether or not the email has an account. Runs as nmc_auth to find the user before the tenant is known.';

CREATE FUNCTION nmc.password_reset(body jsonb, client_addr text)
RETURNS nmc.http_response
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = nmc, public, pg_temp
AS $$
DECLARE
    v_email text;
    v_code text;
    v_password text;
    u nmc.users;
BEGIN
    PERFORM nmc.input_object(body);
    PERFORM nmc.input_allowed_fields(body, ARRAY['email', 'code', 'password']);
    v_email := lower(nmc.input_text(body, 'email', true, 254));
    v_code := nmc.input_text(body, 'code', true, 20);
    v_password := nmc.input_password(body, 8);
    PERFORM pg_advisory_xact_lock(hashtextextended('nmc.login:' || v_email, 0));
    SELECT * INTO u FROM nmc.users WHERE email = v_email;
    IF u.id IS NOT NULL THEN
        PERFORM set_config('nmc.business_id', u.business_id::text, true);
    END IF;
    IF u.id IS NULL OR NOT nmc.login_code_redeem(u.business_id, u.id, 'password_reset', NULL, v_code) THEN
        -- Returned, not raised: the wrong try is counted.
        RETURN nmc.respond(400, nmc.error_body('invalid_code', 'this code is wrong, used or expired; ask for a new one', 'code'));
    END IF;
    -- The new password; every session and known device of the old one is gone.
    UPDATE nmc.users SET password_hash = crypt(v_password, gen_salt('bf', nmc.setting_int('bcrypt_cost')::int)),
           sessions_generation = sessions_generation + 1
     WHERE id = u.id RETURNING * INTO u;
    DELETE FROM nmc.user_devices WHERE user_id = u.id;
    DELETE FROM nmc.login_failures WHERE scope = 'email' AND key = v_email;
    PERFORM set_config('nmc.user_id', u.id::text, true);
    RETURN nmc.respond(200, jsonb_build_object('token', nmc.issue_token(u), 'user', nmc.user_json(u)));
END
$$;
COMMENT ON FUNCTION nmc.password_reset(jsonb, text) IS
    'POST /api/auth/password/reset {email, code, password}: with the texted code, sets a new password (at least 8 bytes), signs the account out of every other session (sessions_generation), forgets its known devices and clears its failed logins; 200 {token, user}. 400 invalid_code otherwise (login_code_max_attempts tries). Runs as nmc_auth.';

CREATE FUNCTION nmc.api_auth_password_forgot(req jsonb)
RETURNS nmc.http_response LANGUAGE sql
AS $$ SELECT nmc.password_reset_request(req -> 'body', req ->> 'client_addr') $$;
COMMENT ON FUNCTION nmc.api_auth_password_forgot(jsonb) IS 'POST /api/auth/password/forgot: see nmc.password_reset_request.';

CREATE FUNCTION nmc.api_auth_password_reset(req jsonb)
RETURNS nmc.http_response LANGUAGE sql
AS $$ SELECT nmc.password_reset(req -> 'body', req ->> 'client_addr') $$;
COMMENT ON FUNCTION nmc.api_auth_password_reset(jsonb) IS 'POST /api/auth/password/reset: see nmc.password_reset.';

CREATE FUNCTION nmc.api_auth_sign_out_everywhere(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $$
BEGIN
    UPDATE nmc.users SET sessions_generation = sessions_generation + 1 WHERE id = nmc.current_user_id();
    RETURN nmc.respond(200, jsonb_build_object('signed_out', true));
END
$$;
COMMENT ON FUNCTION nmc.api_auth_sign_out_everywhere(jsonb) IS 'POST /api/auth/sign-out-everywhere: every session token of this account issued until now stops working (this one too).';

INSERT INTO nmc.api_routes (route_method, route_path, handler, auth, summary) VALUES
    ('POST', '/api/auth/password/forgot', 'api_auth_password_forgot', 'public', 'Text a code for a new password to the owner''s phone'),
    ('POST', '/api/auth/password/reset', 'api_auth_password_reset', 'public', 'Set a new password with the texted code'),
    ('POST', '/api/auth/sign-out-everywhere', 'api_auth_sign_out_everywhere', 'jwt', 'Sign this account out of every session');

-- Appointments and the call list say who the customer is.
CREATE OR REPLACE FUNCTION nmc.appointment_json(a nmc.appointments)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$ SELECT jsonb_build_object('id', a.id, 'customer_id', a.customer_id, 'lead_id', a.lead_id, 'starts_at', lower(a.during),
                                'ends_at', upper(a.during), 'status', a.status, 'service_address', a.service_address,
                                'problem', a.problem, 'booked_by', a.booked_by, 'cancel_reason', a.cancel_reason,
                                'customer', nmc.customer_brief(a.customer_id)) $$;
COMMENT ON FUNCTION nmc.appointment_json(nmc.appointments) IS 'The API and event representation of an appointment, with its customer ({id, phone, name}).';
CREATE OR REPLACE FUNCTION nmc.api_calls_list(req jsonb)
RETURNS nmc.http_response LANGUAGE sql STABLE
AS $$
    SELECT nmc.respond(200, jsonb_build_object('calls', coalesce(jsonb_agg(nmc.call_json(c) || jsonb_build_object('customer', nmc.customer_brief(c.customer_id))
                                                                  ORDER BY c.created_at DESC), '[]')))
      FROM (SELECT * FROM nmc.calls WHERE business_id = nmc.current_business_id() ORDER BY created_at DESC LIMIT 100) c
$$;
COMMENT ON FUNCTION nmc.api_calls_list(jsonb) IS 'GET /api/calls: the latest 100 calls with their text decision and their customer ({id, phone, name}, as call.missed carries it).';

-- Free slots of a chosen day, for a length, the moved appointment not counting
-- against itself (the dashboard asks instead of working them out itself).
DROP FUNCTION nmc.open_slots(uuid, timestamptz, int, int);
CREATE OR REPLACE FUNCTION nmc.open_slots(p_business_id uuid, p_from timestamptz, p_count int DEFAULT 3, p_minutes int DEFAULT NULL,
                               p_exclude uuid DEFAULT NULL)
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
                                                  AND a.id IS DISTINCT FROM p_exclude AND a.during && tstzrange(s, s + len, '[)')) THEN
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
COMMENT ON FUNCTION nmc.open_slots(uuid, timestamptz, int, int, uuid) IS 'The next p_count free slots of the job''s length (p_minutes, else appointment_minutes) from p_from: inside business hours (local time), not on closures, not overlapping a booked appointment other than p_exclude (the one being moved); starting on the hour or half hour, up to two weeks ahead.';
CREATE OR REPLACE FUNCTION nmc.api_open_slots(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    b nmc.businesses;
    day date;
    minutes int;
    excluded uuid;
    q jsonb := coalesce(req -> 'query', '{}');
BEGIN
    SELECT * INTO b FROM nmc.businesses WHERE id = nmc.current_business_id();
    IF q ? 'minutes' THEN
        IF q ->> 'minutes' !~ '^[0-9]{1,3}$' OR (q ->> 'minutes')::int NOT BETWEEN 15 AND 480 THEN
            PERFORM nmc.raise_api_error(400, 'invalid_field', 'minutes must be a whole number from 15 to 480', 'minutes');
        END IF;
        minutes := (q ->> 'minutes')::int;
    END IF;
    IF q ? 'exclude' THEN
        excluded := nmc.input_uuid(q ->> 'exclude', 'exclude');
    END IF;
    IF q ? 'date' THEN
        IF q ->> 'date' !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' THEN
            PERFORM nmc.raise_api_error(400, 'invalid_field', 'date must be YYYY-MM-DD', 'date');
        END IF;
        BEGIN
            day := (q ->> 'date')::date;
        EXCEPTION WHEN OTHERS THEN
            PERFORM nmc.raise_api_error(400, 'invalid_field', 'date must be a real day (YYYY-MM-DD)', 'date');
        END;
        -- Every free start of that local day still ahead (at most 48: every half hour).
        RETURN nmc.respond(200, jsonb_build_object('slots', coalesce((
            SELECT jsonb_agg(jsonb_build_object('starts_at', s.starts_at, 'ends_at', s.ends_at) ORDER BY s.starts_at)
              FROM nmc.open_slots(b.id, greatest(now(), day::timestamp AT TIME ZONE b.timezone), 48, minutes, excluded) s
             WHERE s.starts_at < (day + 1)::timestamp AT TIME ZONE b.timezone), '[]')));
    END IF;
    RETURN nmc.respond(200, jsonb_build_object('slots', coalesce((
        SELECT jsonb_agg(jsonb_build_object('starts_at', s.starts_at, 'ends_at', s.ends_at) ORDER BY s.starts_at)
          FROM nmc.open_slots(b.id, now(), 10, minutes, excluded) s), '[]')));
END
$$;
COMMENT ON FUNCTION nmc.api_open_slots(jsonb) IS 'GET /api/appointments/open-slots[?date=YYYY-MM-DD&minutes=&exclude=<appointment>]: the free slots — of that local day (every free start still ahead), else the next ten — of minutes (else appointment_minutes), the appointment being moved not counting against itself (nmc.open_slots).';
UPDATE nmc.api_routes SET summary = 'Free slots: of a day, or the next ones' WHERE route_method = 'GET' AND route_path = '/api/appointments/open-slots';

-- One rule for a timestamp field; the confirmation says when as every appointment text does.
CREATE OR REPLACE FUNCTION nmc.input_timestamptz(body jsonb, field text)
RETURNS timestamptz
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN nmc.input_text(body, field, true, 40)::timestamptz;
EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow THEN
    PERFORM nmc.raise_api_error(400, 'invalid_field', field || ' must be an ISO 8601 timestamp', field);
END
$$;
COMMENT ON FUNCTION nmc.input_timestamptz(jsonb, text) IS 'A required ISO 8601 timestamp field; NM400 invalid_field otherwise.';
CREATE OR REPLACE FUNCTION nmc.api_appointments_create(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $$
DECLARE
    body jsonb := nmc.input_object(req -> 'body');
    cust nmc.customers;
    starts timestamptz;
    a nmc.appointments;
    m nmc.messages;
BEGIN
    PERFORM nmc.input_allowed_fields(body, ARRAY['customer_phone', 'starts_at', 'minutes', 'service_address', 'problem', 'notify_customer']);
    starts := nmc.input_timestamptz(body, 'starts_at');
    cust := nmc.customer_upsert(nmc.current_business_id(), nmc.input_text(body, 'customer_phone', true, 32));
    a := nmc.appointment_book(nmc.current_business_id(), cust.id, starts, 'owner',
        nmc.input_text(body, 'service_address', false, 300, 0), nmc.input_text(body, 'problem', false, 1000, 0),
        CASE WHEN body ? 'minutes' THEN nmc.input_int(body, 'minutes', 15, 480) END);
    IF nmc.input_notify_customer(body) THEN
        m := nmc.appointment_tell_customer(a, nmc.appointment_confirmation(a.id));
    END IF;
    RETURN nmc.respond(201, jsonb_build_object('appointment', nmc.appointment_json(a), 'customer_texted', m.id IS NOT NULL));
END
$$;
COMMENT ON FUNCTION nmc.api_appointments_create(jsonb) IS 'POST /api/appointments {customer_phone, starts_at[, minutes, service_address, problem, notify_customer]}: the owner books by hand; the customer is texted the confirmation in their conversation unless notify_customer is false (customer_texted: false when they cannot be texted); 409 slot_taken on overlap.';
CREATE OR REPLACE FUNCTION nmc.api_appointments_patch(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $$
DECLARE
    body jsonb := nmc.input_object(req -> 'body');
    a nmc.appointments;
    b nmc.businesses;
    m nmc.messages;
    starts timestamptz;
BEGIN
    PERFORM nmc.input_allowed_fields(body, ARRAY['starts_at', 'minutes', 'notify_customer']);
    starts := nmc.input_timestamptz(body, 'starts_at');
    a := nmc.appointment_move(nmc.input_uuid(req #>> '{params,0}', 'appointment'), starts,
                              CASE WHEN body ? 'minutes' THEN nmc.input_int(body, 'minutes', 15, 480) END);
    SELECT * INTO b FROM nmc.businesses WHERE id = a.business_id;
    IF nmc.input_notify_customer(body) THEN
        m := nmc.appointment_tell_customer(a, format('%s moved your appointment to %s. Reply here if that does not work for you.',
                                                     b.name, nmc.appointment_when(a, b)));
    END IF;
    RETURN nmc.respond(200, jsonb_build_object('appointment', nmc.appointment_json(a), 'customer_texted', m.id IS NOT NULL));
END
$$;
COMMENT ON FUNCTION nmc.api_appointments_patch(jsonb) IS 'PATCH /api/appointments/{id} {starts_at[, minutes, notify_customer]}: the owner moves an appointment (nmc.appointment_move: same checks as booking); the customer is texted the new time unless notify_customer is false. 409 slot_taken, 400 outside_business_hours, 404.';
CREATE OR REPLACE FUNCTION nmc.appointment_when(a nmc.appointments, b nmc.businesses)
RETURNS text
LANGUAGE sql STABLE
AS $$ SELECT to_char(lower(a.during) AT TIME ZONE b.timezone, 'FMDay, FMMonth FMDD') || ' at '
             || nmc.format_time_of_day((lower(a.during) AT TIME ZONE b.timezone)::time) $$;
COMMENT ON FUNCTION nmc.appointment_when(nmc.appointments, nmc.businesses) IS 'When an appointment starts, in words and the business''s time ("Friday, March 6 at 2:30 PM").';
CREATE OR REPLACE FUNCTION nmc.appointment_confirmation(p_appointment_id uuid)
RETURNS text
LANGUAGE sql STABLE
AS $$
    SELECT format('You''re booked with %s on %s%s. Reply here if anything changes.',
                  b.name, nmc.appointment_when(a, b),
                  CASE WHEN a.service_address IS NOT NULL THEN ' at ' || a.service_address ELSE '' END)
      FROM nmc.appointments a JOIN nmc.businesses b ON b.id = a.business_id
     WHERE a.id = p_appointment_id AND a.status = 'booked'
$$;
COMMENT ON FUNCTION nmc.appointment_confirmation(uuid) IS 'The confirmation text of a booked appointment, written from the row in the business''s local time: a customer is never told of a booking the database does not have.';
-- Generated from docs/openapi.yaml by extension/Makefile.
CREATE OR REPLACE FUNCTION nmc.openapi_document() RETURNS text LANGUAGE sql IMMUTABLE AS $nmc_fn$ SELECT $nmc_openapi$openapi: 3.0.3
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
      summary: "Free slots: of a day, or the next ones"
      security: [{bearer: []}]
      parameters:
        - {name: date, in: query, required: false, schema: {type: string}}
        - {name: minutes, in: query, required: false, schema: {type: integer}}
        - {name: exclude, in: query, required: false, schema: {type: string}}
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/appointments/{id}:
    patch:
      summary: "Move an appointment"
      security: [{bearer: []}]
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
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
  /api/appointments/{id}/ics:
    get:
      summary: "An appointment as an iCalendar file"
      security: [{bearer: []}]
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      responses:
        '200':
          description: Success.
          content:
            text/calendar:
              schema: {type: string}
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
  /api/auth/sign-out-everywhere:
    post:
      summary: "Sign this account out of every session"
      security: [{bearer: []}]
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/auth/unlock:
    post:
      summary: "Text a sign-in code to the business's phone (passes the login throttle)"
      security: []
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
  /api/auth/password/forgot:
    post:
      summary: "Text a code for a new password to the owner's phone"
      security: []
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
  /api/auth/password/reset:
    post:
      summary: "Set a new password with the texted code"
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
  /api/business/alerts:
    get:
      summary: "Alerts to the owner's phone: the phone, the kinds, the quiet hours"
      security: [{bearer: []}]
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
    patch:
      summary: "Choose the alerts and the quiet hours"
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
  /api/business/alerts/phone:
    put:
      summary: "Set the phone alerts go to; a code is texted to it"
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
  /api/business/alerts/phone/verify:
    post:
      summary: "Verify the alert phone with the texted code"
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
    post:
      summary: "Text any number as the business"
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
  /api/push/key:
    get:
      summary: "The key browsers subscribe to alert pushes with"
      security: [{bearer: []}]
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/push/subscriptions:
    post:
      summary: "This device gets alerts pushed"
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
  /api/push/unsubscribe:
    post:
      summary: "This device gets no more pushes"
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
  /api/quick-replies:
    get:
      summary: "Saved texts, rendered for a conversation"
      security: [{bearer: []}]
      parameters:
        - {name: conversation, in: query, required: false, schema: {type: string}}
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
    post:
      summary: "Save a text"
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
  /api/quick-replies/{id}:
    patch:
      summary: "Change a saved text or its place"
      security: [{bearer: []}]
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
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
    delete:
      summary: "Delete a saved text"
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
SELECT nmc.api_dispatch_build();
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
GRANT SELECT, INSERT, UPDATE, DELETE ON nmc.user_devices, nmc.login_codes TO nmc_auth;
GRANT SELECT, INSERT ON nmc.jobs TO nmc_auth;
GRANT UPDATE (password_hash, sessions_generation) ON nmc.users TO nmc_auth;

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
ALTER FUNCTION nmc.login_code_request(jsonb, text) OWNER TO nmc_auth;
ALTER FUNCTION nmc.password_reset_request(jsonb, text) OWNER TO nmc_auth;
ALTER FUNCTION nmc.password_reset(jsonb, text) OWNER TO nmc_auth;
ALTER FUNCTION nmc.webhook_tenant(text) OWNER TO nmc_auth;
ALTER FUNCTION nmc.phone_number_available(text) OWNER TO nmc_auth;
GRANT USAGE ON SCHEMA nmc TO nmc_monitor;
GRANT SELECT ON nmc.jobs, nmc.job_attempts, nmc.job_kinds, nmc.settings, nmc.webhook_inbox TO nmc_monitor;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA nmc TO nmc_monitor;
ALTER FUNCTION nmc_api.metrics() OWNER TO nmc_monitor;
-- nmc_monitor owns nmc_api.metrics (a definer function), so it needs the schema too.
GRANT USAGE ON SCHEMA nmc_api TO nmc_monitor;
