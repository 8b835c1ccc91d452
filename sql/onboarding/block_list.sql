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
