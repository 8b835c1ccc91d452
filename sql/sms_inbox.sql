-- sms_inbox.sql — inbound texts between Twilio's webhook and their
-- conversation. The webhook only records the text here (one insert, so Twilio
-- gets its answer at once and a burst costs a commit each); the inbox worker
-- (extension/src/inbox_worker.c), woken at that commit, threads the texts in
-- arrival order, many per transaction, and deletes each one it has threaded.
-- A text whose processing fails stays here, marked, for a DBA.
CREATE TABLE nmc.sms_inbox (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- No foreign keys: each would lock the business's row from every concurrent
    -- webhook. The webhook found both in the same transaction; a text whose
    -- number or business is gone by the time it is threaded is logged and dropped.
    business_id     uuid NOT NULL,
    phone_number_id uuid NOT NULL,
    message_sid     text NOT NULL UNIQUE,
    params          jsonb NOT NULL,
    received_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    failed_at       timestamptz,
    error           text
) WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000);
-- A queue: every row is deleted within milliseconds. Vacuumed after every
-- thousand, or the oldest-first scan walks ever more dead index entries.
COMMENT ON TABLE nmc.sms_inbox IS 'Inbound texts accepted from Twilio and not yet threaded (normally for a few milliseconds). params: the webhook''s form fields. failed_at/error: processing raised an error; the row is kept and skipped until a DBA clears failed_at (then it is processed again).';
COMMENT ON COLUMN nmc.sms_inbox.received_at IS 'When the webhook was accepted; becomes the message''s created_at.';
ALTER TABLE nmc.sms_inbox ENABLE ROW LEVEL SECURITY;
ALTER TABLE nmc.sms_inbox FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON nmc.sms_inbox
    USING (business_id = nmc.current_business_id())
    WITH CHECK (business_id = nmc.current_business_id());

CREATE FUNCTION nmc.inbox_wake()
RETURNS void
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'nmc_inbox_wake';
COMMENT ON FUNCTION nmc.inbox_wake() IS 'Wakes the inbox worker when the current transaction commits (nothing happens if it rolls back).';

CREATE FUNCTION nmc.inbox_process(OUT pid int, OUT heartbeat_at timestamptz)
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'nmc_inbox_process';
COMMENT ON FUNCTION nmc.inbox_process() IS 'The inbox worker''s pid (NULL if not running) and last heartbeat, from shared memory.';

CREATE FUNCTION nmc.sms_received(t nmc.sms_inbox)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    sid text := t.message_sid;
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
COMMENT ON FUNCTION nmc.sms_received(nmc.sms_inbox) IS 'Threads one inbound text into the open conversation of (business number, customer), or a new one. STOP-words opt the customer out, START-words back in, HELP gets the help text; words of danger get safety advice and alert the owner at once; in AI mode the assistant answers; anything else opens the human response window. Idempotent on MessageSid.';

CREATE FUNCTION nmc.sms_thread_routine(texts nmc.sms_inbox[], callers text[], modes text[])
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
               'received', x.message_sid, x.received_at
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
    WITH tx AS (SELECT x.ordinality AS i, x.message_sid AS sid, conv[x.ordinality] AS conv_id FROM unnest(texts) WITH ORDINALITY AS x),
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
COMMENT ON FUNCTION nmc.sms_thread_routine(nmc.sms_inbox[], text[], text[]) IS 'Threads many routine inbound texts at once (callers: their normalised From numbers; modes: the mode of the open conversation each was sorted with, NULL if none — all in the same order): what nmc.sms_received does for a text that is not a keyword, raises no emergency and is not for the assistant — customer, conversation, message dated at receipt, the human response window where the conversation waited for the customer, and the same events in the same order. nmc.sms_inbox_run decides which texts are routine.';

CREATE FUNCTION nmc.sms_inbox_run(max_texts int DEFAULT 500, isolate boolean DEFAULT false, min_together int DEFAULT 8)
RETURNS int
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
-- Every lookup here goes by index. The worker plans once per session, possibly on
-- a fresh install's empty-table statistics, and a sequential scan chosen then
-- would grow with the tables until the next ANALYZE.
SET enable_seqscan = off
AS $$
DECLARE
    t nmc.sms_inbox;
    batch nmc.sms_inbox[];
    one_by_one nmc.sms_inbox[];
    callers text[];
    modes text[];
    first_special int;
    routine_n int;
    n int := 0;
    err_state text;
    err_message text;
BEGIN
    IF isolate THEN
        -- Each text alone, in a subtransaction: a failing one is marked and kept.
        FOR t IN SELECT * FROM nmc.sms_inbox WHERE failed_at IS NULL ORDER BY id LIMIT max_texts FOR UPDATE SKIP LOCKED LOOP
            PERFORM set_config('nmc.business_id', t.business_id::text, true);
            BEGIN
                PERFORM nmc.sms_received(t);
                DELETE FROM nmc.sms_inbox WHERE id = t.id;
            EXCEPTION
                WHEN deadlock_detected OR serialization_failure OR lock_not_available THEN
                    -- Transient: this text and everything after it wait for the next
                    -- round (a customer's STOP and START must not change order).
                    RAISE LOG 'nevermisscall: inbound text % (inbox %) will be retried: %', t.message_sid, t.id, SQLERRM;
                    EXIT;
                WHEN OTHERS THEN
                    GET STACKED DIAGNOSTICS err_state = RETURNED_SQLSTATE, err_message = MESSAGE_TEXT;
                    RAISE WARNING 'nevermisscall: inbound text % (inbox %) could not be processed: % %', t.message_sid, t.id, err_state, err_message;
                    UPDATE nmc.sms_inbox SET failed_at = now(), error = err_state || ': ' || err_message WHERE id = t.id;
            END;
            n := n + 1;
        END LOOP;
        PERFORM set_config('nmc.business_id', '', true);
        RETURN n;
    END IF;

    WHILE n < max_texts LOOP
        SELECT array_agg(q ORDER BY q.id) INTO batch
          FROM (SELECT * FROM nmc.sms_inbox WHERE failed_at IS NULL ORDER BY id LIMIT max_texts - n FOR UPDATE SKIP LOCKED) q;
        EXIT WHEN batch IS NULL;
        -- Every path locks a conversation before its business's event counter. With
        -- several texts this transaction takes all their open conversations (by id),
        -- then all their counters (by business), before touching any: it never holds
        -- one text's counter while waiting for another's conversation.
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
            PERFORM 1 FROM nmc.event_counters WHERE business_id IN (SELECT g.business_id FROM unnest(batch) g)
             ORDER BY business_id FOR UPDATE;
        END IF;
        first_special := NULL;
        routine_n := 0;
        IF cardinality(batch) >= min_together THEN
            -- Which texts are routine (see nmc.sms_thread_routine): not a keyword,
            -- no emergency to raise (the terms of nmc.emergency_term_in, for all
            -- texts in one pass), not for the assistant, not already threaded.
            SELECT array_agg(x.mode ORDER BY x.i), min(x.i) FILTER (WHERE NOT x.routine)
              INTO modes, first_special
              FROM (SELECT g.ordinality AS i, o.mode,
                           callers[g.ordinality] IS NOT NULL AND nmc.sms_keyword(coalesce(g.params ->> 'Body', '')) IS NULL
                           AND b.id IS NOT NULL
                           AND EXISTS (SELECT 1 FROM nmc.phone_numbers p WHERE p.id = g.phone_number_id AND p.business_id = g.business_id)
                           AND NOT EXISTS (SELECT 1 FROM nmc.messages m WHERE m.twilio_sid = g.message_sid)
                           AND coalesce(o.mode, 'waiting') <> 'ai'
                           AND (cu.opted_out_at IS NOT NULL OR coalesce(o.mode, 'waiting') = 'human'
                                OR NOT EXISTS (SELECT 1 FROM nmc.emergency_terms et
                                                WHERE (et.trade_type IS NULL OR et.trade_type = b.trade_type)
                                                  AND strpos(w.words, ' ' || et.term || ' ') > 0)) AS routine
                      FROM unnest(batch) WITH ORDINALITY AS g
                      CROSS JOIN LATERAL (SELECT nmc.emergency_words(coalesce(g.params ->> 'Body', '')) AS words OFFSET 0) w  -- once per text
                      LEFT JOIN nmc.businesses b ON b.id = g.business_id
                      LEFT JOIN nmc.customers cu ON cu.business_id = g.business_id AND cu.phone = callers[g.ordinality]
                      LEFT JOIN nmc.conversations o ON o.business_id = cu.business_id AND o.phone_number_id = g.phone_number_id
                                                   AND o.customer_id = cu.id AND o.state = 'open') x;
            routine_n := coalesce(first_special - 1, cardinality(batch));
        END IF;
        IF routine_n >= min_together THEN
            -- A run of routine texts together; then the text that ended it alone.
            PERFORM nmc.sms_thread_routine(batch[1:routine_n], callers[1:routine_n], modes[1:routine_n]);
            -- By an array of ids (one index probe each; IN (subquery) planned generically
            -- compared every inbox row with every text).
            DELETE FROM nmc.sms_inbox WHERE id = ANY (ARRAY(SELECT r.id FROM unnest(batch[1:routine_n]) r));
            n := n + routine_n;
            one_by_one := batch[first_special:first_special];
        ELSE
            -- Too few to be worth the set-based statements' planning: one by one,
            -- up to the first text that is not routine.
            one_by_one := batch[1:coalesce(first_special, cardinality(batch))];
        END IF;
        FOREACH t IN ARRAY coalesce(one_by_one, '{}') LOOP
            PERFORM set_config('nmc.business_id', t.business_id::text, true);
            PERFORM nmc.sms_received(t);
            DELETE FROM nmc.sms_inbox WHERE id = t.id;
            n := n + 1;
        END LOOP;
        PERFORM set_config('nmc.business_id', '', true);
        -- The inbox had no more than this batch, and all of it is done.
        EXIT WHEN first_special IS NULL AND routine_n + coalesce(cardinality(one_by_one), 0) = cardinality(batch)
                  AND cardinality(batch) < max_texts - n + cardinality(batch);
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION nmc.sms_inbox_run(int, boolean, int) IS 'Threads up to max_texts inbox texts in arrival order and deletes them; returns how many it took. A run of at least min_together routine texts goes through nmc.sms_thread_routine at once; other texts, and runs too short to be worth it, through nmc.sms_received one by one. The inbox worker runs it in one transaction per batch; when a batch raises an error (a deadlock with a timer included) it runs it again with isolate, which gives each text a subtransaction and marks a failing one (failed_at, error) instead of losing the batch — a text that meets a deadlock or serialization failure again is left for the next round, not marked.';

CREATE FUNCTION nmc.inbox_health(OUT worker_pid int, OUT heartbeat_age interval, OUT waiting bigint,
                                 OUT oldest_waiting_age interval, OUT failed bigint)
LANGUAGE sql STABLE
AS $$
    SELECT p.pid, greatest(interval '0', clock_timestamp() - p.heartbeat_at),
           (SELECT count(*) FROM nmc.sms_inbox WHERE failed_at IS NULL),
           (SELECT greatest(interval '0', clock_timestamp() - min(received_at)) FROM nmc.sms_inbox WHERE failed_at IS NULL),
           (SELECT count(*) FROM nmc.sms_inbox WHERE failed_at IS NOT NULL)
      FROM nmc.inbox_process() p
$$;
COMMENT ON FUNCTION nmc.inbox_health() IS 'DBA and status page: the inbox worker''s pid and heartbeat age, texts waiting to be threaded and how long the oldest has waited, and texts whose processing failed.';
