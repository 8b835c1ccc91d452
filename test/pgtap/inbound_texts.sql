-- inbound_texts.sql — texts from customers: threading, idempotency on
-- MessageSid, STOP/START/HELP, the human response window (set, visible,
-- cancelled by an owner reply), owner replies and their limit, and status
-- callbacks that only move a message forward.
BEGIN;
SELECT plan(30);

CREATE TEMP TABLE b AS SELECT nmc_test.business_with_number('+15125550100') AS id;
UPDATE nmc.businesses SET human_window_seconds = 60 WHERE id = (SELECT id FROM b);
CREATE FUNCTION pg_temp.text_in(n int, caller text, body text) RETURNS int LANGUAGE sql AS $$
    SELECT status FROM nmc_test.twilio_post('/webhooks/twilio/sms', jsonb_build_object('MessageSid', 'SM' || lpad(n::text, 32, '0'),
                                            'From', caller, 'To', '+15125550100', 'Body', body, 'NumMedia', '0')) $$;
CREATE FUNCTION pg_temp.conv(caller text) RETURNS nmc.conversations LANGUAGE sql AS $$
    SELECT cv.* FROM nmc.conversations cv JOIN nmc.customers c ON c.id = cv.customer_id WHERE c.phone = caller AND cv.state = 'open' $$;

SELECT is(pg_temp.text_in(1, '+15125550143', 'My water heater is leaking'), 200, 'an inbound text is accepted');
SELECT is((SELECT body FROM nmc_test.twilio_post('/webhooks/twilio/sms', jsonb_build_object('MessageSid', 'SM' || lpad('1', 32, '0'),
              'From', '+15125550143', 'To', '+15125550100', 'Body', 'My water heater is leaking'))),
          '<?xml version="1.0" encoding="UTF-8"?><Response></Response>', 'the answer is an empty TwiML response');
SELECT is((SELECT count(*) FROM nmc.messages WHERE twilio_sid = 'SM' || lpad('1', 32, '0')), 1::bigint, 'a retried delivery is stored once');
SELECT is((SELECT author || ' ' || direction || ' ' || status FROM nmc.messages WHERE twilio_sid = 'SM' || lpad('1', 32, '0')),
          'customer inbound received', 'stored as the customer''s message');
SELECT is((pg_temp.conv('+15125550143')).mode, 'human_window', 'it opens the human response window');
SELECT ok((pg_temp.conv('+15125550143')).human_window_deadline BETWEEN now() + interval '59 s' AND now() + interval '61 s',
          'with a deadline human_window_seconds away');
SELECT is((SELECT kind || ' ' || (due_at = (pg_temp.conv('+15125550143')).human_window_deadline) FROM nmc.timers
            WHERE subject_id = (pg_temp.conv('+15125550143')).id AND fired_at IS NULL AND cancelled_at IS NULL),
          'conversation.human_window true', 'a timer is set for that deadline');
SELECT is(pg_temp.text_in(2, '+15125550143', 'Hello?'), 200, 'a second text');
SELECT is((SELECT count(DISTINCT conversation_id) FROM nmc.messages m JOIN nmc.customers c ON c.id = m.customer_id WHERE c.phone = '+15125550143'),
          1::bigint, '… is threaded into the same conversation');
SELECT is((SELECT count(*) FROM nmc.timers WHERE subject_id = (pg_temp.conv('+15125550143')).id), 1::bigint, '… and does not extend the window');

-- The owner answers in time.
SET LOCAL ROLE nmc_edge;
CREATE TEMP TABLE tok AS SELECT nmc_test.register('owner-inbound@example.com') ->> 'token' AS t;
RESET ROLE;
UPDATE nmc.users SET business_id = (SELECT id FROM b) WHERE email = 'owner-inbound@example.com';
CREATE TEMP TABLE tok2 AS SELECT nmc.jwt_sign(jsonb_build_object('sub', u.id, 'business_id', u.business_id, 'exp', extract(epoch FROM now())::bigint + 600),
                                              nmc.setting('jwt_secret')) AS t FROM nmc.users u WHERE email = 'owner-inbound@example.com';
SELECT is((SELECT status FROM nmc_test.api('POST', '/api/conversations/' || (pg_temp.conv('+15125550143')).id || '/messages',
              '{"body":"Hi, this is Joe. I can come at 3pm."}', (SELECT t FROM tok2))), 201, 'the owner replies through the API');
SELECT is((SELECT author || ' ' || from_phone || ' ' || status FROM nmc.messages WHERE body = 'Hi, this is Joe. I can come at 3pm.'),
          'owner +15125550100 pending', 'the reply is sent from the business number');
SELECT is((pg_temp.conv('+15125550143')).mode, 'waiting', 'the reply closes the human window');
SELECT ok((SELECT cancelled_at IS NOT NULL FROM nmc.timers WHERE subject_id = (pg_temp.conv('+15125550143')).id), '… and cancels its timer');
SELECT is((SELECT status || ' ' || (body #>> '{error,code}') FROM nmc_test.api('POST', '/api/conversations/' || (pg_temp.conv('+15125550143')).id || '/messages',
              jsonb_build_object('body', repeat('This message is far too long for a text. ', 25)), (SELECT t FROM tok2))),
          '400 message_too_long', 'a reply over max_reply_segments is refused, not cut');

-- Keywords.
SELECT is(pg_temp.text_in(3, '+15125550150', '  stop '), 200, 'STOP (any case, spaces)');
SELECT ok((SELECT opted_out_at IS NOT NULL FROM nmc.customers WHERE phone = '+15125550150'), 'opts the customer out');
SELECT is((SELECT count(*) FROM nmc.timers t JOIN nmc.conversations cv ON cv.id = t.subject_id JOIN nmc.customers c ON c.id = cv.customer_id
            WHERE c.phone = '+15125550150'), 0::bigint, 'STOP does not open a human window');
SELECT is(pg_temp.text_in(4, '+15125550150', 'Start'), 200, 'START');
SELECT ok((SELECT opted_out_at IS NULL FROM nmc.customers WHERE phone = '+15125550150'), 'opts the customer back in');
SELECT is(pg_temp.text_in(5, '+15125550150', 'HELP'), 200, 'HELP');
SELECT matches((SELECT body FROM nmc.messages WHERE to_phone = '+15125550150' AND direction = 'outbound'), 'Reply STOP to stop texts',
               'gets the business''s help text');
SELECT is(nmc.sms_keyword('Stop please'), NULL, '"Stop please" is not a keyword (only the exact word is)');
SELECT is(ARRAY[nmc.sms_keyword('Stop texting me'), nmc.sms_keyword('please don''t message me again!'), nmc.sms_keyword('Do not text this number'),
                nmc.sms_keyword('remove me from your list')], ARRAY['opt_out', 'opt_out', 'opt_out', 'opt_out'],
          'plain-language opt-outs are opt-outs');
SELECT is(nmc.sms_keyword('Can you stop by tomorrow?'), NULL, 'a sentence that merely contains "stop" is not');

-- Delivery status callbacks, possibly out of order.
UPDATE nmc.messages SET twilio_sid = 'SM' || lpad('99', 32, '0'), status = 'queued' WHERE body = 'Hi, this is Joe. I can come at 3pm.';
CREATE FUNCTION pg_temp.status_cb(st text, code text DEFAULT NULL) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM nmc_test.twilio_post('/webhooks/twilio/sms/status', jsonb_strip_nulls(jsonb_build_object('MessageSid', 'SM' || lpad('99', 32, '0'),
            'MessageStatus', st, 'From', '+15125550100', 'To', '+15125550143', 'ErrorCode', code)));
    RETURN (SELECT status FROM nmc.messages WHERE twilio_sid = 'SM' || lpad('99', 32, '0'));
END $$;
SELECT is(pg_temp.status_cb('delivered'), 'delivered', 'delivered');
SELECT is(pg_temp.status_cb('sent'), 'delivered', 'a late "sent" does not move it back');
SELECT is((SELECT l.status FROM nmc.leads l JOIN nmc.conversations cv ON cv.lead_id = l.id WHERE cv.id = (pg_temp.conv('+15125550143')).id),
          NULL, 'a conversation started by a text (no call) has no lead to move');
UPDATE nmc.messages SET status = 'sent' WHERE twilio_sid = 'SM' || lpad('99', 32, '0');
SELECT is(pg_temp.status_cb('undelivered', '30003'), 'undelivered', 'undelivered');
SELECT is((SELECT error_code FROM nmc.messages WHERE twilio_sid = 'SM' || lpad('99', 32, '0')), 30003, '… with its error code');

SELECT * FROM finish();
ROLLBACK;
