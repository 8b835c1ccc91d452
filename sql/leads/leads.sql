-- leads.sql — every missed call becomes a tracked lead: one active lead per
-- customer at a time, touched by repeat calls, moved along its statuses in
-- one function.
CREATE FUNCTION nmc.lead_statuses()
RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT ARRAY['new', 'contacted', 'qualified', 'appointment_scheduled', 'won', 'lost', 'out_of_area'] $$;
COMMENT ON FUNCTION nmc.lead_statuses() IS 'A lead''s statuses, the one list (the domain nmc.lead_status checks it, GET /api/meta serves it): first its progress new → contacted → qualified → appointment_scheduled (active), then its ends.';
CREATE DOMAIN nmc.lead_status AS text CHECK (VALUE = ANY (nmc.lead_statuses()));
COMMENT ON DOMAIN nmc.lead_status IS 'A status of nmc.lead_statuses(); moved only by nmc.lead_transition.';

CREATE TABLE nmc.leads (
    id               uuid NOT NULL DEFAULT gen_random_uuid(),
    business_id      uuid NOT NULL REFERENCES nmc.businesses (id) ON DELETE CASCADE,
    customer_id      uuid NOT NULL,
    status           nmc.lead_status NOT NULL DEFAULT 'new',
    calls_count      int NOT NULL DEFAULT 1,
    delivery_error   text,
    last_activity_at timestamptz NOT NULL DEFAULT now(),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    -- Since 0.2.0: what the assistant (or intake engine) captured, and why a lead was won or lost.
    service_address  text CHECK (length(service_address) <= 300),
    problem          text CHECK (length(problem) <= 1000),
    urgency          text CHECK (urgency IN ('normal', 'urgent', 'emergency')),
    status_reason    text CHECK (length(status_reason) <= 500),
    PRIMARY KEY (business_id, id),
    FOREIGN KEY (business_id, customer_id) REFERENCES nmc.customers (business_id, id) ON DELETE CASCADE
);
COMMENT ON TABLE nmc.leads IS 'A prospective job from a missed call. Active while new, contacted, qualified or appointment_scheduled; delivery_error shows when our text could not be delivered.';
CREATE INDEX leads_id ON nmc.leads (id);
CREATE UNIQUE INDEX leads_one_active_per_customer ON nmc.leads (business_id, customer_id)
    WHERE status IN ('new', 'contacted', 'qualified', 'appointment_scheduled');
CREATE TRIGGER leads_touch BEFORE UPDATE ON nmc.leads FOR EACH ROW EXECUTE FUNCTION nmc.touch_updated_at();
ALTER TABLE nmc.leads ENABLE ROW LEVEL SECURITY;
ALTER TABLE nmc.leads FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON nmc.leads
    USING (business_id = nmc.current_business_id())
    WITH CHECK (business_id = nmc.current_business_id());

CREATE FUNCTION nmc.lead_json(l nmc.leads)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$ SELECT jsonb_build_object('id', l.id, 'customer_id', l.customer_id, 'status', l.status, 'calls_count', l.calls_count,
                                'delivery_error', l.delivery_error, 'service_address', l.service_address, 'problem', l.problem,
                                'urgency', l.urgency, 'status_reason', l.status_reason,
                                'last_activity_at', l.last_activity_at, 'created_at', l.created_at) $$;
COMMENT ON FUNCTION nmc.lead_json(nmc.leads) IS 'The API and event representation of a lead.';

CREATE FUNCTION nmc.active_lead(p_business_id uuid, p_customer_id uuid)
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

CREATE FUNCTION nmc.leads_for_calls(p_business_ids uuid[], p_customer_ids uuid[])
RETURNS nmc.leads[]
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    r nmc.leads[];
    ev_b uuid[];
    ev_t text[];
    ev_body jsonb[];
BEGIN
    -- Element k is one call of a customer: a customer called n times moves its
    -- active lead by n at once (or gets a new one counting n), and each call's
    -- lead.updated shows the count as of that call, as if applied one by one.
    WITH x AS (
        SELECT u.b, u.c, u.i, row_number() OVER (PARTITION BY u.b, u.c ORDER BY u.i) AS j, count(*) OVER (PARTITION BY u.b, u.c) AS n
          FROM unnest(p_business_ids, p_customer_ids) WITH ORDINALITY AS u(b, c, i)
    ), g AS (
        SELECT DISTINCT x.b, x.c, x.n FROM x
    ), touched AS (
        UPDATE nmc.leads l SET calls_count = l.calls_count + g.n, last_activity_at = now()
          FROM g
         WHERE l.business_id = g.b AND l.customer_id = g.c AND l.status IN ('new', 'contacted', 'qualified', 'appointment_scheduled')
        RETURNING l.*
    ), created AS (
        INSERT INTO nmc.leads (business_id, customer_id, calls_count)
        SELECT g.b, g.c, g.n FROM g
         WHERE NOT EXISTS (SELECT 1 FROM touched t WHERE t.business_id = g.b AND t.customer_id = g.c)
         ORDER BY g.b, g.c
        RETURNING *
    ), l AS (
        SELECT * FROM touched UNION ALL SELECT * FROM created
    )
    SELECT array_agg(l::nmc.leads ORDER BY x.i), array_agg(l.business_id ORDER BY x.i), array_agg('lead.updated'::text ORDER BY x.i),
           array_agg(nmc.lead_json(l::nmc.leads) || jsonb_build_object('calls_count', l.calls_count - x.n + x.j,
                                                                      'customer', nmc.customer_brief(l.customer_id)) ORDER BY x.i)
      INTO r, ev_b, ev_t, ev_body
      FROM x JOIN l ON l.business_id = x.b AND l.customer_id = x.c;
    PERFORM nmc.emit_events(ev_b, ev_t, ev_body);
    RETURN r;
END
$$;
COMMENT ON FUNCTION nmc.leads_for_calls(uuid[], uuid[]) IS 'For calls of customers (element k of each array is one call), each customer''s active lead, touched (calls_count by its calls, last activity), or a new lead (status new, counting its calls), in call order; emits lead.updated for each call with the count as of that call. The one place a call touches a lead (nmc.lead_for_call is it for one).';

CREATE FUNCTION nmc.lead_for_call(p_business_id uuid, p_customer_id uuid)
RETURNS nmc.leads
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN (nmc.leads_for_calls(ARRAY[p_business_id], ARRAY[p_customer_id]))[1];
END
$$;
COMMENT ON FUNCTION nmc.lead_for_call(uuid, uuid) IS 'The customer''s active lead, touched (calls_count, last activity), or a new lead (status new); emits lead.updated (nmc.leads_for_calls for one call).';

CREATE FUNCTION nmc.lead_transition_allowed(p_from text, p_to text, p_by text)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT p_by = 'owner' OR NOT (p_to = ANY (progress) AND p_from = ANY (progress))
           OR array_position(progress, p_to) > array_position(progress, p_from)
      FROM (SELECT (nmc.lead_statuses())[1:4]) AS x(progress)
$$;
COMMENT ON FUNCTION nmc.lead_transition_allowed(text, text, text) IS 'A lead''s allowed moves, the one place: the owner (p_by owner) may set any status, backwards too (a lead marked lost by mistake); automatic progress (p_by system) only moves forward along new → contacted → qualified → appointment_scheduled, and won, lost, out_of_area are reached from any status.';

CREATE FUNCTION nmc.lead_transition(p_lead_id uuid, p_status text, p_by text DEFAULT 'system', p_reason text DEFAULT NULL)
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

CREATE FUNCTION nmc.lead_text_not_delivered(m nmc.messages)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    l nmc.leads;
BEGIN
    UPDATE nmc.leads SET delivery_error = coalesce(m.error_message, 'not delivered')
     WHERE id = (SELECT lead_id FROM nmc.conversations WHERE id = m.conversation_id)
    RETURNING * INTO l;
    IF FOUND THEN
        PERFORM nmc.emit_event(l.business_id, 'lead.updated', nmc.lead_json(l));
        PERFORM nmc.owner_alert(b, c, 'undelivered', format('Our text to %s did not arrive (%s). %s',
                    nmc.owner_alert_who(c), coalesce(m.error_message, 'not delivered'), nmc.owner_alert_link(c)))
          FROM nmc.businesses b, nmc.conversations c WHERE b.id = m.business_id AND c.id = m.conversation_id;
    END IF;
END
$$;
COMMENT ON FUNCTION nmc.lead_text_not_delivered(nmc.messages) IS 'Our text in a lead''s conversation did not reach the customer (Twilio reported it undelivered or failed, the send failed for good, or it was too late to send after an outage): the lead shows why (delivery_error), lead.updated, and the owner''s phone is told (kind undelivered).';

CREATE FUNCTION nmc.api_lead_patch(req jsonb)
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
