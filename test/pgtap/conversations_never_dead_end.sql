-- conversations_never_dead_end.sql — the owner can always text a customer: a
-- reply to a closed conversation goes to the customer's open one on that
-- number (a new one if none), which the owner then has; any number can be
-- texted from the dashboard (a new customer or a known one); opt-outs still
-- hold. Quick replies: three to start with, rendered for the conversation's
-- customer, added, changed, reordered and deleted, only one's own.
BEGIN;
SELECT plan(24);

CREATE TEMP TABLE r AS SELECT nmc_test.register('dead-end@example.com', 'Never Closed Plumbing') AS body;
CREATE TEMP TABLE b AS SELECT (body #>> '{business,id}')::uuid AS id, body ->> 'token' AS token FROM r;
CREATE FUNCTION pg_temp.api(method text, path text, body jsonb DEFAULT NULL) RETURNS TABLE (status int, body jsonb) LANGUAGE sql AS $$
    SELECT a.status, a.body FROM nmc_test.api(method, path, body, (SELECT token FROM b)) a $$;

SELECT is((SELECT status || ' ' || (body #>> '{error,code}') FROM pg_temp.api('POST', '/api/conversations', '{"to": "+15125550421", "body": "Hi"}')),
          '409 no_number', 'without a texting number, nothing can be started: 409 no_number');
INSERT INTO nmc.phone_numbers (business_id, phone) SELECT id, '+15125550320' FROM b;

-- A new number.
CREATE TEMP TABLE started AS SELECT status, body FROM pg_temp.api('POST', '/api/conversations', '{"to": "(512) 555-0421", "body": "Hi, this is Joe about your quote"}');
SELECT is((SELECT status FROM started), 201, 'POST /api/conversations texts a new number: 201');
SELECT is((SELECT body #>> '{message,author}' || ' ' || (body #>> '{message,body}') FROM started), 'owner Hi, this is Joe about your quote', '… as the owner''s text');
SELECT is((SELECT body #>> '{conversation,mode}' FROM started), 'human', '… in a conversation the owner has (the assistant stays out)');
SELECT is((SELECT body #>> '{conversation,customer,phone}' FROM started), '+15125550421', '… with the new customer, the number normalised');
SELECT is((SELECT to_phone || ' ' || from_phone FROM nmc.messages WHERE id = (SELECT (body #>> '{message,id}')::uuid FROM started)),
          '+15125550421 +15125550320', '… to that number, from the business''s');
SELECT is((SELECT status || ' ' || (body #>> '{error,field}') FROM pg_temp.api('POST', '/api/conversations', '{"to": "12", "body": "Hi"}')),
          '400 to', 'a number that is none: 400 on to');
SELECT is((SELECT status || ' ' || (body #>> '{error,code}') FROM pg_temp.api('POST', '/api/conversations',
              jsonb_build_object('to', '+15125550421', 'body', repeat('Long text. ', 130)))), '400 message_too_long', 'longer than max_reply_segments: 400');

-- A closed conversation is no dead end.
SELECT nmc.conversation_close(c) FROM nmc.conversations c WHERE c.id = (SELECT (body #>> '{conversation,id}')::uuid FROM started);
CREATE TEMP TABLE again AS SELECT status, body FROM pg_temp.api('POST',
    '/api/conversations/' || (SELECT body #>> '{conversation,id}' FROM started) || '/messages', '{"body": "Running 10 minutes late"}');
SELECT is((SELECT status FROM again), 201, 'a reply to a closed conversation is sent: 201');
SELECT isnt((SELECT body #>> '{conversation,id}' FROM again), (SELECT body #>> '{conversation,id}' FROM started), '… in a new conversation');
SELECT is((SELECT body #>> '{conversation,state}' || ' ' || (body #>> '{conversation,mode}') FROM again), 'open human', '… open, the owner''s');
SELECT is((SELECT conversation_id::text FROM nmc.messages WHERE id = (SELECT (body #>> '{message,id}')::uuid FROM again)),
          (SELECT body #>> '{conversation,id}' FROM again), '… where the message is');
CREATE TEMP TABLE third AS SELECT status, body FROM pg_temp.api('POST',
    '/api/conversations/' || (SELECT body #>> '{conversation,id}' FROM started) || '/messages', '{"body": "Here now"}');
SELECT is((SELECT body #>> '{conversation,id}' FROM third), (SELECT body #>> '{conversation,id}' FROM again),
          'another reply to the old one goes to the same open conversation, not a third');
SELECT is((SELECT body #>> '{conversation,id}' FROM pg_temp.api('POST', '/api/conversations', '{"to": "+15125550421", "body": "And one more"}')),
          (SELECT body #>> '{conversation,id}' FROM again), 'texting a known number joins its open conversation');

-- Opt-outs hold everywhere.
UPDATE nmc.customers SET opted_out_at = now() WHERE phone = '+15125550421' AND business_id = (SELECT id FROM b);
SELECT is((SELECT status || ' ' || (body #>> '{error,code}') FROM pg_temp.api('POST', '/api/conversations', '{"to": "+15125550421", "body": "Hello?"}')),
          '409 customer_opted_out', 'a customer who replied STOP cannot be texted: 409');
SELECT is((SELECT status || ' ' || (body #>> '{error,code}') FROM pg_temp.api('POST',
              '/api/conversations/' || (SELECT body #>> '{conversation,id}' FROM started) || '/messages', '{"body": "Hello?"}')),
          '409 customer_opted_out', '… not through an old conversation either');

-- Quick replies.
SELECT is((SELECT jsonb_agg(q ->> 'label') FROM pg_temp.api('GET', '/api/quick-replies') a, jsonb_array_elements(a.body -> 'quick_replies') q),
          '["On my way", "Running late", "Booked"]', 'a new business has three quick replies, in order');
UPDATE nmc.customers SET name = 'Ann Lee', opted_out_at = NULL WHERE phone = '+15125550421' AND business_id = (SELECT id FROM b);
SELECT is((SELECT a.body #>> '{quick_replies,0,text}' FROM pg_temp.api('GET', '/api/quick-replies?conversation=' || (SELECT body #>> '{conversation,id}' FROM again)) a),
          'Hi Ann, this is Never Closed Plumbing: I''m on my way, see you soon.', 'rendered for the conversation: the customer''s first name, the business');
SELECT is((SELECT a.body #>> '{quick_replies,0,text}' FROM pg_temp.api('GET', '/api/quick-replies') a),
          'Hi there, this is Never Closed Plumbing: I''m on my way, see you soon.', '… or for nobody in particular');
CREATE TEMP TABLE added AS SELECT status, body FROM pg_temp.api('POST', '/api/quick-replies', '{"label": "Parts", "body": "Waiting on a part for {{ customer_name }}, back tomorrow."}');
SELECT is((SELECT status || ' ' || (body #>> '{quick_reply,position}') FROM added), '201 4', 'a new quick reply goes last');
SELECT is((SELECT status || ' ' || (body #>> '{quick_reply,position}') FROM pg_temp.api('PATCH',
              '/api/quick-replies/' || (SELECT body #>> '{quick_reply,id}' FROM added), '{"position": 0}')), '200 0', 'moved first');
SELECT is((SELECT a.body #>> '{quick_replies,0,label}' FROM pg_temp.api('GET', '/api/quick-replies') a), 'Parts', '… and listed first');
SELECT is((SELECT status || ' ' || (body #>> '{error,field}') FROM pg_temp.api('POST', '/api/quick-replies', jsonb_build_object('label', repeat('x', 41), 'body', 'b'))),
          '400 label', 'a label over 40 characters: 400');
SELECT is((SELECT status FROM pg_temp.api('DELETE', '/api/quick-replies/' || (SELECT body #>> '{quick_reply,id}' FROM added))), 200, 'deleted');

SELECT * FROM finish();
ROLLBACK;
