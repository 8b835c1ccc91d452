-- calls.sql — Twilio's voice webhooks and the missed-call decision. An
-- incoming call is forwarded to the owner while open (TwiML <Dial>) or
-- counts as missed at once while closed; a missed call becomes, in ONE
-- transaction, a customer, a lead, an open conversation, the greeting text
-- and its job, and events. Every decision is recorded on the call.
CREATE TABLE nmc.calls (
    id               uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
    business_id      uuid NOT NULL REFERENCES nmc.businesses (id) ON DELETE CASCADE,
    phone_number_id  uuid NOT NULL,
    twilio_call_sid  text NOT NULL UNIQUE CHECK (twilio_call_sid ~ '^CA[0-9a-zA-Z]{32}$'),
    from_raw         text NOT NULL,
    to_phone         text NOT NULL,
    customer_id      uuid,
    status           text NOT NULL CHECK (status IN ('ringing', 'forwarded', 'answered', 'missed')),
    missed_reason    text CHECK (missed_reason IN ('no-answer', 'busy', 'failed', 'canceled', 'not-bridged', 'after_hours', 'no_forward_phone')),
    dial_call_status text,
    call_status      text,
    duration_seconds int,
    decision         text CHECK (decision IN ('texted', 'suppressed_repeat', 'suppressed_opted_out', 'suppressed_blocked',
                                              'suppressed_short_ring', 'suppressed_unreachable', 'suppressed_anonymous', 'not_missed')),
    decision_reason  text,
    lead_id          uuid,
    conversation_id  uuid,
    message_id       uuid,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    missed_at        timestamptz,
    UNIQUE (business_id, id),
    FOREIGN KEY (business_id, phone_number_id) REFERENCES nmc.phone_numbers (business_id, id) ON DELETE CASCADE
);
COMMENT ON TABLE nmc.calls IS 'Every call to a business number, keyed by Twilio''s CallSid. decision says whether a missed call was texted and, if not, why (decision_reason in words).';
CREATE INDEX calls_recent ON nmc.calls (business_id, created_at DESC);
CREATE TRIGGER calls_touch BEFORE UPDATE ON nmc.calls FOR EACH ROW EXECUTE FUNCTION nmc.touch_updated_at();
ALTER TABLE nmc.calls ENABLE ROW LEVEL SECURITY;
ALTER TABLE nmc.calls FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON nmc.calls
    USING (business_id = nmc.current_business_id())
    WITH CHECK (business_id = nmc.current_business_id());

CREATE FUNCTION nmc.call_json(c nmc.calls)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$ SELECT jsonb_build_object('id', c.id, 'from', c.from_raw, 'to', c.to_phone, 'status', c.status, 'missed_reason', c.missed_reason,
                                'decision', c.decision, 'decision_reason', c.decision_reason, 'customer_id', c.customer_id,
                                'lead_id', c.lead_id, 'conversation_id', c.conversation_id, 'message_id', c.message_id,
                                'duration_seconds', c.duration_seconds, 'created_at', c.created_at, 'missed_at', c.missed_at) $$;
COMMENT ON FUNCTION nmc.call_json(nmc.calls) IS 'The API and event representation of a call, with its text decision.';

CREATE FUNCTION nmc.webhook_field(req jsonb, name text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    IF coalesce(req #>> ARRAY['body', name], '') = '' THEN
        PERFORM nmc.raise_api_error(400, 'missing_field', name || ' is required', name);
    END IF;
    RETURN req #>> ARRAY['body', name];
END
$$;
COMMENT ON FUNCTION nmc.webhook_field(jsonb, text) IS 'A required parameter of a Twilio webhook; NM400 missing_field if absent.';

-- What the caller hears once the call's fate is known; a retried webhook gets the same.
CREATE FUNCTION nmc.call_twiml(c nmc.calls)
RETURNS nmc.http_response
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    b nmc.businesses;
BEGIN
    SELECT * INTO b FROM nmc.businesses WHERE id = c.business_id;
    IF c.status IN ('ringing', 'forwarded') AND b.forward_to_phone IS NOT NULL THEN
        RETURN nmc.twiml_dial(b.forward_to_phone, b.ring_timeout_seconds,
                              nmc.twilio_webhook_url(nmc.settings_json(), '/webhooks/twilio/voice/dial'));
    ELSIF c.status = 'missed' AND c.missed_reason IN ('after_hours', 'no_forward_phone') THEN
        RETURN nmc.twiml_say_and_hang_up(coalesce(b.after_hours_message, nmc.default_after_hours_message(b)));
    ELSIF c.status = 'missed' THEN
        RETURN nmc.twiml_say_and_hang_up(format('Sorry we couldn''t take your call. %s will text you right away.', b.name));
    END IF;
    RETURN nmc.twiml('<Hangup/>');
END
$$;
COMMENT ON FUNCTION nmc.call_twiml(nmc.calls) IS 'The TwiML for a call in its current state: forward, after-hours message, missed message, or hang up.';

CREATE FUNCTION nmc.call_missed(c nmc.calls, p_reason text)
RETURNS nmc.calls
LANGUAGE plpgsql
AS $$
DECLARE
    b nmc.businesses;
    pn nmc.phone_numbers;
    caller text;
    cust nmc.customers;
    l nmc.leads;
    conv nmc.conversations;
    m nmc.messages;
    v_decision text;
    why text;
BEGIN
    SELECT * INTO b FROM nmc.businesses WHERE id = c.business_id;
    SELECT * INTO pn FROM nmc.phone_numbers WHERE id = c.phone_number_id;
    BEGIN
        caller := nmc.normalize_phone(c.from_raw, 'From');
    EXCEPTION WHEN SQLSTATE 'NM400' THEN
        caller := NULL;
    END;

    IF caller IS NULL THEN
        v_decision := 'suppressed_anonymous';
        why := format('the caller''s number (%s) cannot receive a text', c.from_raw);
    ELSE
        cust := nmc.customer_upsert(b.id, caller);
        l := nmc.lead_for_call(b.id, cust.id);
        IF EXISTS (SELECT 1 FROM nmc.blocked_numbers WHERE business_id = b.id AND phone = caller) THEN
            v_decision := 'suppressed_blocked';
            why := 'the number is on the block list';
        ELSIF cust.opted_out_at IS NOT NULL THEN
            v_decision := 'suppressed_opted_out';
            why := 'the customer replied STOP';
        ELSIF cust.sms_unreachable_at IS NOT NULL THEN
            v_decision := 'suppressed_unreachable';
            why := 'the number cannot receive texts: ' || coalesce(cust.sms_unreachable_reason, 'unknown');
        ELSIF p_reason NOT IN ('after_hours', 'no_forward_phone')
              AND now() - c.created_at < make_interval(secs => b.min_ring_seconds) THEN
            v_decision := 'suppressed_short_ring';
            why := format('the caller hung up after %s s, before the minimum ring time of %s s',
                          round(extract(epoch FROM now() - c.created_at)), b.min_ring_seconds);
        ELSIF cust.last_greeting_at > now() - make_interval(secs => b.repeat_window_seconds) THEN
            v_decision := 'suppressed_repeat';
            why := format('this number got a greeting %s s ago (repeat window %s s)',
                          round(extract(epoch FROM now() - cust.last_greeting_at)), b.repeat_window_seconds);
        ELSE
            conv := nmc.conversation_open(b.id, cust.id, pn.id, l.id);
            m := nmc.sms_send(b.id, cust.id, pn.phone,
                              nmc.greeting_render(b.id, nmc.greeting_template_of(b.id), pn.phone), 'system', conv.id);
            UPDATE nmc.customers SET last_greeting_at = now() WHERE id = cust.id;
            v_decision := 'texted';
            why := 'missed call: greeting sent';
        END IF;
    END IF;

    UPDATE nmc.calls SET status = 'missed', missed_reason = p_reason, missed_at = now(), decision = v_decision,
           decision_reason = why, customer_id = cust.id, lead_id = l.id, conversation_id = conv.id, message_id = m.id
     WHERE id = c.id RETURNING * INTO c;
    PERFORM nmc.emit_event(b.id, 'call.missed', nmc.call_json(c) || jsonb_build_object('customer', nmc.customer_brief(c.customer_id)));
    RETURN c;
END
$$;
COMMENT ON FUNCTION nmc.call_missed(nmc.calls, text) IS
    'A missed call, in the caller''s transaction: customer, lead (new, or the active one touched), and the text decision — blocked, opted out, unreachable, hung up before min_ring_seconds, greeted within repeat_window_seconds, or texted (open conversation, rendered greeting, twilio.sms.send job). Emits call.missed.';

CREATE FUNCTION nmc.webhook_voice(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $$
DECLARE
    sid text := nmc.webhook_field(req, 'CallSid');
    pn nmc.phone_numbers := nmc.webhook_tenant(nmc.webhook_field(req, 'To'));
    b nmc.businesses;
    c nmc.calls;
BEGIN
    IF pn.id IS NULL THEN
        RAISE LOG 'nevermisscall: call % to %, which is not one of our numbers', sid, req #>> '{body,To}';
        RETURN nmc.twiml_say_and_hang_up('Sorry, this number is not in service.');
    END IF;
    INSERT INTO nmc.calls (business_id, phone_number_id, twilio_call_sid, from_raw, to_phone, status, call_status)
    VALUES (pn.business_id, pn.id, sid, coalesce(req #>> '{body,From}', 'unknown'), pn.phone, 'ringing', req #>> '{body,CallStatus}')
    ON CONFLICT (twilio_call_sid) DO NOTHING
    RETURNING * INTO c;
    IF NOT FOUND THEN
        -- Twilio retried: same answer, no change.
        SELECT * INTO c FROM nmc.calls WHERE twilio_call_sid = sid FOR UPDATE;
        RETURN nmc.call_twiml(c);
    END IF;
    SELECT * INTO b FROM nmc.businesses WHERE id = pn.business_id;
    IF b.forward_to_phone IS NULL THEN
        c := nmc.call_missed(c, 'no_forward_phone');
    ELSIF NOT nmc.business_is_open(b.id) THEN
        c := nmc.call_missed(c, 'after_hours');
    ELSE
        UPDATE nmc.calls SET status = 'forwarded' WHERE id = c.id RETURNING * INTO c;
        PERFORM nmc.emit_event(b.id, 'call.updated', nmc.call_json(c));
    END IF;
    RETURN nmc.call_twiml(c);
END
$$;
COMMENT ON FUNCTION nmc.webhook_voice(jsonb) IS 'POST /webhooks/twilio/voice: an incoming call. Open → forward to the owner (<Dial> with ring timeout and action); closed or no forward phone → missed at once and the after-hours message. Idempotent on CallSid.';

CREATE FUNCTION nmc.webhook_voice_dial(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $$
DECLARE
    sid text := nmc.webhook_field(req, 'CallSid');
    dial_status text := nmc.webhook_field(req, 'DialCallStatus');
    pn nmc.phone_numbers := nmc.webhook_tenant(nmc.webhook_field(req, 'To'));
    c nmc.calls;
BEGIN
    IF pn.id IS NULL THEN
        RAISE LOG 'nevermisscall: dial result for call % to %, which is not one of our numbers', sid, req #>> '{body,To}';
        RETURN nmc.twiml('<Hangup/>');
    END IF;
    INSERT INTO nmc.calls (business_id, phone_number_id, twilio_call_sid, from_raw, to_phone, status)
    VALUES (pn.business_id, pn.id, sid, coalesce(req #>> '{body,From}', 'unknown'), pn.phone, 'forwarded')
    ON CONFLICT (twilio_call_sid) DO NOTHING;
    SELECT * INTO c FROM nmc.calls WHERE twilio_call_sid = sid FOR UPDATE;
    IF c.status IN ('answered', 'missed') THEN
        RETURN nmc.call_twiml(c);
    END IF;
    UPDATE nmc.calls SET dial_call_status = dial_status, call_status = coalesce(req #>> '{body,CallStatus}', call_status),
           duration_seconds = CASE WHEN req #>> '{body,DialCallDuration}' ~ '^[0-9]+$' THEN (req #>> '{body,DialCallDuration}')::int END
     WHERE id = c.id RETURNING * INTO c;
    IF dial_status IN ('no-answer', 'busy', 'failed', 'canceled') THEN
        c := nmc.call_missed(c, dial_status);
    ELSIF req #>> '{body,DialBridged}' = 'false' THEN
        c := nmc.call_missed(c, 'not-bridged');
    ELSE
        -- Completed calls are never texted.
        UPDATE nmc.calls SET status = 'answered', decision = 'not_missed', decision_reason = 'the call was answered'
         WHERE id = c.id RETURNING * INTO c;
        PERFORM nmc.emit_event(c.business_id, 'call.updated', nmc.call_json(c));
    END IF;
    RETURN nmc.call_twiml(c);
END
$$;
COMMENT ON FUNCTION nmc.webhook_voice_dial(jsonb) IS 'POST /webhooks/twilio/voice/dial: the <Dial> ended. no-answer, busy, failed, canceled (or not bridged) → missed call; answered → never texted. Idempotent on CallSid.';

CREATE FUNCTION nmc.webhook_voice_status(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $$
DECLARE
    sid text := nmc.webhook_field(req, 'CallSid');
    pn nmc.phone_numbers := nmc.webhook_tenant(nmc.webhook_field(req, 'To'));
    c nmc.calls;
BEGIN
    IF pn.id IS NULL THEN
        RETURN nmc.twiml(NULL);
    END IF;
    UPDATE nmc.calls SET call_status = coalesce(req #>> '{body,CallStatus}', call_status),
           duration_seconds = coalesce(CASE WHEN req #>> '{body,CallDuration}' ~ '^[0-9]+$' THEN (req #>> '{body,CallDuration}')::int END, duration_seconds)
     WHERE twilio_call_sid = sid
       AND (call_status IS DISTINCT FROM req #>> '{body,CallStatus}' OR duration_seconds IS NULL)
    RETURNING * INTO c;
    IF FOUND THEN
        PERFORM nmc.emit_event(c.business_id, 'call.updated', nmc.call_json(c));
    END IF;
    RETURN nmc.twiml(NULL);
END
$$;
COMMENT ON FUNCTION nmc.webhook_voice_status(jsonb) IS 'POST /webhooks/twilio/voice/status: the call''s final status and duration. Repeats change nothing.';
