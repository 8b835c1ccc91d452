-- api_onboarding.sql — the JSON API for setting a business up: hours and
-- closures, greeting (with preview), block list, phone numbers (search and
-- purchase run as dispatcher jobs the client polls), and owner replies.
CREATE FUNCTION nmc.api_hours_get(req jsonb)
RETURNS nmc.http_response LANGUAGE sql STABLE
AS $$ SELECT nmc.respond(200, nmc.hours_json(nmc.current_business_id())) $$;
COMMENT ON FUNCTION nmc.api_hours_get(jsonb) IS 'GET /api/business/hours: weekly hours, upcoming closures, open now.';

CREATE FUNCTION nmc.api_hours_put(req jsonb)
RETURNS nmc.http_response LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM nmc.input_object(req -> 'body');
    PERFORM nmc.input_allowed_fields(req -> 'body', ARRAY['hours']);
    PERFORM nmc.hours_replace(nmc.current_business_id(), req #> '{body,hours}');
    RETURN nmc.respond(200, nmc.hours_json(nmc.current_business_id()));
END $$;
COMMENT ON FUNCTION nmc.api_hours_put(jsonb) IS 'PUT /api/business/hours {hours: [{weekday, opens_at, closes_at}]}: replaces the weekly hours.';

CREATE FUNCTION nmc.api_closures_post(req jsonb)
RETURNS nmc.http_response LANGUAGE plpgsql
AS $$
DECLARE
    d text := nmc.input_text(nmc.input_object(req -> 'body'), 'date', true, 10, 10);
    c nmc.business_closures;
BEGIN
    PERFORM nmc.input_allowed_fields(req -> 'body', ARRAY['date', 'reason']);
    IF d !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' OR to_char(to_date(d, 'YYYY-MM-DD'), 'YYYY-MM-DD') <> d THEN
        PERFORM nmc.raise_api_error(400, 'invalid_field', 'date must be a calendar date YYYY-MM-DD', 'date');
    END IF;
    INSERT INTO nmc.business_closures (business_id, closed_on, reason)
    VALUES (nmc.current_business_id(), d::date, nmc.input_text(req -> 'body', 'reason', false, 200, 0))
    ON CONFLICT (business_id, closed_on) DO UPDATE SET reason = EXCLUDED.reason
    RETURNING * INTO c;
    RETURN nmc.respond(201, jsonb_build_object('closure', jsonb_build_object('id', c.id, 'date', c.closed_on, 'reason', c.reason)));
END $$;
COMMENT ON FUNCTION nmc.api_closures_post(jsonb) IS 'POST /api/business/closures {date, reason}: a day the business is closed.';

CREATE FUNCTION nmc.input_uuid(v text, field text DEFAULT 'id')
RETURNS uuid LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    IF v !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
        PERFORM nmc.raise_api_error(404, 'not_found', 'no such ' || field);
    END IF;
    RETURN v::uuid;
END $$;
COMMENT ON FUNCTION nmc.input_uuid(text, text) IS 'A path id as a uuid; anything else is a 404 (it names nothing).';

CREATE FUNCTION nmc.api_closures_delete(req jsonb)
RETURNS nmc.http_response LANGUAGE plpgsql
AS $$
BEGIN
    DELETE FROM nmc.business_closures WHERE id = nmc.input_uuid(req #>> '{params,0}', 'closure');
    IF NOT FOUND THEN
        PERFORM nmc.raise_api_error(404, 'not_found', 'no such closure');
    END IF;
    RETURN nmc.respond(200, jsonb_build_object('deleted', true));
END $$;
COMMENT ON FUNCTION nmc.api_closures_delete(jsonb) IS 'DELETE /api/business/closures/{id}.';

CREATE FUNCTION nmc.greeting_json(p_business_id uuid)
RETURNS jsonb LANGUAGE sql STABLE
AS $$
    SELECT jsonb_build_object('template', nmc.greeting_template_of(b.id), 'is_default', b.greeting_template IS NULL,
                              'default_template', (SELECT template FROM nmc.greeting_defaults WHERE trade_type = b.trade_type),
                              'variables', to_jsonb(nmc.greeting_variables()),
                              'preview', nmc.greeting_preview(b.id, nmc.greeting_template_of(b.id)))
      FROM nmc.businesses b WHERE b.id = p_business_id
$$;
COMMENT ON FUNCTION nmc.greeting_json(uuid) IS 'A business''s greeting as the API shows it, with the trade default and a preview.';

CREATE FUNCTION nmc.api_greeting_get(req jsonb)
RETURNS nmc.http_response LANGUAGE sql STABLE
AS $$ SELECT nmc.respond(200, nmc.greeting_json(nmc.current_business_id())) $$;
COMMENT ON FUNCTION nmc.api_greeting_get(jsonb) IS 'GET /api/business/greeting.';

CREATE FUNCTION nmc.api_greeting_put(req jsonb)
RETURNS nmc.http_response LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM nmc.input_object(req -> 'body');
    PERFORM nmc.input_allowed_fields(req -> 'body', ARRAY['template']);
    IF NOT (req -> 'body') ? 'template' THEN
        PERFORM nmc.raise_api_error(400, 'missing_field', 'template is required (null restores the default)', 'template');
    END IF;
    UPDATE nmc.businesses SET greeting_template =
        CASE WHEN jsonb_typeof(req #> '{body,template}') = 'null' THEN NULL
             ELSE nmc.greeting_validate(nmc.input_text(req -> 'body', 'template', true, 1000)) END
     WHERE id = nmc.current_business_id();
    RETURN nmc.respond(200, nmc.greeting_json(nmc.current_business_id()));
END $$;
COMMENT ON FUNCTION nmc.api_greeting_put(jsonb) IS 'PUT /api/business/greeting {template}: a validated template, or null for the trade default.';

CREATE FUNCTION nmc.api_greeting_preview(req jsonb)
RETURNS nmc.http_response LANGUAGE plpgsql STABLE
AS $$
BEGIN
    PERFORM nmc.input_allowed_fields(nmc.input_object(req -> 'body'), ARRAY['template']);
    RETURN nmc.respond(200, nmc.greeting_preview(nmc.current_business_id(), nmc.input_text(req -> 'body', 'template', true, 1000)));
END $$;
COMMENT ON FUNCTION nmc.api_greeting_preview(jsonb) IS 'POST /api/business/greeting/preview {template}: the rendered text, encoding (GSM-7/UCS-2) and segments, or why the template is refused.';

CREATE FUNCTION nmc.api_blocked_list(req jsonb)
RETURNS nmc.http_response LANGUAGE sql STABLE
AS $$
    SELECT nmc.respond(200, jsonb_build_object('blocked_numbers', coalesce(jsonb_agg(jsonb_build_object(
               'id', id, 'phone', phone, 'reason', reason, 'created_at', created_at) ORDER BY created_at), '[]')))
      FROM nmc.blocked_numbers WHERE business_id = nmc.current_business_id()
$$;
COMMENT ON FUNCTION nmc.api_blocked_list(jsonb) IS 'GET /api/business/blocked-numbers.';

CREATE FUNCTION nmc.api_blocked_add(req jsonb)
RETURNS nmc.http_response LANGUAGE plpgsql
AS $$
DECLARE
    r nmc.blocked_numbers;
BEGIN
    PERFORM nmc.input_allowed_fields(nmc.input_object(req -> 'body'), ARRAY['phone', 'reason']);
    INSERT INTO nmc.blocked_numbers (business_id, phone, reason)
    VALUES (nmc.current_business_id(), nmc.normalize_phone(nmc.input_text(req -> 'body', 'phone', true, 32), 'phone'),
            nmc.input_text(req -> 'body', 'reason', false, 200, 0))
    ON CONFLICT (business_id, phone) DO UPDATE SET reason = EXCLUDED.reason
    RETURNING * INTO r;
    RETURN nmc.respond(201, jsonb_build_object('blocked_number', jsonb_build_object('id', r.id, 'phone', r.phone, 'reason', r.reason)));
END $$;
COMMENT ON FUNCTION nmc.api_blocked_add(jsonb) IS 'POST /api/business/blocked-numbers {phone, reason}.';

CREATE FUNCTION nmc.api_blocked_delete(req jsonb)
RETURNS nmc.http_response LANGUAGE plpgsql
AS $$
BEGIN
    DELETE FROM nmc.blocked_numbers WHERE id = nmc.input_uuid(req #>> '{params,0}', 'blocked number');
    IF NOT FOUND THEN
        PERFORM nmc.raise_api_error(404, 'not_found', 'no such blocked number');
    END IF;
    RETURN nmc.respond(200, jsonb_build_object('deleted', true));
END $$;
COMMENT ON FUNCTION nmc.api_blocked_delete(jsonb) IS 'DELETE /api/business/blocked-numbers/{id}.';

CREATE FUNCTION nmc.job_json(j nmc.jobs)
RETURNS jsonb LANGUAGE sql STABLE
AS $$ SELECT jsonb_build_object('id', j.id, 'kind', j.kind, 'status', j.status, 'attempts', j.attempts, 'simulated', j.simulated,
                                'result', j.result, 'error_code', j.error_code, 'error', j.last_error, 'created_at', j.created_at,
                                'finished_at', j.finished_at) $$;
COMMENT ON FUNCTION nmc.job_json(nmc.jobs) IS 'A job as the API shows it to the business that started it.';

CREATE FUNCTION nmc.api_job_get(req jsonb)
RETURNS nmc.http_response LANGUAGE plpgsql STABLE
AS $$
DECLARE
    j nmc.jobs;
BEGIN
    SELECT * INTO j FROM nmc.jobs WHERE id = CASE WHEN req #>> '{params,0}' ~ '^[0-9]{1,18}$' THEN (req #>> '{params,0}')::bigint END;
    IF NOT FOUND THEN
        PERFORM nmc.raise_api_error(404, 'not_found', 'no such job');
    END IF;
    RETURN nmc.respond(200, jsonb_build_object('job', nmc.job_json(j)));
END $$;
COMMENT ON FUNCTION nmc.api_job_get(jsonb) IS 'GET /api/jobs/{id}: poll a number search or purchase.';

CREATE FUNCTION nmc.api_phone_numbers_list(req jsonb)
RETURNS nmc.http_response LANGUAGE sql STABLE
AS $$
    SELECT nmc.respond(200, jsonb_build_object('phone_numbers', coalesce(jsonb_agg(jsonb_build_object(
               'id', id, 'phone', phone, 'friendly_name', friendly_name, 'simulated', simulated, 'created_at', created_at,
               'previous_webhooks', previous_webhooks) ORDER BY created_at), '[]')))
      FROM nmc.phone_numbers WHERE business_id = nmc.current_business_id() AND detached_at IS NULL
$$;
COMMENT ON FUNCTION nmc.api_phone_numbers_list(jsonb) IS 'GET /api/phone-numbers: the business''s numbers (previous_webhooks: for one the account owned before, the webhooks it had).';

CREATE FUNCTION nmc.api_phone_numbers_search(req jsonb)
RETURNS nmc.http_response LANGUAGE plpgsql
AS $$
DECLARE
    ac text;
BEGIN
    PERFORM nmc.input_allowed_fields(nmc.input_object(req -> 'body'), ARRAY['area_code']);
    ac := nmc.input_text(req -> 'body', 'area_code', true, 3, 3);
    IF ac !~ '^[2-9][0-9][0-9]$' THEN
        PERFORM nmc.raise_api_error(400, 'invalid_field', 'area_code must be a 3-digit North American area code', 'area_code');
    END IF;
    RETURN nmc.respond(202, jsonb_build_object('job', nmc.job_json(
        nmc.job_enqueue('twilio.numbers.search', nmc.current_business_id(), jsonb_build_object('area_code', ac, 'country', 'US')))));
END $$;
COMMENT ON FUNCTION nmc.api_phone_numbers_search(jsonb) IS 'POST /api/phone-numbers/search {area_code}: starts a search; 202 with the job to poll (GET /api/jobs/{id}), whose result lists the numbers.';

CREATE FUNCTION nmc.api_phone_numbers_buy(req jsonb)
RETURNS nmc.http_response LANGUAGE plpgsql
AS $$
DECLARE
    phone text;
BEGIN
    PERFORM nmc.input_allowed_fields(nmc.input_object(req -> 'body'), ARRAY['phone_number']);
    phone := nmc.normalize_phone(nmc.input_text(req -> 'body', 'phone_number', true, 32), 'phone_number');
    PERFORM nmc.phone_number_available(phone);
    RETURN nmc.respond(202, jsonb_build_object('job', nmc.job_json(
        nmc.job_enqueue('twilio.numbers.buy', nmc.current_business_id(), jsonb_build_object('phone_number', phone),
                        'buy:' || phone || ':' || nmc.current_business_id()))));
END $$;
CREATE FUNCTION nmc.api_phone_numbers_owned(req jsonb)
RETURNS nmc.http_response LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM nmc.input_allowed_fields(nmc.input_object(coalesce(req -> 'body', '{}')), ARRAY[]::text[]);
    RETURN nmc.respond(202, jsonb_build_object('job', nmc.job_json(
        nmc.job_enqueue('twilio.numbers.owned', nmc.current_business_id(), '{}'::jsonb))));
END $$;
COMMENT ON FUNCTION nmc.api_phone_numbers_owned(jsonb) IS 'POST /api/phone-numbers/owned: lists the numbers the Twilio account already owns that no business uses; 202 with the job to poll, whose result lists them with their current webhooks.';

CREATE FUNCTION nmc.api_phone_numbers_attach(req jsonb)
RETURNS nmc.http_response LANGUAGE plpgsql
AS $$
DECLARE
    sid text;
    listed jsonb;
    earlier nmc.jobs;
BEGIN
    PERFORM nmc.input_allowed_fields(nmc.input_object(req -> 'body'), ARRAY['twilio_sid']);
    sid := nmc.input_text(req -> 'body', 'twilio_sid', true, 34, 34);
    -- The same request again gets the same job, done or not (once done, the
    -- number is this business's and would otherwise read as taken).
    SELECT * INTO earlier FROM nmc.jobs
     WHERE business_id = nmc.current_business_id() AND idempotency_key = 'attach:' || sid || ':' || nmc.current_business_id();
    IF FOUND THEN
        RETURN nmc.respond(202, jsonb_build_object('job', nmc.job_json(earlier)));
    END IF;
    -- What the account said about the number when this business last listed it:
    -- its webhooks then are the ones kept to restore.
    SELECT n INTO listed
      FROM nmc.jobs jb, jsonb_array_elements(jb.result -> 'numbers') n
     WHERE jb.business_id = nmc.current_business_id() AND jb.kind = 'twilio.numbers.owned' AND jb.status = 'done'
       AND n ->> 'twilio_sid' = sid
     ORDER BY jb.finished_at DESC
     LIMIT 1;
    IF listed IS NULL THEN
        PERFORM nmc.raise_api_error(404, 'number_not_listed',
            'this number is not among the account''s free numbers: list them first (POST /api/phone-numbers/owned)', 'twilio_sid');
    END IF;
    PERFORM nmc.phone_number_available(listed ->> 'phone_number');
    RETURN nmc.respond(202, jsonb_build_object('job', nmc.job_json(
        nmc.job_enqueue('twilio.numbers.attach', nmc.current_business_id(),
                        jsonb_build_object('twilio_sid', sid, 'phone_number', listed ->> 'phone_number',
                                           'friendly_name', listed ->> 'friendly_name', 'previous_webhooks', listed -> 'webhooks'),
                        'attach:' || sid || ':' || nmc.current_business_id()))));
END $$;
COMMENT ON FUNCTION nmc.api_phone_numbers_attach(jsonb) IS 'POST /api/phone-numbers/attach {twilio_sid}: makes a number the account owns (as listed by POST /api/phone-numbers/owned) the business''s: our webhooks are set on it and the ones it had are kept (previous_webhooks); 202 with the job to poll; 404 number_not_listed, 409 number_taken. The same request again, even after the job is done, answers the same job.';

COMMENT ON FUNCTION nmc.api_phone_numbers_buy(jsonb) IS 'POST /api/phone-numbers {phone_number}: buys a number for the business and points its webhooks at us; 202 with the job to poll. The same request twice is one purchase.';

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

CREATE FUNCTION nmc.api_calls_list(req jsonb)
RETURNS nmc.http_response LANGUAGE sql STABLE
AS $$
    SELECT nmc.respond(200, jsonb_build_object('calls', coalesce(jsonb_agg(nmc.call_json(c) || jsonb_build_object('customer', nmc.customer_brief(c.customer_id))
                                                                  ORDER BY c.created_at DESC), '[]')))
      FROM (SELECT * FROM nmc.calls WHERE business_id = nmc.current_business_id() ORDER BY created_at DESC LIMIT 100) c
$$;
COMMENT ON FUNCTION nmc.api_calls_list(jsonb) IS 'GET /api/calls: the latest 100 calls with their text decision and their customer ({id, phone, name}, as call.missed carries it).';

INSERT INTO nmc.api_routes (route_method, route_path, handler, auth, summary) VALUES
    ('GET', '/api/business/hours', 'api_hours_get', 'jwt', 'Weekly hours, upcoming closures, open now'),
    ('PUT', '/api/business/hours', 'api_hours_put', 'jwt', 'Replace the weekly hours'),
    ('POST', '/api/business/closures', 'api_closures_post', 'jwt', 'Add a closed day'),
    ('DELETE', '/api/business/closures/{id}', 'api_closures_delete', 'jwt', 'Remove a closed day'),
    ('GET', '/api/business/greeting', 'api_greeting_get', 'jwt', 'The greeting template, its default and a preview'),
    ('PUT', '/api/business/greeting', 'api_greeting_put', 'jwt', 'Set (or reset) the greeting template'),
    ('POST', '/api/business/greeting/preview', 'api_greeting_preview', 'jwt', 'Render a template with encoding and segments'),
    ('GET', '/api/business/blocked-numbers', 'api_blocked_list', 'jwt', 'The block list'),
    ('POST', '/api/business/blocked-numbers', 'api_blocked_add', 'jwt', 'Block a number from missed-call texts'),
    ('DELETE', '/api/business/blocked-numbers/{id}', 'api_blocked_delete', 'jwt', 'Unblock a number'),
    ('GET', '/api/phone-numbers', 'api_phone_numbers_list', 'jwt', 'The business''s Twilio numbers'),
    ('POST', '/api/phone-numbers/search', 'api_phone_numbers_search', 'jwt', 'Search numbers by area code (a job)'),
    ('POST', '/api/phone-numbers', 'api_phone_numbers_buy', 'jwt', 'Buy a number (a job)'),
    ('POST', '/api/phone-numbers/owned', 'api_phone_numbers_owned', 'jwt', 'List the account''s numbers no business uses yet (a job)'),
    ('POST', '/api/phone-numbers/attach', 'api_phone_numbers_attach', 'jwt', 'Use a number the account owns: our webhooks on it, its old ones kept (a job)'),
    ('GET', '/api/jobs/{id}', 'api_job_get', 'jwt', 'Poll a job'),
    ('GET', '/api/calls', 'api_calls_list', 'jwt', 'Latest calls with their text decision'),
    ('GET', '/api/conversations/{id}', 'api_conversation_get', 'jwt', 'A conversation and its messages'),
    ('POST', '/api/conversations/{id}/messages', 'api_conversation_reply', 'jwt', 'Send a text as the business'),
    ('POST', '/api/conversations', 'api_conversation_start', 'jwt', 'Text any number as the business');
