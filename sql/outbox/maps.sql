-- maps.sql — the maps.geocode job kind: Google Maps Geocoding for the
-- service-area check (key from nmc.settings, never stored in the job), with
-- Google's HTTP-200 error statuses sorted into retry and failure.
CREATE FUNCTION nmc.maps_geocode_build(j nmc.jobs, cfg jsonb)
RETURNS nmc.http_request
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    IF coalesce(cfg ->> 'maps_api_key', '') = '' THEN
        RAISE EXCEPTION 'Google Maps is not configured (NMC_MAPS_API_KEY is empty)';
    END IF;
    IF coalesce(j.payload ->> 'address', '') = '' THEN
        RAISE EXCEPTION 'maps.geocode payload needs address';
    END IF;
    RETURN ROW('GET', rtrim(cfg ->> 'maps_api_base', '/') || '/maps/api/geocode/json?'
                   || nmc.form_encode(jsonb_strip_nulls(jsonb_build_object(
                          'address', j.payload ->> 'address',
                          'components', CASE WHEN j.payload ? 'country' THEN 'country:' || (j.payload ->> 'country') END,
                          'key', cfg ->> 'maps_api_key'))),
               ARRAY['Accept: application/json'], NULL, NULL, NULL, NULL)::nmc.http_request;
END
$$;
COMMENT ON FUNCTION nmc.maps_geocode_build(nmc.jobs, jsonb) IS 'maps.geocode: GET {maps_api_base}/maps/api/geocode/json?address=…&key=…';

CREATE FUNCTION nmc.maps_geocode_apply(j nmc.jobs, response jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    st text := response ->> 'status';
    r jsonb := response #> '{results,0}';
    result jsonb;
BEGIN
    IF st = 'ZERO_RESULTS' THEN
        result := jsonb_build_object('found', false);
    ELSIF st IN ('OVER_QUERY_LIMIT', 'UNKNOWN_ERROR') THEN
        PERFORM nmc.job_transient_error(coalesce(response ->> 'error_message', 'Google Maps answered ' || st), st);
    ELSIF st IS DISTINCT FROM 'OK' OR r IS NULL THEN
        PERFORM nmc.job_permanent_error(coalesce(response ->> 'error_message', 'Google Maps answered ' || coalesce(st, 'no status')),
                                        coalesce(st, 'invalid_response'));
    ELSE
        result := jsonb_build_object(
            'found', true,
            'formatted_address', r ->> 'formatted_address',
            'lat', (r #>> '{geometry,location,lat}')::double precision,
            'lng', (r #>> '{geometry,location,lng}')::double precision,
            'location_type', r #>> '{geometry,location_type}',
            'partial_match', coalesce((r ->> 'partial_match')::boolean, false),
            'postal_code', (SELECT c ->> 'short_name' FROM jsonb_array_elements(r -> 'address_components') c
                             WHERE c -> 'types' ? 'postal_code' LIMIT 1));
    END IF;
    PERFORM nmc.maps_geocode_effects(j, result);
    RETURN result;
END
$$;
COMMENT ON FUNCTION nmc.maps_geocode_apply(nmc.jobs, jsonb) IS 'maps.geocode success: the best match (address, point, precision, postal code) or found=false, handed to what asked for it (nmc.maps_geocode_effects); OVER_QUERY_LIMIT/UNKNOWN_ERROR retry, other statuses fail.';

CREATE FUNCTION nmc.maps_geocode_effects(j nmc.jobs, geo jsonb)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    CASE j.payload ->> 'purpose'
        WHEN 'service_area' THEN PERFORM nmc.ai_geocode_apply(j, geo);
        WHEN 'business_center' THEN PERFORM nmc.business_center_apply(j, geo);
        ELSE NULL;
    END CASE;
END
$$;
COMMENT ON FUNCTION nmc.maps_geocode_effects(nmc.jobs, jsonb) IS 'What a geocoding result (NULL: the job failed) does, by payload.purpose: service_area → the assistant turn''s check_service_area; business_center → the centre of the service radius.';
