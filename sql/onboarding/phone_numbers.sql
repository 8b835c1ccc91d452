-- phone_numbers.sql — the Twilio numbers a business owns. A number belongs
-- to exactly one business; calls and texts to it are that business's.
CREATE TABLE nmc.phone_numbers (
    id             uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
    business_id    uuid NOT NULL REFERENCES nmc.businesses (id) ON DELETE CASCADE,
    phone          nmc.e164 NOT NULL UNIQUE,
    twilio_sid     text UNIQUE CHECK (twilio_sid ~ '^PN[0-9a-f]{32}$'),
    friendly_name  text,
    simulated      boolean NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now(),
    previous_webhooks jsonb,
    UNIQUE (business_id, id)
);
COMMENT ON TABLE nmc.phone_numbers IS 'Twilio numbers owned by businesses (unique across the product). simulated: bought in sandbox mode, not a real number.';
COMMENT ON COLUMN nmc.phone_numbers.previous_webhooks IS 'For a number the account owned before it was attached (POST /api/phone-numbers/attach): the webhook URLs and methods it had then, to put back if it leaves us. NULL for a number bought through us.';
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
    SELECT * INTO pn FROM nmc.phone_numbers WHERE phone = business_phone;
    IF FOUND THEN
        PERFORM set_config('nmc.business_id', pn.business_id::text, true);
    END IF;
    RETURN pn;
END
$$;
CREATE FUNCTION nmc.phone_number_available(phone text)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = nmc, public, pg_temp
AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM nmc.phone_numbers p WHERE p.phone = phone_number_available.phone) THEN
        PERFORM nmc.raise_api_error(409, 'number_taken', 'this number already belongs to a business', 'phone_number');
    END IF;
END
$$;
COMMENT ON FUNCTION nmc.phone_number_available(text) IS 'Raises NM409 number_taken if any business owns this number. Runs as nmc_auth (numbers are unique across businesses).';

COMMENT ON FUNCTION nmc.webhook_tenant(text) IS 'The business number a webhook is about (NULL fields if it is not ours), scoping the transaction to its business. Runs as nmc_auth.';
