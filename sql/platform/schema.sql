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
    text_body    text,
    bytes        bytea    -- since 0.7.0: a binary body (a kept file), with content_type
);
COMMENT ON TYPE nmc.http_response IS 'What an API or webhook handler answers: HTTP status, a JSON body (or, with content_type, a text body such as TwiML, or bytes such as a recording), and extra header lines ("Name: value", newline-separated) or NULL.';

CREATE FUNCTION nmc.respond(status int, body jsonb, headers text DEFAULT NULL)
RETURNS nmc.http_response
LANGUAGE sql IMMUTABLE
AS $$ SELECT ROW(status, body, headers, NULL, NULL, NULL)::nmc.http_response $$;
COMMENT ON FUNCTION nmc.respond(int, jsonb, text) IS 'Builds a JSON nmc.http_response.';

CREATE FUNCTION nmc.respond_text(status int, content_type text, body text)
RETURNS nmc.http_response
LANGUAGE sql IMMUTABLE
AS $$ SELECT ROW(status, NULL, NULL, content_type, body, NULL)::nmc.http_response $$;
COMMENT ON FUNCTION nmc.respond_text(int, text, text) IS 'Builds a non-JSON nmc.http_response (TwiML for Twilio''s webhooks).';

CREATE FUNCTION nmc.respond_bytes(status int, content_type text, bytes bytea, headers text DEFAULT NULL)
RETURNS nmc.http_response
LANGUAGE sql IMMUTABLE
AS $$ SELECT ROW(status, NULL, headers, content_type, NULL, bytes)::nmc.http_response $$;
COMMENT ON FUNCTION nmc.respond_bytes(int, text, bytea, text) IS 'Builds a binary nmc.http_response (a kept file: a recording, a photo).';

CREATE FUNCTION nmc.error_body(code text, message text, field text DEFAULT NULL)
RETURNS jsonb
LANGUAGE sql IMMUTABLE
AS $$
    SELECT jsonb_build_object('error',
        jsonb_build_object('code', code, 'message', message)
        || CASE WHEN coalesce(field, '') <> '' THEN jsonb_build_object('field', field) ELSE '{}' END)
$$;
COMMENT ON FUNCTION nmc.error_body(text, text, text) IS 'The JSON error body every API error uses: {"error":{"code","message"[,"field"]}}.';
