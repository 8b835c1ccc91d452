-- phone_numbers.sql — the Twilio numbers a business owns. A number belongs
-- to exactly one business; calls and texts to it are that business's. One
-- the owner brought (attached) and later detached stays on record, detached,
-- with the calls and conversations it had; it is nobody's number any more.
CREATE TABLE nmc.phone_numbers (
    id             uuid NOT NULL DEFAULT gen_random_uuid(),
    business_id    uuid NOT NULL REFERENCES nmc.businesses (id) ON DELETE CASCADE,
    phone          nmc.e164 NOT NULL,
    twilio_sid     text CHECK (twilio_sid ~ '^PN[0-9a-f]{32}$'),
    friendly_name  text,
    simulated      boolean NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now(),
    previous_webhooks jsonb,
    detached_at    timestamptz,
    PRIMARY KEY (business_id, id)
);
CREATE INDEX phone_numbers_id ON nmc.phone_numbers (id);
-- A number in use belongs to one business at a time (a webhook names only it).
CREATE UNIQUE INDEX phone_numbers_phone_key ON nmc.phone_numbers (phone) WHERE detached_at IS NULL;
CREATE UNIQUE INDEX phone_numbers_twilio_sid_key ON nmc.phone_numbers (twilio_sid, business_id) WHERE detached_at IS NULL;
COMMENT ON TABLE nmc.phone_numbers IS 'Twilio numbers owned by businesses (one business at a time per number). simulated: bought in sandbox mode, not a real number.';
COMMENT ON COLUMN nmc.phone_numbers.previous_webhooks IS 'For a number the account owned before it was attached (POST /api/phone-numbers/attach): the webhook URLs and methods it had then, to put back if it leaves us. NULL for a number bought through us.';
COMMENT ON COLUMN nmc.phone_numbers.detached_at IS 'When an attached number left us (POST /api/phone-numbers/{id}/detach, its previous webhooks put back): kept for its calls and conversations, no longer the business''s number.';
ALTER TABLE nmc.phone_numbers ENABLE ROW LEVEL SECURITY;
ALTER TABLE nmc.phone_numbers FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON nmc.phone_numbers
    USING (business_id = nmc.current_business_id())
    WITH CHECK (business_id = nmc.current_business_id());
-- A webhook names only the number that was called; nmc_auth may look numbers
-- up across businesses to learn whose it is (nmc.webhook_tenant).
CREATE POLICY webhook_lookup ON nmc.phone_numbers FOR SELECT TO nmc_auth USING (true);

CREATE FUNCTION nmc.webhook_tenant(business_phone text)
RETURNS nmc.phone_numbers
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = nmc, public, pg_temp
AS $$
DECLARE
    pn nmc.phone_numbers;
BEGIN
    SELECT * INTO pn FROM nmc.phone_numbers WHERE phone = business_phone AND detached_at IS NULL;
    IF FOUND THEN
        PERFORM set_config('nmc.business_id', pn.business_id::text, true);
    END IF;
    RETURN pn;
END
$$;
COMMENT ON FUNCTION nmc.webhook_tenant(text) IS 'The business number a webhook is about (NULL fields if it is not ours), scoping the transaction to its business. Runs as nmc_auth.';

CREATE FUNCTION nmc.phone_number_available(phone text)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = nmc, public, pg_temp
AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM nmc.phone_numbers p WHERE p.phone = phone_number_available.phone AND p.detached_at IS NULL) THEN
        PERFORM nmc.raise_api_error(409, 'number_taken', 'this number already belongs to a business', 'phone_number');
    END IF;
END
$$;
COMMENT ON FUNCTION nmc.phone_number_available(text) IS 'Raises NM409 number_taken if any business owns this number. Runs as nmc_auth (numbers are unique across businesses).';

CREATE FUNCTION nmc.api_phone_numbers_list(req jsonb)
RETURNS nmc.http_response LANGUAGE sql STABLE
AS $$
    SELECT nmc.respond(200, jsonb_build_object('phone_numbers', coalesce(jsonb_agg(jsonb_build_object(
               'id', id, 'phone', phone, 'friendly_name', friendly_name, 'simulated', simulated, 'created_at', created_at,
               'previous_webhooks', previous_webhooks) ORDER BY created_at), '[]')))
      FROM nmc.phone_numbers WHERE business_id = nmc.current_business_id() AND detached_at IS NULL
$$;
COMMENT ON FUNCTION nmc.api_phone_numbers_list(jsonb) IS 'GET /api/phone-numbers: the business''s numbers (previous_webhooks: for one the account owned before, the webhooks it had).';

CREATE FUNCTION nmc.api_phone_numbers_search(req jsonb)
RETURNS nmc.http_response LANGUAGE plpgsql
AS $$
DECLARE
    ac text;
BEGIN
    PERFORM nmc.input_allowed_fields(nmc.input_object(req -> 'body'), ARRAY['area_code']);
    ac := nmc.input_text(req -> 'body', 'area_code', true, 3, 3);
    IF ac !~ '^[2-9][0-9][0-9]$' THEN
        PERFORM nmc.raise_api_error(400, 'invalid_field', 'area_code must be a 3-digit North American area code', 'area_code');
    END IF;
    RETURN nmc.respond(202, jsonb_build_object('job', nmc.job_json(
        nmc.job_enqueue('twilio.numbers.search', nmc.current_business_id(), jsonb_build_object('area_code', ac, 'country', 'US')))));
END $$;
COMMENT ON FUNCTION nmc.api_phone_numbers_search(jsonb) IS 'POST /api/phone-numbers/search {area_code}: starts a search; 202 with the job to poll (GET /api/jobs/{id}), whose result lists the numbers.';

CREATE FUNCTION nmc.api_phone_numbers_buy(req jsonb)
RETURNS nmc.http_response LANGUAGE plpgsql
AS $$
DECLARE
    phone text;
BEGIN
    PERFORM nmc.input_allowed_fields(nmc.input_object(req -> 'body'), ARRAY['phone_number']);
    phone := nmc.normalize_phone(nmc.input_text(req -> 'body', 'phone_number', true, 32), 'phone_number');
    PERFORM nmc.phone_number_available(phone);
    RETURN nmc.respond(202, jsonb_build_object('job', nmc.job_json(
        nmc.job_enqueue('twilio.numbers.buy', nmc.current_business_id(), jsonb_build_object('phone_number', phone),
                        'buy:' || phone || ':' || nmc.current_business_id()))));
END $$;
COMMENT ON FUNCTION nmc.api_phone_numbers_buy(jsonb) IS 'POST /api/phone-numbers {phone_number}: buys a number for the business and points its webhooks at us; 202 with the job to poll. The same request twice is one purchase.';

CREATE FUNCTION nmc.api_phone_numbers_owned(req jsonb)
RETURNS nmc.http_response LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM nmc.input_allowed_fields(nmc.input_object(coalesce(req -> 'body', '{}')), ARRAY[]::text[]);
    RETURN nmc.respond(202, jsonb_build_object('job', nmc.job_json(
        nmc.job_enqueue('twilio.numbers.owned', nmc.current_business_id(), '{}'::jsonb))));
END $$;
COMMENT ON FUNCTION nmc.api_phone_numbers_owned(jsonb) IS 'POST /api/phone-numbers/owned: lists the numbers the Twilio account already owns that no business uses; 202 with the job to poll, whose result lists them with their current webhooks.';

CREATE FUNCTION nmc.api_phone_numbers_attach(req jsonb)
RETURNS nmc.http_response LANGUAGE plpgsql
AS $$
DECLARE
    sid text;
    listed jsonb;
    earlier nmc.jobs;
BEGIN
    PERFORM nmc.input_allowed_fields(nmc.input_object(req -> 'body'), ARRAY['twilio_sid']);
    sid := nmc.input_text(req -> 'body', 'twilio_sid', true, 34, 34);
    -- The same request again gets the same job, done or not (once done, the
    -- number is this business's and would otherwise read as taken).
    SELECT * INTO earlier FROM nmc.jobs
     WHERE business_id = nmc.current_business_id() AND idempotency_key = 'attach:' || sid || ':' || nmc.current_business_id();
    IF FOUND THEN
        RETURN nmc.respond(202, jsonb_build_object('job', nmc.job_json(earlier)));
    END IF;
    -- What the account said about the number when this business last listed it:
    -- its webhooks then are the ones kept to restore.
    SELECT n INTO listed
      FROM nmc.jobs jb, jsonb_array_elements(jb.result -> 'numbers') n
     WHERE jb.business_id = nmc.current_business_id() AND jb.kind = 'twilio.numbers.owned' AND jb.status = 'done'
       AND n ->> 'twilio_sid' = sid
     ORDER BY jb.finished_at DESC
     LIMIT 1;
    IF listed IS NULL THEN
        PERFORM nmc.raise_api_error(404, 'number_not_listed',
            'this number is not among the account''s free numbers: list them first (POST /api/phone-numbers/owned)', 'twilio_sid');
    END IF;
    PERFORM nmc.phone_number_available(listed ->> 'phone_number');
    RETURN nmc.respond(202, jsonb_build_object('job', nmc.job_json(
        nmc.job_enqueue('twilio.numbers.attach', nmc.current_business_id(),
                        jsonb_build_object('twilio_sid', sid, 'phone_number', listed ->> 'phone_number',
                                           'friendly_name', listed ->> 'friendly_name', 'previous_webhooks', listed -> 'webhooks'),
                        'attach:' || sid || ':' || nmc.current_business_id()))));
END $$;
COMMENT ON FUNCTION nmc.api_phone_numbers_attach(jsonb) IS 'POST /api/phone-numbers/attach {twilio_sid}: makes a number the account owns (as listed by POST /api/phone-numbers/owned) the business''s: our webhooks are set on it and the ones it had are kept (previous_webhooks); 202 with the job to poll; 404 number_not_listed, 409 number_taken. The same request again, even after the job is done, answers the same job.';

-- Detaching a number the owner brought: its earlier webhooks go back on it
-- (a twilio.numbers.detach job, sql/outbox/twilio.sql), then it is no longer ours.
CREATE FUNCTION nmc.api_phone_number_detach(req jsonb)
RETURNS nmc.http_response LANGUAGE plpgsql
AS $$
DECLARE
    pn nmc.phone_numbers;
    earlier nmc.jobs;
    k text;
BEGIN
    PERFORM nmc.input_allowed_fields(nmc.input_object(coalesce(req -> 'body', '{}')), ARRAY[]::text[]);
    SELECT * INTO pn FROM nmc.phone_numbers
     WHERE business_id = nmc.current_business_id() AND id = nmc.input_uuid(req #>> '{params,0}', 'phone_number');
    IF NOT FOUND THEN
        PERFORM nmc.raise_api_error(404, 'not_found', 'no such phone number');
    END IF;
    -- The same request again answers the same job, under way or done; after a failure it tries again.
    k := 'detach:' || pn.id;
    SELECT * INTO earlier FROM nmc.jobs WHERE business_id = pn.business_id AND idempotency_key = k;
    IF FOUND AND earlier.status IN ('failed', 'cancelled') THEN
        UPDATE nmc.jobs SET idempotency_key = NULL WHERE id = earlier.id;
    ELSIF FOUND THEN
        RETURN nmc.respond(202, jsonb_build_object('job', nmc.job_json(earlier)));
    END IF;
    IF pn.previous_webhooks IS NULL THEN
        PERFORM nmc.raise_api_error(409, 'number_not_attached',
            'this number was bought here, not attached from your Twilio account: it has no earlier webhooks to put back');
    END IF;
    IF pn.detached_at IS NOT NULL THEN
        PERFORM nmc.raise_api_error(409, 'number_detached', 'this number was already detached');
    END IF;
    RETURN nmc.respond(202, jsonb_build_object('job', nmc.job_json(
        nmc.job_enqueue('twilio.numbers.detach', pn.business_id,
                        jsonb_build_object('phone_number_id', pn.id, 'twilio_sid', pn.twilio_sid, 'phone_number', pn.phone,
                                           'previous_webhooks', pn.previous_webhooks), k))));
END $$;
COMMENT ON FUNCTION nmc.api_phone_number_detach(jsonb) IS 'POST /api/phone-numbers/{id}/detach: stop using a number attached from the Twilio account; its previous webhooks are put back (job twilio.numbers.detach), then it is no longer the business''s (kept, detached, with its calls). 202 with the job to poll (the same request again answers the same job; after a failed one, a new try); 404 not_found, 409 number_not_attached (bought here), 409 number_detached.';
