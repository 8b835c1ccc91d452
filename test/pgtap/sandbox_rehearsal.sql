-- sandbox_rehearsal.sql — the dashboard's "test it" routes: in sandbox mode an
-- owner rehearses a missed call and a customer's reply to their own number,
-- through the webhooks' own code; refused without a number or outside sandbox mode.
BEGIN;
SELECT plan(15);

CREATE TEMP TABLE o AS SELECT nmc_test.register('rehearsal@example.com', 'Rehearsal Plumbing') AS r;
CREATE TEMP TABLE t AS SELECT r ->> 'token' AS token, (r #>> '{business,id}')::uuid AS business_id FROM o;
GRANT SELECT ON o, t TO nmc_edge;

SET ROLE nmc_edge;
SELECT is((SELECT status FROM nmc_test.api('POST', '/api/sandbox/missed-call', '{}', (SELECT token FROM t))), 409,
          'no number yet: 409');
SELECT is((SELECT body #>> '{error,code}' FROM nmc_test.api('POST', '/api/sandbox/missed-call', '{}', (SELECT token FROM t))),
          'no_phone_number', '… no_phone_number');
SELECT is((SELECT status FROM nmc_test.api('POST', '/api/sandbox/missed-call', '{}')), 401, 'a token is required');
RESET ROLE;

INSERT INTO nmc.phone_numbers (business_id, phone, simulated) SELECT business_id, '+15125550600', true FROM t;
UPDATE nmc.businesses SET forward_to_phone = '+15125550699' WHERE id = (SELECT business_id FROM t);
SELECT nmc.hours_replace((SELECT business_id FROM t), (SELECT jsonb_agg(jsonb_build_object('weekday', d, 'opens_at', '00:00', 'closes_at', '24:00'))
                                                        FROM generate_series(0, 6) d));

SET ROLE nmc_edge;
CREATE TEMP TABLE call AS SELECT * FROM nmc_test.api('POST', '/api/sandbox/missed-call', '{"from": "(512) 555-0601"}', (SELECT token FROM t));
SELECT is((SELECT status FROM call), 202, 'a rehearsed missed call is accepted');
SELECT is((SELECT body ->> 'from' FROM call), '+15125550601', '… from the caller given, normalised');
SELECT is((SELECT body ->> 'to' FROM call), '+15125550600', '… to the business''s number');
SELECT is((SELECT c ->> 'decision' FROM nmc_test.api('GET', '/api/calls', NULL, (SELECT token FROM t)) a, jsonb_array_elements(a.body -> 'calls') c
            WHERE c ->> 'from' = '+15125550601'), 'texted', '… the owner was rung, nobody answered, the caller is texted (once the inbox applied it)');
SELECT is((SELECT status FROM nmc_test.api('POST', '/api/sandbox/customer-reply', '{"from": "+15125550601"}', (SELECT token FROM t))), 400,
          'a rehearsed reply needs a body');
SELECT is((SELECT body #>> '{error,field}' FROM nmc_test.api('POST', '/api/sandbox/missed-call', '{"from": "not a phone"}', (SELECT token FROM t))),
          'from', 'a caller that is not a phone number is refused, naming the field');
SELECT is((SELECT status FROM nmc_test.api('POST', '/api/sandbox/customer-reply', '{"from": "+15125550601", "body": "Water under the sink"}',
                                           (SELECT token FROM t))), 202, 'a rehearsed customer reply is accepted');
RESET ROLE;

SELECT is((SELECT status FROM nmc.calls WHERE twilio_call_sid = (SELECT body ->> 'call_sid' FROM call)), 'missed', 'the call is recorded as missed');
SELECT is((SELECT array_agg(author || ':' || direction ORDER BY m.created_at) FROM nmc.messages m
            JOIN nmc.customers c ON c.id = m.customer_id WHERE c.phone = '+15125550601'),
          ARRAY['system:outbound', 'customer:inbound'], 'the greeting went out and the reply landed in the same thread');
SELECT ok((SELECT mode = 'human_window' AND human_window_deadline IS NOT NULL FROM nmc.conversations cv JOIN nmc.customers c ON c.id = cv.customer_id
            WHERE c.phone = '+15125550601'), 'the reply opened the human window');
SELECT is((SELECT count(*) FROM nmc.leads l JOIN nmc.customers c ON c.id = l.customer_id WHERE c.phone = '+15125550601'), 1::bigint,
          'one lead for the rehearsal caller');

SELECT nmc.configure('{"twilio_account_sid": "AC00000000000000000000000000000000", "twilio_auth_token": "secret"}');
SET ROLE nmc_edge;
SELECT is((SELECT body #>> '{error,code}' FROM nmc_test.api('POST', '/api/sandbox/missed-call', '{}', (SELECT token FROM t))),
          'sandbox_only', 'with Twilio configured rehearsals are refused (409 sandbox_only)');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
