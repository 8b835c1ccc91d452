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
DECLARE
    o jsonb := '{}';
BEGIN
    FOR i IN 1 .. coalesce(array_length(pairs, 1), 0) / 2 LOOP
        o := o || jsonb_build_object(pairs[2 * i - 1], pairs[2 * i]);
    END LOOP;
    RETURN o;
END
$$;
COMMENT ON FUNCTION nmc.form_object(text[]) IS 'Form pairs as a JSON object (for a repeated name, the last value).';

CREATE FUNCTION nmc.secure_compare(a text, b text)
RETURNS boolean
LANGUAGE c IMMUTABLE STRICT
AS 'MODULE_PATHNAME', 'nmc_secure_compare';
COMMENT ON FUNCTION nmc.secure_compare(text, text) IS 'Equality in constant time, for signatures.';

CREATE FUNCTION nmc.twilio_signature(url text, pairs text[], token text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    signed text;
BEGIN
    -- For a repeated name, each distinct value once, values sorted (as Twilio's libraries do).
    SELECT url || coalesce(string_agg(k || v, '' ORDER BY k COLLATE "C", v COLLATE "C"), '')
      INTO signed
      FROM (SELECT DISTINCT pairs[2 * i - 1] AS k, pairs[2 * i] AS v
              FROM generate_series(1, coalesce(array_length(pairs, 1), 0) / 2) i) p;
    RETURN encode(hmac(convert_to(signed, 'UTF8'), convert_to(token, 'UTF8'), 'sha1'), 'base64');
END
$$;
COMMENT ON FUNCTION nmc.twilio_signature(text, text[], text) IS 'The X-Twilio-Signature Twilio sends for a request to url with these form pairs, signed with token.';

CREATE FUNCTION nmc.twilio_url_variants(url text)
RETURNS SETOF text
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    m text[] := regexp_match(url, '^(https?)://([^/:?#]+)(:[0-9]+)?(.*)$');
BEGIN
    RETURN NEXT url;
    IF m IS NULL THEN
        RETURN;
    END IF;
    -- Twilio keeps or drops the port depending on scheme and product (§4.3):
    -- its own validators accept the URL without a port and with the default one.
    IF m[3] IS NOT NULL THEN
        RETURN NEXT m[1] || '://' || m[2] || m[4];
    ELSE
        RETURN NEXT m[1] || '://' || m[2] || CASE m[1] WHEN 'https' THEN ':443' ELSE ':80' END || m[4];
    END IF;
END
$$;
COMMENT ON FUNCTION nmc.twilio_url_variants(text) IS 'The URL forms a Twilio signature may have been computed over: as given, without its port, or with the scheme''s default port.';

CREATE FUNCTION nmc.twilio_signature_valid(url text, pairs text[], token text, signature text)
RETURNS boolean
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    IF coalesce(signature, '') = '' OR coalesce(token, '') = '' THEN
        RETURN false;
    END IF;
    RETURN EXISTS (SELECT 1 FROM nmc.twilio_url_variants(url) v
                    WHERE nmc.secure_compare(nmc.twilio_signature(v, pairs, token), signature));
END
$$;
COMMENT ON FUNCTION nmc.twilio_signature_valid(text, text[], text, text) IS 'True if signature is Twilio''s signature of (url, pairs) under token, for any of the URL forms Twilio uses.';

CREATE FUNCTION nmc.webhook_signing_token()
RETURNS text
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN coalesce(nullif(nmc.setting('twilio_auth_token'), ''), nmc.setting('sandbox_webhook_token'));
END
$$;
COMMENT ON FUNCTION nmc.webhook_signing_token() IS 'The key webhooks must be signed with: the Twilio auth token, or in sandbox mode the generated sandbox_webhook_token (used by the simulator).';

CREATE FUNCTION nmc.twilio_request_is_signed(path text, raw_query text, pairs text[], signature text)
RETURNS boolean
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN nmc.twilio_signature_valid(
        rtrim(nmc.setting('public_url'), '/') || path || CASE WHEN coalesce(raw_query, '') <> '' THEN '?' || raw_query ELSE '' END,
        pairs, nmc.webhook_signing_token(), signature);
END
$$;
COMMENT ON FUNCTION nmc.twilio_request_is_signed(text, text, text[], text) IS 'Whether a webhook request to path (under public_url, with its raw query) carries a valid X-Twilio-Signature.';
