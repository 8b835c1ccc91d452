-- schema_and_privileges.sql — the shape the rest relies on: tenant tables under
-- forced row-level security and owned by nmc_owner, documented functions,
-- least-privilege roles, and settings that keep secrets out of sight.
BEGIN;
SELECT plan(24);

SELECT has_table('nmc', 'businesses', 'businesses table');
SELECT has_table('nmc', 'users', 'users table');
SELECT has_table('nmc', 'settings', 'settings table');
SELECT has_table('nmc', 'api_routes', 'route table');

SELECT is((SELECT array_agg(c.relname::text ORDER BY c.relname) FROM pg_class c
            WHERE c.relnamespace = 'nmc'::regnamespace AND c.relkind = 'r'
              AND (c.relname = 'businesses' OR EXISTS (SELECT 1 FROM pg_attribute a
                     WHERE a.attrelid = c.oid AND a.attname = 'business_id' AND NOT a.attisdropped))
              AND NOT (c.relrowsecurity AND c.relforcerowsecurity)), NULL,
          'every tenant table has row-level security enabled and forced');
SELECT is((SELECT array_agg(c.relname::text) FROM pg_class c
            WHERE c.relnamespace = 'nmc'::regnamespace AND c.relkind IN ('r', 'v')
              AND pg_get_userbyid(c.relowner) <> 'nmc_owner'), NULL,
          'every table and view belongs to nmc_owner');
SELECT is((SELECT array_agg(p.oid::regprocedure::text) FROM pg_proc p
            WHERE p.pronamespace IN ('nmc'::regnamespace, 'nmc_api'::regnamespace)
              AND obj_description(p.oid, 'pg_proc') IS NULL), NULL,
          'every function has COMMENT ON');
SELECT is((SELECT array_agg(c.relname::text) FROM pg_class c
            WHERE c.relnamespace = 'nmc'::regnamespace AND c.relkind IN ('r', 'v')
              AND obj_description(c.oid, 'pg_class') IS NULL), NULL,
          'every table and view has COMMENT ON');

SELECT is((SELECT array_agg(rolname::text ORDER BY rolname) FROM pg_roles
            WHERE rolname LIKE 'nmc\_%' AND (rolsuper OR rolbypassrls)), NULL,
          'no nmc role is superuser or bypasses row-level security');
SELECT is((SELECT array_agg(rolname::text ORDER BY rolname) FROM pg_roles WHERE rolname LIKE 'nmc\_%' AND rolcanlogin),
          ARRAY['nmc_edge'], 'only nmc_edge can log in');
SELECT ok(NOT has_schema_privilege('nmc_edge', 'nmc', 'USAGE'), 'nmc_edge has no access to the data schema');
SELECT ok(has_function_privilege('nmc_edge', 'nmc_api.handle(text,text,jsonb,jsonb,text,text,text,jsonb)', 'EXECUTE'), 'nmc_edge may call nmc_api.handle');
SELECT is((SELECT array_agg(p.oid::regprocedure::text) FROM pg_proc p
            WHERE p.pronamespace = 'nmc_api'::regnamespace
              AND NOT (p.prosecdef AND p.proconfig::text LIKE '%search_path%')), NULL,
          'every nmc_api function is SECURITY DEFINER with a fixed search_path');
SELECT is(pg_get_userbyid((SELECT proowner FROM pg_proc WHERE oid = 'nmc_api.handle(text,text,jsonb,jsonb,text,text,text,jsonb)'::regprocedure)),
          'nmc_api', 'nmc_api.handle runs as nmc_api');
SELECT is(pg_get_userbyid((SELECT proowner FROM pg_proc WHERE oid = 'nmc.login(jsonb,text)'::regprocedure)),
          'nmc_auth', 'login runs as nmc_auth, the only role that may look users up across businesses');

SELECT is((SELECT array_agg(p.oid::regprocedure::text) FROM pg_proc p JOIN pg_roles r ON r.oid = p.proowner
            WHERE p.pronamespace IN ('nmc'::regnamespace, 'nmc_api'::regnamespace) AND p.prosecdef AND (r.rolsuper OR r.rolbypassrls)), NULL,
          'no SECURITY DEFINER function runs as a superuser');
SELECT ok(has_function_privilege('nmc_edge', 'nmc_api.metrics()', 'EXECUTE'), 'the edge may read the metrics');
SELECT matches(nmc.setting('jwt_secret'), '^[0-9a-f]{64}$', 'a 256-bit JWT secret was generated at install');
SELECT is((SELECT value FROM nmc.settings_redacted WHERE name = 'jwt_secret'), '(set, hidden)', 'the redacted view hides secrets');
SELECT throws_ok($$ SELECT nmc.configure('{"no_such_setting":"1"}') $$, '42704', NULL, 'configure refuses unknown settings');
SELECT nmc.configure('{"twilio_account_sid":"AC123","twilio_auth_token":"tok"}');
SELECT ok(NOT nmc.sandbox_mode(), 'with Twilio credentials, not in sandbox mode');
SELECT nmc.configure('{"twilio_account_sid":"","twilio_auth_token":""}');
SELECT ok(nmc.sandbox_mode(), 'without Twilio credentials, sandbox mode');

-- No statistics on the tenant column: plans must not depend on which businesses existed at the last ANALYZE.
SELECT is((SELECT array_agg(a.attrelid::regclass::text ORDER BY 1) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
            WHERE c.relnamespace = 'nmc'::regnamespace AND c.relkind = 'r' AND a.attname = 'business_id' AND a.attstattarget <> 0),
          NULL, 'business_id has statistics off on every tenant table');
CREATE FUNCTION pg_temp.plan_index(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE p json;
BEGIN
    EXECUTE 'EXPLAIN (FORMAT JSON) ' || q INTO p;
    RETURN p -> 0 -> 'Plan' ->> 'Index Name';
END $$;
-- Another business with messages, analyzed: the one asked about below is new since.
CREATE TEMP TABLE other AS SELECT nmc_test.business_with_number('+15125550990') AS id;
INSERT INTO nmc.customers (business_id, phone) SELECT id, '+15125550991' FROM other;
INSERT INTO nmc.messages (business_id, customer_id, direction, author, from_phone, to_phone, body, status, twilio_sid)
SELECT o.id, c.id, 'inbound', 'customer', '+15125550991', '+15125550990', 'hello ' || g, 'received', 'SM' || lpad(g::text, 32, '0')
  FROM other o JOIN nmc.customers c ON c.business_id = o.id, generate_series(1, 2000) g;
ANALYZE nmc.messages;
INSERT INTO nmc.businesses (id, name, trade_type) VALUES ('00000000-0000-0000-0000-00000000b1a7', 'Plan Test', 'plumbing');
SELECT set_config('nmc.business_id', '00000000-0000-0000-0000-00000000b1a7', true);
SET LOCAL ROLE nmc_api;
SELECT is(pg_temp.plan_index($$SELECT id FROM nmc.messages WHERE twilio_sid = 'SM0123'$$), 'messages_twilio_sid_key',
          'a message is found by its SID through the unique index, not by scanning its business''s messages');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
