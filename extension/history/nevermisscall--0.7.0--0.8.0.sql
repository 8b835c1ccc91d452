-- 0.7.0 → 0.8.0, assembled by extension/Makefile (upgrades/assemble.pl) into
-- nevermisscall--0.7.0--0.8.0.sql: table changes written here as upgrade steps;
-- "--@include f" brings sql/<domain>/f.sql (new in this version), "--@replace f name" the
-- current text of a changed function; then the OpenAPI document, the route
-- dispatcher and sql/platform/grants.sql. test/upgrade/check.sh proves the result equals
-- a fresh 0.8.0 install.
\echo Use "ALTER EXTENSION nevermisscall UPDATE" to load this file. \quit

-- sql/ split into domain folders (issue 16): catalog comments that name a file follow it.
COMMENT ON TABLE nmc.job_kinds IS 'Job kinds and their tunables: retry limit and timeouts. Which functions build, apply, fail and simulate each kind: sql/outbox/job_dispatch.sql.';
COMMENT ON COLUMN nmc.jobs.held_at IS 'Since when the job waits behind its provider''s open circuit (sql/outbox/provider_circuits.sql): not sent, its retry budget not spent.';
CREATE OR REPLACE FUNCTION nmc.call_answer_twiml(b nmc.businesses, pn nmc.phone_numbers, answer text)
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
COMMENT ON FUNCTION nmc.call_answer_twiml(nmc.businesses, nmc.phone_numbers, text) IS 'The TwiML for a call to pn: forward (<Dial> to the owner with the ring timeout and our action URL), after_hours or no_forward_phone (the after-hours message), missed (a text is coming) — these two then record a voicemail if the business takes them (voicemail_enabled; sql/telephony/voicemail.sql) —, owner_phone (the owner called their own number from the forward-to phone: told so, not forwarded to itself), anything else hang up.';
CREATE OR REPLACE FUNCTION nmc.call_json(c nmc.calls)
RETURNS jsonb
-- PL/pgSQL: the voicemail comes from sql/telephony/voicemail.sql, later in the install.
LANGUAGE plpgsql STABLE
AS $$ BEGIN RETURN jsonb_build_object('id', c.id, 'from', c.from_raw, 'to', c.to_phone, 'status', c.status, 'missed_reason', c.missed_reason,
                                'decision', c.decision, 'decision_reason', c.decision_reason, 'customer_id', c.customer_id,
                                'lead_id', c.lead_id, 'conversation_id', c.conversation_id, 'message_id', c.message_id,
                                'duration_seconds', c.duration_seconds, 'created_at', c.created_at, 'missed_at', c.missed_at,
                                'text', (SELECT jsonb_build_object('status', m.status, 'error_code', m.error_code, 'error_message', m.error_message)
                                           FROM nmc.messages m WHERE m.id = c.message_id),
                                'voicemail', nmc.call_voicemail_json(c.id)); END $$;
COMMENT ON FUNCTION nmc.call_json(nmc.calls) IS 'The API and event representation of a call, with its text decision and, when texted, where that text is now (text: status pending/queued/sent/delivered/undelivered/failed/dropped, with the provider''s code and the reason), and the voicemail left, if any (nmc.voicemail_json).';
CREATE OR REPLACE FUNCTION nmc.owner_alert(b nmc.businesses, conv nmc.conversations, p_kind text, body text)
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

-- issue 20 (ops): a number attached from the owner's Twilio account can be detached, its
-- earlier webhooks put back (job twilio.numbers.detach); a detached number stays on record
-- (its calls and conversations) but is nobody's: numbers are unique among those in use.
ALTER TABLE nmc.phone_numbers ADD COLUMN detached_at timestamptz;
COMMENT ON COLUMN nmc.phone_numbers.detached_at IS 'When an attached number left us (POST /api/phone-numbers/{id}/detach, its previous webhooks put back): kept for its calls and conversations, no longer the business''s number.';
ALTER TABLE nmc.phone_numbers DROP CONSTRAINT phone_numbers_phone_key, DROP CONSTRAINT phone_numbers_twilio_sid_key;
CREATE UNIQUE INDEX phone_numbers_phone_key ON nmc.phone_numbers (phone) WHERE detached_at IS NULL;
CREATE UNIQUE INDEX phone_numbers_twilio_sid_key ON nmc.phone_numbers (twilio_sid) WHERE detached_at IS NULL;
COMMENT ON TABLE nmc.phone_numbers IS 'Twilio numbers owned by businesses (one business at a time per number). simulated: bought in sandbox mode, not a real number.';
INSERT INTO nmc.job_kinds (kind, provider, max_attempts, connect_timeout_ms, total_timeout_ms, description) VALUES
    ('twilio.numbers.detach', 'twilio', 3, 3000, 30000, 'Put back the webhooks an attached number had; it is no longer the business''s');
CREATE OR REPLACE FUNCTION nmc.webhook_tenant(business_phone text)
RETURNS nmc.phone_numbers
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = nmc, public, pg_temp
AS $$
DECLARE
    pn nmc.phone_numbers;
BEGIN
    SELECT * INTO pn FROM nmc.phone_numbers WHERE phone = business_phone AND detached_at IS NULL;
    IF FOUND THEN
        PERFORM set_config('nmc.business_id', pn.business_id::text, true);
    END IF;
    RETURN pn;
END
$$;
COMMENT ON FUNCTION nmc.webhook_tenant(text) IS 'The business number a webhook is about (NULL fields if it is not ours), scoping the transaction to its business. Runs as nmc_auth.';
CREATE OR REPLACE FUNCTION nmc.phone_number_available(phone text)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = nmc, public, pg_temp
AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM nmc.phone_numbers p WHERE p.phone = phone_number_available.phone AND p.detached_at IS NULL) THEN
        PERFORM nmc.raise_api_error(409, 'number_taken', 'this number already belongs to a business', 'phone_number');
    END IF;
END
$$;
COMMENT ON FUNCTION nmc.phone_number_available(text) IS 'Raises NM409 number_taken if any business owns this number. Runs as nmc_auth (numbers are unique across businesses).';
CREATE OR REPLACE FUNCTION nmc.api_phone_number_detach(req jsonb)
RETURNS nmc.http_response LANGUAGE plpgsql
AS $$
DECLARE
    pn nmc.phone_numbers;
    earlier nmc.jobs;
    k text;
BEGIN
    PERFORM nmc.input_allowed_fields(nmc.input_object(coalesce(req -> 'body', '{}')), ARRAY[]::text[]);
    SELECT * INTO pn FROM nmc.phone_numbers
     WHERE business_id = nmc.current_business_id() AND id = nmc.input_uuid(req #>> '{params,0}', 'phone_number');
    IF NOT FOUND THEN
        PERFORM nmc.raise_api_error(404, 'not_found', 'no such phone number');
    END IF;
    -- The same request again answers the same job, under way or done; after a failure it tries again.
    k := 'detach:' || pn.id;
    SELECT * INTO earlier FROM nmc.jobs WHERE business_id = pn.business_id AND idempotency_key = k;
    IF FOUND AND earlier.status IN ('failed', 'cancelled') THEN
        UPDATE nmc.jobs SET idempotency_key = NULL WHERE id = earlier.id;
    ELSIF FOUND THEN
        RETURN nmc.respond(202, jsonb_build_object('job', nmc.job_json(earlier)));
    END IF;
    IF pn.previous_webhooks IS NULL THEN
        PERFORM nmc.raise_api_error(409, 'number_not_attached',
            'this number was bought here, not attached from your Twilio account: it has no earlier webhooks to put back');
    END IF;
    IF pn.detached_at IS NOT NULL THEN
        PERFORM nmc.raise_api_error(409, 'number_detached', 'this number was already detached');
    END IF;
    RETURN nmc.respond(202, jsonb_build_object('job', nmc.job_json(
        nmc.job_enqueue('twilio.numbers.detach', pn.business_id,
                        jsonb_build_object('phone_number_id', pn.id, 'twilio_sid', pn.twilio_sid, 'phone_number', pn.phone,
                                           'previous_webhooks', pn.previous_webhooks), k))));
END $$;
COMMENT ON FUNCTION nmc.api_phone_number_detach(jsonb) IS 'POST /api/phone-numbers/{id}/detach: stop using a number attached from the Twilio account; its previous webhooks are put back (job twilio.numbers.detach), then it is no longer the business''s (kept, detached, with its calls). 202 with the job to poll (the same request again answers the same job; after a failed one, a new try); 404 not_found, 409 number_not_attached (bought here), 409 number_detached.';
CREATE OR REPLACE FUNCTION nmc.twilio_numbers_search_simulate(j nmc.jobs)
RETURNS jsonb
LANGUAGE sql VOLATILE
AS $$
    -- 555-01XX is reserved for fiction in the NANP: plausible, never real.
    SELECT jsonb_build_object('available_phone_numbers', jsonb_agg(jsonb_build_object(
               'friendly_name', format('(%s) 555-01%s', ac, lpad(i::text, 2, '0')),
               'phone_number', format('+1%s55501%s', ac, lpad(i::text, 2, '0')),
               'locality', 'Sandbox', 'region', NULL, 'postal_code', NULL, 'iso_country', 'US',
               'capabilities', jsonb_build_object('voice', true, 'SMS', true, 'MMS', true)) ORDER BY i),
           'nmc_simulated', true)
      FROM (SELECT coalesce(nullif(j.payload ->> 'area_code', ''), '555') AS ac) a,
           LATERAL (SELECT g AS i FROM generate_series(0, 99) g
                     WHERE NOT EXISTS (SELECT 1 FROM nmc.phone_numbers p WHERE p.phone = format('+1%s55501%s', a.ac, lpad(g::text, 2, '0')) AND p.detached_at IS NULL)
                     ORDER BY g LIMIT 10) n
$$;
COMMENT ON FUNCTION nmc.twilio_numbers_search_simulate(nmc.jobs) IS 'Sandbox mode: up to ten plausible numbers in the requested area code from the fictional 555-0100…0199 range, leaving out those already taken.';
CREATE OR REPLACE FUNCTION nmc.twilio_numbers_buy_apply(j nmc.jobs, response jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    pn nmc.phone_numbers;
    is_simulated boolean := coalesce((response ->> 'nmc_simulated')::boolean, false);
BEGIN
    IF coalesce(response ->> 'sid', '') !~ '^PN[0-9a-f]{32}$' OR response ->> 'phone_number' IS NULL THEN
        PERFORM nmc.job_permanent_error('Twilio bought the number but returned no SID', 'invalid_response');
    END IF;
    INSERT INTO nmc.phone_numbers (business_id, phone, twilio_sid, friendly_name, simulated)
    VALUES (j.business_id, response ->> 'phone_number', response ->> 'sid', response ->> 'friendly_name', is_simulated)
    ON CONFLICT (twilio_sid, business_id) WHERE detached_at IS NULL DO UPDATE SET friendly_name = EXCLUDED.friendly_name
    RETURNING * INTO pn;
    RETURN jsonb_build_object('phone_number_id', pn.id, 'phone_number', pn.phone, 'twilio_sid', pn.twilio_sid,
                              'simulated', is_simulated);
END
$$;
COMMENT ON FUNCTION nmc.twilio_numbers_buy_apply(nmc.jobs, jsonb) IS 'twilio.numbers.buy success: the number now belongs to the business (nmc.phone_numbers).';
CREATE OR REPLACE FUNCTION nmc.twilio_numbers_owned_apply(j nmc.jobs, response jsonb)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT jsonb_build_object('numbers', coalesce(jsonb_agg(jsonb_build_object(
               'twilio_sid', n ->> 'sid', 'phone_number', n ->> 'phone_number', 'friendly_name', n ->> 'friendly_name',
               'webhooks', nmc.twilio_number_webhooks(n)) ORDER BY n ->> 'phone_number'), '[]'))
      FROM jsonb_array_elements(coalesce(response -> 'incoming_phone_numbers', '[]')) n
     WHERE NOT EXISTS (SELECT 1 FROM nmc.phone_numbers p WHERE (p.twilio_sid = n ->> 'sid' OR p.phone = n ->> 'phone_number') AND p.detached_at IS NULL)
$$;
COMMENT ON FUNCTION nmc.twilio_numbers_owned_apply(nmc.jobs, jsonb) IS 'twilio.numbers.owned success: the job result lists the account''s numbers no business uses yet, each with the webhooks it has now (what POST /api/phone-numbers/attach keeps to restore).';
CREATE OR REPLACE FUNCTION nmc.twilio_numbers_attach_apply(j nmc.jobs, response jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    pn nmc.phone_numbers;
    is_simulated boolean := coalesce((response ->> 'nmc_simulated')::boolean, false);
BEGIN
    IF response ->> 'sid' IS DISTINCT FROM j.payload ->> 'twilio_sid' OR response ->> 'phone_number' IS NULL THEN
        PERFORM nmc.job_permanent_error('Twilio updated the number but returned another or none', 'invalid_response');
    END IF;
    INSERT INTO nmc.phone_numbers (business_id, phone, twilio_sid, friendly_name, simulated, previous_webhooks)
    VALUES (j.business_id, response ->> 'phone_number', response ->> 'sid', response ->> 'friendly_name', is_simulated,
            j.payload -> 'previous_webhooks')
    ON CONFLICT (twilio_sid, business_id) WHERE detached_at IS NULL DO UPDATE SET friendly_name = EXCLUDED.friendly_name
    RETURNING * INTO pn;
    RETURN jsonb_build_object('phone_number_id', pn.id, 'phone_number', pn.phone, 'twilio_sid', pn.twilio_sid,
                              'simulated', is_simulated, 'previous_webhooks', pn.previous_webhooks);
END
$$;
COMMENT ON FUNCTION nmc.twilio_numbers_attach_apply(nmc.jobs, jsonb) IS 'twilio.numbers.attach success: the number now belongs to the business (nmc.phone_numbers), with the webhooks it had before (previous_webhooks) kept to restore.';
CREATE OR REPLACE FUNCTION nmc.twilio_number_webhook_params(w jsonb)
RETURNS jsonb
LANGUAGE sql IMMUTABLE
AS $$
    -- An empty URL clears it (as the number had none); a method missing reads as Twilio's default.
    SELECT jsonb_build_object(
        'VoiceUrl', coalesce(w ->> 'voice_url', ''), 'VoiceMethod', coalesce(nullif(w ->> 'voice_method', ''), 'POST'),
        'SmsUrl', coalesce(w ->> 'sms_url', ''), 'SmsMethod', coalesce(nullif(w ->> 'sms_method', ''), 'POST'),
        'StatusCallback', coalesce(w ->> 'status_callback', ''),
        'StatusCallbackMethod', coalesce(nullif(w ->> 'status_callback_method', ''), 'POST'))
$$;
COMMENT ON FUNCTION nmc.twilio_number_webhook_params(jsonb) IS 'The IncomingPhoneNumber parameters that put back webhooks as phone_numbers.previous_webhooks keeps them (nmc.twilio_number_webhooks is the other way).';
CREATE OR REPLACE FUNCTION nmc.twilio_numbers_detach_build(j nmc.jobs, cfg jsonb)
RETURNS nmc.http_request
LANGUAGE sql STABLE
AS $$
    SELECT nmc.twilio_request(cfg, 'POST', 'IncomingPhoneNumbers/' || nmc.url_encode(j.payload ->> 'twilio_sid') || '.json',
                              nmc.twilio_number_webhook_params(j.payload -> 'previous_webhooks'))
$$;
COMMENT ON FUNCTION nmc.twilio_numbers_detach_build(nmc.jobs, jsonb) IS 'twilio.numbers.detach: POST IncomingPhoneNumbers/{sid}.json with the webhooks the number had before it was attached.';
CREATE OR REPLACE FUNCTION nmc.twilio_numbers_detach_apply(j nmc.jobs, response jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    pn nmc.phone_numbers;
BEGIN
    IF response ->> 'sid' IS DISTINCT FROM j.payload ->> 'twilio_sid' THEN
        PERFORM nmc.job_permanent_error('Twilio updated the number but returned another or none', 'invalid_response');
    END IF;
    UPDATE nmc.phone_numbers SET detached_at = coalesce(detached_at, now())
     WHERE business_id = j.business_id AND id = (j.payload ->> 'phone_number_id')::uuid
    RETURNING * INTO pn;
    -- Attaching it again is a new request, not the answered one.
    UPDATE nmc.jobs SET idempotency_key = NULL
     WHERE idempotency_key = 'attach:' || (j.payload ->> 'twilio_sid') || ':' || j.business_id;
    RETURN jsonb_build_object('phone_number_id', pn.id, 'phone_number', pn.phone, 'twilio_sid', pn.twilio_sid,
                              'detached_at', pn.detached_at, 'restored_webhooks', nmc.twilio_number_webhooks(response));
END
$$;
COMMENT ON FUNCTION nmc.twilio_numbers_detach_apply(nmc.jobs, jsonb) IS 'twilio.numbers.detach success: the number has its old webhooks again and is no longer the business''s (phone_numbers.detached_at; kept with its calls and conversations); the result shows the webhooks Twilio now has on it.';
CREATE OR REPLACE FUNCTION nmc.twilio_numbers_detach_simulate(j nmc.jobs)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT jsonb_build_object('sid', j.payload ->> 'twilio_sid', 'phone_number', j.payload ->> 'phone_number', 'nmc_simulated', true)
           || coalesce(j.payload -> 'previous_webhooks', '{}')
$$;
COMMENT ON FUNCTION nmc.twilio_numbers_detach_simulate(nmc.jobs) IS 'Sandbox mode: a simulated update that puts the previous webhooks back.';
CREATE OR REPLACE FUNCTION nmc.job_build_request(j nmc.jobs, cfg jsonb)
RETURNS nmc.http_request
LANGUAGE plpgsql
AS $$
BEGIN
    CASE j.kind
        WHEN 'twilio.sms.send' THEN RETURN nmc.twilio_sms_send_build(j, cfg);
        WHEN 'twilio.sms.login_code' THEN RETURN nmc.twilio_sms_login_code_build(j, cfg);
        WHEN 'twilio.numbers.search' THEN RETURN nmc.twilio_numbers_search_build(j, cfg);
        WHEN 'twilio.numbers.buy' THEN RETURN nmc.twilio_numbers_buy_build(j, cfg);
        WHEN 'twilio.numbers.owned' THEN RETURN nmc.twilio_numbers_owned_build(j, cfg);
        WHEN 'twilio.numbers.attach' THEN RETURN nmc.twilio_numbers_attach_build(j, cfg);
        WHEN 'twilio.numbers.detach' THEN RETURN nmc.twilio_numbers_detach_build(j, cfg);
        WHEN 'openai.chat' THEN RETURN nmc.openai_chat_build(j, cfg);
        WHEN 'maps.geocode' THEN RETURN nmc.maps_geocode_build(j, cfg);
        WHEN 'push.send' THEN RETURN nmc.push_send_build(j, cfg);
        WHEN 'twilio.media.fetch' THEN RETURN nmc.twilio_media_fetch_build(j, cfg);
        WHEN 'openai.audio.transcribe' THEN RETURN nmc.openai_transcribe_build(j, cfg);
    END CASE;
END
$$;
COMMENT ON FUNCTION nmc.job_build_request(nmc.jobs, jsonb) IS 'The HTTP request for a job, by kind, from the settings in cfg (raises for an unknown kind: the job then fails alone).';
CREATE OR REPLACE FUNCTION nmc.job_apply(j nmc.jobs, response jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
BEGIN
    CASE j.kind
        WHEN 'twilio.sms.send' THEN RETURN nmc.twilio_sms_send_apply(j, response);
        WHEN 'twilio.sms.login_code' THEN RETURN nmc.twilio_sms_login_code_apply(j, response);
        WHEN 'twilio.numbers.search' THEN RETURN nmc.twilio_numbers_search_apply(j, response);
        WHEN 'twilio.numbers.buy' THEN RETURN nmc.twilio_numbers_buy_apply(j, response);
        WHEN 'twilio.numbers.owned' THEN RETURN nmc.twilio_numbers_owned_apply(j, response);
        WHEN 'twilio.numbers.attach' THEN RETURN nmc.twilio_numbers_attach_apply(j, response);
        WHEN 'twilio.numbers.detach' THEN RETURN nmc.twilio_numbers_detach_apply(j, response);
        WHEN 'openai.chat' THEN RETURN nmc.openai_chat_apply(j, response);
        WHEN 'maps.geocode' THEN RETURN nmc.maps_geocode_apply(j, response);
        WHEN 'push.send' THEN RETURN nmc.push_send_apply(j, response);
        WHEN 'twilio.media.fetch' THEN RETURN nmc.twilio_media_fetch_apply(j, response);
        WHEN 'openai.audio.transcribe' THEN RETURN nmc.openai_transcribe_apply(j, response);
    END CASE;
END
$$;
COMMENT ON FUNCTION nmc.job_apply(nmc.jobs, jsonb) IS 'Applies a successful response to the domain, by kind; returns what to keep as the job result.';
CREATE OR REPLACE FUNCTION nmc.job_simulate(j nmc.jobs)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN CASE j.kind
        WHEN 'twilio.sms.send' THEN nmc.twilio_sms_send_simulate(j)
        WHEN 'twilio.sms.login_code' THEN nmc.twilio_sms_login_code_simulate(j)
        WHEN 'twilio.numbers.search' THEN nmc.twilio_numbers_search_simulate(j)
        WHEN 'twilio.numbers.buy' THEN nmc.twilio_numbers_buy_simulate(j)
        WHEN 'twilio.numbers.owned' THEN nmc.twilio_numbers_owned_simulate(j)
        WHEN 'twilio.numbers.attach' THEN nmc.twilio_numbers_attach_simulate(j)
        WHEN 'twilio.numbers.detach' THEN nmc.twilio_numbers_detach_simulate(j)
    END;
END
$$;
COMMENT ON FUNCTION nmc.job_simulate(nmc.jobs) IS 'Sandbox mode: the response the provider would give, by kind, or NULL for kinds that are never simulated.';
CREATE OR REPLACE FUNCTION nmc.api_phone_numbers_list(req jsonb)
RETURNS nmc.http_response LANGUAGE sql STABLE
AS $$
    SELECT nmc.respond(200, jsonb_build_object('phone_numbers', coalesce(jsonb_agg(jsonb_build_object(
               'id', id, 'phone', phone, 'friendly_name', friendly_name, 'simulated', simulated, 'created_at', created_at,
               'previous_webhooks', previous_webhooks) ORDER BY created_at), '[]')))
      FROM nmc.phone_numbers WHERE business_id = nmc.current_business_id() AND detached_at IS NULL
$$;
COMMENT ON FUNCTION nmc.api_phone_numbers_list(jsonb) IS 'GET /api/phone-numbers: the business''s numbers (previous_webhooks: for one the account owned before, the webhooks it had).';
CREATE OR REPLACE FUNCTION nmc.api_conversation_start(req jsonb)
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
CREATE OR REPLACE FUNCTION nmc.login_code_to_owner(body jsonb, client_addr text, p_purpose text, p_what text, p_text text)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $$
DECLARE
    v_email text;
    v_source text := coalesce(client_addr, '');
    u nmc.users;
    b nmc.businesses;
    from_phone text;
    answer nmc.http_response := nmc.respond(202, jsonb_build_object('message',
        format('If this email has an account and its business has a phone on file, a %s is on its way there by text.', p_what)));
BEGIN
    PERFORM nmc.input_object(body);
    PERFORM nmc.input_allowed_fields(body, ARRAY['email']);
    v_email := lower(nmc.input_text(body, 'email', true, 254));

    PERFORM pg_advisory_xact_lock(hashtextextended('nmc.login:' || v_email, 0));
    -- Each code is a text someone pays for: an address asks for a few per hour.
    IF nmc.login_codes_asked_too_often(v_source, p_purpose) THEN
        RETURN nmc.respond(429, nmc.error_body('rate_limited', format('too many %ss asked for from this address; try again later', p_what)),
                           'Retry-After: 3600');
    END IF;
    SELECT * INTO u FROM nmc.users WHERE email = v_email;
    IF NOT FOUND THEN
        RETURN answer;   -- the same answer: whether an email has an account is not told
    END IF;
    PERFORM set_config('nmc.business_id', u.business_id::text, true);
    SELECT * INTO b FROM nmc.businesses WHERE id = u.business_id;
    SELECT phone INTO from_phone FROM nmc.phone_numbers WHERE business_id = b.id AND detached_at IS NULL ORDER BY created_at, id LIMIT 1;
    IF nmc.owner_phone(b) IS NOT NULL AND from_phone IS NOT NULL THEN
        PERFORM nmc.login_code_send(b.id, u.id, p_purpose, nmc.owner_phone(b), from_phone,
            replace(replace(p_text, '{email}', u.email), '{minutes}', ceil(nmc.setting_int('login_code_ttl_seconds') / 60.0)::text), v_source);
    END IF;
    RETURN answer;   -- the same whether or not a code went out (none within the minute, or past the hour's allowance)
END
$$;
COMMENT ON FUNCTION nmc.login_code_to_owner(jsonb, text, text, text, text) IS
    'For {email}: texts a 6-digit code of p_purpose (nmc.login_code_send; p_text with {code}, {email}, {minutes}) from the business''s number to the owner''s phone — the verified alert phone, else the forward-to phone (at most one a minute and login_codes_per_hour an hour per account, login_codes_per_hour an hour per client address: 429); always answers 202 with the same words (a p_what "is on its way"), so it tells nobody whether an email has an account. Called by the nmc_auth functions that find the user before the tenant is known.';
CREATE OR REPLACE FUNCTION nmc.greeting_preview(p_business_id uuid, template text)
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    phone text := (SELECT p.phone FROM nmc.phone_numbers p WHERE p.business_id = p_business_id AND detached_at IS NULL ORDER BY p.created_at LIMIT 1);
    rendered text := nmc.greeting_render(p_business_id, nmc.greeting_validate(template), coalesce(phone, '+15555550100'));
    seg record := nmc.sms_segments(rendered);
BEGIN
    RETURN jsonb_build_object('text', rendered, 'encoding', seg.encoding, 'segments', seg.segments, 'characters', seg.units);
END
$$;
COMMENT ON FUNCTION nmc.greeting_preview(uuid, text) IS 'What a template renders to for this business now, with its SMS encoding (GSM-7 or UCS-2) and segment count. Validates the template first.';
CREATE OR REPLACE FUNCTION nmc.api_alert_phone_put(req jsonb)
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
CREATE OR REPLACE FUNCTION nmc.owner_alert_send(b nmc.businesses, p_customer_id uuid, p_phone_number_id uuid, body text, p_to text DEFAULT NULL)
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
CREATE OR REPLACE FUNCTION nmc.sandbox_number()
RETURNS nmc.phone_numbers
LANGUAGE plpgsql
AS $$
DECLARE
    pn nmc.phone_numbers;
BEGIN
    IF NOT nmc.sandbox_mode() THEN
        PERFORM nmc.raise_api_error(409, 'sandbox_only',
            'rehearsals run in sandbox mode only; with Twilio configured, call your number from a phone');
    END IF;
    SELECT * INTO pn FROM nmc.phone_numbers WHERE business_id = nmc.current_business_id() AND detached_at IS NULL
     ORDER BY created_at LIMIT 1;
    IF NOT FOUND THEN
        PERFORM nmc.raise_api_error(409, 'no_phone_number', 'get a phone number first');
    END IF;
    RETURN pn;
END
$$;
COMMENT ON FUNCTION nmc.sandbox_number() IS 'The current business''s number for a rehearsal; NM409 sandbox_only outside sandbox mode, NM409 no_phone_number before it has one.';
CREATE OR REPLACE FUNCTION nmc.appointment_tell_customer(a nmc.appointments, body text)
RETURNS nmc.messages
LANGUAGE plpgsql
AS $$
DECLARE
    cu nmc.customers;
    pn uuid;
    conv nmc.conversations;
BEGIN
    SELECT * INTO cu FROM nmc.customers WHERE id = a.customer_id;
    IF cu.opted_out_at IS NOT NULL OR cu.sms_unreachable_at IS NOT NULL THEN
        RETURN NULL;
    END IF;
    -- The number the customer knows: that of their latest conversation, else the business's first.
    SELECT phone_number_id INTO pn FROM nmc.conversations WHERE business_id = a.business_id AND customer_id = a.customer_id
     ORDER BY state = 'open' DESC, created_at DESC LIMIT 1;
    IF pn IS NULL THEN
        SELECT id INTO pn FROM nmc.phone_numbers WHERE business_id = a.business_id AND detached_at IS NULL ORDER BY created_at, id LIMIT 1;
    END IF;
    IF pn IS NULL THEN
        RETURN NULL;
    END IF;
    conv := nmc.conversation_open(a.business_id, a.customer_id, pn);
    RETURN nmc.sms_send(a.business_id, a.customer_id, (SELECT phone FROM nmc.phone_numbers WHERE id = pn), body, 'system', conv.id);
END
$$;
COMMENT ON FUNCTION nmc.appointment_tell_customer(nmc.appointments, text) IS 'Texts the customer of an appointment in their open conversation (a new one if none) on the number they know; NULL, nothing sent, when they opted out, cannot get texts, or the business has no number.';
INSERT INTO nmc.api_routes (route_method, route_path, handler, auth, summary) VALUES
    ('POST', '/api/phone-numbers/{id}/detach', 'api_phone_number_detach', 'jwt', 'Stop using an attached number: its earlier webhooks put back (a job)');

-- issue 20 (ops): keys for distribution by business (docs/scaling.md, scripts/distribution_keys.sql):
-- these tenant tables are keyed (business_id, id); where a row is also found by id alone
-- (a job's payload, a timer's subject) a plain index on id keeps that lookup.
ALTER TABLE nmc.business_hours DROP CONSTRAINT business_hours_pkey, DROP CONSTRAINT business_hours_business_id_id_key, ADD PRIMARY KEY (business_id, id);
ALTER TABLE nmc.business_closures DROP CONSTRAINT business_closures_pkey, DROP CONSTRAINT business_closures_business_id_id_key, ADD PRIMARY KEY (business_id, id);
ALTER TABLE nmc.blocked_numbers DROP CONSTRAINT blocked_numbers_pkey, DROP CONSTRAINT blocked_numbers_business_id_id_key, ADD PRIMARY KEY (business_id, id);
ALTER TABLE nmc.appointments DROP CONSTRAINT appointments_pkey, DROP CONSTRAINT appointments_business_id_id_key, ADD PRIMARY KEY (business_id, id);
CREATE INDEX appointments_id ON nmc.appointments (id);
ALTER TABLE nmc.job_attempts DROP CONSTRAINT job_attempts_pkey, DROP CONSTRAINT job_attempts_business_id_id_key, ADD PRIMARY KEY (business_id, id);
ALTER TABLE nmc.quick_replies DROP CONSTRAINT quick_replies_pkey, ADD PRIMARY KEY (business_id, id);
ALTER TABLE nmc.owner_alerts DROP CONSTRAINT owner_alerts_pkey, ADD PRIMARY KEY (business_id, id);
ALTER TABLE nmc.owner_texts DROP CONSTRAINT owner_texts_pkey, ADD PRIMARY KEY (business_id, id);
ALTER TABLE nmc.user_devices DROP CONSTRAINT user_devices_pkey, ADD PRIMARY KEY (business_id, id);
CREATE INDEX user_devices_id ON nmc.user_devices (id);
ALTER TABLE nmc.login_codes DROP CONSTRAINT login_codes_pkey, ADD PRIMARY KEY (business_id, id);
CREATE INDEX login_codes_id ON nmc.login_codes (id);
ALTER TABLE nmc.push_subscriptions DROP CONSTRAINT push_subscriptions_pkey, ADD PRIMARY KEY (business_id, id);
CREATE INDEX push_subscriptions_id ON nmc.push_subscriptions (id);

-- house-c (issue 16): the edge passes its own figures and a spooled webhook's
-- arrival as nmc_api.handle's edge argument instead of invented x-nmc-* headers.
DROP FUNCTION nmc_api.handle(text, text, jsonb, jsonb, text, text, text);
CREATE OR REPLACE FUNCTION nmc_api.handle(method text, path text, query jsonb, request_headers jsonb,
                               client_addr text, request_body text, raw_query text DEFAULT NULL,
                               edge jsonb DEFAULT NULL)
RETURNS TABLE (status int, content_type text, headers text, body text, body_bytes bytea)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = nmc, public, pg_temp
AS $$
DECLARE
    route nmc.api_routes;
    params text[];
    allowed text;
    parsed jsonb;
    form_pairs text[];
    resp nmc.http_response;
    err_state text;
    err_message text;
    err_code text;
    err_field text;
BEGIN
    -- Never inherit a tenant from an earlier call in the same transaction.
    PERFORM set_config('nmc.business_id', '', true), set_config('nmc.user_id', '', true);
    -- Exact paths first (an index lookup); patterns with {params} only if none.
    SELECT r.* INTO route FROM nmc.api_routes r
     WHERE r.route_method = upper(handle.method) AND r.route_path = handle.path;
    IF route.handler IS NULL THEN
        SELECT r.* INTO route FROM nmc.api_routes r
         WHERE r.route_method = upper(handle.method) AND r.route_path ~ '\{' AND handle.path ~ nmc.route_regex(r.route_path)
         LIMIT 1;
    END IF;
    IF route.handler IS NULL THEN
        SELECT string_agg(DISTINCT r.route_method, ', ') INTO allowed
          FROM nmc.api_routes r WHERE handle.path ~ nmc.route_regex(r.route_path);
        IF allowed IS NULL THEN
            resp := nmc.respond(404, nmc.error_body('not_found', format('no route %s', handle.path)));
        ELSE
            resp := nmc.respond(405, nmc.error_body('method_not_allowed',
                        format('%s does not accept %s; allowed: %s', handle.path, upper(handle.method), allowed)),
                        'Allow: ' || allowed);
        END IF;
        RETURN QUERY SELECT resp.status, 'application/json'::text, resp.headers, resp.body::text, NULL::bytea;
        RETURN;
    END IF;

    params := CASE WHEN route.route_path ~ '\{' THEN regexp_match(handle.path, nmc.route_regex(route.route_path)) ELSE '{}' END;
    -- Everything below runs in one subtransaction: an error leaves no trace.
    BEGIN
        IF route.auth = 'twilio' THEN
            -- Twilio posts its webhooks form-encoded, always.
            IF split_part(lower(coalesce(request_headers ->> 'content-type', '')), ';', 1) <> 'application/x-www-form-urlencoded' THEN
                PERFORM nmc.raise_api_error(415, 'unsupported_media_type',
                    'Twilio webhooks are application/x-www-form-urlencoded', 'content-type');
            END IF;
            BEGIN
                form_pairs := nmc.form_decode(coalesce(request_body, ''));
            EXCEPTION WHEN invalid_text_representation THEN
                PERFORM nmc.raise_api_error(400, 'malformed_form', 'the request body is not a valid form');
            END;
            PERFORM nmc.webhook_fields_check(form_pairs);
            IF NOT nmc.twilio_request_is_signed(handle.path, raw_query, form_pairs,
                                                request_headers ->> 'x-twilio-signature') THEN
                PERFORM nmc.raise_api_error(403, 'invalid_signature',
                    'X-Twilio-Signature is missing or does not match this request');
            END IF;
            parsed := nmc.form_object(form_pairs);
            -- Replayed from the edge's spool: when the edge received it (epoch ms).
            IF coalesce(handle.edge ->> 'spooled_at', '') ~ '^[0-9]{10,15}$' THEN
                parsed := parsed || jsonb_build_object('nmc_spooled_at',
                                        to_timestamp((handle.edge ->> 'spooled_at')::bigint / 1000.0));
            END IF;
        ELSIF coalesce(request_body, '') <> '' THEN
            BEGIN
                parsed := request_body::jsonb;
            EXCEPTION
                WHEN invalid_text_representation THEN
                    PERFORM nmc.raise_api_error(400, 'malformed_json', 'the request body is not valid JSON');
                WHEN untranslatable_character THEN
                    -- \u0000, which no text in the database can hold.
                    PERFORM nmc.raise_api_error(400, 'malformed_json', 'the request body holds a character that is not accepted (\u0000)');
                WHEN statement_too_complex OR program_limit_exceeded THEN
                    -- Nested deeper than the parser's stack allows.
                    PERFORM nmc.raise_api_error(400, 'malformed_json', 'the request body is nested too deeply');
            END;
        END IF;
        IF route.auth = 'jwt' THEN
            PERFORM nmc.authenticate(coalesce(request_headers, '{}'));
        END IF;
        resp := nmc.api_dispatch(route.handler, jsonb_build_object(
                'method', upper(handle.method), 'path', handle.path, 'params', to_jsonb(params),
                'query', coalesce(query, '{}'), 'headers', coalesce(request_headers, '{}'),
                'client_addr', client_addr, 'body', parsed, 'edge', coalesce(handle.edge, '{}')));
        IF resp.status IS NULL THEN
            PERFORM nmc.raise_api_error(404, 'not_found', 'not found');
        END IF;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS err_state = RETURNED_SQLSTATE, err_message = MESSAGE_TEXT,
                                err_code = PG_EXCEPTION_DETAIL, err_field = PG_EXCEPTION_HINT;
        resp := nmc.api_error_response(err_state, err_message, err_code, err_field, upper(handle.method) || ' ' || handle.path);
    END;
    IF resp.bytes IS NOT NULL THEN
        RETURN QUERY SELECT resp.status, resp.content_type, resp.headers, NULL::text, resp.bytes;
    ELSIF resp.content_type IS NOT NULL THEN
        RETURN QUERY SELECT resp.status, resp.content_type, resp.headers, resp.text_body, NULL::bytea;
    ELSE
        RETURN QUERY SELECT resp.status, 'application/json'::text, resp.headers, resp.body::text, NULL::bytea;
    END IF;
END
$$;
COMMENT ON FUNCTION nmc_api.handle(text, text, jsonb, jsonb, text, text, text, jsonb) IS
    'The edge''s one entry point for /api and /webhooks: (method, path, query args, lower-cased request headers, client address, raw body, raw query string, and the edge''s own document about the request — never taken from a header, so no client can set it: its live-feed clients and spool, {"ws_clients", "ws_dropped_slow", "spool_waiting"}, for the status page, or {"spooled_at": epoch ms} for a webhook it replays from its spool; handlers see it as req.edge) → (status, content type, extra header lines, body; or body_bytes instead of body for a binary answer such as a kept recording). API errors are JSON {"error":{"code","message"[,"field"]}}: NMxxx errors with their status, a constraint the request ran into 409 conflict, a value the schema refuses 400 invalid_input, anything else 500; Twilio webhooks are signature-checked and answer TwiML; one the edge replays from its spool reaches its handler with body.nmc_spooled_at (when the edge received it).';
CREATE OR REPLACE FUNCTION nmc_api.handle_many(requests jsonb)
RETURNS TABLE (status int, content_type text, headers text, body text)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = nmc, public, pg_temp
AS $$
BEGIN
    -- One after the other, in order, each exactly as nmc_api.handle alone (its
    -- own subtransaction; tenant reset at its start); one commit for all.
    -- (PL/pgSQL: the statement is planned once per session, not per call.)
    RETURN QUERY
    SELECT h.status, h.content_type, h.headers, h.body
      FROM jsonb_array_elements(requests) WITH ORDINALITY AS r(req, i)
     CROSS JOIN LATERAL nmc_api.handle(r.req ->> 0, r.req ->> 1, r.req -> 2, r.req -> 3, r.req ->> 4, r.req ->> 5, r.req ->> 6, r.req -> 7) h
     ORDER BY r.i;
END
$$;
COMMENT ON FUNCTION nmc_api.handle_many(jsonb) IS
    'Several requests in one transaction, for the edge''s group commit of the routes nmc_api.grouped_routes lists: requests is a JSON array of [method, path, query, request_headers, client_addr, request_body, raw_query, edge] (the arguments of nmc_api.handle, query, headers and edge as objects); one result row per request, in order. An error one request meets is its own response, as with nmc_api.handle.';
CREATE OR REPLACE FUNCTION nmc.api_status(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    h record;
    i record;
BEGIN
    -- Invoker's rights: row-level security limits the counts to the caller's
    -- business; whether the workers run is the same for everyone.
    SELECT * INTO h FROM nmc.dispatcher_health();
    SELECT * INTO i FROM nmc.inbox_health();
    RETURN nmc.respond(200, jsonb_build_object(
        'database', 'ok',
        'sandbox_mode', nmc.sandbox_mode(),
        'dispatcher', jsonb_build_object('running', h.worker_pid IS NOT NULL,
                                         'heartbeat_age_seconds', round(extract(epoch FROM h.heartbeat_age)::numeric, 3),
                                         'queued', h.queued, 'due', h.due, 'in_flight', h.in_flight,
                                         'oldest_due_age_seconds', round(coalesce(extract(epoch FROM h.oldest_due_age), 0)::numeric, 3)),
        'inbox', jsonb_build_object('running', i.worker_pid IS NOT NULL,
                                    'heartbeat_age_seconds', round(extract(epoch FROM i.heartbeat_age)::numeric, 3),
                                    'waiting', i.waiting, 'failed', i.failed,
                                    'oldest_waiting_age_seconds', round(coalesce(extract(epoch FROM i.oldest_waiting_age), 0)::numeric, 3)),
        'providers_5m', nmc.provider_stats_5m(),
        'providers', nmc.provider_circuit_status(),
        -- The answering edge's own figures (nmc_api.handle's edge argument, never a header):
        -- Twilio's webhooks it kept while the database was down, not yet replayed; its live-feed clients.
        'edge_spool', CASE WHEN req #>> '{edge,spool_waiting}' ~ '^[0-9]+$' THEN jsonb_build_object(
                         'waiting', (req #>> '{edge,spool_waiting}')::bigint) END,
        'websocket', CASE WHEN req #>> '{edge,ws_clients}' ~ '^[0-9]+$' THEN jsonb_build_object(
                         'clients', (req #>> '{edge,ws_clients}')::bigint,
                         'dropped_slow', (req #>> '{edge,ws_dropped_slow}')::bigint) END));
END
$$;
COMMENT ON FUNCTION nmc.api_status(jsonb) IS 'GET /api/status: database, sandbox mode, whether the dispatcher and the inbox worker run (heartbeats), and — of the caller''s business only — its queued jobs, its webhooks waiting in the inbox and provider successes / retries / failures over 5 minutes; each provider''s circuit (open when it is down, since when) and how many of its jobs wait behind it; and the answering edge''s WebSocket clients (connected, dropped for being slow) and the webhooks it kept while the database was down and has not replayed yet.';
CREATE OR REPLACE FUNCTION nmc_api.webhook_fallbacks()
RETURNS TABLE (path text, seq int, match_field text, match_values text[], content_type text, body text)
LANGUAGE sql STABLE
SECURITY DEFINER
SET search_path = nmc, public, pg_temp
AS $$
    WITH r(path, seq, match_field, match_values, answer) AS (VALUES
        -- No one can be reached to forward to: the caller is told a text is coming (nmc.webhook_voice records it as missed, reason outage).
        ('/webhooks/twilio/voice', 1, NULL::text, NULL::text[],
         nmc.twiml_say_and_hang_up('Sorry, we can''t take your call right now. We will text you right away.')),
        -- The forward ended: missed as nmc.call_dial_missed_reason says, else hang up.
        ('/webhooks/twilio/voice/dial', 1, 'DialCallStatus', nmc.dial_missed_statuses(),
         nmc.twiml_say_and_hang_up('Sorry we couldn''t take your call. We will text you right away.')),
        ('/webhooks/twilio/voice/dial', 2, 'DialBridged', ARRAY['false'],
         nmc.twiml_say_and_hang_up('Sorry we couldn''t take your call. We will text you right away.')),
        ('/webhooks/twilio/voice/dial', 3, NULL, NULL, nmc.twiml('<Hangup/>')),
        ('/webhooks/twilio/voice/status', 1, NULL, NULL, nmc.twiml(NULL)),
        -- A voicemail left before the outage: its callback is kept like any other.
        ('/webhooks/twilio/voice/recording', 1, NULL, NULL, nmc.twiml(NULL)),
        ('/webhooks/twilio/voice/recorded', 1, NULL, NULL, nmc.twiml('<Hangup/>')),
        ('/webhooks/twilio/sms', 1, NULL, NULL, nmc.twiml(NULL)),
        ('/webhooks/twilio/sms/status', 1, NULL, NULL, nmc.twiml(NULL)))
    SELECT r.path, r.seq, r.match_field, r.match_values, (r.answer).content_type, (r.answer).text_body
      FROM r ORDER BY r.path, r.seq
$$;
COMMENT ON FUNCTION nmc_api.webhook_fallbacks() IS
    'For the edge: per Twilio webhook path, the answers it may give while the database is down, in order — the first whose form field match_field has one of match_values (or that has no match_field) wins. The edge fetches these whenever it reaches the database and keeps them on disk; a webhook answered this way is spooled and replayed later through nmc_api.handle, with when it arrived (its edge argument''s spooled_at).';
-- house-c (issue 16): the inbox worker's batch sizes are settings, read by the
-- worker instead of repeated in C.
INSERT INTO nmc.settings (name, value, is_secret, description) VALUES
    ('inbox_batch_size', '500', false, 'Most webhooks the inbox worker applies in one transaction: large enough to share a commit, small enough to stream.'),
    ('inbox_min_together', '8', false, 'Webhooks of one kind in a row that the inbox worker applies as one set; a batch at least this large means they are arriving fast, and the worker lets the next ones gather for a moment.')
ON CONFLICT (name) DO NOTHING;
CREATE OR REPLACE FUNCTION nmc.webhook_inbox_run(max_webhooks int DEFAULT NULL, isolate boolean DEFAULT false)
RETURNS int
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
-- Every lookup here goes by index. The worker plans once per session, possibly on
-- a fresh install's empty-table statistics, and a sequential scan chosen then
-- would grow with the tables until the next ANALYZE.
SET enable_seqscan = off
AS $$
DECLARE
    t nmc.webhook_inbox;
    batch nmc.webhook_inbox[];
    calls boolean[];
    done int;
    n int := 0;
    err_state text;
    err_message text;
BEGIN
    max_webhooks := coalesce(max_webhooks, nmc.setting_int('inbox_batch_size'));
    -- If a crash loses this transaction, its webhooks are still in the inbox and
    -- are applied again; a text one of its jobs had sent meanwhile is sent again
    -- (at-least-once, as the dispatcher's claims). Nobody waits for its flush.
    PERFORM set_config('synchronous_commit', 'off', true);
    PERFORM nmc.defer_events();
    IF isolate THEN
        -- Each webhook alone, in a subtransaction: a failing one is marked and kept.
        FOR t IN SELECT * FROM nmc.webhook_inbox WHERE failed_at IS NULL ORDER BY id LIMIT max_webhooks FOR UPDATE SKIP LOCKED LOOP
            PERFORM set_config('nmc.business_id', t.business_id::text, true);
            BEGIN
                PERFORM nmc.webhook_inbox_apply(t);
                DELETE FROM nmc.webhook_inbox WHERE id = t.id;
            EXCEPTION
                WHEN deadlock_detected OR serialization_failure OR lock_not_available THEN
                    -- Transient: this webhook and everything after it wait for the next
                    -- round (a customer's STOP and START, a call and its end, keep their order).
                    RAISE LOG 'nevermisscall: % webhook % (inbox %) will be retried: %', t.kind, t.webhook_key, t.id, SQLERRM;
                    EXIT;
                WHEN OTHERS THEN
                    GET STACKED DIAGNOSTICS err_state = RETURNED_SQLSTATE, err_message = MESSAGE_TEXT;
                    RAISE WARNING 'nevermisscall: % webhook % (inbox %) could not be applied: % %', t.kind, t.webhook_key, t.id, err_state, err_message;
                    UPDATE nmc.webhook_inbox SET failed_at = now(), error = err_state || ': ' || err_message WHERE id = t.id;
            END;
            n := n + 1;
        END LOOP;
        PERFORM set_config('nmc.business_id', '', true);
        PERFORM nmc.emit_deferred_events();
        RETURN n;
    END IF;

    WHILE n < max_webhooks LOOP
        SELECT array_agg(q ORDER BY q.id) INTO batch
          FROM (SELECT * FROM nmc.webhook_inbox WHERE failed_at IS NULL ORDER BY id LIMIT max_webhooks - n FOR UPDATE SKIP LOCKED) q;
        EXIT WHEN batch IS NULL;
        -- Every path locks a conversation before its business's event counter. With
        -- several webhooks this transaction takes all their open conversations (by id)
        -- before touching any; their counters it takes only at its end, in business
        -- order, when it numbers its events (nmc.emit_deferred_events): a business's
        -- other writers (the dispatcher completing texts) wait for no batch.
        IF cardinality(batch) > 1 THEN
            PERFORM 1 FROM nmc.conversations c
              JOIN (SELECT DISTINCT g.business_id, g.phone_number_id, nmc.phone_or_null(g.params ->> 'From') AS phone
                      FROM unnest(batch) AS g) k
                ON c.business_id = k.business_id AND c.phone_number_id = k.phone_number_id AND c.state = 'open'
              JOIN nmc.customers cu ON cu.id = c.customer_id AND cu.business_id = k.business_id AND cu.phone = k.phone
             ORDER BY c.id FOR UPDATE OF c;
        END IF;
        -- Which are voice webhooks that can go together (a CallSid's second webhook in
        -- the batch waits for the next round: it must see what the first did).
        calls := ARRAY(SELECT g.kind IN ('voice', 'voice_dial')
                              AND row_number() OVER (PARTITION BY g.kind IN ('voice', 'voice_dial'), g.webhook_key ORDER BY g.ordinality) = 1
                         FROM unnest(batch) WITH ORDINALITY AS g ORDER BY g.ordinality);
        done := 1;
        IF calls[1] THEN
            -- A run of calls together (nmc.calls_apply: the missed ones decided and
            -- texted at once), up to the first webhook that is not one.
            WHILE done < cardinality(batch) AND calls[done + 1] LOOP
                done := done + 1;
            END LOOP;
            PERFORM nmc.calls_apply(batch[1:done]);
        ELSIF batch[1].kind = 'sms' THEN
            -- A run of inbound texts together (nmc.sms_apply, in arrival order).
            WHILE done < cardinality(batch) AND batch[done + 1].kind = 'sms' LOOP
                done := done + 1;
            END LOOP;
            PERFORM nmc.sms_apply(batch[1:done]);
        ELSE
            -- Status callbacks and voicemails one by one, up to the next call or text.
            WHILE done < cardinality(batch) AND NOT calls[done + 1] AND batch[done + 1].kind <> 'sms' LOOP
                done := done + 1;
            END LOOP;
            FOREACH t IN ARRAY batch[1:done] LOOP
                PERFORM set_config('nmc.business_id', t.business_id::text, true);
                PERFORM nmc.webhook_inbox_apply(t);
            END LOOP;
            PERFORM set_config('nmc.business_id', '', true);
        END IF;
        -- By an array of ids (one index probe each; IN (subquery) planned generically
        -- compared every inbox row with every webhook).
        DELETE FROM nmc.webhook_inbox WHERE id = ANY (ARRAY(SELECT r.id FROM unnest(batch[1:done]) r));
        n := n + done;
        -- The inbox had no more than this batch, and all of it is done.
        EXIT WHEN done = cardinality(batch) AND cardinality(batch) < max_webhooks - n + done;
    END LOOP;
    PERFORM nmc.emit_deferred_events();
    RETURN n;
END
$$;
COMMENT ON FUNCTION nmc.webhook_inbox_run(int, boolean) IS 'Applies up to max_webhooks (NULL: the setting inbox_batch_size) inbox webhooks in arrival order and deletes them; returns how many it took. A run of inbound texts goes through nmc.sms_apply at once; a run of voice webhooks (incoming calls, ends of forwarded calls — a CallSid once per run) through nmc.calls_apply at once, missed calls decided and texted together; status callbacks and voicemails through nmc.webhook_inbox_apply one by one, many per transaction. Events are numbered when the run ends (nmc.defer_events), and the transaction commits without waiting for its WAL flush (a crash that loses it leaves its webhooks in the inbox). The inbox worker runs it in one transaction per batch; when a batch raises an error (a deadlock with a timer included) it runs it again with isolate, which gives each webhook a subtransaction (a text is then a batch of one) and marks a failing one (failed_at, error) instead of losing the batch — one that meets a deadlock or serialization failure again is left for the next round, not marked.';

-- issue 16 (house-sql): each state machine's statuses listed once (nmc.<machine>_statuses(),
-- checked by a domain), its allowed moves in one function; the columns take the domains.
CREATE OR REPLACE FUNCTION nmc.lead_statuses()
RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT ARRAY['new', 'contacted', 'qualified', 'appointment_scheduled', 'won', 'lost', 'out_of_area'] $$;
COMMENT ON FUNCTION nmc.lead_statuses() IS 'A lead''s statuses, the one list (the domain nmc.lead_status checks it, GET /api/meta serves it): first its progress new → contacted → qualified → appointment_scheduled (active), then its ends.';
CREATE OR REPLACE FUNCTION nmc.call_statuses()
RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT ARRAY['ringing', 'forwarded', 'answered', 'missed'] $$;
COMMENT ON FUNCTION nmc.call_statuses() IS 'A call''s statuses, the one list (the domain nmc.call_status checks it, GET /api/meta serves it): ringing or forwarded when recorded, then answered or missed for good.';
CREATE OR REPLACE FUNCTION nmc.conversation_states()
RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT ARRAY['open', 'closed'] $$;
COMMENT ON FUNCTION nmc.conversation_states() IS 'A conversation''s states, the one list (the domain nmc.conversation_state checks it, GET /api/meta serves it): open, then closed for good (nmc.conversation_close).';
CREATE OR REPLACE FUNCTION nmc.conversation_modes()
RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT ARRAY['waiting', 'human_window', 'ai', 'human'] $$;
COMMENT ON FUNCTION nmc.conversation_modes() IS 'A conversation''s modes, the one list (the domain nmc.conversation_mode checks it, GET /api/meta serves it): waiting for the customer, human window open, the assistant, a person (taken over).';
CREATE OR REPLACE FUNCTION nmc.appointment_statuses()
RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT ARRAY['booked', 'cancelled'] $$;
COMMENT ON FUNCTION nmc.appointment_statuses() IS 'An appointment''s statuses, the one list (the domain nmc.appointment_status checks it, GET /api/meta serves it): booked, then cancelled for good (nmc.appointment_cancel, the one move).';
CREATE OR REPLACE FUNCTION nmc.job_statuses()
RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT ARRAY['queued', 'in_flight', 'done', 'failed', 'cancelled'] $$;
COMMENT ON FUNCTION nmc.job_statuses() IS 'A job''s statuses, the one list (the domain nmc.job_status checks it, GET /api/meta serves it).';
CREATE DOMAIN nmc.lead_status AS text CHECK (VALUE = ANY (nmc.lead_statuses()));
COMMENT ON DOMAIN nmc.lead_status IS 'A status of nmc.lead_statuses(); moved only by nmc.lead_transition.';
CREATE DOMAIN nmc.call_status AS text CHECK (VALUE = ANY (nmc.call_statuses()));
COMMENT ON DOMAIN nmc.call_status IS 'A status of nmc.call_statuses(); moved only where nmc.call_transition_allowed says.';
CREATE DOMAIN nmc.conversation_state AS text CHECK (VALUE = ANY (nmc.conversation_states()));
COMMENT ON DOMAIN nmc.conversation_state IS 'A state of nmc.conversation_states(); changed only by nmc.conversation_close.';
CREATE DOMAIN nmc.conversation_mode AS text CHECK (VALUE = ANY (nmc.conversation_modes()));
COMMENT ON DOMAIN nmc.conversation_mode IS 'A mode of nmc.conversation_modes(); changed only by nmc.conversation_set_mode.';
CREATE DOMAIN nmc.appointment_status AS text CHECK (VALUE = ANY (nmc.appointment_statuses()));
COMMENT ON DOMAIN nmc.appointment_status IS 'A status of nmc.appointment_statuses(); moved only by nmc.appointment_cancel.';
CREATE DOMAIN nmc.job_status AS text CHECK (VALUE = ANY (nmc.job_statuses()));
COMMENT ON DOMAIN nmc.job_status IS 'A status of nmc.job_statuses(); every UPDATE that moves it checks nmc.job_transition_allowed.';
ALTER TABLE nmc.leads DROP CONSTRAINT leads_status_check, ALTER COLUMN status DROP DEFAULT,
    ALTER COLUMN status TYPE nmc.lead_status, ALTER COLUMN status SET DEFAULT 'new';
ALTER TABLE nmc.calls DROP CONSTRAINT calls_status_check, ALTER COLUMN status TYPE nmc.call_status;
-- A parameter default of the conversations row type holds the table: dropped for the change, made again below.
DROP FUNCTION nmc.quick_reply_json(nmc.quick_replies, nmc.conversations);
ALTER TABLE nmc.conversations DROP CONSTRAINT conversations_state_check, DROP CONSTRAINT conversations_mode_check,
    ALTER COLUMN state DROP DEFAULT, ALTER COLUMN mode DROP DEFAULT,
    ALTER COLUMN state TYPE nmc.conversation_state, ALTER COLUMN mode TYPE nmc.conversation_mode,
    ALTER COLUMN state SET DEFAULT 'open', ALTER COLUMN mode SET DEFAULT 'waiting';
ALTER TABLE nmc.appointments DROP CONSTRAINT appointments_status_check, ALTER COLUMN status DROP DEFAULT,
    ALTER COLUMN status TYPE nmc.appointment_status, ALTER COLUMN status SET DEFAULT 'booked';
-- nmc.job_queue reads jobs.status: dropped for the change, made again as sql/outbox/dispatcher.sql has it.
DROP VIEW nmc.job_queue;
ALTER TABLE nmc.jobs DROP CONSTRAINT jobs_status_check, ALTER COLUMN status DROP DEFAULT,
    ALTER COLUMN status TYPE nmc.job_status, ALTER COLUMN status SET DEFAULT 'queued';
CREATE VIEW nmc.job_queue WITH (security_invoker = true) AS
SELECT kind, status, count(*) AS jobs,
       count(*) FILTER (WHERE status = 'queued' AND next_attempt_at <= now()) AS due,
       max(now() - next_attempt_at) FILTER (WHERE status = 'queued' AND next_attempt_at <= now()) AS oldest_due_age
  FROM nmc.jobs
 GROUP BY kind, status;
COMMENT ON VIEW nmc.job_queue IS 'DBA: jobs by kind and status, how many are due and how long the oldest due one has waited.';
CREATE OR REPLACE FUNCTION nmc.lead_transition_allowed(p_from text, p_to text, p_by text)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT p_by = 'owner' OR NOT (p_to = ANY (progress) AND p_from = ANY (progress))
           OR array_position(progress, p_to) > array_position(progress, p_from)
      FROM (SELECT (nmc.lead_statuses())[1:4]) AS x(progress)
$$;
COMMENT ON FUNCTION nmc.lead_transition_allowed(text, text, text) IS 'A lead''s allowed moves, the one place: the owner (p_by owner) may set any status, backwards too (a lead marked lost by mistake); automatic progress (p_by system) only moves forward along new → contacted → qualified → appointment_scheduled, and won, lost, out_of_area are reached from any status.';
DROP FUNCTION nmc.lead_transition(uuid, text);
CREATE OR REPLACE FUNCTION nmc.lead_transition(p_lead_id uuid, p_status text, p_by text DEFAULT 'system', p_reason text DEFAULT NULL)
RETURNS nmc.leads
LANGUAGE plpgsql
AS $$
DECLARE
    l nmc.leads;
BEGIN
    SELECT * INTO l FROM nmc.leads WHERE id = p_lead_id FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM nmc.raise_api_error(404, 'not_found', 'no such lead');
    END IF;
    IF p_status IS NULL OR NOT p_status = ANY (nmc.lead_statuses()) THEN
        PERFORM nmc.raise_api_error(400, 'invalid_field', 'status must be one of ' || array_to_string(nmc.lead_statuses(), ', '), 'status');
    END IF;
    IF p_by = 'owner' AND p_status = 'lost' AND p_reason IS NULL THEN
        PERFORM nmc.raise_api_error(400, 'missing_field', 'say why the lead was lost (reason), e.g. "went with another company"', 'reason');
    END IF;
    IF NOT nmc.lead_transition_allowed(l.status, p_status, p_by) THEN
        RETURN l;
    END IF;
    -- The owner's reason belongs to won and lost; any other status the owner sets clears it.
    UPDATE nmc.leads SET status = p_status, last_activity_at = now(),
           status_reason = CASE WHEN p_by IS DISTINCT FROM 'owner' THEN status_reason WHEN p_status IN ('won', 'lost') THEN p_reason END
     WHERE id = l.id RETURNING * INTO l;
    PERFORM nmc.emit_event(l.business_id, 'lead.updated', nmc.lead_json(l));
    RETURN l;
END
$$;
COMMENT ON FUNCTION nmc.lead_transition(uuid, text, text, text) IS 'The one function that moves a lead (p_by: system, or owner with p_reason — required for lost, kept for won and lost): a move nmc.lead_transition_allowed refuses leaves the lead as it is. Emits lead.updated.';
CREATE OR REPLACE FUNCTION nmc.api_lead_patch(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $$
DECLARE
    l nmc.leads;
    want text;
    reason text;
BEGIN
    PERFORM nmc.input_allowed_fields(nmc.input_object(req -> 'body'), ARRAY['status', 'reason']);
    want := nmc.input_text(req -> 'body', 'status', true, 30);
    reason := nmc.input_text(req -> 'body', 'reason', false, 500);
    l := nmc.lead_transition(nmc.input_uuid(req #>> '{params,0}', 'lead'), want, 'owner', reason);
    RETURN nmc.respond(200, jsonb_build_object('lead', nmc.lead_json(l)));
END
$$;
COMMENT ON FUNCTION nmc.api_lead_patch(jsonb) IS 'PATCH /api/leads/{id} {status, reason}: the owner moves a lead, any status (a reason is required for lost, kept for won and lost); emits lead.updated.';
CREATE OR REPLACE FUNCTION nmc.call_transition_allowed(p_from text, p_to text)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT p_from IN ('ringing', 'forwarded') AND p_to IN ('answered', 'missed') $$;
COMMENT ON FUNCTION nmc.call_transition_allowed(text, text) IS 'A call''s allowed moves, the one place: from ringing or forwarded to answered or missed, once (a call is recorded ringing or forwarded by nmc.calls_apply). The set-based paths (nmc.calls_apply, nmc.calls_missed) check it in their UPDATE.';
CREATE OR REPLACE FUNCTION nmc.calls_apply(ts nmc.webhook_inbox[])
RETURNS void
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    fresh text[];
    gone text;
    updated nmc.calls[];
    missed nmc.calls[];
    reasons text[];
    ats timestamptz[];
BEGIN
    -- A call's row is created by whichever of its webhooks is applied first
    -- (normally the incoming call; its dial result if that came alone), dated
    -- when that webhook was accepted.
    WITH ins AS (
        INSERT INTO nmc.calls (business_id, phone_number_id, twilio_call_sid, from_raw, to_phone, status, call_status, created_at)
        SELECT t.business_id, pn.id, t.webhook_key, coalesce(t.params ->> 'From', 'unknown'), pn.phone,
               CASE WHEN t.kind = 'voice_dial' OR t.params ->> 'nmc_answer' = 'forward' THEN 'forwarded' ELSE 'ringing' END,
               t.params ->> 'CallStatus', t.received_at
          FROM unnest(ts) WITH ORDINALITY AS t JOIN nmc.phone_numbers pn ON pn.id = t.phone_number_id AND pn.business_id = t.business_id
         ORDER BY t.ordinality
        ON CONFLICT (twilio_call_sid, business_id) DO NOTHING
        RETURNING twilio_call_sid)
    SELECT array_agg(ins.twilio_call_sid) INTO fresh FROM ins;
    FOR gone IN SELECT t.webhook_key FROM unnest(ts) AS t
                 WHERE NOT EXISTS (SELECT 1 FROM nmc.phone_numbers pn WHERE pn.id = t.phone_number_id AND pn.business_id = t.business_id) LOOP
        RAISE LOG 'nevermisscall: call % arrived for a number the business no longer has', gone;
    END LOOP;

    -- A dial result applies to a call not yet answered or missed (else it was
    -- applied before): its dial fields, and answered if the owner picked up.
    PERFORM 1 FROM nmc.calls c JOIN unnest(ts) AS t ON c.twilio_call_sid = t.webhook_key AND t.kind = 'voice_dial'
      ORDER BY c.id FOR UPDATE OF c;
    WITH u AS (
        UPDATE nmc.calls c SET dial_call_status = t.params ->> 'DialCallStatus', call_status = coalesce(t.params ->> 'CallStatus', c.call_status),
               duration_seconds = CASE WHEN t.params ->> 'DialCallDuration' ~ '^[0-9]+$' THEN (t.params ->> 'DialCallDuration')::int END,
               -- Completed calls are never texted.
               status = CASE WHEN nmc.call_dial_missed_reason(t.params) IS NULL THEN 'answered' ELSE c.status END,
               decision = CASE WHEN nmc.call_dial_missed_reason(t.params) IS NULL THEN 'not_missed' ELSE c.decision END,
               decision_reason = CASE WHEN nmc.call_dial_missed_reason(t.params) IS NULL THEN 'the call was answered' ELSE c.decision_reason END
          FROM unnest(ts) WITH ORDINALITY AS t
         WHERE t.kind = 'voice_dial' AND c.twilio_call_sid = t.webhook_key
           AND nmc.call_transition_allowed(c.status, CASE WHEN nmc.call_dial_missed_reason(t.params) IS NULL THEN 'answered' ELSE 'missed' END)
        RETURNING c AS row, t.ordinality AS i, nmc.call_dial_missed_reason(t.params) AS reason, t.received_at AS at),
    -- An incoming call applied now for the first time: forwarded, or missed at
    -- once (the caller was told the business is closed or has no forward phone).
    rang AS (
        SELECT c AS row, t.ordinality AS i, CASE WHEN t.params ->> 'nmc_answer' IS DISTINCT FROM 'forward' THEN t.params ->> 'nmc_answer' END AS reason,
               t.received_at AS at, t.params ->> 'nmc_answer' = 'forward' AS forwarded
          FROM unnest(ts) WITH ORDINALITY AS t JOIN nmc.calls c ON c.twilio_call_sid = t.webhook_key
         WHERE t.kind = 'voice' AND t.webhook_key = ANY (fresh)),
    applied AS (
        SELECT u.row, u.i, u.reason, u.at, u.reason IS NULL AS updated FROM u
        UNION ALL
        SELECT rang.row, rang.i, rang.reason, rang.at, coalesce(rang.forwarded, false) FROM rang)
    SELECT array_agg(a.row ORDER BY a.i) FILTER (WHERE a.updated),
           array_agg(a.row ORDER BY a.i) FILTER (WHERE NOT a.updated), array_agg(a.reason ORDER BY a.i) FILTER (WHERE NOT a.updated),
           array_agg(a.at ORDER BY a.i) FILTER (WHERE NOT a.updated)
      INTO updated, missed, reasons, ats
      FROM applied a;
    PERFORM nmc.emit_events(array_agg((updated[k]).business_id ORDER BY k), array_agg('call.updated'::text ORDER BY k),
                            array_agg(nmc.call_json(updated[k]) ORDER BY k))
       FROM generate_subscripts(updated, 1) AS k;
    PERFORM nmc.calls_missed(missed, reasons, ats);
END
$$;
COMMENT ON FUNCTION nmc.calls_apply(nmc.webhook_inbox[]) IS 'Applies accepted voice webhooks (incoming calls and the ends of forwarded calls; each CallSid at most once), in order: each call is recorded (created when its first webhook was accepted; a number gone since is logged). An incoming call is forwarded (call.updated), or missed at once when the caller was told the business is closed, has no forward phone, or it was the owner''s own phone. A <Dial> result records its fields: no-answer, busy, failed, canceled (or not bridged) → missed, answered → never texted (call.updated). The missed ones go together through nmc.calls_missed, decided as of the moment each webhook was accepted. Idempotent on CallSid: a webhook applied before changes nothing.';
CREATE OR REPLACE FUNCTION nmc.calls_missed(cs nmc.calls[], p_reasons text[], ats timestamptz[])
RETURNS nmc.calls[]
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    n int := coalesce(cardinality(cs), 0);
    callers text[];
    decisions text[];
    whys text[];
    want int[];           -- the calls that get a customer and a lead
    custs nmc.customers[];
    leads nmc.leads[];
    tx int[];             -- the calls texted
    convs nmc.conversations[];
    msgs nmc.messages[];
    cust_of uuid[];
    lead_of uuid[];
    conv_of uuid[];
    msg_of uuid[];
    r record;
    prev_customer uuid;
    greeted timestamptz;
    done nmc.calls[];
BEGIN
    IF n = 0 THEN
        RETURN cs;
    END IF;
    -- Who called: a number we can text, or not (anonymous, withheld); one of the
    -- owner's own phones gets no customer and no lead.
    SELECT array_agg(x.caller ORDER BY x.k),
           array_agg(CASE WHEN x.caller IS NULL THEN 'suppressed_anonymous'
                          WHEN x.caller = ANY (nmc.owner_phones(b)) THEN 'suppressed_owner' END ORDER BY x.k),
           array_agg(CASE WHEN x.caller IS NULL THEN format('the caller''s number (%s) cannot receive a text', (cs[x.k]).from_raw)
                          WHEN x.caller = ANY (nmc.owner_phones(b)) THEN 'the call came from the owner''s own phone' END ORDER BY x.k)
      INTO callers, decisions, whys
      FROM (SELECT k, nmc.phone_or_null((cs[k]).from_raw) AS caller FROM generate_subscripts(cs, 1) AS k OFFSET 0) x  -- once per call
      JOIN nmc.businesses b ON b.id = (cs[x.k]).business_id;
    SELECT array_agg(k ORDER BY k) INTO want FROM generate_subscripts(cs, 1) AS k WHERE decisions[k] IS NULL;
    cust_of := array_fill(NULL::uuid, ARRAY[n]);
    lead_of := cust_of;
    conv_of := cust_of;
    msg_of := cust_of;
    IF want IS NOT NULL THEN
        custs := nmc.customers_upsert(ARRAY(SELECT (cs[w.k]).business_id FROM unnest(want) WITH ORDINALITY AS w(k, o) ORDER BY w.o),
                                      ARRAY(SELECT callers[w.k] FROM unnest(want) WITH ORDINALITY AS w(k, o) ORDER BY w.o));
        leads := nmc.leads_for_calls(ARRAY(SELECT (cs[w.k]).business_id FROM unnest(want) WITH ORDINALITY AS w(k, o) ORDER BY w.o),
                                     ARRAY(SELECT (custs[o]).id FROM generate_subscripts(custs, 1) AS o ORDER BY o));
        -- The decision, each customer's calls in the order they came: a call
        -- texted moves the customer's last greeting for the calls after it.
        FOR r IN
            SELECT w.k, cu.id AS customer_id, cu.opted_out_at, cu.sms_unreachable_at, cu.sms_unreachable_reason, cu.last_greeting_at,
                   (leads[w.o]).id AS lead_id, b.min_ring_seconds, b.repeat_window_seconds,
                   EXISTS (SELECT 1 FROM nmc.blocked_numbers bl WHERE bl.business_id = cu.business_id AND bl.phone = cu.phone) AS blocked,
                   (cs[w.k]).created_at AS rang_at, p_reasons[w.k] AS reason, ats[w.k] AS at
              FROM unnest(want) WITH ORDINALITY AS w(k, o)
              JOIN unnest(custs) WITH ORDINALITY AS cu ON cu.ordinality = w.o
              JOIN nmc.businesses b ON b.id = cu.business_id
             ORDER BY cu.id, w.o
        LOOP
            IF r.customer_id IS DISTINCT FROM prev_customer THEN
                prev_customer := r.customer_id;
                greeted := r.last_greeting_at;
            END IF;
            cust_of[r.k] := r.customer_id;
            lead_of[r.k] := r.lead_id;
            IF r.blocked THEN
                decisions[r.k] := 'suppressed_blocked';
                whys[r.k] := 'the number is on the block list';
            ELSIF r.opted_out_at IS NOT NULL THEN
                decisions[r.k] := 'suppressed_opted_out';
                whys[r.k] := 'the customer replied STOP';
            ELSIF r.sms_unreachable_at IS NOT NULL THEN
                decisions[r.k] := 'suppressed_unreachable';
                whys[r.k] := 'the number cannot receive texts: ' || coalesce(r.sms_unreachable_reason, 'unknown');
            ELSIF r.reason NOT IN ('after_hours', 'no_forward_phone', 'outage')
                  AND r.at - r.rang_at < make_interval(secs => r.min_ring_seconds) THEN
                decisions[r.k] := 'suppressed_short_ring';
                whys[r.k] := format('the caller hung up after %s s, before the minimum ring time of %s s',
                                    round(extract(epoch FROM r.at - r.rang_at)), r.min_ring_seconds);
            ELSIF greeted > r.at - make_interval(secs => r.repeat_window_seconds) THEN
                decisions[r.k] := 'suppressed_repeat';
                whys[r.k] := format('this number got a greeting %s s ago (repeat window %s s)',
                                    round(extract(epoch FROM r.at - greeted)), r.repeat_window_seconds);
            ELSE
                decisions[r.k] := 'texted';
                whys[r.k] := 'missed call: greeting sent';
                greeted := greatest(r.at, greeted);
            END IF;
        END LOOP;
    END IF;

    SELECT array_agg(k ORDER BY k) INTO tx FROM generate_subscripts(cs, 1) AS k WHERE decisions[k] = 'texted';
    IF tx IS NOT NULL THEN
        -- An open conversation and the greeting (rendered once per business number).
        convs := nmc.conversations_open(ARRAY(SELECT (cs[t.k]).business_id FROM unnest(tx) WITH ORDINALITY AS t(k, o) ORDER BY t.o),
                                        ARRAY(SELECT cust_of[t.k] FROM unnest(tx) WITH ORDINALITY AS t(k, o) ORDER BY t.o),
                                        ARRAY(SELECT (cs[t.k]).phone_number_id FROM unnest(tx) WITH ORDINALITY AS t(k, o) ORDER BY t.o),
                                        ARRAY(SELECT lead_of[t.k] FROM unnest(tx) WITH ORDINALITY AS t(k, o) ORDER BY t.o));
        WITH numbers AS MATERIALIZED (  -- each greeting rendered once
            SELECT g.business_id, g.phone_number_id, g.phone, nmc.greeting_render(g.business_id, nmc.greeting_template_of(g.business_id), g.phone) AS body
              FROM (SELECT DISTINCT pn.business_id, pn.id AS phone_number_id, pn.phone
                      FROM unnest(tx) AS t(k) JOIN nmc.phone_numbers pn ON pn.id = (cs[t.k]).phone_number_id) g
        ), texts AS (
            SELECT t.o, (cs[t.k]).business_id AS b, cust_of[t.k] AS c, nu.phone, nu.body, (convs[t.o]).id AS conv
              FROM unnest(tx) WITH ORDINALITY AS t(k, o) JOIN numbers nu ON nu.phone_number_id = (cs[t.k]).phone_number_id
        )
        SELECT nmc.sms_send_many(array_agg(x.b ORDER BY x.o), array_agg(x.c ORDER BY x.o), array_agg(x.phone ORDER BY x.o),
                                 array_agg(x.body ORDER BY x.o), 'system', array_agg(x.conv ORDER BY x.o))
          INTO msgs FROM texts x;
        FOR o IN 1 .. cardinality(tx) LOOP
            conv_of[tx[o]] := (convs[o]).id;
            msg_of[tx[o]] := (msgs[o]).id;
        END LOOP;
        UPDATE nmc.customers cu SET last_greeting_at = greatest(g.at, cu.last_greeting_at)
          FROM (SELECT cust_of[t.k] AS id, max(ats[t.k]) AS at FROM unnest(tx) AS t(k) GROUP BY 1) g
         WHERE cu.id = g.id;
    END IF;

    -- Every decision recorded on its call, and call.missed for each, in order.
    WITH u AS (
        UPDATE nmc.calls c SET status = 'missed', missed_reason = p_reasons[x.k], missed_at = ats[x.k], decision = decisions[x.k],
               decision_reason = whys[x.k], customer_id = cust_of[x.k], lead_id = lead_of[x.k], conversation_id = conv_of[x.k],
               message_id = msg_of[x.k]
          FROM generate_subscripts(cs, 1) AS x(k)
         WHERE c.id = (cs[x.k]).id AND nmc.call_transition_allowed(c.status, 'missed')
        RETURNING c AS row, x.k)
    SELECT array_agg(u.row ORDER BY u.k) INTO done FROM u;
    PERFORM nmc.emit_events(array_agg((done[k]).business_id ORDER BY k), array_agg('call.missed'::text ORDER BY k),
                            array_agg(nmc.call_json(done[k]) || jsonb_build_object('customer', nmc.customer_brief((done[k]).customer_id)) ORDER BY k))
       FROM generate_subscripts(done, 1) AS k;
    RETURN done;
END
$$;
COMMENT ON FUNCTION nmc.calls_missed(nmc.calls[], text[], timestamptz[]) IS
    'Calls missed (element k of each array: the call, why it was missed, the moment at — when its webhook was accepted), in the caller''s transaction, decided as if one after the other in this order: customer, lead (new, or the active one touched) and the text decision — anonymous (a number that cannot be texted), one of the owner''s own phones (no customer, no lead), blocked, opted out, unreachable, hung up before min_ring_seconds, greeted within repeat_window_seconds (by an earlier call of the same run too), or texted (open conversation, rendered greeting, twilio.sms.send job, last_greeting_at). Recorded on each call (decision, decision_reason); emits lead.updated, conversation.created, message.created and call.missed — each kind for the whole run, in call order. The one place a missed call is decided: one call is a run of one. Returns the calls as recorded, in order.';
CREATE OR REPLACE FUNCTION nmc.conversation_mode_allowed(p_from text, p_to text)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT (p_from, p_to) IN (('waiting', 'human_window'), ('human_window', 'waiting'), ('human_window', 'human_window'),
                              ('waiting', 'waiting'), ('human_window', 'ai'), ('ai', 'ai'),
                              -- Takeover, from any mode, and release back to waiting.
                              ('waiting', 'human'), ('human_window', 'human'), ('ai', 'human'), ('human', 'human'),
                              ('human', 'waiting'))
$$;
COMMENT ON FUNCTION nmc.conversation_mode_allowed(text, text) IS 'A conversation''s allowed mode changes, the one place: waiting ⇄ human_window (the customer wrote; the owner answered), human_window → ai (nobody answered in time), takeover to human from any mode and release back to waiting; staying in a mode is allowed. Set-based paths check it in their UPDATE.';
CREATE OR REPLACE FUNCTION nmc.quick_reply_json(q nmc.quick_replies, conv nmc.conversations DEFAULT NULL)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$ SELECT jsonb_build_object('id', q.id, 'label', q.label, 'body', q.body, 'position', q.position,
                                'text', nmc.quick_reply_render(q, conv)) $$;
COMMENT ON FUNCTION nmc.quick_reply_json(nmc.quick_replies, nmc.conversations) IS 'A quick reply for the API: its template (body) and its text rendered for conv (or for nobody in particular).';
CREATE OR REPLACE FUNCTION nmc.conversation_set_mode(c nmc.conversations, p_mode text, p_deadline timestamptz DEFAULT NULL)
RETURNS nmc.conversations
LANGUAGE plpgsql
AS $$
BEGIN
    IF NOT nmc.conversation_mode_allowed(c.mode, p_mode) THEN
        PERFORM nmc.raise_api_error(409, 'invalid_transition', format('a conversation cannot go from %s to %s', c.mode, p_mode));
    END IF;
    IF c.human_window_timer_id IS NOT NULL AND p_mode <> 'human_window' THEN
        PERFORM nmc.timer_cancel(c.human_window_timer_id);
    END IF;
    UPDATE nmc.conversations SET mode = p_mode,
           human_window_deadline = CASE WHEN p_mode = 'human_window' THEN p_deadline END,
           human_window_timer_id = CASE WHEN p_mode = 'human_window' THEN human_window_timer_id END
     WHERE id = c.id RETURNING * INTO c;
    PERFORM nmc.emit_event(c.business_id, 'conversation.updated',
        jsonb_build_object('id', c.id, 'mode', c.mode, 'state', c.state, 'human_window_deadline', c.human_window_deadline));
    RETURN c;
END
$$;
COMMENT ON FUNCTION nmc.conversation_set_mode(nmc.conversations, text, timestamptz) IS 'Changes a conversation''s mode if the transition is allowed (else NM409 invalid_transition), cancelling a pending human-window timer when leaving that mode; emits conversation.updated.';
CREATE OR REPLACE FUNCTION nmc.job_transition_allowed(p_from text, p_to text)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE p_from
               WHEN 'queued' THEN p_to IN ('queued', 'in_flight', 'done', 'failed', 'cancelled')
               WHEN 'in_flight' THEN p_to IN ('in_flight', 'queued', 'done', 'failed', 'cancelled')
               WHEN 'failed' THEN p_to = 'queued'
               WHEN 'cancelled' THEN p_to = 'queued'
               ELSE false END
$$;
COMMENT ON FUNCTION nmc.job_transition_allowed(text, text) IS 'A job''s allowed moves, the one place: queued → in_flight (claimed; an expired lease is claimed again) → done, failed, cancelled, or back to queued (retry, lease expired, held behind an open circuit); a queued job may be held, dropped or finished without a send (sandbox); failed and cancelled go back to queued only by a DBA''s nmc.job_retry; done is final. Checked in every UPDATE that sets a job''s status.';
CREATE OR REPLACE FUNCTION nmc.job_finish(j nmc.jobs, p_status text, p_result jsonb, p_http_status int,
                               p_error text, p_error_code text, p_simulated boolean DEFAULT false)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    UPDATE nmc.jobs SET status = p_status, result = p_result, last_http_status = p_http_status,
           last_error = nmc.redact_secrets(p_error), error_code = p_error_code,
           simulated = simulated OR p_simulated, lease_expires_at = NULL,
           finished_at = now(), updated_at = now()
     WHERE id = j.id AND nmc.job_transition_allowed(status, p_status);
END
$$;
COMMENT ON FUNCTION nmc.job_finish(nmc.jobs, text, jsonb, int, text, text, boolean) IS 'Marks a job done or failed with its outcome (errors redacted).';
CREATE OR REPLACE FUNCTION nmc.job_retry_or_fail(j nmc.jobs, k nmc.job_kinds, p_http_status int, p_code text,
                                      p_error text, p_retry_after text)
RETURNS text
LANGUAGE plpgsql
AS $$
BEGIN
    IF nmc.circuit_failure(k.provider, p_error) = 'open' THEN
        -- The provider is down: wait behind its circuit; this attempt (a
        -- probe, or a send out when it opened) is not taken from the budget.
        UPDATE nmc.jobs SET status = 'queued', lease_expires_at = NULL, held_at = coalesce(held_at, now()),
               retry_budget_from = retry_budget_from + 1,
               next_attempt_at = 'infinity', last_http_status = p_http_status,
               last_error = nmc.redact_secrets(p_error), error_code = p_code, updated_at = now()
         WHERE id = j.id AND nmc.job_transition_allowed(status, 'queued');
        RETURN 'held';
    END IF;
    IF j.attempts - j.retry_budget_from >= k.max_attempts THEN
        PERFORM nmc.job_fail_permanently(j, k, p_http_status, p_code,
            format('gave up after %s attempts: %s', j.attempts, p_error));
        RETURN 'failed';
    END IF;
    UPDATE nmc.jobs SET status = 'queued', lease_expires_at = NULL,
           next_attempt_at = now() + nmc.job_backoff(j.attempts, p_retry_after),
           last_http_status = p_http_status, last_error = nmc.redact_secrets(p_error),
           error_code = p_code, updated_at = now()
     WHERE id = j.id AND nmc.job_transition_allowed(status, 'queued');
    RETURN 'retry';
END
$$;
COMMENT ON FUNCTION nmc.job_retry_or_fail(nmc.jobs, nmc.job_kinds, int, text, text, text) IS 'After a transient failure (counted by the provider''s circuit): held behind the circuit if it is open, else back to queued with backoff, or failed once the retry budget (max_attempts) is spent.';
CREATE OR REPLACE FUNCTION nmc.job_cancel(p_job_id bigint)
RETURNS nmc.jobs
LANGUAGE plpgsql
AS $$
DECLARE
    j nmc.jobs;
BEGIN
    UPDATE nmc.jobs SET status = 'cancelled', lease_expires_at = NULL, finished_at = now(), updated_at = now()
     WHERE id = p_job_id AND nmc.job_transition_allowed(status, 'cancelled')
    RETURNING * INTO j;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'job % is not queued or in flight', p_job_id
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    RETURN j;
END
$$;
COMMENT ON FUNCTION nmc.job_cancel(bigint) IS 'DBA: cancels a queued or in-flight job. A response that arrives for it later is recorded as a stale attempt and applied to nothing.';
CREATE OR REPLACE FUNCTION nmc.dispatcher_claim(max_jobs int)
RETURNS TABLE (job_id bigint, attempt int, method text, url text, headers text[], body text,
               basic_user text, basic_password text, connect_timeout_ms int, total_timeout_ms int, body_bytes bytea)
LANGUAGE plpgsql
AS $$
DECLARE
    j nmc.jobs;
    k nmc.job_kinds;
    req nmc.http_request;
    sandbox boolean := nmc.sandbox_mode();
    lease_margin_ms bigint := nmc.setting_int('dispatcher_lease_margin_ms');
    cfg jsonb := nmc.settings_json();
    simulated jsonb;
    probe_ids bigint[];
    drop_code text;
    drop_message text;
BEGIN
    IF max_jobs <= 0 THEN
        RETURN;
    END IF;
    probe_ids := nmc.circuit_hold_and_probe();
    -- The claim need not wait for its WAL flush: if a crash loses it, the
    -- job is simply still queued, and delivery is at-least-once anyway.
    PERFORM set_config('synchronous_commit', 'off', true);
    FOR j IN
        UPDATE nmc.jobs SET status = 'in_flight', attempts = jobs.attempts + 1, updated_at = now(), held_at = NULL,
               lease_expires_at = now() + make_interval(secs => (kk.total_timeout_ms + lease_margin_ms) / 1000.0)
          FROM nmc.job_kinds kk,
               (SELECT d.id FROM (SELECT q.id FROM nmc.jobs q
                                   WHERE q.status = 'queued' AND q.next_attempt_at <= now()
                                   ORDER BY q.next_attempt_at LIMIT max_jobs FOR UPDATE SKIP LOCKED) d
                UNION ALL
                SELECT e.id FROM (SELECT x.id FROM nmc.jobs x
                                   WHERE x.status = 'in_flight' AND x.lease_expires_at <= now()
                                   ORDER BY x.lease_expires_at LIMIT max_jobs FOR UPDATE SKIP LOCKED) e
                UNION ALL
                SELECT unnest(probe_ids)
                LIMIT max_jobs + cardinality(probe_ids)) due
         WHERE jobs.id = due.id AND kk.kind = jobs.kind AND nmc.job_transition_allowed(jobs.status, 'in_flight')
        RETURNING jobs.*
    LOOP
        SELECT * INTO k FROM nmc.job_kinds WHERE kind = j.kind;
        BEGIN
            IF j.attempts - j.retry_budget_from > k.max_attempts THEN
                -- Only a lease that kept expiring gets here (crashes mid-flight).
                PERFORM nmc.job_fail_permanently(j, k, j.last_http_status, 'lease_expired',
                    format('gave up after %s attempts whose outcome was never recorded', j.attempts - 1));
                CONTINUE;
            END IF;
            simulated := CASE WHEN sandbox AND k.provider = 'twilio' THEN nmc.job_simulate(j) END;
            IF simulated IS NOT NULL THEN
                INSERT INTO nmc.job_attempts (job_id, business_id, attempt, outcome, http_status, duration_ms)
                VALUES (j.id, j.business_id, j.attempts, 'done', 201, 0);
                PERFORM nmc.job_apply_success(j, k, 201, simulated, true);
                CONTINUE;
            END IF;
            req := nmc.job_build_request(j, cfg);
            job_id := j.id;
            attempt := j.attempts;
            method := req.method;
            url := req.url;
            headers := req.headers;
            body := req.body;
            basic_user := req.basic_user;
            basic_password := req.basic_password;
            connect_timeout_ms := k.connect_timeout_ms;
            total_timeout_ms := k.total_timeout_ms;
            body_bytes := req.body_bytes;
            RETURN NEXT;
        EXCEPTION
            WHEN SQLSTATE 'NMD01' THEN
                -- No longer wanted at the moment it would go out (see nmc.job_not_wanted).
                GET STACKED DIAGNOSTICS drop_code = PG_EXCEPTION_DETAIL, drop_message = MESSAGE_TEXT;
                PERFORM nmc.job_drop(j, drop_code, drop_message);
                PERFORM nmc.circuit_probe_again(k.provider, j.id = ANY (probe_ids));
            WHEN OTHERS THEN
                -- Failed like any job: its kind's domain effects follow (a text marked failed, …).
                PERFORM nmc.job_fail_permanently(j, k, NULL, 'build_error', 'could not build the request: ' || SQLERRM);
                PERFORM nmc.circuit_probe_again(k.provider, j.id = ANY (probe_ids));
        END;
    END LOOP;
END
$$;
COMMENT ON FUNCTION nmc.dispatcher_claim(int) IS
    'Dispatcher: claims up to max_jobs due jobs (queued and due, or in flight with an expired lease) with SKIP LOCKED, plus the probe of each open provider circuit whose probe is due (nmc.circuit_hold_and_probe holds the rest), leases them, and returns their HTTP requests (body_bytes: a binary body, sent instead of body). Sandbox-mode Twilio jobs complete here, simulated. A job whose request cannot be built fails alone; one no longer wanted when it would go out (NMD01) is dropped (nmc.job_drop).';
CREATE OR REPLACE FUNCTION nmc.dispatcher_backstop(OUT timers_fired int, OUT leases_requeued int)
LANGUAGE plpgsql
AS $$
DECLARE
    t bigint;
BEGIN
    -- Fire timers the dispatcher has left overdue for more than a few seconds.
    timers_fired := 0;
    FOR t IN SELECT id FROM nmc.timers
              WHERE fired_at IS NULL AND cancelled_at IS NULL
                AND due_at < now() - make_interval(secs => nmc.setting_int('backstop_grace_ms') / 1000.0)
              ORDER BY due_at LIMIT 1000 FOR UPDATE SKIP LOCKED
    LOOP
        IF nmc.timer_fire(t) THEN
            timers_fired := timers_fired + 1;
        END IF;
    END LOOP;
    -- In-flight jobs whose lease ran out go back to the queue.
    WITH expired AS (
        UPDATE nmc.jobs SET status = 'queued', lease_expires_at = NULL, next_attempt_at = now(), updated_at = now(),
               last_error = coalesce(last_error, 'lease expired before the attempt was recorded')
         WHERE status = 'in_flight' AND lease_expires_at < now() AND nmc.job_transition_allowed(status, 'queued')
        RETURNING 1)
    SELECT count(*) INTO leases_requeued FROM expired;
END
$$;
COMMENT ON FUNCTION nmc.dispatcher_backstop() IS
    'pg_cron, every minute: fires timers overdue by more than backstop_grace_ms and re-queues in-flight jobs whose lease expired — what the dispatcher does itself unless it is stuck or down.';
CREATE OR REPLACE FUNCTION nmc.conversation_state_allowed(p_from text, p_to text)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT p_to = 'closed' $$;
COMMENT ON FUNCTION nmc.conversation_state_allowed(text, text) IS 'A conversation''s one state move: it only ever closes (nmc.conversation_close; closing a closed one again only merges what was gathered); the next text opens a fresh conversation.';
CREATE OR REPLACE FUNCTION nmc.appointment_transition_allowed(p_from text, p_to text)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT (p_from, p_to) = ('booked', 'cancelled') $$;
COMMENT ON FUNCTION nmc.appointment_transition_allowed(text, text) IS 'An appointment''s one move: booked → cancelled (a moved appointment stays booked).';
CREATE OR REPLACE FUNCTION nmc.appointment_cancel(p_appointment_id uuid, p_reason text DEFAULT NULL)
RETURNS nmc.appointments
LANGUAGE plpgsql
AS $$
DECLARE
    a nmc.appointments;
BEGIN
    UPDATE nmc.appointments SET status = 'cancelled', cancel_reason = p_reason
     WHERE id = p_appointment_id AND nmc.appointment_transition_allowed(status, 'cancelled') RETURNING * INTO a;
    IF NOT FOUND THEN
        PERFORM nmc.raise_api_error(404, 'not_found', 'no booked appointment with this id');
    END IF;
    PERFORM nmc.appointment_reminders_cancel(a);
    PERFORM nmc.emit_event(a.business_id, 'appointment.cancelled', nmc.appointment_json(a));
    RETURN a;
END
$$;
COMMENT ON FUNCTION nmc.appointment_cancel(uuid, text) IS 'Cancels a booked appointment (its time becomes free, its reminders are cancelled); emits appointment.cancelled.';
CREATE OR REPLACE FUNCTION nmc.service_radius_max_km()
RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT 500::numeric $$;
COMMENT ON FUNCTION nmc.service_radius_max_km() IS 'The largest service radius a business may set, in kilometres: the table checks it, PATCH /api/business refuses more, GET /api/meta serves it to the dashboard''s form.';
CREATE OR REPLACE FUNCTION nmc.business_update(patch jsonb)
RETURNS nmc.businesses
LANGUAGE plpgsql
AS $$
DECLARE
    b nmc.businesses;
    v text;
BEGIN
    PERFORM nmc.input_object(patch);
    PERFORM nmc.input_allowed_fields(patch, ARRAY['name', 'trade_type', 'address_line1', 'address_line2',
        'city', 'region', 'postal_code', 'country', 'timezone', 'forward_to_phone', 'ring_timeout_seconds',
        'min_ring_seconds', 'repeat_window_seconds', 'human_window_seconds', 'max_reply_segments', 'max_ai_segments', 'appointment_minutes',
        'after_hours_message', 'help_text', 'safety_advice', 'ai_disclosure', 'service_postal_codes',
        'service_radius_km', 'service_center', 'emergency_sms_to_owner', 'reminder_day_before', 'reminder_hours_before',
        'voicemail_enabled', 'appointment_buffer_minutes']);

    SELECT * INTO b FROM nmc.businesses WHERE id = nmc.current_business_id() FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM nmc.raise_api_error(404, 'not_found', 'business not found');
    END IF;

    IF patch ? 'name' THEN
        b.name := nmc.input_text(patch, 'name', true, 200);
    END IF;
    IF patch ? 'trade_type' THEN
        b.trade_type := nmc.input_trade_type(nmc.input_text(patch, 'trade_type', true, 50));
    END IF;
    IF patch ? 'address_line1' THEN
        b.address_line1 := nmc.input_text(patch, 'address_line1', false, 200, 0);
    END IF;
    IF patch ? 'address_line2' THEN
        b.address_line2 := nmc.input_text(patch, 'address_line2', false, 200, 0);
    END IF;
    IF patch ? 'city' THEN
        b.city := nmc.input_text(patch, 'city', false, 100, 0);
    END IF;
    IF patch ? 'region' THEN
        b.region := nmc.input_text(patch, 'region', false, 100, 0);
    END IF;
    IF patch ? 'postal_code' THEN
        b.postal_code := nmc.input_text(patch, 'postal_code', false, 20, 0);
    END IF;
    IF patch ? 'country' THEN
        v := upper(nmc.input_text(patch, 'country', true, 2, 2));
        IF v !~ '^[A-Z]{2}$' THEN
            PERFORM nmc.raise_api_error(400, 'invalid_field', 'country must be a two-letter ISO 3166 code such as US', 'country');
        END IF;
        b.country := v;
    END IF;
    IF patch ? 'timezone' THEN
        b.timezone := nmc.input_timezone(nmc.input_text(patch, 'timezone', true, 64));
    END IF;
    IF patch ? 'forward_to_phone' THEN
        v := nmc.input_text(patch, 'forward_to_phone', false, 32, 0);
        b.forward_to_phone := CASE WHEN coalesce(v, '') = '' THEN NULL
                                   ELSE nmc.normalize_phone(v, 'forward_to_phone') END;
    END IF;

    IF patch ? 'ring_timeout_seconds' THEN
        b.ring_timeout_seconds := nmc.input_int(patch, 'ring_timeout_seconds', 5, 600);
    END IF;
    IF patch ? 'min_ring_seconds' THEN
        b.min_ring_seconds := nmc.input_int(patch, 'min_ring_seconds', 0, 600);
    END IF;
    IF patch ? 'repeat_window_seconds' THEN
        b.repeat_window_seconds := nmc.input_int(patch, 'repeat_window_seconds', 0, 86400);
    END IF;
    IF patch ? 'human_window_seconds' THEN
        b.human_window_seconds := nmc.input_int(patch, 'human_window_seconds', 0, 3600);
    END IF;
    IF patch ? 'max_ai_segments' THEN
        b.max_ai_segments := nmc.input_int(patch, 'max_ai_segments', 1, 10);
    END IF;
    IF patch ? 'appointment_minutes' THEN
        b.appointment_minutes := nmc.input_int(patch, 'appointment_minutes', 15, 480);
    END IF;
    IF patch ? 'appointment_buffer_minutes' THEN
        b.appointment_buffer_minutes := nmc.input_int(patch, 'appointment_buffer_minutes', 0, 240);
    END IF;
    IF patch ? 'max_reply_segments' THEN
        b.max_reply_segments := nmc.input_int(patch, 'max_reply_segments', 1, 10);
    END IF;
    IF patch ? 'reminder_day_before' THEN
        IF jsonb_typeof(patch -> 'reminder_day_before') IS DISTINCT FROM 'boolean' THEN
            PERFORM nmc.raise_api_error(400, 'invalid_field', 'reminder_day_before must be true or false', 'reminder_day_before');
        END IF;
        b.reminder_day_before := (patch ->> 'reminder_day_before')::boolean;
    END IF;
    IF patch ? 'reminder_hours_before' THEN
        b.reminder_hours_before := nmc.input_int(patch, 'reminder_hours_before', 0, 12);
    END IF;
    IF patch ? 'after_hours_message' THEN
        b.after_hours_message := nullif(nmc.input_text(patch, 'after_hours_message', false, 500, 0), '');
    END IF;
    IF patch ? 'service_postal_codes' THEN
        IF jsonb_typeof(patch -> 'service_postal_codes') <> 'array'
           OR EXISTS (SELECT 1 FROM jsonb_array_elements(patch -> 'service_postal_codes') z
                       WHERE jsonb_typeof(z) <> 'string' OR (z #>> '{}') !~ '^[A-Za-z0-9 -]{3,10}$')
           OR jsonb_array_length(patch -> 'service_postal_codes') > 500 THEN
            PERFORM nmc.raise_api_error(400, 'invalid_field', 'service_postal_codes must be a list of postal codes such as "78701" (empty: no limit)',
                                        'service_postal_codes');
        END IF;
        b.service_postal_codes := nullif(ARRAY(SELECT upper(btrim(z)) FROM jsonb_array_elements_text(patch -> 'service_postal_codes') z), '{}');
    END IF;
    IF patch ? 'ai_disclosure' THEN
        b.ai_disclosure := nullif(nmc.input_text(patch, 'ai_disclosure', false, 200, 0), '');
    END IF;
    IF patch ? 'safety_advice' THEN
        b.safety_advice := nullif(nmc.input_text(patch, 'safety_advice', false, 480, 0), '');
    END IF;
    IF patch ? 'help_text' THEN
        b.help_text := nullif(nmc.input_text(patch, 'help_text', false, 320, 0), '');
    END IF;
    IF patch ? 'service_radius_km' THEN
        IF patch -> 'service_radius_km' = 'null' OR patch -> 'service_radius_km' = '0' THEN
            b.service_radius_km := NULL;
        ELSIF jsonb_typeof(patch -> 'service_radius_km') <> 'number'
              OR (patch ->> 'service_radius_km')::numeric <= 0 OR (patch ->> 'service_radius_km')::numeric > nmc.service_radius_max_km() THEN
            PERFORM nmc.raise_api_error(400, 'invalid_field',
                                        format('service_radius_km must be a number of kilometres up to %s (0 or null: no radius)', nmc.service_radius_max_km()),
                                        'service_radius_km');
        ELSE
            b.service_radius_km := round((patch ->> 'service_radius_km')::numeric, 1);
        END IF;
    END IF;
    IF patch ? 'service_center' THEN
        IF patch -> 'service_center' = 'null' THEN
            b.service_lat := NULL;
            b.service_lng := NULL;
        ELSIF jsonb_typeof(patch #> '{service_center,lat}') IS DISTINCT FROM 'number'
              OR jsonb_typeof(patch #> '{service_center,lng}') IS DISTINCT FROM 'number'
              OR abs((patch #>> '{service_center,lat}')::float8) > 90 OR abs((patch #>> '{service_center,lng}')::float8) > 180 THEN
            PERFORM nmc.raise_api_error(400, 'invalid_field', 'service_center must be {"lat": …, "lng": …} in degrees (null: from the business address)',
                                        'service_center');
        ELSE
            b.service_lat := (patch #>> '{service_center,lat}')::float8;
            b.service_lng := (patch #>> '{service_center,lng}')::float8;
        END IF;
    END IF;
    IF patch ? 'voicemail_enabled' THEN
        IF jsonb_typeof(patch -> 'voicemail_enabled') IS DISTINCT FROM 'boolean' THEN
            PERFORM nmc.raise_api_error(400, 'invalid_field', 'voicemail_enabled must be true or false', 'voicemail_enabled');
        END IF;
        b.voicemail_enabled := (patch ->> 'voicemail_enabled')::boolean;
    END IF;
    IF patch ? 'emergency_sms_to_owner' THEN
        IF jsonb_typeof(patch -> 'emergency_sms_to_owner') IS DISTINCT FROM 'boolean' THEN
            PERFORM nmc.raise_api_error(400, 'invalid_field', 'emergency_sms_to_owner must be true or false', 'emergency_sms_to_owner');
        END IF;
        b.emergency_sms_to_owner := (patch ->> 'emergency_sms_to_owner')::boolean;
    END IF;

    UPDATE nmc.businesses SET
        name = b.name, trade_type = b.trade_type,
        ring_timeout_seconds = b.ring_timeout_seconds, min_ring_seconds = b.min_ring_seconds,
        repeat_window_seconds = b.repeat_window_seconds, human_window_seconds = b.human_window_seconds,
        max_reply_segments = b.max_reply_segments, after_hours_message = b.after_hours_message,
        appointment_minutes = b.appointment_minutes, max_ai_segments = b.max_ai_segments,
        reminder_day_before = b.reminder_day_before, reminder_hours_before = b.reminder_hours_before,
        help_text = b.help_text, safety_advice = b.safety_advice, ai_disclosure = b.ai_disclosure,
        service_postal_codes = b.service_postal_codes, service_radius_km = b.service_radius_km,
        service_lat = b.service_lat, service_lng = b.service_lng, emergency_sms_to_owner = b.emergency_sms_to_owner,
        voicemail_enabled = b.voicemail_enabled, appointment_buffer_minutes = b.appointment_buffer_minutes,
        address_line1 = nullif(b.address_line1, ''), address_line2 = nullif(b.address_line2, ''),
        city = nullif(b.city, ''), region = nullif(b.region, ''), postal_code = nullif(b.postal_code, ''),
        country = b.country, timezone = b.timezone, forward_to_phone = b.forward_to_phone
     WHERE id = b.id
    RETURNING * INTO b;
    -- A radius needs a centre: the business address, geocoded (when Maps is configured).
    IF b.service_radius_km IS NOT NULL AND b.service_lat IS NULL AND b.address_line1 IS NOT NULL AND nmc.maps_configured() THEN
        PERFORM nmc.job_enqueue('maps.geocode', b.id, jsonb_build_object('purpose', 'business_center', 'country', b.country,
                                'address', concat_ws(', ', b.address_line1, b.city, b.region, b.postal_code)));
    END IF;
    RETURN b;
END
$$;
COMMENT ON FUNCTION nmc.business_update(jsonb) IS
    'Applies a partial profile update to the current business (RLS-scoped); validates every field and refuses unknown ones. Empty optional strings clear the field.';
ALTER TABLE nmc.businesses DROP CONSTRAINT businesses_service_radius_km_check,
    ADD CONSTRAINT businesses_service_radius_km_check CHECK (service_radius_km > 0 AND service_radius_km <= nmc.service_radius_max_km());
CREATE OR REPLACE FUNCTION nmc.message_delivery_ranks()
RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT '{"pending": 0, "accepted": 1, "scheduled": 1, "queued": 1, "receiving": 1, "sending": 2, "sent": 3,
               "delivered": 4, "undelivered": 4, "failed": 4, "canceled": 4, "simulated": 4, "dropped": 4, "received": 4,
               "read": 5}'::jsonb $$;
COMMENT ON FUNCTION nmc.message_delivery_ranks() IS 'The one order of a text''s states (Twilio''s, and ours: pending, simulated, dropped): how far along each is, final states level. Status callbacks only move a message forward (nmc.message_status_rank); the dashboard gets the same order from GET /api/meta.';
-- meta.sql — the server's rules the dashboard shows, served instead of copied
-- into it (GET /api/meta): each state machine's statuses and the moves the
-- system makes along them, the order of a text's delivery states, and the
-- bounds of fields the dashboard checks first.
CREATE FUNCTION nmc.state_machine_json(machine text, statuses text[])
RETURNS jsonb
LANGUAGE sql IMMUTABLE
AS $$
    SELECT jsonb_build_object('statuses', to_jsonb(statuses), 'moves', jsonb_object_agg(f.s, (
               SELECT coalesce(jsonb_agg(t.s ORDER BY t.o), '[]')
                 FROM unnest(statuses) WITH ORDINALITY AS t(s, o)
                WHERE CASE machine WHEN 'lead' THEN nmc.lead_transition_allowed(f.s, t.s, 'system')
                                   WHEN 'call' THEN nmc.call_transition_allowed(f.s, t.s)
                                   WHEN 'conversation_mode' THEN nmc.conversation_mode_allowed(f.s, t.s)
                                   WHEN 'conversation_state' THEN nmc.conversation_state_allowed(f.s, t.s) AND f.s <> t.s
                                   WHEN 'appointment' THEN nmc.appointment_transition_allowed(f.s, t.s)
                                   WHEN 'job' THEN nmc.job_transition_allowed(f.s, t.s) END)))
      FROM unnest(statuses) AS f(s)
$$;
COMMENT ON FUNCTION nmc.state_machine_json(text, text[]) IS 'A state machine as GET /api/meta shows it: its statuses in order and, for each, where the system may move it next (asked of the machine''s own transition function; the owner may set a lead to any status).';

CREATE FUNCTION nmc.api_meta(req jsonb)
RETURNS nmc.http_response
LANGUAGE sql IMMUTABLE
AS $$
    SELECT nmc.respond(200, jsonb_build_object(
        'state_machines', jsonb_build_object(
            'lead', nmc.state_machine_json('lead', nmc.lead_statuses()),
            'call', nmc.state_machine_json('call', nmc.call_statuses()),
            'conversation_state', nmc.state_machine_json('conversation_state', nmc.conversation_states()),
            'conversation_mode', nmc.state_machine_json('conversation_mode', nmc.conversation_modes()),
            'appointment', nmc.state_machine_json('appointment', nmc.appointment_statuses()),
            'job', nmc.state_machine_json('job', nmc.job_statuses())),
        'message_delivery', jsonb_build_object('ranks', nmc.message_delivery_ranks()),
        'limits', jsonb_build_object('service_radius_km_max', nmc.service_radius_max_km())))
$$;
COMMENT ON FUNCTION nmc.api_meta(jsonb) IS 'GET /api/meta: the statuses of each state machine (lead, call, conversation state and mode, appointment, job) with their moves, the order of a text''s delivery states (message_delivery.ranks), and field bounds (service_radius_km_max) — the server''s rules, so the dashboard never keeps a copy.';

-- issue 16 (house-sql): one SQLSTATE → HTTP table, read by nmc_api.handle through nmc.api_error_response.
CREATE TABLE nmc.api_sqlstate_http (
    sqlstate    text PRIMARY KEY CHECK (sqlstate ~ '^[0-9A-Z]{5}$'),
    http_status int NOT NULL CHECK (http_status BETWEEN 400 AND 499),
    code        text NOT NULL CHECK (code ~ '^[a-z_]+$'),
    message     text NOT NULL
);
COMMENT ON TABLE nmc.api_sqlstate_http IS 'SQLSTATE → HTTP, the one table (PostgREST''s idea): a rule only the schema enforces, which no handler checked first, is the client''s mistake — answered with this status and stable code, never a 500. NMxxx errors carry their own status (xxx) and code; any other SQLSTATE is a bug of ours: 500 internal_error.';
INSERT INTO nmc.api_sqlstate_http (sqlstate, http_status, code, message) VALUES
    ('23505', 409, 'conflict', 'this conflicts with something that already exists'),            -- unique_violation
    ('23503', 409, 'conflict', 'this refers to something that does not exist, or is still in use'), -- foreign_key_violation
    ('23P01', 409, 'conflict', 'this overlaps with something that already exists'),              -- exclusion_violation
    ('23502', 400, 'invalid_input', 'a value in the request is not acceptable (missing, too long, out of range or malformed)'), -- not_null_violation
    ('23514', 400, 'invalid_input', 'a value in the request is not acceptable (missing, too long, out of range or malformed)'), -- check_violation
    ('22001', 400, 'invalid_input', 'a value in the request is not acceptable (missing, too long, out of range or malformed)'), -- string_data_right_truncation
    ('22003', 400, 'invalid_input', 'a value in the request is not acceptable (missing, too long, out of range or malformed)'), -- numeric_value_out_of_range
    ('22007', 400, 'invalid_input', 'a value in the request is not acceptable (missing, too long, out of range or malformed)'), -- invalid_datetime_format
    ('22008', 400, 'invalid_input', 'a value in the request is not acceptable (missing, too long, out of range or malformed)'), -- datetime_field_overflow
    ('22023', 400, 'invalid_input', 'a value in the request is not acceptable (missing, too long, out of range or malformed)'), -- invalid_parameter_value
    ('22P02', 400, 'invalid_input', 'a value in the request is not acceptable (missing, too long, out of range or malformed)'); -- invalid_text_representation
CREATE OR REPLACE FUNCTION nmc.api_error_response(err_state text, err_message text, err_code text, err_field text, route text)
RETURNS nmc.http_response
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    m nmc.api_sqlstate_http;
BEGIN
    IF err_state ~ '^NM[0-9]{3}$' THEN
        RETURN nmc.respond(substr(err_state, 3)::int, nmc.error_body(err_code, err_message, err_field));
    END IF;
    SELECT * INTO m FROM nmc.api_sqlstate_http WHERE sqlstate = err_state;
    IF FOUND THEN
        RAISE LOG 'nmc_api.handle %: refused by the schema: % %', route, err_state, err_message;
        RETURN nmc.respond(m.http_status, nmc.error_body(m.code, m.message));
    END IF;
    RAISE LOG 'nmc_api.handle %: unexpected error % %', route, err_state, err_message;
    RETURN nmc.respond(500, nmc.error_body('internal_error', 'internal error'));
END
$$;
COMMENT ON FUNCTION nmc.api_error_response(text, text, text, text, text) IS 'The HTTP answer to an error raised while handling a request: NMxxx → status xxx with its code and field; a SQLSTATE of nmc.api_sqlstate_http → its status and stable code; anything else → 500 internal_error (logged).';
CREATE OR REPLACE FUNCTION nmc_api.handle(method text, path text, query jsonb, request_headers jsonb,
                               client_addr text, request_body text, raw_query text DEFAULT NULL,
                               edge jsonb DEFAULT NULL)
RETURNS TABLE (status int, content_type text, headers text, body text, body_bytes bytea)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = nmc, public, pg_temp
AS $$
DECLARE
    route nmc.api_routes;
    params text[];
    allowed text;
    parsed jsonb;
    form_pairs text[];
    resp nmc.http_response;
    err_state text;
    err_message text;
    err_code text;
    err_field text;
BEGIN
    -- Never inherit a tenant from an earlier call in the same transaction.
    PERFORM set_config('nmc.business_id', '', true), set_config('nmc.user_id', '', true);
    -- Exact paths first (an index lookup); patterns with {params} only if none.
    SELECT r.* INTO route FROM nmc.api_routes r
     WHERE r.route_method = upper(handle.method) AND r.route_path = handle.path;
    IF route.handler IS NULL THEN
        SELECT r.* INTO route FROM nmc.api_routes r
         WHERE r.route_method = upper(handle.method) AND r.route_path ~ '\{' AND handle.path ~ nmc.route_regex(r.route_path)
         LIMIT 1;
    END IF;
    IF route.handler IS NULL THEN
        SELECT string_agg(DISTINCT r.route_method, ', ') INTO allowed
          FROM nmc.api_routes r WHERE handle.path ~ nmc.route_regex(r.route_path);
        IF allowed IS NULL THEN
            resp := nmc.respond(404, nmc.error_body('not_found', format('no route %s', handle.path)));
        ELSE
            resp := nmc.respond(405, nmc.error_body('method_not_allowed',
                        format('%s does not accept %s; allowed: %s', handle.path, upper(handle.method), allowed)),
                        'Allow: ' || allowed);
        END IF;
        RETURN QUERY SELECT resp.status, 'application/json'::text, resp.headers, resp.body::text, NULL::bytea;
        RETURN;
    END IF;

    params := CASE WHEN route.route_path ~ '\{' THEN regexp_match(handle.path, nmc.route_regex(route.route_path)) ELSE '{}' END;
    -- Everything below runs in one subtransaction: an error leaves no trace.
    BEGIN
        IF route.auth = 'twilio' THEN
            -- Twilio posts its webhooks form-encoded, always.
            IF split_part(lower(coalesce(request_headers ->> 'content-type', '')), ';', 1) <> 'application/x-www-form-urlencoded' THEN
                PERFORM nmc.raise_api_error(415, 'unsupported_media_type',
                    'Twilio webhooks are application/x-www-form-urlencoded', 'content-type');
            END IF;
            BEGIN
                form_pairs := nmc.form_decode(coalesce(request_body, ''));
            EXCEPTION WHEN invalid_text_representation THEN
                PERFORM nmc.raise_api_error(400, 'malformed_form', 'the request body is not a valid form');
            END;
            PERFORM nmc.webhook_fields_check(form_pairs);
            IF NOT nmc.twilio_request_is_signed(handle.path, raw_query, form_pairs,
                                                request_headers ->> 'x-twilio-signature') THEN
                PERFORM nmc.raise_api_error(403, 'invalid_signature',
                    'X-Twilio-Signature is missing or does not match this request');
            END IF;
            parsed := nmc.form_object(form_pairs);
            -- Replayed from the edge's spool: when the edge received it (epoch ms).
            IF coalesce(handle.edge ->> 'spooled_at', '') ~ '^[0-9]{10,15}$' THEN
                parsed := parsed || jsonb_build_object('nmc_spooled_at',
                                        to_timestamp((handle.edge ->> 'spooled_at')::bigint / 1000.0));
            END IF;
        ELSIF coalesce(request_body, '') <> '' THEN
            BEGIN
                parsed := request_body::jsonb;
            EXCEPTION
                WHEN invalid_text_representation THEN
                    PERFORM nmc.raise_api_error(400, 'malformed_json', 'the request body is not valid JSON');
                WHEN untranslatable_character THEN
                    -- \u0000, which no text in the database can hold.
                    PERFORM nmc.raise_api_error(400, 'malformed_json', 'the request body holds a character that is not accepted (\u0000)');
                WHEN statement_too_complex OR program_limit_exceeded THEN
                    -- Nested deeper than the parser's stack allows.
                    PERFORM nmc.raise_api_error(400, 'malformed_json', 'the request body is nested too deeply');
            END;
        END IF;
        IF route.auth = 'jwt' THEN
            PERFORM nmc.authenticate(coalesce(request_headers, '{}'));
        END IF;
        resp := nmc.api_dispatch(route.handler, jsonb_build_object(
                'method', upper(handle.method), 'path', handle.path, 'params', to_jsonb(params),
                'query', coalesce(query, '{}'), 'headers', coalesce(request_headers, '{}'),
                'client_addr', client_addr, 'body', parsed, 'edge', coalesce(handle.edge, '{}')));
        IF resp.status IS NULL THEN
            PERFORM nmc.raise_api_error(404, 'not_found', 'not found');
        END IF;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS err_state = RETURNED_SQLSTATE, err_message = MESSAGE_TEXT,
                                err_code = PG_EXCEPTION_DETAIL, err_field = PG_EXCEPTION_HINT;
        resp := nmc.api_error_response(err_state, err_message, err_code, err_field, upper(handle.method) || ' ' || handle.path);
    END;
    IF resp.bytes IS NOT NULL THEN
        RETURN QUERY SELECT resp.status, resp.content_type, resp.headers, NULL::text, resp.bytes;
    ELSIF resp.content_type IS NOT NULL THEN
        RETURN QUERY SELECT resp.status, resp.content_type, resp.headers, resp.text_body, NULL::bytea;
    ELSE
        RETURN QUERY SELECT resp.status, 'application/json'::text, resp.headers, resp.body::text, NULL::bytea;
    END IF;
END
$$;
COMMENT ON FUNCTION nmc_api.handle(text, text, jsonb, jsonb, text, text, text, jsonb) IS
    'The edge''s one entry point for /api and /webhooks: (method, path, query args, lower-cased request headers, client address, raw body, raw query string, and the edge''s own document about the request — never taken from a header, so no client can set it: its live-feed clients and spool, {"ws_clients", "ws_dropped_slow", "spool_waiting"}, for the status page, or {"spooled_at": epoch ms} for a webhook it replays from its spool; handlers see it as req.edge) → (status, content type, extra header lines, body; or body_bytes instead of body for a binary answer such as a kept recording). API errors are JSON {"error":{"code","message"[,"field"]}}: NMxxx errors with their status, a constraint the request ran into 409 conflict, a value the schema refuses 400 invalid_input, anything else 500; Twilio webhooks are signature-checked and answer TwiML; one the edge replays from its spool reaches its handler with body.nmc_spooled_at (when the edge received it).';

-- issue 16 (house-sql): the route table is made from the OpenAPI document (docs/openapi.json):
-- nmc.api_routes_build, which extension/Makefile runs at the end of every upgrade script.
CREATE OR REPLACE FUNCTION nmc.api_openapi(req jsonb)
RETURNS nmc.http_response
LANGUAGE sql IMMUTABLE
AS $$ SELECT nmc.respond_text(200, 'application/yaml', nmc.openapi_document()) $$;
COMMENT ON FUNCTION nmc.api_openapi(jsonb) IS 'GET /api/openapi.yaml: the OpenAPI 3 description of every route (JSON, which is YAML).';
CREATE OR REPLACE FUNCTION nmc.api_operations(doc jsonb)
RETURNS TABLE (route_method text, route_path text, handler text, auth text, summary text)
LANGUAGE sql IMMUTABLE
AS $$
    SELECT upper(m.key), p.key, m.value ->> 'operationId',
           CASE m.value -> 'security' WHEN '[]' THEN 'public' WHEN '[{"bearer": []}]' THEN 'jwt'
                                      WHEN '[{"twilioSignature": []}]' THEN 'twilio' END,
           m.value ->> 'summary'
      FROM jsonb_each(doc -> 'paths') p, jsonb_each(p.value) m
     WHERE NOT coalesce((m.value ->> 'x-nmc-edge')::boolean, false)
$$;
COMMENT ON FUNCTION nmc.api_operations(jsonb) IS 'The operations of an OpenAPI document answered in SQL (not marked x-nmc-edge), as routes: handler = operationId, auth from security (none → public, bearer → jwt, twilioSignature → twilio), summary.';
CREATE OR REPLACE FUNCTION nmc.api_routes_build(doc jsonb DEFAULT nmc.openapi_document()::jsonb)
RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
    bad text;
    n int;
BEGIN
    -- Every operation answered in SQL names a handler that exists and says who may call it.
    SELECT string_agg(format('%s %s', o.route_method, o.route_path), ', ') INTO bad
      FROM nmc.api_operations(doc) o
     WHERE o.handler IS NULL OR o.handler !~ '^[a-z_]+$' OR o.auth IS NULL OR o.summary IS NULL
        OR to_regprocedure(format('nmc.%s(jsonb)', o.handler)) IS NULL;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'the OpenAPI document has operations without a handler nmc.<operationId>(jsonb), a security of none, bearer or twilioSignature, or a summary: %', bad
            USING HINT = 'Fix docs/openapi.json (an operation the edge answers itself is marked x-nmc-edge).';
    END IF;
    DELETE FROM nmc.api_routes;
    INSERT INTO nmc.api_routes (route_method, route_path, handler, auth, summary)
    SELECT o.route_method, o.route_path, o.handler, o.auth, o.summary FROM nmc.api_operations(doc) o;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
COMMENT ON FUNCTION nmc.api_routes_build(jsonb) IS 'Makes nmc.api_routes from the OpenAPI document''s operations (handler = operationId, auth from security: none → public, bearer → jwt, twilioSignature → twilio; summary); operations marked x-nmc-edge are the edge''s own. Refuses a document with an operation it cannot make a route of, or whose handler nmc.<operationId>(jsonb) does not exist. Run by the install script and by every upgrade script, before nmc.api_dispatch_build(). Returns how many routes.';

-- issue 20 (keys): the rest of the keys for distribution by business (docs/scaling.md,
-- scripts/distribution_keys.sql): these tables are keyed (business_id, id) too, each with a
-- plain index on id (rows are found by id alone: a job's payload, the dispatcher, the
-- inbox worker); their foreign keys, which already named (business_id, <col>), are dropped
-- and made again on the new primary keys, ON DELETE as before; jobs.parent_id becomes
-- (business_id, parent_id). The Twilio SIDs, jobs' idempotency keys, the inbox's webhook
-- keys and the one running AI turn are unique per business (value first, business_id
-- last: a lookup by the value alone still finds the index).
ALTER TABLE nmc.user_devices DROP CONSTRAINT user_devices_business_id_user_id_fkey;
ALTER TABLE nmc.login_codes DROP CONSTRAINT login_codes_business_id_user_id_fkey;
ALTER TABLE nmc.push_subscriptions DROP CONSTRAINT push_subscriptions_business_id_user_id_fkey;
ALTER TABLE nmc.messages DROP CONSTRAINT messages_business_id_customer_id_fkey, DROP CONSTRAINT messages_business_id_conversation_id_fkey;
ALTER TABLE nmc.leads DROP CONSTRAINT leads_business_id_customer_id_fkey;
ALTER TABLE nmc.conversations DROP CONSTRAINT conversations_business_id_customer_id_fkey,
    DROP CONSTRAINT conversations_business_id_phone_number_id_fkey, DROP CONSTRAINT conversations_business_id_lead_id_fkey;
ALTER TABLE nmc.appointments DROP CONSTRAINT appointments_business_id_customer_id_fkey, DROP CONSTRAINT appointments_business_id_lead_id_fkey;
ALTER TABLE nmc.calls DROP CONSTRAINT calls_business_id_phone_number_id_fkey;
ALTER TABLE nmc.jobs DROP CONSTRAINT jobs_parent_id_fkey;
ALTER TABLE nmc.ai_turns DROP CONSTRAINT ai_turns_business_id_conversation_id_fkey;
ALTER TABLE nmc.voicemails DROP CONSTRAINT voicemails_business_id_call_id_fkey;
ALTER TABLE nmc.users DROP CONSTRAINT users_pkey, DROP CONSTRAINT users_business_id_id_key, ADD PRIMARY KEY (business_id, id);
CREATE INDEX users_id ON nmc.users (id);
ALTER TABLE nmc.customers DROP CONSTRAINT customers_pkey, DROP CONSTRAINT customers_business_id_id_key, ADD PRIMARY KEY (business_id, id);
CREATE INDEX customers_id ON nmc.customers (id);
ALTER TABLE nmc.phone_numbers DROP CONSTRAINT phone_numbers_pkey, DROP CONSTRAINT phone_numbers_business_id_id_key, ADD PRIMARY KEY (business_id, id);
CREATE INDEX phone_numbers_id ON nmc.phone_numbers (id);
DROP INDEX nmc.phone_numbers_twilio_sid_key;
CREATE UNIQUE INDEX phone_numbers_twilio_sid_key ON nmc.phone_numbers (twilio_sid, business_id) WHERE detached_at IS NULL;
ALTER TABLE nmc.leads DROP CONSTRAINT leads_pkey, DROP CONSTRAINT leads_business_id_id_key, ADD PRIMARY KEY (business_id, id);
CREATE INDEX leads_id ON nmc.leads (id);
ALTER TABLE nmc.conversations DROP CONSTRAINT conversations_pkey, DROP CONSTRAINT conversations_business_id_id_key, ADD PRIMARY KEY (business_id, id);
CREATE INDEX conversations_id ON nmc.conversations (id);
ALTER TABLE nmc.messages DROP CONSTRAINT messages_pkey, DROP CONSTRAINT messages_twilio_sid_key, ADD PRIMARY KEY (business_id, id);
ALTER TABLE nmc.messages ADD CONSTRAINT messages_twilio_sid_key UNIQUE (twilio_sid, business_id);
CREATE INDEX messages_id ON nmc.messages (id);
ALTER TABLE nmc.calls DROP CONSTRAINT calls_pkey, DROP CONSTRAINT calls_business_id_id_key, DROP CONSTRAINT calls_twilio_call_sid_key, ADD PRIMARY KEY (business_id, id);
ALTER TABLE nmc.calls ADD CONSTRAINT calls_twilio_call_sid_key UNIQUE (twilio_call_sid, business_id);
CREATE INDEX calls_id ON nmc.calls (id);
ALTER TABLE nmc.jobs DROP CONSTRAINT jobs_pkey, DROP CONSTRAINT jobs_business_id_id_key, ADD PRIMARY KEY (business_id, id);
CREATE INDEX jobs_id ON nmc.jobs (id);
DROP INDEX nmc.jobs_idempotency_key;
CREATE UNIQUE INDEX jobs_idempotency_key ON nmc.jobs (idempotency_key, business_id) WHERE idempotency_key IS NOT NULL;
ALTER TABLE nmc.timers DROP CONSTRAINT timers_pkey, ADD PRIMARY KEY (business_id, id);
CREATE INDEX timers_id ON nmc.timers (id);
ALTER TABLE nmc.ai_turns DROP CONSTRAINT ai_turns_pkey, DROP CONSTRAINT ai_turns_business_id_id_key, ADD PRIMARY KEY (business_id, id);
CREATE INDEX ai_turns_id ON nmc.ai_turns (id);
DROP INDEX nmc.ai_turns_one_running;
CREATE UNIQUE INDEX ai_turns_one_running ON nmc.ai_turns (conversation_id, business_id) WHERE status = 'running';
ALTER TABLE nmc.webhook_inbox DROP CONSTRAINT webhook_inbox_pkey, DROP CONSTRAINT webhook_inbox_kind_webhook_key_key, ADD PRIMARY KEY (business_id, id);
ALTER TABLE nmc.webhook_inbox ADD CONSTRAINT webhook_inbox_kind_webhook_key_key UNIQUE (kind, webhook_key, business_id);
CREATE INDEX webhook_inbox_id ON nmc.webhook_inbox (id);
ALTER TABLE nmc.owner_texts DROP CONSTRAINT owner_texts_twilio_sid_key;
ALTER TABLE nmc.owner_texts ADD CONSTRAINT owner_texts_twilio_sid_key UNIQUE (twilio_sid, business_id);
ALTER TABLE nmc.user_devices ADD FOREIGN KEY (business_id, user_id) REFERENCES nmc.users (business_id, id) ON DELETE CASCADE;
ALTER TABLE nmc.login_codes ADD FOREIGN KEY (business_id, user_id) REFERENCES nmc.users (business_id, id) ON DELETE CASCADE;
ALTER TABLE nmc.push_subscriptions ADD FOREIGN KEY (business_id, user_id) REFERENCES nmc.users (business_id, id) ON DELETE CASCADE;
ALTER TABLE nmc.messages ADD FOREIGN KEY (business_id, customer_id) REFERENCES nmc.customers (business_id, id) ON DELETE CASCADE,
    ADD FOREIGN KEY (business_id, conversation_id) REFERENCES nmc.conversations (business_id, id) ON DELETE CASCADE;
ALTER TABLE nmc.leads ADD FOREIGN KEY (business_id, customer_id) REFERENCES nmc.customers (business_id, id) ON DELETE CASCADE;
ALTER TABLE nmc.conversations ADD FOREIGN KEY (business_id, customer_id) REFERENCES nmc.customers (business_id, id) ON DELETE CASCADE,
    ADD FOREIGN KEY (business_id, phone_number_id) REFERENCES nmc.phone_numbers (business_id, id) ON DELETE CASCADE,
    ADD FOREIGN KEY (business_id, lead_id) REFERENCES nmc.leads (business_id, id) ON DELETE SET NULL (lead_id);
ALTER TABLE nmc.appointments ADD FOREIGN KEY (business_id, customer_id) REFERENCES nmc.customers (business_id, id) ON DELETE CASCADE,
    ADD FOREIGN KEY (business_id, lead_id) REFERENCES nmc.leads (business_id, id) ON DELETE SET NULL (lead_id);
ALTER TABLE nmc.calls ADD FOREIGN KEY (business_id, phone_number_id) REFERENCES nmc.phone_numbers (business_id, id) ON DELETE CASCADE;
ALTER TABLE nmc.jobs ADD FOREIGN KEY (business_id, parent_id) REFERENCES nmc.jobs (business_id, id) ON DELETE SET NULL (parent_id);
ALTER TABLE nmc.ai_turns ADD FOREIGN KEY (business_id, conversation_id) REFERENCES nmc.conversations (business_id, id) ON DELETE CASCADE;
ALTER TABLE nmc.voicemails ADD FOREIGN KEY (business_id, call_id) REFERENCES nmc.calls (business_id, id) ON DELETE CASCADE;
-- ON CONFLICT targets and lookups by these keys (nmc.twilio_numbers_buy_apply and
-- nmc.twilio_numbers_attach_apply are replaced by the issue 20 (ops) block above).
CREATE OR REPLACE FUNCTION nmc.calls_apply(ts nmc.webhook_inbox[])
RETURNS void
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    fresh text[];
    gone text;
    updated nmc.calls[];
    missed nmc.calls[];
    reasons text[];
    ats timestamptz[];
BEGIN
    -- A call's row is created by whichever of its webhooks is applied first
    -- (normally the incoming call; its dial result if that came alone), dated
    -- when that webhook was accepted.
    WITH ins AS (
        INSERT INTO nmc.calls (business_id, phone_number_id, twilio_call_sid, from_raw, to_phone, status, call_status, created_at)
        SELECT t.business_id, pn.id, t.webhook_key, coalesce(t.params ->> 'From', 'unknown'), pn.phone,
               CASE WHEN t.kind = 'voice_dial' OR t.params ->> 'nmc_answer' = 'forward' THEN 'forwarded' ELSE 'ringing' END,
               t.params ->> 'CallStatus', t.received_at
          FROM unnest(ts) WITH ORDINALITY AS t JOIN nmc.phone_numbers pn ON pn.id = t.phone_number_id AND pn.business_id = t.business_id
         ORDER BY t.ordinality
        ON CONFLICT (twilio_call_sid, business_id) DO NOTHING
        RETURNING twilio_call_sid)
    SELECT array_agg(ins.twilio_call_sid) INTO fresh FROM ins;
    FOR gone IN SELECT t.webhook_key FROM unnest(ts) AS t
                 WHERE NOT EXISTS (SELECT 1 FROM nmc.phone_numbers pn WHERE pn.id = t.phone_number_id AND pn.business_id = t.business_id) LOOP
        RAISE LOG 'nevermisscall: call % arrived for a number the business no longer has', gone;
    END LOOP;

    -- A dial result applies to a call not yet answered or missed (else it was
    -- applied before): its dial fields, and answered if the owner picked up.
    PERFORM 1 FROM nmc.calls c JOIN unnest(ts) AS t ON c.twilio_call_sid = t.webhook_key AND t.kind = 'voice_dial'
      ORDER BY c.id FOR UPDATE OF c;
    WITH u AS (
        UPDATE nmc.calls c SET dial_call_status = t.params ->> 'DialCallStatus', call_status = coalesce(t.params ->> 'CallStatus', c.call_status),
               duration_seconds = CASE WHEN t.params ->> 'DialCallDuration' ~ '^[0-9]+$' THEN (t.params ->> 'DialCallDuration')::int END,
               -- Completed calls are never texted.
               status = CASE WHEN nmc.call_dial_missed_reason(t.params) IS NULL THEN 'answered' ELSE c.status END,
               decision = CASE WHEN nmc.call_dial_missed_reason(t.params) IS NULL THEN 'not_missed' ELSE c.decision END,
               decision_reason = CASE WHEN nmc.call_dial_missed_reason(t.params) IS NULL THEN 'the call was answered' ELSE c.decision_reason END
          FROM unnest(ts) WITH ORDINALITY AS t
         WHERE t.kind = 'voice_dial' AND c.twilio_call_sid = t.webhook_key
           AND nmc.call_transition_allowed(c.status, CASE WHEN nmc.call_dial_missed_reason(t.params) IS NULL THEN 'answered' ELSE 'missed' END)
        RETURNING c AS row, t.ordinality AS i, nmc.call_dial_missed_reason(t.params) AS reason, t.received_at AS at),
    -- An incoming call applied now for the first time: forwarded, or missed at
    -- once (the caller was told the business is closed or has no forward phone).
    rang AS (
        SELECT c AS row, t.ordinality AS i, CASE WHEN t.params ->> 'nmc_answer' IS DISTINCT FROM 'forward' THEN t.params ->> 'nmc_answer' END AS reason,
               t.received_at AS at, t.params ->> 'nmc_answer' = 'forward' AS forwarded
          FROM unnest(ts) WITH ORDINALITY AS t JOIN nmc.calls c ON c.twilio_call_sid = t.webhook_key
         WHERE t.kind = 'voice' AND t.webhook_key = ANY (fresh)),
    applied AS (
        SELECT u.row, u.i, u.reason, u.at, u.reason IS NULL AS updated FROM u
        UNION ALL
        SELECT rang.row, rang.i, rang.reason, rang.at, coalesce(rang.forwarded, false) FROM rang)
    SELECT array_agg(a.row ORDER BY a.i) FILTER (WHERE a.updated),
           array_agg(a.row ORDER BY a.i) FILTER (WHERE NOT a.updated), array_agg(a.reason ORDER BY a.i) FILTER (WHERE NOT a.updated),
           array_agg(a.at ORDER BY a.i) FILTER (WHERE NOT a.updated)
      INTO updated, missed, reasons, ats
      FROM applied a;
    PERFORM nmc.emit_events(array_agg((updated[k]).business_id ORDER BY k), array_agg('call.updated'::text ORDER BY k),
                            array_agg(nmc.call_json(updated[k]) ORDER BY k))
       FROM generate_subscripts(updated, 1) AS k;
    PERFORM nmc.calls_missed(missed, reasons, ats);
END
$$;
COMMENT ON FUNCTION nmc.calls_apply(nmc.webhook_inbox[]) IS 'Applies accepted voice webhooks (incoming calls and the ends of forwarded calls; each CallSid at most once), in order: each call is recorded (created when its first webhook was accepted; a number gone since is logged). An incoming call is forwarded (call.updated), or missed at once when the caller was told the business is closed, has no forward phone, or it was the owner''s own phone. A <Dial> result records its fields: no-answer, busy, failed, canceled (or not bridged) → missed, answered → never texted (call.updated). The missed ones go together through nmc.calls_missed, decided as of the moment each webhook was accepted. Idempotent on CallSid: a webhook applied before changes nothing.';
CREATE OR REPLACE FUNCTION nmc.jobs_enqueue(p_kind text, p_business_ids uuid[], p_payloads jsonb[], p_idempotency_keys text[],
                                 p_parent_id bigint DEFAULT NULL, p_not_before timestamptz DEFAULT now())
RETURNS nmc.jobs[]
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    r nmc.jobs[];
BEGIN
    -- One statement: the dispatcher's wake-up trigger fires once for all of them.
    WITH j AS (
        INSERT INTO nmc.jobs (kind, business_id, payload, idempotency_key, parent_id, next_attempt_at)
        SELECT p_kind, u.b, u.payload, u.k, p_parent_id, p_not_before
          FROM unnest(p_business_ids, p_payloads, p_idempotency_keys) WITH ORDINALITY AS u(b, payload, k, i)
         ORDER BY u.i
        ON CONFLICT (idempotency_key, business_id) WHERE idempotency_key IS NOT NULL DO NOTHING
        RETURNING *)
    SELECT array_agg(j::nmc.jobs) INTO r FROM j;  -- in the order inserted
    RETURN r;
END
$$;
COMMENT ON FUNCTION nmc.jobs_enqueue(text, uuid[], jsonb[], text[], bigint, timestamptz) IS
    'Queues jobs of one kind (element k of each array is one: business, payload, idempotency key) in one statement (the dispatcher is woken when the transaction commits, never before); a job whose idempotency key is already used is not queued again. Returns the jobs queued, in order. The one place jobs are queued (nmc.job_enqueue is it for one).';
CREATE OR REPLACE FUNCTION nmc.job_enqueue(p_kind text, p_business_id uuid, p_payload jsonb,
                                p_idempotency_key text DEFAULT NULL, p_parent_id bigint DEFAULT NULL,
                                p_not_before timestamptz DEFAULT now())
RETURNS nmc.jobs
LANGUAGE plpgsql
AS $$
DECLARE
    j nmc.jobs := (nmc.jobs_enqueue(p_kind, ARRAY[p_business_id], ARRAY[p_payload], ARRAY[p_idempotency_key], p_parent_id, p_not_before))[1];
BEGIN
    IF j.id IS NULL THEN
        SELECT * INTO j FROM nmc.jobs WHERE idempotency_key = p_idempotency_key AND business_id = p_business_id;
    END IF;
    RETURN j;
END
$$;
COMMENT ON FUNCTION nmc.job_enqueue(text, uuid, jsonb, text, bigint, timestamptz) IS
    'Queues a job (the dispatcher is woken when the transaction commits, never before). With an idempotency key already used, returns the existing job instead (nmc.jobs_enqueue for one).';
CREATE OR REPLACE FUNCTION nmc.webhook_inbox_put(p_kind text, p_key text, pn nmc.phone_numbers, p_params jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    recorded jsonb;
BEGIN
    -- A webhook the edge kept while the database was down happened when it arrived there.
    INSERT INTO nmc.webhook_inbox (business_id, phone_number_id, webhook_key, params, kind, received_at)
    VALUES (pn.business_id, pn.id, p_key, p_params, p_kind, coalesce((p_params ->> 'nmc_spooled_at')::timestamptz, clock_timestamp()))
    ON CONFLICT (kind, webhook_key, business_id) DO NOTHING
    RETURNING params INTO recorded;
    IF FOUND THEN
        PERFORM nmc.inbox_wake();
        RETURN recorded;
    END IF;
    -- Twilio delivered it again: what the first delivery recorded, if it still waits.
    SELECT i.params INTO recorded FROM nmc.webhook_inbox i WHERE i.kind = p_kind AND i.webhook_key = p_key AND i.business_id = pn.business_id;
    RETURN recorded;
END
$$;
COMMENT ON FUNCTION nmc.webhook_inbox_put(text, text, nmc.phone_numbers, jsonb) IS 'How every Twilio webhook is accepted: one insert into nmc.webhook_inbox for the business of the number pn, idempotent on (kind, key), waking the inbox worker at commit; received when the edge received it (params.nmc_spooled_at, for a webhook replayed from its spool) or now. Returns the params recorded — these, or those of an earlier delivery of the same webhook that still waits — or NULL when an earlier delivery was applied already (applying is idempotent too).';
-- issue 21: one path for inbound texts — nmc.sms_apply threads one text or many
-- (a single text is a batch of one); its one-by-one and set-based twins are gone,
-- and so is webhook_inbox_run's min_together.
DROP FUNCTION nmc.webhook_inbox_run(int, boolean, int);
UPDATE nmc.settings SET description = 'A batch of at least this many webhooks means they are arriving fast: the inbox worker then lets the next ones gather for a moment before it looks again (runs of texts or calls are applied as one set at any size).' WHERE name = 'inbox_min_together';
DROP FUNCTION nmc.sms_received(nmc.webhook_inbox);
DROP FUNCTION nmc.sms_thread_routine(nmc.webhook_inbox[], text[], text[]);
DROP FUNCTION nmc.conversation_customer_wrote(nmc.conversations);
CREATE OR REPLACE FUNCTION nmc.conversations_customer_wrote(cs nmc.conversations[])
RETURNS void
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    -- Taken over, or already counting down: the first unanswered message set the
    -- deadline. Waiting for the customer: the window opens, a timer each.
    WITH t AS (
        INSERT INTO nmc.timers (business_id, kind, subject_id, due_at)
        SELECT c.business_id, 'conversation.human_window', c.id, now() + make_interval(secs => b.human_window_seconds)
          FROM unnest(cs) WITH ORDINALITY AS c JOIN nmc.businesses b ON b.id = c.business_id
         WHERE c.mode = 'waiting'
         ORDER BY c.ordinality
        RETURNING id, subject_id)
    UPDATE nmc.conversations c SET human_window_timer_id = t.id FROM t WHERE c.id = t.subject_id;
    -- The mode by its one transition function, and the owner's phone told.
    PERFORM nmc.owner_alert_your_turn(nmc.conversation_set_mode(w.o, 'human_window', w.due_at))
       FROM (SELECT o, tm.due_at
               FROM unnest(cs) WITH ORDINALITY AS c
               JOIN nmc.conversations o ON o.id = c.id
               JOIN nmc.timers tm ON tm.id = o.human_window_timer_id
              WHERE c.mode = 'waiting'
              ORDER BY c.ordinality) w;
END
$$;
COMMENT ON FUNCTION nmc.conversations_customer_wrote(nmc.conversations[]) IS 'Customers wrote: where a conversation waited for the customer, the human response window opens — a conversation.human_window timer for the business''s human_window_seconds, mode human_window with its deadline (nmc.conversation_set_mode), and the owner''s phone is told (nmc.owner_alert_your_turn); conversations taken over or already counting down are left as they are.';
CREATE OR REPLACE FUNCTION nmc.sms_thread_round(texts nmc.webhook_inbox[], callers text[])
RETURNS void
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    cust nmc.customers[];
    conv nmc.conversations[];
    msgs nmc.messages[];
    kw text[];
    danger text[];
BEGIN
    -- Customer (locked) and open conversation (locked, or new: conversation.created).
    cust := nmc.customers_upsert(ARRAY(SELECT x.business_id FROM unnest(texts) WITH ORDINALITY AS x ORDER BY x.ordinality), callers);
    conv := nmc.conversations_open(ARRAY(SELECT x.business_id FROM unnest(texts) WITH ORDINALITY AS x ORDER BY x.ordinality),
                                   ARRAY(SELECT c.id FROM unnest(cust) WITH ORDINALITY AS c ORDER BY c.ordinality),
                                   ARRAY(SELECT x.phone_number_id FROM unnest(texts) WITH ORDINALITY AS x ORDER BY x.ordinality),
                                   array_fill(NULL::uuid, ARRAY[cardinality(texts)]));
    -- The message, dated when the text was accepted, with its photos.
    WITH m AS (
        INSERT INTO nmc.messages (business_id, customer_id, conversation_id, direction, author, from_phone, to_phone, body, status,
                                  twilio_sid, created_at, media)
        SELECT x.business_id, (cust[x.ordinality]).id, (conv[x.ordinality]).id, 'inbound', 'customer', callers[x.ordinality], pn.phone,
               left(CASE WHEN coalesce(x.params ->> 'Body', '') <> '' THEN x.params ->> 'Body'
                         WHEN md.media IS NOT NULL THEN nmc.sms_media_words(md.media) ELSE '(empty message)' END, 1600),
               'received', x.webhook_key, x.received_at, md.media
          FROM unnest(texts) WITH ORDINALITY AS x
          JOIN nmc.phone_numbers pn ON pn.id = x.phone_number_id
          CROSS JOIN LATERAL (SELECT nmc.sms_media(x.params) AS media) md
         ORDER BY x.ordinality
        RETURNING *)
    SELECT array_agg(m::nmc.messages ORDER BY x.ordinality) INTO msgs
      FROM m JOIN unnest(texts) WITH ORDINALITY AS x ON x.webhook_key = m.twilio_sid;
    WITH u AS (
        UPDATE nmc.conversations c SET last_message_at = greatest(c.last_message_at, m.created_at)
          FROM unnest(msgs) m WHERE c.id = m.conversation_id
        RETURNING c.*)
    SELECT array_agg(u::nmc.conversations ORDER BY k.i) INTO conv
      FROM generate_subscripts(conv, 1) AS k(i) JOIN u ON u.id = (conv[k.i]).id;
    PERFORM nmc.emit_events(array_agg((msgs[i]).business_id ORDER BY i), array_agg('message.created'::text ORDER BY i),
                            array_agg(nmc.message_json(msgs[i]) - 'body' ORDER BY i))
       FROM generate_subscripts(msgs, 1) AS i;

    -- What each text asks for: a keyword (STOP, START, HELP), else words of danger
    -- (looked for only where they would count: not opted out, not with a human).
    SELECT array_agg(k.kw ORDER BY k.i),
           array_agg(CASE WHEN k.kw IS NULL AND (cust[k.i]).opted_out_at IS NULL AND (conv[k.i]).mode <> 'human'
                          THEN nmc.emergency_term_in((texts[k.i]).business_id, coalesce((texts[k.i]).params ->> 'Body', '')) END ORDER BY k.i)
      INTO kw, danger
      FROM (SELECT i, nmc.sms_keyword(coalesce((texts[i]).params ->> 'Body', '')) AS kw FROM generate_subscripts(texts, 1) AS i) k;

    -- STOP: opted out; nobody may text them now, so nobody is waited for.
    UPDATE nmc.customers SET opted_out_at = now()
     WHERE id = ANY (ARRAY(SELECT (cust[i]).id FROM generate_subscripts(texts, 1) AS i WHERE kw[i] = 'opt_out'));
    PERFORM nmc.conversation_set_mode(conv[i], 'waiting')
       FROM generate_subscripts(texts, 1) AS i WHERE kw[i] = 'opt_out' AND (conv[i]).mode = 'human_window';
    -- START: back in.
    UPDATE nmc.customers SET opted_out_at = NULL
     WHERE id = ANY (ARRAY(SELECT (cust[i]).id FROM generate_subscripts(texts, 1) AS i WHERE kw[i] = 'opt_in'));
    -- HELP: the business's help text, to a customer we may text.
    PERFORM nmc.sms_send(b.id, (cust[i]).id, pn.phone, coalesce(b.help_text, nmc.default_help_text(b)), 'system', (conv[i]).id)
       FROM generate_subscripts(texts, 1) AS i
       JOIN nmc.businesses b ON b.id = (texts[i]).business_id
       JOIN nmc.phone_numbers pn ON pn.id = (texts[i]).phone_number_id
      WHERE kw[i] = 'help' AND (cust[i]).opted_out_at IS NULL AND (cust[i]).sms_unreachable_at IS NULL;
    -- Danger: safety advice and the owner alerted at once.
    PERFORM nmc.conversation_emergency(conv[i], danger[i])
       FROM generate_subscripts(texts, 1) AS i WHERE kw[i] IS NULL AND danger[i] IS NOT NULL;
    -- The assistant has the conversation: it answers at once.
    PERFORM nmc.ai_respond((conv[i]).id)
       FROM generate_subscripts(texts, 1) AS i WHERE kw[i] IS NULL AND danger[i] IS NULL AND (conv[i]).mode = 'ai';
    -- Anything else: the customer wrote (the human response window).
    PERFORM nmc.conversations_customer_wrote(ARRAY(SELECT conv[i] FROM generate_subscripts(texts, 1) AS i
                                                    WHERE kw[i] IS NULL AND danger[i] IS NULL AND (conv[i]).mode <> 'ai' ORDER BY i));
END
$$;
COMMENT ON FUNCTION nmc.sms_thread_round(nmc.webhook_inbox[], text[]) IS 'Threads inbound texts of distinct customers together (nmc.sms_apply''s rounds; callers: their normalised From numbers, in the same order): customer and open conversation (nmc.customers_upsert, nmc.conversations_open), the message dated at acceptance with its photos (nmc.sms_media: a photo alone reads "(photo)"), message.created; then by what each asks: STOP-words opt the customer out (a counting-down window stops), START-words back in, HELP gets the help text; words of danger get safety advice and alert the owner at once (nmc.conversation_emergency); in AI mode the assistant answers; anything else opens the human response window (nmc.conversations_customer_wrote).';
CREATE OR REPLACE FUNCTION nmc.sms_apply(texts nmc.webhook_inbox[])
RETURNS void
LANGUAGE plpgsql
-- Planned once, not for every batch: the plans (index lookups per text) suit any batch size.
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    senders text[];
    todo nmc.webhook_inbox[];
    callers text[];
    owners boolean[];
    dropped record;
    t nmc.webhook_inbox;
    b nmc.businesses;
    pn nmc.phone_numbers;
    n int;
BEGIN
    -- Each sender's number, normalised once (NULL: not a number we can text back).
    senders := ARRAY(SELECT nmc.phone_or_null((texts[i]).params ->> 'From') FROM generate_subscripts(texts, 1) AS i ORDER BY i);
    -- What will not be threaded, said once each: a sender we cannot text back, a
    -- number the business no longer has.
    FOR dropped IN
        SELECT (texts[i]).webhook_key AS sid, (texts[i]).params ->> 'From' AS sender, senders[i] IS NULL AS no_phone
          FROM generate_subscripts(texts, 1) AS i
         WHERE senders[i] IS NULL
            OR NOT EXISTS (SELECT 1 FROM nmc.phone_numbers p JOIN nmc.businesses bb ON bb.id = p.business_id
                            WHERE p.id = (texts[i]).phone_number_id AND p.business_id = (texts[i]).business_id)
    LOOP
        IF dropped.no_phone THEN
            RAISE LOG 'nevermisscall: text % from % cannot be answered by text', dropped.sid, dropped.sender;
        ELSE
            RAISE LOG 'nevermisscall: text % arrived for a number the business no longer has', dropped.sid;
        END IF;
    END LOOP;
    -- The rest, in arrival order: each MessageSid once (Twilio delivers again),
    -- none threaded before; which are the owner talking (nmc.owner_phones).
    SELECT array_agg(texts[x.i] ORDER BY x.i), array_agg(senders[x.i] ORDER BY x.i), array_agg(senders[x.i] = ANY (nmc.owner_phones(bb)) ORDER BY x.i)
      INTO todo, callers, owners
      FROM (SELECT DISTINCT ON ((texts[i]).webhook_key) i, (texts[i]).business_id
              FROM generate_subscripts(texts, 1) AS i
             WHERE senders[i] IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM nmc.messages m WHERE m.twilio_sid = (texts[i]).webhook_key AND m.business_id = (texts[i]).business_id)
               AND EXISTS (SELECT 1 FROM nmc.phone_numbers p WHERE p.id = (texts[i]).phone_number_id AND p.business_id = (texts[i]).business_id)
             ORDER BY (texts[i]).webhook_key, i) x
      JOIN nmc.businesses bb ON bb.id = x.business_id;
    -- In rounds: the longest run from the start in which each customer writes
    -- once and the owner not at all is threaded together (nmc.sms_thread_round);
    -- an owner's text goes alone, in its place. A customer's second text, and
    -- everything after it, waits for the next round: it must see what the first did
    -- (a STOP, a window opened).
    WHILE coalesce(cardinality(todo), 0) > 0 LOOP
        IF owners[1] THEN
            t := todo[1];
            SELECT * INTO b FROM nmc.businesses WHERE id = t.business_id;
            SELECT * INTO pn FROM nmc.phone_numbers WHERE id = t.phone_number_id;
            PERFORM set_config('nmc.business_id', t.business_id::text, true);
            PERFORM nmc.owner_text_received(t, b, pn, callers[1]);
            PERFORM set_config('nmc.business_id', '', true);
            n := 1;
        ELSE
            n := coalesce((SELECT min(z.i) - 1 FROM (SELECT k.i, owners[k.i] AS owner,
                                                            row_number() OVER (PARTITION BY (todo[k.i]).business_id, callers[k.i] ORDER BY k.i) AS nth
                                                       FROM generate_subscripts(todo, 1) AS k(i)) z
                            WHERE z.owner OR z.nth > 1), cardinality(todo));
            PERFORM nmc.sms_thread_round(todo[1:n], callers[1:n]);
        END IF;
        todo := todo[n + 1:cardinality(todo)];
        callers := callers[n + 1:cardinality(callers)];
        owners := owners[n + 1:cardinality(owners)];
    END LOOP;
END
$$;
COMMENT ON FUNCTION nmc.sms_apply(nmc.webhook_inbox[]) IS 'Threads inbound texts (accepted into nmc.webhook_inbox), in arrival order: the one path for one text or many. Skipped: a MessageSid already threaded or named twice (Twilio delivered it again), a sender that is not a phone number, a number the business no longer has (both logged). A text from one of the owner''s phones is the owner talking (nmc.owner_text_received), applied alone in its place; customers'' texts are threaded together in rounds (nmc.sms_thread_round), each customer once a round, so a customer''s texts take effect in the order they came.';
CREATE OR REPLACE FUNCTION nmc.webhook_inbox_apply(t nmc.webhook_inbox)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    CASE t.kind
        WHEN 'sms' THEN PERFORM nmc.sms_apply(ARRAY[t]);
        WHEN 'sms_status' THEN PERFORM nmc.message_status_reported(t);
        WHEN 'voice', 'voice_dial' THEN PERFORM nmc.calls_apply(ARRAY[t]);
        WHEN 'voice_status' THEN PERFORM nmc.call_status_reported(t);
        WHEN 'voice_recording' THEN PERFORM nmc.call_voicemail_recorded(t);
    END CASE;
END
$$;
COMMENT ON FUNCTION nmc.webhook_inbox_apply(nmc.webhook_inbox) IS 'Applies one accepted webhook by its kind, in the business''s tenant scope: an inbound text (nmc.sms_apply, a batch of one), a message status (nmc.message_status_reported), an incoming call or the end of a forwarded call (nmc.calls_apply, a run of one), a call status (nmc.call_status_reported), a voicemail''s recording (nmc.call_voicemail_recorded). Each is idempotent: a webhook delivered again after it was applied changes nothing.';
CREATE OR REPLACE FUNCTION nmc.webhook_inbox_run(max_webhooks int DEFAULT NULL, isolate boolean DEFAULT false)
RETURNS int
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
-- Every lookup here goes by index. The worker plans once per session, possibly on
-- a fresh install's empty-table statistics, and a sequential scan chosen then
-- would grow with the tables until the next ANALYZE.
SET enable_seqscan = off
AS $$
DECLARE
    t nmc.webhook_inbox;
    batch nmc.webhook_inbox[];
    calls boolean[];
    done int;
    n int := 0;
    err_state text;
    err_message text;
BEGIN
    max_webhooks := coalesce(max_webhooks, nmc.setting_int('inbox_batch_size'));
    -- If a crash loses this transaction, its webhooks are still in the inbox and
    -- are applied again; a text one of its jobs had sent meanwhile is sent again
    -- (at-least-once, as the dispatcher's claims). Nobody waits for its flush.
    PERFORM set_config('synchronous_commit', 'off', true);
    PERFORM nmc.defer_events();
    IF isolate THEN
        -- Each webhook alone, in a subtransaction: a failing one is marked and kept.
        FOR t IN SELECT * FROM nmc.webhook_inbox WHERE failed_at IS NULL ORDER BY id LIMIT max_webhooks FOR UPDATE SKIP LOCKED LOOP
            PERFORM set_config('nmc.business_id', t.business_id::text, true);
            BEGIN
                PERFORM nmc.webhook_inbox_apply(t);
                DELETE FROM nmc.webhook_inbox WHERE id = t.id;
            EXCEPTION
                WHEN deadlock_detected OR serialization_failure OR lock_not_available THEN
                    -- Transient: this webhook and everything after it wait for the next
                    -- round (a customer's STOP and START, a call and its end, keep their order).
                    RAISE LOG 'nevermisscall: % webhook % (inbox %) will be retried: %', t.kind, t.webhook_key, t.id, SQLERRM;
                    EXIT;
                WHEN OTHERS THEN
                    GET STACKED DIAGNOSTICS err_state = RETURNED_SQLSTATE, err_message = MESSAGE_TEXT;
                    RAISE WARNING 'nevermisscall: % webhook % (inbox %) could not be applied: % %', t.kind, t.webhook_key, t.id, err_state, err_message;
                    UPDATE nmc.webhook_inbox SET failed_at = now(), error = err_state || ': ' || err_message WHERE id = t.id;
            END;
            n := n + 1;
        END LOOP;
        PERFORM set_config('nmc.business_id', '', true);
        PERFORM nmc.emit_deferred_events();
        RETURN n;
    END IF;

    WHILE n < max_webhooks LOOP
        SELECT array_agg(q ORDER BY q.id) INTO batch
          FROM (SELECT * FROM nmc.webhook_inbox WHERE failed_at IS NULL ORDER BY id LIMIT max_webhooks - n FOR UPDATE SKIP LOCKED) q;
        EXIT WHEN batch IS NULL;
        -- Every path locks a conversation before its business's event counter. With
        -- several webhooks this transaction takes all their open conversations (by id)
        -- before touching any; their counters it takes only at its end, in business
        -- order, when it numbers its events (nmc.emit_deferred_events): a business's
        -- other writers (the dispatcher completing texts) wait for no batch.
        IF cardinality(batch) > 1 THEN
            PERFORM 1 FROM nmc.conversations c
              JOIN (SELECT DISTINCT g.business_id, g.phone_number_id, nmc.phone_or_null(g.params ->> 'From') AS phone
                      FROM unnest(batch) AS g) k
                ON c.business_id = k.business_id AND c.phone_number_id = k.phone_number_id AND c.state = 'open'
              JOIN nmc.customers cu ON cu.id = c.customer_id AND cu.business_id = k.business_id AND cu.phone = k.phone
             ORDER BY c.id FOR UPDATE OF c;
        END IF;
        -- Which are voice webhooks that can go together (a CallSid's second webhook in
        -- the batch waits for the next round: it must see what the first did).
        calls := ARRAY(SELECT g.kind IN ('voice', 'voice_dial')
                              AND row_number() OVER (PARTITION BY g.kind IN ('voice', 'voice_dial'), g.webhook_key ORDER BY g.ordinality) = 1
                         FROM unnest(batch) WITH ORDINALITY AS g ORDER BY g.ordinality);
        done := 1;
        IF calls[1] THEN
            -- A run of calls together (nmc.calls_apply: the missed ones decided and
            -- texted at once), up to the first webhook that is not one.
            WHILE done < cardinality(batch) AND calls[done + 1] LOOP
                done := done + 1;
            END LOOP;
            PERFORM nmc.calls_apply(batch[1:done]);
        ELSIF batch[1].kind = 'sms' THEN
            -- A run of inbound texts together (nmc.sms_apply, in arrival order).
            WHILE done < cardinality(batch) AND batch[done + 1].kind = 'sms' LOOP
                done := done + 1;
            END LOOP;
            PERFORM nmc.sms_apply(batch[1:done]);
        ELSE
            -- Status callbacks and voicemails one by one, up to the next call or text.
            WHILE done < cardinality(batch) AND NOT calls[done + 1] AND batch[done + 1].kind <> 'sms' LOOP
                done := done + 1;
            END LOOP;
            FOREACH t IN ARRAY batch[1:done] LOOP
                PERFORM set_config('nmc.business_id', t.business_id::text, true);
                PERFORM nmc.webhook_inbox_apply(t);
            END LOOP;
            PERFORM set_config('nmc.business_id', '', true);
        END IF;
        -- By an array of ids (one index probe each; IN (subquery) planned generically
        -- compared every inbox row with every webhook).
        DELETE FROM nmc.webhook_inbox WHERE id = ANY (ARRAY(SELECT r.id FROM unnest(batch[1:done]) r));
        n := n + done;
        -- The inbox had no more than this batch, and all of it is done.
        EXIT WHEN done = cardinality(batch) AND cardinality(batch) < max_webhooks - n + done;
    END LOOP;
    PERFORM nmc.emit_deferred_events();
    RETURN n;
END
$$;
COMMENT ON FUNCTION nmc.webhook_inbox_run(int, boolean) IS 'Applies up to max_webhooks (NULL: the setting inbox_batch_size) inbox webhooks in arrival order and deletes them; returns how many it took. A run of inbound texts goes through nmc.sms_apply at once; a run of voice webhooks (incoming calls, ends of forwarded calls — a CallSid once per run) through nmc.calls_apply at once, missed calls decided and texted together; status callbacks and voicemails through nmc.webhook_inbox_apply one by one, many per transaction. Events are numbered when the run ends (nmc.defer_events), and the transaction commits without waiting for its WAL flush (a crash that loses it leaves its webhooks in the inbox). The inbox worker runs it in one transaction per batch; when a batch raises an error (a deadlock with a timer included) it runs it again with isolate, which gives each webhook a subtransaction (a text is then a batch of one) and marks a failing one (failed_at, error) instead of losing the batch — one that meets a deadlock or serialization failure again is left for the next round, not marked.';
CREATE OR REPLACE FUNCTION nmc.webhook_sms(req jsonb)
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
CREATE OR REPLACE FUNCTION nmc.emergency_term_in(p_business_id uuid, body text)
RETURNS text
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    words text := nmc.emergency_words(body);
    hit text;
BEGIN
    SELECT t.term INTO hit FROM nmc.emergency_terms t
     WHERE (t.trade_type IS NULL OR t.trade_type = (SELECT b.trade_type FROM nmc.businesses b WHERE b.id = p_business_id))
       AND strpos(words, ' ' || t.term || ' ') > 0
     ORDER BY length(t.term) DESC LIMIT 1;
    RETURN hit;
END
$$;
COMMENT ON FUNCTION nmc.emergency_term_in(uuid, text) IS 'The word of danger for the business''s trade found in a text (whole words, any case, punctuation ignored), or NULL; the longest if several.';
COMMENT ON FUNCTION nmc.owner_text_received(nmc.webhook_inbox, nmc.businesses, nmc.phone_numbers, text) IS
    'A text from one of the owner''s phones (nmc.sms_apply sends it here), as of when it was received. STOP-words: nothing more is texted to that phone (alerts included) until START-words, which answer with the rules. "#N …": the conversation whose alerts carry #N (within owner_tag_seconds); no #N: the latest alert''s (within owner_reply_window_seconds) — unless that alert came less than owner_reply_settle_seconds before and another customer was alerted too: then nothing is sent and the owner is asked which. Then a whole-text command (nmc.owner_text_command): AI hands the conversation back as the dashboard does (mode waiting) and, if the customer is waiting for an answer, ends the owner''s window at once so the assistant answers now, NUMBER texts back the customer''s number, HELP the rules; anything else is sent to the customer as the owner''s (author owner), taking the conversation over (mode human: the assistant is silent) — refused, with the owner told, when the customer opted out or cannot get texts. A closed conversation is opened again. Idempotent on MessageSid; kept in nmc.owner_texts.';

-- issue 16 (lead): a text's delivery order in one place (nmc.message_delivery_ranks, made
-- before sql/api/meta.sql is included, which serves it), used by status callbacks.
CREATE OR REPLACE FUNCTION nmc.message_status_rank(status text)
RETURNS int
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT coalesce((nmc.message_delivery_ranks() ->> status)::int, -1) $$;
COMMENT ON FUNCTION nmc.message_status_rank(text) IS 'How far along a message status is (nmc.message_delivery_ranks; -1 for a status it does not know); callbacks may arrive out of order and only move a message forward.';
-- Generated from docs/openapi.json by extension/Makefile.
CREATE OR REPLACE FUNCTION nmc.openapi_document() RETURNS text LANGUAGE sql IMMUTABLE AS $nmc_fn$ SELECT $nmc_openapi${
  "openapi": "3.0.3",
  "info": {
    "title": "NeverMissCall API",
    "version": "0.1.0",
    "description": "The JSON API the dashboard uses, and the Twilio webhooks. Every /api route is answered\nby nmc_api.handle in Postgres (docs/architecture.md). Errors are always\n{\"error\": {\"code\", \"message\", \"field\"?}} with the status given below; see docs/http-api.md\nfor the codes. The live feed is a WebSocket (GET /api/realtime says where).\nThis document is the source of the route table: every operation answered in SQL names its\nhandler nmc.<operationId>(req jsonb), and its security is the route's authentication (none:\npublic, bearer: jwt, twilioSignature: twilio); nmc.api_routes_build() makes nmc.api_routes\nfrom it at install and at every upgrade. Operations marked x-nmc-edge are answered by the\nedge itself. Served at GET /api/openapi.yaml (JSON is YAML).\n"
  },
  "servers": [{"url": "http://localhost:8080"}],
  "components": {
    "securitySchemes": {
      "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
      "twilioSignature": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Twilio-Signature",
        "description": "HMAC-SHA1 of the public URL and the sorted form parameters, keyed by the Twilio auth token."
      }
    },
    "schemas": {
      "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
          "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "field": {"type": "string"}}
          }
        }
      }
    },
    "responses": {
      "Error": {
        "description": "The request was refused; the body says why.",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
      },
      "TwiML": {
        "description": "TwiML instructions for Twilio.",
        "content": {"text/xml": {"schema": {"type": "string"}}}
      }
    }
  },
  "paths": {
    "/metrics": {
      "get": {
        "summary": "Prometheus metrics: requests by route and status, latency histograms, live-feed clients, NOTIFY-to-send latency, jobs by state (answered by the edge)",
        "x-nmc-edge": true,
        "security": [],
        "responses": {
          "200": {
            "description": "Prometheus text exposition format.",
            "content": {"text/plain": {"schema": {"type": "string"}}}
          }
        }
      }
    },
    "/healthz": {
      "get": {
        "summary": "Liveness; 200 only when the database answers (answered by the edge)",
        "x-nmc-edge": true,
        "security": [],
        "responses": {
          "200": {"description": "The database answers."},
          "503": {"description": "The database is unreachable."}
        }
      }
    },
    "/api/appointments": {
      "get": {
        "operationId": "api_appointments_list",
        "summary": "Appointments in a time window",
        "security": [{"bearer": []}],
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      },
      "post": {
        "operationId": "api_appointments_create",
        "summary": "Book an appointment by hand",
        "security": [{"bearer": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {
          "201": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/appointments/open-slots": {
      "get": {
        "operationId": "api_open_slots",
        "summary": "Free slots: of a day, or the next ones",
        "security": [{"bearer": []}],
        "parameters": [
          {"name": "date", "in": "query", "required": false, "schema": {"type": "string"}},
          {"name": "minutes", "in": "query", "required": false, "schema": {"type": "integer"}},
          {"name": "exclude", "in": "query", "required": false, "schema": {"type": "string"}}
        ],
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/appointments/{id}": {
      "patch": {
        "operationId": "api_appointments_patch",
        "summary": "Move an appointment",
        "security": [{"bearer": []}],
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/appointments/{id}/cancel": {
      "post": {
        "operationId": "api_appointments_cancel",
        "summary": "Cancel an appointment",
        "security": [{"bearer": []}],
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/appointments/{id}/ics": {
      "get": {
        "operationId": "api_appointment_ics",
        "summary": "An appointment as an iCalendar file",
        "security": [{"bearer": []}],
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
        "responses": {
          "200": {"description": "Success.", "content": {"text/calendar": {"schema": {"type": "string"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/auth/login": {
      "post": {
        "operationId": "api_auth_login",
        "summary": "Log in; returns a session token",
        "security": [],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/auth/sign-out-everywhere": {
      "post": {
        "operationId": "api_auth_sign_out_everywhere",
        "summary": "Sign this account out of every session",
        "security": [{"bearer": []}],
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/auth/unlock": {
      "post": {
        "operationId": "api_auth_unlock",
        "summary": "Text a sign-in code to the business's phone (passes the login throttle)",
        "security": [],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {
          "202": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/auth/password/forgot": {
      "post": {
        "operationId": "api_auth_password_forgot",
        "summary": "Text a code for a new password to the owner's phone",
        "security": [],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {
          "202": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/auth/password/reset": {
      "post": {
        "operationId": "api_auth_password_reset",
        "summary": "Set a new password with the texted code",
        "security": [],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/auth/register": {
      "post": {
        "operationId": "api_auth_register",
        "summary": "Create a user and their business; returns a session token",
        "security": [],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {
          "201": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/business": {
      "get": {
        "operationId": "api_business_get",
        "summary": "The business profile",
        "security": [{"bearer": []}],
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      },
      "patch": {
        "operationId": "api_business_patch",
        "summary": "Update the business profile",
        "security": [{"bearer": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/business/alerts": {
      "get": {
        "operationId": "api_alerts_get",
        "summary": "Alerts to the owner's phone: the phone, the kinds, the quiet hours",
        "security": [{"bearer": []}],
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      },
      "patch": {
        "operationId": "api_alerts_patch",
        "summary": "Choose the alerts and the quiet hours",
        "security": [{"bearer": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/business/alerts/phone": {
      "put": {
        "operationId": "api_alert_phone_put",
        "summary": "Set the phone alerts go to; a code is texted to it",
        "security": [{"bearer": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {
          "202": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/business/alerts/phone/verify": {
      "post": {
        "operationId": "api_alert_phone_verify",
        "summary": "Verify the alert phone with the texted code",
        "security": [{"bearer": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/business/blocked-numbers": {
      "get": {
        "operationId": "api_blocked_list",
        "summary": "The block list",
        "security": [{"bearer": []}],
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      },
      "post": {
        "operationId": "api_blocked_add",
        "summary": "Block a number from missed-call texts",
        "security": [{"bearer": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {
          "201": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/business/blocked-numbers/{id}": {
      "delete": {
        "operationId": "api_blocked_delete",
        "summary": "Unblock a number",
        "security": [{"bearer": []}],
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/business/closures": {
      "post": {
        "operationId": "api_closures_post",
        "summary": "Add a closed day",
        "security": [{"bearer": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {
          "201": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/business/closures/{id}": {
      "delete": {
        "operationId": "api_closures_delete",
        "summary": "Remove a closed day",
        "security": [{"bearer": []}],
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/business/greeting": {
      "get": {
        "operationId": "api_greeting_get",
        "summary": "The greeting template, its default and a preview",
        "security": [{"bearer": []}],
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      },
      "put": {
        "operationId": "api_greeting_put",
        "summary": "Set (or reset) the greeting template",
        "security": [{"bearer": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/business/greeting/preview": {
      "post": {
        "operationId": "api_greeting_preview",
        "summary": "Render a template with encoding and segments",
        "security": [{"bearer": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/business/hours": {
      "get": {
        "operationId": "api_hours_get",
        "summary": "Weekly hours, upcoming closures, open now",
        "security": [{"bearer": []}],
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      },
      "put": {
        "operationId": "api_hours_put",
        "summary": "Replace the weekly hours",
        "security": [{"bearer": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/calls": {
      "get": {
        "operationId": "api_calls_list",
        "summary": "Latest calls with their text decision",
        "security": [{"bearer": []}],
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/conversations": {
      "get": {
        "operationId": "api_conversations_list",
        "summary": "Conversations, filtered and paged",
        "security": [{"bearer": []}],
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      },
      "post": {
        "operationId": "api_conversation_start",
        "summary": "Text any number as the business",
        "security": [{"bearer": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {
          "201": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/conversations/{id}": {
      "get": {
        "operationId": "api_conversation_get",
        "summary": "A conversation and its messages",
        "security": [{"bearer": []}],
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/conversations/{id}/messages": {
      "post": {
        "operationId": "api_conversation_reply",
        "summary": "Send a text as the business",
        "security": [{"bearer": []}],
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {
          "201": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/conversations/{id}/release": {
      "post": {
        "operationId": "api_conversation_release",
        "summary": "Hand the conversation back",
        "security": [{"bearer": []}],
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/conversations/{id}/takeover": {
      "post": {
        "operationId": "api_conversation_takeover",
        "summary": "Take the conversation over (the AI goes silent)",
        "security": [{"bearer": []}],
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/events": {
      "get": {
        "operationId": "api_events_list",
        "summary": "Events after a given id (resume)",
        "security": [{"bearer": []}],
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/jobs/{id}": {
      "get": {
        "operationId": "api_job_get",
        "summary": "Poll a job",
        "security": [{"bearer": []}],
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/media/{id}": {
      "get": {
        "operationId": "api_media_get",
        "summary": "A voicemail recording or MMS photo, fetched from the provider and served here",
        "security": [{"bearer": []}],
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
        "responses": {
          "200": {
            "description": "The file, with its media type (audio/mpeg for a voicemail, image/* for a photo).",
            "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}
          },
          "409": {"$ref": "#/components/responses/Error"},
          "410": {"$ref": "#/components/responses/Error"},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/leads": {
      "get": {
        "operationId": "api_leads_list",
        "summary": "Leads by status, paged",
        "security": [{"bearer": []}],
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/leads/{id}": {
      "patch": {
        "operationId": "api_lead_patch",
        "summary": "Change a lead's status",
        "description": "Any status; lost needs a reason, won may have one (other statuses clear it).",
        "security": [{"bearer": []}],
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "type": "object",
                "required": ["status"],
                "properties": {
                  "status": {"type": "string", "description": "one of GET /api/meta state_machines.lead.statuses"},
                  "reason": {"type": "string", "maxLength": 500}
                }
              }
            }
          }
        },
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/meta": {
      "get": {
        "operationId": "api_meta",
        "summary": "Statuses of each state machine and field bounds the dashboard shows",
        "description": "state_machines: for lead, call, conversation_state, conversation_mode, appointment and job, its statuses in order and the moves the system makes from each (the owner may set a lead to any status); message_delivery.ranks: how far along each state of a text is (final states level); limits: service_radius_km_max. The server's rules, so the dashboard keeps no copy.",
        "security": [],
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/me": {
      "get": {
        "operationId": "api_me_get",
        "summary": "The logged-in user",
        "security": [{"bearer": []}],
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      },
      "patch": {
        "operationId": "api_me_patch",
        "summary": "Update the logged-in user's name and preferences",
        "security": [{"bearer": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/openapi.yaml": {
      "get": {
        "operationId": "api_openapi",
        "summary": "This document",
        "security": [],
        "responses": {
          "200": {"description": "Success.", "content": {"application/yaml": {"schema": {"type": "string"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/phone-numbers": {
      "get": {
        "operationId": "api_phone_numbers_list",
        "summary": "The business's Twilio numbers",
        "security": [{"bearer": []}],
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      },
      "post": {
        "operationId": "api_phone_numbers_buy",
        "summary": "Buy a number (a job)",
        "security": [{"bearer": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {
          "202": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/phone-numbers/attach": {
      "post": {
        "operationId": "api_phone_numbers_attach",
        "summary": "Use a number the account owns: our webhooks on it, its old ones kept (a job)",
        "security": [{"bearer": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {
          "202": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/phone-numbers/{id}/detach": {
      "post": {
        "operationId": "api_phone_number_detach",
        "summary": "Stop using an attached number: its earlier webhooks put back (a job)",
        "security": [{"bearer": []}],
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
        "responses": {
          "202": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/phone-numbers/owned": {
      "post": {
        "operationId": "api_phone_numbers_owned",
        "summary": "List the account's numbers no business uses yet (a job)",
        "security": [{"bearer": []}],
        "responses": {
          "202": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/phone-numbers/search": {
      "post": {
        "operationId": "api_phone_numbers_search",
        "summary": "Search numbers by area code (a job)",
        "security": [{"bearer": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {
          "202": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/push/key": {
      "get": {
        "operationId": "api_push_key",
        "summary": "The key browsers subscribe to alert pushes with",
        "security": [{"bearer": []}],
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/push/subscriptions": {
      "post": {
        "operationId": "api_push_subscribe",
        "summary": "This device gets alerts pushed",
        "security": [{"bearer": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {
          "201": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/push/unsubscribe": {
      "post": {
        "operationId": "api_push_unsubscribe",
        "summary": "This device gets no more pushes",
        "security": [{"bearer": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/quick-replies": {
      "get": {
        "operationId": "api_quick_replies_list",
        "summary": "Saved texts, rendered for a conversation",
        "security": [{"bearer": []}],
        "parameters": [{"name": "conversation", "in": "query", "required": false, "schema": {"type": "string"}}],
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      },
      "post": {
        "operationId": "api_quick_reply_create",
        "summary": "Save a text",
        "security": [{"bearer": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {
          "201": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/quick-replies/{id}": {
      "patch": {
        "operationId": "api_quick_reply_patch",
        "summary": "Change a saved text or its place",
        "security": [{"bearer": []}],
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      },
      "delete": {
        "operationId": "api_quick_reply_delete",
        "summary": "Delete a saved text",
        "security": [{"bearer": []}],
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/realtime": {
      "get": {
        "operationId": "api_realtime",
        "summary": "The live feed's WebSocket URL and protocol",
        "security": [{"bearer": []}],
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/sandbox/customer-reply": {
      "post": {
        "operationId": "api_sandbox_customer_reply",
        "summary": "Sandbox mode only: rehearse a customer's text to your number",
        "description": "Runs the same code as Twilio's SMS webhook. 409 sandbox_only when Twilio is configured, 409 no_phone_number before the business has a number.",
        "security": [{"bearer": []}],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "type": "object",
                "required": ["body"],
                "properties": {
                  "from": {"type": "string", "description": "The customer's phone (default +15125550142)"},
                  "body": {"type": "string", "maxLength": 1600}
                }
              }
            }
          }
        },
        "responses": {
          "202": {
            "description": "Accepted: {message_sid, from, to}.",
            "content": {"application/json": {"schema": {"type": "object"}}}
          },
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/sandbox/missed-call": {
      "post": {
        "operationId": "api_sandbox_missed_call",
        "summary": "Sandbox mode only: rehearse an unanswered call to your number",
        "description": "Runs the same code as Twilio's voice webhooks (the <Dial> ends no-answer when the owner would have been rung): accepted at once, then applied by the inbox worker like any webhook: greeting text, lead, conversation, events. 409 sandbox_only when Twilio is configured, 409 no_phone_number before the business has a number.",
        "security": [{"bearer": []}],
        "requestBody": {
          "content": {
            "application/json": {
              "schema": {
                "type": "object",
                "properties": {"from": {"type": "string", "description": "The caller's phone (default +15125550142)"}}
              }
            }
          }
        },
        "responses": {
          "202": {
            "description": "Accepted: {call_sid, from, to}; the inbox worker applies the call right after.",
            "content": {"application/json": {"schema": {"type": "object"}}}
          },
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/status": {
      "get": {
        "operationId": "api_status",
        "summary": "System status for the status page",
        "security": [{"bearer": []}],
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/trade-types": {
      "get": {
        "operationId": "api_trade_types",
        "summary": "List the trades a business can choose",
        "security": [],
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/webhooks/twilio/sms": {
      "post": {
        "operationId": "webhook_sms",
        "summary": "Twilio: an incoming text",
        "description": "Recorded in the inbound-text inbox (idempotent on MessageSid) and answered at once with empty TwiML; the inbox worker threads it into its conversation right after the commit (message.created and the rest reach the live feed then).",
        "security": [{"twilioSignature": []}],
        "requestBody": {
          "required": true,
          "content": {
            "application/x-www-form-urlencoded": {"schema": {"type": "object", "additionalProperties": {"type": "string"}}}
          }
        },
        "responses": {
          "200": {"$ref": "#/components/responses/TwiML"},
          "400": {"$ref": "#/components/responses/Error"},
          "403": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/webhooks/twilio/sms/status": {
      "post": {
        "operationId": "webhook_sms_status",
        "summary": "Twilio: outbound message status callback",
        "security": [{"twilioSignature": []}],
        "requestBody": {
          "required": true,
          "content": {
            "application/x-www-form-urlencoded": {"schema": {"type": "object", "additionalProperties": {"type": "string"}}}
          }
        },
        "responses": {
          "200": {"$ref": "#/components/responses/TwiML"},
          "400": {"$ref": "#/components/responses/Error"},
          "403": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/webhooks/twilio/voice": {
      "post": {
        "operationId": "webhook_voice",
        "summary": "Twilio: an incoming call",
        "security": [{"twilioSignature": []}],
        "requestBody": {
          "required": true,
          "content": {
            "application/x-www-form-urlencoded": {"schema": {"type": "object", "additionalProperties": {"type": "string"}}}
          }
        },
        "responses": {
          "200": {"$ref": "#/components/responses/TwiML"},
          "400": {"$ref": "#/components/responses/Error"},
          "403": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/webhooks/twilio/voice/dial": {
      "post": {
        "operationId": "webhook_voice_dial",
        "summary": "Twilio: the forwarded call ended (Dial action)",
        "security": [{"twilioSignature": []}],
        "requestBody": {
          "required": true,
          "content": {
            "application/x-www-form-urlencoded": {"schema": {"type": "object", "additionalProperties": {"type": "string"}}}
          }
        },
        "responses": {
          "200": {"$ref": "#/components/responses/TwiML"},
          "400": {"$ref": "#/components/responses/Error"},
          "403": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/webhooks/twilio/voice/recorded": {
      "post": {
        "operationId": "webhook_voice_recorded",
        "summary": "Twilio: the caller finished a voicemail (Record action)",
        "security": [{"twilioSignature": []}],
        "requestBody": {
          "required": true,
          "content": {
            "application/x-www-form-urlencoded": {"schema": {"type": "object", "additionalProperties": {"type": "string"}}}
          }
        },
        "responses": {
          "200": {"$ref": "#/components/responses/TwiML"},
          "400": {"$ref": "#/components/responses/Error"},
          "403": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/webhooks/twilio/voice/recording": {
      "post": {
        "operationId": "webhook_voice_recording",
        "summary": "Twilio: a voicemail's recording status callback",
        "security": [{"twilioSignature": []}],
        "parameters": [{"name": "To", "in": "query", "required": true, "schema": {"type": "string"}}],
        "requestBody": {
          "required": true,
          "content": {
            "application/x-www-form-urlencoded": {"schema": {"type": "object", "additionalProperties": {"type": "string"}}}
          }
        },
        "responses": {
          "200": {"$ref": "#/components/responses/TwiML"},
          "400": {"$ref": "#/components/responses/Error"},
          "403": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/webhooks/twilio/voice/status": {
      "post": {
        "operationId": "webhook_voice_status",
        "summary": "Twilio: call status callback",
        "security": [{"twilioSignature": []}],
        "requestBody": {
          "required": true,
          "content": {
            "application/x-www-form-urlencoded": {"schema": {"type": "object", "additionalProperties": {"type": "string"}}}
          }
        },
        "responses": {
          "200": {"$ref": "#/components/responses/TwiML"},
          "400": {"$ref": "#/components/responses/Error"},
          "403": {"$ref": "#/components/responses/Error"}
        }
      }
    }
  }
}
$nmc_openapi$::text $nmc_fn$;
COMMENT ON FUNCTION nmc.openapi_document() IS 'The text of docs/openapi.json.';
SELECT nmc.api_routes_build();
SELECT nmc.api_dispatch_build();
-- planner_statistics.sql — no statistics on the tenant column. Every query is
-- for one business, but a cached plan is made before the planner knows which,
-- and statistics describe the businesses seen at the last ANALYZE: a business
-- new since then looks empty, so a lookup by a unique key (a MessageSid, a
-- CallSid) under row-level security was planned as a scan of the business's
-- index — every message of the business, on every inbound text. Without
-- statistics on business_id its equality is estimated at the default 0.5 %,
-- unique keys use their unique index, and lists still use the business
-- indexes. Applied at install and again by every upgrade (new tables included).
DO $stats$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT a.attrelid::regclass AS rel, a.attnum
               FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
              WHERE c.relnamespace = 'nmc'::regnamespace AND c.relkind IN ('r', 'p')
                AND a.attname = 'business_id' AND NOT a.attisdropped
    LOOP
        EXECUTE format('ALTER TABLE %s ALTER COLUMN business_id SET STATISTICS 0', r.rel);
        DELETE FROM pg_statistic WHERE starelid = r.rel AND staattnum = r.attnum;
    END LOOP;
END
$stats$;
-- grants.sql — ownership and privileges, applied last (and again by every
-- upgrade script): tables belong to nmc_owner under forced row-level
-- security, API functions run as nmc_api (login as nmc_auth), and nmc_edge
-- can execute nmc_api and nothing else.
DO $own$
DECLARE
    rel regclass;
BEGIN
    FOR rel IN SELECT c.oid::regclass FROM pg_class c
                WHERE c.relnamespace = 'nmc'::regnamespace AND c.relkind IN ('r', 'v')
    LOOP
        EXECUTE format('ALTER TABLE %s OWNER TO nmc_owner', rel);
    END LOOP;
END
$own$;

GRANT USAGE ON SCHEMA nmc TO nmc_owner, nmc_api, nmc_auth;
GRANT USAGE ON SCHEMA nmc_api TO nmc_api, nmc_edge;

GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA nmc TO nmc_api;
GRANT SELECT ON nmc.settings, nmc.users, nmc.businesses, nmc.phone_numbers TO nmc_auth;
GRANT SELECT, INSERT, DELETE ON nmc.login_failures TO nmc_auth;
GRANT SELECT, INSERT, UPDATE, DELETE ON nmc.user_devices, nmc.login_codes TO nmc_auth;
GRANT SELECT, INSERT ON nmc.jobs TO nmc_auth;
GRANT UPDATE (password_hash, sessions_generation) ON nmc.users TO nmc_auth;

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA nmc FROM PUBLIC;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA nmc_api FROM PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA nmc TO nmc_api, nmc_auth;
-- Policies call these as whoever queries the table, the owner included.
GRANT EXECUTE ON FUNCTION nmc.current_business_id(), nmc.current_user_id() TO nmc_owner;
-- The status lists the domains check: whoever writes a row evaluates them.
GRANT EXECUTE ON FUNCTION nmc.lead_statuses(), nmc.call_statuses(), nmc.conversation_states(), nmc.conversation_modes(),
                          nmc.appointment_statuses(), nmc.job_statuses(), nmc.service_radius_max_km() TO PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA nmc_api TO nmc_edge;

-- Every nmc_api function runs as nmc_api unless reassigned below; a definer
-- function left to the installing superuser would bypass row-level security.
DO $api_owner$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN SELECT p.oid::regprocedure FROM pg_proc p WHERE p.pronamespace = 'nmc_api'::regnamespace LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO nmc_api', f);
    END LOOP;
END
$api_owner$;
ALTER FUNCTION nmc.login(jsonb, text) OWNER TO nmc_auth;
ALTER FUNCTION nmc.login_code_request(jsonb, text) OWNER TO nmc_auth;
ALTER FUNCTION nmc.password_reset_request(jsonb, text) OWNER TO nmc_auth;
ALTER FUNCTION nmc.password_reset(jsonb, text) OWNER TO nmc_auth;
ALTER FUNCTION nmc.webhook_tenant(text) OWNER TO nmc_auth;
ALTER FUNCTION nmc.phone_number_available(text) OWNER TO nmc_auth;
GRANT USAGE ON SCHEMA nmc TO nmc_monitor;
GRANT SELECT ON nmc.jobs, nmc.job_attempts, nmc.job_kinds, nmc.settings, nmc.webhook_inbox TO nmc_monitor;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA nmc TO nmc_monitor;
ALTER FUNCTION nmc_api.metrics() OWNER TO nmc_monitor;
-- nmc_monitor owns nmc_api.metrics (a definer function), so it needs the schema too.
GRANT USAGE ON SCHEMA nmc_api TO nmc_monitor;
