-- phone.sql — phone numbers to E.164. The rule set (also in docs/phone-numbers.md):
--   * separators space - . ( ) are ignored; any other character is refused;
--   * "+" or "00" starts an international number: 8 to 15 digits, no leading 0;
--   * without a country prefix only North American (NANP) numbers are accepted:
--     10 digits, or 11 digits starting with 1;
--   * every +1 number must be a valid NANP number: area code and exchange
--     start with 2-9 and the area code is not an N11 service code.
-- No other guessing: anything else is an invalid_phone error naming the field.
CREATE FUNCTION nmc.normalize_phone(raw text, field text DEFAULT 'phone')
RETURNS text
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    s text;
    digits text;
BEGIN
    IF raw IS NULL OR btrim(raw) = '' THEN
        PERFORM nmc.raise_api_error(400, 'invalid_phone', field || ' is required', field);
    END IF;
    IF length(raw) > 32 THEN
        PERFORM nmc.raise_api_error(400, 'invalid_phone', field || ' is too long to be a phone number', field);
    END IF;
    s := regexp_replace(btrim(raw), '[ .()-]', '', 'g');
    IF s !~ '^\+?[0-9]+$' THEN
        PERFORM nmc.raise_api_error(400, 'invalid_phone',
            field || ' may contain only digits, an optional leading +, spaces, dashes, dots and parentheses', field);
    END IF;

    IF left(s, 1) = '+' THEN
        digits := substr(s, 2);
    ELSIF left(s, 2) = '00' THEN
        digits := substr(s, 3);
    ELSIF length(s) = 10 THEN
        digits := '1' || s;
    ELSIF length(s) = 11 AND left(s, 1) = '1' THEN
        digits := s;
    ELSE
        PERFORM nmc.raise_api_error(400, 'invalid_phone',
            field || ' needs a country code (for example +44 20 7946 0958) unless it is a 10-digit North American number', field);
    END IF;

    IF left(digits, 1) = '0' OR length(digits) < 8 OR length(digits) > 15 THEN
        PERFORM nmc.raise_api_error(400, 'invalid_phone',
            field || ' is not a valid international number: 8 to 15 digits after the country code prefix, not starting with 0', field);
    END IF;
    IF left(digits, 1) = '1' THEN
        IF length(digits) <> 11 THEN
            PERFORM nmc.raise_api_error(400, 'invalid_phone',
                field || ' is not a valid North American number: +1 then 10 digits', field);
        END IF;
        IF substr(digits, 2, 3) !~ '^[2-9][0-9][0-9]$' OR substr(digits, 3, 2) = '11'
           OR substr(digits, 5, 3) !~ '^[2-9][0-9][0-9]$' THEN
            PERFORM nmc.raise_api_error(400, 'invalid_phone',
                field || ' is not a valid North American number: area code and exchange must start with 2-9 and the area code cannot be an N11 code', field);
        END IF;
    END IF;
    RETURN '+' || digits;
END
$$;
COMMENT ON FUNCTION nmc.normalize_phone(text, text) IS
    'Normalises a phone number to E.164 (+<digits>) by the documented rule set, or raises NM400 invalid_phone naming `field`.';

CREATE FUNCTION nmc.phone_or_null(raw text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    RETURN nmc.normalize_phone(raw, 'phone');
EXCEPTION WHEN SQLSTATE 'NM400' THEN
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION nmc.phone_or_null(text) IS 'nmc.normalize_phone, or NULL where it would raise (for sorting input, not for answering it).';

CREATE DOMAIN nmc.e164 AS text CHECK (VALUE ~ '^\+[1-9][0-9]{7,14}$');
COMMENT ON DOMAIN nmc.e164 IS 'A phone number in E.164 form, as nmc.normalize_phone returns it.';
