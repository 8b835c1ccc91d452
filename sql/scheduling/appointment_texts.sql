-- appointment_texts.sql — what the customer is told about their appointment,
-- in their conversation (a reply threads into it): the owner's bookings,
-- moves and cancellations, and reminders — the evening before (18:00, the
-- business's time) and a few hours before on the day (not before 07:00) —
-- set by timers when an appointment is booked or moved, cancelled with it.
-- Opted-out and unreachable customers are not texted; a reminder for a time
-- the appointment no longer has is not sent.
CREATE FUNCTION nmc.appointment_tell_customer(a nmc.appointments, body text)
RETURNS nmc.messages
LANGUAGE plpgsql
AS $$
DECLARE
    cu nmc.customers;
    pn uuid;
    conv nmc.conversations;
BEGIN
    SELECT * INTO cu FROM nmc.customers WHERE id = a.customer_id;
    IF cu.opted_out_at IS NOT NULL OR cu.sms_unreachable_at IS NOT NULL THEN
        RETURN NULL;
    END IF;
    -- The number the customer knows: that of their latest conversation, else the business's first.
    SELECT phone_number_id INTO pn FROM nmc.conversations WHERE business_id = a.business_id AND customer_id = a.customer_id
     ORDER BY state = 'open' DESC, created_at DESC LIMIT 1;
    IF pn IS NULL THEN
        SELECT id INTO pn FROM nmc.phone_numbers WHERE business_id = a.business_id AND detached_at IS NULL ORDER BY created_at, id LIMIT 1;
    END IF;
    IF pn IS NULL THEN
        RETURN NULL;
    END IF;
    conv := nmc.conversation_open(a.business_id, a.customer_id, pn);
    RETURN nmc.sms_send(a.business_id, a.customer_id, (SELECT phone FROM nmc.phone_numbers WHERE id = pn), body, 'system', conv.id);
END
$$;
COMMENT ON FUNCTION nmc.appointment_tell_customer(nmc.appointments, text) IS 'Texts the customer of an appointment in their open conversation (a new one if none) on the number they know; NULL, nothing sent, when they opted out, cannot get texts, or the business has no number.';

CREATE FUNCTION nmc.appointment_reminders_set(a nmc.appointments)
RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
    b nmc.businesses;
    local_start timestamp;
    evening timestamptz;
    on_the_day timestamptz;
    n int := 0;
BEGIN
    SELECT * INTO b FROM nmc.businesses WHERE id = a.business_id;
    local_start := lower(a.during) AT TIME ZONE b.timezone;
    IF b.reminder_day_before THEN
        evening := ((local_start::date - 1) + time '18:00') AT TIME ZONE b.timezone;
        IF evening > now() THEN
            PERFORM nmc.timer_set(a.business_id, 'appointment.reminder', a.id, evening,
                                  jsonb_build_object('starts_at', lower(a.during), 'which', 'day_before'));
            n := n + 1;
        END IF;
    END IF;
    IF b.reminder_hours_before > 0 THEN
        on_the_day := greatest(lower(a.during) - make_interval(hours => b.reminder_hours_before),
                               (local_start::date + time '07:00') AT TIME ZONE b.timezone);
        IF on_the_day > now() AND on_the_day < lower(a.during) THEN
            PERFORM nmc.timer_set(a.business_id, 'appointment.reminder', a.id, on_the_day,
                                  jsonb_build_object('starts_at', lower(a.during), 'which', 'same_day'));
            n := n + 1;
        END IF;
    END IF;
    RETURN n;
END
$$;
COMMENT ON FUNCTION nmc.appointment_reminders_set(nmc.appointments) IS 'Sets an appointment''s reminders: at 18:00 the evening before (reminder_day_before) and reminder_hours_before hours before it starts, not before 07:00 that day (0: none) — business time, only those still ahead. Returns how many.';

CREATE FUNCTION nmc.appointment_reminders_cancel(a nmc.appointments)
RETURNS void
LANGUAGE sql
AS $$
    UPDATE nmc.timers SET cancelled_at = now()
     WHERE subject_id = a.id AND kind = 'appointment.reminder' AND fired_at IS NULL AND cancelled_at IS NULL
$$;
COMMENT ON FUNCTION nmc.appointment_reminders_cancel(nmc.appointments) IS 'Cancels an appointment''s pending reminders (it moved or was cancelled).';

CREATE FUNCTION nmc.appointment_reminder_due(t nmc.timers)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    a nmc.appointments;
    b nmc.businesses;
BEGIN
    SELECT * INTO a FROM nmc.appointments WHERE id = t.subject_id;
    -- Cancelled, or moved since (its new time has reminders of its own).
    IF NOT FOUND OR a.status <> 'booked' OR lower(a.during) IS DISTINCT FROM (t.payload ->> 'starts_at')::timestamptz THEN
        RETURN;
    END IF;
    SELECT * INTO b FROM nmc.businesses WHERE id = a.business_id;
    PERFORM nmc.appointment_tell_customer(a, format('Reminder: %s is coming %s at %s%s. Reply here if anything changes.',
        b.name,
        CASE WHEN (lower(a.during) AT TIME ZONE b.timezone)::date = (now() AT TIME ZONE b.timezone)::date THEN 'today'
             WHEN (lower(a.during) AT TIME ZONE b.timezone)::date = (now() AT TIME ZONE b.timezone)::date + 1 THEN 'tomorrow'
             ELSE 'on ' || to_char(lower(a.during) AT TIME ZONE b.timezone, 'FMDay, FMMonth FMDD') END,
        nmc.format_time_of_day((lower(a.during) AT TIME ZONE b.timezone)::time),
        CASE WHEN a.service_address IS NOT NULL THEN ' (' || a.service_address || ')' ELSE '' END));
END
$$;
COMMENT ON FUNCTION nmc.appointment_reminder_due(nmc.timers) IS 'Timer handler: texts the customer the reminder of a booked appointment ("coming tomorrow at 9:00 AM"), unless it was cancelled or moved since the reminder was set.';
INSERT INTO nmc.timer_kinds (kind, handler, description) VALUES
    ('appointment.reminder', 'appointment_reminder_due', 'A booked appointment''s reminder to the customer is due');

CREATE FUNCTION nmc.appointment_ics(a nmc.appointments)
RETURNS text
LANGUAGE sql STABLE
AS $$
    SELECT array_to_string(ARRAY(SELECT nmc.ics_fold(l) FROM unnest(ARRAY[
        'BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//NeverMissCall//Appointments//EN', 'METHOD:PUBLISH',
        'BEGIN:VEVENT',
        'UID:' || a.id || '@nevermisscall',
        'DTSTAMP:' || to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDD"T"HH24MISS"Z"'),
        'DTSTART:' || to_char(lower(a.during) AT TIME ZONE 'UTC', 'YYYYMMDD"T"HH24MISS"Z"'),
        'DTEND:' || to_char(upper(a.during) AT TIME ZONE 'UTC', 'YYYYMMDD"T"HH24MISS"Z"'),
        'SUMMARY:' || nmc.ics_text(coalesce(nullif(cu.name, ''), cu.phone) || coalesce(' - ' || left(a.problem, 80), '')),
        'LOCATION:' || nmc.ics_text(a.service_address),
        'DESCRIPTION:' || nmc.ics_text(concat_ws(E'\n', 'Customer: ' || coalesce(nullif(cu.name, '') || ' ', '') || cu.phone, a.problem)),
        'STATUS:' || CASE a.status WHEN 'booked' THEN 'CONFIRMED' ELSE 'CANCELLED' END,
        'END:VEVENT', 'END:VCALENDAR']) l WHERE l IS NOT NULL), E'\r\n') || E'\r\n'
      FROM nmc.customers cu WHERE cu.id = a.customer_id
$$;
COMMENT ON FUNCTION nmc.appointment_ics(nmc.appointments) IS 'An appointment as an iCalendar file (RFC 5545, one VEVENT in UTC, lines folded at 75 octets): for the owner''s own calendar.';

CREATE FUNCTION nmc.ics_fold(line text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    out text := '';
    chunk text;
BEGIN
    -- RFC 5545 §3.1: at most 75 octets a line, continued after CRLF and a space;
    -- never inside a multi-byte character.
    WHILE octet_length(line) > 75 LOOP
        chunk := left(line, 74);
        WHILE octet_length(chunk) > 74 LOOP
            chunk := left(chunk, -1);
        END LOOP;
        out := out || chunk || E'\r\n ';
        line := substr(line, length(chunk) + 1);
    END LOOP;
    RETURN out || line;
END
$$;
COMMENT ON FUNCTION nmc.ics_fold(text) IS 'An iCalendar content line folded at 75 octets (RFC 5545 §3.1), never inside a character.';

CREATE FUNCTION nmc.ics_text(t text)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$ SELECT replace(replace(replace(replace(replace(t, '\', '\\'), ';', '\;'), ',', '\,'), E'\r', ''), E'\n', '\n') $$;
COMMENT ON FUNCTION nmc.ics_text(text) IS 'A TEXT value escaped for iCalendar (RFC 5545 §3.3.11).';
