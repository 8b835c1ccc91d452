-- registration_is_throttled.sql — sign-ups (each a bcrypt hash) are limited
-- per client address: past register_max_per_source within the window, 429
-- rate_limited with Retry-After; another address is not affected; a sign-up
-- refused for a taken email still counts (its hash was paid for); one refused
-- for bad input before hashing does not.
BEGIN;
SELECT plan(10);
SELECT nmc.configure('{"register_max_per_source": "3"}');

CREATE FUNCTION pg_temp.signup(email text, addr text) RETURNS TABLE (status int, body jsonb, headers text) LANGUAGE sql AS $$
    SELECT * FROM nmc_test.api('POST', '/api/auth/register', jsonb_build_object('email', email, 'password', 'a good password',
        'name', 'Owner', 'business_name', 'Co ' || email, 'trade_type', 'plumbing'), NULL, addr) $$;

SELECT is((SELECT string_agg(s.status::text, ' ' ORDER BY n) FROM generate_series(1, 3) n, pg_temp.signup('throttle' || n || '@example.com', '198.51.100.20') s),
          '201 201 201', 'three sign-ups from one address: created');
SELECT is((SELECT status || ' ' || (body #>> '{error,code}') FROM pg_temp.signup('throttle4@example.com', '198.51.100.20')), '429 rate_limited',
          'the fourth within the hour: 429 rate_limited');
SELECT matches((SELECT headers FROM pg_temp.signup('throttle5@example.com', '198.51.100.20')), '^Retry-After: [0-9]+$', '… with Retry-After');
SELECT is((SELECT count(*) FROM nmc.users WHERE email IN ('throttle4@example.com', 'throttle5@example.com')), 0::bigint, '… and no user');
SELECT is((SELECT status FROM pg_temp.signup('other@example.com', '198.51.100.21')), 201, 'another address is not affected');

-- A taken email costs a hash too; bad input does not.
SELECT is((SELECT status FROM pg_temp.signup('other@example.com', '198.51.100.22')), 409, 'a sign-up with a taken email: 409');
SELECT is((SELECT status FROM pg_temp.signup('Other@Example.com', '198.51.100.22')), 409, '… and again');
SELECT is((SELECT status FROM nmc_test.api('POST', '/api/auth/register', '{"email": "not an email"}', NULL, '198.51.100.22')), 400,
          'a sign-up refused for bad input: 400');
SELECT is((SELECT status FROM pg_temp.signup('fresh@example.com', '198.51.100.22')), 201, '… did not count: the third real attempt is created');
SELECT is((SELECT status FROM pg_temp.signup('fresh2@example.com', '198.51.100.22')), 429, '… and the fourth is refused (the 409s counted)');

SELECT * FROM finish();
ROLLBACK;
