-- ai_turns_with_tools.sql — the assistant with an OpenAI key: a turn's model
-- calls are openai.chat jobs (children of each other), tool calls run in SQL
-- (details saved on customer and lead, the area checked, open slots found, a
-- slot booked and confirmed from the row), geocoding is a maps.geocode child
-- job, and every failure — takeover, step limit, provider down — ends in a
-- person's hands, never in silence. Model answers are applied the way the
-- dispatcher applies them (nmc.job_apply_success / nmc.job_fail_permanently).
BEGIN;
SELECT plan(53);

SELECT nmc.configure('{"openai_api_key": "sk-test-key", "max_ai_steps": "3"}');
CREATE TEMP TABLE b AS SELECT nmc_test.business_with_number('+15125550700') AS id;
UPDATE nmc.businesses SET service_postal_codes = '{78701}', city = 'Austin' WHERE id = (SELECT id FROM b);

CREATE FUNCTION pg_temp.sms(customer text, body text) RETURNS void LANGUAGE sql AS $$
    SELECT FROM nmc_test.twilio_post('/webhooks/twilio/sms', jsonb_build_object(
        'MessageSid', 'SM' || md5(customer || body || clock_timestamp()::text), 'From', customer, 'To', '+15125550700', 'Body', body)) $$;
CREATE FUNCTION pg_temp.conv(customer text) RETURNS uuid LANGUAGE sql AS $$
    SELECT cv.id FROM nmc.conversations cv JOIN nmc.customers cu ON cu.id = cv.customer_id
     WHERE cu.phone = customer ORDER BY cv.created_at DESC LIMIT 1 $$;
-- The human window runs out.
CREATE FUNCTION pg_temp.window_expires(customer text) RETURNS void LANGUAGE sql AS $$
    UPDATE nmc.timers SET due_at = now() - interval '1 second'
     WHERE subject_id = pg_temp.conv(customer) AND fired_at IS NULL AND cancelled_at IS NULL;
    SELECT nmc.timer_fire(id) FROM nmc.timers WHERE subject_id = pg_temp.conv(customer) AND fired_at IS NULL AND cancelled_at IS NULL $$;
CREATE FUNCTION pg_temp.pending_chat(customer text) RETURNS nmc.jobs LANGUAGE sql AS $$
    SELECT * FROM nmc.jobs WHERE kind = 'openai.chat' AND status = 'queued'
       AND payload ->> 'conversation_id' = pg_temp.conv(customer)::text ORDER BY id DESC LIMIT 1 $$;
-- The model answers the pending step with this assistant message.
CREATE FUNCTION pg_temp.model_says(customer text, message jsonb) RETURNS void LANGUAGE sql AS $$
    SELECT nmc.job_apply_success(pg_temp.pending_chat(customer), (SELECT k FROM nmc.job_kinds k WHERE kind = 'openai.chat'), 200,
        jsonb_build_object('id', 'chatcmpl-test', 'object', 'chat.completion', 'created', 1767225600, 'model', 'gpt-4o-mini',
                           'choices', jsonb_build_array(jsonb_build_object('index', 0, 'message', message || '{"role": "assistant"}',
                                                                             'finish_reason', CASE WHEN message ? 'tool_calls' THEN 'tool_calls' ELSE 'stop' END)),
                           'usage', '{"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}'::jsonb), false) $$;
CREATE FUNCTION pg_temp.tool_call(id text, name text, args jsonb) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_object('id', id, 'type', 'function', 'function', jsonb_build_object('name', name, 'arguments', args::text)) $$;
CREATE FUNCTION pg_temp.turn(customer text) RETURNS nmc.ai_turns LANGUAGE sql AS $$
    SELECT * FROM nmc.ai_turns WHERE conversation_id = pg_temp.conv(customer) ORDER BY created_at DESC LIMIT 1 $$;

-- 1. The window runs out: the turn's first model call is queued with the whole context.
SELECT pg_temp.sms('+15125550701', 'My water heater is leaking everywhere in the garage');
-- (The lead a missed call would have made.)
SELECT nmc.lead_for_call((SELECT id FROM b), (SELECT id FROM nmc.customers WHERE phone = '+15125550701'));
SELECT pg_temp.window_expires('+15125550701');
SELECT is((SELECT mode FROM nmc.conversations WHERE id = pg_temp.conv('+15125550701')), 'ai', 'no reply in the window: AI mode');
SELECT is((pg_temp.turn('+15125550701')).steps, 1, 'a turn starts with one model call');
CREATE TEMP TABLE req AS SELECT (pg_temp.pending_chat('+15125550701')).payload -> 'request' AS r;
SELECT matches((SELECT r #>> '{messages,0,content}' FROM req), 'Test Plumbing \+15125550700, a plumbing business in Austin',
               'the prompt names the business, its trade and city');
SELECT matches((SELECT r #>> '{messages,0,content}' FROM req), 'Service area: ZIP codes 78701', '… and its service area');
SELECT matches((SELECT r #>> '{messages,0,content}' FROM req), 'Business hours: Sun 12:00 AM-midnight', '… and its hours');
SELECT is((SELECT r #>> '{messages,-1,content}' FROM req), 'My water heater is leaking everywhere in the garage',
          'the customer''s text is the last message, as the user');
SELECT is((SELECT array_agg(t #>> '{function,name}' ORDER BY t #>> '{function,name}') FROM req, jsonb_array_elements(r -> 'tools') t),
          ARRAY['book_appointment', 'check_service_area', 'find_open_slots', 'request_human', 'save_customer_details'],
          'the five tools are offered');
SELECT ok((SELECT bool_and((t #>> '{function,strict}')::boolean AND t #> '{function,parameters,additionalProperties}' = 'false')
             FROM req, jsonb_array_elements(r -> 'tools') t), '… with strict JSON schemas');
SELECT is((SELECT r - 'messages' - 'tools' FROM req), '{"tool_choice": "auto", "temperature": 0.3, "max_completion_tokens": 400}'::jsonb,
          'a bounded answer at the configured temperature (the model is added by the job)');

-- 2. Two tools at once: details saved, the area checked (ZIP, no geocoding configured).
SELECT pg_temp.model_says('+15125550701', jsonb_build_object('content', NULL, 'tool_calls', jsonb_build_array(
    pg_temp.tool_call('call_1', 'save_customer_details', '{"name": "Jane Doe", "service_address": "12 Elm St, Austin TX 78701", "problem": "Leaking water heater", "urgency": "urgent"}'),
    pg_temp.tool_call('call_2', 'check_service_area', '{"address": "12 Elm St, Austin TX 78701"}'))));
SELECT is((SELECT name FROM nmc.customers WHERE phone = '+15125550701'), 'Jane Doe', 'save_customer_details: the customer has a name');
SELECT is((SELECT jsonb_build_object('a', service_address, 'p', problem, 'u', urgency, 's', status) FROM nmc.leads l
             JOIN nmc.customers c ON c.id = l.customer_id WHERE c.phone = '+15125550701'),
          '{"a": "12 Elm St, Austin TX 78701", "p": "Leaking water heater", "u": "urgent", "s": "qualified"}'::jsonb,
          '… the lead has the address, problem and urgency, and is qualified (complete, in the area)');
SELECT is((SELECT (payload #>> '{request,messages,-1,content}')::jsonb ->> 'in_area' FROM nmc.jobs WHERE id = (pg_temp.pending_chat('+15125550701')).id),
          'true', 'check_service_area: 78701 is in the area, and the result goes back to the model');
SELECT is((pg_temp.pending_chat('+15125550701')).parent_id,
          (SELECT max(id) FROM nmc.jobs WHERE kind = 'openai.chat' AND status = 'done' AND payload ->> 'conversation_id' = pg_temp.conv('+15125550701')::text),
          'the next model call is a child of the one that asked for the tools');
SELECT is((SELECT array_agg(m ->> 'role') FROM jsonb_array_elements((pg_temp.pending_chat('+15125550701')).payload #> '{request,messages}') WITH ORDINALITY x(m, n) WHERE n > 2),
          ARRAY['assistant', 'tool', 'tool'], 'the transcript: the assistant''s tool calls, then one result per call');

-- 3. Open slots, then a question in words.
SELECT pg_temp.model_says('+15125550701', jsonb_build_object('tool_calls', jsonb_build_array(
    pg_temp.tool_call('call_3', 'find_open_slots', '{"on_or_after": null, "count": 2}'))));
CREATE TEMP TABLE slots AS SELECT (pg_temp.pending_chat('+15125550701')).payload #>> '{request,messages,-1,content}' AS result;
SELECT is((SELECT jsonb_array_length(result::jsonb -> 'slots') FROM slots), 2, 'find_open_slots returns the count asked for');
SELECT pg_temp.model_says('+15125550701', '{"content": "I can come Thursday at 9 AM or 10 AM. Which works?"}');
SELECT matches((SELECT body FROM nmc.messages WHERE conversation_id = pg_temp.conv('+15125550701') AND author = 'ai' ORDER BY created_at DESC LIMIT 1),
               'automated assistant\. I can come Thursday', 'the reply is sent, with the disclosure first');
SELECT is((pg_temp.turn('+15125550701')).status, 'replied', 'the turn ended with a reply');
SELECT is((SELECT count(*) FROM nmc.jobs j JOIN nmc.messages m ON j.payload ->> 'message_id' = m.id::text
            WHERE m.conversation_id = pg_temp.conv('+15125550701') AND m.author = 'ai'), 1::bigint, '… queued for Twilio');

-- 4. The customer picks; the model books; the confirmation comes from the row.
SELECT pg_temp.sms('+15125550701', 'The first one please');
SELECT is((pg_temp.turn('+15125550701')).steps, 1, 'a new text in AI mode starts a new turn at once');
SELECT pg_temp.model_says('+15125550701', jsonb_build_object('tool_calls', jsonb_build_array(
    pg_temp.tool_call('call_4', 'book_appointment', jsonb_build_object('starts_at', (SELECT result::jsonb #>> '{slots,0,starts_at}' FROM slots))))));
CREATE TEMP TABLE appt AS SELECT a.* FROM nmc.appointments a JOIN nmc.customers c ON c.id = a.customer_id WHERE c.phone = '+15125550701';
SELECT is((SELECT count(*) FROM appt), 1::bigint, 'book_appointment books the slot');
SELECT is((SELECT to_char(lower(during) AT TIME ZONE 'America/Chicago', 'YYYY-MM-DD"T"HH24:MI') FROM appt),
          (SELECT result::jsonb #>> '{slots,0,starts_at}' FROM slots), '… the one offered, in the business''s time zone');
SELECT is((SELECT body FROM nmc.messages WHERE conversation_id = pg_temp.conv('+15125550701') AND author = 'ai' ORDER BY created_at DESC LIMIT 1),
          nmc.appointment_confirmation((SELECT id FROM appt)), 'the confirmation text is written from the appointment row');
SELECT is((SELECT state FROM nmc.conversations WHERE id = pg_temp.conv('+15125550701')), 'closed', 'the conversation closes after the booking');
SELECT is((SELECT l.status FROM nmc.leads l JOIN nmc.customers c ON c.id = l.customer_id WHERE c.phone = '+15125550701'),
          'appointment_scheduled', 'the lead moves to appointment_scheduled');
SELECT is((pg_temp.turn('+15125550701')).status, 'booked', 'the turn ended booked, without asking the model again');
SELECT is((SELECT count(*) FROM nmc.jobs WHERE kind = 'openai.chat' AND status = 'queued'), 0::bigint, 'nothing more is asked of the model');

-- 5. Another customer asks for the same slot: refused, the model is told.
SELECT pg_temp.sms('+15125550702', 'Need a plumber, toilet is clogged');
SELECT pg_temp.window_expires('+15125550702');
SELECT pg_temp.model_says('+15125550702', jsonb_build_object('tool_calls', jsonb_build_array(
    pg_temp.tool_call('c1', 'save_customer_details', '{"name": "Bob Ray", "service_address": "3 Oak Ave, Austin 78701", "problem": "Clogged toilet", "urgency": null}'),
    pg_temp.tool_call('c2', 'book_appointment', jsonb_build_object('starts_at', (SELECT result::jsonb #>> '{slots,0,starts_at}' FROM slots))))));
SELECT is((pg_temp.pending_chat('+15125550702')).payload #>> '{request,messages,-1,content}',
          '{"error": "that time is not available; call find_open_slots again", "booked": false}', 'a taken slot is refused and the model is told');
SELECT is((SELECT count(*) FROM nmc.appointments), 1::bigint, '… nothing double-booked');

-- 6. Bad arguments are the model's problem, not ours.
SELECT pg_temp.model_says('+15125550702', jsonb_build_object('tool_calls', jsonb_build_array(
    jsonb_build_object('id', 'c3', 'type', 'function', 'function', jsonb_build_object('name', 'find_open_slots', 'arguments', '{not json')),
    pg_temp.tool_call('c4', 'launch_rocket', '{}'))));
SELECT is((SELECT array_agg(m ->> 'content' ORDER BY n) FROM jsonb_array_elements((pg_temp.pending_chat('+15125550702')).payload #> '{request,messages}') WITH ORDINALITY x(m, n)
            WHERE m ->> 'role' = 'tool' AND m ->> 'tool_call_id' IN ('c3', 'c4')),
          ARRAY['{"error": "the arguments were not valid JSON"}', '{"error": "there is no tool named launch_rocket"}'],
          'invalid JSON and unknown tools get error results');

-- 7. The step limit (3 here) hands the conversation to a person.
SELECT pg_temp.model_says('+15125550702', jsonb_build_object('tool_calls', jsonb_build_array(pg_temp.tool_call('c5', 'find_open_slots', '{"on_or_after": null, "count": 1}'))));
SELECT is((pg_temp.turn('+15125550702')).status, 'failed', 'past max_ai_steps the turn stops');
SELECT is((SELECT mode FROM nmc.conversations WHERE id = pg_temp.conv('+15125550702')), 'human', '… and a person has the conversation');
SELECT matches((SELECT body FROM nmc.messages WHERE conversation_id = pg_temp.conv('+15125550702') AND author = 'ai' ORDER BY created_at DESC LIMIT 1),
               'Someone from Test Plumbing .* will text you shortly', '… the customer is told, not left in silence');
SELECT nmc_test.events_numbered();
SELECT ok(EXISTS (SELECT 1 FROM nmc.events WHERE type = 'conversation.handoff' AND body ->> 'id' = pg_temp.conv('+15125550702')::text
                   AND body ->> 'reason' ~ 'step limit'), '… and the owner gets conversation.handoff');

-- 8. Takeover while the model thinks: its answer is kept, never sent.
SELECT pg_temp.sms('+15125550703', 'Do you fix sprinklers?');
SELECT pg_temp.window_expires('+15125550703');
SELECT nmc.conversation_takeover(pg_temp.conv('+15125550703'));
SELECT pg_temp.model_says('+15125550703', '{"content": "Yes we do! What is your address?"}');
SELECT is((SELECT status FROM nmc.messages WHERE conversation_id = pg_temp.conv('+15125550703') AND author = 'ai'), 'dropped',
          'an answer arriving after the takeover is dropped');
SELECT is((SELECT count(*) FROM nmc.jobs j JOIN nmc.messages m ON j.payload ->> 'message_id' = m.id::text
            WHERE m.conversation_id = pg_temp.conv('+15125550703') AND m.author = 'ai'), 0::bigint, '… never queued for sending');
SELECT is((pg_temp.turn('+15125550703')).status, 'dropped', '… and the turn says why it ended');

-- 9. The provider fails for good (after its retries): a person takes over.
SELECT pg_temp.sms('+15125550704', 'Is anyone there?');
SELECT pg_temp.window_expires('+15125550704');
SELECT nmc.job_fail_permanently(pg_temp.pending_chat('+15125550704'), (SELECT k FROM nmc.job_kinds k WHERE kind = 'openai.chat'),
                                503, 'server_error', 'The server had an error while processing your request');
SELECT is((SELECT mode FROM nmc.conversations WHERE id = pg_temp.conv('+15125550704')), 'human', 'a failed model call hands the conversation to a person');
SELECT matches((SELECT body FROM nmc.messages WHERE conversation_id = pg_temp.conv('+15125550704') AND author = 'ai'),
               'automated assistant\..*Someone from Test Plumbing', '… the customer is told (with the disclosure: it is the assistant speaking)');
SELECT nmc_test.events_numbered();
SELECT ok(EXISTS (SELECT 1 FROM nmc.events WHERE type = 'conversation.handoff' AND body ->> 'reason' ~ 'AI provider failed'
                   AND body ->> 'id' = pg_temp.conv('+15125550704')::text), '… the owner is alerted');

-- 10. With Maps configured the area check geocodes; out of area is marked.
SELECT nmc.configure('{"maps_api_key": "maps-test-key"}');
UPDATE nmc.businesses SET service_postal_codes = NULL, service_radius_km = 20, service_lat = 30.2672, service_lng = -97.7431 WHERE id = (SELECT id FROM b);
SELECT pg_temp.sms('+15125550705', 'Can you fix a burst hose?');
SELECT nmc.lead_for_call((SELECT id FROM b), (SELECT id FROM nmc.customers WHERE phone = '+15125550705'));
SELECT pg_temp.window_expires('+15125550705');
SELECT pg_temp.model_says('+15125550705', jsonb_build_object('tool_calls', jsonb_build_array(
    pg_temp.tool_call('g1', 'check_service_area', '{"address": "100 Main St, Dallas TX"}'))));
CREATE TEMP TABLE geo AS SELECT * FROM nmc.jobs WHERE kind = 'maps.geocode' AND payload ->> 'tool_call_id' = 'g1';
SELECT is((SELECT payload ->> 'address' FROM geo), '100 Main St, Dallas TX', 'check_service_area queues a maps.geocode job');
SELECT is((SELECT parent_id FROM geo), (SELECT max(id) FROM nmc.jobs WHERE kind = 'openai.chat' AND status = 'done'), '… a child of the model call');
SELECT is(pg_temp.pending_chat('+15125550705'), NULL, '… and the model waits for it');
SELECT nmc.job_apply_success((SELECT j FROM nmc.jobs j WHERE id = (SELECT id FROM geo)), (SELECT k FROM nmc.job_kinds k WHERE kind = 'maps.geocode'), 200,
    '{"status": "OK", "results": [{"formatted_address": "100 Main St, Dallas, TX 75202, USA", "partial_match": false,
      "geometry": {"location": {"lat": 32.7767, "lng": -96.7970}, "location_type": "ROOFTOP"},
      "address_components": [{"long_name": "75202", "short_name": "75202", "types": ["postal_code"]}]}]}'::jsonb, false);
SELECT is(((pg_temp.pending_chat('+15125550705')).payload #>> '{request,messages,-1,content}')::jsonb ->> 'in_area', 'false',
          'Dallas is ~290 km away: outside the 20 km radius, and the model is told');
SELECT is((SELECT l.status FROM nmc.leads l JOIN nmc.customers c ON c.id = l.customer_id WHERE c.phone = '+15125550705'),
          'out_of_area', '… the lead is marked out_of_area');
SELECT pg_temp.model_says('+15125550705', jsonb_build_object('tool_calls', jsonb_build_array(
    pg_temp.tool_call('g2', 'check_service_area', '{"address": "1 Congress Ave, Austin TX"}'))));
SELECT nmc.job_fail_permanently((SELECT j FROM nmc.jobs j WHERE kind = 'maps.geocode' AND payload ->> 'tool_call_id' = 'g2'),
                                (SELECT k FROM nmc.job_kinds k WHERE kind = 'maps.geocode'), 200, 'REQUEST_DENIED', 'The provided API key is invalid.');
SELECT matches((pg_temp.pending_chat('+15125550705')).payload #>> '{request,messages,-1,content}', 'could not be checked',
               'a geocoding failure is a tool result the model can act on');

-- 11. A text while a turn runs is answered after it.
SELECT pg_temp.sms('+15125550705', 'Hello?');
SELECT ok((pg_temp.turn('+15125550705')).rerun, 'a text during a running turn marks it to answer again');
SELECT pg_temp.model_says('+15125550705', '{"content": "Sorry, that address is outside our service area."}');
SELECT is((SELECT count(*) FROM nmc.ai_turns WHERE conversation_id = pg_temp.conv('+15125550705')), 2::bigint, '… and a new turn starts when it ends');

-- 12. The model asks for a person.
SELECT pg_temp.sms('+15125550706', 'I want to talk to the owner about my bill');
SELECT pg_temp.window_expires('+15125550706');
SELECT pg_temp.model_says('+15125550706', jsonb_build_object('tool_calls', jsonb_build_array(
    pg_temp.tool_call('h1', 'request_human', '{"reason": "billing question for the owner"}'))));
SELECT is((SELECT mode FROM nmc.conversations WHERE id = pg_temp.conv('+15125550706')), 'human', 'request_human: a person has the conversation');
SELECT nmc_test.events_numbered();
SELECT ok(EXISTS (SELECT 1 FROM nmc.events WHERE type = 'conversation.handoff' AND body ->> 'reason' ~ 'billing question'
                   AND body ->> 'id' = pg_temp.conv('+15125550706')::text), '… the owner is told why');
SELECT is((pg_temp.turn('+15125550706')).status, 'handed_off', '… and the turn ends handed off, nothing more asked of the model');

-- 13. A turn stuck for good (its job cancelled by hand) does not hold the conversation.
SELECT nmc.conversation_release(pg_temp.conv('+15125550706'));
SELECT pg_temp.sms('+15125550706', 'Hello again');
SELECT pg_temp.window_expires('+15125550706');
UPDATE nmc.jobs SET status = 'cancelled' WHERE id = (pg_temp.pending_chat('+15125550706')).id;
SET LOCAL session_replication_role = replica;   -- (so the touch trigger keeps the old time)
UPDATE nmc.ai_turns SET updated_at = now() - interval '1 hour' WHERE conversation_id = pg_temp.conv('+15125550706') AND status = 'running';
SET LOCAL session_replication_role = origin;
SELECT nmc.ai_turn_start(pg_temp.conv('+15125550706'));
SELECT is((SELECT array_agg(status ORDER BY created_at) FROM nmc.ai_turns WHERE conversation_id = pg_temp.conv('+15125550706')),
          ARRAY['handed_off', 'failed', 'running'], 'a stale running turn is given up and a new one starts');

-- 14. A complete lead is qualified only once its address is known to be in the area.
SELECT pg_temp.sms('+15125550707', 'Water heater making noise');
SELECT nmc.lead_for_call((SELECT id FROM b), (SELECT id FROM nmc.customers WHERE phone = '+15125550707'));
SELECT pg_temp.window_expires('+15125550707');
SELECT pg_temp.model_says('+15125550707', jsonb_build_object('tool_calls', jsonb_build_array(
    pg_temp.tool_call('q1', 'save_customer_details', '{"name": "Ana Ruiz", "service_address": "5 Lamar Blvd, Austin TX", "problem": "Noisy water heater", "urgency": "normal"}'))));
SELECT is((SELECT l.status FROM nmc.leads l JOIN nmc.customers c ON c.id = l.customer_id WHERE c.phone = '+15125550707'), 'new',
          'details complete but the area not checked (a radius is set): the lead is not qualified yet');
SELECT pg_temp.model_says('+15125550707', jsonb_build_object('tool_calls', jsonb_build_array(
    pg_temp.tool_call('q2', 'check_service_area', '{"address": "5 Lamar Blvd, Austin TX"}'))));
SELECT nmc.job_apply_success((SELECT j FROM nmc.jobs j WHERE kind = 'maps.geocode' AND payload ->> 'tool_call_id' = 'q2'),
    (SELECT k FROM nmc.job_kinds k WHERE kind = 'maps.geocode'), 200,
    '{"status": "OK", "results": [{"formatted_address": "5 Lamar Blvd, Austin, TX 78703, USA", "geometry": {"location": {"lat": 30.27, "lng": -97.75}, "location_type": "ROOFTOP"}, "address_components": []}]}'::jsonb, false);
SELECT is((SELECT l.status FROM nmc.leads l JOIN nmc.customers c ON c.id = l.customer_id WHERE c.phone = '+15125550707'), 'qualified',
          '… and qualified once the geocoded address is inside the radius');

SELECT * FROM finish();
ROLLBACK;
