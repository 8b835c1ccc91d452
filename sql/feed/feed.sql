-- feed.sql — reading the event feed: after an event number over HTTP, and the
-- two functions the edge's WebSocket relay calls: ws_hello (a client's first
-- message: token and the last event it saw) and ws_events (events of a
-- business after a number, as ready-to-send frames).
CREATE FUNCTION nmc.event_frame(e nmc.events)
RETURNS text
LANGUAGE sql STABLE
AS $$ SELECT jsonb_build_object('id', e.seq, 'type', e.type, 'created_at', e.created_at, 'data', e.body)::text $$;
COMMENT ON FUNCTION nmc.event_frame(nmc.events) IS 'An event as the dashboard receives it: {id, type, created_at, data}.';

CREATE FUNCTION nmc.api_events_list(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    after_seq bigint := 0;
    max_events int := 100;
BEGIN
    IF req #>> '{query,after}' IS NOT NULL THEN
        IF req #>> '{query,after}' !~ '^[0-9]{1,18}$' THEN
            PERFORM nmc.raise_api_error(400, 'invalid_field', 'after must be an event id', 'after');
        END IF;
        after_seq := (req #>> '{query,after}')::bigint;
    END IF;
    IF req #>> '{query,limit}' IS NOT NULL THEN
        IF req #>> '{query,limit}' !~ '^[0-9]{1,4}$' OR (req #>> '{query,limit}')::int NOT BETWEEN 1 AND 1000 THEN
            PERFORM nmc.raise_api_error(400, 'invalid_field', 'limit must be 1 to 1000', 'limit');
        END IF;
        max_events := (req #>> '{query,limit}')::int;
    END IF;
    RETURN nmc.respond(200, jsonb_build_object(
        'events', coalesce((SELECT jsonb_agg(nmc.event_frame(e)::jsonb ORDER BY e.seq)
                              FROM (SELECT * FROM nmc.events WHERE business_id = nmc.current_business_id() AND seq > after_seq
                                     ORDER BY seq LIMIT max_events) e), '[]'),
        'last_event_id', coalesce((SELECT last_seq FROM nmc.event_counters WHERE business_id = nmc.current_business_id()), 0)));
END
$$;
COMMENT ON FUNCTION nmc.api_events_list(jsonb) IS 'GET /api/events?after=N&limit=M: the business''s events after number N, in order, and the latest number.';

CREATE FUNCTION nmc.api_realtime(req jsonb)
RETURNS nmc.http_response
LANGUAGE sql STABLE
AS $$
    SELECT nmc.respond(200, jsonb_build_object('ws_url', nmc.setting('public_ws_url'),
        'protocol', 'Send {"token": "<JWT>", "last_event_id": <last id seen, or null>} as the first message; then receive events as {id, type, created_at, data}.'))
$$;
COMMENT ON FUNCTION nmc.api_realtime(jsonb) IS 'GET /api/realtime: where the live feed''s WebSocket is and how to speak to it.';

CREATE FUNCTION nmc_api.ws_hello(hello text, OUT business_id uuid, OUT resume_after bigint, OUT error_code text, OUT error_message text)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = nmc, public, pg_temp
AS $$
DECLARE
    msg jsonb;
    u nmc.users;
    newest bigint;
    oldest bigint;
    asked bigint;
BEGIN
    BEGIN
        msg := hello::jsonb;
    EXCEPTION WHEN OTHERS THEN
        msg := NULL;
    END;
    IF jsonb_typeof(msg) IS DISTINCT FROM 'object' OR jsonb_typeof(msg -> 'token') IS DISTINCT FROM 'string' THEN
        error_code := 'bad_hello';
        error_message := 'the first message must be {"token": "<JWT>", "last_event_id": <number or null>}';
        RETURN;
    END IF;
    BEGIN
        u := nmc.authenticate(jsonb_build_object('authorization', 'Bearer ' || (msg ->> 'token')));
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS error_code = PG_EXCEPTION_DETAIL, error_message = MESSAGE_TEXT;
        IF SQLSTATE !~ '^NM' THEN
            RAISE;
        END IF;
        RETURN;
    END;
    business_id := u.business_id;
    newest := coalesce((SELECT c.last_seq FROM nmc.event_counters c WHERE c.business_id = u.business_id), 0);
    IF msg -> 'last_event_id' IS NULL OR jsonb_typeof(msg -> 'last_event_id') = 'null' THEN
        resume_after := newest;
        RETURN;
    END IF;
    IF jsonb_typeof(msg -> 'last_event_id') <> 'number' OR (msg ->> 'last_event_id') !~ '^[0-9]{1,18}$' THEN
        error_code := 'bad_hello';
        error_message := 'last_event_id must be a whole number or null';
        business_id := NULL;
        RETURN;
    END IF;
    asked := (msg ->> 'last_event_id')::bigint;
    oldest := (SELECT min(e.seq) FROM nmc.events e WHERE e.business_id = u.business_id);
    IF asked > newest OR (oldest IS NOT NULL AND asked < oldest - 1) OR (oldest IS NULL AND asked < newest) THEN
        -- Events the client missed are gone (retention), or it saw ids we never gave: start over.
        error_code := 'resync';
        error_message := 'the events after this id are no longer available; reload and reconnect';
        business_id := NULL;
        RETURN;
    END IF;
    resume_after := asked;
END
$$;
COMMENT ON FUNCTION nmc_api.ws_hello(text) IS
    'WebSocket relay: checks a client''s first message {"token", "last_event_id"}. Returns its business and the id to replay after (the latest, if none was given), or error_code (a JWT refusal code, bad_hello, or resync when the events it missed were deleted).';

CREATE FUNCTION nmc_api.ws_events(p_business_id uuid, after_seq bigint, max_events int)
RETURNS TABLE (seq bigint, frame text)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = nmc, public, pg_temp
AS $$
BEGIN
    -- The relay is trusted to send these only to sockets that authenticated
    -- as this business (ws_hello); the feed's tenancy is enforced there.
    PERFORM set_config('nmc.business_id', p_business_id::text, true);
    RETURN QUERY SELECT e.seq, nmc.event_frame(e) FROM nmc.events e
                  WHERE e.business_id = p_business_id AND e.seq > after_seq
                  ORDER BY e.seq LIMIT least(greatest(max_events, 1), 10000);
END
$$;
COMMENT ON FUNCTION nmc_api.ws_events(uuid, bigint, int) IS 'WebSocket relay: up to max_events events of a business after an id, in order, as frames ready to send.';

CREATE FUNCTION nmc_api.ws_events_many(p_business_ids uuid[], after_seqs bigint[], max_events int)
RETURNS TABLE (business_id uuid, seq bigint, frame text)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = nmc, public, pg_temp
AS $$
DECLARE
    i int;
BEGIN
    -- nmc_api.ws_events for several businesses in one round trip (the relay
    -- reads every business notified since its last look at once), each under
    -- its own tenant setting; rows come business by business, in array order.
    FOR i IN 1 .. coalesce(cardinality(p_business_ids), 0) LOOP
        PERFORM set_config('nmc.business_id', p_business_ids[i]::text, true);
        RETURN QUERY SELECT e.business_id, e.seq, nmc.event_frame(e) FROM nmc.events e
                      WHERE e.business_id = p_business_ids[i] AND e.seq > after_seqs[i]
                      ORDER BY e.seq LIMIT least(greatest(max_events, 1), 10000);
    END LOOP;
END
$$;
COMMENT ON FUNCTION nmc_api.ws_events_many(uuid[], bigint[], int) IS 'WebSocket relay: nmc_api.ws_events for several businesses at once (element k of each array is one business and the id after which to read); up to max_events per business, business by business in array order, each in seq order.';
