-- intake_parsers.sql — the built-in assistant's reading of customers' texts
-- (sql/ai/intake_parse.sql, sql/ai/intake_language.sql): names as people write them
-- and never a sentence, addresses with or without a lead-in, units, ZIP,
-- abbreviations and typos, time preferences, slot choices, what a reply means,
-- the problem without the rest, and the language of the customer.
BEGIN;
SELECT plan(66);

-- Names.
SELECT is(nmc.intake_find_name('hi this is dave, kitchen sink leaking', false), 'Dave', '"this is dave"');
SELECT is(nmc.intake_find_name('Dave here. water heater out', false), 'Dave', '"Dave here"');
SELECT is(nmc.intake_find_name('It''s Maria Lopez, toilet overflowing', false), 'Maria Lopez', '"it''s Maria Lopez"');
SELECT is(nmc.intake_find_name('water heater pilot keeps going out - Tom', false), 'Tom', '"- Tom" at the end');
SELECT is(nmc.intake_find_name('Hola, me llamo josé garcía y tengo una fuga', false), 'José García', '"me llamo …", capitalised, accents kept');
SELECT is(nmc.intake_find_name('Soy Ana Torres, el inodoro está tapado', false), 'Ana Torres', '"soy …"');
SELECT is(nmc.intake_find_name('my name is kevin tran and we have a leak', false), 'Kevin Tran', '"my name is …" inside a sentence');
SELECT is(nmc.intake_find_name('thanks, Sarah', false), 'Sarah', 'a signature after thanks');
SELECT is(nmc.intake_find_name('sean o''brien', true), 'Sean O''Brien', 'asked: a bare name, each part capitalised');
SELECT is(nmc.intake_find_name('DeShawn Miller', true), 'DeShawn Miller', 'mixed case is kept as written');
SELECT is(nmc.intake_find_name('Ok. Linda', true), 'Linda', 'asked: "Ok. Linda"');
SELECT is(nmc.intake_find_name('I said the sink is leaking', true), NULL, 'a sentence is never a name');
SELECT is(nmc.intake_find_name('this is urgent please', false), NULL, '"this is urgent" is no name');
SELECT is(nmc.intake_find_name('it''s only lukewarm, takes forever to heat', false), NULL, '"it''s only lukewarm" is no name');
SELECT is(nmc.intake_find_name('im having a leak under the sink', false), NULL, '"im having …" is no name');
SELECT is(nmc.intake_find_name('garbage disposal', true), NULL, 'trade words are no name');
SELECT is(nmc.intake_find_name('asdfgh', true), NULL, 'keyboard mashing is no name');
SELECT is(nmc.intake_name('my name is jane doe'), 'Jane Doe', 'nmc.intake_name: the answer to "what''s your name?"');

-- Addresses.
SELECT is(nmc.intake_address('it''s 55 Oak Street'), '55 Oak St', '"it''s 55 Oak Street": the type abbreviated');
SELECT is(nmc.intake_find_address('55 oak st 78702', false) ->> 'address', '55 Oak St, 78702', 'lower case, with the ZIP');
SELECT is(nmc.intake_find_address('55 oak st 78702', false) ->> 'zip', '78702', '… and the ZIP on its own');
SELECT is(nmc.intake_find_address('my address is 12 elm stret, austin', false) ->> 'address', '12 Elm St, Austin', 'a typo in the street type, a city');
SELECT is(nmc.intake_find_address('1200 barton springs rd apt 4b austin tx 78704, sink leaking', false) ->> 'address',
          '1200 Barton Springs Rd Apt 4B, Austin, TX 78704', 'a unit, a city, a state: the last type word is the type');
SELECT is(nmc.intake_find_address('4410 n lamar blvd #210', false) ->> 'address', '4410 N Lamar Blvd #210', 'a direction and a # unit');
SELECT is(nmc.intake_find_address('901 W 35th St, Austin, TX 78705', false) ->> 'address', '901 W 35th St, Austin, TX 78705', 'as written on an envelope');
SELECT is(nmc.intake_find_address('Alice Brown at 2000 Windsor Rd 78703. gutter pulled away', false) ->> 'address', '2000 Windsor Rd, 78703',
          '"at" before a house number that is no time');
SELECT is(nmc.intake_find_address('Olivia - AC not cooling, house is 85 inside. 5207 Avenue F 78751', false) ->> 'address', '5207 Avenue F, 78751',
          'a lettered avenue; a number in another sentence is no house number');
SELECT is(nmc.intake_find_address('Joe Martin 4302 Speedway 78751 toilet clogged', false) ->> 'street', '4302 Speedway', 'no street type, but a ZIP follows');
SELECT is(nmc.intake_find_address('2400 Ranch Road 620 S, 78738', false) ->> 'street', '2400 Ranch Road 620 S', 'a ranch road with its number and direction');
SELECT is(nmc.intake_find_address('55 oak', true) ->> 'address', '55 Oak', 'asked: a number and a street name will do');
SELECT is(nmc.intake_find_address('55 oak', false), NULL, '… but not when not asked');
SELECT is(nmc.intake_find_address('i have 2 leaks on oak st', false), NULL, '"2 leaks on oak st" is no address');
SELECT is(nmc.intake_find_address('can you come at 10 am tomorrow', false), NULL, 'a time is no house number');
SELECT is(nmc.intake_find_address('zip is 78702', false) ->> 'zip', '78702', 'a ZIP alone');
SELECT is(nmc.intake_street_type('avenu'), 'Ave', 'the street-type table knows typos');

-- Time preferences (in the business's time zone).
CREATE TEMP TABLE d AS SELECT (now() AT TIME ZONE 'America/Chicago')::date AS today;
SELECT is(nmc.intake_find_when('tomorrow afternoon if possible?', 'America/Chicago'),
          jsonb_build_object('day', (SELECT today + 1 FROM d), 'part', 'afternoon'), 'tomorrow afternoon');
SELECT is(nmc.intake_find_when('any time after 3', 'America/Chicago'), '{"after": "15:00:00"}', '"after 3" means 3 PM');
SELECT is(nmc.intake_find_when('before noon works best', 'America/Chicago'), '{"before": "12:00:00"}', 'before noon');
SELECT is(nmc.intake_find_when('asap please', 'America/Chicago'), '{"asap": true}', 'asap');
SELECT is(nmc.intake_find_when('next week is fine', 'America/Chicago') ->> 'week_from',
          (SELECT (today + (8 - extract(isodow FROM today)::int))::text FROM d), 'next week starts next Monday');
SELECT is(nmc.intake_find_when('tomorrow 9am', 'America/Chicago'),
          jsonb_build_object('day', (SELECT today + 1 FROM d), 'at', '09:00:00'), 'a day and a time');
SELECT is((nmc.intake_find_when('friday would be best', 'America/Chicago') ->> 'day')::date,
          (SELECT today + (5 - extract(dow FROM today)::int + 7) % 7 FROM d), 'a weekday: the next one');
SELECT is(nmc.intake_find_when('el viernes en la mañana', 'America/Chicago') ->> 'part', 'morning', '"en la mañana" is the morning');
SELECT is((nmc.intake_find_when('mañana', 'America/Chicago') ->> 'day')::date, (SELECT today + 1 FROM d), '"mañana" alone is tomorrow');
SELECT is(nmc.intake_find_when('después de las 3', 'America/Chicago'), '{"after": "15:00:00"}', '"después de las 3"');
SELECT is(nmc.intake_find_when('afternoons only please, I work mornings', 'America/Chicago') ->> 'part', 'afternoon', 'the first part of the day said');
SELECT is(nmc.intake_find_when('no hot water since this morning', 'America/Chicago'), NULL, 'when the trouble started is no preference');
SELECT is(nmc.intake_find_when('buenas noches, el lavabo está tapado', 'America/Chicago'), NULL, 'a greeting is no time');

-- Choosing among offered slots.
CREATE TEMP TABLE offered AS SELECT jsonb_build_array(
    ((SELECT today FROM d) + 1 + time '09:00') AT TIME ZONE 'America/Chicago',
    ((SELECT today FROM d) + 1 + time '14:00') AT TIME ZONE 'America/Chicago',
    ((SELECT today FROM d) + 2 + time '10:30') AT TIME ZONE 'America/Chicago') AS o;
SELECT is(nmc.intake_slot_choice('2', 3), 2, '"2"');
SELECT is(nmc.intake_slot_choice('the second one', 3), 2, '"the second one"');
SELECT is(nmc.intake_slot_choice('la tercera', 3), 3, '"la tercera"');
SELECT is(nmc.intake_slot_choice('lets do 3', 3), 3, '"lets do 3"');
SELECT is(nmc.intake_slot_choice('fine, 1 then', 3), 1, '"fine, 1 then"');
SELECT is(nmc.intake_slot_choice('at 2', 3), NULL, '"at 2" is a time, not the second slot');
SELECT is(nmc.intake_slot_by_time('10:30 works', (SELECT o FROM offered), 'America/Chicago'), 3, '"10:30 works"');
SELECT is(nmc.intake_slot_by_time('the afternoon one', (SELECT o FROM offered), 'America/Chicago'), 2, '"the afternoon one"');
SELECT is(nmc.intake_slot_by_time('the ' || to_char((SELECT today + 2 FROM d), 'FMday') || ' one', (SELECT o FROM offered), 'America/Chicago'), 3,
          '"the <weekday> one"');

-- What a reply means.
SELECT is(nmc.intake_intent('none of those work for me'), 'others', '"none of those"');
SELECT is(nmc.intake_intent('can I just talk to a real person?'), 'human', 'a person wanted');
SELECT is(nmc.intake_intent('wrong number sorry'), 'wrong_number', 'a wrong number');
SELECT is(nmc.intake_intent('this is Daniel Price'), NULL, 'a surname is no question about price');

-- The problem, without the name, the address or a greeting.
SELECT is(nmc.intake_find_problem('Hi', NULL, NULL, false), NULL, '"Hi" is no problem');
SELECT is(nmc.intake_find_problem('hi this is dave, kitchen sink leaking under the cabinet. 55 oak st 78702', 'Dave', '55 oak st 78702', false),
          'kitchen sink leaking under the cabinet', 'the problem without the introduction and the address');

-- The language.
SELECT is(nmc.intake_language(ARRAY['Hola, tengo una fuga en el baño']), 'es', 'Spanish');
SELECT is(nmc.intake_language(ARRAY['my sink is leaking', '2']), 'en', 'English');
SELECT is(nmc.intake_language(ARRAY['2', 'Dave']), NULL, 'no evidence either way');

SELECT * FROM finish();
ROLLBACK;
