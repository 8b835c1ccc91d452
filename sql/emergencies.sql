-- emergencies.sql — words of danger in a customer's text (gas smell,
-- flooding, sparks, no heat, carbon monoxide…), per trade: such a text skips
-- the human window — the owner is alerted at once (an event; the dashboard
-- rings) and the customer immediately gets the business's safety advice.
CREATE TABLE nmc.emergency_terms (
    trade_type text REFERENCES nmc.trade_types (code),
    term       text NOT NULL CHECK (term = lower(term)),
    UNIQUE (trade_type, term)
);
COMMENT ON TABLE nmc.emergency_terms IS 'Words of danger per trade (trade_type NULL: every trade). Matched as whole words, case-insensitively, in inbound texts.';
INSERT INTO nmc.emergency_terms (trade_type, term) VALUES
    (NULL, 'gas smell'), (NULL, 'smell gas'), (NULL, 'smells like gas'), (NULL, 'gas leak'), (NULL, 'carbon monoxide'),
    (NULL, 'co alarm'), (NULL, 'fire'), (NULL, 'smoke'),
    ('plumbing', 'flooding'), ('plumbing', 'flooded'), ('plumbing', 'burst pipe'), ('plumbing', 'pipe burst'),
    ('plumbing', 'water everywhere'), ('plumbing', 'sewage'),
    ('electrical', 'sparks'), ('electrical', 'sparking'), ('electrical', 'burning smell'), ('electrical', 'shock'),
    ('electrical', 'exposed wire'), ('electrical', 'exposed wires'),
    ('hvac', 'no heat'), ('hvac', 'furnace out'), ('hvac', 'heat is out');

CREATE FUNCTION nmc.emergency_term_in(p_business_id uuid, body text)
RETURNS text
LANGUAGE sql STABLE
AS $$
    SELECT t.term FROM nmc.emergency_terms t JOIN nmc.businesses b ON b.id = p_business_id
     WHERE (t.trade_type IS NULL OR t.trade_type = b.trade_type)
       AND lower(body) ~ ('\m' || replace(t.term, ' ', '\s+') || '\M')
     ORDER BY length(t.term) DESC LIMIT 1
$$;
COMMENT ON FUNCTION nmc.emergency_term_in(uuid, text) IS 'The word of danger for the business''s trade found in a text (whole words, any case), or NULL.';

CREATE FUNCTION nmc.conversation_emergency(conv nmc.conversations, term text)
RETURNS nmc.conversations
LANGUAGE plpgsql
AS $$
DECLARE
    b nmc.businesses;
BEGIN
    SELECT * INTO b FROM nmc.businesses WHERE id = conv.business_id;
    PERFORM nmc.sms_send(b.id, conv.customer_id, (SELECT phone FROM nmc.phone_numbers WHERE id = conv.phone_number_id),
                         coalesce(b.safety_advice, nmc.default_safety_advice(b)), 'system', conv.id);
    PERFORM nmc.emit_event(b.id, 'conversation.emergency', jsonb_build_object('id', conv.id, 'customer_id', conv.customer_id, 'term', term));
    -- A person handles danger: no countdown, and no AI small talk about a gas leak.
    RETURN nmc.conversation_set_mode(conv, 'human');
END
$$;
COMMENT ON FUNCTION nmc.conversation_emergency(nmc.conversations, text) IS 'A text reported danger: safety advice to the customer at once, a conversation.emergency event for the owner, and the conversation handed to a human (no human window, no AI).';
