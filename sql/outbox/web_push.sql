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
    id           uuid NOT NULL DEFAULT gen_random_uuid(),
    business_id  uuid NOT NULL,
    user_id      uuid NOT NULL,
    endpoint     text NOT NULL UNIQUE CHECK (length(endpoint) <= 2048),
    p256dh       bytea NOT NULL CHECK (length(p256dh) = 65),
    auth         bytea NOT NULL CHECK (length(auth) = 16),
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_push_at timestamptz,
    FOREIGN KEY (business_id, user_id) REFERENCES nmc.users (business_id, id) ON DELETE CASCADE,
    PRIMARY KEY (business_id, id)
);
COMMENT ON TABLE nmc.push_subscriptions IS 'A device of a user that gets alerts pushed (the browser''s PushSubscription: its push service endpoint, p256dh key and auth secret). Forgotten when the push service says it is gone.';
CREATE INDEX push_subscriptions_business ON nmc.push_subscriptions (business_id);
-- By id alone too (found from a job's payload or a row of another table, without RLS):
CREATE INDEX push_subscriptions_id ON nmc.push_subscriptions (id);
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
