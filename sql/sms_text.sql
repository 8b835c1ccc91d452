-- sms_text.sql — SMS text rules (extension/src/sms_segments.c): which
-- encoding a text needs and how many segments it costs.
CREATE FUNCTION nmc.sms_segments(body text, OUT encoding text, OUT segments int, OUT units int)
LANGUAGE c IMMUTABLE STRICT
AS 'MODULE_PATHNAME', 'nmc_sms_segments';
COMMENT ON FUNCTION nmc.sms_segments(text) IS
    'GSM-7 or UCS-2, the segment count (GSM-7: 160 septets in one, 153 per part; UCS-2: 70 UTF-16 units in one, 67 per part) and the septets/units used.';
