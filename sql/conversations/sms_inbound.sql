-- sms_inbound.sql — Twilio's messaging webhooks: an inbound text recorded in
-- the webhook inbox (sms_threading.sql threads it), the opt-out / opt-in / help keywords,
-- and delivery status callbacks that only ever move a message forward.
CREATE FUNCTION nmc.sms_carrier_keyword(body text)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
    SELECT CASE WHEN k IN ('STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'REVOKE', 'OPTOUT') THEN 'opt_out'
                WHEN k IN ('START', 'YES', 'UNSTOP') THEN 'opt_in'
                WHEN k IN ('HELP', 'INFO') THEN 'help' END
      FROM (SELECT regexp_replace(upper(btrim(body, E' \t\r\n.!')), '\s+', ' ', 'g') AS k) w
$$;
COMMENT ON FUNCTION nmc.sms_carrier_keyword(text) IS 'opt_out, opt_in or help when a text is exactly one of Twilio''s keywords (any case, surrounding spaces and punctuation ignored) — the words Twilio itself answers, and after an opt-out blocks our texts to that phone until opt-in; else NULL.';

CREATE FUNCTION nmc.sms_keyword(body text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    k text := nmc.sms_carrier_keyword(body);
BEGIN
    IF k IS NOT NULL THEN
        RETURN k;
    END IF;
    k := regexp_replace(upper(btrim(body, E' \t\r\n.!')), '\s+', ' ', 'g');
    -- Plain-language opt-outs: a person who writes this must never be texted again.
    -- (None is longer than 48 characters; longer texts skip the patterns.)
    -- (One pattern with four alternatives: one match per text instead of four.)
    IF length(k) <= 60 AND k ~ ('^(?:'
             '(PLEASE )?(STOP|QUIT|NO MORE) (TEXTING|MESSAGING|CONTACTING|TEXTS|MESSAGES)( ME| US)?( PLEASE)?'
          '|(PLEASE )?(DO NOT|DONT|DON''T|NEVER) (TEXT|MESSAGE|CONTACT) (ME|US|THIS NUMBER)( AGAIN| ANYMORE)?( PLEASE)?'
          '|(REMOVE|TAKE) ME (FROM|OFF) (YOUR|THE|THIS) (LIST|TEXTS)( PLEASE)?'
          '|UNSUBSCRIBE ME|LEAVE ME ALONE)$') THEN
        RETURN 'opt_out';
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION nmc.sms_keyword(text) IS 'opt_out, opt_in or help when a text is exactly one of Twilio''s keywords (nmc.sms_carrier_keyword); opt_out also for plain-language requests such as "stop texting me" or "don''t message me again"; else NULL.';

CREATE FUNCTION nmc.webhook_sms(req jsonb)
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
    -- Kept first, threaded right after commit by the inbox worker (nmc.sms_apply).
    PERFORM nmc.webhook_inbox_put('sms', sid, pn, req -> 'body');
    RETURN nmc.twiml(NULL);
END
$$;
COMMENT ON FUNCTION nmc.webhook_sms(jsonb) IS 'POST /webhooks/twilio/sms: an inbound text is recorded in nmc.webhook_inbox (one insert, idempotent on MessageSid) and answered at once; the inbox worker threads it into its conversation right after commit (nmc.sms_apply). Texts to numbers that are not ours are logged and dropped.';

CREATE FUNCTION nmc.message_delivery_ranks()
RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT '{"pending": 0, "accepted": 1, "scheduled": 1, "queued": 1, "receiving": 1, "sending": 2, "sent": 3,
               "delivered": 4, "undelivered": 4, "failed": 4, "canceled": 4, "simulated": 4, "dropped": 4, "received": 4,
               "read": 5}'::jsonb $$;
COMMENT ON FUNCTION nmc.message_delivery_ranks() IS 'The one order of a text''s states (Twilio''s, and ours: pending, simulated, dropped): how far along each is, final states level. Status callbacks only move a message forward (nmc.message_status_rank); the dashboard gets the same order from GET /api/meta.';

CREATE FUNCTION nmc.message_status_rank(status text)
RETURNS int
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT coalesce((nmc.message_delivery_ranks() ->> status)::int, -1) $$;
COMMENT ON FUNCTION nmc.message_status_rank(text) IS 'How far along a message status is (nmc.message_delivery_ranks; -1 for a status it does not know); callbacks may arrive out of order and only move a message forward.';

CREATE FUNCTION nmc.webhook_sms_status(req jsonb)
RETURNS nmc.http_response
LANGUAGE sql
AS $$ SELECT nmc.webhook_status_accept(req, 'sms_status', 'MessageSid', 'MessageStatus', 'From') $$;
COMMENT ON FUNCTION nmc.webhook_sms_status(jsonb) IS 'POST /webhooks/twilio/sms/status: an outbound message''s delivery status, accepted into the webhook inbox (nmc.message_status_reported applies it) and answered at once. Idempotent on MessageSid and status.';

CREATE FUNCTION nmc.message_status_reported(t nmc.webhook_inbox)
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
    ELSIF new_status IN ('undelivered', 'failed') THEN
        PERFORM nmc.lead_text_not_delivered(m);
    END IF;
END
$$;
COMMENT ON FUNCTION nmc.message_status_reported(nmc.webhook_inbox) IS 'Applies an accepted delivery status callback, only if it moves the message forward; delivered moves its lead to contacted, a delivery failure shows on the lead (nmc.lead_text_not_delivered).';
