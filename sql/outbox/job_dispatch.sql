-- job_dispatch.sql — the one place that maps each job kind to its functions
-- (request builder, success applier, failure effects, sandbox simulation)
-- and registers the kinds with their limits. Static dispatch, not EXECUTE:
-- PL/pgSQL caches these plans, which keeps the dispatcher's per-job cost low.
CREATE FUNCTION nmc.job_build_request(j nmc.jobs, cfg jsonb)
RETURNS nmc.http_request
LANGUAGE plpgsql
AS $$
BEGIN
    CASE j.kind
        WHEN 'twilio.sms.send' THEN RETURN nmc.twilio_sms_send_build(j, cfg);
        WHEN 'twilio.sms.login_code' THEN RETURN nmc.twilio_sms_login_code_build(j, cfg);
        WHEN 'twilio.numbers.search' THEN RETURN nmc.twilio_numbers_search_build(j, cfg);
        WHEN 'twilio.numbers.buy' THEN RETURN nmc.twilio_numbers_buy_build(j, cfg);
        WHEN 'twilio.numbers.owned' THEN RETURN nmc.twilio_numbers_owned_build(j, cfg);
        WHEN 'twilio.numbers.attach' THEN RETURN nmc.twilio_numbers_attach_build(j, cfg);
        WHEN 'twilio.numbers.detach' THEN RETURN nmc.twilio_numbers_detach_build(j, cfg);
        WHEN 'openai.chat' THEN RETURN nmc.openai_chat_build(j, cfg);
        WHEN 'maps.geocode' THEN RETURN nmc.maps_geocode_build(j, cfg);
        WHEN 'push.send' THEN RETURN nmc.push_send_build(j, cfg);
        WHEN 'twilio.media.fetch' THEN RETURN nmc.twilio_media_fetch_build(j, cfg);
        WHEN 'openai.audio.transcribe' THEN RETURN nmc.openai_transcribe_build(j, cfg);
    END CASE;
END
$$;
COMMENT ON FUNCTION nmc.job_build_request(nmc.jobs, jsonb) IS 'The HTTP request for a job, by kind, from the settings in cfg (raises for an unknown kind: the job then fails alone).';

CREATE FUNCTION nmc.job_apply(j nmc.jobs, response jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
BEGIN
    CASE j.kind
        WHEN 'twilio.sms.send' THEN RETURN nmc.twilio_sms_send_apply(j, response);
        WHEN 'twilio.sms.login_code' THEN RETURN nmc.twilio_sms_login_code_apply(j, response);
        WHEN 'twilio.numbers.search' THEN RETURN nmc.twilio_numbers_search_apply(j, response);
        WHEN 'twilio.numbers.buy' THEN RETURN nmc.twilio_numbers_buy_apply(j, response);
        WHEN 'twilio.numbers.owned' THEN RETURN nmc.twilio_numbers_owned_apply(j, response);
        WHEN 'twilio.numbers.attach' THEN RETURN nmc.twilio_numbers_attach_apply(j, response);
        WHEN 'twilio.numbers.detach' THEN RETURN nmc.twilio_numbers_detach_apply(j, response);
        WHEN 'openai.chat' THEN RETURN nmc.openai_chat_apply(j, response);
        WHEN 'maps.geocode' THEN RETURN nmc.maps_geocode_apply(j, response);
        WHEN 'push.send' THEN RETURN nmc.push_send_apply(j, response);
        WHEN 'twilio.media.fetch' THEN RETURN nmc.twilio_media_fetch_apply(j, response);
        WHEN 'openai.audio.transcribe' THEN RETURN nmc.openai_transcribe_apply(j, response);
    END CASE;
END
$$;
COMMENT ON FUNCTION nmc.job_apply(nmc.jobs, jsonb) IS 'Applies a successful response to the domain, by kind; returns what to keep as the job result.';

CREATE FUNCTION nmc.job_on_failure(j nmc.jobs, code text, message text)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    IF j.kind = 'twilio.sms.send' THEN
        PERFORM nmc.twilio_sms_send_failed(j, code, message);
    ELSIF j.kind = 'twilio.sms.login_code' THEN
        PERFORM nmc.twilio_sms_login_code_done(j);
    ELSIF j.kind = 'openai.chat' AND j.payload ? 'turn_id' THEN
        PERFORM nmc.ai_turn_failed(j, message);
    ELSIF j.kind = 'maps.geocode' THEN
        PERFORM nmc.maps_geocode_effects(j, NULL);
    ELSIF j.kind = 'push.send' THEN
        PERFORM nmc.push_send_failed(j, code);
    ELSIF j.kind = 'twilio.media.fetch' THEN
        PERFORM nmc.twilio_media_fetch_failed(j, code, message);
    ELSIF j.kind = 'openai.audio.transcribe' THEN
        PERFORM nmc.openai_transcribe_failed(j);
    END IF;
END
$$;
COMMENT ON FUNCTION nmc.job_on_failure(nmc.jobs, text, text) IS 'Domain effects of a permanent failure, by kind: a failed text marks the message (and may mark the customer); a sign-in code given up on forgets its text; a failed model call hands the conversation to a person; a failed geocoding answers the assistant''s area check; a push to a device gone (404, 410) forgets the device; a file that could not be copied, or a voicemail not transcribed, is marked so and the voicemail is still told.';

CREATE FUNCTION nmc.job_on_dropped(j nmc.jobs, code text, message text)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    IF j.kind = 'twilio.sms.send' THEN
        PERFORM nmc.twilio_sms_send_dropped(j, code, message);
    ELSIF j.kind = 'twilio.sms.login_code' THEN
        PERFORM nmc.twilio_sms_login_code_done(j);
    ELSIF j.kind = 'twilio.media.fetch' THEN
        PERFORM nmc.twilio_media_fetch_failed(j, code, message);
    ELSIF j.kind = 'openai.audio.transcribe' THEN
        PERFORM nmc.openai_transcribe_failed(j);
    END IF;
END
$$;
COMMENT ON FUNCTION nmc.job_on_dropped(nmc.jobs, text, text) IS 'Domain effects of a job dropped as no longer wanted, by kind: a text is marked dropped with the reason (and a stale one is told to the owner); a sign-in code forgets its text; a file or transcription no longer wanted (sandbox, no key) is marked failed.';

CREATE FUNCTION nmc.job_simulate(j nmc.jobs)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN CASE j.kind
        WHEN 'twilio.sms.send' THEN nmc.twilio_sms_send_simulate(j)
        WHEN 'twilio.sms.login_code' THEN nmc.twilio_sms_login_code_simulate(j)
        WHEN 'twilio.numbers.search' THEN nmc.twilio_numbers_search_simulate(j)
        WHEN 'twilio.numbers.buy' THEN nmc.twilio_numbers_buy_simulate(j)
        WHEN 'twilio.numbers.owned' THEN nmc.twilio_numbers_owned_simulate(j)
        WHEN 'twilio.numbers.attach' THEN nmc.twilio_numbers_attach_simulate(j)
        WHEN 'twilio.numbers.detach' THEN nmc.twilio_numbers_detach_simulate(j)
    END;
END
$$;
COMMENT ON FUNCTION nmc.job_simulate(nmc.jobs) IS 'Sandbox mode: the response the provider would give, by kind, or NULL for kinds that are never simulated.';

INSERT INTO nmc.job_kinds (kind, provider, max_attempts, connect_timeout_ms, total_timeout_ms, description) VALUES
    ('twilio.sms.send', 'twilio', 8, 3000, 15000, 'Send one SMS through Twilio Messages.json'),
    ('twilio.sms.login_code', 'twilio', 4, 3000, 15000, 'Text a sign-in code to the business''s own phone, outside any customer''s thread'),
    ('twilio.numbers.search', 'twilio', 3, 3000, 15000, 'Search available local numbers by area code'),
    ('twilio.numbers.buy', 'twilio', 3, 3000, 30000, 'Buy a number and point its webhooks at us'),
    ('twilio.numbers.owned', 'twilio', 3, 3000, 15000, 'List the numbers the account owns that no business uses yet'),
    ('twilio.numbers.attach', 'twilio', 3, 3000, 30000, 'Point a number the account owns at our webhooks, keeping its old ones'),
    ('twilio.numbers.detach', 'twilio', 3, 3000, 30000, 'Put back the webhooks an attached number had; it is no longer the business''s'),
    ('openai.chat', 'openai', 3, 5000, 60000, 'One chat completion for an AI turn'),
    ('maps.geocode', 'maps', 4, 3000, 10000, 'Geocode an address for the service-area check'),
    ('push.send', 'push', 5, 3000, 10000, 'Push an alert to one of the owner''s devices (Web Push)'),
    ('twilio.media.fetch', 'twilio', 6, 3000, 60000, 'Copy a file Twilio holds (a voicemail, an MMS photo) into the database'),
    ('openai.audio.transcribe', 'openai', 3, 5000, 120000, 'Transcribe a voicemail');
