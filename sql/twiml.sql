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
LANGUAGE sql IMMUTABLE
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
