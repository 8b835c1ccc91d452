-- tenant_isolation.sql — a user of business A can neither read nor change
-- anything of business B through any API route, and row-level security holds
-- for the roles themselves (nmc_api, nmc_owner), failing closed without a tenant.
BEGIN;
SELECT plan(19);

SET LOCAL ROLE nmc_edge;
CREATE TEMP TABLE t AS
SELECT nmc_test.register('a@example.com', 'Alpha Plumbing') AS a,
       nmc_test.register('b@example.com', 'Bravo Electric') AS b;
RESET ROLE;
CREATE TEMP TABLE b_before AS
SELECT (SELECT to_jsonb(x) FROM nmc.businesses x WHERE x.name = 'Bravo Electric') AS business,
       (SELECT to_jsonb(u) FROM nmc.users u WHERE u.email = 'b@example.com') AS usr;
CREATE TEMP TABLE routes AS SELECT * FROM nmc.api_routes;
GRANT SELECT ON t, b_before, routes TO PUBLIC;
SET LOCAL ROLE nmc_edge;

-- Every authenticated route, called with A's token and a body that tries to
-- reach B, answers nothing of B. (All but signing out everywhere, which ends
-- that very token: test/pgtap/password_reset.sql.)
CREATE TEMP TABLE responses AS
SELECT r.route_method, r.route_path, x.status, x.body
  FROM routes r, t,
       LATERAL nmc_test.api(r.route_method, replace(r.route_path, '{id}', t.b #>> '{business,id}'),
                            jsonb_build_object('name', 'Hijacked'), t.a ->> 'token') x
 WHERE r.auth = 'jwt' AND r.route_path <> '/api/auth/sign-out-everywhere';
SELECT ok((SELECT count(*) FROM responses) >= 4, 'every authenticated route was called with A''s token');
SELECT is((SELECT count(*) FROM responses, t
            WHERE body::text LIKE '%' || (t.b #>> '{business,id}') || '%'
               OR body::text LIKE '%' || (t.b #>> '{user,id}') || '%'
               OR body::text LIKE '%b@example.com%' OR body::text LIKE '%Bravo%'), 0::bigint,
          'no answer to A contains B''s ids, email or name');
SELECT is((SELECT body #>> '{business,name}' FROM t, LATERAL nmc_test.api('GET', '/api/business', NULL, t.a ->> 'token')),
          'Hijacked', 'A''s PATCH changed A''s own business');
SELECT is((SELECT status FROM t, LATERAL nmc_test.api('PATCH', '/api/business',
              jsonb_build_object('id', t.b #>> '{business,id}'), t.a ->> 'token')), 400,
          'a business id in the body is refused, not used');

RESET ROLE;
SELECT is((SELECT to_jsonb(x) FROM nmc.businesses x WHERE x.id = (SELECT (b #>> '{business,id}')::uuid FROM t)),
          (SELECT business FROM b_before), 'B''s business row is unchanged');
SELECT is((SELECT to_jsonb(u) FROM nmc.users u WHERE u.email = 'b@example.com'),
          (SELECT usr FROM b_before), 'B''s user row is unchanged');

-- A token for B's business naming A's user, signed with the real key: the
-- user is not found inside B, so nothing is served.
CREATE TEMP TABLE mixed AS
SELECT nmc.jwt_sign(jsonb_build_object('sub', a #>> '{user,id}', 'business_id', b #>> '{business,id}',
                                       'exp', extract(epoch FROM now())::bigint + 600), nmc.setting('jwt_secret')) AS token
  FROM t;
GRANT SELECT ON mixed TO PUBLIC;
SET LOCAL ROLE nmc_edge;
SELECT is((SELECT status || ' ' || (body #>> '{error,code}') FROM mixed, LATERAL nmc_test.api('GET', '/api/business', NULL, mixed.token)),
          '401 unknown_user', 'a token mixing A''s user with B''s business is refused');
SELECT is((SELECT status || ' ' || (body #>> '{error,code}') FROM t, LATERAL nmc_test.api('GET', '/api/me', NULL,
              split_part(t.a ->> 'token', '.', 1) || '.' || split_part(t.b ->> 'token', '.', 2) || '.' || split_part(t.a ->> 'token', '.', 3))),
          '401 jwt_bad_signature', 'A''s signature on B''s claims is refused');
SELECT is((SELECT status || ' ' || (body #>> '{error,code}') FROM nmc_test.api('GET', '/api/me', NULL, 'garbage')),
          '401 jwt_malformed', 'a garbage token is refused');

-- The edge role reaches nothing but nmc_api.
SELECT throws_ok($$ SELECT * FROM nmc.users $$, '42501', NULL, 'nmc_edge cannot read tables');
SELECT throws_ok($$ SELECT * FROM nmc.settings $$, '42501', NULL, 'nmc_edge cannot read settings (secrets)');
SELECT throws_ok($$ SELECT nmc.setting('jwt_secret') $$, '42501', NULL, 'nmc_edge cannot call internal functions');

-- Row-level security for the API role itself.
RESET ROLE;
SET LOCAL ROLE nmc_api;
SELECT is((SELECT count(*) FROM nmc.users), 0::bigint, 'nmc_api without a business id sees no users (fails closed)');
SELECT set_config('nmc.business_id', (SELECT a #>> '{business,id}' FROM t), true);
SELECT is((SELECT array_agg(email) FROM nmc.users), ARRAY['a@example.com'], 'nmc_api scoped to A sees only A''s users');
SELECT is((SELECT count(*) FROM nmc.businesses), 1::bigint, 'nmc_api scoped to A sees one business');
UPDATE nmc.businesses SET name = 'Renamed' WHERE name = 'Bravo Electric';
SELECT throws_ok($$ INSERT INTO nmc.users (business_id, email, password_hash, name)
                    SELECT (b #>> '{business,id}')::uuid, 'evil@example.com', 'x', 'Evil' FROM t $$,
                 '42501', NULL, 'nmc_api scoped to A cannot insert into B');
SELECT set_config('nmc.business_id', '', true);
RESET ROLE;
SELECT is((SELECT count(*) FROM nmc.businesses WHERE name = 'Renamed'), 0::bigint, 'an UPDATE aimed at B changed nothing');

SET LOCAL ROLE nmc_owner;
SELECT is((SELECT count(*) FROM nmc.businesses), 0::bigint, 'even the table owner is under row-level security (FORCE)');
RESET ROLE;
SELECT is((SELECT count(*) FROM nmc.businesses WHERE name IN ('Hijacked', 'Bravo Electric')), 2::bigint,
          'both businesses are still there for the DBA');

SELECT * FROM finish();
ROLLBACK;
