-- 0.8.0 → 0.9.0, assembled by extension/Makefile (upgrades/assemble.pl) into
-- nevermisscall--0.8.0--0.9.0.sql: table changes written here as upgrade steps;
-- "--@include f" brings sql/<domain>/f.sql (new in this version), "--@replace f name" the
-- current text of a changed function; then the OpenAPI document, the route
-- dispatcher and sql/platform/grants.sql. test/upgrade/check.sh proves the result equals
-- a fresh 0.9.0 install.
\echo Use "ALTER EXTENSION nevermisscall UPDATE" to load this file. \quit

-- issue 21 (plans that do not grow): the batch's conversations are found customer first,
-- then by the open-conversation index, whatever the statistics were when planned.
CREATE OR REPLACE FUNCTION nmc.conversations_open(p_business_ids uuid[], p_customer_ids uuid[], p_phone_number_ids uuid[], p_lead_ids uuid[])
RETURNS nmc.conversations[]
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    r nmc.conversations[];
    created nmc.conversations[];
BEGIN
    -- Each (business number, customer) once, with the last lead named for it.
    WITH k AS (
        SELECT DISTINCT ON (u.b, u.pn, u.c) u.b, u.pn, u.c, u.lead
          FROM unnest(p_business_ids, p_customer_ids, p_phone_number_ids, p_lead_ids) WITH ORDINALITY AS u(b, c, pn, lead, i)
         ORDER BY u.b, u.pn, u.c, (u.lead IS NOT NULL) DESC, u.i DESC
    ), ins AS (
        INSERT INTO nmc.conversations (business_id, customer_id, phone_number_id, lead_id)
        SELECT k.b, k.c, k.pn,
               coalesce(k.lead, (SELECT l.id FROM nmc.leads l WHERE l.business_id = k.b AND l.customer_id = k.c
                                   AND l.status IN ('new', 'contacted', 'qualified', 'appointment_scheduled')))
          FROM k
         -- OFFSET 0 keeps each probe an index lookup (not an anti-join planned on old statistics).
         WHERE NOT EXISTS (SELECT 1 FROM nmc.conversations o
                            WHERE o.business_id = k.b AND o.phone_number_id = k.pn AND o.customer_id = k.c AND o.state = 'open' OFFSET 0)
         ORDER BY k.b, k.pn, k.c
        ON CONFLICT (business_id, phone_number_id, customer_id) WHERE state = 'open' DO NOTHING  -- a concurrent one opened it first: theirs
        RETURNING *)
    SELECT array_agg(ins::nmc.conversations) INTO created FROM ins;
    -- All of them locked (by id), and linked to the lead named where it differs.
    WITH k AS (
        SELECT DISTINCT ON (u.b, u.pn, u.c) u.b, u.pn, u.c, u.lead
          FROM unnest(p_business_ids, p_customer_ids, p_phone_number_ids, p_lead_ids) WITH ORDINALITY AS u(b, c, pn, lead, i)
         ORDER BY u.b, u.pn, u.c, (u.lead IS NOT NULL) DESC, u.i DESC
    ), found AS (
        -- Each by the open-conversation index (LATERAL with LIMIT: whatever the statistics).
        SELECT f.id, k.lead FROM k
         CROSS JOIN LATERAL (SELECT o.id FROM nmc.conversations o
                              WHERE o.business_id = k.b AND o.phone_number_id = k.pn AND o.customer_id = k.c AND o.state = 'open' LIMIT 1) f
    ), locked AS (
        SELECT o.id, found.lead FROM nmc.conversations o JOIN found ON o.id = found.id ORDER BY o.id FOR UPDATE OF o
    )
    UPDATE nmc.conversations o SET lead_id = locked.lead
      FROM locked WHERE o.id = locked.id AND locked.lead IS NOT NULL AND o.lead_id IS DISTINCT FROM locked.lead;
    SELECT array_agg(f.o ORDER BY u.i) INTO r
      FROM unnest(p_business_ids, p_customer_ids, p_phone_number_ids) WITH ORDINALITY AS u(b, c, pn, i)
     CROSS JOIN LATERAL (SELECT o FROM nmc.conversations o
                          WHERE o.business_id = u.b AND o.phone_number_id = u.pn AND o.customer_id = u.c AND o.state = 'open' LIMIT 1) f;
    -- conversation.created for each new one, in the order they were first named.
    PERFORM nmc.emit_events(array_agg(c.business_id ORDER BY f.i), array_agg('conversation.created'::text ORDER BY f.i),
                            array_agg(nmc.conversation_json(c) || jsonb_build_object('customer', nmc.customer_brief(c.customer_id)) ORDER BY f.i))
       FROM unnest(created) c
       JOIN (SELECT (r[k]).id, min(k) AS i FROM generate_subscripts(r, 1) AS k GROUP BY 1) f ON f.id = c.id;
    RETURN r;
END
$$;
COMMENT ON FUNCTION nmc.conversations_open(uuid[], uuid[], uuid[], uuid[]) IS 'For each (business, customer, business number, lead) — element k of each array — the open conversation between that number and the customer (locked; linked to the lead when one is named and it differs), or a new one linked to the lead named or the customer''s active lead (emits conversation.created, with the customer), in the same order. The one place conversations are opened (nmc.conversation_open is it for one).';
CREATE OR REPLACE FUNCTION nmc.webhook_inbox_run(max_webhooks int DEFAULT NULL, isolate boolean DEFAULT false)
RETURNS int
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
-- Every lookup here goes by index, a batch's keys probing the tables one by one.
-- The worker plans once per session, possibly on a fresh install's empty-table
-- statistics (or before a burst has grown a table: until the next ANALYZE), and a
-- sequential scan, or a hash or merge join reading a whole index, chosen then
-- would grow with the tables: every batch would cost more than the last.
SET enable_seqscan = off
SET enable_hashjoin = off
SET enable_mergejoin = off
AS $$
DECLARE
    t nmc.webhook_inbox;
    batch nmc.webhook_inbox[];
    calls boolean[];
    done int;
    n int := 0;
    err_state text;
    err_message text;
BEGIN
    max_webhooks := coalesce(max_webhooks, nmc.setting_int('inbox_batch_size'));
    -- If a crash loses this transaction, its webhooks are still in the inbox and
    -- are applied again; a text one of its jobs had sent meanwhile is sent again
    -- (at-least-once, as the dispatcher's claims). Nobody waits for its flush.
    PERFORM set_config('synchronous_commit', 'off', true);
    IF isolate THEN
        -- Each webhook alone, in a subtransaction: a failing one is marked and kept.
        FOR t IN SELECT * FROM nmc.webhook_inbox WHERE failed_at IS NULL ORDER BY id LIMIT max_webhooks FOR UPDATE SKIP LOCKED LOOP
            PERFORM set_config('nmc.business_id', t.business_id::text, true);
            BEGIN
                PERFORM nmc.webhook_inbox_apply(t);
                DELETE FROM nmc.webhook_inbox WHERE id = t.id;
            EXCEPTION
                WHEN deadlock_detected OR serialization_failure OR lock_not_available THEN
                    -- Transient: this webhook and everything after it wait for the next
                    -- round (a customer's STOP and START, a call and its end, keep their order).
                    RAISE LOG 'nevermisscall: % webhook % (inbox %) will be retried: %', t.kind, t.webhook_key, t.id, SQLERRM;
                    EXIT;
                WHEN OTHERS THEN
                    GET STACKED DIAGNOSTICS err_state = RETURNED_SQLSTATE, err_message = MESSAGE_TEXT;
                    RAISE WARNING 'nevermisscall: % webhook % (inbox %) could not be applied: % %', t.kind, t.webhook_key, t.id, err_state, err_message;
                    UPDATE nmc.webhook_inbox SET failed_at = now(), error = err_state || ': ' || err_message WHERE id = t.id;
            END;
            n := n + 1;
        END LOOP;
        PERFORM set_config('nmc.business_id', '', true);
        RETURN n;
    END IF;

    WHILE n < max_webhooks LOOP
        SELECT array_agg(q ORDER BY q.id) INTO batch
          FROM (SELECT * FROM nmc.webhook_inbox WHERE failed_at IS NULL ORDER BY id LIMIT max_webhooks - n FOR UPDATE SKIP LOCKED) q;
        EXIT WHEN batch IS NULL;
        -- With several webhooks this transaction takes all their open conversations in
        -- id order before touching any, as every other path that locks several does: no
        -- deadlock with a timer or an owner's reply. It takes no lock of the business's
        -- own (events are numbered after commit, nmc.events_number): a business's other
        -- writers (the dispatcher completing texts, the edge accepting) wait for no batch.
        IF cardinality(batch) > 1 THEN
            PERFORM 1 FROM nmc.conversations c
             WHERE c.id = ANY (ARRAY(
                   -- Customer, then conversation, by their unique indexes (LATERAL with
                   -- LIMIT keeps that order whatever the statistics said when planned).
                   SELECT o.id
                     FROM (SELECT DISTINCT g.business_id, g.phone_number_id, nmc.phone_or_null(g.params ->> 'From') AS phone
                             FROM unnest(batch) AS g) k
                    CROSS JOIN LATERAL (SELECT cu.id FROM nmc.customers cu
                                         WHERE cu.business_id = k.business_id AND cu.phone = k.phone LIMIT 1) cu
                    CROSS JOIN LATERAL (SELECT o.id FROM nmc.conversations o
                                         WHERE o.business_id = k.business_id AND o.phone_number_id = k.phone_number_id
                                           AND o.customer_id = cu.id AND o.state = 'open' LIMIT 1) o))
             ORDER BY c.id FOR UPDATE;
        END IF;
        -- Which are voice webhooks that can go together (a CallSid's second webhook in
        -- the batch waits for the next round: it must see what the first did).
        calls := ARRAY(SELECT g.kind IN ('voice', 'voice_dial')
                              AND row_number() OVER (PARTITION BY g.kind IN ('voice', 'voice_dial'), g.webhook_key ORDER BY g.ordinality) = 1
                         FROM unnest(batch) WITH ORDINALITY AS g ORDER BY g.ordinality);
        done := 1;
        IF calls[1] THEN
            -- A run of calls together (nmc.calls_apply: the missed ones decided and
            -- texted at once), up to the first webhook that is not one.
            WHILE done < cardinality(batch) AND calls[done + 1] LOOP
                done := done + 1;
            END LOOP;
            PERFORM nmc.calls_apply(batch[1:done]);
        ELSIF batch[1].kind = 'sms' THEN
            -- A run of inbound texts together (nmc.sms_apply, in arrival order).
            WHILE done < cardinality(batch) AND batch[done + 1].kind = 'sms' LOOP
                done := done + 1;
            END LOOP;
            PERFORM nmc.sms_apply(batch[1:done]);
        ELSE
            -- Status callbacks and voicemails one by one, up to the next call or text.
            WHILE done < cardinality(batch) AND NOT calls[done + 1] AND batch[done + 1].kind <> 'sms' LOOP
                done := done + 1;
            END LOOP;
            FOREACH t IN ARRAY batch[1:done] LOOP
                PERFORM set_config('nmc.business_id', t.business_id::text, true);
                PERFORM nmc.webhook_inbox_apply(t);
            END LOOP;
            PERFORM set_config('nmc.business_id', '', true);
        END IF;
        -- By an array of ids (one index probe each; IN (subquery) planned generically
        -- compared every inbox row with every webhook).
        DELETE FROM nmc.webhook_inbox WHERE id = ANY (ARRAY(SELECT r.id FROM unnest(batch[1:done]) r));
        n := n + done;
        -- The inbox had no more than this batch, and all of it is done.
        EXIT WHEN done = cardinality(batch) AND cardinality(batch) < max_webhooks - n + done;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION nmc.webhook_inbox_run(int, boolean) IS 'Applies up to max_webhooks (NULL: the setting inbox_batch_size) inbox webhooks in arrival order and deletes them; returns how many it took. A run of inbound texts goes through nmc.sms_apply at once; a run of voice webhooks (incoming calls, ends of forwarded calls — a CallSid once per run) through nmc.calls_apply at once, missed calls decided and texted together; status callbacks and voicemails through nmc.webhook_inbox_apply one by one, many per transaction. Its events are numbered after it commits (nmc.events_number), and the transaction commits without waiting for its WAL flush (a crash that loses it leaves its webhooks in the inbox). The inbox worker runs it in one transaction per batch; when a batch raises an error (a deadlock with a timer included) it runs it again with isolate, which gives each webhook a subtransaction (a text is then a batch of one) and marks a failing one (failed_at, error) instead of losing the batch — one that meets a deadlock or serialization failure again is left for the next round, not marked.';

-- issue 21 (no per-business serialization): writers append events to nmc.events_pending and
-- take no lock of the business's; the events worker alone numbers them (nmc.events_number).
INSERT INTO nmc.settings (name, value, is_secret, description) VALUES
    ('events_batch_size', '1000', false, 'Most pending events the events worker numbers in one transaction.');
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
COMMENT ON TABLE nmc.event_counters IS 'The last event number of each business (moved by nmc.events_number only).';
-- An event type's form is checked once, where events are written.
ALTER TABLE nmc.events DROP CONSTRAINT events_type_check;
DROP FUNCTION nmc.emit_deferred_events();
DROP FUNCTION nmc.defer_events();
DROP FUNCTION nmc.emit_event(uuid, text, jsonb);
CREATE OR REPLACE FUNCTION nmc.events_wake()
RETURNS void
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'nmc_events_wake';
COMMENT ON FUNCTION nmc.events_wake() IS 'Wakes the events worker when the current transaction commits (nothing happens if it rolls back).';
CREATE OR REPLACE FUNCTION nmc.events_process(OUT pid int, OUT heartbeat_at timestamptz)
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'nmc_events_process';
COMMENT ON FUNCTION nmc.events_process() IS 'The events worker''s pid (NULL if not running) and last heartbeat, from shared memory.';
CREATE OR REPLACE FUNCTION nmc.events_health(OUT worker_pid int, OUT heartbeat_age interval, OUT pending bigint,
                                  OUT oldest_pending_age interval)
LANGUAGE sql STABLE
AS $$
    SELECT p.pid, greatest(interval '0', clock_timestamp() - p.heartbeat_at),
           (SELECT count(*) FROM nmc.events_pending),
           (SELECT greatest(interval '0', clock_timestamp() - min(created_at)) FROM nmc.events_pending)
      FROM nmc.events_process() p
$$;
COMMENT ON FUNCTION nmc.events_health() IS 'DBA and status page: the events worker''s pid and heartbeat age, events written and not yet numbered (under row-level security: the caller''s business''s), and how long the oldest has waited.';
CREATE OR REPLACE FUNCTION nmc.emit_events(p_business_ids uuid[], p_types text[], p_bodies jsonb[])
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
CREATE OR REPLACE FUNCTION nmc.emit_event(p_business_id uuid, p_type text, p_body jsonb)
RETURNS void
LANGUAGE sql
AS $$ SELECT nmc.emit_events(ARRAY[p_business_id], ARRAY[p_type], ARRAY[p_body]) $$;
COMMENT ON FUNCTION nmc.emit_event(uuid, text, jsonb) IS 'nmc.emit_events for one event.';
CREATE OR REPLACE FUNCTION nmc.events_number(max_events int DEFAULT NULL)
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
CREATE OR REPLACE FUNCTION nmc.dispatcher_complete_batch(job_ids bigint[], attempts int[], http_statuses int[], retry_afters text[],
                                              bodies text[], transport_errors text[], durations_ms double precision[])
RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
    i int;
    err_code text;
    err_message text;
BEGIN
    FOR i IN 1 .. coalesce(array_length(job_ids, 1), 0) LOOP
        BEGIN
            PERFORM nmc.dispatcher_complete(job_ids[i], attempts[i], http_statuses[i], retry_afters[i],
                                            bodies[i], transport_errors[i], durations_ms[i]);
        EXCEPTION
            WHEN SQLSTATE 'NMR01' OR SQLSTATE 'NMR02' THEN
                GET STACKED DIAGNOSTICS err_message = MESSAGE_TEXT, err_code = PG_EXCEPTION_DETAIL;
                PERFORM nmc.dispatcher_reject(job_ids[i], attempts[i], http_statuses[i], retry_afters[i],
                                              durations_ms[i], SQLSTATE = 'NMR01', nullif(err_code, ''), err_message);
            WHEN OTHERS THEN
                -- A poison job: fail it alone, keep going with the rest.
                RAISE WARNING 'nevermisscall dispatcher: completing job % failed: %', job_ids[i], SQLERRM;
                PERFORM nmc.dispatcher_fail(job_ids[i], attempts[i], SQLERRM);
        END;
    END LOOP;
    RETURN coalesce(array_length(job_ids, 1), 0);
END
$$;
COMMENT ON FUNCTION nmc.dispatcher_complete_batch(bigint[], int[], int[], text[], text[], text[], double precision[]) IS
    'Dispatcher: completes a batch of finished requests in one transaction (one call, one commit), each in its own subtransaction so a poison job is failed alone; their events are numbered after it commits (nmc.events_number), so no business''s other writers wait for it.';
CREATE OR REPLACE FUNCTION nmc.api_status(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    h record;
    i record;
    e record;
BEGIN
    -- Invoker's rights: row-level security limits the counts to the caller's
    -- business; whether the workers run is the same for everyone.
    SELECT * INTO h FROM nmc.dispatcher_health();
    SELECT * INTO i FROM nmc.inbox_health();
    SELECT * INTO e FROM nmc.events_health();
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
        'events', jsonb_build_object('running', e.worker_pid IS NOT NULL,
                                     'heartbeat_age_seconds', round(extract(epoch FROM e.heartbeat_age)::numeric, 3),
                                     'pending', e.pending,
                                     'oldest_pending_age_seconds', round(coalesce(extract(epoch FROM e.oldest_pending_age), 0)::numeric, 3)),
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
COMMENT ON FUNCTION nmc.api_status(jsonb) IS 'GET /api/status: database, sandbox mode, whether the dispatcher, the inbox worker and the events worker run (heartbeats), and — of the caller''s business only — its queued jobs, its webhooks waiting in the inbox, its events waiting to be numbered and provider successes / retries / failures over 5 minutes; each provider''s circuit (open when it is down, since when) and how many of its jobs wait behind it; and the answering edge''s WebSocket clients (connected, dropped for being slow) and the webhooks it kept while the database was down and has not replayed yet.';

-- issue 21 (CPU per missed call): two SQL functions on every missed call's path were planned on
-- every call; as PL/pgSQL their plans are kept.
CREATE OR REPLACE FUNCTION nmc.call_voicemail_json(p_call_id uuid)
RETURNS jsonb
-- PL/pgSQL, not SQL: a SQL function with ORDER BY … LIMIT cannot be inlined and was
-- planned again on every call (a quarter of a millisecond on every missed call's event).
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN (SELECT nmc.voicemail_json(v) FROM nmc.voicemails v
             WHERE v.call_id = p_call_id AND v.status = 'completed' ORDER BY v.created_at DESC LIMIT 1);
END
$$;
COMMENT ON FUNCTION nmc.call_voicemail_json(uuid) IS 'The voicemail left on a call (the latest completed one), or NULL.';
CREATE OR REPLACE FUNCTION nmc.greeting_template_of(p_business_id uuid)
RETURNS text
-- PL/pgSQL: its plan is kept (a SQL function with a join is planned on every call).
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN (SELECT coalesce(b.greeting_template, d.template)
              FROM nmc.businesses b LEFT JOIN nmc.greeting_defaults d ON d.trade_type = b.trade_type
             WHERE b.id = p_business_id);
END
$$;
COMMENT ON FUNCTION nmc.greeting_template_of(uuid) IS 'The template a business''s greetings use: its own, or its trade''s default.';

-- issue 21 (edge group commit): the edge commits every request alone;
-- PostgreSQL's own group commit (commit_delay) was measured against its
-- queue (docs/performance.md, "Group commit").
DROP FUNCTION nmc_api.handle_many(jsonb);
DROP FUNCTION nmc_api.grouped_routes();
-- end issue 21 (edge group commit)
-- Generated from docs/openapi.json by extension/Makefile.
CREATE OR REPLACE FUNCTION nmc.openapi_document() RETURNS text LANGUAGE sql IMMUTABLE AS $nmc_fn$ SELECT $nmc_openapi${
  "openapi": "3.0.3",
  "info": {
    "title": "NeverMissCall API",
    "version": "0.1.0",
    "description": "The JSON API the dashboard uses, and the Twilio webhooks. Every /api route is answered\nby nmc_api.handle in Postgres (docs/architecture.md). Errors are always\n{\"error\": {\"code\", \"message\", \"field\"?}} with the status given below; see docs/http-api.md\nfor the codes. The live feed is a WebSocket (GET /api/realtime says where).\nThis document is the source of the route table: every operation answered in SQL names its\nhandler nmc.<operationId>(req jsonb), and its security is the route's authentication (none:\npublic, bearer: jwt, twilioSignature: twilio); nmc.api_routes_build() makes nmc.api_routes\nfrom it at install and at every upgrade. Operations marked x-nmc-edge are answered by the\nedge itself. Served at GET /api/openapi.yaml (JSON is YAML).\n"
  },
  "servers": [{"url": "http://localhost:8080"}],
  "components": {
    "securitySchemes": {
      "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
      "twilioSignature": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Twilio-Signature",
        "description": "HMAC-SHA1 of the public URL and the sorted form parameters, keyed by the Twilio auth token."
      }
    },
    "schemas": {
      "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
          "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "field": {"type": "string"}}
          }
        }
      }
    },
    "responses": {
      "Error": {
        "description": "The request was refused; the body says why.",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
      },
      "TwiML": {
        "description": "TwiML instructions for Twilio.",
        "content": {"text/xml": {"schema": {"type": "string"}}}
      }
    }
  },
  "paths": {
    "/metrics": {
      "get": {
        "summary": "Prometheus metrics: requests by route and status, latency histograms, live-feed clients, NOTIFY-to-send latency, jobs by state (answered by the edge)",
        "x-nmc-edge": true,
        "security": [],
        "responses": {
          "200": {
            "description": "Prometheus text exposition format.",
            "content": {"text/plain": {"schema": {"type": "string"}}}
          }
        }
      }
    },
    "/healthz": {
      "get": {
        "summary": "Liveness; 200 only when the database answers (answered by the edge)",
        "x-nmc-edge": true,
        "security": [],
        "responses": {
          "200": {"description": "The database answers."},
          "503": {"description": "The database is unreachable."}
        }
      }
    },
    "/api/appointments": {
      "get": {
        "operationId": "api_appointments_list",
        "summary": "Appointments in a time window",
        "security": [{"bearer": []}],
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      },
      "post": {
        "operationId": "api_appointments_create",
        "summary": "Book an appointment by hand",
        "security": [{"bearer": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {
          "201": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/appointments/open-slots": {
      "get": {
        "operationId": "api_open_slots",
        "summary": "Free slots: of a day, or the next ones",
        "security": [{"bearer": []}],
        "parameters": [
          {"name": "date", "in": "query", "required": false, "schema": {"type": "string"}},
          {"name": "minutes", "in": "query", "required": false, "schema": {"type": "integer"}},
          {"name": "exclude", "in": "query", "required": false, "schema": {"type": "string"}}
        ],
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/appointments/{id}": {
      "patch": {
        "operationId": "api_appointments_patch",
        "summary": "Move an appointment",
        "security": [{"bearer": []}],
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/appointments/{id}/cancel": {
      "post": {
        "operationId": "api_appointments_cancel",
        "summary": "Cancel an appointment",
        "security": [{"bearer": []}],
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/appointments/{id}/ics": {
      "get": {
        "operationId": "api_appointment_ics",
        "summary": "An appointment as an iCalendar file",
        "security": [{"bearer": []}],
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
        "responses": {
          "200": {"description": "Success.", "content": {"text/calendar": {"schema": {"type": "string"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/auth/login": {
      "post": {
        "operationId": "api_auth_login",
        "summary": "Log in; returns a session token",
        "security": [],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/auth/sign-out-everywhere": {
      "post": {
        "operationId": "api_auth_sign_out_everywhere",
        "summary": "Sign this account out of every session",
        "security": [{"bearer": []}],
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/auth/unlock": {
      "post": {
        "operationId": "api_auth_unlock",
        "summary": "Text a sign-in code to the business's phone (passes the login throttle)",
        "security": [],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {
          "202": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/auth/password/forgot": {
      "post": {
        "operationId": "api_auth_password_forgot",
        "summary": "Text a code for a new password to the owner's phone",
        "security": [],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {
          "202": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/auth/password/reset": {
      "post": {
        "operationId": "api_auth_password_reset",
        "summary": "Set a new password with the texted code",
        "security": [],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/auth/register": {
      "post": {
        "operationId": "api_auth_register",
        "summary": "Create a user and their business; returns a session token",
        "security": [],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {
          "201": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/business": {
      "get": {
        "operationId": "api_business_get",
        "summary": "The business profile",
        "security": [{"bearer": []}],
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      },
      "patch": {
        "operationId": "api_business_patch",
        "summary": "Update the business profile",
        "security": [{"bearer": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/business/alerts": {
      "get": {
        "operationId": "api_alerts_get",
        "summary": "Alerts to the owner's phone: the phone, the kinds, the quiet hours",
        "security": [{"bearer": []}],
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      },
      "patch": {
        "operationId": "api_alerts_patch",
        "summary": "Choose the alerts and the quiet hours",
        "security": [{"bearer": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/business/alerts/phone": {
      "put": {
        "operationId": "api_alert_phone_put",
        "summary": "Set the phone alerts go to; a code is texted to it",
        "security": [{"bearer": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {
          "202": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/business/alerts/phone/verify": {
      "post": {
        "operationId": "api_alert_phone_verify",
        "summary": "Verify the alert phone with the texted code",
        "security": [{"bearer": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/business/blocked-numbers": {
      "get": {
        "operationId": "api_blocked_list",
        "summary": "The block list",
        "security": [{"bearer": []}],
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      },
      "post": {
        "operationId": "api_blocked_add",
        "summary": "Block a number from missed-call texts",
        "security": [{"bearer": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {
          "201": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/business/blocked-numbers/{id}": {
      "delete": {
        "operationId": "api_blocked_delete",
        "summary": "Unblock a number",
        "security": [{"bearer": []}],
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/business/closures": {
      "post": {
        "operationId": "api_closures_post",
        "summary": "Add a closed day",
        "security": [{"bearer": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {
          "201": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/business/closures/{id}": {
      "delete": {
        "operationId": "api_closures_delete",
        "summary": "Remove a closed day",
        "security": [{"bearer": []}],
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/business/greeting": {
      "get": {
        "operationId": "api_greeting_get",
        "summary": "The greeting template, its default and a preview",
        "security": [{"bearer": []}],
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      },
      "put": {
        "operationId": "api_greeting_put",
        "summary": "Set (or reset) the greeting template",
        "security": [{"bearer": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/business/greeting/preview": {
      "post": {
        "operationId": "api_greeting_preview",
        "summary": "Render a template with encoding and segments",
        "security": [{"bearer": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/business/hours": {
      "get": {
        "operationId": "api_hours_get",
        "summary": "Weekly hours, upcoming closures, open now",
        "security": [{"bearer": []}],
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      },
      "put": {
        "operationId": "api_hours_put",
        "summary": "Replace the weekly hours",
        "security": [{"bearer": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/calls": {
      "get": {
        "operationId": "api_calls_list",
        "summary": "Latest calls with their text decision",
        "security": [{"bearer": []}],
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/conversations": {
      "get": {
        "operationId": "api_conversations_list",
        "summary": "Conversations, filtered and paged",
        "security": [{"bearer": []}],
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      },
      "post": {
        "operationId": "api_conversation_start",
        "summary": "Text any number as the business",
        "security": [{"bearer": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {
          "201": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/conversations/{id}": {
      "get": {
        "operationId": "api_conversation_get",
        "summary": "A conversation and its messages",
        "security": [{"bearer": []}],
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/conversations/{id}/messages": {
      "post": {
        "operationId": "api_conversation_reply",
        "summary": "Send a text as the business",
        "security": [{"bearer": []}],
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {
          "201": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/conversations/{id}/release": {
      "post": {
        "operationId": "api_conversation_release",
        "summary": "Hand the conversation back",
        "security": [{"bearer": []}],
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/conversations/{id}/takeover": {
      "post": {
        "operationId": "api_conversation_takeover",
        "summary": "Take the conversation over (the AI goes silent)",
        "security": [{"bearer": []}],
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/events": {
      "get": {
        "operationId": "api_events_list",
        "summary": "Events after a given id (resume)",
        "security": [{"bearer": []}],
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/jobs/{id}": {
      "get": {
        "operationId": "api_job_get",
        "summary": "Poll a job",
        "security": [{"bearer": []}],
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/media/{id}": {
      "get": {
        "operationId": "api_media_get",
        "summary": "A voicemail recording or MMS photo, fetched from the provider and served here",
        "security": [{"bearer": []}],
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
        "responses": {
          "200": {
            "description": "The file, with its media type (audio/mpeg for a voicemail, image/* for a photo).",
            "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}
          },
          "409": {"$ref": "#/components/responses/Error"},
          "410": {"$ref": "#/components/responses/Error"},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/leads": {
      "get": {
        "operationId": "api_leads_list",
        "summary": "Leads by status, paged",
        "security": [{"bearer": []}],
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/leads/{id}": {
      "patch": {
        "operationId": "api_lead_patch",
        "summary": "Change a lead's status",
        "description": "Any status; lost needs a reason, won may have one (other statuses clear it).",
        "security": [{"bearer": []}],
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "type": "object",
                "required": ["status"],
                "properties": {
                  "status": {"type": "string", "description": "one of GET /api/meta state_machines.lead.statuses"},
                  "reason": {"type": "string", "maxLength": 500}
                }
              }
            }
          }
        },
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/meta": {
      "get": {
        "operationId": "api_meta",
        "summary": "Statuses of each state machine and field bounds the dashboard shows",
        "description": "state_machines: for lead, call, conversation_state, conversation_mode, appointment and job, its statuses in order and the moves the system makes from each (the owner may set a lead to any status); message_delivery.ranks: how far along each state of a text is (final states level); limits: service_radius_km_max. The server's rules, so the dashboard keeps no copy.",
        "security": [],
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/me": {
      "get": {
        "operationId": "api_me_get",
        "summary": "The logged-in user",
        "security": [{"bearer": []}],
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      },
      "patch": {
        "operationId": "api_me_patch",
        "summary": "Update the logged-in user's name and preferences",
        "security": [{"bearer": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/openapi.yaml": {
      "get": {
        "operationId": "api_openapi",
        "summary": "This document",
        "security": [],
        "responses": {
          "200": {"description": "Success.", "content": {"application/yaml": {"schema": {"type": "string"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/phone-numbers": {
      "get": {
        "operationId": "api_phone_numbers_list",
        "summary": "The business's Twilio numbers",
        "security": [{"bearer": []}],
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      },
      "post": {
        "operationId": "api_phone_numbers_buy",
        "summary": "Buy a number (a job)",
        "security": [{"bearer": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {
          "202": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/phone-numbers/attach": {
      "post": {
        "operationId": "api_phone_numbers_attach",
        "summary": "Use a number the account owns: our webhooks on it, its old ones kept (a job)",
        "security": [{"bearer": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {
          "202": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/phone-numbers/{id}/detach": {
      "post": {
        "operationId": "api_phone_number_detach",
        "summary": "Stop using an attached number: its earlier webhooks put back (a job)",
        "security": [{"bearer": []}],
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
        "responses": {
          "202": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/phone-numbers/owned": {
      "post": {
        "operationId": "api_phone_numbers_owned",
        "summary": "List the account's numbers no business uses yet (a job)",
        "security": [{"bearer": []}],
        "responses": {
          "202": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/phone-numbers/search": {
      "post": {
        "operationId": "api_phone_numbers_search",
        "summary": "Search numbers by area code (a job)",
        "security": [{"bearer": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {
          "202": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/push/key": {
      "get": {
        "operationId": "api_push_key",
        "summary": "The key browsers subscribe to alert pushes with",
        "security": [{"bearer": []}],
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/push/subscriptions": {
      "post": {
        "operationId": "api_push_subscribe",
        "summary": "This device gets alerts pushed",
        "security": [{"bearer": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {
          "201": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/push/unsubscribe": {
      "post": {
        "operationId": "api_push_unsubscribe",
        "summary": "This device gets no more pushes",
        "security": [{"bearer": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/quick-replies": {
      "get": {
        "operationId": "api_quick_replies_list",
        "summary": "Saved texts, rendered for a conversation",
        "security": [{"bearer": []}],
        "parameters": [{"name": "conversation", "in": "query", "required": false, "schema": {"type": "string"}}],
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      },
      "post": {
        "operationId": "api_quick_reply_create",
        "summary": "Save a text",
        "security": [{"bearer": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {
          "201": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/quick-replies/{id}": {
      "patch": {
        "operationId": "api_quick_reply_patch",
        "summary": "Change a saved text or its place",
        "security": [{"bearer": []}],
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      },
      "delete": {
        "operationId": "api_quick_reply_delete",
        "summary": "Delete a saved text",
        "security": [{"bearer": []}],
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/realtime": {
      "get": {
        "operationId": "api_realtime",
        "summary": "The live feed's WebSocket URL and protocol",
        "security": [{"bearer": []}],
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/sandbox/customer-reply": {
      "post": {
        "operationId": "api_sandbox_customer_reply",
        "summary": "Sandbox mode only: rehearse a customer's text to your number",
        "description": "Runs the same code as Twilio's SMS webhook. 409 sandbox_only when Twilio is configured, 409 no_phone_number before the business has a number.",
        "security": [{"bearer": []}],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "type": "object",
                "required": ["body"],
                "properties": {
                  "from": {"type": "string", "description": "The customer's phone (default +15125550142)"},
                  "body": {"type": "string", "maxLength": 1600}
                }
              }
            }
          }
        },
        "responses": {
          "202": {
            "description": "Accepted: {message_sid, from, to}.",
            "content": {"application/json": {"schema": {"type": "object"}}}
          },
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/sandbox/missed-call": {
      "post": {
        "operationId": "api_sandbox_missed_call",
        "summary": "Sandbox mode only: rehearse an unanswered call to your number",
        "description": "Runs the same code as Twilio's voice webhooks (the <Dial> ends no-answer when the owner would have been rung): accepted at once, then applied by the inbox worker like any webhook: greeting text, lead, conversation, events. 409 sandbox_only when Twilio is configured, 409 no_phone_number before the business has a number.",
        "security": [{"bearer": []}],
        "requestBody": {
          "content": {
            "application/json": {
              "schema": {
                "type": "object",
                "properties": {"from": {"type": "string", "description": "The caller's phone (default +15125550142)"}}
              }
            }
          }
        },
        "responses": {
          "202": {
            "description": "Accepted: {call_sid, from, to}; the inbox worker applies the call right after.",
            "content": {"application/json": {"schema": {"type": "object"}}}
          },
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/status": {
      "get": {
        "operationId": "api_status",
        "summary": "System status for the status page",
        "security": [{"bearer": []}],
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/trade-types": {
      "get": {
        "operationId": "api_trade_types",
        "summary": "List the trades a business can choose",
        "security": [],
        "responses": {
          "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/webhooks/twilio/sms": {
      "post": {
        "operationId": "webhook_sms",
        "summary": "Twilio: an incoming text",
        "description": "Recorded in the inbound-text inbox (idempotent on MessageSid) and answered at once with empty TwiML; the inbox worker threads it into its conversation right after the commit (message.created and the rest reach the live feed then).",
        "security": [{"twilioSignature": []}],
        "requestBody": {
          "required": true,
          "content": {
            "application/x-www-form-urlencoded": {"schema": {"type": "object", "additionalProperties": {"type": "string"}}}
          }
        },
        "responses": {
          "200": {"$ref": "#/components/responses/TwiML"},
          "400": {"$ref": "#/components/responses/Error"},
          "403": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/webhooks/twilio/sms/status": {
      "post": {
        "operationId": "webhook_sms_status",
        "summary": "Twilio: outbound message status callback",
        "security": [{"twilioSignature": []}],
        "requestBody": {
          "required": true,
          "content": {
            "application/x-www-form-urlencoded": {"schema": {"type": "object", "additionalProperties": {"type": "string"}}}
          }
        },
        "responses": {
          "200": {"$ref": "#/components/responses/TwiML"},
          "400": {"$ref": "#/components/responses/Error"},
          "403": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/webhooks/twilio/voice": {
      "post": {
        "operationId": "webhook_voice",
        "summary": "Twilio: an incoming call",
        "security": [{"twilioSignature": []}],
        "requestBody": {
          "required": true,
          "content": {
            "application/x-www-form-urlencoded": {"schema": {"type": "object", "additionalProperties": {"type": "string"}}}
          }
        },
        "responses": {
          "200": {"$ref": "#/components/responses/TwiML"},
          "400": {"$ref": "#/components/responses/Error"},
          "403": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/webhooks/twilio/voice/dial": {
      "post": {
        "operationId": "webhook_voice_dial",
        "summary": "Twilio: the forwarded call ended (Dial action)",
        "security": [{"twilioSignature": []}],
        "requestBody": {
          "required": true,
          "content": {
            "application/x-www-form-urlencoded": {"schema": {"type": "object", "additionalProperties": {"type": "string"}}}
          }
        },
        "responses": {
          "200": {"$ref": "#/components/responses/TwiML"},
          "400": {"$ref": "#/components/responses/Error"},
          "403": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/webhooks/twilio/voice/recorded": {
      "post": {
        "operationId": "webhook_voice_recorded",
        "summary": "Twilio: the caller finished a voicemail (Record action)",
        "security": [{"twilioSignature": []}],
        "requestBody": {
          "required": true,
          "content": {
            "application/x-www-form-urlencoded": {"schema": {"type": "object", "additionalProperties": {"type": "string"}}}
          }
        },
        "responses": {
          "200": {"$ref": "#/components/responses/TwiML"},
          "400": {"$ref": "#/components/responses/Error"},
          "403": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/webhooks/twilio/voice/recording": {
      "post": {
        "operationId": "webhook_voice_recording",
        "summary": "Twilio: a voicemail's recording status callback",
        "security": [{"twilioSignature": []}],
        "parameters": [{"name": "To", "in": "query", "required": true, "schema": {"type": "string"}}],
        "requestBody": {
          "required": true,
          "content": {
            "application/x-www-form-urlencoded": {"schema": {"type": "object", "additionalProperties": {"type": "string"}}}
          }
        },
        "responses": {
          "200": {"$ref": "#/components/responses/TwiML"},
          "400": {"$ref": "#/components/responses/Error"},
          "403": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/webhooks/twilio/voice/status": {
      "post": {
        "operationId": "webhook_voice_status",
        "summary": "Twilio: call status callback",
        "security": [{"twilioSignature": []}],
        "requestBody": {
          "required": true,
          "content": {
            "application/x-www-form-urlencoded": {"schema": {"type": "object", "additionalProperties": {"type": "string"}}}
          }
        },
        "responses": {
          "200": {"$ref": "#/components/responses/TwiML"},
          "400": {"$ref": "#/components/responses/Error"},
          "403": {"$ref": "#/components/responses/Error"}
        }
      }
    }
  }
}
$nmc_openapi$::text $nmc_fn$;
COMMENT ON FUNCTION nmc.openapi_document() IS 'The text of docs/openapi.json.';
SELECT nmc.api_routes_build();
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
GRANT SELECT, INSERT, UPDATE, DELETE ON nmc.user_devices, nmc.login_codes TO nmc_auth;
GRANT SELECT, INSERT ON nmc.jobs TO nmc_auth;
GRANT UPDATE (password_hash, sessions_generation) ON nmc.users TO nmc_auth;

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA nmc FROM PUBLIC;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA nmc_api FROM PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA nmc TO nmc_api, nmc_auth;
-- Policies call these as whoever queries the table, the owner included.
GRANT EXECUTE ON FUNCTION nmc.current_business_id(), nmc.current_user_id() TO nmc_owner;
-- The status lists the domains check: whoever writes a row evaluates them.
GRANT EXECUTE ON FUNCTION nmc.lead_statuses(), nmc.call_statuses(), nmc.conversation_states(), nmc.conversation_modes(),
                          nmc.appointment_statuses(), nmc.job_statuses(), nmc.service_radius_max_km() TO PUBLIC;
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
ALTER FUNCTION nmc.login_code_request(jsonb, text) OWNER TO nmc_auth;
ALTER FUNCTION nmc.password_reset_request(jsonb, text) OWNER TO nmc_auth;
ALTER FUNCTION nmc.password_reset(jsonb, text) OWNER TO nmc_auth;
ALTER FUNCTION nmc.webhook_tenant(text) OWNER TO nmc_auth;
ALTER FUNCTION nmc.phone_number_available(text) OWNER TO nmc_auth;
GRANT USAGE ON SCHEMA nmc TO nmc_monitor;
GRANT SELECT ON nmc.jobs, nmc.job_attempts, nmc.job_kinds, nmc.settings, nmc.webhook_inbox TO nmc_monitor;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA nmc TO nmc_monitor;
ALTER FUNCTION nmc_api.metrics() OWNER TO nmc_monitor;
-- nmc_monitor owns nmc_api.metrics (a definer function), so it needs the schema too.
GRANT USAGE ON SCHEMA nmc_api TO nmc_monitor;
