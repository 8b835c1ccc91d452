-- events.sql — the append-only feed of what happened, numbered per business.
-- Writers only append to nmc.events_pending (no lock: a business's writers
-- never wait on each other); the events worker (extension/src/event_worker.c)
-- alone numbers them, in batches, through nmc.events_number — so the numbers
-- follow the order the events committed in, without gaps, and it notifies at
-- its commit. The dashboard replays the feed after the last number it saw.
CREATE TABLE nmc.event_counters (
    business_id uuid PRIMARY KEY REFERENCES nmc.businesses (id) ON DELETE CASCADE,
    last_seq    bigint NOT NULL DEFAULT 0
);
COMMENT ON TABLE nmc.event_counters IS 'The last event number of each business (moved by nmc.events_number only).';
ALTER TABLE nmc.event_counters ENABLE ROW LEVEL SECURITY;
ALTER TABLE nmc.event_counters FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON nmc.event_counters
    USING (business_id = nmc.current_business_id())
    WITH CHECK (business_id = nmc.current_business_id());

CREATE TABLE nmc.events (
    -- No foreign key (checking one per event cost a quarter of threading a text):
    -- an event is numbered with its business's counter row, which has one, and
    -- leaves with it (trigger below).
    business_id uuid NOT NULL,
    seq         bigint NOT NULL,
    type        text NOT NULL,   -- its form checked where events are written (nmc.events_pending)
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

CREATE TABLE nmc.events_pending (
    -- No foreign key either: nmc.events_number drops those of a business gone meanwhile.
    id          bigint GENERATED ALWAYS AS IDENTITY,
    business_id uuid NOT NULL,
    type        text NOT NULL CHECK (type ~ '^[a-z_]+\.[a-z_]+$'),
    body        jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (business_id, id)
);
-- The numberer takes them oldest first, across businesses.
CREATE INDEX events_pending_order ON nmc.events_pending (id);
COMMENT ON TABLE nmc.events_pending IS 'Events written and not yet numbered: the events worker moves them to nmc.events (nmc.events_number), usually within milliseconds of their commit.';
ALTER TABLE nmc.events_pending ENABLE ROW LEVEL SECURITY;
ALTER TABLE nmc.events_pending FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON nmc.events_pending
    USING (business_id = nmc.current_business_id())
    WITH CHECK (business_id = nmc.current_business_id());

CREATE FUNCTION nmc.events_wake()
RETURNS void
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'nmc_events_wake';
COMMENT ON FUNCTION nmc.events_wake() IS 'Wakes the events worker when the current transaction commits (nothing happens if it rolls back).';

CREATE FUNCTION nmc.events_process(OUT pid int, OUT heartbeat_at timestamptz)
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'nmc_events_process';
COMMENT ON FUNCTION nmc.events_process() IS 'The events worker''s pid (NULL if not running) and last heartbeat, from shared memory.';

CREATE FUNCTION nmc.events_health(OUT worker_pid int, OUT heartbeat_age interval, OUT pending bigint,
                                  OUT oldest_pending_age interval)
LANGUAGE sql STABLE
AS $$
    SELECT p.pid, greatest(interval '0', clock_timestamp() - p.heartbeat_at),
           (SELECT count(*) FROM nmc.events_pending),
           (SELECT greatest(interval '0', clock_timestamp() - min(created_at)) FROM nmc.events_pending)
      FROM nmc.events_process() p
$$;
COMMENT ON FUNCTION nmc.events_health() IS 'DBA and status page: the events worker''s pid and heartbeat age, events written and not yet numbered (under row-level security: the caller''s business''s), and how long the oldest has waited.';

CREATE FUNCTION nmc.emit_events(p_business_ids uuid[], p_types text[], p_bodies jsonb[])
RETURNS void
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    IF coalesce(cardinality(p_business_ids), 0) = 0 THEN
        RETURN;
    END IF;
    INSERT INTO nmc.events_pending (business_id, type, body)
    SELECT u.b, u.t, u.body FROM unnest(p_business_ids, p_types, p_bodies) WITH ORDINALITY AS u(b, t, body, ord) ORDER BY u.ord;
    PERFORM nmc.events_wake();
END
$$;
COMMENT ON FUNCTION nmc.emit_events(uuid[], text[], jsonb[]) IS 'Appends events (element k of each array is one event) in array order, in the current transaction, to be numbered once it commits: the one way an event is written. Locks nothing a business''s other writers take.';

CREATE FUNCTION nmc.emit_event(p_business_id uuid, p_type text, p_body jsonb)
RETURNS void
LANGUAGE sql
AS $$ SELECT nmc.emit_events(ARRAY[p_business_id], ARRAY[p_type], ARRAY[p_body]) $$;
COMMENT ON FUNCTION nmc.emit_event(uuid, text, jsonb) IS 'nmc.emit_events for one event.';

CREATE FUNCTION nmc.events_number(max_events int DEFAULT NULL)
RETURNS int
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
-- By index, whatever the statistics were when the worker planned (nmc.webhook_inbox_run).
SET enable_seqscan = off
SET enable_hashjoin = off
SET enable_mergejoin = off
AS $$
DECLARE
    n int;
    businesses uuid[];
BEGIN
    -- One numberer at a time (the worker; a test may call it too): numbers follow commits.
    PERFORM pg_advisory_xact_lock(hashtext('nmc.events_number'));
    max_events := coalesce(max_events, nmc.setting_int('events_batch_size'));
    -- The oldest pending (by the order they were written: a writer that saw another's
    -- commit wrote after it), each business's taking the numbers after its last.
    WITH taken AS (
        DELETE FROM nmc.events_pending p
         WHERE p.id = ANY (ARRAY(SELECT q.id FROM nmc.events_pending q ORDER BY q.id LIMIT max_events))
        RETURNING p.*
    ), e AS (
        SELECT t.*, row_number() OVER (PARTITION BY t.business_id ORDER BY t.id) AS k,
               count(*) OVER (PARTITION BY t.business_id) AS n
          FROM taken t
         WHERE EXISTS (SELECT 1 FROM nmc.businesses b WHERE b.id = t.business_id)
    ), counters AS (
        INSERT INTO nmc.event_counters AS c (business_id, last_seq)
        SELECT DISTINCT e.business_id, e.n FROM e ORDER BY 1
        ON CONFLICT (business_id) DO UPDATE SET last_seq = c.last_seq + excluded.last_seq
        RETURNING c.business_id, c.last_seq
    ), numbered AS (
        INSERT INTO nmc.events (business_id, seq, type, body, created_at)
        SELECT e.business_id, counters.last_seq - e.n + e.k, e.type, e.body, e.created_at
          FROM e JOIN counters ON counters.business_id = e.business_id
         ORDER BY e.id
        RETURNING business_id
    )
    SELECT (SELECT count(*) FROM taken), ARRAY(SELECT DISTINCT numbered.business_id FROM numbered) INTO n, businesses;
    PERFORM pg_notify('nmc_events', b::text) FROM unnest(businesses) AS b;
    RETURN n;
END
$$;
COMMENT ON FUNCTION nmc.events_number(int) IS 'The events worker''s step: numbers up to max_events (NULL: the setting events_batch_size) pending events, oldest first, each business''s after its last number, and notifies channel nmc_events (payload: the business id) once per business at commit. Returns how many it took (those of a business deleted meanwhile are dropped).';
