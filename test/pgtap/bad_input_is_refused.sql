-- bad_input_is_refused.sql — hostile input gets a 4xx with a stable code and
-- writes nothing, never a 500: JSON holding \u0000 or nested 50,000 deep (on
-- the routes that take JSON, sign-up and log-in included), a Twilio webhook
-- that is not form-encoded or has a field longer than Twilio sends, and a
-- token that is not valid yet (nbf in the future, iat far in the future).
BEGIN;
SELECT plan(22);

CREATE FUNCTION pg_temp.post(path text, body text, token text DEFAULT NULL) RETURNS TABLE (status int, body jsonb) LANGUAGE sql AS $$
    SELECT h.status, h.body::jsonb FROM nmc_api.handle('POST', path, '{}',
        CASE WHEN token IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('authorization', 'Bearer ' || token) END, '192.0.2.10', body, NULL) h $$;
CREATE TEMP TABLE users_before AS SELECT count(*) AS n FROM nmc.users;
CREATE TEMP TABLE owner AS SELECT nmc_test.register('bad-input@example.com') AS r;

SELECT is((SELECT status FROM pg_temp.post('/api/auth/register', '{"email":"nul@example.com","password":"a good password","name":"N\u0000ul",
                                           "business_name":"Nul Co","trade_type":"plumbing"}')), 400, 'sign-up with \u0000 in the JSON: 400');
SELECT is((SELECT body #>> '{error,code}' FROM pg_temp.post('/api/auth/register', '{"email":"nul@example.com","password":"x\u0000"}')),
          'malformed_json', '… malformed_json');
SELECT is((SELECT status || ' ' || (body #>> '{error,code}') FROM pg_temp.post('/api/auth/login', '{"email":"\u0000","password":"x"}')),
          '400 malformed_json', 'log-in with \u0000: 400 malformed_json');
SELECT is((SELECT status FROM pg_temp.post('/api/auth/login', repeat('[', 50000) || repeat(']', 50000))), 400,
          'a body nested 50,000 deep: 400');
SELECT matches((SELECT body #>> '{error,message}' FROM pg_temp.post('/api/auth/register', repeat('{"a":', 50000) || '1' || repeat('}', 50000))),
               'nested too deeply', '… saying why');
SELECT is((SELECT status FROM nmc_api.handle('PATCH', '/api/business', '{}',
              jsonb_build_object('authorization', 'Bearer ' || (SELECT r ->> 'token' FROM owner)), '192.0.2.10', '{"city":"Aus\u0000tin"}', NULL)),
          400, 'an authenticated PATCH with \u0000: 400');
SELECT is((SELECT count(*) FROM nmc.users) - (SELECT n FROM users_before), 1::bigint, 'no user was created by a refused sign-up');
SELECT is((SELECT city FROM nmc.businesses WHERE id = (SELECT (r #>> '{business,id}')::uuid FROM owner)) IS DISTINCT FROM 'Austin', true,
          'and the refused PATCH changed nothing');

-- Webhooks: Twilio's form encoding only, and no field longer than Twilio sends.
SELECT nmc_test.business_with_number('+15125550960');
CREATE FUNCTION pg_temp.sms(params jsonb, content_type text) RETURNS TABLE (status int, body text) LANGUAGE sql AS $$
    SELECT h.status, h.body FROM nmc_api.handle('POST', '/webhooks/twilio/sms', '{}',
        jsonb_strip_nulls(jsonb_build_object('content-type', content_type,
            'x-twilio-signature', nmc.twilio_signature(rtrim(nmc.setting('public_url'), '/') || '/webhooks/twilio/sms',
                (SELECT coalesce(array_agg(x), '{}') FROM (SELECT unnest(ARRAY[key, value]) x FROM jsonb_each_text(params)) s),
                nmc.webhook_signing_token()))),
        '127.0.0.1', nmc.form_encode(params), NULL) h $$;
CREATE FUNCTION pg_temp.text_params(n int, body text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_object('MessageSid', 'SM' || lpad(n::text, 32, '0'), 'From', '+15125550961', 'To', '+15125550960', 'Body', body) $$;
SELECT is((SELECT status FROM pg_temp.sms(pg_temp.text_params(1, 'hello'), 'text/plain')), 415, 'a webhook sent as text/plain: 415');
SELECT is((SELECT body::jsonb #>> '{error,code}' FROM pg_temp.sms(pg_temp.text_params(1, 'hello'), NULL)), 'unsupported_media_type',
          'a webhook without a content type: unsupported_media_type');
SELECT is((SELECT status FROM pg_temp.sms(pg_temp.text_params(2, 'hello'), 'application/x-www-form-urlencoded; charset=utf-8')), 200,
          'form-encoded with a charset: accepted');
SELECT is((SELECT status FROM pg_temp.sms(pg_temp.text_params(3, repeat('x', 1600)), 'application/x-www-form-urlencoded')), 200,
          'a body of 1,600 characters (Twilio''s most): accepted');
SELECT is((SELECT status || ' ' || (body::jsonb #>> '{error,code}') || ' ' || (body::jsonb #>> '{error,field}')
             FROM pg_temp.sms(pg_temp.text_params(4, repeat('x', 1601)), 'application/x-www-form-urlencoded')), '400 field_too_long Body',
          'a body of 1,601 characters: 400 field_too_long, naming Body');
SELECT is((SELECT body::jsonb #>> '{error,field}'
             FROM pg_temp.sms(pg_temp.text_params(5, 'hi') || jsonb_build_object('FromCity', repeat('y', 5000)), 'application/x-www-form-urlencoded')),
          'FromCity', 'any other field longer than 4,096 characters: refused, naming it');
SELECT is((SELECT count(*) FROM nmc.webhook_inbox WHERE webhook_key IN ('SM' || lpad('1', 32, '0'), 'SM' || lpad('4', 32, '0'), 'SM' || lpad('5', 32, '0'))),
          0::bigint, 'nothing refused was recorded');
SELECT is((SELECT count(*) FROM nmc.webhook_inbox WHERE webhook_key IN ('SM' || lpad('2', 32, '0'), 'SM' || lpad('3', 32, '0'))),
          2::bigint, 'what was accepted waits in the inbox');

-- Tokens that are not valid yet.
CREATE FUNCTION pg_temp.token(extra jsonb) RETURNS text LANGUAGE sql AS $$
    SELECT nmc.jwt_sign(jsonb_build_object('sub', (SELECT r #>> '{user,id}' FROM owner), 'business_id', (SELECT r #>> '{business,id}' FROM owner),
                                           'exp', floor(extract(epoch FROM now()))::bigint + 3600) || extra, nmc.setting('jwt_secret')) $$;
CREATE FUNCTION pg_temp.me(token text) RETURNS text LANGUAGE sql AS $$
    SELECT h.status || ' ' || coalesce(h.body::jsonb #>> '{error,code}', 'ok')
      FROM nmc_api.handle('GET', '/api/me', '{}', jsonb_build_object('authorization', 'Bearer ' || token), '192.0.2.10', NULL, NULL) h $$;
SELECT is(pg_temp.me(pg_temp.token(jsonb_build_object('iat', floor(extract(epoch FROM now()))::bigint))), '200 ok', 'a token issued now: accepted');
SELECT is(pg_temp.me(pg_temp.token(jsonb_build_object('nbf', floor(extract(epoch FROM now()))::bigint + 600))), '401 jwt_not_yet_valid',
          'nbf in the future: 401 jwt_not_yet_valid');
SELECT is(pg_temp.me(pg_temp.token(jsonb_build_object('nbf', floor(extract(epoch FROM now()))::bigint - 5))), '200 ok', 'nbf in the past: accepted');
SELECT is(pg_temp.me(pg_temp.token(jsonb_build_object('iat', floor(extract(epoch FROM now()))::bigint + 3600))), '401 jwt_not_yet_valid',
          'iat an hour ahead: 401 jwt_not_yet_valid');
SELECT is(pg_temp.me(pg_temp.token(jsonb_build_object('nbf', 'tomorrow'))), '401 jwt_malformed', 'a time claim that is not a number: jwt_malformed');
SELECT throws_ok(format('SELECT nmc.jwt_verify(%L, %L)', nmc.jwt_sign('{"exp":4102444800,"nbf":4102444000}', 'k'), 'k'),
                 'NMJ06', NULL, 'nmc.jwt_verify: NMJ06 for a token not valid yet');

SELECT * FROM finish();
ROLLBACK;
