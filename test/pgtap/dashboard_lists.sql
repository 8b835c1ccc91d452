-- dashboard_lists.sql — what the dashboard lists: conversations filtered by
-- state and mode and paged by cursor without gaps or repeats, leads by status
-- with the text decision, a lead's status changed by the owner, the status page.
BEGIN;
SELECT plan(15);

CREATE TEMP TABLE b AS SELECT nmc_test.business_with_number('+15125550300') AS id;
INSERT INTO nmc.users (business_id, email, password_hash, name)
SELECT id, 'lists@example.com', crypt('x', gen_salt('bf', 4)), 'Lister' FROM b;
CREATE TEMP TABLE tok AS SELECT nmc.jwt_sign(jsonb_build_object('sub', u.id, 'business_id', u.business_id, 'exp', extract(epoch FROM now())::bigint + 600),
                                             nmc.setting('jwt_secret')) AS t FROM nmc.users u WHERE email = 'lists@example.com';
-- Five missed calls from five callers: five conversations, five leads.
SELECT count(*) FROM generate_series(1, 5) g, LATERAL nmc_test.twilio_post('/webhooks/twilio/voice/dial',
    jsonb_build_object('CallSid', 'CA' || lpad((300 + g)::text, 32, '0'), 'From', '+1512555040' || g, 'To', '+15125550300', 'DialCallStatus', 'no-answer'));
UPDATE nmc.conversations SET last_message_at = now() - make_interval(mins => 10 - (SELECT right(c.phone, 1)::int FROM nmc.customers c WHERE c.id = customer_id))
 WHERE business_id = (SELECT id FROM b);
SELECT nmc_test.twilio_post('/webhooks/twilio/sms', jsonb_build_object('MessageSid', 'SM' || lpad('301', 32, '0'), 'From', '+15125550403', 'To', '+15125550300', 'Body', 'hi')) IS NULL;

CREATE FUNCTION pg_temp.get(path text, q jsonb DEFAULT '{}') RETURNS jsonb LANGUAGE sql AS $$
    SELECT h.body::jsonb FROM tok, LATERAL nmc_api.handle('GET', path, q, jsonb_build_object('authorization', 'Bearer ' || tok.t), NULL, NULL, NULL) h $$;

SELECT is(jsonb_array_length(pg_temp.get('/api/conversations') -> 'conversations'), 5, 'all five conversations');
SELECT is(pg_temp.get('/api/conversations') #>> '{conversations,0,customer,phone}', '+15125550403', 'the one with the latest message first');
SELECT is(pg_temp.get('/api/conversations', '{"mode":"human_window"}') #>> '{conversations,0,customer,phone}', '+15125550403', 'filter by mode');
SELECT is(jsonb_array_length(pg_temp.get('/api/conversations', '{"mode":"human_window"}') -> 'conversations'), 1, '… only that one');
CREATE TEMP TABLE p1 AS SELECT pg_temp.get('/api/conversations', '{"limit":"2"}') AS r;
CREATE TEMP TABLE p2 AS SELECT pg_temp.get('/api/conversations', jsonb_build_object('limit', '2', 'before', (SELECT r ->> 'next' FROM p1))) AS r;
CREATE TEMP TABLE p3 AS SELECT pg_temp.get('/api/conversations', jsonb_build_object('limit', '2', 'before', (SELECT r ->> 'next' FROM p2))) AS r;
SELECT is((SELECT count(DISTINCT x ->> 'id') FROM (SELECT jsonb_array_elements(r -> 'conversations') x FROM p1
                                                 UNION ALL SELECT jsonb_array_elements(r -> 'conversations') FROM p2
                                                 UNION ALL SELECT jsonb_array_elements(r -> 'conversations') FROM p3) s), 5::bigint,
          'three pages of 2 cover all five, none twice');
SELECT is((SELECT r ->> 'next' FROM p3), NULL, 'the last page has no next cursor');
SELECT is(pg_temp.get('/api/conversations', '{"state":"bogus"}') #>> '{error,field}', 'state', 'a bad filter is refused, naming it');

SELECT is(jsonb_array_length(pg_temp.get('/api/leads', '{"status":"new"}') -> 'leads'), 5, 'five new leads');
SELECT is(pg_temp.get('/api/leads') #>> '{leads,0,last_call,decision}', 'texted', 'a lead shows its call''s text decision');
SELECT is((SELECT h.body::jsonb #>> '{lead,status}' FROM tok, LATERAL nmc_api.handle('PATCH', '/api/leads/' || (SELECT id FROM nmc.leads WHERE business_id = (SELECT id FROM b) LIMIT 1),
              '{}', jsonb_build_object('authorization', 'Bearer ' || tok.t), NULL, '{"status":"won"}', NULL) h), 'won', 'the owner marks a lead won');
SELECT is(jsonb_array_length(pg_temp.get('/api/leads', '{"status":"won"}') -> 'leads'), 1, '… and it lists as won');
SELECT is(pg_temp.get('/api/status') #>> '{database}', 'ok', 'the status page answers');

CREATE FUNCTION pg_temp.patch_lead(body text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT h.body::jsonb FROM tok, LATERAL nmc_api.handle('PATCH', '/api/leads/' || (SELECT id FROM nmc.leads WHERE business_id = (SELECT id FROM b) ORDER BY id LIMIT 1),
              '{}', jsonb_build_object('authorization', 'Bearer ' || tok.t), NULL, body, NULL) h $$;
SELECT is(pg_temp.patch_lead('{"status":"lost"}') #>> '{error,field}', 'reason', 'a lead is not lost without a reason');
SELECT is(pg_temp.patch_lead('{"status":"lost","reason":"went with another company"}') #>> '{lead,status_reason}', 'went with another company',
          '… with one it is, and the reason is kept');
SELECT is(pg_temp.patch_lead('{"status":"qualified"}') -> 'lead' -> 'status_reason', 'null'::jsonb, 'moving it back clears the reason');

SELECT * FROM finish();
ROLLBACK;
