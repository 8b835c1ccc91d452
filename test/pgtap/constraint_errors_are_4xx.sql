-- constraint_errors_are_4xx.sql — a request that runs into a rule only the
-- schema enforces (no handler checked it first) is the client's mistake and
-- gets a 4xx with a stable code, never a 500: a duplicate or a dangling
-- reference → 409 conflict, a value the schema refuses → 400 invalid_input.
-- A bug of ours (here a division by zero) is still a 500. Handlers made for
-- the test, on routes made for the test, all rolled back.
BEGIN;
SELECT plan(7);

CREATE TABLE nmc.test_things (id int PRIMARY KEY, n int CHECK (n > 0), label varchar(5), parent int REFERENCES nmc.test_things (id));
INSERT INTO nmc.test_things VALUES (1, 1, 'a', NULL);
GRANT SELECT, INSERT ON nmc.test_things TO nmc_api;
CREATE FUNCTION nmc.api_test_thing(req jsonb) RETURNS nmc.http_response LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO nmc.test_things (id, n, label, parent)
    VALUES ((req #>> '{body,id}')::int, (req #>> '{body,n}')::int, req #>> '{body,label}', (req #>> '{body,parent}')::int);
    RETURN nmc.respond(201, '{}');
END $$;
CREATE FUNCTION nmc.api_test_bug(req jsonb) RETURNS nmc.http_response LANGUAGE plpgsql AS $$
BEGIN
    RETURN nmc.respond(200, jsonb_build_object('x', 1 / 0));
END $$;
INSERT INTO nmc.api_routes (route_method, route_path, handler, auth, summary) VALUES
    ('POST', '/api/test/things', 'api_test_thing', 'public', 'test'),
    ('POST', '/api/test/bug', 'api_test_bug', 'public', 'test');
SELECT nmc.api_dispatch_build();

CREATE FUNCTION pg_temp.post(body jsonb) RETURNS text LANGUAGE sql AS $$
    SELECT status || ' ' || coalesce(a.body #>> '{error,code}', '-') FROM nmc_test.api('POST', '/api/test/things', body) a $$;
SELECT is(pg_temp.post('{"id": 2, "n": 1}'), '201 -', 'a good request');
SELECT is(pg_temp.post('{"id": 1, "n": 1}'), '409 conflict', 'a duplicate: 409 conflict');
SELECT is(pg_temp.post('{"id": 3, "n": 1, "parent": 99}'), '409 conflict', 'a reference to nothing: 409 conflict');
SELECT is(pg_temp.post('{"id": 4, "n": 0}'), '400 invalid_input', 'a value a CHECK refuses: 400 invalid_input');
SELECT is(pg_temp.post('{"id": 5, "n": 1, "label": "much too long"}'), '400 invalid_input', 'a value too long: 400 invalid_input');
SELECT is(pg_temp.post('{"id": 6, "n": "many"}'), '400 invalid_input', 'a value of the wrong kind: 400 invalid_input');
SELECT is((SELECT status || ' ' || (a.body #>> '{error,code}') FROM nmc_test.api('POST', '/api/test/bug', '{}') a), '500 internal_error',
          'a bug of ours is still a 500');

SELECT * FROM finish();
ROLLBACK;
