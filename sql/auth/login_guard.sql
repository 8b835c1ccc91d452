-- login_guard.sql — what stands between a password guesser and an account
-- without locking the real owner out: failed logins counted per email and per
-- client address, each past its allowance waiting a delay that doubles with
-- every further failure (never a hard lock); known devices (a token given at
-- each successful login) that pass the throttle with the right password; and
-- sign-in codes texted to the business's phone, which also pass it.
-- The design is OWASP's "device cookies" against online guessing.
CREATE TABLE nmc.login_failures (
    scope     text NOT NULL CHECK (scope IN ('email', 'source')),
    key       text NOT NULL,
    failed_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE nmc.login_failures IS 'One row per failed login, by email and by client address; counted over login_failure_window_seconds for the growing delays of nmc.login_throttled.';
CREATE INDEX login_failures_lookup ON nmc.login_failures (scope, key, failed_at);

CREATE TABLE nmc.user_devices (
    id           uuid NOT NULL DEFAULT gen_random_uuid(),
    business_id  uuid NOT NULL,
    user_id      uuid NOT NULL,
    token_hash   bytea NOT NULL UNIQUE,
    failures     int NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (business_id, user_id) REFERENCES nmc.users (business_id, id) ON DELETE CASCADE,
    PRIMARY KEY (business_id, id)
);
COMMENT ON TABLE nmc.user_devices IS 'Browsers a user logged in from: the SHA-256 of the device token handed out at login. A known device passes the login throttle with the right password; failures counts its wrong passwords since its last success (at login_device_max_failures it is forgotten).';
CREATE INDEX user_devices_user ON nmc.user_devices (user_id, last_used_at);
-- By id alone too (found from a job's payload or a row of another table, without RLS):
CREATE INDEX user_devices_id ON nmc.user_devices (id);
ALTER TABLE nmc.user_devices ENABLE ROW LEVEL SECURITY;
ALTER TABLE nmc.user_devices FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON nmc.user_devices
    USING (business_id = nmc.current_business_id())
    WITH CHECK (business_id = nmc.current_business_id());

CREATE TABLE nmc.login_codes (
    id           uuid NOT NULL DEFAULT gen_random_uuid(),
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
    FOREIGN KEY (business_id, user_id) REFERENCES nmc.users (business_id, id) ON DELETE CASCADE,
    PRIMARY KEY (business_id, id)
);
COMMENT ON TABLE nmc.login_codes IS 'Codes texted to a phone: purpose sign_in (POST /api/auth/unlock, to the business''s phone), password_reset (POST /api/auth/password/forgot, likewise) or alert_phone (proving the owner has the alert phone, whose number is kept in phone). code_hash: the SHA-256 of the code with its row id, tried at most login_code_max_attempts times before expires_at. requested_from: the client address that asked (sends are throttled per address too). text_to_send: the text with the code in it, only until the twilio.sms.login_code job has sent it or given up (the outbox never holds a secret).';
CREATE INDEX login_codes_user ON nmc.login_codes (user_id, created_at);
-- By id alone too (found from a job's payload or a row of another table, without RLS):
CREATE INDEX login_codes_id ON nmc.login_codes (id);
CREATE INDEX login_codes_source ON nmc.login_codes (requested_from, created_at);
ALTER TABLE nmc.login_codes ENABLE ROW LEVEL SECURITY;
ALTER TABLE nmc.login_codes FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON nmc.login_codes
    USING (business_id = nmc.current_business_id())
    WITH CHECK (business_id = nmc.current_business_id());
-- Sends are counted per client address before any tenant is known.
CREATE POLICY code_throttle ON nmc.login_codes FOR SELECT TO nmc_auth USING (true);

CREATE FUNCTION nmc.login_delay(failures bigint, allowance bigint)
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

CREATE FUNCTION nmc.login_throttled(v_email text, client_addr text)
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

CREATE FUNCTION nmc.login_failure_record(v_email text, client_addr text, dev nmc.user_devices)
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

CREATE FUNCTION nmc.device_find(u nmc.users, device_token text)
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

CREATE FUNCTION nmc.device_remember(u nmc.users, dev nmc.user_devices)
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

CREATE FUNCTION nmc.login_code_hash(code_id uuid, code text)
RETURNS bytea
LANGUAGE sql IMMUTABLE
AS $$ SELECT sha256(convert_to(code_id::text || ':' || code, 'UTF8')) $$;
COMMENT ON FUNCTION nmc.login_code_hash(uuid, text) IS 'How a sign-in code is kept: SHA-256 of its row id and the digits.';

CREATE FUNCTION nmc.login_code_send(p_business_id uuid, p_user_id uuid, p_purpose text, p_to text, p_from text,
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

CREATE FUNCTION nmc.login_code_redeem(p_business_id uuid, p_user_id uuid, p_purpose text, p_phone text, code text)
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

CREATE FUNCTION nmc.login_codes_asked_too_often(source text, p_purpose text)
RETURNS boolean
LANGUAGE sql STABLE
AS $$ SELECT count(*) >= nmc.setting_int('login_codes_per_hour') FROM nmc.login_codes
       WHERE requested_from = source AND purpose = p_purpose AND created_at > now() - interval '1 hour' $$;
COMMENT ON FUNCTION nmc.login_codes_asked_too_often(text, text) IS 'Whether a client address asked for login_codes_per_hour codes of a purpose within the hour (each code is a text someone pays for).';

CREATE FUNCTION nmc.login_code_to_owner(body jsonb, client_addr text, p_purpose text, p_what text, p_text text)
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
    SELECT phone INTO from_phone FROM nmc.phone_numbers WHERE business_id = b.id AND detached_at IS NULL ORDER BY created_at, id LIMIT 1;
    IF nmc.owner_phone(b) IS NOT NULL AND from_phone IS NOT NULL THEN
        PERFORM nmc.login_code_send(b.id, u.id, p_purpose, nmc.owner_phone(b), from_phone,
            replace(replace(p_text, '{email}', u.email), '{minutes}', ceil(nmc.setting_int('login_code_ttl_seconds') / 60.0)::text), v_source);
    END IF;
    RETURN answer;   -- the same whether or not a code went out (none within the minute, or past the hour's allowance)
END
$$;
COMMENT ON FUNCTION nmc.login_code_to_owner(jsonb, text, text, text, text) IS
    'For {email}: texts a 6-digit code of p_purpose (nmc.login_code_send; p_text with {code}, {email}, {minutes}) from the business''s number to the owner''s phone — the verified alert phone, else the forward-to phone (at most one a minute and login_codes_per_hour an hour per account, login_codes_per_hour an hour per client address: 429); always answers 202 with the same words (a p_what "is on its way"), so it tells nobody whether an email has an account. Called by the nmc_auth functions that find the user before the tenant is known.';

CREATE FUNCTION nmc.login_code_request(body jsonb, client_addr text)
RETURNS nmc.http_response
LANGUAGE sql
SECURITY DEFINER
SET search_path = nmc, public, pg_temp
AS $$ SELECT nmc.login_code_to_owner(body, client_addr, 'sign_in', 'sign-in code',
          'NeverMissCall sign-in code: {code} (for {email}, valid {minutes} minutes). If you did not ask for it, someone is guessing your password: ignore this text.') $$;
COMMENT ON FUNCTION nmc.login_code_request(jsonb, text) IS
    'POST /api/auth/unlock {email}: texts a 6-digit sign-in code (nmc.login_code_send) from the business''s number to the owner''s phone — the verified alert phone, else the forward-to phone (at most one a minute and login_codes_per_hour an hour per account and per client address); always answers 202 with the same words, so it tells nobody whether an email has an account. The code, given to POST /api/auth/login as login_code with the right password, passes the login throttle. Runs as nmc_auth (the user is found before the tenant is known).';
