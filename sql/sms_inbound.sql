-- sms_inbound.sql — Twilio's messaging webhooks: inbound texts threaded into
-- the open conversation (or a new one), opt-out / opt-in / help keywords,
-- the human response window, and delivery status callbacks that only ever
-- move a message forward.
CREATE FUNCTION nmc.sms_keyword(body text)
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
    ELSIF length(k) <= 60 AND (
             k ~ '^(PLEASE )?(STOP|QUIT|NO MORE) (TEXTING|MESSAGING|CONTACTING|TEXTS|MESSAGES)( ME| US)?( PLEASE)?$'
          OR k ~ '^(PLEASE )?(DO NOT|DONT|DON''T|NEVER) (TEXT|MESSAGE|CONTACT) (ME|US|THIS NUMBER)( AGAIN| ANYMORE)?( PLEASE)?$'
          OR k ~ '^(REMOVE|TAKE) ME (FROM|OFF) (YOUR|THE|THIS) (LIST|TEXTS)( PLEASE)?$'
          OR k ~ '^(UNSUBSCRIBE ME|LEAVE ME ALONE)$') THEN
        RETURN 'opt_out';
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION nmc.sms_keyword(text) IS 'opt_out, opt_in or help when a text is exactly one of Twilio''s keywords (any case, surrounding spaces and punctuation ignored); opt_out also for plain-language requests such as "stop texting me" or "don''t message me again"; else NULL.';

CREATE FUNCTION nmc.webhook_sms(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $$
DECLARE
    sid text := nmc.webhook_field(req, 'MessageSid');
    pn nmc.phone_numbers := nmc.webhook_tenant(nmc.webhook_field(req, 'To'));
    body text := coalesce(req #>> '{body,Body}', '');
    caller text;
    cust nmc.customers;
    conv nmc.conversations;
    m nmc.messages;
    kw text;
    danger text;
    b nmc.businesses;
BEGIN
    IF pn.id IS NULL THEN
        RAISE LOG 'nevermisscall: text % to %, which is not one of our numbers', sid, req #>> '{body,To}';
        RETURN nmc.twiml(NULL);
    END IF;
    IF EXISTS (SELECT 1 FROM nmc.messages WHERE twilio_sid = sid) THEN
        RETURN nmc.twiml(NULL);
    END IF;
    BEGIN
        caller := nmc.normalize_phone(nmc.webhook_field(req, 'From'), 'From');
    EXCEPTION WHEN SQLSTATE 'NM400' THEN
        RAISE LOG 'nevermisscall: text % from % cannot be answered by text', sid, req #>> '{body,From}';
        RETURN nmc.twiml(NULL);
    END;
    SELECT * INTO b FROM nmc.businesses WHERE id = pn.business_id;
    cust := nmc.customer_upsert(b.id, caller);
    conv := nmc.conversation_open(b.id, cust.id, pn.id);
    INSERT INTO nmc.messages (business_id, customer_id, conversation_id, direction, author, from_phone, to_phone, body, status, twilio_sid)
    VALUES (b.id, cust.id, conv.id, 'inbound', 'customer', caller, pn.phone, left(CASE WHEN body = '' THEN '(empty message)' ELSE body END, 1600),
            'received', sid)
    ON CONFLICT (twilio_sid) DO NOTHING
    RETURNING * INTO m;
    IF NOT FOUND THEN
        RETURN nmc.twiml(NULL);
    END IF;
    UPDATE nmc.conversations SET last_message_at = m.created_at WHERE id = conv.id RETURNING * INTO conv;
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
    RETURN nmc.twiml(NULL);
END
$$;
COMMENT ON FUNCTION nmc.webhook_sms(jsonb) IS 'POST /webhooks/twilio/sms: an inbound text, threaded into the open conversation of (business number, customer). STOP-words opt the customer out, START-words back in, HELP gets the help text; words of danger get safety advice and alert the owner at once; anything else opens the human response window. Idempotent on MessageSid.';

CREATE FUNCTION nmc.message_status_rank(status text)
RETURNS int
LANGUAGE sql IMMUTABLE
AS $$ SELECT CASE status WHEN 'pending' THEN 0 WHEN 'accepted' THEN 1 WHEN 'queued' THEN 1 WHEN 'sending' THEN 2 WHEN 'sent' THEN 3
                         WHEN 'delivered' THEN 4 WHEN 'undelivered' THEN 4 WHEN 'failed' THEN 4 WHEN 'read' THEN 5 ELSE -1 END $$;
COMMENT ON FUNCTION nmc.message_status_rank(text) IS 'How far along an outbound message status is; callbacks may arrive out of order and only move a message forward.';

CREATE FUNCTION nmc.webhook_sms_status(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $$
DECLARE
    sid text := nmc.webhook_field(req, 'MessageSid');
    new_status text := nmc.webhook_field(req, 'MessageStatus');
    pn nmc.phone_numbers := nmc.webhook_tenant(nmc.webhook_field(req, 'From'));
    code text := req #>> '{body,ErrorCode}';
    m nmc.messages;
    lead uuid;
BEGIN
    IF pn.id IS NULL THEN
        RETURN nmc.twiml(NULL);
    END IF;
    SELECT * INTO m FROM nmc.messages WHERE twilio_sid = sid FOR UPDATE;
    IF NOT FOUND OR nmc.message_status_rank(new_status) <= nmc.message_status_rank(m.status)
       OR new_status NOT IN ('queued', 'sending', 'sent', 'delivered', 'undelivered', 'failed') THEN
        RETURN nmc.twiml(NULL);
    END IF;
    UPDATE nmc.messages SET status = new_status,
           error_code = CASE WHEN code ~ '^[0-9]+$' THEN code::int ELSE error_code END,
           error_message = CASE WHEN new_status IN ('undelivered', 'failed') THEN 'Twilio delivery error ' || coalesce(code, 'unknown') ELSE error_message END,
           sent_at = CASE WHEN new_status IN ('sent', 'delivered') THEN coalesce(sent_at, now()) ELSE sent_at END,
           delivered_at = CASE WHEN new_status = 'delivered' THEN now() ELSE delivered_at END
     WHERE id = m.id RETURNING * INTO m;
    PERFORM nmc.emit_event(m.business_id, 'message.status',
        jsonb_build_object('id', m.id, 'conversation_id', m.conversation_id, 'status', m.status, 'error_code', m.error_code));
    SELECT c.lead_id INTO lead FROM nmc.conversations c WHERE c.id = m.conversation_id;
    IF lead IS NOT NULL AND new_status = 'delivered' THEN
        PERFORM nmc.lead_transition(lead, 'contacted');
    ELSIF lead IS NOT NULL AND new_status IN ('undelivered', 'failed') THEN
        UPDATE nmc.leads SET delivery_error = m.error_message WHERE id = lead;
    END IF;
    RETURN nmc.twiml(NULL);
END
$$;
COMMENT ON FUNCTION nmc.webhook_sms_status(jsonb) IS 'POST /webhooks/twilio/sms/status: an outbound message''s delivery status, applied only if it moves the message forward; delivered moves its lead to contacted, a delivery failure shows on the lead.';

INSERT INTO nmc.api_routes (route_method, route_path, handler, auth, summary) VALUES
    ('POST', '/webhooks/twilio/voice', 'webhook_voice', 'twilio', 'Twilio: an incoming call'),
    ('POST', '/webhooks/twilio/voice/dial', 'webhook_voice_dial', 'twilio', 'Twilio: the forwarded call ended (Dial action)'),
    ('POST', '/webhooks/twilio/voice/status', 'webhook_voice_status', 'twilio', 'Twilio: call status callback'),
    ('POST', '/webhooks/twilio/sms', 'webhook_sms', 'twilio', 'Twilio: an incoming text'),
    ('POST', '/webhooks/twilio/sms/status', 'webhook_sms_status', 'twilio', 'Twilio: outbound message status callback');
