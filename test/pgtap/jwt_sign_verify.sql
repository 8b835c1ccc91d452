-- jwt_sign_verify.sql — the C JWT functions: round trip, an independent
-- HMAC check through pgcrypto, and every refusal with its own SQLSTATE.
BEGIN;
SELECT plan(17);

CREATE FUNCTION pg_temp.b64url(b bytea) RETURNS text LANGUAGE sql AS $$
    SELECT rtrim(translate(replace(encode(b, 'base64'), E'\n', ''), '+/', '-_'), '=') $$;
CREATE FUNCTION pg_temp.hs256(signing_input text, secret text) RETURNS text LANGUAGE sql AS $$
    SELECT pg_temp.b64url(hmac(convert_to(signing_input, 'UTF8'), convert_to(secret, 'UTF8'), 'sha256')) $$;
CREATE FUNCTION pg_temp.b64url_decode(s text) RETURNS bytea LANGUAGE sql AS $$
    SELECT decode(rpad(translate(s, '-_', '+/'), (length(s) + 3) / 4 * 4, '='), 'base64') $$;
-- A token built by hand: header, payload and signature chosen by the test.
CREATE FUNCTION pg_temp.forge(header text, payload text, secret text) RETURNS text LANGUAGE sql AS $$
    SELECT pg_temp.b64url(convert_to(header, 'UTF8')) || '.' || pg_temp.b64url(convert_to(payload, 'UTF8')) || '.'
        || pg_temp.hs256(pg_temp.b64url(convert_to(header, 'UTF8')) || '.' || pg_temp.b64url(convert_to(payload, 'UTF8')), secret) $$;

SELECT is(nmc.jwt_verify(nmc.jwt_sign('{"sub":"u1","exp":4102444800}', 'k3y'), 'k3y'),
          '{"sub":"u1","exp":4102444800}'::jsonb, 'sign then verify returns the claims');

SELECT is(split_part(nmc.jwt_sign('{"exp":4102444800}', 'k3y'), '.', 3),
          pg_temp.hs256(split_part(nmc.jwt_sign('{"exp":4102444800}', 'k3y'), '.', 1) || '.'
                        || split_part(nmc.jwt_sign('{"exp":4102444800}', 'k3y'), '.', 2), 'k3y'),
          'the signature is HMAC-SHA256 over header.payload (checked with pgcrypto)');

SELECT is(convert_from(pg_temp.b64url_decode(split_part(nmc.jwt_sign('{"a":1}', 'k'), '.', 1)), 'UTF8')::jsonb,
          '{"alg":"HS256","typ":"JWT"}'::jsonb, 'the header names HS256');

SELECT is(nmc.jwt_verify(pg_temp.forge('{"alg":"HS256","typ":"JWT"}', '{"sub":"x","exp":4102444800}', 's'), 's') ->> 'sub',
          'x', 'a token made elsewhere with the same key verifies');

SELECT throws_ok($$ SELECT nmc.jwt_verify(nmc.jwt_sign('{"exp":4102444800}', 'right'), 'wrong') $$,
                 'NMJ03', NULL, 'a token signed with another key is refused: jwt_bad_signature');

SELECT throws_ok($$ SELECT nmc.jwt_verify(
                        split_part(t, '.', 1) || '.' || pg_temp.b64url(convert_to('{"exp":4102444800,"business_id":"other"}', 'UTF8')) || '.' || split_part(t, '.', 3), 'k')
                      FROM (SELECT nmc.jwt_sign('{"exp":4102444800,"business_id":"mine"}', 'k') t) s $$,
                 'NMJ03', NULL, 'a tampered payload is refused: jwt_bad_signature');

SELECT throws_ok($$ SELECT nmc.jwt_verify(nmc.jwt_sign('{"exp":1000}', 'k'), 'k') $$,
                 'NMJ04', NULL, 'an expired token is refused: jwt_expired');

SELECT throws_ok($$ SELECT nmc.jwt_verify(nmc.jwt_sign('{"exp":2000000000}', 'k'), 'k', to_timestamp(2000000000)) $$,
                 'NMJ04', NULL, 'a token is expired at exactly exp');

SELECT is(nmc.jwt_verify(nmc.jwt_sign('{"exp":2000000000}', 'k'), 'k', to_timestamp(1999999999)) ->> 'exp',
          '2000000000', 'a token is valid one second before exp');

SELECT throws_ok($$ SELECT nmc.jwt_verify(pg_temp.b64url('{"alg":"none","typ":"JWT"}') || '.' || pg_temp.b64url('{"exp":4102444800}') || '.', 'k') $$,
                 'NMJ05', NULL, 'alg none is refused: jwt_alg_none');

SELECT throws_ok($$ SELECT nmc.jwt_verify(pg_temp.forge('{"alg":"HS512","typ":"JWT"}', '{"exp":4102444800}', 'k'), 'k') $$,
                 'NMJ02', NULL, 'other algorithms are refused: jwt_alg_not_allowed');

SELECT throws_ok($$ SELECT nmc.jwt_verify('only.two', 'k') $$, 'NMJ01', NULL, 'two parts: jwt_malformed');
SELECT throws_ok($$ SELECT nmc.jwt_verify('a.b.c.d', 'k') $$, 'NMJ01', NULL, 'four parts: jwt_malformed');
SELECT throws_ok($$ SELECT nmc.jwt_verify('!!!.e30.sig', 'k') $$, 'NMJ01', NULL, 'header not base64url: jwt_malformed');
SELECT throws_ok($$ SELECT nmc.jwt_verify(pg_temp.b64url('[1,2]') || '.e30.x', 'k') $$, 'NMJ01', NULL, 'header not an object: jwt_malformed');
SELECT throws_ok($$ SELECT nmc.jwt_verify(pg_temp.forge('{"alg":"HS256"}', '{"sub":"no exp"}', 'k'), 'k') $$,
                 'NMJ01', NULL, 'a payload without exp: jwt_malformed');
SELECT throws_ok($$ SELECT nmc.jwt_verify(pg_temp.forge('{"alg":"HS256"}', 'not json', 'k'), 'k') $$,
                 'NMJ01', NULL, 'a payload that is not JSON: jwt_malformed');

SELECT * FROM finish();
ROLLBACK;
