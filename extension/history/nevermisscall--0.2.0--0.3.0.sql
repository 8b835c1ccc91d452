-- 0.2.0 → 0.3.0, assembled by extension/Makefile (upgrades/assemble.pl) into
-- nevermisscall--0.2.0--0.3.0.sql: table changes written here as upgrade steps;
-- "--@include f" brings sql/f.sql (new in this version), "--@replace f name" the
-- current text of a changed function; then the OpenAPI document, the route
-- dispatcher and sql/grants.sql. test/upgrade/check.sh proves the result equals
-- a fresh 0.3.0 install.
\echo Use "ALTER EXTENSION nevermisscall UPDATE" to load this file. \quit

-- Inbound texts: the webhook records them in the inbox; the inbox worker threads them.
-- The worker is a background worker of the new library: Postgres must be restarted
-- with it (`make run` restarts when the library changes). Until then the SMS webhook
-- fails (Twilio retries), and nothing is lost.
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
    -- (nmc.conversation_customer_wrote, for many at once) — one update each.
    WITH last AS (
        SELECT m.conversation_id AS id, max(m.created_at) AS last_at FROM unnest(msgs) m GROUP BY 1
    ), t AS (
        INSERT INTO nmc.timers (business_id, kind, subject_id, due_at)
        SELECT c.business_id, 'conversation.human_window', c.id, now() + make_interval(secs => b.human_window_seconds)
          FROM last JOIN nmc.conversations c ON c.id = last.id JOIN nmc.businesses b ON b.id = c.business_id
         WHERE c.mode = 'waiting'
        RETURNING id, subject_id, due_at
    ), u AS (
        UPDATE nmc.conversations c
           SET last_message_at = greatest(c.last_message_at, last.last_at),
               mode = CASE WHEN t.id IS NULL THEN c.mode ELSE 'human_window' END,
               human_window_deadline = CASE WHEN t.id IS NULL THEN c.human_window_deadline ELSE t.due_at END,
               human_window_timer_id = CASE WHEN t.id IS NULL THEN c.human_window_timer_id ELSE t.id END
          FROM last LEFT JOIN t ON t.subject_id = last.id
         WHERE c.id = last.id
        RETURNING c.*)
    SELECT array_agg(u::nmc.conversations) INTO windows FROM u WHERE u.id IN (SELECT t.subject_id FROM t);

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
        IF cardinality(batch) > 1 THEN
            PERFORM 1 FROM nmc.conversations c
              JOIN (SELECT DISTINCT g.business_id, g.phone_number_id, nmc.phone_or_null(g.params ->> 'From') AS phone FROM unnest(batch) g) k
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
            -- no emergency to raise, not for the assistant, not already threaded.
            SELECT array_agg(x.caller ORDER BY x.i), array_agg(x.mode ORDER BY x.i), min(x.i) FILTER (WHERE NOT x.routine)
              INTO callers, modes, first_special
              FROM (SELECT g.ordinality AS i, f.caller, o.mode,
                           f.caller IS NOT NULL AND nmc.sms_keyword(coalesce(g.params ->> 'Body', '')) IS NULL
                           AND EXISTS (SELECT 1 FROM nmc.phone_numbers p JOIN nmc.businesses b ON b.id = p.business_id
                                        WHERE p.id = g.phone_number_id AND p.business_id = g.business_id)
                           AND NOT EXISTS (SELECT 1 FROM nmc.messages m WHERE m.twilio_sid = g.message_sid)
                           AND coalesce(o.mode, 'waiting') <> 'ai'
                           AND (cu.opted_out_at IS NOT NULL OR coalesce(o.mode, 'waiting') = 'human'
                                OR nmc.emergency_term_in(g.business_id, coalesce(g.params ->> 'Body', '')) IS NULL) AS routine
                      FROM unnest(batch) WITH ORDINALITY AS g
                      CROSS JOIN LATERAL (SELECT nmc.phone_or_null(g.params ->> 'From') AS caller OFFSET 0) f  -- OFFSET 0: normalised once per text
                      LEFT JOIN nmc.customers cu ON cu.business_id = g.business_id AND cu.phone = f.caller
                      LEFT JOIN nmc.conversations o ON o.business_id = cu.business_id AND o.phone_number_id = g.phone_number_id
                                                   AND o.customer_id = cu.id AND o.state = 'open') x;
            routine_n := coalesce(first_special - 1, cardinality(batch));
        END IF;
        IF routine_n >= min_together THEN
            -- A run of routine texts together; then the text that ended it alone.
            PERFORM nmc.sms_thread_routine(batch[1:routine_n], callers[1:routine_n], modes[1:routine_n]);
            DELETE FROM nmc.sms_inbox WHERE id IN (SELECT r.id FROM unnest(batch[1:routine_n]) r);
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
CREATE OR REPLACE FUNCTION nmc.webhook_sms(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $$
DECLARE
    sid text := nmc.webhook_field(req, 'MessageSid');
    pn nmc.phone_numbers := nmc.webhook_tenant(nmc.webhook_field(req, 'To'));
BEGIN
    PERFORM nmc.webhook_field(req, 'From');
    IF pn.id IS NULL THEN
        RAISE LOG 'nevermisscall: text % to %, which is not one of our numbers', sid, req #>> '{body,To}';
        RETURN nmc.twiml(NULL);
    END IF;
    -- Kept first, processed right after commit by the inbox worker (sms_inbox.sql).
    INSERT INTO nmc.sms_inbox (business_id, phone_number_id, message_sid, params)
    VALUES (pn.business_id, pn.id, sid, req -> 'body')
    ON CONFLICT (message_sid) DO NOTHING;
    IF FOUND THEN
        PERFORM nmc.inbox_wake();
    END IF;
    RETURN nmc.twiml(NULL);
END
$$;
COMMENT ON FUNCTION nmc.webhook_sms(jsonb) IS 'POST /webhooks/twilio/sms: an inbound text is recorded in nmc.sms_inbox (one insert, idempotent on MessageSid) and answered at once; the inbox worker threads it into its conversation right after commit (nmc.sms_received). Texts to numbers that are not ours are logged and dropped.';

-- The inbox on the status page and in /metrics.
CREATE POLICY monitoring ON nmc.sms_inbox FOR SELECT TO nmc_monitor USING (true);
CREATE OR REPLACE FUNCTION nmc.system_inbox_health()
RETURNS TABLE (worker_pid int, heartbeat_age interval, waiting bigint, oldest_waiting_age interval, failed bigint)
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = nmc, public, pg_temp
AS $$ BEGIN RETURN QUERY SELECT * FROM nmc.inbox_health(); END $$;
COMMENT ON FUNCTION nmc.system_inbox_health() IS 'nmc.inbox_health() across all businesses, for the status page and /metrics (runs as nmc_monitor).';
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
    out := out || E'# HELP nmc_sms_inbox Inbound texts accepted and not yet threaded, by state.\n# TYPE nmc_sms_inbox gauge\n'
        || format(E'nmc_sms_inbox{state="waiting"} %s\nnmc_sms_inbox{state="failed"} %s\n', h.waiting, h.failed);
    out := out || E'# HELP nmc_sms_inbox_oldest_seconds How long the oldest waiting inbound text has waited.\n# TYPE nmc_sms_inbox_oldest_seconds gauge\n'
        || format(E'nmc_sms_inbox_oldest_seconds %s\n', round(coalesce(extract(epoch FROM h.oldest_waiting_age), 0)::numeric, 3));
    out := out || E'# HELP nmc_inbox_worker_up Whether the inbox worker is running.\n# TYPE nmc_inbox_worker_up gauge\n'
        || format(E'nmc_inbox_worker_up %s\n', CASE WHEN h.worker_pid IS NULL THEN 0 ELSE 1 END);
    RETURN out;
END
$$;
COMMENT ON FUNCTION nmc_api.metrics() IS 'The database''s part of GET /metrics (Prometheus text): jobs by kind and status, oldest due job, attempts by outcome, dispatcher up and heartbeat. Runs as nmc_monitor.';
CREATE OR REPLACE FUNCTION nmc.api_status(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    h record;
    i record;
BEGIN
    SELECT * INTO h FROM nmc.system_health();
    SELECT * INTO i FROM nmc.system_inbox_health();
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
COMMENT ON FUNCTION nmc.api_status(jsonb) IS 'GET /api/status: database, sandbox mode, the dispatcher''s heartbeat and queue, the inbound-text inbox and its worker, and provider successes / retries / failures over 5 minutes, for the whole system; and the answering edge''s WebSocket clients (connected, dropped for being slow).';

-- Routine inbound texts are threaded many at once.
CREATE OR REPLACE FUNCTION nmc.phone_or_null(raw text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    RETURN nmc.normalize_phone(raw, 'phone');
EXCEPTION WHEN SQLSTATE 'NM400' THEN
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION nmc.phone_or_null(text) IS 'nmc.normalize_phone, or NULL where it would raise (for sorting input, not for answering it).';
CREATE OR REPLACE FUNCTION nmc.emit_events(p_business_ids uuid[], p_types text[], p_bodies jsonb[])
RETURNS void
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    IF coalesce(cardinality(p_business_ids), 0) = 0 THEN
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
-- Form fields to JSON in one call instead of a loop.
CREATE OR REPLACE FUNCTION nmc.form_object(pairs text[])
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    -- jsonb_object keeps the last value of a repeated key, as jsonb does.
    RETURN jsonb_object(coalesce(pairs, '{}'));
END
$$;
COMMENT ON FUNCTION nmc.form_object(text[]) IS 'Form pairs as a JSON object (for a repeated name, the last value).';

-- Foreign keys that only repeated what (business_id, customer_id) → customers
-- already guarantees: each cost a lookup and a lock on the business's row per insert.
ALTER TABLE nmc.conversations DROP CONSTRAINT conversations_business_id_fkey;
ALTER TABLE nmc.messages DROP CONSTRAINT messages_business_id_fkey;
-- Webhook handlers first in the route dispatcher (rebuilt below); exact routes skip the path regex.
CREATE OR REPLACE FUNCTION nmc.api_dispatch_build()
RETURNS void
LANGUAGE plpgsql
AS $build$
DECLARE
    branches text;
BEGIN
    -- Twilio's webhooks first: they come most often, and CASE tries the branches in order.
    SELECT string_agg(format('        WHEN %L THEN RETURN nmc.%I(req);', h.handler, h.handler), E'\n'
                      ORDER BY h.handler NOT LIKE 'webhook\_%', h.handler)
      INTO branches
      FROM (SELECT DISTINCT handler FROM nmc.api_routes) h;
    EXECUTE format($f$
CREATE OR REPLACE FUNCTION nmc.api_dispatch(handler text, req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $dispatch$
BEGIN
    CASE handler
%s
    END CASE;
END
$dispatch$;
COMMENT ON FUNCTION nmc.api_dispatch(text, jsonb) IS 'Calls nmc.<handler>(req) for a handler of nmc.api_routes (generated by nmc.api_dispatch_build()); an unknown handler raises case_not_found.';
$f$, branches);
END
$build$;
COMMENT ON FUNCTION nmc.api_dispatch_build() IS 'Generates nmc.api_dispatch from the handlers in nmc.api_routes. Run by the install script and by every upgrade script after the routes are in place.';
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
            BEGIN
                form_pairs := nmc.form_decode(coalesce(request_body, ''));
            EXCEPTION WHEN invalid_text_representation THEN
                PERFORM nmc.raise_api_error(400, 'malformed_form', 'the request body is not a valid form');
            END;
            IF NOT nmc.twilio_request_is_signed(handle.path, raw_query, form_pairs,
                                                request_headers ->> 'x-twilio-signature') THEN
                PERFORM nmc.raise_api_error(403, 'invalid_signature',
                    'X-Twilio-Signature is missing or does not match this request');
            END IF;
            parsed := nmc.form_object(form_pairs);
        ELSIF coalesce(request_body, '') <> '' THEN
            BEGIN
                parsed := request_body::jsonb;
            EXCEPTION WHEN invalid_text_representation THEN
                PERFORM nmc.raise_api_error(400, 'malformed_json', 'the request body is not valid JSON');
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
CREATE OR REPLACE FUNCTION nmc.webhook_signing_token()
RETURNS text
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    token text;
BEGIN
    -- One read of both settings (this runs for every webhook).
    SELECT coalesce(nullif(max(value) FILTER (WHERE name = 'twilio_auth_token'), ''), max(value) FILTER (WHERE name = 'sandbox_webhook_token'))
      INTO token FROM nmc.settings WHERE name IN ('twilio_auth_token', 'sandbox_webhook_token');
    RETURN token;
END
$$;
COMMENT ON FUNCTION nmc.webhook_signing_token() IS 'The key webhooks must be signed with: the Twilio auth token, or in sandbox mode the generated sandbox_webhook_token (used by the simulator).';
-- A returning customer is found without writing a new version of its row.
CREATE OR REPLACE FUNCTION nmc.customer_upsert(p_business_id uuid, p_phone text)
RETURNS nmc.customers
LANGUAGE plpgsql
AS $$
DECLARE
    c nmc.customers;
    normal text := nmc.normalize_phone(p_phone, 'phone');
BEGIN
    -- Found and locked without writing a new version (a returning customer changes
    -- nothing); created if new. Locked either way: callers decide from its state
    -- (opted out, last greeting), and two calls at once must decide one after the other.
    SELECT * INTO c FROM nmc.customers WHERE business_id = p_business_id AND phone = normal FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        INSERT INTO nmc.customers (business_id, phone) VALUES (p_business_id, normal)
        ON CONFLICT (business_id, phone) DO NOTHING
        RETURNING * INTO c;
        IF NOT FOUND THEN
            -- Created by a concurrent transaction just now.
            SELECT * INTO c FROM nmc.customers WHERE business_id = p_business_id AND phone = normal FOR NO KEY UPDATE;
        END IF;
    END IF;
    RETURN c;
END
$$;
COMMENT ON FUNCTION nmc.customer_upsert(uuid, text) IS 'The customer of a business with this phone (normalised), created if new; the row is locked until the transaction ends.';
-- Every business's health event in business order, as nmc.emit_events moves counters.
CREATE OR REPLACE FUNCTION nmc.report_system_health()
RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
    h record;
    now_state jsonb;
    was text;
    n int := 0;
    b uuid;
BEGIN
    SELECT * INTO h FROM nmc.dispatcher_health();
    now_state := jsonb_build_object('dispatcher_running', h.worker_pid IS NOT NULL AND h.heartbeat_age < interval '30 seconds',
                                    'sandbox_mode', nmc.sandbox_mode());
    SELECT value INTO was FROM nmc.system_state WHERE name = 'health' FOR UPDATE;
    IF was IS NOT DISTINCT FROM now_state::text THEN
        RETURN 0;
    END IF;
    INSERT INTO nmc.system_state (name, value) VALUES ('health', now_state::text)
    ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, changed_at = now();
    -- Every dashboard shows the system's state, so every business hears of a change.
    -- In business order, as nmc.emit_events moves several counters (no crosswise waits).
    FOR b IN SELECT id FROM nmc.businesses ORDER BY id LOOP
        PERFORM nmc.emit_event(b, 'system.health', now_state);
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION nmc.report_system_health() IS 'pg_cron, every minute (with the backstop): when the dispatcher''s liveness or sandbox mode changed since the last report, emits system.health to every business. Returns how many were told.';
-- A timer whose handler meets a deadlock fires again instead of recording an error.
CREATE OR REPLACE FUNCTION nmc.timer_fire(p_timer_id bigint)
RETURNS boolean
LANGUAGE plpgsql
AS $$
DECLARE
    t nmc.timers;
    h text;
BEGIN
    UPDATE nmc.timers SET fired_at = now()
     WHERE id = p_timer_id AND fired_at IS NULL AND cancelled_at IS NULL AND due_at <= now()
    RETURNING * INTO t;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    SELECT handler INTO h FROM nmc.timer_kinds WHERE kind = t.kind;
    BEGIN
        EXECUTE format('SELECT nmc.%I($1)', h) USING t;
    EXCEPTION
        WHEN deadlock_detected OR serialization_failure OR lock_not_available THEN
            -- Transient: the whole firing is undone and the timer fires again.
            RAISE;
        WHEN OTHERS THEN
            -- A failing handler must not make the timer fire again and again.
            UPDATE nmc.timers SET error = nmc.redact_secrets(SQLERRM) WHERE id = t.id;
            RAISE WARNING 'nevermisscall: timer % (%) handler failed: %', t.id, t.kind, SQLERRM;
    END;
    RETURN true;
END
$$;
COMMENT ON FUNCTION nmc.timer_fire(bigint) IS 'Fires one due timer exactly once: marks it fired and runs its handler; a handler error is recorded on the timer, not retried — except a deadlock or serialization failure, which undoes the firing so the timer fires again.';
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
      description: "Runs the same code as Twilio's voice webhooks (the <Dial> ends no-answer when the owner would have been rung): greeting text, lead, conversation, events. 409 sandbox_only when Twilio is configured, 409 no_phone_number before the business has a number."
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
          description: "Accepted: {call_sid, from, to, call}."
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
GRANT SELECT ON nmc.jobs, nmc.job_attempts, nmc.job_kinds, nmc.settings, nmc.sms_inbox TO nmc_monitor;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA nmc TO nmc_monitor;
ALTER FUNCTION nmc.system_health() OWNER TO nmc_monitor;
ALTER FUNCTION nmc.system_inbox_health() OWNER TO nmc_monitor;
ALTER FUNCTION nmc.provider_stats_5m() OWNER TO nmc_monitor;
ALTER FUNCTION nmc_api.metrics() OWNER TO nmc_monitor;
-- nmc_monitor owns nmc_api.metrics (a definer function), so it needs the schema too.
GRANT USAGE ON SCHEMA nmc_api TO nmc_monitor;
