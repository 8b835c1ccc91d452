-- calls.sql — Twilio's voice webhooks and the missed-call decision. Each
-- webhook is accepted into the webhook inbox and answered at once: an incoming
-- call is forwarded to the owner while open (TwiML <Dial>) or counts as missed
-- at once while closed. The inbox worker then applies it: a missed call
-- becomes, in one transaction, a customer, a lead, an open conversation, the
-- greeting text and its job, and events. Every decision is recorded on the call.
CREATE TABLE nmc.calls (
    id               uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
    business_id      uuid NOT NULL REFERENCES nmc.businesses (id) ON DELETE CASCADE,
    phone_number_id  uuid NOT NULL,
    twilio_call_sid  text NOT NULL UNIQUE CHECK (twilio_call_sid ~ '^CA[0-9a-zA-Z]{32}$'),
    from_raw         text NOT NULL,
    to_phone         text NOT NULL,
    customer_id      uuid,
    status           text NOT NULL CHECK (status IN ('ringing', 'forwarded', 'answered', 'missed')),
    missed_reason    text CHECK (missed_reason IN ('no-answer', 'busy', 'failed', 'canceled', 'not-bridged', 'after_hours', 'no_forward_phone', 'outage',
                                                   'owner_phone')),
    dial_call_status text,
    call_status      text,
    duration_seconds int,
    decision         text CHECK (decision IN ('texted', 'suppressed_repeat', 'suppressed_opted_out', 'suppressed_blocked',
                                              'suppressed_short_ring', 'suppressed_unreachable', 'suppressed_anonymous', 'not_missed',
                                              'suppressed_owner')),
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
-- PL/pgSQL: the voicemail comes from sql/voicemail.sql, later in the install.
LANGUAGE plpgsql STABLE
AS $$ BEGIN RETURN jsonb_build_object('id', c.id, 'from', c.from_raw, 'to', c.to_phone, 'status', c.status, 'missed_reason', c.missed_reason,
                                'decision', c.decision, 'decision_reason', c.decision_reason, 'customer_id', c.customer_id,
                                'lead_id', c.lead_id, 'conversation_id', c.conversation_id, 'message_id', c.message_id,
                                'duration_seconds', c.duration_seconds, 'created_at', c.created_at, 'missed_at', c.missed_at,
                                'text', (SELECT jsonb_build_object('status', m.status, 'error_code', m.error_code, 'error_message', m.error_message)
                                           FROM nmc.messages m WHERE m.id = c.message_id),
                                'voicemail', nmc.call_voicemail_json(c.id)); END $$;
COMMENT ON FUNCTION nmc.call_json(nmc.calls) IS 'The API and event representation of a call, with its text decision and, when texted, where that text is now (text: status pending/queued/sent/delivered/undelivered/failed/dropped, with the provider''s code and the reason), and the voicemail left, if any (nmc.voicemail_json).';

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

-- What the caller hears, decided when the webhook is accepted (the caller is
-- listening: it never waits for the call to be applied).
CREATE FUNCTION nmc.call_answer_twiml(b nmc.businesses, pn nmc.phone_numbers, answer text)
RETURNS nmc.http_response
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    words text;
BEGIN
    IF answer = 'forward' AND b.forward_to_phone IS NOT NULL THEN
        RETURN nmc.twiml_dial(b.forward_to_phone, b.ring_timeout_seconds,
                              nmc.twilio_webhook_url(nmc.settings_json(), '/webhooks/twilio/voice/dial'));
    ELSIF answer IN ('after_hours', 'no_forward_phone', 'missed') THEN
        words := CASE WHEN answer = 'missed' THEN format('Sorry we couldn''t take your call. %s will text you right away.', b.name)
                      ELSE coalesce(b.after_hours_message, nmc.default_after_hours_message(b)) END;
        IF NOT b.voicemail_enabled THEN
            RETURN nmc.twiml_say_and_hang_up(words);
        END IF;
        RETURN nmc.twiml_say_and_record(words || ' ' || 'You can also leave a message after the beep.', nmc.setting_int('voicemail_max_seconds')::int,
                                        nmc.twilio_webhook_url(nmc.settings_json(), '/webhooks/twilio/voice/recorded'),
                                        nmc.voicemail_recording_url(pn));
    ELSIF answer = 'owner_phone' THEN
        RETURN nmc.twiml_say_and_hang_up('This is your NeverMissCall number. Calls from your own phone are not forwarded or texted back: call from another phone to try it.');
    END IF;
    RETURN nmc.twiml('<Hangup/>');
END
$$;
COMMENT ON FUNCTION nmc.call_answer_twiml(nmc.businesses, nmc.phone_numbers, text) IS 'The TwiML for a call to pn: forward (<Dial> to the owner with the ring timeout and our action URL), after_hours or no_forward_phone (the after-hours message), missed (a text is coming) — these two then record a voicemail if the business takes them (voicemail_enabled; sql/voicemail.sql) —, owner_phone (the owner called their own number from the forward-to phone: told so, not forwarded to itself), anything else hang up.';

CREATE FUNCTION nmc.call_missed(c nmc.calls, p_reason text, at timestamptz)
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
    ELSIF caller = ANY (nmc.owner_phones(b)) THEN
        -- No customer, no lead: the owner called their own number.
        v_decision := 'suppressed_owner';
        why := 'the call came from the owner''s own phone';
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
        ELSIF p_reason NOT IN ('after_hours', 'no_forward_phone', 'outage')
              AND at - c.created_at < make_interval(secs => b.min_ring_seconds) THEN
            v_decision := 'suppressed_short_ring';
            why := format('the caller hung up after %s s, before the minimum ring time of %s s',
                          round(extract(epoch FROM at - c.created_at)), b.min_ring_seconds);
        ELSIF cust.last_greeting_at > at - make_interval(secs => b.repeat_window_seconds) THEN
            v_decision := 'suppressed_repeat';
            why := format('this number got a greeting %s s ago (repeat window %s s)',
                          round(extract(epoch FROM at - cust.last_greeting_at)), b.repeat_window_seconds);
        ELSE
            conv := nmc.conversation_open(b.id, cust.id, pn.id, l.id);
            m := nmc.sms_send(b.id, cust.id, pn.phone,
                              nmc.greeting_render(b.id, nmc.greeting_template_of(b.id), pn.phone), 'system', conv.id);
            UPDATE nmc.customers SET last_greeting_at = greatest(at, last_greeting_at) WHERE id = cust.id;
            v_decision := 'texted';
            why := 'missed call: greeting sent';
        END IF;
    END IF;

    UPDATE nmc.calls SET status = 'missed', missed_reason = p_reason, missed_at = at, decision = v_decision,
           decision_reason = why, customer_id = cust.id, lead_id = l.id, conversation_id = conv.id, message_id = m.id
     WHERE id = c.id RETURNING * INTO c;
    PERFORM nmc.emit_event(b.id, 'call.missed', nmc.call_json(c) || jsonb_build_object('customer', nmc.customer_brief(c.customer_id)));
    RETURN c;
END
$$;
COMMENT ON FUNCTION nmc.call_missed(nmc.calls, text, timestamptz) IS
    'A call missed at the moment at (when its webhook was accepted), in the caller''s transaction: customer, lead (new, or the active one touched), and the text decision — one of the owner''s own phones (no customer, no lead), blocked, opted out, unreachable, hung up before min_ring_seconds, greeted within repeat_window_seconds, or texted (open conversation, rendered greeting, twilio.sms.send job). Emits call.missed.';

CREATE FUNCTION nmc.webhook_voice(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $$
DECLARE
    sid text := nmc.webhook_field(req, 'CallSid');
    pn nmc.phone_numbers := nmc.webhook_tenant(nmc.webhook_field(req, 'To'));
    b nmc.businesses;
    c nmc.calls;
    answer text;
BEGIN
    IF pn.id IS NULL THEN
        RAISE LOG 'nevermisscall: call % to %, which is not one of our numbers', sid, req #>> '{body,To}';
        RETURN nmc.twiml_say_and_hang_up('Sorry, this number is not in service.');
    END IF;
    SELECT * INTO b FROM nmc.businesses WHERE id = pn.business_id;
    -- Kept by the edge while the database was down: the caller was told a
    -- text is coming (nmc_api.webhook_fallbacks), so the call is missed.
    answer := CASE WHEN req #>> '{body,nmc_spooled_at}' IS NOT NULL THEN 'outage'
                   WHEN b.forward_to_phone IS NULL THEN 'no_forward_phone'
                   WHEN nmc.phone_or_null(req #>> '{body,From}') = b.forward_to_phone THEN 'owner_phone'
                   WHEN NOT nmc.business_is_open(b.id) THEN 'after_hours'
                   ELSE 'forward' END;
    answer := nmc.webhook_inbox_put('voice', sid, pn, (req -> 'body') || jsonb_build_object('nmc_answer', answer)) ->> 'nmc_answer';
    IF answer IS NULL THEN
        -- Twilio retried after the call was applied: the answer it got then.
        SELECT * INTO c FROM nmc.calls WHERE twilio_call_sid = sid;
        answer := CASE WHEN c.status = 'missed' AND c.missed_reason IN ('after_hours', 'no_forward_phone', 'owner_phone') THEN c.missed_reason
                       WHEN c.status = 'missed' THEN 'missed'   -- outage too: a text is coming
                       WHEN c.status IN ('ringing', 'forwarded') THEN 'forward' END;
    END IF;
    RETURN nmc.call_answer_twiml(b, pn, answer);
END
$$;
COMMENT ON FUNCTION nmc.webhook_voice(jsonb) IS 'POST /webhooks/twilio/voice: an incoming call, accepted into the webhook inbox and answered at once. Open → forward to the owner (<Dial> with ring timeout and action); closed or no forward phone → the after-hours message (the call is then missed: nmc.call_rang); from the forward-to phone itself → told it is the owner''s own number (missed, reason owner_phone, never texted); replayed from the edge''s spool (the database was down, the caller was told a text is coming) → missed, reason outage. Idempotent on CallSid: a retry gets the same answer.';

-- A call's row is created by whichever of its webhooks is applied first
-- (normally the incoming call; its dial result if that came alone).
CREATE FUNCTION nmc.call_record(t nmc.webhook_inbox, p_status text)
RETURNS nmc.calls
LANGUAGE plpgsql
AS $$
DECLARE
    c nmc.calls;
BEGIN
    INSERT INTO nmc.calls (business_id, phone_number_id, twilio_call_sid, from_raw, to_phone, status, call_status, created_at)
    SELECT t.business_id, pn.id, t.webhook_key, coalesce(t.params ->> 'From', 'unknown'), pn.phone, p_status, t.params ->> 'CallStatus',
           t.received_at
      FROM nmc.phone_numbers pn WHERE pn.id = t.phone_number_id AND pn.business_id = t.business_id
    ON CONFLICT (twilio_call_sid) DO NOTHING
    RETURNING * INTO c;
    IF NOT FOUND AND NOT EXISTS (SELECT 1 FROM nmc.phone_numbers WHERE id = t.phone_number_id AND business_id = t.business_id) THEN
        RAISE LOG 'nevermisscall: call % arrived for a number the business no longer has', t.webhook_key;
    END IF;
    RETURN c;
END
$$;
COMMENT ON FUNCTION nmc.call_record(nmc.webhook_inbox, text) IS 'Records the call an accepted voice webhook belongs to, with p_status, created when the webhook was accepted; returns the new row, or a row of NULLs when the call was recorded already (idempotent on CallSid) or its number is gone (logged).';

CREATE FUNCTION nmc.call_rang(t nmc.webhook_inbox)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    answer text := t.params ->> 'nmc_answer';
    c nmc.calls := nmc.call_record(t, CASE WHEN answer = 'forward' THEN 'forwarded' ELSE 'ringing' END);
BEGIN
    IF c.id IS NULL THEN
        RETURN;  -- Applied before (Twilio retried), its dial result came first, or the number is gone.
    ELSIF answer = 'forward' THEN
        PERFORM nmc.emit_event(c.business_id, 'call.updated', nmc.call_json(c));
    ELSE
        PERFORM nmc.call_missed(c, answer, t.received_at);
    END IF;
END
$$;
COMMENT ON FUNCTION nmc.call_rang(nmc.webhook_inbox) IS 'Applies an accepted incoming call: the call is recorded (created when the webhook was accepted) as forwarded, or missed at once when the caller was told the business is closed or has no forward phone. Idempotent on CallSid.';

CREATE FUNCTION nmc.webhook_voice_dial(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $$
DECLARE
    sid text := nmc.webhook_field(req, 'CallSid');
    dial_status text := nmc.webhook_field(req, 'DialCallStatus');
    pn nmc.phone_numbers := nmc.webhook_tenant(nmc.webhook_field(req, 'To'));
    b nmc.businesses;
BEGIN
    IF pn.id IS NULL THEN
        RAISE LOG 'nevermisscall: dial result for call % to %, which is not one of our numbers', sid, req #>> '{body,To}';
        RETURN nmc.twiml('<Hangup/>');
    END IF;
    PERFORM nmc.webhook_inbox_put('voice_dial', sid, pn, req -> 'body');
    SELECT * INTO b FROM nmc.businesses WHERE id = pn.business_id;
    RETURN nmc.call_answer_twiml(b, pn, CASE WHEN nmc.call_dial_missed_reason(req -> 'body') IS NOT NULL THEN 'missed' END);
END
$$;
COMMENT ON FUNCTION nmc.webhook_voice_dial(jsonb) IS 'POST /webhooks/twilio/voice/dial: the <Dial> ended; accepted into the webhook inbox (nmc.call_dial_ended applies it) and answered at once — a missed call hears that a text is coming, an answered one hangs up; a missed one may then leave a voicemail. Idempotent on CallSid.';

CREATE FUNCTION nmc.dial_missed_statuses()
RETURNS text[]
LANGUAGE sql IMMUTABLE
AS $$ SELECT ARRAY['no-answer', 'busy', 'failed', 'canceled'] $$;
COMMENT ON FUNCTION nmc.dial_missed_statuses() IS 'The DialCallStatus values of a forward nobody answered.';

CREATE FUNCTION nmc.call_dial_missed_reason(params jsonb)
RETURNS text
LANGUAGE sql
IMMUTABLE
AS $$
    SELECT CASE WHEN params ->> 'DialCallStatus' = ANY (nmc.dial_missed_statuses()) THEN params ->> 'DialCallStatus'
                WHEN params ->> 'DialBridged' = 'false' THEN 'not-bridged' END
$$;
COMMENT ON FUNCTION nmc.call_dial_missed_reason(jsonb) IS 'Why the forwarded call counts as missed, from the <Dial> action''s fields: no-answer, busy, failed, canceled, or not-bridged; NULL when the owner answered.';

CREATE FUNCTION nmc.call_dial_ended(t nmc.webhook_inbox)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    c nmc.calls;
    reason text := nmc.call_dial_missed_reason(t.params);
BEGIN
    PERFORM nmc.call_record(t, 'forwarded');
    SELECT * INTO c FROM nmc.calls WHERE twilio_call_sid = t.webhook_key FOR UPDATE;
    IF NOT FOUND OR c.status IN ('answered', 'missed') THEN
        RETURN;  -- Its number is gone (and its calls with it), or it was applied before.
    END IF;
    UPDATE nmc.calls SET dial_call_status = t.params ->> 'DialCallStatus', call_status = coalesce(t.params ->> 'CallStatus', call_status),
           duration_seconds = CASE WHEN t.params ->> 'DialCallDuration' ~ '^[0-9]+$' THEN (t.params ->> 'DialCallDuration')::int END
     WHERE id = c.id RETURNING * INTO c;
    IF reason IS NOT NULL THEN
        PERFORM nmc.call_missed(c, reason, t.received_at);
    ELSE
        -- Completed calls are never texted.
        UPDATE nmc.calls SET status = 'answered', decision = 'not_missed', decision_reason = 'the call was answered'
         WHERE id = c.id RETURNING * INTO c;
        PERFORM nmc.emit_event(c.business_id, 'call.updated', nmc.call_json(c));
    END IF;
END
$$;
COMMENT ON FUNCTION nmc.call_dial_ended(nmc.webhook_inbox) IS 'Applies an accepted <Dial> result: no-answer, busy, failed, canceled (or not bridged) → a missed call, decided as of the moment the webhook was accepted (nmc.call_missed); answered → never texted. Idempotent on CallSid.';

CREATE FUNCTION nmc.webhook_voice_status(req jsonb)
RETURNS nmc.http_response
LANGUAGE sql
AS $$ SELECT nmc.webhook_status_accept(req, 'voice_status', 'CallSid', 'CallStatus', 'To') $$;
COMMENT ON FUNCTION nmc.webhook_voice_status(jsonb) IS 'POST /webhooks/twilio/voice/status: the call''s final status and duration, accepted into the webhook inbox (nmc.call_status_reported applies it). Idempotent on CallSid and status.';

CREATE FUNCTION nmc.call_status_reported(t nmc.webhook_inbox)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    c nmc.calls;
BEGIN
    UPDATE nmc.calls SET call_status = coalesce(t.params ->> 'CallStatus', call_status),
           duration_seconds = coalesce(CASE WHEN t.params ->> 'CallDuration' ~ '^[0-9]+$' THEN (t.params ->> 'CallDuration')::int END, duration_seconds)
     WHERE twilio_call_sid = t.params ->> 'CallSid' AND business_id = t.business_id
       AND (call_status IS DISTINCT FROM t.params ->> 'CallStatus' OR duration_seconds IS NULL)
    RETURNING * INTO c;
    IF FOUND THEN
        PERFORM nmc.emit_event(c.business_id, 'call.updated', nmc.call_json(c));
    END IF;
END
$$;
COMMENT ON FUNCTION nmc.call_status_reported(nmc.webhook_inbox) IS 'Applies an accepted call status callback: the call''s status and duration. Repeats change nothing.';
