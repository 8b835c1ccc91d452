-- emergencies.sql — words of danger in a customer's text (gas smell,
-- flooding, sparks, no heat, carbon monoxide…), per trade: such a text skips
-- the human window — the owner is alerted at once (an event, so the dashboard
-- rings, and a text to the forward-to phone unless emergency_sms_to_owner is
-- off) and the customer immediately gets the business's safety advice.
CREATE TABLE nmc.emergency_terms (
    trade_type text REFERENCES nmc.trade_types (code),
    term       text NOT NULL CHECK (term = lower(term)),
    UNIQUE (trade_type, term)
);
COMMENT ON TABLE nmc.emergency_terms IS 'Words of danger per trade (trade_type NULL: every trade). Matched as whole words, case-insensitively, punctuation ignored, in inbound texts (terms are lower-case words separated by single spaces).';
INSERT INTO nmc.emergency_terms (trade_type, term) VALUES
    (NULL, 'gas smell'), (NULL, 'smell gas'), (NULL, 'smells like gas'), (NULL, 'gas leak'), (NULL, 'carbon monoxide'),
    (NULL, 'co alarm'), (NULL, 'fire'), (NULL, 'smoke'),
    ('plumbing', 'flooding'), ('plumbing', 'flooded'), ('plumbing', 'burst pipe'), ('plumbing', 'pipe burst'),
    ('plumbing', 'water everywhere'), ('plumbing', 'sewage'),
    ('electrical', 'sparks'), ('electrical', 'sparking'), ('electrical', 'burning smell'), ('electrical', 'shock'),
    ('electrical', 'exposed wire'), ('electrical', 'exposed wires'),
    ('hvac', 'no heat'), ('hvac', 'furnace out'), ('hvac', 'heat is out');

CREATE FUNCTION nmc.emergency_words(body text)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$ SELECT ' ' || btrim(regexp_replace(lower(body), '[^[:alnum:]]+', ' ', 'g')) || ' ' $$;
COMMENT ON FUNCTION nmc.emergency_words(text) IS 'A text as lower-case words between single spaces (" water everywhere help "), where an emergency term matches as strpos(words, '' '' || term || '' '') > 0.';

CREATE FUNCTION nmc.emergency_term_in(p_business_id uuid, body text)
RETURNS text
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    words text := nmc.emergency_words(body);
    hit text;
BEGIN
    SELECT t.term INTO hit FROM nmc.emergency_terms t
     WHERE (t.trade_type IS NULL OR t.trade_type = (SELECT b.trade_type FROM nmc.businesses b WHERE b.id = p_business_id))
       AND strpos(words, ' ' || t.term || ' ') > 0
     ORDER BY length(t.term) DESC LIMIT 1;
    RETURN hit;
END
$$;
COMMENT ON FUNCTION nmc.emergency_term_in(uuid, text) IS 'The word of danger for the business''s trade found in a text (whole words, any case, punctuation ignored), or NULL; the longest if several.';

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
    PERFORM nmc.owner_alert(b, conv, 'emergency', format('EMERGENCY (%s) from %s: "%s" Call them now: %s',
        term, (SELECT phone FROM nmc.customers WHERE id = conv.customer_id),
        left((SELECT body FROM nmc.messages WHERE conversation_id = conv.id AND direction = 'inbound'
               ORDER BY created_at DESC, id DESC LIMIT 1), 200), nmc.owner_alert_link(conv)));
    -- A person handles danger: no countdown, and no AI small talk about a gas leak.
    RETURN nmc.conversation_set_mode(conv, 'human');
END
$$;
COMMENT ON FUNCTION nmc.conversation_emergency(nmc.conversations, text) IS 'A text reported danger: safety advice to the customer at once, a conversation.emergency event for the owner, and the conversation handed to a human (no human window, no AI).';
