-- owner_replies.sql — the owner texting customers from the dashboard: a reply in
-- a conversation (a closed one is no dead end), a new conversation with any
-- number, and one conversation read with its messages.
CREATE FUNCTION nmc.owner_text_fits(b nmc.businesses, body text)
RETURNS void
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    IF (nmc.sms_segments(body)).segments > b.max_reply_segments THEN
        PERFORM nmc.raise_api_error(400, 'message_too_long',
            format('this message would be %s SMS segments; the limit is %s (max_reply_segments)', (nmc.sms_segments(body)).segments, b.max_reply_segments),
            'body');
    END IF;
END $$;
COMMENT ON FUNCTION nmc.owner_text_fits(nmc.businesses, text) IS 'NM400 message_too_long when a text the owner writes on the dashboard would be more than max_reply_segments SMS segments (it is never cut).';

CREATE FUNCTION nmc.owner_conversation_json(conv nmc.conversations)
RETURNS jsonb LANGUAGE sql STABLE
AS $$ SELECT nmc.conversation_json(conv) || jsonb_build_object('customer', nmc.customer_brief(conv.customer_id)) $$;
COMMENT ON FUNCTION nmc.owner_conversation_json(nmc.conversations) IS 'A conversation with its customer, as GET /api/conversations/{id} shows it.';

CREATE FUNCTION nmc.api_conversation_reply(req jsonb)
RETURNS nmc.http_response LANGUAGE plpgsql
AS $$
DECLARE
    conv nmc.conversations;
    b nmc.businesses;
    body text;
    m nmc.messages;
BEGIN
    PERFORM nmc.input_allowed_fields(nmc.input_object(req -> 'body'), ARRAY['body']);
    body := nmc.input_text(req -> 'body', 'body', true, 1600);
    conv := nmc.conversation_for_update(nmc.input_uuid(req #>> '{params,0}', 'conversation'), false);
    SELECT * INTO b FROM nmc.businesses WHERE id = conv.business_id;
    PERFORM nmc.owner_text_fits(b, body);
    IF conv.state <> 'open' THEN
        -- Never a dead end: the customer's open conversation on that number (a
        -- new one if none) gets it, and the owner has that one.
        conv := nmc.conversation_open(b.id, conv.customer_id, conv.phone_number_id);
        conv := nmc.conversation_takeover(conv.id);
    END IF;
    m := nmc.sms_send(b.id, conv.customer_id, (SELECT phone FROM nmc.phone_numbers WHERE id = conv.phone_number_id),
                      body, 'owner', conv.id);
    -- A human answered: the window closes and no one else will answer for the business.
    IF conv.mode = 'human_window' THEN
        conv := nmc.conversation_set_mode(conv, 'waiting');
    END IF;
    RETURN nmc.respond(201, jsonb_build_object('message', nmc.message_json(m), 'conversation', nmc.owner_conversation_json(conv)));
END $$;
COMMENT ON FUNCTION nmc.api_conversation_reply(jsonb) IS 'POST /api/conversations/{id}/messages {body}: the owner texts the customer from the business number; 201 {message, conversation}. A closed conversation is no dead end: the text goes to the customer''s open conversation on that number, or a new one, which the owner then has (mode human) — conversation says which. Refused if longer than max_reply_segments (never cut) or if the customer opted out or cannot get texts. Closes the human window.';

CREATE FUNCTION nmc.api_conversation_start(req jsonb)
RETURNS nmc.http_response LANGUAGE plpgsql
AS $$
DECLARE
    b nmc.businesses;
    pn nmc.phone_numbers;
    body text;
    to_phone text;
    cust nmc.customers;
    conv nmc.conversations;
    m nmc.messages;
BEGIN
    PERFORM nmc.input_allowed_fields(nmc.input_object(req -> 'body'), ARRAY['to', 'body']);
    to_phone := nmc.normalize_phone(nmc.input_text(req -> 'body', 'to', true, 40), 'to');
    body := nmc.input_text(req -> 'body', 'body', true, 1600);
    SELECT * INTO b FROM nmc.businesses WHERE id = nmc.current_business_id();
    PERFORM nmc.owner_text_fits(b, body);
    SELECT * INTO pn FROM nmc.phone_numbers WHERE business_id = b.id AND detached_at IS NULL ORDER BY created_at, id LIMIT 1;
    IF pn.id IS NULL THEN
        PERFORM nmc.raise_api_error(409, 'no_number', 'get a texting number first: texts go out from it');
    END IF;
    cust := nmc.customer_upsert(b.id, to_phone);
    conv := nmc.conversation_takeover((nmc.conversation_open(b.id, cust.id, pn.id)).id);
    m := nmc.sms_send(b.id, cust.id, pn.phone, body, 'owner', conv.id);
    RETURN nmc.respond(201, jsonb_build_object('message', nmc.message_json(m), 'conversation', nmc.owner_conversation_json(conv)));
END $$;
COMMENT ON FUNCTION nmc.api_conversation_start(jsonb) IS 'POST /api/conversations {to, body}: the owner texts any number from the business''s (first) number — a new customer or a known one, in their open conversation or a new one, which the owner has (mode human: the assistant stays out of a conversation the owner started); 201 {message, conversation}. 400 invalid_phone (to) for no phone number, message_too_long; 409 customer_opted_out, customer_unreachable, no_number.';

CREATE FUNCTION nmc.api_conversation_get(req jsonb)
RETURNS nmc.http_response LANGUAGE plpgsql STABLE
AS $$
DECLARE
    conv nmc.conversations;
BEGIN
    SELECT * INTO conv FROM nmc.conversations WHERE id = nmc.input_uuid(req #>> '{params,0}', 'conversation');
    IF NOT FOUND THEN
        PERFORM nmc.raise_api_error(404, 'not_found', 'no such conversation');
    END IF;
    RETURN nmc.respond(200, jsonb_build_object('conversation', nmc.conversation_json(conv) || jsonb_build_object('customer', nmc.customer_brief(conv.customer_id)),
        'messages', coalesce((SELECT jsonb_agg(nmc.message_json(m) ORDER BY m.created_at, m.id)
                                FROM nmc.messages m WHERE m.business_id = conv.business_id AND m.conversation_id = conv.id), '[]')));
END $$;
COMMENT ON FUNCTION nmc.api_conversation_get(jsonb) IS 'GET /api/conversations/{id}: the conversation (with its customer) and its messages.';
