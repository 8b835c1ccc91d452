-- 0.1.0 → 0.2.0, assembled by extension/Makefile (upgrades/assemble.pl) into
-- nevermisscall--0.1.0--0.2.0.sql: table changes written here as upgrade steps;
-- "--@include f" brings sql/f.sql (new in this version), "--@replace f name" the
-- current text of a changed function; then the OpenAPI document, the route
-- dispatcher and sql/grants.sql. test/upgrade/check.sh proves the result equals
-- a fresh 0.2.0 install.
\echo Use "ALTER EXTENSION nevermisscall UPDATE" to load this file. \quit

-- Sandbox rehearsals for the dashboard's "test it" step.
--@include sandbox

-- A new timer wakes the dispatcher only if due before its planned round.
--@replace dispatcher nmc.dispatcher_wake_at
--@replace dispatcher nmc.timer_wake_trigger
COMMENT ON FUNCTION nmc.dispatcher_wake_trigger() IS 'Statement trigger on jobs: new work wakes the dispatcher at commit. (Functions that change the schedule of existing work call nmc.dispatcher_wake themselves.)';
DROP TRIGGER timers_wake ON nmc.timers;
CREATE TRIGGER timers_wake AFTER INSERT ON nmc.timers
    FOR EACH ROW EXECUTE FUNCTION nmc.timer_wake_trigger();

-- The inbound-text path without SQL-language functions (re-parsed on every call) or per-term regexes.
--@replace sms_inbound nmc.sms_keyword
--@replace emergencies nmc.emergency_term_in
--@replace timers nmc.timer_cancel
COMMENT ON TABLE nmc.emergency_terms IS 'Words of danger per trade (trade_type NULL: every trade). Matched as whole words, case-insensitively, punctuation ignored, in inbound texts (terms are lower-case words separated by single spaces).';

-- Routes call their handlers through the generated nmc.api_dispatch, not a dynamic EXECUTE.
--@include api_dispatch
--@replace api nmc_api.handle
