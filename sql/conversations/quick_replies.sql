-- quick_replies.sql — the owner's saved texts ("On my way", "Running late"):
-- each business's list, in its order, with the greeting's variables plus the
-- customer's name, rendered for the conversation they are about to go to.
-- New businesses start with three.
CREATE TABLE nmc.quick_replies (
    id          uuid NOT NULL DEFAULT gen_random_uuid(),
    business_id uuid NOT NULL REFERENCES nmc.businesses (id) ON DELETE CASCADE,
    label       text NOT NULL CHECK (length(label) BETWEEN 1 AND 40),
    body        text NOT NULL CHECK (length(body) BETWEEN 1 AND 480),
    position    int NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (business_id, id)
);
COMMENT ON TABLE nmc.quick_replies IS 'Saved texts the owner sends with one tap: a label, a body with the greeting''s variables and {{customer_name}}, a position in the list.';
CREATE INDEX quick_replies_business ON nmc.quick_replies (business_id, position);
ALTER TABLE nmc.quick_replies ENABLE ROW LEVEL SECURITY;
ALTER TABLE nmc.quick_replies FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON nmc.quick_replies
    USING (business_id = nmc.current_business_id())
    WITH CHECK (business_id = nmc.current_business_id());

CREATE FUNCTION nmc.quick_replies_seed(p_business_id uuid)
RETURNS void
LANGUAGE sql
AS $$
    INSERT INTO nmc.quick_replies (business_id, label, body, position) VALUES
        (p_business_id, 'On my way', 'Hi {{customer_name}}, this is {{business_name}}: I''m on my way, see you soon.', 1),
        (p_business_id, 'Running late', 'Hi {{customer_name}}, {{business_name}} here: I''m running about 15 minutes late. Sorry for the wait!', 2),
        (p_business_id, 'Booked', 'Thanks, you''re booked with {{business_name}}. Reply here if anything changes.', 3)
$$;
COMMENT ON FUNCTION nmc.quick_replies_seed(uuid) IS 'The three quick replies a business starts with.';

CREATE FUNCTION nmc.quick_replies_seed_trigger()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM nmc.quick_replies_seed(NEW.id);
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION nmc.quick_replies_seed_trigger() IS 'Gives a new business its starting quick replies.';
CREATE TRIGGER businesses_quick_replies AFTER INSERT ON nmc.businesses
    FOR EACH ROW EXECUTE FUNCTION nmc.quick_replies_seed_trigger();

CREATE FUNCTION nmc.quick_reply_render(q nmc.quick_replies, conv nmc.conversations)
RETURNS text
LANGUAGE sql STABLE
AS $$
    SELECT nmc.greeting_render(q.business_id,
               replace(regexp_replace(q.body, '\{\{\s*customer_name\s*\}\}', '{{customer_name}}', 'g'), '{{customer_name}}',
                       coalesce(split_part(nullif(btrim((SELECT name FROM nmc.customers WHERE id = conv.customer_id)), ''), ' ', 1), 'there')),
               (SELECT phone FROM nmc.phone_numbers WHERE id = conv.phone_number_id))
$$;
COMMENT ON FUNCTION nmc.quick_reply_render(nmc.quick_replies, nmc.conversations) IS 'A quick reply as it would go to the customer of conv: the greeting''s variables, and {{customer_name}} — their first name, else "there".';

CREATE FUNCTION nmc.quick_reply_json(q nmc.quick_replies, conv nmc.conversations DEFAULT NULL)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$ SELECT jsonb_build_object('id', q.id, 'label', q.label, 'body', q.body, 'position', q.position,
                                'text', nmc.quick_reply_render(q, conv)) $$;
COMMENT ON FUNCTION nmc.quick_reply_json(nmc.quick_replies, nmc.conversations) IS 'A quick reply for the API: its template (body) and its text rendered for conv (or for nobody in particular).';

CREATE FUNCTION nmc.api_quick_replies_list(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    conv nmc.conversations;
BEGIN
    IF req #>> '{query,conversation}' IS NOT NULL THEN
        SELECT * INTO conv FROM nmc.conversations WHERE id = nmc.input_uuid(req #>> '{query,conversation}', 'conversation');
        IF NOT FOUND THEN
            PERFORM nmc.raise_api_error(404, 'not_found', 'no such conversation');
        END IF;
    END IF;
    RETURN nmc.respond(200, jsonb_build_object('quick_replies', coalesce((
        SELECT jsonb_agg(nmc.quick_reply_json(q, conv) ORDER BY q.position, q.created_at, q.id)
          FROM nmc.quick_replies q WHERE q.business_id = nmc.current_business_id()), '[]')));
END
$$;
COMMENT ON FUNCTION nmc.api_quick_replies_list(jsonb) IS 'GET /api/quick-replies[?conversation=id]: the saved texts in order, each with its text rendered for that conversation''s customer.';

CREATE FUNCTION nmc.quick_reply_fields(body jsonb, q nmc.quick_replies)
RETURNS nmc.quick_replies
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    PERFORM nmc.input_allowed_fields(nmc.input_object(body), ARRAY['label', 'body', 'position']);
    IF body ? 'label' OR q.id IS NULL THEN
        q.label := nmc.input_text(body, 'label', true, 40);
    END IF;
    IF body ? 'body' OR q.id IS NULL THEN
        q.body := nmc.input_text(body, 'body', true, 480);
    END IF;
    IF body ? 'position' THEN
        IF jsonb_typeof(body -> 'position') <> 'number' OR (body ->> 'position') !~ '^[0-9]{1,4}$' THEN
            PERFORM nmc.raise_api_error(400, 'invalid_field', 'position must be a whole number from 0 to 9999', 'position');
        END IF;
        q.position := (body ->> 'position')::int;
    END IF;
    RETURN q;
END
$$;
COMMENT ON FUNCTION nmc.quick_reply_fields(jsonb, nmc.quick_replies) IS 'A quick reply with the fields of a request body applied (label ≤ 40, body ≤ 480, position 0–9999; label and body required for a new one).';

CREATE FUNCTION nmc.api_quick_reply_create(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $$
DECLARE
    q nmc.quick_replies := nmc.quick_reply_fields(req -> 'body', NULL);
BEGIN
    INSERT INTO nmc.quick_replies (business_id, label, body, position)
    VALUES (nmc.current_business_id(), q.label, q.body,
            coalesce(q.position, (SELECT coalesce(max(position), 0) + 1 FROM nmc.quick_replies WHERE business_id = nmc.current_business_id())))
    RETURNING * INTO q;
    RETURN nmc.respond(201, jsonb_build_object('quick_reply', nmc.quick_reply_json(q)));
END
$$;
COMMENT ON FUNCTION nmc.api_quick_reply_create(jsonb) IS 'POST /api/quick-replies {label, body, position?}: a new saved text, last in the list unless placed.';

CREATE FUNCTION nmc.api_quick_reply_patch(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $$
DECLARE
    q nmc.quick_replies;
BEGIN
    SELECT * INTO q FROM nmc.quick_replies WHERE id = nmc.input_uuid(req #>> '{params,0}', 'quick_reply') FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM nmc.raise_api_error(404, 'not_found', 'no such quick reply');
    END IF;
    q := nmc.quick_reply_fields(req -> 'body', q);
    UPDATE nmc.quick_replies SET label = q.label, body = q.body, position = q.position WHERE id = q.id RETURNING * INTO q;
    RETURN nmc.respond(200, jsonb_build_object('quick_reply', nmc.quick_reply_json(q)));
END
$$;
COMMENT ON FUNCTION nmc.api_quick_reply_patch(jsonb) IS 'PATCH /api/quick-replies/{id} {label?, body?, position?}.';

CREATE FUNCTION nmc.api_quick_reply_delete(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $$
BEGIN
    DELETE FROM nmc.quick_replies WHERE id = nmc.input_uuid(req #>> '{params,0}', 'quick_reply');
    IF NOT FOUND THEN
        PERFORM nmc.raise_api_error(404, 'not_found', 'no such quick reply');
    END IF;
    RETURN nmc.respond(200, jsonb_build_object('deleted', true));
END
$$;
COMMENT ON FUNCTION nmc.api_quick_reply_delete(jsonb) IS 'DELETE /api/quick-replies/{id}.';
