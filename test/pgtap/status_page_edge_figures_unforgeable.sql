-- status_page_edge_figures_unforgeable.sql — GET /api/status shows the
-- answering edge's own figures (live-feed clients, the spool) only from
-- nmc_api.handle's edge argument: a client sending the headers that once
-- carried them (x-nmc-edge-*) cannot set them, nor can it mark a webhook as
-- replayed from the spool (x-nmc-spooled-at).
BEGIN;
SELECT plan(6);

CREATE TEMP TABLE tok AS SELECT nmc_test.register('figures@example.com', 'Figures Plumbing') ->> 'token' AS t;
CREATE TEMP TABLE b AS SELECT nmc_test.business_with_number('+15125550900') AS id;
CREATE FUNCTION pg_temp.status(headers jsonb, edge jsonb) RETURNS jsonb LANGUAGE sql AS $$
    SELECT h.body::jsonb FROM tok, LATERAL nmc_api.handle('GET', '/api/status', '{}',
        headers || jsonb_build_object('authorization', 'Bearer ' || tok.t), '192.0.2.9', NULL, NULL, edge) h $$;

SELECT is(pg_temp.status('{}', '{"ws_clients": 3, "ws_dropped_slow": 1, "spool_waiting": 2}') -> 'websocket',
          '{"clients": 3, "dropped_slow": 1}', 'the edge''s live-feed figures reach the status page');
SELECT is(pg_temp.status('{}', '{"ws_clients": 3, "ws_dropped_slow": 1, "spool_waiting": 2}') -> 'edge_spool',
          '{"waiting": 2}', '… and its spool');
SELECT is(pg_temp.status('{"x-nmc-edge-ws-clients": "999999", "x-nmc-edge-ws-dropped-slow": "7", "x-nmc-edge-spool-waiting": "5"}', NULL)
              -> 'websocket', 'null', 'headers named like them set nothing');
SELECT is(pg_temp.status('{"x-nmc-edge-ws-clients": "999999", "x-nmc-edge-spool-waiting": "5"}',
                         '{"ws_clients": 3, "ws_dropped_slow": 1, "spool_waiting": 2}') #>> '{websocket,clients}',
          '3', '… nor override what the edge passed');

-- A live webhook claiming to be a spooled one (x-nmc-spooled-at): received now, not then.
SELECT is((SELECT status FROM nmc_api.handle('POST', '/webhooks/twilio/voice', '{}',
              jsonb_build_object('content-type', 'application/x-www-form-urlencoded',
                  'x-twilio-signature', nmc.twilio_signature(rtrim(nmc.setting('public_url'), '/') || '/webhooks/twilio/voice',
                      ARRAY['CallSid', 'CA' || lpad('901', 32, '0'), 'From', '+15125550901', 'To', '+15125550900', 'CallStatus', 'ringing'],
                      nmc.webhook_signing_token()),
                  'x-nmc-spooled-at', (floor(extract(epoch FROM now() - interval '3 hours') * 1000))::bigint::text),
              '127.0.0.1', nmc.form_encode(jsonb_build_object('CallSid', 'CA' || lpad('901', 32, '0'), 'From', '+15125550901',
                                                               'To', '+15125550900', 'CallStatus', 'ringing')), NULL)),
          200, 'a live webhook with a header claiming the spool is accepted');
SELECT ok((SELECT received_at > now() - interval '1 minute' FROM nmc.webhook_inbox WHERE webhook_key = 'CA' || lpad('901', 32, '0')),
          '… as received now: the header is ignored');

SELECT * FROM finish();
ROLLBACK;
