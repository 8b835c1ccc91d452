-- event_feed.sql — the feed as the WebSocket relay and the API read it:
-- numbered per business in order, read after an id, a hello that checks the
-- token and the resume point (resync when the missed events are gone), and
-- no event of another business.
BEGIN;
SELECT plan(27);

SET LOCAL ROLE nmc_edge;
CREATE TEMP TABLE t AS SELECT nmc_test.register('feed-a@example.com', 'Feed A') AS a, nmc_test.register('feed-b@example.com', 'Feed B') AS b;
RESET ROLE;
GRANT SELECT ON t TO PUBLIC;
SELECT nmc.emit_event((a #>> '{business,id}')::uuid, 'test.one', '{"n":1}') IS NULL FROM t;
SELECT nmc.emit_event((a #>> '{business,id}')::uuid, 'test.two', '{"n":2}') IS NULL FROM t;
SELECT nmc.emit_event((b #>> '{business,id}')::uuid, 'test.other', '{"n":99}') IS NULL FROM t;
SELECT is((SELECT count(*) FROM nmc.events e, t WHERE e.business_id IN ((a #>> '{business,id}')::uuid, (b #>> '{business,id}')::uuid)),
          0::bigint, 'written events wait to be numbered (no lock of the business is taken to write one)');
SELECT is(nmc_test.events_numbered(), 3, 'the events worker''s step numbers the three');
SELECT throws_ok($$ SELECT nmc.emit_event((SELECT (a #>> '{business,id}')::uuid FROM t), 'Not A Type', '{}') $$, '23514', NULL,
                 'an event type not of the form kind.change is refused where events are written');
SELECT is((SELECT array_agg(seq ORDER BY seq) FROM nmc.events WHERE business_id = (SELECT (a #>> '{business,id}')::uuid FROM t)),
          ARRAY[1, 2]::bigint[], 'events are numbered 1, 2, … per business');
SELECT is((SELECT array_agg(seq) FROM nmc.events WHERE business_id = (SELECT (b #>> '{business,id}')::uuid FROM t)),
          ARRAY[1]::bigint[], 'another business has its own numbers');

SET LOCAL ROLE nmc_edge;
SELECT is((SELECT resume_after FROM t, LATERAL nmc_api.ws_hello(jsonb_build_object('token', a ->> 'token')::text)), 2::bigint,
          'a hello without last_event_id resumes after the latest');
SELECT is((SELECT business_id::text FROM t, LATERAL nmc_api.ws_hello(jsonb_build_object('token', a ->> 'token', 'last_event_id', 0)::text)),
          (SELECT a #>> '{business,id}' FROM t), 'the hello names the token''s business');
SELECT is((SELECT resume_after FROM t, LATERAL nmc_api.ws_hello(jsonb_build_object('token', a ->> 'token', 'last_event_id', 1)::text)), 1::bigint,
          'a hello with last_event_id resumes after it');
SELECT is((SELECT error_code FROM nmc_api.ws_hello('{"token":"nope"}')), 'jwt_malformed', 'a bad token is refused with its code');
SELECT is((SELECT error_code FROM nmc_api.ws_hello('hello')), 'bad_hello', 'a hello that is not JSON is refused');
SELECT is((SELECT error_code FROM t, LATERAL nmc_api.ws_hello(jsonb_build_object('token', a ->> 'token', 'last_event_id', 7)::text)), 'resync',
          'an id the business never reached: resync');
SELECT is((SELECT array_agg(seq ORDER BY seq) FROM t, LATERAL nmc_api.ws_events((a #>> '{business,id}')::uuid, 0, 100)), ARRAY[1, 2]::bigint[],
          'ws_events replays in order');
SELECT is((SELECT frame::jsonb - 'created_at' FROM t, LATERAL nmc_api.ws_events((a #>> '{business,id}')::uuid, 1, 100)),
          '{"id": 2, "type": "test.two", "data": {"n": 2}}'::jsonb, 'frames are {id, type, created_at, data}');
SELECT is((SELECT count(*) FROM t, LATERAL nmc_api.ws_events((a #>> '{business,id}')::uuid, 0, 100) e WHERE e.frame::jsonb ->> 'type' = 'test.other'), 0::bigint,
          'no event of another business');
SELECT is((SELECT jsonb_array_length(body -> 'events') || '/' || (body ->> 'last_event_id') FROM t, LATERAL nmc_test.api('GET', '/api/events', NULL, a ->> 'token')),
          '2/2', 'GET /api/events (no after): everything, with the latest id');
RESET ROLE;
SELECT is((SELECT x.body #>> '{events,0,id}' FROM t, LATERAL nmc_api.handle('GET', '/api/events', '{"after":"1"}',
              jsonb_build_object('authorization', 'Bearer ' || (a ->> 'token')), NULL, NULL, NULL) h, LATERAL (SELECT h.body::jsonb AS body) x),
          '2', 'GET /api/events?after=1 returns what came after');
DELETE FROM nmc.events WHERE business_id = (SELECT (a #>> '{business,id}')::uuid FROM t) AND seq = 1;
SELECT is((SELECT error_code FROM t, LATERAL nmc_api.ws_hello(jsonb_build_object('token', a ->> 'token', 'last_event_id', 0)::text)), 'resync',
          'resuming from before the retention window: resync');

-- Events have no foreign key: they leave with their business's counter row.
CREATE TEMP TABLE gone AS SELECT nmc_test.business_with_number('+15125550177') AS id;
SELECT nmc.emit_event((SELECT id FROM gone), 'lead.updated', '{}');
SELECT nmc.emit_event((SELECT id FROM gone), 'lead.updated', '{}');
SELECT nmc_test.events_numbered();
SELECT is((SELECT count(*) FROM nmc.events WHERE business_id = (SELECT id FROM gone) AND type = 'lead.updated'), 2::bigint,
          'the business to be deleted has its events');
GRANT SELECT ON gone TO nmc_api;
SET LOCAL ROLE nmc_api;
SELECT set_config('nmc.business_id', (SELECT id FROM gone)::text, true);
DELETE FROM nmc.businesses WHERE id = (SELECT id FROM gone);
SELECT set_config('nmc.business_id', '', true);
RESET ROLE;
SELECT is((SELECT count(*) FROM nmc.events WHERE business_id = (SELECT id FROM gone)), 0::bigint,
          'a deleted business''s events are deleted with it, under row-level security');
SELECT ok((SELECT count(*) FROM nmc.events) > 0, '… and only its events');
SAVEPOINT before_truncate;
-- (TRUNCATE nmc.businesses CASCADE reaches the counters; the counters alone lock less here.)
TRUNCATE nmc.event_counters;
SELECT is((SELECT count(*) FROM nmc.events), 0::bigint, 'truncating the counters empties the events too');
ROLLBACK TO before_truncate;

-- The numberer: oldest written first, each business after its last number, a batch at
-- a time; events of a business deleted before they were numbered are dropped.
SELECT nmc.emit_events(ARRAY[(a #>> '{business,id}')::uuid, (b #>> '{business,id}')::uuid, (a #>> '{business,id}')::uuid],
                       ARRAY['test.three', 'test.b_two', 'test.four'], ARRAY['{}', '{}', '{}']::jsonb[]) FROM t;
SELECT is(nmc.events_number(2), 2, 'a batch takes at most its size');
SELECT is((SELECT array_agg(type || '=' || seq ORDER BY seq) FROM nmc.events, t WHERE business_id = (a #>> '{business,id}')::uuid AND seq > 2),
          ARRAY['test.three=3'], '… the oldest written first');
SELECT is(nmc.events_number(2), 1, 'the next batch takes the rest');
SELECT is((SELECT array_agg(type || '=' || seq ORDER BY seq) FROM nmc.events, t
            WHERE (business_id = (a #>> '{business,id}')::uuid AND seq > 2) OR (business_id = (b #>> '{business,id}')::uuid AND seq > 1)),
          ARRAY['test.b_two=2', 'test.three=3', 'test.four=4'], 'each business''s numbers follow its last, without a gap');
CREATE TEMP TABLE gone2 AS SELECT nmc_test.business_with_number('+15125550178') AS id;
SELECT nmc_test.events_numbered();
SELECT nmc.emit_event((SELECT id FROM gone2), 'lead.updated', '{}');
DELETE FROM nmc.businesses WHERE id = (SELECT id FROM gone2);
SELECT is(nmc_test.events_numbered(), 1, 'an event of a business deleted before it was numbered is taken…');
SELECT is((SELECT count(*) FROM nmc.events WHERE business_id = (SELECT id FROM gone2)) + (SELECT count(*) FROM nmc.events_pending), 0::bigint,
          '… and dropped');

SELECT * FROM finish();
ROLLBACK;
