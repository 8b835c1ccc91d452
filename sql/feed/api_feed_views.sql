-- api_feed_views.sql — the lists the dashboard shows: conversations (keyset
-- pagination, filters by state and mode) and leads (by status, with the call's
-- text decision). Lists are newest first; `before` is the cursor a page returns.
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
