-- twilio_signatures.sql — X-Twilio-Signature checking against the test
-- vectors of Twilio's own libraries (../shared/reference/twilio.md §4.4), and
-- every unsigned, mis-signed or tampered webhook refused with 403, writing nothing.
BEGIN;
SELECT plan(17);

CREATE TEMP TABLE v AS SELECT ARRAY['CallSid', 'CA1234567890ABCDE', 'Caller', '+14158675309', 'Digits', '1234',
                                    'From', '+14158675309', 'To', '+18005551212'] AS common;
SELECT is(nmc.twilio_signature('https://mycompany.com/myapp.php?foo=1&bar=2', (SELECT common FROM v), '12345'),
          'RSOYDt4T1cUTdK1PDd93/VVr8B8=', 'vector: basic');
SELECT ok(nmc.twilio_signature_valid('https://mycompany.com:1234/myapp.php?foo=1&bar=2', (SELECT common FROM v), '12345', 'RSOYDt4T1cUTdK1PDd93/VVr8B8='),
          'vector: https with an explicit port validates without it');
SELECT is(nmc.twilio_signature('http://mycompany.com:1234/myapp.php?foo=1&bar=2', (SELECT common FROM v), '12345'),
          'Zmvh+3yNM1Phv2jhDCwEM3q5ebU=', 'vector: http keeps its port');
SELECT ok(nmc.twilio_signature_valid('https://mycompany.com/myapp.php?foo=1&bar=2', (SELECT common FROM v), '12345', 'kvajT1Ptam85bY51eRf/AJRuM3w='),
          'vector: signed with :443 added');
SELECT ok(nmc.twilio_signature_valid('http://mycompany.com/myapp.php?foo=1&bar=2', (SELECT common FROM v), '12345', '0ZXoZLH/DfblKGATFgpif+LLRf4='),
          'vector: signed with :80 added');
SELECT is(nmc.twilio_signature('https://mycompany.com/myapp.php?foo=1&bar=2',
                               ARRAY['Sid', 'CA123', 'SidAccount', 'AC123', 'Digits', '5678', 'Digits', '1234', 'Digits', '1234'], '12345'),
          'IK+Dwps556ElfBT0I3Rgjkr1wJU=', 'vector: repeated keys (distinct values, sorted)');
SELECT is(nmc.twilio_signature('https://user:pass@mycompany.com/myapp.php?foo=1&bar=2', (SELECT common FROM v), '12345'),
          'CukzLTc1tT5dXEDIHm/tKBanW10=', 'vector: credentials in the URL');
SELECT is(nmc.twilio_signature('https://example.com/myapp.php?foo=1&bar=2',
                               ARRAY['CallSid', 'CA1234567890ABCDE', 'Caller', '+14158675310', 'Digits', '1234', 'From', '+14158675310', 'To', '+18005551212'], '12345'),
          'L/OH5YylLD5NRKLltdqwSvS0BnU=', 'vector: the security page walkthrough');
SELECT ok(NOT nmc.twilio_signature_valid('https://mycompany.com/myapp.php?foo=1&bar=2', (SELECT common FROM v), '54321', 'RSOYDt4T1cUTdK1PDd93/VVr8B8='),
          'another auth token does not validate');
SELECT is(nmc.form_decode('To=%2B15125550100&Body=Hi+there%21&Body=again&Empty='),
          ARRAY['To', '+15125550100', 'Body', 'Hi there!', 'Body', 'again', 'Empty', ''], 'form bodies decode with repeats kept');
SELECT throws_ok($$ SELECT nmc.form_decode('Body=%ZZ') $$, '22P02', NULL, 'a malformed form body is refused');

SELECT nmc_test.business_with_number('+15125550100') IS NULL;
CREATE TEMP TABLE call AS SELECT '{"CallSid":"CA00000000000000000000000000000077","From":"+15125550143","To":"+15125550100","CallStatus":"ringing"}'::jsonb AS p;
SELECT is((SELECT status FROM nmc_api.handle('POST', '/webhooks/twilio/voice', '{}', '{"content-type": "application/x-www-form-urlencoded"}', '127.0.0.1', nmc.form_encode((SELECT p FROM call)), NULL)),
          403, 'no signature: 403');
SELECT is((SELECT status FROM nmc_test.twilio_post('/webhooks/twilio/voice', (SELECT p FROM call), 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=')), 403, 'a wrong signature: 403');
SELECT is((SELECT status FROM nmc_api.handle('POST', '/webhooks/twilio/voice', '{}',
              jsonb_build_object('content-type', 'application/x-www-form-urlencoded', 'x-twilio-signature', (SELECT nmc.twilio_signature(rtrim(nmc.setting('public_url'), '/') || '/webhooks/twilio/voice',
                                                                                   ARRAY['CallSid', 'CA00000000000000000000000000000077', 'From', '+15125550143',
                                                                                         'To', '+15125550100', 'CallStatus', 'ringing'], nmc.webhook_signing_token()))),
              '127.0.0.1', 'CallSid=CA00000000000000000000000000000077&From=%2B15125559999&To=%2B15125550100&CallStatus=ringing', NULL)),
          403, 'a tampered body (another caller): 403');
SELECT is((SELECT status FROM nmc_api.handle('POST', '/webhooks/twilio/voice', '{}',
              jsonb_build_object('content-type', 'application/x-www-form-urlencoded', 'x-twilio-signature', (SELECT nmc.twilio_signature(rtrim(nmc.setting('public_url'), '/') || '/webhooks/twilio/sms',
                                                                                   ARRAY['CallSid', 'CA00000000000000000000000000000077', 'CallStatus', 'ringing', 'From', '+15125550143',
                                                                                         'To', '+15125550100'], nmc.webhook_signing_token()))),
              '127.0.0.1', nmc.form_encode((SELECT p FROM call)), NULL)),
          403, 'signed for another URL: 403');
SELECT is((SELECT count(*) FROM nmc.calls WHERE twilio_call_sid = 'CA00000000000000000000000000000077'), 0::bigint, 'refused webhooks wrote nothing');
SELECT is((SELECT status FROM nmc_test.twilio_post('/webhooks/twilio/voice', (SELECT p FROM call))), 200, 'the correctly signed webhook is accepted');

SELECT * FROM finish();
ROLLBACK;
