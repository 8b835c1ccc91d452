-- voicemail.sql — a caller whose call was missed can leave a message. The
-- caller hears the business's words, then Twilio records (TwiML <Record>, see
-- nmc.call_answer_twiml); the greeting text has gone out already, the
-- recording never delays it. Twilio's recording status callback is accepted
-- into the webhook inbox like every webhook and applied here: the voicemail is
-- kept on the call, its audio copied from Twilio (sql/conversations/media_files.sql, fetched by twilio.media.fetch), and,
-- with an OpenAI key, transcribed (openai.audio.transcribe); the transcript
-- joins the caller's conversation and lead, and the owner is alerted.
CREATE TABLE nmc.voicemails (
    id                uuid NOT NULL DEFAULT gen_random_uuid(),
    business_id       uuid NOT NULL REFERENCES nmc.businesses (id) ON DELETE CASCADE,
    call_id           uuid NOT NULL,
    recording_sid     text NOT NULL CHECK (recording_sid ~ '^RE[0-9a-zA-Z]{32}$'),
    status            text NOT NULL CHECK (status IN ('completed', 'absent', 'failed')),
    duration_seconds  int CHECK (duration_seconds >= 0),
    file_id           uuid,
    transcript        text CHECK (length(transcript) <= 4000),
    transcript_status text NOT NULL DEFAULT 'none' CHECK (transcript_status IN ('none', 'pending', 'done', 'failed')),
    message_id        uuid,
    error_code        text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (business_id, id),   -- keyed by business, ready to distribute (docs/scaling.md)
    UNIQUE (business_id, recording_sid),
    FOREIGN KEY (business_id, call_id) REFERENCES nmc.calls (business_id, id) ON DELETE CASCADE,
    FOREIGN KEY (business_id, file_id) REFERENCES nmc.media_files (business_id, id) ON DELETE SET NULL (file_id)
);
COMMENT ON TABLE nmc.voicemails IS 'A message a caller left after a missed call, from Twilio''s recording status callback (RecordingSid): completed (audio in file_id, served by /api/media/{id}), absent (nothing was said) or failed; transcript_status none (no OpenAI key), pending, done (transcript, also a message in the conversation: message_id) or failed.';
CREATE INDEX voicemails_call ON nmc.voicemails (business_id, call_id);
-- A kept file finds the voicemail waiting for it (nmc.voicemail_audio_kept), and a file's removal its reference.
CREATE INDEX voicemails_file ON nmc.voicemails (business_id, file_id);
CREATE TRIGGER voicemails_touch BEFORE UPDATE ON nmc.voicemails FOR EACH ROW EXECUTE FUNCTION nmc.touch_updated_at();
ALTER TABLE nmc.voicemails ENABLE ROW LEVEL SECURITY;
ALTER TABLE nmc.voicemails FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON nmc.voicemails
    USING (business_id = nmc.current_business_id())
    WITH CHECK (business_id = nmc.current_business_id());

CREATE FUNCTION nmc.voicemail_json(v nmc.voicemails)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT jsonb_build_object('id', v.id, 'status', v.status, 'duration_seconds', v.duration_seconds,
                              'audio_url', CASE WHEN f.status = 'stored' THEN nmc.media_url(f.id) END,
                              'audio_status', coalesce(f.status, CASE WHEN v.status = 'completed' THEN 'failed' END),
                              'transcript', v.transcript, 'transcript_status', v.transcript_status, 'created_at', v.created_at)
      FROM (SELECT v.file_id) x LEFT JOIN nmc.media_files f ON f.business_id = v.business_id AND f.id = x.file_id
$$;
COMMENT ON FUNCTION nmc.voicemail_json(nmc.voicemails) IS 'The API representation of a voicemail: status, length, where to play it (audio_url, once copied from Twilio; audio_status fetching/stored/failed), transcript and its status.';

CREATE FUNCTION nmc.call_voicemail_json(p_call_id uuid)
RETURNS jsonb
-- PL/pgSQL, not SQL: a SQL function with ORDER BY … LIMIT cannot be inlined and was
-- planned again on every call (a quarter of a millisecond on every missed call's event).
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN (SELECT nmc.voicemail_json(v) FROM nmc.voicemails v
             WHERE v.call_id = p_call_id AND v.status = 'completed' ORDER BY v.created_at DESC LIMIT 1);
END
$$;
COMMENT ON FUNCTION nmc.call_voicemail_json(uuid) IS 'The voicemail left on a call (the latest completed one), or NULL.';

CREATE FUNCTION nmc.voicemail_recording_url(pn nmc.phone_numbers)
RETURNS text
LANGUAGE sql STABLE
AS $$ SELECT nmc.twilio_webhook_url(nmc.settings_json(), '/webhooks/twilio/voice/recording') || '?To=' || nmc.url_encode(pn.phone) $$;
COMMENT ON FUNCTION nmc.voicemail_recording_url(nmc.phone_numbers) IS 'Our recording status callback URL for a call to pn: the business number rides in the query (signed by Twilio with the rest), since the callback carries no To.';

CREATE FUNCTION nmc.webhook_voice_recording(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $$
DECLARE
    sid text := nmc.webhook_field(req, 'RecordingSid');
    rec_status text := nmc.webhook_field(req, 'RecordingStatus');
    pn nmc.phone_numbers;
BEGIN
    PERFORM nmc.webhook_field(req, 'CallSid');
    IF sid !~ '^RE[0-9a-zA-Z]{32}$' THEN
        PERFORM nmc.raise_api_error(400, 'invalid_field', 'RecordingSid is not a recording SID', 'RecordingSid');
    END IF;
    pn := nmc.webhook_tenant(req #>> '{query,To}');
    IF pn.id IS NULL THEN
        RAISE LOG 'nevermisscall: recording % for a number that is not ours (%)', sid, req #>> '{query,To}';
    ELSIF rec_status IN ('completed', 'absent', 'failed') THEN
        PERFORM nmc.webhook_inbox_put('voice_recording', sid || ' ' || rec_status, pn, req -> 'body');
    END IF;
    RETURN nmc.twiml(NULL);
END
$$;
COMMENT ON FUNCTION nmc.webhook_voice_recording(jsonb) IS 'POST /webhooks/twilio/voice/recording?To=<our number>: Twilio''s recording status callback for a voicemail (RecordingSid, RecordingStatus, RecordingUrl, RecordingDuration, CallSid, ErrorCode), accepted into the webhook inbox (nmc.call_voicemail_recorded applies it). Idempotent on RecordingSid and status; in-progress is answered and ignored.';

CREATE FUNCTION nmc.webhook_voice_recorded(req jsonb)
RETURNS nmc.http_response
LANGUAGE sql
AS $$ SELECT nmc.twiml('<Hangup/>') $$;
COMMENT ON FUNCTION nmc.webhook_voice_recorded(jsonb) IS 'POST /webhooks/twilio/voice/recorded: the <Record> action — the caller finished the voicemail; hang up (the recording arrives by its status callback).';

CREATE FUNCTION nmc.call_voicemail_recorded(t nmc.webhook_inbox)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    c nmc.calls;
    v nmc.voicemails;
    fid uuid;
    rec_url text := t.params ->> 'RecordingUrl';
BEGIN
    SELECT * INTO c FROM nmc.calls WHERE twilio_call_sid = t.params ->> 'CallSid' AND business_id = t.business_id;
    IF NOT FOUND THEN
        RAISE LOG 'nevermisscall: recording % for call %, which we have no record of', t.params ->> 'RecordingSid', t.params ->> 'CallSid';
        RETURN;
    END IF;
    INSERT INTO nmc.voicemails (business_id, call_id, recording_sid, status, duration_seconds, error_code)
    VALUES (c.business_id, c.id, t.params ->> 'RecordingSid', t.params ->> 'RecordingStatus',
            CASE WHEN t.params ->> 'RecordingDuration' ~ '^[0-9]{1,6}$' THEN (t.params ->> 'RecordingDuration')::int END,
            nullif(t.params ->> 'ErrorCode', '0'))
    ON CONFLICT (business_id, recording_sid) DO NOTHING
    RETURNING * INTO v;
    IF NOT FOUND OR v.status <> 'completed' THEN
        RETURN;  -- Applied before, or nothing was recorded (absent: silence or too short).
    END IF;
    IF coalesce(rec_url, '') <> '' THEN
        -- Twilio serves a recording as WAV at its URL, as MP3 with .mp3 (smaller, and what browsers and OpenAI take).
        fid := nmc.media_file_request(c.business_id, rec_url || CASE WHEN rec_url !~ '\.(mp3|wav)$' THEN '.mp3' ELSE '' END, 'audio/mpeg');
        UPDATE nmc.voicemails SET file_id = fid WHERE business_id = v.business_id AND id = v.id RETURNING * INTO v;
    END IF;
    PERFORM nmc.voicemail_changed(v);
END
$$;
COMMENT ON FUNCTION nmc.call_voicemail_recorded(nmc.webhook_inbox) IS 'Applies an accepted recording status callback: the voicemail is kept on its call (by CallSid), and a completed one''s audio is copied from Twilio (MP3, nmc.media_file_request; transcribed once kept, see nmc.voicemail_audio_kept). Idempotent on RecordingSid.';

CREATE FUNCTION nmc.voicemail_changed(v nmc.voicemails)
RETURNS void
LANGUAGE sql
AS $$ SELECT nmc.emit_event(c.business_id, 'call.updated', nmc.call_json(c)) FROM nmc.calls c WHERE c.id = v.call_id $$;
COMMENT ON FUNCTION nmc.voicemail_changed(nmc.voicemails) IS 'The dashboard hears that a voicemail changed (its audio kept, its words written): call.updated with the call.';

-- What happens once a voicemail's audio is kept (or could not be).
CREATE FUNCTION nmc.voicemail_audio_kept(f nmc.media_files)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    v nmc.voicemails;
BEGIN
    SELECT * INTO v FROM nmc.voicemails WHERE file_id = f.id AND business_id = f.business_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF f.status = 'stored' AND nmc.setting('openai_api_key') <> '' THEN
        UPDATE nmc.voicemails SET transcript_status = 'pending' WHERE business_id = v.business_id AND id = v.id;
        PERFORM nmc.job_enqueue('openai.audio.transcribe', v.business_id, jsonb_build_object('voicemail_id', v.id), 'transcribe:' || v.id);
    ELSE
        PERFORM nmc.voicemail_told(v);
    END IF;
    PERFORM nmc.voicemail_changed(v);
END
$$;
COMMENT ON FUNCTION nmc.voicemail_audio_kept(nmc.media_files) IS 'A voicemail''s audio was copied from Twilio (or could not be): with an OpenAI key it is transcribed (openai.audio.transcribe), else the owner is told now (nmc.voicemail_told).';

-- The voicemail joins the conversation and the lead, and the owner hears of it: once.
CREATE FUNCTION nmc.voicemail_told(v nmc.voicemails)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    c nmc.calls;
    b nmc.businesses;
    conv nmc.conversations;
    m nmc.messages;
    words text;
BEGIN
    SELECT * INTO c FROM nmc.calls WHERE id = v.call_id;
    SELECT * INTO b FROM nmc.businesses WHERE id = v.business_id;
    IF c.customer_id IS NULL OR v.message_id IS NOT NULL THEN
        RETURN;  -- The owner's own phone, or told before.
    END IF;
    conv := nmc.conversation_open(c.business_id, c.customer_id, c.phone_number_id, c.lead_id);
    words := CASE WHEN v.transcript IS NOT NULL
                  THEN 'Voicemail: ' || v.transcript
                  ELSE format('Voicemail (%s s)', coalesce(v.duration_seconds, 0)) END;
    -- The recording rides along (our copy), so the thread plays it too.
    INSERT INTO nmc.messages (business_id, customer_id, conversation_id, direction, author, from_phone, to_phone, body, status, media)
    SELECT c.business_id, c.customer_id, conv.id, 'inbound', 'customer', cu.phone, pn.phone, left(words, 1600), 'received',
           (SELECT jsonb_build_array(jsonb_build_object('content_type', f.content_type, 'file_id', f.id))
              FROM nmc.media_files f WHERE f.business_id = v.business_id AND f.id = v.file_id AND f.status = 'stored')
      FROM nmc.customers cu, nmc.phone_numbers pn WHERE cu.id = c.customer_id AND pn.id = c.phone_number_id
    RETURNING * INTO m;
    UPDATE nmc.voicemails SET message_id = m.id WHERE business_id = v.business_id AND id = v.id;
    UPDATE nmc.conversations SET last_message_at = greatest(last_message_at, m.created_at) WHERE id = conv.id RETURNING * INTO conv;
    PERFORM nmc.emit_event(b.id, 'message.created', nmc.message_json(m) - 'body');
    IF v.transcript IS NOT NULL AND c.lead_id IS NOT NULL THEN
        UPDATE nmc.leads SET problem = left(v.transcript, 1000), last_activity_at = now()
         WHERE id = c.lead_id AND problem IS NULL;
    END IF;
    PERFORM nmc.owner_alert(b, conv, 'customer_replied',
        format('%s left a voicemail%s %s', nmc.owner_alert_who(conv),
               CASE WHEN v.transcript IS NOT NULL THEN ': "' || left(v.transcript, 200) || '"' ELSE format(' (%s s).', coalesce(v.duration_seconds, 0)) END,
               nmc.owner_alert_link(conv)));
END
$$;
COMMENT ON FUNCTION nmc.voicemail_told(nmc.voicemails) IS 'A voicemail joins its caller''s conversation as their message ("Voicemail: <transcript>", or its length without one; the recording as its media), fills the lead''s problem if none was captured, and alerts the owner (customer_replied). Once per voicemail; never for a call from the owner''s own phone.';

CREATE FUNCTION nmc.openai_transcribe_build(j nmc.jobs, cfg jsonb)
RETURNS nmc.http_request
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    f nmc.media_files;
    boundary text := 'nmc-' || encode(gen_random_bytes(16), 'hex');
    crlf bytea := '\x0d0a';
    part bytea;
BEGIN
    IF coalesce(cfg ->> 'openai_api_key', '') = '' THEN
        PERFORM nmc.job_not_wanted('OpenAI is not configured (NMC_OPENAI_API_KEY is empty)', 'not_configured');
    END IF;
    SELECT f2.* INTO f FROM nmc.voicemails v JOIN nmc.media_files f2 ON f2.id = v.file_id
     WHERE v.business_id = j.business_id AND v.id = (j.payload ->> 'voicemail_id')::uuid AND f2.business_id = v.business_id AND f2.status = 'stored';
    IF NOT FOUND THEN
        PERFORM nmc.job_not_wanted('the voicemail or its audio is gone', 'not_needed');
    END IF;
    -- multipart/form-data (RFC 7578): model, response_format, then the file.
    part := convert_to(format(E'--%s\r\nContent-Disposition: form-data; name="model"\r\n\r\n%s\r\n' ||
                              E'--%s\r\nContent-Disposition: form-data; name="response_format"\r\n\r\njson\r\n' ||
                              E'--%s\r\nContent-Disposition: form-data; name="file"; filename="voicemail.%s"\r\nContent-Type: %s\r\n\r\n',
                              boundary, cfg ->> 'openai_transcription_model', boundary, boundary,
                              CASE WHEN f.content_type LIKE '%wav%' THEN 'wav' ELSE 'mp3' END, f.content_type), 'UTF8')
            || f.bytes || crlf || convert_to('--' || boundary || '--', 'UTF8') || crlf;
    RETURN ROW('POST', rtrim(cfg ->> 'openai_api_base', '/') || '/audio/transcriptions',
               ARRAY['Content-Type: multipart/form-data; boundary=' || boundary, 'Accept: application/json',
                     'Authorization: Bearer ' || (cfg ->> 'openai_api_key')],
               NULL, NULL, NULL, part)::nmc.http_request;
END
$$;
COMMENT ON FUNCTION nmc.openai_transcribe_build(nmc.jobs, jsonb) IS 'openai.audio.transcribe: POST {openai_api_base}/audio/transcriptions, multipart/form-data with model (openai_transcription_model), response_format json and the voicemail''s audio as file.';

CREATE FUNCTION nmc.openai_transcribe_apply(j nmc.jobs, response jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    v nmc.voicemails;
    words text := btrim(regexp_replace(coalesce(response ->> 'text', ''), '\s+', ' ', 'g'));
BEGIN
    IF jsonb_typeof(response -> 'text') IS DISTINCT FROM 'string' THEN
        PERFORM nmc.job_permanent_error('the transcription has no text', 'invalid_response');
    END IF;
    UPDATE nmc.voicemails SET transcript = nullif(left(words, 4000), ''), transcript_status = 'done'
     WHERE business_id = j.business_id AND id = (j.payload ->> 'voicemail_id')::uuid AND transcript_status = 'pending'
    RETURNING * INTO v;
    IF FOUND THEN
        PERFORM nmc.voicemail_told(v);
        PERFORM nmc.voicemail_changed(v);
    END IF;
    RETURN jsonb_build_object('voicemail_id', v.id, 'characters', length(words));
END
$$;
COMMENT ON FUNCTION nmc.openai_transcribe_apply(nmc.jobs, jsonb) IS 'openai.audio.transcribe success: the transcript is kept on the voicemail, which then joins the conversation and the lead and alerts the owner (nmc.voicemail_told).';

CREATE FUNCTION nmc.openai_transcribe_failed(j nmc.jobs)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    v nmc.voicemails;
BEGIN
    UPDATE nmc.voicemails SET transcript_status = 'failed'
     WHERE business_id = j.business_id AND id = (j.payload ->> 'voicemail_id')::uuid AND transcript_status = 'pending'
    RETURNING * INTO v;
    IF FOUND THEN
        PERFORM nmc.voicemail_told(v);   -- Without words: the owner still hears of it.
        PERFORM nmc.voicemail_changed(v);
    END IF;
END
$$;
COMMENT ON FUNCTION nmc.openai_transcribe_failed(nmc.jobs) IS 'openai.audio.transcribe given up (or dropped): the voicemail is marked so and still told to the conversation and the owner, without words.';
