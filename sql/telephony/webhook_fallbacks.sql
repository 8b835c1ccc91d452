-- webhook_fallbacks.sql — what the edge may answer Twilio with while the
-- database is down (it then keeps the webhook in its spool and replays it when
-- the database is back: edge/webhook_spool.c). The words and rules stay here;
-- the edge keeps a copy and only matches a path and one form field.
CREATE FUNCTION nmc_api.webhook_fallbacks()
RETURNS TABLE (path text, seq int, match_field text, match_values text[], content_type text, body text)
LANGUAGE sql STABLE
SECURITY DEFINER
SET search_path = nmc, public, pg_temp
AS $$
    WITH r(path, seq, match_field, match_values, answer) AS (VALUES
        -- No one can be reached to forward to: the caller is told a text is coming (nmc.webhook_voice records it as missed, reason outage).
        ('/webhooks/twilio/voice', 1, NULL::text, NULL::text[],
         nmc.twiml_say_and_hang_up('Sorry, we can''t take your call right now. We will text you right away.')),
        -- The forward ended: missed as nmc.call_dial_missed_reason says, else hang up.
        ('/webhooks/twilio/voice/dial', 1, 'DialCallStatus', nmc.dial_missed_statuses(),
         nmc.twiml_say_and_hang_up('Sorry we couldn''t take your call. We will text you right away.')),
        ('/webhooks/twilio/voice/dial', 2, 'DialBridged', ARRAY['false'],
         nmc.twiml_say_and_hang_up('Sorry we couldn''t take your call. We will text you right away.')),
        ('/webhooks/twilio/voice/dial', 3, NULL, NULL, nmc.twiml('<Hangup/>')),
        ('/webhooks/twilio/voice/status', 1, NULL, NULL, nmc.twiml(NULL)),
        -- A voicemail left before the outage: its callback is kept like any other.
        ('/webhooks/twilio/voice/recording', 1, NULL, NULL, nmc.twiml(NULL)),
        ('/webhooks/twilio/voice/recorded', 1, NULL, NULL, nmc.twiml('<Hangup/>')),
        ('/webhooks/twilio/sms', 1, NULL, NULL, nmc.twiml(NULL)),
        ('/webhooks/twilio/sms/status', 1, NULL, NULL, nmc.twiml(NULL)))
    SELECT r.path, r.seq, r.match_field, r.match_values, (r.answer).content_type, (r.answer).text_body
      FROM r ORDER BY r.path, r.seq
$$;
COMMENT ON FUNCTION nmc_api.webhook_fallbacks() IS
    'For the edge: per Twilio webhook path, the answers it may give while the database is down, in order — the first whose form field match_field has one of match_values (or that has no match_field) wins. The edge fetches these whenever it reaches the database and keeps them on disk; a webhook answered this way is spooled and replayed later through nmc_api.handle, with when it arrived (its edge argument''s spooled_at).';
