-- sms_inbox_together.sql — routine texts threaded many at once
-- (nmc.sms_thread_routine) leave exactly what threading them one by one
-- (nmc.sms_received) leaves: the same messages in the same conversations, the
-- same modes, windows, timers and lead links, and the same events in the same
-- order. The same inbox is run both ways from one starting state; a keyword or
-- a word of danger in the middle of a run is still handled on its own, in order.
BEGIN;
SELECT plan(13);
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
    SELECT 'events ' || string_agg(e.type || '{' || (SELECT string_agg(k, ',' ORDER BY k) FROM jsonb_object_keys(e.body) k)
                                   || coalesce(' mode=' || (e.body ->> 'mode'), '') || '}', ' ' ORDER BY e.seq)
      FROM nmc.events e WHERE e.business_id = (SELECT id FROM b) AND e.seq > (SELECT last_seq FROM seq0)
    UNION ALL
    SELECT 'numbers ' || (max(e.seq) - min(e.seq) + 1 = count(*))::text || ' ' || count(*)
      FROM nmc.events e WHERE e.business_id = (SELECT id FROM b) AND e.seq > (SELECT last_seq FROM seq0)
$$;

SAVEPOINT start;
SELECT pg_temp.texts();
SELECT is(nmc_test.inbox_drain(1000000), 33, 'one by one: all 33 texts');
-- Kept in psql variables: the rollback below undoes everything in the database.
SELECT string_agg(what, E'\n' ORDER BY what) FILTER (WHERE what NOT LIKE 'events %') AS one_by_one_convs,
       min(what) FILTER (WHERE what LIKE 'events %') AS one_by_one_events,
       count(*) AS one_by_one_count FROM pg_temp.outcome() \gset
SELECT is((SELECT coalesce(sum(calls), 0) FROM pg_stat_xact_user_functions WHERE funcname = 'sms_thread_routine'), 0::numeric,
          '… none of them together');
ROLLBACK TO start;

SELECT pg_temp.texts();
SELECT is(nmc_test.inbox_drain(5), 33, 'together where it can: all 33 texts');
SELECT is((SELECT sum(calls) FROM pg_stat_xact_user_functions WHERE funcname = 'sms_thread_routine'), 2::numeric,
          '… two runs of routine texts together (before STOP; between STOP and the emergency); the one after it alone');
CREATE TEMP TABLE together AS SELECT * FROM pg_temp.outcome();

SELECT is((SELECT count(*) FROM together), :one_by_one_count::bigint, 'the same number of conversations');
SELECT is((SELECT string_agg(what, E'\n' ORDER BY what) FROM together WHERE what NOT LIKE 'events %'), :'one_by_one_convs',
          'the same conversations: messages, modes, windows, timers, lead links, opt-outs');
SELECT is((SELECT what FROM together WHERE what LIKE 'events %'), :'one_by_one_events', 'the same events in the same order');
SELECT is((SELECT what FROM together WHERE what LIKE 'numbers %'), 'numbers true 90', 'numbered without gaps');
SELECT ok((SELECT what FROM together WHERE what LIKE '+15125550951 %') LIKE '% mode=human_window deadline=t lead=f last_ok=t timers=1 %',
          'a waiting conversation opens the human window');
SELECT ok((SELECT what FROM together WHERE what LIKE '+15125550953 %') LIKE '% mode=human deadline=f %', 'a taken-over one stays with the human');
SELECT ok((SELECT what FROM together WHERE what LIKE '+15125550955 %') LIKE '% lead=t %', 'a new conversation is linked to the customer''s lead');
SELECT ok((SELECT what FROM together WHERE what LIKE '+15125550956 %') LIKE '%{"customer:first of two","customer:second of two","customer:third, after the emergency"}',
          'two texts of a new customer in one run share one new conversation, in order');

-- A conversation whose mode changed after its texts were sorted (a timer handed
-- it to the assistant, the owner took over): the batch goes to the one-by-one path.
SELECT pg_temp.post(60, '+15125550951', 'sorted while waiting');
SELECT throws_ok(format('SELECT nmc.sms_thread_routine(ARRAY(SELECT i FROM nmc.webhook_inbox i WHERE webhook_key = %L), %L, %L)',
                        'SM' || lpad('60', 32, '0'), '{+15125550951}', '{waiting}'),
                 '40001', 'nevermisscall: a conversation changed while texts were being threaded',
                 'texts sorted under another mode than their conversation has now are not threaded together');

SELECT * FROM finish();
ROLLBACK;
