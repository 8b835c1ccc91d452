-- twilio.sql — the Twilio job kinds: building REST requests (form-encoded,
-- HTTP Basic with the account SID and auth token from nmc.settings),
-- applying responses to messages and phone numbers, reacting to permanent
-- errors, and realistic simulations for sandbox mode.
CREATE FUNCTION nmc.url_encode(t text)
RETURNS text
LANGUAGE c IMMUTABLE STRICT
AS 'MODULE_PATHNAME', 'nmc_url_encode';
COMMENT ON FUNCTION nmc.url_encode(text) IS 'Percent-encodes UTF-8 text for a URL query or a form body (RFC 3986 unreserved characters kept).';

CREATE FUNCTION nmc.form_encode(fields jsonb)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    f record;
    body text := '';
BEGIN
    -- PL/pgSQL rather than SQL: its plan is cached, and this runs for every request.
    FOR f IN SELECT key, value FROM jsonb_each_text(fields) WHERE value IS NOT NULL ORDER BY key LOOP
        body := body || CASE WHEN body = '' THEN '' ELSE '&' END || nmc.url_encode(f.key) || '=' || nmc.url_encode(f.value);
    END LOOP;
    RETURN body;
END
$$;
COMMENT ON FUNCTION nmc.form_encode(jsonb) IS 'application/x-www-form-urlencoded body from a flat JSON object (null values left out).';

CREATE FUNCTION nmc.twilio_request(cfg jsonb, method text, resource text, form jsonb DEFAULT NULL, query jsonb DEFAULT NULL)
RETURNS nmc.http_request
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN ROW(method,
               rtrim(cfg ->> 'twilio_api_base', '/') || '/2010-04-01/Accounts/'
                   || nmc.url_encode(cfg ->> 'twilio_account_sid') || '/' || resource
                   || CASE WHEN query IS NULL THEN '' ELSE '?' || nmc.form_encode(query) END,
               CASE WHEN form IS NULL THEN ARRAY['Accept: application/json']
                    ELSE ARRAY['Accept: application/json', 'Content-Type: application/x-www-form-urlencoded'] END,
               CASE WHEN form IS NULL THEN NULL ELSE nmc.form_encode(form) END,
               cfg ->> 'twilio_account_sid',
               cfg ->> 'twilio_auth_token', NULL)::nmc.http_request;
END
$$;
COMMENT ON FUNCTION nmc.twilio_request(jsonb, text, text, jsonb, jsonb) IS 'A Twilio REST request for a resource under the configured account (e.g. Messages.json), authenticated with HTTP Basic.';

CREATE FUNCTION nmc.twilio_webhook_url(cfg jsonb, path text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
AS $$ BEGIN RETURN rtrim(cfg ->> 'public_url', '/') || path; END $$;
COMMENT ON FUNCTION nmc.twilio_webhook_url(jsonb, text) IS 'Absolute URL of one of our webhooks under public_url, as Twilio must call it.';

CREATE FUNCTION nmc.twilio_random_sid(prefix text)
RETURNS text
LANGUAGE sql VOLATILE
AS $$ SELECT prefix || encode(gen_random_bytes(16), 'hex') $$;
COMMENT ON FUNCTION nmc.twilio_random_sid(text) IS 'A random Twilio-shaped SID (2-letter prefix + 32 hex) for sandbox simulations.';

CREATE FUNCTION nmc.twilio_date(t timestamptz)
RETURNS text
LANGUAGE sql STABLE
AS $$ SELECT to_char(t AT TIME ZONE 'UTC', 'Dy, DD Mon YYYY HH24:MI:SS') || ' +0000' $$;
COMMENT ON FUNCTION nmc.twilio_date(timestamptz) IS 'RFC 2822 date as Twilio writes it in REST JSON.';

-- twilio.sms.send ---------------------------------------------------------
CREATE FUNCTION nmc.twilio_sms_send_build(j nmc.jobs, cfg jsonb)
RETURNS nmc.http_request
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    m nmc.messages;
    opted_out timestamptz;
BEGIN
    SELECT * INTO m FROM nmc.messages WHERE id = (j.payload ->> 'message_id')::uuid;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'message % no longer exists', j.payload ->> 'message_id';
    END IF;
    -- Still wanted now that it would go out (after an outage, maybe hours late)?
    SELECT c.opted_out_at INTO opted_out FROM nmc.customers c
     WHERE c.business_id = m.business_id AND c.id = m.customer_id AND c.phone = m.to_phone;
    IF opted_out IS NOT NULL THEN
        PERFORM nmc.job_not_wanted('the customer replied STOP before this text went out', 'opted_out');
    END IF;
    IF m.author = 'ai' AND EXISTS (SELECT 1 FROM nmc.conversations WHERE id = m.conversation_id AND taken_over_at >= m.created_at) THEN
        PERFORM nmc.job_not_wanted('the owner took the conversation over before this assistant text went out', 'taken_over');
    END IF;
    IF m.created_at < now() - make_interval(secs => (cfg ->> 'stale_text_seconds')::int) THEN
        PERFORM nmc.job_not_wanted(format('this text could not go out for %s minutes (a provider outage); too late to send',
                                          floor(extract(epoch FROM now() - m.created_at) / 60)), 'stale');
    END IF;
    RETURN nmc.twilio_request(cfg, 'POST', 'Messages.json', jsonb_build_object(
        'To', m.to_phone, 'From', m.from_phone, 'Body', m.body,
        'StatusCallback', nmc.twilio_webhook_url(cfg, '/webhooks/twilio/sms/status')));
END
$$;
COMMENT ON FUNCTION nmc.twilio_sms_send_build(nmc.jobs, jsonb) IS 'twilio.sms.send: POST Messages.json with To, From, Body and our status callback — unless, at that moment, the customer has opted out, the conversation of an assistant text was taken over, or the text is older than stale_text_seconds (then NMD01: dropped, see nmc.twilio_sms_send_dropped).';

CREATE FUNCTION nmc.twilio_sms_send_dropped(j nmc.jobs, code text, message text)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    m nmc.messages;
    b nmc.businesses;
    conv nmc.conversations;
BEGIN
    UPDATE nmc.messages SET status = 'dropped', error_message = message, updated_at = now()
     WHERE id = (j.payload ->> 'message_id')::uuid AND status IN ('pending', 'queued')
    RETURNING * INTO m;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    PERFORM nmc.emit_event(m.business_id, 'message.status',
        jsonb_build_object('id', m.id, 'conversation_id', m.conversation_id, 'status', m.status, 'error_code', m.error_code,
                           'reason', code));
    IF code = 'stale' AND m.conversation_id IS NOT NULL THEN
        -- The customer is not texted hours late: the owner is told to call back.
        PERFORM nmc.lead_text_not_delivered(m);
        PERFORM nmc.emit_event(m.business_id, 'message.stale', jsonb_build_object('id', m.id, 'conversation_id', m.conversation_id,
            'customer_id', m.customer_id, 'to', m.to_phone, 'created_at', m.created_at));
        SELECT * INTO b FROM nmc.businesses WHERE id = m.business_id;
        SELECT * INTO conv FROM nmc.conversations WHERE id = m.conversation_id;
        IF conv.id IS NOT NULL THEN
            PERFORM nmc.owner_alert(b, conv, 'call_back', format('Texting was down: %s was not texted back (since %s). Please call them.',
                m.to_phone, to_char(m.created_at AT TIME ZONE b.timezone, 'Mon DD HH24:MI')));
        END IF;
    END IF;
END
$$;
COMMENT ON FUNCTION nmc.twilio_sms_send_dropped(nmc.jobs, text, text) IS 'twilio.sms.send no longer wanted: the message is dropped with the reason (message.status event); a stale text to a customer is told to the owner instead (message.stale event, and a text to the forward-to phone, which goes out now that the provider is back).';

CREATE FUNCTION nmc.twilio_sms_send_apply(j nmc.jobs, response jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    m nmc.messages;
BEGIN
    IF coalesce(response ->> 'sid', '') !~ '^(SM|MM)[0-9a-f]{32}$' THEN
        PERFORM nmc.job_permanent_error('Twilio accepted the message but returned no message SID', 'invalid_response');
    END IF;
    UPDATE nmc.messages
       SET twilio_sid = response ->> 'sid',
           status = CASE WHEN coalesce((response ->> 'nmc_simulated')::boolean, false) THEN 'simulated'
                         WHEN response ->> 'status' IN ('queued', 'sending', 'sent', 'delivered', 'undelivered', 'failed')
                              AND status IN ('pending', 'queued') THEN response ->> 'status'
                         ELSE status END,
           simulated = coalesce((response ->> 'nmc_simulated')::boolean, false)
     WHERE id = (j.payload ->> 'message_id')::uuid
    RETURNING * INTO m;
    IF FOUND THEN
        PERFORM nmc.emit_event(m.business_id, 'message.status',
            jsonb_build_object('id', m.id, 'conversation_id', m.conversation_id, 'status', m.status, 'error_code', m.error_code));
    END IF;
    RETURN response - 'nmc_simulated';
END
$$;
COMMENT ON FUNCTION nmc.twilio_sms_send_apply(nmc.jobs, jsonb) IS 'twilio.sms.send success: stores the message SID and Twilio''s status on the message row (simulated in sandbox mode); emits message.status.';

CREATE FUNCTION nmc.twilio_sms_send_failed(j nmc.jobs, code text, message text)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    m nmc.messages;
BEGIN
    UPDATE nmc.messages SET status = 'failed', error_code = CASE WHEN code ~ '^[0-9]+$' THEN code::int END,
           error_message = message
     WHERE id = (j.payload ->> 'message_id')::uuid
    RETURNING * INTO m;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    PERFORM nmc.emit_event(m.business_id, 'message.status',
        jsonb_build_object('id', m.id, 'conversation_id', m.conversation_id, 'status', m.status, 'error_code', m.error_code));
    PERFORM nmc.lead_text_not_delivered(m);
    -- About the phone it went to: an alert to the owner is recorded against the
    -- customer it is about, whose own phone this says nothing of.
    IF code = '21610' THEN
        UPDATE nmc.customers SET opted_out_at = coalesce(opted_out_at, now())
         WHERE business_id = m.business_id AND id = m.customer_id AND phone = m.to_phone;
        -- The owner's phone texted STOP to this number: alerts to it stop until START.
        UPDATE nmc.businesses b SET owner_phone_stopped = m.to_phone, owner_phone_stopped_at = now()
         WHERE b.id = m.business_id AND m.to_phone = ANY (nmc.owner_phones(b)) AND b.owner_phone_stopped IS DISTINCT FROM m.to_phone;
    ELSIF code IN ('21211', '21614') THEN
        UPDATE nmc.customers SET sms_unreachable_at = coalesce(sms_unreachable_at, now()),
               sms_unreachable_reason = CASE code WHEN '21211' THEN 'not a valid phone number (Twilio 21211)'
                                                  ELSE 'cannot receive text messages, e.g. a landline (Twilio 21614)' END
         WHERE business_id = m.business_id AND id = m.customer_id AND phone = m.to_phone;
    END IF;
END
$$;
COMMENT ON FUNCTION nmc.twilio_sms_send_failed(nmc.jobs, text, text) IS
    'twilio.sms.send permanent failure: the message is failed with Twilio''s code (message.status emitted, the lead shows it); 21610 marks the customer opted out (or, for a text to one of the owner''s phones, stops texts to that phone: owner_phone_stopped), 21211/21614 mark the number unable to receive texts — only when the text went to the customer''s own phone.';

CREATE FUNCTION nmc.twilio_message_simulated(from_phone text, to_phone text, body text)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    sid text := nmc.twilio_random_sid('SM');
    acct text := coalesce(nullif(nmc.setting('twilio_account_sid'), ''), 'AC' || repeat('0', 32));
BEGIN
    RETURN jsonb_build_object(
        'account_sid', acct, 'api_version', '2010-04-01', 'body', body,
        'date_created', nmc.twilio_date(now()), 'date_sent', NULL, 'date_updated', nmc.twilio_date(now()),
        'direction', 'outbound-api', 'error_code', NULL, 'error_message', NULL,
        'from', from_phone, 'messaging_service_sid', NULL, 'num_media', '0',
        'num_segments', (nmc.sms_segments(body)).segments::text, 'price', NULL, 'price_unit', 'USD',
        'sid', sid, 'status', 'queued', 'to', to_phone,
        'uri', '/2010-04-01/Accounts/' || acct || '/Messages/' || sid || '.json',
        'nmc_simulated', true);
END
$$;
COMMENT ON FUNCTION nmc.twilio_message_simulated(text, text, text) IS 'Sandbox mode: the Message resource Twilio would answer a send with, with a fresh SID; nothing is sent.';

CREATE FUNCTION nmc.twilio_sms_send_simulate(j nmc.jobs)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    m nmc.messages;
BEGIN
    SELECT * INTO m FROM nmc.messages WHERE id = (j.payload ->> 'message_id')::uuid;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'message % no longer exists', j.payload ->> 'message_id';
    END IF;
    RETURN nmc.twilio_message_simulated(m.from_phone, m.to_phone, m.body);
END
$$;
COMMENT ON FUNCTION nmc.twilio_sms_send_simulate(nmc.jobs) IS 'Sandbox mode: the response Twilio would give to twilio.sms.send; nothing is sent.';

-- twilio.sms.login_code --------------------------------------------------
CREATE FUNCTION nmc.twilio_sms_login_code_build(j nmc.jobs, cfg jsonb)
RETURNS nmc.http_request
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    body text;
BEGIN
    SELECT text_to_send INTO body FROM nmc.login_codes WHERE id = (j.payload ->> 'login_code_id')::uuid;
    IF body IS NULL THEN
        PERFORM nmc.job_permanent_error('the sign-in code was already sent, given up on, or deleted', 'nothing_to_send');
    END IF;
    RETURN nmc.twilio_request(cfg, 'POST', 'Messages.json', jsonb_build_object(
        'To', j.payload ->> 'to', 'From', j.payload ->> 'from', 'Body', body));
END
$$;
COMMENT ON FUNCTION nmc.twilio_sms_login_code_build(nmc.jobs, jsonb) IS 'twilio.sms.login_code: POST Messages.json to the payload''s To from its From, with the code''s text_to_send as Body (no message row, no status callback).';

CREATE FUNCTION nmc.twilio_sms_login_code_done(j nmc.jobs)
RETURNS void
LANGUAGE sql
AS $$ UPDATE nmc.login_codes SET text_to_send = NULL WHERE id = (j.payload ->> 'login_code_id')::uuid $$;
COMMENT ON FUNCTION nmc.twilio_sms_login_code_done(nmc.jobs) IS 'twilio.sms.login_code sent or given up: the text with the code in it is forgotten.';

CREATE FUNCTION nmc.twilio_sms_login_code_apply(j nmc.jobs, response jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM nmc.twilio_sms_login_code_done(j);
    RETURN response - 'body' - 'nmc_simulated';
END
$$;
COMMENT ON FUNCTION nmc.twilio_sms_login_code_apply(nmc.jobs, jsonb) IS 'twilio.sms.login_code success: the code''s text is forgotten, and the job result is Twilio''s answer without the body.';

CREATE FUNCTION nmc.twilio_sms_login_code_simulate(j nmc.jobs)
RETURNS jsonb
LANGUAGE sql
AS $$
    SELECT nmc.twilio_message_simulated(j.payload ->> 'from', j.payload ->> 'to',
                                        coalesce((SELECT text_to_send FROM nmc.login_codes WHERE id = (j.payload ->> 'login_code_id')::uuid), '(sent)'))
$$;
COMMENT ON FUNCTION nmc.twilio_sms_login_code_simulate(nmc.jobs) IS 'Sandbox mode: the response Twilio would give to twilio.sms.login_code; nothing is sent.';

-- twilio.numbers.search ---------------------------------------------------
CREATE FUNCTION nmc.twilio_numbers_search_build(j nmc.jobs, cfg jsonb)
RETURNS nmc.http_request
LANGUAGE sql STABLE
AS $$
    SELECT nmc.twilio_request(cfg, 'GET',
        'AvailablePhoneNumbers/' || coalesce(j.payload ->> 'country', 'US') || '/Local.json', NULL,
        jsonb_strip_nulls(jsonb_build_object('AreaCode', j.payload ->> 'area_code', 'SmsEnabled', 'true',
                                             'VoiceEnabled', 'true', 'PageSize', coalesce(j.payload ->> 'limit', '20'))))
$$;
COMMENT ON FUNCTION nmc.twilio_numbers_search_build(nmc.jobs, jsonb) IS 'twilio.numbers.search: GET AvailablePhoneNumbers/{country}/Local.json by area code, SMS and voice capable.';

CREATE FUNCTION nmc.twilio_numbers_search_apply(j nmc.jobs, response jsonb)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT jsonb_build_object('numbers', coalesce(jsonb_agg(jsonb_build_object(
               'phone_number', n ->> 'phone_number', 'friendly_name', n ->> 'friendly_name',
               'locality', n ->> 'locality', 'region', n ->> 'region', 'postal_code', n ->> 'postal_code')), '[]'))
      FROM jsonb_array_elements(coalesce(response -> 'available_phone_numbers', '[]')) n
$$;
COMMENT ON FUNCTION nmc.twilio_numbers_search_apply(nmc.jobs, jsonb) IS 'twilio.numbers.search success: the job result lists the numbers offered (polled by the API).';

CREATE FUNCTION nmc.twilio_numbers_search_simulate(j nmc.jobs)
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

-- twilio.numbers.buy ------------------------------------------------------
CREATE FUNCTION nmc.twilio_number_our_webhooks(cfg jsonb)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT jsonb_build_object(
        'VoiceUrl', nmc.twilio_webhook_url(cfg, '/webhooks/twilio/voice'), 'VoiceMethod', 'POST',
        'SmsUrl', nmc.twilio_webhook_url(cfg, '/webhooks/twilio/sms'), 'SmsMethod', 'POST',
        'StatusCallback', nmc.twilio_webhook_url(cfg, '/webhooks/twilio/voice/status'), 'StatusCallbackMethod', 'POST')
$$;
COMMENT ON FUNCTION nmc.twilio_number_our_webhooks(jsonb) IS 'The webhook settings (IncomingPhoneNumber parameters) a number of ours gets: our voice, SMS and status URLs under public_url, all POST. Used when a number is bought and when one the account owns is attached.';

CREATE FUNCTION nmc.twilio_numbers_buy_build(j nmc.jobs, cfg jsonb)
RETURNS nmc.http_request
LANGUAGE sql STABLE
AS $$
    SELECT nmc.twilio_request(cfg, 'POST', 'IncomingPhoneNumbers.json', jsonb_build_object(
        'PhoneNumber', j.payload ->> 'phone_number',
        'FriendlyName', left(coalesce(j.payload ->> 'friendly_name', j.payload ->> 'phone_number'), 64))
        || nmc.twilio_number_our_webhooks(cfg))
$$;
COMMENT ON FUNCTION nmc.twilio_numbers_buy_build(nmc.jobs, jsonb) IS 'twilio.numbers.buy: POST IncomingPhoneNumbers.json with our voice, SMS and status webhook URLs under public_url.';

CREATE FUNCTION nmc.twilio_numbers_buy_apply(j nmc.jobs, response jsonb)
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

CREATE FUNCTION nmc.twilio_numbers_buy_simulate(j nmc.jobs)
RETURNS jsonb
LANGUAGE sql VOLATILE
AS $$
    SELECT jsonb_build_object('sid', nmc.twilio_random_sid('PN'), 'phone_number', j.payload ->> 'phone_number',
                              'friendly_name', coalesce(j.payload ->> 'friendly_name', j.payload ->> 'phone_number'),
                              'status', 'in-use', 'voice_url', nmc.twilio_webhook_url(nmc.settings_json(), '/webhooks/twilio/voice'),
                              'sms_url', nmc.twilio_webhook_url(nmc.settings_json(), '/webhooks/twilio/sms'),
                              'status_callback', nmc.twilio_webhook_url(nmc.settings_json(), '/webhooks/twilio/voice/status'),
                              'nmc_simulated', true)
$$;
COMMENT ON FUNCTION nmc.twilio_numbers_buy_simulate(nmc.jobs) IS 'Sandbox mode: a simulated purchase; the number is recorded as simulated.';

-- twilio.numbers.owned ----------------------------------------------------
CREATE FUNCTION nmc.twilio_number_webhooks(n jsonb)
RETURNS jsonb
LANGUAGE sql IMMUTABLE
AS $$
    SELECT jsonb_build_object('voice_url', n ->> 'voice_url', 'voice_method', n ->> 'voice_method',
                              'sms_url', n ->> 'sms_url', 'sms_method', n ->> 'sms_method',
                              'status_callback', n ->> 'status_callback', 'status_callback_method', n ->> 'status_callback_method')
$$;
COMMENT ON FUNCTION nmc.twilio_number_webhooks(jsonb) IS 'The webhook settings of an IncomingPhoneNumber resource (Twilio''s JSON), as phone_numbers.previous_webhooks keeps them.';

CREATE FUNCTION nmc.twilio_numbers_owned_build(j nmc.jobs, cfg jsonb)
RETURNS nmc.http_request
LANGUAGE sql STABLE
AS $$ SELECT nmc.twilio_request(cfg, 'GET', 'IncomingPhoneNumbers.json', NULL, jsonb_build_object('PageSize', '1000')) $$;
COMMENT ON FUNCTION nmc.twilio_numbers_owned_build(nmc.jobs, jsonb) IS 'twilio.numbers.owned: GET IncomingPhoneNumbers.json, the numbers the account owns (one page of up to 1,000, Twilio''s maximum).';

CREATE FUNCTION nmc.twilio_numbers_owned_apply(j nmc.jobs, response jsonb)
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

CREATE FUNCTION nmc.twilio_numbers_owned_simulate(j nmc.jobs)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    -- Two fictional numbers (555-01XX), always the same: the sandbox's "account".
    SELECT jsonb_build_object('incoming_phone_numbers', jsonb_agg(jsonb_build_object(
               'sid', 'PN' || md5('nmc sandbox owned number ' || g), 'phone_number', format('+15555550%s', 196 + g),
               'friendly_name', format('(555) 555-0%s', 196 + g),
               'voice_url', 'https://example.com/previous/voice', 'voice_method', 'POST',
               'sms_url', 'https://example.com/previous/sms', 'sms_method', 'POST',
               'status_callback', '', 'status_callback_method', 'POST') ORDER BY g), 'nmc_simulated', true)
      FROM generate_series(1, 2) g
$$;
COMMENT ON FUNCTION nmc.twilio_numbers_owned_simulate(nmc.jobs) IS 'Sandbox mode: two fictional numbers the account "owns", with made-up previous webhooks.';

-- twilio.numbers.attach ---------------------------------------------------
CREATE FUNCTION nmc.twilio_numbers_attach_build(j nmc.jobs, cfg jsonb)
RETURNS nmc.http_request
LANGUAGE sql STABLE
AS $$
    SELECT nmc.twilio_request(cfg, 'POST', 'IncomingPhoneNumbers/' || nmc.url_encode(j.payload ->> 'twilio_sid') || '.json',
                              nmc.twilio_number_our_webhooks(cfg))
$$;
COMMENT ON FUNCTION nmc.twilio_numbers_attach_build(nmc.jobs, jsonb) IS 'twilio.numbers.attach: POST IncomingPhoneNumbers/{sid}.json, pointing a number the account owns at our webhooks.';

CREATE FUNCTION nmc.twilio_numbers_attach_apply(j nmc.jobs, response jsonb)
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

CREATE FUNCTION nmc.twilio_numbers_attach_simulate(j nmc.jobs)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT jsonb_build_object('sid', j.payload ->> 'twilio_sid', 'phone_number', j.payload ->> 'phone_number',
                              'friendly_name', j.payload ->> 'friendly_name', 'nmc_simulated', true)
           || jsonb_build_object(
                  'voice_url', nmc.twilio_webhook_url(nmc.settings_json(), '/webhooks/twilio/voice'), 'voice_method', 'POST',
                  'sms_url', nmc.twilio_webhook_url(nmc.settings_json(), '/webhooks/twilio/sms'), 'sms_method', 'POST',
                  'status_callback', nmc.twilio_webhook_url(nmc.settings_json(), '/webhooks/twilio/voice/status'),
                  'status_callback_method', 'POST')
$$;
COMMENT ON FUNCTION nmc.twilio_numbers_attach_simulate(nmc.jobs) IS 'Sandbox mode: a simulated update; the number is recorded as simulated.';

-- twilio.numbers.detach ---------------------------------------------------
CREATE FUNCTION nmc.twilio_number_webhook_params(w jsonb)
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

CREATE FUNCTION nmc.twilio_numbers_detach_build(j nmc.jobs, cfg jsonb)
RETURNS nmc.http_request
LANGUAGE sql STABLE
AS $$
    SELECT nmc.twilio_request(cfg, 'POST', 'IncomingPhoneNumbers/' || nmc.url_encode(j.payload ->> 'twilio_sid') || '.json',
                              nmc.twilio_number_webhook_params(j.payload -> 'previous_webhooks'))
$$;
COMMENT ON FUNCTION nmc.twilio_numbers_detach_build(nmc.jobs, jsonb) IS 'twilio.numbers.detach: POST IncomingPhoneNumbers/{sid}.json with the webhooks the number had before it was attached.';

CREATE FUNCTION nmc.twilio_numbers_detach_apply(j nmc.jobs, response jsonb)
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

CREATE FUNCTION nmc.twilio_numbers_detach_simulate(j nmc.jobs)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT jsonb_build_object('sid', j.payload ->> 'twilio_sid', 'phone_number', j.payload ->> 'phone_number', 'nmc_simulated', true)
           || coalesce(j.payload -> 'previous_webhooks', '{}')
$$;
COMMENT ON FUNCTION nmc.twilio_numbers_detach_simulate(nmc.jobs) IS 'Sandbox mode: a simulated update that puts the previous webhooks back.';

-- Copying a file Twilio holds (a recording, an MMS photo) into nmc.media_files.
CREATE FUNCTION nmc.twilio_media_fetch_build(j nmc.jobs, cfg jsonb)
RETURNS nmc.http_request
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    f nmc.media_files;
    base text := rtrim(cfg ->> 'twilio_api_base', '/');
BEGIN
    SELECT * INTO f FROM nmc.media_files WHERE business_id = j.business_id AND id = (j.payload ->> 'file_id')::uuid;
    IF NOT FOUND OR f.status <> 'fetching' THEN
        PERFORM nmc.job_not_wanted('the file is gone or already kept', 'not_needed');
    END IF;
    IF nmc.sandbox_mode() THEN
        PERFORM nmc.job_not_wanted('sandbox mode has no Twilio account to fetch from', 'sandbox');
    END IF;
    -- Only Twilio's own API gets the account's credentials: a URL elsewhere is refused.
    IF left(f.source_url, length(base) + 1) <> base || '/' THEN
        RAISE EXCEPTION 'the file''s URL is not under twilio_api_base';
    END IF;
    RETURN ROW('GET', f.source_url, ARRAY['Accept: */*'], NULL,
               cfg ->> 'twilio_account_sid', cfg ->> 'twilio_auth_token', NULL)::nmc.http_request;
END
$$;
COMMENT ON FUNCTION nmc.twilio_media_fetch_build(nmc.jobs, jsonb) IS 'twilio.media.fetch: GET the file''s Twilio URL with the account''s credentials (redirects to Twilio''s storage are followed; the credentials go to Twilio''s host alone). A URL not under twilio_api_base is refused; in sandbox mode, or when the file is gone, the job is dropped.';

CREATE FUNCTION nmc.twilio_media_fetch_apply(j nmc.jobs, response jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    f nmc.media_files;
    data bytea;
BEGIN
    IF response ->> 'base64' IS NULL THEN
        PERFORM nmc.job_permanent_error('Twilio answered with no file', 'invalid_response');
    END IF;
    data := decode(response ->> 'base64', 'base64');
    UPDATE nmc.media_files SET status = 'stored', bytes = data, size_bytes = length(data), fetched_at = now(), error = NULL,
           content_type = coalesce(nmc.media_type(response ->> 'content_type'), content_type)
     WHERE business_id = j.business_id AND id = (j.payload ->> 'file_id')::uuid AND status = 'fetching'
    RETURNING * INTO f;
    IF FOUND THEN
        PERFORM nmc.media_file_kept(f);
    END IF;
    RETURN jsonb_build_object('file_id', f.id, 'content_type', f.content_type, 'size_bytes', f.size_bytes);
END
$$;
COMMENT ON FUNCTION nmc.twilio_media_fetch_apply(nmc.jobs, jsonb) IS 'twilio.media.fetch success: the file''s bytes and content type are kept (the dispatcher hands a file over as {content_type, base64}), then whatever waited for it goes on (nmc.media_file_kept).';

CREATE FUNCTION nmc.twilio_media_fetch_failed(j nmc.jobs, code text, message text)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    f nmc.media_files;
BEGIN
    UPDATE nmc.media_files SET status = 'failed', error = left(coalesce(code || ': ', '') || coalesce(message, 'unknown'), 500)
     WHERE business_id = j.business_id AND id = (j.payload ->> 'file_id')::uuid AND status = 'fetching'
    RETURNING * INTO f;
    IF FOUND THEN
        PERFORM nmc.media_file_kept(f);
    END IF;
END
$$;
COMMENT ON FUNCTION nmc.twilio_media_fetch_failed(nmc.jobs, text, text) IS 'twilio.media.fetch given up (or dropped): the file is marked failed with why, and whatever waited for it is told (nmc.media_file_kept).';
