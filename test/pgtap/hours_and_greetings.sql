-- hours_and_greetings.sql — "open now?" in the business's zone across DST
-- changes and closures, hours text, greeting templates (variables, unknown
-- ones refused, no links, defaults per trade), preview with encoding and
-- segments, and the onboarding API that sets them.
BEGIN;
SELECT plan(24);

CREATE TEMP TABLE b AS SELECT nmc_test.business_with_number('+12125550100', '+12125550199', false, 'America/New_York') AS id;
SELECT nmc.hours_replace((SELECT id FROM b), '[{"weekday":1,"opens_at":"09:00","closes_at":"17:00"},
                                              {"weekday":6,"opens_at":"09:00","closes_at":"12:00"},
                                              {"weekday":6,"opens_at":"13:00","closes_at":"15:30"},
                                              {"weekday":0,"opens_at":"09:00","closes_at":"17:00"}]');
-- US DST began Sunday 2026-03-08 at 2:00 local: 13:30 UTC is 8:30 EST the day before, 9:30 EDT that day.
SELECT ok(NOT nmc.business_is_open((SELECT id FROM b), '2026-03-07 13:30:00+00'), 'Saturday 8:30 EST: not yet open');
SELECT ok(nmc.business_is_open((SELECT id FROM b), '2026-03-08 13:30:00+00'), 'Sunday 9:30 EDT (same UTC time, after the change): open');
SELECT ok(nmc.business_is_open((SELECT id FROM b), '2026-11-02 14:30:00+00'), 'Monday 9:30 EST after DST ended: open');
SELECT ok(NOT nmc.business_is_open((SELECT id FROM b), '2026-11-02 22:00:00+00'), 'Monday 17:00 local: closed (closing time is exclusive)');
SELECT ok(NOT nmc.business_is_open((SELECT id FROM b), '2026-11-07 17:30:00+00'), 'Saturday 12:30 local: closed over lunch');
SELECT ok(nmc.business_is_open((SELECT id FROM b), '2026-11-07 18:30:00+00'), 'Saturday 13:30 local: open again');
INSERT INTO nmc.business_closures (business_id, closed_on, reason) VALUES ((SELECT id FROM b), '2026-11-02', 'holiday');
SELECT ok(NOT nmc.business_is_open((SELECT id FROM b), '2026-11-02 14:30:00+00'), 'a closure day is closed all day');
SELECT is(nmc.business_hours_text((SELECT id FROM b), '2026-11-07'), 'open today 9:00 AM–12:00 PM, 1:00 PM–3:30 PM', 'hours text lists the ranges');
SELECT is(nmc.business_hours_text((SELECT id FROM b), '2026-11-02'), 'closed today', 'hours text on a closure');
SELECT throws_ok($$ SELECT nmc.hours_replace((SELECT id FROM b), '[{"weekday":1,"opens_at":"09:00","closes_at":"12:00"},{"weekday":1,"opens_at":"11:00","closes_at":"13:00"}]') $$,
                 'NM400', NULL, 'overlapping ranges are refused');
SELECT throws_ok($$ SELECT nmc.hours_replace((SELECT id FROM b), '[{"weekday":7,"opens_at":"09:00","closes_at":"12:00"}]') $$,
                 'NM400', NULL, 'weekday must be 0-6');
SELECT throws_ok($$ SELECT nmc.hours_replace((SELECT id FROM b), '[{"weekday":2,"opens_at":"22:00","closes_at":"02:00"}]') $$,
                 'NM400', NULL, 'a range past midnight must be split');

-- Greetings.
SELECT is(nmc.greeting_validate('Hi from {{business_name}} ({{ trade }}), {{hours_today}}. {{callback_line}}'),
          'Hi from {{business_name}} ({{ trade }}), {{hours_today}}. {{callback_line}}', 'the four variables are accepted (spaces inside braces too)');
SELECT throws_ok($$ SELECT nmc.greeting_validate('Hi {{customer_name}}') $$, 'NM400', '{{customer_name}} is not a greeting variable; use {{business_name}}, {{trade}}, {{hours_today}}, {{callback_line}}',
                 'an unknown variable is refused by name');
SELECT throws_ok($$ SELECT nmc.greeting_validate('Book at https://example.com/book') $$, 'NM400', NULL, 'links are refused');
SELECT throws_ok($$ SELECT nmc.greeting_validate('Hi {{business_name') $$, 'NM400', NULL, 'unbalanced braces are refused');
SELECT is(nmc.greeting_render((SELECT id FROM b), 'This is {{business_name}}, {{trade}}: {{hours_today}}. {{callback_line}}', '+12125550100', '2026-11-07 15:00:00+00'),
          'This is Test Plumbing +12125550100, plumbing: open today 9:00 AM–12:00 PM, 1:00 PM–3:30 PM. You can also call us back at (212) 555-0100.',
          'rendering fills every variable for the business''s local day');
SELECT is((SELECT count(*) FROM nmc.trade_types t LEFT JOIN nmc.greeting_defaults d ON d.trade_type = t.code
            WHERE d.template IS NULL OR nmc.greeting_validate(d.template) IS NULL), 0::bigint, 'every trade has a valid default greeting');
SELECT is((nmc.greeting_preview((SELECT id FROM b), 'Hi from {{business_name}}!')) - 'text',
          '{"encoding":"GSM-7","segments":1,"characters":35}'::jsonb, 'preview: encoding, segments, characters');
SELECT is((nmc.greeting_preview((SELECT id FROM b), 'Hi from {{business_name}} 🔧')) ->> 'encoding', 'UCS-2', 'preview: an emoji needs UCS-2');

-- Through the API, as the owner.
SET LOCAL ROLE nmc_edge;
CREATE TEMP TABLE r AS SELECT nmc_test.register('greeter@example.com', 'Greeter Electric') AS body;
CREATE TEMP TABLE t AS SELECT body ->> 'token' AS token FROM r;
SELECT is((SELECT (body ->> 'is_default') || ' ' || (body ->> 'template' = body ->> 'default_template') FROM t, LATERAL nmc_test.api('GET', '/api/business/greeting', NULL, t.token)),
          'true true', 'a new business uses its trade''s default greeting');
SELECT is((SELECT status || ' ' || (body #>> '{error,code}') FROM t, LATERAL nmc_test.api('PUT', '/api/business/greeting', '{"template":"Hi {{nope}}"}', t.token)),
          '400 unknown_variable', 'PUT refuses an unknown variable');
SELECT is((SELECT body #>> '{preview,text}' FROM t, LATERAL nmc_test.api('PUT', '/api/business/greeting', '{"template":"{{business_name}} here, how can we help?"}', t.token)),
          'Greeter Electric here, how can we help?', 'PUT stores a valid template and previews it');
SELECT is((SELECT jsonb_array_length(body -> 'hours') FROM t, LATERAL nmc_test.api('PUT', '/api/business/hours',
              '{"hours":[{"weekday":1,"opens_at":"08:00","closes_at":"17:00"},{"weekday":2,"opens_at":"08:00","closes_at":"17:00"}]}', t.token)),
          2, 'PUT /api/business/hours replaces the weekly hours');

SELECT * FROM finish();
ROLLBACK;
