-- photos.sql — a customer's photo (MMS) is kept with the message: it reads
-- "(photo)" when it came without words, the API says what media there is but
-- never Twilio's URLs, and the built-in assistant thanks the customer for it
-- and asks its question again instead of handing off; photos never go through
-- the batch path for plain texts.
BEGIN;
SELECT plan(12);

SELECT nmc.configure('{"openai_api_key": ""}');
CREATE TEMP TABLE r AS SELECT nmc_test.register('photos@example.com', 'Photo Plumbing') AS body;
CREATE TEMP TABLE b AS SELECT (body #>> '{business,id}')::uuid AS id, body ->> 'token' AS token FROM r;
INSERT INTO nmc.phone_numbers (business_id, phone) SELECT id, '+15125550340' FROM b;
SELECT nmc.hours_replace((SELECT id FROM b), (SELECT jsonb_agg(jsonb_build_object('weekday', d, 'opens_at', '00:00', 'closes_at', '24:00'))
                                               FROM generate_series(0, 6) d));
CREATE FUNCTION pg_temp.mms(n int, caller text, words text, photos int) RETURNS int LANGUAGE sql AS $$
    SELECT status FROM nmc_test.twilio_post('/webhooks/twilio/sms',
        jsonb_build_object('MessageSid', 'MM' || lpad(n::text, 32, '0'), 'From', caller, 'To', '+15125550340', 'Body', words,
                           'NumMedia', photos::text)
        || coalesce((SELECT jsonb_object_agg('MediaUrl' || k, 'https://api.twilio.com/2010-04-01/Accounts/ACx/Messages/MM' || n || '/Media/ME' || k)
                            || jsonb_object_agg('MediaContentType' || k, 'image/jpeg')
                       FROM generate_series(0, photos - 1) k), '{}')) $$;
CREATE FUNCTION pg_temp.last_from(caller text) RETURNS nmc.messages LANGUAGE sql AS $$
    SELECT m.* FROM nmc.messages m WHERE m.from_phone = caller AND m.business_id = (SELECT id FROM b) ORDER BY m.created_at DESC, m.id DESC LIMIT 1 $$;

SELECT is(pg_temp.mms(1, '+15125550441', '', 1), 200, 'a photo without words');
SELECT is((pg_temp.last_from('+15125550441')).body, '(photo)', '… reads "(photo)"');
SELECT is(jsonb_array_length((pg_temp.last_from('+15125550441')).media), 1, '… its media kept on the message');
SELECT matches(nmc.message_json(pg_temp.last_from('+15125550441')) ->> 'media', '^\[\{"url": "/api/media/[0-9a-f-]{36}", "content_type": "image/jpeg"\}\]$',
               'the API says what media there is, and where our copy is');
SELECT is((SELECT f.status || ' ' || f.source_url FROM nmc.media_files f
            WHERE f.id = ((pg_temp.last_from('+15125550441')).media #>> '{0,file_id}')::uuid), 'fetching ' || ((pg_temp.last_from('+15125550441')).media #>> '{0,url}'),
          '… a copy of Twilio''s file is on its way');
SELECT doesnt_match((SELECT a.body::text FROM nmc_test.api('GET', '/api/conversations/' || (pg_temp.last_from('+15125550441')).conversation_id,
                                                     NULL, (SELECT token FROM b)) a), 'api\.twilio\.com',
              'GET /api/conversations/{id} never shows where the photo is at Twilio');
SELECT is(pg_temp.mms(2, '+15125550441', 'Here is the leak under the sink', 2), 200, 'two photos with words');
SELECT is((pg_temp.last_from('+15125550441')).body || ' ' || jsonb_array_length((pg_temp.last_from('+15125550441')).media),
          'Here is the leak under the sink 2', '… the words, and both photos');

-- The built-in assistant has the conversation: a photo alone is thanked for, not a hand-off.
UPDATE nmc.conversations SET mode = 'ai', intake = '{"problem": "leak", "awaiting": "name"}'
 WHERE id = (pg_temp.last_from('+15125550441')).conversation_id;
SELECT is(pg_temp.mms(3, '+15125550441', '', 1), 200, 'the assistant is asking the name; a photo comes');
SELECT matches((SELECT body FROM nmc.messages WHERE conversation_id = (pg_temp.last_from('+15125550441')).conversation_id AND author = 'ai'
            ORDER BY created_at DESC, id DESC LIMIT 1), 'Thanks for the photo, that helps\. What''s your name\?$',
          '… thanked for, and the question asked again');
SELECT is(pg_temp.mms(4, '+15125550441', '', 3), 200, 'three more photos');
SELECT is((SELECT mode FROM nmc.conversations WHERE id = (pg_temp.last_from('+15125550441')).conversation_id), 'ai',
          '… still no hand-off: photos are no misunderstanding');

SELECT * FROM finish();
ROLLBACK;
