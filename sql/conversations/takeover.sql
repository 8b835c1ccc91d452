-- takeover.sql — the owner's one-tap takeover and release, and the guarantee
-- that the AI is silent once a human has taken over: an AI reply becomes a
-- text only if the conversation is in AI mode at that instant, checked under
-- the conversation's row lock in the transaction that would send it.
CREATE FUNCTION nmc.conversation_for_update(p_conversation_id uuid, must_be_open boolean DEFAULT true)
RETURNS nmc.conversations
LANGUAGE plpgsql
AS $$
DECLARE
    c nmc.conversations;
BEGIN
    SELECT * INTO c FROM nmc.conversations WHERE id = p_conversation_id FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM nmc.raise_api_error(404, 'not_found', 'no such conversation');
    END IF;
    IF must_be_open AND c.state <> 'open' THEN
        PERFORM nmc.raise_api_error(409, 'conversation_closed', 'this conversation is closed');
    END IF;
    RETURN c;
END
$$;
COMMENT ON FUNCTION nmc.conversation_for_update(uuid, boolean) IS 'A conversation of the current business, locked for the rest of the transaction; NM404 if there is none, NM409 conversation_closed if it must be open and is not.';

CREATE FUNCTION nmc.conversation_takeover(p_conversation_id uuid)
RETURNS nmc.conversations
LANGUAGE plpgsql
AS $$
DECLARE
    c nmc.conversations := nmc.conversation_for_update(p_conversation_id);
BEGIN
    -- The clock, not the transaction's start: read under the lock, it is later
    -- than every assistant text committed before (nmc.twilio_sms_send_build).
    UPDATE nmc.conversations SET taken_over_at = clock_timestamp() WHERE id = c.id RETURNING * INTO c;
    RETURN nmc.conversation_set_mode(c, 'human');
END
$$;
COMMENT ON FUNCTION nmc.conversation_takeover(uuid) IS 'The owner takes the conversation over (on the dashboard, or by texting the customer: nmc.owner_text_received): mode human (taken_over_at recorded, by the clock under the conversation''s lock), any human-window timer cancelled; from then on no AI reply is sent (nmc.ai_send_reply drops new ones; one queued before, still unsent when the takeover came, is dropped when it would go out: nmc.twilio_sms_send_build).';

CREATE FUNCTION nmc.conversation_release(p_conversation_id uuid)
RETURNS nmc.conversations
LANGUAGE plpgsql
AS $$
DECLARE
    c nmc.conversations := nmc.conversation_for_update(p_conversation_id, false);
BEGIN
    IF c.mode <> 'human' THEN
        PERFORM nmc.raise_api_error(409, 'invalid_transition', 'only a conversation taken over can be released');
    END IF;
    RETURN nmc.conversation_set_mode(c, 'waiting');
END
$$;
COMMENT ON FUNCTION nmc.conversation_release(uuid) IS 'The owner hands the conversation back: mode waiting; the next customer message opens the human window again.';

CREATE FUNCTION nmc.ai_send_reply(p_conversation_id uuid, p_body text)
RETURNS nmc.messages
LANGUAGE plpgsql
AS $$
DECLARE
    c nmc.conversations;
    m nmc.messages;
BEGIN
    -- The lock orders this against a concurrent takeover: whichever commits
    -- first wins, and a takeover that won is seen here.
    c := nmc.conversation_for_update(p_conversation_id, false);
    IF c.mode = 'ai' AND c.state = 'open' THEN
        -- The assistant's replies are capped at the business's max_ai_segments.
        RETURN nmc.sms_send(c.business_id, c.customer_id, (SELECT phone FROM nmc.phone_numbers WHERE id = c.phone_number_id),
                            nmc.sms_fit(p_body, (SELECT max_ai_segments FROM nmc.businesses WHERE id = c.business_id)), 'ai', c.id);
    END IF;
    INSERT INTO nmc.messages (business_id, customer_id, conversation_id, direction, author, from_phone, to_phone, body, status, error_message)
    SELECT c.business_id, c.customer_id, c.id, 'outbound', 'ai', p.phone, cu.phone, left(p_body, 1600), 'dropped',
           format('the conversation was in %s mode when the AI reply arrived', c.mode)
      FROM nmc.phone_numbers p, nmc.customers cu WHERE p.id = c.phone_number_id AND cu.id = c.customer_id
    RETURNING * INTO m;
    PERFORM nmc.emit_event(c.business_id, 'message.created', nmc.message_json(m) - 'body');
    RETURN m;
END
$$;
COMMENT ON FUNCTION nmc.ai_send_reply(uuid, text) IS 'Sends an AI reply only if the conversation is in AI mode at this instant (under its row lock); otherwise keeps it as a dropped message for audit, never sent.';

CREATE FUNCTION nmc.api_conversation_takeover(req jsonb)
RETURNS nmc.http_response LANGUAGE sql
AS $$ SELECT nmc.respond(200, jsonb_build_object('conversation', nmc.conversation_json(
          nmc.conversation_takeover(nmc.input_uuid(req #>> '{params,0}', 'conversation'))))) $$;
COMMENT ON FUNCTION nmc.api_conversation_takeover(jsonb) IS 'POST /api/conversations/{id}/takeover.';

CREATE FUNCTION nmc.api_conversation_release(req jsonb)
RETURNS nmc.http_response LANGUAGE sql
AS $$ SELECT nmc.respond(200, jsonb_build_object('conversation', nmc.conversation_json(
          nmc.conversation_release(nmc.input_uuid(req #>> '{params,0}', 'conversation'))))) $$;
COMMENT ON FUNCTION nmc.api_conversation_release(jsonb) IS 'POST /api/conversations/{id}/release.';
