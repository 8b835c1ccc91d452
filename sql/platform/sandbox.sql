-- sandbox.sql — sandbox mode's rehearsal routes: an owner (the dashboard's
-- "test it" step) plays an unanswered call or a customer's text to their own
-- number, and everything after runs exactly as for Twilio's webhooks.
CREATE FUNCTION nmc.sandbox_number()
RETURNS nmc.phone_numbers
LANGUAGE plpgsql
AS $$
DECLARE
    pn nmc.phone_numbers;
BEGIN
    IF NOT nmc.sandbox_mode() THEN
        PERFORM nmc.raise_api_error(409, 'sandbox_only',
            'rehearsals run in sandbox mode only; with Twilio configured, call your number from a phone');
    END IF;
    SELECT * INTO pn FROM nmc.phone_numbers WHERE business_id = nmc.current_business_id() AND detached_at IS NULL
     ORDER BY created_at LIMIT 1;
    IF NOT FOUND THEN
        PERFORM nmc.raise_api_error(409, 'no_phone_number', 'get a phone number first');
    END IF;
    RETURN pn;
END
$$;
COMMENT ON FUNCTION nmc.sandbox_number() IS 'The current business''s number for a rehearsal; NM409 sandbox_only outside sandbox mode, NM409 no_phone_number before it has one.';

CREATE FUNCTION nmc.sandbox_caller(req jsonb)
RETURNS text
LANGUAGE sql STABLE
AS $$ SELECT nmc.normalize_phone(coalesce(nullif(req #>> '{body,from}', ''), '+15125550142'), 'from') $$;
COMMENT ON FUNCTION nmc.sandbox_caller(jsonb) IS 'The rehearsal''s customer: body.from (any phone format) or a sample caller, +1 512-555-0142.';

CREATE FUNCTION nmc.api_sandbox_missed_call(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $$
DECLARE
    pn nmc.phone_numbers := nmc.sandbox_number();
    caller text := nmc.sandbox_caller(req);
    sid text := nmc.twilio_random_sid('CA');
BEGIN
    -- The voice webhook, then (if it rang the owner) the <Dial> ending unanswered;
    -- the inbox worker applies both right after this commit, as for Twilio's.
    PERFORM nmc.webhook_voice(jsonb_build_object('body', jsonb_build_object(
        'CallSid', sid, 'From', caller, 'To', pn.phone, 'CallStatus', 'ringing', 'Direction', 'inbound')));
    IF (SELECT i.params ->> 'nmc_answer' FROM nmc.webhook_inbox i WHERE i.kind = 'voice' AND i.webhook_key = sid) = 'forward' THEN
        PERFORM nmc.webhook_voice_dial(jsonb_build_object('body', jsonb_build_object(
            'CallSid', sid, 'From', caller, 'To', pn.phone, 'CallStatus', 'in-progress',
            'DialCallStatus', 'no-answer', 'DialCallDuration', '0')));
    END IF;
    RETURN nmc.respond(202, jsonb_build_object('call_sid', sid, 'from', caller, 'to', pn.phone));
END
$$;
COMMENT ON FUNCTION nmc.api_sandbox_missed_call(jsonb) IS 'POST /api/sandbox/missed-call {from?}: sandbox mode only — an unanswered call to the business''s number, through the same code as Twilio''s voice webhooks (accepted now; greeting text, lead, conversation and events right after, from the inbox worker).';

CREATE FUNCTION nmc.api_sandbox_customer_reply(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $$
DECLARE
    pn nmc.phone_numbers := nmc.sandbox_number();
    caller text := nmc.sandbox_caller(req);
    body text := nmc.input_text(req -> 'body', 'body', true, 1600);
    sid text := nmc.twilio_random_sid('SM');
BEGIN
    PERFORM nmc.webhook_sms(jsonb_build_object('body', jsonb_build_object(
        'MessageSid', sid, 'SmsSid', sid, 'From', caller, 'To', pn.phone, 'Body', body, 'NumSegments', '1')));
    RETURN nmc.respond(202, jsonb_build_object('message_sid', sid, 'from', caller, 'to', pn.phone));
END
$$;
COMMENT ON FUNCTION nmc.api_sandbox_customer_reply(jsonb) IS 'POST /api/sandbox/customer-reply {from?, body}: sandbox mode only — a text from a customer to the business''s number, through the same code as Twilio''s SMS webhook.';
