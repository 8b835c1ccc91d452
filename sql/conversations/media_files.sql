-- media_files.sql — files a provider holds for a business (a voicemail's
-- recording, the photos of an MMS), copied into the database so the dashboard
-- gets them through the edge, authenticated like any API call: a Twilio URL
-- needs the account's credentials and never reaches a page. A file is fetched
-- once by the dispatcher (twilio.media.fetch, sql/outbox/twilio.sql), then served by
-- GET /api/media/{id}. An MMS's photos are kept by a trigger on messages.
CREATE FUNCTION nmc.media_type(t text)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$ SELECT CASE WHEN t ~ '^[A-Za-z0-9.+_-]+/[A-Za-z0-9.+_-]+$' THEN lower(t) END $$;
COMMENT ON FUNCTION nmc.media_type(text) IS 'A media type as a kept file records it (type/subtype, lower case, parameters dropped by the caller), or NULL when t is not one (it came from the network).';

CREATE TABLE nmc.media_files (
    id           uuid NOT NULL DEFAULT gen_random_uuid(),
    business_id  uuid NOT NULL REFERENCES nmc.businesses (id) ON DELETE CASCADE,
    source_url   text NOT NULL,  -- the provider's URL, never shown
    content_type text NOT NULL CHECK (content_type = nmc.media_type(content_type)),
    status       text NOT NULL DEFAULT 'fetching' CHECK (status IN ('fetching', 'stored', 'failed')),
    bytes        bytea,
    size_bytes   int,
    error        text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    fetched_at   timestamptz,
    PRIMARY KEY (business_id, id),   -- keyed by business, ready to distribute (docs/scaling.md)
    CHECK ((status = 'stored') = (bytes IS NOT NULL))
);
COMMENT ON TABLE nmc.media_files IS 'A provider''s file kept for a business (voicemail recordings, MMS photos): fetching until the dispatcher has copied it (twilio.media.fetch), then stored (bytes, the provider''s content type), or failed with why. Served by GET /api/media/{id}; source_url is the provider''s and never leaves the database.';
ALTER TABLE nmc.media_files ENABLE ROW LEVEL SECURITY;
ALTER TABLE nmc.media_files FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON nmc.media_files
    USING (business_id = nmc.current_business_id())
    WITH CHECK (business_id = nmc.current_business_id());

CREATE FUNCTION nmc.media_file_request(p_business_id uuid, p_url text, p_content_type text)
RETURNS uuid
LANGUAGE plpgsql
AS $$
DECLARE
    f nmc.media_files;
BEGIN
    INSERT INTO nmc.media_files (business_id, source_url, content_type)
    VALUES (p_business_id, p_url,
            coalesce(nmc.media_type(p_content_type), 'application/octet-stream'))
    RETURNING * INTO f;
    PERFORM nmc.job_enqueue('twilio.media.fetch', p_business_id, jsonb_build_object('file_id', f.id), 'media:' || f.id);
    RETURN f.id;
END
$$;
COMMENT ON FUNCTION nmc.media_file_request(uuid, text, text) IS 'Keeps a provider''s file for a business: a media_files row (fetching) and its twilio.media.fetch job, sent at commit; returns the file''s id, which the API serves as /api/media/{id}.';

CREATE FUNCTION nmc.media_url(file_id uuid)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$ SELECT CASE WHEN file_id IS NOT NULL THEN '/api/media/' || file_id END $$;
COMMENT ON FUNCTION nmc.media_url(uuid) IS 'Where the dashboard gets a kept file (GET, with its session token).';

-- What waits for a file once it is kept (or could not be): a voicemail.
CREATE FUNCTION nmc.media_file_kept(f nmc.media_files)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM nmc.voicemail_audio_kept(f);
END
$$;
COMMENT ON FUNCTION nmc.media_file_kept(nmc.media_files) IS 'A file was kept or could not be: whatever waited for it goes on (a voicemail is transcribed or told, nmc.voicemail_audio_kept). An MMS photo waits for nothing: the dashboard asks for it.';

CREATE FUNCTION nmc.api_media_get(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    f nmc.media_files;
BEGIN
    SELECT * INTO f FROM nmc.media_files
     WHERE id = nmc.input_uuid(req #>> '{params,0}', 'id') AND business_id = nmc.current_business_id();
    IF NOT FOUND THEN
        PERFORM nmc.raise_api_error(404, 'not_found', 'no such file');
    ELSIF f.status = 'fetching' THEN
        PERFORM nmc.raise_api_error(409, 'media_not_ready', 'the file is still being fetched from the provider');
    ELSIF f.status = 'failed' THEN
        PERFORM nmc.raise_api_error(410, 'media_unavailable', 'the file could not be fetched from the provider');
    END IF;
    RETURN nmc.respond_bytes(200, f.content_type, f.bytes, 'Cache-Control: private, max-age=86400');
END
$$;
COMMENT ON FUNCTION nmc.api_media_get(jsonb) IS 'GET /api/media/{id}: a kept file of the caller''s business (a voicemail, an MMS photo) with its content type; 409 media_not_ready while it is fetched, 410 media_unavailable when it could not be, 404 for another business''s.';
