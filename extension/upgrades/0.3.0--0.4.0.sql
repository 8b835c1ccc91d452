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
-- Which texts are routine: each sender normalised once, the words of danger
-- looked for in all texts in one pass.
--@replace emergencies nmc.emergency_words
--@replace emergencies nmc.emergency_term_in

-- The edge commits concurrent SMS webhooks together (edge/handle_call.c).
--@replace api nmc_api.handle_many

-- Events lose their foreign key (one check per event): each is written with its
-- business's counter row, which has one, and now leaves with it.
ALTER TABLE nmc.events DROP CONSTRAINT events_business_id_fkey;
--@replace events nmc.events_of_gone_counters
CREATE TRIGGER event_counters_gone AFTER DELETE ON nmc.event_counters
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION nmc.events_of_gone_counters();
-- The accept path of a webhook does less: required fields checked at once, the
-- public URL read directly, the group statement planned once per session.
--@replace sms_inbound nmc.webhook_sms
--@replace twilio_signature nmc.twilio_request_is_signed
-- New timers wake the dispatcher once per statement (the earliest), not per row.
DROP TRIGGER timers_wake ON nmc.timers;
--@replace dispatcher nmc.timer_wake_trigger
CREATE TRIGGER timers_wake AFTER INSERT ON nmc.timers
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION nmc.timer_wake_trigger();
-- Plain-language opt-outs recognised by one pattern instead of four.
--@replace sms_inbound nmc.sms_keyword

-- The live-feed relay reads every business notified since its last look in one round trip.
--@replace feed nmc_api.ws_events_many

-- Unique (business_id, id) indexes nothing refers to, on the two tables every text inserts into.
ALTER TABLE nmc.messages DROP CONSTRAINT messages_business_id_id_key;
ALTER TABLE nmc.timers DROP CONSTRAINT timers_business_id_id_key;
--@replace events nmc.events_truncated_with_counters
CREATE TRIGGER event_counters_truncated AFTER TRUNCATE ON nmc.event_counters
    FOR EACH STATEMENT EXECUTE FUNCTION nmc.events_truncated_with_counters();
