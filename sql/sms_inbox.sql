-- sms_inbox.sql — inbound texts between Twilio's webhook and their
-- conversation. The webhook only records the text here (one insert, so Twilio
-- gets its answer at once and a burst costs a commit each); the inbox worker
-- (extension/src/inbox_worker.c), woken at that commit, threads the texts in
-- arrival order, many per transaction, and deletes each one it has threaded.
-- A text whose processing fails stays here, marked, for a DBA.
CREATE TABLE nmc.sms_inbox (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    business_id     uuid NOT NULL REFERENCES nmc.businesses (id) ON DELETE CASCADE,
    phone_number_id uuid NOT NULL,
    message_sid     text NOT NULL UNIQUE,
    params          jsonb NOT NULL,
    received_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    failed_at       timestamptz,
    error           text
);
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
    IF pn.id IS NULL OR pn.business_id <> b.id THEN
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

CREATE FUNCTION nmc.sms_inbox_run(max_texts int DEFAULT 500, isolate boolean DEFAULT false)
RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
    t nmc.sms_inbox;
    done bigint[] := '{}';
    n int := 0;
    err_state text;
    err_message text;
BEGIN
    FOR t IN SELECT * FROM nmc.sms_inbox WHERE failed_at IS NULL ORDER BY id LIMIT max_texts FOR UPDATE SKIP LOCKED LOOP
        PERFORM set_config('nmc.business_id', t.business_id::text, true);
        IF isolate THEN
            BEGIN
                PERFORM nmc.sms_received(t);
                done := done || t.id;
            EXCEPTION WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS err_state = RETURNED_SQLSTATE, err_message = MESSAGE_TEXT;
                RAISE WARNING 'nevermisscall: inbound text % (inbox %) could not be processed: % %', t.message_sid, t.id, err_state, err_message;
                UPDATE nmc.sms_inbox SET failed_at = now(), error = err_state || ': ' || err_message WHERE id = t.id;
            END;
        ELSE
            PERFORM nmc.sms_received(t);
            done := done || t.id;
        END IF;
        n := n + 1;
    END LOOP;
    PERFORM set_config('nmc.business_id', '', true);
    DELETE FROM nmc.sms_inbox WHERE id = ANY (done);
    RETURN n;
END
$$;
COMMENT ON FUNCTION nmc.sms_inbox_run(int, boolean) IS 'Threads up to max_texts inbox texts in arrival order and deletes them; returns how many it took. The inbox worker runs it in one transaction per batch; when a batch raises an error it runs it again with isolate, which gives each text a subtransaction and marks a failing one (failed_at, error) instead of losing the batch.';

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
