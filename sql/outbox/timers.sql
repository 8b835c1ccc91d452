-- timers.sql — things that must happen at a time (the 60-second human
-- window, for one): a row per timer, fired once by the dispatcher within
-- 100 ms of due_at by calling its kind's handler in its own transaction.
CREATE TABLE nmc.timer_kinds (
    kind        text PRIMARY KEY,
    handler     text NOT NULL,
    description text NOT NULL
);
COMMENT ON TABLE nmc.timer_kinds IS 'Timer kinds and their handler: nmc.<handler>(nmc.timers), called once when the timer fires.';

CREATE TABLE nmc.timers (
    id           bigint GENERATED ALWAYS AS IDENTITY,
    business_id  uuid NOT NULL REFERENCES nmc.businesses (id) ON DELETE CASCADE,
    kind         text NOT NULL REFERENCES nmc.timer_kinds (kind),
    subject_id   uuid,
    payload      jsonb NOT NULL DEFAULT '{}',
    due_at       timestamptz NOT NULL,
    fired_at     timestamptz,
    cancelled_at timestamptz,
    error        text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (business_id, id)
);
COMMENT ON TABLE nmc.timers IS 'Pending and past timers. A timer fires once (fired_at), unless cancelled first; error holds what its handler raised, if anything.';
CREATE INDEX timers_id ON nmc.timers (id);  -- the dispatcher fires a timer by its id
CREATE INDEX timers_pending ON nmc.timers (due_at) WHERE fired_at IS NULL AND cancelled_at IS NULL;
CREATE INDEX timers_subject ON nmc.timers (subject_id) WHERE fired_at IS NULL AND cancelled_at IS NULL;
ALTER TABLE nmc.timers ENABLE ROW LEVEL SECURITY;
ALTER TABLE nmc.timers FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON nmc.timers
    USING (business_id = nmc.current_business_id())
    WITH CHECK (business_id = nmc.current_business_id());

CREATE FUNCTION nmc.timer_set(p_business_id uuid, p_kind text, p_subject_id uuid, p_due_at timestamptz,
                              p_payload jsonb DEFAULT '{}')
RETURNS nmc.timers
LANGUAGE plpgsql
AS $$
DECLARE
    t nmc.timers;
BEGIN
    INSERT INTO nmc.timers (business_id, kind, subject_id, due_at, payload)
    VALUES (p_business_id, p_kind, p_subject_id, p_due_at, p_payload)
    RETURNING * INTO t;
    RETURN t;
END
$$;
COMMENT ON FUNCTION nmc.timer_set(uuid, text, uuid, timestamptz, jsonb) IS 'Sets a timer; the dispatcher learns of it when the transaction commits.';

CREATE FUNCTION nmc.timer_cancel(p_timer_id bigint)
RETURNS boolean
LANGUAGE plpgsql
AS $$
BEGIN
    UPDATE nmc.timers SET cancelled_at = now()
     WHERE id = p_timer_id AND fired_at IS NULL AND cancelled_at IS NULL;
    RETURN FOUND;
END
$$;
COMMENT ON FUNCTION nmc.timer_cancel(bigint) IS 'Cancels a pending timer; false if it already fired or was cancelled.';

CREATE FUNCTION nmc.timer_fire(p_timer_id bigint)
RETURNS boolean
LANGUAGE plpgsql
AS $$
DECLARE
    t nmc.timers;
    h text;
BEGIN
    UPDATE nmc.timers SET fired_at = now()
     WHERE id = p_timer_id AND fired_at IS NULL AND cancelled_at IS NULL AND due_at <= now()
    RETURNING * INTO t;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    SELECT handler INTO h FROM nmc.timer_kinds WHERE kind = t.kind;
    BEGIN
        EXECUTE format('SELECT nmc.%I($1)', h) USING t;
    EXCEPTION
        WHEN deadlock_detected OR serialization_failure OR lock_not_available THEN
            -- Transient: the whole firing is undone and the timer fires again.
            RAISE;
        WHEN OTHERS THEN
            -- A failing handler must not make the timer fire again and again.
            UPDATE nmc.timers SET error = nmc.redact_secrets(SQLERRM) WHERE id = t.id;
            RAISE WARNING 'nevermisscall: timer % (%) handler failed: %', t.id, t.kind, SQLERRM;
    END;
    RETURN true;
END
$$;
COMMENT ON FUNCTION nmc.timer_fire(bigint) IS 'Fires one due timer exactly once: marks it fired and runs its handler; a handler error is recorded on the timer, not retried — except a deadlock or serialization failure, which undoes the firing so the timer fires again.';
