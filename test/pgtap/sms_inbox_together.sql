-- sms_inbox_together.sql — inbound texts threaded in one batch (nmc.sms_apply,
-- in rounds) leave exactly what threading them one at a time (each a batch of
-- one, through the same function) leaves: the same messages in the same
-- conversations, the same modes, windows, timers and lead links, and each
-- conversation's events in the same order. The same inbox is run both ways from
-- one starting state; a keyword or a word of danger in the middle of a batch is
-- handled in its place. Then one customer's texts within a batch keep their
-- order (STOP, a word, START, HELP), and a MessageSid delivered twice — in one
-- batch or in two — is threaded once.
BEGIN;
SELECT plan(22);
SET LOCAL track_functions = 'all';

CREATE TEMP TABLE b AS SELECT nmc_test.business_with_number('+15125550950') AS id;
UPDATE nmc.businesses SET human_window_seconds = 60 WHERE id = (SELECT id FROM b);
CREATE FUNCTION pg_temp.post(n int, caller text, body text) RETURNS int LANGUAGE sql AS $$
    SELECT h.status FROM nmc_api.handle('POST', '/webhooks/twilio/sms', '{}',
        jsonb_build_object('content-type', 'application/x-www-form-urlencoded', 'x-twilio-signature', nmc.twilio_signature(rtrim(nmc.setting('public_url'), '/') || '/webhooks/twilio/sms',
            ARRAY['Body', body, 'From', caller, 'MessageSid', 'SM' || lpad(n::text, 32, '0'), 'To', '+15125550950'], nmc.webhook_signing_token())),
        '127.0.0.1', nmc.form_encode(jsonb_build_object('Body', body, 'From', caller, 'MessageSid', 'SM' || lpad(n::text, 32, '0'), 'To', '+15125550950')),
        NULL) h $$;

-- The starting state: a conversation waiting for the customer, one counting
-- down, one taken over, an opted-out customer, a customer with a lead and no
-- conversation yet.
SELECT nmc.conversation_open((SELECT id FROM b), (nmc.customer_upsert((SELECT id FROM b), '+15125550951')).id,
                             (SELECT id FROM nmc.phone_numbers WHERE phone = '+15125550950'));
SELECT pg_temp.post(1, '+15125550952', 'earlier text');
SELECT nmc_test.inbox_drain();
SELECT nmc.conversation_set_mode(nmc.conversation_open((SELECT id FROM b), (nmc.customer_upsert((SELECT id FROM b), '+15125550953')).id,
                                                       (SELECT id FROM nmc.phone_numbers WHERE phone = '+15125550950')), 'human');
SELECT nmc.conversation_open((SELECT id FROM b), (nmc.customer_upsert((SELECT id FROM b), '+15125550954')).id,
                             (SELECT id FROM nmc.phone_numbers WHERE phone = '+15125550950'));
UPDATE nmc.customers SET opted_out_at = now() WHERE phone = '+15125550954';
INSERT INTO nmc.leads (business_id, customer_id) VALUES ((SELECT id FROM b), (nmc.customer_upsert((SELECT id FROM b), '+15125550955')).id);
CREATE TEMP TABLE seq0 AS SELECT last_seq FROM nmc.event_counters WHERE business_id = (SELECT id FROM b);

CREATE FUNCTION pg_temp.texts() RETURNS void LANGUAGE sql AS $$
    SELECT pg_temp.post(10, '+15125550951', 'hello, any slots this week?');
    SELECT pg_temp.post(11, '+15125550952', 'any news?');
    SELECT pg_temp.post(12, '+15125550953', 'still there?');
    SELECT pg_temp.post(13, '+15125550954', 'water everywhere in the basement');
    SELECT pg_temp.post(14, '+15125550955', 'need a quote');
    SELECT pg_temp.post(15, '+15125550956', 'first of two');
    SELECT pg_temp.post(16, '+15125550956', 'second of two');
    SELECT pg_temp.post(n, '+1512555' || (1000 + n), 'new customer ' || n) FROM generate_series(17, 26) n;
    SELECT pg_temp.post(27, '+15125550957', 'STOP');
    SELECT pg_temp.post(n, '+1512555' || (1000 + n), 'after the keyword ' || n) FROM generate_series(28, 40) n;
    SELECT pg_temp.post(41, '+15125550958', 'the pipe burst, flooding');
    SELECT pg_temp.post(42, '+15125550956', 'third, after the emergency');
$$;
-- What the business's data looks like afterwards, without ids and clocks.
CREATE FUNCTION pg_temp.outcome() RETURNS TABLE (what text) LANGUAGE sql AS $$
    SELECT format('%s mode=%s deadline=%s lead=%s last_ok=%s timers=%s opted_out=%s bodies=%s', c.phone, cv.mode,
                  cv.human_window_deadline IS NOT NULL, cv.lead_id IS NOT NULL,
                  cv.last_message_at IS NOT DISTINCT FROM (SELECT max(m.created_at) FROM nmc.messages m WHERE m.conversation_id = cv.id),
                  (SELECT count(*) FROM nmc.timers t WHERE t.subject_id = cv.id AND t.fired_at IS NULL AND t.cancelled_at IS NULL
                     AND t.id IS NOT DISTINCT FROM cv.human_window_timer_id),
                  c.opted_out_at IS NOT NULL,
                  (SELECT array_agg(m.author || ':' || m.body ORDER BY m.created_at) FROM nmc.messages m WHERE m.conversation_id = cv.id))
      FROM nmc.conversations cv JOIN nmc.customers c ON c.id = cv.customer_id
     WHERE cv.business_id = (SELECT id FROM b)
    UNION ALL
    -- Each conversation's events, in their order (conversations apart, a batch
    -- emits them step by step rather than text by text).
    SELECT 'events ' || cu.phone || ' ' || string_agg(e.type || '{' || (SELECT string_agg(k, ',' ORDER BY k) FROM jsonb_object_keys(e.body) k)
                                   || coalesce(' mode=' || (e.body ->> 'mode'), '') || '}', ' ' ORDER BY e.seq)
      FROM nmc.events e
      JOIN nmc.conversations cv ON cv.id::text = coalesce(e.body ->> 'conversation_id', e.body ->> 'id')
      JOIN nmc.customers cu ON cu.id = cv.customer_id
     WHERE e.business_id = (SELECT id FROM b) AND e.seq > (SELECT last_seq FROM seq0)
     GROUP BY cu.phone
    UNION ALL
    SELECT 'events elsewhere ' || coalesce(string_agg(e.type, ' ' ORDER BY e.type), '')
      FROM nmc.events e
     WHERE e.business_id = (SELECT id FROM b) AND e.seq > (SELECT last_seq FROM seq0)
       AND NOT EXISTS (SELECT 1 FROM nmc.conversations cv WHERE cv.id::text = coalesce(e.body ->> 'conversation_id', e.body ->> 'id'))
    UNION ALL
    SELECT 'numbers ' || (max(e.seq) - min(e.seq) + 1 = count(*))::text || ' ' || count(*)
      FROM nmc.events e WHERE e.business_id = (SELECT id FROM b) AND e.seq > (SELECT last_seq FROM seq0)
$$;

-- Each text alone: a run of one webhook at a time.
CREATE FUNCTION pg_temp.one_at_a_time() RETURNS int LANGUAGE plpgsql AS $$
DECLARE
    n int := 0;
BEGIN
    WHILE nmc.webhook_inbox_run(1) = 1 LOOP
        n := n + 1;
        PERFORM nmc_test.events_numbered();   -- as the events worker would after each commit
    END LOOP;
    RETURN n;
END
$$;

-- Calls counted in this transaction so far (the statistics survive a rollback to a savepoint).
CREATE FUNCTION pg_temp.calls(f text) RETURNS numeric LANGUAGE sql AS $$
    SELECT coalesce(sum(calls), 0) FROM pg_stat_xact_user_functions WHERE funcname = f $$;
SELECT pg_temp.calls('sms_apply') AS apply0 \gset
SAVEPOINT start;
SELECT pg_temp.texts();
SELECT is(pg_temp.one_at_a_time(), 33, 'one at a time: all 33 texts');
-- Kept in psql variables: the rollback below undoes everything in the database.
SELECT string_agg(what, E'\n' ORDER BY what) FILTER (WHERE what NOT LIKE 'events %' AND what NOT LIKE 'numbers %') AS one_by_one_convs,
       string_agg(what, E'\n' ORDER BY what) FILTER (WHERE what LIKE 'events %') AS one_by_one_events,
       min(what) FILTER (WHERE what LIKE 'numbers %') AS one_by_one_numbers,
       count(*) AS one_by_one_count FROM pg_temp.outcome() \gset
SELECT is(pg_temp.calls('sms_apply') - :apply0, 33::numeric,
          '… each a batch of one of the same function');
ROLLBACK TO start;

SELECT pg_temp.calls('sms_apply') AS apply1, pg_temp.calls('sms_thread_round') AS round1 \gset
SELECT pg_temp.texts();
SELECT is(nmc_test.inbox_drain(), 33, 'in one batch: all 33 texts');
SELECT is(pg_temp.calls('sms_apply') - :apply1, 1::numeric, '… one call of nmc.sms_apply');
SELECT is(pg_temp.calls('sms_thread_round') - :round1, 3::numeric,
          '… in three rounds (a customer''s second text starts the second, their third the third)');
CREATE TEMP TABLE together AS SELECT * FROM pg_temp.outcome();

SELECT is((SELECT count(*) FROM together), :one_by_one_count::bigint, 'the same number of conversations');
SELECT is((SELECT string_agg(what, E'\n' ORDER BY what) FROM together WHERE what NOT LIKE 'events %' AND what NOT LIKE 'numbers %'), :'one_by_one_convs',
          'the same conversations: messages, modes, windows, timers, lead links, opt-outs');
SELECT is((SELECT string_agg(what, E'\n' ORDER BY what) FROM together WHERE what LIKE 'events %'), :'one_by_one_events',
          'the same events, each conversation''s in the same order');
SELECT is((SELECT what FROM together WHERE what LIKE 'numbers %'), :'one_by_one_numbers', 'as many events, numbered without gaps');
SELECT ok((SELECT what FROM together WHERE what LIKE '+15125550951 %') LIKE '% mode=human_window deadline=t lead=f last_ok=t timers=1 %',
          'a waiting conversation opens the human window');
SELECT ok((SELECT what FROM together WHERE what LIKE '+15125550953 %') LIKE '% mode=human deadline=f %', 'a taken-over one stays with the human');
SELECT ok((SELECT what FROM together WHERE what LIKE '+15125550955 %') LIKE '% lead=t %', 'a new conversation is linked to the customer''s lead');
SELECT ok((SELECT what FROM together WHERE what LIKE '+15125550956 %') LIKE '%{"customer:first of two","customer:second of two","customer:third, after the emergency"}',
          'three texts of a new customer in one batch share one new conversation, in order');
SELECT ok((SELECT what FROM together WHERE what LIKE '+15125550958 %') LIKE '% mode=human %', 'a word of danger in the middle of a batch hands the conversation to a human');
SELECT ok((SELECT what FROM together WHERE what LIKE '+15125550957 %') LIKE '% opted_out=t %', 'a STOP in the middle of a batch opts its customer out');

-- One customer's texts in one batch take effect in their order: STOP, a word,
-- START, HELP — the help text goes out, as START came before HELP.
SELECT pg_temp.post(70, '+15125550960', 'STOP'), pg_temp.post(71, '+15125550960', 'are you there'),
       pg_temp.post(72, '+15125550960', 'START'), pg_temp.post(73, '+15125550960', 'HELP');
SELECT is(nmc_test.inbox_drain(), 4, 'STOP, a word, START, HELP from one customer in one batch');
SELECT is((SELECT array_agg(m.body ORDER BY m.created_at) FROM nmc.messages m JOIN nmc.customers c ON c.id = m.customer_id
            WHERE c.phone = '+15125550960' AND m.direction = 'inbound'),
          ARRAY['STOP', 'are you there', 'START', 'HELP'], '… threaded in order');
SELECT is((SELECT array_agg(m.body) FROM nmc.messages m JOIN nmc.customers c ON c.id = m.customer_id
            WHERE c.phone = '+15125550960' AND m.direction = 'outbound'),
          ARRAY[(SELECT coalesce(b2.help_text, nmc.default_help_text(b2)) FROM nmc.businesses b2 WHERE b2.id = (SELECT id FROM b))],
          '… and HELP answered with the help text (the customer had opted back in)');
SELECT is((SELECT opted_out_at IS NULL FROM nmc.customers WHERE phone = '+15125550960'), true, '… who ends opted in');

-- Retries: the same MessageSid twice in one batch, and again in a later batch.
SELECT pg_temp.post(80, '+15125550961', 'said twice');
SELECT nmc.sms_apply(ARRAY[i, i]) FROM nmc.webhook_inbox i WHERE webhook_key = 'SM' || lpad('80', 32, '0');
DELETE FROM nmc.webhook_inbox WHERE webhook_key = 'SM' || lpad('80', 32, '0');
SELECT is((SELECT count(*) FROM nmc.messages WHERE twilio_sid = 'SM' || lpad('80', 32, '0')), 1::bigint,
          'a MessageSid twice in one batch is threaded once');
SELECT pg_temp.post(80, '+15125550961', 'said twice'), pg_temp.post(81, '+15125550961', 'and once more');
SELECT is(nmc_test.inbox_drain(), 2, 'Twilio''s retry of it comes in a later batch, with a new text');
SELECT is((SELECT array_agg(m.body ORDER BY m.created_at) FROM nmc.messages m JOIN nmc.customers c ON c.id = m.customer_id
            WHERE c.phone = '+15125550961'), ARRAY['said twice', 'and once more'], '… and is not threaded again');

SELECT * FROM finish();
ROLLBACK;
