-- owner_alerts.sql — the owner's phone, for an owner away from the dashboard:
-- an alert phone verified by a texted code, which kinds of alert go to it
-- (a customer replied and it is the owner's turn, a booking, the assistant
-- handing over, a text that did not arrive), quiet hours in the business's
-- time zone, at most one alert per conversation per alert_min_gap_seconds —
-- and the one function that texts the owner (emergencies too). An alert about
-- a conversation starts with its #number, which the owner's text replies use
-- (sql/owner/owner_texts.sql).
CREATE TABLE nmc.owner_alerts (
    id              bigint GENERATED ALWAYS AS IDENTITY,
    business_id     uuid NOT NULL REFERENCES nmc.businesses (id) ON DELETE CASCADE,
    conversation_id uuid,
    kind            text NOT NULL CHECK (kind IN ('customer_replied', 'emergency', 'booking', 'handoff', 'undelivered', 'call_back')),
    message_id      uuid,
    created_at      timestamptz NOT NULL DEFAULT now(),
    tag             int CHECK (tag > 0),
    PRIMARY KEY (business_id, id)
);
COMMENT ON TABLE nmc.owner_alerts IS 'Every alert texted to the owner: which conversation it named and why (the spacing of alerts per conversation is counted here), and the #number (tag) it gave that conversation: the owner''s "#N …" replies reach it.';
CREATE INDEX owner_alerts_conversation ON nmc.owner_alerts (conversation_id, created_at);
CREATE INDEX owner_alerts_business ON nmc.owner_alerts (business_id, created_at);
ALTER TABLE nmc.owner_alerts ENABLE ROW LEVEL SECURITY;
ALTER TABLE nmc.owner_alerts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON nmc.owner_alerts
    USING (business_id = nmc.current_business_id())
    WITH CHECK (business_id = nmc.current_business_id());

CREATE FUNCTION nmc.owner_phone(b nmc.businesses)
RETURNS text
LANGUAGE sql STABLE
AS $$ SELECT CASE WHEN b.alert_phone_verified_at IS NOT NULL THEN b.alert_phone ELSE b.forward_to_phone END $$;
COMMENT ON FUNCTION nmc.owner_phone(nmc.businesses) IS 'Where texts for the owner go: the verified alert phone, else the forward-to phone.';

CREATE FUNCTION nmc.owner_phones(b nmc.businesses)
RETURNS text[]
LANGUAGE sql STABLE
AS $$ SELECT array_remove(ARRAY[b.forward_to_phone::text, CASE WHEN b.alert_phone_verified_at IS NOT NULL THEN b.alert_phone::text END], NULL) $$;
COMMENT ON FUNCTION nmc.owner_phones(nmc.businesses) IS 'The owner''s own phones: the forward-to phone and the verified alert phone. A text from one is the owner talking (nmc.owner_text_received), a call from one is never a missed customer (nmc.calls_missed).';

CREATE FUNCTION nmc.owner_alert_send(b nmc.businesses, p_customer_id uuid, p_phone_number_id uuid, body text, p_to text DEFAULT NULL)
RETURNS nmc.messages
LANGUAGE plpgsql
AS $$
DECLARE
    m nmc.messages;
    to_phone text := coalesce(p_to, nmc.owner_phone(b));
    from_phone text := coalesce((SELECT phone FROM nmc.phone_numbers WHERE id = p_phone_number_id),
                                (SELECT phone FROM nmc.phone_numbers WHERE business_id = b.id AND detached_at IS NULL ORDER BY created_at, id LIMIT 1));
BEGIN
    -- A phone that texted STOP is not texted (Twilio would refuse it anyway).
    IF to_phone IS NULL OR from_phone IS NULL OR to_phone = b.owner_phone_stopped THEN
        RETURN NULL;
    END IF;
    -- Recorded against the customer it is about (if any), outside their thread.
    INSERT INTO nmc.messages (business_id, customer_id, conversation_id, direction, author, from_phone, to_phone, body, status)
    VALUES (b.id, p_customer_id, NULL, 'outbound', 'system', from_phone, to_phone, left(body, 480), 'pending')
    RETURNING * INTO m;
    PERFORM nmc.sms_enqueue(m);
    RETURN m;
END
$$;
COMMENT ON FUNCTION nmc.owner_alert_send(nmc.businesses, uuid, uuid, text, text) IS 'Texts the owner — p_to, else nmc.owner_phone — from the business number (the given one, else its first); recorded as a system message about the customer (if any), outside the conversation. NULL when there is no phone to text, none to text from, or the phone texted STOP.';

CREATE FUNCTION nmc.owner_alert(b nmc.businesses, conv nmc.conversations, p_kind text, body text)
RETURNS nmc.messages
LANGUAGE plpgsql
AS $$
DECLARE
    m nmc.messages;
    local_time time := (now() AT TIME ZONE b.timezone)::time;
    quiet boolean;
    v_tag int;
    by_text boolean;
    pushed int;
BEGIN
    IF p_kind NOT IN ('emergency', 'call_back') THEN
        -- Everything but danger and a customer we could not text at all: only
        -- the kinds the owner wants, never in their quiet hours, and spaced out.
        IF NOT (p_kind = ANY (b.alert_kinds)) THEN
            RETURN NULL;
        END IF;
        -- Quiet hours may run past midnight (21:00 to 07:00).
        quiet := b.quiet_hours_start IS NOT NULL AND
                 CASE WHEN b.quiet_hours_start <= b.quiet_hours_end THEN local_time >= b.quiet_hours_start AND local_time < b.quiet_hours_end
                      ELSE local_time >= b.quiet_hours_start OR local_time < b.quiet_hours_end END;
        IF quiet THEN
            RETURN NULL;
        END IF;
        IF conv.id IS NOT NULL AND EXISTS (SELECT 1 FROM nmc.owner_alerts a WHERE a.conversation_id = conv.id
                                             AND a.created_at > now() - make_interval(secs => nmc.setting_int('alert_min_gap_seconds'))) THEN
            RETURN NULL;
        END IF;
    END IF;
    IF conv.id IS NOT NULL THEN
        -- The conversation's #number: the one it had within owner_tag_seconds, else the
        -- smallest no other conversation holds (one business's alerts take turns here).
        PERFORM pg_advisory_xact_lock(hashtext('nmc.owner_alert_tag'), hashtext(b.id::text));
        SELECT a.tag INTO v_tag FROM nmc.owner_alerts a
         WHERE a.conversation_id = conv.id AND a.business_id = b.id AND a.tag IS NOT NULL
           AND a.created_at > now() - make_interval(secs => nmc.setting_int('owner_tag_seconds'))
         ORDER BY a.created_at DESC, a.id DESC LIMIT 1;
        IF v_tag IS NULL THEN
            -- (A hashed set: a business alerted thousands of times a week stays quick.)
            WITH used AS (SELECT DISTINCT a.tag FROM nmc.owner_alerts a
                           WHERE a.business_id = b.id AND a.tag IS NOT NULL
                             AND a.created_at > now() - make_interval(secs => nmc.setting_int('owner_tag_seconds')))
            SELECT min(g) INTO v_tag FROM generate_series(1, (SELECT count(*) FROM used)::int + 1) g
             WHERE g NOT IN (SELECT tag FROM used);
        END IF;
        body := '#' || v_tag || ' ' || body;
    END IF;
    -- By text: emergencies (if wanted) and call-backs to the verified alert phone,
    -- else the forward-to phone; the rest only to a verified alert phone.
    by_text := CASE p_kind WHEN 'emergency' THEN b.emergency_sms_to_owner WHEN 'call_back' THEN true
                           ELSE b.alert_phone_verified_at IS NOT NULL END;
    IF by_text THEN
        m := nmc.owner_alert_send(b, conv.customer_id, conv.phone_number_id, body);
    END IF;
    -- Pushed to every device of the business that asked for alerts (sql/outbox/web_push.sql).
    pushed := nmc.web_push_notify(b.id, jsonb_build_object(
        'kind', p_kind, 'title', nmc.owner_alert_title(p_kind),
        'body', regexp_replace(body, '\s*https?://\S+$', ''),
        'url', CASE WHEN conv.id IS NOT NULL THEN '/conversations/' || conv.id ELSE '/conversations' END,
        'tag', coalesce('conversation-' || conv.id, 'alert-' || p_kind)));
    IF m.id IS NOT NULL OR pushed > 0 THEN
        INSERT INTO nmc.owner_alerts (business_id, conversation_id, kind, message_id, tag) VALUES (b.id, conv.id, p_kind, m.id, v_tag);
    END IF;
    RETURN m;
END
$$;
COMMENT ON FUNCTION nmc.owner_alert(nmc.businesses, nmc.conversations, text, text) IS
    'Alerts the owner of p_kind about conv, if it should go: an emergency and a call_back (a customer who could not be texted) always; any other kind only if in alert_kinds, not in the quiet hours (business time zone), and not within alert_min_gap_seconds of the last alert about the same conversation. It is texted — an emergency if emergency_sms_to_owner and a call_back to the verified alert phone, else the forward-to phone; other kinds only to a verified alert phone — and pushed to every device that asked for alerts (nmc.web_push_notify: title, the words without the link, the conversation''s path, a tag per conversation so a newer alert replaces an older one). An alert about a conversation starts with its #number (kept for owner_tag_seconds after its last alert, else the smallest free one), for the owner''s text replies. Recorded in nmc.owner_alerts when it went somewhere.';

CREATE FUNCTION nmc.owner_alert_title(p_kind text)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$ SELECT CASE p_kind WHEN 'customer_replied' THEN 'A customer replied: your turn'
                         WHEN 'emergency' THEN 'EMERGENCY: call the customer now'
                         WHEN 'booking' THEN 'New booking'
                         WHEN 'handoff' THEN 'The assistant handed a conversation to you'
                         WHEN 'undelivered' THEN 'A text did not arrive'
                         WHEN 'call_back' THEN 'Please call a customer back' ELSE 'NeverMissCall' END $$;
COMMENT ON FUNCTION nmc.owner_alert_title(text) IS 'The title of a pushed alert, by kind.';

CREATE FUNCTION nmc.owner_alert_link(conv nmc.conversations)
RETURNS text
LANGUAGE sql STABLE
AS $$ SELECT rtrim(nmc.setting('public_url'), '/') || '/conversations/' || conv.id $$;
COMMENT ON FUNCTION nmc.owner_alert_link(nmc.conversations) IS 'The link to a conversation in the dashboard, for alerts.';

CREATE FUNCTION nmc.owner_alert_who(conv nmc.conversations)
RETURNS text
LANGUAGE sql STABLE
AS $$ SELECT coalesce(nullif(c.name, ''), c.phone) FROM nmc.customers c WHERE c.id = conv.customer_id $$;
COMMENT ON FUNCTION nmc.owner_alert_who(nmc.conversations) IS 'How an alert names the customer: their name if known, else their number.';

CREATE FUNCTION nmc.owner_alert_your_turn(conv nmc.conversations)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    b nmc.businesses;
    said text;
BEGIN
    SELECT * INTO b FROM nmc.businesses WHERE id = conv.business_id;
    IF b.alert_phone_verified_at IS NULL AND NOT EXISTS (SELECT 1 FROM nmc.push_subscriptions WHERE business_id = b.id) THEN
        RETURN;   -- the usual case until the owner sets a phone or a device: nothing to look up
    END IF;
    SELECT body INTO said FROM nmc.messages
     WHERE business_id = conv.business_id AND conversation_id = conv.id AND direction = 'inbound'
     ORDER BY created_at DESC, id DESC LIMIT 1;
    PERFORM nmc.owner_alert(b, conv, 'customer_replied',
        format('%s: "%s" Your turn: %s s before the assistant answers. %s', nmc.owner_alert_who(conv), left(coalesce(said, ''), 200),
               greatest(0, round(extract(epoch FROM conv.human_window_deadline - now())))::int, nmc.owner_alert_link(conv)));
END
$$;
COMMENT ON FUNCTION nmc.owner_alert_your_turn(nmc.conversations) IS 'A customer wrote and the human response window opened: the owner gets the customer''s words, the seconds left and the link (nmc.owner_alert, kind customer_replied).';

-- Settings, through the API ---------------------------------------------------
CREATE FUNCTION nmc.owner_alert_settings_json(b nmc.businesses)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT jsonb_build_object(
        'phone', coalesce(b.alert_phone, b.forward_to_phone),
        'verified', b.alert_phone IS NOT NULL AND b.alert_phone_verified_at IS NOT NULL,
        'kinds', to_jsonb(b.alert_kinds),
        'emergency_sms_to_owner', b.emergency_sms_to_owner,
        'quiet_hours', CASE WHEN b.quiet_hours_start IS NOT NULL THEN jsonb_build_object(
                           'start', to_char(b.quiet_hours_start, 'HH24:MI'), 'end', to_char(b.quiet_hours_end, 'HH24:MI')) END,
        'stopped', CASE WHEN b.owner_phone_stopped IS NOT NULL THEN jsonb_build_object(
                           'phone', b.owner_phone_stopped, 'at', b.owner_phone_stopped_at) END)
$$;
COMMENT ON FUNCTION nmc.owner_alert_settings_json(nmc.businesses) IS 'GET /api/business/alerts: the alert phone (the forward-to phone until another is set), whether it is verified (alerts other than emergencies need that), the kinds switched on, the quiet hours, and stopped {phone, at} when one of the owner''s phones texted STOP (nothing is texted to it until it texts START).';

CREATE FUNCTION nmc.api_alerts_get(req jsonb)
RETURNS nmc.http_response
LANGUAGE sql STABLE
AS $$ SELECT nmc.respond(200, jsonb_build_object('alerts', nmc.owner_alert_settings_json(b)))
        FROM nmc.businesses b WHERE b.id = nmc.current_business_id() $$;
COMMENT ON FUNCTION nmc.api_alerts_get(jsonb) IS 'GET /api/business/alerts: see nmc.owner_alert_settings_json.';

CREATE FUNCTION nmc.api_alerts_patch(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $$
DECLARE
    body jsonb := req -> 'body';
    b nmc.businesses;
    kinds text[];
    qh jsonb;
BEGIN
    PERFORM nmc.input_object(body);
    PERFORM nmc.input_allowed_fields(body, ARRAY['kinds', 'quiet_hours']);
    SELECT * INTO b FROM nmc.businesses WHERE id = nmc.current_business_id() FOR UPDATE;
    IF body ? 'kinds' THEN
        IF jsonb_typeof(body -> 'kinds') <> 'array' OR EXISTS (SELECT 1 FROM jsonb_array_elements(body -> 'kinds') k
                WHERE jsonb_typeof(k) <> 'string' OR k #>> '{}' NOT IN ('customer_replied', 'booking', 'handoff', 'undelivered')) THEN
            PERFORM nmc.raise_api_error(400, 'invalid_field',
                'kinds must be a list of: customer_replied, booking, handoff, undelivered (emergencies: emergency_sms_to_owner)', 'kinds');
        END IF;
        SELECT coalesce(array_agg(DISTINCT k ORDER BY k), '{}') INTO kinds FROM jsonb_array_elements_text(body -> 'kinds') k;
        b.alert_kinds := kinds;
    END IF;
    IF body ? 'quiet_hours' THEN
        qh := body -> 'quiet_hours';
        IF jsonb_typeof(qh) = 'null' THEN
            b.quiet_hours_start := NULL;
            b.quiet_hours_end := NULL;
        ELSIF jsonb_typeof(qh) <> 'object' OR coalesce(qh ->> 'start', '') !~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'
              OR coalesce(qh ->> 'end', '') !~ '^([01][0-9]|2[0-3]):[0-5][0-9]$' OR qh ->> 'start' = qh ->> 'end' THEN
            PERFORM nmc.raise_api_error(400, 'invalid_field', 'quiet_hours must be null or {"start": "HH:MM", "end": "HH:MM"}, two different times (e.g. 21:00 to 07:00)', 'quiet_hours');
        ELSE
            b.quiet_hours_start := (qh ->> 'start')::time;
            b.quiet_hours_end := (qh ->> 'end')::time;
        END IF;
    END IF;
    UPDATE nmc.businesses SET alert_kinds = b.alert_kinds, quiet_hours_start = b.quiet_hours_start, quiet_hours_end = b.quiet_hours_end
     WHERE id = b.id RETURNING * INTO b;
    RETURN nmc.respond(200, jsonb_build_object('alerts', nmc.owner_alert_settings_json(b)));
END
$$;
COMMENT ON FUNCTION nmc.api_alerts_patch(jsonb) IS 'PATCH /api/business/alerts {kinds?, quiet_hours?}: which alerts go to the owner''s verified phone, and the quiet hours (business time zone; emergencies still go through).';

CREATE FUNCTION nmc.api_alert_phone_put(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $$
DECLARE
    body jsonb := req -> 'body';
    b nmc.businesses;
    v_phone text;
    from_phone text;
BEGIN
    PERFORM nmc.input_object(body);
    PERFORM nmc.input_allowed_fields(body, ARRAY['phone']);
    v_phone := nmc.normalize_phone(nmc.input_text(body, 'phone', true, 40), 'phone');
    SELECT * INTO b FROM nmc.businesses WHERE id = nmc.current_business_id() FOR UPDATE;
    SELECT phone INTO from_phone FROM nmc.phone_numbers WHERE business_id = b.id AND detached_at IS NULL ORDER BY created_at, id LIMIT 1;
    IF from_phone IS NULL THEN
        PERFORM nmc.raise_api_error(409, 'no_number', 'get a texting number first: the code is texted from it');
    END IF;
    UPDATE nmc.businesses SET alert_phone = v_phone, alert_phone_verified_at = NULL WHERE id = b.id RETURNING * INTO b;
    IF NOT nmc.login_code_send(b.id, NULL, 'alert_phone', v_phone, from_phone,
               'NeverMissCall: your code to get alerts on this phone is {code}. Enter it on the dashboard.', req ->> 'client_addr') THEN
        PERFORM nmc.raise_api_error(429, 'rate_limited', 'a code was texted a moment ago; wait a minute before asking for another');
    END IF;
    RETURN nmc.respond(202, jsonb_build_object('alerts', nmc.owner_alert_settings_json(b)));
END
$$;
COMMENT ON FUNCTION nmc.api_alert_phone_put(jsonb) IS 'PUT /api/business/alerts/phone {phone}: the phone alerts go to, unverified until its code comes back (POST …/verify); the code is texted from the business number (one a minute, login_codes_per_hour an hour). 409 no_number without a number to text from.';

CREATE FUNCTION nmc.api_alert_phone_verify(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $$
DECLARE
    body jsonb := req -> 'body';
    b nmc.businesses;
    v_code text;
BEGIN
    PERFORM nmc.input_object(body);
    PERFORM nmc.input_allowed_fields(body, ARRAY['code']);
    v_code := regexp_replace(nmc.input_text(body, 'code', true, 20), '[^0-9]', '', 'g');
    SELECT * INTO b FROM nmc.businesses WHERE id = nmc.current_business_id() FOR UPDATE;
    IF b.alert_phone IS NULL OR NOT nmc.login_code_redeem(b.id, NULL, 'alert_phone', b.alert_phone, v_code) THEN
        -- Returned, not raised: the wrong try is counted.
        RETURN nmc.respond(400, nmc.error_body('invalid_code', 'this code is wrong, used or expired; ask for a new one', 'code'));
    END IF;
    UPDATE nmc.businesses SET alert_phone_verified_at = now() WHERE id = b.id RETURNING * INTO b;
    RETURN nmc.respond(200, jsonb_build_object('alerts', nmc.owner_alert_settings_json(b)));
END
$$;
COMMENT ON FUNCTION nmc.api_alert_phone_verify(jsonb) IS 'POST /api/business/alerts/phone/verify {code}: the code texted to the alert phone proves the owner has it; alerts then go there. 400 invalid_code otherwise (login_code_max_attempts tries).';
