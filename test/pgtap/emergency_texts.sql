-- emergency_texts.sql — a text reporting danger for the business's trade skips
-- the human window: the customer gets safety advice at once, the owner an
-- emergency event, and the thread goes to a human (no countdown, no AI).
BEGIN;
SELECT plan(11);

CREATE TEMP TABLE b AS SELECT nmc_test.business_with_number('+15125550700') AS id;   -- plumbing
SELECT is(nmc.emergency_term_in((SELECT id FROM b), 'HELP the basement is FLOODING'), 'flooding', 'a word of danger for plumbing');
SELECT is(nmc.emergency_term_in((SELECT id FROM b), 'I smell   gas in the kitchen'), 'smell gas', 'a danger for every trade, spacing ignored');
SELECT is(nmc.emergency_term_in((SELECT id FROM b), 'my faucet drips'), NULL, 'an ordinary request is not an emergency');
SELECT is(nmc.emergency_term_in((SELECT id FROM b), 'there are sparks from the outlet'), NULL, 'sparks are an electrician''s emergency, not a plumber''s');

SELECT nmc_test.twilio_post('/webhooks/twilio/sms', jsonb_build_object('MessageSid', 'SM' || lpad('701', 32, '0'), 'From', '+15125550701',
                            'To', '+15125550700', 'Body', 'Pipe burst, water everywhere!')) IS NULL;
CREATE TEMP TABLE c AS SELECT cv.* FROM nmc.conversations cv JOIN nmc.customers cu ON cu.id = cv.customer_id WHERE cu.phone = '+15125550701';
SELECT is((SELECT mode FROM c), 'human', 'the conversation goes straight to a human');
SELECT is((SELECT count(*) FROM nmc.timers WHERE subject_id = (SELECT id FROM c) AND fired_at IS NULL AND cancelled_at IS NULL), 0::bigint,
          'no human-window countdown');
SELECT matches((SELECT body FROM nmc.messages WHERE conversation_id = (SELECT id FROM c) AND direction = 'outbound'), 'call 911',
               'the customer gets the safety advice at once');
SELECT is((SELECT body ->> 'term' FROM nmc.events WHERE business_id = (SELECT id FROM b) AND type = 'conversation.emergency'), 'water everywhere',
          'the owner is alerted with an emergency event');

SELECT matches((SELECT body FROM nmc.messages WHERE to_phone = '+15125550199' AND conversation_id IS NULL), '^#1 EMERGENCY \(water everywhere\) from \+15125550701: "Pipe burst',
               'the owner''s forward-to phone gets a text too');
SELECT is((SELECT count(*) FROM nmc.jobs j JOIN nmc.messages m ON j.payload ->> 'message_id' = m.id::text WHERE m.to_phone = '+15125550199'), 1::bigint,
          '… queued for Twilio, outside the customer''s thread');
UPDATE nmc.businesses SET emergency_sms_to_owner = false WHERE id = (SELECT id FROM b);
SELECT nmc_test.twilio_post('/webhooks/twilio/sms', jsonb_build_object('MessageSid', 'SM' || lpad('702', 32, '0'), 'From', '+15125550702',
                            'To', '+15125550700', 'Body', 'Sewage coming up the drain')) IS NULL;
SELECT is((SELECT count(*) FROM nmc.messages WHERE to_phone = '+15125550199'), 1::bigint, 'with emergency_sms_to_owner off, only the event alerts');

SELECT * FROM finish();
ROLLBACK;
