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
    UNIQUE (business_id, id)
);
COMMENT ON TABLE nmc.phone_numbers IS 'Twilio numbers owned by businesses (unique across the product). simulated: bought in sandbox mode, not a real number.';
ALTER TABLE nmc.phone_numbers ENABLE ROW LEVEL SECURITY;
ALTER TABLE nmc.phone_numbers FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON nmc.phone_numbers
    USING (business_id = nmc.current_business_id())
    WITH CHECK (business_id = nmc.current_business_id());
