-- customers.sql — the people who call and text a business: one row per
-- business + phone number, with what we know about their reachability
-- (opted out by STOP, or a number that cannot receive texts).
CREATE TABLE nmc.customers (
    id                       uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
    business_id              uuid NOT NULL REFERENCES nmc.businesses (id) ON DELETE CASCADE,
    phone                    nmc.e164 NOT NULL,
    name                     text CHECK (length(name) <= 200),
    opted_out_at             timestamptz,
    sms_unreachable_at       timestamptz,
    sms_unreachable_reason   text,
    last_greeting_at         timestamptz,
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    UNIQUE (business_id, id),
    UNIQUE (business_id, phone)
);
COMMENT ON TABLE nmc.customers IS 'A caller/texter of a business, unique per business and phone. opted_out_at: they replied STOP (or Twilio said 21610); sms_unreachable_*: Twilio said the number cannot receive texts (21211, 21614).';
CREATE TRIGGER customers_touch BEFORE UPDATE ON nmc.customers
    FOR EACH ROW EXECUTE FUNCTION nmc.touch_updated_at();
ALTER TABLE nmc.customers ENABLE ROW LEVEL SECURITY;
ALTER TABLE nmc.customers FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON nmc.customers
    USING (business_id = nmc.current_business_id())
    WITH CHECK (business_id = nmc.current_business_id());

CREATE FUNCTION nmc.customer_upsert(p_business_id uuid, p_phone text)
RETURNS nmc.customers
LANGUAGE plpgsql
AS $$
DECLARE
    c nmc.customers;
    normal text := nmc.normalize_phone(p_phone, 'phone');
BEGIN
    -- Found and locked without writing a new version (a returning customer changes
    -- nothing); created if new. Locked either way: callers decide from its state
    -- (opted out, last greeting), and two calls at once must decide one after the other.
    SELECT * INTO c FROM nmc.customers WHERE business_id = p_business_id AND phone = normal FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        INSERT INTO nmc.customers (business_id, phone) VALUES (p_business_id, normal)
        ON CONFLICT (business_id, phone) DO NOTHING
        RETURNING * INTO c;
        IF NOT FOUND THEN
            -- Created by a concurrent transaction just now.
            SELECT * INTO c FROM nmc.customers WHERE business_id = p_business_id AND phone = normal FOR NO KEY UPDATE;
        END IF;
    END IF;
    RETURN c;
END
$$;
COMMENT ON FUNCTION nmc.customer_upsert(uuid, text) IS 'The customer of a business with this phone (normalised), created if new; the row is locked until the transaction ends.';

CREATE FUNCTION nmc.customer_brief(p_customer_id uuid)
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    r jsonb;
BEGIN
    SELECT jsonb_build_object('id', c.id, 'phone', c.phone, 'name', c.name) INTO r FROM nmc.customers c WHERE c.id = p_customer_id;
    RETURN r;
END
$$;
COMMENT ON FUNCTION nmc.customer_brief(uuid) IS 'A customer as events and lists show them: {id, phone, name}.';
