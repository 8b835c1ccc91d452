-- sms_text.sql — SMS text rules (extension/src/sms_segments.c): which
-- encoding a text needs and how many segments it costs.
CREATE FUNCTION nmc.sms_segments(body text, OUT encoding text, OUT segments int, OUT units int)
LANGUAGE c IMMUTABLE STRICT
AS 'MODULE_PATHNAME', 'nmc_sms_segments';
CREATE FUNCTION nmc.sms_fit(body text, max_segments int)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    t text := body;
    cut text;
BEGIN
    IF (nmc.sms_segments(t)).segments <= max_segments THEN
        RETURN t;
    END IF;
    -- Shorten character by character budget, then end on a sentence if one ends late enough.
    -- Three dots, not '…': that character alone would force the whole text into UCS-2.
    WHILE length(t) > 1 AND (nmc.sms_segments(t || '...')).segments > max_segments LOOP
        t := left(t, greatest(1, length(t) - greatest(1, (length(t) / 20))));
    END LOOP;
    cut := substring(t FROM '^(.*[.!?])\s');
    IF cut IS NOT NULL AND length(cut) >= length(t) / 2 THEN
        RETURN cut;
    END IF;
    RETURN rtrim(t) || '...';
END
$$;
COMMENT ON FUNCTION nmc.sms_fit(text, int) IS 'A text shortened to fit max_segments SMS segments: cut at the last full sentence if that keeps at least half, else ending with three dots.';

COMMENT ON FUNCTION nmc.sms_segments(text) IS
    'GSM-7 or UCS-2, the segment count (GSM-7: 160 septets in one, 153 per part; UCS-2: 70 UTF-16 units in one, 67 per part) and the septets/units used.';
