-- 0.7.0 → 0.8.0, assembled by extension/Makefile (upgrades/assemble.pl) into
-- nevermisscall--0.7.0--0.8.0.sql: table changes written here as upgrade steps;
-- "--@include f" brings sql/<domain>/f.sql (new in this version), "--@replace f name" the
-- current text of a changed function; then the OpenAPI document, the route
-- dispatcher and sql/platform/grants.sql. test/upgrade/check.sh proves the result equals
-- a fresh 0.8.0 install.
\echo Use "ALTER EXTENSION nevermisscall UPDATE" to load this file. \quit

-- sql/ split into domain folders (issue 16): catalog comments that name a file follow it.
COMMENT ON TABLE nmc.job_kinds IS 'Job kinds and their tunables: retry limit and timeouts. Which functions build, apply, fail and simulate each kind: sql/outbox/job_dispatch.sql.';
COMMENT ON COLUMN nmc.jobs.held_at IS 'Since when the job waits behind its provider''s open circuit (sql/outbox/provider_circuits.sql): not sent, its retry budget not spent.';
--@replace calls nmc.call_answer_twiml
--@replace calls nmc.call_json
--@replace owner_alerts nmc.owner_alert
