-- customers.sql — the people who call and text a business: one row per
-- business + phone number, with what we know about their reachability
-- (opted out by STOP, or a number that cannot receive texts).
CREATE TABLE nmc.customers (
    id                       uuid NOT NULL DEFAULT gen_random_uuid(),
    business_id              uuid NOT NULL REFERENCES nmc.businesses (id) ON DELETE CASCADE,
    phone                    nmc.e164 NOT NULL,
    name                     text CHECK (length(name) <= 200),
    opted_out_at             timestamptz,
    sms_unreachable_at       timestamptz,
    sms_unreachable_reason   text,
    last_greeting_at         timestamptz,
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (business_id, id),
    UNIQUE (business_id, phone)
);
CREATE INDEX customers_id ON nmc.customers (id);
COMMENT ON TABLE nmc.customers IS 'A caller/texter of a business, unique per business and phone. opted_out_at: they replied STOP (or Twilio said 21610); sms_unreachable_*: Twilio said the number cannot receive texts (21211, 21614).';
CREATE TRIGGER customers_touch BEFORE UPDATE ON nmc.customers
    FOR EACH ROW EXECUTE FUNCTION nmc.touch_updated_at();
ALTER TABLE nmc.customers ENABLE ROW LEVEL SECURITY;
ALTER TABLE nmc.customers FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON nmc.customers
    USING (business_id = nmc.current_business_id())
    WITH CHECK (business_id = nmc.current_business_id());

CREATE FUNCTION nmc.customers_upsert(p_business_ids uuid[], p_phones text[])
RETURNS nmc.customers[]
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    r nmc.customers[];
BEGIN
    -- Created if new (a returning customer gets no new row version), then all
    -- found and locked, in id order: callers decide from their state (opted out,
    -- last greeting), and two transactions at once must decide one after the other.
    -- Each looked up by its key (ON CONFLICT's index probe, LATERAL): a plan made
    -- on a small table would otherwise read all of a business's customers.
    INSERT INTO nmc.customers (business_id, phone)
    SELECT DISTINCT u.b, u.p FROM unnest(p_business_ids, p_phones) AS u(b, p)
     ORDER BY u.b, u.p
    ON CONFLICT (business_id, phone) DO NOTHING;  -- a returning customer (or one a concurrent transaction just created)
    WITH k AS (SELECT DISTINCT u.b, u.p FROM unnest(p_business_ids, p_phones) AS u(b, p)),
         l AS (SELECT c.* FROM k CROSS JOIN LATERAL (SELECT * FROM nmc.customers o WHERE o.business_id = k.b AND o.phone = k.p) c
                ORDER BY c.id FOR NO KEY UPDATE OF c)
    SELECT array_agg(l::nmc.customers ORDER BY u.i) INTO r
      FROM unnest(p_business_ids, p_phones) WITH ORDINALITY AS u(b, p, i) JOIN l ON l.business_id = u.b AND l.phone = u.p;
    RETURN r;
END
$$;
COMMENT ON FUNCTION nmc.customers_upsert(uuid[], text[]) IS 'The customers of businesses with these phones (element k of each array is one; phones already normalised, as nmc.normalize_phone returns them), created if new, in the same order; the rows are locked until the transaction ends. The one place customers are found or created by phone (nmc.customer_upsert is it for one).';

CREATE FUNCTION nmc.customer_upsert(p_business_id uuid, p_phone text)
RETURNS nmc.customers
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN (nmc.customers_upsert(ARRAY[p_business_id], ARRAY[nmc.normalize_phone(p_phone, 'phone')]))[1];
END
$$;
COMMENT ON FUNCTION nmc.customer_upsert(uuid, text) IS 'The customer of a business with this phone (normalised; NM400 if it is not a phone number), created if new; the row is locked until the transaction ends (nmc.customers_upsert for one).';

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
