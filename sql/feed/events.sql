-- events.sql — the append-only feed of what happened, numbered per business
-- in commit order (a counter row per business, updated in the same
-- transaction, serialises a business's commits), notified at commit. The
-- dashboard replays it after the last number it saw.
CREATE TABLE nmc.event_counters (
    business_id uuid PRIMARY KEY REFERENCES nmc.businesses (id) ON DELETE CASCADE,
    last_seq    bigint NOT NULL DEFAULT 0
);
COMMENT ON TABLE nmc.event_counters IS 'The last event number of each business.';
ALTER TABLE nmc.event_counters ENABLE ROW LEVEL SECURITY;
ALTER TABLE nmc.event_counters FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON nmc.event_counters
    USING (business_id = nmc.current_business_id())
    WITH CHECK (business_id = nmc.current_business_id());

CREATE TABLE nmc.events (
    -- No foreign key (checking one per event cost a quarter of threading a text):
    -- an event is written with its business's counter row, which has one, and
    -- leaves with it (trigger below).
    business_id uuid NOT NULL,
    seq         bigint NOT NULL,
    type        text NOT NULL CHECK (type ~ '^[a-z_]+\.[a-z_]+$'),
    body        jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (business_id, seq)
);
COMMENT ON TABLE nmc.events IS 'What happened, per business, numbered 1, 2, 3… in commit order. Bodies are small: ids and changed fields, never whole threads.';
CREATE INDEX events_created ON nmc.events (created_at);
ALTER TABLE nmc.events ENABLE ROW LEVEL SECURITY;
ALTER TABLE nmc.events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON nmc.events
    USING (business_id = nmc.current_business_id())
    WITH CHECK (business_id = nmc.current_business_id());

CREATE FUNCTION nmc.events_of_gone_counters()
RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    b uuid;
    tenant text := current_setting('nmc.business_id', true);
BEGIN
    -- Each business's events under its own tenant setting, so row-level
    -- security lets whoever deleted the business delete them too.
    FOR b IN SELECT business_id FROM gone LOOP
        PERFORM set_config('nmc.business_id', b::text, true);
        DELETE FROM nmc.events WHERE business_id = b;
    END LOOP;
    PERFORM set_config('nmc.business_id', coalesce(tenant, ''), true);
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION nmc.events_of_gone_counters() IS 'Trigger: the events of businesses whose counter row is deleted (with the business, by its foreign key''s cascade) are deleted too.';
CREATE TRIGGER event_counters_gone AFTER DELETE ON nmc.event_counters
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION nmc.events_of_gone_counters();

CREATE FUNCTION nmc.events_truncated_with_counters()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    TRUNCATE nmc.events;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION nmc.events_truncated_with_counters() IS 'Trigger: TRUNCATE of the counters (TRUNCATE nmc.businesses CASCADE reaches them) empties the events too, as the cascade of a foreign key would.';
CREATE TRIGGER event_counters_truncated AFTER TRUNCATE ON nmc.event_counters
    FOR EACH STATEMENT EXECUTE FUNCTION nmc.events_truncated_with_counters();

CREATE FUNCTION nmc.emit_event(p_business_id uuid, p_type text, p_body jsonb)
RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
    n bigint;
BEGIN
    IF current_setting('nmc.events_deferred', true) = 'on' THEN
        -- Inside an inbox batch: numbered with the batch's others when it ends.
        INSERT INTO pg_temp.nmc_deferred_events (business_id, type, body) VALUES (p_business_id, p_type, p_body);
        RETURN NULL;
    END IF;
    -- UPDATE first: the counter row exists for all but a business's first event.
    UPDATE nmc.event_counters SET last_seq = last_seq + 1 WHERE business_id = p_business_id RETURNING last_seq INTO n;
    IF NOT FOUND THEN
        INSERT INTO nmc.event_counters AS c (business_id, last_seq) VALUES (p_business_id, 1)
        ON CONFLICT (business_id) DO UPDATE SET last_seq = c.last_seq + 1
        RETURNING last_seq INTO n;
    END IF;
    INSERT INTO nmc.events (business_id, seq, type, body) VALUES (p_business_id, n, p_type, p_body);
    -- One notification per business per transaction: Postgres folds equal payloads.
    PERFORM pg_notify('nmc_events', p_business_id::text);
    RETURN n;
END
$$;
COMMENT ON FUNCTION nmc.emit_event(uuid, text, jsonb) IS 'Appends an event for a business in the current transaction and notifies channel nmc_events (payload: the business id) at commit. Returns its number (NULL inside an inbox batch, where nmc.emit_deferred_events numbers it when the batch ends).';

CREATE FUNCTION nmc.emit_events(p_business_ids uuid[], p_types text[], p_bodies jsonb[])
RETURNS void
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    IF coalesce(cardinality(p_business_ids), 0) = 0 THEN
        RETURN;
    END IF;
    IF current_setting('nmc.events_deferred', true) = 'on' THEN
        INSERT INTO pg_temp.nmc_deferred_events (business_id, type, body)
        SELECT u.b, u.t, u.body FROM unnest(p_business_ids, p_types, p_bodies) WITH ORDINALITY AS u(b, t, body, ord) ORDER BY u.ord;
        RETURN;
    END IF;
    -- Each business's counter moves once by its number of events; they take the
    -- numbers after its old value in array order.
    WITH e AS (
        SELECT u.b, u.t, u.body, u.ord,
               row_number() OVER (PARTITION BY u.b ORDER BY u.ord) AS k, count(*) OVER (PARTITION BY u.b) AS n
          FROM unnest(p_business_ids, p_types, p_bodies) WITH ORDINALITY AS u(b, t, body, ord)
    ), counters AS (
        -- In business order: two transactions that move several counters never
        -- wait on each other crosswise.
        INSERT INTO nmc.event_counters AS c (business_id, last_seq)
        SELECT DISTINCT e.b, e.n FROM e ORDER BY e.b
        ON CONFLICT (business_id) DO UPDATE SET last_seq = c.last_seq + excluded.last_seq
        RETURNING c.business_id, c.last_seq
    )
    INSERT INTO nmc.events (business_id, seq, type, body)
    SELECT e.b, counters.last_seq - e.n + e.k, e.t, e.body
      FROM e JOIN counters ON counters.business_id = e.b
     ORDER BY e.ord;
    PERFORM pg_notify('nmc_events', d.b::text) FROM (SELECT DISTINCT u.b FROM unnest(p_business_ids) AS u(b)) d;
END
$$;
COMMENT ON FUNCTION nmc.emit_events(uuid[], text[], jsonb[]) IS 'nmc.emit_event for many events at once (element k of each array is one event), numbered per business in array order; one notification per business.';

-- An inbox batch applies hundreds of webhooks in one transaction, often for
-- one business: numbering each event as it comes would update that business's
-- counter row hundreds of times (each update a new row version the next must
-- walk past). The batch keeps its events in order instead and numbers them at
-- its end, moving each counter once.
CREATE FUNCTION nmc.defer_events()
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    IF to_regclass('pg_temp.nmc_deferred_events') IS NULL THEN
        CREATE TEMP TABLE nmc_deferred_events (
            ord         bigint GENERATED ALWAYS AS IDENTITY,
            business_id uuid NOT NULL,
            type        text NOT NULL,
            body        jsonb NOT NULL
        ) ON COMMIT DELETE ROWS;
    END IF;
    PERFORM set_config('nmc.events_deferred', 'on', true);
END
$$;
COMMENT ON FUNCTION nmc.defer_events() IS 'From now to the end of the transaction (or nmc.emit_deferred_events), events are kept in order in a temporary table of the session instead of being numbered one by one.';

CREATE FUNCTION nmc.emit_deferred_events()
RETURNS void
LANGUAGE plpgsql
-- The kept events are read whole: a sequential scan is the plan (the inbox
-- batch that calls this plans with sequential scans off, which would make the
-- planner think it costly enough to compile with JIT, tens of milliseconds).
SET enable_seqscan = on
AS $$
DECLARE
    b uuid[];
    t text[];
    bodies jsonb[];
BEGIN
    IF current_setting('nmc.events_deferred', true) IS DISTINCT FROM 'on' THEN
        RETURN;
    END IF;
    PERFORM set_config('nmc.events_deferred', 'off', true);
    SELECT array_agg(e.business_id ORDER BY e.ord), array_agg(e.type ORDER BY e.ord), array_agg(e.body ORDER BY e.ord)
      INTO b, t, bodies
      FROM pg_temp.nmc_deferred_events e;
    DELETE FROM pg_temp.nmc_deferred_events;
    PERFORM nmc.emit_events(b, t, bodies);
END
$$;
COMMENT ON FUNCTION nmc.emit_deferred_events() IS 'Numbers and notifies the events kept since nmc.defer_events, in the order they were emitted (nmc.emit_events: each business''s counter moves once), and stops deferring.';
