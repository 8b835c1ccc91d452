-- openapi.sql — the OpenAPI document (docs/openapi.json, compiled in by
-- extension/Makefile as nmc.openapi_document()) is the source of the route
-- table: nmc.api_routes_build makes nmc.api_routes from its operations at
-- install and at every upgrade, and GET /api/openapi.yaml serves it.
CREATE FUNCTION nmc.api_openapi(req jsonb)
RETURNS nmc.http_response
LANGUAGE sql IMMUTABLE
AS $$ SELECT nmc.respond_text(200, 'application/yaml', nmc.openapi_document()) $$;
COMMENT ON FUNCTION nmc.api_openapi(jsonb) IS 'GET /api/openapi.yaml: the OpenAPI 3 description of every route (JSON, which is YAML).';

CREATE FUNCTION nmc.api_operations(doc jsonb)
RETURNS TABLE (route_method text, route_path text, handler text, auth text, summary text)
LANGUAGE sql IMMUTABLE
AS $$
    SELECT upper(m.key), p.key, m.value ->> 'operationId',
           CASE m.value -> 'security' WHEN '[]' THEN 'public' WHEN '[{"bearer": []}]' THEN 'jwt'
                                      WHEN '[{"twilioSignature": []}]' THEN 'twilio' END,
           m.value ->> 'summary'
      FROM jsonb_each(doc -> 'paths') p, jsonb_each(p.value) m
     WHERE NOT coalesce((m.value ->> 'x-nmc-edge')::boolean, false)
$$;
COMMENT ON FUNCTION nmc.api_operations(jsonb) IS 'The operations of an OpenAPI document answered in SQL (not marked x-nmc-edge), as routes: handler = operationId, auth from security (none → public, bearer → jwt, twilioSignature → twilio), summary.';

CREATE FUNCTION nmc.api_routes_build(doc jsonb DEFAULT nmc.openapi_document()::jsonb)
RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
    bad text;
    n int;
BEGIN
    -- Every operation answered in SQL names a handler that exists and says who may call it.
    SELECT string_agg(format('%s %s', o.route_method, o.route_path), ', ') INTO bad
      FROM nmc.api_operations(doc) o
     WHERE o.handler IS NULL OR o.handler !~ '^[a-z_]+$' OR o.auth IS NULL OR o.summary IS NULL
        OR to_regprocedure(format('nmc.%s(jsonb)', o.handler)) IS NULL;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'the OpenAPI document has operations without a handler nmc.<operationId>(jsonb), a security of none, bearer or twilioSignature, or a summary: %', bad
            USING HINT = 'Fix docs/openapi.json (an operation the edge answers itself is marked x-nmc-edge).';
    END IF;
    DELETE FROM nmc.api_routes;
    INSERT INTO nmc.api_routes (route_method, route_path, handler, auth, summary)
    SELECT o.route_method, o.route_path, o.handler, o.auth, o.summary FROM nmc.api_operations(doc) o;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
COMMENT ON FUNCTION nmc.api_routes_build(jsonb) IS 'Makes nmc.api_routes from the OpenAPI document''s operations (handler = operationId, auth from security: none → public, bearer → jwt, twilioSignature → twilio; summary); operations marked x-nmc-edge are the edge''s own. Refuses a document with an operation it cannot make a route of, or whose handler nmc.<operationId>(jsonb) does not exist. Run by the install script and by every upgrade script, before nmc.api_dispatch_build(). Returns how many routes.';

SELECT nmc.api_routes_build();
