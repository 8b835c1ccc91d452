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

-- Issue 6: the assistant with OpenAI tools, the radius service area, lead details
-- and reasons, the owner's emergency text. Columns first, then the new file, then
-- the functions that changed.
ALTER TABLE nmc.businesses
    ADD COLUMN service_radius_km numeric(5,1) CHECK (service_radius_km > 0 AND service_radius_km <= 500),
    ADD COLUMN service_lat double precision CHECK (service_lat BETWEEN -90 AND 90),
    ADD COLUMN service_lng double precision CHECK (service_lng BETWEEN -180 AND 180),
    ADD COLUMN emergency_sms_to_owner boolean NOT NULL DEFAULT true;
ALTER TABLE nmc.leads
    ADD COLUMN service_address text CHECK (length(service_address) <= 300),
    ADD COLUMN problem text CHECK (length(problem) <= 1000),
    ADD COLUMN urgency text CHECK (urgency IN ('normal', 'urgent', 'emergency')),
    ADD COLUMN status_reason text CHECK (length(status_reason) <= 500);
--@include ai_engine
--@replace businesses nmc.business_json
--@replace businesses nmc.business_update
--@replace leads nmc.lead_json
--@replace api_feed_views nmc.api_lead_patch
--@replace emergencies nmc.conversation_emergency
--@replace emergencies nmc.owner_alert_send
--@replace openai nmc.openai_chat_apply
--@replace maps nmc.maps_geocode_apply
--@replace maps nmc.maps_geocode_effects
--@replace job_dispatch nmc.job_on_failure
--@replace sms_inbound nmc.webhook_sms
--@replace conversations nmc.conversation_human_window_expired
--@replace intake_engine nmc.intake_turn
--@replace intake_engine nmc.intake_reply
-- The intake engine also understands "tomorrow 9am" for the slots it offered.
--@replace intake_engine nmc.intake_slot_by_time

-- Twilio signatures computed in C.
DROP FUNCTION nmc.twilio_url_variants(text);
--@replace twilio_signature nmc.twilio_signature
--@replace twilio_signature nmc.twilio_signature_valid

-- What the dashboard asked for: the customer on new conversations, missed calls and
-- leads and on a conversation's detail; message.status when a text is sent or fails;
-- sandbox number searches that leave out numbers already taken.
--@replace customers nmc.customer_brief
--@replace conversations nmc.conversation_open
--@replace calls nmc.call_missed
--@replace leads nmc.lead_for_call
--@replace api_onboarding nmc.api_conversation_get
--@replace twilio nmc.twilio_sms_send_apply
--@replace twilio nmc.twilio_sms_send_failed
--@replace twilio nmc.twilio_numbers_search_simulate
-- /api/status shows the edge's WebSocket clients.
--@replace api_feed_views nmc.api_status

-- Shared pieces instead of near-copies: queueing a text, the active lead, closing a conversation.
--@replace messages nmc.sms_enqueue
--@replace messages nmc.sms_send
--@replace leads nmc.active_lead
--@replace conversations nmc.conversation_close
--@replace housekeeping nmc.close_idle_conversations
