-- 0.3.0 → 0.4.0, assembled by extension/Makefile (upgrades/assemble.pl) into
-- nevermisscall--0.3.0--0.4.0.sql: table changes written here as upgrade steps;
-- "--@include f" brings sql/f.sql (new in this version), "--@replace f name" the
-- current text of a changed function; then the OpenAPI document, the route
-- dispatcher and sql/grants.sql. test/upgrade/check.sh proves the result equals
-- a fresh 0.4.0 install.
\echo Use "ALTER EXTENSION nevermisscall UPDATE" to load this file. \quit

-- Threading many texts at once no longer compares every text with every other
-- (deleting the batch from the inbox, matching conversations with their timers).
--@replace sms_inbox nmc.sms_inbox_run
--@replace sms_inbox nmc.sms_thread_routine
