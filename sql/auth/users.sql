-- users.sql — people who log in to a business's dashboard: profile,
-- preferences and password hash. Phase 1 has one user per business, but
-- nothing here assumes it.
CREATE TABLE nmc.users (
    id            uuid NOT NULL DEFAULT gen_random_uuid(),
    business_id   uuid NOT NULL REFERENCES nmc.businesses (id) ON DELETE CASCADE,
    email         text NOT NULL CHECK (email = lower(email) AND length(email) <= 254),
    password_hash text NOT NULL,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    preferences   jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(preferences) = 'object'),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (business_id, id),
    -- Since 0.6.0: a session token carries the generation it was issued in; a new
    -- password or signing out everywhere moves it on (sql/auth/password_reset.sql).
    sessions_generation int NOT NULL DEFAULT 0
);
COMMENT ON TABLE nmc.users IS 'Dashboard users. email is stored lower-cased and is unique across the product; password_hash is bcrypt (pgcrypto crypt()).';
CREATE UNIQUE INDEX users_email_key ON nmc.users (email);
CREATE INDEX users_id ON nmc.users (id);
CREATE TRIGGER users_touch BEFORE UPDATE ON nmc.users
    FOR EACH ROW EXECUTE FUNCTION nmc.touch_updated_at();

ALTER TABLE nmc.users ENABLE ROW LEVEL SECURITY;
ALTER TABLE nmc.users FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON nmc.users
    USING (business_id = nmc.current_business_id())
    WITH CHECK (business_id = nmc.current_business_id());
-- Login must find a user by email before any tenant is known; only the
-- login function's owner (nmc_auth) may read across businesses.
CREATE POLICY login_lookup ON nmc.users FOR SELECT TO nmc_auth USING (true);

CREATE FUNCTION nmc.user_json(u nmc.users)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT jsonb_build_object(
        'id', u.id,
        'business_id', u.business_id,
        'email', u.email,
        'name', u.name,
        'preferences', u.preferences,
        'created_at', u.created_at,
        'updated_at', u.updated_at)
$$;
COMMENT ON FUNCTION nmc.user_json(nmc.users) IS 'The API representation of a user (never the password hash).';

CREATE FUNCTION nmc.user_update(patch jsonb)
RETURNS nmc.users
LANGUAGE plpgsql
AS $$
DECLARE
    u nmc.users;
BEGIN
    PERFORM nmc.input_object(patch);
    PERFORM nmc.input_allowed_fields(patch, ARRAY['name', 'preferences']);

    SELECT * INTO u FROM nmc.users WHERE id = nmc.current_user_id() FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM nmc.raise_api_error(404, 'not_found', 'user not found');
    END IF;
    IF patch ? 'name' THEN
        u.name := nmc.input_text(patch, 'name', true, 200);
    END IF;
    IF patch ? 'preferences' THEN
        IF jsonb_typeof(patch -> 'preferences') <> 'object' THEN
            PERFORM nmc.raise_api_error(400, 'invalid_field', 'preferences must be a JSON object', 'preferences');
        END IF;
        IF length((u.preferences || (patch -> 'preferences'))::text) > 16384 THEN
            PERFORM nmc.raise_api_error(400, 'invalid_field', 'preferences must stay under 16 KiB', 'preferences');
        END IF;
        -- Merge: a client can change one preference without knowing the others;
        -- a key set to null is removed.
        u.preferences := jsonb_strip_nulls(u.preferences || (patch -> 'preferences'));
    END IF;
    UPDATE nmc.users SET name = u.name, preferences = u.preferences WHERE id = u.id RETURNING * INTO u;
    RETURN u;
END
$$;
COMMENT ON FUNCTION nmc.user_update(jsonb) IS
    'Updates the current user''s name and/or preferences (shallow merge; null removes a key). RLS-scoped.';
