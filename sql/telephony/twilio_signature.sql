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
