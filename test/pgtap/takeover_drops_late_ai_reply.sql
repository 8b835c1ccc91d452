-- takeover_drops_late_ai_reply.sql — after the owner takes over, the AI is
-- silent: a reply that arrives later is kept as dropped and never queued for
-- sending; in AI mode the same call sends; release hands the thread back.
BEGIN;
SELECT plan(13);

CREATE TEMP TABLE b AS SELECT nmc_test.business_with_number('+15125550500') AS id;
SELECT nmc_test.twilio_post('/webhooks/twilio/sms', jsonb_build_object('MessageSid', 'SM' || lpad('501', 32, '0'), 'From', '+15125550501',
                            'To', '+15125550500', 'Body', 'Is anyone there?')) IS NULL;
CREATE TEMP TABLE c AS SELECT cv.id FROM nmc.conversations cv JOIN nmc.customers cu ON cu.id = cv.customer_id WHERE cu.phone = '+15125550501';
-- The window ran out and the AI engaged.
SELECT is((nmc.conversation_set_mode((SELECT cv FROM nmc.conversations cv WHERE id = (SELECT id FROM c)), 'ai')).mode, 'ai', 'the AI is on');
SELECT is((nmc.ai_send_reply((SELECT id FROM c), 'Hi! I''m the automated assistant for Test Plumbing. What''s your name?')).status, 'pending',
          'in AI mode an AI reply is sent');
SELECT is((SELECT count(*) FROM nmc.jobs j JOIN nmc.messages m ON j.payload ->> 'message_id' = m.id::text
            WHERE m.conversation_id = (SELECT id FROM c) AND m.author = 'ai'), 1::bigint, '… through a twilio.sms.send job');

UPDATE nmc.businesses SET max_ai_segments = 1 WHERE id = (SELECT id FROM b);
SELECT ok((nmc.sms_segments((nmc.ai_send_reply((SELECT id FROM c), repeat('This is a long sentence about your booking. ', 10))).body)).segments = 1,
          'an AI reply is capped at max_ai_segments');
SELECT is(nmc.sms_fit(repeat('Word ', 25) || 'end. ' || repeat('x', 300), 1), repeat('Word ', 25) || 'end.', 'sms_fit ends on a full sentence when that keeps most of it');
SELECT matches(nmc.sms_fit('One. ' || repeat('x', 300), 1), '^One\. x+\.\.\.$', '… and otherwise cuts, ending with three dots (GSM-7, unlike an ellipsis)');
SELECT is((nmc.conversation_takeover((SELECT id FROM c))).mode, 'human', 'the owner takes over');
CREATE TEMP TABLE late AS SELECT * FROM nmc.ai_send_reply((SELECT id FROM c), 'Thanks! When would suit you?');
SELECT is((SELECT status FROM late), 'dropped', 'an AI reply arriving after the takeover is dropped');
SELECT is((SELECT count(*) FROM nmc.jobs WHERE payload ->> 'message_id' = (SELECT id::text FROM late)), 0::bigint, '… never queued for sending');
SELECT matches((SELECT error_message FROM late), 'human mode', '… and says why, for the audit');
SELECT throws_ok($$ SELECT nmc.conversation_set_mode((SELECT cv FROM nmc.conversations cv WHERE id = (SELECT id FROM c)), 'ai') $$,
                 'NM409', NULL, 'the AI cannot switch itself back on while a human has the thread');
SELECT is((nmc.conversation_release((SELECT id FROM c))).mode, 'waiting', 'release hands the thread back');
SELECT throws_ok($$ SELECT nmc.conversation_release((SELECT id FROM c)) $$, 'NM409', NULL, 'releasing twice is refused');

SELECT * FROM finish();
ROLLBACK;
