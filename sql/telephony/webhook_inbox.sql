-- webhook_inbox.sql — every Twilio webhook between its acceptance and its
-- effect. A webhook only records itself here (one insert, so Twilio, and a
-- caller listening on a voice webhook, get the answer at once and a burst costs
-- a commit each); the inbox worker (extension/src/inbox_worker.c), woken at
-- that commit, applies them in arrival order, many per transaction, and deletes
-- each one it has applied. One that fails stays here, marked, for a DBA.
CREATE TABLE nmc.webhook_inbox (
    id              bigint GENERATED ALWAYS AS IDENTITY,
    -- No foreign keys: each would lock the business's row from every concurrent
    -- webhook. The webhook found both in the same transaction; a webhook whose
    -- number or business is gone by the time it is applied is logged and dropped.
    business_id     uuid NOT NULL,
    phone_number_id uuid NOT NULL,
    webhook_key     text NOT NULL,
    params          jsonb NOT NULL,
    received_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    failed_at       timestamptz,
    error           text,
    kind            text NOT NULL CHECK (kind IN ('sms', 'sms_status', 'voice', 'voice_dial', 'voice_status', 'voice_recording')),
    PRIMARY KEY (business_id, id),
    -- The tenant is known before a webhook is recorded (nmc.webhook_tenant, from our number).
    CONSTRAINT webhook_inbox_kind_webhook_key_key UNIQUE (kind, webhook_key, business_id)
) WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000);
-- A queue: every row is deleted within milliseconds. Vacuumed after every
-- thousand, or the oldest-first scan walks ever more dead index entries.
CREATE INDEX webhook_inbox_id ON nmc.webhook_inbox (id);  -- the worker takes them oldest first, by id
COMMENT ON TABLE nmc.webhook_inbox IS 'Twilio webhooks accepted and not yet applied (normally for a few milliseconds). kind: sms (an inbound text), sms_status, voice (an incoming call), voice_dial (the forwarded call ended), voice_status, voice_recording (a voicemail). params: the webhook''s form fields (a voice webhook adds nmc_answer, what the caller was told). failed_at/error: applying it raised an error; the row is kept and skipped until a DBA clears failed_at (then it is applied again).';
COMMENT ON COLUMN nmc.webhook_inbox.webhook_key IS 'What makes a delivery of this webhook the same as another (Twilio retries): the MessageSid or CallSid, with the status for status callbacks.';
COMMENT ON COLUMN nmc.webhook_inbox.received_at IS 'When the webhook was accepted: the time of what it reports (a text''s created_at, a call''s start or end).';
ALTER TABLE nmc.webhook_inbox ENABLE ROW LEVEL SECURITY;
ALTER TABLE nmc.webhook_inbox FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON nmc.webhook_inbox
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

CREATE FUNCTION nmc.webhook_inbox_put(p_kind text, p_key text, pn nmc.phone_numbers, p_params jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    recorded jsonb;
BEGIN
    -- A webhook the edge kept while the database was down happened when it arrived there.
    INSERT INTO nmc.webhook_inbox (business_id, phone_number_id, webhook_key, params, kind, received_at)
    VALUES (pn.business_id, pn.id, p_key, p_params, p_kind, coalesce((p_params ->> 'nmc_spooled_at')::timestamptz, clock_timestamp()))
    ON CONFLICT (kind, webhook_key, business_id) DO NOTHING
    RETURNING params INTO recorded;
    IF FOUND THEN
        PERFORM nmc.inbox_wake();
        RETURN recorded;
    END IF;
    -- Twilio delivered it again: what the first delivery recorded, if it still waits.
    SELECT i.params INTO recorded FROM nmc.webhook_inbox i WHERE i.kind = p_kind AND i.webhook_key = p_key AND i.business_id = pn.business_id;
    RETURN recorded;
END
$$;
COMMENT ON FUNCTION nmc.webhook_inbox_put(text, text, nmc.phone_numbers, jsonb) IS 'How every Twilio webhook is accepted: one insert into nmc.webhook_inbox for the business of the number pn, idempotent on (kind, key), waking the inbox worker at commit; received when the edge received it (params.nmc_spooled_at, for a webhook replayed from its spool) or now. Returns the params recorded — these, or those of an earlier delivery of the same webhook that still waits — or NULL when an earlier delivery was applied already (applying is idempotent too).';

CREATE FUNCTION nmc.webhook_status_accept(req jsonb, p_kind text, sid_field text, status_field text, our_number_field text)
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

CREATE FUNCTION nmc.webhook_inbox_apply(t nmc.webhook_inbox)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    CASE t.kind
        WHEN 'sms' THEN PERFORM nmc.sms_apply(ARRAY[t]);
        WHEN 'sms_status' THEN PERFORM nmc.message_status_reported(t);
        WHEN 'voice', 'voice_dial' THEN PERFORM nmc.calls_apply(ARRAY[t]);
        WHEN 'voice_status' THEN PERFORM nmc.call_status_reported(t);
        WHEN 'voice_recording' THEN PERFORM nmc.call_voicemail_recorded(t);
    END CASE;
END
$$;
COMMENT ON FUNCTION nmc.webhook_inbox_apply(nmc.webhook_inbox) IS 'Applies one accepted webhook by its kind, in the business''s tenant scope: an inbound text (nmc.sms_apply, a batch of one), a message status (nmc.message_status_reported), an incoming call or the end of a forwarded call (nmc.calls_apply, a run of one), a call status (nmc.call_status_reported), a voicemail''s recording (nmc.call_voicemail_recorded). Each is idempotent: a webhook delivered again after it was applied changes nothing.';

CREATE FUNCTION nmc.webhook_inbox_run(max_webhooks int DEFAULT NULL, isolate boolean DEFAULT false)
RETURNS int
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
-- Every lookup here goes by index, a batch's keys probing the tables one by one.
-- The worker plans once per session, possibly on a fresh install's empty-table
-- statistics (or before a burst has grown a table: until the next ANALYZE), and a
-- sequential scan, or a hash or merge join reading a whole index, chosen then
-- would grow with the tables: every batch would cost more than the last.
SET enable_seqscan = off
SET enable_hashjoin = off
SET enable_mergejoin = off
AS $$
DECLARE
    t nmc.webhook_inbox;
    batch nmc.webhook_inbox[];
    calls boolean[];
    done int;
    n int := 0;
    err_state text;
    err_message text;
BEGIN
    max_webhooks := coalesce(max_webhooks, nmc.setting_int('inbox_batch_size'));
    -- If a crash loses this transaction, its webhooks are still in the inbox and
    -- are applied again; a text one of its jobs had sent meanwhile is sent again
    -- (at-least-once, as the dispatcher's claims). Nobody waits for its flush.
    PERFORM set_config('synchronous_commit', 'off', true);
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
        RETURN n;
    END IF;

    WHILE n < max_webhooks LOOP
        SELECT array_agg(q ORDER BY q.id) INTO batch
          FROM (SELECT * FROM nmc.webhook_inbox WHERE failed_at IS NULL ORDER BY id LIMIT max_webhooks - n FOR UPDATE SKIP LOCKED) q;
        EXIT WHEN batch IS NULL;
        -- With several webhooks this transaction takes all their open conversations in
        -- id order before touching any, as every other path that locks several does: no
        -- deadlock with a timer or an owner's reply. It takes no lock of the business's
        -- own (events are numbered after commit, nmc.events_number): a business's other
        -- writers (the dispatcher completing texts, the edge accepting) wait for no batch.
        IF cardinality(batch) > 1 THEN
            PERFORM 1 FROM nmc.conversations c
             WHERE c.id = ANY (ARRAY(
                   -- Customer, then conversation, by their unique indexes (LATERAL with
                   -- LIMIT keeps that order whatever the statistics said when planned).
                   SELECT o.id
                     FROM (SELECT DISTINCT g.business_id, g.phone_number_id, nmc.phone_or_null(g.params ->> 'From') AS phone
                             FROM unnest(batch) AS g) k
                    CROSS JOIN LATERAL (SELECT cu.id FROM nmc.customers cu
                                         WHERE cu.business_id = k.business_id AND cu.phone = k.phone LIMIT 1) cu
                    CROSS JOIN LATERAL (SELECT o.id FROM nmc.conversations o
                                         WHERE o.business_id = k.business_id AND o.phone_number_id = k.phone_number_id
                                           AND o.customer_id = cu.id AND o.state = 'open' LIMIT 1) o))
             ORDER BY c.id FOR UPDATE;
        END IF;
        -- Which are voice webhooks that can go together (a CallSid's second webhook in
        -- the batch waits for the next round: it must see what the first did).
        calls := ARRAY(SELECT g.kind IN ('voice', 'voice_dial')
                              AND row_number() OVER (PARTITION BY g.kind IN ('voice', 'voice_dial'), g.webhook_key ORDER BY g.ordinality) = 1
                         FROM unnest(batch) WITH ORDINALITY AS g ORDER BY g.ordinality);
        done := 1;
        IF calls[1] THEN
            -- A run of calls together (nmc.calls_apply: the missed ones decided and
            -- texted at once), up to the first webhook that is not one.
            WHILE done < cardinality(batch) AND calls[done + 1] LOOP
                done := done + 1;
            END LOOP;
            PERFORM nmc.calls_apply(batch[1:done]);
        ELSIF batch[1].kind = 'sms' THEN
            -- A run of inbound texts together (nmc.sms_apply, in arrival order).
            WHILE done < cardinality(batch) AND batch[done + 1].kind = 'sms' LOOP
                done := done + 1;
            END LOOP;
            PERFORM nmc.sms_apply(batch[1:done]);
        ELSE
            -- Status callbacks and voicemails one by one, up to the next call or text.
            WHILE done < cardinality(batch) AND NOT calls[done + 1] AND batch[done + 1].kind <> 'sms' LOOP
                done := done + 1;
            END LOOP;
            FOREACH t IN ARRAY batch[1:done] LOOP
                PERFORM set_config('nmc.business_id', t.business_id::text, true);
                PERFORM nmc.webhook_inbox_apply(t);
            END LOOP;
            PERFORM set_config('nmc.business_id', '', true);
        END IF;
        -- By an array of ids (one index probe each; IN (subquery) planned generically
        -- compared every inbox row with every webhook).
        DELETE FROM nmc.webhook_inbox WHERE id = ANY (ARRAY(SELECT r.id FROM unnest(batch[1:done]) r));
        n := n + done;
        -- The inbox had no more than this batch, and all of it is done.
        EXIT WHEN done = cardinality(batch) AND cardinality(batch) < max_webhooks - n + done;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION nmc.webhook_inbox_run(int, boolean) IS 'Applies up to max_webhooks (NULL: the setting inbox_batch_size) inbox webhooks in arrival order and deletes them; returns how many it took. A run of inbound texts goes through nmc.sms_apply at once; a run of voice webhooks (incoming calls, ends of forwarded calls — a CallSid once per run) through nmc.calls_apply at once, missed calls decided and texted together; status callbacks and voicemails through nmc.webhook_inbox_apply one by one, many per transaction. Its events are numbered after it commits (nmc.events_number), and the transaction commits without waiting for its WAL flush (a crash that loses it leaves its webhooks in the inbox). The inbox worker runs it in one transaction per batch; when a batch raises an error (a deadlock with a timer included) it runs it again with isolate, which gives each webhook a subtransaction (a text is then a batch of one) and marks a failing one (failed_at, error) instead of losing the batch — one that meets a deadlock or serialization failure again is left for the next round, not marked.';

CREATE FUNCTION nmc.inbox_health(OUT worker_pid int, OUT heartbeat_age interval, OUT waiting bigint,
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
