-- 0.9.0 → 0.10.0, assembled by extension/Makefile (upgrades/assemble.pl) into
-- nevermisscall--0.9.0--0.10.0.sql: table changes written here as upgrade steps;
-- "--@include f" brings sql/<domain>/f.sql (new in this version), "--@replace f name" the
-- current text of a changed function; then the OpenAPI document, the route
-- dispatcher and sql/platform/grants.sql. test/upgrade/check.sh proves the result equals
-- a fresh 0.10.0 install.
\echo Use "ALTER EXTENSION nevermisscall UPDATE" to load this file. \quit

-- The dispatcher's claim chooses its jobs, then leases them by id: joined in one statement,
-- a plan made on an empty table's statistics re-ran the locking subquery for every job.
--@replace dispatcher nmc.dispatcher_claim

-- Functions planned at every call: IMMUTABLE SQL wrappers of format() (never inlined: format
-- is stable) are now STABLE, and nmc.message_json (a sub-select) is PL/pgSQL.
--@replace twiml nmc.twiml_dial
--@replace twiml nmc.twiml_say_and_record
--@replace greeting nmc.format_phone
--@replace messages nmc.message_json

-- A missed-call batch reads its calls and customers by key, whatever plan was made when the
-- tables were small (it read every call, and every customer of the business, before).
--@replace calls nmc.calls_missed
--@replace customers nmc.customers_upsert
