-- auth.sql — registration, login (guarded by login_guard.sql), session tokens, and
-- authenticating an API call (which scopes the transaction to one business).
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
        'gen', u.sessions_generation,
        'iat', floor(extract(epoch FROM now()))::bigint,
        'exp', floor(extract(epoch FROM now()))::bigint + nmc.setting_int('jwt_ttl_seconds')),
        nmc.setting('jwt_secret'))
$$;
COMMENT ON FUNCTION nmc.issue_token(nmc.users) IS 'A session JWT for u: sub, business_id, gen (the account''s sessions_generation), iat, exp (jwt_ttl_seconds from now).';

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

CREATE FUNCTION nmc.login(body jsonb, client_addr text)
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
