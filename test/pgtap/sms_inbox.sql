-- sms_inbox.sql — the inbound-text inbox between Twilio's webhook and the
-- conversation: the webhook only records (idempotent on MessageSid, bad input
-- refused, unknown numbers dropped), nmc.webhook_inbox_run threads in arrival
-- order with the receipt time, a retry after threading adds nothing, and a
-- text that fails is marked and kept (isolate) while the rest go through.
-- (The worker that runs it after each commit: test/webhooks/04_sms_inbox_worker.t.)
BEGIN;
SELECT plan(29);

CREATE TEMP TABLE b AS SELECT nmc_test.business_with_number('+15125550900') AS id;
-- Exactly what the edge sends, without the test helper's draining.
CREATE FUNCTION pg_temp.post(params jsonb) RETURNS TABLE (status int, body text) LANGUAGE sql AS $$
    SELECT h.status, h.body FROM nmc_api.handle('POST', '/webhooks/twilio/sms', '{}',
        jsonb_build_object('content-type', 'application/x-www-form-urlencoded', 'x-twilio-signature', nmc.twilio_signature(rtrim(nmc.setting('public_url'), '/') || '/webhooks/twilio/sms',
            (SELECT coalesce(array_agg(x), '{}') FROM (SELECT unnest(ARRAY[key, value]) x FROM jsonb_each_text(params)) s),
            nmc.webhook_signing_token())),
        '127.0.0.1', nmc.form_encode(params), NULL) h $$;
CREATE FUNCTION pg_temp.text(n int, caller text, body text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_object('MessageSid', 'SM' || lpad(n::text, 32, '0'), 'From', caller, 'To', '+15125550900', 'Body', body) $$;

SELECT is((SELECT status || ' ' || body FROM pg_temp.post(pg_temp.text(1, '+15125550901', 'Is anyone there?'))),
          '200 <?xml version="1.0" encoding="UTF-8"?><Response></Response>', 'the webhook answers at once with empty TwiML');
SELECT is((SELECT count(*) FROM nmc.webhook_inbox WHERE webhook_key = 'SM' || lpad('1', 32, '0')), 1::bigint, 'the text waits in the inbox');
SELECT is((SELECT params ->> 'Body' FROM nmc.webhook_inbox WHERE webhook_key = 'SM' || lpad('1', 32, '0')), 'Is anyone there?', 'with the webhook''s fields');
SELECT is((SELECT count(*) FROM nmc.messages WHERE twilio_sid = 'SM' || lpad('1', 32, '0')), 0::bigint, 'not yet threaded');
SELECT is((SELECT status FROM pg_temp.post(pg_temp.text(1, '+15125550901', 'Is anyone there?'))), 200, 'Twilio retrying it gets 200');
SELECT is((SELECT count(*) FROM nmc.webhook_inbox WHERE webhook_key = 'SM' || lpad('1', 32, '0')), 1::bigint, 'and the inbox still has it once');

SELECT is((SELECT status || ' ' || (body::jsonb #>> '{error,code}') FROM pg_temp.post(pg_temp.text(2, '+15125550901', 'x') - 'From')),
          '400 missing_field', 'a text without From is refused with 400 missing_field');
SELECT is((SELECT status FROM pg_temp.post(pg_temp.text(3, '+15125550901', 'x') || '{"To": "+15125550999"}')), 200,
          'a text to a number that is not ours gets 200 (Twilio would retry anything else)');
SELECT is((SELECT count(*) FROM nmc.webhook_inbox WHERE webhook_key IN ('SM' || lpad('2', 32, '0'), 'SM' || lpad('3', 32, '0'))), 0::bigint,
          'neither is recorded');
SELECT is((SELECT status FROM nmc_api.handle('POST', '/webhooks/twilio/sms', '{}', '{"content-type": "application/x-www-form-urlencoded", "x-twilio-signature": "bm90IGEgc2lnbmF0dXJl"}',
                                              '127.0.0.1', nmc.form_encode(pg_temp.text(4, '+15125550901', 'x')), NULL)), 403,
          'a text with a wrong signature: 403');
SELECT is((SELECT count(*) FROM nmc.webhook_inbox WHERE webhook_key = 'SM' || lpad('4', 32, '0')), 0::bigint, 'and nothing recorded');

SELECT pg_temp.post(pg_temp.text(5, '+15125550901', 'Second text'));
SELECT is(nmc_test.inbox_drain(), 2, 'the worker''s runs thread both waiting texts');
SELECT is((SELECT count(*) FROM nmc.webhook_inbox), 0::bigint, 'and empties the inbox');
SELECT is((SELECT array_agg(m.body ORDER BY m.created_at) FROM nmc.messages m JOIN nmc.customers c ON c.id = m.customer_id
            WHERE c.phone = '+15125550901'), ARRAY['Is anyone there?', 'Second text'], 'in the order they arrived, in one conversation');
SELECT ok((SELECT bool_and(created_at < clock_timestamp()) FROM nmc.messages WHERE twilio_sid LIKE 'SM%' AND business_id = (SELECT id FROM b)),
          'each message is dated when its webhook was accepted');
SELECT is((SELECT mode FROM nmc.conversations WHERE business_id = (SELECT id FROM b)), 'human_window', 'the human window is open');

SELECT pg_temp.post(pg_temp.text(1, '+15125550901', 'Is anyone there?'));
SELECT is(nmc_test.inbox_drain(), 1, 'a retry after threading is taken from the inbox');
SELECT is((SELECT count(*) FROM nmc.messages WHERE twilio_sid = 'SM' || lpad('1', 32, '0')), 1::bigint, 'but not threaded twice');

-- A text whose processing raises (a trigger stands in for a bug) among good ones.
CREATE FUNCTION pg_temp.explode() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.body = 'explode' THEN RAISE EXCEPTION 'processing exploded'; END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER explode BEFORE INSERT ON nmc.messages FOR EACH ROW EXECUTE FUNCTION pg_temp.explode();
SELECT pg_temp.post(pg_temp.text(6, '+15125550902', 'first'));
SELECT pg_temp.post(pg_temp.text(7, '+15125550903', 'explode'));
SELECT pg_temp.post(pg_temp.text(8, '+15125550904', 'last'));
SELECT throws_ok('SELECT nmc_test.inbox_drain()', 'P0001', 'processing exploded', 'a run reaching the failing text raises (the worker rolls it back)');
SELECT is(nmc.webhook_inbox_run(500, true), 3, 'run again with each text isolated, it takes all three');
SELECT is((SELECT array_agg(body ORDER BY created_at) FROM nmc.messages WHERE twilio_sid IN ('SM' || lpad('6', 32, '0'), 'SM' || lpad('7', 32, '0'), 'SM' || lpad('8', 32, '0'))),
          ARRAY['first', 'last'], 'the good texts are threaded');
SELECT is((SELECT webhook_key || ' ' || error FROM nmc.webhook_inbox WHERE failed_at IS NOT NULL),
          'SM' || lpad('7', 32, '0') || ' P0001: processing exploded', 'the failing one stays in the inbox, marked with its error');
SELECT is(nmc.webhook_inbox_run(), 0, 'later runs skip it');
DROP TRIGGER explode ON nmc.messages;
UPDATE nmc.webhook_inbox SET failed_at = NULL, error = NULL;
SELECT is(nmc_test.inbox_drain(), 1, 'once a DBA clears failed_at it is processed again');

SELECT is(nmc.form_object(ARRAY['Body', 'a', 'From', '+1', 'Body', 'b']), '{"Body": "b", "From": "+1"}'::jsonb,
          'form fields as JSON: a repeated name keeps its last value');
SELECT is(nmc.form_object('{}'), '{}'::jsonb, 'no fields: an empty object');

-- A deadlock (or serialization failure) in the one-by-one run: that text and the
-- ones after it wait for the next round, in order; nothing is marked failed.
CREATE FUNCTION pg_temp.deadlock() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.body = 'deadlock' THEN RAISE EXCEPTION 'deadlock stand-in' USING ERRCODE = 'deadlock_detected'; END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER deadlock BEFORE INSERT ON nmc.messages FOR EACH ROW EXECUTE FUNCTION pg_temp.deadlock();
SELECT pg_temp.post(pg_temp.text(9, '+15125550905', 'before'));
SELECT pg_temp.post(pg_temp.text(10, '+15125550905', 'deadlock'));
SELECT pg_temp.post(pg_temp.text(11, '+15125550905', 'STOP'));
SELECT nmc.webhook_inbox_run(500, true);
SELECT is((SELECT array_agg(body ORDER BY created_at) FROM nmc.messages WHERE twilio_sid IN ('SM' || lpad('9', 32, '0'), 'SM' || lpad('10', 32, '0'), 'SM' || lpad('11', 32, '0'))),
          ARRAY['before'], 'the text before it is threaded');
SELECT is((SELECT array_agg(webhook_key ORDER BY id) FROM nmc.webhook_inbox WHERE failed_at IS NULL),
          ARRAY['SM' || lpad('10', 32, '0'), 'SM' || lpad('11', 32, '0')], 'it and the STOP after it wait, unmarked, in order');
DROP TRIGGER deadlock ON nmc.messages;
SELECT is(nmc_test.inbox_drain(), 2, 'the next round threads both');

SELECT * FROM finish();
ROLLBACK;
