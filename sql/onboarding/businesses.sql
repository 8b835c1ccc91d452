-- businesses.sql — the tenant: a business, its trade and profile.
-- Every other tenant table hangs off nmc.businesses.id as business_id.
CREATE TABLE nmc.trade_types (
    code  text PRIMARY KEY CHECK (code ~ '^[a-z_]+$'),
    label text NOT NULL
);
COMMENT ON TABLE nmc.trade_types IS 'The fixed list of trades a business can be; referenced by nmc.businesses.trade_type.';
INSERT INTO nmc.trade_types (code, label) VALUES
    ('plumbing', 'Plumbing'),
    ('electrical', 'Electrical'),
    ('hvac', 'Heating & air conditioning'),
    ('roofing', 'Roofing'),
    ('locksmith', 'Locksmith'),
    ('appliance_repair', 'Appliance repair'),
    ('garage_door', 'Garage doors'),
    ('pest_control', 'Pest control'),
    ('landscaping', 'Landscaping'),
    ('cleaning', 'Cleaning'),
    ('handyman', 'Handyman'),
    ('general_contractor', 'General contractor'),
    ('other', 'Other trade');

CREATE FUNCTION nmc.service_radius_max_km()
RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT 500::numeric $$;
COMMENT ON FUNCTION nmc.service_radius_max_km() IS 'The largest service radius a business may set, in kilometres: the table checks it, PATCH /api/business refuses more, GET /api/meta serves it to the dashboard''s form.';

CREATE TABLE nmc.businesses (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    trade_type       text NOT NULL REFERENCES nmc.trade_types (code),
    address_line1    text CHECK (length(address_line1) <= 200),
    address_line2    text CHECK (length(address_line2) <= 200),
    city             text CHECK (length(city) <= 100),
    region           text CHECK (length(region) <= 100),
    postal_code      text CHECK (length(postal_code) <= 20),
    country          text NOT NULL DEFAULT 'US' CHECK (country ~ '^[A-Z]{2}$'),
    timezone         text NOT NULL DEFAULT 'UTC',
    forward_to_phone nmc.e164,
    -- Call handling and texting, tunable per business (see PATCH /api/business):
    ring_timeout_seconds  int NOT NULL DEFAULT 20 CHECK (ring_timeout_seconds BETWEEN 5 AND 600),
    min_ring_seconds      int NOT NULL DEFAULT 0 CHECK (min_ring_seconds BETWEEN 0 AND 600),
    repeat_window_seconds int NOT NULL DEFAULT 600 CHECK (repeat_window_seconds BETWEEN 0 AND 86400),
    human_window_seconds  int NOT NULL DEFAULT 60 CHECK (human_window_seconds BETWEEN 0 AND 3600),
    max_reply_segments    int NOT NULL DEFAULT 6 CHECK (max_reply_segments BETWEEN 1 AND 10),
    max_ai_segments       int NOT NULL DEFAULT 3 CHECK (max_ai_segments BETWEEN 1 AND 10),
    appointment_minutes   int NOT NULL DEFAULT 60 CHECK (appointment_minutes BETWEEN 15 AND 480),
    greeting_template     text CHECK (length(greeting_template) BETWEEN 1 AND 1000),
    after_hours_message   text CHECK (length(after_hours_message) BETWEEN 1 AND 500),
    help_text             text CHECK (length(help_text) BETWEEN 1 AND 320),
    safety_advice         text CHECK (length(safety_advice) BETWEEN 1 AND 480),
    ai_disclosure         text CHECK (length(ai_disclosure) BETWEEN 1 AND 200),
    service_postal_codes  text[] CHECK (array_length(service_postal_codes, 1) <= 500),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    -- Since 0.2.0 (columns are added at the end: upgrades append them).
    service_radius_km      numeric(5,1) CHECK (service_radius_km > 0 AND service_radius_km <= nmc.service_radius_max_km()),
    service_lat            double precision CHECK (service_lat BETWEEN -90 AND 90),
    service_lng            double precision CHECK (service_lng BETWEEN -180 AND 180),
    emergency_sms_to_owner boolean NOT NULL DEFAULT true,
    -- Since 0.6.0: alerts to the owner's phone (sql/owner/owner_alerts.sql).
    alert_phone             nmc.e164,
    alert_phone_verified_at timestamptz,
    alert_kinds             text[] NOT NULL DEFAULT '{booking,customer_replied,handoff,undelivered}'
                            CHECK (alert_kinds <@ '{booking,customer_replied,handoff,undelivered}'),
    quiet_hours_start       time,
    quiet_hours_end         time,
    CHECK ((quiet_hours_start IS NULL) = (quiet_hours_end IS NULL)),
    -- The owner's phone texted STOP (sql/owner/owner_texts.sql): no alert goes to it until START.
    owner_phone_stopped     nmc.e164,
    owner_phone_stopped_at  timestamptz,
    -- Reminders of appointments to the customer (sql/appointment_reminders.sql).
    reminder_day_before     boolean NOT NULL DEFAULT true,
    reminder_hours_before   int NOT NULL DEFAULT 2 CHECK (reminder_hours_before BETWEEN 0 AND 12),
    -- Since 0.7.0: a caller whose call is missed may leave a voicemail (sql/telephony/voicemail.sql).
    voicemail_enabled       boolean NOT NULL DEFAULT true,
    -- Time kept free after each appointment (travel, clean-up): sql/scheduling/appointments.sql.
    appointment_buffer_minutes int NOT NULL DEFAULT 0 CHECK (appointment_buffer_minutes BETWEEN 0 AND 240)
);
COMMENT ON TABLE nmc.businesses IS 'One row per business (tenant): profile, trade, address, time zone and the phone missed calls were forwarded to.';
CREATE TRIGGER businesses_touch BEFORE UPDATE ON nmc.businesses
    FOR EACH ROW EXECUTE FUNCTION nmc.touch_updated_at();

ALTER TABLE nmc.businesses ENABLE ROW LEVEL SECURITY;
ALTER TABLE nmc.businesses FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON nmc.businesses
    USING (id = nmc.current_business_id())
    WITH CHECK (id = nmc.current_business_id());

CREATE FUNCTION nmc.default_after_hours_message(b nmc.businesses)
RETURNS text
LANGUAGE sql STABLE
AS $$ SELECT format('Thanks for calling %s. We can''t take your call right now; we''ll text you in a moment.', b.name) $$;
COMMENT ON FUNCTION nmc.default_after_hours_message(nmc.businesses) IS 'What a caller hears when the business is closed, unless the business wrote its own.';

CREATE FUNCTION nmc.default_help_text(b nmc.businesses)
RETURNS text
LANGUAGE sql STABLE
AS $$ SELECT format('%s: reply to this number to reach us. Reply STOP to stop texts.', b.name) $$;
COMMENT ON FUNCTION nmc.default_help_text(nmc.businesses) IS 'The reply to HELP, unless the business wrote its own.';

CREATE FUNCTION nmc.default_safety_advice(b nmc.businesses)
RETURNS text
LANGUAGE sql STABLE
AS $$ SELECT format('If you smell gas, see smoke or sparks, or feel unsafe, leave the building and call 911. We''ve alerted %s and will call you right away.', b.name) $$;
COMMENT ON FUNCTION nmc.default_safety_advice(nmc.businesses) IS 'What a customer reporting danger is told at once, unless the business wrote its own (safety_advice).';


CREATE FUNCTION nmc.default_ai_disclosure(b nmc.businesses)
RETURNS text
LANGUAGE sql STABLE
AS $$ SELECT format('Hi, this is %s''s automated assistant.', b.name) $$;
COMMENT ON FUNCTION nmc.default_ai_disclosure(nmc.businesses) IS 'How the automated assistant introduces itself in its first message, unless the business wrote its own (ai_disclosure).';

CREATE FUNCTION nmc.business_json(b nmc.businesses)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT jsonb_build_object(
        'id', b.id,
        'name', b.name,
        'trade_type', b.trade_type,
        'address_line1', b.address_line1,
        'address_line2', b.address_line2,
        'city', b.city,
        'region', b.region,
        'postal_code', b.postal_code,
        'country', b.country,
        'timezone', b.timezone,
        'forward_to_phone', b.forward_to_phone,
        'ring_timeout_seconds', b.ring_timeout_seconds,
        'min_ring_seconds', b.min_ring_seconds,
        'repeat_window_seconds', b.repeat_window_seconds,
        'human_window_seconds', b.human_window_seconds,
        'max_reply_segments', b.max_reply_segments,
        'max_ai_segments', b.max_ai_segments,
        'appointment_minutes', b.appointment_minutes,
        'appointment_buffer_minutes', b.appointment_buffer_minutes,
        'reminder_day_before', b.reminder_day_before,
        'reminder_hours_before', b.reminder_hours_before,
        'voicemail_enabled', b.voicemail_enabled,
        'after_hours_message', coalesce(b.after_hours_message, nmc.default_after_hours_message(b)),
        'help_text', coalesce(b.help_text, nmc.default_help_text(b)),
        'safety_advice', coalesce(b.safety_advice, nmc.default_safety_advice(b)),
        'ai_disclosure', coalesce(b.ai_disclosure, nmc.default_ai_disclosure(b)),
        'service_postal_codes', coalesce(to_jsonb(b.service_postal_codes), '[]'),
        'service_radius_km', b.service_radius_km,
        'service_center', CASE WHEN b.service_lat IS NOT NULL THEN jsonb_build_object('lat', b.service_lat, 'lng', b.service_lng) END,
        'emergency_sms_to_owner', b.emergency_sms_to_owner,
        'created_at', b.created_at,
        'updated_at', b.updated_at)
$$;
COMMENT ON FUNCTION nmc.business_json(nmc.businesses) IS 'The API representation of a business.';

CREATE FUNCTION nmc.input_trade_type(code text, field text DEFAULT 'trade_type')
RETURNS text
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    IF code IS NULL OR NOT EXISTS (SELECT 1 FROM nmc.trade_types t WHERE t.code = input_trade_type.code) THEN
        PERFORM nmc.raise_api_error(400, 'invalid_trade_type',
            format('%s must be one of: %s', field,
                   (SELECT string_agg(t.code, ', ' ORDER BY t.code) FROM nmc.trade_types t)), field);
    END IF;
    RETURN code;
END
$$;
COMMENT ON FUNCTION nmc.input_trade_type(text, text) IS 'Returns code if it is a known trade type, else raises NM400 invalid_trade_type listing the choices.';

CREATE FUNCTION nmc.business_update(patch jsonb)
RETURNS nmc.businesses
LANGUAGE plpgsql
AS $$
DECLARE
    b nmc.businesses;
    v text;
BEGIN
    PERFORM nmc.input_object(patch);
    PERFORM nmc.input_allowed_fields(patch, ARRAY['name', 'trade_type', 'address_line1', 'address_line2',
        'city', 'region', 'postal_code', 'country', 'timezone', 'forward_to_phone', 'ring_timeout_seconds',
        'min_ring_seconds', 'repeat_window_seconds', 'human_window_seconds', 'max_reply_segments', 'max_ai_segments', 'appointment_minutes',
        'after_hours_message', 'help_text', 'safety_advice', 'ai_disclosure', 'service_postal_codes',
        'service_radius_km', 'service_center', 'emergency_sms_to_owner', 'reminder_day_before', 'reminder_hours_before',
        'voicemail_enabled', 'appointment_buffer_minutes']);

    SELECT * INTO b FROM nmc.businesses WHERE id = nmc.current_business_id() FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM nmc.raise_api_error(404, 'not_found', 'business not found');
    END IF;

    IF patch ? 'name' THEN
        b.name := nmc.input_text(patch, 'name', true, 200);
    END IF;
    IF patch ? 'trade_type' THEN
        b.trade_type := nmc.input_trade_type(nmc.input_text(patch, 'trade_type', true, 50));
    END IF;
    IF patch ? 'address_line1' THEN
        b.address_line1 := nmc.input_text(patch, 'address_line1', false, 200, 0);
    END IF;
    IF patch ? 'address_line2' THEN
        b.address_line2 := nmc.input_text(patch, 'address_line2', false, 200, 0);
    END IF;
    IF patch ? 'city' THEN
        b.city := nmc.input_text(patch, 'city', false, 100, 0);
    END IF;
    IF patch ? 'region' THEN
        b.region := nmc.input_text(patch, 'region', false, 100, 0);
    END IF;
    IF patch ? 'postal_code' THEN
        b.postal_code := nmc.input_text(patch, 'postal_code', false, 20, 0);
    END IF;
    IF patch ? 'country' THEN
        v := upper(nmc.input_text(patch, 'country', true, 2, 2));
        IF v !~ '^[A-Z]{2}$' THEN
            PERFORM nmc.raise_api_error(400, 'invalid_field', 'country must be a two-letter ISO 3166 code such as US', 'country');
        END IF;
        b.country := v;
    END IF;
    IF patch ? 'timezone' THEN
        b.timezone := nmc.input_timezone(nmc.input_text(patch, 'timezone', true, 64));
    END IF;
    IF patch ? 'forward_to_phone' THEN
        v := nmc.input_text(patch, 'forward_to_phone', false, 32, 0);
        b.forward_to_phone := CASE WHEN coalesce(v, '') = '' THEN NULL
                                   ELSE nmc.normalize_phone(v, 'forward_to_phone') END;
    END IF;

    IF patch ? 'ring_timeout_seconds' THEN
        b.ring_timeout_seconds := nmc.input_int(patch, 'ring_timeout_seconds', 5, 600);
    END IF;
    IF patch ? 'min_ring_seconds' THEN
        b.min_ring_seconds := nmc.input_int(patch, 'min_ring_seconds', 0, 600);
    END IF;
    IF patch ? 'repeat_window_seconds' THEN
        b.repeat_window_seconds := nmc.input_int(patch, 'repeat_window_seconds', 0, 86400);
    END IF;
    IF patch ? 'human_window_seconds' THEN
        b.human_window_seconds := nmc.input_int(patch, 'human_window_seconds', 0, 3600);
    END IF;
    IF patch ? 'max_ai_segments' THEN
        b.max_ai_segments := nmc.input_int(patch, 'max_ai_segments', 1, 10);
    END IF;
    IF patch ? 'appointment_minutes' THEN
        b.appointment_minutes := nmc.input_int(patch, 'appointment_minutes', 15, 480);
    END IF;
    IF patch ? 'appointment_buffer_minutes' THEN
        b.appointment_buffer_minutes := nmc.input_int(patch, 'appointment_buffer_minutes', 0, 240);
    END IF;
    IF patch ? 'max_reply_segments' THEN
        b.max_reply_segments := nmc.input_int(patch, 'max_reply_segments', 1, 10);
    END IF;
    IF patch ? 'reminder_day_before' THEN
        IF jsonb_typeof(patch -> 'reminder_day_before') IS DISTINCT FROM 'boolean' THEN
            PERFORM nmc.raise_api_error(400, 'invalid_field', 'reminder_day_before must be true or false', 'reminder_day_before');
        END IF;
        b.reminder_day_before := (patch ->> 'reminder_day_before')::boolean;
    END IF;
    IF patch ? 'reminder_hours_before' THEN
        b.reminder_hours_before := nmc.input_int(patch, 'reminder_hours_before', 0, 12);
    END IF;
    IF patch ? 'after_hours_message' THEN
        b.after_hours_message := nullif(nmc.input_text(patch, 'after_hours_message', false, 500, 0), '');
    END IF;
    IF patch ? 'service_postal_codes' THEN
        IF jsonb_typeof(patch -> 'service_postal_codes') <> 'array'
           OR EXISTS (SELECT 1 FROM jsonb_array_elements(patch -> 'service_postal_codes') z
                       WHERE jsonb_typeof(z) <> 'string' OR (z #>> '{}') !~ '^[A-Za-z0-9 -]{3,10}$')
           OR jsonb_array_length(patch -> 'service_postal_codes') > 500 THEN
            PERFORM nmc.raise_api_error(400, 'invalid_field', 'service_postal_codes must be a list of postal codes such as "78701" (empty: no limit)',
                                        'service_postal_codes');
        END IF;
        b.service_postal_codes := nullif(ARRAY(SELECT upper(btrim(z)) FROM jsonb_array_elements_text(patch -> 'service_postal_codes') z), '{}');
    END IF;
    IF patch ? 'ai_disclosure' THEN
        b.ai_disclosure := nullif(nmc.input_text(patch, 'ai_disclosure', false, 200, 0), '');
    END IF;
    IF patch ? 'safety_advice' THEN
        b.safety_advice := nullif(nmc.input_text(patch, 'safety_advice', false, 480, 0), '');
    END IF;
    IF patch ? 'help_text' THEN
        b.help_text := nullif(nmc.input_text(patch, 'help_text', false, 320, 0), '');
    END IF;
    IF patch ? 'service_radius_km' THEN
        IF patch -> 'service_radius_km' = 'null' OR patch -> 'service_radius_km' = '0' THEN
            b.service_radius_km := NULL;
        ELSIF jsonb_typeof(patch -> 'service_radius_km') <> 'number'
              OR (patch ->> 'service_radius_km')::numeric <= 0 OR (patch ->> 'service_radius_km')::numeric > nmc.service_radius_max_km() THEN
            PERFORM nmc.raise_api_error(400, 'invalid_field',
                                        format('service_radius_km must be a number of kilometres up to %s (0 or null: no radius)', nmc.service_radius_max_km()),
                                        'service_radius_km');
        ELSE
            b.service_radius_km := round((patch ->> 'service_radius_km')::numeric, 1);
        END IF;
    END IF;
    IF patch ? 'service_center' THEN
        IF patch -> 'service_center' = 'null' THEN
            b.service_lat := NULL;
            b.service_lng := NULL;
        ELSIF jsonb_typeof(patch #> '{service_center,lat}') IS DISTINCT FROM 'number'
              OR jsonb_typeof(patch #> '{service_center,lng}') IS DISTINCT FROM 'number'
              OR abs((patch #>> '{service_center,lat}')::float8) > 90 OR abs((patch #>> '{service_center,lng}')::float8) > 180 THEN
            PERFORM nmc.raise_api_error(400, 'invalid_field', 'service_center must be {"lat": …, "lng": …} in degrees (null: from the business address)',
                                        'service_center');
        ELSE
            b.service_lat := (patch #>> '{service_center,lat}')::float8;
            b.service_lng := (patch #>> '{service_center,lng}')::float8;
        END IF;
    END IF;
    IF patch ? 'voicemail_enabled' THEN
        IF jsonb_typeof(patch -> 'voicemail_enabled') IS DISTINCT FROM 'boolean' THEN
            PERFORM nmc.raise_api_error(400, 'invalid_field', 'voicemail_enabled must be true or false', 'voicemail_enabled');
        END IF;
        b.voicemail_enabled := (patch ->> 'voicemail_enabled')::boolean;
    END IF;
    IF patch ? 'emergency_sms_to_owner' THEN
        IF jsonb_typeof(patch -> 'emergency_sms_to_owner') IS DISTINCT FROM 'boolean' THEN
            PERFORM nmc.raise_api_error(400, 'invalid_field', 'emergency_sms_to_owner must be true or false', 'emergency_sms_to_owner');
        END IF;
        b.emergency_sms_to_owner := (patch ->> 'emergency_sms_to_owner')::boolean;
    END IF;

    UPDATE nmc.businesses SET
        name = b.name, trade_type = b.trade_type,
        ring_timeout_seconds = b.ring_timeout_seconds, min_ring_seconds = b.min_ring_seconds,
        repeat_window_seconds = b.repeat_window_seconds, human_window_seconds = b.human_window_seconds,
        max_reply_segments = b.max_reply_segments, after_hours_message = b.after_hours_message,
        appointment_minutes = b.appointment_minutes, max_ai_segments = b.max_ai_segments,
        reminder_day_before = b.reminder_day_before, reminder_hours_before = b.reminder_hours_before,
        help_text = b.help_text, safety_advice = b.safety_advice, ai_disclosure = b.ai_disclosure,
        service_postal_codes = b.service_postal_codes, service_radius_km = b.service_radius_km,
        service_lat = b.service_lat, service_lng = b.service_lng, emergency_sms_to_owner = b.emergency_sms_to_owner,
        voicemail_enabled = b.voicemail_enabled, appointment_buffer_minutes = b.appointment_buffer_minutes,
        address_line1 = nullif(b.address_line1, ''), address_line2 = nullif(b.address_line2, ''),
        city = nullif(b.city, ''), region = nullif(b.region, ''), postal_code = nullif(b.postal_code, ''),
        country = b.country, timezone = b.timezone, forward_to_phone = b.forward_to_phone
     WHERE id = b.id
    RETURNING * INTO b;
    -- A radius needs a centre: the business address, geocoded (when Maps is configured).
    IF b.service_radius_km IS NOT NULL AND b.service_lat IS NULL AND b.address_line1 IS NOT NULL AND nmc.maps_configured() THEN
        PERFORM nmc.job_enqueue('maps.geocode', b.id, jsonb_build_object('purpose', 'business_center', 'country', b.country,
                                'address', concat_ws(', ', b.address_line1, b.city, b.region, b.postal_code)));
    END IF;
    RETURN b;
END
$$;
COMMENT ON FUNCTION nmc.business_update(jsonb) IS
    'Applies a partial profile update to the current business (RLS-scoped); validates every field and refuses unknown ones. Empty optional strings clear the field.';
