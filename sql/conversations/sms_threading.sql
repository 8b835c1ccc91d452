-- sms_threading.sql — inbound texts applied from the webhook inbox
-- (webhook_inbox.sql): one path for any number of them (nmc.sms_apply; a single
-- text is a batch of one), every rule of an inbound text in one copy.
CREATE FUNCTION nmc.sms_media(params jsonb)
RETURNS jsonb
LANGUAGE sql IMMUTABLE
AS $$
    SELECT jsonb_agg(jsonb_build_object('content_type', coalesce(params ->> ('MediaContentType' || n), 'application/octet-stream'),
                                        'url', params ->> ('MediaUrl' || n)) ORDER BY n)
      FROM generate_series(0, least(coalesce(nullif(substring(params ->> 'NumMedia' FROM '^[0-9]{1,2}$'), '')::int, 0), 10) - 1) n
     WHERE params ->> ('MediaUrl' || n) IS NOT NULL
$$;
COMMENT ON FUNCTION nmc.sms_media(jsonb) IS 'The media of an inbound MMS from Twilio''s NumMedia, MediaUrlN and MediaContentTypeN (zero-based; at most 10), or NULL for a plain text.';

CREATE FUNCTION nmc.sms_media_words(media jsonb)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
    SELECT CASE WHEN bool_and(x ->> 'content_type' LIKE 'image/%')
                THEN CASE WHEN count(*) = 1 THEN '(photo)' ELSE '(' || count(*) || ' photos)' END
                ELSE CASE WHEN count(*) = 1 THEN '(attachment)' ELSE '(' || count(*) || ' attachments)' END END
      FROM jsonb_array_elements(media) x
$$;
COMMENT ON FUNCTION nmc.sms_media_words(jsonb) IS 'How a message with media and no words reads: "(photo)", "(3 photos)", "(attachment)".';

CREATE FUNCTION nmc.sms_apply(texts nmc.webhook_inbox[])
RETURNS void
LANGUAGE plpgsql
-- Planned once, not for every batch: the plans (index lookups per text) suit any batch size.
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    senders text[];
    todo nmc.webhook_inbox[];
    callers text[];
    owners boolean[];
    dropped record;
    t nmc.webhook_inbox;
    b nmc.businesses;
    pn nmc.phone_numbers;
    n int;
BEGIN
    -- Each sender's number, normalised once (NULL: not a number we can text back).
    senders := ARRAY(SELECT nmc.phone_or_null((texts[i]).params ->> 'From') FROM generate_subscripts(texts, 1) AS i ORDER BY i);
    -- What will not be threaded, said once each: a sender we cannot text back, a
    -- number the business no longer has.
    FOR dropped IN
        SELECT (texts[i]).webhook_key AS sid, (texts[i]).params ->> 'From' AS sender, senders[i] IS NULL AS no_phone
          FROM generate_subscripts(texts, 1) AS i
         WHERE senders[i] IS NULL
            OR NOT EXISTS (SELECT 1 FROM nmc.phone_numbers p JOIN nmc.businesses bb ON bb.id = p.business_id
                            WHERE p.id = (texts[i]).phone_number_id AND p.business_id = (texts[i]).business_id)
    LOOP
        IF dropped.no_phone THEN
            RAISE LOG 'nevermisscall: text % from % cannot be answered by text', dropped.sid, dropped.sender;
        ELSE
            RAISE LOG 'nevermisscall: text % arrived for a number the business no longer has', dropped.sid;
        END IF;
    END LOOP;
    -- The rest, in arrival order: each MessageSid once (Twilio delivers again),
    -- none threaded before; which are the owner talking (nmc.owner_phones).
    SELECT array_agg(texts[x.i] ORDER BY x.i), array_agg(senders[x.i] ORDER BY x.i), array_agg(senders[x.i] = ANY (nmc.owner_phones(bb)) ORDER BY x.i)
      INTO todo, callers, owners
      FROM (SELECT DISTINCT ON ((texts[i]).webhook_key) i, (texts[i]).business_id
              FROM generate_subscripts(texts, 1) AS i
             WHERE senders[i] IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM nmc.messages m WHERE m.twilio_sid = (texts[i]).webhook_key AND m.business_id = (texts[i]).business_id)
               AND EXISTS (SELECT 1 FROM nmc.phone_numbers p WHERE p.id = (texts[i]).phone_number_id AND p.business_id = (texts[i]).business_id)
             ORDER BY (texts[i]).webhook_key, i) x
      JOIN nmc.businesses bb ON bb.id = x.business_id;
    -- In rounds: the longest run from the start in which each customer writes
    -- once and the owner not at all is threaded together (nmc.sms_thread_round);
    -- an owner's text goes alone, in its place. A customer's second text, and
    -- everything after it, waits for the next round: it must see what the first did
    -- (a STOP, a window opened).
    WHILE coalesce(cardinality(todo), 0) > 0 LOOP
        IF owners[1] THEN
            t := todo[1];
            SELECT * INTO b FROM nmc.businesses WHERE id = t.business_id;
            SELECT * INTO pn FROM nmc.phone_numbers WHERE id = t.phone_number_id;
            PERFORM set_config('nmc.business_id', t.business_id::text, true);
            PERFORM nmc.owner_text_received(t, b, pn, callers[1]);
            PERFORM set_config('nmc.business_id', '', true);
            n := 1;
        ELSE
            n := coalesce((SELECT min(z.i) - 1 FROM (SELECT k.i, owners[k.i] AS owner,
                                                            row_number() OVER (PARTITION BY (todo[k.i]).business_id, callers[k.i] ORDER BY k.i) AS nth
                                                       FROM generate_subscripts(todo, 1) AS k(i)) z
                            WHERE z.owner OR z.nth > 1), cardinality(todo));
            PERFORM nmc.sms_thread_round(todo[1:n], callers[1:n]);
        END IF;
        todo := todo[n + 1:cardinality(todo)];
        callers := callers[n + 1:cardinality(callers)];
        owners := owners[n + 1:cardinality(owners)];
    END LOOP;
END
$$;
COMMENT ON FUNCTION nmc.sms_apply(nmc.webhook_inbox[]) IS 'Threads inbound texts (accepted into nmc.webhook_inbox), in arrival order: the one path for one text or many. Skipped: a MessageSid already threaded or named twice (Twilio delivered it again), a sender that is not a phone number, a number the business no longer has (both logged). A text from one of the owner''s phones is the owner talking (nmc.owner_text_received), applied alone in its place; customers'' texts are threaded together in rounds (nmc.sms_thread_round), each customer once a round, so a customer''s texts take effect in the order they came.';

CREATE FUNCTION nmc.sms_thread_round(texts nmc.webhook_inbox[], callers text[])
RETURNS void
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    cust nmc.customers[];
    conv nmc.conversations[];
    msgs nmc.messages[];
    kw text[];
    danger text[];
BEGIN
    -- Customer (locked) and open conversation (locked, or new: conversation.created).
    cust := nmc.customers_upsert(ARRAY(SELECT x.business_id FROM unnest(texts) WITH ORDINALITY AS x ORDER BY x.ordinality), callers);
    conv := nmc.conversations_open(ARRAY(SELECT x.business_id FROM unnest(texts) WITH ORDINALITY AS x ORDER BY x.ordinality),
                                   ARRAY(SELECT c.id FROM unnest(cust) WITH ORDINALITY AS c ORDER BY c.ordinality),
                                   ARRAY(SELECT x.phone_number_id FROM unnest(texts) WITH ORDINALITY AS x ORDER BY x.ordinality),
                                   array_fill(NULL::uuid, ARRAY[cardinality(texts)]));
    -- The message, dated when the text was accepted, with its photos.
    WITH m AS (
        INSERT INTO nmc.messages (business_id, customer_id, conversation_id, direction, author, from_phone, to_phone, body, status,
                                  twilio_sid, created_at, media)
        SELECT x.business_id, (cust[x.ordinality]).id, (conv[x.ordinality]).id, 'inbound', 'customer', callers[x.ordinality], pn.phone,
               left(CASE WHEN coalesce(x.params ->> 'Body', '') <> '' THEN x.params ->> 'Body'
                         WHEN md.media IS NOT NULL THEN nmc.sms_media_words(md.media) ELSE '(empty message)' END, 1600),
               'received', x.webhook_key, x.received_at, md.media
          FROM unnest(texts) WITH ORDINALITY AS x
          JOIN nmc.phone_numbers pn ON pn.id = x.phone_number_id
          CROSS JOIN LATERAL (SELECT nmc.sms_media(x.params) AS media) md
         ORDER BY x.ordinality
        RETURNING *)
    SELECT array_agg(m::nmc.messages ORDER BY x.ordinality) INTO msgs
      FROM m JOIN unnest(texts) WITH ORDINALITY AS x ON x.webhook_key = m.twilio_sid;
    WITH u AS (
        UPDATE nmc.conversations c SET last_message_at = greatest(c.last_message_at, m.created_at)
          FROM unnest(msgs) m WHERE c.id = m.conversation_id
        RETURNING c.*)
    SELECT array_agg(u::nmc.conversations ORDER BY k.i) INTO conv
      FROM generate_subscripts(conv, 1) AS k(i) JOIN u ON u.id = (conv[k.i]).id;
    PERFORM nmc.emit_events(array_agg((msgs[i]).business_id ORDER BY i), array_agg('message.created'::text ORDER BY i),
                            array_agg(nmc.message_json(msgs[i]) - 'body' ORDER BY i))
       FROM generate_subscripts(msgs, 1) AS i;

    -- What each text asks for: a keyword (STOP, START, HELP), else words of danger
    -- (looked for only where they would count: not opted out, not with a human).
    SELECT array_agg(k.kw ORDER BY k.i),
           array_agg(CASE WHEN k.kw IS NULL AND (cust[k.i]).opted_out_at IS NULL AND (conv[k.i]).mode <> 'human'
                          THEN nmc.emergency_term_in((texts[k.i]).business_id, coalesce((texts[k.i]).params ->> 'Body', '')) END ORDER BY k.i)
      INTO kw, danger
      FROM (SELECT i, nmc.sms_keyword(coalesce((texts[i]).params ->> 'Body', '')) AS kw FROM generate_subscripts(texts, 1) AS i) k;

    -- STOP: opted out; nobody may text them now, so nobody is waited for.
    UPDATE nmc.customers SET opted_out_at = now()
     WHERE id = ANY (ARRAY(SELECT (cust[i]).id FROM generate_subscripts(texts, 1) AS i WHERE kw[i] = 'opt_out'));
    PERFORM nmc.conversation_set_mode(conv[i], 'waiting')
       FROM generate_subscripts(texts, 1) AS i WHERE kw[i] = 'opt_out' AND (conv[i]).mode = 'human_window';
    -- START: back in.
    UPDATE nmc.customers SET opted_out_at = NULL
     WHERE id = ANY (ARRAY(SELECT (cust[i]).id FROM generate_subscripts(texts, 1) AS i WHERE kw[i] = 'opt_in'));
    -- HELP: the business's help text, to a customer we may text.
    PERFORM nmc.sms_send(b.id, (cust[i]).id, pn.phone, coalesce(b.help_text, nmc.default_help_text(b)), 'system', (conv[i]).id)
       FROM generate_subscripts(texts, 1) AS i
       JOIN nmc.businesses b ON b.id = (texts[i]).business_id
       JOIN nmc.phone_numbers pn ON pn.id = (texts[i]).phone_number_id
      WHERE kw[i] = 'help' AND (cust[i]).opted_out_at IS NULL AND (cust[i]).sms_unreachable_at IS NULL;
    -- Danger: safety advice and the owner alerted at once.
    PERFORM nmc.conversation_emergency(conv[i], danger[i])
       FROM generate_subscripts(texts, 1) AS i WHERE kw[i] IS NULL AND danger[i] IS NOT NULL;
    -- The assistant has the conversation: it answers at once.
    PERFORM nmc.ai_respond((conv[i]).id)
       FROM generate_subscripts(texts, 1) AS i WHERE kw[i] IS NULL AND danger[i] IS NULL AND (conv[i]).mode = 'ai';
    -- Anything else: the customer wrote (the human response window).
    PERFORM nmc.conversations_customer_wrote(ARRAY(SELECT conv[i] FROM generate_subscripts(texts, 1) AS i
                                                    WHERE kw[i] IS NULL AND danger[i] IS NULL AND (conv[i]).mode <> 'ai' ORDER BY i));
END
$$;
COMMENT ON FUNCTION nmc.sms_thread_round(nmc.webhook_inbox[], text[]) IS 'Threads inbound texts of distinct customers together (nmc.sms_apply''s rounds; callers: their normalised From numbers, in the same order): customer and open conversation (nmc.customers_upsert, nmc.conversations_open), the message dated at acceptance with its photos (nmc.sms_media: a photo alone reads "(photo)"), message.created; then by what each asks: STOP-words opt the customer out (a counting-down window stops), START-words back in, HELP gets the help text; words of danger get safety advice and alert the owner at once (nmc.conversation_emergency); in AI mode the assistant answers; anything else opens the human response window (nmc.conversations_customer_wrote).';
