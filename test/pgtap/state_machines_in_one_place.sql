-- state_machines_in_one_place.sql — each state machine's statuses are one list
-- (a domain over nmc.<machine>_statuses()), its moves one function, and
-- GET /api/meta serves both to the dashboard from those very functions; a
-- lead moves only through nmc.lead_transition, the owner's PATCH included.
BEGIN;
SELECT plan(17);

SELECT is((SELECT string_agg(table_name::text || '.' || column_name::text || ' ' || domain_name::text, ', ' ORDER BY table_name::text, column_name::text)
             FROM information_schema.columns
            WHERE table_schema = 'nmc' AND (table_name::text, column_name::text) IN (('leads', 'status'), ('calls', 'status'), ('conversations', 'state'),
                  ('conversations', 'mode'), ('appointments', 'status'), ('jobs', 'status'))),
          'appointments.status appointment_status, calls.status call_status, conversations.mode conversation_mode, conversations.state conversation_state, jobs.status job_status, leads.status lead_status',
          'every state machine''s status column is its domain');
SELECT throws_ok($$SELECT 'bogus'::nmc.lead_status$$, '23514', NULL, 'a status outside the list is refused by the domain');

-- GET /api/meta: the lists and moves, asked of the SQL functions.
CREATE TEMP TABLE meta AS SELECT * FROM nmc_test.api('GET', '/api/meta');
SELECT is((SELECT status FROM meta), 200, 'GET /api/meta answers without a session');
SELECT is((SELECT body #> '{state_machines,lead,statuses}' FROM meta), to_jsonb(nmc.lead_statuses()), 'lead statuses are nmc.lead_statuses()');
SELECT is((SELECT body #> '{state_machines,conversation_mode,statuses}' FROM meta), to_jsonb(nmc.conversation_modes()), 'conversation modes');
SELECT is((SELECT body #> '{state_machines,job,moves,done}' FROM meta), '[]'::jsonb, 'a done job goes nowhere');
SELECT is((SELECT body #> '{state_machines,call,moves,ringing}' FROM meta), '["answered", "missed"]'::jsonb, 'a ringing call ends answered or missed');
SELECT is((SELECT body #> '{state_machines,lead,moves,contacted}' FROM meta), '["qualified", "appointment_scheduled", "won", "lost", "out_of_area"]'::jsonb,
          'automatic progress only moves a lead forward');
SELECT is((SELECT (body #>> '{limits,service_radius_km_max}')::numeric FROM meta), nmc.service_radius_max_km(), 'the radius bound');
-- A text's delivery order: one table, read by the status callbacks and served as it is.
SELECT is((SELECT body #> '{message_delivery,ranks}' FROM meta), nmc.message_delivery_ranks(), 'the delivery order is nmc.message_delivery_ranks()');
SELECT ok(nmc.message_status_rank('pending') < nmc.message_status_rank('queued') AND nmc.message_status_rank('queued') < nmc.message_status_rank('sending')
          AND nmc.message_status_rank('sending') < nmc.message_status_rank('sent') AND nmc.message_status_rank('sent') < nmc.message_status_rank('delivered')
          AND nmc.message_status_rank('delivered') = nmc.message_status_rank('undelivered'), 'callbacks rank by it: pending < queued < sending < sent < delivered = undelivered');
SELECT is(nmc.message_status_rank('partially_delivered'), -1, 'a status it does not know moves nothing');

-- A lead: the system only moves it forward, the owner anywhere — through the one function.
CREATE TEMP TABLE o AS SELECT nmc_test.register('machines@example.com') AS r;
SELECT set_config('nmc.business_id', (SELECT r #>> '{business,id}' FROM o), true) IS NOT NULL AS tenant_set \gset
INSERT INTO nmc.customers (business_id, phone) SELECT (r #>> '{business,id}')::uuid, '+15125550142' FROM o;
INSERT INTO nmc.leads (business_id, customer_id, status)
SELECT c.business_id, c.id, 'qualified' FROM nmc.customers c WHERE c.phone = '+15125550142';
SELECT is((nmc.lead_transition((SELECT id FROM nmc.leads), 'contacted')).status::text, 'qualified', 'the system never moves a lead back');
SELECT is((SELECT status FROM nmc_test.api('PATCH', '/api/leads/' || (SELECT id FROM nmc.leads), '{"status": "contacted"}', (SELECT r ->> 'token' FROM o))),
          200, 'the owner may');
SELECT is((SELECT status::text FROM nmc.leads), 'contacted', '… and did');
SELECT is((SELECT status || ' ' || (body #>> '{error,code}') || ' ' || (body #>> '{error,field}')
             FROM nmc_test.api('PATCH', '/api/leads/' || (SELECT id FROM nmc.leads), '{"status": "finished"}', (SELECT r ->> 'token' FROM o))),
          '400 invalid_field status', 'a status not in the list: 400 invalid_field');
SELECT is((SELECT status || ' ' || (body #>> '{error,code}')
             FROM nmc_test.api('PATCH', '/api/leads/' || (SELECT id FROM nmc.leads), '{"status": "lost"}', (SELECT r ->> 'token' FROM o))),
          '400 missing_field', 'lost needs a reason');

SELECT * FROM finish();
ROLLBACK;
