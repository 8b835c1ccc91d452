-- api_feed_views.sql — the JSON API the dashboard lists things with:
-- conversations (keyset pagination, filters by state and mode), leads (by
-- status, with the call's text decision; change status), calls, and the
-- status page. Lists are newest first; `before` is the cursor a page returns.
CREATE FUNCTION nmc.page_args(req jsonb, OUT before_at timestamptz, OUT before_id uuid, OUT page_size int)
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    cursor_text text := req #>> '{query,before}';
BEGIN
    page_size := 50;
    IF req #>> '{query,limit}' IS NOT NULL THEN
        IF req #>> '{query,limit}' !~ '^[0-9]{1,3}$' OR (req #>> '{query,limit}')::int NOT BETWEEN 1 AND 200 THEN
            PERFORM nmc.raise_api_error(400, 'invalid_field', 'limit must be 1 to 200', 'limit');
        END IF;
        page_size := (req #>> '{query,limit}')::int;
    END IF;
    IF cursor_text IS NOT NULL THEN
        BEGIN
            before_at := split_part(convert_from(decode(cursor_text, 'base64'), 'UTF8'), '|', 1)::timestamptz;
            before_id := split_part(convert_from(decode(cursor_text, 'base64'), 'UTF8'), '|', 2)::uuid;
        EXCEPTION WHEN OTHERS THEN
            PERFORM nmc.raise_api_error(400, 'invalid_field', 'before must be a cursor returned by a previous page', 'before');
        END;
    END IF;
END
$$;
COMMENT ON FUNCTION nmc.page_args(jsonb) IS 'Keyset pagination arguments from ?limit=&before=<cursor>: the cursor encodes the (timestamp, id) of the last row of the previous page.';

CREATE FUNCTION nmc.page_cursor(at timestamptz, id uuid)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$ SELECT CASE WHEN at IS NULL THEN NULL ELSE encode(convert_to(at::text || '|' || id::text, 'UTF8'), 'base64') END $$;
COMMENT ON FUNCTION nmc.page_cursor(timestamptz, uuid) IS 'The cursor for the page after a row with this (timestamp, id).';

CREATE FUNCTION nmc.api_conversations_list(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    p record := nmc.page_args(req);
    f_state text := req #>> '{query,state}';
    f_mode text := req #>> '{query,mode}';
    rows jsonb;
    last_at timestamptz;
    last_id uuid;
    n int;
BEGIN
    IF f_state IS NOT NULL AND f_state NOT IN ('open', 'closed') THEN
        PERFORM nmc.raise_api_error(400, 'invalid_field', 'state must be open or closed', 'state');
    END IF;
    IF f_mode IS NOT NULL AND f_mode NOT IN ('waiting', 'human_window', 'ai', 'human') THEN
        PERFORM nmc.raise_api_error(400, 'invalid_field', 'mode must be waiting, human_window, ai or human', 'mode');
    END IF;
    WITH page AS (
        SELECT c.* FROM nmc.conversations c
         WHERE c.business_id = nmc.current_business_id()
           AND (f_state IS NULL OR c.state = f_state) AND (f_mode IS NULL OR c.mode = f_mode)
           AND (p.before_at IS NULL OR (coalesce(c.last_message_at, c.created_at), c.id) < (p.before_at, p.before_id))
         ORDER BY coalesce(c.last_message_at, c.created_at) DESC, c.id DESC
         LIMIT p.page_size)
    SELECT jsonb_agg(nmc.conversation_json(page::nmc.conversations)
                     || jsonb_build_object('customer', jsonb_build_object('id', cu.id, 'phone', cu.phone, 'name', cu.name),
                                           'last_message', (SELECT jsonb_build_object('body', m.body, 'author', m.author, 'created_at', m.created_at)
                                                              FROM nmc.messages m WHERE m.business_id = page.business_id AND m.conversation_id = page.id
                                                              ORDER BY m.created_at DESC LIMIT 1))
                     ORDER BY coalesce(page.last_message_at, page.created_at) DESC, page.id DESC),
           min(coalesce(page.last_message_at, page.created_at)), count(*)
      INTO rows, last_at, n
      FROM page JOIN nmc.customers cu ON cu.id = page.customer_id;
    IF n = p.page_size THEN
        SELECT x.id INTO last_id FROM jsonb_to_recordset(rows) AS x(id uuid) OFFSET n - 1 LIMIT 1;
    END IF;
    RETURN nmc.respond(200, jsonb_build_object('conversations', coalesce(rows, '[]'),
        'next', CASE WHEN n = p.page_size THEN nmc.page_cursor(last_at, last_id) END));
END
$$;
COMMENT ON FUNCTION nmc.api_conversations_list(jsonb) IS 'GET /api/conversations?state=&mode=&limit=&before=: conversations, most recent activity first, with the customer and last message; next is the cursor of the following page.';

CREATE FUNCTION nmc.api_leads_list(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    p record := nmc.page_args(req);
    f_status text := req #>> '{query,status}';
    rows jsonb;
    n int;
    last_at timestamptz;
    last_id uuid;
BEGIN
    IF f_status IS NOT NULL AND f_status NOT IN ('new', 'contacted', 'qualified', 'appointment_scheduled', 'won', 'lost', 'out_of_area') THEN
        PERFORM nmc.raise_api_error(400, 'invalid_field', 'unknown lead status', 'status');
    END IF;
    WITH page AS (
        SELECT l.* FROM nmc.leads l
         WHERE l.business_id = nmc.current_business_id() AND (f_status IS NULL OR l.status = f_status)
           AND (p.before_at IS NULL OR (l.last_activity_at, l.id) < (p.before_at, p.before_id))
         ORDER BY l.last_activity_at DESC, l.id DESC LIMIT p.page_size)
    SELECT jsonb_agg(nmc.lead_json(page::nmc.leads)
                     || jsonb_build_object('customer', jsonb_build_object('id', cu.id, 'phone', cu.phone, 'name', cu.name),
                                           'last_call', (SELECT jsonb_build_object('id', c.id, 'decision', c.decision, 'decision_reason', c.decision_reason,
                                                                                    'created_at', c.created_at, 'message_id', c.message_id,
                                                                                    'text_status', (SELECT m.status FROM nmc.messages m WHERE m.id = c.message_id))
                                                           FROM nmc.calls c WHERE c.business_id = page.business_id AND c.lead_id = page.id
                                                           ORDER BY c.created_at DESC LIMIT 1))
                     ORDER BY page.last_activity_at DESC, page.id DESC),
           count(*), min(page.last_activity_at)
      INTO rows, n, last_at
      FROM page JOIN nmc.customers cu ON cu.id = page.customer_id;
    IF n = p.page_size THEN
        SELECT x.id INTO last_id FROM jsonb_to_recordset(rows) AS x(id uuid) OFFSET n - 1 LIMIT 1;
    END IF;
    RETURN nmc.respond(200, jsonb_build_object('leads', coalesce(rows, '[]'),
        'next', CASE WHEN n = p.page_size THEN nmc.page_cursor(last_at, last_id) END));
END
$$;
COMMENT ON FUNCTION nmc.api_leads_list(jsonb) IS 'GET /api/leads?status=&limit=&before=: leads, latest activity first, with the customer and the last call''s text decision.';

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

CREATE FUNCTION nmc.api_status(req jsonb)
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

INSERT INTO nmc.api_routes (route_method, route_path, handler, auth, summary) VALUES
    ('GET', '/api/conversations', 'api_conversations_list', 'jwt', 'Conversations, filtered and paged'),
    ('GET', '/api/leads', 'api_leads_list', 'jwt', 'Leads by status, paged'),
    ('PATCH', '/api/leads/{id}', 'api_lead_patch', 'jwt', 'Change a lead''s status'),
    ('GET', '/api/status', 'api_status', 'jwt', 'System status for the status page');
