-- 0.2.0 → 0.3.0, assembled by extension/Makefile (upgrades/assemble.pl) into
-- nevermisscall--0.2.0--0.3.0.sql: table changes written here as upgrade steps;
-- "--@include f" brings sql/f.sql (new in this version), "--@replace f name" the
-- current text of a changed function; then the OpenAPI document, the route
-- dispatcher and sql/grants.sql. test/upgrade/check.sh proves the result equals
-- a fresh 0.3.0 install.
\echo Use "ALTER EXTENSION nevermisscall UPDATE" to load this file. \quit

-- Inbound texts: the webhook records them in the inbox; the inbox worker threads them.
-- The worker is a background worker of the new library: Postgres must be restarted
-- with it (`make run` restarts when the library changes). Until then the SMS webhook
-- fails (Twilio retries), and nothing is lost.
--@include sms_inbox
--@replace sms_inbound nmc.webhook_sms

-- The inbox on the status page and in /metrics.
CREATE POLICY monitoring ON nmc.sms_inbox FOR SELECT TO nmc_monitor USING (true);
--@replace monitoring nmc.system_inbox_health
--@replace monitoring nmc_api.metrics
--@replace api_feed_views nmc.api_status

-- Routine inbound texts are threaded many at once.
--@replace phone nmc.phone_or_null
--@replace events nmc.emit_events
-- Form fields to JSON in one call instead of a loop.
--@replace twilio_signature nmc.form_object

-- Foreign keys that only repeated what (business_id, customer_id) → customers
-- already guarantees: each cost a lookup and a lock on the business's row per insert.
ALTER TABLE nmc.conversations DROP CONSTRAINT conversations_business_id_fkey;
ALTER TABLE nmc.messages DROP CONSTRAINT messages_business_id_fkey;
-- Webhook handlers first in the route dispatcher (rebuilt below); exact routes skip the path regex.
--@replace api_dispatch nmc.api_dispatch_build
--@replace api nmc_api.handle
--@replace twilio_signature nmc.webhook_signing_token
-- A returning customer is found without writing a new version of its row.
--@replace customers nmc.customer_upsert
-- Every business's health event in business order, as nmc.emit_events moves counters.
--@replace monitoring nmc.report_system_health
-- A timer whose handler meets a deadlock fires again instead of recording an error.
--@replace timers nmc.timer_fire
