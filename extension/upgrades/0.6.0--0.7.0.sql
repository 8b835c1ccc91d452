-- 0.6.0 → 0.7.0, assembled by extension/Makefile (upgrades/assemble.pl) into
-- nevermisscall--0.6.0--0.7.0.sql: table changes written here as upgrade steps;
-- "--@include f" brings sql/f.sql (new in this version), "--@replace f name" the
-- current text of a changed function; then the OpenAPI document, the route
-- dispatcher and sql/grants.sql. test/upgrade/check.sh proves the result equals
-- a fresh 0.7.0 install.
\echo Use "ALTER EXTENSION nevermisscall UPDATE" to load this file. \quit

-- Voicemail and kept files (sql/media_files.sql, sql/voicemail.sql): a missed
-- caller may leave a message; recordings and MMS photos are copied from Twilio
-- and served through the API.
ALTER TYPE nmc.http_response ADD ATTRIBUTE bytes bytea;
COMMENT ON TYPE nmc.http_response IS 'What an API or webhook handler answers: HTTP status, a JSON body (or, with content_type, a text body such as TwiML, or bytes such as a recording), and extra header lines ("Name: value", newline-separated) or NULL.';
--@replace schema nmc.respond
--@replace schema nmc.respond_text
--@replace schema nmc.respond_bytes
DROP FUNCTION nmc_api.handle(text, text, jsonb, jsonb, text, text, text);
--@replace api nmc_api.handle
ALTER TABLE nmc.businesses ADD COLUMN voicemail_enabled boolean NOT NULL DEFAULT true;
ALTER TABLE nmc.businesses ADD COLUMN appointment_buffer_minutes int NOT NULL DEFAULT 0 CHECK (appointment_buffer_minutes BETWEEN 0 AND 240);
--@replace businesses nmc.business_json
--@replace businesses nmc.business_update
INSERT INTO nmc.settings (name, value, is_secret, description) VALUES
    ('openai_transcription_model', 'whisper-1', false, 'Model that transcribes voicemails (OpenAI audio transcriptions).'),
    ('voicemail_max_seconds', '120', false, 'The longest voicemail a caller can leave.');
--@include media_files
--@replace messages nmc.messages_media_keep
CREATE TRIGGER messages_media_keep BEFORE INSERT ON nmc.messages
    FOR EACH ROW WHEN (NEW.media IS NOT NULL AND NEW.direction = 'inbound') EXECUTE FUNCTION nmc.messages_media_keep();
--@replace messages nmc.message_json
--@replace twilio nmc.twilio_media_fetch_build
--@replace twilio nmc.twilio_media_fetch_apply
--@replace twilio nmc.twilio_media_fetch_failed
--@replace twiml nmc.twiml_say_and_record
DROP FUNCTION nmc.call_answer_twiml(nmc.businesses, text);
--@replace calls nmc.call_answer_twiml
--@replace calls nmc.webhook_voice
--@replace calls nmc.webhook_voice_dial
--@replace calls nmc.call_json
ALTER TABLE nmc.webhook_inbox DROP CONSTRAINT webhook_inbox_kind_check;
ALTER TABLE nmc.webhook_inbox ADD CONSTRAINT webhook_inbox_kind_check
    CHECK (kind IN ('sms', 'sms_status', 'voice', 'voice_dial', 'voice_status', 'voice_recording'));
COMMENT ON TABLE nmc.webhook_inbox IS 'Twilio webhooks accepted and not yet applied (normally for a few milliseconds). kind: sms (an inbound text), sms_status, voice (an incoming call), voice_dial (the forwarded call ended), voice_status, voice_recording (a voicemail). params: the webhook''s form fields (a voice webhook adds nmc_answer, what the caller was told). failed_at/error: applying it raised an error; the row is kept and skipped until a DBA clears failed_at (then it is applied again).';
--@replace webhook_inbox nmc.webhook_inbox_apply
--@include voicemail
INSERT INTO nmc.job_kinds (kind, provider, max_attempts, connect_timeout_ms, total_timeout_ms, description) VALUES
    ('twilio.media.fetch', 'twilio', 6, 3000, 60000, 'Copy a file Twilio holds (a voicemail, an MMS photo) into the database'),
    ('openai.audio.transcribe', 'openai', 3, 5000, 120000, 'Transcribe a voicemail');
--@replace job_dispatch nmc.job_build_request
--@replace job_dispatch nmc.job_apply
--@replace job_dispatch nmc.job_on_failure
--@replace job_dispatch nmc.job_on_dropped
--@replace dispatcher nmc.dispatcher_claim
--@replace webhook_fallbacks nmc_api.webhook_fallbacks

-- A buffer after each appointment (travel, clean-up), kept by the exclusion constraint.
ALTER TABLE nmc.appointments ADD COLUMN blocks tstzrange;
UPDATE nmc.appointments SET blocks = during;
ALTER TABLE nmc.appointments ALTER COLUMN blocks SET NOT NULL;
ALTER TABLE nmc.appointments ADD CONSTRAINT appointments_blocks_cover_during CHECK (lower(blocks) = lower(during) AND upper(blocks) >= upper(during));
ALTER TABLE nmc.appointments DROP CONSTRAINT appointments_no_double_booking;
ALTER TABLE nmc.appointments ADD CONSTRAINT appointments_no_double_booking EXCLUDE USING gist (business_id WITH =, blocks WITH &&) WHERE (status = 'booked');
COMMENT ON TABLE nmc.appointments IS 'Booked jobs. during is [start, end); blocks is during with the business''s appointment_buffer_minutes after it (as when booked or moved); the exclusion constraint makes booked appointments of one business whose blocks overlap impossible — a job never starts within the buffer of another.';
--@replace appointments nmc.appointment_blocks
--@replace appointments nmc.appointments_blocks_set
CREATE TRIGGER appointments_blocks_set BEFORE INSERT OR UPDATE OF during ON nmc.appointments
    FOR EACH ROW EXECUTE FUNCTION nmc.appointments_blocks_set();
--@replace appointments nmc.open_slots
--@replace appointments nmc.appointment_book
--@replace appointments nmc.appointment_move

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

-- Missed calls at the floor (issue 21): a run of voice webhooks is applied at
-- once (nmc.calls_apply) and its missed calls decided and texted together
-- (nmc.calls_missed); one call is a run of one. Customers, leads, conversations
-- and texts each have one set-based function, the single ones call it.
DROP FUNCTION nmc.call_missed(nmc.calls, text, timestamptz);
DROP FUNCTION nmc.call_rang(nmc.webhook_inbox);
DROP FUNCTION nmc.call_dial_ended(nmc.webhook_inbox);
DROP FUNCTION nmc.call_record(nmc.webhook_inbox, text);
--@replace customers nmc.customers_upsert
--@replace customers nmc.customer_upsert
--@replace leads nmc.leads_for_calls
--@replace leads nmc.lead_for_call
--@replace conversations nmc.conversations_open
--@replace conversations nmc.conversation_open
--@replace jobs nmc.jobs_enqueue
--@replace jobs nmc.job_enqueue
--@replace messages nmc.sms_enqueue_many
--@replace messages nmc.sms_enqueue
--@replace messages nmc.sms_send_many
--@replace messages nmc.sms_send
--@replace calls nmc.calls_missed
--@replace calls nmc.calls_apply
--@replace calls nmc.webhook_voice
--@replace calls nmc.webhook_voice_dial
--@replace owner_alerts nmc.owner_phones
--@replace webhook_inbox nmc.webhook_inbox_apply
--@replace webhook_inbox nmc.webhook_inbox_run
