-- block_list.sql — numbers a business never texts after a missed call
-- (spam callers, its own staff, suppliers).
CREATE TABLE nmc.blocked_numbers (
    id          uuid NOT NULL DEFAULT gen_random_uuid(),
    business_id uuid NOT NULL REFERENCES nmc.businesses (id) ON DELETE CASCADE,
    phone       nmc.e164 NOT NULL,
    reason      text CHECK (length(reason) <= 200),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (business_id, id),
    UNIQUE (business_id, phone)
);
COMMENT ON TABLE nmc.blocked_numbers IS 'Per business: callers who never get a missed-call text (the decision says suppressed_blocked).';
ALTER TABLE nmc.blocked_numbers ENABLE ROW LEVEL SECURITY;
ALTER TABLE nmc.blocked_numbers FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON nmc.blocked_numbers
    USING (business_id = nmc.current_business_id())
    WITH CHECK (business_id = nmc.current_business_id());

CREATE FUNCTION nmc.api_blocked_list(req jsonb)
RETURNS nmc.http_response LANGUAGE sql STABLE
AS $$
    SELECT nmc.respond(200, jsonb_build_object('blocked_numbers', coalesce(jsonb_agg(jsonb_build_object(
               'id', id, 'phone', phone, 'reason', reason, 'created_at', created_at) ORDER BY created_at), '[]')))
      FROM nmc.blocked_numbers WHERE business_id = nmc.current_business_id()
$$;
COMMENT ON FUNCTION nmc.api_blocked_list(jsonb) IS 'GET /api/business/blocked-numbers.';

CREATE FUNCTION nmc.api_blocked_add(req jsonb)
RETURNS nmc.http_response LANGUAGE plpgsql
AS $$
DECLARE
    r nmc.blocked_numbers;
BEGIN
    PERFORM nmc.input_allowed_fields(nmc.input_object(req -> 'body'), ARRAY['phone', 'reason']);
    INSERT INTO nmc.blocked_numbers (business_id, phone, reason)
    VALUES (nmc.current_business_id(), nmc.normalize_phone(nmc.input_text(req -> 'body', 'phone', true, 32), 'phone'),
            nmc.input_text(req -> 'body', 'reason', false, 200, 0))
    ON CONFLICT (business_id, phone) DO UPDATE SET reason = EXCLUDED.reason
    RETURNING * INTO r;
    RETURN nmc.respond(201, jsonb_build_object('blocked_number', jsonb_build_object('id', r.id, 'phone', r.phone, 'reason', r.reason)));
END $$;
COMMENT ON FUNCTION nmc.api_blocked_add(jsonb) IS 'POST /api/business/blocked-numbers {phone, reason}.';

CREATE FUNCTION nmc.api_blocked_delete(req jsonb)
RETURNS nmc.http_response LANGUAGE plpgsql
AS $$
BEGIN
    DELETE FROM nmc.blocked_numbers WHERE id = nmc.input_uuid(req #>> '{params,0}', 'blocked number');
    IF NOT FOUND THEN
        PERFORM nmc.raise_api_error(404, 'not_found', 'no such blocked number');
    END IF;
    RETURN nmc.respond(200, jsonb_build_object('deleted', true));
END $$;
COMMENT ON FUNCTION nmc.api_blocked_delete(jsonb) IS 'DELETE /api/business/blocked-numbers/{id}.';
