-- api.sql — the HTTP API: a route table and nmc_api.handle, the one function
-- the edge calls for every /api request. handle finds the route, parses the
-- body, authenticates when the route needs it, runs the handler and turns an
-- error into an HTTP answer (nmc.api_error_response: NMxxx errors, and the
-- SQLSTATE → HTTP table nmc.api_sqlstate_http — PostgREST-style, one place).
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

CREATE FUNCTION nmc.api_auth_unlock(req jsonb)
RETURNS nmc.http_response
LANGUAGE sql
AS $$ SELECT nmc.login_code_request(req -> 'body', req ->> 'client_addr') $$;
COMMENT ON FUNCTION nmc.api_auth_unlock(jsonb) IS 'POST /api/auth/unlock: see nmc.login_code_request.';

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

CREATE TABLE nmc.api_sqlstate_http (
    sqlstate    text PRIMARY KEY CHECK (sqlstate ~ '^[0-9A-Z]{5}$'),
    http_status int NOT NULL CHECK (http_status BETWEEN 400 AND 499),
    code        text NOT NULL CHECK (code ~ '^[a-z_]+$'),
    message     text NOT NULL
);
COMMENT ON TABLE nmc.api_sqlstate_http IS 'SQLSTATE → HTTP, the one table (PostgREST''s idea): a rule only the schema enforces, which no handler checked first, is the client''s mistake — answered with this status and stable code, never a 500. NMxxx errors carry their own status (xxx) and code; any other SQLSTATE is a bug of ours: 500 internal_error.';
INSERT INTO nmc.api_sqlstate_http (sqlstate, http_status, code, message) VALUES
    ('23505', 409, 'conflict', 'this conflicts with something that already exists'),            -- unique_violation
    ('23503', 409, 'conflict', 'this refers to something that does not exist, or is still in use'), -- foreign_key_violation
    ('23P01', 409, 'conflict', 'this overlaps with something that already exists'),              -- exclusion_violation
    ('23502', 400, 'invalid_input', 'a value in the request is not acceptable (missing, too long, out of range or malformed)'), -- not_null_violation
    ('23514', 400, 'invalid_input', 'a value in the request is not acceptable (missing, too long, out of range or malformed)'), -- check_violation
    ('22001', 400, 'invalid_input', 'a value in the request is not acceptable (missing, too long, out of range or malformed)'), -- string_data_right_truncation
    ('22003', 400, 'invalid_input', 'a value in the request is not acceptable (missing, too long, out of range or malformed)'), -- numeric_value_out_of_range
    ('22007', 400, 'invalid_input', 'a value in the request is not acceptable (missing, too long, out of range or malformed)'), -- invalid_datetime_format
    ('22008', 400, 'invalid_input', 'a value in the request is not acceptable (missing, too long, out of range or malformed)'), -- datetime_field_overflow
    ('22023', 400, 'invalid_input', 'a value in the request is not acceptable (missing, too long, out of range or malformed)'), -- invalid_parameter_value
    ('22P02', 400, 'invalid_input', 'a value in the request is not acceptable (missing, too long, out of range or malformed)'); -- invalid_text_representation

CREATE FUNCTION nmc.api_error_response(err_state text, err_message text, err_code text, err_field text, route text)
RETURNS nmc.http_response
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    m nmc.api_sqlstate_http;
BEGIN
    IF err_state ~ '^NM[0-9]{3}$' THEN
        RETURN nmc.respond(substr(err_state, 3)::int, nmc.error_body(err_code, err_message, err_field));
    END IF;
    SELECT * INTO m FROM nmc.api_sqlstate_http WHERE sqlstate = err_state;
    IF FOUND THEN
        RAISE LOG 'nmc_api.handle %: refused by the schema: % %', route, err_state, err_message;
        RETURN nmc.respond(m.http_status, nmc.error_body(m.code, m.message));
    END IF;
    RAISE LOG 'nmc_api.handle %: unexpected error % %', route, err_state, err_message;
    RETURN nmc.respond(500, nmc.error_body('internal_error', 'internal error'));
END
$$;
COMMENT ON FUNCTION nmc.api_error_response(text, text, text, text, text) IS 'The HTTP answer to an error raised while handling a request: NMxxx → status xxx with its code and field; a SQLSTATE of nmc.api_sqlstate_http → its status and stable code; anything else → 500 internal_error (logged).';

CREATE FUNCTION nmc.route_regex(route_path text)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$ SELECT '^' || regexp_replace(route_path, '\{[a-z_]+\}', '([^/]+)', 'g') || '$' $$;
COMMENT ON FUNCTION nmc.route_regex(text) IS 'The anchored regular expression a route path pattern matches.';

CREATE FUNCTION nmc_api.handle(method text, path text, query jsonb, request_headers jsonb,
                               client_addr text, request_body text, raw_query text DEFAULT NULL,
                               edge jsonb DEFAULT NULL)
RETURNS TABLE (status int, content_type text, headers text, body text, body_bytes bytea)
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
        RETURN QUERY SELECT resp.status, 'application/json'::text, resp.headers, resp.body::text, NULL::bytea;
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
            IF coalesce(handle.edge ->> 'spooled_at', '') ~ '^[0-9]{10,15}$' THEN
                parsed := parsed || jsonb_build_object('nmc_spooled_at',
                                        to_timestamp((handle.edge ->> 'spooled_at')::bigint / 1000.0));
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
                'client_addr', client_addr, 'body', parsed, 'edge', coalesce(handle.edge, '{}')));
        IF resp.status IS NULL THEN
            PERFORM nmc.raise_api_error(404, 'not_found', 'not found');
        END IF;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS err_state = RETURNED_SQLSTATE, err_message = MESSAGE_TEXT,
                                err_code = PG_EXCEPTION_DETAIL, err_field = PG_EXCEPTION_HINT;
        resp := nmc.api_error_response(err_state, err_message, err_code, err_field, upper(handle.method) || ' ' || handle.path);
    END;
    IF resp.bytes IS NOT NULL THEN
        RETURN QUERY SELECT resp.status, resp.content_type, resp.headers, NULL::text, resp.bytes;
    ELSIF resp.content_type IS NOT NULL THEN
        RETURN QUERY SELECT resp.status, resp.content_type, resp.headers, resp.text_body, NULL::bytea;
    ELSE
        RETURN QUERY SELECT resp.status, 'application/json'::text, resp.headers, resp.body::text, NULL::bytea;
    END IF;
END
$$;
COMMENT ON FUNCTION nmc_api.handle(text, text, jsonb, jsonb, text, text, text, jsonb) IS
    'The edge''s one entry point for /api and /webhooks: (method, path, query args, lower-cased request headers, client address, raw body, raw query string, and the edge''s own document about the request — never taken from a header, so no client can set it: its live-feed clients and spool, {"ws_clients", "ws_dropped_slow", "spool_waiting"}, for the status page, or {"spooled_at": epoch ms} for a webhook it replays from its spool; handlers see it as req.edge) → (status, content type, extra header lines, body; or body_bytes instead of body for a binary answer such as a kept recording). API errors are JSON {"error":{"code","message"[,"field"]}}: NMxxx errors with their status, a constraint the request ran into 409 conflict, a value the schema refuses 400 invalid_input, anything else 500; Twilio webhooks are signature-checked and answer TwiML; one the edge replays from its spool reaches its handler with body.nmc_spooled_at (when the edge received it).';
