-- intake_parse.sql — reading what customers write, for the built-in
-- assistant: a name ("this is Dave", "Dave here", "me llamo María"), a street
-- address (house number, street, type — with abbreviations and common typos
-- from one street-type table —, unit, city, state, ZIP), the problem, a time
-- preference ("tomorrow afternoon", "after 3", "el viernes en la mañana",
-- "asap", "next week"), which offered slot a reply picks, and what else a
-- reply means (a person wanted, a wrong number, prices, "none of those").
-- English and Spanish. Each parser finds its detail anywhere in a text, in
-- any order with the others; "asked" says the assistant just asked for it,
-- which lets a bare answer ("Dave", "55 Oak") count. No packaged address
-- parser fits the extension (libpostal is not in Debian 12), hence this one.

CREATE FUNCTION nmc.intake_fold(t text)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$ SELECT translate(lower(t), 'áéíóúüñ’‘', 'aeiouun''''') $$;
COMMENT ON FUNCTION nmc.intake_fold(text) IS 'A text folded for matching: lower case, Spanish accents and ñ folded to plain letters, curly apostrophes straightened.';

CREATE FUNCTION nmc.intake_not_a_name(w text)
RETURNS boolean
LANGUAGE sql IMMUTABLE
AS $$
    SELECT w IS NULL OR w !~ '^[[:alpha:]][[:alpha:]''-]*$' OR length(w) > 20
        -- Keyboard mashing is not a name: "asdfgh", "qwerty", "sdfghjk".
        OR nmc.intake_fold(w) ~ '[bcdfghjklmnpqrstvwxz]{5}|asdf|qwer|zxcv|hjkl|^[^aeiouy]+$'
        OR nmc.intake_fold(w) ~ '^[a-z]+(ing|ed)$' AND length(w) > 5
        OR nmc.intake_fold(w) = ANY (ARRAY[
        -- words that follow "this is", "I'm", "soy"… without being a name
        'a', 'an', 'the', 'and', 'or', 'but', 'so', 'to', 'of', 'in', 'on', 'at', 'by', 'for', 'from', 'with', 'about', 'regarding',
        'my', 'our', 'your', 'his', 'her', 'their', 'me', 'i', 'im', 'we', 'you', 'he', 'she', 'it', 'its', 'they', 'us', 'this', 'that',
        'is', 'are', 'was', 'were', 'be', 'been', 'am', 'do', 'does', 'did', 'have', 'has', 'had', 'can', 'could', 'would', 'will',
        'should', 'need', 'needs', 'want', 'wants', 'not', 'no', 'yes', 'yeah', 'yep', 'ok', 'okay', 'sure', 'fine', 'good', 'great',
        'hi', 'hello', 'hey', 'thanks', 'thank', 'thx', 'please', 'pls', 'plz', 'sorry', 'still', 'just', 'also', 'again', 'very',
        'really', 'too', 'here', 'there', 'home', 'back', 'out', 'off', 'up', 'down', 'over', 'under', 'urgent', 'bad', 'terrible',
        'broken', 'clogged', 'stuck', 'cold', 'hot', 'warm', 'wet', 'dry', 'loud', 'new', 'old', 'free', 'available', 'ready', 'done',
        'gone', 'late', 'early', 'what', 'who', 'why', 'how', 'when', 'where', 'which', 'call', 'calling', 'texting', 'text', 'number',
        'name', 'address', 'street', 'st', 'ave', 'rd', 'dr', 'today', 'tomorrow', 'tonight', 'morning', 'afternoon', 'evening', 'noon',
        'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday', 'asap', 'week', 'weekend', 'time', 'any',
        'anytime', 'none', 'first', 'second', 'third', 'one', 'two', 'three', 'water', 'leak', 'leaks', 'leaky', 'sink', 'toilet',
        'heater', 'pipe', 'pipes', 'drain', 'faucet', 'shower', 'tub', 'ac', 'air', 'heat', 'heating', 'furnace', 'power', 'outlet',
        'outlets', 'breaker', 'light', 'lights', 'panel', 'wiring', 'switch', 'fan', 'unit', 'system', 'problem', 'issue', 'emergency',
        'help', 'plumber', 'electrician', 'technician', 'tech', 'someone', 'somebody', 'person', 'owner', 'landlord', 'tenant',
        'homeowner', 'customer', 'calling', 'wrong', 'interested', 'wondering', 'trying', 'looking', 'having', 'getting', 'afraid',
        'glad', 'happy', 'home', 'inside', 'outside', 'kitchen', 'bathroom', 'basement', 'garage', 'house', 'apartment', 'apt',
        'mr', 'mrs', 'ms', 'miss', 'dr', 'sr', 'sra', 'srta', 'senor', 'senora', 'señor', 'señora', 'don', 'dona', 'doña',
        'hola', 'gracias', 'buenas', 'buenos', 'dias', 'días', 'tardes', 'noches', 'si', 'sí', 'de', 'del', 'la', 'el', 'los', 'las',
        'un', 'una', 'y', 'e', 'en', 'con', 'para', 'por', 'que', 'mi', 'su', 'tengo', 'tiene', 'vivo', 'necesito', 'quiero', 'aqui',
        'aquí', 'muy', 'casa', 'calle', 'agua', 'fuga', 'baño', 'bano', 'cocina', 'mañana', 'manana', 'tarde', 'noche', 'hoy', 'lunes',
        'martes', 'miercoles', 'miércoles', 'jueves', 'viernes', 'sabado', 'sábado', 'domingo', 'cliente', 'dueño', 'dueña', 'nuevo',
        'nueva', 'urgente', 'llamando', 'escribiendo', 'yo', 'usted', 'nombre', 'direccion', 'dirección', 'numero', 'número', 'le',
        'les', 'lo', 'se', 'es', 'esta', 'está', 'estoy', 'el', 'ayuda', 'problema', 'calentador', 'inodoro', 'fregadero',
        'btw', 'lol', 'haha', 'omg', 'idk', 'awesome', 'option', 'opcion', 'see', 'pic', 'pics', 'photo', 'photos', 'picture',
        'pictures', 'above', 'below', 'attached', 'around', 'noisy', 'smelly', 'moldy', 'rusty', 'dirty', 'gross', 'worse', 'better',
        'kidding', 'anyway', 'anyways', 'sorry', 'hello', 'hallo', 'ola', 'test', 'testing', 'nvm', 'yes', 'yeah', 'perfect', 'cool', 'sounds', 'nope', 'yup', 'wonderful', 'excellent', 'alright',
        'right', 'correct', 'wow', 'hmm', 'huh', 'anyone', 'anybody', 'same', 'nothing', 'never', 'mind', 'whatever', 'maybe', 'dunno',
        'only', 'worried', 'away', 'busy', 'lukewarm', 'freezing', 'pretty', 'kinda', 'kind', 'sort', 'probably', 'definitely',
        'actually', 'literally', 'basically', 'always', 'usually', 'sometimes', 'every', 'all', 'both', 'each', 'more', 'less',
        'much', 'many', 'few', 'little', 'big', 'small', 'huge', 'tiny', 'weird', 'strange', 'slow', 'fast', 'dark', 'master', 'bath',
        'bathroom', 'upstairs', 'downstairs', 'front', 'yard', 'hall', 'guest', 'main', 'attic', 'laundry', 'ceiling', 'floor', 'wall',
        'roof', 'hallway', 'bedroom', 'living', 'room', 'closet', 'patio', 'backyard', 'driveway', 'office', 'store', 'shop',
        'landlord', 'renter', 'plumbing', 'electrical', 'hvac', 'quote', 'estimate', 'asking', 'question',
        'booked', 'appointment', 'schedule', 'scheduling', 'confirm', 'ya', 'pues', 'bien', 'mal', 'solo', 'ok', 'vale', 'listo'])
$$;
COMMENT ON FUNCTION nmc.intake_not_a_name(text) IS 'True for a word that cannot be (part of) a person''s name: not letters, an everyday English or Spanish word (articles, pronouns, verbs, greetings, days, trade words, titles), or an -ing/-ed word.';

CREATE FUNCTION nmc.intake_capitalize(t text)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
    -- A word written in mixed case ("McDonald", "DeShawn") is kept as written;
    -- otherwise each part of it starts with a capital ("o'brien" → "O'Brien").
    SELECT string_agg(CASE WHEN w ~ '[[:lower:]]' AND w ~ '[[:upper:]]' THEN w ELSE initcap(w) END, ' ' ORDER BY n)
      FROM regexp_split_to_table(btrim(t), '\s+') WITH ORDINALITY AS x(w, n)
$$;
COMMENT ON FUNCTION nmc.intake_capitalize(text) IS 'Names and street names capitalised as people expect: "maria lopez" → "Maria Lopez", "o''brien" → "O''Brien"; mixed case as written is kept.';

CREATE FUNCTION nmc.intake_name_words(t text, whole boolean)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    toks text[] := regexp_split_to_array(btrim(regexp_replace(t, '[^[:alpha:]''’ -]', ' ', 'g')), '\s+');
    out text[] := '{}';
    i int := 1;
BEGIN
    -- A title before the name is not part of it ("la señora García", "Mrs Johnson").
    WHILE i <= cardinality(toks) AND nmc.intake_fold(toks[i]) IN ('mr', 'mrs', 'ms', 'miss', 'sr', 'sra', 'srta', 'senor', 'senora', 'la', 'el', 'don', 'dona') LOOP
        i := i + 1;
    END LOOP;
    WHILE i <= cardinality(toks) AND cardinality(out) < 3 AND NOT nmc.intake_not_a_name(toks[i]) LOOP
        out := out || toks[i];
        i := i + 1;
    END LOOP;
    IF cardinality(out) = 0 OR (whole AND i <= cardinality(toks)) OR nmc.intake_problem_word(array_to_string(out, ' ')) THEN
        RETURN NULL;
    END IF;
    -- Three name words followed by a fourth name-like word: a sentence, not a name.
    IF i <= cardinality(toks) AND cardinality(out) = 3 AND NOT nmc.intake_not_a_name(toks[i]) THEN
        RETURN NULL;
    END IF;
    RETURN nmc.intake_capitalize(array_to_string(out, ' '));
END
$$;
COMMENT ON FUNCTION nmc.intake_name_words(text, boolean) IS 'The 1-3 name words at the start of a phrase (titles skipped), capitalised; NULL when they are everyday or trade words, or when whole and the phrase holds more than the name, or when a fourth name-like word follows.';

CREATE FUNCTION nmc.intake_find_name(t text, asked boolean)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    k text := regexp_replace(t, '\s+', ' ', 'g');
    m text[];
    v text;
    seg text;
BEGIN
    -- Said outright: "my name is …", "me llamo …", "mi nombre es …", "name: …".
    m := regexp_match(k, '(?:my name is|my name''s|my names|name is|name''s|\mname\s*:|me llamo|mi nombre es|les habla|le habla|\mhabla)\s+([^,.!?;:()\n]+)', 'i');
    IF m IS NOT NULL THEN
        v := nmc.intake_name_words(m[1], false);
        IF v IS NOT NULL THEN RETURN v; END IF;
    END IF;
    -- Introduced: "this is Dave", "it's Maria Lopez", "I'm Tom", "soy Ana".
    FOR m IN SELECT regexp_matches(k, '(?:^|[^[:alpha:]])(this is|it''s|it’s|its|it is|i''m|i’m|\mim|i am|\msoy|\mse llama)\s+([^,.!?;:()\n]+)', 'gi') LOOP
        v := nmc.intake_name_words(m[2], false);
        IF v IS NOT NULL THEN
            RETURN v;
        END IF;
    END LOOP;
    -- "Dave here", "hi, maria lopez here".
    m := regexp_match(k, '(?:^|[,.!?;:]\s*|\m(?:hi|hello|hey|hola)\s+)((?:[[:alpha:]''-]+\s+){0,2}[[:alpha:]''-]+)\s+here\M', 'i');
    IF m IS NOT NULL THEN
        v := nmc.intake_name_words(m[1], true);
        IF v IS NOT NULL THEN RETURN v; END IF;
    END IF;
    -- Signed at the end: "… - Tom", "thanks, Dave", "gracias, Ana".
    m := regexp_match(k, '(?:\s[-–—~]+|^[-–—~]+|(?:thanks|thank you|thx|ty|gracias|regards|cheers)[,!.]?\s*[-–—]?)\s*([[:alpha:]][[:alpha:]'' -]*?)[\s.!]*$', 'i');
    IF m IS NOT NULL THEN
        v := nmc.intake_name_words(m[1], true);
        IF v IS NOT NULL THEN RETURN v; END IF;
    END IF;
    IF asked THEN
        -- The answer to "what's your name?": a short phrase that is only a name.
        FOREACH seg IN ARRAY regexp_split_to_array(k, '[,.;!?\n]+|\s[-–—]\s') LOOP
            seg := regexp_replace(btrim(seg), '^((hi|hello|hey|hola|yes|yeah|sure|ok|okay|si|sí|claro|name|nombre|it''s|its)\M\s*)+', '', 'i');
            seg := regexp_replace(seg, '\s*[0-9#].*$', '');
            seg := regexp_replace(seg, '\s+(at|from|in|on|here|de|en|desde)$', '', 'i');
            v := nmc.intake_name_words(seg, true);
            IF v IS NOT NULL THEN RETURN v; END IF;
        END LOOP;
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION nmc.intake_find_name(text, boolean) IS 'A person''s name anywhere in a text ("this is dave", "Dave here", "it''s Maria Lopez", "- Tom", "me llamo …", "soy …"), capitalised; when asked, a bare name ("dave smith") too. Never a sentence: NULL unless the words are name words.';

CREATE FUNCTION nmc.intake_name(t text)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$ SELECT nmc.intake_find_name(t, true) $$;
COMMENT ON FUNCTION nmc.intake_name(text) IS 'A person''s name from a reply to "what''s your name?" such as "Jane Doe", "my name is jane doe" or "it''s Dave here", or NULL if it does not look like one.';

CREATE FUNCTION nmc.intake_street_type(w text)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
    SELECT abbr FROM (VALUES
        ('st', 'St'), ('st.', 'St'), ('str', 'St'), ('street', 'St'), ('stret', 'St'), ('steet', 'St'), ('sreet', 'St'), ('streeet', 'St'),
        ('streed', 'St'), ('stree', 'St'), ('strt', 'St'), ('strret', 'St'), ('stteet', 'St'),
        ('ave', 'Ave'), ('av', 'Ave'), ('avenue', 'Ave'), ('avenu', 'Ave'), ('avnue', 'Ave'), ('aveune', 'Ave'), ('avneue', 'Ave'),
        ('avene', 'Ave'), ('avn', 'Ave'), ('aven', 'Ave'),
        ('rd', 'Rd'), ('road', 'Rd'), ('raod', 'Rd'), ('rode', 'Rd'),
        ('dr', 'Dr'), ('drive', 'Dr'), ('drv', 'Dr'), ('driv', 'Dr'), ('drvie', 'Dr'), ('dirve', 'Dr'), ('drivee', 'Dr'),
        ('ln', 'Ln'), ('lane', 'Ln'), ('lanr', 'Ln'), ('lne', 'Ln'),
        ('blvd', 'Blvd'), ('boulevard', 'Blvd'), ('boulvard', 'Blvd'), ('bulevard', 'Blvd'), ('blv', 'Blvd'), ('bvd', 'Blvd'),
        ('ct', 'Ct'), ('court', 'Ct'), ('crt', 'Ct'), ('cir', 'Cir'), ('circle', 'Cir'), ('circ', 'Cir'), ('cirlce', 'Cir'),
        ('way', 'Way'), ('wy', 'Way'), ('pl', 'Pl'), ('place', 'Pl'), ('plc', 'Pl'),
        ('pkwy', 'Pkwy'), ('parkway', 'Pkwy'), ('pky', 'Pkwy'), ('prkwy', 'Pkwy'),
        ('trl', 'Trl'), ('trail', 'Trl'), ('tr', 'Trl'), ('ter', 'Ter'), ('terrace', 'Ter'), ('terr', 'Ter'),
        ('hwy', 'Hwy'), ('highway', 'Hwy'), ('loop', 'Loop'), ('lp', 'Loop'), ('cv', 'Cv'), ('cove', 'Cv'),
        ('path', 'Path'), ('pass', 'Pass'), ('run', 'Run'), ('sq', 'Sq'), ('square', 'Sq'), ('xing', 'Xing'), ('crossing', 'Xing'),
        ('pt', 'Pt'), ('point', 'Pt'), ('holw', 'Holw'), ('hollow', 'Holw'), ('bnd', 'Bnd'), ('bend', 'Bnd'), ('row', 'Row'),
        ('walk', 'Walk'), ('aly', 'Aly'), ('alley', 'Aly'), ('expy', 'Expy'), ('expressway', 'Expy'), ('fwy', 'Fwy'), ('freeway', 'Fwy'),
        ('plz', 'Plz'), ('plaza', 'Plz'), ('trce', 'Trce'), ('trace', 'Trce'), ('vw', 'Vw'), ('view', 'Vw'), ('gln', 'Gln'),
        ('glen', 'Gln'), ('hts', 'Hts'), ('heights', 'Hts'), ('spgs', 'Spgs'), ('springs', 'Spgs'), ('park', 'Park'), ('pk', 'Park')
    ) AS s(word, abbr)
     WHERE word = lower(w)
$$;
COMMENT ON FUNCTION nmc.intake_street_type(text) IS 'The street-type table: a word as customers write it (full, abbreviated, or a common typo: "Street", "st", "stret", "avenu", "blvd") → its USPS abbreviation ("St", "Ave", "Blvd"), or NULL.';

CREATE FUNCTION nmc.intake_find_address(t text, asked boolean)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    toks text[] := regexp_split_to_array(btrim(regexp_replace(t, '\s+', ' ', 'g')), ' ');
    w text[];
    n int := cardinality(toks);
    i int;
    j int;
    k int;
    e int;
    street text;
    typ text;
    unit text;
    city text[];
    state text;
    zip text;
    num text;
    dir text;
    words text[];
    timeish boolean;
BEGIN
    IF n = 0 OR t IS NULL THEN
        RETURN NULL;
    END IF;
    w := ARRAY(SELECT nmc.intake_fold(regexp_replace(regexp_replace(x, '^[^[:alnum:]#]+', ''), '[^[:alnum:]]+$', '')) FROM unnest(toks) WITH ORDINALITY AS u(x, o) ORDER BY o);
    FOR i IN 1 .. n LOOP
        CONTINUE WHEN w[i] !~ '^[0-9]{1,6}[a-z]?$' OR w[i] ~ '^[0-9]{1,2}(am|pm)$';
        -- Not a time or an amount: "at 10" (unless a street follows: "at 12 Elm St"), "after 3", "$150", "10 am".
        timeish := i > 1 AND w[i - 1] = ANY (ARRAY['at', 'after', 'before', 'by', 'around', 'las', 'la', 'from', 'til', 'until', 'about'])
                   AND substring(w[i] FROM '^[0-9]+')::int <= 24;
        CONTINUE WHEN toks[i] ~ '^\$' OR (i < n AND w[i + 1] ~ '^(am|pm|a|p|oclock|o''clock|minutes|mins|min|hours|hrs|hour|days|years|yrs|dollars|bucks|gallon|gal|percent|times|people)$');
        num := upper(w[i]);
        j := i + 1;
        dir := NULL;
        IF j <= n AND w[j] IN ('n', 's', 'e', 'w', 'north', 'south', 'east', 'west', 'ne', 'nw', 'se', 'sw') THEN
            dir := CASE w[j] WHEN 'north' THEN 'N' WHEN 'south' THEN 'S' WHEN 'east' THEN 'E' WHEN 'west' THEN 'W' ELSE upper(w[j]) END;
            j := j + 1;
        END IF;
        street := NULL;
        typ := NULL;
        e := NULL;
        -- Highway-style names come before their number: "Hwy 71", "FM 1626", "County Road 12".
        IF j + 1 <= n AND w[j] IN ('hwy', 'highway', 'fm', 'rm', 'cr', 'route', 'rte', 'sh', 'us') AND w[j + 1] ~ '^[0-9]{1,4}$' THEN
            street := CASE WHEN w[j] IN ('hwy', 'highway') THEN 'Hwy' ELSE upper(w[j]) END || ' ' || w[j + 1];
            e := j + 1;
        ELSIF j + 2 <= n AND w[j] IN ('ranch', 'farm') AND w[j + 1] IN ('road', 'rd') AND w[j + 2] ~ '^[0-9]{1,4}$' THEN
            street := initcap(w[j]) || ' Road ' || w[j + 2];
            e := j + 2;
        ELSIF j + 1 <= n AND w[j] IN ('rr', 'fm', 'cr') AND w[j + 1] ~ '^[0-9]{1,4}$' THEN
            street := upper(w[j]) || ' ' || w[j + 1];
            e := j + 1;
        ELSIF j + 1 <= n AND w[j] IN ('avenue', 'ave', 'av') AND w[j + 1] ~ '^[a-h]$' THEN
            -- Lettered avenues: "Avenue F".
            street := 'Avenue ' || upper(w[j + 1]);
            e := j + 1;
        ELSE
            FOR k IN j + 1 .. least(j + 3, n) LOOP
                typ := nmc.intake_street_type(w[k]);
                IF typ IS NOT NULL THEN
                    -- "Barton Springs Rd", "Park Place Dr": the last type word is the type.
                    WHILE k < n AND k < j + 4 AND nmc.intake_street_type(w[k + 1]) IS NOT NULL LOOP
                        k := k + 1;
                        typ := nmc.intake_street_type(w[k]);
                    END LOOP;
                    words := toks[j:k - 1];
                    -- A street name is words, not a sentence break ("85 inside. 5207 …") nor a bare number.
                    IF EXISTS (SELECT 1 FROM unnest(toks[j:k - 1]) x WHERE x ~ '[,;!?]$' OR (x ~ '\.$' AND x !~ '^[[:alpha:]]{1,3}\.$') OR x ~ '^[0-9]+$') THEN
                        typ := NULL;
                        EXIT;
                    END IF;
                    IF EXISTS (SELECT 1 FROM unnest(w[j:k - 1]) x WHERE x !~ '^[[:alpha:]0-9''.-]+$'
                                  OR x = ANY (ARRAY['and', 'my', 'is', 'in', 'on', 'at', 'the', 'a', 'of', 'for', 'with', 'to', 'y', 'en', 'de', 'mi', 'have', 'leaks', 'leak', 'are']))
                       AND NOT (k = j + 1) THEN
                        typ := NULL;
                        CONTINUE;
                    END IF;
                    IF EXISTS (SELECT 1 FROM unnest(w[j:k - 1]) x WHERE x = ANY (ARRAY['and', 'my', 'is', 'in', 'on', 'at', 'a', 'of', 'for', 'with', 'to', 'y', 'en', 'mi', 'have', 'are'])) THEN
                        typ := NULL;
                        EXIT;
                    END IF;
                    street := nmc.intake_capitalize(regexp_replace(array_to_string(words, ' '), '[^[:alnum:]''. -]', '', 'g')) || ' ' || typ;
                    e := k;
                    EXIT;
                END IF;
            END LOOP;
            IF street IS NULL AND NOT timeish
               AND (asked OR EXISTS (SELECT 1 FROM generate_series(j + 1, least(j + 3, n)) g WHERE w[g] ~ '^[0-9]{5}(-[0-9]{4})?$'
                                        AND NOT EXISTS (SELECT 1 FROM unnest(w[j:g - 1]) x WHERE x !~ '^[[:alpha:]][[:alpha:]''-]*$'))) THEN
                -- Asked for the address ("55 oak", "1200 barton springs"), or a ZIP follows ("4302 Speedway 78751").
                k := j;
                WHILE k <= n AND k < j + 3 AND w[k] ~ '^[[:alpha:]][[:alpha:]''-]*$'
                      AND NOT w[k] = ANY (ARRAY['and', 'my', 'is', 'in', 'on', 'at', 'the', 'for', 'with', 'to', 'y', 'en', 'mi', 'apt', 'unit', 'please', 'thanks', 'gracias']) LOOP
                    k := k + 1;
                END LOOP;
                IF k > j THEN
                    street := nmc.intake_capitalize(array_to_string(toks[j:k - 1], ' '));
                    street := regexp_replace(street, '[^[:alnum:]''. -]', '', 'g');
                    e := k - 1;
                END IF;
            END IF;
        END IF;
        CONTINUE WHEN street IS NULL OR (timeish AND typ IS NULL AND street !~ '^(Avenue|Hwy|[A-Z]{2}|Ranch|Farm) ');
        -- A direction after the street: "Ranch Road 620 S".
        IF e + 1 <= n AND w[e + 1] IN ('n', 's', 'e', 'w', 'ne', 'nw', 'se', 'sw') AND toks[e] !~ '[,.]$' THEN
            street := street || ' ' || upper(w[e + 1]);
            e := e + 1;
        END IF;
        -- A unit: "apt 4b", "unit 12", "#3", "suite 200".
        unit := NULL;
        IF e + 1 <= n AND w[e + 1] ~ '^#[a-z0-9-]{1,6}$' THEN
            unit := '#' || upper(substr(w[e + 1], 2));
            e := e + 1;
        ELSIF e + 2 <= n AND w[e + 1] IN ('apt', 'apartment', 'unit', 'ste', 'suite', 'no', 'bldg', 'building', 'lot', 'rm', 'room', 'depto', 'dpto',
                                           'departamento', 'fl', 'floor', 'space', 'spc', 'trlr') AND w[e + 2] ~ '^#?[a-z0-9-]{1,6}$' THEN
            unit := CASE WHEN w[e + 1] IN ('apt', 'apartment', 'depto', 'dpto', 'departamento') THEN 'Apt' WHEN w[e + 1] IN ('ste', 'suite') THEN 'Ste'
                         WHEN w[e + 1] IN ('bldg', 'building') THEN 'Bldg' WHEN w[e + 1] IN ('fl', 'floor') THEN 'Fl' WHEN w[e + 1] = 'no' THEN '#'
                         ELSE initcap(w[e + 1]) END || ' ' || upper(ltrim(w[e + 2], '#'));
            e := e + 2;
        ELSIF e + 1 <= n AND w[e + 1] ~ '^(apt|unit|ste)[0-9][a-z0-9-]{0,5}$' THEN
            unit := initcap(substring(w[e + 1] FROM '^[a-z]+')) || ' ' || upper(substring(w[e + 1] FROM '[0-9].*$'));
            e := e + 1;
        END IF;
        -- A city after a comma (or before a state or ZIP), then a state, then the ZIP.
        city := NULL;
        k := e + 1;
        WHILE k <= n AND k <= e + 3 AND w[k] ~ '^[[:alpha:]][[:alpha:].''-]*$' AND w[k] NOT IN ('tx', 'texas')
              AND NOT w[k] = ANY (ARRAY['and', 'my', 'is', 'in', 'on', 'at', 'the', 'for', 'with', 'to', 'y', 'en', 'mi', 'i', 'we', 'it', 'its',
                                        'please', 'pls', 'thanks', 'gracias', 'tomorrow', 'today', 'manana', 'hoy', 'can', 'could', 'need',
                                        'have', 'has', 'but', 'so', 'near', 'by', 'off', 'next', 'call', 'text', 'this', 'that', 'our', 'any', 'whats',
                                        'what', 'when', 'how', 'tengo', 'necesito', 'el', 'la', 'los', 'las', 'un', 'una', 'es', 'con', 'de', 'mañana'])
              AND nmc.intake_not_a_name(w[k]) IS NOT TRUE LOOP
            k := k + 1;
        END LOOP;
        IF k > e + 1 AND (toks[e] ~ ',$' OR (k <= n AND (w[k] IN ('tx', 'texas') OR w[k] ~ '^[0-9]{5}(-[0-9]{4})?$'))) THEN
            city := toks[e + 1:k - 1];
            e := k - 1;
        END IF;
        state := NULL;
        IF e + 1 <= n AND (w[e + 1] IN ('tx', 'texas') OR (w[e + 1] ~ '^[a-z]{2}$' AND e + 2 <= n AND w[e + 2] ~ '^[0-9]{5}(-[0-9]{4})?$'
                                                           AND NOT w[e + 1] IN ('in', 'at', 'on', 'to', 'of', 'by', 'is', 'it', 'my', 'me', 'we', 'so', 'no', 'do'))) THEN
            state := CASE WHEN w[e + 1] = 'texas' THEN 'TX' ELSE upper(w[e + 1]) END;
            e := e + 1;
        END IF;
        IF e + 1 <= n AND w[e + 1] ~ '^[0-9]{5}(-[0-9]{4})?$' THEN
            zip := left(w[e + 1], 5);
            e := e + 1;
        END IF;
        IF zip IS NULL THEN
            -- The ZIP elsewhere in the text ("… 55 oak st. zip is 78702").
            SELECT left(x, 5) INTO zip FROM unnest(w) WITH ORDINALITY AS u(x, o)
             WHERE x ~ '^[0-9]{5}(-[0-9]{4})?$' AND o NOT BETWEEN i AND e AND toks[o] !~ '^\$' LIMIT 1;
        END IF;
        RETURN jsonb_strip_nulls(jsonb_build_object(
            'address', concat_ws(', ', concat_ws(' ', num, dir, street, unit),
                                 nullif(concat_ws(' ', nmc.intake_capitalize(regexp_replace(array_to_string(city, ' '), '[^[:alpha:] .''-]', '', 'g'))
                                                       || CASE WHEN state IS NOT NULL THEN ',' ELSE '' END,
                                                  state, zip), '')),
            'street', concat_ws(' ', num, dir, street),
            'zip', zip,
            'span', array_to_string(toks[i:e], ' ')));
    END LOOP;
    -- No street: perhaps a ZIP alone ("78702", "zip is 78702").
    SELECT left(x, 5) INTO zip FROM unnest(w) WITH ORDINALITY AS u(x, o)
     WHERE x ~ '^[0-9]{5}(-[0-9]{4})?$' AND toks[o] !~ '^\$' LIMIT 1;
    RETURN CASE WHEN zip IS NOT NULL THEN jsonb_build_object('zip', zip, 'span', zip) END;
END
$$;
COMMENT ON FUNCTION nmc.intake_find_address(text, boolean) IS 'A street address anywhere in a text, with or without "it''s/at/my address is": house number, direction, street and type (nmc.intake_street_type: abbreviations, typos), unit, city, state, ZIP → {address (normalised: "55 Oak St Apt 4B, Austin, TX 78702"), street, zip, span (the words it came from)}; {zip} for a ZIP alone; NULL for none. When asked, a number and street name without a type count too.';

CREATE FUNCTION nmc.intake_address(t text)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$ SELECT nmc.intake_find_address(t, true) ->> 'address' $$;
COMMENT ON FUNCTION nmc.intake_address(text) IS 'A street address (with its house number) from a reply to "what''s the address?", normalised ("55 Oak St, 78702"), or NULL.';

CREATE FUNCTION nmc.intake_hour(h text, mi text, ampm text)
RETURNS time
LANGUAGE sql IMMUTABLE
AS $$
    -- Without am/pm, 1-6 o'clock means the afternoon (nobody books a plumber at 3 am).
    SELECT CASE WHEN h::int > 23 OR coalesce(mi, '0')::int > 59 THEN NULL
                ELSE make_time(CASE WHEN ampm ~ '^p' THEN h::int % 12 + 12
                                    WHEN ampm ~ '^a' THEN h::int % 12
                                    WHEN h::int BETWEEN 1 AND 6 THEN h::int + 12
                                    ELSE h::int END, coalesce(mi, '0')::int, 0) END
$$;
COMMENT ON FUNCTION nmc.intake_hour(text, text, text) IS 'A clock time from its hour, minutes and am/pm as written; without am/pm, 1-6 means PM.';

CREATE FUNCTION nmc.intake_find_when(t text, tz text)
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    k text := ' ' || nmc.intake_fold(coalesce(t, '')) || ' ';
    today date := (now() AT TIME ZONE tz)::date;
    p jsonb := '{}';
    m text[];
    d int;
    day date;
    d_part text;
    clock text := '(\d{1,2})(?::(\d{2}))?\s*(am|pm|a\.\s?m\.?|p\.\s?m\.?|a\M|p\M)?';
BEGIN
    -- "Good evening", "buenas noches" are greetings, not times.
    k := regexp_replace(k, '\m(good (morning|afternoon|evening|night)|buenas (tardes|noches)|buenos dias|buen dia)\M', ' ', 'g');
    -- When the trouble started is not when they want us: "since this morning", "it broke last night".
    k := regexp_replace(k, '\m(since|desde)\s+(this|last|yesterday|the|ayer|anoche|esta|la|el)\M(\s+(morning|afternoon|evening|night|week|manana|tarde|noche|semana))?', ' ', 'g');
    k := regexp_replace(k, '\m([a-z]+ed|broke|began|went|came|stopped|started|happened) (this|last) (morning|afternoon|evening|night)\M', ' ', 'g');
    -- Spanish "mañana" is tomorrow, "la mañana" the morning.
    k := regexp_replace(k, '\m(por|en|de) la manana\M', ' morning ', 'g');
    k := regexp_replace(k, '\mesta manana\M', ' today morning ', 'g');
    k := regexp_replace(k, '\m(por|en|de) la (tarde)\M', ' afternoon ', 'g');
    k := regexp_replace(k, '\m(por|en|de) la (noche)\M', ' evening ', 'g');
    k := regexp_replace(k, '\mesta (tarde)\M', ' today afternoon ', 'g');
    k := regexp_replace(k, '\mesta (noche)\M', ' today evening ', 'g');
    k := regexp_replace(k, '\mmedio ?dia\M', 'noon', 'g');
    IF k ~ '\m(asap|a\.s\.a\.p|as soon as|soonest|earliest|right away|right now|first thing|lo antes posible|cuanto antes|lo mas pronto|hoy mismo|urgente|urgent|emergency)\M' THEN
        p := p || '{"asap": true}';
    END IF;
    -- The day.
    IF k ~ '\m(pasado manana|day after tomorrow)\M' THEN
        day := today + 2;
    ELSIF k ~ '\m(tomorrow|tmrw|tmr|tmrow|tomorow|tommorow|tommorrow|tomorrw|2morrow|2moro|manana)\M' THEN
        day := today + 1;
    ELSIF k ~ '\m(today|tonight|tonite|hoy|this morning|this afternoon|this evening)\M' THEN
        day := today;
    ELSE
        m := regexp_match(k, '\m(next |this |el |este |proximo |on )?(mon|monday|tue|tues|tuesday|wed|weds|wednesday|thu|thur|thurs|thursday|fri|friday|sat|saturday|sun|sunday|lunes|martes|miercoles|jueves|viernes|sabado|domingo)s?\M');
        IF m IS NOT NULL THEN
            d := CASE WHEN m[2] ~ '^(sun|domingo)' THEN 0 WHEN m[2] ~ '^(mon|lunes)' THEN 1 WHEN m[2] ~ '^(tue|martes)' THEN 2
                      WHEN m[2] ~ '^(wed|miercoles)' THEN 3 WHEN m[2] ~ '^(thu|jueves)' THEN 4 WHEN m[2] ~ '^(fri|viernes)' THEN 5 ELSE 6 END;
            day := today + (d - extract(dow FROM today)::int + 7) % 7;
            IF day = today AND m[1] IS NOT NULL AND m[1] ~ 'next|proximo' THEN
                day := day + 7;
            END IF;
        ELSIF k ~ '\m(this weekend|el fin de semana|este fin de semana|weekend)\M' THEN
            day := today + (6 - extract(dow FROM today)::int + 7) % 7;
        ELSE
            m := regexp_match(k, '\m(\d{1,2})/(\d{1,2})\M');
            IF m IS NOT NULL AND m[1]::int BETWEEN 1 AND 12 AND m[2]::int BETWEEN 1 AND 31 THEN
                BEGIN
                    day := make_date(extract(year FROM today)::int, m[1]::int, m[2]::int);
                    IF day < today THEN
                        day := make_date(extract(year FROM today)::int + 1, m[1]::int, m[2]::int);
                    END IF;
                EXCEPTION WHEN OTHERS THEN
                    day := NULL;
                END;
            END IF;
        END IF;
    END IF;
    IF day IS NOT NULL THEN
        p := p || jsonb_build_object('day', day);
    ELSIF k ~ '\m(next week|la proxima semana|proxima semana|la semana que viene|la otra semana)\M' THEN
        p := p || jsonb_build_object('week_from', today + (8 - extract(isodow FROM today)::int), 'week_to', today + (14 - extract(isodow FROM today)::int));
    END IF;
    -- A part of the day.
    -- (The first one said: "afternoons only, I work mornings".)
    SELECT x.part INTO d_part FROM (VALUES
        ('morning', strpos(k, substring(k FROM '\m(mornings?|mornin|morn|in the am|am only)\M'))),
        ('afternoon', strpos(k, substring(k FROM '\m(afternoons?|aftn|arvo|tardes?|in the pm|after lunch|despues de comer)\M'))),
        ('evening', strpos(k, substring(k FROM '\m(evenings?|tonight|tonite|after work|noches?|nights?|after 5|after five)\M')))) x(part, pos)
     WHERE x.pos > 0 ORDER BY x.pos LIMIT 1;
    IF d_part IS NOT NULL THEN
        p := p || jsonb_build_object('part', d_part);
    END IF;
    -- From, until, or at a time.
    m := regexp_match(k, '\m(?:after|any ?time after|anytime after|past|later than|from|despues de las?|despues de la|a partir de las?|desde las?)\s+' || clock);
    IF m IS NOT NULL AND nmc.intake_hour(m[1], m[2], m[3]) IS NOT NULL THEN
        p := p || jsonb_build_object('after', nmc.intake_hour(m[1], m[2], m[3]));
    ELSIF k ~ '\m(after noon|despues del noon|despues de noon)\M' THEN
        p := p || '{"after": "12:00:00"}';
    ELSE
        m := regexp_match(k, '\m' || clock || '\s+or (later|after)\M');
        IF m IS NOT NULL AND nmc.intake_hour(m[1], m[2], m[3]) IS NOT NULL THEN
            p := p || jsonb_build_object('after', nmc.intake_hour(m[1], m[2], m[3]));
        END IF;
    END IF;
    m := regexp_match(k, '\m(?:before|by|no later than|until|til|till|antes de las?|antes de la|antes del?)\s+' || clock);
    IF m IS NOT NULL AND nmc.intake_hour(m[1], m[2], m[3]) IS NOT NULL THEN
        p := p || jsonb_build_object('before', nmc.intake_hour(m[1], m[2], m[3]));
    ELSIF k ~ '\m(before noon|before lunch|by noon|antes del noon|antes de noon|antes de comer)\M' THEN
        p := p || '{"before": "12:00:00"}';
    END IF;
    IF NOT (p ? 'after' OR p ? 'before') THEN
        m := regexp_match(k, '\m(\d{1,2}):(\d{2})\s*(am|pm|a\.\s?m\.?|p\.\s?m\.?)?');
        IF m IS NULL THEN
            m := regexp_match(k, '\m(\d{1,2})()\s*(am|pm|a\.\s?m\.?|p\.\s?m\.?)(?![a-z])');
        END IF;
        IF m IS NULL THEN
            m := regexp_match(k, '(?:\mat|\maround|\mabout|@|\ma las|\ma la|\mpor las|\mcerca de las)\s*(\d{1,2})()()(?![\d:/])');
        END IF;
        IF m IS NOT NULL AND nmc.intake_hour(m[1], nullif(m[2], ''), nullif(m[3], '')) IS NOT NULL THEN
            p := p || jsonb_build_object('at', nmc.intake_hour(m[1], nullif(m[2], ''), nullif(m[3], '')));
        ELSIF k ~ '\m(noon|lunch ?time)\M' THEN
            p := p || '{"at": "12:00:00"}';
        END IF;
    END IF;
    RETURN CASE WHEN p <> '{}' THEN p END;
END
$$;
COMMENT ON FUNCTION nmc.intake_find_when(text, text) IS 'A time preference in a text, in the business''s time zone: {day (today, tomorrow, a weekday, M/D), week_from/week_to (next week), part (morning, afternoon, evening), after, before, at (a clock time), asap}, English or Spanish ("el viernes en la mañana", "después de las 3"); NULL when the text says nothing about time.';

CREATE FUNCTION nmc.intake_slot_fits(ts timestamptz, tz text, p jsonb, exact boolean)
RETURNS boolean
LANGUAGE sql STABLE
AS $$
    SELECT (NOT p ? 'day' OR l::date = (p ->> 'day')::date)
       AND (NOT p ? 'week_from' OR l::date BETWEEN (p ->> 'week_from')::date AND (p ->> 'week_to')::date)
       AND (NOT p ? 'part' OR CASE p ->> 'part' WHEN 'morning' THEN l::time < '12:00' WHEN 'afternoon' THEN l::time >= '12:00' AND l::time < '17:00'
                                                 ELSE l::time >= '16:00' END)
       AND (NOT p ? 'after' OR l::time >= (p ->> 'after')::time)
       AND (NOT p ? 'before' OR l::time < (p ->> 'before')::time)
       AND (NOT p ? 'at' OR CASE WHEN exact THEN l::time = (p ->> 'at')::time
                                 ELSE l::time BETWEEN (p ->> 'at')::time - interval '2 hours' AND (p ->> 'at')::time + interval '2 hours' END)
      FROM (SELECT ts AT TIME ZONE tz AS l) x
$$;
COMMENT ON FUNCTION nmc.intake_slot_fits(timestamptz, text, jsonb, boolean) IS 'Whether a slot start fits a time preference (nmc.intake_find_when): its day or week, part of the day, after/before; at: exactly that time when exact, else within two hours of it.';

CREATE FUNCTION nmc.intake_slot_choice(t text, offered int)
RETURNS int
LANGUAGE sql IMMUTABLE
AS $$
    SELECT CASE WHEN n BETWEEN 1 AND offered THEN n END
      FROM (SELECT CASE
                WHEN k ~ '^\W*(#|option|opcion|number|numero|no\.?|la|el|the|num)?\s*\(?[1-9]\)?\W*$' THEN substring(k FROM '([1-9])')::int
                WHEN k ~ '\m(option|opcion|number|numero|num|#)\s*[1-9]\M' THEN substring(k FROM '(?:option|opcion|number|numero|num|#)\s*([1-9])')::int
                WHEN k ~ '\m(first|1st|primera|primero|primer)\M' THEN 1
                WHEN k ~ '\m(second|2nd|segunda|segundo)\M' THEN 2
                WHEN k ~ '\m(third|3rd|tercera|tercero|tercer)\M' THEN 3
                WHEN k ~ '\m(last|ultima|ultimo|latest)( one| option| time| slot)?\M' THEN offered
                WHEN k ~ '^\W*(the |la |el |option |opcion |number |numero )?(one|uno|una)\W*$' THEN 1
                WHEN k ~ '^\W*(the |la |el |option |opcion |number |numero )?(two|dos)\W*$' OR k ~ '\m(option|number|opcion|numero) (two|dos)\M' THEN 2
                WHEN k ~ '^\W*(the |la |el |option |opcion |number |numero )?(three|tres)\W*$' OR k ~ '\m(option|number|opcion|numero) (three|tres)\M' THEN 3
                WHEN k ~ '\m(any|anyone|any one|either|whichever|whatever|cualquiera|the earliest|the soonest|la mas temprana|la mas pronto)\M'
                     AND k !~ '\m(not|no|none|ninguna)\M' THEN 1
                -- A short reply with one lone digit: "2 please", "lets do 3", "ok 1".
                WHEN array_length(regexp_split_to_array(btrim(k), '\s+'), 1) <= 6
                     AND (SELECT count(*) FROM regexp_matches(k, '(?:^|[^0-9:/$])([1-9])(?![0-9:/]|\s*(am|pm|a\.|p\.|o''?clock|oclock|hours|hrs|days|min))', 'g')) = 1
                     AND k !~ '\m(at|after|before|by|around|las|la|from|til|until)\s+[1-9]\M'
                THEN substring(k FROM '(?:^|[^0-9:/$])([1-9])(?![0-9:/])')::int
            END AS n
              FROM (SELECT nmc.intake_fold(btrim(t, E' \t\r\n.!')) AS k) x) y
$$;
COMMENT ON FUNCTION nmc.intake_slot_choice(text, int) IS 'Which of the offered slots a reply picks by its place: "2", "(2)", "#2", "option 2", "2 please", "the second one", "la segunda", "the last one", "any of those" (the first); NULL for anything else.';

CREATE FUNCTION nmc.intake_slot_by_time(t text, offered jsonb, tz text)
RETURNS int
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    p jsonb := nmc.intake_find_when(t, tz) - 'asap';
    hits int[];
BEGIN
    IF p IS NULL OR p = '{}' THEN
        RETURN NULL;
    END IF;
    SELECT array_agg(n::int ORDER BY n) INTO hits
      FROM jsonb_array_elements_text(offered) WITH ORDINALITY AS o(ts, n)
     WHERE nmc.intake_slot_fits(o.ts::timestamptz, tz, p, true);
    -- Only an answer that names exactly one of the offered times counts.
    RETURN CASE WHEN cardinality(hits) = 1 THEN hits[1] END;
END
$$;
COMMENT ON FUNCTION nmc.intake_slot_by_time(text, jsonb, text) IS 'Which of the offered slots (timestamps) a reply names by day, part of the day and/or time in the business''s time zone ("tomorrow 9am", "Thursday at 2", "10:30 works", "the friday one", "the afternoon one", "el viernes"); NULL unless exactly one matches.';

CREATE FUNCTION nmc.intake_intent(t text)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
    SELECT CASE
        WHEN k ~ '\m(wrong (number|#|num)|didn''?t call|did not call|never called|not me|numero equivocado|equivocado|equivocada|no llame|no he llamado|yo no llame)\M'
            THEN 'wrong_number'
        WHEN k ~ '\m(real person|a person|a human|human being|talk to (someone|somebody|a person|the owner|a human|a real)|speak (to|with) (someone|somebody|a person|the owner)|call me|give me a call|can (you|someone|somebody) call|please call|pls call|plz call|hablar con (alguien|una persona|el dueno)|llamenme|llameme|me pueden llamar|me puede llamar|quiero hablar)\M'
            THEN 'human'
        WHEN k ~ '^\W*(no thanks|no thank you|nevermind|never mind|nvm|all good|were good|we''re good|im good|i''m good|not interested|no gracias|ya no|ya no es necesario|ya se arreglo|ya lo arreglamos|ya lo arregle|cancel|cancelar)\M'
             OR k ~ '\m(already fixed|got it fixed|fixed it|found someone|found somebody|went with someone|ya encontre|ya conseguimos|no longer need)\M'
            THEN 'decline'
        WHEN k ~ '\m(none|neither|no good|dont work|don''t work|doesnt work|doesn''t work|do not work|can''?t do (those|any|that|them)|cant make|can''t make|other (times|days|options|time|day)|something else|another (time|day)|anything (else|later|earlier)|later (time|day|in the)|different (time|day)|ninguna|ninguno|otro dia|otra hora|otras horas|otro horario|no puedo|no me (sirve|sirven|queda|quedan))\M'
            THEN 'others'
        WHEN k ~ '\m(how much|pricing|what (do|does|would|will|did) (it|you|that|this) (cost|charge|run)|what''?s the (price|cost|fee|charge|rate)|do you charge|service (call )?(fee|charge)|trip (fee|charge)|cuanto cuesta|cuanto cobran|cuanto sale|cuanto cobra|el precio|los precios)\M'
             OR k ~ '\m(price|prices|cost|costs|fee|fees|rates?)\s*\?'
            THEN 'price'
        WHEN k ~ '^\W*((hi|hello|hey|hiya|yo|hola|good (morning|afternoon|evening)|buenas( tardes| noches| dias)?|buenos dias|who is this|who''s this|whos this|quien es|quien habla|yes|yeah|ok|okay|sure|si|claro|thanks|thank you|gracias|ty)\W*)+$'
            THEN 'greeting'
    END
      FROM (SELECT nmc.intake_fold(coalesce(t, '')) AS k) x
$$;
COMMENT ON FUNCTION nmc.intake_intent(text) IS 'What a reply means beyond details: wrong_number, human (a person wanted, "call me"), decline ("no thanks", "already fixed"), others ("none of those", "another day"), price (a question about cost), greeting (hello, thanks, yes — nothing to misunderstand); NULL otherwise.';

CREATE FUNCTION nmc.intake_problem_word(k text)
RETURNS boolean
LANGUAGE sql IMMUTABLE
AS $$
    SELECT nmc.intake_fold(k) ~ ('\m(leak|leaks|leaking|leaky|drip|dripping|drips|clog|clogged|clogging|backed up|backing up|overflow|overflowing|flood|flooded|flooding|'
        || 'toilet|sink|faucet|drain|drains|pipe|pipes|water|heater|tank|tankless|disposal|dishwasher|washer|shower|tub|bathtub|sewer|septic|'
        || 'sump|pump|spigot|hose bib|valve|softener|garbage|running|gurgl\w*|smell|smells|odor|noise|noisy|'
        || 'ac|a/c|air|conditioner|conditioning|hvac|furnace|heat|heating|heater|thermostat|cooling|cool|blowing|compressor|condenser|'
        || 'vent|vents|duct|ducts|filter|freon|refrigerant|coil|frozen|ice|iced|'
        || 'outlet|outlets|breaker|breakers|power|electric|electrical|electricity|lights?|switch|switches|panel|wiring|wire|wires|fan|fans|'
        || 'fixture|fixtures|gfci|sparking|flicker|flickering|tripping|trips|tripped|shock|generator|charger|ev|'
        || 'lock|locks|locked|key|keys|door|garage|gutter|roof|window|'
        || 'broken|broke|busted|not working|stopped working|doesnt work|doesn''t work|won''?t|isn''?t|wont|dead|out|no hot|install|installation|'
        || 'replace|replacement|repair|fix|fixed|estimate|quote|inspection|maintenance|tune|service|checkup|check up|'
        || 'fuga|fugas|gotea|goteando|gotera|tapado|tapada|tapados|atascado|atascada|inodoro|taza|bano|lavabo|lavamanos|fregadero|tarja|'
        || 'tuberia|tubo|tubos|calentador|boiler|agua|caliente|aire|acondicionado|calefaccion|minisplit|luz|luces|enchufe|enchufes|'
        || 'contacto|apagador|cortocircuito|no funciona|no sirve|no prende|no enfria|no calienta|arreglar|reparar|instalar|cambiar|revisar|'
        || 'drenaje|regadera|ducha|la tina|lavadora|llave|cerradura|puerta|inundado|inundacion|ruido|olor|roto|rota|descompuesto|descompuesta)\M')
$$;
COMMENT ON FUNCTION nmc.intake_problem_word(text) IS 'Whether a text names a job for a trade (plumbing, HVAC, electrical, locks; English and Spanish): a leak, a clog, no heat, an outlet, "not working", "no funciona"…';

CREATE FUNCTION nmc.intake_find_problem(t text, name text, address_span text, asked boolean)
RETURNS text
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    k text := regexp_replace(coalesce(t, ''), '\s+', ' ', 'g');
    seg text;
    kept text[] := '{}';
    words int;
BEGIN
    -- What is left once the address, the introduction and the greeting are taken out.
    IF address_span IS NOT NULL THEN
        k := replace(k, address_span, ' ');
    END IF;
    k := regexp_replace(k, '\m(my name is|my name''s|name is|this is|it''s|its|i''m|im|i am|me llamo|mi nombre es|soy)\s+' || coalesce(regexp_replace(name, '([^[:alnum:] ])', '\\\1', 'g'), '\0\0\0'), ' ', 'i');
    IF name IS NOT NULL THEN
        k := regexp_replace(k, '\m' || regexp_replace(name, '([^[:alnum:] ])', '\\\1', 'g') || '\s+here\M', ' ', 'i');
        k := regexp_replace(k, '(^|\s)[-–—~]+\s*' || regexp_replace(name, '([^[:alnum:] ])', '\\\1', 'g') || '[\s.!]*$', ' ', 'i');
    END IF;
    k := regexp_replace(k, '\m(my address is|address is|address:|the address is|mi direccion es|mi dirección es|la direccion es|la dirección es|vivo en|i live at|we live at|located at|zip( code)?( is)?:?|codigo postal|código postal)\M', ' ', 'gi');
    FOREACH seg IN ARRAY regexp_split_to_array(k, '[.!?;\n]+|\s[-–—]\s') LOOP
        seg := btrim(regexp_replace(seg, '^\W*((hi|hello|hey|hiya|hola|good (morning|afternoon|evening)|buenas( tardes| noches| dias)?|buenos dias|yes|yeah|ok|okay|sure|si|sí|thanks|thank you|gracias|and|y|also|tambien|también)\M[\s,!.]*)+', '', 'i'), E' \t,.!-');
        CONTINUE WHEN seg !~ '[[:alpha:]]{2}';
        -- A question about us is not the problem: "is this the plumber?", "are you open today?"
        CONTINUE WHEN seg ~* '^(is this|is that|are you|are y''all|do you|who is|who''s|es usted|son ustedes|ustedes son)\M';
        words := array_length(regexp_split_to_array(seg, '\s+'), 1);
        IF nmc.intake_problem_word(seg)
           OR ((words >= 4 OR asked) AND nmc.intake_intent(seg) IS NULL AND nmc.intake_find_when(seg, 'UTC') IS NULL
               AND nmc.intake_find_name(seg, false) IS NULL AND seg !~* '^\W*(can|could|when|what|will|would|do|is|are)\M.*\?\W*$') THEN
            kept := kept || seg;
        END IF;
    END LOOP;
    RETURN nullif(left(array_to_string(kept, '. '), 1000), '');
END
$$;
COMMENT ON FUNCTION nmc.intake_find_problem(text, text, text, boolean) IS 'The problem a customer describes in a text, without the parts that are their name, address or a greeting: the sentences that name a job (nmc.intake_problem_word), or say enough (four words or more; when asked, any) and are not about time, a question to us, or an intent. NULL when nothing describes a problem ("Hi", "?", a photo alone).';
