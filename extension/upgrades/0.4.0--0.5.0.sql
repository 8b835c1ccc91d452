-- 0.4.0 → 0.5.0, assembled by extension/Makefile (upgrades/assemble.pl) into
-- nevermisscall--0.4.0--0.5.0.sql: table changes written here as upgrade steps;
-- "--@include f" brings sql/f.sql (new in this version), "--@replace f name" the
-- current text of a changed function; then the OpenAPI document, the route
-- dispatcher and sql/grants.sql. test/upgrade/check.sh proves the result equals
-- a fresh 0.5.0 install.
\echo Use "ALTER EXTENSION nevermisscall UPDATE" to load this file. \quit

-- One intake pipeline for every Twilio webhook: calls, texts and status
-- callbacks are accepted into one inbox (the SMS inbox, renamed and given a
-- kind) and applied by the inbox worker; a voice webhook's TwiML never waits.
ALTER TABLE nmc.sms_inbox RENAME TO webhook_inbox;
ALTER TABLE nmc.webhook_inbox RENAME COLUMN message_sid TO webhook_key;
ALTER TABLE nmc.webhook_inbox ADD COLUMN kind text NOT NULL DEFAULT 'sms'
    CHECK (kind IN ('sms', 'sms_status', 'voice', 'voice_dial', 'voice_status'));
ALTER TABLE nmc.webhook_inbox ALTER COLUMN kind DROP DEFAULT;
ALTER TABLE nmc.webhook_inbox DROP CONSTRAINT sms_inbox_message_sid_key;
ALTER TABLE nmc.webhook_inbox ADD UNIQUE (kind, webhook_key);
ALTER INDEX nmc.sms_inbox_pkey RENAME TO webhook_inbox_pkey;
ALTER SEQUENCE nmc.sms_inbox_id_seq RENAME TO webhook_inbox_id_seq;
COMMENT ON TABLE nmc.webhook_inbox IS 'Twilio webhooks accepted and not yet applied (normally for a few milliseconds). kind: sms (an inbound text), sms_status, voice (an incoming call), voice_dial (the forwarded call ended), voice_status. params: the webhook''s form fields (a voice webhook adds nmc_answer, what the caller was told). failed_at/error: applying it raised an error; the row is kept and skipped until a DBA clears failed_at (then it is applied again).';
COMMENT ON COLUMN nmc.webhook_inbox.webhook_key IS 'What makes a delivery of this webhook the same as another (Twilio retries): the MessageSid or CallSid, with the status for status callbacks.';
COMMENT ON COLUMN nmc.webhook_inbox.received_at IS 'When the webhook was accepted: the time of what it reports (a text''s created_at, a call''s start or end).';
DROP FUNCTION nmc.sms_inbox_run(int, boolean, int);
DROP FUNCTION nmc.call_twiml(nmc.calls);
DROP FUNCTION nmc.call_missed(nmc.calls, text);
--@replace webhook_inbox nmc.webhook_inbox_put
--@replace webhook_inbox nmc.webhook_inbox_apply
--@replace webhook_inbox nmc.webhook_inbox_run
--@replace webhook_inbox nmc.inbox_health
--@replace sms_threading nmc.sms_received
--@replace sms_threading nmc.sms_thread_routine
--@replace calls nmc.call_answer_twiml
--@replace calls nmc.call_missed
--@replace calls nmc.webhook_voice
--@replace calls nmc.call_record
--@replace calls nmc.call_rang
--@replace calls nmc.call_dial_missed_reason
--@replace calls nmc.webhook_voice_dial
--@replace calls nmc.call_dial_ended
--@replace calls nmc.webhook_voice_status
--@replace calls nmc.call_status_reported
--@replace sms_inbound nmc.webhook_sms
--@replace sms_inbound nmc.webhook_sms_status
--@replace sms_inbound nmc.message_status_reported
--@replace sandbox nmc.api_sandbox_missed_call
--@replace emergencies nmc.emergency_term_in
--@replace monitoring nmc_api.metrics

-- The edge groups whatever routes the database lists (every Twilio webhook).
--@replace api nmc_api.handle_many
--@replace api nmc_api.grouped_routes

-- An inbox batch numbers its events when it ends (one counter update per
-- business), and commits without waiting for its WAL flush.
--@replace events nmc.emit_event
--@replace events nmc.emit_events
--@replace events nmc.defer_events
--@replace events nmc.emit_deferred_events
--@replace dispatcher nmc.dispatcher_complete_batch

-- Bad input is a 4xx with a stable code: JSON with \u0000 or nested too deeply
-- (400 malformed_json), a webhook that is not form-encoded (415) or has a field
-- longer than Twilio sends (400 field_too_long); tokens not valid yet (nbf, iat).
--@replace api nmc_api.handle
--@replace twilio_signature nmc.webhook_fields_check
--@replace jwt nmc.jwt_verify

-- The status page shows a business only its own queue, inbox and provider
-- figures: nothing platform-wide reaches a tenant.
DROP FUNCTION nmc.system_health();
DROP FUNCTION nmc.system_inbox_health();
DROP FUNCTION nmc.provider_stats_5m();
--@replace monitoring nmc.provider_stats_5m
--@replace api_feed_views nmc.api_status
--@replace webhook_inbox nmc.webhook_status_accept

-- Sign-ups are throttled per client address (each costs a bcrypt hash).
CREATE TABLE nmc.registration_attempts (
    source       text NOT NULL,
    attempted_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE nmc.registration_attempts IS 'One row per sign-up that got as far as hashing its password, by client address; counted over register_window_seconds for throttling (each costs a bcrypt hash), and pruned by the next sign-up from that address.';
CREATE INDEX registration_attempts_lookup ON nmc.registration_attempts (source, attempted_at);
INSERT INTO nmc.settings (name, value, is_secret, description) VALUES
    ('register_window_seconds', '3600', false, 'Window over which sign-ups from one client address are counted.'),
    ('register_max_per_source', '10', false, 'Sign-ups (each a bcrypt hash) from one client address within the window before 429.');
DROP FUNCTION nmc.register(jsonb);
--@replace auth nmc.register
--@replace api nmc.api_auth_register
