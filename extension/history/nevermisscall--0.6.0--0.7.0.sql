-- 0.6.0 → 0.7.0, assembled by extension/Makefile (upgrades/assemble.pl) into
-- nevermisscall--0.6.0--0.7.0.sql: table changes written here as upgrade steps;
-- "--@include f" brings sql/f.sql (new in this version), "--@replace f name" the
-- current text of a changed function; then the OpenAPI document, the route
-- dispatcher and sql/grants.sql. test/upgrade/check.sh proves the result equals
-- a fresh 0.7.0 install.
\echo Use "ALTER EXTENSION nevermisscall UPDATE" to load this file. \quit

-- Voicemail and kept files (sql/media_files.sql, sql/voicemail.sql): a missed
-- caller may leave a message; recordings and MMS photos are copied from Twilio
-- and served through the API.
ALTER TYPE nmc.http_response ADD ATTRIBUTE bytes bytea;
COMMENT ON TYPE nmc.http_response IS 'What an API or webhook handler answers: HTTP status, a JSON body (or, with content_type, a text body such as TwiML, or bytes such as a recording), and extra header lines ("Name: value", newline-separated) or NULL.';
CREATE OR REPLACE FUNCTION nmc.respond(status int, body jsonb, headers text DEFAULT NULL)
RETURNS nmc.http_response
LANGUAGE sql IMMUTABLE
AS $$ SELECT ROW(status, body, headers, NULL, NULL, NULL)::nmc.http_response $$;
COMMENT ON FUNCTION nmc.respond(int, jsonb, text) IS 'Builds a JSON nmc.http_response.';
CREATE OR REPLACE FUNCTION nmc.respond_text(status int, content_type text, body text)
RETURNS nmc.http_response
LANGUAGE sql IMMUTABLE
AS $$ SELECT ROW(status, NULL, NULL, content_type, body, NULL)::nmc.http_response $$;
COMMENT ON FUNCTION nmc.respond_text(int, text, text) IS 'Builds a non-JSON nmc.http_response (TwiML for Twilio''s webhooks).';
CREATE OR REPLACE FUNCTION nmc.respond_bytes(status int, content_type text, bytes bytea, headers text DEFAULT NULL)
RETURNS nmc.http_response
LANGUAGE sql IMMUTABLE
AS $$ SELECT ROW(status, NULL, headers, content_type, NULL, bytes)::nmc.http_response $$;
COMMENT ON FUNCTION nmc.respond_bytes(int, text, bytea, text) IS 'Builds a binary nmc.http_response (a kept file: a recording, a photo).';
DROP FUNCTION nmc_api.handle(text, text, jsonb, jsonb, text, text, text);
CREATE OR REPLACE FUNCTION nmc_api.handle(method text, path text, query jsonb, request_headers jsonb,
                               client_addr text, request_body text, raw_query text DEFAULT NULL)
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
    IF resp.bytes IS NOT NULL THEN
        RETURN QUERY SELECT resp.status, resp.content_type, resp.headers, NULL::text, resp.bytes;
    ELSIF resp.content_type IS NOT NULL THEN
        RETURN QUERY SELECT resp.status, resp.content_type, resp.headers, resp.text_body, NULL::bytea;
    ELSE
        RETURN QUERY SELECT resp.status, 'application/json'::text, resp.headers, resp.body::text, NULL::bytea;
    END IF;
END
$$;
COMMENT ON FUNCTION nmc_api.handle(text, text, jsonb, jsonb, text, text, text) IS
    'The edge''s one entry point for /api and /webhooks: (method, path, query args, lower-cased request headers, client address, raw body, raw query string) → (status, content type, extra header lines, body; or body_bytes instead of body for a binary answer such as a kept recording). API errors are JSON {"error":{"code","message"[,"field"]}}: NMxxx errors with their status, a constraint the request ran into 409 conflict, a value the schema refuses 400 invalid_input, anything else 500; Twilio webhooks are signature-checked and answer TwiML; one the edge replays from its spool carries x-nmc-spooled-at (epoch ms of its arrival), passed to the handler as body.nmc_spooled_at.';
ALTER TABLE nmc.businesses ADD COLUMN voicemail_enabled boolean NOT NULL DEFAULT true;
ALTER TABLE nmc.businesses ADD COLUMN appointment_buffer_minutes int NOT NULL DEFAULT 0 CHECK (appointment_buffer_minutes BETWEEN 0 AND 240);
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
        'appointment_buffer_minutes', b.appointment_buffer_minutes,
        'reminder_day_before', b.reminder_day_before,
        'reminder_hours_before', b.reminder_hours_before,
        'voicemail_enabled', b.voicemail_enabled,
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
        'service_radius_km', 'service_center', 'emergency_sms_to_owner', 'reminder_day_before', 'reminder_hours_before',
        'voicemail_enabled', 'appointment_buffer_minutes']);

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
    IF patch ? 'appointment_buffer_minutes' THEN
        b.appointment_buffer_minutes := nmc.input_int(patch, 'appointment_buffer_minutes', 0, 240);
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
    IF patch ? 'voicemail_enabled' THEN
        IF jsonb_typeof(patch -> 'voicemail_enabled') IS DISTINCT FROM 'boolean' THEN
            PERFORM nmc.raise_api_error(400, 'invalid_field', 'voicemail_enabled must be true or false', 'voicemail_enabled');
        END IF;
        b.voicemail_enabled := (patch ->> 'voicemail_enabled')::boolean;
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
        voicemail_enabled = b.voicemail_enabled, appointment_buffer_minutes = b.appointment_buffer_minutes,
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
INSERT INTO nmc.settings (name, value, is_secret, description) VALUES
    ('openai_transcription_model', 'whisper-1', false, 'Model that transcribes voicemails (OpenAI audio transcriptions).'),
    ('voicemail_max_seconds', '120', false, 'The longest voicemail a caller can leave.');
-- media_files.sql — files a provider holds for a business (a voicemail's
-- recording, the photos of an MMS), copied into the database so the dashboard
-- gets them through the edge, authenticated like any API call: a Twilio URL
-- needs the account's credentials and never reaches a page. A file is fetched
-- once by the dispatcher (twilio.media.fetch, sql/twilio.sql), then served by
-- GET /api/media/{id}. An MMS's photos are kept by a trigger on messages.
CREATE FUNCTION nmc.media_type(t text)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$ SELECT CASE WHEN t ~ '^[A-Za-z0-9.+_-]+/[A-Za-z0-9.+_-]+$' THEN lower(t) END $$;
COMMENT ON FUNCTION nmc.media_type(text) IS 'A media type as a kept file records it (type/subtype, lower case, parameters dropped by the caller), or NULL when t is not one (it came from the network).';

CREATE TABLE nmc.media_files (
    id           uuid NOT NULL DEFAULT gen_random_uuid(),
    business_id  uuid NOT NULL REFERENCES nmc.businesses (id) ON DELETE CASCADE,
    source_url   text NOT NULL,  -- the provider's URL, never shown
    content_type text NOT NULL CHECK (content_type = nmc.media_type(content_type)),
    status       text NOT NULL DEFAULT 'fetching' CHECK (status IN ('fetching', 'stored', 'failed')),
    bytes        bytea,
    size_bytes   int,
    error        text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    fetched_at   timestamptz,
    PRIMARY KEY (business_id, id),   -- keyed by business, ready to distribute (docs/scaling.md)
    CHECK ((status = 'stored') = (bytes IS NOT NULL))
);
COMMENT ON TABLE nmc.media_files IS 'A provider''s file kept for a business (voicemail recordings, MMS photos): fetching until the dispatcher has copied it (twilio.media.fetch), then stored (bytes, the provider''s content type), or failed with why. Served by GET /api/media/{id}; source_url is the provider''s and never leaves the database.';
ALTER TABLE nmc.media_files ENABLE ROW LEVEL SECURITY;
ALTER TABLE nmc.media_files FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON nmc.media_files
    USING (business_id = nmc.current_business_id())
    WITH CHECK (business_id = nmc.current_business_id());

CREATE FUNCTION nmc.media_file_request(p_business_id uuid, p_url text, p_content_type text)
RETURNS uuid
LANGUAGE plpgsql
AS $$
DECLARE
    f nmc.media_files;
BEGIN
    INSERT INTO nmc.media_files (business_id, source_url, content_type)
    VALUES (p_business_id, p_url,
            coalesce(nmc.media_type(p_content_type), 'application/octet-stream'))
    RETURNING * INTO f;
    PERFORM nmc.job_enqueue('twilio.media.fetch', p_business_id, jsonb_build_object('file_id', f.id), 'media:' || f.id);
    RETURN f.id;
END
$$;
COMMENT ON FUNCTION nmc.media_file_request(uuid, text, text) IS 'Keeps a provider''s file for a business: a media_files row (fetching) and its twilio.media.fetch job, sent at commit; returns the file''s id, which the API serves as /api/media/{id}.';

CREATE FUNCTION nmc.media_url(file_id uuid)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$ SELECT CASE WHEN file_id IS NOT NULL THEN '/api/media/' || file_id END $$;
COMMENT ON FUNCTION nmc.media_url(uuid) IS 'Where the dashboard gets a kept file (GET, with its session token).';

-- What waits for a file once it is kept (or could not be): a voicemail.
CREATE FUNCTION nmc.media_file_kept(f nmc.media_files)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM nmc.voicemail_audio_kept(f);
END
$$;
COMMENT ON FUNCTION nmc.media_file_kept(nmc.media_files) IS 'A file was kept or could not be: whatever waited for it goes on (a voicemail is transcribed or told, nmc.voicemail_audio_kept). An MMS photo waits for nothing: the dashboard asks for it.';

CREATE FUNCTION nmc.api_media_get(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    f nmc.media_files;
BEGIN
    SELECT * INTO f FROM nmc.media_files
     WHERE id = nmc.input_uuid(req #>> '{params,0}', 'id') AND business_id = nmc.current_business_id();
    IF NOT FOUND THEN
        PERFORM nmc.raise_api_error(404, 'not_found', 'no such file');
    ELSIF f.status = 'fetching' THEN
        PERFORM nmc.raise_api_error(409, 'media_not_ready', 'the file is still being fetched from the provider');
    ELSIF f.status = 'failed' THEN
        PERFORM nmc.raise_api_error(410, 'media_unavailable', 'the file could not be fetched from the provider');
    END IF;
    RETURN nmc.respond_bytes(200, f.content_type, f.bytes, 'Cache-Control: private, max-age=86400');
END
$$;
COMMENT ON FUNCTION nmc.api_media_get(jsonb) IS 'GET /api/media/{id}: a kept file of the caller''s business (a voicemail, an MMS photo) with its content type; 409 media_not_ready while it is fetched, 410 media_unavailable when it could not be, 404 for another business''s.';

INSERT INTO nmc.api_routes (route_method, route_path, handler, auth, summary) VALUES
    ('GET', '/api/media/{id}', 'api_media_get', 'jwt', 'A voicemail recording or MMS photo, fetched from the provider and served here');
CREATE OR REPLACE FUNCTION nmc.messages_media_keep()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF NEW.twilio_sid IS NOT NULL AND EXISTS (SELECT 1 FROM nmc.messages WHERE twilio_sid = NEW.twilio_sid) THEN
        RETURN NEW;  -- Twilio delivered it again: the insert will do nothing, and neither does this.
    END IF;
    NEW.media := (SELECT jsonb_agg(CASE WHEN x ? 'file_id' OR coalesce(x ->> 'url', '') = '' THEN x
                                        ELSE x || jsonb_build_object('file_id', nmc.media_file_request(NEW.business_id, x ->> 'url', x ->> 'content_type')) END
                                   ORDER BY n)
                    FROM jsonb_array_elements(NEW.media) WITH ORDINALITY AS m(x, n));
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION nmc.messages_media_keep() IS 'Trigger: each media item of a new inbound message is kept (nmc.media_file_request) and carries its file_id.';
CREATE TRIGGER messages_media_keep BEFORE INSERT ON nmc.messages
    FOR EACH ROW WHEN (NEW.media IS NOT NULL AND NEW.direction = 'inbound') EXECUTE FUNCTION nmc.messages_media_keep();
CREATE OR REPLACE FUNCTION nmc.message_json(m nmc.messages)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$ SELECT jsonb_build_object('id', m.id, 'conversation_id', m.conversation_id, 'customer_id', m.customer_id,
                                'direction', m.direction, 'author', m.author, 'body', m.body, 'status', m.status,
                                'error_code', m.error_code, 'error_message', m.error_message, 'simulated', m.simulated,
                                'created_at', m.created_at,
                                'media', (SELECT jsonb_agg(jsonb_build_object('content_type', x ->> 'content_type',
                                                                              'url', nmc.media_url((x ->> 'file_id')::uuid)) ORDER BY n)
                                            FROM jsonb_array_elements(m.media) WITH ORDINALITY AS e(x, n))) $$;
COMMENT ON FUNCTION nmc.message_json(nmc.messages) IS 'The API representation of a message (events carry only its id and status); media: an MMS''s photos, each its content type and where the dashboard gets the copy we keep (url: /api/media/{id}; never the provider''s URL), NULL when none.';
CREATE OR REPLACE FUNCTION nmc.twilio_media_fetch_build(j nmc.jobs, cfg jsonb)
RETURNS nmc.http_request
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    f nmc.media_files;
    base text := rtrim(cfg ->> 'twilio_api_base', '/');
BEGIN
    SELECT * INTO f FROM nmc.media_files WHERE business_id = j.business_id AND id = (j.payload ->> 'file_id')::uuid;
    IF NOT FOUND OR f.status <> 'fetching' THEN
        PERFORM nmc.job_not_wanted('the file is gone or already kept', 'not_needed');
    END IF;
    IF nmc.sandbox_mode() THEN
        PERFORM nmc.job_not_wanted('sandbox mode has no Twilio account to fetch from', 'sandbox');
    END IF;
    -- Only Twilio's own API gets the account's credentials: a URL elsewhere is refused.
    IF left(f.source_url, length(base) + 1) <> base || '/' THEN
        RAISE EXCEPTION 'the file''s URL is not under twilio_api_base';
    END IF;
    RETURN ROW('GET', f.source_url, ARRAY['Accept: */*'], NULL,
               cfg ->> 'twilio_account_sid', cfg ->> 'twilio_auth_token', NULL)::nmc.http_request;
END
$$;
COMMENT ON FUNCTION nmc.twilio_media_fetch_build(nmc.jobs, jsonb) IS 'twilio.media.fetch: GET the file''s Twilio URL with the account''s credentials (redirects to Twilio''s storage are followed; the credentials go to Twilio''s host alone). A URL not under twilio_api_base is refused; in sandbox mode, or when the file is gone, the job is dropped.';
CREATE OR REPLACE FUNCTION nmc.twilio_media_fetch_apply(j nmc.jobs, response jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    f nmc.media_files;
    data bytea;
BEGIN
    IF response ->> 'base64' IS NULL THEN
        PERFORM nmc.job_permanent_error('Twilio answered with no file', 'invalid_response');
    END IF;
    data := decode(response ->> 'base64', 'base64');
    UPDATE nmc.media_files SET status = 'stored', bytes = data, size_bytes = length(data), fetched_at = now(), error = NULL,
           content_type = coalesce(nmc.media_type(response ->> 'content_type'), content_type)
     WHERE business_id = j.business_id AND id = (j.payload ->> 'file_id')::uuid AND status = 'fetching'
    RETURNING * INTO f;
    IF FOUND THEN
        PERFORM nmc.media_file_kept(f);
    END IF;
    RETURN jsonb_build_object('file_id', f.id, 'content_type', f.content_type, 'size_bytes', f.size_bytes);
END
$$;
COMMENT ON FUNCTION nmc.twilio_media_fetch_apply(nmc.jobs, jsonb) IS 'twilio.media.fetch success: the file''s bytes and content type are kept (the dispatcher hands a file over as {content_type, base64}), then whatever waited for it goes on (nmc.media_file_kept).';
CREATE OR REPLACE FUNCTION nmc.twilio_media_fetch_failed(j nmc.jobs, code text, message text)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    f nmc.media_files;
BEGIN
    UPDATE nmc.media_files SET status = 'failed', error = left(coalesce(code || ': ', '') || coalesce(message, 'unknown'), 500)
     WHERE business_id = j.business_id AND id = (j.payload ->> 'file_id')::uuid AND status = 'fetching'
    RETURNING * INTO f;
    IF FOUND THEN
        PERFORM nmc.media_file_kept(f);
    END IF;
END
$$;
COMMENT ON FUNCTION nmc.twilio_media_fetch_failed(nmc.jobs, text, text) IS 'twilio.media.fetch given up (or dropped): the file is marked failed with why, and whatever waited for it is told (nmc.media_file_kept).';
CREATE OR REPLACE FUNCTION nmc.twiml_say_and_record(message text, max_seconds int, action_url text, status_callback_url text)
RETURNS nmc.http_response
LANGUAGE sql IMMUTABLE
AS $$
    SELECT nmc.twiml(format('<Say>%s</Say><Record action="%s" method="POST" maxLength="%s" timeout="5" playBeep="true" trim="trim-silence" '
                            'recordingStatusCallback="%s" recordingStatusCallbackMethod="POST" recordingStatusCallbackEvent="completed absent"/><Hangup/>',
                            nmc.xml_escape(message), nmc.xml_escape(action_url), max_seconds, nmc.xml_escape(status_callback_url)))
$$;
COMMENT ON FUNCTION nmc.twiml_say_and_record(text, int, text, text) IS 'Say a message, then record a voicemail after the beep (at most max_seconds; 5 s of silence ends it): Twilio requests action_url when the caller is done, and status_callback_url when the recording is completed or absent. Hang up if nothing was recorded.';
DROP FUNCTION nmc.call_answer_twiml(nmc.businesses, text);
CREATE OR REPLACE FUNCTION nmc.call_answer_twiml(b nmc.businesses, pn nmc.phone_numbers, answer text)
RETURNS nmc.http_response
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    words text;
BEGIN
    IF answer = 'forward' AND b.forward_to_phone IS NOT NULL THEN
        RETURN nmc.twiml_dial(b.forward_to_phone, b.ring_timeout_seconds,
                              nmc.twilio_webhook_url(nmc.settings_json(), '/webhooks/twilio/voice/dial'));
    ELSIF answer IN ('after_hours', 'no_forward_phone', 'missed') THEN
        words := CASE WHEN answer = 'missed' THEN format('Sorry we couldn''t take your call. %s will text you right away.', b.name)
                      ELSE coalesce(b.after_hours_message, nmc.default_after_hours_message(b)) END;
        IF NOT b.voicemail_enabled THEN
            RETURN nmc.twiml_say_and_hang_up(words);
        END IF;
        RETURN nmc.twiml_say_and_record(words || ' ' || 'You can also leave a message after the beep.', nmc.setting_int('voicemail_max_seconds')::int,
                                        nmc.twilio_webhook_url(nmc.settings_json(), '/webhooks/twilio/voice/recorded'),
                                        nmc.voicemail_recording_url(pn));
    ELSIF answer = 'owner_phone' THEN
        RETURN nmc.twiml_say_and_hang_up('This is your NeverMissCall number. Calls from your own phone are not forwarded or texted back: call from another phone to try it.');
    END IF;
    RETURN nmc.twiml('<Hangup/>');
END
$$;
COMMENT ON FUNCTION nmc.call_answer_twiml(nmc.businesses, nmc.phone_numbers, text) IS 'The TwiML for a call to pn: forward (<Dial> to the owner with the ring timeout and our action URL), after_hours or no_forward_phone (the after-hours message), missed (a text is coming) — these two then record a voicemail if the business takes them (voicemail_enabled; sql/voicemail.sql) —, owner_phone (the owner called their own number from the forward-to phone: told so, not forwarded to itself), anything else hang up.';
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
    RETURN nmc.call_answer_twiml(b, pn, answer);
END
$$;
COMMENT ON FUNCTION nmc.webhook_voice(jsonb) IS 'POST /webhooks/twilio/voice: an incoming call, accepted into the webhook inbox and answered at once. Open → forward to the owner (<Dial> with ring timeout and action); closed or no forward phone → the after-hours message (the call is then missed: nmc.calls_apply); from the forward-to phone itself → told it is the owner''s own number (missed, reason owner_phone, never texted); replayed from the edge''s spool (the database was down, the caller was told a text is coming) → missed, reason outage. Idempotent on CallSid: a retry gets the same answer.';
CREATE OR REPLACE FUNCTION nmc.webhook_voice_dial(req jsonb)
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
    RETURN nmc.call_answer_twiml(b, pn, CASE WHEN nmc.call_dial_missed_reason(req -> 'body') IS NOT NULL THEN 'missed' END);
END
$$;
COMMENT ON FUNCTION nmc.webhook_voice_dial(jsonb) IS 'POST /webhooks/twilio/voice/dial: the <Dial> ended; accepted into the webhook inbox (nmc.calls_apply applies it) and answered at once — a missed call hears that a text is coming, an answered one hangs up; a missed one may then leave a voicemail. Idempotent on CallSid.';
CREATE OR REPLACE FUNCTION nmc.call_json(c nmc.calls)
RETURNS jsonb
-- PL/pgSQL: the voicemail comes from sql/voicemail.sql, later in the install.
LANGUAGE plpgsql STABLE
AS $$ BEGIN RETURN jsonb_build_object('id', c.id, 'from', c.from_raw, 'to', c.to_phone, 'status', c.status, 'missed_reason', c.missed_reason,
                                'decision', c.decision, 'decision_reason', c.decision_reason, 'customer_id', c.customer_id,
                                'lead_id', c.lead_id, 'conversation_id', c.conversation_id, 'message_id', c.message_id,
                                'duration_seconds', c.duration_seconds, 'created_at', c.created_at, 'missed_at', c.missed_at,
                                'text', (SELECT jsonb_build_object('status', m.status, 'error_code', m.error_code, 'error_message', m.error_message)
                                           FROM nmc.messages m WHERE m.id = c.message_id),
                                'voicemail', nmc.call_voicemail_json(c.id)); END $$;
COMMENT ON FUNCTION nmc.call_json(nmc.calls) IS 'The API and event representation of a call, with its text decision and, when texted, where that text is now (text: status pending/queued/sent/delivered/undelivered/failed/dropped, with the provider''s code and the reason), and the voicemail left, if any (nmc.voicemail_json).';
ALTER TABLE nmc.webhook_inbox DROP CONSTRAINT webhook_inbox_kind_check;
ALTER TABLE nmc.webhook_inbox ADD CONSTRAINT webhook_inbox_kind_check
    CHECK (kind IN ('sms', 'sms_status', 'voice', 'voice_dial', 'voice_status', 'voice_recording'));
COMMENT ON TABLE nmc.webhook_inbox IS 'Twilio webhooks accepted and not yet applied (normally for a few milliseconds). kind: sms (an inbound text), sms_status, voice (an incoming call), voice_dial (the forwarded call ended), voice_status, voice_recording (a voicemail). params: the webhook''s form fields (a voice webhook adds nmc_answer, what the caller was told). failed_at/error: applying it raised an error; the row is kept and skipped until a DBA clears failed_at (then it is applied again).';
CREATE OR REPLACE FUNCTION nmc.webhook_inbox_apply(t nmc.webhook_inbox)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    CASE t.kind
        WHEN 'sms' THEN PERFORM nmc.sms_received(t);
        WHEN 'sms_status' THEN PERFORM nmc.message_status_reported(t);
        WHEN 'voice', 'voice_dial' THEN PERFORM nmc.calls_apply(ARRAY[t]);
        WHEN 'voice_status' THEN PERFORM nmc.call_status_reported(t);
        WHEN 'voice_recording' THEN PERFORM nmc.call_voicemail_recorded(t);
    END CASE;
END
$$;
COMMENT ON FUNCTION nmc.webhook_inbox_apply(nmc.webhook_inbox) IS 'Applies one accepted webhook by its kind, in the business''s tenant scope: an inbound text (nmc.sms_received), a message status (nmc.message_status_reported), an incoming call or the end of a forwarded call (nmc.calls_apply, a run of one), a call status (nmc.call_status_reported), a voicemail''s recording (nmc.call_voicemail_recorded). Each is idempotent: a webhook delivered again after it was applied changes nothing.';
-- voicemail.sql — a caller whose call was missed can leave a message. The
-- caller hears the business's words, then Twilio records (TwiML <Record>, see
-- nmc.call_answer_twiml); the greeting text has gone out already, the
-- recording never delays it. Twilio's recording status callback is accepted
-- into the webhook inbox like every webhook and applied here: the voicemail is
-- kept on the call, its audio copied from Twilio (sql/media_files.sql, fetched by twilio.media.fetch), and,
-- with an OpenAI key, transcribed (openai.audio.transcribe); the transcript
-- joins the caller's conversation and lead, and the owner is alerted.
CREATE TABLE nmc.voicemails (
    id                uuid NOT NULL DEFAULT gen_random_uuid(),
    business_id       uuid NOT NULL REFERENCES nmc.businesses (id) ON DELETE CASCADE,
    call_id           uuid NOT NULL,
    recording_sid     text NOT NULL CHECK (recording_sid ~ '^RE[0-9a-zA-Z]{32}$'),
    status            text NOT NULL CHECK (status IN ('completed', 'absent', 'failed')),
    duration_seconds  int CHECK (duration_seconds >= 0),
    file_id           uuid,
    transcript        text CHECK (length(transcript) <= 4000),
    transcript_status text NOT NULL DEFAULT 'none' CHECK (transcript_status IN ('none', 'pending', 'done', 'failed')),
    message_id        uuid,
    error_code        text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (business_id, id),   -- keyed by business, ready to distribute (docs/scaling.md)
    UNIQUE (business_id, recording_sid),
    FOREIGN KEY (business_id, call_id) REFERENCES nmc.calls (business_id, id) ON DELETE CASCADE,
    FOREIGN KEY (business_id, file_id) REFERENCES nmc.media_files (business_id, id) ON DELETE SET NULL (file_id)
);
COMMENT ON TABLE nmc.voicemails IS 'A message a caller left after a missed call, from Twilio''s recording status callback (RecordingSid): completed (audio in file_id, served by /api/media/{id}), absent (nothing was said) or failed; transcript_status none (no OpenAI key), pending, done (transcript, also a message in the conversation: message_id) or failed.';
CREATE INDEX voicemails_call ON nmc.voicemails (business_id, call_id);
-- A kept file finds the voicemail waiting for it (nmc.voicemail_audio_kept), and a file's removal its reference.
CREATE INDEX voicemails_file ON nmc.voicemails (business_id, file_id);
CREATE TRIGGER voicemails_touch BEFORE UPDATE ON nmc.voicemails FOR EACH ROW EXECUTE FUNCTION nmc.touch_updated_at();
ALTER TABLE nmc.voicemails ENABLE ROW LEVEL SECURITY;
ALTER TABLE nmc.voicemails FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON nmc.voicemails
    USING (business_id = nmc.current_business_id())
    WITH CHECK (business_id = nmc.current_business_id());

CREATE FUNCTION nmc.voicemail_json(v nmc.voicemails)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT jsonb_build_object('id', v.id, 'status', v.status, 'duration_seconds', v.duration_seconds,
                              'audio_url', CASE WHEN f.status = 'stored' THEN nmc.media_url(f.id) END,
                              'audio_status', coalesce(f.status, CASE WHEN v.status = 'completed' THEN 'failed' END),
                              'transcript', v.transcript, 'transcript_status', v.transcript_status, 'created_at', v.created_at)
      FROM (SELECT v.file_id) x LEFT JOIN nmc.media_files f ON f.business_id = v.business_id AND f.id = x.file_id
$$;
COMMENT ON FUNCTION nmc.voicemail_json(nmc.voicemails) IS 'The API representation of a voicemail: status, length, where to play it (audio_url, once copied from Twilio; audio_status fetching/stored/failed), transcript and its status.';

CREATE FUNCTION nmc.call_voicemail_json(p_call_id uuid)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$ SELECT nmc.voicemail_json(v) FROM nmc.voicemails v WHERE v.call_id = p_call_id AND v.status = 'completed' ORDER BY v.created_at DESC LIMIT 1 $$;
COMMENT ON FUNCTION nmc.call_voicemail_json(uuid) IS 'The voicemail left on a call (the latest completed one), or NULL.';

CREATE FUNCTION nmc.voicemail_recording_url(pn nmc.phone_numbers)
RETURNS text
LANGUAGE sql STABLE
AS $$ SELECT nmc.twilio_webhook_url(nmc.settings_json(), '/webhooks/twilio/voice/recording') || '?To=' || nmc.url_encode(pn.phone) $$;
COMMENT ON FUNCTION nmc.voicemail_recording_url(nmc.phone_numbers) IS 'Our recording status callback URL for a call to pn: the business number rides in the query (signed by Twilio with the rest), since the callback carries no To.';

CREATE FUNCTION nmc.webhook_voice_recording(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $$
DECLARE
    sid text := nmc.webhook_field(req, 'RecordingSid');
    rec_status text := nmc.webhook_field(req, 'RecordingStatus');
    pn nmc.phone_numbers;
BEGIN
    PERFORM nmc.webhook_field(req, 'CallSid');
    IF sid !~ '^RE[0-9a-zA-Z]{32}$' THEN
        PERFORM nmc.raise_api_error(400, 'invalid_field', 'RecordingSid is not a recording SID', 'RecordingSid');
    END IF;
    pn := nmc.webhook_tenant(req #>> '{query,To}');
    IF pn.id IS NULL THEN
        RAISE LOG 'nevermisscall: recording % for a number that is not ours (%)', sid, req #>> '{query,To}';
    ELSIF rec_status IN ('completed', 'absent', 'failed') THEN
        PERFORM nmc.webhook_inbox_put('voice_recording', sid || ' ' || rec_status, pn, req -> 'body');
    END IF;
    RETURN nmc.twiml(NULL);
END
$$;
COMMENT ON FUNCTION nmc.webhook_voice_recording(jsonb) IS 'POST /webhooks/twilio/voice/recording?To=<our number>: Twilio''s recording status callback for a voicemail (RecordingSid, RecordingStatus, RecordingUrl, RecordingDuration, CallSid, ErrorCode), accepted into the webhook inbox (nmc.call_voicemail_recorded applies it). Idempotent on RecordingSid and status; in-progress is answered and ignored.';

CREATE FUNCTION nmc.webhook_voice_recorded(req jsonb)
RETURNS nmc.http_response
LANGUAGE sql
AS $$ SELECT nmc.twiml('<Hangup/>') $$;
COMMENT ON FUNCTION nmc.webhook_voice_recorded(jsonb) IS 'POST /webhooks/twilio/voice/recorded: the <Record> action — the caller finished the voicemail; hang up (the recording arrives by its status callback).';

CREATE FUNCTION nmc.call_voicemail_recorded(t nmc.webhook_inbox)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    c nmc.calls;
    v nmc.voicemails;
    fid uuid;
    rec_url text := t.params ->> 'RecordingUrl';
BEGIN
    SELECT * INTO c FROM nmc.calls WHERE twilio_call_sid = t.params ->> 'CallSid' AND business_id = t.business_id;
    IF NOT FOUND THEN
        RAISE LOG 'nevermisscall: recording % for call %, which we have no record of', t.params ->> 'RecordingSid', t.params ->> 'CallSid';
        RETURN;
    END IF;
    INSERT INTO nmc.voicemails (business_id, call_id, recording_sid, status, duration_seconds, error_code)
    VALUES (c.business_id, c.id, t.params ->> 'RecordingSid', t.params ->> 'RecordingStatus',
            CASE WHEN t.params ->> 'RecordingDuration' ~ '^[0-9]{1,6}$' THEN (t.params ->> 'RecordingDuration')::int END,
            nullif(t.params ->> 'ErrorCode', '0'))
    ON CONFLICT (business_id, recording_sid) DO NOTHING
    RETURNING * INTO v;
    IF NOT FOUND OR v.status <> 'completed' THEN
        RETURN;  -- Applied before, or nothing was recorded (absent: silence or too short).
    END IF;
    IF coalesce(rec_url, '') <> '' THEN
        -- Twilio serves a recording as WAV at its URL, as MP3 with .mp3 (smaller, and what browsers and OpenAI take).
        fid := nmc.media_file_request(c.business_id, rec_url || CASE WHEN rec_url !~ '\.(mp3|wav)$' THEN '.mp3' ELSE '' END, 'audio/mpeg');
        UPDATE nmc.voicemails SET file_id = fid WHERE business_id = v.business_id AND id = v.id RETURNING * INTO v;
    END IF;
    PERFORM nmc.voicemail_changed(v);
END
$$;
COMMENT ON FUNCTION nmc.call_voicemail_recorded(nmc.webhook_inbox) IS 'Applies an accepted recording status callback: the voicemail is kept on its call (by CallSid), and a completed one''s audio is copied from Twilio (MP3, nmc.media_file_request; transcribed once kept, see nmc.voicemail_audio_kept). Idempotent on RecordingSid.';

CREATE FUNCTION nmc.voicemail_changed(v nmc.voicemails)
RETURNS void
LANGUAGE sql
AS $$ SELECT nmc.emit_event(c.business_id, 'call.updated', nmc.call_json(c)) FROM nmc.calls c WHERE c.id = v.call_id $$;
COMMENT ON FUNCTION nmc.voicemail_changed(nmc.voicemails) IS 'The dashboard hears that a voicemail changed (its audio kept, its words written): call.updated with the call.';

-- What happens once a voicemail's audio is kept (or could not be).
CREATE FUNCTION nmc.voicemail_audio_kept(f nmc.media_files)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    v nmc.voicemails;
BEGIN
    SELECT * INTO v FROM nmc.voicemails WHERE file_id = f.id AND business_id = f.business_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF f.status = 'stored' AND nmc.setting('openai_api_key') <> '' THEN
        UPDATE nmc.voicemails SET transcript_status = 'pending' WHERE business_id = v.business_id AND id = v.id;
        PERFORM nmc.job_enqueue('openai.audio.transcribe', v.business_id, jsonb_build_object('voicemail_id', v.id), 'transcribe:' || v.id);
    ELSE
        PERFORM nmc.voicemail_told(v);
    END IF;
    PERFORM nmc.voicemail_changed(v);
END
$$;
COMMENT ON FUNCTION nmc.voicemail_audio_kept(nmc.media_files) IS 'A voicemail''s audio was copied from Twilio (or could not be): with an OpenAI key it is transcribed (openai.audio.transcribe), else the owner is told now (nmc.voicemail_told).';

-- The voicemail joins the conversation and the lead, and the owner hears of it: once.
CREATE FUNCTION nmc.voicemail_told(v nmc.voicemails)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    c nmc.calls;
    b nmc.businesses;
    conv nmc.conversations;
    m nmc.messages;
    words text;
BEGIN
    SELECT * INTO c FROM nmc.calls WHERE id = v.call_id;
    SELECT * INTO b FROM nmc.businesses WHERE id = v.business_id;
    IF c.customer_id IS NULL OR v.message_id IS NOT NULL THEN
        RETURN;  -- The owner's own phone, or told before.
    END IF;
    conv := nmc.conversation_open(c.business_id, c.customer_id, c.phone_number_id, c.lead_id);
    words := CASE WHEN v.transcript IS NOT NULL
                  THEN 'Voicemail: ' || v.transcript
                  ELSE format('Voicemail (%s s)', coalesce(v.duration_seconds, 0)) END;
    -- The recording rides along (our copy), so the thread plays it too.
    INSERT INTO nmc.messages (business_id, customer_id, conversation_id, direction, author, from_phone, to_phone, body, status, media)
    SELECT c.business_id, c.customer_id, conv.id, 'inbound', 'customer', cu.phone, pn.phone, left(words, 1600), 'received',
           (SELECT jsonb_build_array(jsonb_build_object('content_type', f.content_type, 'file_id', f.id))
              FROM nmc.media_files f WHERE f.business_id = v.business_id AND f.id = v.file_id AND f.status = 'stored')
      FROM nmc.customers cu, nmc.phone_numbers pn WHERE cu.id = c.customer_id AND pn.id = c.phone_number_id
    RETURNING * INTO m;
    UPDATE nmc.voicemails SET message_id = m.id WHERE business_id = v.business_id AND id = v.id;
    UPDATE nmc.conversations SET last_message_at = greatest(last_message_at, m.created_at) WHERE id = conv.id RETURNING * INTO conv;
    PERFORM nmc.emit_event(b.id, 'message.created', nmc.message_json(m) - 'body');
    IF v.transcript IS NOT NULL AND c.lead_id IS NOT NULL THEN
        UPDATE nmc.leads SET problem = left(v.transcript, 1000), last_activity_at = now()
         WHERE id = c.lead_id AND problem IS NULL;
    END IF;
    PERFORM nmc.owner_alert(b, conv, 'customer_replied',
        format('%s left a voicemail%s %s', nmc.owner_alert_who(conv),
               CASE WHEN v.transcript IS NOT NULL THEN ': "' || left(v.transcript, 200) || '"' ELSE format(' (%s s).', coalesce(v.duration_seconds, 0)) END,
               nmc.owner_alert_link(conv)));
END
$$;
COMMENT ON FUNCTION nmc.voicemail_told(nmc.voicemails) IS 'A voicemail joins its caller''s conversation as their message ("Voicemail: <transcript>", or its length without one; the recording as its media), fills the lead''s problem if none was captured, and alerts the owner (customer_replied). Once per voicemail; never for a call from the owner''s own phone.';

CREATE FUNCTION nmc.openai_transcribe_build(j nmc.jobs, cfg jsonb)
RETURNS nmc.http_request
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    f nmc.media_files;
    boundary text := 'nmc-' || encode(gen_random_bytes(16), 'hex');
    crlf bytea := '\x0d0a';
    part bytea;
BEGIN
    IF coalesce(cfg ->> 'openai_api_key', '') = '' THEN
        PERFORM nmc.job_not_wanted('OpenAI is not configured (NMC_OPENAI_API_KEY is empty)', 'not_configured');
    END IF;
    SELECT f2.* INTO f FROM nmc.voicemails v JOIN nmc.media_files f2 ON f2.id = v.file_id
     WHERE v.business_id = j.business_id AND v.id = (j.payload ->> 'voicemail_id')::uuid AND f2.business_id = v.business_id AND f2.status = 'stored';
    IF NOT FOUND THEN
        PERFORM nmc.job_not_wanted('the voicemail or its audio is gone', 'not_needed');
    END IF;
    -- multipart/form-data (RFC 7578): model, response_format, then the file.
    part := convert_to(format(E'--%s\r\nContent-Disposition: form-data; name="model"\r\n\r\n%s\r\n' ||
                              E'--%s\r\nContent-Disposition: form-data; name="response_format"\r\n\r\njson\r\n' ||
                              E'--%s\r\nContent-Disposition: form-data; name="file"; filename="voicemail.%s"\r\nContent-Type: %s\r\n\r\n',
                              boundary, cfg ->> 'openai_transcription_model', boundary, boundary,
                              CASE WHEN f.content_type LIKE '%wav%' THEN 'wav' ELSE 'mp3' END, f.content_type), 'UTF8')
            || f.bytes || crlf || convert_to('--' || boundary || '--', 'UTF8') || crlf;
    RETURN ROW('POST', rtrim(cfg ->> 'openai_api_base', '/') || '/audio/transcriptions',
               ARRAY['Content-Type: multipart/form-data; boundary=' || boundary, 'Accept: application/json',
                     'Authorization: Bearer ' || (cfg ->> 'openai_api_key')],
               NULL, NULL, NULL, part)::nmc.http_request;
END
$$;
COMMENT ON FUNCTION nmc.openai_transcribe_build(nmc.jobs, jsonb) IS 'openai.audio.transcribe: POST {openai_api_base}/audio/transcriptions, multipart/form-data with model (openai_transcription_model), response_format json and the voicemail''s audio as file.';

CREATE FUNCTION nmc.openai_transcribe_apply(j nmc.jobs, response jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    v nmc.voicemails;
    words text := btrim(regexp_replace(coalesce(response ->> 'text', ''), '\s+', ' ', 'g'));
BEGIN
    IF jsonb_typeof(response -> 'text') IS DISTINCT FROM 'string' THEN
        PERFORM nmc.job_permanent_error('the transcription has no text', 'invalid_response');
    END IF;
    UPDATE nmc.voicemails SET transcript = nullif(left(words, 4000), ''), transcript_status = 'done'
     WHERE business_id = j.business_id AND id = (j.payload ->> 'voicemail_id')::uuid AND transcript_status = 'pending'
    RETURNING * INTO v;
    IF FOUND THEN
        PERFORM nmc.voicemail_told(v);
        PERFORM nmc.voicemail_changed(v);
    END IF;
    RETURN jsonb_build_object('voicemail_id', v.id, 'characters', length(words));
END
$$;
COMMENT ON FUNCTION nmc.openai_transcribe_apply(nmc.jobs, jsonb) IS 'openai.audio.transcribe success: the transcript is kept on the voicemail, which then joins the conversation and the lead and alerts the owner (nmc.voicemail_told).';

CREATE FUNCTION nmc.openai_transcribe_failed(j nmc.jobs)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    v nmc.voicemails;
BEGIN
    UPDATE nmc.voicemails SET transcript_status = 'failed'
     WHERE business_id = j.business_id AND id = (j.payload ->> 'voicemail_id')::uuid AND transcript_status = 'pending'
    RETURNING * INTO v;
    IF FOUND THEN
        PERFORM nmc.voicemail_told(v);   -- Without words: the owner still hears of it.
        PERFORM nmc.voicemail_changed(v);
    END IF;
END
$$;
COMMENT ON FUNCTION nmc.openai_transcribe_failed(nmc.jobs) IS 'openai.audio.transcribe given up (or dropped): the voicemail is marked so and still told to the conversation and the owner, without words.';

INSERT INTO nmc.api_routes (route_method, route_path, handler, auth, summary) VALUES
    ('POST', '/webhooks/twilio/voice/recording', 'webhook_voice_recording', 'twilio', 'Twilio: a voicemail''s recording status callback'),
    ('POST', '/webhooks/twilio/voice/recorded', 'webhook_voice_recorded', 'twilio', 'Twilio: the caller finished a voicemail (Record action)');
INSERT INTO nmc.job_kinds (kind, provider, max_attempts, connect_timeout_ms, total_timeout_ms, description) VALUES
    ('twilio.media.fetch', 'twilio', 6, 3000, 60000, 'Copy a file Twilio holds (a voicemail, an MMS photo) into the database'),
    ('openai.audio.transcribe', 'openai', 3, 5000, 120000, 'Transcribe a voicemail');
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
        WHEN 'twilio.numbers.owned' THEN RETURN nmc.twilio_numbers_owned_build(j, cfg);
        WHEN 'twilio.numbers.attach' THEN RETURN nmc.twilio_numbers_attach_build(j, cfg);
        WHEN 'openai.chat' THEN RETURN nmc.openai_chat_build(j, cfg);
        WHEN 'maps.geocode' THEN RETURN nmc.maps_geocode_build(j, cfg);
        WHEN 'push.send' THEN RETURN nmc.push_send_build(j, cfg);
        WHEN 'twilio.media.fetch' THEN RETURN nmc.twilio_media_fetch_build(j, cfg);
        WHEN 'openai.audio.transcribe' THEN RETURN nmc.openai_transcribe_build(j, cfg);
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
        WHEN 'twilio.numbers.owned' THEN RETURN nmc.twilio_numbers_owned_apply(j, response);
        WHEN 'twilio.numbers.attach' THEN RETURN nmc.twilio_numbers_attach_apply(j, response);
        WHEN 'openai.chat' THEN RETURN nmc.openai_chat_apply(j, response);
        WHEN 'maps.geocode' THEN RETURN nmc.maps_geocode_apply(j, response);
        WHEN 'push.send' THEN RETURN nmc.push_send_apply(j, response);
        WHEN 'twilio.media.fetch' THEN RETURN nmc.twilio_media_fetch_apply(j, response);
        WHEN 'openai.audio.transcribe' THEN RETURN nmc.openai_transcribe_apply(j, response);
    END CASE;
END
$$;
COMMENT ON FUNCTION nmc.job_apply(nmc.jobs, jsonb) IS 'Applies a successful response to the domain, by kind; returns what to keep as the job result.';
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
    ELSIF j.kind = 'twilio.media.fetch' THEN
        PERFORM nmc.twilio_media_fetch_failed(j, code, message);
    ELSIF j.kind = 'openai.audio.transcribe' THEN
        PERFORM nmc.openai_transcribe_failed(j);
    END IF;
END
$$;
COMMENT ON FUNCTION nmc.job_on_failure(nmc.jobs, text, text) IS 'Domain effects of a permanent failure, by kind: a failed text marks the message (and may mark the customer); a sign-in code given up on forgets its text; a failed model call hands the conversation to a person; a failed geocoding answers the assistant''s area check; a push to a device gone (404, 410) forgets the device; a file that could not be copied, or a voicemail not transcribed, is marked so and the voicemail is still told.';
CREATE OR REPLACE FUNCTION nmc.job_on_dropped(j nmc.jobs, code text, message text)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    IF j.kind = 'twilio.sms.send' THEN
        PERFORM nmc.twilio_sms_send_dropped(j, code, message);
    ELSIF j.kind = 'twilio.sms.login_code' THEN
        PERFORM nmc.twilio_sms_login_code_done(j);
    ELSIF j.kind = 'twilio.media.fetch' THEN
        PERFORM nmc.twilio_media_fetch_failed(j, code, message);
    ELSIF j.kind = 'openai.audio.transcribe' THEN
        PERFORM nmc.openai_transcribe_failed(j);
    END IF;
END
$$;
COMMENT ON FUNCTION nmc.job_on_dropped(nmc.jobs, text, text) IS 'Domain effects of a job dropped as no longer wanted, by kind: a text is marked dropped with the reason (and a stale one is told to the owner); a sign-in code forgets its text; a file or transcription no longer wanted (sandbox, no key) is marked failed.';
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
                -- Failed like any job: its kind's domain effects follow (a text marked failed, …).
                PERFORM nmc.job_fail_permanently(j, k, NULL, 'build_error', 'could not build the request: ' || SQLERRM);
                PERFORM nmc.circuit_probe_again(k.provider, j.id = ANY (probe_ids));
        END;
    END LOOP;
END
$$;
COMMENT ON FUNCTION nmc.dispatcher_claim(int) IS
    'Dispatcher: claims up to max_jobs due jobs (queued and due, or in flight with an expired lease) with SKIP LOCKED, plus the probe of each open provider circuit whose probe is due (nmc.circuit_hold_and_probe holds the rest), leases them, and returns their HTTP requests (body_bytes: a binary body, sent instead of body). Sandbox-mode Twilio jobs complete here, simulated. A job whose request cannot be built fails alone; one no longer wanted when it would go out (NMD01) is dropped (nmc.job_drop).';
CREATE OR REPLACE FUNCTION nmc_api.webhook_fallbacks()
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
        -- A voicemail left before the outage: its callback is kept like any other.
        ('/webhooks/twilio/voice/recording', 1, NULL, NULL, nmc.twiml(NULL)),
        ('/webhooks/twilio/voice/recorded', 1, NULL, NULL, nmc.twiml('<Hangup/>')),
        ('/webhooks/twilio/sms', 1, NULL, NULL, nmc.twiml(NULL)),
        ('/webhooks/twilio/sms/status', 1, NULL, NULL, nmc.twiml(NULL)))
    SELECT r.path, r.seq, r.match_field, r.match_values, (r.answer).content_type, (r.answer).text_body
      FROM r ORDER BY r.path, r.seq
$$;
COMMENT ON FUNCTION nmc_api.webhook_fallbacks() IS
    'For the edge: per Twilio webhook path, the answers it may give while the database is down, in order — the first whose form field match_field has one of match_values (or that has no match_field) wins. The edge fetches these whenever it reaches the database and keeps them on disk; a webhook answered this way is spooled and replayed later with x-nmc-spooled-at (nmc_api.handle).';

-- A buffer after each appointment (travel, clean-up), kept by the exclusion constraint.
ALTER TABLE nmc.appointments ADD COLUMN blocks tstzrange;
UPDATE nmc.appointments SET blocks = during;
ALTER TABLE nmc.appointments ALTER COLUMN blocks SET NOT NULL;
ALTER TABLE nmc.appointments ADD CONSTRAINT appointments_blocks_cover_during CHECK (lower(blocks) = lower(during) AND upper(blocks) >= upper(during));
ALTER TABLE nmc.appointments DROP CONSTRAINT appointments_no_double_booking;
ALTER TABLE nmc.appointments ADD CONSTRAINT appointments_no_double_booking EXCLUDE USING gist (business_id WITH =, blocks WITH &&) WHERE (status = 'booked');
COMMENT ON TABLE nmc.appointments IS 'Booked jobs. during is [start, end); blocks is during with the business''s appointment_buffer_minutes after it (as when booked or moved); the exclusion constraint makes booked appointments of one business whose blocks overlap impossible — a job never starts within the buffer of another.';
CREATE OR REPLACE FUNCTION nmc.appointment_blocks(b nmc.businesses, p_starts_at timestamptz, len interval)
RETURNS tstzrange
LANGUAGE sql STABLE
AS $$ SELECT tstzrange(p_starts_at, p_starts_at + len + make_interval(mins => b.appointment_buffer_minutes), '[)') $$;
COMMENT ON FUNCTION nmc.appointment_blocks(nmc.businesses, timestamptz, interval) IS 'The time a job of length len starting at p_starts_at holds: itself and the business''s buffer after it (travel, clean-up). What the exclusion constraint compares, and what a free slot must not overlap.';
CREATE OR REPLACE FUNCTION nmc.appointments_blocks_set()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    NEW.blocks := (SELECT nmc.appointment_blocks(b, lower(NEW.during), upper(NEW.during) - lower(NEW.during))
                     FROM nmc.businesses b WHERE b.id = NEW.business_id);
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION nmc.appointments_blocks_set() IS 'Trigger: an appointment''s blocks is its time plus the business''s buffer (nmc.appointment_blocks), set whenever it is written or moved.';
CREATE TRIGGER appointments_blocks_set BEFORE INSERT OR UPDATE OF during ON nmc.appointments
    FOR EACH ROW EXECUTE FUNCTION nmc.appointments_blocks_set();
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
                                                  AND a.id IS DISTINCT FROM p_exclude AND a.blocks && nmc.appointment_blocks(b, s, len)) THEN
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
COMMENT ON FUNCTION nmc.open_slots(uuid, timestamptz, int, int, uuid) IS 'The next p_count free slots of the job''s length (p_minutes, else appointment_minutes) from p_from: inside business hours (local time), not on closures, not overlapping a booked appointment other than p_exclude (the one being moved), buffers included (nmc.appointment_blocks); starting on the hour or half hour, up to two weeks ahead.';
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
        PERFORM nmc.raise_api_error(409, 'slot_taken', 'another appointment is booked at that time, or too close to it', 'starts_at');
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
COMMENT ON FUNCTION nmc.appointment_book(uuid, uuid, timestamptz, text, text, text, int) IS 'Books a job inside business hours; NM409 slot_taken when it would overlap another, buffers included (the exclusion constraint decides, even under concurrency). Moves the customer''s lead to appointment_scheduled; sets the customer''s reminders (nmc.appointment_reminders_set); emits appointment.created; one the assistant booked is texted to the owner''s phone (kind booking).';
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
        PERFORM nmc.raise_api_error(409, 'slot_taken', 'another appointment is booked at that time, or too close to it', 'starts_at');
    END;
    PERFORM nmc.appointment_reminders_cancel(a);
    PERFORM nmc.appointment_reminders_set(a);
    PERFORM nmc.emit_event(a.business_id, 'appointment.updated', nmc.appointment_json(a));
    RETURN a;
END
$$;
COMMENT ON FUNCTION nmc.appointment_move(uuid, timestamptz, int) IS 'Moves a booked appointment (keeping its length unless given) inside business hours; NM409 slot_taken when it would overlap another, buffers included — the exclusion constraint decides. Its reminders follow it; emits appointment.updated.';

-- A number the Twilio account already owns (docs/twilio-setup.md, issue 20): listed
-- (twilio.numbers.owned), attached with our webhooks (twilio.numbers.attach), the
-- webhooks it had kept on the number to restore.
ALTER TABLE nmc.phone_numbers ADD COLUMN previous_webhooks jsonb;
COMMENT ON COLUMN nmc.phone_numbers.previous_webhooks IS 'For a number the account owned before it was attached (POST /api/phone-numbers/attach): the webhook URLs and methods it had then, to put back if it leaves us. NULL for a number bought through us.';
INSERT INTO nmc.job_kinds (kind, provider, max_attempts, connect_timeout_ms, total_timeout_ms, description) VALUES
    ('twilio.numbers.owned', 'twilio', 3, 3000, 15000, 'List the numbers the account owns that no business uses yet'),
    ('twilio.numbers.attach', 'twilio', 3, 3000, 30000, 'Point a number the account owns at our webhooks, keeping its old ones');
CREATE OR REPLACE FUNCTION nmc.twilio_number_our_webhooks(cfg jsonb)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT jsonb_build_object(
        'VoiceUrl', nmc.twilio_webhook_url(cfg, '/webhooks/twilio/voice'), 'VoiceMethod', 'POST',
        'SmsUrl', nmc.twilio_webhook_url(cfg, '/webhooks/twilio/sms'), 'SmsMethod', 'POST',
        'StatusCallback', nmc.twilio_webhook_url(cfg, '/webhooks/twilio/voice/status'), 'StatusCallbackMethod', 'POST')
$$;
COMMENT ON FUNCTION nmc.twilio_number_our_webhooks(jsonb) IS 'The webhook settings (IncomingPhoneNumber parameters) a number of ours gets: our voice, SMS and status URLs under public_url, all POST. Used when a number is bought and when one the account owns is attached.';
CREATE OR REPLACE FUNCTION nmc.twilio_numbers_buy_build(j nmc.jobs, cfg jsonb)
RETURNS nmc.http_request
LANGUAGE sql STABLE
AS $$
    SELECT nmc.twilio_request(cfg, 'POST', 'IncomingPhoneNumbers.json', jsonb_build_object(
        'PhoneNumber', j.payload ->> 'phone_number',
        'FriendlyName', left(coalesce(j.payload ->> 'friendly_name', j.payload ->> 'phone_number'), 64))
        || nmc.twilio_number_our_webhooks(cfg))
$$;
COMMENT ON FUNCTION nmc.twilio_numbers_buy_build(nmc.jobs, jsonb) IS 'twilio.numbers.buy: POST IncomingPhoneNumbers.json with our voice, SMS and status webhook URLs under public_url.';
CREATE OR REPLACE FUNCTION nmc.twilio_number_webhooks(n jsonb)
RETURNS jsonb
LANGUAGE sql IMMUTABLE
AS $$
    SELECT jsonb_build_object('voice_url', n ->> 'voice_url', 'voice_method', n ->> 'voice_method',
                              'sms_url', n ->> 'sms_url', 'sms_method', n ->> 'sms_method',
                              'status_callback', n ->> 'status_callback', 'status_callback_method', n ->> 'status_callback_method')
$$;
COMMENT ON FUNCTION nmc.twilio_number_webhooks(jsonb) IS 'The webhook settings of an IncomingPhoneNumber resource (Twilio''s JSON), as phone_numbers.previous_webhooks keeps them.';
CREATE OR REPLACE FUNCTION nmc.twilio_numbers_owned_build(j nmc.jobs, cfg jsonb)
RETURNS nmc.http_request
LANGUAGE sql STABLE
AS $$ SELECT nmc.twilio_request(cfg, 'GET', 'IncomingPhoneNumbers.json', NULL, jsonb_build_object('PageSize', '1000')) $$;
COMMENT ON FUNCTION nmc.twilio_numbers_owned_build(nmc.jobs, jsonb) IS 'twilio.numbers.owned: GET IncomingPhoneNumbers.json, the numbers the account owns (one page of up to 1,000, Twilio''s maximum).';
CREATE OR REPLACE FUNCTION nmc.twilio_numbers_owned_apply(j nmc.jobs, response jsonb)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT jsonb_build_object('numbers', coalesce(jsonb_agg(jsonb_build_object(
               'twilio_sid', n ->> 'sid', 'phone_number', n ->> 'phone_number', 'friendly_name', n ->> 'friendly_name',
               'webhooks', nmc.twilio_number_webhooks(n)) ORDER BY n ->> 'phone_number'), '[]'))
      FROM jsonb_array_elements(coalesce(response -> 'incoming_phone_numbers', '[]')) n
     WHERE NOT EXISTS (SELECT 1 FROM nmc.phone_numbers p WHERE p.twilio_sid = n ->> 'sid' OR p.phone = n ->> 'phone_number')
$$;
COMMENT ON FUNCTION nmc.twilio_numbers_owned_apply(nmc.jobs, jsonb) IS 'twilio.numbers.owned success: the job result lists the account''s numbers no business uses yet, each with the webhooks it has now (what POST /api/phone-numbers/attach keeps to restore).';
CREATE OR REPLACE FUNCTION nmc.twilio_numbers_owned_simulate(j nmc.jobs)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    -- Two fictional numbers (555-01XX), always the same: the sandbox's "account".
    SELECT jsonb_build_object('incoming_phone_numbers', jsonb_agg(jsonb_build_object(
               'sid', 'PN' || md5('nmc sandbox owned number ' || g), 'phone_number', format('+15555550%s', 196 + g),
               'friendly_name', format('(555) 555-0%s', 196 + g),
               'voice_url', 'https://example.com/previous/voice', 'voice_method', 'POST',
               'sms_url', 'https://example.com/previous/sms', 'sms_method', 'POST',
               'status_callback', '', 'status_callback_method', 'POST') ORDER BY g), 'nmc_simulated', true)
      FROM generate_series(1, 2) g
$$;
COMMENT ON FUNCTION nmc.twilio_numbers_owned_simulate(nmc.jobs) IS 'Sandbox mode: two fictional numbers the account "owns", with made-up previous webhooks.';
CREATE OR REPLACE FUNCTION nmc.twilio_numbers_attach_build(j nmc.jobs, cfg jsonb)
RETURNS nmc.http_request
LANGUAGE sql STABLE
AS $$
    SELECT nmc.twilio_request(cfg, 'POST', 'IncomingPhoneNumbers/' || nmc.url_encode(j.payload ->> 'twilio_sid') || '.json',
                              nmc.twilio_number_our_webhooks(cfg))
$$;
COMMENT ON FUNCTION nmc.twilio_numbers_attach_build(nmc.jobs, jsonb) IS 'twilio.numbers.attach: POST IncomingPhoneNumbers/{sid}.json, pointing a number the account owns at our webhooks.';
CREATE OR REPLACE FUNCTION nmc.twilio_numbers_attach_apply(j nmc.jobs, response jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    pn nmc.phone_numbers;
    is_simulated boolean := coalesce((response ->> 'nmc_simulated')::boolean, false);
BEGIN
    IF response ->> 'sid' IS DISTINCT FROM j.payload ->> 'twilio_sid' OR response ->> 'phone_number' IS NULL THEN
        PERFORM nmc.job_permanent_error('Twilio updated the number but returned another or none', 'invalid_response');
    END IF;
    INSERT INTO nmc.phone_numbers (business_id, phone, twilio_sid, friendly_name, simulated, previous_webhooks)
    VALUES (j.business_id, response ->> 'phone_number', response ->> 'sid', response ->> 'friendly_name', is_simulated,
            j.payload -> 'previous_webhooks')
    ON CONFLICT (twilio_sid) DO UPDATE SET friendly_name = EXCLUDED.friendly_name
    RETURNING * INTO pn;
    RETURN jsonb_build_object('phone_number_id', pn.id, 'phone_number', pn.phone, 'twilio_sid', pn.twilio_sid,
                              'simulated', is_simulated, 'previous_webhooks', pn.previous_webhooks);
END
$$;
COMMENT ON FUNCTION nmc.twilio_numbers_attach_apply(nmc.jobs, jsonb) IS 'twilio.numbers.attach success: the number now belongs to the business (nmc.phone_numbers), with the webhooks it had before (previous_webhooks) kept to restore.';
CREATE OR REPLACE FUNCTION nmc.twilio_numbers_attach_simulate(j nmc.jobs)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT jsonb_build_object('sid', j.payload ->> 'twilio_sid', 'phone_number', j.payload ->> 'phone_number',
                              'friendly_name', j.payload ->> 'friendly_name', 'nmc_simulated', true)
           || jsonb_build_object(
                  'voice_url', nmc.twilio_webhook_url(nmc.settings_json(), '/webhooks/twilio/voice'), 'voice_method', 'POST',
                  'sms_url', nmc.twilio_webhook_url(nmc.settings_json(), '/webhooks/twilio/sms'), 'sms_method', 'POST',
                  'status_callback', nmc.twilio_webhook_url(nmc.settings_json(), '/webhooks/twilio/voice/status'),
                  'status_callback_method', 'POST')
$$;
COMMENT ON FUNCTION nmc.twilio_numbers_attach_simulate(nmc.jobs) IS 'Sandbox mode: a simulated update; the number is recorded as simulated.';
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
        WHEN 'twilio.numbers.owned' THEN RETURN nmc.twilio_numbers_owned_build(j, cfg);
        WHEN 'twilio.numbers.attach' THEN RETURN nmc.twilio_numbers_attach_build(j, cfg);
        WHEN 'openai.chat' THEN RETURN nmc.openai_chat_build(j, cfg);
        WHEN 'maps.geocode' THEN RETURN nmc.maps_geocode_build(j, cfg);
        WHEN 'push.send' THEN RETURN nmc.push_send_build(j, cfg);
        WHEN 'twilio.media.fetch' THEN RETURN nmc.twilio_media_fetch_build(j, cfg);
        WHEN 'openai.audio.transcribe' THEN RETURN nmc.openai_transcribe_build(j, cfg);
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
        WHEN 'twilio.numbers.owned' THEN RETURN nmc.twilio_numbers_owned_apply(j, response);
        WHEN 'twilio.numbers.attach' THEN RETURN nmc.twilio_numbers_attach_apply(j, response);
        WHEN 'openai.chat' THEN RETURN nmc.openai_chat_apply(j, response);
        WHEN 'maps.geocode' THEN RETURN nmc.maps_geocode_apply(j, response);
        WHEN 'push.send' THEN RETURN nmc.push_send_apply(j, response);
        WHEN 'twilio.media.fetch' THEN RETURN nmc.twilio_media_fetch_apply(j, response);
        WHEN 'openai.audio.transcribe' THEN RETURN nmc.openai_transcribe_apply(j, response);
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
        WHEN 'twilio.numbers.owned' THEN nmc.twilio_numbers_owned_simulate(j)
        WHEN 'twilio.numbers.attach' THEN nmc.twilio_numbers_attach_simulate(j)
    END;
END
$$;
COMMENT ON FUNCTION nmc.job_simulate(nmc.jobs) IS 'Sandbox mode: the response the provider would give, by kind, or NULL for kinds that are never simulated.';
CREATE OR REPLACE FUNCTION nmc.api_phone_numbers_list(req jsonb)
RETURNS nmc.http_response LANGUAGE sql STABLE
AS $$
    SELECT nmc.respond(200, jsonb_build_object('phone_numbers', coalesce(jsonb_agg(jsonb_build_object(
               'id', id, 'phone', phone, 'friendly_name', friendly_name, 'simulated', simulated, 'created_at', created_at,
               'previous_webhooks', previous_webhooks) ORDER BY created_at), '[]')))
      FROM nmc.phone_numbers WHERE business_id = nmc.current_business_id()
$$;
COMMENT ON FUNCTION nmc.api_phone_numbers_list(jsonb) IS 'GET /api/phone-numbers: the business''s numbers (previous_webhooks: for one the account owned before, the webhooks it had).';
CREATE OR REPLACE FUNCTION nmc.api_phone_numbers_owned(req jsonb)
RETURNS nmc.http_response LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM nmc.input_allowed_fields(nmc.input_object(coalesce(req -> 'body', '{}')), ARRAY[]::text[]);
    RETURN nmc.respond(202, jsonb_build_object('job', nmc.job_json(
        nmc.job_enqueue('twilio.numbers.owned', nmc.current_business_id(), '{}'::jsonb))));
END $$;
COMMENT ON FUNCTION nmc.api_phone_numbers_owned(jsonb) IS 'POST /api/phone-numbers/owned: lists the numbers the Twilio account already owns that no business uses; 202 with the job to poll, whose result lists them with their current webhooks.';
CREATE OR REPLACE FUNCTION nmc.api_phone_numbers_attach(req jsonb)
RETURNS nmc.http_response LANGUAGE plpgsql
AS $$
DECLARE
    sid text;
    listed jsonb;
    earlier nmc.jobs;
BEGIN
    PERFORM nmc.input_allowed_fields(nmc.input_object(req -> 'body'), ARRAY['twilio_sid']);
    sid := nmc.input_text(req -> 'body', 'twilio_sid', true, 34, 34);
    -- The same request again gets the same job, done or not (once done, the
    -- number is this business's and would otherwise read as taken).
    SELECT * INTO earlier FROM nmc.jobs
     WHERE business_id = nmc.current_business_id() AND idempotency_key = 'attach:' || sid || ':' || nmc.current_business_id();
    IF FOUND THEN
        RETURN nmc.respond(202, jsonb_build_object('job', nmc.job_json(earlier)));
    END IF;
    -- What the account said about the number when this business last listed it:
    -- its webhooks then are the ones kept to restore.
    SELECT n INTO listed
      FROM nmc.jobs jb, jsonb_array_elements(jb.result -> 'numbers') n
     WHERE jb.business_id = nmc.current_business_id() AND jb.kind = 'twilio.numbers.owned' AND jb.status = 'done'
       AND n ->> 'twilio_sid' = sid
     ORDER BY jb.finished_at DESC
     LIMIT 1;
    IF listed IS NULL THEN
        PERFORM nmc.raise_api_error(404, 'number_not_listed',
            'this number is not among the account''s free numbers: list them first (POST /api/phone-numbers/owned)', 'twilio_sid');
    END IF;
    PERFORM nmc.phone_number_available(listed ->> 'phone_number');
    RETURN nmc.respond(202, jsonb_build_object('job', nmc.job_json(
        nmc.job_enqueue('twilio.numbers.attach', nmc.current_business_id(),
                        jsonb_build_object('twilio_sid', sid, 'phone_number', listed ->> 'phone_number',
                                           'friendly_name', listed ->> 'friendly_name', 'previous_webhooks', listed -> 'webhooks'),
                        'attach:' || sid || ':' || nmc.current_business_id()))));
END $$;
COMMENT ON FUNCTION nmc.api_phone_numbers_attach(jsonb) IS 'POST /api/phone-numbers/attach {twilio_sid}: makes a number the account owns (as listed by POST /api/phone-numbers/owned) the business''s: our webhooks are set on it and the ones it had are kept (previous_webhooks); 202 with the job to poll; 404 number_not_listed, 409 number_taken. The same request again, even after the job is done, answers the same job.';
INSERT INTO nmc.api_routes (route_method, route_path, handler, auth, summary) VALUES
    ('POST', '/api/phone-numbers/owned', 'api_phone_numbers_owned', 'jwt', 'List the account''s numbers no business uses yet (a job)'),
    ('POST', '/api/phone-numbers/attach', 'api_phone_numbers_attach', 'jwt', 'Use a number the account owns: our webhooks on it, its old ones kept (a job)');

-- Issue 19: the offline assistant understands people (intake_language.sql,
-- intake_parse.sql new; the parsers that were in intake_engine.sql moved there).
-- intake_language.sql — the built-in assistant's languages: which language a
-- customer writes in (English or Spanish, from their own words), every
-- sentence the assistant says in each language (one phrasebook), and dates and
-- times written out in either language. The engine (intake_engine.sql) and the
-- appointment confirmation speak through these, so a Spanish-speaking
-- customer is answered in Spanish from the first reply to the hand-off.

CREATE FUNCTION nmc.intake_language_score(t text)
RETURNS int
LANGUAGE sql IMMUTABLE
AS $$
    -- Spanish evidence minus English evidence: marker words of each (words shared
    -- by both, like "no" or "me", count for neither), and Spanish letters and marks.
    SELECT coalesce(sum(CASE WHEN w = ANY (ARRAY['hola', 'buenas', 'buenos', 'gracias', 'favor', 'llamo', 'soy', 'tengo', 'tiene',
                                   'necesito', 'quiero', 'puede', 'pueden', 'podrian', 'podrían', 'está', 'esta', 'estoy', 'el', 'la', 'los',
                                   'las', 'una', 'un', 'de', 'del', 'que', 'qué', 'con', 'para', 'por', 'es', 'hay', 'mi', 'mis', 'casa',
                                   'calle', 'agua', 'fuga', 'baño', 'bano', 'cocina', 'mañana', 'manana', 'tarde', 'noche', 'hoy', 'lunes',
                                   'martes', 'miércoles', 'miercoles', 'jueves', 'viernes', 'sábado', 'sabado', 'domingo', 'sí', 'si',
                                   'funciona', 'sirve', 'calentador', 'aire', 'luz', 'gotea', 'tubería', 'tuberia', 'fregadero',
                                   'inodoro', 'ayuda', 'dirección', 'direccion', 'vivo', 'cuando', 'cuándo', 'mejor', 'después',
                                   'despues', 'antes', 'primera', 'segunda', 'tercera', 'ninguna', 'otra', 'otro', 'nombre', 'pero',
                                   'muy', 'también', 'tambien', 'ya', 'bueno', 'claro', 'cuánto', 'cuanto', 'cuesta', 'semana', 'está',
                                   'perfecto', 'listo', 'señor', 'señora', 'usted', 'ustedes', 'se', 'le', 'lo', 'nos', 'al', 'y',
                                   'desde', 'hasta', 'lavabo', 'regadera', 'ducha', 'tapado', 'tapada', 'atascado', 'goteando',
                                   'caliente', 'fría', 'fria', 'enchufe', 'luces', 'aqui', 'aquí', 'ahora', 'urgente', 'opción',
                                   'opcion', 'número', 'numero', 'equivocado', 'dos', 'tres', 'uno', 'cualquiera', 'temprano'])
                             THEN 1
                             WHEN w = ANY (ARRAY['the', 'is', 'my', 'i', 'im', 'i''m', 'it', 'its', 'it''s', 'and', 'to', 'of', 'in', 'for',
                                   'on', 'with', 'this', 'that', 'you', 'we', 'can', 'please', 'water', 'leak', 'leaking', 'sink', 'hi',
                                   'hello', 'hey', 'thanks', 'thank', 'yes', 'yeah', 'tomorrow', 'morning', 'afternoon', 'evening',
                                   'have', 'has', 'need', 'not', 'working', 'works', 'broken', 'our', 'at', 'here', 'name', 'street',
                                   'st', 'ave', 'rd', 'dr', 'after', 'before', 'today', 'what', 'when', 'how', 'much', 'would', 'could',
                                   'any', 'time', 'one', 'two', 'three', 'first', 'second', 'third', 'none', 'those', 'ok', 'okay',
                                   'sure', 'fine', 'good', 'great', 'be', 'are', 'was', 'there', 'will', 'just', 'get', 'come', 'out',
                                   'toilet', 'heater', 'hot', 'cold', 'clogged', 'friday', 'monday', 'tuesday', 'wednesday', 'thursday',
                                   'saturday', 'sunday', 'asap', 'number', 'wrong', 'who', 'an', 'again', 'some', 'someone'])
                             THEN -1 ELSE 0 END), 0)::int
           + 2 * (SELECT count(*) FROM regexp_matches(t, '[ñáéíóú¿¡]', 'gi'))::int
      FROM regexp_split_to_table(lower(t), '[^a-zñáéíóúü'']+') w
     WHERE w <> ''
$$;
COMMENT ON FUNCTION nmc.intake_language_score(text) IS 'How Spanish a customer''s text reads: Spanish marker words and letters (ñ, accents, ¿ ¡) count up, English marker words down; 0: no evidence either way.';

CREATE FUNCTION nmc.intake_language(texts text[])
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
    SELECT CASE WHEN sum(nmc.intake_language_score(t)) > 0 THEN 'es' WHEN sum(nmc.intake_language_score(t)) < 0 THEN 'en' END FROM unnest(texts) t
$$;
COMMENT ON FUNCTION nmc.intake_language(text[]) IS 'The language of a customer from all their texts so far: ''es'' when the Spanish evidence outweighs the English, ''en'' when the English does, NULL when the texts say nothing either way ("2", "Dave").';

CREATE FUNCTION nmc.intake_say(lang text, what text)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
    SELECT CASE WHEN lang = 'es' THEN es ELSE en END FROM (VALUES
        ('ask_problem', 'What can we help you with?', '¿En qué le podemos ayudar?'),
        ('ask_name', 'What''s your name?', '¿Cuál es su nombre?'),
        ('ask_address', 'What''s the address for the job (street and number)?', '¿Cuál es la dirección del trabajo (calle y número)?'),
        ('ask_zip', 'And the ZIP code?', '¿Y el código postal?'),
        ('again_problem', 'Sorry, I didn''t get that. What can we help you with?', 'Perdón, no le entendí. ¿En qué le podemos ayudar?'),
        ('again_name', 'Sorry, what''s your name?', 'Perdón, ¿cuál es su nombre?'),
        ('again_address', 'Sorry, I need the street address with the house number, like "12 Elm St".',
                          'Perdón, necesito la dirección con el número de la casa, por ejemplo "12 Elm St".'),
        ('again_zip', 'Sorry, what''s the 5-digit ZIP code?', 'Perdón, ¿cuál es el código postal de 5 dígitos?'),
        ('again_slot', 'Sorry, which time?', 'Perdón, ¿qué hora le queda bien?'),
        ('thanks', 'Thanks!', '¡Gracias!'),
        ('thanks_name', 'Thanks, %s.', 'Gracias, %s.'),
        ('got_address', 'Got it: %s.', 'Anotado: %s.'),
        ('photo', 'Thanks for the photo, that helps.', 'Gracias por la foto, nos ayuda.'),
        ('price', 'I can''t quote prices by text; the technician will go over it with you.',
                  'No puedo dar precios por mensaje; el técnico lo revisará con usted.'),
        ('offer', 'I can book you in at: %s. Reply 1, 2 or 3 (or the day and time).',
                  'Puedo agendarle: %s. Responda 1, 2 o 3 (o el día y la hora).'),
        ('offer_others', 'Other times I can do: %s. Reply 1, 2 or 3 (or the day and time).',
                         'Otras horas disponibles: %s. Responda 1, 2 o 3 (o el día y la hora).'),
        ('offer_nearest', 'Nothing is open then; the nearest times are: %s. Reply 1, 2 or 3 (or the day and time).',
                          'No hay nada libre a esa hora; lo más cercano: %s. Responda 1, 2 o 3 (o el día y la hora).'),
        ('no_slots', 'Thanks! We have no open times in the next two weeks; someone from %s will text you to find one.',
                     '¡Gracias! No tenemos horas libres en las próximas dos semanas; alguien de %s le escribirá para buscar una.'),
        ('handoff', 'Sorry, I didn''t catch that. I''ll have someone from %s text you shortly.',
                    'Perdón, no le entendí. Alguien de %s le escribirá en breve.'),
        ('human', 'Sure, I''ll have someone from %s text you shortly.', 'Claro, alguien de %s le escribirá en breve.'),
        ('out_of_area', 'Sorry, %s doesn''t serve %s. We hope you find help quickly!',
                        'Lo sentimos, %s no da servicio en %s. ¡Esperamos que encuentre ayuda pronto!'),
        ('goodbye', 'No problem, sorry for the bother. Have a good day!', 'No hay problema, disculpe la molestia. ¡Que tenga buen día!'),
        ('disclosure', 'Hi, this is %s''s automated assistant.', 'Hola, soy el asistente automático de %s.'),
        ('confirmation', 'You''re booked with %s on %s%s. Reply here if anything changes.',
                         'Listo, tiene cita con %s el %s%s. Responda aquí si algo cambia.'),
        ('at', ' at ', ' en ')
    ) AS p(key, en, es)
     WHERE key = what
$$;
COMMENT ON FUNCTION nmc.intake_say(text, text) IS 'The phrasebook of the built-in assistant: what it says (a key such as ask_name, offer, handoff) in English or Spanish (''es''); %s marks where format() puts the details.';

CREATE FUNCTION nmc.time_words(ts timestamptz, tz text, lang text, long boolean)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
    SELECT CASE WHEN lang = 'es' THEN
               CASE WHEN long THEN (ARRAY['domingo', 'lunes', 'martes', 'miércoles', 'jueves', 'viernes', 'sábado'])[extract(dow FROM l)::int + 1]
                                   || ' ' || extract(day FROM l)::int || ' de '
                                   || (ARRAY['enero', 'febrero', 'marzo', 'abril', 'mayo', 'junio', 'julio', 'agosto', 'septiembre',
                                             'octubre', 'noviembre', 'diciembre'])[extract(month FROM l)::int]
                    ELSE (ARRAY['dom', 'lun', 'mar', 'mié', 'jue', 'vie', 'sáb'])[extract(dow FROM l)::int + 1]
                         || ' ' || extract(day FROM l)::int || ' '
                         || (ARRAY['ene', 'feb', 'mar', 'abr', 'may', 'jun', 'jul', 'ago', 'sep', 'oct', 'nov', 'dic'])[extract(month FROM l)::int] END
               || CASE WHEN extract(hour FROM l) IN (1, 13) THEN ' a la ' ELSE ' a las ' END
               || to_char(l, 'FMHH12:MI') || CASE WHEN extract(hour FROM l) < 12 THEN ' a. m.' ELSE ' p. m.' END
           ELSE to_char(l, CASE WHEN long THEN 'FMDay, FMMonth FMDD' ELSE 'Dy Mon FMDD' END) || ' at ' || nmc.format_time_of_day(l::time) END
      FROM (SELECT ts AT TIME ZONE tz AS l) x
$$;
COMMENT ON FUNCTION nmc.time_words(timestamptz, text, text, boolean) IS 'A moment in a time zone as a customer reads it, in English or Spanish (''es''); long: "Friday, March 6 at 2:30 PM" / "viernes 6 de marzo a las 2:30 p. m.", else "Fri Mar 6 at 2:30 PM" / "vie 6 mar a las 2:30 p. m.".';
DROP FUNCTION nmc.intake_name(text);
DROP FUNCTION nmc.intake_address(text);
DROP FUNCTION nmc.intake_slot_choice(text, int);
DROP FUNCTION nmc.intake_slot_by_time(text, jsonb, text);
-- intake_parse.sql — reading what customers write, for the built-in
-- assistant: a name ("this is Dave", "Dave here", "me llamo María"), a street
-- address (house number, street, type — with abbreviations and common typos
-- from one street-type table —, unit, city, state, ZIP), the problem, a time
-- preference ("tomorrow afternoon", "after 3", "el viernes en la mañana",
-- "asap", "next week"), which offered slot a reply picks, and what else a
-- reply means (a person wanted, a wrong number, prices, "none of those").
-- English and Spanish. Each parser finds its detail anywhere in a text, in
-- any order with the others; "asked" says the assistant just asked for it,
-- which lets a bare answer ("Dave", "55 Oak") count. No packaged address
-- parser fits the extension (libpostal is not in Debian 12), hence this one.

CREATE FUNCTION nmc.intake_fold(t text)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$ SELECT translate(lower(t), 'áéíóúüñ’‘', 'aeiouun''''') $$;
COMMENT ON FUNCTION nmc.intake_fold(text) IS 'A text folded for matching: lower case, Spanish accents and ñ folded to plain letters, curly apostrophes straightened.';

CREATE FUNCTION nmc.intake_not_a_name(w text)
RETURNS boolean
LANGUAGE sql IMMUTABLE
AS $$
    SELECT w IS NULL OR w !~ '^[[:alpha:]][[:alpha:]''-]*$' OR length(w) > 20
        -- Keyboard mashing is not a name: "asdfgh", "qwerty", "sdfghjk".
        OR nmc.intake_fold(w) ~ '[bcdfghjklmnpqrstvwxz]{5}|asdf|qwer|zxcv|hjkl|^[^aeiouy]+$'
        OR nmc.intake_fold(w) ~ '^[a-z]+(ing|ed)$' AND length(w) > 5
        OR nmc.intake_fold(w) = ANY (ARRAY[
        -- words that follow "this is", "I'm", "soy"… without being a name
        'a', 'an', 'the', 'and', 'or', 'but', 'so', 'to', 'of', 'in', 'on', 'at', 'by', 'for', 'from', 'with', 'about', 'regarding',
        'my', 'our', 'your', 'his', 'her', 'their', 'me', 'i', 'im', 'we', 'you', 'he', 'she', 'it', 'its', 'they', 'us', 'this', 'that',
        'is', 'are', 'was', 'were', 'be', 'been', 'am', 'do', 'does', 'did', 'have', 'has', 'had', 'can', 'could', 'would', 'will',
        'should', 'need', 'needs', 'want', 'wants', 'not', 'no', 'yes', 'yeah', 'yep', 'ok', 'okay', 'sure', 'fine', 'good', 'great',
        'hi', 'hello', 'hey', 'thanks', 'thank', 'thx', 'please', 'pls', 'plz', 'sorry', 'still', 'just', 'also', 'again', 'very',
        'really', 'too', 'here', 'there', 'home', 'back', 'out', 'off', 'up', 'down', 'over', 'under', 'urgent', 'bad', 'terrible',
        'broken', 'clogged', 'stuck', 'cold', 'hot', 'warm', 'wet', 'dry', 'loud', 'new', 'old', 'free', 'available', 'ready', 'done',
        'gone', 'late', 'early', 'what', 'who', 'why', 'how', 'when', 'where', 'which', 'call', 'calling', 'texting', 'text', 'number',
        'name', 'address', 'street', 'st', 'ave', 'rd', 'dr', 'today', 'tomorrow', 'tonight', 'morning', 'afternoon', 'evening', 'noon',
        'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday', 'asap', 'week', 'weekend', 'time', 'any',
        'anytime', 'none', 'first', 'second', 'third', 'one', 'two', 'three', 'water', 'leak', 'leaks', 'leaky', 'sink', 'toilet',
        'heater', 'pipe', 'pipes', 'drain', 'faucet', 'shower', 'tub', 'ac', 'air', 'heat', 'heating', 'furnace', 'power', 'outlet',
        'outlets', 'breaker', 'light', 'lights', 'panel', 'wiring', 'switch', 'fan', 'unit', 'system', 'problem', 'issue', 'emergency',
        'help', 'plumber', 'electrician', 'technician', 'tech', 'someone', 'somebody', 'person', 'owner', 'landlord', 'tenant',
        'homeowner', 'customer', 'calling', 'wrong', 'interested', 'wondering', 'trying', 'looking', 'having', 'getting', 'afraid',
        'glad', 'happy', 'home', 'inside', 'outside', 'kitchen', 'bathroom', 'basement', 'garage', 'house', 'apartment', 'apt',
        'mr', 'mrs', 'ms', 'miss', 'dr', 'sr', 'sra', 'srta', 'senor', 'senora', 'señor', 'señora', 'don', 'dona', 'doña',
        'hola', 'gracias', 'buenas', 'buenos', 'dias', 'días', 'tardes', 'noches', 'si', 'sí', 'de', 'del', 'la', 'el', 'los', 'las',
        'un', 'una', 'y', 'e', 'en', 'con', 'para', 'por', 'que', 'mi', 'su', 'tengo', 'tiene', 'vivo', 'necesito', 'quiero', 'aqui',
        'aquí', 'muy', 'casa', 'calle', 'agua', 'fuga', 'baño', 'bano', 'cocina', 'mañana', 'manana', 'tarde', 'noche', 'hoy', 'lunes',
        'martes', 'miercoles', 'miércoles', 'jueves', 'viernes', 'sabado', 'sábado', 'domingo', 'cliente', 'dueño', 'dueña', 'nuevo',
        'nueva', 'urgente', 'llamando', 'escribiendo', 'yo', 'usted', 'nombre', 'direccion', 'dirección', 'numero', 'número', 'le',
        'les', 'lo', 'se', 'es', 'esta', 'está', 'estoy', 'el', 'ayuda', 'problema', 'calentador', 'inodoro', 'fregadero',
        'btw', 'lol', 'haha', 'omg', 'idk', 'awesome', 'option', 'opcion', 'see', 'pic', 'pics', 'photo', 'photos', 'picture',
        'pictures', 'above', 'below', 'attached', 'around', 'noisy', 'smelly', 'moldy', 'rusty', 'dirty', 'gross', 'worse', 'better',
        'kidding', 'anyway', 'anyways', 'sorry', 'hello', 'hallo', 'ola', 'test', 'testing', 'nvm', 'yes', 'yeah', 'perfect', 'cool', 'sounds', 'nope', 'yup', 'wonderful', 'excellent', 'alright',
        'right', 'correct', 'wow', 'hmm', 'huh', 'anyone', 'anybody', 'same', 'nothing', 'never', 'mind', 'whatever', 'maybe', 'dunno',
        'only', 'worried', 'away', 'busy', 'lukewarm', 'freezing', 'pretty', 'kinda', 'kind', 'sort', 'probably', 'definitely',
        'actually', 'literally', 'basically', 'always', 'usually', 'sometimes', 'every', 'all', 'both', 'each', 'more', 'less',
        'much', 'many', 'few', 'little', 'big', 'small', 'huge', 'tiny', 'weird', 'strange', 'slow', 'fast', 'dark', 'master', 'bath',
        'bathroom', 'upstairs', 'downstairs', 'front', 'yard', 'hall', 'guest', 'main', 'attic', 'laundry', 'ceiling', 'floor', 'wall',
        'roof', 'hallway', 'bedroom', 'living', 'room', 'closet', 'patio', 'backyard', 'driveway', 'office', 'store', 'shop',
        'landlord', 'renter', 'plumbing', 'electrical', 'hvac', 'quote', 'estimate', 'asking', 'question',
        'booked', 'appointment', 'schedule', 'scheduling', 'confirm', 'ya', 'pues', 'bien', 'mal', 'solo', 'ok', 'vale', 'listo'])
$$;
COMMENT ON FUNCTION nmc.intake_not_a_name(text) IS 'True for a word that cannot be (part of) a person''s name: not letters, an everyday English or Spanish word (articles, pronouns, verbs, greetings, days, trade words, titles), or an -ing/-ed word.';

CREATE FUNCTION nmc.intake_capitalize(t text)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
    -- A word written in mixed case ("McDonald", "DeShawn") is kept as written;
    -- otherwise each part of it starts with a capital ("o'brien" → "O'Brien").
    SELECT string_agg(CASE WHEN w ~ '[[:lower:]]' AND w ~ '[[:upper:]]' THEN w ELSE initcap(w) END, ' ' ORDER BY n)
      FROM regexp_split_to_table(btrim(t), '\s+') WITH ORDINALITY AS x(w, n)
$$;
COMMENT ON FUNCTION nmc.intake_capitalize(text) IS 'Names and street names capitalised as people expect: "maria lopez" → "Maria Lopez", "o''brien" → "O''Brien"; mixed case as written is kept.';

CREATE FUNCTION nmc.intake_name_words(t text, whole boolean)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    toks text[] := regexp_split_to_array(btrim(regexp_replace(t, '[^[:alpha:]''’ -]', ' ', 'g')), '\s+');
    out text[] := '{}';
    i int := 1;
BEGIN
    -- A title before the name is not part of it ("la señora García", "Mrs Johnson").
    WHILE i <= cardinality(toks) AND nmc.intake_fold(toks[i]) IN ('mr', 'mrs', 'ms', 'miss', 'sr', 'sra', 'srta', 'senor', 'senora', 'la', 'el', 'don', 'dona') LOOP
        i := i + 1;
    END LOOP;
    WHILE i <= cardinality(toks) AND cardinality(out) < 3 AND NOT nmc.intake_not_a_name(toks[i]) LOOP
        out := out || toks[i];
        i := i + 1;
    END LOOP;
    IF cardinality(out) = 0 OR (whole AND i <= cardinality(toks)) OR nmc.intake_problem_word(array_to_string(out, ' ')) THEN
        RETURN NULL;
    END IF;
    -- Three name words followed by a fourth name-like word: a sentence, not a name.
    IF i <= cardinality(toks) AND cardinality(out) = 3 AND NOT nmc.intake_not_a_name(toks[i]) THEN
        RETURN NULL;
    END IF;
    RETURN nmc.intake_capitalize(array_to_string(out, ' '));
END
$$;
COMMENT ON FUNCTION nmc.intake_name_words(text, boolean) IS 'The 1-3 name words at the start of a phrase (titles skipped), capitalised; NULL when they are everyday or trade words, or when whole and the phrase holds more than the name, or when a fourth name-like word follows.';

CREATE FUNCTION nmc.intake_find_name(t text, asked boolean)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    k text := regexp_replace(t, '\s+', ' ', 'g');
    m text[];
    v text;
    seg text;
BEGIN
    -- Said outright: "my name is …", "me llamo …", "mi nombre es …", "name: …".
    m := regexp_match(k, '(?:my name is|my name''s|my names|name is|name''s|\mname\s*:|me llamo|mi nombre es|les habla|le habla|\mhabla)\s+([^,.!?;:()\n]+)', 'i');
    IF m IS NOT NULL THEN
        v := nmc.intake_name_words(m[1], false);
        IF v IS NOT NULL THEN RETURN v; END IF;
    END IF;
    -- Introduced: "this is Dave", "it's Maria Lopez", "I'm Tom", "soy Ana".
    FOR m IN SELECT regexp_matches(k, '(?:^|[^[:alpha:]])(this is|it''s|it’s|its|it is|i''m|i’m|\mim|i am|\msoy|\mse llama)\s+([^,.!?;:()\n]+)', 'gi') LOOP
        v := nmc.intake_name_words(m[2], false);
        IF v IS NOT NULL THEN
            RETURN v;
        END IF;
    END LOOP;
    -- "Dave here", "hi, maria lopez here".
    m := regexp_match(k, '(?:^|[,.!?;:]\s*|\m(?:hi|hello|hey|hola)\s+)((?:[[:alpha:]''-]+\s+){0,2}[[:alpha:]''-]+)\s+here\M', 'i');
    IF m IS NOT NULL THEN
        v := nmc.intake_name_words(m[1], true);
        IF v IS NOT NULL THEN RETURN v; END IF;
    END IF;
    -- Signed at the end: "… - Tom", "thanks, Dave", "gracias, Ana".
    m := regexp_match(k, '(?:\s[-–—~]+|^[-–—~]+|(?:thanks|thank you|thx|ty|gracias|regards|cheers)[,!.]?\s*[-–—]?)\s*([[:alpha:]][[:alpha:]'' -]*?)[\s.!]*$', 'i');
    IF m IS NOT NULL THEN
        v := nmc.intake_name_words(m[1], true);
        IF v IS NOT NULL THEN RETURN v; END IF;
    END IF;
    IF asked THEN
        -- The answer to "what's your name?": a short phrase that is only a name.
        FOREACH seg IN ARRAY regexp_split_to_array(k, '[,.;!?\n]+|\s[-–—]\s') LOOP
            seg := regexp_replace(btrim(seg), '^((hi|hello|hey|hola|yes|yeah|sure|ok|okay|si|sí|claro|name|nombre|it''s|its)\M\s*)+', '', 'i');
            seg := regexp_replace(seg, '\s*[0-9#].*$', '');
            seg := regexp_replace(seg, '\s+(at|from|in|on|here|de|en|desde)$', '', 'i');
            v := nmc.intake_name_words(seg, true);
            IF v IS NOT NULL THEN RETURN v; END IF;
        END LOOP;
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION nmc.intake_find_name(text, boolean) IS 'A person''s name anywhere in a text ("this is dave", "Dave here", "it''s Maria Lopez", "- Tom", "me llamo …", "soy …"), capitalised; when asked, a bare name ("dave smith") too. Never a sentence: NULL unless the words are name words.';

CREATE FUNCTION nmc.intake_name(t text)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$ SELECT nmc.intake_find_name(t, true) $$;
COMMENT ON FUNCTION nmc.intake_name(text) IS 'A person''s name from a reply to "what''s your name?" such as "Jane Doe", "my name is jane doe" or "it''s Dave here", or NULL if it does not look like one.';

CREATE FUNCTION nmc.intake_street_type(w text)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
    SELECT abbr FROM (VALUES
        ('st', 'St'), ('st.', 'St'), ('str', 'St'), ('street', 'St'), ('stret', 'St'), ('steet', 'St'), ('sreet', 'St'), ('streeet', 'St'),
        ('streed', 'St'), ('stree', 'St'), ('strt', 'St'), ('strret', 'St'), ('stteet', 'St'),
        ('ave', 'Ave'), ('av', 'Ave'), ('avenue', 'Ave'), ('avenu', 'Ave'), ('avnue', 'Ave'), ('aveune', 'Ave'), ('avneue', 'Ave'),
        ('avene', 'Ave'), ('avn', 'Ave'), ('aven', 'Ave'),
        ('rd', 'Rd'), ('road', 'Rd'), ('raod', 'Rd'), ('rode', 'Rd'),
        ('dr', 'Dr'), ('drive', 'Dr'), ('drv', 'Dr'), ('driv', 'Dr'), ('drvie', 'Dr'), ('dirve', 'Dr'), ('drivee', 'Dr'),
        ('ln', 'Ln'), ('lane', 'Ln'), ('lanr', 'Ln'), ('lne', 'Ln'),
        ('blvd', 'Blvd'), ('boulevard', 'Blvd'), ('boulvard', 'Blvd'), ('bulevard', 'Blvd'), ('blv', 'Blvd'), ('bvd', 'Blvd'),
        ('ct', 'Ct'), ('court', 'Ct'), ('crt', 'Ct'), ('cir', 'Cir'), ('circle', 'Cir'), ('circ', 'Cir'), ('cirlce', 'Cir'),
        ('way', 'Way'), ('wy', 'Way'), ('pl', 'Pl'), ('place', 'Pl'), ('plc', 'Pl'),
        ('pkwy', 'Pkwy'), ('parkway', 'Pkwy'), ('pky', 'Pkwy'), ('prkwy', 'Pkwy'),
        ('trl', 'Trl'), ('trail', 'Trl'), ('tr', 'Trl'), ('ter', 'Ter'), ('terrace', 'Ter'), ('terr', 'Ter'),
        ('hwy', 'Hwy'), ('highway', 'Hwy'), ('loop', 'Loop'), ('lp', 'Loop'), ('cv', 'Cv'), ('cove', 'Cv'),
        ('path', 'Path'), ('pass', 'Pass'), ('run', 'Run'), ('sq', 'Sq'), ('square', 'Sq'), ('xing', 'Xing'), ('crossing', 'Xing'),
        ('pt', 'Pt'), ('point', 'Pt'), ('holw', 'Holw'), ('hollow', 'Holw'), ('bnd', 'Bnd'), ('bend', 'Bnd'), ('row', 'Row'),
        ('walk', 'Walk'), ('aly', 'Aly'), ('alley', 'Aly'), ('expy', 'Expy'), ('expressway', 'Expy'), ('fwy', 'Fwy'), ('freeway', 'Fwy'),
        ('plz', 'Plz'), ('plaza', 'Plz'), ('trce', 'Trce'), ('trace', 'Trce'), ('vw', 'Vw'), ('view', 'Vw'), ('gln', 'Gln'),
        ('glen', 'Gln'), ('hts', 'Hts'), ('heights', 'Hts'), ('spgs', 'Spgs'), ('springs', 'Spgs'), ('park', 'Park'), ('pk', 'Park')
    ) AS s(word, abbr)
     WHERE word = lower(w)
$$;
COMMENT ON FUNCTION nmc.intake_street_type(text) IS 'The street-type table: a word as customers write it (full, abbreviated, or a common typo: "Street", "st", "stret", "avenu", "blvd") → its USPS abbreviation ("St", "Ave", "Blvd"), or NULL.';

CREATE FUNCTION nmc.intake_find_address(t text, asked boolean)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    toks text[] := regexp_split_to_array(btrim(regexp_replace(t, '\s+', ' ', 'g')), ' ');
    w text[];
    n int := cardinality(toks);
    i int;
    j int;
    k int;
    e int;
    street text;
    typ text;
    unit text;
    city text[];
    state text;
    zip text;
    num text;
    dir text;
    words text[];
    timeish boolean;
BEGIN
    IF n = 0 OR t IS NULL THEN
        RETURN NULL;
    END IF;
    w := ARRAY(SELECT nmc.intake_fold(regexp_replace(regexp_replace(x, '^[^[:alnum:]#]+', ''), '[^[:alnum:]]+$', '')) FROM unnest(toks) WITH ORDINALITY AS u(x, o) ORDER BY o);
    FOR i IN 1 .. n LOOP
        CONTINUE WHEN w[i] !~ '^[0-9]{1,6}[a-z]?$' OR w[i] ~ '^[0-9]{1,2}(am|pm)$';
        -- Not a time or an amount: "at 10" (unless a street follows: "at 12 Elm St"), "after 3", "$150", "10 am".
        timeish := i > 1 AND w[i - 1] = ANY (ARRAY['at', 'after', 'before', 'by', 'around', 'las', 'la', 'from', 'til', 'until', 'about'])
                   AND substring(w[i] FROM '^[0-9]+')::int <= 24;
        CONTINUE WHEN toks[i] ~ '^\$' OR (i < n AND w[i + 1] ~ '^(am|pm|a|p|oclock|o''clock|minutes|mins|min|hours|hrs|hour|days|years|yrs|dollars|bucks|gallon|gal|percent|times|people)$');
        num := upper(w[i]);
        j := i + 1;
        dir := NULL;
        IF j <= n AND w[j] IN ('n', 's', 'e', 'w', 'north', 'south', 'east', 'west', 'ne', 'nw', 'se', 'sw') THEN
            dir := CASE w[j] WHEN 'north' THEN 'N' WHEN 'south' THEN 'S' WHEN 'east' THEN 'E' WHEN 'west' THEN 'W' ELSE upper(w[j]) END;
            j := j + 1;
        END IF;
        street := NULL;
        typ := NULL;
        e := NULL;
        -- Highway-style names come before their number: "Hwy 71", "FM 1626", "County Road 12".
        IF j + 1 <= n AND w[j] IN ('hwy', 'highway', 'fm', 'rm', 'cr', 'route', 'rte', 'sh', 'us') AND w[j + 1] ~ '^[0-9]{1,4}$' THEN
            street := CASE WHEN w[j] IN ('hwy', 'highway') THEN 'Hwy' ELSE upper(w[j]) END || ' ' || w[j + 1];
            e := j + 1;
        ELSIF j + 2 <= n AND w[j] IN ('ranch', 'farm') AND w[j + 1] IN ('road', 'rd') AND w[j + 2] ~ '^[0-9]{1,4}$' THEN
            street := initcap(w[j]) || ' Road ' || w[j + 2];
            e := j + 2;
        ELSIF j + 1 <= n AND w[j] IN ('rr', 'fm', 'cr') AND w[j + 1] ~ '^[0-9]{1,4}$' THEN
            street := upper(w[j]) || ' ' || w[j + 1];
            e := j + 1;
        ELSIF j + 1 <= n AND w[j] IN ('avenue', 'ave', 'av') AND w[j + 1] ~ '^[a-h]$' THEN
            -- Lettered avenues: "Avenue F".
            street := 'Avenue ' || upper(w[j + 1]);
            e := j + 1;
        ELSE
            FOR k IN j + 1 .. least(j + 3, n) LOOP
                typ := nmc.intake_street_type(w[k]);
                IF typ IS NOT NULL THEN
                    -- "Barton Springs Rd", "Park Place Dr": the last type word is the type.
                    WHILE k < n AND k < j + 4 AND nmc.intake_street_type(w[k + 1]) IS NOT NULL LOOP
                        k := k + 1;
                        typ := nmc.intake_street_type(w[k]);
                    END LOOP;
                    words := toks[j:k - 1];
                    -- A street name is words, not a sentence break ("85 inside. 5207 …") nor a bare number.
                    IF EXISTS (SELECT 1 FROM unnest(toks[j:k - 1]) x WHERE x ~ '[,;!?]$' OR (x ~ '\.$' AND x !~ '^[[:alpha:]]{1,3}\.$') OR x ~ '^[0-9]+$') THEN
                        typ := NULL;
                        EXIT;
                    END IF;
                    IF EXISTS (SELECT 1 FROM unnest(w[j:k - 1]) x WHERE x !~ '^[[:alpha:]0-9''.-]+$'
                                  OR x = ANY (ARRAY['and', 'my', 'is', 'in', 'on', 'at', 'the', 'a', 'of', 'for', 'with', 'to', 'y', 'en', 'de', 'mi', 'have', 'leaks', 'leak', 'are']))
                       AND NOT (k = j + 1) THEN
                        typ := NULL;
                        CONTINUE;
                    END IF;
                    IF EXISTS (SELECT 1 FROM unnest(w[j:k - 1]) x WHERE x = ANY (ARRAY['and', 'my', 'is', 'in', 'on', 'at', 'a', 'of', 'for', 'with', 'to', 'y', 'en', 'mi', 'have', 'are'])) THEN
                        typ := NULL;
                        EXIT;
                    END IF;
                    street := nmc.intake_capitalize(regexp_replace(array_to_string(words, ' '), '[^[:alnum:]''. -]', '', 'g')) || ' ' || typ;
                    e := k;
                    EXIT;
                END IF;
            END LOOP;
            IF street IS NULL AND NOT timeish
               AND (asked OR EXISTS (SELECT 1 FROM generate_series(j + 1, least(j + 3, n)) g WHERE w[g] ~ '^[0-9]{5}(-[0-9]{4})?$'
                                        AND NOT EXISTS (SELECT 1 FROM unnest(w[j:g - 1]) x WHERE x !~ '^[[:alpha:]][[:alpha:]''-]*$'))) THEN
                -- Asked for the address ("55 oak", "1200 barton springs"), or a ZIP follows ("4302 Speedway 78751").
                k := j;
                WHILE k <= n AND k < j + 3 AND w[k] ~ '^[[:alpha:]][[:alpha:]''-]*$'
                      AND NOT w[k] = ANY (ARRAY['and', 'my', 'is', 'in', 'on', 'at', 'the', 'for', 'with', 'to', 'y', 'en', 'mi', 'apt', 'unit', 'please', 'thanks', 'gracias']) LOOP
                    k := k + 1;
                END LOOP;
                IF k > j THEN
                    street := nmc.intake_capitalize(array_to_string(toks[j:k - 1], ' '));
                    street := regexp_replace(street, '[^[:alnum:]''. -]', '', 'g');
                    e := k - 1;
                END IF;
            END IF;
        END IF;
        CONTINUE WHEN street IS NULL OR (timeish AND typ IS NULL AND street !~ '^(Avenue|Hwy|[A-Z]{2}|Ranch|Farm) ');
        -- A direction after the street: "Ranch Road 620 S".
        IF e + 1 <= n AND w[e + 1] IN ('n', 's', 'e', 'w', 'ne', 'nw', 'se', 'sw') AND toks[e] !~ '[,.]$' THEN
            street := street || ' ' || upper(w[e + 1]);
            e := e + 1;
        END IF;
        -- A unit: "apt 4b", "unit 12", "#3", "suite 200".
        unit := NULL;
        IF e + 1 <= n AND w[e + 1] ~ '^#[a-z0-9-]{1,6}$' THEN
            unit := '#' || upper(substr(w[e + 1], 2));
            e := e + 1;
        ELSIF e + 2 <= n AND w[e + 1] IN ('apt', 'apartment', 'unit', 'ste', 'suite', 'no', 'bldg', 'building', 'lot', 'rm', 'room', 'depto', 'dpto',
                                           'departamento', 'fl', 'floor', 'space', 'spc', 'trlr') AND w[e + 2] ~ '^#?[a-z0-9-]{1,6}$' THEN
            unit := CASE WHEN w[e + 1] IN ('apt', 'apartment', 'depto', 'dpto', 'departamento') THEN 'Apt' WHEN w[e + 1] IN ('ste', 'suite') THEN 'Ste'
                         WHEN w[e + 1] IN ('bldg', 'building') THEN 'Bldg' WHEN w[e + 1] IN ('fl', 'floor') THEN 'Fl' WHEN w[e + 1] = 'no' THEN '#'
                         ELSE initcap(w[e + 1]) END || ' ' || upper(ltrim(w[e + 2], '#'));
            e := e + 2;
        ELSIF e + 1 <= n AND w[e + 1] ~ '^(apt|unit|ste)[0-9][a-z0-9-]{0,5}$' THEN
            unit := initcap(substring(w[e + 1] FROM '^[a-z]+')) || ' ' || upper(substring(w[e + 1] FROM '[0-9].*$'));
            e := e + 1;
        END IF;
        -- A city after a comma (or before a state or ZIP), then a state, then the ZIP.
        city := NULL;
        k := e + 1;
        WHILE k <= n AND k <= e + 3 AND w[k] ~ '^[[:alpha:]][[:alpha:].''-]*$' AND w[k] NOT IN ('tx', 'texas')
              AND NOT w[k] = ANY (ARRAY['and', 'my', 'is', 'in', 'on', 'at', 'the', 'for', 'with', 'to', 'y', 'en', 'mi', 'i', 'we', 'it', 'its',
                                        'please', 'pls', 'thanks', 'gracias', 'tomorrow', 'today', 'manana', 'hoy', 'can', 'could', 'need',
                                        'have', 'has', 'but', 'so', 'near', 'by', 'off', 'next', 'call', 'text', 'this', 'that', 'our', 'any', 'whats',
                                        'what', 'when', 'how', 'tengo', 'necesito', 'el', 'la', 'los', 'las', 'un', 'una', 'es', 'con', 'de', 'mañana'])
              AND nmc.intake_not_a_name(w[k]) IS NOT TRUE LOOP
            k := k + 1;
        END LOOP;
        IF k > e + 1 AND (toks[e] ~ ',$' OR (k <= n AND (w[k] IN ('tx', 'texas') OR w[k] ~ '^[0-9]{5}(-[0-9]{4})?$'))) THEN
            city := toks[e + 1:k - 1];
            e := k - 1;
        END IF;
        state := NULL;
        IF e + 1 <= n AND (w[e + 1] IN ('tx', 'texas') OR (w[e + 1] ~ '^[a-z]{2}$' AND e + 2 <= n AND w[e + 2] ~ '^[0-9]{5}(-[0-9]{4})?$'
                                                           AND NOT w[e + 1] IN ('in', 'at', 'on', 'to', 'of', 'by', 'is', 'it', 'my', 'me', 'we', 'so', 'no', 'do'))) THEN
            state := CASE WHEN w[e + 1] = 'texas' THEN 'TX' ELSE upper(w[e + 1]) END;
            e := e + 1;
        END IF;
        IF e + 1 <= n AND w[e + 1] ~ '^[0-9]{5}(-[0-9]{4})?$' THEN
            zip := left(w[e + 1], 5);
            e := e + 1;
        END IF;
        IF zip IS NULL THEN
            -- The ZIP elsewhere in the text ("… 55 oak st. zip is 78702").
            SELECT left(x, 5) INTO zip FROM unnest(w) WITH ORDINALITY AS u(x, o)
             WHERE x ~ '^[0-9]{5}(-[0-9]{4})?$' AND o NOT BETWEEN i AND e AND toks[o] !~ '^\$' LIMIT 1;
        END IF;
        RETURN jsonb_strip_nulls(jsonb_build_object(
            'address', concat_ws(', ', concat_ws(' ', num, dir, street, unit),
                                 nullif(concat_ws(' ', nmc.intake_capitalize(regexp_replace(array_to_string(city, ' '), '[^[:alpha:] .''-]', '', 'g'))
                                                       || CASE WHEN state IS NOT NULL THEN ',' ELSE '' END,
                                                  state, zip), '')),
            'street', concat_ws(' ', num, dir, street),
            'zip', zip,
            'span', array_to_string(toks[i:e], ' ')));
    END LOOP;
    -- No street: perhaps a ZIP alone ("78702", "zip is 78702").
    SELECT left(x, 5) INTO zip FROM unnest(w) WITH ORDINALITY AS u(x, o)
     WHERE x ~ '^[0-9]{5}(-[0-9]{4})?$' AND toks[o] !~ '^\$' LIMIT 1;
    RETURN CASE WHEN zip IS NOT NULL THEN jsonb_build_object('zip', zip, 'span', zip) END;
END
$$;
COMMENT ON FUNCTION nmc.intake_find_address(text, boolean) IS 'A street address anywhere in a text, with or without "it''s/at/my address is": house number, direction, street and type (nmc.intake_street_type: abbreviations, typos), unit, city, state, ZIP → {address (normalised: "55 Oak St Apt 4B, Austin, TX 78702"), street, zip, span (the words it came from)}; {zip} for a ZIP alone; NULL for none. When asked, a number and street name without a type count too.';

CREATE FUNCTION nmc.intake_address(t text)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$ SELECT nmc.intake_find_address(t, true) ->> 'address' $$;
COMMENT ON FUNCTION nmc.intake_address(text) IS 'A street address (with its house number) from a reply to "what''s the address?", normalised ("55 Oak St, 78702"), or NULL.';

CREATE FUNCTION nmc.intake_hour(h text, mi text, ampm text)
RETURNS time
LANGUAGE sql IMMUTABLE
AS $$
    -- Without am/pm, 1-6 o'clock means the afternoon (nobody books a plumber at 3 am).
    SELECT CASE WHEN h::int > 23 OR coalesce(mi, '0')::int > 59 THEN NULL
                ELSE make_time(CASE WHEN ampm ~ '^p' THEN h::int % 12 + 12
                                    WHEN ampm ~ '^a' THEN h::int % 12
                                    WHEN h::int BETWEEN 1 AND 6 THEN h::int + 12
                                    ELSE h::int END, coalesce(mi, '0')::int, 0) END
$$;
COMMENT ON FUNCTION nmc.intake_hour(text, text, text) IS 'A clock time from its hour, minutes and am/pm as written; without am/pm, 1-6 means PM.';

CREATE FUNCTION nmc.intake_find_when(t text, tz text)
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    k text := ' ' || nmc.intake_fold(coalesce(t, '')) || ' ';
    today date := (now() AT TIME ZONE tz)::date;
    p jsonb := '{}';
    m text[];
    d int;
    day date;
    d_part text;
    clock text := '(\d{1,2})(?::(\d{2}))?\s*(am|pm|a\.\s?m\.?|p\.\s?m\.?|a\M|p\M)?';
BEGIN
    -- "Good evening", "buenas noches" are greetings, not times.
    k := regexp_replace(k, '\m(good (morning|afternoon|evening|night)|buenas (tardes|noches)|buenos dias|buen dia)\M', ' ', 'g');
    -- When the trouble started is not when they want us: "since this morning", "it broke last night".
    k := regexp_replace(k, '\m(since|desde)\s+(this|last|yesterday|the|ayer|anoche|esta|la|el)\M(\s+(morning|afternoon|evening|night|week|manana|tarde|noche|semana))?', ' ', 'g');
    k := regexp_replace(k, '\m([a-z]+ed|broke|began|went|came|stopped|started|happened) (this|last) (morning|afternoon|evening|night)\M', ' ', 'g');
    -- Spanish "mañana" is tomorrow, "la mañana" the morning.
    k := regexp_replace(k, '\m(por|en|de) la manana\M', ' morning ', 'g');
    k := regexp_replace(k, '\mesta manana\M', ' today morning ', 'g');
    k := regexp_replace(k, '\m(por|en|de) la (tarde)\M', ' afternoon ', 'g');
    k := regexp_replace(k, '\m(por|en|de) la (noche)\M', ' evening ', 'g');
    k := regexp_replace(k, '\mesta (tarde)\M', ' today afternoon ', 'g');
    k := regexp_replace(k, '\mesta (noche)\M', ' today evening ', 'g');
    k := regexp_replace(k, '\mmedio ?dia\M', 'noon', 'g');
    IF k ~ '\m(asap|a\.s\.a\.p|as soon as|soonest|earliest|right away|right now|first thing|lo antes posible|cuanto antes|lo mas pronto|hoy mismo|urgente|urgent|emergency)\M' THEN
        p := p || '{"asap": true}';
    END IF;
    -- The day.
    IF k ~ '\m(pasado manana|day after tomorrow)\M' THEN
        day := today + 2;
    ELSIF k ~ '\m(tomorrow|tmrw|tmr|tmrow|tomorow|tommorow|tommorrow|tomorrw|2morrow|2moro|manana)\M' THEN
        day := today + 1;
    ELSIF k ~ '\m(today|tonight|tonite|hoy|this morning|this afternoon|this evening)\M' THEN
        day := today;
    ELSE
        m := regexp_match(k, '\m(next |this |el |este |proximo |on )?(mon|monday|tue|tues|tuesday|wed|weds|wednesday|thu|thur|thurs|thursday|fri|friday|sat|saturday|sun|sunday|lunes|martes|miercoles|jueves|viernes|sabado|domingo)s?\M');
        IF m IS NOT NULL THEN
            d := CASE WHEN m[2] ~ '^(sun|domingo)' THEN 0 WHEN m[2] ~ '^(mon|lunes)' THEN 1 WHEN m[2] ~ '^(tue|martes)' THEN 2
                      WHEN m[2] ~ '^(wed|miercoles)' THEN 3 WHEN m[2] ~ '^(thu|jueves)' THEN 4 WHEN m[2] ~ '^(fri|viernes)' THEN 5 ELSE 6 END;
            day := today + (d - extract(dow FROM today)::int + 7) % 7;
            IF day = today AND m[1] IS NOT NULL AND m[1] ~ 'next|proximo' THEN
                day := day + 7;
            END IF;
        ELSIF k ~ '\m(this weekend|el fin de semana|este fin de semana|weekend)\M' THEN
            day := today + (6 - extract(dow FROM today)::int + 7) % 7;
        ELSE
            m := regexp_match(k, '\m(\d{1,2})/(\d{1,2})\M');
            IF m IS NOT NULL AND m[1]::int BETWEEN 1 AND 12 AND m[2]::int BETWEEN 1 AND 31 THEN
                BEGIN
                    day := make_date(extract(year FROM today)::int, m[1]::int, m[2]::int);
                    IF day < today THEN
                        day := make_date(extract(year FROM today)::int + 1, m[1]::int, m[2]::int);
                    END IF;
                EXCEPTION WHEN OTHERS THEN
                    day := NULL;
                END;
            END IF;
        END IF;
    END IF;
    IF day IS NOT NULL THEN
        p := p || jsonb_build_object('day', day);
    ELSIF k ~ '\m(next week|la proxima semana|proxima semana|la semana que viene|la otra semana)\M' THEN
        p := p || jsonb_build_object('week_from', today + (8 - extract(isodow FROM today)::int), 'week_to', today + (14 - extract(isodow FROM today)::int));
    END IF;
    -- A part of the day.
    -- (The first one said: "afternoons only, I work mornings".)
    SELECT x.part INTO d_part FROM (VALUES
        ('morning', strpos(k, substring(k FROM '\m(mornings?|mornin|morn|in the am|am only)\M'))),
        ('afternoon', strpos(k, substring(k FROM '\m(afternoons?|aftn|arvo|tardes?|in the pm|after lunch|despues de comer)\M'))),
        ('evening', strpos(k, substring(k FROM '\m(evenings?|tonight|tonite|after work|noches?|nights?|after 5|after five)\M')))) x(part, pos)
     WHERE x.pos > 0 ORDER BY x.pos LIMIT 1;
    IF d_part IS NOT NULL THEN
        p := p || jsonb_build_object('part', d_part);
    END IF;
    -- From, until, or at a time.
    m := regexp_match(k, '\m(?:after|any ?time after|anytime after|past|later than|from|despues de las?|despues de la|a partir de las?|desde las?)\s+' || clock);
    IF m IS NOT NULL AND nmc.intake_hour(m[1], m[2], m[3]) IS NOT NULL THEN
        p := p || jsonb_build_object('after', nmc.intake_hour(m[1], m[2], m[3]));
    ELSIF k ~ '\m(after noon|despues del noon|despues de noon)\M' THEN
        p := p || '{"after": "12:00:00"}';
    ELSE
        m := regexp_match(k, '\m' || clock || '\s+or (later|after)\M');
        IF m IS NOT NULL AND nmc.intake_hour(m[1], m[2], m[3]) IS NOT NULL THEN
            p := p || jsonb_build_object('after', nmc.intake_hour(m[1], m[2], m[3]));
        END IF;
    END IF;
    m := regexp_match(k, '\m(?:before|by|no later than|until|til|till|antes de las?|antes de la|antes del?)\s+' || clock);
    IF m IS NOT NULL AND nmc.intake_hour(m[1], m[2], m[3]) IS NOT NULL THEN
        p := p || jsonb_build_object('before', nmc.intake_hour(m[1], m[2], m[3]));
    ELSIF k ~ '\m(before noon|before lunch|by noon|antes del noon|antes de noon|antes de comer)\M' THEN
        p := p || '{"before": "12:00:00"}';
    END IF;
    IF NOT (p ? 'after' OR p ? 'before') THEN
        m := regexp_match(k, '\m(\d{1,2}):(\d{2})\s*(am|pm|a\.\s?m\.?|p\.\s?m\.?)?');
        IF m IS NULL THEN
            m := regexp_match(k, '\m(\d{1,2})()\s*(am|pm|a\.\s?m\.?|p\.\s?m\.?)(?![a-z])');
        END IF;
        IF m IS NULL THEN
            m := regexp_match(k, '(?:\mat|\maround|\mabout|@|\ma las|\ma la|\mpor las|\mcerca de las)\s*(\d{1,2})()()(?![\d:/])');
        END IF;
        IF m IS NOT NULL AND nmc.intake_hour(m[1], nullif(m[2], ''), nullif(m[3], '')) IS NOT NULL THEN
            p := p || jsonb_build_object('at', nmc.intake_hour(m[1], nullif(m[2], ''), nullif(m[3], '')));
        ELSIF k ~ '\m(noon|lunch ?time)\M' THEN
            p := p || '{"at": "12:00:00"}';
        END IF;
    END IF;
    RETURN CASE WHEN p <> '{}' THEN p END;
END
$$;
COMMENT ON FUNCTION nmc.intake_find_when(text, text) IS 'A time preference in a text, in the business''s time zone: {day (today, tomorrow, a weekday, M/D), week_from/week_to (next week), part (morning, afternoon, evening), after, before, at (a clock time), asap}, English or Spanish ("el viernes en la mañana", "después de las 3"); NULL when the text says nothing about time.';

CREATE FUNCTION nmc.intake_slot_fits(ts timestamptz, tz text, p jsonb, exact boolean)
RETURNS boolean
LANGUAGE sql STABLE
AS $$
    SELECT (NOT p ? 'day' OR l::date = (p ->> 'day')::date)
       AND (NOT p ? 'week_from' OR l::date BETWEEN (p ->> 'week_from')::date AND (p ->> 'week_to')::date)
       AND (NOT p ? 'part' OR CASE p ->> 'part' WHEN 'morning' THEN l::time < '12:00' WHEN 'afternoon' THEN l::time >= '12:00' AND l::time < '17:00'
                                                 ELSE l::time >= '16:00' END)
       AND (NOT p ? 'after' OR l::time >= (p ->> 'after')::time)
       AND (NOT p ? 'before' OR l::time < (p ->> 'before')::time)
       AND (NOT p ? 'at' OR CASE WHEN exact THEN l::time = (p ->> 'at')::time
                                 ELSE l::time BETWEEN (p ->> 'at')::time - interval '2 hours' AND (p ->> 'at')::time + interval '2 hours' END)
      FROM (SELECT ts AT TIME ZONE tz AS l) x
$$;
COMMENT ON FUNCTION nmc.intake_slot_fits(timestamptz, text, jsonb, boolean) IS 'Whether a slot start fits a time preference (nmc.intake_find_when): its day or week, part of the day, after/before; at: exactly that time when exact, else within two hours of it.';

CREATE FUNCTION nmc.intake_slot_choice(t text, offered int)
RETURNS int
LANGUAGE sql IMMUTABLE
AS $$
    SELECT CASE WHEN n BETWEEN 1 AND offered THEN n END
      FROM (SELECT CASE
                WHEN k ~ '^\W*(#|option|opcion|number|numero|no\.?|la|el|the|num)?\s*\(?[1-9]\)?\W*$' THEN substring(k FROM '([1-9])')::int
                WHEN k ~ '\m(option|opcion|number|numero|num|#)\s*[1-9]\M' THEN substring(k FROM '(?:option|opcion|number|numero|num|#)\s*([1-9])')::int
                WHEN k ~ '\m(first|1st|primera|primero|primer)\M' THEN 1
                WHEN k ~ '\m(second|2nd|segunda|segundo)\M' THEN 2
                WHEN k ~ '\m(third|3rd|tercera|tercero|tercer)\M' THEN 3
                WHEN k ~ '\m(last|ultima|ultimo|latest)( one| option| time| slot)?\M' THEN offered
                WHEN k ~ '^\W*(the |la |el |option |opcion |number |numero )?(one|uno|una)\W*$' THEN 1
                WHEN k ~ '^\W*(the |la |el |option |opcion |number |numero )?(two|dos)\W*$' OR k ~ '\m(option|number|opcion|numero) (two|dos)\M' THEN 2
                WHEN k ~ '^\W*(the |la |el |option |opcion |number |numero )?(three|tres)\W*$' OR k ~ '\m(option|number|opcion|numero) (three|tres)\M' THEN 3
                WHEN k ~ '\m(any|anyone|any one|either|whichever|whatever|cualquiera|the earliest|the soonest|la mas temprana|la mas pronto)\M'
                     AND k !~ '\m(not|no|none|ninguna)\M' THEN 1
                -- A short reply with one lone digit: "2 please", "lets do 3", "ok 1".
                WHEN array_length(regexp_split_to_array(btrim(k), '\s+'), 1) <= 6
                     AND (SELECT count(*) FROM regexp_matches(k, '(?:^|[^0-9:/$])([1-9])(?![0-9:/]|\s*(am|pm|a\.|p\.|o''?clock|oclock|hours|hrs|days|min))', 'g')) = 1
                     AND k !~ '\m(at|after|before|by|around|las|la|from|til|until)\s+[1-9]\M'
                THEN substring(k FROM '(?:^|[^0-9:/$])([1-9])(?![0-9:/])')::int
            END AS n
              FROM (SELECT nmc.intake_fold(btrim(t, E' \t\r\n.!')) AS k) x) y
$$;
COMMENT ON FUNCTION nmc.intake_slot_choice(text, int) IS 'Which of the offered slots a reply picks by its place: "2", "(2)", "#2", "option 2", "2 please", "the second one", "la segunda", "the last one", "any of those" (the first); NULL for anything else.';

CREATE FUNCTION nmc.intake_slot_by_time(t text, offered jsonb, tz text)
RETURNS int
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    p jsonb := nmc.intake_find_when(t, tz) - 'asap';
    hits int[];
BEGIN
    IF p IS NULL OR p = '{}' THEN
        RETURN NULL;
    END IF;
    SELECT array_agg(n::int ORDER BY n) INTO hits
      FROM jsonb_array_elements_text(offered) WITH ORDINALITY AS o(ts, n)
     WHERE nmc.intake_slot_fits(o.ts::timestamptz, tz, p, true);
    -- Only an answer that names exactly one of the offered times counts.
    RETURN CASE WHEN cardinality(hits) = 1 THEN hits[1] END;
END
$$;
COMMENT ON FUNCTION nmc.intake_slot_by_time(text, jsonb, text) IS 'Which of the offered slots (timestamps) a reply names by day, part of the day and/or time in the business''s time zone ("tomorrow 9am", "Thursday at 2", "10:30 works", "the friday one", "the afternoon one", "el viernes"); NULL unless exactly one matches.';

CREATE FUNCTION nmc.intake_intent(t text)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
    SELECT CASE
        WHEN k ~ '\m(wrong (number|#|num)|didn''?t call|did not call|never called|not me|numero equivocado|equivocado|equivocada|no llame|no he llamado|yo no llame)\M'
            THEN 'wrong_number'
        WHEN k ~ '\m(real person|a person|a human|human being|talk to (someone|somebody|a person|the owner|a human|a real)|speak (to|with) (someone|somebody|a person|the owner)|call me|give me a call|can (you|someone|somebody) call|please call|pls call|plz call|hablar con (alguien|una persona|el dueno)|llamenme|llameme|me pueden llamar|me puede llamar|quiero hablar)\M'
            THEN 'human'
        WHEN k ~ '^\W*(no thanks|no thank you|nevermind|never mind|nvm|all good|were good|we''re good|im good|i''m good|not interested|no gracias|ya no|ya no es necesario|ya se arreglo|ya lo arreglamos|ya lo arregle|cancel|cancelar)\M'
             OR k ~ '\m(already fixed|got it fixed|fixed it|found someone|found somebody|went with someone|ya encontre|ya conseguimos|no longer need)\M'
            THEN 'decline'
        WHEN k ~ '\m(none|neither|no good|dont work|don''t work|doesnt work|doesn''t work|do not work|can''?t do (those|any|that|them)|cant make|can''t make|other (times|days|options|time|day)|something else|another (time|day)|anything (else|later|earlier)|later (time|day|in the)|different (time|day)|ninguna|ninguno|otro dia|otra hora|otras horas|otro horario|no puedo|no me (sirve|sirven|queda|quedan))\M'
            THEN 'others'
        WHEN k ~ '\m(how much|pricing|what (do|does|would|will|did) (it|you|that|this) (cost|charge|run)|what''?s the (price|cost|fee|charge|rate)|do you charge|service (call )?(fee|charge)|trip (fee|charge)|cuanto cuesta|cuanto cobran|cuanto sale|cuanto cobra|el precio|los precios)\M'
             OR k ~ '\m(price|prices|cost|costs|fee|fees|rates?)\s*\?'
            THEN 'price'
        WHEN k ~ '^\W*((hi|hello|hey|hiya|yo|hola|good (morning|afternoon|evening)|buenas( tardes| noches| dias)?|buenos dias|who is this|who''s this|whos this|quien es|quien habla|yes|yeah|ok|okay|sure|si|claro|thanks|thank you|gracias|ty)\W*)+$'
            THEN 'greeting'
    END
      FROM (SELECT nmc.intake_fold(coalesce(t, '')) AS k) x
$$;
COMMENT ON FUNCTION nmc.intake_intent(text) IS 'What a reply means beyond details: wrong_number, human (a person wanted, "call me"), decline ("no thanks", "already fixed"), others ("none of those", "another day"), price (a question about cost), greeting (hello, thanks, yes — nothing to misunderstand); NULL otherwise.';

CREATE FUNCTION nmc.intake_problem_word(k text)
RETURNS boolean
LANGUAGE sql IMMUTABLE
AS $$
    SELECT nmc.intake_fold(k) ~ ('\m(leak|leaks|leaking|leaky|drip|dripping|drips|clog|clogged|clogging|backed up|backing up|overflow|overflowing|flood|flooded|flooding|'
        || 'toilet|sink|faucet|drain|drains|pipe|pipes|water|heater|tank|tankless|disposal|dishwasher|washer|shower|tub|bathtub|sewer|septic|'
        || 'sump|pump|spigot|hose bib|valve|softener|garbage|running|gurgl\w*|smell|smells|odor|noise|noisy|'
        || 'ac|a/c|air|conditioner|conditioning|hvac|furnace|heat|heating|heater|thermostat|cooling|cool|blowing|compressor|condenser|'
        || 'vent|vents|duct|ducts|filter|freon|refrigerant|coil|frozen|ice|iced|'
        || 'outlet|outlets|breaker|breakers|power|electric|electrical|electricity|lights?|switch|switches|panel|wiring|wire|wires|fan|fans|'
        || 'fixture|fixtures|gfci|sparking|flicker|flickering|tripping|trips|tripped|shock|generator|charger|ev|'
        || 'lock|locks|locked|key|keys|door|garage|gutter|roof|window|'
        || 'broken|broke|busted|not working|stopped working|doesnt work|doesn''t work|won''?t|isn''?t|wont|dead|out|no hot|install|installation|'
        || 'replace|replacement|repair|fix|fixed|estimate|quote|inspection|maintenance|tune|service|checkup|check up|'
        || 'fuga|fugas|gotea|goteando|gotera|tapado|tapada|tapados|atascado|atascada|inodoro|taza|bano|lavabo|lavamanos|fregadero|tarja|'
        || 'tuberia|tubo|tubos|calentador|boiler|agua|caliente|aire|acondicionado|calefaccion|minisplit|luz|luces|enchufe|enchufes|'
        || 'contacto|apagador|cortocircuito|no funciona|no sirve|no prende|no enfria|no calienta|arreglar|reparar|instalar|cambiar|revisar|'
        || 'drenaje|regadera|ducha|la tina|lavadora|llave|cerradura|puerta|inundado|inundacion|ruido|olor|roto|rota|descompuesto|descompuesta)\M')
$$;
COMMENT ON FUNCTION nmc.intake_problem_word(text) IS 'Whether a text names a job for a trade (plumbing, HVAC, electrical, locks; English and Spanish): a leak, a clog, no heat, an outlet, "not working", "no funciona"…';

CREATE FUNCTION nmc.intake_find_problem(t text, name text, address_span text, asked boolean)
RETURNS text
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    k text := regexp_replace(coalesce(t, ''), '\s+', ' ', 'g');
    seg text;
    kept text[] := '{}';
    words int;
BEGIN
    -- What is left once the address, the introduction and the greeting are taken out.
    IF address_span IS NOT NULL THEN
        k := replace(k, address_span, ' ');
    END IF;
    k := regexp_replace(k, '\m(my name is|my name''s|name is|this is|it''s|its|i''m|im|i am|me llamo|mi nombre es|soy)\s+' || coalesce(regexp_replace(name, '([^[:alnum:] ])', '\\\1', 'g'), '\0\0\0'), ' ', 'i');
    IF name IS NOT NULL THEN
        k := regexp_replace(k, '\m' || regexp_replace(name, '([^[:alnum:] ])', '\\\1', 'g') || '\s+here\M', ' ', 'i');
        k := regexp_replace(k, '(^|\s)[-–—~]+\s*' || regexp_replace(name, '([^[:alnum:] ])', '\\\1', 'g') || '[\s.!]*$', ' ', 'i');
    END IF;
    k := regexp_replace(k, '\m(my address is|address is|address:|the address is|mi direccion es|mi dirección es|la direccion es|la dirección es|vivo en|i live at|we live at|located at|zip( code)?( is)?:?|codigo postal|código postal)\M', ' ', 'gi');
    FOREACH seg IN ARRAY regexp_split_to_array(k, '[.!?;\n]+|\s[-–—]\s') LOOP
        seg := btrim(regexp_replace(seg, '^\W*((hi|hello|hey|hiya|hola|good (morning|afternoon|evening)|buenas( tardes| noches| dias)?|buenos dias|yes|yeah|ok|okay|sure|si|sí|thanks|thank you|gracias|and|y|also|tambien|también)\M[\s,!.]*)+', '', 'i'), E' \t,.!-');
        CONTINUE WHEN seg !~ '[[:alpha:]]{2}';
        -- A question about us is not the problem: "is this the plumber?", "are you open today?"
        CONTINUE WHEN seg ~* '^(is this|is that|are you|are y''all|do you|who is|who''s|es usted|son ustedes|ustedes son)\M';
        words := array_length(regexp_split_to_array(seg, '\s+'), 1);
        IF nmc.intake_problem_word(seg)
           OR ((words >= 4 OR asked) AND nmc.intake_intent(seg) IS NULL AND nmc.intake_find_when(seg, 'UTC') IS NULL
               AND nmc.intake_find_name(seg, false) IS NULL AND seg !~* '^\W*(can|could|when|what|will|would|do|is|are)\M.*\?\W*$') THEN
            kept := kept || seg;
        END IF;
    END LOOP;
    RETURN nullif(left(array_to_string(kept, '. '), 1000), '');
END
$$;
COMMENT ON FUNCTION nmc.intake_find_problem(text, text, text, boolean) IS 'The problem a customer describes in a text, without the parts that are their name, address or a greeting: the sentences that name a job (nmc.intake_problem_word), or say enough (four words or more; when asked, any) and are not about time, a question to us, or an intent. NULL when nothing describes a problem ("Hi", "?", a photo alone).';
CREATE OR REPLACE FUNCTION nmc.appointment_when(a nmc.appointments, b nmc.businesses)
RETURNS text
LANGUAGE sql STABLE
AS $$ SELECT nmc.time_words(lower(a.during), b.timezone, 'en', true) $$;
COMMENT ON FUNCTION nmc.appointment_when(nmc.appointments, nmc.businesses) IS 'When an appointment starts, in words and the business''s time ("Friday, March 6 at 2:30 PM"; nmc.time_words).';
DROP FUNCTION nmc.appointment_confirmation(uuid);
CREATE OR REPLACE FUNCTION nmc.appointment_confirmation(p_appointment_id uuid, p_lang text DEFAULT 'en')
RETURNS text
LANGUAGE sql STABLE
AS $$
    SELECT format(nmc.intake_say(p_lang, 'confirmation'),
                  b.name, nmc.time_words(lower(a.during), b.timezone, p_lang, true),
                  CASE WHEN a.service_address IS NOT NULL THEN nmc.intake_say(p_lang, 'at') || a.service_address ELSE '' END)
      FROM nmc.appointments a JOIN nmc.businesses b ON b.id = a.business_id
     WHERE a.id = p_appointment_id AND a.status = 'booked'
$$;
COMMENT ON FUNCTION nmc.appointment_confirmation(uuid, text) IS 'The confirmation text of a booked appointment, written from the row in the business''s local time, in English or the customer''s language (''es''): a customer is never told of a booking the database does not have.';
CREATE OR REPLACE FUNCTION nmc.intake_reply(conv nmc.conversations, body text)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    b nmc.businesses;
    lang text := coalesce(conv.intake ->> 'lang', 'en');
BEGIN
    SELECT * INTO b FROM nmc.businesses WHERE id = conv.business_id;
    -- The first thing the assistant says discloses that it is automated.
    IF NOT EXISTS (SELECT 1 FROM nmc.messages WHERE conversation_id = conv.id AND author = 'ai') THEN
        body := coalesce(b.ai_disclosure, CASE WHEN lang = 'en' THEN nmc.default_ai_disclosure(b)
                                               ELSE format(nmc.intake_say(lang, 'disclosure'), b.name) END) || ' ' || body;
    END IF;
    PERFORM nmc.ai_send_reply(conv.id, body);
END
$$;
COMMENT ON FUNCTION nmc.intake_reply(nmc.conversations, text) IS 'Sends an assistant reply, from either engine (prefixed with the disclosure the first time, in the conversation''s language unless the business wrote its own), only while the conversation is in AI mode.';
CREATE OR REPLACE FUNCTION nmc.intake_offer(b nmc.businesses, pref jsonb, exclude jsonb)
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    p jsonb := coalesce(pref, '{}') - 'asap';
    from_ts timestamptz := now() + interval '1 hour';
    cands timestamptz[];
    picked timestamptz[] := '{}';
    c timestamptz;
    gap interval;
    pass int;
    fit boolean := true;
BEGIN
    IF p ? 'day' THEN
        from_ts := greatest(from_ts, (p ->> 'day')::date::timestamp AT TIME ZONE b.timezone);
    ELSIF p ? 'week_from' THEN
        from_ts := greatest(from_ts, (p ->> 'week_from')::date::timestamp AT TIME ZONE b.timezone);
    END IF;
    -- The free slots (nmc.open_slots: hours, closures, job length, other bookings)
    -- that fit the preference, the one asked for by time first.
    SELECT array_agg(s.starts_at ORDER BY (s.starts_at AT TIME ZONE b.timezone)::date,
                     CASE WHEN p ? 'at' THEN abs(extract(epoch FROM (s.starts_at AT TIME ZONE b.timezone)::time - (p ->> 'at')::time)) END,
                     s.starts_at)
      INTO cands
      FROM nmc.open_slots(b.id, from_ts, 1000) s
     WHERE NOT EXISTS (SELECT 1 FROM jsonb_array_elements_text(coalesce(exclude, '[]')) e WHERE e::timestamptz = s.starts_at)
       AND nmc.intake_slot_fits(s.starts_at, b.timezone, p, false);
    IF cands IS NULL THEN
        -- Nothing fits: the nearest free times from the day they wanted (else from now).
        fit := p = '{}';
        SELECT array_agg(s.starts_at ORDER BY s.starts_at) INTO cands
          FROM nmc.open_slots(b.id, from_ts, 200) s
         WHERE NOT EXISTS (SELECT 1 FROM jsonb_array_elements_text(coalesce(exclude, '[]')) e WHERE e::timestamptz = s.starts_at);
        IF cands IS NULL AND from_ts > now() + interval '1 hour' THEN
            SELECT array_agg(s.starts_at ORDER BY s.starts_at) INTO cands
              FROM nmc.open_slots(b.id, now() + interval '1 hour', 200) s
             WHERE NOT EXISTS (SELECT 1 FROM jsonb_array_elements_text(coalesce(exclude, '[]')) e WHERE e::timestamptz = s.starts_at);
        END IF;
    END IF;
    -- Three starts spread out: hours apart when the window allows, never back to back if avoidable.
    -- (In the first pass at most two a day, so that the day is a choice too.)
    FOR pass IN 1 .. 5 LOOP
        gap := (ARRAY[interval '3 hours', interval '3 hours', interval '90 minutes', interval '1 hour', interval '30 minutes'])[pass];
        FOREACH c IN ARRAY coalesce(cands, '{}') LOOP
            EXIT WHEN cardinality(picked) >= 3;
            CONTINUE WHEN EXISTS (SELECT 1 FROM unnest(picked) x WHERE abs(extract(epoch FROM c - x)) < extract(epoch FROM gap));
            CONTINUE WHEN pass = 1 AND (SELECT count(*) FROM unnest(picked) x
                                         WHERE (x AT TIME ZONE b.timezone)::date = (c AT TIME ZONE b.timezone)::date) >= 2;
            -- Distinct clock times while possible, so that "12:00 works" picks one.
            CONTINUE WHEN pass <= 2 AND EXISTS (SELECT 1 FROM unnest(picked) x
                                                 WHERE (x AT TIME ZONE b.timezone)::time = (c AT TIME ZONE b.timezone)::time);
            picked := picked || c;
        END LOOP;
    END LOOP;
    RETURN jsonb_build_object('slots', (SELECT jsonb_agg(x ORDER BY x) FROM unnest(picked) x), 'fit', fit);
END
$$;
COMMENT ON FUNCTION nmc.intake_offer(nmc.businesses, jsonb, jsonb) IS 'Up to three open slots to offer: from nmc.open_slots (the one rule for free times), not already offered (exclude), fitting the customer''s time preference (nmc.intake_slot_fits; the asked-for time first), spread out (three hours apart, at most two a day and at different clock times when possible, narrowing only as needed). {slots, fit}: fit false when nothing matched the preference and the nearest times are offered instead.';
CREATE OR REPLACE FUNCTION nmc.intake_slot_list(b nmc.businesses, slots jsonb, lang text)
RETURNS text
LANGUAGE sql STABLE
AS $$
    SELECT string_agg(format('%s) %s', n, nmc.time_words(t::timestamptz, b.timezone, lang, false)), ', ' ORDER BY n)
      FROM jsonb_array_elements_text(slots) WITH ORDINALITY AS x(t, n)
$$;
COMMENT ON FUNCTION nmc.intake_slot_list(nmc.businesses, jsonb, text) IS 'Offered slots as the customer reads them: "1) Fri Dec 5 at 9:00 AM, 2) …", in their language.';
CREATE OR REPLACE FUNCTION nmc.intake_turn(p_conversation_id uuid)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    conv nmc.conversations := nmc.conversation_for_update(p_conversation_id);
    b nmc.businesses;
    i jsonb;
    asked text;
    lang text;
    msg nmc.messages;
    texts text[] := '{}';
    t text;
    photos int := 0;
    read_any boolean := false;
    intent text;
    addr jsonb;
    v text;
    pref jsonb;
    pick int;
    a nmc.appointments;
    offer jsonb;
    offer_kind text;
    said text[] := '{}';
    learned boolean := false;
    understood boolean;
    ask text;
BEGIN
    IF conv.mode <> 'ai' THEN
        RETURN;
    END IF;
    SELECT * INTO b FROM nmc.businesses WHERE id = conv.business_id;
    i := conv.intake;
    asked := i ->> 'awaiting';

    -- Every text the customer sent since the assistant last read (several may
    -- have come during the human window); photos are counted, not read.
    FOR msg IN SELECT * FROM nmc.messages m
                WHERE m.conversation_id = conv.id AND m.direction = 'inbound'
                  AND (NOT i ? 'read_at' OR (m.created_at, m.id) > ((i ->> 'read_at')::timestamptz, (i ->> 'read_id')::uuid))
                ORDER BY m.created_at, m.id LOOP
        read_any := true;
        photos := photos + coalesce(jsonb_array_length(msg.media), 0);
        IF NOT (msg.media IS NOT NULL AND msg.body = nmc.sms_media_words(msg.media)) AND msg.body <> '(empty message)' THEN
            texts := texts || msg.body;
        END IF;
        i := i || jsonb_build_object('read_at', msg.created_at, 'read_id', msg.id);
    END LOOP;
    IF photos > 0 THEN
        i := i || jsonb_build_object('photos', coalesce((i ->> 'photos')::int, 0) + photos);
    END IF;
    t := nullif(btrim(array_to_string(texts, E'\n')), '');
    -- The customer's language, from everything they wrote.
    lang := coalesce(nmc.intake_language(ARRAY(SELECT m.body FROM nmc.messages m WHERE m.conversation_id = conv.id AND m.direction = 'inbound'
                                                 AND NOT (m.media IS NOT NULL AND m.body = nmc.sms_media_words(m.media)))),
                     i ->> 'lang', 'en');
    i := i || jsonb_build_object('lang', lang);

    IF t IS NOT NULL THEN
        intent := nmc.intake_intent(t);
        addr := nmc.intake_find_address(t, asked IN ('address', 'zip'));
        -- Asked by name: a person, or they are not a customer after all.
        IF intent = 'human' THEN
            conv.intake := i;
            PERFORM nmc.intake_reply(conv, format(nmc.intake_say(lang, 'human'), b.name));
            UPDATE nmc.conversations SET intake = i WHERE id = conv.id RETURNING * INTO conv;
            PERFORM nmc.conversation_handed_over(conv, 'the customer asked for a person');
            RETURN;
        ELSIF intent = 'wrong_number' AND NOT i ? 'problem' OR intent = 'decline' AND addr IS NULL THEN
            conv.intake := i;
            PERFORM nmc.intake_reply(conv, nmc.intake_say(lang, 'goodbye'));
            PERFORM nmc.conversation_close(conv, i || jsonb_build_object('awaiting', 'nothing', 'ended', intent));
            RETURN;
        END IF;

        -- The details, wherever they are in the text.
        IF addr ? 'address' AND (NOT i ? 'address' OR addr ->> 'street' IS DISTINCT FROM i ->> 'street') THEN
            i := i || jsonb_build_object('address', addr ->> 'address', 'street', addr ->> 'street');
            said := said || format(nmc.intake_say(lang, 'got_address'), addr ->> 'address');
            learned := true;
            IF addr ? 'zip' THEN
                i := i || jsonb_build_object('zip', addr ->> 'zip');
            END IF;
        ELSIF addr ? 'zip' AND i ? 'address' AND (NOT i ? 'zip' OR asked = 'zip') AND NOT addr ? 'address' THEN
            i := i || jsonb_build_object('zip', addr ->> 'zip', 'address',
                                         (i ->> 'address') || CASE WHEN i ->> 'address' ~ '\m[A-Z]{2}$' THEN ' ' ELSE ', ' END || (addr ->> 'zip'));
            said := said || format(nmc.intake_say(lang, 'got_address'), i ->> 'address');
            learned := true;
        ELSIF addr ? 'zip' AND NOT i ? 'address' AND NOT i ? 'zip' THEN
            i := i || jsonb_build_object('zip', addr ->> 'zip');
            learned := true;
        END IF;
        -- A bare name counts when asked for, when the text carries other details
        -- ("Mike Johnson, 1234 Elm St, toilet running"), or when it is the whole text.
        v := nmc.intake_find_name(CASE WHEN addr ? 'span' THEN replace(t, addr ->> 'span', ',') ELSE t END,
                                  asked = 'name' OR (NOT i ? 'name' AND (addr IS NOT NULL OR nmc.intake_problem_word(t))));
        IF v IS NULL AND NOT i ? 'name' AND addr IS NULL THEN
            v := nmc.intake_name_words(btrim(t, E' \t\r\n.!'), true);
        END IF;
        IF v IS NULL AND asked = 'address' AND addr IS NULL AND i ->> 'name' !~ '\s' AND nmc.intake_name_words(t, true) ~ '^\S+$' THEN
            -- "Derek", then "Chan": the surname of the name just given.
            v := (i ->> 'name') || ' ' || nmc.intake_name_words(t, true);
            i := i - 'name';
        END IF;
        IF v IS NOT NULL AND (NOT i ? 'name' OR asked = 'name') THEN
            i := i || jsonb_build_object('name', v);
            said := format(nmc.intake_say(lang, 'thanks_name'), v) || said;
            learned := true;
        END IF;
        IF NOT i ? 'problem' THEN
            v := nmc.intake_find_problem(t, v, addr ->> 'span', asked = 'problem');
            IF v IS NOT NULL THEN
                i := i || jsonb_build_object('problem', v);
                learned := true;
            END IF;
        END IF;
        pref := nmc.intake_find_when(t, b.timezone);
        IF pref IS NOT NULL THEN
            i := i || jsonb_build_object('pref', coalesce(i -> 'pref', '{}') || pref);
        END IF;

        -- Choosing among the offered times.
        IF asked = 'slot' AND i ? 'offered_slots' THEN
            -- By time ("10:30 works", "the friday one"), else by place ("2") unless the
            -- text states a new preference ("any time after 3").
            pick := nmc.intake_slot_by_time(t, i -> 'offered_slots', b.timezone);
            IF pick IS NULL AND (pref IS NULL OR pref - 'asap' = '{}') THEN
                pick := nmc.intake_slot_choice(t, jsonb_array_length(i -> 'offered_slots'));
            END IF;
            IF pick IS NULL AND pref ? 'day' AND pref ? 'at' THEN
                -- A time not offered but free ("tomorrow 9am"): that one.
                SELECT jsonb_build_array(s.starts_at) INTO offer FROM nmc.open_slots(b.id, now() + interval '1 hour', 1000) s
                 WHERE s.starts_at = ((pref ->> 'day')::date + (pref ->> 'at')::time) AT TIME ZONE b.timezone;
                IF offer IS NOT NULL THEN
                    i := i || jsonb_build_object('offered_slots', offer);
                    pick := 1;
                END IF;
            END IF;
            IF pick IS NOT NULL AND intent IS DISTINCT FROM 'others' THEN
                BEGIN
                    a := nmc.appointment_book(b.id, conv.customer_id, (i #>> ARRAY['offered_slots', (pick - 1)::text])::timestamptz, 'ai',
                                              i ->> 'address', i ->> 'problem');
                EXCEPTION WHEN SQLSTATE 'NM409' OR SQLSTATE 'NM400' THEN
                    -- Taken meanwhile: offer fresh slots.
                    a := NULL;
                    offer_kind := 'offer_others';
                END;
                IF a.id IS NOT NULL THEN
                    conv.intake := i;
                    PERFORM nmc.intake_reply(conv, nmc.appointment_confirmation(a.id, lang));
                    PERFORM nmc.conversation_close(conv, i || jsonb_build_object('awaiting', 'nothing', 'appointment_id', a.id));
                    RETURN;
                END IF;
            ELSIF intent = 'others' THEN
                offer_kind := 'offer_others';
            ELSIF pref IS NOT NULL THEN
                offer_kind := 'offer';
            END IF;
        END IF;
    END IF;

    understood := learned OR offer_kind IS NOT NULL OR pref IS NOT NULL OR coalesce(intent IN ('greeting', 'price', 'others', 'wrong_number'), false)
                  OR photos > 0 OR NOT read_any;
    IF NOT understood THEN
        IF coalesce((i ->> 'misunderstood')::int, 0) >= 1 THEN
            conv.intake := i;
            PERFORM nmc.intake_reply(conv, format(nmc.intake_say(lang, 'handoff'), b.name));
            UPDATE nmc.conversations SET intake = i WHERE id = conv.id RETURNING * INTO conv;
            PERFORM nmc.conversation_handed_over(conv, 'the assistant could not understand the customer twice');
            RETURN;
        END IF;
        i := i || jsonb_build_object('misunderstood', 1);
    ELSIF learned OR offer_kind IS NOT NULL OR pref IS NOT NULL OR coalesce(intent IN ('greeting', 'price', 'others'), false) THEN
        -- A photo alone neither counts against the customer nor clears the count.
        i := i - 'misunderstood';
    END IF;
    IF photos > 0 THEN
        said := nmc.intake_say(lang, 'photo') || said;
    END IF;
    IF intent = 'price' THEN
        said := said || nmc.intake_say(lang, 'price');
    END IF;
    IF learned AND cardinality(said) = 0 THEN
        said := ARRAY[nmc.intake_say(lang, 'thanks')];
    END IF;

    -- Ask for what is still missing, in order; then the area; then slots.
    IF NOT i ? 'problem' THEN
        ask := 'problem';
    ELSIF NOT i ? 'name' THEN
        ask := 'name';
    ELSIF NOT i ? 'address' THEN
        ask := 'address';
    ELSIF b.service_postal_codes IS NOT NULL AND NOT i ? 'zip' THEN
        ask := 'zip';
    END IF;
    IF ask IS NOT NULL THEN
        i := i || jsonb_build_object('awaiting', ask);
        said := said || nmc.intake_say(lang, CASE WHEN understood OR asked IS DISTINCT FROM ask THEN 'ask_' ELSE 'again_' END || ask);
    ELSIF b.service_postal_codes IS NOT NULL AND NOT (i ->> 'zip') = ANY (b.service_postal_codes) THEN
        -- Outside the service area: say so politely, mark the lead, and stop.
        conv.intake := i;
        PERFORM nmc.intake_reply(conv, array_to_string(said || format(nmc.intake_say(lang, 'out_of_area'), b.name, i ->> 'zip'), ' '));
        conv := nmc.conversation_close(conv, i || '{"awaiting":"nothing","out_of_area":true,"in_area":false}');
        PERFORM nmc.lead_capture(conv, '{}');   -- marks the lead out_of_area
        RETURN;
    ELSE
        IF NOT i ? 'offered_slots' OR offer_kind IS NOT NULL THEN
            IF offer_kind = 'offer_others' THEN
                i := i || jsonb_build_object('all_offered', coalesce(i -> 'all_offered', '[]') || coalesce(i -> 'offered_slots', '[]'));
            END IF;
            offer := nmc.intake_offer(b, i -> 'pref', CASE WHEN offer_kind = 'offer_others' THEN i -> 'all_offered' END);
            IF offer -> 'slots' = 'null' OR offer ->> 'slots' IS NULL THEN
                conv.intake := i;
                PERFORM nmc.intake_reply(conv, array_to_string(said || format(nmc.intake_say(lang, 'no_slots'), b.name), ' '));
                UPDATE nmc.conversations SET intake = i WHERE id = conv.id RETURNING * INTO conv;
                PERFORM nmc.conversation_set_mode(conv, 'human');
                RETURN;
            END IF;
            -- Everything is known and the area check (by ZIP) passed: lead_capture qualifies the lead.
            i := i || jsonb_build_object('offered_slots', offer -> 'slots', 'in_area', true);
            IF offer_kind IS NULL OR NOT (offer ->> 'fit')::boolean THEN
                offer_kind := CASE WHEN (offer ->> 'fit')::boolean THEN 'offer' ELSE 'offer_nearest' END;
            END IF;
        END IF;
        i := i || '{"awaiting":"slot"}';
        IF NOT understood THEN
            said := said || nmc.intake_say(lang, 'again_slot');
        END IF;
        said := said || format(nmc.intake_say(lang, coalesce(offer_kind, 'offer')), nmc.intake_slot_list(b, i -> 'offered_slots', lang));
    END IF;
    conv.intake := i;
    PERFORM nmc.intake_reply(conv, array_to_string(said, ' '));
    UPDATE nmc.conversations SET intake = i WHERE id = conv.id RETURNING * INTO conv;
    -- What it learned lands on the customer and the lead too.
    PERFORM nmc.lead_capture(conv, '{}');
END
$$;
COMMENT ON FUNCTION nmc.intake_turn(uuid) IS 'One turn of the built-in intake engine for a conversation in AI mode: read every customer text since the last turn (name, address, ZIP, problem, time preference in any order; a person asked for hands off, a wrong number or "no thanks" closes politely), confirm what it learned, ask only for what is missing, check the area by ZIP, offer slots fitting the preference, book the one picked and confirm from the row — in the customer''s language. A photo is thanked for, never a misunderstanding; two misunderstood replies in a row hand off to a human.';
CREATE OR REPLACE FUNCTION nmc.ai_system_prompt(b nmc.businesses, conv nmc.conversations)
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
- Always answer in the language the customer writes in (in Spanish when they write in Spanish), from the first message to the hand-off.
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
COMMENT ON FUNCTION nmc.ai_system_prompt(nmc.businesses, nmc.conversations) IS 'The model''s instructions for one business and conversation: profile, trade, local time, hours, service area, what is known about the customer, and the rules of the job (answering in the customer''s language among them).';

-- Missed calls at the floor (issue 21): a run of voice webhooks is applied at
-- once (nmc.calls_apply) and its missed calls decided and texted together
-- (nmc.calls_missed); one call is a run of one. Customers, leads, conversations
-- and texts each have one set-based function, the single ones call it.
DROP FUNCTION nmc.call_missed(nmc.calls, text, timestamptz);
DROP FUNCTION nmc.call_rang(nmc.webhook_inbox);
DROP FUNCTION nmc.call_dial_ended(nmc.webhook_inbox);
DROP FUNCTION nmc.call_record(nmc.webhook_inbox, text);
CREATE OR REPLACE FUNCTION nmc.customers_upsert(p_business_ids uuid[], p_phones text[])
RETURNS nmc.customers[]
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    r nmc.customers[];
BEGIN
    -- Created if new (a returning customer gets no new row version), then all
    -- found and locked, in id order: callers decide from their state (opted out,
    -- last greeting), and two transactions at once must decide one after the other.
    INSERT INTO nmc.customers (business_id, phone)
    SELECT DISTINCT u.b, u.p FROM unnest(p_business_ids, p_phones) AS u(b, p)
     WHERE NOT EXISTS (SELECT 1 FROM nmc.customers o WHERE o.business_id = u.b AND o.phone = u.p)
     ORDER BY u.b, u.p
    ON CONFLICT (business_id, phone) DO NOTHING;  -- created by a concurrent transaction just now
    WITH k AS (SELECT DISTINCT u.b, u.p FROM unnest(p_business_ids, p_phones) AS u(b, p)),
         l AS (SELECT c.* FROM nmc.customers c JOIN k ON c.business_id = k.b AND c.phone = k.p ORDER BY c.id FOR NO KEY UPDATE OF c)
    SELECT array_agg(l::nmc.customers ORDER BY u.i) INTO r
      FROM unnest(p_business_ids, p_phones) WITH ORDINALITY AS u(b, p, i) JOIN l ON l.business_id = u.b AND l.phone = u.p;
    RETURN r;
END
$$;
COMMENT ON FUNCTION nmc.customers_upsert(uuid[], text[]) IS 'The customers of businesses with these phones (element k of each array is one; phones already normalised, as nmc.normalize_phone returns them), created if new, in the same order; the rows are locked until the transaction ends. The one place customers are found or created by phone (nmc.customer_upsert is it for one).';
CREATE OR REPLACE FUNCTION nmc.customer_upsert(p_business_id uuid, p_phone text)
RETURNS nmc.customers
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN (nmc.customers_upsert(ARRAY[p_business_id], ARRAY[nmc.normalize_phone(p_phone, 'phone')]))[1];
END
$$;
COMMENT ON FUNCTION nmc.customer_upsert(uuid, text) IS 'The customer of a business with this phone (normalised; NM400 if it is not a phone number), created if new; the row is locked until the transaction ends (nmc.customers_upsert for one).';
CREATE OR REPLACE FUNCTION nmc.leads_for_calls(p_business_ids uuid[], p_customer_ids uuid[])
RETURNS nmc.leads[]
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    r nmc.leads[];
    ev_b uuid[];
    ev_t text[];
    ev_body jsonb[];
BEGIN
    -- Element k is one call of a customer: a customer called n times moves its
    -- active lead by n at once (or gets a new one counting n), and each call's
    -- lead.updated shows the count as of that call, as if applied one by one.
    WITH x AS (
        SELECT u.b, u.c, u.i, row_number() OVER (PARTITION BY u.b, u.c ORDER BY u.i) AS j, count(*) OVER (PARTITION BY u.b, u.c) AS n
          FROM unnest(p_business_ids, p_customer_ids) WITH ORDINALITY AS u(b, c, i)
    ), g AS (
        SELECT DISTINCT x.b, x.c, x.n FROM x
    ), touched AS (
        UPDATE nmc.leads l SET calls_count = l.calls_count + g.n, last_activity_at = now()
          FROM g
         WHERE l.business_id = g.b AND l.customer_id = g.c AND l.status IN ('new', 'contacted', 'qualified', 'appointment_scheduled')
        RETURNING l.*
    ), created AS (
        INSERT INTO nmc.leads (business_id, customer_id, calls_count)
        SELECT g.b, g.c, g.n FROM g
         WHERE NOT EXISTS (SELECT 1 FROM touched t WHERE t.business_id = g.b AND t.customer_id = g.c)
         ORDER BY g.b, g.c
        RETURNING *
    ), l AS (
        SELECT * FROM touched UNION ALL SELECT * FROM created
    )
    SELECT array_agg(l::nmc.leads ORDER BY x.i), array_agg(l.business_id ORDER BY x.i), array_agg('lead.updated'::text ORDER BY x.i),
           array_agg(nmc.lead_json(l::nmc.leads) || jsonb_build_object('calls_count', l.calls_count - x.n + x.j,
                                                                      'customer', nmc.customer_brief(l.customer_id)) ORDER BY x.i)
      INTO r, ev_b, ev_t, ev_body
      FROM x JOIN l ON l.business_id = x.b AND l.customer_id = x.c;
    PERFORM nmc.emit_events(ev_b, ev_t, ev_body);
    RETURN r;
END
$$;
COMMENT ON FUNCTION nmc.leads_for_calls(uuid[], uuid[]) IS 'For calls of customers (element k of each array is one call), each customer''s active lead, touched (calls_count by its calls, last activity), or a new lead (status new, counting its calls), in call order; emits lead.updated for each call with the count as of that call. The one place a call touches a lead (nmc.lead_for_call is it for one).';
CREATE OR REPLACE FUNCTION nmc.lead_for_call(p_business_id uuid, p_customer_id uuid)
RETURNS nmc.leads
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN (nmc.leads_for_calls(ARRAY[p_business_id], ARRAY[p_customer_id]))[1];
END
$$;
COMMENT ON FUNCTION nmc.lead_for_call(uuid, uuid) IS 'The customer''s active lead, touched (calls_count, last activity), or a new lead (status new); emits lead.updated (nmc.leads_for_calls for one call).';
CREATE OR REPLACE FUNCTION nmc.conversations_open(p_business_ids uuid[], p_customer_ids uuid[], p_phone_number_ids uuid[], p_lead_ids uuid[])
RETURNS nmc.conversations[]
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    r nmc.conversations[];
    created nmc.conversations[];
BEGIN
    -- Each (business number, customer) once, with the last lead named for it.
    WITH k AS (
        SELECT DISTINCT ON (u.b, u.pn, u.c) u.b, u.pn, u.c, u.lead
          FROM unnest(p_business_ids, p_customer_ids, p_phone_number_ids, p_lead_ids) WITH ORDINALITY AS u(b, c, pn, lead, i)
         ORDER BY u.b, u.pn, u.c, (u.lead IS NOT NULL) DESC, u.i DESC
    ), ins AS (
        INSERT INTO nmc.conversations (business_id, customer_id, phone_number_id, lead_id)
        SELECT k.b, k.c, k.pn,
               coalesce(k.lead, (SELECT l.id FROM nmc.leads l WHERE l.business_id = k.b AND l.customer_id = k.c
                                   AND l.status IN ('new', 'contacted', 'qualified', 'appointment_scheduled')))
          FROM k
         WHERE NOT EXISTS (SELECT 1 FROM nmc.conversations o
                            WHERE o.business_id = k.b AND o.phone_number_id = k.pn AND o.customer_id = k.c AND o.state = 'open')
         ORDER BY k.b, k.pn, k.c
        ON CONFLICT (business_id, phone_number_id, customer_id) WHERE state = 'open' DO NOTHING  -- a concurrent one opened it first: theirs
        RETURNING *)
    SELECT array_agg(ins::nmc.conversations) INTO created FROM ins;
    -- All of them locked (by id), and linked to the lead named where it differs.
    WITH k AS (
        SELECT DISTINCT ON (u.b, u.pn, u.c) u.b, u.pn, u.c, u.lead
          FROM unnest(p_business_ids, p_customer_ids, p_phone_number_ids, p_lead_ids) WITH ORDINALITY AS u(b, c, pn, lead, i)
         ORDER BY u.b, u.pn, u.c, (u.lead IS NOT NULL) DESC, u.i DESC
    ), locked AS (
        SELECT o.id, k.lead FROM nmc.conversations o JOIN k ON o.business_id = k.b AND o.phone_number_id = k.pn AND o.customer_id = k.c
         WHERE o.state = 'open' ORDER BY o.id FOR UPDATE OF o
    )
    UPDATE nmc.conversations o SET lead_id = locked.lead
      FROM locked WHERE o.id = locked.id AND locked.lead IS NOT NULL AND o.lead_id IS DISTINCT FROM locked.lead;
    SELECT array_agg(o ORDER BY u.i) INTO r
      FROM unnest(p_business_ids, p_customer_ids, p_phone_number_ids) WITH ORDINALITY AS u(b, c, pn, i)
      JOIN nmc.conversations o ON o.business_id = u.b AND o.phone_number_id = u.pn AND o.customer_id = u.c AND o.state = 'open';
    -- conversation.created for each new one, in the order they were first named.
    PERFORM nmc.emit_events(array_agg(c.business_id ORDER BY f.i), array_agg('conversation.created'::text ORDER BY f.i),
                            array_agg(nmc.conversation_json(c) || jsonb_build_object('customer', nmc.customer_brief(c.customer_id)) ORDER BY f.i))
       FROM unnest(created) c
       JOIN (SELECT (r[k]).id, min(k) AS i FROM generate_subscripts(r, 1) AS k GROUP BY 1) f ON f.id = c.id;
    RETURN r;
END
$$;
COMMENT ON FUNCTION nmc.conversations_open(uuid[], uuid[], uuid[], uuid[]) IS 'For each (business, customer, business number, lead) — element k of each array — the open conversation between that number and the customer (locked; linked to the lead when one is named and it differs), or a new one linked to the lead named or the customer''s active lead (emits conversation.created, with the customer), in the same order. The one place conversations are opened (nmc.conversation_open is it for one).';
CREATE OR REPLACE FUNCTION nmc.conversation_open(p_business_id uuid, p_customer_id uuid, p_phone_number_id uuid, p_lead_id uuid DEFAULT NULL)
RETURNS nmc.conversations
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN (nmc.conversations_open(ARRAY[p_business_id], ARRAY[p_customer_id], ARRAY[p_phone_number_id], ARRAY[p_lead_id]))[1];
END
$$;
COMMENT ON FUNCTION nmc.conversation_open(uuid, uuid, uuid, uuid) IS 'The open conversation between a business number and a customer (locked), or a new one (emits conversation.created, with the customer): nmc.conversations_open for one.';
CREATE OR REPLACE FUNCTION nmc.jobs_enqueue(p_kind text, p_business_ids uuid[], p_payloads jsonb[], p_idempotency_keys text[],
                                 p_parent_id bigint DEFAULT NULL, p_not_before timestamptz DEFAULT now())
RETURNS nmc.jobs[]
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    r nmc.jobs[];
BEGIN
    -- One statement: the dispatcher's wake-up trigger fires once for all of them.
    WITH j AS (
        INSERT INTO nmc.jobs (kind, business_id, payload, idempotency_key, parent_id, next_attempt_at)
        SELECT p_kind, u.b, u.payload, u.k, p_parent_id, p_not_before
          FROM unnest(p_business_ids, p_payloads, p_idempotency_keys) WITH ORDINALITY AS u(b, payload, k, i)
         ORDER BY u.i
        ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
        RETURNING *)
    SELECT array_agg(j::nmc.jobs) INTO r FROM j;  -- in the order inserted
    RETURN r;
END
$$;
COMMENT ON FUNCTION nmc.jobs_enqueue(text, uuid[], jsonb[], text[], bigint, timestamptz) IS
    'Queues jobs of one kind (element k of each array is one: business, payload, idempotency key) in one statement (the dispatcher is woken when the transaction commits, never before); a job whose idempotency key is already used is not queued again. Returns the jobs queued, in order. The one place jobs are queued (nmc.job_enqueue is it for one).';
CREATE OR REPLACE FUNCTION nmc.job_enqueue(p_kind text, p_business_id uuid, p_payload jsonb,
                                p_idempotency_key text DEFAULT NULL, p_parent_id bigint DEFAULT NULL,
                                p_not_before timestamptz DEFAULT now())
RETURNS nmc.jobs
LANGUAGE plpgsql
AS $$
DECLARE
    j nmc.jobs := (nmc.jobs_enqueue(p_kind, ARRAY[p_business_id], ARRAY[p_payload], ARRAY[p_idempotency_key], p_parent_id, p_not_before))[1];
BEGIN
    IF j.id IS NULL THEN
        SELECT * INTO j FROM nmc.jobs WHERE idempotency_key = p_idempotency_key;
    END IF;
    RETURN j;
END
$$;
COMMENT ON FUNCTION nmc.job_enqueue(text, uuid, jsonb, text, bigint, timestamptz) IS
    'Queues a job (the dispatcher is woken when the transaction commits, never before). With an idempotency key already used, returns the existing job instead (nmc.jobs_enqueue for one).';
CREATE OR REPLACE FUNCTION nmc.sms_enqueue_many(msgs nmc.messages[])
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM nmc.jobs_enqueue('twilio.sms.send', array_agg(m.business_id ORDER BY m.ordinality), array_agg(jsonb_build_object('message_id', m.id) ORDER BY m.ordinality),
                             array_agg('sms:' || m.id ORDER BY m.ordinality))
       FROM unnest(msgs) WITH ORDINALITY AS m
     HAVING count(*) > 0;
END
$$;
COMMENT ON FUNCTION nmc.sms_enqueue_many(nmc.messages[]) IS 'Queues the twilio.sms.send jobs of recorded outbound messages, in one statement (once each: keyed by the message id).';
CREATE OR REPLACE FUNCTION nmc.sms_enqueue(m nmc.messages)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM nmc.sms_enqueue_many(ARRAY[m]);
END
$$;
COMMENT ON FUNCTION nmc.sms_enqueue(nmc.messages) IS 'Queues the twilio.sms.send job of a recorded outbound message (once: keyed by the message id): nmc.sms_enqueue_many for one.';
CREATE OR REPLACE FUNCTION nmc.sms_send_many(p_business_ids uuid[], p_customer_ids uuid[], p_froms text[], p_bodies text[],
                                  p_author text DEFAULT 'system', p_conversation_ids uuid[] DEFAULT NULL)
RETURNS nmc.messages[]
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    bad record;
    msgs nmc.messages[];
BEGIN
    -- The first text (in order) that may not go refuses them all.
    SELECT u.i, c.id AS customer_id, c.opted_out_at, c.sms_unreachable_at, c.sms_unreachable_reason INTO bad
      FROM unnest(p_business_ids, p_customer_ids) WITH ORDINALITY AS u(b, c, i)
      LEFT JOIN nmc.customers c ON c.business_id = u.b AND c.id = u.c
     WHERE c.id IS NULL OR c.opted_out_at IS NOT NULL OR c.sms_unreachable_at IS NOT NULL
     ORDER BY u.i LIMIT 1;
    IF bad.customer_id IS NULL AND bad.i IS NOT NULL THEN
        PERFORM nmc.raise_api_error(404, 'not_found', 'customer not found');
    ELSIF bad.opted_out_at IS NOT NULL THEN
        PERFORM nmc.raise_api_error(409, 'customer_opted_out', 'this customer replied STOP; texts to them are blocked until they reply START');
    ELSIF bad.sms_unreachable_at IS NOT NULL THEN
        PERFORM nmc.raise_api_error(409, 'customer_unreachable', 'this number cannot receive texts: ' || coalesce(bad.sms_unreachable_reason, 'unknown reason'));
    END IF;
    WITH m AS (
        INSERT INTO nmc.messages (business_id, customer_id, conversation_id, direction, author, from_phone, to_phone, body, status)
        SELECT u.b, u.c, p_conversation_ids[u.i], 'outbound', p_author, nmc.normalize_phone(u.f, 'from'), c.phone, u.body, 'pending'
          FROM unnest(p_business_ids, p_customer_ids, p_froms, p_bodies) WITH ORDINALITY AS u(b, c, f, body, i)
          JOIN nmc.customers c ON c.business_id = u.b AND c.id = u.c
         ORDER BY u.i
        RETURNING *)
    SELECT array_agg(m::nmc.messages) INTO msgs FROM m;  -- in the order inserted
    PERFORM nmc.sms_enqueue_many(msgs);
    UPDATE nmc.conversations o SET last_message_at = last.at
      FROM (SELECT m.conversation_id AS id, max(m.created_at) AS at FROM unnest(msgs) m WHERE m.conversation_id IS NOT NULL GROUP BY 1) last
     WHERE o.id = last.id;
    PERFORM nmc.emit_events(array_agg((msgs[k]).business_id ORDER BY k), array_agg('message.created'::text ORDER BY k),
                            array_agg(nmc.message_json(msgs[k]) - 'body' ORDER BY k))
       FROM generate_subscripts(msgs, 1) AS k;
    RETURN msgs;
END
$$;
COMMENT ON FUNCTION nmc.sms_send_many(uuid[], uuid[], text[], text[], text, uuid[]) IS
    'Records outbound SMS (element k of each array is one text: business, customer, from, body, conversation; status pending) and enqueues their twilio.sms.send jobs in the same transaction, in order; refuses them all if one customer is unknown (NM404), opted out or unreachable (NM409). The one place texts to customers are sent (nmc.sms_send is it for one).';
CREATE OR REPLACE FUNCTION nmc.sms_send(p_business_id uuid, p_customer_id uuid, p_from text, p_body text,
                             p_author text DEFAULT 'system', p_conversation_id uuid DEFAULT NULL)
RETURNS nmc.messages
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN (nmc.sms_send_many(ARRAY[p_business_id], ARRAY[p_customer_id], ARRAY[p_from], ARRAY[p_body], p_author, ARRAY[p_conversation_id]))[1];
END
$$;
COMMENT ON FUNCTION nmc.sms_send(uuid, uuid, text, text, text, uuid) IS
    'Records an outbound SMS (status pending) and enqueues its twilio.sms.send job in the same transaction; refuses opted-out and unreachable customers (NM409): nmc.sms_send_many for one.';
CREATE OR REPLACE FUNCTION nmc.calls_missed(cs nmc.calls[], p_reasons text[], ats timestamptz[])
RETURNS nmc.calls[]
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    n int := coalesce(cardinality(cs), 0);
    callers text[];
    decisions text[];
    whys text[];
    want int[];           -- the calls that get a customer and a lead
    custs nmc.customers[];
    leads nmc.leads[];
    tx int[];             -- the calls texted
    convs nmc.conversations[];
    msgs nmc.messages[];
    cust_of uuid[];
    lead_of uuid[];
    conv_of uuid[];
    msg_of uuid[];
    r record;
    prev_customer uuid;
    greeted timestamptz;
    done nmc.calls[];
BEGIN
    IF n = 0 THEN
        RETURN cs;
    END IF;
    -- Who called: a number we can text, or not (anonymous, withheld); one of the
    -- owner's own phones gets no customer and no lead.
    SELECT array_agg(x.caller ORDER BY x.k),
           array_agg(CASE WHEN x.caller IS NULL THEN 'suppressed_anonymous'
                          WHEN x.caller = ANY (nmc.owner_phones(b)) THEN 'suppressed_owner' END ORDER BY x.k),
           array_agg(CASE WHEN x.caller IS NULL THEN format('the caller''s number (%s) cannot receive a text', (cs[x.k]).from_raw)
                          WHEN x.caller = ANY (nmc.owner_phones(b)) THEN 'the call came from the owner''s own phone' END ORDER BY x.k)
      INTO callers, decisions, whys
      FROM (SELECT k, nmc.phone_or_null((cs[k]).from_raw) AS caller FROM generate_subscripts(cs, 1) AS k OFFSET 0) x  -- once per call
      JOIN nmc.businesses b ON b.id = (cs[x.k]).business_id;
    SELECT array_agg(k ORDER BY k) INTO want FROM generate_subscripts(cs, 1) AS k WHERE decisions[k] IS NULL;
    cust_of := array_fill(NULL::uuid, ARRAY[n]);
    lead_of := cust_of;
    conv_of := cust_of;
    msg_of := cust_of;
    IF want IS NOT NULL THEN
        custs := nmc.customers_upsert(ARRAY(SELECT (cs[w.k]).business_id FROM unnest(want) WITH ORDINALITY AS w(k, o) ORDER BY w.o),
                                      ARRAY(SELECT callers[w.k] FROM unnest(want) WITH ORDINALITY AS w(k, o) ORDER BY w.o));
        leads := nmc.leads_for_calls(ARRAY(SELECT (cs[w.k]).business_id FROM unnest(want) WITH ORDINALITY AS w(k, o) ORDER BY w.o),
                                     ARRAY(SELECT (custs[o]).id FROM generate_subscripts(custs, 1) AS o ORDER BY o));
        -- The decision, each customer's calls in the order they came: a call
        -- texted moves the customer's last greeting for the calls after it.
        FOR r IN
            SELECT w.k, cu.id AS customer_id, cu.opted_out_at, cu.sms_unreachable_at, cu.sms_unreachable_reason, cu.last_greeting_at,
                   (leads[w.o]).id AS lead_id, b.min_ring_seconds, b.repeat_window_seconds,
                   EXISTS (SELECT 1 FROM nmc.blocked_numbers bl WHERE bl.business_id = cu.business_id AND bl.phone = cu.phone) AS blocked,
                   (cs[w.k]).created_at AS rang_at, p_reasons[w.k] AS reason, ats[w.k] AS at
              FROM unnest(want) WITH ORDINALITY AS w(k, o)
              JOIN unnest(custs) WITH ORDINALITY AS cu ON cu.ordinality = w.o
              JOIN nmc.businesses b ON b.id = cu.business_id
             ORDER BY cu.id, w.o
        LOOP
            IF r.customer_id IS DISTINCT FROM prev_customer THEN
                prev_customer := r.customer_id;
                greeted := r.last_greeting_at;
            END IF;
            cust_of[r.k] := r.customer_id;
            lead_of[r.k] := r.lead_id;
            IF r.blocked THEN
                decisions[r.k] := 'suppressed_blocked';
                whys[r.k] := 'the number is on the block list';
            ELSIF r.opted_out_at IS NOT NULL THEN
                decisions[r.k] := 'suppressed_opted_out';
                whys[r.k] := 'the customer replied STOP';
            ELSIF r.sms_unreachable_at IS NOT NULL THEN
                decisions[r.k] := 'suppressed_unreachable';
                whys[r.k] := 'the number cannot receive texts: ' || coalesce(r.sms_unreachable_reason, 'unknown');
            ELSIF r.reason NOT IN ('after_hours', 'no_forward_phone', 'outage')
                  AND r.at - r.rang_at < make_interval(secs => r.min_ring_seconds) THEN
                decisions[r.k] := 'suppressed_short_ring';
                whys[r.k] := format('the caller hung up after %s s, before the minimum ring time of %s s',
                                    round(extract(epoch FROM r.at - r.rang_at)), r.min_ring_seconds);
            ELSIF greeted > r.at - make_interval(secs => r.repeat_window_seconds) THEN
                decisions[r.k] := 'suppressed_repeat';
                whys[r.k] := format('this number got a greeting %s s ago (repeat window %s s)',
                                    round(extract(epoch FROM r.at - greeted)), r.repeat_window_seconds);
            ELSE
                decisions[r.k] := 'texted';
                whys[r.k] := 'missed call: greeting sent';
                greeted := greatest(r.at, greeted);
            END IF;
        END LOOP;
    END IF;

    SELECT array_agg(k ORDER BY k) INTO tx FROM generate_subscripts(cs, 1) AS k WHERE decisions[k] = 'texted';
    IF tx IS NOT NULL THEN
        -- An open conversation and the greeting (rendered once per business number).
        convs := nmc.conversations_open(ARRAY(SELECT (cs[t.k]).business_id FROM unnest(tx) WITH ORDINALITY AS t(k, o) ORDER BY t.o),
                                        ARRAY(SELECT cust_of[t.k] FROM unnest(tx) WITH ORDINALITY AS t(k, o) ORDER BY t.o),
                                        ARRAY(SELECT (cs[t.k]).phone_number_id FROM unnest(tx) WITH ORDINALITY AS t(k, o) ORDER BY t.o),
                                        ARRAY(SELECT lead_of[t.k] FROM unnest(tx) WITH ORDINALITY AS t(k, o) ORDER BY t.o));
        WITH numbers AS MATERIALIZED (  -- each greeting rendered once
            SELECT g.business_id, g.phone_number_id, g.phone, nmc.greeting_render(g.business_id, nmc.greeting_template_of(g.business_id), g.phone) AS body
              FROM (SELECT DISTINCT pn.business_id, pn.id AS phone_number_id, pn.phone
                      FROM unnest(tx) AS t(k) JOIN nmc.phone_numbers pn ON pn.id = (cs[t.k]).phone_number_id) g
        ), texts AS (
            SELECT t.o, (cs[t.k]).business_id AS b, cust_of[t.k] AS c, nu.phone, nu.body, (convs[t.o]).id AS conv
              FROM unnest(tx) WITH ORDINALITY AS t(k, o) JOIN numbers nu ON nu.phone_number_id = (cs[t.k]).phone_number_id
        )
        SELECT nmc.sms_send_many(array_agg(x.b ORDER BY x.o), array_agg(x.c ORDER BY x.o), array_agg(x.phone ORDER BY x.o),
                                 array_agg(x.body ORDER BY x.o), 'system', array_agg(x.conv ORDER BY x.o))
          INTO msgs FROM texts x;
        FOR o IN 1 .. cardinality(tx) LOOP
            conv_of[tx[o]] := (convs[o]).id;
            msg_of[tx[o]] := (msgs[o]).id;
        END LOOP;
        UPDATE nmc.customers cu SET last_greeting_at = greatest(g.at, cu.last_greeting_at)
          FROM (SELECT cust_of[t.k] AS id, max(ats[t.k]) AS at FROM unnest(tx) AS t(k) GROUP BY 1) g
         WHERE cu.id = g.id;
    END IF;

    -- Every decision recorded on its call, and call.missed for each, in order.
    WITH u AS (
        UPDATE nmc.calls c SET status = 'missed', missed_reason = p_reasons[x.k], missed_at = ats[x.k], decision = decisions[x.k],
               decision_reason = whys[x.k], customer_id = cust_of[x.k], lead_id = lead_of[x.k], conversation_id = conv_of[x.k],
               message_id = msg_of[x.k]
          FROM generate_subscripts(cs, 1) AS x(k)
         WHERE c.id = (cs[x.k]).id
        RETURNING c AS row, x.k)
    SELECT array_agg(u.row ORDER BY u.k) INTO done FROM u;
    PERFORM nmc.emit_events(array_agg((done[k]).business_id ORDER BY k), array_agg('call.missed'::text ORDER BY k),
                            array_agg(nmc.call_json(done[k]) || jsonb_build_object('customer', nmc.customer_brief((done[k]).customer_id)) ORDER BY k))
       FROM generate_subscripts(done, 1) AS k;
    RETURN done;
END
$$;
COMMENT ON FUNCTION nmc.calls_missed(nmc.calls[], text[], timestamptz[]) IS
    'Calls missed (element k of each array: the call, why it was missed, the moment at — when its webhook was accepted), in the caller''s transaction, decided as if one after the other in this order: customer, lead (new, or the active one touched) and the text decision — anonymous (a number that cannot be texted), one of the owner''s own phones (no customer, no lead), blocked, opted out, unreachable, hung up before min_ring_seconds, greeted within repeat_window_seconds (by an earlier call of the same run too), or texted (open conversation, rendered greeting, twilio.sms.send job, last_greeting_at). Recorded on each call (decision, decision_reason); emits lead.updated, conversation.created, message.created and call.missed — each kind for the whole run, in call order. The one place a missed call is decided: one call is a run of one. Returns the calls as recorded, in order.';
CREATE OR REPLACE FUNCTION nmc.calls_apply(ts nmc.webhook_inbox[])
RETURNS void
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    fresh text[];
    gone text;
    updated nmc.calls[];
    missed nmc.calls[];
    reasons text[];
    ats timestamptz[];
BEGIN
    -- A call's row is created by whichever of its webhooks is applied first
    -- (normally the incoming call; its dial result if that came alone), dated
    -- when that webhook was accepted.
    WITH ins AS (
        INSERT INTO nmc.calls (business_id, phone_number_id, twilio_call_sid, from_raw, to_phone, status, call_status, created_at)
        SELECT t.business_id, pn.id, t.webhook_key, coalesce(t.params ->> 'From', 'unknown'), pn.phone,
               CASE WHEN t.kind = 'voice_dial' OR t.params ->> 'nmc_answer' = 'forward' THEN 'forwarded' ELSE 'ringing' END,
               t.params ->> 'CallStatus', t.received_at
          FROM unnest(ts) WITH ORDINALITY AS t JOIN nmc.phone_numbers pn ON pn.id = t.phone_number_id AND pn.business_id = t.business_id
         ORDER BY t.ordinality
        ON CONFLICT (twilio_call_sid) DO NOTHING
        RETURNING twilio_call_sid)
    SELECT array_agg(ins.twilio_call_sid) INTO fresh FROM ins;
    FOR gone IN SELECT t.webhook_key FROM unnest(ts) AS t
                 WHERE NOT EXISTS (SELECT 1 FROM nmc.phone_numbers pn WHERE pn.id = t.phone_number_id AND pn.business_id = t.business_id) LOOP
        RAISE LOG 'nevermisscall: call % arrived for a number the business no longer has', gone;
    END LOOP;

    -- A dial result applies to a call not yet answered or missed (else it was
    -- applied before): its dial fields, and answered if the owner picked up.
    PERFORM 1 FROM nmc.calls c JOIN unnest(ts) AS t ON c.twilio_call_sid = t.webhook_key AND t.kind = 'voice_dial'
      ORDER BY c.id FOR UPDATE OF c;
    WITH u AS (
        UPDATE nmc.calls c SET dial_call_status = t.params ->> 'DialCallStatus', call_status = coalesce(t.params ->> 'CallStatus', c.call_status),
               duration_seconds = CASE WHEN t.params ->> 'DialCallDuration' ~ '^[0-9]+$' THEN (t.params ->> 'DialCallDuration')::int END,
               -- Completed calls are never texted.
               status = CASE WHEN nmc.call_dial_missed_reason(t.params) IS NULL THEN 'answered' ELSE c.status END,
               decision = CASE WHEN nmc.call_dial_missed_reason(t.params) IS NULL THEN 'not_missed' ELSE c.decision END,
               decision_reason = CASE WHEN nmc.call_dial_missed_reason(t.params) IS NULL THEN 'the call was answered' ELSE c.decision_reason END
          FROM unnest(ts) WITH ORDINALITY AS t
         WHERE t.kind = 'voice_dial' AND c.twilio_call_sid = t.webhook_key AND c.status NOT IN ('answered', 'missed')
        RETURNING c AS row, t.ordinality AS i, nmc.call_dial_missed_reason(t.params) AS reason, t.received_at AS at),
    -- An incoming call applied now for the first time: forwarded, or missed at
    -- once (the caller was told the business is closed or has no forward phone).
    rang AS (
        SELECT c AS row, t.ordinality AS i, CASE WHEN t.params ->> 'nmc_answer' IS DISTINCT FROM 'forward' THEN t.params ->> 'nmc_answer' END AS reason,
               t.received_at AS at, t.params ->> 'nmc_answer' = 'forward' AS forwarded
          FROM unnest(ts) WITH ORDINALITY AS t JOIN nmc.calls c ON c.twilio_call_sid = t.webhook_key
         WHERE t.kind = 'voice' AND t.webhook_key = ANY (fresh)),
    applied AS (
        SELECT u.row, u.i, u.reason, u.at, u.reason IS NULL AS updated FROM u
        UNION ALL
        SELECT rang.row, rang.i, rang.reason, rang.at, coalesce(rang.forwarded, false) FROM rang)
    SELECT array_agg(a.row ORDER BY a.i) FILTER (WHERE a.updated),
           array_agg(a.row ORDER BY a.i) FILTER (WHERE NOT a.updated), array_agg(a.reason ORDER BY a.i) FILTER (WHERE NOT a.updated),
           array_agg(a.at ORDER BY a.i) FILTER (WHERE NOT a.updated)
      INTO updated, missed, reasons, ats
      FROM applied a;
    PERFORM nmc.emit_events(array_agg((updated[k]).business_id ORDER BY k), array_agg('call.updated'::text ORDER BY k),
                            array_agg(nmc.call_json(updated[k]) ORDER BY k))
       FROM generate_subscripts(updated, 1) AS k;
    PERFORM nmc.calls_missed(missed, reasons, ats);
END
$$;
COMMENT ON FUNCTION nmc.calls_apply(nmc.webhook_inbox[]) IS 'Applies accepted voice webhooks (incoming calls and the ends of forwarded calls; each CallSid at most once), in order: each call is recorded (created when its first webhook was accepted; a number gone since is logged). An incoming call is forwarded (call.updated), or missed at once when the caller was told the business is closed, has no forward phone, or it was the owner''s own phone. A <Dial> result records its fields: no-answer, busy, failed, canceled (or not bridged) → missed, answered → never texted (call.updated). The missed ones go together through nmc.calls_missed, decided as of the moment each webhook was accepted. Idempotent on CallSid: a webhook applied before changes nothing.';
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
    RETURN nmc.call_answer_twiml(b, pn, answer);
END
$$;
COMMENT ON FUNCTION nmc.webhook_voice(jsonb) IS 'POST /webhooks/twilio/voice: an incoming call, accepted into the webhook inbox and answered at once. Open → forward to the owner (<Dial> with ring timeout and action); closed or no forward phone → the after-hours message (the call is then missed: nmc.calls_apply); from the forward-to phone itself → told it is the owner''s own number (missed, reason owner_phone, never texted); replayed from the edge''s spool (the database was down, the caller was told a text is coming) → missed, reason outage. Idempotent on CallSid: a retry gets the same answer.';
CREATE OR REPLACE FUNCTION nmc.webhook_voice_dial(req jsonb)
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
    RETURN nmc.call_answer_twiml(b, pn, CASE WHEN nmc.call_dial_missed_reason(req -> 'body') IS NOT NULL THEN 'missed' END);
END
$$;
COMMENT ON FUNCTION nmc.webhook_voice_dial(jsonb) IS 'POST /webhooks/twilio/voice/dial: the <Dial> ended; accepted into the webhook inbox (nmc.calls_apply applies it) and answered at once — a missed call hears that a text is coming, an answered one hangs up; a missed one may then leave a voicemail. Idempotent on CallSid.';
CREATE OR REPLACE FUNCTION nmc.owner_phones(b nmc.businesses)
RETURNS text[]
LANGUAGE sql STABLE
AS $$ SELECT array_remove(ARRAY[b.forward_to_phone::text, CASE WHEN b.alert_phone_verified_at IS NOT NULL THEN b.alert_phone::text END], NULL) $$;
COMMENT ON FUNCTION nmc.owner_phones(nmc.businesses) IS 'The owner''s own phones: the forward-to phone and the verified alert phone. A text from one is the owner talking (nmc.owner_text_received), a call from one is never a missed customer (nmc.calls_missed).';
CREATE OR REPLACE FUNCTION nmc.webhook_inbox_apply(t nmc.webhook_inbox)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    CASE t.kind
        WHEN 'sms' THEN PERFORM nmc.sms_received(t);
        WHEN 'sms_status' THEN PERFORM nmc.message_status_reported(t);
        WHEN 'voice', 'voice_dial' THEN PERFORM nmc.calls_apply(ARRAY[t]);
        WHEN 'voice_status' THEN PERFORM nmc.call_status_reported(t);
        WHEN 'voice_recording' THEN PERFORM nmc.call_voicemail_recorded(t);
    END CASE;
END
$$;
COMMENT ON FUNCTION nmc.webhook_inbox_apply(nmc.webhook_inbox) IS 'Applies one accepted webhook by its kind, in the business''s tenant scope: an inbound text (nmc.sms_received), a message status (nmc.message_status_reported), an incoming call or the end of a forwarded call (nmc.calls_apply, a run of one), a call status (nmc.call_status_reported), a voicemail''s recording (nmc.call_voicemail_recorded). Each is idempotent: a webhook delivered again after it was applied changes nothing.';
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
    calls boolean[];
    next_call int;
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
        -- Which are voice webhooks that can go together (a CallSid's second webhook in
        -- the batch waits for the next round: it must see what the first did).
        calls := ARRAY(SELECT g.kind IN ('voice', 'voice_dial')
                              AND row_number() OVER (PARTITION BY g.kind IN ('voice', 'voice_dial'), g.webhook_key ORDER BY g.ordinality) = 1
                         FROM unnest(batch) WITH ORDINALITY AS g ORDER BY g.ordinality);
        next_call := (SELECT min(i) FROM generate_subscripts(calls, 1) AS i WHERE i > 1 AND calls[i]);
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
        IF calls[1] THEN
            -- A run of calls together (nmc.calls_apply: the missed ones decided and
            -- texted at once), up to the first webhook that is not one.
            done := 1;
            WHILE done < cardinality(batch) AND calls[done + 1] LOOP
                done := done + 1;
            END LOOP;
            PERFORM nmc.calls_apply(batch[1:done]);
            DELETE FROM nmc.webhook_inbox WHERE id = ANY (ARRAY(SELECT r.id FROM unnest(batch[1:done]) r));
        ELSIF run_from = 1 THEN
            -- A run of routine texts together (planned once for any size).
            PERFORM nmc.sms_thread_routine(batch[1:run_len], callers[1:run_len], modes[1:run_len]);
            -- By an array of ids (one index probe each; IN (subquery) planned generically
            -- compared every inbox row with every text).
            DELETE FROM nmc.webhook_inbox WHERE id = ANY (ARRAY(SELECT r.id FROM unnest(batch[1:run_len]) r));
            done := run_len;
        ELSE
            -- Everything up to the next such run or the next call, one by one, each by its kind.
            done := least(coalesce(run_from, cardinality(batch) + 1), coalesce(next_call, cardinality(batch) + 1)) - 1;
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
COMMENT ON FUNCTION nmc.webhook_inbox_run(int, boolean, int) IS 'Applies up to max_webhooks inbox webhooks in arrival order and deletes them; returns how many it took. A run of at least min_together routine inbound texts goes through nmc.sms_thread_routine at once; a run of voice webhooks (incoming calls, ends of forwarded calls — a CallSid once per run) through nmc.calls_apply at once, missed calls decided and texted together; every other webhook (status callbacks, voicemails, texts that are not routine, runs too short to be worth it) through nmc.webhook_inbox_apply one by one, many per transaction. Events are numbered when the run ends (nmc.defer_events), and the transaction commits without waiting for its WAL flush (a crash that loses it leaves its webhooks in the inbox). The inbox worker runs it in one transaction per batch; when a batch raises an error (a deadlock with a timer included) it runs it again with isolate, which gives each webhook a subtransaction and marks a failing one (failed_at, error) instead of losing the batch — one that meets a deadlock or serialization failure again is left for the next round, not marked.';
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
  /api/media/{id}:
    get:
      summary: "A voicemail recording or MMS photo, fetched from the provider and served here"
      security: [{bearer: []}]
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      responses:
        '200':
          description: The file, with its media type (audio/mpeg for a voicemail, image/* for a photo).
          content:
            '*/*':
              schema: {type: string, format: binary}
        '409': {$ref: '#/components/responses/Error'}
        '410': {$ref: '#/components/responses/Error'}
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
  /api/phone-numbers/attach:
    post:
      summary: "Use a number the account owns: our webhooks on it, its old ones kept (a job)"
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
  /api/phone-numbers/owned:
    post:
      summary: "List the account's numbers no business uses yet (a job)"
      security: [{bearer: []}]
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
  /webhooks/twilio/voice/recorded:
    post:
      summary: "Twilio: the caller finished a voicemail (Record action)"
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
  /webhooks/twilio/voice/recording:
    post:
      summary: "Twilio: a voicemail's recording status callback"
      security: [{twilioSignature: []}]
      parameters:
        - {name: To, in: query, required: true, schema: {type: string}}
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
