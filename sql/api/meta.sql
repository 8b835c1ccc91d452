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
