-- 0.6.0 → 0.7.0, assembled by extension/Makefile (upgrades/assemble.pl) into
-- nevermisscall--0.6.0--0.7.0.sql: table changes written here as upgrade steps;
-- "--@include f" brings sql/f.sql (new in this version), "--@replace f name" the
-- current text of a changed function; then the OpenAPI document, the route
-- dispatcher and sql/grants.sql. test/upgrade/check.sh proves the result equals
-- a fresh 0.7.0 install.
\echo Use "ALTER EXTENSION nevermisscall UPDATE" to load this file. \quit

-- A number the Twilio account already owns (docs/twilio-setup.md, issue 20): listed
-- (twilio.numbers.owned), attached with our webhooks (twilio.numbers.attach), the
-- webhooks it had kept on the number to restore.
ALTER TABLE nmc.phone_numbers ADD COLUMN previous_webhooks jsonb;
COMMENT ON COLUMN nmc.phone_numbers.previous_webhooks IS 'For a number the account owned before it was attached (POST /api/phone-numbers/attach): the webhook URLs and methods it had then, to put back if it leaves us. NULL for a number bought through us.';
INSERT INTO nmc.job_kinds (kind, provider, max_attempts, connect_timeout_ms, total_timeout_ms, description) VALUES
    ('twilio.numbers.owned', 'twilio', 3, 3000, 15000, 'List the numbers the account owns that no business uses yet'),
    ('twilio.numbers.attach', 'twilio', 3, 3000, 30000, 'Point a number the account owns at our webhooks, keeping its old ones');
--@replace twilio nmc.twilio_number_our_webhooks
--@replace twilio nmc.twilio_numbers_buy_build
--@replace twilio nmc.twilio_number_webhooks
--@replace twilio nmc.twilio_numbers_owned_build
--@replace twilio nmc.twilio_numbers_owned_apply
--@replace twilio nmc.twilio_numbers_owned_simulate
--@replace twilio nmc.twilio_numbers_attach_build
--@replace twilio nmc.twilio_numbers_attach_apply
--@replace twilio nmc.twilio_numbers_attach_simulate
--@replace job_dispatch nmc.job_build_request
--@replace job_dispatch nmc.job_apply
--@replace job_dispatch nmc.job_simulate
--@replace api_onboarding nmc.api_phone_numbers_list
--@replace api_onboarding nmc.api_phone_numbers_owned
--@replace api_onboarding nmc.api_phone_numbers_attach
INSERT INTO nmc.api_routes (route_method, route_path, handler, auth, summary) VALUES
    ('POST', '/api/phone-numbers/owned', 'api_phone_numbers_owned', 'jwt', 'List the account''s numbers no business uses yet (a job)'),
    ('POST', '/api/phone-numbers/attach', 'api_phone_numbers_attach', 'jwt', 'Use a number the account owns: our webhooks on it, its old ones kept (a job)');
