-- 0.1.0 → 0.2.0, assembled by extension/Makefile (upgrades/assemble.pl) into
-- nevermisscall--0.1.0--0.2.0.sql: table changes written here as upgrade steps;
-- "--@include f" brings sql/f.sql (new in this version), "--@replace f name" the
-- current text of a changed function; then the OpenAPI document, the route
-- dispatcher and sql/grants.sql. test/upgrade/check.sh proves the result equals
-- a fresh 0.2.0 install.
\echo Use "ALTER EXTENSION nevermisscall UPDATE" to load this file. \quit

-- Sandbox rehearsals for the dashboard's "test it" step.
-- sandbox.sql — sandbox mode's rehearsal routes: an owner (the dashboard's
-- "test it" step) plays an unanswered call or a customer's text to their own
-- number, and everything after runs exactly as for Twilio's webhooks.
CREATE FUNCTION nmc.sandbox_number()
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
    SELECT * INTO pn FROM nmc.phone_numbers WHERE business_id = nmc.current_business_id()
     ORDER BY created_at LIMIT 1;
    IF NOT FOUND THEN
        PERFORM nmc.raise_api_error(409, 'no_phone_number', 'get a phone number first');
    END IF;
    RETURN pn;
END
$$;
COMMENT ON FUNCTION nmc.sandbox_number() IS 'The current business''s number for a rehearsal; NM409 sandbox_only outside sandbox mode, NM409 no_phone_number before it has one.';

CREATE FUNCTION nmc.sandbox_caller(req jsonb)
RETURNS text
LANGUAGE sql STABLE
AS $$ SELECT nmc.normalize_phone(coalesce(nullif(req #>> '{body,from}', ''), '+15125550142'), 'from') $$;
COMMENT ON FUNCTION nmc.sandbox_caller(jsonb) IS 'The rehearsal''s customer: body.from (any phone format) or a sample caller, +1 512-555-0142.';

CREATE FUNCTION nmc.api_sandbox_missed_call(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $$
DECLARE
    pn nmc.phone_numbers := nmc.sandbox_number();
    caller text := nmc.sandbox_caller(req);
    sid text := nmc.twilio_random_sid('CA');
    c nmc.calls;
BEGIN
    -- The voice webhook, then (if it rang the owner) the <Dial> ending unanswered.
    PERFORM nmc.webhook_voice(jsonb_build_object('body', jsonb_build_object(
        'CallSid', sid, 'From', caller, 'To', pn.phone, 'CallStatus', 'ringing', 'Direction', 'inbound')));
    SELECT * INTO c FROM nmc.calls WHERE twilio_call_sid = sid;
    IF c.status = 'forwarded' THEN
        PERFORM nmc.webhook_voice_dial(jsonb_build_object('body', jsonb_build_object(
            'CallSid', sid, 'From', caller, 'To', pn.phone, 'CallStatus', 'in-progress',
            'DialCallStatus', 'no-answer', 'DialCallDuration', '0')));
        SELECT * INTO c FROM nmc.calls WHERE twilio_call_sid = sid;
    END IF;
    RETURN nmc.respond(202, jsonb_build_object('call_sid', sid, 'from', caller, 'to', pn.phone,
                                               'call', nmc.call_json(c)));
END
$$;
COMMENT ON FUNCTION nmc.api_sandbox_missed_call(jsonb) IS 'POST /api/sandbox/missed-call {from?}: sandbox mode only — an unanswered call to the business''s number, through the same code as Twilio''s voice webhooks (greeting text, lead, conversation, events).';

CREATE FUNCTION nmc.api_sandbox_customer_reply(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $$
DECLARE
    pn nmc.phone_numbers := nmc.sandbox_number();
    caller text := nmc.sandbox_caller(req);
    body text := nmc.input_text(req -> 'body', 'body', true, 1600);
    sid text := nmc.twilio_random_sid('SM');
BEGIN
    PERFORM nmc.webhook_sms(jsonb_build_object('body', jsonb_build_object(
        'MessageSid', sid, 'SmsSid', sid, 'From', caller, 'To', pn.phone, 'Body', body, 'NumSegments', '1')));
    RETURN nmc.respond(202, jsonb_build_object('message_sid', sid, 'from', caller, 'to', pn.phone));
END
$$;
COMMENT ON FUNCTION nmc.api_sandbox_customer_reply(jsonb) IS 'POST /api/sandbox/customer-reply {from?, body}: sandbox mode only — a text from a customer to the business''s number, through the same code as Twilio''s SMS webhook.';

INSERT INTO nmc.api_routes (route_method, route_path, handler, auth, summary) VALUES
    ('POST', '/api/sandbox/missed-call', 'api_sandbox_missed_call', 'jwt', 'Sandbox: rehearse an unanswered call to your number'),
    ('POST', '/api/sandbox/customer-reply', 'api_sandbox_customer_reply', 'jwt', 'Sandbox: rehearse a customer''s text to your number');

-- A new timer wakes the dispatcher only if due before its planned round.
CREATE OR REPLACE FUNCTION nmc.dispatcher_wake_at(due timestamptz)
RETURNS void
LANGUAGE c VOLATILE STRICT
AS 'MODULE_PATHNAME', 'nmc_dispatcher_wake_at';
COMMENT ON FUNCTION nmc.dispatcher_wake_at(timestamptz) IS 'Wakes the dispatcher when the current transaction commits, but only if work due at this time comes before the round the dispatcher has already planned.';
CREATE OR REPLACE FUNCTION nmc.timer_wake_trigger()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM nmc.dispatcher_wake_at(NEW.due_at);
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION nmc.timer_wake_trigger() IS 'Row trigger on timers: a new timer wakes the dispatcher at commit only if it is due before the dispatcher''s next planned round.';
COMMENT ON FUNCTION nmc.dispatcher_wake_trigger() IS 'Statement trigger on jobs: new work wakes the dispatcher at commit. (Functions that change the schedule of existing work call nmc.dispatcher_wake themselves.)';
DROP TRIGGER timers_wake ON nmc.timers;
CREATE TRIGGER timers_wake AFTER INSERT ON nmc.timers
    FOR EACH ROW EXECUTE FUNCTION nmc.timer_wake_trigger();

-- The inbound-text path without SQL-language functions (re-parsed on every call) or per-term regexes.
CREATE OR REPLACE FUNCTION nmc.sms_keyword(body text)
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
CREATE OR REPLACE FUNCTION nmc.emergency_term_in(p_business_id uuid, body text)
RETURNS text
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    -- The text as lower-case words between single spaces: " water everywhere help ".
    words text := ' ' || btrim(regexp_replace(lower(body), '[^[:alnum:]]+', ' ', 'g')) || ' ';
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
CREATE OR REPLACE FUNCTION nmc.timer_cancel(p_timer_id bigint)
RETURNS boolean
LANGUAGE plpgsql
AS $$
BEGIN
    UPDATE nmc.timers SET cancelled_at = now()
     WHERE id = p_timer_id AND fired_at IS NULL AND cancelled_at IS NULL;
    RETURN FOUND;
END
$$;
COMMENT ON FUNCTION nmc.timer_cancel(bigint) IS 'Cancels a pending timer; false if it already fired or was cancelled.';
COMMENT ON TABLE nmc.emergency_terms IS 'Words of danger per trade (trade_type NULL: every trade). Matched as whole words, case-insensitively, punctuation ignored, in inbound texts (terms are lower-case words separated by single spaces).';

-- Routes call their handlers through the generated nmc.api_dispatch, not a dynamic EXECUTE.
-- api_dispatch.sql — the call from a route to its handler. nmc_api.handle
-- used to EXECUTE a dynamic "SELECT nmc.<handler>($1)", parsed and planned on
-- every request (≈ 0.1 ms); nmc.api_dispatch is generated from nmc.api_routes
-- instead — one static call per handler, planned once per connection. It is
-- rebuilt at the end of every install and upgrade (after all routes exist).
CREATE FUNCTION nmc.api_dispatch_build()
RETURNS void
LANGUAGE plpgsql
AS $build$
DECLARE
    branches text;
BEGIN
    SELECT string_agg(format('        WHEN %L THEN RETURN nmc.%I(req);', h.handler, h.handler), E'\n' ORDER BY h.handler)
      INTO branches
      FROM (SELECT DISTINCT handler FROM nmc.api_routes) h;
    EXECUTE format($f$
CREATE OR REPLACE FUNCTION nmc.api_dispatch(handler text, req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $dispatch$
BEGIN
    CASE handler
%s
    END CASE;
END
$dispatch$;
COMMENT ON FUNCTION nmc.api_dispatch(text, jsonb) IS 'Calls nmc.<handler>(req) for a handler of nmc.api_routes (generated by nmc.api_dispatch_build()); an unknown handler raises case_not_found.';
$f$, branches);
END
$build$;
COMMENT ON FUNCTION nmc.api_dispatch_build() IS 'Generates nmc.api_dispatch from the handlers in nmc.api_routes. Run by the install script and by every upgrade script after the routes are in place.';

SELECT nmc.api_dispatch_build();
CREATE OR REPLACE FUNCTION nmc_api.handle(method text, path text, query jsonb, request_headers jsonb,
                               client_addr text, request_body text, raw_query text DEFAULT NULL)
RETURNS TABLE (status int, content_type text, headers text, body text)
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
        RETURN QUERY SELECT resp.status, 'application/json'::text, resp.headers, resp.body::text;
        RETURN;
    END IF;

    params := regexp_match(handle.path, nmc.route_regex(route.route_path));
    -- Everything below runs in one subtransaction: an error leaves no trace.
    BEGIN
        IF route.auth = 'twilio' THEN
            BEGIN
                form_pairs := nmc.form_decode(coalesce(request_body, ''));
            EXCEPTION WHEN invalid_text_representation THEN
                PERFORM nmc.raise_api_error(400, 'malformed_form', 'the request body is not a valid form');
            END;
            IF NOT nmc.twilio_request_is_signed(handle.path, raw_query, form_pairs,
                                                request_headers ->> 'x-twilio-signature') THEN
                PERFORM nmc.raise_api_error(403, 'invalid_signature',
                    'X-Twilio-Signature is missing or does not match this request');
            END IF;
            parsed := nmc.form_object(form_pairs);
        ELSIF coalesce(request_body, '') <> '' THEN
            BEGIN
                parsed := request_body::jsonb;
            EXCEPTION WHEN invalid_text_representation THEN
                PERFORM nmc.raise_api_error(400, 'malformed_json', 'the request body is not valid JSON');
            END;
        END IF;
        IF route.auth = 'jwt' THEN
            PERFORM nmc.authenticate(coalesce(request_headers, '{}'));
        END IF;
        resp := nmc.api_dispatch(route.handler, jsonb_build_object(
                'method', upper(handle.method), 'path', handle.path, 'params', to_jsonb(params),
                'query', coalesce(query, '{}'), 'headers', coalesce(request_headers, '{}'),
                'client_addr', client_addr, 'body', parsed));
        IF resp.status IS NULL THEN
            PERFORM nmc.raise_api_error(404, 'not_found', 'not found');
        END IF;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS err_state = RETURNED_SQLSTATE, err_message = MESSAGE_TEXT,
                                err_code = PG_EXCEPTION_DETAIL, err_field = PG_EXCEPTION_HINT;
        IF err_state ~ '^NM[0-9]{3}$' THEN
            resp := nmc.respond(substr(err_state, 3)::int, nmc.error_body(err_code, err_message, err_field));
        ELSE
            RAISE LOG 'nmc_api.handle % %: unexpected error % %', upper(handle.method), handle.path, err_state, err_message;
            resp := nmc.respond(500, nmc.error_body('internal_error', 'internal error'));
        END IF;
    END;
    IF resp.content_type IS NOT NULL THEN
        RETURN QUERY SELECT resp.status, resp.content_type, resp.headers, resp.text_body;
    ELSE
        RETURN QUERY SELECT resp.status, 'application/json'::text, resp.headers, resp.body::text;
    END IF;
END
$$;
COMMENT ON FUNCTION nmc_api.handle(text, text, jsonb, jsonb, text, text, text) IS
    'The edge''s one entry point for /api and /webhooks: (method, path, query args, lower-cased request headers, client address, raw body, raw query string) → (status, content type, extra header lines, body). API errors are JSON {"error":{"code","message"[,"field"]}}; Twilio webhooks are signature-checked and answer TwiML.';

-- Issue 6: the assistant with OpenAI tools, the radius service area, lead details
-- and reasons, the owner's emergency text. Columns first, then the new file, then
-- the functions that changed.
ALTER TABLE nmc.businesses
    ADD COLUMN service_radius_km numeric(5,1) CHECK (service_radius_km > 0 AND service_radius_km <= 500),
    ADD COLUMN service_lat double precision CHECK (service_lat BETWEEN -90 AND 90),
    ADD COLUMN service_lng double precision CHECK (service_lng BETWEEN -180 AND 180),
    ADD COLUMN emergency_sms_to_owner boolean NOT NULL DEFAULT true;
ALTER TABLE nmc.leads
    ADD COLUMN service_address text CHECK (length(service_address) <= 300),
    ADD COLUMN problem text CHECK (length(problem) <= 1000),
    ADD COLUMN urgency text CHECK (urgency IN ('normal', 'urgent', 'emergency')),
    ADD COLUMN status_reason text CHECK (length(status_reason) <= 500);
-- ai_engine.sql — the assistant's turn with an OpenAI-compatible model. A turn
-- is a row (nmc.ai_turns); each model call is an openai.chat job, each tool that
-- needs HTTP (geocoding) a maps.geocode job, linked by parent_id and applied in
-- their own transactions; the turn's step limit counts model calls across them.
-- The model never sends anything itself: replies go through nmc.ai_send_reply
-- (silent after a takeover), bookings are confirmed from the appointment row,
-- and a provider failure hands the conversation to a person, never to silence.
-- Without an OpenAI key, nmc.ai_respond runs the intake engine instead.
CREATE TABLE nmc.ai_turns (
    id              uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
    business_id     uuid NOT NULL REFERENCES nmc.businesses (id) ON DELETE CASCADE,
    conversation_id uuid NOT NULL,
    status          text NOT NULL DEFAULT 'running'
                    CHECK (status IN ('running', 'replied', 'booked', 'handed_off', 'failed', 'dropped')),
    steps           int NOT NULL DEFAULT 0,
    transcript      jsonb NOT NULL DEFAULT '[]',
    pending_tools   int NOT NULL DEFAULT 0,
    rerun           boolean NOT NULL DEFAULT false,
    outcome         text,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    UNIQUE (business_id, id),
    FOREIGN KEY (business_id, conversation_id) REFERENCES nmc.conversations (business_id, id) ON DELETE CASCADE
);
COMMENT ON TABLE nmc.ai_turns IS 'One assistant turn (OpenAI engine): status running → replied | booked | handed_off | failed | dropped (a human took over); steps = model calls so far; transcript = the tool calls and results of this turn; pending_tools = tool calls waiting on HTTP; rerun = the customer wrote again meanwhile.';
CREATE UNIQUE INDEX ai_turns_one_running ON nmc.ai_turns (conversation_id) WHERE status = 'running';
CREATE TRIGGER ai_turns_touch BEFORE UPDATE ON nmc.ai_turns FOR EACH ROW EXECUTE FUNCTION nmc.touch_updated_at();
ALTER TABLE nmc.ai_turns ENABLE ROW LEVEL SECURITY;
ALTER TABLE nmc.ai_turns FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON nmc.ai_turns
    USING (business_id = nmc.current_business_id())
    WITH CHECK (business_id = nmc.current_business_id());

INSERT INTO nmc.settings (name, value, is_secret, description) VALUES
    ('max_ai_steps', '6', false, 'Most model calls in one assistant turn (tool calls included) before the conversation is handed to a person.'),
    ('ai_history_messages', '20', false, 'How many of the conversation''s latest messages the model sees.'),
    ('openai_temperature', '0.3', false, 'Sampling temperature of the assistant''s model calls; empty: not sent (reasoning models refuse one).'),
    ('ai_turn_stale_minutes', '15', false, 'A running assistant turn with no progress for this long is given up when the customer writes again.');

CREATE FUNCTION nmc.openai_configured()
RETURNS boolean
LANGUAGE plpgsql STABLE
AS $$ BEGIN RETURN coalesce(nmc.setting('openai_api_key'), '') <> ''; END $$;
COMMENT ON FUNCTION nmc.openai_configured() IS 'True when an OpenAI key is set: assistant turns then go to the model; otherwise the built-in intake engine answers.';

CREATE FUNCTION nmc.maps_configured()
RETURNS boolean
LANGUAGE plpgsql STABLE
AS $$ BEGIN RETURN coalesce(nmc.setting('maps_api_key'), '') <> ''; END $$;
COMMENT ON FUNCTION nmc.maps_configured() IS 'True when a Google Maps key is set: addresses are geocoded for the service-area check.';

CREATE FUNCTION nmc.ai_respond(p_conversation_id uuid)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    IF nmc.openai_configured() THEN
        PERFORM nmc.ai_turn_start(p_conversation_id);
    ELSE
        PERFORM nmc.intake_turn(p_conversation_id);
    END IF;
END
$$;
COMMENT ON FUNCTION nmc.ai_respond(uuid) IS 'The assistant answers a conversation in AI mode: an OpenAI turn when a key is configured, else the built-in intake engine.';

-- What is known about the customer and the job, merged into the conversation's
-- intake, the customer (name) and the active lead (address, problem, urgency).
-- The area decides the lead's progress: out of area marks it so; in the area (or
-- no area set) with name, address and problem known, it is qualified.
CREATE FUNCTION nmc.lead_capture(conv nmc.conversations, details jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    i jsonb := conv.intake || jsonb_strip_nulls(details);
    l nmc.leads := nmc.active_lead(conv.business_id, conv.customer_id);
    b nmc.businesses;
    in_area boolean := (i ->> 'in_area')::boolean;
BEGIN
    IF i IS DISTINCT FROM conv.intake THEN
        UPDATE nmc.conversations SET intake = i WHERE id = conv.id;
    END IF;
    IF i ->> 'name' IS NOT NULL THEN
        UPDATE nmc.customers SET name = left(i ->> 'name', 200)
         WHERE id = conv.customer_id AND name IS DISTINCT FROM left(i ->> 'name', 200);
    END IF;
    IF l.id IS NULL THEN
        RETURN i;
    END IF;
    IF (l.service_address, l.problem, l.urgency) IS DISTINCT FROM
       (coalesce(left(i ->> 'address', 300), l.service_address), coalesce(left(i ->> 'problem', 1000), l.problem), coalesce(i ->> 'urgency', l.urgency)) THEN
        UPDATE nmc.leads SET service_address = coalesce(left(i ->> 'address', 300), service_address),
                             problem = coalesce(left(i ->> 'problem', 1000), problem),
                             urgency = coalesce(i ->> 'urgency', urgency)
         WHERE id = l.id RETURNING * INTO l;
        PERFORM nmc.emit_event(l.business_id, 'lead.updated', nmc.lead_json(l));
    END IF;
    IF in_area IS FALSE THEN
        PERFORM nmc.lead_transition(l.id, 'out_of_area');
    ELSIF i ? 'name' AND i ? 'address' AND i ? 'problem' AND l.status IN ('new', 'contacted') THEN
        SELECT * INTO b FROM nmc.businesses WHERE id = conv.business_id;
        IF in_area OR (b.service_postal_codes IS NULL AND b.service_radius_km IS NULL) THEN
            PERFORM nmc.lead_transition(l.id, 'qualified');
        END IF;
    END IF;
    RETURN i;
END
$$;
COMMENT ON FUNCTION nmc.lead_capture(nmc.conversations, jsonb) IS 'Merges captured details (name, address, zip, problem, urgency, in_area) into the conversation''s intake, the customer''s name and the active lead; in_area false marks the lead out_of_area, and a complete lead in the area (or with no area set) is qualified. Returns the merged intake.';

CREATE FUNCTION nmc.ai_system_prompt(b nmc.businesses, conv nmc.conversations)
RETURNS text
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    hours text;
    area text;
    known text;
    i jsonb := conv.intake;
BEGIN
    SELECT string_agg(format('%s %s-%s', (ARRAY['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'])[h.weekday + 1],
                             nmc.format_time_of_day(h.opens_at),
                             CASE WHEN h.closes_at = '24:00' THEN 'midnight' ELSE nmc.format_time_of_day(h.closes_at) END),
                      ', ' ORDER BY h.weekday, h.opens_at)
      INTO hours FROM nmc.business_hours h WHERE h.business_id = b.id;
    area := concat_ws(' or ',
        CASE WHEN b.service_postal_codes IS NOT NULL THEN 'ZIP codes ' || array_to_string(b.service_postal_codes, ', ') END,
        CASE WHEN b.service_radius_km IS NOT NULL THEN format('within %s km of %s', b.service_radius_km,
                                                             coalesce(nullif(concat_ws(', ', b.address_line1, b.city), ''), 'the business')) END);
    known := concat_ws('; ',
        'name: ' || coalesce(i ->> 'name', 'unknown'),
        'service address: ' || coalesce(i ->> 'address', 'unknown'),
        'problem: ' || coalesce(i ->> 'problem', 'unknown'),
        CASE WHEN i ? 'in_area' THEN 'address in service area: ' || (i ->> 'in_area') END);
    RETURN format($p$You are the text-message assistant of %s, a %s business%s. It is now %s (time zone %s).
A customer called, nobody could answer, and you are texting with them. Your goal: learn their name, the service address and the problem, check the address is in the service area with check_service_area, then offer open times from find_open_slots and book the one they choose with book_appointment.
Business hours: %s. Service area: %s.
Known so far: %s.
Rules:
- Write SMS: short, friendly, plain text, at most %s characters, no links, no markdown, one question at a time.
- Save what the customer tells you with save_customer_details as soon as you learn it.
- Only offer times that find_open_slots returned. Never say an appointment is booked: book_appointment does it, and the system texts the confirmation itself.
- Never invent prices, arrival times or promises. You are an automated assistant: never claim to be a person.
- If the customer asks for a person, is upset, reports danger (gas, fire, smoke, flooding, sparks, carbon monoxide), or you cannot help, call request_human.
- If check_service_area says the address is outside the area, say politely that the business does not serve it.$p$,
        b.name, replace(b.trade_type, '_', ' '),
        CASE WHEN b.city IS NOT NULL THEN ' in ' || b.city ELSE '' END,
        to_char(now() AT TIME ZONE b.timezone, 'FMDay, Mon FMDD YYYY, FMHH12:MI AM'), b.timezone,
        coalesce(hours, 'not set'), coalesce(area, 'anywhere'), known, b.max_ai_segments * 150);
END
$$;
COMMENT ON FUNCTION nmc.ai_system_prompt(nmc.businesses, nmc.conversations) IS 'The model''s instructions for one business and conversation: profile, trade, local time, hours, service area, what is known about the customer, and the rules of the job.';

CREATE FUNCTION nmc.ai_tools()
RETURNS jsonb
LANGUAGE sql IMMUTABLE
AS $$ SELECT $tools$[
  {"type": "function", "function": {"name": "save_customer_details", "strict": true,
    "description": "Save what the customer told you. Pass null for anything not learned yet.",
    "parameters": {"type": "object", "additionalProperties": false,
      "required": ["name", "service_address", "problem", "urgency"],
      "properties": {
        "name": {"type": ["string", "null"], "description": "The customer's name"},
        "service_address": {"type": ["string", "null"], "description": "Street address of the job, with house number, city and ZIP if given"},
        "problem": {"type": ["string", "null"], "description": "What needs doing, in a sentence"},
        "urgency": {"type": ["string", "null"], "enum": ["normal", "urgent", "emergency", null]}}}}},
  {"type": "function", "function": {"name": "check_service_area", "strict": true,
    "description": "Check whether an address is inside the business's service area.",
    "parameters": {"type": "object", "additionalProperties": false, "required": ["address"],
      "properties": {"address": {"type": "string", "description": "The full service address"}}}}},
  {"type": "function", "function": {"name": "find_open_slots", "strict": true,
    "description": "Open appointment times inside business hours, soonest first.",
    "parameters": {"type": "object", "additionalProperties": false, "required": ["on_or_after", "count"],
      "properties": {
        "on_or_after": {"type": ["string", "null"], "description": "A date YYYY-MM-DD in the business's time zone, or null for the soonest"},
        "count": {"type": ["integer", "null"], "description": "How many times to return (1-5, default 3)"}}}}},
  {"type": "function", "function": {"name": "book_appointment", "strict": true,
    "description": "Book one of the times find_open_slots returned, once the customer has chosen it.",
    "parameters": {"type": "object", "additionalProperties": false, "required": ["starts_at"],
      "properties": {"starts_at": {"type": "string", "description": "The chosen slot's starts_at exactly as find_open_slots returned it"}}}}},
  {"type": "function", "function": {"name": "request_human", "strict": true,
    "description": "Hand the conversation to a person at the business.",
    "parameters": {"type": "object", "additionalProperties": false, "required": ["reason"],
      "properties": {"reason": {"type": "string", "description": "Why a person is needed"}}}}}
]$tools$::jsonb $$;
COMMENT ON FUNCTION nmc.ai_tools() IS 'The tools offered to the model, with strict JSON schemas: save_customer_details, check_service_area, find_open_slots, book_appointment, request_human.';

-- The request of the turn's next model call: instructions, the conversation so
-- far (bounded), then this turn's tool calls and results.
CREATE FUNCTION nmc.ai_request(t nmc.ai_turns)
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    conv nmc.conversations;
    b nmc.businesses;
    history jsonb;
BEGIN
    SELECT * INTO conv FROM nmc.conversations WHERE id = t.conversation_id;
    SELECT * INTO b FROM nmc.businesses WHERE id = t.business_id;
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'role', CASE WHEN m.direction = 'inbound' THEN 'user' ELSE 'assistant' END,
               'content', CASE WHEN m.author = 'owner' THEN '(' || b.name || ' staff) ' ELSE '' END || left(m.body, 1000))
             ORDER BY m.created_at, m.id), '[]')
      INTO history
      FROM (SELECT * FROM nmc.messages
             WHERE conversation_id = conv.id AND status <> 'dropped'
             ORDER BY created_at DESC, id DESC LIMIT nmc.setting_int('ai_history_messages')) m;
    RETURN jsonb_build_object(
        'messages', jsonb_build_array(jsonb_build_object('role', 'system', 'content', nmc.ai_system_prompt(b, conv)))
                    || history || t.transcript,
        'tools', nmc.ai_tools(),
        'tool_choice', 'auto',
        'max_completion_tokens', 400)
        -- Reasoning models refuse a temperature: an empty setting leaves it out.
        || CASE WHEN nmc.setting('openai_temperature') ~ '^[0-9]+(\.[0-9]+)?$'
                THEN jsonb_build_object('temperature', nmc.setting('openai_temperature')::numeric) ELSE '{}' END;
END
$$;
COMMENT ON FUNCTION nmc.ai_request(nmc.ai_turns) IS 'The chat completion request for a turn''s next step: system prompt, the latest messages (ai_history_messages; dropped ones left out), this turn''s tool calls and results, the tools, max_completion_tokens and (if set) openai_temperature.';

CREATE FUNCTION nmc.ai_turn_step(t nmc.ai_turns, p_parent_job_id bigint)
RETURNS nmc.ai_turns
LANGUAGE plpgsql
AS $$
BEGIN
    IF t.steps >= nmc.setting_int('max_ai_steps') THEN
        RETURN nmc.ai_turn_hand_off(t, 'the assistant reached its step limit', 'failed');
    END IF;
    UPDATE nmc.ai_turns SET steps = steps + 1 WHERE id = t.id RETURNING * INTO t;
    PERFORM nmc.job_enqueue('openai.chat', t.business_id,
                            jsonb_build_object('turn_id', t.id, 'conversation_id', t.conversation_id, 'step', t.steps,
                                               'request', nmc.ai_request(t)),
                            NULL, p_parent_job_id);
    RETURN t;
END
$$;
COMMENT ON FUNCTION nmc.ai_turn_step(nmc.ai_turns, bigint) IS 'Queues the turn''s next model call (an openai.chat job, child of the job that led to it), or hands off to a person once max_ai_steps calls were made.';

CREATE FUNCTION nmc.ai_turn_start(p_conversation_id uuid)
RETURNS nmc.ai_turns
LANGUAGE plpgsql
AS $$
DECLARE
    conv nmc.conversations := nmc.conversation_for_update(p_conversation_id, false);
    t nmc.ai_turns;
BEGIN
    IF conv.mode <> 'ai' OR conv.state <> 'open' THEN
        RETURN NULL;
    END IF;
    -- A turn that made no progress for ai_turn_stale_minutes (its job cancelled by hand,
    -- say) must not hold the conversation forever.
    UPDATE nmc.ai_turns SET status = 'failed', outcome = 'no progress for ' || nmc.setting('ai_turn_stale_minutes') || ' minutes',
                            finished_at = now()
     WHERE conversation_id = conv.id AND status = 'running'
       AND updated_at < now() - make_interval(mins => nmc.setting_int('ai_turn_stale_minutes')::int);
    -- One turn at a time: a running turn answers again once it is done.
    UPDATE nmc.ai_turns SET rerun = true WHERE conversation_id = conv.id AND status = 'running' RETURNING * INTO t;
    IF FOUND THEN
        RETURN t;
    END IF;
    INSERT INTO nmc.ai_turns (business_id, conversation_id) VALUES (conv.business_id, conv.id) RETURNING * INTO t;
    RETURN nmc.ai_turn_step(t, NULL);
END
$$;
COMMENT ON FUNCTION nmc.ai_turn_start(uuid) IS 'Starts an assistant turn for a conversation in AI mode (its first model call); if one is running, marks it to answer again when done (unless it is stale: ai_turn_stale_minutes without progress).';

CREATE FUNCTION nmc.ai_turn_finish(t nmc.ai_turns, p_status text, p_outcome text)
RETURNS nmc.ai_turns
LANGUAGE plpgsql
AS $$
BEGIN
    UPDATE nmc.ai_turns SET status = p_status, outcome = left(p_outcome, 500), finished_at = now()
     WHERE id = t.id RETURNING * INTO t;
    -- The customer wrote while the turn ran: answer that too.
    IF t.rerun AND p_status = 'replied' THEN
        PERFORM nmc.ai_turn_start(t.conversation_id);
    END IF;
    RETURN t;
END
$$;
COMMENT ON FUNCTION nmc.ai_turn_finish(nmc.ai_turns, text, text) IS 'Ends a turn with its status and outcome; a turn that replied while the customer wrote again starts the next one.';

CREATE FUNCTION nmc.ai_turn_hand_off(t nmc.ai_turns, reason text, p_status text DEFAULT 'handed_off')
RETURNS nmc.ai_turns
LANGUAGE plpgsql
AS $$
DECLARE
    conv nmc.conversations := nmc.conversation_for_update(t.conversation_id, false);
    b nmc.businesses;
BEGIN
    SELECT * INTO b FROM nmc.businesses WHERE id = t.business_id;
    IF conv.mode = 'ai' AND conv.state = 'open' THEN
        -- The customer is told, never left waiting in silence; then a person has it.
        BEGIN
            PERFORM nmc.intake_reply(conv, format('Thanks for your patience. Someone from %s will text you shortly.', b.name));
        EXCEPTION WHEN SQLSTATE 'NM409' THEN
            NULL;  -- opted out or unreachable: nothing may be sent
        END;
        PERFORM nmc.emit_event(b.id, 'conversation.handoff', jsonb_build_object('id', conv.id, 'reason', reason));
        PERFORM nmc.conversation_set_mode(conv, 'human');
    END IF;
    RETURN nmc.ai_turn_finish(t, p_status, reason);
END
$$;
COMMENT ON FUNCTION nmc.ai_turn_hand_off(nmc.ai_turns, text, text) IS 'Ends a turn by handing the conversation to a person: the customer is told someone will text shortly, the owner gets conversation.handoff, the mode becomes human.';

-- Service area of an address already geocoded (or not): postal codes, then radius.
CREATE FUNCTION nmc.service_area_verdict(b nmc.businesses, postal_code text, lat double precision, lng double precision)
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    km double precision;
BEGIN
    IF b.service_postal_codes IS NULL AND b.service_radius_km IS NULL THEN
        RETURN '{"in_area": true, "note": "the business has no service area limit"}';
    END IF;
    IF b.service_postal_codes IS NOT NULL AND postal_code IS NOT NULL AND upper(postal_code) = ANY (b.service_postal_codes) THEN
        RETURN jsonb_build_object('in_area', true, 'postal_code', postal_code);
    END IF;
    IF b.service_radius_km IS NOT NULL AND b.service_lat IS NOT NULL AND lat IS NOT NULL THEN
        -- Great-circle distance (haversine), Earth radius 6371 km.
        km := 2 * 6371 * asin(sqrt(power(sin(radians(lat - b.service_lat) / 2), 2)
                                   + cos(radians(b.service_lat)) * cos(radians(lat)) * power(sin(radians(lng - b.service_lng) / 2), 2)));
        RETURN jsonb_build_object('in_area', km <= b.service_radius_km, 'distance_km', round(km::numeric, 1),
                                  'radius_km', b.service_radius_km);
    END IF;
    IF b.service_postal_codes IS NOT NULL AND postal_code IS NULL THEN
        RETURN '{"in_area": null, "error": "no ZIP code in the address: ask the customer for it"}';
    END IF;
    IF b.service_postal_codes IS NOT NULL AND b.service_radius_km IS NULL THEN
        RETURN jsonb_build_object('in_area', false, 'postal_code', postal_code);
    END IF;
    -- A radius that cannot be measured (no geocoding, or no centre yet): accept, the owner checks.
    RETURN jsonb_build_object('in_area', CASE WHEN b.service_postal_codes IS NULL THEN true ELSE false END,
                              'note', 'the distance could not be measured; the owner will confirm');
END
$$;
COMMENT ON FUNCTION nmc.service_area_verdict(nmc.businesses, text, double precision, double precision) IS 'Whether a place is in the business''s service area: its postal code in service_postal_codes, or within service_radius_km of the business''s centre (haversine); no limit set: in. Returns {in_area, …} for the model.';

-- A tool result of the turn, and the area verdict's effects on intake and lead.
CREATE FUNCTION nmc.ai_area_result(t nmc.ai_turns, address text, verdict jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    conv nmc.conversations;
BEGIN
    SELECT * INTO conv FROM nmc.conversations WHERE id = t.conversation_id;
    IF jsonb_typeof(verdict -> 'in_area') = 'boolean' THEN
        PERFORM nmc.lead_capture(conv, jsonb_build_object('address', address, 'in_area', (verdict ->> 'in_area')::boolean,
                                                          'zip', verdict ->> 'postal_code'));
    END IF;
    RETURN verdict;
END
$$;
COMMENT ON FUNCTION nmc.ai_area_result(nmc.ai_turns, text, jsonb) IS 'Records a service-area verdict on the intake and lead through nmc.lead_capture (out of area marks the lead out_of_area). Returns the verdict for the model.';

CREATE FUNCTION nmc.ai_tool(t nmc.ai_turns, p_job_id bigint, call jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    conv nmc.conversations;
    b nmc.businesses;
    name text := call #>> '{function,name}';
    args jsonb;
    a nmc.appointments;
    from_ts timestamptz;
    n int;
    slots jsonb;
BEGIN
    SELECT * INTO conv FROM nmc.conversations WHERE id = t.conversation_id;
    SELECT * INTO b FROM nmc.businesses WHERE id = t.business_id;
    BEGIN
        args := (call #>> '{function,arguments}')::jsonb;
    EXCEPTION WHEN invalid_text_representation THEN
        RETURN '{"error": "the arguments were not valid JSON"}';
    END;
    IF jsonb_typeof(args) IS DISTINCT FROM 'object' THEN
        RETURN '{"error": "the arguments must be a JSON object"}';
    END IF;

    IF name = 'save_customer_details' THEN
        IF args ->> 'urgency' IS NOT NULL AND args ->> 'urgency' NOT IN ('normal', 'urgent', 'emergency') THEN
            RETURN '{"error": "urgency must be normal, urgent or emergency"}';
        END IF;
        PERFORM nmc.lead_capture(conv, jsonb_build_object(
            'name', nullif(btrim(left(args ->> 'name', 200)), ''), 'address', nullif(btrim(left(args ->> 'service_address', 300)), ''),
            'problem', nullif(btrim(left(args ->> 'problem', 1000)), ''), 'urgency', args ->> 'urgency'));
        SELECT * INTO conv FROM nmc.conversations WHERE id = conv.id;
        RETURN jsonb_build_object('saved', true, 'still_missing',
            to_jsonb(ARRAY(SELECT k FROM unnest(ARRAY['name', 'address', 'problem']) k WHERE NOT conv.intake ? k)));

    ELSIF name = 'check_service_area' THEN
        IF coalesce(btrim(args ->> 'address'), '') = '' THEN
            RETURN '{"error": "address is required"}';
        END IF;
        IF (b.service_radius_km IS NOT NULL OR b.service_postal_codes IS NOT NULL) AND nmc.maps_configured() THEN
            -- Geocoding is HTTP: the tool's result arrives with the maps.geocode job.
            PERFORM nmc.job_enqueue('maps.geocode', b.id,
                jsonb_build_object('purpose', 'service_area', 'turn_id', t.id, 'tool_call_id', call ->> 'id',
                                   'address', left(args ->> 'address', 300), 'country', b.country),
                NULL, p_job_id);
            RETURN NULL;
        END IF;
        RETURN nmc.ai_area_result(t, left(args ->> 'address', 300),
            nmc.service_area_verdict(b, substring(args ->> 'address' FROM '\m([0-9]{5})(-[0-9]{4})?\M'), NULL, NULL));

    ELSIF name = 'find_open_slots' THEN
        n := least(greatest(coalesce((args ->> 'count')::int, 3), 1), 5);
        from_ts := now() + interval '1 hour';
        IF args ->> 'on_or_after' ~ '^\d{4}-\d{2}-\d{2}$' THEN
            from_ts := greatest(from_ts, ((args ->> 'on_or_after')::date::timestamp AT TIME ZONE b.timezone));
        END IF;
        SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'starts_at', to_char(s.starts_at AT TIME ZONE b.timezone, 'YYYY-MM-DD"T"HH24:MI'),
                   'label', to_char(s.starts_at AT TIME ZONE b.timezone, 'Dy Mon FMDD') || ' at '
                            || nmc.format_time_of_day((s.starts_at AT TIME ZONE b.timezone)::time)) ORDER BY s.starts_at), '[]')
          INTO slots FROM nmc.open_slots(b.id, from_ts, n) s;
        RETURN jsonb_build_object('time_zone', b.timezone, 'slots', slots,
                                  'note', CASE WHEN slots = '[]' THEN 'no open times in the next two weeks: call request_human' END);

    ELSIF name = 'book_appointment' THEN
        IF NOT (conv.intake ? 'name' AND conv.intake ? 'address' AND conv.intake ? 'problem') THEN
            RETURN '{"booked": false, "error": "save the customer''s name, service address and problem with save_customer_details first"}';
        END IF;
        IF (conv.intake ->> 'in_area')::boolean IS FALSE THEN
            RETURN '{"booked": false, "error": "the address is outside the service area"}';
        END IF;
        BEGIN
            from_ts := ((args ->> 'starts_at')::timestamp AT TIME ZONE b.timezone);
        EXCEPTION WHEN OTHERS THEN
            RETURN '{"booked": false, "error": "starts_at must be a time find_open_slots returned, like 2026-12-01T09:00"}';
        END;
        BEGIN
            a := nmc.appointment_book(b.id, conv.customer_id, from_ts, 'ai', conv.intake ->> 'address', conv.intake ->> 'problem');
        EXCEPTION WHEN SQLSTATE 'NM409' OR SQLSTATE 'NM400' THEN
            RETURN jsonb_build_object('booked', false, 'error', 'that time is not available; call find_open_slots again');
        END;
        -- The confirmation comes from the row, never from the model.
        PERFORM nmc.intake_reply(conv, nmc.appointment_confirmation(a.id));
        PERFORM nmc.conversation_close(conv, jsonb_build_object('appointment_id', a.id));
        PERFORM nmc.ai_turn_finish(t, 'booked', 'appointment ' || a.id);
        RETURN jsonb_build_object('booked', true, 'appointment_id', a.id);

    ELSIF name = 'request_human' THEN
        PERFORM nmc.ai_turn_hand_off(t, 'the assistant asked for a person: ' || coalesce(left(args ->> 'reason', 300), 'no reason given'));
        RETURN '{"handed_off": true}';
    END IF;
    RETURN jsonb_build_object('error', format('there is no tool named %s', coalesce(name, '(none)')));
END
$$;
COMMENT ON FUNCTION nmc.ai_tool(nmc.ai_turns, bigint, jsonb) IS 'Runs one tool call of the model and returns its result (JSON for the model), or NULL when the result comes later from an HTTP job (check_service_area with geocoding). book_appointment confirms from the row and closes the conversation; request_human hands off.';

-- A tool result joins the transcript; when none is pending, the turn goes on.
CREATE FUNCTION nmc.ai_tool_result(p_turn_id uuid, p_job_id bigint, tool_call_id text, result jsonb)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    t nmc.ai_turns;
BEGIN
    UPDATE nmc.ai_turns SET transcript = transcript || jsonb_build_array(jsonb_build_object(
               'role', 'tool', 'tool_call_id', tool_call_id, 'content', result::text)),
           pending_tools = greatest(pending_tools - 1, 0)
     WHERE id = p_turn_id AND status = 'running'
    RETURNING * INTO t;
    IF FOUND AND t.pending_tools = 0 THEN
        PERFORM nmc.ai_turn_step(t, p_job_id);
    END IF;
END
$$;
COMMENT ON FUNCTION nmc.ai_tool_result(uuid, bigint, text, jsonb) IS 'Adds a late tool result (from an HTTP job) to a running turn; the last one pending queues the next model call.';

-- openai.chat applied: the model answered one step of a turn.
CREATE FUNCTION nmc.ai_turn_apply(j nmc.jobs, message jsonb)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    t nmc.ai_turns;
    conv nmc.conversations;
    call jsonb;
    result jsonb;
    results jsonb := '[]';
    pending int := 0;
    content text := nullif(btrim(message ->> 'content'), '');
BEGIN
    SELECT * INTO t FROM nmc.ai_turns WHERE id = (j.payload ->> 'turn_id')::uuid FOR UPDATE;
    IF NOT FOUND OR t.status <> 'running' THEN
        RETURN;
    END IF;
    conv := nmc.conversation_for_update(t.conversation_id, false);
    IF conv.mode <> 'ai' OR conv.state <> 'open' THEN
        -- A person took over (or the thread closed) while the model thought:
        -- whatever it said is kept for the audit, never sent.
        IF content IS NOT NULL THEN
            PERFORM nmc.ai_send_reply(conv.id, content);
        END IF;
        PERFORM nmc.ai_turn_finish(t, 'dropped', format('the conversation was in %s mode', conv.mode));
        RETURN;
    END IF;

    IF jsonb_typeof(message -> 'tool_calls') = 'array' AND jsonb_array_length(message -> 'tool_calls') > 0 THEN
        UPDATE nmc.ai_turns SET transcript = transcript || jsonb_build_array(jsonb_strip_nulls(jsonb_build_object(
                   'role', 'assistant', 'content', message -> 'content', 'tool_calls', message -> 'tool_calls')))
         WHERE id = t.id RETURNING * INTO t;
        FOR call IN SELECT c FROM jsonb_array_elements(message -> 'tool_calls') c LOOP
            result := nmc.ai_tool(t, j.id, call);
            SELECT * INTO t FROM nmc.ai_turns WHERE id = t.id;
            IF t.status <> 'running' THEN
                RETURN;  -- booked or handed off: the turn is over
            END IF;
            IF result IS NULL THEN
                pending := pending + 1;
            ELSE
                results := results || jsonb_build_array(jsonb_build_object(
                    'role', 'tool', 'tool_call_id', call ->> 'id', 'content', result::text));
            END IF;
        END LOOP;
        UPDATE nmc.ai_turns SET transcript = transcript || results, pending_tools = pending WHERE id = t.id RETURNING * INTO t;
        IF pending = 0 THEN
            PERFORM nmc.ai_turn_step(t, j.id);
        END IF;
        RETURN;
    END IF;

    IF content IS NULL THEN
        PERFORM nmc.ai_turn_hand_off(t, coalesce('the model refused: ' || (message ->> 'refusal'), 'the model gave no answer'), 'failed');
        RETURN;
    END IF;
    PERFORM nmc.intake_reply(conv, content);
    PERFORM nmc.ai_turn_finish(t, 'replied', NULL);
END
$$;
COMMENT ON FUNCTION nmc.ai_turn_apply(nmc.jobs, jsonb) IS 'Applies one model answer to its turn: tool calls run (their results go back to the model in the next step), text is sent through nmc.ai_send_reply (dropped after a takeover), nothing usable hands off to a person.';

-- maps.geocode applied or failed for a turn's check_service_area.
CREATE FUNCTION nmc.ai_geocode_apply(j nmc.jobs, geo jsonb)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    t nmc.ai_turns;
    b nmc.businesses;
    verdict jsonb;
BEGIN
    SELECT * INTO t FROM nmc.ai_turns WHERE id = (j.payload ->> 'turn_id')::uuid FOR UPDATE;
    IF NOT FOUND OR t.status <> 'running' THEN
        RETURN;
    END IF;
    SELECT * INTO b FROM nmc.businesses WHERE id = t.business_id;
    IF geo IS NULL THEN
        verdict := '{"in_area": null, "error": "the address could not be checked right now; ask the customer to confirm the street, city and ZIP code, or call request_human"}';
    ELSIF NOT (geo ->> 'found')::boolean THEN
        verdict := '{"in_area": null, "error": "no such address was found; ask the customer to check it"}';
    ELSE
        verdict := nmc.ai_area_result(t, coalesce(geo ->> 'formatted_address', j.payload ->> 'address'),
                       nmc.service_area_verdict(b, geo ->> 'postal_code', (geo ->> 'lat')::double precision, (geo ->> 'lng')::double precision)
                       || jsonb_build_object('formatted_address', geo ->> 'formatted_address'));
    END IF;
    PERFORM nmc.ai_tool_result(t.id, j.id, j.payload ->> 'tool_call_id', verdict);
END
$$;
COMMENT ON FUNCTION nmc.ai_geocode_apply(nmc.jobs, jsonb) IS 'The geocoding result of a turn''s check_service_area (NULL: geocoding failed): the area verdict becomes the tool result and the turn goes on.';

-- openai.chat failed for good (timeouts, 429, 5xx after retries, or a 4xx).
CREATE FUNCTION nmc.ai_turn_failed(j nmc.jobs, message text)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    t nmc.ai_turns;
BEGIN
    SELECT * INTO t FROM nmc.ai_turns WHERE id = (j.payload ->> 'turn_id')::uuid FOR UPDATE;
    IF FOUND AND t.status = 'running' THEN
        PERFORM nmc.ai_turn_hand_off(t, 'the AI provider failed: ' || coalesce(left(message, 300), 'unknown error'), 'failed');
    END IF;
END
$$;
COMMENT ON FUNCTION nmc.ai_turn_failed(nmc.jobs, text) IS 'A turn''s model call failed for good: the conversation is handed to a person (customer told, owner alerted by conversation.handoff).';

-- maps.geocode for the business itself: the centre of its service radius.
CREATE FUNCTION nmc.business_center_apply(j nmc.jobs, geo jsonb)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    IF (geo ->> 'found')::boolean THEN
        UPDATE nmc.businesses SET service_lat = (geo ->> 'lat')::double precision, service_lng = (geo ->> 'lng')::double precision
         WHERE id = j.business_id;
    END IF;
END
$$;
COMMENT ON FUNCTION nmc.business_center_apply(nmc.jobs, jsonb) IS 'Sets the centre of the business''s service radius from the geocoded business address.';
CREATE OR REPLACE FUNCTION nmc.business_json(b nmc.businesses)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT jsonb_build_object(
        'id', b.id,
        'name', b.name,
        'trade_type', b.trade_type,
        'address_line1', b.address_line1,
        'address_line2', b.address_line2,
        'city', b.city,
        'region', b.region,
        'postal_code', b.postal_code,
        'country', b.country,
        'timezone', b.timezone,
        'forward_to_phone', b.forward_to_phone,
        'ring_timeout_seconds', b.ring_timeout_seconds,
        'min_ring_seconds', b.min_ring_seconds,
        'repeat_window_seconds', b.repeat_window_seconds,
        'human_window_seconds', b.human_window_seconds,
        'max_reply_segments', b.max_reply_segments,
        'max_ai_segments', b.max_ai_segments,
        'appointment_minutes', b.appointment_minutes,
        'after_hours_message', coalesce(b.after_hours_message, nmc.default_after_hours_message(b)),
        'help_text', coalesce(b.help_text, nmc.default_help_text(b)),
        'safety_advice', coalesce(b.safety_advice, nmc.default_safety_advice(b)),
        'ai_disclosure', coalesce(b.ai_disclosure, nmc.default_ai_disclosure(b)),
        'service_postal_codes', coalesce(to_jsonb(b.service_postal_codes), '[]'),
        'service_radius_km', b.service_radius_km,
        'service_center', CASE WHEN b.service_lat IS NOT NULL THEN jsonb_build_object('lat', b.service_lat, 'lng', b.service_lng) END,
        'emergency_sms_to_owner', b.emergency_sms_to_owner,
        'created_at', b.created_at,
        'updated_at', b.updated_at)
$$;
COMMENT ON FUNCTION nmc.business_json(nmc.businesses) IS 'The API representation of a business.';
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
        'service_radius_km', 'service_center', 'emergency_sms_to_owner']);

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
    IF patch ? 'max_reply_segments' THEN
        b.max_reply_segments := nmc.input_int(patch, 'max_reply_segments', 1, 10);
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
              OR (patch ->> 'service_radius_km')::numeric <= 0 OR (patch ->> 'service_radius_km')::numeric > 500 THEN
            PERFORM nmc.raise_api_error(400, 'invalid_field', 'service_radius_km must be a number of kilometres up to 500 (0 or null: no radius)',
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
        help_text = b.help_text, safety_advice = b.safety_advice, ai_disclosure = b.ai_disclosure,
        service_postal_codes = b.service_postal_codes, service_radius_km = b.service_radius_km,
        service_lat = b.service_lat, service_lng = b.service_lng, emergency_sms_to_owner = b.emergency_sms_to_owner,
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
CREATE OR REPLACE FUNCTION nmc.lead_json(l nmc.leads)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$ SELECT jsonb_build_object('id', l.id, 'customer_id', l.customer_id, 'status', l.status, 'calls_count', l.calls_count,
                                'delivery_error', l.delivery_error, 'service_address', l.service_address, 'problem', l.problem,
                                'urgency', l.urgency, 'status_reason', l.status_reason,
                                'last_activity_at', l.last_activity_at, 'created_at', l.created_at) $$;
COMMENT ON FUNCTION nmc.lead_json(nmc.leads) IS 'The API and event representation of a lead.';
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
    SELECT * INTO l FROM nmc.leads WHERE id = nmc.input_uuid(req #>> '{params,0}', 'lead') FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM nmc.raise_api_error(404, 'not_found', 'no such lead');
    END IF;
    -- The owner may set any status, backwards too (a lead marked lost by mistake).
    IF want NOT IN ('new', 'contacted', 'qualified', 'appointment_scheduled', 'won', 'lost', 'out_of_area') THEN
        PERFORM nmc.raise_api_error(400, 'invalid_field', 'status must be new, contacted, qualified, appointment_scheduled, won, lost or out_of_area', 'status');
    END IF;
    IF want = 'lost' AND reason IS NULL THEN
        PERFORM nmc.raise_api_error(400, 'missing_field', 'say why the lead was lost (reason), e.g. "went with another company"', 'reason');
    END IF;
    -- A reason belongs to won and lost; any other status clears it.
    UPDATE nmc.leads SET status = want, last_activity_at = now(),
           status_reason = CASE WHEN want IN ('won', 'lost') THEN reason END
     WHERE id = l.id RETURNING * INTO l;
    PERFORM nmc.emit_event(l.business_id, 'lead.updated', nmc.lead_json(l));
    RETURN nmc.respond(200, jsonb_build_object('lead', nmc.lead_json(l)));
END
$$;
COMMENT ON FUNCTION nmc.api_lead_patch(jsonb) IS 'PATCH /api/leads/{id} {status, reason}: the owner moves a lead, any status (a reason is required for lost, kept for won and lost); emits lead.updated.';
CREATE OR REPLACE FUNCTION nmc.conversation_emergency(conv nmc.conversations, term text)
RETURNS nmc.conversations
LANGUAGE plpgsql
AS $$
DECLARE
    b nmc.businesses;
BEGIN
    SELECT * INTO b FROM nmc.businesses WHERE id = conv.business_id;
    PERFORM nmc.sms_send(b.id, conv.customer_id, (SELECT phone FROM nmc.phone_numbers WHERE id = conv.phone_number_id),
                         coalesce(b.safety_advice, nmc.default_safety_advice(b)), 'system', conv.id);
    PERFORM nmc.emit_event(b.id, 'conversation.emergency', jsonb_build_object('id', conv.id, 'customer_id', conv.customer_id, 'term', term));
    IF b.emergency_sms_to_owner AND b.forward_to_phone IS NOT NULL THEN
        PERFORM nmc.owner_alert_send(b, conv, format('EMERGENCY (%s) from %s: "%s" Reply to them now on your dashboard.',
            term, (SELECT phone FROM nmc.customers WHERE id = conv.customer_id),
            left((SELECT body FROM nmc.messages WHERE conversation_id = conv.id AND direction = 'inbound'
                   ORDER BY created_at DESC, id DESC LIMIT 1), 200)));
    END IF;
    -- A person handles danger: no countdown, and no AI small talk about a gas leak.
    RETURN nmc.conversation_set_mode(conv, 'human');
END
$$;
COMMENT ON FUNCTION nmc.conversation_emergency(nmc.conversations, text) IS 'A text reported danger: safety advice to the customer at once, a conversation.emergency event for the owner, and the conversation handed to a human (no human window, no AI).';
CREATE OR REPLACE FUNCTION nmc.owner_alert_send(b nmc.businesses, conv nmc.conversations, body text)
RETURNS nmc.messages
LANGUAGE plpgsql
AS $$
DECLARE
    m nmc.messages;
BEGIN
    -- Recorded against the customer it is about, outside their thread (no conversation).
    INSERT INTO nmc.messages (business_id, customer_id, conversation_id, direction, author, from_phone, to_phone, body, status)
    VALUES (b.id, conv.customer_id, NULL, 'outbound', 'system', (SELECT phone FROM nmc.phone_numbers WHERE id = conv.phone_number_id),
            b.forward_to_phone, left(body, 480), 'pending')
    RETURNING * INTO m;
    PERFORM nmc.sms_enqueue(m);
    RETURN m;
END
$$;
COMMENT ON FUNCTION nmc.owner_alert_send(nmc.businesses, nmc.conversations, text) IS 'Texts the owner''s forward-to phone from the business number (an emergency alert); recorded as a system message about the customer, outside the conversation.';
CREATE OR REPLACE FUNCTION nmc.openai_chat_apply(j nmc.jobs, response jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
BEGIN
    IF jsonb_typeof(response #> '{choices,0,message}') IS DISTINCT FROM 'object' THEN
        PERFORM nmc.job_permanent_error('the chat completion has no choices[0].message', 'invalid_response');
    END IF;
    IF j.payload ? 'turn_id' THEN
        PERFORM nmc.ai_turn_apply(j, response #> '{choices,0,message}');
    END IF;
    RETURN jsonb_build_object('message', response #> '{choices,0,message}',
                              'finish_reason', response #>> '{choices,0,finish_reason}',
                              'usage', response -> 'usage', 'id', response -> 'id');
END
$$;
COMMENT ON FUNCTION nmc.openai_chat_apply(nmc.jobs, jsonb) IS 'openai.chat success: an assistant turn''s step is applied (nmc.ai_turn_apply); the job result keeps the assistant message, finish reason and usage.';
CREATE OR REPLACE FUNCTION nmc.maps_geocode_apply(j nmc.jobs, response jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    st text := response ->> 'status';
    r jsonb := response #> '{results,0}';
    result jsonb;
BEGIN
    IF st = 'ZERO_RESULTS' THEN
        result := jsonb_build_object('found', false);
    ELSIF st IN ('OVER_QUERY_LIMIT', 'UNKNOWN_ERROR') THEN
        PERFORM nmc.job_transient_error(coalesce(response ->> 'error_message', 'Google Maps answered ' || st), st);
    ELSIF st IS DISTINCT FROM 'OK' OR r IS NULL THEN
        PERFORM nmc.job_permanent_error(coalesce(response ->> 'error_message', 'Google Maps answered ' || coalesce(st, 'no status')),
                                        coalesce(st, 'invalid_response'));
    ELSE
        result := jsonb_build_object(
            'found', true,
            'formatted_address', r ->> 'formatted_address',
            'lat', (r #>> '{geometry,location,lat}')::double precision,
            'lng', (r #>> '{geometry,location,lng}')::double precision,
            'location_type', r #>> '{geometry,location_type}',
            'partial_match', coalesce((r ->> 'partial_match')::boolean, false),
            'postal_code', (SELECT c ->> 'short_name' FROM jsonb_array_elements(r -> 'address_components') c
                             WHERE c -> 'types' ? 'postal_code' LIMIT 1));
    END IF;
    PERFORM nmc.maps_geocode_effects(j, result);
    RETURN result;
END
$$;
COMMENT ON FUNCTION nmc.maps_geocode_apply(nmc.jobs, jsonb) IS 'maps.geocode success: the best match (address, point, precision, postal code) or found=false, handed to what asked for it (nmc.maps_geocode_effects); OVER_QUERY_LIMIT/UNKNOWN_ERROR retry, other statuses fail.';
CREATE OR REPLACE FUNCTION nmc.maps_geocode_effects(j nmc.jobs, geo jsonb)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    CASE j.payload ->> 'purpose'
        WHEN 'service_area' THEN PERFORM nmc.ai_geocode_apply(j, geo);
        WHEN 'business_center' THEN PERFORM nmc.business_center_apply(j, geo);
        ELSE NULL;
    END CASE;
END
$$;
COMMENT ON FUNCTION nmc.maps_geocode_effects(nmc.jobs, jsonb) IS 'What a geocoding result (NULL: the job failed) does, by payload.purpose: service_area → the assistant turn''s check_service_area; business_center → the centre of the service radius.';
CREATE OR REPLACE FUNCTION nmc.job_on_failure(j nmc.jobs, code text, message text)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    IF j.kind = 'twilio.sms.send' THEN
        PERFORM nmc.twilio_sms_send_failed(j, code, message);
    ELSIF j.kind = 'openai.chat' AND j.payload ? 'turn_id' THEN
        PERFORM nmc.ai_turn_failed(j, message);
    ELSIF j.kind = 'maps.geocode' THEN
        PERFORM nmc.maps_geocode_effects(j, NULL);
    END IF;
END
$$;
COMMENT ON FUNCTION nmc.job_on_failure(nmc.jobs, text, text) IS 'Domain effects of a permanent failure, by kind: a failed text marks the message (and may mark the customer); a failed model call hands the conversation to a person; a failed geocoding answers the assistant''s area check.';
CREATE OR REPLACE FUNCTION nmc.webhook_sms(req jsonb)
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
CREATE OR REPLACE FUNCTION nmc.conversation_human_window_expired(t nmc.timers)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    c nmc.conversations;
BEGIN
    SELECT * INTO c FROM nmc.conversations WHERE id = t.subject_id FOR UPDATE;
    IF NOT FOUND OR c.mode <> 'human_window' OR c.human_window_timer_id IS DISTINCT FROM t.id THEN
        RETURN;
    END IF;
    -- Nobody answered in time: the assistant takes the conversation on.
    UPDATE nmc.conversations SET human_window_timer_id = NULL WHERE id = c.id RETURNING * INTO c;
    PERFORM nmc.conversation_set_mode(c, 'ai');
    PERFORM nmc.ai_respond(c.id);
END
$$;
COMMENT ON FUNCTION nmc.conversation_human_window_expired(nmc.timers) IS 'Timer handler: the human window ran out with no reply from the business; the conversation goes to AI mode and the assistant answers (nmc.ai_respond).';
CREATE OR REPLACE FUNCTION nmc.intake_turn(p_conversation_id uuid)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    conv nmc.conversations := nmc.conversation_for_update(p_conversation_id);
    b nmc.businesses;
    last_text text;
    i jsonb;
    v text;
    pick int;
    a nmc.appointments;
    slots jsonb;
    understood boolean := true;
BEGIN
    IF conv.mode <> 'ai' THEN
        RETURN;
    END IF;
    SELECT * INTO b FROM nmc.businesses WHERE id = conv.business_id;
    i := conv.intake;
    SELECT m.body INTO last_text FROM nmc.messages m
     WHERE m.conversation_id = conv.id AND m.direction = 'inbound' ORDER BY m.created_at DESC, m.id DESC LIMIT 1;

    -- Take in the customer's latest answer to what was asked.
    IF i ->> 'awaiting' = 'name' THEN
        v := nmc.intake_name(last_text);
        understood := v IS NOT NULL;
        IF understood THEN
            i := i || jsonb_build_object('name', v);
            UPDATE nmc.customers SET name = v WHERE id = conv.customer_id;
        END IF;
    ELSIF i ->> 'awaiting' = 'address' THEN
        v := nmc.intake_address(last_text);
        understood := v IS NOT NULL;
        IF understood THEN
            i := i || jsonb_build_object('address', v);
            IF substring(v FROM '\m([0-9]{5})(-[0-9]{4})?\s*$') IS NOT NULL THEN
                i := i || jsonb_build_object('zip', substring(v FROM '\m([0-9]{5})(-[0-9]{4})?\s*$'));
            END IF;
        END IF;
    ELSIF i ->> 'awaiting' = 'zip' THEN
        v := substring(last_text FROM '\m([0-9]{5})\M');
        understood := v IS NOT NULL;
        IF understood THEN
            i := i || jsonb_build_object('zip', v);
        END IF;
    ELSIF i ->> 'awaiting' = 'slot' THEN
        pick := coalesce(nmc.intake_slot_by_time(last_text, i -> 'offered_slots', b.timezone),
                         nmc.intake_slot_choice(last_text, jsonb_array_length(i -> 'offered_slots')));
        understood := pick IS NOT NULL;
        IF understood THEN
            BEGIN
                a := nmc.appointment_book(b.id, conv.customer_id, (i #>> ARRAY['offered_slots', (pick - 1)::text])::timestamptz, 'ai',
                                          i ->> 'address', i ->> 'problem');
            EXCEPTION WHEN SQLSTATE 'NM409' OR SQLSTATE 'NM400' THEN
                -- Taken meanwhile: offer fresh slots.
                i := i - 'offered_slots';
                a := NULL;
            END;
            IF a.id IS NOT NULL THEN
                PERFORM nmc.intake_reply(conv, nmc.appointment_confirmation(a.id));
                PERFORM nmc.conversation_close(conv, i || jsonb_build_object('awaiting', 'nothing', 'appointment_id', a.id));
                RETURN;
            END IF;
        END IF;
    ELSIF NOT i ? 'problem' AND last_text IS NOT NULL THEN
        -- The customer's first words are usually the problem itself.
        i := i || jsonb_build_object('problem', left(last_text, 1000));
    END IF;

    IF NOT understood THEN
        IF coalesce((i ->> 'misunderstood')::int, 0) >= 1 THEN
            PERFORM nmc.intake_reply(conv, format('Sorry, I didn''t catch that. I''ll have someone from %s text you shortly.', b.name));
            UPDATE nmc.conversations SET intake = i WHERE id = conv.id RETURNING * INTO conv;
            PERFORM nmc.emit_event(b.id, 'conversation.handoff', jsonb_build_object('id', conv.id, 'reason', 'the assistant could not understand the customer twice'));
            PERFORM nmc.conversation_set_mode(conv, 'human');
            RETURN;
        END IF;
        i := i || jsonb_build_object('misunderstood', 1);
    ELSE
        i := i - 'misunderstood';
    END IF;

    -- Ask for what is still missing, in order; then offer slots.
    IF NOT i ? 'problem' THEN
        i := i || '{"awaiting":"problem"}';
        PERFORM nmc.intake_reply(conv, 'What can we help you with?');
    ELSIF NOT i ? 'name' THEN
        i := i || '{"awaiting":"name"}';
        PERFORM nmc.intake_reply(conv, CASE WHEN understood THEN 'Thanks! What''s your name?' ELSE 'Sorry, what''s your name?' END);
    ELSIF NOT i ? 'address' THEN
        i := i || '{"awaiting":"address"}';
        PERFORM nmc.intake_reply(conv, CASE WHEN understood THEN format('Thanks, %s. What''s the address for the job (street and number)?', i ->> 'name')
                                            ELSE 'Sorry, I need the street address with the house number, like "12 Elm St".' END);
    ELSIF b.service_postal_codes IS NOT NULL AND NOT i ? 'zip' THEN
        i := i || '{"awaiting":"zip"}';
        PERFORM nmc.intake_reply(conv, CASE WHEN understood THEN 'And the ZIP code?' ELSE 'Sorry, what''s the 5-digit ZIP code?' END);
    ELSIF b.service_postal_codes IS NOT NULL AND NOT (i ->> 'zip') = ANY (b.service_postal_codes) THEN
        -- Outside the service area: say so politely, mark the lead, and stop.
        PERFORM nmc.intake_reply(conv, format('Sorry, %s doesn''t serve %s. We hope you find help quickly!', b.name, i ->> 'zip'));
        conv := nmc.conversation_close(conv, i || '{"awaiting":"nothing","out_of_area":true,"in_area":false}');
        PERFORM nmc.lead_capture(conv, '{}');   -- marks the lead out_of_area
        RETURN;
    ELSE
        IF NOT i ? 'offered_slots' OR NOT understood THEN
            SELECT jsonb_agg(s.starts_at ORDER BY s.starts_at) INTO slots FROM nmc.open_slots(b.id, now() + interval '1 hour', 3) s;
            IF slots IS NULL THEN
                PERFORM nmc.intake_reply(conv, format('Thanks! We have no open times in the next two weeks; someone from %s will text you to find one.', b.name));
                UPDATE nmc.conversations SET intake = i WHERE id = conv.id RETURNING * INTO conv;
                PERFORM nmc.conversation_set_mode(conv, 'human');
                RETURN;
            END IF;
            -- Everything is known and the area check (by ZIP) passed: lead_capture qualifies the lead.
            i := i || jsonb_build_object('offered_slots', slots, 'in_area', true);
        END IF;
        i := i || '{"awaiting":"slot"}';
        PERFORM nmc.intake_reply(conv, (CASE WHEN understood THEN 'I can book you in at: ' ELSE 'Sorry, which time? ' END)
            || (SELECT string_agg(format('%s) %s', n, to_char(t::timestamptz AT TIME ZONE b.timezone, 'Dy Mon FMDD') || ' at '
                                                       || nmc.format_time_of_day((t::timestamptz AT TIME ZONE b.timezone)::time)), ', ' ORDER BY n)
                  FROM jsonb_array_elements_text(i -> 'offered_slots') WITH ORDINALITY AS x(t, n))
            || '. Reply 1, 2 or 3 (or the day and time).');
    END IF;
    UPDATE nmc.conversations SET intake = i WHERE id = conv.id RETURNING * INTO conv;
    -- What it learned lands on the customer and the lead too.
    PERFORM nmc.lead_capture(conv, '{}');
END
$$;
COMMENT ON FUNCTION nmc.intake_turn(uuid) IS 'One turn of the built-in intake engine for a conversation in AI mode: take in the customer''s latest answer, then ask for what is missing or offer slots; book and confirm from the row; hand off to a human after two replies it could not understand.';
CREATE OR REPLACE FUNCTION nmc.intake_reply(conv nmc.conversations, body text)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    b nmc.businesses;
BEGIN
    SELECT * INTO b FROM nmc.businesses WHERE id = conv.business_id;
    -- The first thing the assistant says discloses that it is automated.
    IF NOT EXISTS (SELECT 1 FROM nmc.messages WHERE conversation_id = conv.id AND author = 'ai') THEN
        body := coalesce(b.ai_disclosure, nmc.default_ai_disclosure(b)) || ' ' || body;
    END IF;
    PERFORM nmc.ai_send_reply(conv.id, body);
END
$$;
COMMENT ON FUNCTION nmc.intake_reply(nmc.conversations, text) IS 'Sends an assistant reply, from either engine (prefixed with the disclosure the first time), only while the conversation is in AI mode.';
-- The intake engine also understands "tomorrow 9am" for the slots it offered.
CREATE OR REPLACE FUNCTION nmc.intake_slot_by_time(t text, offered jsonb, tz text)
RETURNS int
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    k text := lower(t);
    m text[];
    hh int;
    mm int := 0;
    day date;
    local_today date := (now() AT TIME ZONE tz)::date;
    hits int[];
BEGIN
    -- The time: "9am", "9:30 pm", "14:00", or "at 10" (1-6 o'clock meaning afternoon).
    m := regexp_match(k, '\m(\d{1,2})(?::(\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)');
    IF m IS NOT NULL THEN
        hh := m[1]::int % 12 + CASE WHEN m[3] LIKE 'p%' THEN 12 ELSE 0 END;
        mm := coalesce(m[2]::int, 0);
    ELSE
        m := regexp_match(k, '\m(\d{1,2}):(\d{2})\M');
        IF m IS NOT NULL THEN
            hh := m[1]::int;
            mm := m[2]::int;
        ELSE
            m := regexp_match(k, '\mat (\d{1,2})\M');
            IF m IS NOT NULL THEN
                hh := m[1]::int + CASE WHEN m[1]::int BETWEEN 1 AND 6 THEN 12 ELSE 0 END;
            END IF;
        END IF;
    END IF;
    -- The day: today, tomorrow, or a weekday name.
    IF k ~ '\mtoday\M' THEN
        day := local_today;
    ELSIF k ~ '\mtomorrow\M' THEN
        day := local_today + 1;
    ELSE
        m := regexp_match(k, '\m(sun|mon|tue|wed|thu|fri|sat)[a-z]*\M');
        IF m IS NOT NULL THEN
            SELECT d INTO day FROM generate_series(local_today, local_today + 6, interval '1 day') g(d0), LATERAL (SELECT g.d0::date AS d) x
             WHERE to_char(x.d, 'dy') = m[1] LIMIT 1;
        END IF;
    END IF;
    IF hh IS NULL AND day IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT array_agg(n::int ORDER BY n) INTO hits
      FROM jsonb_array_elements_text(offered) WITH ORDINALITY AS o(ts, n)
     WHERE (day IS NULL OR (o.ts::timestamptz AT TIME ZONE tz)::date = day)
       AND (hh IS NULL OR (extract(hour FROM o.ts::timestamptz AT TIME ZONE tz) = hh
                           AND extract(minute FROM o.ts::timestamptz AT TIME ZONE tz) = mm));
    -- Only an answer that names exactly one of the offered times counts.
    RETURN CASE WHEN cardinality(hits) = 1 THEN hits[1] END;
END
$$;
COMMENT ON FUNCTION nmc.intake_slot_by_time(text, jsonb, text) IS 'Which of the offered slots (timestamps) a reply names by day and/or time in the business''s time zone ("tomorrow 9am", "Thursday at 2", "the 10:30 one"); NULL unless exactly one matches.';

-- Twilio signatures computed in C.
DROP FUNCTION nmc.twilio_url_variants(text);
CREATE OR REPLACE FUNCTION nmc.twilio_signature(url text, pairs text[], token text)
RETURNS text
LANGUAGE c IMMUTABLE STRICT
AS 'MODULE_PATHNAME', 'nmc_twilio_signature';
COMMENT ON FUNCTION nmc.twilio_signature(text, text[], text) IS 'The X-Twilio-Signature Twilio sends for a request to url with these form pairs, signed with token: base64 HMAC-SHA1 of the URL followed by each distinct name+value, sorted by name then value.';
CREATE OR REPLACE FUNCTION nmc.twilio_signature_valid(url text, pairs text[], token text, signature text)
RETURNS boolean
LANGUAGE c IMMUTABLE
AS 'MODULE_PATHNAME', 'nmc_twilio_signature_valid';
COMMENT ON FUNCTION nmc.twilio_signature_valid(text, text[], text, text) IS 'True if signature is Twilio''s signature of (url, pairs) under token, for any of the URL forms Twilio signs: as given, without its port, or with the scheme''s default port (compared in constant time; false if anything is missing).';

-- What the dashboard asked for: the customer on new conversations, missed calls and
-- leads and on a conversation's detail; message.status when a text is sent or fails;
-- sandbox number searches that leave out numbers already taken.
CREATE OR REPLACE FUNCTION nmc.customer_brief(p_customer_id uuid)
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    r jsonb;
BEGIN
    SELECT jsonb_build_object('id', c.id, 'phone', c.phone, 'name', c.name) INTO r FROM nmc.customers c WHERE c.id = p_customer_id;
    RETURN r;
END
$$;
COMMENT ON FUNCTION nmc.customer_brief(uuid) IS 'A customer as events and lists show them: {id, phone, name}.';
CREATE OR REPLACE FUNCTION nmc.conversation_open(p_business_id uuid, p_customer_id uuid, p_phone_number_id uuid, p_lead_id uuid DEFAULT NULL)
RETURNS nmc.conversations
LANGUAGE plpgsql
AS $$
DECLARE
    c nmc.conversations;
BEGIN
    SELECT * INTO c FROM nmc.conversations
     WHERE business_id = p_business_id AND phone_number_id = p_phone_number_id AND customer_id = p_customer_id AND state = 'open'
     FOR UPDATE;
    IF FOUND THEN
        IF p_lead_id IS NOT NULL AND c.lead_id IS DISTINCT FROM p_lead_id THEN
            UPDATE nmc.conversations SET lead_id = p_lead_id WHERE id = c.id RETURNING * INTO c;
        END IF;
        RETURN c;
    END IF;
    INSERT INTO nmc.conversations (business_id, customer_id, phone_number_id, lead_id)
    VALUES (p_business_id, p_customer_id, p_phone_number_id,
            coalesce(p_lead_id, (SELECT id FROM nmc.leads WHERE business_id = p_business_id AND customer_id = p_customer_id
                                   AND status IN ('new', 'contacted', 'qualified', 'appointment_scheduled'))))
    ON CONFLICT (business_id, phone_number_id, customer_id) WHERE state = 'open' DO NOTHING
    RETURNING * INTO c;
    IF NOT FOUND THEN
        -- A concurrent delivery opened it first: use theirs.
        SELECT * INTO c FROM nmc.conversations
         WHERE business_id = p_business_id AND phone_number_id = p_phone_number_id AND customer_id = p_customer_id AND state = 'open'
         FOR UPDATE;
        RETURN c;
    END IF;
    PERFORM nmc.emit_event(p_business_id, 'conversation.created',
                           nmc.conversation_json(c) || jsonb_build_object('customer', nmc.customer_brief(c.customer_id)));
    RETURN c;
END
$$;
COMMENT ON FUNCTION nmc.conversation_open(uuid, uuid, uuid, uuid) IS 'The open conversation between a business number and a customer (locked), or a new one (emits conversation.created, with the customer).';
CREATE OR REPLACE FUNCTION nmc.call_missed(c nmc.calls, p_reason text)
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
CREATE OR REPLACE FUNCTION nmc.lead_for_call(p_business_id uuid, p_customer_id uuid)
RETURNS nmc.leads
LANGUAGE plpgsql
AS $$
DECLARE
    l nmc.leads;
BEGIN
    UPDATE nmc.leads SET calls_count = calls_count + 1, last_activity_at = now()
     WHERE business_id = p_business_id AND customer_id = p_customer_id
       AND status IN ('new', 'contacted', 'qualified', 'appointment_scheduled')
    RETURNING * INTO l;
    IF NOT FOUND THEN
        INSERT INTO nmc.leads (business_id, customer_id) VALUES (p_business_id, p_customer_id) RETURNING * INTO l;
    END IF;
    PERFORM nmc.emit_event(p_business_id, 'lead.updated', nmc.lead_json(l) || jsonb_build_object('customer', nmc.customer_brief(l.customer_id)));
    RETURN l;
END
$$;
COMMENT ON FUNCTION nmc.lead_for_call(uuid, uuid) IS 'The customer''s active lead, touched (calls_count, last activity), or a new lead (status new); emits lead.updated.';
CREATE OR REPLACE FUNCTION nmc.api_conversation_get(req jsonb)
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
CREATE OR REPLACE FUNCTION nmc.twilio_sms_send_apply(j nmc.jobs, response jsonb)
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
CREATE OR REPLACE FUNCTION nmc.twilio_sms_send_failed(j nmc.jobs, code text, message text)
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
    IF code = '21610' THEN
        UPDATE nmc.customers SET opted_out_at = coalesce(opted_out_at, now())
         WHERE business_id = m.business_id AND id = m.customer_id;
    ELSIF code IN ('21211', '21614') THEN
        UPDATE nmc.customers SET sms_unreachable_at = coalesce(sms_unreachable_at, now()),
               sms_unreachable_reason = CASE code WHEN '21211' THEN 'not a valid phone number (Twilio 21211)'
                                                  ELSE 'cannot receive text messages, e.g. a landline (Twilio 21614)' END
         WHERE business_id = m.business_id AND id = m.customer_id;
    END IF;
END
$$;
COMMENT ON FUNCTION nmc.twilio_sms_send_failed(nmc.jobs, text, text) IS
    'twilio.sms.send permanent failure: the message is failed with Twilio''s code (message.status emitted); 21610 marks the customer opted out, 21211/21614 mark the number unable to receive texts.';
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
                     WHERE NOT EXISTS (SELECT 1 FROM nmc.phone_numbers p WHERE p.phone = format('+1%s55501%s', a.ac, lpad(g::text, 2, '0')))
                     ORDER BY g LIMIT 10) n
$$;
COMMENT ON FUNCTION nmc.twilio_numbers_search_simulate(nmc.jobs) IS 'Sandbox mode: up to ten plausible numbers in the requested area code from the fictional 555-0100…0199 range, leaving out those already taken.';
-- /api/status shows the edge's WebSocket clients.
CREATE OR REPLACE FUNCTION nmc.api_status(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    h record;
BEGIN
    SELECT * INTO h FROM nmc.system_health();
    RETURN nmc.respond(200, jsonb_build_object(
        'database', 'ok',
        'sandbox_mode', nmc.sandbox_mode(),
        'dispatcher', jsonb_build_object('running', h.worker_pid IS NOT NULL,
                                         'heartbeat_age_seconds', round(extract(epoch FROM h.heartbeat_age)::numeric, 3),
                                         'queued', h.queued, 'due', h.due, 'in_flight', h.in_flight,
                                         'oldest_due_age_seconds', round(coalesce(extract(epoch FROM h.oldest_due_age), 0)::numeric, 3)),
        'providers_5m', nmc.provider_stats_5m(),
        -- The edge that answers adds its live-feed figures to every request.
        'websocket', CASE WHEN req #>> '{headers,x-nmc-edge-ws-clients}' ~ '^[0-9]+$' THEN jsonb_build_object(
                         'clients', (req #>> '{headers,x-nmc-edge-ws-clients}')::bigint,
                         'dropped_slow', (req #>> '{headers,x-nmc-edge-ws-dropped-slow}')::bigint) END));
END
$$;
COMMENT ON FUNCTION nmc.api_status(jsonb) IS 'GET /api/status: database, sandbox mode, the dispatcher''s heartbeat and queue, and provider successes / retries / failures over 5 minutes, for the whole system; and the answering edge''s WebSocket clients (connected, dropped for being slow).';

-- Shared pieces instead of near-copies: queueing a text, the active lead, closing a conversation.
CREATE OR REPLACE FUNCTION nmc.sms_enqueue(m nmc.messages)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM nmc.job_enqueue('twilio.sms.send', m.business_id, jsonb_build_object('message_id', m.id), 'sms:' || m.id);
END
$$;
COMMENT ON FUNCTION nmc.sms_enqueue(nmc.messages) IS 'Queues the twilio.sms.send job of a recorded outbound message (once: keyed by the message id).';
CREATE OR REPLACE FUNCTION nmc.sms_send(p_business_id uuid, p_customer_id uuid, p_from text, p_body text,
                             p_author text DEFAULT 'system', p_conversation_id uuid DEFAULT NULL)
RETURNS nmc.messages
LANGUAGE plpgsql
AS $$
DECLARE
    c nmc.customers;
    m nmc.messages;
BEGIN
    SELECT * INTO c FROM nmc.customers WHERE business_id = p_business_id AND id = p_customer_id;
    IF NOT FOUND THEN
        PERFORM nmc.raise_api_error(404, 'not_found', 'customer not found');
    END IF;
    IF c.opted_out_at IS NOT NULL THEN
        PERFORM nmc.raise_api_error(409, 'customer_opted_out', 'this customer replied STOP; texts to them are blocked until they reply START');
    END IF;
    IF c.sms_unreachable_at IS NOT NULL THEN
        PERFORM nmc.raise_api_error(409, 'customer_unreachable', 'this number cannot receive texts: ' || coalesce(c.sms_unreachable_reason, 'unknown reason'));
    END IF;
    INSERT INTO nmc.messages (business_id, customer_id, conversation_id, direction, author, from_phone, to_phone, body, status)
    VALUES (p_business_id, p_customer_id, p_conversation_id, 'outbound', p_author, nmc.normalize_phone(p_from, 'from'), c.phone, p_body, 'pending')
    RETURNING * INTO m;
    PERFORM nmc.sms_enqueue(m);
    IF p_conversation_id IS NOT NULL THEN
        UPDATE nmc.conversations SET last_message_at = m.created_at WHERE id = p_conversation_id;
    END IF;
    PERFORM nmc.emit_event(p_business_id, 'message.created', nmc.message_json(m) - 'body');
    RETURN m;
END
$$;
COMMENT ON FUNCTION nmc.sms_send(uuid, uuid, text, text, text, uuid) IS
    'Records an outbound SMS (status pending) and enqueues its twilio.sms.send job in the same transaction; refuses opted-out and unreachable customers (NM409).';
CREATE OR REPLACE FUNCTION nmc.active_lead(p_business_id uuid, p_customer_id uuid)
RETURNS nmc.leads
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    l nmc.leads;
BEGIN
    SELECT * INTO l FROM nmc.leads
     WHERE business_id = p_business_id AND customer_id = p_customer_id
       AND status IN ('new', 'contacted', 'qualified', 'appointment_scheduled');
    RETURN l;
END
$$;
COMMENT ON FUNCTION nmc.active_lead(uuid, uuid) IS 'The customer''s active lead (new, contacted, qualified or appointment_scheduled; at most one), or a row of NULLs.';
CREATE OR REPLACE FUNCTION nmc.conversation_close(c nmc.conversations, p_intake jsonb DEFAULT '{}')
RETURNS nmc.conversations
LANGUAGE plpgsql
AS $$
BEGIN
    IF c.human_window_timer_id IS NOT NULL THEN
        PERFORM nmc.timer_cancel(c.human_window_timer_id);
    END IF;
    UPDATE nmc.conversations SET state = 'closed', closed_at = now(), human_window_timer_id = NULL, intake = intake || p_intake
     WHERE id = c.id RETURNING * INTO c;
    PERFORM nmc.emit_event(c.business_id, 'conversation.updated', jsonb_build_object('id', c.id, 'mode', c.mode, 'state', c.state));
    RETURN c;
END
$$;
COMMENT ON FUNCTION nmc.conversation_close(nmc.conversations, jsonb) IS 'Closes a conversation (booked, out of area, or idle): its human-window timer cancelled, p_intake merged into what was gathered; emits conversation.updated. The next text opens a fresh one.';
CREATE OR REPLACE FUNCTION nmc.close_idle_conversations()
RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
    c nmc.conversations;
    n bigint := 0;
BEGIN
    FOR c IN SELECT * FROM nmc.conversations
              WHERE state = 'open' AND coalesce(last_message_at, created_at)
                    < now() - make_interval(hours => nmc.setting_int('conversation_idle_close_hours')::int)
              ORDER BY coalesce(last_message_at, created_at) LIMIT 10000 FOR UPDATE SKIP LOCKED
    LOOP
        PERFORM nmc.conversation_close(c);
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION nmc.close_idle_conversations() IS 'Closes open conversations idle for conversation_idle_close_hours (housekeeping); a new message then opens a fresh one.';
-- Generated from docs/openapi.yaml by extension/Makefile.
CREATE OR REPLACE FUNCTION nmc.openapi_document() RETURNS text LANGUAGE sql IMMUTABLE AS $nmc_fn$ SELECT $nmc_openapi$openapi: 3.0.3
info:
  title: NeverMissCall API
  version: 0.1.0
  description: |
    The JSON API the dashboard uses, and the Twilio webhooks. Every /api route is answered
    by nmc_api.handle in Postgres (docs/architecture.md). Errors are always
    {"error": {"code", "message", "field"?}} with the status given below; see docs/http-api.md
    for the codes. The live feed is a WebSocket (GET /api/realtime says where).
    This file is served at GET /api/openapi.yaml; test/edge/05_openapi_coverage.t fails when
    a route exists without an entry here or the other way round.
servers:
  - url: http://localhost:8080
components:
  securitySchemes:
    bearer:
      type: http
      scheme: bearer
      bearerFormat: JWT
    twilioSignature:
      type: apiKey
      in: header
      name: X-Twilio-Signature
      description: HMAC-SHA1 of the public URL and the sorted form parameters, keyed by the Twilio auth token.
  schemas:
    Error:
      type: object
      required: [error]
      properties:
        error:
          type: object
          required: [code, message]
          properties:
            code: {type: string}
            message: {type: string}
            field: {type: string}
  responses:
    Error:
      description: The request was refused; the body says why.
      content:
        application/json:
          schema: {$ref: '#/components/schemas/Error'}
    TwiML:
      description: TwiML instructions for Twilio.
      content:
        text/xml:
          schema: {type: string}
paths:
  /metrics:
    get:
      summary: "Prometheus metrics: requests by route and status, latency histograms, live-feed clients, NOTIFY-to-send latency, jobs by state (answered by the edge)"
      security: []
      responses:
        '200':
          description: Prometheus text exposition format.
          content:
            text/plain:
              schema: {type: string}
  /healthz:
    get:
      summary: "Liveness; 200 only when the database answers (answered by the edge)"
      security: []
      responses:
        '200': {description: The database answers.}
        '503': {description: The database is unreachable.}
  /api/appointments:
    get:
      summary: "Appointments in a time window"
      security: [{bearer: []}]
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
    post:
      summary: "Book an appointment by hand"
      security: [{bearer: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object}
      responses:
        '201':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/appointments/open-slots:
    get:
      summary: "The next free slots"
      security: [{bearer: []}]
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/appointments/{id}/cancel:
    post:
      summary: "Cancel an appointment"
      security: [{bearer: []}]
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/auth/login:
    post:
      summary: "Log in; returns a session token"
      security: []
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object}
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/auth/register:
    post:
      summary: "Create a user and their business; returns a session token"
      security: []
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object}
      responses:
        '201':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/business:
    get:
      summary: "The business profile"
      security: [{bearer: []}]
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
    patch:
      summary: "Update the business profile"
      security: [{bearer: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object}
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/business/blocked-numbers:
    get:
      summary: "The block list"
      security: [{bearer: []}]
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
    post:
      summary: "Block a number from missed-call texts"
      security: [{bearer: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object}
      responses:
        '201':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/business/blocked-numbers/{id}:
    delete:
      summary: "Unblock a number"
      security: [{bearer: []}]
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/business/closures:
    post:
      summary: "Add a closed day"
      security: [{bearer: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object}
      responses:
        '201':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/business/closures/{id}:
    delete:
      summary: "Remove a closed day"
      security: [{bearer: []}]
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/business/greeting:
    get:
      summary: "The greeting template, its default and a preview"
      security: [{bearer: []}]
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
    put:
      summary: "Set (or reset) the greeting template"
      security: [{bearer: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object}
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/business/greeting/preview:
    post:
      summary: "Render a template with encoding and segments"
      security: [{bearer: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object}
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/business/hours:
    get:
      summary: "Weekly hours, upcoming closures, open now"
      security: [{bearer: []}]
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
    put:
      summary: "Replace the weekly hours"
      security: [{bearer: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object}
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/calls:
    get:
      summary: "Latest calls with their text decision"
      security: [{bearer: []}]
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/conversations:
    get:
      summary: "Conversations, filtered and paged"
      security: [{bearer: []}]
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/conversations/{id}:
    get:
      summary: "A conversation and its messages"
      security: [{bearer: []}]
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/conversations/{id}/messages:
    post:
      summary: "Send a text as the business"
      security: [{bearer: []}]
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object}
      responses:
        '201':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/conversations/{id}/release:
    post:
      summary: "Hand the conversation back"
      security: [{bearer: []}]
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/conversations/{id}/takeover:
    post:
      summary: "Take the conversation over (the AI goes silent)"
      security: [{bearer: []}]
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/events:
    get:
      summary: "Events after a given id (resume)"
      security: [{bearer: []}]
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/jobs/{id}:
    get:
      summary: "Poll a job"
      security: [{bearer: []}]
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/leads:
    get:
      summary: "Leads by status, paged"
      security: [{bearer: []}]
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/leads/{id}:
    patch:
      summary: "Change a lead's status"
      description: "Any status; lost needs a reason, won may have one (other statuses clear it)."
      security: [{bearer: []}]
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [status]
              properties:
                status: {type: string, enum: [new, contacted, qualified, appointment_scheduled, won, lost, out_of_area]}
                reason: {type: string, maxLength: 500}
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/me:
    get:
      summary: "The logged-in user"
      security: [{bearer: []}]
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
    patch:
      summary: "Update the logged-in user's name and preferences"
      security: [{bearer: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object}
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/openapi.yaml:
    get:
      summary: "This document"
      security: []
      responses:
        '200':
          description: Success.
          content:
            application/yaml:
              schema: {type: string}
        default: {$ref: '#/components/responses/Error'}
  /api/phone-numbers:
    get:
      summary: "The business's Twilio numbers"
      security: [{bearer: []}]
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
    post:
      summary: "Buy a number (a job)"
      security: [{bearer: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object}
      responses:
        '202':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/phone-numbers/search:
    post:
      summary: "Search numbers by area code (a job)"
      security: [{bearer: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object}
      responses:
        '202':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/realtime:
    get:
      summary: "The live feed's WebSocket URL and protocol"
      security: [{bearer: []}]
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/sandbox/customer-reply:
    post:
      summary: "Sandbox mode only: rehearse a customer's text to your number"
      description: "Runs the same code as Twilio's SMS webhook. 409 sandbox_only when Twilio is configured, 409 no_phone_number before the business has a number."
      security: [{bearer: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [body]
              properties:
                from: {type: string, description: "The customer's phone (default +15125550142)"}
                body: {type: string, maxLength: 1600}
      responses:
        '202':
          description: "Accepted: {message_sid, from, to}."
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/sandbox/missed-call:
    post:
      summary: "Sandbox mode only: rehearse an unanswered call to your number"
      description: "Runs the same code as Twilio's voice webhooks (the <Dial> ends no-answer when the owner would have been rung): greeting text, lead, conversation, events. 409 sandbox_only when Twilio is configured, 409 no_phone_number before the business has a number."
      security: [{bearer: []}]
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties:
                from: {type: string, description: "The caller's phone (default +15125550142)"}
      responses:
        '202':
          description: "Accepted: {call_sid, from, to, call}."
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/status:
    get:
      summary: "System status for the status page"
      security: [{bearer: []}]
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /api/trade-types:
    get:
      summary: "List the trades a business can choose"
      security: []
      responses:
        '200':
          description: Success.
          content:
            application/json:
              schema: {type: object}
        default: {$ref: '#/components/responses/Error'}
  /webhooks/twilio/sms:
    post:
      summary: "Twilio: an incoming text"
      security: [{twilioSignature: []}]
      requestBody:
        required: true
        content:
          application/x-www-form-urlencoded:
            schema: {type: object, additionalProperties: {type: string}}
      responses:
        '200': {$ref: '#/components/responses/TwiML'}
        '400': {$ref: '#/components/responses/Error'}
        '403': {$ref: '#/components/responses/Error'}
  /webhooks/twilio/sms/status:
    post:
      summary: "Twilio: outbound message status callback"
      security: [{twilioSignature: []}]
      requestBody:
        required: true
        content:
          application/x-www-form-urlencoded:
            schema: {type: object, additionalProperties: {type: string}}
      responses:
        '200': {$ref: '#/components/responses/TwiML'}
        '400': {$ref: '#/components/responses/Error'}
        '403': {$ref: '#/components/responses/Error'}
  /webhooks/twilio/voice:
    post:
      summary: "Twilio: an incoming call"
      security: [{twilioSignature: []}]
      requestBody:
        required: true
        content:
          application/x-www-form-urlencoded:
            schema: {type: object, additionalProperties: {type: string}}
      responses:
        '200': {$ref: '#/components/responses/TwiML'}
        '400': {$ref: '#/components/responses/Error'}
        '403': {$ref: '#/components/responses/Error'}
  /webhooks/twilio/voice/dial:
    post:
      summary: "Twilio: the forwarded call ended (Dial action)"
      security: [{twilioSignature: []}]
      requestBody:
        required: true
        content:
          application/x-www-form-urlencoded:
            schema: {type: object, additionalProperties: {type: string}}
      responses:
        '200': {$ref: '#/components/responses/TwiML'}
        '400': {$ref: '#/components/responses/Error'}
        '403': {$ref: '#/components/responses/Error'}
  /webhooks/twilio/voice/status:
    post:
      summary: "Twilio: call status callback"
      security: [{twilioSignature: []}]
      requestBody:
        required: true
        content:
          application/x-www-form-urlencoded:
            schema: {type: object, additionalProperties: {type: string}}
      responses:
        '200': {$ref: '#/components/responses/TwiML'}
        '400': {$ref: '#/components/responses/Error'}
        '403': {$ref: '#/components/responses/Error'}
$nmc_openapi$::text $nmc_fn$;
COMMENT ON FUNCTION nmc.openapi_document() IS 'The text of docs/openapi.yaml.';
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

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA nmc FROM PUBLIC;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA nmc_api FROM PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA nmc TO nmc_api, nmc_auth;
-- Policies call these as whoever queries the table, the owner included.
GRANT EXECUTE ON FUNCTION nmc.current_business_id(), nmc.current_user_id() TO nmc_owner;
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
ALTER FUNCTION nmc.webhook_tenant(text) OWNER TO nmc_auth;
ALTER FUNCTION nmc.phone_number_available(text) OWNER TO nmc_auth;
GRANT USAGE ON SCHEMA nmc TO nmc_monitor;
GRANT SELECT ON nmc.jobs, nmc.job_attempts, nmc.job_kinds, nmc.settings TO nmc_monitor;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA nmc TO nmc_monitor;
ALTER FUNCTION nmc.system_health() OWNER TO nmc_monitor;
ALTER FUNCTION nmc.provider_stats_5m() OWNER TO nmc_monitor;
ALTER FUNCTION nmc_api.metrics() OWNER TO nmc_monitor;
-- nmc_monitor owns nmc_api.metrics (a definer function), so it needs the schema too.
GRANT USAGE ON SCHEMA nmc_api TO nmc_monitor;
