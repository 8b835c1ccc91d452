-- routes_from_openapi.sql — nmc.api_routes is made from the OpenAPI document
-- (nmc.api_routes_build): after an install it is exactly the document's
-- operations, and a document with an operation it cannot make a route of —
-- no operationId, a handler that does not exist, an unknown security — is
-- refused, the routes left as they were.
BEGIN;
SELECT plan(6);

SELECT set_eq($$SELECT route_method, route_path, handler, auth, summary FROM nmc.api_routes$$,
              $$SELECT * FROM nmc.api_operations(nmc.openapi_document()::jsonb)$$,
              'the route table is the document''s operations');
SELECT is((SELECT count(*)::int FROM nmc.api_routes WHERE route_path IN ('/healthz', '/metrics')), 0, 'the edge''s own operations are no routes');
SELECT throws_like($$SELECT nmc.api_routes_build('{"paths": {"/api/x": {"get": {"summary": "x", "security": []}}}}')$$,
                   '%without a handler%GET /api/x%', 'an operation without operationId is refused');
SELECT throws_like($$SELECT nmc.api_routes_build('{"paths": {"/api/x": {"get": {"operationId": "api_no_such_thing", "summary": "x", "security": []}}}}')$$,
                   '%GET /api/x%', 'a handler that does not exist is refused');
SELECT throws_like($$SELECT nmc.api_routes_build('{"paths": {"/api/x": {"get": {"operationId": "api_meta", "summary": "x", "security": [{"apiKey": []}]}}}}')$$,
                   '%GET /api/x%', 'an unknown security is refused');
SELECT is(nmc.api_routes_build('{"paths": {"/api/x": {"get": {"operationId": "api_meta", "summary": "x", "security": []}},
                                           "/healthz": {"get": {"summary": "edge", "x-nmc-edge": true}}}}'), 1,
          'a good document makes one route per operation answered in SQL');

SELECT * FROM finish();
ROLLBACK;
