-- helpers.sql — loaded into the test database by scripts/test.sh before pg_prove:
-- small wrappers that call the API exactly as the edge does (SECURITY INVOKER,
-- so a test that SETs ROLE nmc_edge exercises the edge's real privileges).
CREATE SCHEMA IF NOT EXISTS nmc_test;
GRANT USAGE ON SCHEMA nmc_test TO PUBLIC;

-- What the events worker does right after a commit (sql/feed/events.sql): numbers the
-- events written so far, in the test's own transaction. Returns how many. Runs as the
-- installing superuser, like the worker.
CREATE OR REPLACE FUNCTION nmc_test.events_numbered()
RETURNS int
LANGUAGE sql
SECURITY DEFINER
SET search_path = nmc, public, pg_temp
AS $$ SELECT nmc.events_number(100000) $$;

-- What the inbox worker does right after a commit (sql/telephony/webhook_inbox.sql), done in
-- the test's own transaction so a test sees a posted text threaded at once.
-- Runs as the installing superuser, like the worker.
CREATE OR REPLACE FUNCTION nmc_test.inbox_drain()
RETURNS int
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = nmc, public, pg_temp
AS $$
DECLARE
    n int := 0;
    taken int;
BEGIN
    LOOP
        taken := nmc.webhook_inbox_run(500, false);
        n := n + taken;
        EXIT WHEN taken = 0;
    END LOOP;
    -- And what the events worker does after each batch's commit.
    PERFORM nmc_test.events_numbered();
    RETURN n;
END
$$;

CREATE OR REPLACE FUNCTION nmc_test.api(method text, path text, request_body jsonb DEFAULT NULL,
                                        token text DEFAULT NULL, client text DEFAULT '192.0.2.10')
RETURNS TABLE (status int, body jsonb, headers text)
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN QUERY
    SELECT h.status, h.body::jsonb, h.headers
      -- (A query string in path becomes the query object, as the edge makes it; no escapes.)
      FROM nmc_api.handle(api.method, split_part(api.path, '?', 1),
                          coalesce((SELECT jsonb_object_agg(split_part(kv, '=', 1), split_part(kv, '=', 2))
                                      FROM unnest(string_to_array(nullif(split_part(api.path, '?', 2), ''), '&')) kv), '{}'::jsonb),
                          CASE WHEN api.token IS NULL THEN '{}'::jsonb
                               ELSE jsonb_build_object('authorization', 'Bearer ' || api.token) END,
                          api.client, api.request_body::text) h;
    PERFORM nmc_test.inbox_drain();
END
$$;

-- Registers a user and business; returns the 201 body ({token, user, business}).
CREATE OR REPLACE FUNCTION nmc_test.register(email text, business_name text DEFAULT 'Test Plumbing',
                                             password text DEFAULT 'correct horse')
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    r record;
BEGIN
    SELECT * INTO r FROM nmc_test.api('POST', '/api/auth/register', jsonb_build_object(
        'email', email, 'password', password, 'name', 'Owner of ' || business_name,
        'business_name', business_name, 'trade_type', 'plumbing', 'timezone', 'America/Chicago'));
    IF r.status <> 201 THEN
        RAISE EXCEPTION 'registration of % failed: % %', email, r.status, r.body;
    END IF;
    RETURN r.body;
END
$$;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA nmc_test TO PUBLIC;

-- Posts a Twilio webhook through nmc_api.handle, signed as Twilio would sign
-- it (or with the given signature), and leaves it in the webhook inbox, as the
-- edge does. Run as the superuser: signing needs the key.
CREATE OR REPLACE FUNCTION nmc_test.twilio_accept(path text, params jsonb, signature text DEFAULT NULL)
RETURNS TABLE (status int, content_type text, body text)
LANGUAGE plpgsql
AS $$
DECLARE
    pairs text[];
    sig text;
BEGIN
    SELECT coalesce(array_agg(x), '{}') INTO pairs FROM (SELECT unnest(ARRAY[key, value]) x FROM jsonb_each_text(params)) s;
    sig := coalesce(signature, nmc.twilio_signature(rtrim(nmc.setting('public_url'), '/') || path, pairs, nmc.webhook_signing_token()));
    RETURN QUERY SELECT h.status, h.content_type, h.body
                   FROM nmc_api.handle('POST', path, '{}', jsonb_build_object('content-type', 'application/x-www-form-urlencoded', 'x-twilio-signature', sig), '127.0.0.1',
                                       nmc.form_encode(params), NULL) h;
END
$$;

-- The same, then what the inbox worker does right after the commit.
CREATE OR REPLACE FUNCTION nmc_test.twilio_post(path text, params jsonb, signature text DEFAULT NULL)
RETURNS TABLE (status int, content_type text, body text)
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN QUERY SELECT * FROM nmc_test.twilio_accept(path, params, signature);
    PERFORM nmc_test.inbox_drain();
END
$$;

-- A business with a number, open around the clock unless told otherwise; returns its id.
CREATE OR REPLACE FUNCTION nmc_test.business_with_number(number text, forward_to text DEFAULT '+15125550199',
                                                         always_open boolean DEFAULT true, tz text DEFAULT 'America/Chicago')
RETURNS uuid
LANGUAGE plpgsql
AS $$
DECLARE
    b uuid;
BEGIN
    INSERT INTO nmc.businesses (name, trade_type, timezone, forward_to_phone)
    VALUES ('Test Plumbing ' || number, 'plumbing', tz, forward_to) RETURNING id INTO b;
    INSERT INTO nmc.phone_numbers (business_id, phone) VALUES (b, number);
    IF always_open THEN
        PERFORM nmc.hours_replace(b, (SELECT jsonb_agg(jsonb_build_object('weekday', d, 'opens_at', '00:00', 'closes_at', '24:00'))
                                        FROM generate_series(0, 6) d));
    END IF;
    RETURN b;
END
$$;
