-- twiml.sql — the one place that writes TwiML, Twilio's XML call and
-- message instructions (../shared/reference/twilio.md §1.2, §2.2).
CREATE FUNCTION nmc.xml_escape(t text)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$ SELECT replace(replace(replace(replace(replace(t, '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), '"', '&quot;'), '''', '&apos;') $$;
COMMENT ON FUNCTION nmc.xml_escape(text) IS 'Text made safe for XML content and attribute values.';

CREATE FUNCTION nmc.twiml(inner_xml text)
RETURNS nmc.http_response
LANGUAGE sql IMMUTABLE
AS $$ SELECT nmc.respond_text(200, 'text/xml', '<?xml version="1.0" encoding="UTF-8"?><Response>' || coalesce(inner_xml, '') || '</Response>') $$;
COMMENT ON FUNCTION nmc.twiml(text) IS 'A TwiML document (HTTP 200, text/xml) around the given verbs; no verbs = do nothing.';

CREATE FUNCTION nmc.twiml_dial(forward_to text, ring_timeout_seconds int, action_url text)
RETURNS nmc.http_response
LANGUAGE sql STABLE  -- format() is stable: declared IMMUTABLE, it was never inlined but planned at every call
AS $$
    SELECT nmc.twiml(format('<Dial timeout="%s" action="%s" method="POST" answerOnBridge="true"><Number>%s</Number></Dial>',
                            ring_timeout_seconds, nmc.xml_escape(action_url), nmc.xml_escape(forward_to)))
$$;
COMMENT ON FUNCTION nmc.twiml_dial(text, int, text) IS 'Forward the call to the owner''s phone; Twilio requests action_url with DialCallStatus when the dial ends.';

CREATE FUNCTION nmc.twiml_say_and_hang_up(message text)
RETURNS nmc.http_response
LANGUAGE sql IMMUTABLE
AS $$ SELECT nmc.twiml('<Say>' || nmc.xml_escape(message) || '</Say><Hangup/>') $$;
COMMENT ON FUNCTION nmc.twiml_say_and_hang_up(text) IS 'Say a message to the caller, then end the call.';

CREATE FUNCTION nmc.twiml_say_and_record(message text, max_seconds int, action_url text, status_callback_url text)
RETURNS nmc.http_response
LANGUAGE sql STABLE  -- format() is stable: declared IMMUTABLE, it was never inlined but planned at every call
AS $$
    SELECT nmc.twiml(format('<Say>%s</Say><Record action="%s" method="POST" maxLength="%s" timeout="5" playBeep="true" trim="trim-silence" '
                            'recordingStatusCallback="%s" recordingStatusCallbackMethod="POST" recordingStatusCallbackEvent="completed absent"/><Hangup/>',
                            nmc.xml_escape(message), nmc.xml_escape(action_url), max_seconds, nmc.xml_escape(status_callback_url)))
$$;
COMMENT ON FUNCTION nmc.twiml_say_and_record(text, int, text, text) IS 'Say a message, then record a voicemail after the beep (at most max_seconds; 5 s of silence ends it): Twilio requests action_url when the caller is done, and status_callback_url when the recording is completed or absent. Hang up if nothing was recorded.';
