-- 0.7.0 → 0.8.0, assembled by extension/Makefile (upgrades/assemble.pl) into
-- nevermisscall--0.7.0--0.8.0.sql: table changes written here as upgrade steps;
-- "--@include f" brings sql/<domain>/f.sql (new in this version), "--@replace f name" the
-- current text of a changed function; then the OpenAPI document, the route
-- dispatcher and sql/platform/grants.sql. test/upgrade/check.sh proves the result equals
-- a fresh 0.8.0 install.
\echo Use "ALTER EXTENSION nevermisscall UPDATE" to load this file. \quit

-- sql/ split into domain folders (issue 16): catalog comments that name a file follow it.
COMMENT ON TABLE nmc.job_kinds IS 'Job kinds and their tunables: retry limit and timeouts. Which functions build, apply, fail and simulate each kind: sql/outbox/job_dispatch.sql.';
COMMENT ON COLUMN nmc.jobs.held_at IS 'Since when the job waits behind its provider''s open circuit (sql/outbox/provider_circuits.sql): not sent, its retry budget not spent.';
--@replace calls nmc.call_answer_twiml
--@replace calls nmc.call_json
--@replace owner_alerts nmc.owner_alert

-- issue 20 (ops): a number attached from the owner's Twilio account can be detached, its
-- earlier webhooks put back (job twilio.numbers.detach); a detached number stays on record
-- (its calls and conversations) but is nobody's: numbers are unique among those in use.
ALTER TABLE nmc.phone_numbers ADD COLUMN detached_at timestamptz;
COMMENT ON COLUMN nmc.phone_numbers.detached_at IS 'When an attached number left us (POST /api/phone-numbers/{id}/detach, its previous webhooks put back): kept for its calls and conversations, no longer the business''s number.';
ALTER TABLE nmc.phone_numbers DROP CONSTRAINT phone_numbers_phone_key, DROP CONSTRAINT phone_numbers_twilio_sid_key;
CREATE UNIQUE INDEX phone_numbers_phone_key ON nmc.phone_numbers (phone) WHERE detached_at IS NULL;
CREATE UNIQUE INDEX phone_numbers_twilio_sid_key ON nmc.phone_numbers (twilio_sid) WHERE detached_at IS NULL;
COMMENT ON TABLE nmc.phone_numbers IS 'Twilio numbers owned by businesses (one business at a time per number). simulated: bought in sandbox mode, not a real number.';
INSERT INTO nmc.job_kinds (kind, provider, max_attempts, connect_timeout_ms, total_timeout_ms, description) VALUES
    ('twilio.numbers.detach', 'twilio', 3, 3000, 30000, 'Put back the webhooks an attached number had; it is no longer the business''s');
--@replace phone_numbers nmc.webhook_tenant
--@replace phone_numbers nmc.phone_number_available
--@replace phone_numbers nmc.api_phone_number_detach
--@replace twilio nmc.twilio_numbers_search_simulate
--@replace twilio nmc.twilio_numbers_buy_apply
--@replace twilio nmc.twilio_numbers_owned_apply
--@replace twilio nmc.twilio_numbers_attach_apply
--@replace twilio nmc.twilio_number_webhook_params
--@replace twilio nmc.twilio_numbers_detach_build
--@replace twilio nmc.twilio_numbers_detach_apply
--@replace twilio nmc.twilio_numbers_detach_simulate
--@replace job_dispatch nmc.job_build_request
--@replace job_dispatch nmc.job_apply
--@replace job_dispatch nmc.job_simulate
--@replace phone_numbers nmc.api_phone_numbers_list
--@replace owner_replies nmc.api_conversation_start
--@replace login_guard nmc.login_code_to_owner
--@replace greeting nmc.greeting_preview
--@replace owner_alerts nmc.api_alert_phone_put
--@replace owner_alerts nmc.owner_alert_send
--@replace sandbox nmc.sandbox_number
--@replace appointment_texts nmc.appointment_tell_customer
INSERT INTO nmc.api_routes (route_method, route_path, handler, auth, summary) VALUES
    ('POST', '/api/phone-numbers/{id}/detach', 'api_phone_number_detach', 'jwt', 'Stop using an attached number: its earlier webhooks put back (a job)');

-- issue 20 (ops): keys for distribution by business (docs/scaling.md, scripts/distribution_keys.sql):
-- these tenant tables are keyed (business_id, id); where a row is also found by id alone
-- (a job's payload, a timer's subject) a plain index on id keeps that lookup.
ALTER TABLE nmc.business_hours DROP CONSTRAINT business_hours_pkey, DROP CONSTRAINT business_hours_business_id_id_key, ADD PRIMARY KEY (business_id, id);
ALTER TABLE nmc.business_closures DROP CONSTRAINT business_closures_pkey, DROP CONSTRAINT business_closures_business_id_id_key, ADD PRIMARY KEY (business_id, id);
ALTER TABLE nmc.blocked_numbers DROP CONSTRAINT blocked_numbers_pkey, DROP CONSTRAINT blocked_numbers_business_id_id_key, ADD PRIMARY KEY (business_id, id);
ALTER TABLE nmc.appointments DROP CONSTRAINT appointments_pkey, DROP CONSTRAINT appointments_business_id_id_key, ADD PRIMARY KEY (business_id, id);
CREATE INDEX appointments_id ON nmc.appointments (id);
ALTER TABLE nmc.job_attempts DROP CONSTRAINT job_attempts_pkey, DROP CONSTRAINT job_attempts_business_id_id_key, ADD PRIMARY KEY (business_id, id);
ALTER TABLE nmc.quick_replies DROP CONSTRAINT quick_replies_pkey, ADD PRIMARY KEY (business_id, id);
ALTER TABLE nmc.owner_alerts DROP CONSTRAINT owner_alerts_pkey, ADD PRIMARY KEY (business_id, id);
ALTER TABLE nmc.owner_texts DROP CONSTRAINT owner_texts_pkey, ADD PRIMARY KEY (business_id, id);
ALTER TABLE nmc.user_devices DROP CONSTRAINT user_devices_pkey, ADD PRIMARY KEY (business_id, id);
CREATE INDEX user_devices_id ON nmc.user_devices (id);
ALTER TABLE nmc.login_codes DROP CONSTRAINT login_codes_pkey, ADD PRIMARY KEY (business_id, id);
CREATE INDEX login_codes_id ON nmc.login_codes (id);
ALTER TABLE nmc.push_subscriptions DROP CONSTRAINT push_subscriptions_pkey, ADD PRIMARY KEY (business_id, id);
CREATE INDEX push_subscriptions_id ON nmc.push_subscriptions (id);

-- house-c (issue 16): the edge passes its own figures and a spooled webhook's
-- arrival as nmc_api.handle's edge argument instead of invented x-nmc-* headers.
DROP FUNCTION nmc_api.handle(text, text, jsonb, jsonb, text, text, text);
--@replace api nmc_api.handle
--@replace api nmc_api.handle_many
--@replace monitoring nmc.api_status
--@replace webhook_fallbacks nmc_api.webhook_fallbacks
-- house-c (issue 16): the inbox worker's batch sizes are settings, read by the
-- worker instead of repeated in C.
INSERT INTO nmc.settings (name, value, is_secret, description) VALUES
    ('inbox_batch_size', '500', false, 'Most webhooks the inbox worker applies in one transaction: large enough to share a commit, small enough to stream.'),
    ('inbox_min_together', '8', false, 'Webhooks of one kind in a row that the inbox worker applies as one set; a batch at least this large means they are arriving fast, and the worker lets the next ones gather for a moment.')
ON CONFLICT (name) DO NOTHING;
--@replace webhook_inbox nmc.webhook_inbox_run

-- issue 16 (house-sql): each state machine's statuses listed once (nmc.<machine>_statuses(),
-- checked by a domain), its allowed moves in one function; the columns take the domains.
--@replace leads nmc.lead_statuses
--@replace calls nmc.call_statuses
--@replace conversations nmc.conversation_states
--@replace conversations nmc.conversation_modes
--@replace appointments nmc.appointment_statuses
--@replace jobs nmc.job_statuses
CREATE DOMAIN nmc.lead_status AS text CHECK (VALUE = ANY (nmc.lead_statuses()));
COMMENT ON DOMAIN nmc.lead_status IS 'A status of nmc.lead_statuses(); moved only by nmc.lead_transition.';
CREATE DOMAIN nmc.call_status AS text CHECK (VALUE = ANY (nmc.call_statuses()));
COMMENT ON DOMAIN nmc.call_status IS 'A status of nmc.call_statuses(); moved only where nmc.call_transition_allowed says.';
CREATE DOMAIN nmc.conversation_state AS text CHECK (VALUE = ANY (nmc.conversation_states()));
COMMENT ON DOMAIN nmc.conversation_state IS 'A state of nmc.conversation_states(); changed only by nmc.conversation_close.';
CREATE DOMAIN nmc.conversation_mode AS text CHECK (VALUE = ANY (nmc.conversation_modes()));
COMMENT ON DOMAIN nmc.conversation_mode IS 'A mode of nmc.conversation_modes(); changed only by nmc.conversation_set_mode.';
CREATE DOMAIN nmc.appointment_status AS text CHECK (VALUE = ANY (nmc.appointment_statuses()));
COMMENT ON DOMAIN nmc.appointment_status IS 'A status of nmc.appointment_statuses(); moved only by nmc.appointment_cancel.';
CREATE DOMAIN nmc.job_status AS text CHECK (VALUE = ANY (nmc.job_statuses()));
COMMENT ON DOMAIN nmc.job_status IS 'A status of nmc.job_statuses(); every UPDATE that moves it checks nmc.job_transition_allowed.';
ALTER TABLE nmc.leads DROP CONSTRAINT leads_status_check, ALTER COLUMN status DROP DEFAULT,
    ALTER COLUMN status TYPE nmc.lead_status, ALTER COLUMN status SET DEFAULT 'new';
ALTER TABLE nmc.calls DROP CONSTRAINT calls_status_check, ALTER COLUMN status TYPE nmc.call_status;
-- A parameter default of the conversations row type holds the table: dropped for the change, made again below.
DROP FUNCTION nmc.quick_reply_json(nmc.quick_replies, nmc.conversations);
ALTER TABLE nmc.conversations DROP CONSTRAINT conversations_state_check, DROP CONSTRAINT conversations_mode_check,
    ALTER COLUMN state DROP DEFAULT, ALTER COLUMN mode DROP DEFAULT,
    ALTER COLUMN state TYPE nmc.conversation_state, ALTER COLUMN mode TYPE nmc.conversation_mode,
    ALTER COLUMN state SET DEFAULT 'open', ALTER COLUMN mode SET DEFAULT 'waiting';
ALTER TABLE nmc.appointments DROP CONSTRAINT appointments_status_check, ALTER COLUMN status DROP DEFAULT,
    ALTER COLUMN status TYPE nmc.appointment_status, ALTER COLUMN status SET DEFAULT 'booked';
-- nmc.job_queue reads jobs.status: dropped for the change, made again as sql/outbox/dispatcher.sql has it.
DROP VIEW nmc.job_queue;
ALTER TABLE nmc.jobs DROP CONSTRAINT jobs_status_check, ALTER COLUMN status DROP DEFAULT,
    ALTER COLUMN status TYPE nmc.job_status, ALTER COLUMN status SET DEFAULT 'queued';
CREATE VIEW nmc.job_queue WITH (security_invoker = true) AS
SELECT kind, status, count(*) AS jobs,
       count(*) FILTER (WHERE status = 'queued' AND next_attempt_at <= now()) AS due,
       max(now() - next_attempt_at) FILTER (WHERE status = 'queued' AND next_attempt_at <= now()) AS oldest_due_age
  FROM nmc.jobs
 GROUP BY kind, status;
COMMENT ON VIEW nmc.job_queue IS 'DBA: jobs by kind and status, how many are due and how long the oldest due one has waited.';
--@replace leads nmc.lead_transition_allowed
DROP FUNCTION nmc.lead_transition(uuid, text);
--@replace leads nmc.lead_transition
--@replace leads nmc.api_lead_patch
--@replace calls nmc.call_transition_allowed
--@replace calls nmc.calls_apply
--@replace calls nmc.calls_missed
--@replace conversations nmc.conversation_mode_allowed
--@replace quick_replies nmc.quick_reply_json
--@replace conversations nmc.conversation_set_mode
--@replace jobs nmc.job_transition_allowed
--@replace jobs nmc.job_finish
--@replace jobs nmc.job_retry_or_fail
--@replace jobs nmc.job_cancel
--@replace dispatcher nmc.dispatcher_claim
--@replace housekeeping nmc.dispatcher_backstop
--@replace conversations nmc.conversation_state_allowed
--@replace appointments nmc.appointment_transition_allowed
--@replace appointments nmc.appointment_cancel
--@replace businesses nmc.service_radius_max_km
--@replace businesses nmc.business_update
ALTER TABLE nmc.businesses DROP CONSTRAINT businesses_service_radius_km_check,
    ADD CONSTRAINT businesses_service_radius_km_check CHECK (service_radius_km > 0 AND service_radius_km <= nmc.service_radius_max_km());
--@replace sms_inbound nmc.message_delivery_ranks
--@include meta

-- issue 16 (house-sql): one SQLSTATE → HTTP table, read by nmc_api.handle through nmc.api_error_response.
CREATE TABLE nmc.api_sqlstate_http (
    sqlstate    text PRIMARY KEY CHECK (sqlstate ~ '^[0-9A-Z]{5}$'),
    http_status int NOT NULL CHECK (http_status BETWEEN 400 AND 499),
    code        text NOT NULL CHECK (code ~ '^[a-z_]+$'),
    message     text NOT NULL
);
COMMENT ON TABLE nmc.api_sqlstate_http IS 'SQLSTATE → HTTP, the one table (PostgREST''s idea): a rule only the schema enforces, which no handler checked first, is the client''s mistake — answered with this status and stable code, never a 500. NMxxx errors carry their own status (xxx) and code; any other SQLSTATE is a bug of ours: 500 internal_error.';
INSERT INTO nmc.api_sqlstate_http (sqlstate, http_status, code, message) VALUES
    ('23505', 409, 'conflict', 'this conflicts with something that already exists'),            -- unique_violation
    ('23503', 409, 'conflict', 'this refers to something that does not exist, or is still in use'), -- foreign_key_violation
    ('23P01', 409, 'conflict', 'this overlaps with something that already exists'),              -- exclusion_violation
    ('23502', 400, 'invalid_input', 'a value in the request is not acceptable (missing, too long, out of range or malformed)'), -- not_null_violation
    ('23514', 400, 'invalid_input', 'a value in the request is not acceptable (missing, too long, out of range or malformed)'), -- check_violation
    ('22001', 400, 'invalid_input', 'a value in the request is not acceptable (missing, too long, out of range or malformed)'), -- string_data_right_truncation
    ('22003', 400, 'invalid_input', 'a value in the request is not acceptable (missing, too long, out of range or malformed)'), -- numeric_value_out_of_range
    ('22007', 400, 'invalid_input', 'a value in the request is not acceptable (missing, too long, out of range or malformed)'), -- invalid_datetime_format
    ('22008', 400, 'invalid_input', 'a value in the request is not acceptable (missing, too long, out of range or malformed)'), -- datetime_field_overflow
    ('22023', 400, 'invalid_input', 'a value in the request is not acceptable (missing, too long, out of range or malformed)'), -- invalid_parameter_value
    ('22P02', 400, 'invalid_input', 'a value in the request is not acceptable (missing, too long, out of range or malformed)'); -- invalid_text_representation
--@replace api nmc.api_error_response
--@replace api nmc_api.handle

-- issue 16 (house-sql): the route table is made from the OpenAPI document (docs/openapi.json):
-- nmc.api_routes_build, which extension/Makefile runs at the end of every upgrade script.
--@replace openapi nmc.api_openapi
--@replace openapi nmc.api_operations
--@replace openapi nmc.api_routes_build

-- issue 20 (keys): the rest of the keys for distribution by business (docs/scaling.md,
-- scripts/distribution_keys.sql): these tables are keyed (business_id, id) too, each with a
-- plain index on id (rows are found by id alone: a job's payload, the dispatcher, the
-- inbox worker); their foreign keys, which already named (business_id, <col>), are dropped
-- and made again on the new primary keys, ON DELETE as before; jobs.parent_id becomes
-- (business_id, parent_id). The Twilio SIDs, jobs' idempotency keys, the inbox's webhook
-- keys and the one running AI turn are unique per business (value first, business_id
-- last: a lookup by the value alone still finds the index).
ALTER TABLE nmc.user_devices DROP CONSTRAINT user_devices_business_id_user_id_fkey;
ALTER TABLE nmc.login_codes DROP CONSTRAINT login_codes_business_id_user_id_fkey;
ALTER TABLE nmc.push_subscriptions DROP CONSTRAINT push_subscriptions_business_id_user_id_fkey;
ALTER TABLE nmc.messages DROP CONSTRAINT messages_business_id_customer_id_fkey, DROP CONSTRAINT messages_business_id_conversation_id_fkey;
ALTER TABLE nmc.leads DROP CONSTRAINT leads_business_id_customer_id_fkey;
ALTER TABLE nmc.conversations DROP CONSTRAINT conversations_business_id_customer_id_fkey,
    DROP CONSTRAINT conversations_business_id_phone_number_id_fkey, DROP CONSTRAINT conversations_business_id_lead_id_fkey;
ALTER TABLE nmc.appointments DROP CONSTRAINT appointments_business_id_customer_id_fkey, DROP CONSTRAINT appointments_business_id_lead_id_fkey;
ALTER TABLE nmc.calls DROP CONSTRAINT calls_business_id_phone_number_id_fkey;
ALTER TABLE nmc.jobs DROP CONSTRAINT jobs_parent_id_fkey;
ALTER TABLE nmc.ai_turns DROP CONSTRAINT ai_turns_business_id_conversation_id_fkey;
ALTER TABLE nmc.voicemails DROP CONSTRAINT voicemails_business_id_call_id_fkey;
ALTER TABLE nmc.users DROP CONSTRAINT users_pkey, DROP CONSTRAINT users_business_id_id_key, ADD PRIMARY KEY (business_id, id);
CREATE INDEX users_id ON nmc.users (id);
ALTER TABLE nmc.customers DROP CONSTRAINT customers_pkey, DROP CONSTRAINT customers_business_id_id_key, ADD PRIMARY KEY (business_id, id);
CREATE INDEX customers_id ON nmc.customers (id);
ALTER TABLE nmc.phone_numbers DROP CONSTRAINT phone_numbers_pkey, DROP CONSTRAINT phone_numbers_business_id_id_key, ADD PRIMARY KEY (business_id, id);
CREATE INDEX phone_numbers_id ON nmc.phone_numbers (id);
DROP INDEX nmc.phone_numbers_twilio_sid_key;
CREATE UNIQUE INDEX phone_numbers_twilio_sid_key ON nmc.phone_numbers (twilio_sid, business_id) WHERE detached_at IS NULL;
ALTER TABLE nmc.leads DROP CONSTRAINT leads_pkey, DROP CONSTRAINT leads_business_id_id_key, ADD PRIMARY KEY (business_id, id);
CREATE INDEX leads_id ON nmc.leads (id);
ALTER TABLE nmc.conversations DROP CONSTRAINT conversations_pkey, DROP CONSTRAINT conversations_business_id_id_key, ADD PRIMARY KEY (business_id, id);
CREATE INDEX conversations_id ON nmc.conversations (id);
ALTER TABLE nmc.messages DROP CONSTRAINT messages_pkey, DROP CONSTRAINT messages_twilio_sid_key, ADD PRIMARY KEY (business_id, id);
ALTER TABLE nmc.messages ADD CONSTRAINT messages_twilio_sid_key UNIQUE (twilio_sid, business_id);
CREATE INDEX messages_id ON nmc.messages (id);
ALTER TABLE nmc.calls DROP CONSTRAINT calls_pkey, DROP CONSTRAINT calls_business_id_id_key, DROP CONSTRAINT calls_twilio_call_sid_key, ADD PRIMARY KEY (business_id, id);
ALTER TABLE nmc.calls ADD CONSTRAINT calls_twilio_call_sid_key UNIQUE (twilio_call_sid, business_id);
CREATE INDEX calls_id ON nmc.calls (id);
ALTER TABLE nmc.jobs DROP CONSTRAINT jobs_pkey, DROP CONSTRAINT jobs_business_id_id_key, ADD PRIMARY KEY (business_id, id);
CREATE INDEX jobs_id ON nmc.jobs (id);
DROP INDEX nmc.jobs_idempotency_key;
CREATE UNIQUE INDEX jobs_idempotency_key ON nmc.jobs (idempotency_key, business_id) WHERE idempotency_key IS NOT NULL;
ALTER TABLE nmc.timers DROP CONSTRAINT timers_pkey, ADD PRIMARY KEY (business_id, id);
CREATE INDEX timers_id ON nmc.timers (id);
ALTER TABLE nmc.ai_turns DROP CONSTRAINT ai_turns_pkey, DROP CONSTRAINT ai_turns_business_id_id_key, ADD PRIMARY KEY (business_id, id);
CREATE INDEX ai_turns_id ON nmc.ai_turns (id);
DROP INDEX nmc.ai_turns_one_running;
CREATE UNIQUE INDEX ai_turns_one_running ON nmc.ai_turns (conversation_id, business_id) WHERE status = 'running';
ALTER TABLE nmc.webhook_inbox DROP CONSTRAINT webhook_inbox_pkey, DROP CONSTRAINT webhook_inbox_kind_webhook_key_key, ADD PRIMARY KEY (business_id, id);
ALTER TABLE nmc.webhook_inbox ADD CONSTRAINT webhook_inbox_kind_webhook_key_key UNIQUE (kind, webhook_key, business_id);
CREATE INDEX webhook_inbox_id ON nmc.webhook_inbox (id);
ALTER TABLE nmc.owner_texts DROP CONSTRAINT owner_texts_twilio_sid_key;
ALTER TABLE nmc.owner_texts ADD CONSTRAINT owner_texts_twilio_sid_key UNIQUE (twilio_sid, business_id);
ALTER TABLE nmc.user_devices ADD FOREIGN KEY (business_id, user_id) REFERENCES nmc.users (business_id, id) ON DELETE CASCADE;
ALTER TABLE nmc.login_codes ADD FOREIGN KEY (business_id, user_id) REFERENCES nmc.users (business_id, id) ON DELETE CASCADE;
ALTER TABLE nmc.push_subscriptions ADD FOREIGN KEY (business_id, user_id) REFERENCES nmc.users (business_id, id) ON DELETE CASCADE;
ALTER TABLE nmc.messages ADD FOREIGN KEY (business_id, customer_id) REFERENCES nmc.customers (business_id, id) ON DELETE CASCADE,
    ADD FOREIGN KEY (business_id, conversation_id) REFERENCES nmc.conversations (business_id, id) ON DELETE CASCADE;
ALTER TABLE nmc.leads ADD FOREIGN KEY (business_id, customer_id) REFERENCES nmc.customers (business_id, id) ON DELETE CASCADE;
ALTER TABLE nmc.conversations ADD FOREIGN KEY (business_id, customer_id) REFERENCES nmc.customers (business_id, id) ON DELETE CASCADE,
    ADD FOREIGN KEY (business_id, phone_number_id) REFERENCES nmc.phone_numbers (business_id, id) ON DELETE CASCADE,
    ADD FOREIGN KEY (business_id, lead_id) REFERENCES nmc.leads (business_id, id) ON DELETE SET NULL (lead_id);
ALTER TABLE nmc.appointments ADD FOREIGN KEY (business_id, customer_id) REFERENCES nmc.customers (business_id, id) ON DELETE CASCADE,
    ADD FOREIGN KEY (business_id, lead_id) REFERENCES nmc.leads (business_id, id) ON DELETE SET NULL (lead_id);
ALTER TABLE nmc.calls ADD FOREIGN KEY (business_id, phone_number_id) REFERENCES nmc.phone_numbers (business_id, id) ON DELETE CASCADE;
ALTER TABLE nmc.jobs ADD FOREIGN KEY (business_id, parent_id) REFERENCES nmc.jobs (business_id, id) ON DELETE SET NULL (parent_id);
ALTER TABLE nmc.ai_turns ADD FOREIGN KEY (business_id, conversation_id) REFERENCES nmc.conversations (business_id, id) ON DELETE CASCADE;
ALTER TABLE nmc.voicemails ADD FOREIGN KEY (business_id, call_id) REFERENCES nmc.calls (business_id, id) ON DELETE CASCADE;
-- ON CONFLICT targets and lookups by these keys (nmc.twilio_numbers_buy_apply and
-- nmc.twilio_numbers_attach_apply are replaced by the issue 20 (ops) block above).
--@replace calls nmc.calls_apply
--@replace jobs nmc.jobs_enqueue
--@replace jobs nmc.job_enqueue
--@replace webhook_inbox nmc.webhook_inbox_put
-- issue 21: one path for inbound texts — nmc.sms_apply threads one text or many
-- (a single text is a batch of one); its one-by-one and set-based twins are gone,
-- and so is webhook_inbox_run's min_together.
DROP FUNCTION nmc.webhook_inbox_run(int, boolean, int);
UPDATE nmc.settings SET description = 'A batch of at least this many webhooks means they are arriving fast: the inbox worker then lets the next ones gather for a moment before it looks again (runs of texts or calls are applied as one set at any size).' WHERE name = 'inbox_min_together';
DROP FUNCTION nmc.sms_received(nmc.webhook_inbox);
DROP FUNCTION nmc.sms_thread_routine(nmc.webhook_inbox[], text[], text[]);
DROP FUNCTION nmc.conversation_customer_wrote(nmc.conversations);
--@replace conversations nmc.conversations_customer_wrote
--@replace sms_threading nmc.sms_thread_round
--@replace sms_threading nmc.sms_apply
--@replace webhook_inbox nmc.webhook_inbox_apply
--@replace webhook_inbox nmc.webhook_inbox_run
--@replace sms_inbound nmc.webhook_sms
--@replace emergencies nmc.emergency_term_in
COMMENT ON FUNCTION nmc.owner_text_received(nmc.webhook_inbox, nmc.businesses, nmc.phone_numbers, text) IS
    'A text from one of the owner''s phones (nmc.sms_apply sends it here), as of when it was received. STOP-words: nothing more is texted to that phone (alerts included) until START-words, which answer with the rules. "#N …": the conversation whose alerts carry #N (within owner_tag_seconds); no #N: the latest alert''s (within owner_reply_window_seconds) — unless that alert came less than owner_reply_settle_seconds before and another customer was alerted too: then nothing is sent and the owner is asked which. Then a whole-text command (nmc.owner_text_command): AI hands the conversation back as the dashboard does (mode waiting) and, if the customer is waiting for an answer, ends the owner''s window at once so the assistant answers now, NUMBER texts back the customer''s number, HELP the rules; anything else is sent to the customer as the owner''s (author owner), taking the conversation over (mode human: the assistant is silent) — refused, with the owner told, when the customer opted out or cannot get texts. A closed conversation is opened again. Idempotent on MessageSid; kept in nmc.owner_texts.';

-- issue 16 (lead): a text's delivery order in one place (nmc.message_delivery_ranks, made
-- before sql/api/meta.sql is included, which serves it), used by status callbacks.
--@replace sms_inbound nmc.message_status_rank
