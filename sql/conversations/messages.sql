-- messages.sql — every SMS in or out of a business, and sending one: the
-- message row and its twilio.sms.send job are written in one transaction,
-- and the dispatcher sends it at commit.
CREATE TABLE nmc.messages (
    id             uuid NOT NULL DEFAULT gen_random_uuid(),
    business_id    uuid NOT NULL,  -- checked through (business_id, customer_id) → customers below, when there is a customer
    customer_id    uuid,           -- NULL: a text to the owner about no customer (sql/owner/owner_texts.sql)
    conversation_id uuid,
    direction      text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    author         text NOT NULL CHECK (author IN ('customer', 'ai', 'owner', 'system')),
    from_phone     nmc.e164 NOT NULL,
    to_phone       nmc.e164 NOT NULL,
    body           text NOT NULL CHECK (length(body) BETWEEN 1 AND 1600),
    status         text NOT NULL CHECK (status IN ('pending', 'queued', 'sending', 'sent', 'delivered',
                                                   'undelivered', 'failed', 'received', 'simulated', 'dropped')),
    twilio_sid     text,
    error_code     int,
    error_message  text,
    sent_at        timestamptz,
    delivered_at   timestamptz,
    simulated      boolean NOT NULL DEFAULT false,
    -- clock_timestamp: messages of one transaction still come out in order.
    created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    -- Since 0.6.0: photos and other media of an inbound MMS, [{content_type, url, file_id}] —
    -- the url is Twilio's, never shown; file_id (0.7.0) is our copy (sql/conversations/media_files.sql).
    media          jsonb CHECK (jsonb_typeof(media) = 'array'),
    PRIMARY KEY (business_id, id),
    -- The SID first: a message is found by its SID alone (a delivery status, a text delivered again).
    CONSTRAINT messages_twilio_sid_key UNIQUE (twilio_sid, business_id),
    FOREIGN KEY (business_id, customer_id) REFERENCES nmc.customers (business_id, id) ON DELETE CASCADE
) WITH (fillfactor = 80);
-- fillfactor 80: delivery status changes several times per message; room on
-- the page keeps those updates HOT.
COMMENT ON TABLE nmc.messages IS 'SMS in and out. Outbound: pending until Twilio accepts it (then its status and SID), or simulated in sandbox mode; failed with error_code/error_message when Twilio refuses it; dropped = an AI reply that arrived after a human took over, kept for audit and never sent.';
CREATE INDEX messages_id ON nmc.messages (id);  -- a job's payload names its message
CREATE INDEX messages_customer ON nmc.messages (business_id, customer_id, created_at);
CREATE TRIGGER messages_touch BEFORE UPDATE ON nmc.messages
    FOR EACH ROW EXECUTE FUNCTION nmc.touch_updated_at();
ALTER TABLE nmc.messages ENABLE ROW LEVEL SECURITY;
ALTER TABLE nmc.messages FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON nmc.messages
    USING (business_id = nmc.current_business_id())
    WITH CHECK (business_id = nmc.current_business_id());

-- The photos of an inbound MMS, whichever path threads it: each media item of
-- a new message gets its file, and the message keeps the file's id with it.
CREATE FUNCTION nmc.messages_media_keep()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF NEW.twilio_sid IS NOT NULL AND EXISTS (SELECT 1 FROM nmc.messages WHERE twilio_sid = NEW.twilio_sid) THEN
        RETURN NEW;  -- Twilio delivered it again: the insert will do nothing, and neither does this.
    END IF;
    NEW.media := (SELECT jsonb_agg(CASE WHEN x ? 'file_id' OR coalesce(x ->> 'url', '') = '' THEN x
                                        ELSE x || jsonb_build_object('file_id', nmc.media_file_request(NEW.business_id, x ->> 'url', x ->> 'content_type')) END
                                   ORDER BY n)
                    FROM jsonb_array_elements(NEW.media) WITH ORDINALITY AS m(x, n));
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION nmc.messages_media_keep() IS 'Trigger: each media item of a new inbound message is kept (nmc.media_file_request) and carries its file_id.';
CREATE TRIGGER messages_media_keep BEFORE INSERT ON nmc.messages
    FOR EACH ROW WHEN (NEW.media IS NOT NULL AND NEW.direction = 'inbound') EXECUTE FUNCTION nmc.messages_media_keep();

CREATE FUNCTION nmc.message_json(m nmc.messages)
RETURNS jsonb
-- PL/pgSQL: its plan is kept (a SQL function with a sub-select is planned on every call).
LANGUAGE plpgsql STABLE
AS $$ BEGIN RETURN jsonb_build_object('id', m.id, 'conversation_id', m.conversation_id, 'customer_id', m.customer_id,
                                'direction', m.direction, 'author', m.author, 'body', m.body, 'status', m.status,
                                'error_code', m.error_code, 'error_message', m.error_message, 'simulated', m.simulated,
                                'created_at', m.created_at,
                                'media', (SELECT jsonb_agg(jsonb_build_object('content_type', x ->> 'content_type',
                                                                              'url', nmc.media_url((x ->> 'file_id')::uuid)) ORDER BY n)
                                            FROM jsonb_array_elements(m.media) WITH ORDINALITY AS e(x, n))); END $$;
COMMENT ON FUNCTION nmc.message_json(nmc.messages) IS 'The API representation of a message (events carry only its id and status); media: an MMS''s photos, each its content type and where the dashboard gets the copy we keep (url: /api/media/{id}; never the provider''s URL), NULL when none.';

CREATE FUNCTION nmc.sms_enqueue_many(msgs nmc.messages[])
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM nmc.jobs_enqueue('twilio.sms.send', array_agg(m.business_id ORDER BY m.ordinality), array_agg(jsonb_build_object('message_id', m.id) ORDER BY m.ordinality),
                             array_agg('sms:' || m.id ORDER BY m.ordinality))
       FROM unnest(msgs) WITH ORDINALITY AS m
     HAVING count(*) > 0;
END
$$;
COMMENT ON FUNCTION nmc.sms_enqueue_many(nmc.messages[]) IS 'Queues the twilio.sms.send jobs of recorded outbound messages, in one statement (once each: keyed by the message id).';

CREATE FUNCTION nmc.sms_enqueue(m nmc.messages)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM nmc.sms_enqueue_many(ARRAY[m]);
END
$$;
COMMENT ON FUNCTION nmc.sms_enqueue(nmc.messages) IS 'Queues the twilio.sms.send job of a recorded outbound message (once: keyed by the message id): nmc.sms_enqueue_many for one.';

CREATE FUNCTION nmc.sms_send_many(p_business_ids uuid[], p_customer_ids uuid[], p_froms text[], p_bodies text[],
                                  p_author text DEFAULT 'system', p_conversation_ids uuid[] DEFAULT NULL)
RETURNS nmc.messages[]
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    bad record;
    msgs nmc.messages[];
BEGIN
    -- The first text (in order) that may not go refuses them all.
    SELECT u.i, c.id AS customer_id, c.opted_out_at, c.sms_unreachable_at, c.sms_unreachable_reason INTO bad
      FROM unnest(p_business_ids, p_customer_ids) WITH ORDINALITY AS u(b, c, i)
      LEFT JOIN nmc.customers c ON c.business_id = u.b AND c.id = u.c
     WHERE c.id IS NULL OR c.opted_out_at IS NOT NULL OR c.sms_unreachable_at IS NOT NULL
     ORDER BY u.i LIMIT 1;
    IF bad.customer_id IS NULL AND bad.i IS NOT NULL THEN
        PERFORM nmc.raise_api_error(404, 'not_found', 'customer not found');
    ELSIF bad.opted_out_at IS NOT NULL THEN
        PERFORM nmc.raise_api_error(409, 'customer_opted_out', 'this customer replied STOP; texts to them are blocked until they reply START');
    ELSIF bad.sms_unreachable_at IS NOT NULL THEN
        PERFORM nmc.raise_api_error(409, 'customer_unreachable', 'this number cannot receive texts: ' || coalesce(bad.sms_unreachable_reason, 'unknown reason'));
    END IF;
    WITH m AS (
        INSERT INTO nmc.messages (business_id, customer_id, conversation_id, direction, author, from_phone, to_phone, body, status)
        SELECT u.b, u.c, p_conversation_ids[u.i], 'outbound', p_author, nmc.normalize_phone(u.f, 'from'), c.phone, u.body, 'pending'
          FROM unnest(p_business_ids, p_customer_ids, p_froms, p_bodies) WITH ORDINALITY AS u(b, c, f, body, i)
          JOIN nmc.customers c ON c.business_id = u.b AND c.id = u.c
         ORDER BY u.i
        RETURNING *)
    SELECT array_agg(m::nmc.messages) INTO msgs FROM m;  -- in the order inserted
    PERFORM nmc.sms_enqueue_many(msgs);
    UPDATE nmc.conversations o SET last_message_at = last.at
      FROM (SELECT m.conversation_id AS id, max(m.created_at) AS at FROM unnest(msgs) m WHERE m.conversation_id IS NOT NULL GROUP BY 1) last
     WHERE o.id = last.id;
    PERFORM nmc.emit_events(array_agg((msgs[k]).business_id ORDER BY k), array_agg('message.created'::text ORDER BY k),
                            array_agg(nmc.message_json(msgs[k]) - 'body' ORDER BY k))
       FROM generate_subscripts(msgs, 1) AS k;
    RETURN msgs;
END
$$;
COMMENT ON FUNCTION nmc.sms_send_many(uuid[], uuid[], text[], text[], text, uuid[]) IS
    'Records outbound SMS (element k of each array is one text: business, customer, from, body, conversation; status pending) and enqueues their twilio.sms.send jobs in the same transaction, in order; refuses them all if one customer is unknown (NM404), opted out or unreachable (NM409). The one place texts to customers are sent (nmc.sms_send is it for one).';

CREATE FUNCTION nmc.sms_send(p_business_id uuid, p_customer_id uuid, p_from text, p_body text,
                             p_author text DEFAULT 'system', p_conversation_id uuid DEFAULT NULL)
RETURNS nmc.messages
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN (nmc.sms_send_many(ARRAY[p_business_id], ARRAY[p_customer_id], ARRAY[p_from], ARRAY[p_body], p_author, ARRAY[p_conversation_id]))[1];
END
$$;
COMMENT ON FUNCTION nmc.sms_send(uuid, uuid, text, text, text, uuid) IS
    'Records an outbound SMS (status pending) and enqueues its twilio.sms.send job in the same transaction; refuses opted-out and unreachable customers (NM409): nmc.sms_send_many for one.';
