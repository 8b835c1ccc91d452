-- hours.sql — when a business answers its phone: weekly hours (several
-- ranges a day) and dated closures, in the business's own time zone, and
-- "open now?" computed in that zone so it stays right across DST changes.
CREATE TABLE nmc.business_hours (
    id          uuid NOT NULL DEFAULT gen_random_uuid(),
    business_id uuid NOT NULL REFERENCES nmc.businesses (id) ON DELETE CASCADE,
    weekday     smallint NOT NULL CHECK (weekday BETWEEN 0 AND 6),
    opens_at    time NOT NULL,
    closes_at   time NOT NULL CHECK (closes_at > opens_at),
    PRIMARY KEY (business_id, id)
);
COMMENT ON TABLE nmc.business_hours IS 'Weekly opening ranges in the business''s local time. weekday: 0 = Sunday … 6 = Saturday. closes_at may be 24:00; a range past midnight is two ranges.';
CREATE INDEX business_hours_day ON nmc.business_hours (business_id, weekday);
ALTER TABLE nmc.business_hours ENABLE ROW LEVEL SECURITY;
ALTER TABLE nmc.business_hours FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON nmc.business_hours
    USING (business_id = nmc.current_business_id())
    WITH CHECK (business_id = nmc.current_business_id());

CREATE TABLE nmc.business_closures (
    id          uuid NOT NULL DEFAULT gen_random_uuid(),
    business_id uuid NOT NULL REFERENCES nmc.businesses (id) ON DELETE CASCADE,
    closed_on   date NOT NULL,
    reason      text CHECK (length(reason) <= 200),
    PRIMARY KEY (business_id, id),
    UNIQUE (business_id, closed_on)
);
COMMENT ON TABLE nmc.business_closures IS 'Whole days the business is closed (holidays), in its local calendar.';
ALTER TABLE nmc.business_closures ENABLE ROW LEVEL SECURITY;
ALTER TABLE nmc.business_closures FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON nmc.business_closures
    USING (business_id = nmc.current_business_id())
    WITH CHECK (business_id = nmc.current_business_id());

CREATE FUNCTION nmc.business_is_open(p_business_id uuid, at timestamptz DEFAULT now())
RETURNS boolean
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    tz text;
    local timestamp;
BEGIN
    SELECT timezone INTO tz FROM nmc.businesses WHERE id = p_business_id;
    local := at AT TIME ZONE tz;
    IF EXISTS (SELECT 1 FROM nmc.business_closures WHERE business_id = p_business_id AND closed_on = local::date) THEN
        RETURN false;
    END IF;
    RETURN EXISTS (SELECT 1 FROM nmc.business_hours
                    WHERE business_id = p_business_id AND weekday = extract(dow FROM local)
                      AND local::time >= opens_at AND (local::time < closes_at OR closes_at = '24:00'));
END
$$;
COMMENT ON FUNCTION nmc.business_is_open(uuid, timestamptz) IS 'Whether the business is open at a moment: its local date is not a closure and its local time is inside a range of that weekday.';

CREATE FUNCTION nmc.format_time_of_day(t time)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$ SELECT CASE WHEN t = '24:00' THEN 'midnight' ELSE ltrim(to_char(t, 'HH12:MI AM'), '0') END $$;
COMMENT ON FUNCTION nmc.format_time_of_day(time) IS 'A time as a person reads it: 8:00 AM, 5:30 PM, midnight.';

CREATE FUNCTION nmc.business_hours_text(p_business_id uuid, on_day date)
RETURNS text
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    ranges text;
BEGIN
    IF EXISTS (SELECT 1 FROM nmc.business_closures WHERE business_id = p_business_id AND closed_on = on_day) THEN
        RETURN 'closed today';
    END IF;
    SELECT string_agg(nmc.format_time_of_day(opens_at) || '–' || nmc.format_time_of_day(closes_at), ', ' ORDER BY opens_at)
      INTO ranges
      FROM nmc.business_hours WHERE business_id = p_business_id AND weekday = extract(dow FROM on_day);
    RETURN coalesce('open today ' || ranges, 'closed today');
END
$$;
COMMENT ON FUNCTION nmc.business_hours_text(uuid, date) IS 'Hours of a local day as a phrase for texts: "open today 8:00 AM–5:00 PM" or "closed today".';

CREATE FUNCTION nmc.hours_json(p_business_id uuid)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT jsonb_build_object(
        'timezone', b.timezone,
        'open_now', nmc.business_is_open(b.id),
        'hours', coalesce((SELECT jsonb_agg(jsonb_build_object('weekday', h.weekday, 'opens_at', to_char(h.opens_at, 'HH24:MI'),
                                                               'closes_at', to_char(h.closes_at, 'HH24:MI'))
                                            ORDER BY h.weekday, h.opens_at)
                             FROM nmc.business_hours h WHERE h.business_id = b.id), '[]'),
        'closures', coalesce((SELECT jsonb_agg(jsonb_build_object('id', c.id, 'date', c.closed_on, 'reason', c.reason) ORDER BY c.closed_on)
                                FROM nmc.business_closures c WHERE c.business_id = b.id AND c.closed_on >= (now() AT TIME ZONE b.timezone)::date), '[]'))
      FROM nmc.businesses b WHERE b.id = p_business_id
$$;
COMMENT ON FUNCTION nmc.hours_json(uuid) IS 'A business''s hours, upcoming closures and whether it is open now, as the API shows them.';

CREATE FUNCTION nmc.hours_replace(p_business_id uuid, hours jsonb)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    h jsonb;
    i int := 0;
    d int;
    o time;
    c time;
BEGIN
    IF jsonb_typeof(hours) IS DISTINCT FROM 'array' THEN
        PERFORM nmc.raise_api_error(400, 'invalid_field', 'hours must be a list of {weekday, opens_at, closes_at}', 'hours');
    END IF;
    DELETE FROM nmc.business_hours WHERE business_id = p_business_id;
    FOR h IN SELECT * FROM jsonb_array_elements(hours) LOOP
        i := i + 1;
        IF jsonb_typeof(h) <> 'object' OR NOT (h ?& ARRAY['weekday', 'opens_at', 'closes_at'])
           OR jsonb_typeof(h -> 'weekday') <> 'number' OR (h ->> 'weekday') !~ '^[0-6]$'
           OR coalesce(h ->> 'opens_at', '') !~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'
           OR coalesce(h ->> 'closes_at', '') !~ '^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$' THEN
            PERFORM nmc.raise_api_error(400, 'invalid_field',
                format('hours[%s] must be {"weekday": 0-6 (0 = Sunday), "opens_at": "HH:MM", "closes_at": "HH:MM"}', i - 1), 'hours');
        END IF;
        d := (h ->> 'weekday')::int;
        o := (h ->> 'opens_at')::time;
        c := (h ->> 'closes_at')::time;
        IF c <= o THEN
            PERFORM nmc.raise_api_error(400, 'invalid_field',
                format('hours[%s] closes before it opens; split a range past midnight into two days', i - 1), 'hours');
        END IF;
        IF EXISTS (SELECT 1 FROM nmc.business_hours WHERE business_id = p_business_id AND weekday = d
                    AND opens_at < c AND o < closes_at) THEN
            PERFORM nmc.raise_api_error(400, 'invalid_field', format('hours[%s] overlaps another range of the same day', i - 1), 'hours');
        END IF;
        INSERT INTO nmc.business_hours (business_id, weekday, opens_at, closes_at) VALUES (p_business_id, d, o, c);
    END LOOP;
END
$$;
COMMENT ON FUNCTION nmc.hours_replace(uuid, jsonb) IS 'Replaces a business''s weekly hours with a validated list of ranges (no overlaps within a day).';

CREATE FUNCTION nmc.api_hours_get(req jsonb)
RETURNS nmc.http_response LANGUAGE sql STABLE
AS $$ SELECT nmc.respond(200, nmc.hours_json(nmc.current_business_id())) $$;
COMMENT ON FUNCTION nmc.api_hours_get(jsonb) IS 'GET /api/business/hours: weekly hours, upcoming closures, open now.';

CREATE FUNCTION nmc.api_hours_put(req jsonb)
RETURNS nmc.http_response LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM nmc.input_object(req -> 'body');
    PERFORM nmc.input_allowed_fields(req -> 'body', ARRAY['hours']);
    PERFORM nmc.hours_replace(nmc.current_business_id(), req #> '{body,hours}');
    RETURN nmc.respond(200, nmc.hours_json(nmc.current_business_id()));
END $$;
COMMENT ON FUNCTION nmc.api_hours_put(jsonb) IS 'PUT /api/business/hours {hours: [{weekday, opens_at, closes_at}]}: replaces the weekly hours.';

CREATE FUNCTION nmc.api_closures_post(req jsonb)
RETURNS nmc.http_response LANGUAGE plpgsql
AS $$
DECLARE
    d text := nmc.input_text(nmc.input_object(req -> 'body'), 'date', true, 10, 10);
    c nmc.business_closures;
BEGIN
    PERFORM nmc.input_allowed_fields(req -> 'body', ARRAY['date', 'reason']);
    IF d !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' OR to_char(to_date(d, 'YYYY-MM-DD'), 'YYYY-MM-DD') <> d THEN
        PERFORM nmc.raise_api_error(400, 'invalid_field', 'date must be a calendar date YYYY-MM-DD', 'date');
    END IF;
    INSERT INTO nmc.business_closures (business_id, closed_on, reason)
    VALUES (nmc.current_business_id(), d::date, nmc.input_text(req -> 'body', 'reason', false, 200, 0))
    ON CONFLICT (business_id, closed_on) DO UPDATE SET reason = EXCLUDED.reason
    RETURNING * INTO c;
    RETURN nmc.respond(201, jsonb_build_object('closure', jsonb_build_object('id', c.id, 'date', c.closed_on, 'reason', c.reason)));
END $$;
COMMENT ON FUNCTION nmc.api_closures_post(jsonb) IS 'POST /api/business/closures {date, reason}: a day the business is closed.';

CREATE FUNCTION nmc.api_closures_delete(req jsonb)
RETURNS nmc.http_response LANGUAGE plpgsql
AS $$
BEGIN
    DELETE FROM nmc.business_closures WHERE id = nmc.input_uuid(req #>> '{params,0}', 'closure');
    IF NOT FOUND THEN
        PERFORM nmc.raise_api_error(404, 'not_found', 'no such closure');
    END IF;
    RETURN nmc.respond(200, jsonb_build_object('deleted', true));
END $$;
COMMENT ON FUNCTION nmc.api_closures_delete(jsonb) IS 'DELETE /api/business/closures/{id}.';
