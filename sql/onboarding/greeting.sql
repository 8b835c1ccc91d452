-- greeting.sql — the text a caller gets after a missed call: a template per
-- business with variables, validated on save, a default per trade so a new
-- business is useful at once, and a preview with encoding and segments.
-- The one place that renders templates (docs/greetings.md lists the variables).
CREATE TABLE nmc.greeting_defaults (
    trade_type text PRIMARY KEY REFERENCES nmc.trade_types (code),
    template   text NOT NULL
);
COMMENT ON TABLE nmc.greeting_defaults IS 'The greeting a business of each trade sends until it writes its own.';
INSERT INTO nmc.greeting_defaults (trade_type, template)
SELECT code, CASE code
    WHEN 'plumbing' THEN 'Sorry we missed your call! This is {{business_name}}. Leak, clog or no hot water? Reply with what''s going on and your address and we''ll get right back to you. {{callback_line}}'
    WHEN 'electrical' THEN 'Sorry we missed your call! This is {{business_name}}. Tell us what''s going on with your electrical and your address, and we''ll get right back to you. {{callback_line}}'
    WHEN 'hvac' THEN 'Sorry we missed your call! This is {{business_name}}. Heating or cooling trouble? Reply with what''s happening and your address and we''ll get right back to you. {{callback_line}}'
    WHEN 'locksmith' THEN 'Sorry we missed your call! This is {{business_name}}. Locked out or need a lock changed? Reply with your address and we''ll get right back to you. {{callback_line}}'
    ELSE 'Sorry we missed your call! This is {{business_name}}, your local {{trade}} team. How can we help? Reply here and we''ll get right back to you. {{callback_line}}'
  END
  FROM nmc.trade_types;

CREATE FUNCTION nmc.greeting_variables()
RETURNS text[]
LANGUAGE sql IMMUTABLE
AS $$ SELECT ARRAY['business_name', 'trade', 'hours_today', 'callback_line'] $$;
COMMENT ON FUNCTION nmc.greeting_variables() IS 'The variables a greeting template may use, as {{name}}.';

CREATE FUNCTION nmc.greeting_validate(template text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    v text;
BEGIN
    IF template IS NULL OR length(btrim(template)) = 0 OR length(template) > 1000 THEN
        PERFORM nmc.raise_api_error(400, 'invalid_field', 'the greeting must be 1 to 1000 characters', 'greeting_template');
    END IF;
    SELECT m[1] INTO v FROM regexp_matches(template, '\{\{\s*([^}]*?)\s*\}\}', 'g') m
     WHERE m[1] <> ALL (nmc.greeting_variables()) LIMIT 1;
    IF FOUND THEN
        PERFORM nmc.raise_api_error(400, 'unknown_variable',
            format('{{%s}} is not a greeting variable; use %s', v,
                   (SELECT string_agg('{{' || x || '}}', ', ') FROM unnest(nmc.greeting_variables()) x)), 'greeting_template');
    END IF;
    IF regexp_replace(template, '\{\{[^{}]*\}\}', '', 'g') ~ '\{\{|\}\}' THEN
        PERFORM nmc.raise_api_error(400, 'invalid_template', 'a {{ has no matching }} in the greeting', 'greeting_template');
    END IF;
    -- Carriers filter texts with links, and a first text should not carry one.
    IF template ~* '(https?://|www\.|\m[a-z0-9-]+\.(com|net|org|io|co|us|biz|info)\M)' THEN
        PERFORM nmc.raise_api_error(400, 'links_not_allowed', 'the greeting must not contain links', 'greeting_template');
    END IF;
    RETURN template;
END
$$;
COMMENT ON FUNCTION nmc.greeting_validate(text) IS 'Returns template if it is a usable greeting: 1–1000 characters, known {{variables}} only, balanced braces, no links. Raises NM400 otherwise.';

CREATE FUNCTION nmc.format_phone(phone text)
RETURNS text
LANGUAGE sql STABLE  -- format() is stable: declared IMMUTABLE, it was never inlined but planned at every call
AS $$
    SELECT CASE WHEN phone ~ '^\+1[0-9]{10}$'
                THEN format('(%s) %s-%s', substr(phone, 3, 3), substr(phone, 6, 3), substr(phone, 9, 4))
                ELSE phone END
$$;
COMMENT ON FUNCTION nmc.format_phone(text) IS 'A phone number as people write it: (512) 555-0143 for North American numbers, E.164 otherwise.';

CREATE FUNCTION nmc.greeting_render(p_business_id uuid, template text, business_phone text, at timestamptz DEFAULT now())
RETURNS text
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    b nmc.businesses;
    t text := template;
BEGIN
    SELECT * INTO b FROM nmc.businesses WHERE id = p_business_id;
    -- One regular expression to normalise {{ name }}, then plain replacements:
    -- this runs for every missed call.
    IF t ~ '\{\{\s|\s\}\}' THEN
        t := regexp_replace(t, '\{\{\s*([a-z_]+)\s*\}\}', '{{\1}}', 'g');
    END IF;
    t := replace(t, '{{business_name}}', b.name);
    IF position('{{trade}}' IN t) > 0 THEN
        t := replace(t, '{{trade}}', (SELECT lower(label) FROM nmc.trade_types WHERE code = b.trade_type));
    END IF;
    IF position('{{hours_today}}' IN t) > 0 THEN
        t := replace(t, '{{hours_today}}', nmc.business_hours_text(b.id, (at AT TIME ZONE b.timezone)::date));
    END IF;
    t := replace(t, '{{callback_line}}', CASE WHEN business_phone IS NULL THEN ''
                                               ELSE 'You can also call us back at ' || nmc.format_phone(business_phone) || '.' END);
    RETURN btrim(regexp_replace(t, '[ \t]{2,}', ' ', 'g'));
END
$$;
COMMENT ON FUNCTION nmc.greeting_render(uuid, text, text, timestamptz) IS 'Renders a greeting template for a business: {{business_name}}, {{trade}}, {{hours_today}} (its local day at `at`), {{callback_line}} (a call-back sentence with the number that was called, no link).';

CREATE FUNCTION nmc.greeting_template_of(p_business_id uuid)
RETURNS text
-- PL/pgSQL: its plan is kept (a SQL function with a join is planned on every call).
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN (SELECT coalesce(b.greeting_template, d.template)
              FROM nmc.businesses b LEFT JOIN nmc.greeting_defaults d ON d.trade_type = b.trade_type
             WHERE b.id = p_business_id);
END
$$;
COMMENT ON FUNCTION nmc.greeting_template_of(uuid) IS 'The template a business''s greetings use: its own, or its trade''s default.';

CREATE FUNCTION nmc.greeting_preview(p_business_id uuid, template text)
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    phone text := (SELECT p.phone FROM nmc.phone_numbers p WHERE p.business_id = p_business_id AND detached_at IS NULL ORDER BY p.created_at LIMIT 1);
    rendered text := nmc.greeting_render(p_business_id, nmc.greeting_validate(template), coalesce(phone, '+15555550100'));
    seg record := nmc.sms_segments(rendered);
BEGIN
    RETURN jsonb_build_object('text', rendered, 'encoding', seg.encoding, 'segments', seg.segments, 'characters', seg.units);
END
$$;
COMMENT ON FUNCTION nmc.greeting_preview(uuid, text) IS 'What a template renders to for this business now, with its SMS encoding (GSM-7 or UCS-2) and segment count. Validates the template first.';

CREATE FUNCTION nmc.greeting_json(p_business_id uuid)
RETURNS jsonb LANGUAGE sql STABLE
AS $$
    SELECT jsonb_build_object('template', nmc.greeting_template_of(b.id), 'is_default', b.greeting_template IS NULL,
                              'default_template', (SELECT template FROM nmc.greeting_defaults WHERE trade_type = b.trade_type),
                              'variables', to_jsonb(nmc.greeting_variables()),
                              'preview', nmc.greeting_preview(b.id, nmc.greeting_template_of(b.id)))
      FROM nmc.businesses b WHERE b.id = p_business_id
$$;
COMMENT ON FUNCTION nmc.greeting_json(uuid) IS 'A business''s greeting as the API shows it, with the trade default and a preview.';

CREATE FUNCTION nmc.api_greeting_get(req jsonb)
RETURNS nmc.http_response LANGUAGE sql STABLE
AS $$ SELECT nmc.respond(200, nmc.greeting_json(nmc.current_business_id())) $$;
COMMENT ON FUNCTION nmc.api_greeting_get(jsonb) IS 'GET /api/business/greeting.';

CREATE FUNCTION nmc.api_greeting_put(req jsonb)
RETURNS nmc.http_response LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM nmc.input_object(req -> 'body');
    PERFORM nmc.input_allowed_fields(req -> 'body', ARRAY['template']);
    IF NOT (req -> 'body') ? 'template' THEN
        PERFORM nmc.raise_api_error(400, 'missing_field', 'template is required (null restores the default)', 'template');
    END IF;
    UPDATE nmc.businesses SET greeting_template =
        CASE WHEN jsonb_typeof(req #> '{body,template}') = 'null' THEN NULL
             ELSE nmc.greeting_validate(nmc.input_text(req -> 'body', 'template', true, 1000)) END
     WHERE id = nmc.current_business_id();
    RETURN nmc.respond(200, nmc.greeting_json(nmc.current_business_id()));
END $$;
COMMENT ON FUNCTION nmc.api_greeting_put(jsonb) IS 'PUT /api/business/greeting {template}: a validated template, or null for the trade default.';

CREATE FUNCTION nmc.api_greeting_preview(req jsonb)
RETURNS nmc.http_response LANGUAGE plpgsql STABLE
AS $$
BEGIN
    PERFORM nmc.input_allowed_fields(nmc.input_object(req -> 'body'), ARRAY['template']);
    RETURN nmc.respond(200, nmc.greeting_preview(nmc.current_business_id(), nmc.input_text(req -> 'body', 'template', true, 1000)));
END $$;
COMMENT ON FUNCTION nmc.api_greeting_preview(jsonb) IS 'POST /api/business/greeting/preview {template}: the rendered text, encoding (GSM-7/UCS-2) and segments, or why the template is refused.';
