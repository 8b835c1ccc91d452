-- registration_and_login.sql — sign-up and log-in through nmc_api.handle as the
-- edge role: validation with named fields, duplicate emails, bcrypt hashes,
-- tokens, and rate limiting that really counts (failures are not rolled back).
BEGIN;
SELECT plan(35);
SET LOCAL ROLE nmc_edge;

CREATE TEMP TABLE reg AS SELECT nmc_test.register('Ann@Example.COM', 'Ann''s Electric') AS body;

SELECT is((SELECT body #>> '{user,email}' FROM reg), 'ann@example.com', 'email is stored lower-cased');
SELECT is((SELECT body #>> '{business,name}' FROM reg), 'Ann''s Electric', 'the business is created with the user');
SELECT is((SELECT body #>> '{user,business_id}' FROM reg), (SELECT body #>> '{business,id}' FROM reg), 'the user belongs to the new business');
SELECT ok((SELECT body ? 'token' FROM reg), 'registration answers with a token like login');
SELECT ok((SELECT NOT (body -> 'user') ? 'password_hash' FROM reg), 'the password hash is never returned');

CREATE FUNCTION pg_temp.reg_error(body jsonb) RETURNS text LANGUAGE sql AS $$
    SELECT a.status || ' ' || (a.body #>> '{error,code}') || ' ' || coalesce(a.body #>> '{error,field}', '-')
      FROM nmc_test.api('POST', '/api/auth/register', body) a $$;
CREATE FUNCTION pg_temp.valid_reg() RETURNS jsonb LANGUAGE sql AS $$
    SELECT '{"email":"new@example.com","password":"long enough","name":"N","business_name":"B","trade_type":"hvac"}'::jsonb $$;

SELECT is(pg_temp.reg_error(pg_temp.valid_reg() - 'email'), '400 missing_field email', 'missing email');
SELECT is(pg_temp.reg_error(pg_temp.valid_reg() || '{"email":"not-an-email"}'), '400 invalid_field email', 'malformed email');
SELECT is(pg_temp.reg_error(pg_temp.valid_reg() || '{"password":"short"}'), '400 invalid_field password', 'password under 8 bytes');
SELECT is(pg_temp.reg_error(pg_temp.valid_reg() || jsonb_build_object('password', repeat('x', 73))), '400 invalid_field password', 'password over 72 bytes (bcrypt would ignore the rest)');
SELECT is(pg_temp.reg_error(pg_temp.valid_reg() || '{"password":12345678}'), '400 invalid_field password', 'password not a string');
SELECT is(pg_temp.reg_error(pg_temp.valid_reg() || '{"name":"   "}'), '400 invalid_field name', 'blank name');
SELECT is(pg_temp.reg_error(pg_temp.valid_reg() - 'business_name'), '400 missing_field business_name', 'missing business name');
SELECT is(pg_temp.reg_error(pg_temp.valid_reg() || '{"trade_type":"astrology"}'), '400 invalid_trade_type trade_type', 'unknown trade');
SELECT is(pg_temp.reg_error(pg_temp.valid_reg() || '{"timezone":"Mars/Olympus"}'), '400 invalid_timezone timezone', 'unknown time zone');
SELECT is(pg_temp.reg_error(pg_temp.valid_reg() || '{"role":"admin"}'), '400 unknown_field role', 'unknown fields are refused, not ignored');
SELECT is(pg_temp.reg_error('[1,2]'), '400 invalid_body -', 'a body that is not an object');
SELECT is(pg_temp.reg_error(pg_temp.valid_reg() || '{"email":"ANN@example.com"}'), '409 email_taken email', 'duplicate email, other case: 409');

RESET ROLE;
SELECT is((SELECT count(*) FROM nmc.users WHERE email = 'new@example.com'), 0::bigint, 'no refused registration wrote a user');
SELECT is((SELECT count(*) FROM nmc.businesses WHERE name = 'B'), 0::bigint, 'no refused registration wrote a business');
SELECT matches((SELECT password_hash FROM nmc.users WHERE email = 'ann@example.com'), '^\$2a\$04\$',
               'the hash is bcrypt at the configured cost (4 in tests)');
SET LOCAL ROLE nmc_edge;

CREATE FUNCTION pg_temp.login(email text, password text, client text DEFAULT '192.0.2.10')
RETURNS TABLE (status int, body jsonb, headers text) LANGUAGE sql AS $$
    SELECT * FROM nmc_test.api('POST', '/api/auth/login', jsonb_build_object('email', email, 'password', password), NULL, client) $$;

SELECT is((SELECT status FROM pg_temp.login('ANN@example.com', 'correct horse')), 200, 'login is case-insensitive on email');
SELECT is((SELECT body #>> '{user,email}' FROM pg_temp.login('ann@example.com', 'correct horse')), 'ann@example.com', 'login returns the user');
SELECT is((SELECT (body ->> 'token') IS NOT NULL FROM pg_temp.login('ann@example.com', 'correct horse')), true, 'login returns a token');
SELECT is((SELECT status || ' ' || (body #>> '{error,code}') FROM pg_temp.login('ann@example.com', 'wrong horse')), '401 invalid_credentials', 'wrong password: 401');
SELECT is((SELECT status || ' ' || (body #>> '{error,code}') FROM pg_temp.login('nobody@example.com', 'whatever')), '401 invalid_credentials', 'unknown email: the same 401');
SELECT is((SELECT status FROM nmc_test.api('POST', '/api/auth/login', '{"email":"ann@example.com"}')), 400, 'missing password: 400');

RESET ROLE;
SELECT is((SELECT count(*) FROM nmc.login_failures WHERE scope = 'email' AND key = 'ann@example.com'), 1::bigint,
          'a failed login is recorded although the API answered an error');
SET LOCAL ROLE nmc_edge;

-- Four more failures use up the 5 an email is allowed; then each try waits (test/pgtap/login_guard.sql has the rest).
SELECT is((SELECT array_agg(DISTINCT l.status) FROM generate_series(1, 4) i, LATERAL pg_temp.login('ann@example.com', 'guess ' || i) l),
          ARRAY[401], 'four more wrong passwords: 401 each');
SELECT is((SELECT status || ' ' || (body #>> '{error,code}') FROM pg_temp.login('ann@example.com', 'correct horse')), '429 rate_limited',
          'after 5 failures even the right password from an unknown device must wait: 429');
SELECT matches((SELECT headers FROM pg_temp.login('ann@example.com', 'correct horse')), '^Retry-After: [0-9]+$', '429 carries Retry-After');
SELECT is((SELECT status FROM pg_temp.login('other@example.com', 'x', '192.0.2.99')), 401, 'another email from another address is not limited');

RESET ROLE;
UPDATE nmc.login_failures SET failed_at = failed_at - interval '25 hours';
SET LOCAL ROLE nmc_edge;
SELECT is((SELECT status FROM pg_temp.login('ann@example.com', 'correct horse')), 200, 'failures older than the window no longer count');

-- Per source: 30 failures from one address on different emails.
SELECT is((SELECT array_agg(DISTINCT l.status) FROM generate_series(1, 30) i, LATERAL pg_temp.login('spray' || i || '@example.com', 'x', '198.51.100.7') l),
          ARRAY[401], 'thirty failures on different emails from one address');
SELECT is((SELECT status FROM pg_temp.login('ann@example.com', 'correct horse', '198.51.100.7')), 429,
          'an address that failed on many emails must wait');
SELECT is((SELECT status FROM pg_temp.login('ann@example.com', 'correct horse', '198.51.100.8')), 200,
          'the same user from another address still logs in');

SELECT * FROM finish();
ROLLBACK;
