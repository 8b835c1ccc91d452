-- conversations.sql — the SMS thread between a business number and a
-- customer: at most one open conversation per (business number, customer),
-- its mode (waiting for the customer, human window open, AI, human) and the
-- human response window timer. Its states and modes are listed once below;
-- modes change only in nmc.conversation_set_mode (the allowed moves:
-- nmc.conversation_mode_allowed), a conversation closes only in nmc.conversation_close.
CREATE FUNCTION nmc.conversation_states()
RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT ARRAY['open', 'closed'] $$;
COMMENT ON FUNCTION nmc.conversation_states() IS 'A conversation''s states, the one list (the domain nmc.conversation_state checks it, GET /api/meta serves it): open, then closed for good (nmc.conversation_close).';
CREATE DOMAIN nmc.conversation_state AS text CHECK (VALUE = ANY (nmc.conversation_states()));
COMMENT ON DOMAIN nmc.conversation_state IS 'A state of nmc.conversation_states(); changed only by nmc.conversation_close.';

CREATE FUNCTION nmc.conversation_state_allowed(p_from text, p_to text)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT p_to = 'closed' $$;
COMMENT ON FUNCTION nmc.conversation_state_allowed(text, text) IS 'A conversation''s one state move: it only ever closes (nmc.conversation_close; closing a closed one again only merges what was gathered); the next text opens a fresh conversation.';

CREATE FUNCTION nmc.conversation_modes()
RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT ARRAY['waiting', 'human_window', 'ai', 'human'] $$;
COMMENT ON FUNCTION nmc.conversation_modes() IS 'A conversation''s modes, the one list (the domain nmc.conversation_mode checks it, GET /api/meta serves it): waiting for the customer, human window open, the assistant, a person (taken over).';
CREATE DOMAIN nmc.conversation_mode AS text CHECK (VALUE = ANY (nmc.conversation_modes()));
COMMENT ON DOMAIN nmc.conversation_mode IS 'A mode of nmc.conversation_modes(); changed only by nmc.conversation_set_mode.';

CREATE TABLE nmc.conversations (
    id                    uuid NOT NULL DEFAULT gen_random_uuid(),
    business_id           uuid NOT NULL,  -- checked through (business_id, customer_id) → customers below
    customer_id           uuid NOT NULL,
    phone_number_id       uuid NOT NULL,
    lead_id               uuid,
    state                 nmc.conversation_state NOT NULL DEFAULT 'open',
    mode                  nmc.conversation_mode NOT NULL DEFAULT 'waiting',
    human_window_deadline timestamptz,
    human_window_timer_id bigint,
    last_message_at       timestamptz,
    intake                jsonb NOT NULL DEFAULT '{}',   -- the intake engine's gathered details (intake_engine.sql)
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    closed_at             timestamptz,
    taken_over_at         timestamptz,   -- since 0.6.0: the owner's latest takeover
    PRIMARY KEY (business_id, id),
    FOREIGN KEY (business_id, customer_id) REFERENCES nmc.customers (business_id, id) ON DELETE CASCADE,
    FOREIGN KEY (business_id, phone_number_id) REFERENCES nmc.phone_numbers (business_id, id) ON DELETE CASCADE,
    FOREIGN KEY (business_id, lead_id) REFERENCES nmc.leads (business_id, id) ON DELETE SET NULL (lead_id)
);
COMMENT ON TABLE nmc.conversations IS 'SMS threads. mode: waiting (for the customer), human_window (the customer wrote; the business has until human_window_deadline), ai, human (taken over).';
CREATE INDEX conversations_id ON nmc.conversations (id);
CREATE UNIQUE INDEX conversations_one_open ON nmc.conversations (business_id, phone_number_id, customer_id) WHERE state = 'open';
CREATE TRIGGER conversations_touch BEFORE UPDATE ON nmc.conversations FOR EACH ROW EXECUTE FUNCTION nmc.touch_updated_at();
ALTER TABLE nmc.conversations ENABLE ROW LEVEL SECURITY;
ALTER TABLE nmc.conversations FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON nmc.conversations
    USING (business_id = nmc.current_business_id())
    WITH CHECK (business_id = nmc.current_business_id());

ALTER TABLE nmc.messages ADD FOREIGN KEY (business_id, conversation_id) REFERENCES nmc.conversations (business_id, id) ON DELETE CASCADE;
CREATE INDEX messages_conversation ON nmc.messages (business_id, conversation_id, created_at);

CREATE FUNCTION nmc.conversation_json(c nmc.conversations)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$ SELECT jsonb_build_object('id', c.id, 'customer_id', c.customer_id, 'phone_number_id', c.phone_number_id, 'lead_id', c.lead_id,
                                'state', c.state, 'mode', c.mode, 'human_window_deadline', c.human_window_deadline,
                                'last_message_at', c.last_message_at, 'created_at', c.created_at) $$;
COMMENT ON FUNCTION nmc.conversation_json(nmc.conversations) IS 'The API and event representation of a conversation (never its messages).';

CREATE FUNCTION nmc.conversations_open(p_business_ids uuid[], p_customer_ids uuid[], p_phone_number_ids uuid[], p_lead_ids uuid[])
RETURNS nmc.conversations[]
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    r nmc.conversations[];
    created nmc.conversations[];
BEGIN
    -- Each (business number, customer) once, with the last lead named for it.
    WITH k AS (
        SELECT DISTINCT ON (u.b, u.pn, u.c) u.b, u.pn, u.c, u.lead
          FROM unnest(p_business_ids, p_customer_ids, p_phone_number_ids, p_lead_ids) WITH ORDINALITY AS u(b, c, pn, lead, i)
         ORDER BY u.b, u.pn, u.c, (u.lead IS NOT NULL) DESC, u.i DESC
    ), ins AS (
        INSERT INTO nmc.conversations (business_id, customer_id, phone_number_id, lead_id)
        SELECT k.b, k.c, k.pn,
               coalesce(k.lead, (SELECT l.id FROM nmc.leads l WHERE l.business_id = k.b AND l.customer_id = k.c
                                   AND l.status IN ('new', 'contacted', 'qualified', 'appointment_scheduled')))
          FROM k
         -- OFFSET 0 keeps each probe an index lookup (not an anti-join planned on old statistics).
         WHERE NOT EXISTS (SELECT 1 FROM nmc.conversations o
                            WHERE o.business_id = k.b AND o.phone_number_id = k.pn AND o.customer_id = k.c AND o.state = 'open' OFFSET 0)
         ORDER BY k.b, k.pn, k.c
        ON CONFLICT (business_id, phone_number_id, customer_id) WHERE state = 'open' DO NOTHING  -- a concurrent one opened it first: theirs
        RETURNING *)
    SELECT array_agg(ins::nmc.conversations) INTO created FROM ins;
    -- All of them locked (by id), and linked to the lead named where it differs.
    WITH k AS (
        SELECT DISTINCT ON (u.b, u.pn, u.c) u.b, u.pn, u.c, u.lead
          FROM unnest(p_business_ids, p_customer_ids, p_phone_number_ids, p_lead_ids) WITH ORDINALITY AS u(b, c, pn, lead, i)
         ORDER BY u.b, u.pn, u.c, (u.lead IS NOT NULL) DESC, u.i DESC
    ), found AS (
        -- Each by the open-conversation index (LATERAL with LIMIT: whatever the statistics).
        SELECT f.id, k.lead FROM k
         CROSS JOIN LATERAL (SELECT o.id FROM nmc.conversations o
                              WHERE o.business_id = k.b AND o.phone_number_id = k.pn AND o.customer_id = k.c AND o.state = 'open' LIMIT 1) f
    ), locked AS (
        SELECT o.id, found.lead FROM nmc.conversations o JOIN found ON o.id = found.id ORDER BY o.id FOR UPDATE OF o
    )
    UPDATE nmc.conversations o SET lead_id = locked.lead
      FROM locked WHERE o.id = locked.id AND locked.lead IS NOT NULL AND o.lead_id IS DISTINCT FROM locked.lead;
    SELECT array_agg(f.o ORDER BY u.i) INTO r
      FROM unnest(p_business_ids, p_customer_ids, p_phone_number_ids) WITH ORDINALITY AS u(b, c, pn, i)
     CROSS JOIN LATERAL (SELECT o FROM nmc.conversations o
                          WHERE o.business_id = u.b AND o.phone_number_id = u.pn AND o.customer_id = u.c AND o.state = 'open' LIMIT 1) f;
    -- conversation.created for each new one, in the order they were first named.
    PERFORM nmc.emit_events(array_agg(c.business_id ORDER BY f.i), array_agg('conversation.created'::text ORDER BY f.i),
                            array_agg(nmc.conversation_json(c) || jsonb_build_object('customer', nmc.customer_brief(c.customer_id)) ORDER BY f.i))
       FROM unnest(created) c
       JOIN (SELECT (r[k]).id, min(k) AS i FROM generate_subscripts(r, 1) AS k GROUP BY 1) f ON f.id = c.id;
    RETURN r;
END
$$;
COMMENT ON FUNCTION nmc.conversations_open(uuid[], uuid[], uuid[], uuid[]) IS 'For each (business, customer, business number, lead) — element k of each array — the open conversation between that number and the customer (locked; linked to the lead when one is named and it differs), or a new one linked to the lead named or the customer''s active lead (emits conversation.created, with the customer), in the same order. The one place conversations are opened (nmc.conversation_open is it for one).';

CREATE FUNCTION nmc.conversation_open(p_business_id uuid, p_customer_id uuid, p_phone_number_id uuid, p_lead_id uuid DEFAULT NULL)
RETURNS nmc.conversations
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN (nmc.conversations_open(ARRAY[p_business_id], ARRAY[p_customer_id], ARRAY[p_phone_number_id], ARRAY[p_lead_id]))[1];
END
$$;
COMMENT ON FUNCTION nmc.conversation_open(uuid, uuid, uuid, uuid) IS 'The open conversation between a business number and a customer (locked), or a new one (emits conversation.created, with the customer): nmc.conversations_open for one.';

CREATE FUNCTION nmc.conversation_mode_allowed(p_from text, p_to text)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT (p_from, p_to) IN (('waiting', 'human_window'), ('human_window', 'waiting'), ('human_window', 'human_window'),
                              ('waiting', 'waiting'), ('human_window', 'ai'), ('ai', 'ai'),
                              -- Takeover, from any mode, and release back to waiting.
                              ('waiting', 'human'), ('human_window', 'human'), ('ai', 'human'), ('human', 'human'),
                              ('human', 'waiting'))
$$;
COMMENT ON FUNCTION nmc.conversation_mode_allowed(text, text) IS 'A conversation''s allowed mode changes, the one place: waiting ⇄ human_window (the customer wrote; the owner answered), human_window → ai (nobody answered in time), takeover to human from any mode and release back to waiting; staying in a mode is allowed. Set-based paths check it in their UPDATE.';

CREATE FUNCTION nmc.conversation_set_mode(c nmc.conversations, p_mode text, p_deadline timestamptz DEFAULT NULL)
RETURNS nmc.conversations
LANGUAGE plpgsql
AS $$
BEGIN
    IF NOT nmc.conversation_mode_allowed(c.mode, p_mode) THEN
        PERFORM nmc.raise_api_error(409, 'invalid_transition', format('a conversation cannot go from %s to %s', c.mode, p_mode));
    END IF;
    IF c.human_window_timer_id IS NOT NULL AND p_mode <> 'human_window' THEN
        PERFORM nmc.timer_cancel(c.human_window_timer_id);
    END IF;
    UPDATE nmc.conversations SET mode = p_mode,
           human_window_deadline = CASE WHEN p_mode = 'human_window' THEN p_deadline END,
           human_window_timer_id = CASE WHEN p_mode = 'human_window' THEN human_window_timer_id END
     WHERE id = c.id RETURNING * INTO c;
    PERFORM nmc.emit_event(c.business_id, 'conversation.updated',
        jsonb_build_object('id', c.id, 'mode', c.mode, 'state', c.state, 'human_window_deadline', c.human_window_deadline));
    RETURN c;
END
$$;
COMMENT ON FUNCTION nmc.conversation_set_mode(nmc.conversations, text, timestamptz) IS 'Changes a conversation''s mode if the transition is allowed (else NM409 invalid_transition), cancelling a pending human-window timer when leaving that mode; emits conversation.updated.';

CREATE FUNCTION nmc.conversation_close(c nmc.conversations, p_intake jsonb DEFAULT '{}')
RETURNS nmc.conversations
LANGUAGE plpgsql
AS $$
BEGIN
    IF c.human_window_timer_id IS NOT NULL THEN
        PERFORM nmc.timer_cancel(c.human_window_timer_id);
    END IF;
    UPDATE nmc.conversations SET state = 'closed', closed_at = now(), human_window_timer_id = NULL, intake = intake || p_intake
     WHERE id = c.id RETURNING * INTO c;
    PERFORM nmc.emit_event(c.business_id, 'conversation.updated', jsonb_build_object('id', c.id, 'mode', c.mode, 'state', c.state));
    RETURN c;
END
$$;
COMMENT ON FUNCTION nmc.conversation_close(nmc.conversations, jsonb) IS 'Closes a conversation (booked, out of area, or idle): its human-window timer cancelled, p_intake merged into what was gathered; emits conversation.updated. The next text opens a fresh one.';

CREATE FUNCTION nmc.conversations_customer_wrote(cs nmc.conversations[])
RETURNS void
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    -- Taken over, or already counting down: the first unanswered message set the
    -- deadline. Waiting for the customer: the window opens, a timer each.
    WITH t AS (
        INSERT INTO nmc.timers (business_id, kind, subject_id, due_at)
        SELECT c.business_id, 'conversation.human_window', c.id, now() + make_interval(secs => b.human_window_seconds)
          FROM unnest(cs) WITH ORDINALITY AS c JOIN nmc.businesses b ON b.id = c.business_id
         WHERE c.mode = 'waiting'
         ORDER BY c.ordinality
        RETURNING id, subject_id)
    UPDATE nmc.conversations c SET human_window_timer_id = t.id FROM t WHERE c.id = t.subject_id;
    -- The mode by its one transition function, and the owner's phone told.
    PERFORM nmc.owner_alert_your_turn(nmc.conversation_set_mode(w.o, 'human_window', w.due_at))
       FROM (SELECT o, tm.due_at
               FROM unnest(cs) WITH ORDINALITY AS c
               JOIN nmc.conversations o ON o.id = c.id
               JOIN nmc.timers tm ON tm.id = o.human_window_timer_id
              WHERE c.mode = 'waiting'
              ORDER BY c.ordinality) w;
END
$$;
COMMENT ON FUNCTION nmc.conversations_customer_wrote(nmc.conversations[]) IS 'Customers wrote: where a conversation waited for the customer, the human response window opens — a conversation.human_window timer for the business''s human_window_seconds, mode human_window with its deadline (nmc.conversation_set_mode), and the owner''s phone is told (nmc.owner_alert_your_turn); conversations taken over or already counting down are left as they are.';

CREATE FUNCTION nmc.conversation_handed_over(conv nmc.conversations, reason text)
RETURNS nmc.conversations
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM nmc.emit_event(conv.business_id, 'conversation.handoff', jsonb_build_object('id', conv.id, 'reason', reason));
    conv := nmc.conversation_set_mode(conv, 'human');
    PERFORM nmc.owner_alert((SELECT b FROM nmc.businesses b WHERE b.id = conv.business_id), conv, 'handoff',
        format('The assistant handed %s over to you (%s). %s', nmc.owner_alert_who(conv), reason, nmc.owner_alert_link(conv)));
    RETURN conv;
END
$$;
COMMENT ON FUNCTION nmc.conversation_handed_over(nmc.conversations, text) IS 'The assistant gives a conversation to a person: conversation.handoff for the dashboard, mode human, and the owner''s phone is told (kind handoff).';

CREATE FUNCTION nmc.conversation_human_window_expired(t nmc.timers)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    c nmc.conversations;
BEGIN
    SELECT * INTO c FROM nmc.conversations WHERE id = t.subject_id FOR UPDATE;
    IF NOT FOUND OR c.mode <> 'human_window' OR c.human_window_timer_id IS DISTINCT FROM t.id THEN
        RETURN;
    END IF;
    -- Nobody answered in time: the assistant takes the conversation on.
    UPDATE nmc.conversations SET human_window_timer_id = NULL WHERE id = c.id RETURNING * INTO c;
    PERFORM nmc.conversation_set_mode(c, 'ai');
    PERFORM nmc.ai_respond(c.id);
END
$$;
COMMENT ON FUNCTION nmc.conversation_human_window_expired(nmc.timers) IS 'Timer handler: the human window ran out with no reply from the business; the conversation goes to AI mode and the assistant answers (nmc.ai_respond).';
INSERT INTO nmc.timer_kinds (kind, handler, description) VALUES
    ('conversation.human_window', 'conversation_human_window_expired', 'The business''s time to answer a customer by hand has run out');
