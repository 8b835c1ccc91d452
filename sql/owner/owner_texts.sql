-- owner_texts.sql — the owner answers by text. A text to a business number
-- from one of the owner's phones (nmc.owner_phones) is the owner talking,
-- never a customer: it goes to the customer an alert named — "#N …" picks the
-- conversation whose alerts carry #N, a text without one goes to the latest
-- alert's — and takes that conversation over, as the dashboard's button does.
-- Whole-text commands: AI hands the conversation back (the assistant answers
-- now if the customer is waiting),
-- NUMBER texts back the customer's number, HELP the rules. STOP from the
-- owner's phone pauses alerts to it (shown on the dashboard), START resumes
-- them. Whatever cannot be placed for sure gets a short answer and goes to
-- nobody. Every owner text is kept with what was done with it.
CREATE TABLE nmc.owner_texts (
    id              bigint GENERATED ALWAYS AS IDENTITY,
    business_id     uuid NOT NULL REFERENCES nmc.businesses (id) ON DELETE CASCADE,
    twilio_sid      text NOT NULL,
    from_phone      nmc.e164 NOT NULL,
    body            text NOT NULL,
    conversation_id uuid,
    outcome         text NOT NULL CHECK (outcome IN ('relayed', 'handed_back', 'number', 'help', 'which_customer', 'no_customer',
                                                     'not_sent', 'alerts_stopped', 'alerts_resumed')),
    message_id      uuid,
    answer_id       uuid,
    received_at     timestamptz NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (business_id, id),
    -- The SID first: an owner's text delivered again is found by its SID alone.
    CONSTRAINT owner_texts_twilio_sid_key UNIQUE (twilio_sid, business_id)
);
COMMENT ON TABLE nmc.owner_texts IS 'Texts from the owner''s phones to a business number, keyed by MessageSid, with what was done: relayed to the conversation''s customer (message_id: the text sent), handed_back to the assistant, number (the customer''s number texted back), help, which_customer (no #N and two customers alerted just before: nothing sent), no_customer (no alert to reply to), not_sent (the customer opted out or cannot get texts), alerts_stopped / alerts_resumed (STOP / START). answer_id: our text back to the owner, if any.';
CREATE INDEX owner_texts_business ON nmc.owner_texts (business_id, received_at);
ALTER TABLE nmc.owner_texts ENABLE ROW LEVEL SECURITY;
ALTER TABLE nmc.owner_texts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON nmc.owner_texts
    USING (business_id = nmc.current_business_id())
    WITH CHECK (business_id = nmc.current_business_id());

CREATE FUNCTION nmc.owner_text_recent(b nmc.businesses, before timestamptz, within_seconds bigint)
RETURNS TABLE (conversation_id uuid, tag int, alerted_at timestamptz, alert_id bigint)
LANGUAGE sql STABLE
AS $$
    SELECT DISTINCT ON (a.conversation_id) a.conversation_id, a.tag, a.created_at, a.id
      FROM nmc.owner_alerts a
     WHERE a.business_id = b.id AND a.conversation_id IS NOT NULL AND a.tag IS NOT NULL
       AND a.created_at <= before AND a.created_at > before - make_interval(secs => within_seconds)
     ORDER BY a.conversation_id, a.created_at DESC, a.id DESC
$$;
COMMENT ON FUNCTION nmc.owner_text_recent(nmc.businesses, timestamptz, bigint) IS 'The conversations the owner was alerted about in the within_seconds before a moment, each with its #number and its latest alert (when, and its id: alerts of one moment are ordered by it).';

CREATE FUNCTION nmc.owner_text_list(b nmc.businesses, before timestamptz)
RETURNS text
LANGUAGE sql STABLE
AS $$
    SELECT string_agg('#' || r.tag || ' ' || nmc.owner_alert_who(c), ', ' ORDER BY r.alerted_at DESC, r.alert_id DESC)
      FROM (SELECT * FROM nmc.owner_text_recent(b, before, nmc.setting_int('owner_reply_window_seconds'))
             ORDER BY alerted_at DESC, alert_id DESC LIMIT 4) r
      JOIN nmc.conversations c ON c.id = r.conversation_id
$$;
COMMENT ON FUNCTION nmc.owner_text_list(nmc.businesses, timestamptz) IS 'The customers the owner may reply to, latest alert first ("#4 Ann Lee, #3 +15125550123"), at most four; NULL if none.';

CREATE FUNCTION nmc.owner_text_help(b nmc.businesses, before timestamptz)
RETURNS text
LANGUAGE sql STABLE
AS $$
    SELECT 'Reply to an alert to text that customer (you take the conversation over). Start with its number to pick one: "#3 On my way". '
           'Send AI to hand back to the assistant, NUMBER for the customer''s number.'
           || coalesce(' Now: ' || nmc.owner_text_list(b, before) || '.', '')
$$;
COMMENT ON FUNCTION nmc.owner_text_help(nmc.businesses, timestamptz) IS 'The rules of replying by text, and the customers one may reply to now (answers to the owner put it after their own first words).';

CREATE FUNCTION nmc.owner_text_command(body text)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
    SELECT CASE WHEN k IN ('AI', 'BOT', 'ASSISTANT', 'HANDBACK', 'HANDITBACK', 'HANDBACKTOAI') THEN 'hand_back'
                WHEN k IN ('NUMBER', 'NUM', 'PHONE', 'PHONENUMBER', 'CALL') THEN 'number'
                WHEN k IN ('HELP', 'INFO', '', 'COMMANDS') THEN 'help' END
      FROM (SELECT regexp_replace(upper(body), '[^A-Z]', '', 'g') AS k) w
     WHERE length(body) <= 40
$$;
COMMENT ON FUNCTION nmc.owner_text_command(text) IS 'A whole owner text that is a command (letters only, any case; "Hand back!" too): hand_back (AI, BOT, ASSISTANT, HAND BACK), number (NUMBER, PHONE, CALL), help (HELP, INFO, or nothing but punctuation); NULL for anything else, which is a message to relay.';

CREATE FUNCTION nmc.owner_text_received(t nmc.webhook_inbox, b nmc.businesses, pn nmc.phone_numbers, from_phone text)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    body text := btrim(coalesce(t.params ->> 'Body', ''), E' \t\r\n');
    kw text := nmc.sms_keyword(body);
    v_tag int;
    rest text := body;
    cmd text;
    conv nmc.conversations;
    latest_conv uuid;
    latest_at timestamptz;
    v_outcome text;
    answer text;
    m nmc.messages;
    reply nmc.messages;
    cu nmc.customers;
    who text;
BEGIN
    IF EXISTS (SELECT 1 FROM nmc.owner_texts WHERE twilio_sid = t.webhook_key) THEN
        RETURN;   -- Twilio delivered it again after it was applied.
    END IF;
    IF kw = 'opt_out' THEN
        -- Twilio answers its own keywords (and then blocks our texts to the phone);
        -- a STOP in other words is ours to confirm, while this phone may still be texted.
        IF nmc.sms_carrier_keyword(body) IS NULL THEN
            reply := nmc.owner_alert_send(b, NULL, pn.id, 'NeverMissCall: no more texts to this phone, alerts included. Text START to turn them back on.', from_phone);
        END IF;
        -- The owner does not want our texts on this phone: none goes to it until START.
        UPDATE nmc.businesses SET owner_phone_stopped = from_phone, owner_phone_stopped_at = now() WHERE id = b.id RETURNING * INTO b;
        v_outcome := 'alerts_stopped';
        PERFORM nmc.emit_event(b.id, 'business.alerts', nmc.owner_alert_settings_json(b));
    ELSIF kw = 'opt_in' THEN
        UPDATE nmc.businesses SET owner_phone_stopped = NULL, owner_phone_stopped_at = NULL
         WHERE id = b.id AND owner_phone_stopped = from_phone RETURNING * INTO b;
        IF NOT FOUND THEN
            SELECT * INTO b FROM nmc.businesses WHERE id = t.business_id;
        END IF;
        v_outcome := 'alerts_resumed';
        PERFORM nmc.emit_event(b.id, 'business.alerts', nmc.owner_alert_settings_json(b));
        answer := 'NeverMissCall: texts to this phone are back on. ' || nmc.owner_text_help(b, t.received_at);
    ELSE
        -- "#3 …" names a conversation; the rest is the command or the message.
        IF body ~ '^#\s*[0-9]' THEN
            -- (However many digits: "#12345" is a number no alert carries, never "#1234" and "5".)
            v_tag := least(substring(body FROM '^#\s*([0-9]{1,9})')::bigint, 1000000)::int;
            rest := btrim(regexp_replace(body, '^#\s*[0-9]+[\s:,.-]*', ''), E' \t\r\n');
        END IF;
        cmd := nmc.owner_text_command(rest);
        IF v_tag IS NOT NULL THEN
            SELECT c.* INTO conv FROM nmc.owner_text_recent(b, t.received_at, nmc.setting_int('owner_tag_seconds')) r
              JOIN nmc.conversations c ON c.id = r.conversation_id
             WHERE r.tag = v_tag ORDER BY r.alerted_at DESC, r.alert_id DESC LIMIT 1;
            IF conv.id IS NULL THEN
                v_outcome := 'no_customer';
                answer := format('NeverMissCall: no customer is #%s now, nothing was sent.', v_tag)
                          || coalesce(' Now: ' || nmc.owner_text_list(b, t.received_at) || '.', '');
            END IF;
        ELSIF cmd IS DISTINCT FROM 'help' THEN
            SELECT r.conversation_id, r.alerted_at, r.tag INTO latest_conv, latest_at, v_tag
              FROM nmc.owner_text_recent(b, t.received_at, nmc.setting_int('owner_reply_window_seconds')) r
             ORDER BY r.alerted_at DESC, r.alert_id DESC LIMIT 1;
            IF latest_conv IS NULL THEN
                v_outcome := 'no_customer';
                answer := 'NeverMissCall: no alert to reply to, nothing was sent. ' || nmc.owner_text_help(b, t.received_at);
            ELSIF latest_at > t.received_at - make_interval(secs => nmc.setting_int('owner_reply_settle_seconds'))
                  AND EXISTS (SELECT 1 FROM nmc.owner_text_recent(b, t.received_at, nmc.setting_int('owner_reply_window_seconds')) r
                               WHERE r.conversation_id <> latest_conv) THEN
                -- A new alert came just before this text: it may answer the earlier one.
                v_outcome := 'which_customer';
                answer := 'NeverMissCall: not sent, which customer? Start with their number: '
                          || nmc.owner_text_list(b, t.received_at) || '.';
            ELSE
                SELECT * INTO conv FROM nmc.conversations WHERE id = latest_conv;
            END IF;
        END IF;
        IF cmd = 'help' THEN
            v_outcome := 'help';
            answer := 'NeverMissCall: ' || nmc.owner_text_help(b, t.received_at);
            conv := NULL;
        END IF;
    END IF;

    IF conv.id IS NOT NULL THEN
        SELECT * INTO conv FROM nmc.conversations WHERE id = conv.id FOR UPDATE;
        SELECT * INTO cu FROM nmc.customers WHERE id = conv.customer_id;
        who := nmc.owner_alert_who(conv);
        IF cmd = 'number' THEN
            v_outcome := 'number';
            answer := format('NeverMissCall: #%s %s', v_tag, CASE WHEN who = cu.phone THEN cu.phone ELSE who || ': ' || cu.phone END);
        ELSIF cmd = 'hand_back' THEN
            IF conv.state <> 'open' THEN
                v_outcome := 'help';
                answer := format('NeverMissCall: the conversation with %s has ended; it starts again when they text.', who);
            ELSIF conv.mode = 'ai' THEN
                v_outcome := 'handed_back';
                answer := format('NeverMissCall: the assistant has %s already.', who);
            ELSE
                -- As the dashboard's hand-back: the owner lets go of it.
                IF conv.mode = 'human' THEN
                    conv := nmc.conversation_set_mode(conv, 'waiting');
                END IF;
                IF cu.opted_out_at IS NULL AND cu.sms_unreachable_at IS NULL
                   AND (SELECT direction FROM nmc.messages WHERE conversation_id = conv.id AND author <> 'system'
                         ORDER BY created_at DESC, id DESC LIMIT 1) = 'inbound' THEN
                    -- The customer is waiting for an answer: the owner's window ends now
                    -- and the assistant answers, as when the window runs out.
                    IF conv.mode = 'waiting' THEN
                        conv := nmc.conversation_set_mode(conv, 'human_window', now());
                    END IF;
                    conv := nmc.conversation_set_mode(conv, 'ai');
                    PERFORM nmc.ai_respond(conv.id);
                    answer := format('NeverMissCall: the assistant is answering %s now.', who);
                ELSE
                    answer := format('NeverMissCall: handed back. When %s writes, you have %s s as usual, then the assistant answers.',
                                     who, b.human_window_seconds);
                END IF;
                v_outcome := 'handed_back';
            END IF;
        ELSIF cu.opted_out_at IS NOT NULL OR cu.sms_unreachable_at IS NOT NULL THEN
            v_outcome := 'not_sent';
            answer := format('NeverMissCall: not sent: %s %s. Call them: %s', who,
                             CASE WHEN cu.opted_out_at IS NOT NULL THEN 'replied STOP to texts' ELSE 'cannot get texts' END, cu.phone);
        ELSE
            -- The owner's words go to the customer, and the owner has the conversation.
            IF conv.state <> 'open' THEN
                conv := nmc.conversation_open(b.id, conv.customer_id, conv.phone_number_id);
            END IF;
            conv := nmc.conversation_takeover(conv.id);
            m := nmc.sms_send(b.id, conv.customer_id, (SELECT phone FROM nmc.phone_numbers WHERE id = conv.phone_number_id),
                              left(rest, 1600), 'owner', conv.id);
            v_outcome := 'relayed';
        END IF;
    END IF;

    IF answer IS NOT NULL THEN
        -- From the number the owner texted: their answers stay in one thread.
        reply := nmc.owner_alert_send(b, conv.customer_id, pn.id, answer, from_phone);
    END IF;
    INSERT INTO nmc.owner_texts (business_id, twilio_sid, from_phone, body, conversation_id, outcome, message_id, answer_id, received_at)
    VALUES (b.id, t.webhook_key, from_phone, left(CASE WHEN body = '' THEN '(empty message)' ELSE body END, 1600), conv.id, v_outcome,
            m.id, reply.id, t.received_at);
END
$$;
COMMENT ON FUNCTION nmc.owner_text_received(nmc.webhook_inbox, nmc.businesses, nmc.phone_numbers, text) IS
    'A text from one of the owner''s phones (nmc.sms_apply sends it here), as of when it was received. STOP-words: nothing more is texted to that phone (alerts included) until START-words, which answer with the rules. "#N …": the conversation whose alerts carry #N (within owner_tag_seconds); no #N: the latest alert''s (within owner_reply_window_seconds) — unless that alert came less than owner_reply_settle_seconds before and another customer was alerted too: then nothing is sent and the owner is asked which. Then a whole-text command (nmc.owner_text_command): AI hands the conversation back as the dashboard does (mode waiting) and, if the customer is waiting for an answer, ends the owner''s window at once so the assistant answers now, NUMBER texts back the customer''s number, HELP the rules; anything else is sent to the customer as the owner''s (author owner), taking the conversation over (mode human: the assistant is silent) — refused, with the owner told, when the customer opted out or cannot get texts. A closed conversation is opened again. Idempotent on MessageSid; kept in nmc.owner_texts.';
