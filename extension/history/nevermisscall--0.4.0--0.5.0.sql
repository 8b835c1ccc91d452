-- 0.4.0 → 0.5.0, assembled by extension/Makefile (upgrades/assemble.pl) into
-- nevermisscall--0.4.0--0.5.0.sql: table changes written here as upgrade steps;
-- "--@include f" brings sql/f.sql (new in this version), "--@replace f name" the
-- current text of a changed function; then the OpenAPI document, the route
-- dispatcher and sql/grants.sql. test/upgrade/check.sh proves the result equals
-- a fresh 0.5.0 install.
\echo Use "ALTER EXTENSION nevermisscall UPDATE" to load this file. \quit

-- One intake pipeline for every Twilio webhook: calls, texts and status
-- callbacks are accepted into one inbox (the SMS inbox, renamed and given a
-- kind) and applied by the inbox worker; a voice webhook's TwiML never waits.
ALTER TABLE nmc.sms_inbox RENAME TO webhook_inbox;
ALTER TABLE nmc.webhook_inbox RENAME COLUMN message_sid TO webhook_key;
ALTER TABLE nmc.webhook_inbox ADD COLUMN kind text NOT NULL DEFAULT 'sms'
    CHECK (kind IN ('sms', 'sms_status', 'voice', 'voice_dial', 'voice_status'));
ALTER TABLE nmc.webhook_inbox ALTER COLUMN kind DROP DEFAULT;
ALTER TABLE nmc.webhook_inbox DROP CONSTRAINT sms_inbox_message_sid_key;
ALTER TABLE nmc.webhook_inbox ADD UNIQUE (kind, webhook_key);
ALTER INDEX nmc.sms_inbox_pkey RENAME TO webhook_inbox_pkey;
ALTER SEQUENCE nmc.sms_inbox_id_seq RENAME TO webhook_inbox_id_seq;
COMMENT ON TABLE nmc.webhook_inbox IS 'Twilio webhooks accepted and not yet applied (normally for a few milliseconds). kind: sms (an inbound text), sms_status, voice (an incoming call), voice_dial (the forwarded call ended), voice_status. params: the webhook''s form fields (a voice webhook adds nmc_answer, what the caller was told). failed_at/error: applying it raised an error; the row is kept and skipped until a DBA clears failed_at (then it is applied again).';
COMMENT ON COLUMN nmc.webhook_inbox.webhook_key IS 'What makes a delivery of this webhook the same as another (Twilio retries): the MessageSid or CallSid, with the status for status callbacks.';
COMMENT ON COLUMN nmc.webhook_inbox.received_at IS 'When the webhook was accepted: the time of what it reports (a text''s created_at, a call''s start or end).';
DROP FUNCTION nmc.sms_inbox_run(int, boolean, int);
DROP FUNCTION nmc.call_twiml(nmc.calls);
DROP FUNCTION nmc.call_missed(nmc.calls, text);
CREATE OR REPLACE FUNCTION nmc.webhook_inbox_put(p_kind text, p_key text, pn nmc.phone_numbers, p_params jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    recorded jsonb;
BEGIN
    INSERT INTO nmc.webhook_inbox (business_id, phone_number_id, webhook_key, params, kind)
    VALUES (pn.business_id, pn.id, p_key, p_params, p_kind)
    ON CONFLICT (kind, webhook_key) DO NOTHING
    RETURNING params INTO recorded;
    IF FOUND THEN
        PERFORM nmc.inbox_wake();
        RETURN recorded;
    END IF;
    -- Twilio delivered it again: what the first delivery recorded, if it still waits.
    SELECT i.params INTO recorded FROM nmc.webhook_inbox i WHERE i.kind = p_kind AND i.webhook_key = p_key;
    RETURN recorded;
END
$$;
COMMENT ON FUNCTION nmc.webhook_inbox_put(text, text, nmc.phone_numbers, jsonb) IS 'How every Twilio webhook is accepted: one insert into nmc.webhook_inbox for the business of the number pn, idempotent on (kind, key), waking the inbox worker at commit. Returns the params recorded — these, or those of an earlier delivery of the same webhook that still waits — or NULL when an earlier delivery was applied already (applying is idempotent too).';
CREATE OR REPLACE FUNCTION nmc.webhook_inbox_apply(t nmc.webhook_inbox)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    CASE t.kind
        WHEN 'sms' THEN PERFORM nmc.sms_received(t);
        WHEN 'sms_status' THEN PERFORM nmc.message_status_reported(t);
        WHEN 'voice' THEN PERFORM nmc.call_rang(t);
        WHEN 'voice_dial' THEN PERFORM nmc.call_dial_ended(t);
        WHEN 'voice_status' THEN PERFORM nmc.call_status_reported(t);
    END CASE;
END
$$;
COMMENT ON FUNCTION nmc.webhook_inbox_apply(nmc.webhook_inbox) IS 'Applies one accepted webhook by its kind, in the business''s tenant scope: an inbound text (nmc.sms_received), a message status (nmc.message_status_reported), an incoming call (nmc.call_rang), the end of a forwarded call (nmc.call_dial_ended), a call status (nmc.call_status_reported). Each is idempotent: a webhook delivered again after it was applied changes nothing.';
CREATE OR REPLACE FUNCTION nmc.webhook_inbox_run(max_webhooks int DEFAULT 500, isolate boolean DEFAULT false, min_together int DEFAULT 8)
RETURNS int
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
-- Every lookup here goes by index. The worker plans once per session, possibly on
-- a fresh install's empty-table statistics, and a sequential scan chosen then
-- would grow with the tables until the next ANALYZE.
SET enable_seqscan = off
AS $$
DECLARE
    t nmc.webhook_inbox;
    batch nmc.webhook_inbox[];
    callers text[];
    modes text[];
    routine boolean[];
    run_from int;
    run_len int;
    done int;
    n int := 0;
    err_state text;
    err_message text;
BEGIN
    -- If a crash loses this transaction, its webhooks are still in the inbox and
    -- are applied again; a text one of its jobs had sent meanwhile is sent again
    -- (at-least-once, as the dispatcher's claims). Nobody waits for its flush.
    PERFORM set_config('synchronous_commit', 'off', true);
    PERFORM nmc.defer_events();
    IF isolate THEN
        -- Each webhook alone, in a subtransaction: a failing one is marked and kept.
        FOR t IN SELECT * FROM nmc.webhook_inbox WHERE failed_at IS NULL ORDER BY id LIMIT max_webhooks FOR UPDATE SKIP LOCKED LOOP
            PERFORM set_config('nmc.business_id', t.business_id::text, true);
            BEGIN
                PERFORM nmc.webhook_inbox_apply(t);
                DELETE FROM nmc.webhook_inbox WHERE id = t.id;
            EXCEPTION
                WHEN deadlock_detected OR serialization_failure OR lock_not_available THEN
                    -- Transient: this webhook and everything after it wait for the next
                    -- round (a customer's STOP and START, a call and its end, keep their order).
                    RAISE LOG 'nevermisscall: % webhook % (inbox %) will be retried: %', t.kind, t.webhook_key, t.id, SQLERRM;
                    EXIT;
                WHEN OTHERS THEN
                    GET STACKED DIAGNOSTICS err_state = RETURNED_SQLSTATE, err_message = MESSAGE_TEXT;
                    RAISE WARNING 'nevermisscall: % webhook % (inbox %) could not be applied: % %', t.kind, t.webhook_key, t.id, err_state, err_message;
                    UPDATE nmc.webhook_inbox SET failed_at = now(), error = err_state || ': ' || err_message WHERE id = t.id;
            END;
            n := n + 1;
        END LOOP;
        PERFORM set_config('nmc.business_id', '', true);
        PERFORM nmc.emit_deferred_events();
        RETURN n;
    END IF;

    WHILE n < max_webhooks LOOP
        SELECT array_agg(q ORDER BY q.id) INTO batch
          FROM (SELECT * FROM nmc.webhook_inbox WHERE failed_at IS NULL ORDER BY id LIMIT max_webhooks - n FOR UPDATE SKIP LOCKED) q;
        EXIT WHEN batch IS NULL;
        -- Every path locks a conversation before its business's event counter. With
        -- several webhooks this transaction takes all their open conversations (by id)
        -- before touching any; their counters it takes only at its end, in business
        -- order, when it numbers its events (nmc.emit_deferred_events): a business's
        -- other writers (the dispatcher completing texts) wait for no batch.
        -- Each sender's number, normalised once (NULL: not a number we can text);
        -- a text that will go alone is normalised by nmc.sms_received.
        callers := CASE WHEN cardinality(batch) > 1 OR cardinality(batch) >= min_together
                        THEN ARRAY(SELECT nmc.phone_or_null(g.params ->> 'From') FROM unnest(batch) g) END;
        IF cardinality(batch) > 1 THEN
            PERFORM 1 FROM nmc.conversations c
              JOIN (SELECT DISTINCT g.business_id, g.phone_number_id, callers[g.ordinality] AS phone
                      FROM unnest(batch) WITH ORDINALITY AS g) k
                ON c.business_id = k.business_id AND c.phone_number_id = k.phone_number_id AND c.state = 'open'
              JOIN nmc.customers cu ON cu.id = c.customer_id AND cu.business_id = k.business_id AND cu.phone = k.phone
             ORDER BY c.id FOR UPDATE OF c;
        END IF;
        -- Which texts are routine (see nmc.sms_thread_routine): an inbound text, not
        -- a keyword, no emergency to raise (the terms of nmc.emergency_term_in, for
        -- all texts in one pass), not for the assistant, not already threaded.
        routine := NULL;
        IF cardinality(batch) >= min_together THEN
            SELECT array_agg(x.mode ORDER BY x.i), array_agg(x.routine ORDER BY x.i)
              INTO modes, routine
              FROM (SELECT g.ordinality AS i, o.mode,
                           g.kind = 'sms' AND callers[g.ordinality] IS NOT NULL AND nmc.sms_keyword(coalesce(g.params ->> 'Body', '')) IS NULL
                           AND b.id IS NOT NULL
                           AND EXISTS (SELECT 1 FROM nmc.phone_numbers p WHERE p.id = g.phone_number_id AND p.business_id = g.business_id)
                           AND NOT EXISTS (SELECT 1 FROM nmc.messages m WHERE m.twilio_sid = g.webhook_key)
                           AND coalesce(o.mode, 'waiting') <> 'ai'
                           AND (cu.opted_out_at IS NOT NULL OR coalesce(o.mode, 'waiting') = 'human'
                                OR NOT EXISTS (SELECT 1 FROM nmc.emergency_terms et
                                                WHERE (et.trade_type IS NULL OR et.trade_type = b.trade_type)
                                                  AND strpos(w.words, ' ' || et.term || ' ') > 0)) AS routine
                      FROM unnest(batch) WITH ORDINALITY AS g
                      CROSS JOIN LATERAL (SELECT CASE WHEN g.kind = 'sms' THEN nmc.emergency_words(coalesce(g.params ->> 'Body', '')) END
                                                 AS words OFFSET 0) w  -- once per text
                      LEFT JOIN nmc.businesses b ON b.id = g.business_id
                      LEFT JOIN nmc.customers cu ON cu.business_id = g.business_id AND cu.phone = callers[g.ordinality]
                      LEFT JOIN nmc.conversations o ON o.business_id = cu.business_id AND o.phone_number_id = g.phone_number_id
                                                   AND o.customer_id = cu.id AND o.state = 'open') x;
        END IF;
        -- The first run of at least min_together routine texts: run_len of them from run_from.
        run_from := NULL;
        run_len := 0;
        FOR i IN 1 .. coalesce(cardinality(routine), 0) LOOP
            IF routine[i] THEN
                run_len := run_len + 1;
                IF run_len >= min_together AND run_from IS NULL THEN
                    run_from := i - run_len + 1;
                END IF;
            ELSIF run_from IS NOT NULL THEN
                EXIT;
            ELSE
                run_len := 0;
            END IF;
        END LOOP;
        IF run_from = 1 THEN
            -- A run of routine texts together (planned once for any size).
            PERFORM nmc.sms_thread_routine(batch[1:run_len], callers[1:run_len], modes[1:run_len]);
            -- By an array of ids (one index probe each; IN (subquery) planned generically
            -- compared every inbox row with every text).
            DELETE FROM nmc.webhook_inbox WHERE id = ANY (ARRAY(SELECT r.id FROM unnest(batch[1:run_len]) r));
            done := run_len;
        ELSE
            -- Everything up to the next such run, one by one, each by its kind.
            done := coalesce(run_from - 1, cardinality(batch));
            FOREACH t IN ARRAY batch[1:done] LOOP
                PERFORM set_config('nmc.business_id', t.business_id::text, true);
                PERFORM nmc.webhook_inbox_apply(t);
                DELETE FROM nmc.webhook_inbox WHERE id = t.id;
            END LOOP;
            PERFORM set_config('nmc.business_id', '', true);
        END IF;
        n := n + done;
        -- The inbox had no more than this batch, and all of it is done.
        EXIT WHEN done = cardinality(batch) AND cardinality(batch) < max_webhooks - n + done;
    END LOOP;
    PERFORM nmc.emit_deferred_events();
    RETURN n;
END
$$;
COMMENT ON FUNCTION nmc.webhook_inbox_run(int, boolean, int) IS 'Applies up to max_webhooks inbox webhooks in arrival order and deletes them; returns how many it took. A run of at least min_together routine inbound texts goes through nmc.sms_thread_routine at once; every other webhook (calls, status callbacks, texts that are not routine, runs too short to be worth it) through nmc.webhook_inbox_apply one by one, many per transaction. Events are numbered when the run ends (nmc.defer_events), and the transaction commits without waiting for its WAL flush (a crash that loses it leaves its webhooks in the inbox). The inbox worker runs it in one transaction per batch; when a batch raises an error (a deadlock with a timer included) it runs it again with isolate, which gives each webhook a subtransaction and marks a failing one (failed_at, error) instead of losing the batch — one that meets a deadlock or serialization failure again is left for the next round, not marked.';
CREATE OR REPLACE FUNCTION nmc.inbox_health(OUT worker_pid int, OUT heartbeat_age interval, OUT waiting bigint,
                                 OUT oldest_waiting_age interval, OUT failed bigint)
LANGUAGE sql STABLE
AS $$
    SELECT p.pid, greatest(interval '0', clock_timestamp() - p.heartbeat_at),
           (SELECT count(*) FROM nmc.webhook_inbox WHERE failed_at IS NULL),
           (SELECT greatest(interval '0', clock_timestamp() - min(received_at)) FROM nmc.webhook_inbox WHERE failed_at IS NULL),
           (SELECT count(*) FROM nmc.webhook_inbox WHERE failed_at IS NOT NULL)
      FROM nmc.inbox_process() p
$$;
COMMENT ON FUNCTION nmc.inbox_health() IS 'DBA and status page: the inbox worker''s pid and heartbeat age, webhooks waiting to be applied and how long the oldest has waited, and webhooks whose processing failed.';
CREATE OR REPLACE FUNCTION nmc.sms_received(t nmc.webhook_inbox)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    sid text := t.webhook_key;
    body text := coalesce(t.params ->> 'Body', '');
    pn nmc.phone_numbers;
    caller text;
    cust nmc.customers;
    conv nmc.conversations;
    m nmc.messages;
    kw text;
    danger text;
    b nmc.businesses;
BEGIN
    IF EXISTS (SELECT 1 FROM nmc.messages WHERE twilio_sid = sid) THEN
        RETURN;  -- Twilio delivered it again after it was threaded.
    END IF;
    BEGIN
        caller := nmc.normalize_phone(t.params ->> 'From', 'From');
    EXCEPTION WHEN SQLSTATE 'NM400' THEN
        RAISE LOG 'nevermisscall: text % from % cannot be answered by text', sid, t.params ->> 'From';
        RETURN;
    END;
    SELECT * INTO pn FROM nmc.phone_numbers WHERE id = t.phone_number_id;
    SELECT * INTO b FROM nmc.businesses WHERE id = t.business_id;
    IF pn.id IS NULL OR b.id IS NULL OR pn.business_id <> b.id THEN
        RAISE LOG 'nevermisscall: text % arrived for a number the business no longer has', sid;
        RETURN;
    END IF;
    cust := nmc.customer_upsert(b.id, caller);
    conv := nmc.conversation_open(b.id, cust.id, pn.id);
    INSERT INTO nmc.messages (business_id, customer_id, conversation_id, direction, author, from_phone, to_phone, body, status,
                              twilio_sid, created_at)
    VALUES (b.id, cust.id, conv.id, 'inbound', 'customer', caller, pn.phone, left(CASE WHEN body = '' THEN '(empty message)' ELSE body END, 1600),
            'received', sid, t.received_at)
    ON CONFLICT (twilio_sid) DO NOTHING
    RETURNING * INTO m;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    UPDATE nmc.conversations SET last_message_at = greatest(last_message_at, m.created_at) WHERE id = conv.id RETURNING * INTO conv;
    PERFORM nmc.emit_event(b.id, 'message.created', nmc.message_json(m) - 'body');

    kw := nmc.sms_keyword(body);
    IF kw IS NULL THEN
        danger := nmc.emergency_term_in(b.id, body);
    END IF;
    IF kw = 'opt_out' THEN
        UPDATE nmc.customers SET opted_out_at = now() WHERE id = cust.id;
        -- Nobody may text them now, so nobody is waited for.
        IF conv.mode = 'human_window' THEN
            PERFORM nmc.conversation_set_mode(conv, 'waiting');
        END IF;
    ELSIF kw = 'opt_in' THEN
        UPDATE nmc.customers SET opted_out_at = NULL WHERE id = cust.id;
    ELSIF kw = 'help' THEN
        IF cust.opted_out_at IS NULL AND cust.sms_unreachable_at IS NULL THEN
            PERFORM nmc.sms_send(b.id, cust.id, pn.phone, coalesce(b.help_text, nmc.default_help_text(b)), 'system', conv.id);
        END IF;
    ELSIF danger IS NOT NULL AND cust.opted_out_at IS NULL AND conv.mode <> 'human' THEN
        PERFORM nmc.conversation_emergency(conv, danger);
    ELSIF conv.mode = 'ai' THEN
        -- The assistant has the conversation: it answers at once.
        PERFORM nmc.ai_respond(conv.id);
    ELSE
        PERFORM nmc.conversation_customer_wrote(conv);
    END IF;
END
$$;
COMMENT ON FUNCTION nmc.sms_received(nmc.webhook_inbox) IS 'Threads one inbound text into the open conversation of (business number, customer), or a new one. STOP-words opt the customer out, START-words back in, HELP gets the help text; words of danger get safety advice and alert the owner at once; in AI mode the assistant answers; anything else opens the human response window. Idempotent on MessageSid.';
CREATE OR REPLACE FUNCTION nmc.sms_thread_routine(texts nmc.webhook_inbox[], callers text[], modes text[])
RETURNS void
LANGUAGE plpgsql
-- Planned once, not for every batch: the plans (index lookups per text) suit any batch size.
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    cust uuid[];
    conv uuid[];
    created nmc.conversations[];
    msgs nmc.messages[];
    windows nmc.conversations[];
    timer_conv uuid[];
    timer_ids bigint[];
    timer_due timestamptz[];
    ev_b uuid[];
    ev_t text[];
    ev_body jsonb[];
BEGIN
    -- No ON CONFLICT clauses below (speculative insertion costs a third of the
    -- batch): the inbox worker is the only one threading texts, and a customer or
    -- conversation created meanwhile by a call, or a text threaded twice, makes
    -- the batch fail on a unique index — the worker then runs it one by one.
    -- Customers, created if new (as nmc.customer_upsert does).
    INSERT INTO nmc.customers AS c (business_id, phone)
    SELECT DISTINCT x.business_id, callers[x.ordinality] FROM unnest(texts) WITH ORDINALITY AS x
     WHERE NOT EXISTS (SELECT 1 FROM nmc.customers o WHERE o.business_id = x.business_id AND o.phone = callers[x.ordinality]);
    SELECT array_agg(c.id ORDER BY x.ordinality) INTO cust
      FROM unnest(texts) WITH ORDINALITY AS x JOIN nmc.customers c ON c.business_id = x.business_id AND c.phone = callers[x.ordinality];

    -- A conversation for each (number, customer) without an open one, linked to
    -- the customer's active lead, as nmc.conversation_open does.
    WITH pairs AS (
        SELECT DISTINCT x.business_id AS b, x.phone_number_id AS pn, cust[x.ordinality] AS c FROM unnest(texts) WITH ORDINALITY AS x
    ), ins AS (
        INSERT INTO nmc.conversations (business_id, customer_id, phone_number_id, lead_id)
        SELECT p.b, p.c, p.pn, (SELECT l.id FROM nmc.leads l WHERE l.business_id = p.b AND l.customer_id = p.c
                                   AND l.status IN ('new', 'contacted', 'qualified', 'appointment_scheduled'))
          FROM pairs p
         WHERE NOT EXISTS (SELECT 1 FROM nmc.conversations o
                            WHERE o.business_id = p.b AND o.phone_number_id = p.pn AND o.customer_id = p.c AND o.state = 'open')
        RETURNING *)
    SELECT array_agg(ins::nmc.conversations) INTO created FROM ins;

    SELECT array_agg(o.id ORDER BY x.ordinality) INTO conv
      FROM unnest(texts) WITH ORDINALITY AS x
      JOIN nmc.conversations o ON o.business_id = x.business_id AND o.phone_number_id = x.phone_number_id
                              AND o.customer_id = cust[x.ordinality] AND o.state = 'open';
    -- Locked as nmc.conversation_open locks them. One closed, or whose mode
    -- changed since the texts were sorted (a timer handed it to the assistant, the
    -- owner took it over), sends the batch to the one-by-one path.
    IF (SELECT count(*) FROM (SELECT 1 FROM nmc.conversations WHERE id = ANY (conv) AND state = 'open' ORDER BY id FOR UPDATE) l)
       <> (SELECT count(DISTINCT x) FROM unnest(conv) x) OR coalesce(cardinality(conv), 0) <> cardinality(texts)
       OR EXISTS (SELECT 1 FROM unnest(texts) WITH ORDINALITY AS x JOIN nmc.conversations c ON c.id = conv[x.ordinality]
                   WHERE c.mode <> coalesce(modes[x.ordinality], 'waiting')) THEN
        RAISE EXCEPTION 'nevermisscall: a conversation changed while texts were being threaded' USING ERRCODE = 'serialization_failure';
    END IF;

    WITH m AS (
        INSERT INTO nmc.messages (business_id, customer_id, conversation_id, direction, author, from_phone, to_phone, body, status,
                                  twilio_sid, created_at)
        SELECT x.business_id, cust[x.ordinality], conv[x.ordinality], 'inbound', 'customer', callers[x.ordinality], pn.phone,
               left(CASE WHEN coalesce(x.params ->> 'Body', '') = '' THEN '(empty message)' ELSE x.params ->> 'Body' END, 1600),
               'received', x.webhook_key, x.received_at
          FROM unnest(texts) WITH ORDINALITY AS x JOIN nmc.phone_numbers pn ON pn.id = x.phone_number_id
         ORDER BY x.ordinality
        RETURNING *)
    SELECT array_agg(m::nmc.messages) INTO msgs FROM m;

    -- The customer wrote: each conversation's last message moves on, and where
    -- the conversation waited for the customer the human response window opens
    -- (nmc.conversation_customer_wrote, for many at once) — one update each. The
    -- timers' conversations come back as an array, and each conversation finds its
    -- timer by position: joining the two row sets would compare every pair.
    WITH t AS (
        INSERT INTO nmc.timers (business_id, kind, subject_id, due_at)
        SELECT c.business_id, 'conversation.human_window', c.id, now() + make_interval(secs => b.human_window_seconds)
          FROM nmc.conversations c JOIN nmc.businesses b ON b.id = c.business_id
         WHERE c.id = ANY (conv) AND c.mode = 'waiting'
        RETURNING id, subject_id, due_at)
    SELECT array_agg(t.subject_id), array_agg(t.id), array_agg(t.due_at) INTO timer_conv, timer_ids, timer_due FROM t;
    WITH u AS (
        UPDATE nmc.conversations c
           SET last_message_at = greatest(c.last_message_at, last.last_at),
               mode = CASE WHEN last.k IS NULL THEN c.mode ELSE 'human_window' END,
               human_window_deadline = CASE WHEN last.k IS NULL THEN c.human_window_deadline ELSE timer_due[last.k] END,
               human_window_timer_id = CASE WHEN last.k IS NULL THEN c.human_window_timer_id ELSE timer_ids[last.k] END
          FROM (SELECT m.conversation_id AS id, max(m.created_at) AS last_at, array_position(timer_conv, m.conversation_id) AS k
                  FROM unnest(msgs) m GROUP BY 1) last
         WHERE c.id = last.id
        RETURNING c AS row, last.k)
    SELECT array_agg(u.row) INTO windows FROM u WHERE u.k IS NOT NULL;

    -- Events in the order the one-by-one path emits them: per text, the new
    -- conversation, the message, then the window it opened.
    WITH tx AS (SELECT x.ordinality AS i, x.webhook_key AS sid, conv[x.ordinality] AS conv_id FROM unnest(texts) WITH ORDINALITY AS x),
         firsts AS (SELECT tx.conv_id, min(tx.i) AS i FROM tx GROUP BY tx.conv_id),
         e AS (SELECT f.i, 0 AS sub, c.business_id AS b, 'conversation.created'::text AS t,
                      nmc.conversation_json(c) || jsonb_build_object('customer', nmc.customer_brief(c.customer_id)) AS body
                 FROM unnest(created) c JOIN firsts f ON f.conv_id = c.id
               UNION ALL
               SELECT tx.i, 1, m.business_id, 'message.created', nmc.message_json(m) - 'body'
                 FROM unnest(msgs) m JOIN tx ON tx.sid = m.twilio_sid
               UNION ALL
               SELECT f.i, 2, w.business_id, 'conversation.updated',
                      jsonb_build_object('id', w.id, 'mode', w.mode, 'state', w.state, 'human_window_deadline', w.human_window_deadline)
                 FROM unnest(windows) w JOIN firsts f ON f.conv_id = w.id)
    SELECT array_agg(e.b ORDER BY e.i, e.sub), array_agg(e.t ORDER BY e.i, e.sub), array_agg(e.body ORDER BY e.i, e.sub)
      INTO ev_b, ev_t, ev_body
      FROM e;
    PERFORM nmc.emit_events(ev_b, ev_t, ev_body);
END
$$;
COMMENT ON FUNCTION nmc.sms_thread_routine(nmc.webhook_inbox[], text[], text[]) IS 'Threads many routine inbound texts at once (callers: their normalised From numbers; modes: the mode of the open conversation each was sorted with, NULL if none — all in the same order): what nmc.sms_received does for a text that is not a keyword, raises no emergency and is not for the assistant — customer, conversation, message dated at receipt, the human response window where the conversation waited for the customer, and the same events in the same order. nmc.webhook_inbox_run decides which texts are routine.';
CREATE OR REPLACE FUNCTION nmc.call_answer_twiml(b nmc.businesses, answer text)
RETURNS nmc.http_response
LANGUAGE plpgsql
STABLE
AS $$
BEGIN
    IF answer = 'forward' AND b.forward_to_phone IS NOT NULL THEN
        RETURN nmc.twiml_dial(b.forward_to_phone, b.ring_timeout_seconds,
                              nmc.twilio_webhook_url(nmc.settings_json(), '/webhooks/twilio/voice/dial'));
    ELSIF answer IN ('after_hours', 'no_forward_phone') THEN
        RETURN nmc.twiml_say_and_hang_up(coalesce(b.after_hours_message, nmc.default_after_hours_message(b)));
    ELSIF answer = 'missed' THEN
        RETURN nmc.twiml_say_and_hang_up(format('Sorry we couldn''t take your call. %s will text you right away.', b.name));
    END IF;
    RETURN nmc.twiml('<Hangup/>');
END
$$;
COMMENT ON FUNCTION nmc.call_answer_twiml(nmc.businesses, text) IS 'The TwiML for a call: forward (<Dial> to the owner with the ring timeout and our action URL), after_hours or no_forward_phone (the after-hours message), missed (a text is coming), anything else hang up.';
CREATE OR REPLACE FUNCTION nmc.call_missed(c nmc.calls, p_reason text, at timestamptz)
RETURNS nmc.calls
LANGUAGE plpgsql
AS $$
DECLARE
    b nmc.businesses;
    pn nmc.phone_numbers;
    caller text;
    cust nmc.customers;
    l nmc.leads;
    conv nmc.conversations;
    m nmc.messages;
    v_decision text;
    why text;
BEGIN
    SELECT * INTO b FROM nmc.businesses WHERE id = c.business_id;
    SELECT * INTO pn FROM nmc.phone_numbers WHERE id = c.phone_number_id;
    BEGIN
        caller := nmc.normalize_phone(c.from_raw, 'From');
    EXCEPTION WHEN SQLSTATE 'NM400' THEN
        caller := NULL;
    END;

    IF caller IS NULL THEN
        v_decision := 'suppressed_anonymous';
        why := format('the caller''s number (%s) cannot receive a text', c.from_raw);
    ELSE
        cust := nmc.customer_upsert(b.id, caller);
        l := nmc.lead_for_call(b.id, cust.id);
        IF EXISTS (SELECT 1 FROM nmc.blocked_numbers WHERE business_id = b.id AND phone = caller) THEN
            v_decision := 'suppressed_blocked';
            why := 'the number is on the block list';
        ELSIF cust.opted_out_at IS NOT NULL THEN
            v_decision := 'suppressed_opted_out';
            why := 'the customer replied STOP';
        ELSIF cust.sms_unreachable_at IS NOT NULL THEN
            v_decision := 'suppressed_unreachable';
            why := 'the number cannot receive texts: ' || coalesce(cust.sms_unreachable_reason, 'unknown');
        ELSIF p_reason NOT IN ('after_hours', 'no_forward_phone')
              AND at - c.created_at < make_interval(secs => b.min_ring_seconds) THEN
            v_decision := 'suppressed_short_ring';
            why := format('the caller hung up after %s s, before the minimum ring time of %s s',
                          round(extract(epoch FROM at - c.created_at)), b.min_ring_seconds);
        ELSIF cust.last_greeting_at > at - make_interval(secs => b.repeat_window_seconds) THEN
            v_decision := 'suppressed_repeat';
            why := format('this number got a greeting %s s ago (repeat window %s s)',
                          round(extract(epoch FROM at - cust.last_greeting_at)), b.repeat_window_seconds);
        ELSE
            conv := nmc.conversation_open(b.id, cust.id, pn.id, l.id);
            m := nmc.sms_send(b.id, cust.id, pn.phone,
                              nmc.greeting_render(b.id, nmc.greeting_template_of(b.id), pn.phone), 'system', conv.id);
            UPDATE nmc.customers SET last_greeting_at = greatest(at, last_greeting_at) WHERE id = cust.id;
            v_decision := 'texted';
            why := 'missed call: greeting sent';
        END IF;
    END IF;

    UPDATE nmc.calls SET status = 'missed', missed_reason = p_reason, missed_at = at, decision = v_decision,
           decision_reason = why, customer_id = cust.id, lead_id = l.id, conversation_id = conv.id, message_id = m.id
     WHERE id = c.id RETURNING * INTO c;
    PERFORM nmc.emit_event(b.id, 'call.missed', nmc.call_json(c) || jsonb_build_object('customer', nmc.customer_brief(c.customer_id)));
    RETURN c;
END
$$;
COMMENT ON FUNCTION nmc.call_missed(nmc.calls, text, timestamptz) IS
    'A call missed at the moment at (when its webhook was accepted), in the caller''s transaction: customer, lead (new, or the active one touched), and the text decision — blocked, opted out, unreachable, hung up before min_ring_seconds, greeted within repeat_window_seconds, or texted (open conversation, rendered greeting, twilio.sms.send job). Emits call.missed.';
CREATE OR REPLACE FUNCTION nmc.webhook_voice(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $$
DECLARE
    sid text := nmc.webhook_field(req, 'CallSid');
    pn nmc.phone_numbers := nmc.webhook_tenant(nmc.webhook_field(req, 'To'));
    b nmc.businesses;
    c nmc.calls;
    answer text;
BEGIN
    IF pn.id IS NULL THEN
        RAISE LOG 'nevermisscall: call % to %, which is not one of our numbers', sid, req #>> '{body,To}';
        RETURN nmc.twiml_say_and_hang_up('Sorry, this number is not in service.');
    END IF;
    SELECT * INTO b FROM nmc.businesses WHERE id = pn.business_id;
    answer := CASE WHEN b.forward_to_phone IS NULL THEN 'no_forward_phone'
                   WHEN NOT nmc.business_is_open(b.id) THEN 'after_hours'
                   ELSE 'forward' END;
    answer := nmc.webhook_inbox_put('voice', sid, pn, (req -> 'body') || jsonb_build_object('nmc_answer', answer)) ->> 'nmc_answer';
    IF answer IS NULL THEN
        -- Twilio retried after the call was applied: the answer it got then.
        SELECT * INTO c FROM nmc.calls WHERE twilio_call_sid = sid;
        answer := CASE WHEN c.status = 'missed' AND c.missed_reason IN ('after_hours', 'no_forward_phone') THEN c.missed_reason
                       WHEN c.status = 'missed' THEN 'missed'
                       WHEN c.status IN ('ringing', 'forwarded') THEN 'forward' END;
    END IF;
    RETURN nmc.call_answer_twiml(b, answer);
END
$$;
COMMENT ON FUNCTION nmc.webhook_voice(jsonb) IS 'POST /webhooks/twilio/voice: an incoming call, accepted into the webhook inbox and answered at once. Open → forward to the owner (<Dial> with ring timeout and action); closed or no forward phone → the after-hours message (the call is then missed: nmc.call_rang). Idempotent on CallSid: a retry gets the same answer.';
CREATE OR REPLACE FUNCTION nmc.call_record(t nmc.webhook_inbox, p_status text)
RETURNS nmc.calls
LANGUAGE plpgsql
AS $$
DECLARE
    c nmc.calls;
BEGIN
    INSERT INTO nmc.calls (business_id, phone_number_id, twilio_call_sid, from_raw, to_phone, status, call_status, created_at)
    SELECT t.business_id, pn.id, t.webhook_key, coalesce(t.params ->> 'From', 'unknown'), pn.phone, p_status, t.params ->> 'CallStatus',
           t.received_at
      FROM nmc.phone_numbers pn WHERE pn.id = t.phone_number_id AND pn.business_id = t.business_id
    ON CONFLICT (twilio_call_sid) DO NOTHING
    RETURNING * INTO c;
    IF NOT FOUND AND NOT EXISTS (SELECT 1 FROM nmc.phone_numbers WHERE id = t.phone_number_id AND business_id = t.business_id) THEN
        RAISE LOG 'nevermisscall: call % arrived for a number the business no longer has', t.webhook_key;
    END IF;
    RETURN c;
END
$$;
COMMENT ON FUNCTION nmc.call_record(nmc.webhook_inbox, text) IS 'Records the call an accepted voice webhook belongs to, with p_status, created when the webhook was accepted; returns the new row, or a row of NULLs when the call was recorded already (idempotent on CallSid) or its number is gone (logged).';
CREATE OR REPLACE FUNCTION nmc.call_rang(t nmc.webhook_inbox)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    answer text := t.params ->> 'nmc_answer';
    c nmc.calls := nmc.call_record(t, CASE WHEN answer = 'forward' THEN 'forwarded' ELSE 'ringing' END);
BEGIN
    IF c.id IS NULL THEN
        RETURN;  -- Applied before (Twilio retried), its dial result came first, or the number is gone.
    ELSIF answer = 'forward' THEN
        PERFORM nmc.emit_event(c.business_id, 'call.updated', nmc.call_json(c));
    ELSE
        PERFORM nmc.call_missed(c, answer, t.received_at);
    END IF;
END
$$;
COMMENT ON FUNCTION nmc.call_rang(nmc.webhook_inbox) IS 'Applies an accepted incoming call: the call is recorded (created when the webhook was accepted) as forwarded, or missed at once when the caller was told the business is closed or has no forward phone. Idempotent on CallSid.';
CREATE OR REPLACE FUNCTION nmc.call_dial_missed_reason(params jsonb)
RETURNS text
LANGUAGE sql
IMMUTABLE
AS $$
    SELECT CASE WHEN params ->> 'DialCallStatus' IN ('no-answer', 'busy', 'failed', 'canceled') THEN params ->> 'DialCallStatus'
                WHEN params ->> 'DialBridged' = 'false' THEN 'not-bridged' END
$$;
COMMENT ON FUNCTION nmc.call_dial_missed_reason(jsonb) IS 'Why the forwarded call counts as missed, from the <Dial> action''s fields: no-answer, busy, failed, canceled, or not-bridged; NULL when the owner answered.';
CREATE OR REPLACE FUNCTION nmc.webhook_voice_dial(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $$
DECLARE
    sid text := nmc.webhook_field(req, 'CallSid');
    dial_status text := nmc.webhook_field(req, 'DialCallStatus');
    pn nmc.phone_numbers := nmc.webhook_tenant(nmc.webhook_field(req, 'To'));
    b nmc.businesses;
BEGIN
    IF pn.id IS NULL THEN
        RAISE LOG 'nevermisscall: dial result for call % to %, which is not one of our numbers', sid, req #>> '{body,To}';
        RETURN nmc.twiml('<Hangup/>');
    END IF;
    PERFORM nmc.webhook_inbox_put('voice_dial', sid, pn, req -> 'body');
    SELECT * INTO b FROM nmc.businesses WHERE id = pn.business_id;
    RETURN nmc.call_answer_twiml(b, CASE WHEN nmc.call_dial_missed_reason(req -> 'body') IS NOT NULL THEN 'missed' END);
END
$$;
COMMENT ON FUNCTION nmc.webhook_voice_dial(jsonb) IS 'POST /webhooks/twilio/voice/dial: the <Dial> ended; accepted into the webhook inbox (nmc.call_dial_ended applies it) and answered at once — a missed call hears that a text is coming, an answered one hangs up. Idempotent on CallSid.';
CREATE OR REPLACE FUNCTION nmc.call_dial_ended(t nmc.webhook_inbox)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    c nmc.calls;
    reason text := nmc.call_dial_missed_reason(t.params);
BEGIN
    PERFORM nmc.call_record(t, 'forwarded');
    SELECT * INTO c FROM nmc.calls WHERE twilio_call_sid = t.webhook_key FOR UPDATE;
    IF NOT FOUND OR c.status IN ('answered', 'missed') THEN
        RETURN;  -- Its number is gone (and its calls with it), or it was applied before.
    END IF;
    UPDATE nmc.calls SET dial_call_status = t.params ->> 'DialCallStatus', call_status = coalesce(t.params ->> 'CallStatus', call_status),
           duration_seconds = CASE WHEN t.params ->> 'DialCallDuration' ~ '^[0-9]+$' THEN (t.params ->> 'DialCallDuration')::int END
     WHERE id = c.id RETURNING * INTO c;
    IF reason IS NOT NULL THEN
        PERFORM nmc.call_missed(c, reason, t.received_at);
    ELSE
        -- Completed calls are never texted.
        UPDATE nmc.calls SET status = 'answered', decision = 'not_missed', decision_reason = 'the call was answered'
         WHERE id = c.id RETURNING * INTO c;
        PERFORM nmc.emit_event(c.business_id, 'call.updated', nmc.call_json(c));
    END IF;
END
$$;
COMMENT ON FUNCTION nmc.call_dial_ended(nmc.webhook_inbox) IS 'Applies an accepted <Dial> result: no-answer, busy, failed, canceled (or not bridged) → a missed call, decided as of the moment the webhook was accepted (nmc.call_missed); answered → never texted. Idempotent on CallSid.';
CREATE OR REPLACE FUNCTION nmc.webhook_voice_status(req jsonb)
RETURNS nmc.http_response
LANGUAGE sql
AS $$ SELECT nmc.webhook_status_accept(req, 'voice_status', 'CallSid', 'CallStatus', 'To') $$;
COMMENT ON FUNCTION nmc.webhook_voice_status(jsonb) IS 'POST /webhooks/twilio/voice/status: the call''s final status and duration, accepted into the webhook inbox (nmc.call_status_reported applies it). Idempotent on CallSid and status.';
CREATE OR REPLACE FUNCTION nmc.call_status_reported(t nmc.webhook_inbox)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    c nmc.calls;
BEGIN
    UPDATE nmc.calls SET call_status = coalesce(t.params ->> 'CallStatus', call_status),
           duration_seconds = coalesce(CASE WHEN t.params ->> 'CallDuration' ~ '^[0-9]+$' THEN (t.params ->> 'CallDuration')::int END, duration_seconds)
     WHERE twilio_call_sid = t.params ->> 'CallSid' AND business_id = t.business_id
       AND (call_status IS DISTINCT FROM t.params ->> 'CallStatus' OR duration_seconds IS NULL)
    RETURNING * INTO c;
    IF FOUND THEN
        PERFORM nmc.emit_event(c.business_id, 'call.updated', nmc.call_json(c));
    END IF;
END
$$;
COMMENT ON FUNCTION nmc.call_status_reported(nmc.webhook_inbox) IS 'Applies an accepted call status callback: the call''s status and duration. Repeats change nothing.';
CREATE OR REPLACE FUNCTION nmc.webhook_sms(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $$
DECLARE
    sid text := req #>> '{body,MessageSid}';
    pn nmc.phone_numbers;
BEGIN
    -- Each required field checked at once; nmc.webhook_field names the missing one.
    IF coalesce(sid, '') = '' OR coalesce(req #>> '{body,To}', '') = '' OR coalesce(req #>> '{body,From}', '') = '' THEN
        PERFORM nmc.webhook_field(req, f) FROM unnest(ARRAY['MessageSid', 'To', 'From']) f;
    END IF;
    pn := nmc.webhook_tenant(req #>> '{body,To}');
    IF pn.id IS NULL THEN
        RAISE LOG 'nevermisscall: text % to %, which is not one of our numbers', sid, req #>> '{body,To}';
        RETURN nmc.twiml(NULL);
    END IF;
    -- Kept first, threaded right after commit by the inbox worker (nmc.sms_received).
    PERFORM nmc.webhook_inbox_put('sms', sid, pn, req -> 'body');
    RETURN nmc.twiml(NULL);
END
$$;
COMMENT ON FUNCTION nmc.webhook_sms(jsonb) IS 'POST /webhooks/twilio/sms: an inbound text is recorded in nmc.webhook_inbox (one insert, idempotent on MessageSid) and answered at once; the inbox worker threads it into its conversation right after commit (nmc.sms_received). Texts to numbers that are not ours are logged and dropped.';
CREATE OR REPLACE FUNCTION nmc.webhook_sms_status(req jsonb)
RETURNS nmc.http_response
LANGUAGE sql
AS $$ SELECT nmc.webhook_status_accept(req, 'sms_status', 'MessageSid', 'MessageStatus', 'From') $$;
COMMENT ON FUNCTION nmc.webhook_sms_status(jsonb) IS 'POST /webhooks/twilio/sms/status: an outbound message''s delivery status, accepted into the webhook inbox (nmc.message_status_reported applies it) and answered at once. Idempotent on MessageSid and status.';
CREATE OR REPLACE FUNCTION nmc.message_status_reported(t nmc.webhook_inbox)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    new_status text := t.params ->> 'MessageStatus';
    code text := t.params ->> 'ErrorCode';
    m nmc.messages;
    lead uuid;
BEGIN
    SELECT * INTO m FROM nmc.messages WHERE twilio_sid = t.params ->> 'MessageSid' AND business_id = t.business_id FOR UPDATE;
    IF NOT FOUND OR nmc.message_status_rank(new_status) <= nmc.message_status_rank(m.status)
       OR new_status NOT IN ('queued', 'sending', 'sent', 'delivered', 'undelivered', 'failed') THEN
        RETURN;
    END IF;
    UPDATE nmc.messages SET status = new_status,
           error_code = CASE WHEN code ~ '^[0-9]+$' THEN code::int ELSE error_code END,
           error_message = CASE WHEN new_status IN ('undelivered', 'failed') THEN 'Twilio delivery error ' || coalesce(code, 'unknown') ELSE error_message END,
           sent_at = CASE WHEN new_status IN ('sent', 'delivered') THEN coalesce(sent_at, t.received_at) ELSE sent_at END,
           delivered_at = CASE WHEN new_status = 'delivered' THEN t.received_at ELSE delivered_at END
     WHERE id = m.id RETURNING * INTO m;
    PERFORM nmc.emit_event(m.business_id, 'message.status',
        jsonb_build_object('id', m.id, 'conversation_id', m.conversation_id, 'status', m.status, 'error_code', m.error_code));
    SELECT c.lead_id INTO lead FROM nmc.conversations c WHERE c.id = m.conversation_id;
    IF lead IS NOT NULL AND new_status = 'delivered' THEN
        PERFORM nmc.lead_transition(lead, 'contacted');
    ELSIF lead IS NOT NULL AND new_status IN ('undelivered', 'failed') THEN
        UPDATE nmc.leads SET delivery_error = m.error_message WHERE id = lead;
    END IF;
END
$$;
COMMENT ON FUNCTION nmc.message_status_reported(nmc.webhook_inbox) IS 'Applies an accepted delivery status callback, only if it moves the message forward; delivered moves its lead to contacted, a delivery failure shows on the lead.';
CREATE OR REPLACE FUNCTION nmc.api_sandbox_missed_call(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $$
DECLARE
    pn nmc.phone_numbers := nmc.sandbox_number();
    caller text := nmc.sandbox_caller(req);
    sid text := nmc.twilio_random_sid('CA');
BEGIN
    -- The voice webhook, then (if it rang the owner) the <Dial> ending unanswered;
    -- the inbox worker applies both right after this commit, as for Twilio's.
    PERFORM nmc.webhook_voice(jsonb_build_object('body', jsonb_build_object(
        'CallSid', sid, 'From', caller, 'To', pn.phone, 'CallStatus', 'ringing', 'Direction', 'inbound')));
    IF (SELECT i.params ->> 'nmc_answer' FROM nmc.webhook_inbox i WHERE i.kind = 'voice' AND i.webhook_key = sid) = 'forward' THEN
        PERFORM nmc.webhook_voice_dial(jsonb_build_object('body', jsonb_build_object(
            'CallSid', sid, 'From', caller, 'To', pn.phone, 'CallStatus', 'in-progress',
            'DialCallStatus', 'no-answer', 'DialCallDuration', '0')));
    END IF;
    RETURN nmc.respond(202, jsonb_build_object('call_sid', sid, 'from', caller, 'to', pn.phone));
END
$$;
COMMENT ON FUNCTION nmc.api_sandbox_missed_call(jsonb) IS 'POST /api/sandbox/missed-call {from?}: sandbox mode only — an unanswered call to the business''s number, through the same code as Twilio''s voice webhooks (accepted now; greeting text, lead, conversation and events right after, from the inbox worker).';
CREATE OR REPLACE FUNCTION nmc.emergency_term_in(p_business_id uuid, body text)
RETURNS text
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    words text := nmc.emergency_words(body);
    hit text;
BEGIN
    -- The inbox worker asks the same of many texts at once (nmc.webhook_inbox_run).
    SELECT t.term INTO hit FROM nmc.emergency_terms t
     WHERE (t.trade_type IS NULL OR t.trade_type = (SELECT b.trade_type FROM nmc.businesses b WHERE b.id = p_business_id))
       AND strpos(words, ' ' || t.term || ' ') > 0
     ORDER BY length(t.term) DESC LIMIT 1;
    RETURN hit;
END
$$;
COMMENT ON FUNCTION nmc.emergency_term_in(uuid, text) IS 'The word of danger for the business''s trade found in a text (whole words, any case, punctuation ignored), or NULL; the longest if several.';
CREATE OR REPLACE FUNCTION nmc_api.metrics()
RETURNS text
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = nmc, public, pg_temp
AS $$
DECLARE
    h record;
    out text := '';
BEGIN
    SELECT * INTO h FROM nmc.dispatcher_health();
    out := out || E'# HELP nmc_jobs Jobs in the outbox by kind and status.\n# TYPE nmc_jobs gauge\n'
        || coalesce((SELECT string_agg(format('nmc_jobs{kind="%s",status="%s"} %s', kind, status, n), E'\n' ORDER BY kind, status)
                       FROM (SELECT kind, status, count(*) AS n FROM nmc.jobs GROUP BY kind, status) q) || E'\n', '');
    out := out || E'# HELP nmc_jobs_oldest_due_seconds How long the oldest due job has waited.\n# TYPE nmc_jobs_oldest_due_seconds gauge\n'
        || format(E'nmc_jobs_oldest_due_seconds %s\n', round(coalesce(extract(epoch FROM h.oldest_due_age), 0)::numeric, 3));
    out := out || E'# HELP nmc_job_attempts_5m HTTP attempts of the dispatcher over the last 5 minutes by outcome.\n# TYPE nmc_job_attempts_5m gauge\n'
        || format(E'nmc_job_attempts_5m{outcome="done"} %s\nnmc_job_attempts_5m{outcome="retry"} %s\nnmc_job_attempts_5m{outcome="failed"} %s\n',
                  h.done_5m, h.retries_5m, h.failures_5m);
    out := out || E'# HELP nmc_dispatcher_up Whether the dispatcher worker is running.\n# TYPE nmc_dispatcher_up gauge\n'
        || format(E'nmc_dispatcher_up %s\n', CASE WHEN h.worker_pid IS NULL THEN 0 ELSE 1 END);
    out := out || E'# HELP nmc_dispatcher_heartbeat_age_seconds Seconds since the dispatcher last reported.\n# TYPE nmc_dispatcher_heartbeat_age_seconds gauge\n'
        || format(E'nmc_dispatcher_heartbeat_age_seconds %s\n', round(coalesce(extract(epoch FROM h.heartbeat_age), -1)::numeric, 3));
    SELECT * INTO h FROM nmc.inbox_health();
    out := out || E'# HELP nmc_webhook_inbox Twilio webhooks (calls, texts, status callbacks) accepted and not yet applied, by state.\n# TYPE nmc_webhook_inbox gauge\n'
        || format(E'nmc_webhook_inbox{state="waiting"} %s\nnmc_webhook_inbox{state="failed"} %s\n', h.waiting, h.failed);
    out := out || E'# HELP nmc_webhook_inbox_oldest_seconds How long the oldest waiting webhook has waited.\n# TYPE nmc_webhook_inbox_oldest_seconds gauge\n'
        || format(E'nmc_webhook_inbox_oldest_seconds %s\n', round(coalesce(extract(epoch FROM h.oldest_waiting_age), 0)::numeric, 3));
    out := out || E'# HELP nmc_inbox_worker_up Whether the inbox worker is running.\n# TYPE nmc_inbox_worker_up gauge\n'
        || format(E'nmc_inbox_worker_up %s\n', CASE WHEN h.worker_pid IS NULL THEN 0 ELSE 1 END);
    RETURN out;
END
$$;
COMMENT ON FUNCTION nmc_api.metrics() IS 'The database''s part of GET /metrics (Prometheus text): jobs by kind and status, oldest due job, attempts by outcome, dispatcher up and heartbeat. Runs as nmc_monitor.';

-- The edge groups whatever routes the database lists (every Twilio webhook).
CREATE OR REPLACE FUNCTION nmc_api.handle_many(requests jsonb)
RETURNS TABLE (status int, content_type text, headers text, body text)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = nmc, public, pg_temp
AS $$
BEGIN
    -- One after the other, in order, each exactly as nmc_api.handle alone (its
    -- own subtransaction; tenant reset at its start); one commit for all.
    -- (PL/pgSQL: the statement is planned once per session, not per call.)
    RETURN QUERY
    SELECT h.status, h.content_type, h.headers, h.body
      FROM jsonb_array_elements(requests) WITH ORDINALITY AS r(req, i)
     CROSS JOIN LATERAL nmc_api.handle(r.req ->> 0, r.req ->> 1, r.req -> 2, r.req -> 3, r.req ->> 4, r.req ->> 5, r.req ->> 6) h
     ORDER BY r.i;
END
$$;
COMMENT ON FUNCTION nmc_api.handle_many(jsonb) IS
    'Several requests in one transaction, for the edge''s group commit of the routes nmc_api.grouped_routes lists: requests is a JSON array of [method, path, query, request_headers, client_addr, request_body, raw_query] (the arguments of nmc_api.handle, query and headers as objects); one result row per request, in order. An error one request meets is its own response, as with nmc_api.handle.';
CREATE OR REPLACE FUNCTION nmc_api.grouped_routes()
RETURNS TABLE (method text, path text)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = nmc, public, pg_temp
AS $$
    -- Twilio's webhooks only record themselves in the webhook inbox (one insert,
    -- no lock another webhook waits for) and are idempotent on their key, so a
    -- call of a group that fails may safely run again alone.
    SELECT r.route_method, r.route_path FROM nmc.api_routes r WHERE r.auth = 'twilio' ORDER BY 1, 2
$$;
COMMENT ON FUNCTION nmc_api.grouped_routes() IS 'The routes whose concurrent requests the edge may commit together (nmc_api.handle_many): requests that only record themselves and are idempotent — Twilio''s webhooks. The edge reads this list instead of knowing any route.';

-- An inbox batch numbers its events when it ends (one counter update per
-- business), and commits without waiting for its WAL flush.
CREATE OR REPLACE FUNCTION nmc.emit_event(p_business_id uuid, p_type text, p_body jsonb)
RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
    n bigint;
BEGIN
    IF current_setting('nmc.events_deferred', true) = 'on' THEN
        -- Inside an inbox batch: numbered with the batch's others when it ends.
        INSERT INTO pg_temp.nmc_deferred_events (business_id, type, body) VALUES (p_business_id, p_type, p_body);
        RETURN NULL;
    END IF;
    -- UPDATE first: the counter row exists for all but a business's first event.
    UPDATE nmc.event_counters SET last_seq = last_seq + 1 WHERE business_id = p_business_id RETURNING last_seq INTO n;
    IF NOT FOUND THEN
        INSERT INTO nmc.event_counters AS c (business_id, last_seq) VALUES (p_business_id, 1)
        ON CONFLICT (business_id) DO UPDATE SET last_seq = c.last_seq + 1
        RETURNING last_seq INTO n;
    END IF;
    INSERT INTO nmc.events (business_id, seq, type, body) VALUES (p_business_id, n, p_type, p_body);
    -- One notification per business per transaction: Postgres folds equal payloads.
    PERFORM pg_notify('nmc_events', p_business_id::text);
    RETURN n;
END
$$;
COMMENT ON FUNCTION nmc.emit_event(uuid, text, jsonb) IS 'Appends an event for a business in the current transaction and notifies channel nmc_events (payload: the business id) at commit. Returns its number (NULL inside an inbox batch, where nmc.emit_deferred_events numbers it when the batch ends).';
CREATE OR REPLACE FUNCTION nmc.emit_events(p_business_ids uuid[], p_types text[], p_bodies jsonb[])
RETURNS void
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    IF coalesce(cardinality(p_business_ids), 0) = 0 THEN
        RETURN;
    END IF;
    IF current_setting('nmc.events_deferred', true) = 'on' THEN
        INSERT INTO pg_temp.nmc_deferred_events (business_id, type, body)
        SELECT u.b, u.t, u.body FROM unnest(p_business_ids, p_types, p_bodies) WITH ORDINALITY AS u(b, t, body, ord) ORDER BY u.ord;
        RETURN;
    END IF;
    -- Each business's counter moves once by its number of events; they take the
    -- numbers after its old value in array order.
    WITH e AS (
        SELECT u.b, u.t, u.body, u.ord,
               row_number() OVER (PARTITION BY u.b ORDER BY u.ord) AS k, count(*) OVER (PARTITION BY u.b) AS n
          FROM unnest(p_business_ids, p_types, p_bodies) WITH ORDINALITY AS u(b, t, body, ord)
    ), counters AS (
        -- In business order: two transactions that move several counters never
        -- wait on each other crosswise.
        INSERT INTO nmc.event_counters AS c (business_id, last_seq)
        SELECT DISTINCT e.b, e.n FROM e ORDER BY e.b
        ON CONFLICT (business_id) DO UPDATE SET last_seq = c.last_seq + excluded.last_seq
        RETURNING c.business_id, c.last_seq
    )
    INSERT INTO nmc.events (business_id, seq, type, body)
    SELECT e.b, counters.last_seq - e.n + e.k, e.t, e.body
      FROM e JOIN counters ON counters.business_id = e.b
     ORDER BY e.ord;
    PERFORM pg_notify('nmc_events', d.b::text) FROM (SELECT DISTINCT u.b FROM unnest(p_business_ids) AS u(b)) d;
END
$$;
COMMENT ON FUNCTION nmc.emit_events(uuid[], text[], jsonb[]) IS 'nmc.emit_event for many events at once (element k of each array is one event), numbered per business in array order; one notification per business.';
CREATE OR REPLACE FUNCTION nmc.defer_events()
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    IF to_regclass('pg_temp.nmc_deferred_events') IS NULL THEN
        CREATE TEMP TABLE nmc_deferred_events (
            ord         bigint GENERATED ALWAYS AS IDENTITY,
            business_id uuid NOT NULL,
            type        text NOT NULL,
            body        jsonb NOT NULL
        ) ON COMMIT DELETE ROWS;
    END IF;
    PERFORM set_config('nmc.events_deferred', 'on', true);
END
$$;
COMMENT ON FUNCTION nmc.defer_events() IS 'From now to the end of the transaction (or nmc.emit_deferred_events), events are kept in order in a temporary table of the session instead of being numbered one by one.';
CREATE OR REPLACE FUNCTION nmc.emit_deferred_events()
RETURNS void
LANGUAGE plpgsql
-- The kept events are read whole: a sequential scan is the plan (the inbox
-- batch that calls this plans with sequential scans off, which would make the
-- planner think it costly enough to compile with JIT, tens of milliseconds).
SET enable_seqscan = on
AS $$
DECLARE
    b uuid[];
    t text[];
    bodies jsonb[];
BEGIN
    IF current_setting('nmc.events_deferred', true) IS DISTINCT FROM 'on' THEN
        RETURN;
    END IF;
    PERFORM set_config('nmc.events_deferred', 'off', true);
    SELECT array_agg(e.business_id ORDER BY e.ord), array_agg(e.type ORDER BY e.ord), array_agg(e.body ORDER BY e.ord)
      INTO b, t, bodies
      FROM pg_temp.nmc_deferred_events e;
    DELETE FROM pg_temp.nmc_deferred_events;
    PERFORM nmc.emit_events(b, t, bodies);
END
$$;
COMMENT ON FUNCTION nmc.emit_deferred_events() IS 'Numbers and notifies the events kept since nmc.defer_events, in the order they were emitted (nmc.emit_events: each business''s counter moves once), and stops deferring.';
CREATE OR REPLACE FUNCTION nmc.dispatcher_complete_batch(job_ids bigint[], attempts int[], http_statuses int[], retry_afters text[],
                                              bodies text[], transport_errors text[], durations_ms double precision[])
RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
    i int;
    err_code text;
    err_message text;
BEGIN
    -- Events numbered once at the end (each business's counter moved once and
    -- held only until this commit, not from the first text of the batch on).
    PERFORM nmc.defer_events();
    FOR i IN 1 .. coalesce(array_length(job_ids, 1), 0) LOOP
        BEGIN
            PERFORM nmc.dispatcher_complete(job_ids[i], attempts[i], http_statuses[i], retry_afters[i],
                                            bodies[i], transport_errors[i], durations_ms[i]);
        EXCEPTION
            WHEN SQLSTATE 'NMR01' OR SQLSTATE 'NMR02' THEN
                GET STACKED DIAGNOSTICS err_message = MESSAGE_TEXT, err_code = PG_EXCEPTION_DETAIL;
                PERFORM nmc.dispatcher_reject(job_ids[i], attempts[i], http_statuses[i], retry_afters[i],
                                              durations_ms[i], SQLSTATE = 'NMR01', nullif(err_code, ''), err_message);
            WHEN OTHERS THEN
                -- A poison job: fail it alone, keep going with the rest.
                RAISE WARNING 'nevermisscall dispatcher: completing job % failed: %', job_ids[i], SQLERRM;
                PERFORM nmc.dispatcher_fail(job_ids[i], attempts[i], SQLERRM);
        END;
    END LOOP;
    PERFORM nmc.emit_deferred_events();
    RETURN coalesce(array_length(job_ids, 1), 0);
END
$$;
COMMENT ON FUNCTION nmc.dispatcher_complete_batch(bigint[], int[], int[], text[], text[], text[], double precision[]) IS
    'Dispatcher: completes a batch of finished requests in one transaction (one call, one commit), each in its own subtransaction so a poison job is failed alone; their events are numbered together at the end (nmc.defer_events).';

-- Bad input is a 4xx with a stable code: JSON with \u0000 or nested too deeply
-- (400 malformed_json), a webhook that is not form-encoded (415) or has a field
-- longer than Twilio sends (400 field_too_long); tokens not valid yet (nbf, iat).
CREATE OR REPLACE FUNCTION nmc_api.handle(method text, path text, query jsonb, request_headers jsonb,
                               client_addr text, request_body text, raw_query text DEFAULT NULL)
RETURNS TABLE (status int, content_type text, headers text, body text)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = nmc, public, pg_temp
AS $$
DECLARE
    route nmc.api_routes;
    params text[];
    allowed text;
    parsed jsonb;
    form_pairs text[];
    resp nmc.http_response;
    err_state text;
    err_message text;
    err_code text;
    err_field text;
BEGIN
    -- Never inherit a tenant from an earlier call in the same transaction.
    PERFORM set_config('nmc.business_id', '', true), set_config('nmc.user_id', '', true);
    -- Exact paths first (an index lookup); patterns with {params} only if none.
    SELECT r.* INTO route FROM nmc.api_routes r
     WHERE r.route_method = upper(handle.method) AND r.route_path = handle.path;
    IF route.handler IS NULL THEN
        SELECT r.* INTO route FROM nmc.api_routes r
         WHERE r.route_method = upper(handle.method) AND r.route_path ~ '\{' AND handle.path ~ nmc.route_regex(r.route_path)
         LIMIT 1;
    END IF;
    IF route.handler IS NULL THEN
        SELECT string_agg(DISTINCT r.route_method, ', ') INTO allowed
          FROM nmc.api_routes r WHERE handle.path ~ nmc.route_regex(r.route_path);
        IF allowed IS NULL THEN
            resp := nmc.respond(404, nmc.error_body('not_found', format('no route %s', handle.path)));
        ELSE
            resp := nmc.respond(405, nmc.error_body('method_not_allowed',
                        format('%s does not accept %s; allowed: %s', handle.path, upper(handle.method), allowed)),
                        'Allow: ' || allowed);
        END IF;
        RETURN QUERY SELECT resp.status, 'application/json'::text, resp.headers, resp.body::text;
        RETURN;
    END IF;

    params := CASE WHEN route.route_path ~ '\{' THEN regexp_match(handle.path, nmc.route_regex(route.route_path)) ELSE '{}' END;
    -- Everything below runs in one subtransaction: an error leaves no trace.
    BEGIN
        IF route.auth = 'twilio' THEN
            -- Twilio posts its webhooks form-encoded, always.
            IF split_part(lower(coalesce(request_headers ->> 'content-type', '')), ';', 1) <> 'application/x-www-form-urlencoded' THEN
                PERFORM nmc.raise_api_error(415, 'unsupported_media_type',
                    'Twilio webhooks are application/x-www-form-urlencoded', 'content-type');
            END IF;
            BEGIN
                form_pairs := nmc.form_decode(coalesce(request_body, ''));
            EXCEPTION WHEN invalid_text_representation THEN
                PERFORM nmc.raise_api_error(400, 'malformed_form', 'the request body is not a valid form');
            END;
            PERFORM nmc.webhook_fields_check(form_pairs);
            IF NOT nmc.twilio_request_is_signed(handle.path, raw_query, form_pairs,
                                                request_headers ->> 'x-twilio-signature') THEN
                PERFORM nmc.raise_api_error(403, 'invalid_signature',
                    'X-Twilio-Signature is missing or does not match this request');
            END IF;
            parsed := nmc.form_object(form_pairs);
        ELSIF coalesce(request_body, '') <> '' THEN
            BEGIN
                parsed := request_body::jsonb;
            EXCEPTION
                WHEN invalid_text_representation THEN
                    PERFORM nmc.raise_api_error(400, 'malformed_json', 'the request body is not valid JSON');
                WHEN untranslatable_character THEN
                    -- \u0000, which no text in the database can hold.
                    PERFORM nmc.raise_api_error(400, 'malformed_json', 'the request body holds a character that is not accepted (\u0000)');
                WHEN statement_too_complex OR program_limit_exceeded THEN
                    -- Nested deeper than the parser's stack allows.
                    PERFORM nmc.raise_api_error(400, 'malformed_json', 'the request body is nested too deeply');
            END;
        END IF;
        IF route.auth = 'jwt' THEN
            PERFORM nmc.authenticate(coalesce(request_headers, '{}'));
        END IF;
        resp := nmc.api_dispatch(route.handler, jsonb_build_object(
                'method', upper(handle.method), 'path', handle.path, 'params', to_jsonb(params),
                'query', coalesce(query, '{}'), 'headers', coalesce(request_headers, '{}'),
                'client_addr', client_addr, 'body', parsed));
        IF resp.status IS NULL THEN
            PERFORM nmc.raise_api_error(404, 'not_found', 'not found');
        END IF;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS err_state = RETURNED_SQLSTATE, err_message = MESSAGE_TEXT,
                                err_code = PG_EXCEPTION_DETAIL, err_field = PG_EXCEPTION_HINT;
        IF err_state ~ '^NM[0-9]{3}$' THEN
            resp := nmc.respond(substr(err_state, 3)::int, nmc.error_body(err_code, err_message, err_field));
        ELSE
            RAISE LOG 'nmc_api.handle % %: unexpected error % %', upper(handle.method), handle.path, err_state, err_message;
            resp := nmc.respond(500, nmc.error_body('internal_error', 'internal error'));
        END IF;
    END;
    IF resp.content_type IS NOT NULL THEN
        RETURN QUERY SELECT resp.status, resp.content_type, resp.headers, resp.text_body;
    ELSE
        RETURN QUERY SELECT resp.status, 'application/json'::text, resp.headers, resp.body::text;
    END IF;
END
$$;
COMMENT ON FUNCTION nmc_api.handle(text, text, jsonb, jsonb, text, text, text) IS
    'The edge''s one entry point for /api and /webhooks: (method, path, query args, lower-cased request headers, client address, raw body, raw query string) → (status, content type, extra header lines, body). API errors are JSON {"error":{"code","message"[,"field"]}}; Twilio webhooks are signature-checked and answer TwiML.';
CREATE OR REPLACE FUNCTION nmc.webhook_fields_check(pairs text[])
RETURNS void
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    i int;
    longest int;
BEGIN
    FOR i IN 1 .. coalesce(array_length(pairs, 1), 0) / 2 LOOP
        longest := CASE WHEN pairs[2 * i - 1] = 'Body' THEN 1600 ELSE 4096 END;
        IF length(pairs[2 * i]) > longest THEN
            PERFORM nmc.raise_api_error(400, 'field_too_long',
                format('%s is longer than Twilio sends (%s characters at most)', pairs[2 * i - 1], longest), pairs[2 * i - 1]);
        END IF;
    END LOOP;
END
$$;
COMMENT ON FUNCTION nmc.webhook_fields_check(text[]) IS 'Refuses a Twilio webhook with a field longer than Twilio sends (Body 1,600 characters, any other 4,096): NM400 field_too_long, naming the field.';
CREATE OR REPLACE FUNCTION nmc.jwt_verify(token text, secret text, at timestamptz DEFAULT now())
RETURNS jsonb
LANGUAGE c STRICT STABLE
AS 'MODULE_PATHNAME', 'nmc_jwt_verify';
COMMENT ON FUNCTION nmc.jwt_verify(text, text, timestamptz) IS
    'Verifies an HS256 JWT and returns its claims. Refusals: NMJ01 jwt_malformed, NMJ02 jwt_alg_not_allowed, NMJ03 jwt_bad_signature, NMJ04 jwt_expired (exp <= at), NMJ05 jwt_alg_none, NMJ06 jwt_not_yet_valid (nbf > at, or iat more than 60 s after at).';

-- The status page shows a business only its own queue, inbox and provider
-- figures: nothing platform-wide reaches a tenant.
DROP FUNCTION nmc.system_health();
DROP FUNCTION nmc.system_inbox_health();
DROP FUNCTION nmc.provider_stats_5m();
CREATE OR REPLACE FUNCTION nmc.provider_stats_5m()
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN coalesce((SELECT jsonb_object_agg(x.provider, jsonb_build_object('done', x.done, 'retries', x.retries, 'failures', x.failures))
                       FROM (SELECT k.provider,
                                    count(*) FILTER (WHERE a.outcome = 'done') AS done,
                                    count(*) FILTER (WHERE a.outcome = 'retry') AS retries,
                                    count(*) FILTER (WHERE a.outcome = 'failed') AS failures
                               FROM nmc.job_attempts a JOIN nmc.jobs j ON j.id = a.job_id JOIN nmc.job_kinds k ON k.kind = j.kind
                              WHERE a.finished_at > now() - interval '5 minutes'
                              GROUP BY k.provider) x), '{}');
END
$$;
COMMENT ON FUNCTION nmc.provider_stats_5m() IS 'Successes, retries and failures per provider over the last 5 minutes, of the attempts the caller may see: under row-level security, the current business''s own.';
CREATE OR REPLACE FUNCTION nmc.api_status(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    h record;
    i record;
BEGIN
    -- Invoker's rights: row-level security limits the counts to the caller's
    -- business; whether the workers run is the same for everyone.
    SELECT * INTO h FROM nmc.dispatcher_health();
    SELECT * INTO i FROM nmc.inbox_health();
    RETURN nmc.respond(200, jsonb_build_object(
        'database', 'ok',
        'sandbox_mode', nmc.sandbox_mode(),
        'dispatcher', jsonb_build_object('running', h.worker_pid IS NOT NULL,
                                         'heartbeat_age_seconds', round(extract(epoch FROM h.heartbeat_age)::numeric, 3),
                                         'queued', h.queued, 'due', h.due, 'in_flight', h.in_flight,
                                         'oldest_due_age_seconds', round(coalesce(extract(epoch FROM h.oldest_due_age), 0)::numeric, 3)),
        'inbox', jsonb_build_object('running', i.worker_pid IS NOT NULL,
                                    'heartbeat_age_seconds', round(extract(epoch FROM i.heartbeat_age)::numeric, 3),
                                    'waiting', i.waiting, 'failed', i.failed,
                                    'oldest_waiting_age_seconds', round(coalesce(extract(epoch FROM i.oldest_waiting_age), 0)::numeric, 3)),
        'providers_5m', nmc.provider_stats_5m(),
        -- The edge that answers adds its live-feed figures to every request.
        'websocket', CASE WHEN req #>> '{headers,x-nmc-edge-ws-clients}' ~ '^[0-9]+$' THEN jsonb_build_object(
                         'clients', (req #>> '{headers,x-nmc-edge-ws-clients}')::bigint,
                         'dropped_slow', (req #>> '{headers,x-nmc-edge-ws-dropped-slow}')::bigint) END));
END
$$;
COMMENT ON FUNCTION nmc.api_status(jsonb) IS 'GET /api/status: database, sandbox mode, whether the dispatcher and the inbox worker run (heartbeats), and — of the caller''s business only — its queued jobs, its webhooks waiting in the inbox and provider successes / retries / failures over 5 minutes; and the answering edge''s WebSocket clients (connected, dropped for being slow).';
CREATE OR REPLACE FUNCTION nmc.webhook_status_accept(req jsonb, p_kind text, sid_field text, status_field text, our_number_field text)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $$
DECLARE
    sid text := nmc.webhook_field(req, sid_field);
    new_status text := nmc.webhook_field(req, status_field);
    pn nmc.phone_numbers := nmc.webhook_tenant(nmc.webhook_field(req, our_number_field));
BEGIN
    IF pn.id IS NOT NULL THEN
        PERFORM nmc.webhook_inbox_put(p_kind, sid || ' ' || new_status, pn, req -> 'body');
    END IF;
    RETURN nmc.twiml(NULL);
END
$$;
COMMENT ON FUNCTION nmc.webhook_status_accept(jsonb, text, text, text, text) IS 'How a Twilio status callback is accepted: its SID, status and our number (the field named, each required) — recorded in the webhook inbox as p_kind, keyed by SID and status (a retry of the same status is the same webhook), answered with empty TwiML. Callbacks for a number that is not ours are answered and dropped.';

-- Sign-ups are throttled per client address (each costs a bcrypt hash).
CREATE TABLE nmc.registration_attempts (
    source       text NOT NULL,
    attempted_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE nmc.registration_attempts IS 'One row per sign-up that got as far as hashing its password, by client address; counted over register_window_seconds for throttling (each costs a bcrypt hash), and pruned by the next sign-up from that address.';
CREATE INDEX registration_attempts_lookup ON nmc.registration_attempts (source, attempted_at);
INSERT INTO nmc.settings (name, value, is_secret, description) VALUES
    ('register_window_seconds', '3600', false, 'Window over which sign-ups from one client address are counted.'),
    ('register_max_per_source', '10', false, 'Sign-ups (each a bcrypt hash) from one client address within the window before 429.');
DROP FUNCTION nmc.register(jsonb);
CREATE OR REPLACE FUNCTION nmc.register(body jsonb, client_addr text)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $$
DECLARE
    v_email text;
    v_password text;
    v_name text;
    v_business_name text;
    v_trade text;
    v_timezone text;
    b nmc.businesses;
    u nmc.users;
    v_source text := coalesce(client_addr, '');
    win interval := make_interval(secs => nmc.setting_int('register_window_seconds'));
    n bigint;
    oldest timestamptz;
    retry_after int;
BEGIN
    PERFORM nmc.input_object(body);
    PERFORM nmc.input_allowed_fields(body, ARRAY['email', 'password', 'name', 'business_name', 'trade_type', 'timezone']);
    v_email := nmc.input_email(body);
    v_password := nmc.input_password(body, 8);
    v_name := nmc.input_text(body, 'name', true, 200);
    v_business_name := nmc.input_text(body, 'business_name', true, 200);
    v_trade := nmc.input_trade_type(nmc.input_text(body, 'trade_type', true, 50));
    v_timezone := nmc.input_timezone(coalesce(nmc.input_text(body, 'timezone', false, 64), 'UTC'));

    -- Each sign-up costs a bcrypt hash: an address gets register_max_per_source
    -- of them per window. Sign-ups from one address take turns here, so a burst
    -- of parallel ones is counted exactly.
    PERFORM pg_advisory_xact_lock(hashtextextended('nmc.register ' || v_source, 0));
    DELETE FROM nmc.registration_attempts WHERE source = v_source AND attempted_at <= now() - win;
    SELECT count(*), min(attempted_at) INTO n, oldest FROM nmc.registration_attempts WHERE source = v_source;
    IF n >= nmc.setting_int('register_max_per_source') THEN
        retry_after := greatest(1, ceil(extract(epoch FROM oldest + win - now())))::int;
        RETURN nmc.respond(429, nmc.error_body('rate_limited', format('too many sign-ups from this address; try again in %s seconds', retry_after)),
                           'Retry-After: ' || retry_after);
    END IF;
    INSERT INTO nmc.registration_attempts (source) VALUES (v_source);

    -- The new rows belong to the new business: scope the transaction to it
    -- so row-level security checks the inserts like any other write.
    b.id := gen_random_uuid();
    PERFORM set_config('nmc.business_id', b.id::text, true);
    BEGIN
        INSERT INTO nmc.businesses (id, name, trade_type, timezone)
        VALUES (b.id, v_business_name, v_trade, v_timezone)
        RETURNING * INTO b;
        INSERT INTO nmc.users (business_id, email, password_hash, name)
        VALUES (b.id, v_email, crypt(v_password, gen_salt('bf', nmc.setting_int('bcrypt_cost')::int)), v_name)
        RETURNING * INTO u;
    EXCEPTION WHEN unique_violation THEN
        -- Returned, not raised: the attempt (and its hash) still counts.
        PERFORM set_config('nmc.business_id', '', true);
        RETURN nmc.respond(409, nmc.error_body('email_taken', 'an account with this email already exists; log in instead', 'email'));
    END;
    PERFORM set_config('nmc.user_id', u.id::text, true);
    RETURN nmc.respond(201, jsonb_build_object(
        'token', nmc.issue_token(u),
        'user', nmc.user_json(u),
        'business', nmc.business_json(b)));
END
$$;
COMMENT ON FUNCTION nmc.register(jsonb, text) IS
    'Creates a business and its first user in one transaction from {email, password, name, business_name, trade_type[, timezone]}; answers 201 {token, user, business}, 400/409, or 429 rate_limited (with Retry-After) once the client address made register_max_per_source sign-ups within register_window_seconds.';
CREATE OR REPLACE FUNCTION nmc.api_auth_register(req jsonb)
RETURNS nmc.http_response
LANGUAGE sql
AS $$ SELECT nmc.register(req -> 'body', req ->> 'client_addr') $$;
COMMENT ON FUNCTION nmc.api_auth_register(jsonb) IS 'POST /api/auth/register: see nmc.register.';
-- Generated from docs/openapi.yaml by extension/Makefile.
CREATE OR REPLACE FUNCTION nmc.openapi_document() RETURNS text LANGUAGE sql IMMUTABLE AS $nmc_fn$ SELECT $nmc_openapi$openapi: 3.0.3
info:
  title: NeverMissCall API
  version: 0.1.0
  description: |
    The JSON API the dashboard uses, and the Twilio webhooks. Every /api route is answered
    by nmc_api.handle in Postgres (docs/architecture.md). Errors are always
    {"error": {"code", "message", "field"?}} with the status given below; see docs/http-api.md
    for the codes. The live feed is a WebSocket (GET /api/realtime says where).
    This file is served at GET /api/openapi.yaml; test/edge/05_openapi_coverage.t fails when
    a route exists without an entry here or the other way round.
servers:
  - url: http://localhost:8080
components:
  securitySchemes:
    bearer:
      type: http
      scheme: bearer
      bearerFormat: JWT
    twilioSignature:
      type: apiKey
      in: header
      name: X-Twilio-Signature
      description: HMAC-SHA1 of the public URL and the sorted form parameters, keyed by the Twilio auth token.
  schemas:
    Error:
      type: object
      required: [error]
      properties:
        error:
          type: object
          required: [code, message]
          properties:
            code: {type: string}
            message: {type: string}
            field: {type: string}
  responses:
    Error:
      description: The request was refused; the body says why.
      content:
        application/json:
          schema: {$ref: '#/components/schemas/Error'}
    TwiML:
      description: TwiML instructions for Twilio.
      content:
        text/xml:
          schema: {type: string}
paths:
  /metrics:
    get:
      summary: "Prometheus metrics: requests by route and status, latency histograms, live-feed clients, NOTIFY-to-send latency, jobs by state (answered by the edge)"
      security: []
      responses:
        '200':
          description: Prometheus text exposition format.
          content:
            text/plain:
              schema: {type: string}
  /healthz:
    get:
      summary: "Liveness; 200 only when the database answers (answered by the edge)"
      security: []
      responses:
        '200': {description: The database answers.}
        '503': {description: The database is unreachable.}
  /api/appointments:
    get:
      summary: "Appointments in a time window"
      security: [{bearer: []}]
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
    post:
      summary: "Book an appointment by hand"
      security: [{bearer: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object}
      responses:
        '201':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/appointments/open-slots:
    get:
      summary: "The next free slots"
      security: [{bearer: []}]
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/appointments/{id}/cancel:
    post:
      summary: "Cancel an appointment"
      security: [{bearer: []}]
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/auth/login:
    post:
      summary: "Log in; returns a session token"
      security: []
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object}
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/auth/register:
    post:
      summary: "Create a user and their business; returns a session token"
      security: []
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object}
      responses:
        '201':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/business:
    get:
      summary: "The business profile"
      security: [{bearer: []}]
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
    patch:
      summary: "Update the business profile"
      security: [{bearer: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object}
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/business/blocked-numbers:
    get:
      summary: "The block list"
      security: [{bearer: []}]
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
    post:
      summary: "Block a number from missed-call texts"
      security: [{bearer: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object}
      responses:
        '201':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/business/blocked-numbers/{id}:
    delete:
      summary: "Unblock a number"
      security: [{bearer: []}]
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/business/closures:
    post:
      summary: "Add a closed day"
      security: [{bearer: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object}
      responses:
        '201':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/business/closures/{id}:
    delete:
      summary: "Remove a closed day"
      security: [{bearer: []}]
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/business/greeting:
    get:
      summary: "The greeting template, its default and a preview"
      security: [{bearer: []}]
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
    put:
      summary: "Set (or reset) the greeting template"
      security: [{bearer: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object}
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/business/greeting/preview:
    post:
      summary: "Render a template with encoding and segments"
      security: [{bearer: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object}
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/business/hours:
    get:
      summary: "Weekly hours, upcoming closures, open now"
      security: [{bearer: []}]
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
    put:
      summary: "Replace the weekly hours"
      security: [{bearer: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object}
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/calls:
    get:
      summary: "Latest calls with their text decision"
      security: [{bearer: []}]
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/conversations:
    get:
      summary: "Conversations, filtered and paged"
      security: [{bearer: []}]
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/conversations/{id}:
    get:
      summary: "A conversation and its messages"
      security: [{bearer: []}]
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/conversations/{id}/messages:
    post:
      summary: "Send a text as the business"
      security: [{bearer: []}]
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object}
      responses:
        '201':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/conversations/{id}/release:
    post:
      summary: "Hand the conversation back"
      security: [{bearer: []}]
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/conversations/{id}/takeover:
    post:
      summary: "Take the conversation over (the AI goes silent)"
      security: [{bearer: []}]
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/events:
    get:
      summary: "Events after a given id (resume)"
      security: [{bearer: []}]
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/jobs/{id}:
    get:
      summary: "Poll a job"
      security: [{bearer: []}]
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/leads:
    get:
      summary: "Leads by status, paged"
      security: [{bearer: []}]
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/leads/{id}:
    patch:
      summary: "Change a lead's status"
      description: "Any status; lost needs a reason, won may have one (other statuses clear it)."
      security: [{bearer: []}]
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [status]
              properties:
                status: {type: string, enum: [new, contacted, qualified, appointment_scheduled, won, lost, out_of_area]}
                reason: {type: string, maxLength: 500}
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/me:
    get:
      summary: "The logged-in user"
      security: [{bearer: []}]
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
    patch:
      summary: "Update the logged-in user's name and preferences"
      security: [{bearer: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object}
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/openapi.yaml:
    get:
      summary: "This document"
      security: []
      responses:
        '200':
          description: Success.
          content:
            application/yaml:
              schema: {type: string}
        default: {$ref: '#/components/responses/Error'}
  /api/phone-numbers:
    get:
      summary: "The business's Twilio numbers"
      security: [{bearer: []}]
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
    post:
      summary: "Buy a number (a job)"
      security: [{bearer: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object}
      responses:
        '202':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/phone-numbers/search:
    post:
      summary: "Search numbers by area code (a job)"
      security: [{bearer: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object}
      responses:
        '202':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/realtime:
    get:
      summary: "The live feed's WebSocket URL and protocol"
      security: [{bearer: []}]
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/sandbox/customer-reply:
    post:
      summary: "Sandbox mode only: rehearse a customer's text to your number"
      description: "Runs the same code as Twilio's SMS webhook. 409 sandbox_only when Twilio is configured, 409 no_phone_number before the business has a number."
      security: [{bearer: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [body]
              properties:
                from: {type: string, description: "The customer's phone (default +15125550142)"}
                body: {type: string, maxLength: 1600}
      responses:
        '202':
          description: "Accepted: {message_sid, from, to}."
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/sandbox/missed-call:
    post:
      summary: "Sandbox mode only: rehearse an unanswered call to your number"
      description: "Runs the same code as Twilio's voice webhooks (the <Dial> ends no-answer when the owner would have been rung): accepted at once, then applied by the inbox worker like any webhook: greeting text, lead, conversation, events. 409 sandbox_only when Twilio is configured, 409 no_phone_number before the business has a number."
      security: [{bearer: []}]
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties:
                from: {type: string, description: "The caller's phone (default +15125550142)"}
      responses:
        '202':
          description: "Accepted: {call_sid, from, to}; the inbox worker applies the call right after."
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/status:
    get:
      summary: "System status for the status page"
      security: [{bearer: []}]
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/trade-types:
    get:
      summary: "List the trades a business can choose"
      security: []
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /webhooks/twilio/sms:
    post:
      summary: "Twilio: an incoming text"
      description: >-
        Recorded in the inbound-text inbox (idempotent on MessageSid) and answered at once
        with empty TwiML; the inbox worker threads it into its conversation right after
        the commit (message.created and the rest reach the live feed then).
      security: [{twilioSignature: []}]
      requestBody:
        required: true
        content:
          application/x-www-form-urlencoded:
            schema: {type: object, additionalProperties: {type: string}}
      responses:
        '200': {$ref: '#/components/responses/TwiML'}
        '400': {$ref: '#/components/responses/Error'}
        '403': {$ref: '#/components/responses/Error'}
  /webhooks/twilio/sms/status:
    post:
      summary: "Twilio: outbound message status callback"
      security: [{twilioSignature: []}]
      requestBody:
        required: true
        content:
          application/x-www-form-urlencoded:
            schema: {type: object, additionalProperties: {type: string}}
      responses:
        '200': {$ref: '#/components/responses/TwiML'}
        '400': {$ref: '#/components/responses/Error'}
        '403': {$ref: '#/components/responses/Error'}
  /webhooks/twilio/voice:
    post:
      summary: "Twilio: an incoming call"
      security: [{twilioSignature: []}]
      requestBody:
        required: true
        content:
          application/x-www-form-urlencoded:
            schema: {type: object, additionalProperties: {type: string}}
      responses:
        '200': {$ref: '#/components/responses/TwiML'}
        '400': {$ref: '#/components/responses/Error'}
        '403': {$ref: '#/components/responses/Error'}
  /webhooks/twilio/voice/dial:
    post:
      summary: "Twilio: the forwarded call ended (Dial action)"
      security: [{twilioSignature: []}]
      requestBody:
        required: true
        content:
          application/x-www-form-urlencoded:
            schema: {type: object, additionalProperties: {type: string}}
      responses:
        '200': {$ref: '#/components/responses/TwiML'}
        '400': {$ref: '#/components/responses/Error'}
        '403': {$ref: '#/components/responses/Error'}
  /webhooks/twilio/voice/status:
    post:
      summary: "Twilio: call status callback"
      security: [{twilioSignature: []}]
      requestBody:
        required: true
        content:
          application/x-www-form-urlencoded:
            schema: {type: object, additionalProperties: {type: string}}
      responses:
        '200': {$ref: '#/components/responses/TwiML'}
        '400': {$ref: '#/components/responses/Error'}
        '403': {$ref: '#/components/responses/Error'}
$nmc_openapi$::text $nmc_fn$;
COMMENT ON FUNCTION nmc.openapi_document() IS 'The text of docs/openapi.yaml.';
SELECT nmc.api_dispatch_build();
-- planner_statistics.sql — no statistics on the tenant column. Every query is
-- for one business, but a cached plan is made before the planner knows which,
-- and statistics describe the businesses seen at the last ANALYZE: a business
-- new since then looks empty, so a lookup by a unique key (a MessageSid, a
-- CallSid) under row-level security was planned as a scan of the business's
-- index — every message of the business, on every inbound text. Without
-- statistics on business_id its equality is estimated at the default 0.5 %,
-- unique keys use their unique index, and lists still use the business
-- indexes. Applied at install and again by every upgrade (new tables included).
DO $stats$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT a.attrelid::regclass AS rel, a.attnum
               FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
              WHERE c.relnamespace = 'nmc'::regnamespace AND c.relkind IN ('r', 'p')
                AND a.attname = 'business_id' AND NOT a.attisdropped
    LOOP
        EXECUTE format('ALTER TABLE %s ALTER COLUMN business_id SET STATISTICS 0', r.rel);
        DELETE FROM pg_statistic WHERE starelid = r.rel AND staattnum = r.attnum;
    END LOOP;
END
$stats$;
-- grants.sql — ownership and privileges, applied last (and again by every
-- upgrade script): tables belong to nmc_owner under forced row-level
-- security, API functions run as nmc_api (login as nmc_auth), and nmc_edge
-- can execute nmc_api and nothing else.
DO $own$
DECLARE
    rel regclass;
BEGIN
    FOR rel IN SELECT c.oid::regclass FROM pg_class c
                WHERE c.relnamespace = 'nmc'::regnamespace AND c.relkind IN ('r', 'v')
    LOOP
        EXECUTE format('ALTER TABLE %s OWNER TO nmc_owner', rel);
    END LOOP;
END
$own$;

GRANT USAGE ON SCHEMA nmc TO nmc_owner, nmc_api, nmc_auth;
GRANT USAGE ON SCHEMA nmc_api TO nmc_api, nmc_edge;

GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA nmc TO nmc_api;
GRANT SELECT ON nmc.settings, nmc.users, nmc.businesses, nmc.phone_numbers TO nmc_auth;
GRANT SELECT, INSERT, DELETE ON nmc.login_failures TO nmc_auth;

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA nmc FROM PUBLIC;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA nmc_api FROM PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA nmc TO nmc_api, nmc_auth;
-- Policies call these as whoever queries the table, the owner included.
GRANT EXECUTE ON FUNCTION nmc.current_business_id(), nmc.current_user_id() TO nmc_owner;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA nmc_api TO nmc_edge;

-- Every nmc_api function runs as nmc_api unless reassigned below; a definer
-- function left to the installing superuser would bypass row-level security.
DO $api_owner$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN SELECT p.oid::regprocedure FROM pg_proc p WHERE p.pronamespace = 'nmc_api'::regnamespace LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO nmc_api', f);
    END LOOP;
END
$api_owner$;
ALTER FUNCTION nmc.login(jsonb, text) OWNER TO nmc_auth;
ALTER FUNCTION nmc.webhook_tenant(text) OWNER TO nmc_auth;
ALTER FUNCTION nmc.phone_number_available(text) OWNER TO nmc_auth;
GRANT USAGE ON SCHEMA nmc TO nmc_monitor;
GRANT SELECT ON nmc.jobs, nmc.job_attempts, nmc.job_kinds, nmc.settings, nmc.webhook_inbox TO nmc_monitor;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA nmc TO nmc_monitor;
ALTER FUNCTION nmc_api.metrics() OWNER TO nmc_monitor;
-- nmc_monitor owns nmc_api.metrics (a definer function), so it needs the schema too.
GRANT USAGE ON SCHEMA nmc_api TO nmc_monitor;
