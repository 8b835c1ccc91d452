-- intake_engine.sql — the built-in intake engine: when nobody at the business
-- answered within the human window, it carries the conversation to a booked
-- appointment without any outside AI. It reads every text the customer sent
-- since it last looked (intake_parse.sql: name, address, ZIP, problem, time
-- preference — in any order, several in one text), confirms what it learned
-- instead of asking again, asks only for what is still missing (problem,
-- name, street address; the ZIP code when the business limits its service
-- area by postal codes, declining politely outside it), offers open slots
-- that fit the customer's preference and are spread out, books the one
-- picked ("2", "the second one", "10:30 works", "the friday one"; "none of
-- those" brings others), and confirms from the appointment row — all in the
-- customer's language (intake_language.sql). A photo is thanked for, never a
-- misunderstanding; two misunderstood replies in a row hand off to a human, as
-- does asking for a person. Every reply goes through nmc.ai_send_reply, so a
-- takeover silences it at once.

CREATE FUNCTION nmc.intake_reply(conv nmc.conversations, body text)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    b nmc.businesses;
    lang text := coalesce(conv.intake ->> 'lang', 'en');
BEGIN
    SELECT * INTO b FROM nmc.businesses WHERE id = conv.business_id;
    -- The first thing the assistant says discloses that it is automated.
    IF NOT EXISTS (SELECT 1 FROM nmc.messages WHERE conversation_id = conv.id AND author = 'ai') THEN
        body := coalesce(b.ai_disclosure, CASE WHEN lang = 'en' THEN nmc.default_ai_disclosure(b)
                                               ELSE format(nmc.intake_say(lang, 'disclosure'), b.name) END) || ' ' || body;
    END IF;
    PERFORM nmc.ai_send_reply(conv.id, body);
END
$$;
COMMENT ON FUNCTION nmc.intake_reply(nmc.conversations, text) IS 'Sends an assistant reply, from either engine (prefixed with the disclosure the first time, in the conversation''s language unless the business wrote its own), only while the conversation is in AI mode.';

CREATE FUNCTION nmc.intake_offer(b nmc.businesses, pref jsonb, exclude jsonb)
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    p jsonb := coalesce(pref, '{}') - 'asap';
    from_ts timestamptz := now() + interval '1 hour';
    cands timestamptz[];
    picked timestamptz[] := '{}';
    c timestamptz;
    gap interval;
    pass int;
    fit boolean := true;
BEGIN
    IF p ? 'day' THEN
        from_ts := greatest(from_ts, (p ->> 'day')::date::timestamp AT TIME ZONE b.timezone);
    ELSIF p ? 'week_from' THEN
        from_ts := greatest(from_ts, (p ->> 'week_from')::date::timestamp AT TIME ZONE b.timezone);
    END IF;
    -- The free slots (nmc.open_slots: hours, closures, job length, other bookings)
    -- that fit the preference, the one asked for by time first.
    SELECT array_agg(s.starts_at ORDER BY (s.starts_at AT TIME ZONE b.timezone)::date,
                     CASE WHEN p ? 'at' THEN abs(extract(epoch FROM (s.starts_at AT TIME ZONE b.timezone)::time - (p ->> 'at')::time)) END,
                     s.starts_at)
      INTO cands
      FROM nmc.open_slots(b.id, from_ts, 1000) s
     WHERE NOT EXISTS (SELECT 1 FROM jsonb_array_elements_text(coalesce(exclude, '[]')) e WHERE e::timestamptz = s.starts_at)
       AND nmc.intake_slot_fits(s.starts_at, b.timezone, p, false);
    IF cands IS NULL THEN
        -- Nothing fits: the nearest free times from the day they wanted (else from now).
        fit := p = '{}';
        SELECT array_agg(s.starts_at ORDER BY s.starts_at) INTO cands
          FROM nmc.open_slots(b.id, from_ts, 200) s
         WHERE NOT EXISTS (SELECT 1 FROM jsonb_array_elements_text(coalesce(exclude, '[]')) e WHERE e::timestamptz = s.starts_at);
        IF cands IS NULL AND from_ts > now() + interval '1 hour' THEN
            SELECT array_agg(s.starts_at ORDER BY s.starts_at) INTO cands
              FROM nmc.open_slots(b.id, now() + interval '1 hour', 200) s
             WHERE NOT EXISTS (SELECT 1 FROM jsonb_array_elements_text(coalesce(exclude, '[]')) e WHERE e::timestamptz = s.starts_at);
        END IF;
    END IF;
    -- Three starts spread out: hours apart when the window allows, never back to back if avoidable.
    -- (In the first pass at most two a day, so that the day is a choice too.)
    FOR pass IN 1 .. 5 LOOP
        gap := (ARRAY[interval '3 hours', interval '3 hours', interval '90 minutes', interval '1 hour', interval '30 minutes'])[pass];
        FOREACH c IN ARRAY coalesce(cands, '{}') LOOP
            EXIT WHEN cardinality(picked) >= 3;
            CONTINUE WHEN EXISTS (SELECT 1 FROM unnest(picked) x WHERE abs(extract(epoch FROM c - x)) < extract(epoch FROM gap));
            CONTINUE WHEN pass = 1 AND (SELECT count(*) FROM unnest(picked) x
                                         WHERE (x AT TIME ZONE b.timezone)::date = (c AT TIME ZONE b.timezone)::date) >= 2;
            -- Distinct clock times while possible, so that "12:00 works" picks one.
            CONTINUE WHEN pass <= 2 AND EXISTS (SELECT 1 FROM unnest(picked) x
                                                 WHERE (x AT TIME ZONE b.timezone)::time = (c AT TIME ZONE b.timezone)::time);
            picked := picked || c;
        END LOOP;
    END LOOP;
    RETURN jsonb_build_object('slots', (SELECT jsonb_agg(x ORDER BY x) FROM unnest(picked) x), 'fit', fit);
END
$$;
COMMENT ON FUNCTION nmc.intake_offer(nmc.businesses, jsonb, jsonb) IS 'Up to three open slots to offer: from nmc.open_slots (the one rule for free times), not already offered (exclude), fitting the customer''s time preference (nmc.intake_slot_fits; the asked-for time first), spread out (three hours apart, at most two a day and at different clock times when possible, narrowing only as needed). {slots, fit}: fit false when nothing matched the preference and the nearest times are offered instead.';

CREATE FUNCTION nmc.intake_slot_list(b nmc.businesses, slots jsonb, lang text)
RETURNS text
LANGUAGE sql STABLE
AS $$
    SELECT string_agg(format('%s) %s', n, nmc.time_words(t::timestamptz, b.timezone, lang, false)), ', ' ORDER BY n)
      FROM jsonb_array_elements_text(slots) WITH ORDINALITY AS x(t, n)
$$;
COMMENT ON FUNCTION nmc.intake_slot_list(nmc.businesses, jsonb, text) IS 'Offered slots as the customer reads them: "1) Fri Dec 5 at 9:00 AM, 2) …", in their language.';

CREATE FUNCTION nmc.intake_turn(p_conversation_id uuid)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    conv nmc.conversations := nmc.conversation_for_update(p_conversation_id);
    b nmc.businesses;
    i jsonb;
    asked text;
    lang text;
    msg nmc.messages;
    texts text[] := '{}';
    t text;
    photos int := 0;
    read_any boolean := false;
    intent text;
    addr jsonb;
    v text;
    pref jsonb;
    pick int;
    a nmc.appointments;
    offer jsonb;
    offer_kind text;
    said text[] := '{}';
    learned boolean := false;
    understood boolean;
    ask text;
BEGIN
    IF conv.mode <> 'ai' THEN
        RETURN;
    END IF;
    SELECT * INTO b FROM nmc.businesses WHERE id = conv.business_id;
    i := conv.intake;
    asked := i ->> 'awaiting';

    -- Every text the customer sent since the assistant last read (several may
    -- have come during the human window); photos are counted, not read.
    FOR msg IN SELECT * FROM nmc.messages m
                WHERE m.conversation_id = conv.id AND m.direction = 'inbound'
                  AND (NOT i ? 'read_at' OR (m.created_at, m.id) > ((i ->> 'read_at')::timestamptz, (i ->> 'read_id')::uuid))
                ORDER BY m.created_at, m.id LOOP
        read_any := true;
        photos := photos + coalesce(jsonb_array_length(msg.media), 0);
        IF NOT (msg.media IS NOT NULL AND msg.body = nmc.sms_media_words(msg.media)) AND msg.body <> '(empty message)' THEN
            texts := texts || msg.body;
        END IF;
        i := i || jsonb_build_object('read_at', msg.created_at, 'read_id', msg.id);
    END LOOP;
    IF photos > 0 THEN
        i := i || jsonb_build_object('photos', coalesce((i ->> 'photos')::int, 0) + photos);
    END IF;
    t := nullif(btrim(array_to_string(texts, E'\n')), '');
    -- The customer's language, from everything they wrote.
    lang := coalesce(nmc.intake_language(ARRAY(SELECT m.body FROM nmc.messages m WHERE m.conversation_id = conv.id AND m.direction = 'inbound'
                                                 AND NOT (m.media IS NOT NULL AND m.body = nmc.sms_media_words(m.media)))),
                     i ->> 'lang', 'en');
    i := i || jsonb_build_object('lang', lang);

    IF t IS NOT NULL THEN
        intent := nmc.intake_intent(t);
        addr := nmc.intake_find_address(t, asked IN ('address', 'zip'));
        -- Asked by name: a person, or they are not a customer after all.
        IF intent = 'human' THEN
            conv.intake := i;
            PERFORM nmc.intake_reply(conv, format(nmc.intake_say(lang, 'human'), b.name));
            UPDATE nmc.conversations SET intake = i WHERE id = conv.id RETURNING * INTO conv;
            PERFORM nmc.conversation_handed_over(conv, 'the customer asked for a person');
            RETURN;
        ELSIF intent = 'wrong_number' AND NOT i ? 'problem' OR intent = 'decline' AND addr IS NULL THEN
            conv.intake := i;
            PERFORM nmc.intake_reply(conv, nmc.intake_say(lang, 'goodbye'));
            PERFORM nmc.conversation_close(conv, i || jsonb_build_object('awaiting', 'nothing', 'ended', intent));
            RETURN;
        END IF;

        -- The details, wherever they are in the text.
        IF addr ? 'address' AND (NOT i ? 'address' OR addr ->> 'street' IS DISTINCT FROM i ->> 'street') THEN
            i := i || jsonb_build_object('address', addr ->> 'address', 'street', addr ->> 'street');
            said := said || format(nmc.intake_say(lang, 'got_address'), addr ->> 'address');
            learned := true;
            IF addr ? 'zip' THEN
                i := i || jsonb_build_object('zip', addr ->> 'zip');
            END IF;
        ELSIF addr ? 'zip' AND i ? 'address' AND (NOT i ? 'zip' OR asked = 'zip') AND NOT addr ? 'address' THEN
            i := i || jsonb_build_object('zip', addr ->> 'zip', 'address',
                                         (i ->> 'address') || CASE WHEN i ->> 'address' ~ '\m[A-Z]{2}$' THEN ' ' ELSE ', ' END || (addr ->> 'zip'));
            said := said || format(nmc.intake_say(lang, 'got_address'), i ->> 'address');
            learned := true;
        ELSIF addr ? 'zip' AND NOT i ? 'address' AND NOT i ? 'zip' THEN
            i := i || jsonb_build_object('zip', addr ->> 'zip');
            learned := true;
        END IF;
        -- A bare name counts when asked for, when the text carries other details
        -- ("Mike Johnson, 1234 Elm St, toilet running"), or when it is the whole text.
        v := nmc.intake_find_name(CASE WHEN addr ? 'span' THEN replace(t, addr ->> 'span', ',') ELSE t END,
                                  asked = 'name' OR (NOT i ? 'name' AND (addr IS NOT NULL OR nmc.intake_problem_word(t))));
        IF v IS NULL AND NOT i ? 'name' AND addr IS NULL THEN
            v := nmc.intake_name_words(btrim(t, E' \t\r\n.!'), true);
        END IF;
        IF v IS NULL AND asked = 'address' AND addr IS NULL AND i ->> 'name' !~ '\s' AND nmc.intake_name_words(t, true) ~ '^\S+$' THEN
            -- "Derek", then "Chan": the surname of the name just given.
            v := (i ->> 'name') || ' ' || nmc.intake_name_words(t, true);
            i := i - 'name';
        END IF;
        IF v IS NOT NULL AND (NOT i ? 'name' OR asked = 'name') THEN
            i := i || jsonb_build_object('name', v);
            said := format(nmc.intake_say(lang, 'thanks_name'), v) || said;
            learned := true;
        END IF;
        IF NOT i ? 'problem' THEN
            v := nmc.intake_find_problem(t, v, addr ->> 'span', asked = 'problem');
            IF v IS NOT NULL THEN
                i := i || jsonb_build_object('problem', v);
                learned := true;
            END IF;
        END IF;
        pref := nmc.intake_find_when(t, b.timezone);
        IF pref IS NOT NULL THEN
            i := i || jsonb_build_object('pref', coalesce(i -> 'pref', '{}') || pref);
        END IF;

        -- Choosing among the offered times.
        IF asked = 'slot' AND i ? 'offered_slots' THEN
            -- By time ("10:30 works", "the friday one"), else by place ("2") unless the
            -- text states a new preference ("any time after 3").
            pick := nmc.intake_slot_by_time(t, i -> 'offered_slots', b.timezone);
            IF pick IS NULL AND (pref IS NULL OR pref - 'asap' = '{}') THEN
                pick := nmc.intake_slot_choice(t, jsonb_array_length(i -> 'offered_slots'));
            END IF;
            IF pick IS NULL AND pref ? 'day' AND pref ? 'at' THEN
                -- A time not offered but free ("tomorrow 9am"): that one.
                SELECT jsonb_build_array(s.starts_at) INTO offer FROM nmc.open_slots(b.id, now() + interval '1 hour', 1000) s
                 WHERE s.starts_at = ((pref ->> 'day')::date + (pref ->> 'at')::time) AT TIME ZONE b.timezone;
                IF offer IS NOT NULL THEN
                    i := i || jsonb_build_object('offered_slots', offer);
                    pick := 1;
                END IF;
            END IF;
            IF pick IS NOT NULL AND intent IS DISTINCT FROM 'others' THEN
                BEGIN
                    a := nmc.appointment_book(b.id, conv.customer_id, (i #>> ARRAY['offered_slots', (pick - 1)::text])::timestamptz, 'ai',
                                              i ->> 'address', i ->> 'problem');
                EXCEPTION WHEN SQLSTATE 'NM409' OR SQLSTATE 'NM400' THEN
                    -- Taken meanwhile: offer fresh slots.
                    a := NULL;
                    offer_kind := 'offer_others';
                END;
                IF a.id IS NOT NULL THEN
                    conv.intake := i;
                    PERFORM nmc.intake_reply(conv, nmc.appointment_confirmation(a.id, lang));
                    PERFORM nmc.conversation_close(conv, i || jsonb_build_object('awaiting', 'nothing', 'appointment_id', a.id));
                    RETURN;
                END IF;
            ELSIF intent = 'others' THEN
                offer_kind := 'offer_others';
            ELSIF pref IS NOT NULL THEN
                offer_kind := 'offer';
            END IF;
        END IF;
    END IF;

    understood := learned OR offer_kind IS NOT NULL OR pref IS NOT NULL OR coalesce(intent IN ('greeting', 'price', 'others', 'wrong_number'), false)
                  OR photos > 0 OR NOT read_any;
    IF NOT understood THEN
        IF coalesce((i ->> 'misunderstood')::int, 0) >= 1 THEN
            conv.intake := i;
            PERFORM nmc.intake_reply(conv, format(nmc.intake_say(lang, 'handoff'), b.name));
            UPDATE nmc.conversations SET intake = i WHERE id = conv.id RETURNING * INTO conv;
            PERFORM nmc.conversation_handed_over(conv, 'the assistant could not understand the customer twice');
            RETURN;
        END IF;
        i := i || jsonb_build_object('misunderstood', 1);
    ELSIF learned OR offer_kind IS NOT NULL OR pref IS NOT NULL OR coalesce(intent IN ('greeting', 'price', 'others'), false) THEN
        -- A photo alone neither counts against the customer nor clears the count.
        i := i - 'misunderstood';
    END IF;
    IF photos > 0 THEN
        said := nmc.intake_say(lang, 'photo') || said;
    END IF;
    IF intent = 'price' THEN
        said := said || nmc.intake_say(lang, 'price');
    END IF;
    IF learned AND cardinality(said) = 0 THEN
        said := ARRAY[nmc.intake_say(lang, 'thanks')];
    END IF;

    -- Ask for what is still missing, in order; then the area; then slots.
    IF NOT i ? 'problem' THEN
        ask := 'problem';
    ELSIF NOT i ? 'name' THEN
        ask := 'name';
    ELSIF NOT i ? 'address' THEN
        ask := 'address';
    ELSIF b.service_postal_codes IS NOT NULL AND NOT i ? 'zip' THEN
        ask := 'zip';
    END IF;
    IF ask IS NOT NULL THEN
        i := i || jsonb_build_object('awaiting', ask);
        said := said || nmc.intake_say(lang, CASE WHEN understood OR asked IS DISTINCT FROM ask THEN 'ask_' ELSE 'again_' END || ask);
    ELSIF b.service_postal_codes IS NOT NULL AND NOT (i ->> 'zip') = ANY (b.service_postal_codes) THEN
        -- Outside the service area: say so politely, mark the lead, and stop.
        conv.intake := i;
        PERFORM nmc.intake_reply(conv, array_to_string(said || format(nmc.intake_say(lang, 'out_of_area'), b.name, i ->> 'zip'), ' '));
        conv := nmc.conversation_close(conv, i || '{"awaiting":"nothing","out_of_area":true,"in_area":false}');
        PERFORM nmc.lead_capture(conv, '{}');   -- marks the lead out_of_area
        RETURN;
    ELSE
        IF NOT i ? 'offered_slots' OR offer_kind IS NOT NULL THEN
            IF offer_kind = 'offer_others' THEN
                i := i || jsonb_build_object('all_offered', coalesce(i -> 'all_offered', '[]') || coalesce(i -> 'offered_slots', '[]'));
            END IF;
            offer := nmc.intake_offer(b, i -> 'pref', CASE WHEN offer_kind = 'offer_others' THEN i -> 'all_offered' END);
            IF offer -> 'slots' = 'null' OR offer ->> 'slots' IS NULL THEN
                conv.intake := i;
                PERFORM nmc.intake_reply(conv, array_to_string(said || format(nmc.intake_say(lang, 'no_slots'), b.name), ' '));
                UPDATE nmc.conversations SET intake = i WHERE id = conv.id RETURNING * INTO conv;
                PERFORM nmc.conversation_set_mode(conv, 'human');
                RETURN;
            END IF;
            -- Everything is known and the area check (by ZIP) passed: lead_capture qualifies the lead.
            i := i || jsonb_build_object('offered_slots', offer -> 'slots', 'in_area', true);
            IF offer_kind IS NULL OR NOT (offer ->> 'fit')::boolean THEN
                offer_kind := CASE WHEN (offer ->> 'fit')::boolean THEN 'offer' ELSE 'offer_nearest' END;
            END IF;
        END IF;
        i := i || '{"awaiting":"slot"}';
        IF NOT understood THEN
            said := said || nmc.intake_say(lang, 'again_slot');
        END IF;
        said := said || format(nmc.intake_say(lang, coalesce(offer_kind, 'offer')), nmc.intake_slot_list(b, i -> 'offered_slots', lang));
    END IF;
    conv.intake := i;
    PERFORM nmc.intake_reply(conv, array_to_string(said, ' '));
    UPDATE nmc.conversations SET intake = i WHERE id = conv.id RETURNING * INTO conv;
    -- What it learned lands on the customer and the lead too.
    PERFORM nmc.lead_capture(conv, '{}');
END
$$;
COMMENT ON FUNCTION nmc.intake_turn(uuid) IS 'One turn of the built-in intake engine for a conversation in AI mode: read every customer text since the last turn (name, address, ZIP, problem, time preference in any order; a person asked for hands off, a wrong number or "no thanks" closes politely), confirm what it learned, ask only for what is missing, check the area by ZIP, offer slots fitting the preference, book the one picked and confirm from the row — in the customer''s language. A photo is thanked for, never a misunderstanding; two misunderstood replies in a row hand off to a human.';
