-- 0.5.0 → 0.6.0, assembled by extension/Makefile (upgrades/assemble.pl) into
-- nevermisscall--0.5.0--0.6.0.sql: table changes written here as upgrade steps;
-- "--@include f" brings sql/f.sql (new in this version), "--@replace f name" the
-- current text of a changed function; then the OpenAPI document, the route
-- dispatcher and sql/grants.sql. test/upgrade/check.sh proves the result equals
-- a fresh 0.6.0 install.
\echo Use "ALTER EXTENSION nevermisscall UPDATE" to load this file. \quit

-- Logins: growing delays instead of a lock, known devices, sign-in codes by
-- text (sql/login_guard.sql).
UPDATE nmc.settings SET value = '86400' WHERE name = 'login_failure_window_seconds' AND value = '900';
UPDATE nmc.settings SET description = 'Window over which failed logins are counted (for the growing delays of nmc.login_throttled).'
 WHERE name = 'login_failure_window_seconds';
UPDATE nmc.settings SET description = 'Failed logins for one email within the window before each further try must wait (login_delay_base_seconds, doubling).'
 WHERE name = 'login_max_failures_per_email';
UPDATE nmc.settings SET description = 'Failed logins from one client address within the window before each further try must wait (login_delay_base_seconds, doubling).'
 WHERE name = 'login_max_failures_per_source';
INSERT INTO nmc.settings (name, value, is_secret, description) VALUES
    ('login_delay_base_seconds', '2', false, 'The first wait after the failures allowed, doubled with each further failure.'),
    ('login_delay_max_seconds', '900', false, 'The longest wait between login tries of a throttled email or address.'),
    ('login_device_max_failures', '5', false, 'Wrong passwords from a known device (since its last success) before it is forgotten.'),
    ('login_code_ttl_seconds', '600', false, 'How long a texted code (sign-in, alert phone) works.'),
    ('login_code_max_attempts', '5', false, 'Wrong tries of a texted code before the live codes of its kind (an account''s sign-in codes, a business''s alert-phone codes) stop working.'),
    ('login_codes_per_hour', '5', false, 'Codes texted in an hour per account (sign-in) or business (alert phone), and sign-in codes asked for per client address.');
COMMENT ON TABLE nmc.login_failures IS 'One row per failed login, by email and by client address; counted over login_failure_window_seconds for the growing delays of nmc.login_throttled.';

CREATE TABLE nmc.user_devices (
    id           uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
    business_id  uuid NOT NULL,
    user_id      uuid NOT NULL,
    token_hash   bytea NOT NULL UNIQUE,
    failures     int NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (business_id, user_id) REFERENCES nmc.users (business_id, id) ON DELETE CASCADE
);
COMMENT ON TABLE nmc.user_devices IS 'Browsers a user logged in from: the SHA-256 of the device token handed out at login. A known device passes the login throttle with the right password; failures counts its wrong passwords since its last success (at login_device_max_failures it is forgotten).';
CREATE INDEX user_devices_user ON nmc.user_devices (user_id, last_used_at);
ALTER TABLE nmc.user_devices ENABLE ROW LEVEL SECURITY;
ALTER TABLE nmc.user_devices FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON nmc.user_devices
    USING (business_id = nmc.current_business_id())
    WITH CHECK (business_id = nmc.current_business_id());

CREATE TABLE nmc.login_codes (
    id           uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
    business_id  uuid NOT NULL,
    user_id      uuid NOT NULL,
    code_hash    bytea NOT NULL,
    requested_from text NOT NULL,
    attempts     int NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz,
    text_to_send text,
    purpose      text NOT NULL DEFAULT 'sign_in' CHECK (purpose IN ('sign_in', 'alert_phone', 'password_reset')),
    phone        nmc.e164,
    FOREIGN KEY (business_id, user_id) REFERENCES nmc.users (business_id, id) ON DELETE CASCADE
);
COMMENT ON TABLE nmc.login_codes IS 'Codes texted to a phone: purpose sign_in (POST /api/auth/unlock, to the business''s phone), password_reset (POST /api/auth/password/forgot, likewise) or alert_phone (proving the owner has the alert phone, whose number is kept in phone). code_hash: the SHA-256 of the code with its row id, tried at most login_code_max_attempts times before expires_at. requested_from: the client address that asked (sends are throttled per address too). text_to_send: the text with the code in it, only until the twilio.sms.login_code job has sent it or given up (the outbox never holds a secret).';
CREATE INDEX login_codes_user ON nmc.login_codes (user_id, created_at);
CREATE INDEX login_codes_source ON nmc.login_codes (requested_from, created_at);
ALTER TABLE nmc.login_codes ENABLE ROW LEVEL SECURITY;
ALTER TABLE nmc.login_codes FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON nmc.login_codes
    USING (business_id = nmc.current_business_id())
    WITH CHECK (business_id = nmc.current_business_id());
CREATE POLICY code_throttle ON nmc.login_codes FOR SELECT TO nmc_auth USING (true);

DROP FUNCTION nmc.login_rate_limited(text, text);
--@replace login_guard nmc.login_delay
--@replace login_guard nmc.login_throttled
--@replace login_guard nmc.login_failure_record
--@replace login_guard nmc.device_find
--@replace login_guard nmc.device_remember
--@replace login_guard nmc.login_code_hash
--@replace login_guard nmc.login_code_send
--@replace login_guard nmc.login_code_redeem
--@replace login_guard nmc.login_codes_asked_too_often
--@replace login_guard nmc.login_code_to_owner
--@replace login_guard nmc.login_code_request
--@replace auth nmc.login
--@replace api nmc.api_auth_unlock
INSERT INTO nmc.api_routes (route_method, route_path, handler, auth, summary) VALUES
    ('POST', '/api/auth/unlock', 'api_auth_unlock', 'public', 'Text a sign-in code to the business''s phone (passes the login throttle)');
--@replace housekeeping nmc.housekeeping

-- twilio.sms.login_code: a sign-in code to the business's own phone.
INSERT INTO nmc.job_kinds (kind, provider, max_attempts, connect_timeout_ms, total_timeout_ms, description) VALUES
    ('twilio.sms.login_code', 'twilio', 4, 3000, 15000, 'Text a sign-in code to the business''s own phone, outside any customer''s thread');
--@replace twilio nmc.twilio_message_simulated
--@replace twilio nmc.twilio_sms_send_simulate
--@replace twilio nmc.twilio_sms_login_code_build
--@replace twilio nmc.twilio_sms_login_code_done
--@replace twilio nmc.twilio_sms_login_code_apply
--@replace twilio nmc.twilio_sms_login_code_simulate
--@replace job_dispatch nmc.job_build_request
--@replace job_dispatch nmc.job_apply
--@replace job_dispatch nmc.job_simulate
--@replace job_dispatch nmc.job_on_failure

-- A circuit per provider: an outage of any length loses no text; what a text
-- would say is checked again when it finally goes out (sql/provider_circuits.sql).
INSERT INTO nmc.settings (name, value, is_secret, description) VALUES
    ('circuit_failure_threshold', '5', false, 'Transient failures of a provider in a row (any jobs) that open its circuit: its jobs then wait, unspent, behind one probe at a time.'),
    ('circuit_probe_base_ms', '2000', false, 'First wait before probing a provider whose circuit opened; doubles per failed probe.'),
    ('circuit_probe_max_ms', '60000', false, 'Longest wait between probes of a provider that is down.'),
    ('stale_text_seconds', '3600', false, 'A text that could not go out for this long (a provider outage) is not sent; the owner is told instead.');
ALTER TABLE nmc.jobs ADD COLUMN held_at timestamptz;
ALTER TABLE nmc.jobs ADD COLUMN retry_budget_from int NOT NULL DEFAULT 0;
CREATE INDEX jobs_held ON nmc.jobs (id) WHERE held_at IS NOT NULL AND status = 'queued';
COMMENT ON COLUMN nmc.jobs.held_at IS 'Since when the job waits behind its provider''s open circuit (sql/provider_circuits.sql): not sent, its retry budget not spent.';
COMMENT ON COLUMN nmc.jobs.retry_budget_from IS 'Attempts made before the retry budget was last renewed: a job released from behind a circuit gets max_attempts more.';
ALTER TABLE nmc.job_attempts DROP CONSTRAINT job_attempts_outcome_check;
ALTER TABLE nmc.job_attempts ADD CONSTRAINT job_attempts_outcome_check CHECK (outcome IN ('done', 'retry', 'failed', 'stale', 'held'));
CREATE TABLE nmc.provider_circuits (
    provider   text PRIMARY KEY CHECK (provider IN ('twilio', 'openai', 'maps', 'push')),
    state      text NOT NULL DEFAULT 'closed' CHECK (state IN ('closed', 'open')),
    failures   int NOT NULL DEFAULT 0,
    probes     int NOT NULL DEFAULT 0,
    opened_at  timestamptz,
    probe_at   timestamptz,
    last_error text
);
COMMENT ON TABLE nmc.provider_circuits IS 'Circuit breaker per provider. failures: transient failures in a row (any job); open: jobs of the provider are held (nmc.jobs.held_at) and only a probe goes out, at probe_at (then every circuit_probe_base_ms, doubling per failed probe, at most circuit_probe_max_ms). Platform state, not tenant data.';
INSERT INTO nmc.provider_circuits (provider) VALUES ('twilio'), ('openai'), ('maps'), ('push');
--@replace provider_circuits nmc.circuit_failure
--@replace provider_circuits nmc.circuit_success
--@replace provider_circuits nmc.circuit_hold_and_probe
--@replace provider_circuits nmc.circuit_probe_again
--@replace provider_circuits nmc.provider_circuit_status
--@replace jobs nmc.job_not_wanted
--@replace jobs nmc.job_drop
--@replace jobs nmc.job_retry_or_fail
--@replace job_dispatch nmc.job_on_dropped
ALTER TABLE nmc.conversations ADD COLUMN taken_over_at timestamptz;
--@replace takeover nmc.conversation_takeover
--@replace takeover nmc.ai_send_reply
--@replace twilio nmc.twilio_sms_send_build
--@replace twilio nmc.twilio_sms_send_dropped
-- Photos of an inbound MMS (sql/sms_threading.sql: nmc.sms_media), before message_json reads them.
ALTER TABLE nmc.messages ADD COLUMN media jsonb CHECK (jsonb_typeof(media) = 'array');
--@replace messages nmc.message_json
--@replace sms_threading nmc.sms_media
--@replace sms_threading nmc.sms_media_words
-- A binary request body (Web Push, sql/web_push.sql): the claim returns it too.
ALTER TYPE nmc.http_request ADD ATTRIBUTE body_bytes bytea;
COMMENT ON TYPE nmc.http_request IS 'An outbound HTTP request built by a job kind''s build_fn; lives only in the dispatcher''s memory (it may carry credentials). body_bytes, when set, is sent as the body instead of body.';
DROP FUNCTION nmc.dispatcher_claim(int);
--@replace dispatcher nmc.dispatcher_claim
--@replace maps nmc.maps_geocode_build
--@replace openai nmc.openai_chat_build
--@replace twilio nmc.twilio_request
--@replace dispatcher nmc.dispatcher_complete
--@replace dispatcher nmc.dispatcher_plan
--@replace api_feed_views nmc.api_status

-- Twilio's webhooks while the database is down: the edge answers from
-- nmc_api.webhook_fallbacks, spools them and replays them later.
ALTER TABLE nmc.calls DROP CONSTRAINT calls_missed_reason_check;
ALTER TABLE nmc.calls ADD CONSTRAINT calls_missed_reason_check
    CHECK (missed_reason IN ('no-answer', 'busy', 'failed', 'canceled', 'not-bridged', 'after_hours', 'no_forward_phone', 'outage'));
--@replace calls nmc.dial_missed_statuses
--@replace calls nmc.call_dial_missed_reason
--@replace calls nmc.call_missed
--@replace calls nmc.webhook_voice
--@replace webhook_inbox nmc.webhook_inbox_put
--@replace api nmc_api.handle
--@include webhook_fallbacks

-- The record tells the truth: a call says where its text is, a lead why its
-- text did not arrive, whichever way it failed.
--@replace calls nmc.call_json
--@replace api_feed_views nmc.api_leads_list
--@replace leads nmc.lead_text_not_delivered
--@replace sms_inbound nmc.message_status_reported
--@replace twilio nmc.twilio_sms_send_failed

-- Alerts to the owner's phone (sql/owner_alerts.sql): a verified alert phone,
-- the kinds wanted, quiet hours, spacing; the one function that texts the owner.
ALTER TABLE nmc.businesses ADD COLUMN alert_phone nmc.e164;
ALTER TABLE nmc.businesses ADD COLUMN alert_phone_verified_at timestamptz;
ALTER TABLE nmc.businesses ADD COLUMN alert_kinds text[] NOT NULL DEFAULT '{booking,customer_replied,handoff,undelivered}'
    CHECK (alert_kinds <@ '{booking,customer_replied,handoff,undelivered}');
ALTER TABLE nmc.businesses ADD COLUMN quiet_hours_start time;
ALTER TABLE nmc.businesses ADD COLUMN quiet_hours_end time;
ALTER TABLE nmc.businesses ADD CHECK ((quiet_hours_start IS NULL) = (quiet_hours_end IS NULL));
ALTER TABLE nmc.businesses ADD COLUMN owner_phone_stopped nmc.e164;
ALTER TABLE nmc.businesses ADD COLUMN owner_phone_stopped_at timestamptz;
INSERT INTO nmc.settings (name, value, is_secret, description) VALUES
    ('alert_min_gap_seconds', '180', false, 'At most one alert to the owner''s phone per conversation within this (emergencies excepted).'),
    ('owner_tag_seconds', '604800', false, 'An alert''s #number stays with its conversation this long after its last alert; the owner''s "#N …" reaches it meanwhile.'),
    ('owner_reply_window_seconds', '86400', false, 'A text from the owner''s phone without #N goes to the conversation of the latest alert sent within this.'),
    ('owner_reply_settle_seconds', '60', false, 'A text from the owner''s phone without #N, coming this soon after an alert while another conversation was alerted too, is not sent: the owner is asked which customer.');
DROP FUNCTION nmc.owner_alert_send(nmc.businesses, nmc.conversations, text);
--@include owner_alerts
--@replace emergencies nmc.conversation_emergency
--@replace conversations nmc.conversation_customer_wrote
--@replace conversations nmc.conversation_handed_over
--@replace ai_engine nmc.ai_turn_hand_off
--@replace intake_engine nmc.intake_turn
--@replace sms_threading nmc.sms_thread_routine
--@replace appointments nmc.appointment_book

-- The owner answers by text (sql/owner_texts.sql): a text from one of the
-- owner's phones is the owner's, a call from one is not a missed customer;
-- texts to the owner about no customer have no customer_id.
ALTER TABLE nmc.messages ALTER COLUMN customer_id DROP NOT NULL;
ALTER TABLE nmc.calls DROP CONSTRAINT calls_missed_reason_check;
ALTER TABLE nmc.calls ADD CONSTRAINT calls_missed_reason_check
    CHECK (missed_reason IN ('no-answer', 'busy', 'failed', 'canceled', 'not-bridged', 'after_hours', 'no_forward_phone', 'outage', 'owner_phone'));
ALTER TABLE nmc.calls DROP CONSTRAINT calls_decision_check;
ALTER TABLE nmc.calls ADD CONSTRAINT calls_decision_check
    CHECK (decision IN ('texted', 'suppressed_repeat', 'suppressed_opted_out', 'suppressed_blocked',
                        'suppressed_short_ring', 'suppressed_unreachable', 'suppressed_anonymous', 'not_missed', 'suppressed_owner'));
--@include owner_texts
--@replace sms_inbound nmc.sms_carrier_keyword
--@replace sms_inbound nmc.sms_keyword
--@replace sms_threading nmc.sms_received
--@replace webhook_inbox nmc.webhook_inbox_run
--@replace conversations nmc.conversation_set_mode
--@replace calls nmc.call_answer_twiml

-- Alerts pushed to the owner's devices (sql/web_push.sql): a push provider and
-- its job kind, the VAPID key made here, the devices' subscriptions.
ALTER TABLE nmc.job_kinds DROP CONSTRAINT job_kinds_provider_check;
ALTER TABLE nmc.job_kinds ADD CONSTRAINT job_kinds_provider_check CHECK (provider IN ('twilio', 'openai', 'maps', 'push'));
INSERT INTO nmc.job_kinds (kind, provider, max_attempts, connect_timeout_ms, total_timeout_ms, description) VALUES
    ('push.send', 'push', 5, 3000, 10000, 'Push an alert to one of the owner''s devices (Web Push)');
--@include web_push

-- Conversations never dead-end (sql/api_onboarding.sql): a reply to a closed
-- conversation reopens one, the owner can text any number; quick replies
-- (sql/quick_replies.sql), three to start with for every business.
--@replace api_onboarding nmc.owner_text_fits
--@replace api_onboarding nmc.owner_conversation_json
--@replace api_onboarding nmc.api_conversation_reply
--@replace api_onboarding nmc.api_conversation_start
INSERT INTO nmc.api_routes (route_method, route_path, handler, auth, summary) VALUES
    ('POST', '/api/conversations', 'api_conversation_start', 'jwt', 'Text any number as the business');
--@include quick_replies
SELECT nmc.quick_replies_seed(id) FROM nmc.businesses;

-- Scheduling an owner can run the day on (sql/appointment_texts.sql): the owner
-- moves appointments, the customer is texted the owner's changes and reminded
-- the evening before and on the day; an appointment as an .ics file.
ALTER TABLE nmc.businesses ADD COLUMN reminder_day_before boolean NOT NULL DEFAULT true;
ALTER TABLE nmc.businesses ADD COLUMN reminder_hours_before int NOT NULL DEFAULT 2 CHECK (reminder_hours_before BETWEEN 0 AND 12);
--@replace businesses nmc.business_json
--@replace businesses nmc.business_update
--@include appointment_texts
--@replace appointments nmc.appointment_cancel
--@replace appointments nmc.appointment_move
--@replace appointments nmc.api_appointments_create
--@replace appointments nmc.input_notify_customer
--@replace appointments nmc.api_appointments_patch
--@replace appointments nmc.api_appointment_ics
--@replace appointments nmc.api_appointments_cancel
INSERT INTO nmc.api_routes (route_method, route_path, handler, auth, summary) VALUES
    ('PATCH', '/api/appointments/{id}', 'api_appointments_patch', 'jwt', 'Move an appointment'),
    ('GET', '/api/appointments/{id}/ics', 'api_appointment_ics', 'jwt', 'An appointment as an iCalendar file');
SELECT nmc.appointment_reminders_set(a) FROM nmc.appointments a WHERE a.status = 'booked' AND lower(a.during) > now();

-- Account recovery (sql/password_reset.sql): a new password with a texted
-- code, and signing out everywhere (sessions of an earlier sessions_generation).
ALTER TABLE nmc.users ADD COLUMN sessions_generation int NOT NULL DEFAULT 0;
--@replace auth nmc.issue_token
--@replace auth nmc.authenticate
--@include password_reset

-- Appointments and the call list say who the customer is.
--@replace appointments nmc.appointment_json
--@replace api_onboarding nmc.api_calls_list

-- Free slots of a chosen day, for a length, the moved appointment not counting
-- against itself (the dashboard asks instead of working them out itself).
DROP FUNCTION nmc.open_slots(uuid, timestamptz, int, int);
--@replace appointments nmc.open_slots
--@replace appointments nmc.api_open_slots
UPDATE nmc.api_routes SET summary = 'Free slots: of a day, or the next ones' WHERE route_method = 'GET' AND route_path = '/api/appointments/open-slots';

-- One rule for a timestamp field; the confirmation says when as every appointment text does.
--@replace input nmc.input_timestamptz
--@replace appointments nmc.api_appointments_create
--@replace appointments nmc.api_appointments_patch
--@replace appointments nmc.appointment_when
--@replace appointments nmc.appointment_confirmation
