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
