-- phone_normalization.sql — nmc.normalize_phone follows the documented rule set
-- (docs/phone-numbers.md) and refuses everything else with invalid_phone.
BEGIN;
SELECT plan(21);

SELECT is(nmc.normalize_phone('(512) 555-0143'), '+15125550143', 'NANP 10 digits with punctuation');
SELECT is(nmc.normalize_phone('512.555.0143'), '+15125550143', 'NANP with dots');
SELECT is(nmc.normalize_phone('1 512 555 0143'), '+15125550143', 'NANP 11 digits with leading 1');
SELECT is(nmc.normalize_phone('+1 (512) 555-0143'), '+15125550143', 'NANP with +1');
SELECT is(nmc.normalize_phone('+44 20 7946 0958'), '+442079460958', 'international with +');
SELECT is(nmc.normalize_phone('0044 20 7946 0958'), '+442079460958', 'international with 00');
SELECT is(nmc.normalize_phone('+61 2 9374 4000'), '+61293744000', 'Australia');
SELECT is(nmc.normalize_phone('  +15125550143  '), '+15125550143', 'already E.164, surrounding spaces');

SELECT throws_ok($$ SELECT nmc.normalize_phone('555-0143') $$, 'NM400', NULL, '7 digits: no area code');
SELECT throws_ok($$ SELECT nmc.normalize_phone('020 7946 0958') $$, 'NM400', NULL, 'national number of another country without a country code');
SELECT throws_ok($$ SELECT nmc.normalize_phone('(112) 555-0143') $$, 'NM400', NULL, 'area code starting with 1');
SELECT throws_ok($$ SELECT nmc.normalize_phone('(911) 555-0143') $$, 'NM400', NULL, 'N11 area code');
SELECT throws_ok($$ SELECT nmc.normalize_phone('(512) 055-0143') $$, 'NM400', NULL, 'exchange starting with 0');
SELECT throws_ok($$ SELECT nmc.normalize_phone('+1 512 555 01434') $$, 'NM400', NULL, '+1 with 11 digits');
SELECT throws_ok($$ SELECT nmc.normalize_phone('+0 123 456 789') $$, 'NM400', NULL, 'country code 0');
SELECT throws_ok($$ SELECT nmc.normalize_phone('+44 1234 5678 9012 34') $$, 'NM400', NULL, 'over 15 digits');
SELECT throws_ok($$ SELECT nmc.normalize_phone('512-555-CALL') $$, 'NM400', NULL, 'letters');
SELECT throws_ok($$ SELECT nmc.normalize_phone('') $$, 'NM400', NULL, 'empty');
SELECT throws_ok($$ SELECT nmc.normalize_phone('+1 512 555 0143 ext 2') $$, 'NM400', NULL, 'extensions are not phone numbers');

CREATE FUNCTION pg_temp.error_of(raw text, field text) RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE d text; h text;
BEGIN
    PERFORM nmc.normalize_phone(raw, field);
    RETURN NULL;
EXCEPTION WHEN SQLSTATE 'NM400' THEN
    GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL, h = PG_EXCEPTION_HINT;
    RETURN ARRAY[d, h];
END $$;
SELECT is(pg_temp.error_of('12', 'forward_to_phone'), ARRAY['invalid_phone', 'forward_to_phone'],
          'the error carries the code invalid_phone and names the field');
SELECT ok(nmc.normalize_phone('(512) 555-0143')::nmc.e164 IS NOT NULL, 'results satisfy the e164 domain');

SELECT * FROM finish();
ROLLBACK;
