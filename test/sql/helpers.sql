-- helpers.sql — loaded into the test database by scripts/test.sh before pg_prove:
-- small wrappers that call the API exactly as the edge does (SECURITY INVOKER,
-- so a test that SETs ROLE nmc_edge exercises the edge's real privileges).
CREATE SCHEMA IF NOT EXISTS nmc_test;
GRANT USAGE ON SCHEMA nmc_test TO PUBLIC;

CREATE OR REPLACE FUNCTION nmc_test.api(method text, path text, body jsonb DEFAULT NULL,
                                        token text DEFAULT NULL, client text DEFAULT '192.0.2.10')
RETURNS TABLE (status int, body jsonb, headers text)
LANGUAGE sql
AS $$
    SELECT h.status, h.body::jsonb, h.headers
      FROM nmc_api.handle(method, path, '{}'::jsonb,
                          CASE WHEN token IS NULL THEN '{}'::jsonb
                               ELSE jsonb_build_object('authorization', 'Bearer ' || token) END,
                          client, body::text) h
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
