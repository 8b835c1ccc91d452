-- openapi.sql — serves docs/openapi.yaml at GET /api/openapi.yaml. The text
-- itself is compiled in by extension/Makefile (openapi_document.sql, built
-- from docs/openapi.yaml), so the document and the code ship together.
CREATE FUNCTION nmc.api_openapi(req jsonb)
RETURNS nmc.http_response
LANGUAGE sql IMMUTABLE
AS $$ SELECT nmc.respond_text(200, 'application/yaml', nmc.openapi_document()) $$;
COMMENT ON FUNCTION nmc.api_openapi(jsonb) IS 'GET /api/openapi.yaml: the OpenAPI 3 description of every route.';

INSERT INTO nmc.api_routes (route_method, route_path, handler, auth, summary) VALUES
    ('GET', '/api/openapi.yaml', 'api_openapi', 'public', 'This document');
