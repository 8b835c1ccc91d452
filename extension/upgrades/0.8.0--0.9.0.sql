-- 0.8.0 → 0.9.0, assembled by extension/Makefile (upgrades/assemble.pl) into
-- nevermisscall--0.8.0--0.9.0.sql: table changes written here as upgrade steps;
-- "--@include f" brings sql/<domain>/f.sql (new in this version), "--@replace f name" the
-- current text of a changed function; then the OpenAPI document, the route
-- dispatcher and sql/platform/grants.sql. test/upgrade/check.sh proves the result equals
-- a fresh 0.9.0 install.
\echo Use "ALTER EXTENSION nevermisscall UPDATE" to load this file. \quit

-- issue 21 (plans that do not grow): the batch's conversations are found customer first,
-- then by the open-conversation index, whatever the statistics were when planned.
--@replace conversations nmc.conversations_open
--@replace webhook_inbox nmc.webhook_inbox_run

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
--@replace events nmc.events_wake
--@replace events nmc.events_process
--@replace events nmc.events_health
--@replace events nmc.emit_events
--@replace events nmc.emit_event
--@replace events nmc.events_number
--@replace dispatcher nmc.dispatcher_complete_batch
--@replace monitoring nmc.api_status

-- issue 21 (CPU per missed call): two SQL functions on every missed call's path were planned on
-- every call; as PL/pgSQL their plans are kept.
--@replace voicemail nmc.call_voicemail_json
--@replace greeting nmc.greeting_template_of

-- issue 21 (edge group commit): the edge commits every request alone;
-- PostgreSQL's own group commit (commit_delay) was measured against its
-- queue (docs/performance.md, "Group commit").
DROP FUNCTION nmc_api.handle_many(jsonb);
DROP FUNCTION nmc_api.grouped_routes();
-- end issue 21 (edge group commit)
