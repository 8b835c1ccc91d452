-- status_shows_only_your_business.sql — GET /api/status tells a business
-- whether the services run, and counts only its own: queued jobs, webhooks
-- waiting in the inbox, events waiting to be numbered, provider results. Another business's traffic never
-- shows (nothing platform-wide reaches a tenant); /metrics keeps the totals.
BEGIN;
SELECT plan(8);

CREATE TEMP TABLE mine AS SELECT nmc_test.register('status-mine@example.com') AS r;
CREATE TEMP TABLE theirs AS SELECT nmc_test.business_with_number('+15125550970') AS id;
-- Their traffic: two queued jobs, a finished attempt, a text waiting in the inbox, an event.
SELECT nmc.job_enqueue('twilio.sms.send', (SELECT id FROM theirs), jsonb_build_object('message_id', gen_random_uuid())) FROM generate_series(1, 2);
INSERT INTO nmc.job_attempts (job_id, business_id, attempt, outcome, http_status)
SELECT j.id, j.business_id, 1, 'failed', 500 FROM nmc.jobs j WHERE j.business_id = (SELECT id FROM theirs) LIMIT 1;
SELECT nmc_test.twilio_accept('/webhooks/twilio/sms', jsonb_build_object('MessageSid', 'SM' || lpad('970', 32, '0'), 'From', '+15125550971',
                                                                          'To', '+15125550970', 'Body', 'hello'));
SELECT nmc.emit_event((SELECT id FROM theirs), 'test.theirs', '{}');
-- Mine: one queued job.
SELECT nmc.job_enqueue('twilio.sms.send', (SELECT (r #>> '{business,id}')::uuid FROM mine), jsonb_build_object('message_id', gen_random_uuid()));

GRANT SELECT ON mine TO nmc_edge;
SET ROLE nmc_edge;
CREATE TEMP TABLE status AS
SELECT h.status, h.body::jsonb AS body
  FROM nmc_api.handle('GET', '/api/status', '{}', jsonb_build_object('authorization', 'Bearer ' || (SELECT r ->> 'token' FROM mine)),
                      '192.0.2.10', NULL, NULL) h;
RESET ROLE;

SELECT is((SELECT status FROM status), 200, 'the status page answers');
SELECT is((SELECT body #>> '{dispatcher,queued}' FROM status)::int, 1, 'the queue shows my one job, not theirs');
SELECT is((SELECT body #>> '{inbox,waiting}' FROM status)::int, 0, 'the inbox shows none of their texts');
SELECT is((SELECT body -> 'providers_5m' FROM status), '{}'::jsonb, 'no provider results of theirs');
SELECT ok((SELECT (body #>> '{events,pending}')::bigint FROM status)
            = (SELECT count(*) FROM nmc.events_pending WHERE business_id = (SELECT (r #>> '{business,id}')::uuid FROM mine))
          AND (SELECT count(*) FROM nmc.events_pending WHERE business_id = (SELECT id FROM theirs)) > 0,
          'events waiting to be numbered: mine only, not theirs');
SELECT ok((SELECT (body #>> '{dispatcher,running}')::boolean IS NOT NULL AND (body #>> '{inbox,running}')::boolean IS NOT NULL
                  AND (body #>> '{events,running}')::boolean IS NOT NULL FROM status),
          'whether the workers run is shown');
-- The operator's view keeps the totals.
SELECT matches(nmc_api.metrics(), 'nmc_webhook_inbox\{state="waiting"\} [1-9]', '/metrics still counts every business''s inbox');
SELECT is((SELECT count(*) FROM nmc.jobs WHERE status = 'queued' AND business_id = (SELECT id FROM theirs)), 2::bigint,
          '… and their jobs are there, just not shown to me');

SELECT * FROM finish();
ROLLBACK;
