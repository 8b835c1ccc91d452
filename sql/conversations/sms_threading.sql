-- sms_threading.sql — an inbound text applied from the webhook inbox
-- (webhook_inbox.sql): one by one (nmc.sms_received) or, for a run of routine
-- texts, many at once (nmc.sms_thread_routine), with the same result.
CREATE FUNCTION nmc.sms_media(params jsonb)
RETURNS jsonb
LANGUAGE sql IMMUTABLE
AS $$
    SELECT jsonb_agg(jsonb_build_object('content_type', coalesce(params ->> ('MediaContentType' || n), 'application/octet-stream'),
                                        'url', params ->> ('MediaUrl' || n)) ORDER BY n)
      FROM generate_series(0, least(coalesce(nullif(substring(params ->> 'NumMedia' FROM '^[0-9]{1,2}$'), '')::int, 0), 10) - 1) n
     WHERE params ->> ('MediaUrl' || n) IS NOT NULL
$$;
COMMENT ON FUNCTION nmc.sms_media(jsonb) IS 'The media of an inbound MMS from Twilio''s NumMedia, MediaUrlN and MediaContentTypeN (zero-based; at most 10), or NULL for a plain text.';

CREATE FUNCTION nmc.sms_media_words(media jsonb)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
    SELECT CASE WHEN bool_and(x ->> 'content_type' LIKE 'image/%')
                THEN CASE WHEN count(*) = 1 THEN '(photo)' ELSE '(' || count(*) || ' photos)' END
                ELSE CASE WHEN count(*) = 1 THEN '(attachment)' ELSE '(' || count(*) || ' attachments)' END END
      FROM jsonb_array_elements(media) x
$$;
COMMENT ON FUNCTION nmc.sms_media_words(jsonb) IS 'How a message with media and no words reads: "(photo)", "(3 photos)", "(attachment)".';

CREATE FUNCTION nmc.sms_received(t nmc.webhook_inbox)
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
    media jsonb;
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
    IF caller = ANY (nmc.owner_phones(b)) THEN
        -- The owner talking, not a customer.
        PERFORM nmc.owner_text_received(t, b, pn, caller);
        RETURN;
    END IF;
    cust := nmc.customer_upsert(b.id, caller);
    conv := nmc.conversation_open(b.id, cust.id, pn.id);
    media := nmc.sms_media(t.params);
    INSERT INTO nmc.messages (business_id, customer_id, conversation_id, direction, author, from_phone, to_phone, body, status,
                              twilio_sid, created_at, media)
    VALUES (b.id, cust.id, conv.id, 'inbound', 'customer', caller, pn.phone,
            left(CASE WHEN body <> '' THEN body WHEN media IS NOT NULL THEN nmc.sms_media_words(media) ELSE '(empty message)' END, 1600),
            'received', sid, t.received_at, media)
    ON CONFLICT (twilio_sid, business_id) DO NOTHING
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
COMMENT ON FUNCTION nmc.sms_received(nmc.webhook_inbox) IS 'Threads one inbound text into the open conversation of (business number, customer), or a new one, with its photos (nmc.sms_media: a photo alone reads "(photo)"); a text from one of the owner''s phones is the owner talking (nmc.owner_text_received). STOP-words opt the customer out, START-words back in, HELP gets the help text; words of danger get safety advice and alert the owner at once; in AI mode the assistant answers; anything else opens the human response window. Idempotent on MessageSid.';

CREATE FUNCTION nmc.sms_thread_routine(texts nmc.webhook_inbox[], callers text[], modes text[])
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
    -- As nmc.conversation_customer_wrote: the owner's phone is told.
    PERFORM nmc.owner_alert_your_turn(w) FROM unnest(windows) w;
END
$$;
COMMENT ON FUNCTION nmc.sms_thread_routine(nmc.webhook_inbox[], text[], text[]) IS 'Threads many routine inbound texts at once (callers: their normalised From numbers; modes: the mode of the open conversation each was sorted with, NULL if none — all in the same order): what nmc.sms_received does for a text that is not a keyword, raises no emergency and is not for the assistant — customer, conversation, message dated at receipt, the human response window where the conversation waited for the customer, and the same events in the same order. nmc.webhook_inbox_run decides which texts are routine.';
