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

CREATE FUNCTION nmc.input_timestamptz(body jsonb, field text)
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
