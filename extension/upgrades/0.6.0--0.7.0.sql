-- 0.6.0 → 0.7.0, assembled by extension/Makefile (upgrades/assemble.pl) into
-- nevermisscall--0.6.0--0.7.0.sql: table changes written here as upgrade steps;
-- "--@include f" brings sql/f.sql (new in this version), "--@replace f name" the
-- current text of a changed function; then the OpenAPI document, the route
-- dispatcher and sql/grants.sql. test/upgrade/check.sh proves the result equals
-- a fresh 0.7.0 install.
\echo Use "ALTER EXTENSION nevermisscall UPDATE" to load this file. \quit

-- Issue 19: the offline assistant understands people (intake_language.sql,
-- intake_parse.sql new; the parsers that were in intake_engine.sql moved there).
--@include intake_language
DROP FUNCTION nmc.intake_name(text);
DROP FUNCTION nmc.intake_address(text);
DROP FUNCTION nmc.intake_slot_choice(text, int);
DROP FUNCTION nmc.intake_slot_by_time(text, jsonb, text);
--@include intake_parse
--@replace appointments nmc.appointment_when
DROP FUNCTION nmc.appointment_confirmation(uuid);
--@replace appointments nmc.appointment_confirmation
--@replace intake_engine nmc.intake_reply
--@replace intake_engine nmc.intake_offer
--@replace intake_engine nmc.intake_slot_list
--@replace intake_engine nmc.intake_turn
--@replace ai_engine nmc.ai_system_prompt
