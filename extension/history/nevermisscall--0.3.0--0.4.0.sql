-- 0.3.0 → 0.4.0, assembled by extension/Makefile (upgrades/assemble.pl) into
-- nevermisscall--0.3.0--0.4.0.sql: table changes written here as upgrade steps;
-- "--@include f" brings sql/f.sql (new in this version), "--@replace f name" the
-- current text of a changed function; then the OpenAPI document, the route
-- dispatcher and sql/grants.sql. test/upgrade/check.sh proves the result equals
-- a fresh 0.4.0 install.
\echo Use "ALTER EXTENSION nevermisscall UPDATE" to load this file. \quit

-- Threading many texts at once no longer compares every text with every other
-- (deleting the batch from the inbox, matching conversations with their timers).
CREATE OR REPLACE FUNCTION nmc.sms_inbox_run(max_texts int DEFAULT 500, isolate boolean DEFAULT false, min_together int DEFAULT 8)
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
CREATE OR REPLACE FUNCTION nmc.sms_thread_routine(texts nmc.sms_inbox[], callers text[], modes text[])
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
-- Which texts are routine: each sender normalised once, the words of danger
-- looked for in all texts in one pass.
CREATE OR REPLACE FUNCTION nmc.emergency_words(body text)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$ SELECT ' ' || btrim(regexp_replace(lower(body), '[^[:alnum:]]+', ' ', 'g')) || ' ' $$;
COMMENT ON FUNCTION nmc.emergency_words(text) IS 'A text as lower-case words between single spaces (" water everywhere help "), where an emergency term matches as strpos(words, '' '' || term || '' '') > 0.';
CREATE OR REPLACE FUNCTION nmc.emergency_term_in(p_business_id uuid, body text)
RETURNS text
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    words text := nmc.emergency_words(body);
    hit text;
BEGIN
    -- The inbox worker asks the same of many texts at once (nmc.sms_inbox_run).
    SELECT t.term INTO hit FROM nmc.emergency_terms t
     WHERE (t.trade_type IS NULL OR t.trade_type = (SELECT b.trade_type FROM nmc.businesses b WHERE b.id = p_business_id))
       AND strpos(words, ' ' || t.term || ' ') > 0
     ORDER BY length(t.term) DESC LIMIT 1;
    RETURN hit;
END
$$;
COMMENT ON FUNCTION nmc.emergency_term_in(uuid, text) IS 'The word of danger for the business''s trade found in a text (whole words, any case, punctuation ignored), or NULL; the longest if several.';

-- The edge commits concurrent SMS webhooks together (edge/handle_call.c).
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
    'Several requests in one transaction, for the edge''s group commit of Twilio''s SMS webhooks: requests is a JSON array of [method, path, query, request_headers, client_addr, request_body, raw_query] (the arguments of nmc_api.handle, query and headers as objects); one result row per request, in order. An error one request meets is its own response, as with nmc_api.handle.';

-- Events lose their foreign key (one check per event): each is written with its
-- business's counter row, which has one, and now leaves with it.
ALTER TABLE nmc.events DROP CONSTRAINT events_business_id_fkey;
CREATE OR REPLACE FUNCTION nmc.events_of_gone_counters()
RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    b uuid;
    tenant text := current_setting('nmc.business_id', true);
BEGIN
    -- Each business's events under its own tenant setting, so row-level
    -- security lets whoever deleted the business delete them too.
    FOR b IN SELECT business_id FROM gone LOOP
        PERFORM set_config('nmc.business_id', b::text, true);
        DELETE FROM nmc.events WHERE business_id = b;
    END LOOP;
    PERFORM set_config('nmc.business_id', coalesce(tenant, ''), true);
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION nmc.events_of_gone_counters() IS 'Trigger: the events of businesses whose counter row is deleted (with the business, by its foreign key''s cascade) are deleted too.';
CREATE TRIGGER event_counters_gone AFTER DELETE ON nmc.event_counters
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION nmc.events_of_gone_counters();
-- The accept path of a webhook does less: required fields checked at once, the
-- public URL read directly, the group statement planned once per session.
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
CREATE OR REPLACE FUNCTION nmc.twilio_request_is_signed(path text, raw_query text, pairs text[], signature text)
RETURNS boolean
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    base_url text;
BEGIN
    -- Read directly (this runs for every webhook); nmc.setting's check that the
    -- name exists is for callers that could misspell it.
    SELECT value INTO base_url FROM nmc.settings WHERE name = 'public_url';
    IF NOT FOUND THEN
        base_url := nmc.setting('public_url');  -- raises: unknown setting
    END IF;
    RETURN nmc.twilio_signature_valid(
        rtrim(base_url, '/') || path || CASE WHEN coalesce(raw_query, '') <> '' THEN '?' || raw_query ELSE '' END,
        pairs, nmc.webhook_signing_token(), signature);
END
$$;
COMMENT ON FUNCTION nmc.twilio_request_is_signed(text, text, text[], text) IS 'Whether a webhook request to path (under public_url, with its raw query) carries a valid X-Twilio-Signature.';
-- New timers wake the dispatcher once per statement (the earliest), not per row.
DROP TRIGGER timers_wake ON nmc.timers;
CREATE OR REPLACE FUNCTION nmc.timer_wake_trigger()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM nmc.dispatcher_wake_at(min(due_at)) FROM added;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION nmc.timer_wake_trigger() IS 'Statement trigger on timers: new timers wake the dispatcher at commit only if the earliest is due before the dispatcher''s next planned round.';
CREATE TRIGGER timers_wake AFTER INSERT ON nmc.timers
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION nmc.timer_wake_trigger();
-- Plain-language opt-outs recognised by one pattern instead of four.
CREATE OR REPLACE FUNCTION nmc.sms_keyword(body text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    k text := regexp_replace(upper(btrim(body, E' \t\r\n.!')), '\s+', ' ', 'g');
BEGIN
    IF k IN ('STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'REVOKE', 'OPTOUT') THEN
        RETURN 'opt_out';
    ELSIF k IN ('START', 'YES', 'UNSTOP') THEN
        RETURN 'opt_in';
    ELSIF k IN ('HELP', 'INFO') THEN
        RETURN 'help';
    -- Plain-language opt-outs: a person who writes this must never be texted again.
    -- (None is longer than 48 characters; longer texts skip the patterns.)
    -- (One pattern with four alternatives: one match per text instead of four.)
    ELSIF length(k) <= 60 AND k ~ ('^(?:'
             '(PLEASE )?(STOP|QUIT|NO MORE) (TEXTING|MESSAGING|CONTACTING|TEXTS|MESSAGES)( ME| US)?( PLEASE)?'
          '|(PLEASE )?(DO NOT|DONT|DON''T|NEVER) (TEXT|MESSAGE|CONTACT) (ME|US|THIS NUMBER)( AGAIN| ANYMORE)?( PLEASE)?'
          '|(REMOVE|TAKE) ME (FROM|OFF) (YOUR|THE|THIS) (LIST|TEXTS)( PLEASE)?'
          '|UNSUBSCRIBE ME|LEAVE ME ALONE)$') THEN
        RETURN 'opt_out';
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION nmc.sms_keyword(text) IS 'opt_out, opt_in or help when a text is exactly one of Twilio''s keywords (any case, surrounding spaces and punctuation ignored); opt_out also for plain-language requests such as "stop texting me" or "don''t message me again"; else NULL.';

-- The live-feed relay reads every business notified since its last look in one round trip.
CREATE OR REPLACE FUNCTION nmc_api.ws_events_many(p_business_ids uuid[], after_seqs bigint[], max_events int)
RETURNS TABLE (business_id uuid, seq bigint, frame text)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = nmc, public, pg_temp
AS $$
DECLARE
    i int;
BEGIN
    -- nmc_api.ws_events for several businesses in one round trip (the relay
    -- reads every business notified since its last look at once), each under
    -- its own tenant setting; rows come business by business, in array order.
    FOR i IN 1 .. coalesce(cardinality(p_business_ids), 0) LOOP
        PERFORM set_config('nmc.business_id', p_business_ids[i]::text, true);
        RETURN QUERY SELECT e.business_id, e.seq, nmc.event_frame(e) FROM nmc.events e
                      WHERE e.business_id = p_business_ids[i] AND e.seq > after_seqs[i]
                      ORDER BY e.seq LIMIT least(greatest(max_events, 1), 10000);
    END LOOP;
END
$$;
COMMENT ON FUNCTION nmc_api.ws_events_many(uuid[], bigint[], int) IS 'WebSocket relay: nmc_api.ws_events for several businesses at once (element k of each array is one business and the id after which to read); up to max_events per business, business by business in array order, each in seq order.';

-- Unique (business_id, id) indexes nothing refers to, on the two tables every text inserts into.
ALTER TABLE nmc.messages DROP CONSTRAINT messages_business_id_id_key;
ALTER TABLE nmc.timers DROP CONSTRAINT timers_business_id_id_key;
CREATE OR REPLACE FUNCTION nmc.events_truncated_with_counters()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    TRUNCATE nmc.events;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION nmc.events_truncated_with_counters() IS 'Trigger: TRUNCATE of the counters (TRUNCATE nmc.businesses CASCADE reaches them) empties the events too, as the cascade of a foreign key would.';
CREATE TRIGGER event_counters_truncated AFTER TRUNCATE ON nmc.event_counters
    FOR EACH STATEMENT EXECUTE FUNCTION nmc.events_truncated_with_counters();
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
