-- login_guard.sql — guessing is slowed without locking the owner out: growing
-- delays per email and per address (never a lock), a known device that passes
-- with the right password, and a sign-in code texted to the business's phone.
-- The rows of the attack table: 5 wrong passwords for one email, and 30 from one
-- address on many emails, no longer shut the real owner out.
BEGIN;
SELECT plan(43);
-- The shipped settings, whatever the suite configured (rolled back at the end).
UPDATE nmc.settings SET value = d.v FROM (VALUES ('login_delay_base_seconds', '2'), ('login_delay_max_seconds', '900'),
    ('login_max_failures_per_email', '5'), ('login_max_failures_per_source', '30'), ('login_failure_window_seconds', '86400'),
    ('login_device_max_failures', '5'), ('login_code_max_attempts', '5'), ('login_codes_per_hour', '5')) d(n, v) WHERE name = d.n;

CREATE TEMP TABLE ann AS SELECT nmc_test.register('ann@example.com', 'Ann Plumbing') AS body;
CREATE TEMP TABLE bob AS SELECT nmc_test.register('bob@example.com', 'Bob Heating') AS body;
UPDATE nmc.businesses SET forward_to_phone = '+15125550142' WHERE id = (SELECT (body #>> '{business,id}')::uuid FROM ann);
INSERT INTO nmc.phone_numbers (business_id, phone) SELECT (body #>> '{business,id}')::uuid, '+15125550777' FROM ann;
GRANT SELECT ON ann, bob TO nmc_edge;
SET LOCAL ROLE nmc_edge;

CREATE FUNCTION pg_temp.login(body jsonb, client text)
RETURNS TABLE (status int, body jsonb, headers text) LANGUAGE sql AS $$
    SELECT * FROM nmc_test.api('POST', '/api/auth/login', body, NULL, client) $$;
CREATE FUNCTION pg_temp.try(email text, password text, client text, device text DEFAULT NULL, code text DEFAULT NULL)
RETURNS text LANGUAGE sql AS $$
    SELECT l.status || coalesce(' ' || (l.body #>> '{error,code}'), '') || coalesce(' after ' || substring(l.headers FROM 'Retry-After: ([0-9]+)'), '')
      FROM pg_temp.login(jsonb_strip_nulls(jsonb_build_object('email', email, 'password', password, 'device', device, 'login_code', code)), client) l $$;

-- The owner logs in from their phone: the answer carries a device token.
CREATE TEMP TABLE dev AS SELECT body ->> 'device' AS token FROM pg_temp.login('{"email":"ann@example.com","password":"correct horse"}', '203.0.113.5');
SELECT matches((SELECT token FROM dev), '^nmcd_[A-Za-z0-9_-]{32}$', 'a successful login hands out a device token');
SELECT is((SELECT l.body ->> 'device' FROM dev, pg_temp.login(jsonb_build_object('email', 'ann@example.com', 'password', 'correct horse', 'device', token), '203.0.113.5') l),
          NULL, 'a login from a known device gets no new token');

-- An attacker from 198.51.100.66 guesses Ann's password.
SELECT is((SELECT array_agg(DISTINCT pg_temp.try('ann@example.com', 'guess ' || i, '198.51.100.66')) FROM generate_series(1, 5) i),
          ARRAY['401 invalid_credentials'], 'five wrong passwords: 401 each');
SELECT is(pg_temp.try('ann@example.com', 'guess 6', '198.51.100.66'), '429 rate_limited after 2', 'the sixth try must wait 2 seconds');
SELECT is(pg_temp.try('ann@example.com', 'correct horse', '198.51.100.99'), '429 rate_limited after 2',
          'the right password from an unknown device waits too (the throttle comes before the password)');
SELECT is((SELECT pg_temp.try('ann@example.com', 'correct horse', '203.0.113.5', token) FROM dev), '200',
          'the owner on a known device with the right password is let in at once');
SELECT is(pg_temp.try('ann@example.com', 'guess 6', '198.51.100.66'), '429 rate_limited after 2',
          'the owner''s success does not clear the guesser''s failures');

-- Each further failure doubles the wait; it never becomes a lock.
RESET ROLE;
CREATE FUNCTION pg_temp.later(secs int) RETURNS void LANGUAGE sql AS $$
    UPDATE nmc.login_failures SET failed_at = failed_at - make_interval(secs => secs) $$;
SELECT pg_temp.later(3);
SET LOCAL ROLE nmc_edge;
SELECT is(pg_temp.try('ann@example.com', 'guess 6', '198.51.100.66'), '401 invalid_credentials', 'once the wait is over, one more try is answered');
SELECT is(pg_temp.try('ann@example.com', 'guess 7', '198.51.100.66'), '429 rate_limited after 4', 'then the wait is 4 seconds');
RESET ROLE; SELECT pg_temp.later(5); SET LOCAL ROLE nmc_edge;
SELECT is(pg_temp.try('ann@example.com', 'guess 7', '198.51.100.66'), '401 invalid_credentials', 'a try after 4 seconds');
SELECT is(pg_temp.try('ann@example.com', 'guess 8', '198.51.100.66'), '429 rate_limited after 8', 'then 8');
RESET ROLE;
INSERT INTO nmc.login_failures (scope, key) SELECT 'email', 'ann@example.com' FROM generate_series(1, 60);
SET LOCAL ROLE nmc_edge;
SELECT is(pg_temp.try('ann@example.com', 'guess 9', '198.51.100.66'), '429 rate_limited after 900', 'the wait never passes login_delay_max_seconds (15 minutes)');
RESET ROLE; SELECT pg_temp.later(901); SET LOCAL ROLE nmc_edge;
SELECT is(pg_temp.try('ann@example.com', 'correct horse', '198.51.100.99'), '200', 'after the longest wait even a new device gets in with the right password');
RESET ROLE;
SELECT is((SELECT count(*) FROM nmc.login_failures WHERE scope = 'email' AND key = 'ann@example.com'), 0::bigint,
          'a success from a new device clears the email''s failures');
SELECT is((SELECT count(*) FROM nmc.login_failures WHERE scope = 'source' AND key = '198.51.100.66'), 7::bigint,
          'the guesser''s address keeps its failures');
SET LOCAL ROLE nmc_edge;

-- One address spraying many emails waits too, but not the owners behind it on known devices.
CREATE TEMP TABLE bobdev AS SELECT body ->> 'device' AS token FROM pg_temp.login('{"email":"bob@example.com","password":"correct horse"}', '192.0.2.77');
SELECT is((SELECT array_agg(DISTINCT pg_temp.try('spray' || i || '@example.com', 'x', '192.0.2.77')) FROM generate_series(1, 30) i),
          ARRAY['401 invalid_credentials'], 'thirty failures on different emails from one address');
SELECT is(pg_temp.try('bob@example.com', 'correct horse', '192.0.2.77'), '429 rate_limited after 2',
          'the address then waits, for every email');
SELECT is((SELECT pg_temp.try('bob@example.com', 'correct horse', '192.0.2.77', token) FROM bobdev), '200',
          'Bob behind that address, on his known device, is let in');
SELECT is((SELECT pg_temp.try('bob@example.com', 'correct horse', '192.0.2.77', token) FROM dev), '429 rate_limited after 2',
          'Ann''s device token does nothing for Bob''s account');

-- A known device's own wrong passwords count against it; at 5 it is forgotten.
SELECT is((SELECT array_agg(DISTINCT pg_temp.try('bob@example.com', 'typo ' || i, '192.0.2.77', token)) FROM bobdev, generate_series(1, 4) i),
          ARRAY['401 invalid_credentials'], 'four typos on the known device: 401, no wait');
SELECT is((SELECT pg_temp.try('bob@example.com', 'correct horse', '192.0.2.77', token) FROM bobdev), '200', 'then the right password: in');
SELECT is((SELECT array_agg(DISTINCT pg_temp.try('bob@example.com', 'typo ' || i, '192.0.2.77', token)) FROM bobdev, generate_series(1, 5) i),
          ARRAY['401 invalid_credentials'], 'five typos in a row on the device');
SELECT is((SELECT pg_temp.try('bob@example.com', 'correct horse', '192.0.2.77', token) FROM bobdev), '429 rate_limited after 2',
          'the device is forgotten: it waits like any other');
RESET ROLE;
SELECT is((SELECT count(*) FROM nmc.login_failures WHERE key = 'bob@example.com'), 0::bigint,
          'a known device''s typos never counted against the email');
SET LOCAL ROLE nmc_edge;

-- A sign-in code by text, for an owner who is throttled on a new device.
RESET ROLE;
INSERT INTO nmc.login_failures (scope, key) SELECT 'email', 'ann@example.com' FROM generate_series(1, 20);
SET LOCAL ROLE nmc_edge;
CREATE FUNCTION pg_temp.unlock(email text, client text) RETURNS text LANGUAGE sql AS $$
    SELECT a.status || ' ' || coalesce(a.body ->> 'message', a.body #>> '{error,code}')
      FROM nmc_test.api('POST', '/api/auth/unlock', jsonb_build_object('email', email), NULL, client) a $$;
SELECT is(pg_temp.try('ann@example.com', 'correct horse', '203.0.113.200'), '429 rate_limited after 900', 'Ann on a borrowed laptop must wait');
SELECT is(pg_temp.unlock('ann@example.com', '203.0.113.200'),
          '202 If this email has an account and its business has a phone on file, a sign-in code is on its way there by text.',
          'she asks for a code');
SELECT is(pg_temp.unlock('nobody@example.com', '203.0.113.200'), (SELECT pg_temp.unlock('ann@example.com', '203.0.113.201')),
          'an unknown email gets the very same answer');
RESET ROLE;
CREATE TEMP TABLE sent AS SELECT j.payload || jsonb_build_object('body', c.text_to_send) AS payload
  FROM nmc.jobs j JOIN nmc.login_codes c ON c.id = (j.payload ->> 'login_code_id')::uuid WHERE j.kind = 'twilio.sms.login_code'
   AND j.business_id = (SELECT (body #>> '{business,id}')::uuid FROM ann);
SELECT is((SELECT count(*) FROM sent), 1::bigint, 'one text was queued (none for the unknown email, none for a second ask within a minute)');
SELECT is((SELECT (payload ->> 'to') || ' ' || (payload ->> 'from') FROM sent), '+15125550142 +15125550777',
          'to the business''s forward-to phone, from its number');
CREATE TEMP TABLE code AS SELECT substring(payload ->> 'body' FROM 'code: ([0-9]{6})') AS digits FROM sent;
SELECT ok((SELECT digits IS NOT NULL FROM code), 'the text carries a 6-digit code');
SELECT ok((SELECT NOT EXISTS (SELECT 1 FROM nmc.login_codes c, code WHERE c.code_hash = convert_to(code.digits, 'UTF8'))),
          'the code is not stored as given');
GRANT SELECT ON code TO nmc_edge;
SET LOCAL ROLE nmc_edge;
SELECT is((SELECT pg_temp.try('ann@example.com', 'correct horse', '203.0.113.200', NULL, lpad(((digits::int + 1) % 1000000)::text, 6, '0')) FROM code),
          '401 invalid_login_code', 'a wrong code: 401 invalid_login_code');
SELECT is((SELECT pg_temp.try('ann@example.com', 'wrong horse', '203.0.113.200', NULL, digits) FROM code),
          '401 invalid_credentials', 'the right code with a wrong password: still refused');
SELECT is((SELECT pg_temp.try('ann@example.com', 'correct horse', '203.0.113.200', NULL, digits) FROM code),
          '401 invalid_login_code', 'a code works once');
RESET ROLE;
UPDATE nmc.login_codes SET created_at = created_at - interval '2 minutes' WHERE business_id = (SELECT (body #>> '{business,id}')::uuid FROM ann);
SET LOCAL ROLE nmc_edge;
SELECT is(pg_temp.unlock('ann@example.com', '203.0.113.202'),
          '202 If this email has an account and its business has a phone on file, a sign-in code is on its way there by text.', 'a new code a minute later');
RESET ROLE;
TRUNCATE code;
INSERT INTO code SELECT substring(text_to_send FROM 'code: ([0-9]{6})') FROM nmc.login_codes
 WHERE business_id = (SELECT (body #>> '{business,id}')::uuid FROM ann) ORDER BY created_at DESC LIMIT 1;
SET LOCAL ROLE nmc_edge;
SELECT is((SELECT body ? 'device' FROM code, pg_temp.login(jsonb_build_object('email', 'ann@example.com', 'password', 'correct horse', 'login_code', digits), '203.0.113.200')),
          true, 'the right code and password let her in, and the laptop becomes a known device');
RESET ROLE;
SELECT is((SELECT count(*) FROM nmc.login_failures WHERE scope = 'email' AND key = 'ann@example.com'), 0::bigint,
          'the guesser''s failures on her email are cleared');

-- A guessed code dies after 5 wrong tries; sends are limited per address.
UPDATE nmc.login_codes SET created_at = created_at - interval '2 minutes' WHERE business_id = (SELECT (body #>> '{business,id}')::uuid FROM ann);
SET LOCAL ROLE nmc_edge;
SELECT is(pg_temp.unlock('ann@example.com', '198.51.100.66'),
          '202 If this email has an account and its business has a phone on file, a sign-in code is on its way there by text.', 'the guesser asks for a code');
RESET ROLE;
TRUNCATE code;
INSERT INTO code SELECT substring(text_to_send FROM 'code: ([0-9]{6})') FROM nmc.login_codes
 WHERE business_id = (SELECT (body #>> '{business,id}')::uuid FROM ann) ORDER BY created_at DESC LIMIT 1;
SET LOCAL ROLE nmc_edge;
SELECT is((SELECT array_agg(DISTINCT pg_temp.try('ann@example.com', 'correct horse', '198.51.100.66', NULL, lpad(((digits::int + i) % 1000000)::text, 6, '0')))
             FROM code, generate_series(1, 5) i),
          ARRAY['401 invalid_login_code'], 'five wrong codes');
SELECT is((SELECT pg_temp.try('ann@example.com', 'correct horse', '198.51.100.66', NULL, digits) FROM code), '401 invalid_login_code',
          'then even the right code is refused');
RESET ROLE;
UPDATE nmc.login_codes SET requested_from = '198.51.100.66' WHERE business_id = (SELECT (body #>> '{business,id}')::uuid FROM ann);
INSERT INTO nmc.login_codes (business_id, user_id, code_hash, requested_from, expires_at)
SELECT business_id, user_id, code_hash, requested_from, expires_at FROM nmc.login_codes WHERE requested_from = '198.51.100.66' LIMIT 2;
SET LOCAL ROLE nmc_edge;
SELECT is(pg_temp.unlock('nobody@example.com', '198.51.100.66'), '429 rate_limited',
          'an address that had 5 codes sent within the hour is refused, whatever the email');
SELECT is(pg_temp.unlock('nobody@example.com', '198.51.100.67'),
          '202 If this email has an account and its business has a phone on file, a sign-in code is on its way there by text.', 'another address is not');
SELECT is(pg_temp.try('ann@example.com', 'correct horse', '198.51.100.66', NULL, 'abc'), '401 invalid_login_code', 'a code that is not digits is just wrong');

SELECT * FROM finish();
ROLLBACK;
