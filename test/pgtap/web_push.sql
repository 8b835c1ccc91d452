-- web_push.sql — alerts pushed to the owner's devices: the encryption
-- reproduces RFC 8291's example byte for byte; the VAPID key exists from the
-- install and its public half is served; subscriptions are checked (only the
-- browsers' push services, real keys), replaced by endpoint and removed; an
-- alert becomes one push.send job per device even without a verified phone;
-- the request is an aes128gcm body with TTL, Urgency and a VAPID ES256 token
-- for the push service's origin; a device gone (404, 410) is forgotten, one
-- that unsubscribed before the push left is not pushed.
BEGIN;
SELECT plan(28);

-- RFC 8291 Appendix A.
CREATE TEMP TABLE rfc AS SELECT
    'When I grow up, I want to be a watermelon'::text AS plaintext,
    nmc.base64url_decode('yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw') AS as_private,
    'BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8'::text AS as_public,
    nmc.base64url_decode('q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94') AS ua_private,
    'BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4'::text AS ua_public,
    nmc.base64url_decode('DGv6ra1nlYgDCS1FRnbzlw') AS salt,
    nmc.base64url_decode('BTBZMqHH6r4Tts7J_aSIgg') AS auth,
    'DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN'::text AS body;
SELECT is((SELECT nmc.base64url(nmc.web_push_public_key(as_private)) FROM rfc), (SELECT as_public FROM rfc), 'the sender''s public key from its private key (RFC 8291 Appendix A)');
SELECT is((SELECT nmc.base64url(nmc.web_push_public_key(ua_private)) FROM rfc), (SELECT ua_public FROM rfc), '… and the user agent''s');
SELECT is((SELECT nmc.base64url(nmc.web_push_encrypt(convert_to(plaintext, 'UTF8'), nmc.base64url_decode(ua_public), auth, as_private, salt)) FROM rfc),
          (SELECT body FROM rfc), 'the encrypted message is RFC 8291''s example byte for byte');
SELECT isnt((SELECT nmc.web_push_encrypt(convert_to(plaintext, 'UTF8'), nmc.base64url_decode(ua_public), auth) FROM rfc),
            (SELECT nmc.web_push_encrypt(convert_to(plaintext, 'UTF8'), nmc.base64url_decode(ua_public), auth) FROM rfc),
            'without a given key and salt, each message is encrypted afresh');
SELECT is((SELECT length(nmc.web_push_encrypt(convert_to(plaintext, 'UTF8'), nmc.base64url_decode(ua_public), auth)) FROM rfc), 86 + 41 + 17,
          '… header (86) + payload + delimiter and tag (17)');
SELECT throws_ok($$ SELECT nmc.web_push_encrypt('x', '\x04'::bytea, (SELECT auth FROM rfc)) $$, '22023', NULL, 'a p256dh that is not 65 bytes is refused');
SELECT throws_ok($$ SELECT nmc.web_push_encrypt(convert_to(repeat('x', 4000), 'UTF8'), nmc.base64url_decode((SELECT ua_public FROM rfc)), (SELECT auth FROM rfc)) $$,
                 '22023', NULL, 'a payload that does not fit one 4096-byte record is refused');
SELECT is(length(nmc.es256_sign((SELECT as_private FROM rfc), 'message')), 64, 'an ES256 signature is r || s, 64 bytes');

-- The VAPID key, made at install.
SELECT is(length(nmc.base64url_decode(nmc.setting('web_push_private_key'))), 32, 'the install made a VAPID private key');
SELECT is((SELECT is_secret FROM nmc.settings WHERE name = 'web_push_private_key'), true, '… kept as a secret setting');

CREATE TEMP TABLE r AS SELECT nmc_test.register('pushes@example.com', 'Push Plumbing') AS body;
CREATE TEMP TABLE b AS SELECT (body #>> '{business,id}')::uuid AS id, body ->> 'token' AS token FROM r;
UPDATE nmc.businesses SET forward_to_phone = '+15125550199' WHERE id = (SELECT id FROM b);
INSERT INTO nmc.phone_numbers (business_id, phone) SELECT id, '+15125550300' FROM b;
SELECT nmc.hours_replace((SELECT id FROM b), (SELECT jsonb_agg(jsonb_build_object('weekday', d, 'opens_at', '00:00', 'closes_at', '24:00'))
                                               FROM generate_series(0, 6) d));
CREATE FUNCTION pg_temp.api(method text, path text, body jsonb DEFAULT NULL) RETURNS TABLE (status int, body jsonb) LANGUAGE sql AS $$
    SELECT a.status, a.body FROM nmc_test.api(method, path, body, (SELECT token FROM b)) a $$;

SELECT is((SELECT body ->> 'public_key' FROM pg_temp.api('GET', '/api/push/key')),
          nmc.base64url(nmc.web_push_public_key(nmc.base64url_decode(nmc.setting('web_push_private_key')))),
          'GET /api/push/key: the public half, base64url (applicationServerKey)');

-- Subscriptions: only the browsers' push services (here the local fake), real keys.
SELECT is((SELECT status || ' ' || (body #>> '{error,field}') FROM pg_temp.api('POST', '/api/push/subscriptions', jsonb_build_object(
              'endpoint', 'http://10.0.0.5/admin', 'keys', jsonb_build_object('p256dh', (SELECT ua_public FROM rfc), 'auth', 'BTBZMqHH6r4Tts7J_aSIgg')))),
          '400 endpoint', 'an endpoint that is no push service is refused (no posting anywhere on our behalf)');
SELECT nmc.configure('{"web_push_endpoints": "^http://127\\.0\\.0\\.1:[0-9]+/push/"}');
SELECT is((SELECT status || ' ' || (body #>> '{error,field}') FROM pg_temp.api('POST', '/api/push/subscriptions', jsonb_build_object(
              'endpoint', 'http://127.0.0.1:18999/push/a1', 'keys', jsonb_build_object('p256dh', 'BAAA', 'auth', 'BTBZMqHH6r4Tts7J_aSIgg')))),
          '400 keys.p256dh', 'a p256dh that is no P-256 key is refused');
SELECT is((SELECT status FROM pg_temp.api('POST', '/api/push/subscriptions', jsonb_build_object(
              'endpoint', 'http://127.0.0.1:18999/push/a1', 'expirationTime', NULL,
              'keys', jsonb_build_object('p256dh', (SELECT ua_public FROM rfc), 'auth', 'BTBZMqHH6r4Tts7J_aSIgg')))),
          201, 'a browser''s PushSubscription as JSON: 201');
SELECT is((SELECT status FROM pg_temp.api('POST', '/api/push/subscriptions', jsonb_build_object(
              'endpoint', 'http://127.0.0.1:18999/push/a1', 'keys', jsonb_build_object('p256dh', (SELECT ua_public FROM rfc), 'auth', 'AAAAAAAAAAAAAAAAAAAAAA')))),
          200, 'the same endpoint again: 200, one device');
SELECT is((SELECT count(*) FROM nmc.push_subscriptions WHERE endpoint = 'http://127.0.0.1:18999/push/a1'), 1::bigint, '… kept once');

-- An alert is pushed to the device, even with no verified phone to text.
SELECT is((SELECT status FROM nmc_test.twilio_post('/webhooks/twilio/sms', jsonb_build_object('MessageSid', 'SM' || lpad('71', 32, '0'),
              'From', '+15125550401', 'To', '+15125550300', 'Body', 'The sink is leaking again')) t), 200, 'a customer writes');
CREATE TEMP TABLE push AS SELECT j.* FROM nmc.jobs j WHERE j.kind = 'push.send' AND j.business_id = (SELECT id FROM b);
SELECT is((SELECT count(*) FROM push), 1::bigint, 'one push.send job for the one device');
SELECT is((SELECT payload #>> '{payload,kind}' || ' ' || (payload #>> '{payload,title}') FROM push), 'customer_replied A customer replied: your turn',
          '… kind and title');
SELECT matches((SELECT payload #>> '{payload,body}' FROM push), '^#1 \+15125550401: "The sink is leaking again" Your turn: \d+ s before the assistant answers\.$',
               '… the alert''s words, without the link');
SELECT matches((SELECT payload #>> '{payload,url}' FROM push), '^/conversations/[0-9a-f-]{36}$', '… and the conversation to open');

-- The request the dispatcher sends.
CREATE TEMP TABLE req AS SELECT (nmc.push_send_build(j, nmc.settings_json())).* FROM nmc.jobs j WHERE j.id = (SELECT id FROM push);
SELECT is((SELECT method || ' ' || url FROM req), 'POST http://127.0.0.1:18999/push/a1', 'POST to the device''s endpoint');
SELECT is((SELECT length(body_bytes) FROM req), 86 + (SELECT length(convert_to((payload -> 'payload')::text, 'UTF8')) FROM push) + 17,
          '… an aes128gcm body (the payload encrypted for the device)');
SELECT ok((SELECT headers @> ARRAY['Content-Encoding: aes128gcm', 'TTL: 3600', 'Urgency: high'] FROM req), '… with Content-Encoding, TTL and Urgency');
SELECT is((SELECT convert_from(nmc.base64url_decode(split_part(substring(h FROM 'vapid t=([^,]+)'), '.', 2)), 'UTF8')::jsonb - 'exp'
             FROM req, unnest(headers) h WHERE h LIKE 'Authorization: vapid %'),
          '{"aud": "http://127.0.0.1:18999", "sub": "mailto:support@nevermisscall.com"}'::jsonb,
          '… and a VAPID token for the push service''s origin, with our contact');

-- Gone devices are forgotten; other refusals are not.
SELECT nmc.push_send_failed(j, 'http_400') FROM nmc.jobs j WHERE j.id = (SELECT id FROM push);
SELECT is((SELECT count(*) FROM nmc.push_subscriptions WHERE business_id = (SELECT id FROM b)), 1::bigint, 'a 400 from the push service keeps the device');
SELECT nmc.push_send_failed(j, 'http_410') FROM nmc.jobs j WHERE j.id = (SELECT id FROM push);
SELECT is((SELECT count(*) FROM nmc.push_subscriptions WHERE business_id = (SELECT id FROM b)), 0::bigint, 'a 410 forgets it');
SELECT throws_ok($$ SELECT nmc.push_send_build(j, nmc.settings_json()) FROM nmc.jobs j WHERE j.id = (SELECT id FROM push) $$, 'NMD01', NULL,
                 'a push whose device is gone is dropped, not sent');

SELECT * FROM finish();
ROLLBACK;
