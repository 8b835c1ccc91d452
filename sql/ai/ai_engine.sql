-- ai_engine.sql — the assistant's turn with an OpenAI-compatible model. A turn
-- is a row (nmc.ai_turns); each model call is an openai.chat job, each tool that
-- needs HTTP (geocoding) a maps.geocode job, linked by parent_id and applied in
-- their own transactions; the turn's step limit counts model calls across them.
-- The model never sends anything itself: replies go through nmc.ai_send_reply
-- (silent after a takeover), bookings are confirmed from the appointment row,
-- and a provider failure hands the conversation to a person, never to silence.
-- Without an OpenAI key, nmc.ai_respond runs the intake engine instead.
CREATE TABLE nmc.ai_turns (
    id              uuid NOT NULL DEFAULT gen_random_uuid(),
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
    PRIMARY KEY (business_id, id),
    FOREIGN KEY (business_id, conversation_id) REFERENCES nmc.conversations (business_id, id) ON DELETE CASCADE
);
COMMENT ON TABLE nmc.ai_turns IS 'One assistant turn (OpenAI engine): status running → replied | booked | handed_off | failed | dropped (a human took over); steps = model calls so far; transcript = the tool calls and results of this turn; pending_tools = tool calls waiting on HTTP; rerun = the customer wrote again meanwhile.';
CREATE INDEX ai_turns_id ON nmc.ai_turns (id);  -- a job's payload names its turn
CREATE UNIQUE INDEX ai_turns_one_running ON nmc.ai_turns (conversation_id, business_id) WHERE status = 'running';
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
- Always answer in the language the customer writes in (in Spanish when they write in Spanish), from the first message to the hand-off.
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
COMMENT ON FUNCTION nmc.ai_system_prompt(nmc.businesses, nmc.conversations) IS 'The model''s instructions for one business and conversation: profile, trade, local time, hours, service area, what is known about the customer, and the rules of the job (answering in the customer''s language among them).';

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
        PERFORM nmc.conversation_handed_over(conv, reason);
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
