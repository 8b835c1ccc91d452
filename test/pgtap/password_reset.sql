-- password_reset.sql — a forgotten password is replaced with a code texted to
-- the owner's phone: the same answer for unknown emails, a code that works
-- once, wrong codes counted, the new password in force and every older
-- session signed out (a session_revoked 401), known devices forgotten; signing
-- out everywhere by hand does the same to every session.
BEGIN;
SELECT plan(15);

CREATE TEMP TABLE r AS SELECT nmc_test.register('forgot@example.com', 'Forgetful Plumbing') AS body;
CREATE TEMP TABLE b AS SELECT (body #>> '{business,id}')::uuid AS id, body ->> 'token' AS token FROM r;
UPDATE nmc.businesses SET forward_to_phone = '+15125550199' WHERE id = (SELECT id FROM b);
INSERT INTO nmc.phone_numbers (business_id, phone) SELECT id, '+15125550350' FROM b;
-- An older session, as a browser left logged in would hold (issued this same second: no matter).
CREATE TEMP TABLE old_session AS SELECT nmc.issue_token(u) AS token FROM nmc.users u WHERE u.email = 'forgot@example.com';

SELECT is((SELECT status || ' ' || (body ->> 'message') FROM nmc_test.api('POST', '/api/auth/password/forgot', '{"email": "Forgot@Example.com"}')),
          '202 If this email has an account and its business has a phone on file, a code to set a new password is on its way there by text.',
          'POST /api/auth/password/forgot: 202');
SELECT is((SELECT status || ' ' || (body ->> 'message') FROM nmc_test.api('POST', '/api/auth/password/forgot', '{"email": "nobody-here@example.com"}')),
          (SELECT status || ' ' || (body ->> 'message') FROM nmc_test.api('POST', '/api/auth/password/forgot', '{"email": "nobody-here@example.com"}')),
          '… the same answer for an email without an account');
CREATE TEMP TABLE code AS SELECT id, substring(text_to_send FROM ': ([0-9]{6}) is your code') AS digits FROM nmc.login_codes
 WHERE business_id = (SELECT id FROM b) AND purpose = 'password_reset';
SELECT is((SELECT count(*) FROM code), 1::bigint, 'one code');
SELECT is((SELECT j.payload ->> 'to' FROM nmc.jobs j JOIN code ON j.payload ->> 'login_code_id' = code.id::text), '+15125550199',
          '… texted to the owner''s phone');

SELECT is((SELECT status || ' ' || (body #>> '{error,code}') FROM nmc_test.api('POST', '/api/auth/password/reset', jsonb_build_object(
              'email', 'forgot@example.com', 'code', lpad(((SELECT digits::int FROM code) + 1) % 1000000 || '', 6, '0'), 'password', 'a brand new password'))),
          '400 invalid_code', 'a wrong code: 400 invalid_code');
SELECT is((SELECT attempts FROM nmc.login_codes WHERE id = (SELECT id FROM code)), 1, '… counted');
SELECT is((SELECT status || ' ' || (body #>> '{error,field}') FROM nmc_test.api('POST', '/api/auth/password/reset', jsonb_build_object(
              'email', 'forgot@example.com', 'code', (SELECT digits FROM code), 'password', 'short'))),
          '400 password', 'a password under 8 bytes is refused (the code stays good)');
CREATE TEMP TABLE reset AS SELECT status, body FROM nmc_test.api('POST', '/api/auth/password/reset', jsonb_build_object(
    'email', 'forgot@example.com', 'code', (SELECT digits FROM code), 'password', 'a brand new password'));
SELECT is((SELECT status FROM reset), 200, 'the right code and a new password: 200');
SELECT ok((SELECT body ? 'token' FROM reset), '… with a session token');
SELECT is((SELECT status FROM nmc_test.api('GET', '/api/me', NULL, (SELECT body ->> 'token' FROM reset))), 200, '… which works');
SELECT is((SELECT status || ' ' || (body #>> '{error,code}') FROM nmc_test.api('GET', '/api/me', NULL, (SELECT token FROM old_session))),
          '401 session_revoked', 'a session from before the reset is signed out');
SELECT is((SELECT status FROM nmc_test.api('POST', '/api/auth/password/reset', jsonb_build_object(
              'email', 'forgot@example.com', 'code', (SELECT digits FROM code), 'password', 'yet another password'))), 400, 'the code works once');
SELECT is((SELECT status FROM nmc_test.api('POST', '/api/auth/login', '{"email": "forgot@example.com", "password": "a brand new password"}')), 200,
          'the new password logs in');

-- Signing out everywhere.
CREATE TEMP TABLE s AS SELECT body ->> 'token' AS token FROM nmc_test.api('POST', '/api/auth/login', '{"email": "forgot@example.com", "password": "a brand new password"}');
SELECT is((SELECT status FROM nmc_test.api('POST', '/api/auth/sign-out-everywhere', NULL, (SELECT body ->> 'token' FROM reset))), 200,
          'POST /api/auth/sign-out-everywhere');
SELECT is((SELECT status || ' ' || (body #>> '{error,code}') FROM nmc_test.api('GET', '/api/me', NULL, (SELECT token FROM s))),
          '401 session_revoked', '… every session of the account stops working');

SELECT * FROM finish();
ROLLBACK;
