-- intake_engine.sql — the built-in intake engine: when nobody at the business
-- answered within the human window, it carries the conversation to a booked
-- appointment without any outside AI — asks for what is missing (problem,
-- name, service address; the ZIP code when the business limits its service
-- area by postal codes, and declines politely outside it), offers the next open slots, books the one the
-- customer picks ("2", "the first one"), confirms from the appointment row,
-- and hands off to a human on anything it cannot parse twice. Every reply goes
-- through nmc.ai_send_reply, so a takeover silences it at once.

CREATE FUNCTION nmc.intake_name(t text)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
    SELECT CASE WHEN n ~ '^[[:alpha:]][[:alpha:] .''-]{0,59}$' AND n !~ '[0-9]' THEN initcap(n) END
      FROM (SELECT btrim(regexp_replace(btrim(t, E' \t\r\n.!'), '^(my name is|my name''s|this is|i am|i''m|it''s|its|name:?)\s+', '', 'i')) AS n) x
$$;
COMMENT ON FUNCTION nmc.intake_name(text) IS 'A person''s name from a reply such as "Jane Doe" or "my name is jane doe", or NULL if it does not look like one.';

CREATE FUNCTION nmc.intake_address(t text)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$ SELECT CASE WHEN btrim(t) ~* '^[0-9]+[a-z]?\s+\S+.*[[:alpha:]]' AND length(btrim(t)) <= 200 THEN btrim(t, E' \t\r\n.!') END $$;
COMMENT ON FUNCTION nmc.intake_address(text) IS 'A street address (starting with a house number) from a reply, or NULL.';

CREATE FUNCTION nmc.intake_slot_choice(t text, offered int)
RETURNS int
LANGUAGE sql IMMUTABLE
AS $$
    SELECT CASE WHEN n BETWEEN 1 AND offered THEN n END
      FROM (SELECT CASE
                WHEN k ~ '^\(?([0-9])\)?$' THEN substring(k FROM '([0-9])')::int
                WHEN k ~ '\m(first|1st|one)\M' THEN 1
                WHEN k ~ '\m(second|2nd|two)\M' THEN 2
                WHEN k ~ '\m(third|3rd|three)\M' THEN 3
                WHEN k ~ '^(option|number|#)\s*[0-9]$' THEN right(k, 1)::int
            END AS n
              FROM (SELECT lower(btrim(t, E' \t\r\n.!')) AS k) x) y
$$;
COMMENT ON FUNCTION nmc.intake_slot_choice(text, int) IS 'Which of the offered slots a reply picks ("2", "(2)", "the second one", "option 2"), or NULL.';

CREATE FUNCTION nmc.intake_slot_by_time(t text, offered jsonb, tz text)
RETURNS int
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    k text := lower(t);
    m text[];
    hh int;
    mm int := 0;
    day date;
    local_today date := (now() AT TIME ZONE tz)::date;
    hits int[];
BEGIN
    -- The time: "9am", "9:30 pm", "14:00", or "at 10" (1-6 o'clock meaning afternoon).
    m := regexp_match(k, '\m(\d{1,2})(?::(\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)');
    IF m IS NOT NULL THEN
        hh := m[1]::int % 12 + CASE WHEN m[3] LIKE 'p%' THEN 12 ELSE 0 END;
        mm := coalesce(m[2]::int, 0);
    ELSE
        m := regexp_match(k, '\m(\d{1,2}):(\d{2})\M');
        IF m IS NOT NULL THEN
            hh := m[1]::int;
            mm := m[2]::int;
        ELSE
            m := regexp_match(k, '\mat (\d{1,2})\M');
            IF m IS NOT NULL THEN
                hh := m[1]::int + CASE WHEN m[1]::int BETWEEN 1 AND 6 THEN 12 ELSE 0 END;
            END IF;
        END IF;
    END IF;
    -- The day: today, tomorrow, or a weekday name.
    IF k ~ '\mtoday\M' THEN
        day := local_today;
    ELSIF k ~ '\mtomorrow\M' THEN
        day := local_today + 1;
    ELSE
        m := regexp_match(k, '\m(sun|mon|tue|wed|thu|fri|sat)[a-z]*\M');
        IF m IS NOT NULL THEN
            SELECT d INTO day FROM generate_series(local_today, local_today + 6, interval '1 day') g(d0), LATERAL (SELECT g.d0::date AS d) x
             WHERE to_char(x.d, 'dy') = m[1] LIMIT 1;
        END IF;
    END IF;
    IF hh IS NULL AND day IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT array_agg(n::int ORDER BY n) INTO hits
      FROM jsonb_array_elements_text(offered) WITH ORDINALITY AS o(ts, n)
     WHERE (day IS NULL OR (o.ts::timestamptz AT TIME ZONE tz)::date = day)
       AND (hh IS NULL OR (extract(hour FROM o.ts::timestamptz AT TIME ZONE tz) = hh
                           AND extract(minute FROM o.ts::timestamptz AT TIME ZONE tz) = mm));
    -- Only an answer that names exactly one of the offered times counts.
    RETURN CASE WHEN cardinality(hits) = 1 THEN hits[1] END;
END
$$;
COMMENT ON FUNCTION nmc.intake_slot_by_time(text, jsonb, text) IS 'Which of the offered slots (timestamps) a reply names by day and/or time in the business''s time zone ("tomorrow 9am", "Thursday at 2", "the 10:30 one"); NULL unless exactly one matches.';

CREATE FUNCTION nmc.intake_reply(conv nmc.conversations, body text)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    b nmc.businesses;
BEGIN
    SELECT * INTO b FROM nmc.businesses WHERE id = conv.business_id;
    -- The first thing the assistant says discloses that it is automated.
    IF NOT EXISTS (SELECT 1 FROM nmc.messages WHERE conversation_id = conv.id AND author = 'ai') THEN
        body := coalesce(b.ai_disclosure, nmc.default_ai_disclosure(b)) || ' ' || body;
    END IF;
    PERFORM nmc.ai_send_reply(conv.id, body);
END
$$;
COMMENT ON FUNCTION nmc.intake_reply(nmc.conversations, text) IS 'Sends an assistant reply, from either engine (prefixed with the disclosure the first time), only while the conversation is in AI mode.';

CREATE FUNCTION nmc.intake_turn(p_conversation_id uuid)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    conv nmc.conversations := nmc.conversation_for_update(p_conversation_id);
    b nmc.businesses;
    last_text text;
    i jsonb;
    v text;
    pick int;
    a nmc.appointments;
    slots jsonb;
    understood boolean := true;
    photo_only boolean;
BEGIN
    IF conv.mode <> 'ai' THEN
        RETURN;
    END IF;
    SELECT * INTO b FROM nmc.businesses WHERE id = conv.business_id;
    i := conv.intake;
    SELECT m.body, m.media IS NOT NULL AND m.body = nmc.sms_media_words(m.media) INTO last_text, photo_only FROM nmc.messages m
     WHERE m.conversation_id = conv.id AND m.direction = 'inbound' ORDER BY m.created_at DESC, m.id DESC LIMIT 1;

    -- A photo alone answers nothing: thank the customer and ask again (never a hand-off).
    IF photo_only THEN
        PERFORM nmc.intake_reply(conv, 'Thanks for the photo, that helps. ' || CASE coalesce(i ->> 'awaiting', 'problem')
            WHEN 'name' THEN 'What''s your name?'
            WHEN 'address' THEN 'What''s the address for the job (street and number)?'
            WHEN 'zip' THEN 'And the ZIP code?'
            WHEN 'slot' THEN 'Which of the times I sent works for you? Reply 1, 2 or 3 (or the day and time).'
            ELSE 'What can we help you with?' END);
        IF NOT i ? 'awaiting' THEN
            UPDATE nmc.conversations SET intake = i || '{"awaiting":"problem"}' WHERE id = conv.id;
        END IF;
        RETURN;
    END IF;

    -- Take in the customer's latest answer to what was asked.
    IF i ->> 'awaiting' = 'name' THEN
        v := nmc.intake_name(last_text);
        understood := v IS NOT NULL;
        IF understood THEN
            i := i || jsonb_build_object('name', v);
            UPDATE nmc.customers SET name = v WHERE id = conv.customer_id;
        END IF;
    ELSIF i ->> 'awaiting' = 'address' THEN
        v := nmc.intake_address(last_text);
        understood := v IS NOT NULL;
        IF understood THEN
            i := i || jsonb_build_object('address', v);
            IF substring(v FROM '\m([0-9]{5})(-[0-9]{4})?\s*$') IS NOT NULL THEN
                i := i || jsonb_build_object('zip', substring(v FROM '\m([0-9]{5})(-[0-9]{4})?\s*$'));
            END IF;
        END IF;
    ELSIF i ->> 'awaiting' = 'zip' THEN
        v := substring(last_text FROM '\m([0-9]{5})\M');
        understood := v IS NOT NULL;
        IF understood THEN
            i := i || jsonb_build_object('zip', v);
        END IF;
    ELSIF i ->> 'awaiting' = 'slot' THEN
        pick := coalesce(nmc.intake_slot_by_time(last_text, i -> 'offered_slots', b.timezone),
                         nmc.intake_slot_choice(last_text, jsonb_array_length(i -> 'offered_slots')));
        understood := pick IS NOT NULL;
        IF understood THEN
            BEGIN
                a := nmc.appointment_book(b.id, conv.customer_id, (i #>> ARRAY['offered_slots', (pick - 1)::text])::timestamptz, 'ai',
                                          i ->> 'address', i ->> 'problem');
            EXCEPTION WHEN SQLSTATE 'NM409' OR SQLSTATE 'NM400' THEN
                -- Taken meanwhile: offer fresh slots.
                i := i - 'offered_slots';
                a := NULL;
            END;
            IF a.id IS NOT NULL THEN
                PERFORM nmc.intake_reply(conv, nmc.appointment_confirmation(a.id));
                PERFORM nmc.conversation_close(conv, i || jsonb_build_object('awaiting', 'nothing', 'appointment_id', a.id));
                RETURN;
            END IF;
        END IF;
    ELSIF NOT i ? 'problem' AND last_text IS NOT NULL THEN
        -- The customer's first words are usually the problem itself.
        i := i || jsonb_build_object('problem', left(last_text, 1000));
    END IF;

    IF NOT understood THEN
        IF coalesce((i ->> 'misunderstood')::int, 0) >= 1 THEN
            PERFORM nmc.intake_reply(conv, format('Sorry, I didn''t catch that. I''ll have someone from %s text you shortly.', b.name));
            UPDATE nmc.conversations SET intake = i WHERE id = conv.id RETURNING * INTO conv;
            PERFORM nmc.conversation_handed_over(conv, 'the assistant could not understand the customer twice');
            RETURN;
        END IF;
        i := i || jsonb_build_object('misunderstood', 1);
    ELSE
        i := i - 'misunderstood';
    END IF;

    -- Ask for what is still missing, in order; then offer slots.
    IF NOT i ? 'problem' THEN
        i := i || '{"awaiting":"problem"}';
        PERFORM nmc.intake_reply(conv, 'What can we help you with?');
    ELSIF NOT i ? 'name' THEN
        i := i || '{"awaiting":"name"}';
        PERFORM nmc.intake_reply(conv, CASE WHEN understood THEN 'Thanks! What''s your name?' ELSE 'Sorry, what''s your name?' END);
    ELSIF NOT i ? 'address' THEN
        i := i || '{"awaiting":"address"}';
        PERFORM nmc.intake_reply(conv, CASE WHEN understood THEN format('Thanks, %s. What''s the address for the job (street and number)?', i ->> 'name')
                                            ELSE 'Sorry, I need the street address with the house number, like "12 Elm St".' END);
    ELSIF b.service_postal_codes IS NOT NULL AND NOT i ? 'zip' THEN
        i := i || '{"awaiting":"zip"}';
        PERFORM nmc.intake_reply(conv, CASE WHEN understood THEN 'And the ZIP code?' ELSE 'Sorry, what''s the 5-digit ZIP code?' END);
    ELSIF b.service_postal_codes IS NOT NULL AND NOT (i ->> 'zip') = ANY (b.service_postal_codes) THEN
        -- Outside the service area: say so politely, mark the lead, and stop.
        PERFORM nmc.intake_reply(conv, format('Sorry, %s doesn''t serve %s. We hope you find help quickly!', b.name, i ->> 'zip'));
        conv := nmc.conversation_close(conv, i || '{"awaiting":"nothing","out_of_area":true,"in_area":false}');
        PERFORM nmc.lead_capture(conv, '{}');   -- marks the lead out_of_area
        RETURN;
    ELSE
        IF NOT i ? 'offered_slots' OR NOT understood THEN
            SELECT jsonb_agg(s.starts_at ORDER BY s.starts_at) INTO slots FROM nmc.open_slots(b.id, now() + interval '1 hour', 3) s;
            IF slots IS NULL THEN
                PERFORM nmc.intake_reply(conv, format('Thanks! We have no open times in the next two weeks; someone from %s will text you to find one.', b.name));
                UPDATE nmc.conversations SET intake = i WHERE id = conv.id RETURNING * INTO conv;
                PERFORM nmc.conversation_set_mode(conv, 'human');
                RETURN;
            END IF;
            -- Everything is known and the area check (by ZIP) passed: lead_capture qualifies the lead.
            i := i || jsonb_build_object('offered_slots', slots, 'in_area', true);
        END IF;
        i := i || '{"awaiting":"slot"}';
        PERFORM nmc.intake_reply(conv, (CASE WHEN understood THEN 'I can book you in at: ' ELSE 'Sorry, which time? ' END)
            || (SELECT string_agg(format('%s) %s', n, to_char(t::timestamptz AT TIME ZONE b.timezone, 'Dy Mon FMDD') || ' at '
                                                       || nmc.format_time_of_day((t::timestamptz AT TIME ZONE b.timezone)::time)), ', ' ORDER BY n)
                  FROM jsonb_array_elements_text(i -> 'offered_slots') WITH ORDINALITY AS x(t, n))
            || '. Reply 1, 2 or 3 (or the day and time).');
    END IF;
    UPDATE nmc.conversations SET intake = i WHERE id = conv.id RETURNING * INTO conv;
    -- What it learned lands on the customer and the lead too.
    PERFORM nmc.lead_capture(conv, '{}');
END
$$;
COMMENT ON FUNCTION nmc.intake_turn(uuid) IS 'One turn of the built-in intake engine for a conversation in AI mode: take in the customer''s latest answer, then ask for what is missing or offer slots; book and confirm from the row; hand off to a human after two replies it could not understand. A photo alone is thanked for and the question asked again — never a misunderstanding.';
