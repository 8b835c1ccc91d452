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
