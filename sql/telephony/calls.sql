-- calls.sql — Twilio's voice webhooks and the missed-call decision. Each
-- webhook is accepted into the webhook inbox and answered at once: an incoming
-- call is forwarded to the owner while open (TwiML <Dial>) or counts as missed
-- at once while closed. The inbox worker then applies it: a missed call
-- becomes, in one transaction, a customer, a lead, an open conversation, the
-- greeting text and its job, and events. Every decision is recorded on the call.
CREATE FUNCTION nmc.call_statuses()
RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT ARRAY['ringing', 'forwarded', 'answered', 'missed'] $$;
COMMENT ON FUNCTION nmc.call_statuses() IS 'A call''s statuses, the one list (the domain nmc.call_status checks it, GET /api/meta serves it): ringing or forwarded when recorded, then answered or missed for good.';
CREATE DOMAIN nmc.call_status AS text CHECK (VALUE = ANY (nmc.call_statuses()));
COMMENT ON DOMAIN nmc.call_status IS 'A status of nmc.call_statuses(); moved only where nmc.call_transition_allowed says.';

CREATE FUNCTION nmc.call_transition_allowed(p_from text, p_to text)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT p_from IN ('ringing', 'forwarded') AND p_to IN ('answered', 'missed') $$;
COMMENT ON FUNCTION nmc.call_transition_allowed(text, text) IS 'A call''s allowed moves, the one place: from ringing or forwarded to answered or missed, once (a call is recorded ringing or forwarded by nmc.calls_apply). The set-based paths (nmc.calls_apply, nmc.calls_missed) check it in their UPDATE.';

CREATE TABLE nmc.calls (
    id               uuid NOT NULL DEFAULT gen_random_uuid(),
    business_id      uuid NOT NULL REFERENCES nmc.businesses (id) ON DELETE CASCADE,
    phone_number_id  uuid NOT NULL,
    twilio_call_sid  text NOT NULL CHECK (twilio_call_sid ~ '^CA[0-9a-zA-Z]{32}$'),
    from_raw         text NOT NULL,
    to_phone         text NOT NULL,
    customer_id      uuid,
    status           nmc.call_status NOT NULL,
    missed_reason    text CHECK (missed_reason IN ('no-answer', 'busy', 'failed', 'canceled', 'not-bridged', 'after_hours', 'no_forward_phone', 'outage',
                                                   'owner_phone')),
    dial_call_status text,
    call_status      text,
    duration_seconds int,
    decision         text CHECK (decision IN ('texted', 'suppressed_repeat', 'suppressed_opted_out', 'suppressed_blocked',
                                              'suppressed_short_ring', 'suppressed_unreachable', 'suppressed_anonymous', 'not_missed',
                                              'suppressed_owner')),
    decision_reason  text,
    lead_id          uuid,
    conversation_id  uuid,
    message_id       uuid,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    missed_at        timestamptz,
    PRIMARY KEY (business_id, id),
    CONSTRAINT calls_twilio_call_sid_key UNIQUE (twilio_call_sid, business_id),
    FOREIGN KEY (business_id, phone_number_id) REFERENCES nmc.phone_numbers (business_id, id) ON DELETE CASCADE
);
COMMENT ON TABLE nmc.calls IS 'Every call to a business number, keyed by Twilio''s CallSid. decision says whether a missed call was texted and, if not, why (decision_reason in words).';
CREATE INDEX calls_recent ON nmc.calls (business_id, created_at DESC);
CREATE INDEX calls_id ON nmc.calls (id);
CREATE TRIGGER calls_touch BEFORE UPDATE ON nmc.calls FOR EACH ROW EXECUTE FUNCTION nmc.touch_updated_at();
ALTER TABLE nmc.calls ENABLE ROW LEVEL SECURITY;
ALTER TABLE nmc.calls FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON nmc.calls
    USING (business_id = nmc.current_business_id())
    WITH CHECK (business_id = nmc.current_business_id());

CREATE FUNCTION nmc.call_json(c nmc.calls)
RETURNS jsonb
-- PL/pgSQL: the voicemail comes from sql/telephony/voicemail.sql, later in the install.
LANGUAGE plpgsql STABLE
AS $$ BEGIN RETURN jsonb_build_object('id', c.id, 'from', c.from_raw, 'to', c.to_phone, 'status', c.status, 'missed_reason', c.missed_reason,
                                'decision', c.decision, 'decision_reason', c.decision_reason, 'customer_id', c.customer_id,
                                'lead_id', c.lead_id, 'conversation_id', c.conversation_id, 'message_id', c.message_id,
                                'duration_seconds', c.duration_seconds, 'created_at', c.created_at, 'missed_at', c.missed_at,
                                'text', (SELECT jsonb_build_object('status', m.status, 'error_code', m.error_code, 'error_message', m.error_message)
                                           FROM nmc.messages m WHERE m.id = c.message_id),
                                'voicemail', nmc.call_voicemail_json(c.id)); END $$;
COMMENT ON FUNCTION nmc.call_json(nmc.calls) IS 'The API and event representation of a call, with its text decision and, when texted, where that text is now (text: status pending/queued/sent/delivered/undelivered/failed/dropped, with the provider''s code and the reason), and the voicemail left, if any (nmc.voicemail_json).';

CREATE FUNCTION nmc.webhook_field(req jsonb, name text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    IF coalesce(req #>> ARRAY['body', name], '') = '' THEN
        PERFORM nmc.raise_api_error(400, 'missing_field', name || ' is required', name);
    END IF;
    RETURN req #>> ARRAY['body', name];
END
$$;
COMMENT ON FUNCTION nmc.webhook_field(jsonb, text) IS 'A required parameter of a Twilio webhook; NM400 missing_field if absent.';

-- What the caller hears, decided when the webhook is accepted (the caller is
-- listening: it never waits for the call to be applied).
CREATE FUNCTION nmc.call_answer_twiml(b nmc.businesses, pn nmc.phone_numbers, answer text)
RETURNS nmc.http_response
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    words text;
BEGIN
    IF answer = 'forward' AND b.forward_to_phone IS NOT NULL THEN
        RETURN nmc.twiml_dial(b.forward_to_phone, b.ring_timeout_seconds,
                              nmc.twilio_webhook_url(nmc.settings_json(), '/webhooks/twilio/voice/dial'));
    ELSIF answer IN ('after_hours', 'no_forward_phone', 'missed') THEN
        words := CASE WHEN answer = 'missed' THEN format('Sorry we couldn''t take your call. %s will text you right away.', b.name)
                      ELSE coalesce(b.after_hours_message, nmc.default_after_hours_message(b)) END;
        IF NOT b.voicemail_enabled THEN
            RETURN nmc.twiml_say_and_hang_up(words);
        END IF;
        RETURN nmc.twiml_say_and_record(words || ' ' || 'You can also leave a message after the beep.', nmc.setting_int('voicemail_max_seconds')::int,
                                        nmc.twilio_webhook_url(nmc.settings_json(), '/webhooks/twilio/voice/recorded'),
                                        nmc.voicemail_recording_url(pn));
    ELSIF answer = 'owner_phone' THEN
        RETURN nmc.twiml_say_and_hang_up('This is your NeverMissCall number. Calls from your own phone are not forwarded or texted back: call from another phone to try it.');
    END IF;
    RETURN nmc.twiml('<Hangup/>');
END
$$;
COMMENT ON FUNCTION nmc.call_answer_twiml(nmc.businesses, nmc.phone_numbers, text) IS 'The TwiML for a call to pn: forward (<Dial> to the owner with the ring timeout and our action URL), after_hours or no_forward_phone (the after-hours message), missed (a text is coming) — these two then record a voicemail if the business takes them (voicemail_enabled; sql/telephony/voicemail.sql) —, owner_phone (the owner called their own number from the forward-to phone: told so, not forwarded to itself), anything else hang up.';

CREATE FUNCTION nmc.calls_missed(cs nmc.calls[], p_reasons text[], ats timestamptz[])
RETURNS nmc.calls[]
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    n int := coalesce(cardinality(cs), 0);
    callers text[];
    decisions text[];
    whys text[];
    want int[];           -- the calls that get a customer and a lead
    custs nmc.customers[];
    leads nmc.leads[];
    tx int[];             -- the calls texted
    convs nmc.conversations[];
    msgs nmc.messages[];
    cust_of uuid[];
    lead_of uuid[];
    conv_of uuid[];
    msg_of uuid[];
    r record;
    prev_customer uuid;
    greeted timestamptz;
    done nmc.calls[];
BEGIN
    IF n = 0 THEN
        RETURN cs;
    END IF;
    -- Who called: a number we can text, or not (anonymous, withheld); one of the
    -- owner's own phones gets no customer and no lead.
    SELECT array_agg(x.caller ORDER BY x.k),
           array_agg(CASE WHEN x.caller IS NULL THEN 'suppressed_anonymous'
                          WHEN x.caller = ANY (nmc.owner_phones(b)) THEN 'suppressed_owner' END ORDER BY x.k),
           array_agg(CASE WHEN x.caller IS NULL THEN format('the caller''s number (%s) cannot receive a text', (cs[x.k]).from_raw)
                          WHEN x.caller = ANY (nmc.owner_phones(b)) THEN 'the call came from the owner''s own phone' END ORDER BY x.k)
      INTO callers, decisions, whys
      FROM (SELECT k, nmc.phone_or_null((cs[k]).from_raw) AS caller FROM generate_subscripts(cs, 1) AS k OFFSET 0) x  -- once per call
      JOIN nmc.businesses b ON b.id = (cs[x.k]).business_id;
    SELECT array_agg(k ORDER BY k) INTO want FROM generate_subscripts(cs, 1) AS k WHERE decisions[k] IS NULL;
    cust_of := array_fill(NULL::uuid, ARRAY[n]);
    lead_of := cust_of;
    conv_of := cust_of;
    msg_of := cust_of;
    IF want IS NOT NULL THEN
        custs := nmc.customers_upsert(ARRAY(SELECT (cs[w.k]).business_id FROM unnest(want) WITH ORDINALITY AS w(k, o) ORDER BY w.o),
                                      ARRAY(SELECT callers[w.k] FROM unnest(want) WITH ORDINALITY AS w(k, o) ORDER BY w.o));
        leads := nmc.leads_for_calls(ARRAY(SELECT (cs[w.k]).business_id FROM unnest(want) WITH ORDINALITY AS w(k, o) ORDER BY w.o),
                                     ARRAY(SELECT (custs[o]).id FROM generate_subscripts(custs, 1) AS o ORDER BY o));
        -- The decision, each customer's calls in the order they came: a call
        -- texted moves the customer's last greeting for the calls after it.
        FOR r IN
            SELECT w.k, cu.id AS customer_id, cu.opted_out_at, cu.sms_unreachable_at, cu.sms_unreachable_reason, cu.last_greeting_at,
                   (leads[w.o]).id AS lead_id, b.min_ring_seconds, b.repeat_window_seconds,
                   EXISTS (SELECT 1 FROM nmc.blocked_numbers bl WHERE bl.business_id = cu.business_id AND bl.phone = cu.phone) AS blocked,
                   (cs[w.k]).created_at AS rang_at, p_reasons[w.k] AS reason, ats[w.k] AS at
              FROM unnest(want) WITH ORDINALITY AS w(k, o)
              JOIN unnest(custs) WITH ORDINALITY AS cu ON cu.ordinality = w.o
              JOIN nmc.businesses b ON b.id = cu.business_id
             ORDER BY cu.id, w.o
        LOOP
            IF r.customer_id IS DISTINCT FROM prev_customer THEN
                prev_customer := r.customer_id;
                greeted := r.last_greeting_at;
            END IF;
            cust_of[r.k] := r.customer_id;
            lead_of[r.k] := r.lead_id;
            IF r.blocked THEN
                decisions[r.k] := 'suppressed_blocked';
                whys[r.k] := 'the number is on the block list';
            ELSIF r.opted_out_at IS NOT NULL THEN
                decisions[r.k] := 'suppressed_opted_out';
                whys[r.k] := 'the customer replied STOP';
            ELSIF r.sms_unreachable_at IS NOT NULL THEN
                decisions[r.k] := 'suppressed_unreachable';
                whys[r.k] := 'the number cannot receive texts: ' || coalesce(r.sms_unreachable_reason, 'unknown');
            ELSIF r.reason NOT IN ('after_hours', 'no_forward_phone', 'outage')
                  AND r.at - r.rang_at < make_interval(secs => r.min_ring_seconds) THEN
                decisions[r.k] := 'suppressed_short_ring';
                whys[r.k] := format('the caller hung up after %s s, before the minimum ring time of %s s',
                                    round(extract(epoch FROM r.at - r.rang_at)), r.min_ring_seconds);
            ELSIF greeted > r.at - make_interval(secs => r.repeat_window_seconds) THEN
                decisions[r.k] := 'suppressed_repeat';
                whys[r.k] := format('this number got a greeting %s s ago (repeat window %s s)',
                                    round(extract(epoch FROM r.at - greeted)), r.repeat_window_seconds);
            ELSE
                decisions[r.k] := 'texted';
                whys[r.k] := 'missed call: greeting sent';
                greeted := greatest(r.at, greeted);
            END IF;
        END LOOP;
    END IF;

    SELECT array_agg(k ORDER BY k) INTO tx FROM generate_subscripts(cs, 1) AS k WHERE decisions[k] = 'texted';
    IF tx IS NOT NULL THEN
        -- An open conversation and the greeting (rendered once per business number).
        convs := nmc.conversations_open(ARRAY(SELECT (cs[t.k]).business_id FROM unnest(tx) WITH ORDINALITY AS t(k, o) ORDER BY t.o),
                                        ARRAY(SELECT cust_of[t.k] FROM unnest(tx) WITH ORDINALITY AS t(k, o) ORDER BY t.o),
                                        ARRAY(SELECT (cs[t.k]).phone_number_id FROM unnest(tx) WITH ORDINALITY AS t(k, o) ORDER BY t.o),
                                        ARRAY(SELECT lead_of[t.k] FROM unnest(tx) WITH ORDINALITY AS t(k, o) ORDER BY t.o));
        WITH numbers AS MATERIALIZED (  -- each greeting rendered once
            SELECT g.business_id, g.phone_number_id, g.phone, nmc.greeting_render(g.business_id, nmc.greeting_template_of(g.business_id), g.phone) AS body
              FROM (SELECT DISTINCT pn.business_id, pn.id AS phone_number_id, pn.phone
                      FROM unnest(tx) AS t(k) JOIN nmc.phone_numbers pn ON pn.id = (cs[t.k]).phone_number_id) g
        ), texts AS (
            SELECT t.o, (cs[t.k]).business_id AS b, cust_of[t.k] AS c, nu.phone, nu.body, (convs[t.o]).id AS conv
              FROM unnest(tx) WITH ORDINALITY AS t(k, o) JOIN numbers nu ON nu.phone_number_id = (cs[t.k]).phone_number_id
        )
        SELECT nmc.sms_send_many(array_agg(x.b ORDER BY x.o), array_agg(x.c ORDER BY x.o), array_agg(x.phone ORDER BY x.o),
                                 array_agg(x.body ORDER BY x.o), 'system', array_agg(x.conv ORDER BY x.o))
          INTO msgs FROM texts x;
        FOR o IN 1 .. cardinality(tx) LOOP
            conv_of[tx[o]] := (convs[o]).id;
            msg_of[tx[o]] := (msgs[o]).id;
        END LOOP;
        UPDATE nmc.customers cu SET last_greeting_at = greatest(g.at, cu.last_greeting_at)
          FROM (SELECT cust_of[t.k] AS id, max(ats[t.k]) AS at FROM unnest(tx) AS t(k) GROUP BY 1) g
         WHERE cu.id = g.id;
    END IF;

    -- Every decision recorded on its call, and call.missed for each, in order.
    WITH u AS (
        UPDATE nmc.calls c SET status = 'missed', missed_reason = p_reasons[x.k], missed_at = ats[x.k], decision = decisions[x.k],
               decision_reason = whys[x.k], customer_id = cust_of[x.k], lead_id = lead_of[x.k], conversation_id = conv_of[x.k],
               message_id = msg_of[x.k]
          FROM generate_subscripts(cs, 1) AS x(k)
         -- By id = ANY as well: a plan made on a small calls table otherwise read every call.
         WHERE c.id = ANY (ARRAY(SELECT (cs[i]).id FROM generate_subscripts(cs, 1) AS i)) AND c.id = (cs[x.k]).id
           AND nmc.call_transition_allowed(c.status, 'missed')
        RETURNING c AS row, x.k)
    SELECT array_agg(u.row ORDER BY u.k) INTO done FROM u;
    PERFORM nmc.emit_events(array_agg((done[k]).business_id ORDER BY k), array_agg('call.missed'::text ORDER BY k),
                            array_agg(nmc.call_json(done[k]) || jsonb_build_object('customer', nmc.customer_brief((done[k]).customer_id)) ORDER BY k))
       FROM generate_subscripts(done, 1) AS k;
    RETURN done;
END
$$;
COMMENT ON FUNCTION nmc.calls_missed(nmc.calls[], text[], timestamptz[]) IS
    'Calls missed (element k of each array: the call, why it was missed, the moment at — when its webhook was accepted), in the caller''s transaction, decided as if one after the other in this order: customer, lead (new, or the active one touched) and the text decision — anonymous (a number that cannot be texted), one of the owner''s own phones (no customer, no lead), blocked, opted out, unreachable, hung up before min_ring_seconds, greeted within repeat_window_seconds (by an earlier call of the same run too), or texted (open conversation, rendered greeting, twilio.sms.send job, last_greeting_at). Recorded on each call (decision, decision_reason); emits lead.updated, conversation.created, message.created and call.missed — each kind for the whole run, in call order. The one place a missed call is decided: one call is a run of one. Returns the calls as recorded, in order.';

CREATE FUNCTION nmc.webhook_voice(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $$
DECLARE
    sid text := nmc.webhook_field(req, 'CallSid');
    pn nmc.phone_numbers := nmc.webhook_tenant(nmc.webhook_field(req, 'To'));
    b nmc.businesses;
    c nmc.calls;
    answer text;
BEGIN
    IF pn.id IS NULL THEN
        RAISE LOG 'nevermisscall: call % to %, which is not one of our numbers', sid, req #>> '{body,To}';
        RETURN nmc.twiml_say_and_hang_up('Sorry, this number is not in service.');
    END IF;
    SELECT * INTO b FROM nmc.businesses WHERE id = pn.business_id;
    -- Kept by the edge while the database was down: the caller was told a
    -- text is coming (nmc_api.webhook_fallbacks), so the call is missed.
    answer := CASE WHEN req #>> '{body,nmc_spooled_at}' IS NOT NULL THEN 'outage'
                   WHEN b.forward_to_phone IS NULL THEN 'no_forward_phone'
                   WHEN nmc.phone_or_null(req #>> '{body,From}') = b.forward_to_phone THEN 'owner_phone'
                   WHEN NOT nmc.business_is_open(b.id) THEN 'after_hours'
                   ELSE 'forward' END;
    answer := nmc.webhook_inbox_put('voice', sid, pn, (req -> 'body') || jsonb_build_object('nmc_answer', answer)) ->> 'nmc_answer';
    IF answer IS NULL THEN
        -- Twilio retried after the call was applied: the answer it got then.
        SELECT * INTO c FROM nmc.calls WHERE twilio_call_sid = sid;
        answer := CASE WHEN c.status = 'missed' AND c.missed_reason IN ('after_hours', 'no_forward_phone', 'owner_phone') THEN c.missed_reason
                       WHEN c.status = 'missed' THEN 'missed'   -- outage too: a text is coming
                       WHEN c.status IN ('ringing', 'forwarded') THEN 'forward' END;
    END IF;
    RETURN nmc.call_answer_twiml(b, pn, answer);
END
$$;
COMMENT ON FUNCTION nmc.webhook_voice(jsonb) IS 'POST /webhooks/twilio/voice: an incoming call, accepted into the webhook inbox and answered at once. Open → forward to the owner (<Dial> with ring timeout and action); closed or no forward phone → the after-hours message (the call is then missed: nmc.calls_apply); from the forward-to phone itself → told it is the owner''s own number (missed, reason owner_phone, never texted); replayed from the edge''s spool (the database was down, the caller was told a text is coming) → missed, reason outage. Idempotent on CallSid: a retry gets the same answer.';

CREATE FUNCTION nmc.calls_apply(ts nmc.webhook_inbox[])
RETURNS void
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    fresh text[];
    gone text;
    updated nmc.calls[];
    missed nmc.calls[];
    reasons text[];
    ats timestamptz[];
BEGIN
    -- A call's row is created by whichever of its webhooks is applied first
    -- (normally the incoming call; its dial result if that came alone), dated
    -- when that webhook was accepted.
    WITH ins AS (
        INSERT INTO nmc.calls (business_id, phone_number_id, twilio_call_sid, from_raw, to_phone, status, call_status, created_at)
        SELECT t.business_id, pn.id, t.webhook_key, coalesce(t.params ->> 'From', 'unknown'), pn.phone,
               CASE WHEN t.kind = 'voice_dial' OR t.params ->> 'nmc_answer' = 'forward' THEN 'forwarded' ELSE 'ringing' END,
               t.params ->> 'CallStatus', t.received_at
          FROM unnest(ts) WITH ORDINALITY AS t JOIN nmc.phone_numbers pn ON pn.id = t.phone_number_id AND pn.business_id = t.business_id
         ORDER BY t.ordinality
        ON CONFLICT (twilio_call_sid, business_id) DO NOTHING
        RETURNING twilio_call_sid)
    SELECT array_agg(ins.twilio_call_sid) INTO fresh FROM ins;
    FOR gone IN SELECT t.webhook_key FROM unnest(ts) AS t
                 WHERE NOT EXISTS (SELECT 1 FROM nmc.phone_numbers pn WHERE pn.id = t.phone_number_id AND pn.business_id = t.business_id) LOOP
        RAISE LOG 'nevermisscall: call % arrived for a number the business no longer has', gone;
    END LOOP;

    -- A dial result applies to a call not yet answered or missed (else it was
    -- applied before): its dial fields, and answered if the owner picked up.
    PERFORM 1 FROM nmc.calls c JOIN unnest(ts) AS t ON c.twilio_call_sid = t.webhook_key AND t.kind = 'voice_dial'
      ORDER BY c.id FOR UPDATE OF c;
    WITH u AS (
        UPDATE nmc.calls c SET dial_call_status = t.params ->> 'DialCallStatus', call_status = coalesce(t.params ->> 'CallStatus', c.call_status),
               duration_seconds = CASE WHEN t.params ->> 'DialCallDuration' ~ '^[0-9]+$' THEN (t.params ->> 'DialCallDuration')::int END,
               -- Completed calls are never texted.
               status = CASE WHEN nmc.call_dial_missed_reason(t.params) IS NULL THEN 'answered' ELSE c.status END,
               decision = CASE WHEN nmc.call_dial_missed_reason(t.params) IS NULL THEN 'not_missed' ELSE c.decision END,
               decision_reason = CASE WHEN nmc.call_dial_missed_reason(t.params) IS NULL THEN 'the call was answered' ELSE c.decision_reason END
          FROM unnest(ts) WITH ORDINALITY AS t
         WHERE t.kind = 'voice_dial' AND c.twilio_call_sid = t.webhook_key
           AND nmc.call_transition_allowed(c.status, CASE WHEN nmc.call_dial_missed_reason(t.params) IS NULL THEN 'answered' ELSE 'missed' END)
        RETURNING c AS row, t.ordinality AS i, nmc.call_dial_missed_reason(t.params) AS reason, t.received_at AS at),
    -- An incoming call applied now for the first time: forwarded, or missed at
    -- once (the caller was told the business is closed or has no forward phone).
    rang AS (
        SELECT c AS row, t.ordinality AS i, CASE WHEN t.params ->> 'nmc_answer' IS DISTINCT FROM 'forward' THEN t.params ->> 'nmc_answer' END AS reason,
               t.received_at AS at, t.params ->> 'nmc_answer' = 'forward' AS forwarded
          FROM unnest(ts) WITH ORDINALITY AS t JOIN nmc.calls c ON c.twilio_call_sid = t.webhook_key
         WHERE t.kind = 'voice' AND t.webhook_key = ANY (fresh)),
    applied AS (
        SELECT u.row, u.i, u.reason, u.at, u.reason IS NULL AS updated FROM u
        UNION ALL
        SELECT rang.row, rang.i, rang.reason, rang.at, coalesce(rang.forwarded, false) FROM rang)
    SELECT array_agg(a.row ORDER BY a.i) FILTER (WHERE a.updated),
           array_agg(a.row ORDER BY a.i) FILTER (WHERE NOT a.updated), array_agg(a.reason ORDER BY a.i) FILTER (WHERE NOT a.updated),
           array_agg(a.at ORDER BY a.i) FILTER (WHERE NOT a.updated)
      INTO updated, missed, reasons, ats
      FROM applied a;
    PERFORM nmc.emit_events(array_agg((updated[k]).business_id ORDER BY k), array_agg('call.updated'::text ORDER BY k),
                            array_agg(nmc.call_json(updated[k]) ORDER BY k))
       FROM generate_subscripts(updated, 1) AS k;
    PERFORM nmc.calls_missed(missed, reasons, ats);
END
$$;
COMMENT ON FUNCTION nmc.calls_apply(nmc.webhook_inbox[]) IS 'Applies accepted voice webhooks (incoming calls and the ends of forwarded calls; each CallSid at most once), in order: each call is recorded (created when its first webhook was accepted; a number gone since is logged). An incoming call is forwarded (call.updated), or missed at once when the caller was told the business is closed, has no forward phone, or it was the owner''s own phone. A <Dial> result records its fields: no-answer, busy, failed, canceled (or not bridged) → missed, answered → never texted (call.updated). The missed ones go together through nmc.calls_missed, decided as of the moment each webhook was accepted. Idempotent on CallSid: a webhook applied before changes nothing.';

CREATE FUNCTION nmc.webhook_voice_dial(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $$
DECLARE
    sid text := nmc.webhook_field(req, 'CallSid');
    dial_status text := nmc.webhook_field(req, 'DialCallStatus');
    pn nmc.phone_numbers := nmc.webhook_tenant(nmc.webhook_field(req, 'To'));
    b nmc.businesses;
BEGIN
    IF pn.id IS NULL THEN
        RAISE LOG 'nevermisscall: dial result for call % to %, which is not one of our numbers', sid, req #>> '{body,To}';
        RETURN nmc.twiml('<Hangup/>');
    END IF;
    PERFORM nmc.webhook_inbox_put('voice_dial', sid, pn, req -> 'body');
    SELECT * INTO b FROM nmc.businesses WHERE id = pn.business_id;
    RETURN nmc.call_answer_twiml(b, pn, CASE WHEN nmc.call_dial_missed_reason(req -> 'body') IS NOT NULL THEN 'missed' END);
END
$$;
COMMENT ON FUNCTION nmc.webhook_voice_dial(jsonb) IS 'POST /webhooks/twilio/voice/dial: the <Dial> ended; accepted into the webhook inbox (nmc.calls_apply applies it) and answered at once — a missed call hears that a text is coming, an answered one hangs up; a missed one may then leave a voicemail. Idempotent on CallSid.';

CREATE FUNCTION nmc.dial_missed_statuses()
RETURNS text[]
LANGUAGE sql IMMUTABLE
AS $$ SELECT ARRAY['no-answer', 'busy', 'failed', 'canceled'] $$;
COMMENT ON FUNCTION nmc.dial_missed_statuses() IS 'The DialCallStatus values of a forward nobody answered.';

CREATE FUNCTION nmc.call_dial_missed_reason(params jsonb)
RETURNS text
LANGUAGE sql
IMMUTABLE
AS $$
    SELECT CASE WHEN params ->> 'DialCallStatus' = ANY (nmc.dial_missed_statuses()) THEN params ->> 'DialCallStatus'
                WHEN params ->> 'DialBridged' = 'false' THEN 'not-bridged' END
$$;
COMMENT ON FUNCTION nmc.call_dial_missed_reason(jsonb) IS 'Why the forwarded call counts as missed, from the <Dial> action''s fields: no-answer, busy, failed, canceled, or not-bridged; NULL when the owner answered.';

CREATE FUNCTION nmc.webhook_voice_status(req jsonb)
RETURNS nmc.http_response
LANGUAGE sql
AS $$ SELECT nmc.webhook_status_accept(req, 'voice_status', 'CallSid', 'CallStatus', 'To') $$;
COMMENT ON FUNCTION nmc.webhook_voice_status(jsonb) IS 'POST /webhooks/twilio/voice/status: the call''s final status and duration, accepted into the webhook inbox (nmc.call_status_reported applies it). Idempotent on CallSid and status.';

CREATE FUNCTION nmc.call_status_reported(t nmc.webhook_inbox)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    c nmc.calls;
BEGIN
    UPDATE nmc.calls SET call_status = coalesce(t.params ->> 'CallStatus', call_status),
           duration_seconds = coalesce(CASE WHEN t.params ->> 'CallDuration' ~ '^[0-9]+$' THEN (t.params ->> 'CallDuration')::int END, duration_seconds)
     WHERE twilio_call_sid = t.params ->> 'CallSid' AND business_id = t.business_id
       AND (call_status IS DISTINCT FROM t.params ->> 'CallStatus' OR duration_seconds IS NULL)
    RETURNING * INTO c;
    IF FOUND THEN
        PERFORM nmc.emit_event(c.business_id, 'call.updated', nmc.call_json(c));
    END IF;
END
$$;
COMMENT ON FUNCTION nmc.call_status_reported(nmc.webhook_inbox) IS 'Applies an accepted call status callback: the call''s status and duration. Repeats change nothing.';

CREATE FUNCTION nmc.api_calls_list(req jsonb)
RETURNS nmc.http_response LANGUAGE sql STABLE
AS $$
    SELECT nmc.respond(200, jsonb_build_object('calls', coalesce(jsonb_agg(nmc.call_json(c) || jsonb_build_object('customer', nmc.customer_brief(c.customer_id))
                                                                  ORDER BY c.created_at DESC), '[]')))
      FROM (SELECT * FROM nmc.calls WHERE business_id = nmc.current_business_id() ORDER BY created_at DESC LIMIT 100) c
$$;
COMMENT ON FUNCTION nmc.api_calls_list(jsonb) IS 'GET /api/calls: the latest 100 calls with their text decision and their customer ({id, phone, name}, as call.missed carries it).';
