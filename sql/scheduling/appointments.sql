-- appointments.sql — booked jobs: a time range per appointment that no two
-- appointments of a business may share, with the business's buffer after each
-- (an exclusion constraint, so double booking is impossible whoever books), open slots inside business hours and
-- closures, booking and cancelling, and the confirmation text — written from
-- the appointment row, never by a model.
CREATE FUNCTION nmc.appointment_statuses()
RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT ARRAY['booked', 'cancelled'] $$;
COMMENT ON FUNCTION nmc.appointment_statuses() IS 'An appointment''s statuses, the one list (the domain nmc.appointment_status checks it, GET /api/meta serves it): booked, then cancelled for good (nmc.appointment_cancel, the one move).';
CREATE DOMAIN nmc.appointment_status AS text CHECK (VALUE = ANY (nmc.appointment_statuses()));
COMMENT ON DOMAIN nmc.appointment_status IS 'A status of nmc.appointment_statuses(); moved only by nmc.appointment_cancel.';

CREATE FUNCTION nmc.appointment_transition_allowed(p_from text, p_to text)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT (p_from, p_to) = ('booked', 'cancelled') $$;
COMMENT ON FUNCTION nmc.appointment_transition_allowed(text, text) IS 'An appointment''s one move: booked → cancelled (a moved appointment stays booked).';

CREATE TABLE nmc.appointments (
    id           uuid NOT NULL DEFAULT gen_random_uuid(),
    business_id  uuid NOT NULL REFERENCES nmc.businesses (id) ON DELETE CASCADE,
    customer_id  uuid NOT NULL,
    lead_id      uuid,
    during       tstzrange NOT NULL CHECK (NOT isempty(during) AND lower_inc(during) AND NOT upper_inc(during)),
    status       nmc.appointment_status NOT NULL DEFAULT 'booked',
    service_address text CHECK (length(service_address) <= 300),
    problem      text CHECK (length(problem) <= 1000),
    booked_by    text NOT NULL CHECK (booked_by IN ('owner', 'ai')),
    cancel_reason text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (business_id, id),
    FOREIGN KEY (business_id, customer_id) REFERENCES nmc.customers (business_id, id) ON DELETE CASCADE,
    FOREIGN KEY (business_id, lead_id) REFERENCES nmc.leads (business_id, id) ON DELETE SET NULL (lead_id),
    -- Since 0.7.0: the time the job holds, its buffer after it included (nmc.appointment_blocks).
    blocks       tstzrange NOT NULL,
    CONSTRAINT appointments_blocks_cover_during CHECK (lower(blocks) = lower(during) AND upper(blocks) >= upper(during)),
    -- Two booked appointments of one business never overlap, buffers included, however they were made.
    CONSTRAINT appointments_no_double_booking EXCLUDE USING gist (business_id WITH =, blocks WITH &&) WHERE (status = 'booked')
);
COMMENT ON TABLE nmc.appointments IS 'Booked jobs. during is [start, end); blocks is during with the business''s appointment_buffer_minutes after it (as when booked or moved); the exclusion constraint makes booked appointments of one business whose blocks overlap impossible — a job never starts within the buffer of another.';
-- By id alone too (a reminder timer names its appointment by id, without RLS):
CREATE INDEX appointments_id ON nmc.appointments (id);
CREATE TRIGGER appointments_touch BEFORE UPDATE ON nmc.appointments FOR EACH ROW EXECUTE FUNCTION nmc.touch_updated_at();
ALTER TABLE nmc.appointments ENABLE ROW LEVEL SECURITY;
ALTER TABLE nmc.appointments FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON nmc.appointments
    USING (business_id = nmc.current_business_id())
    WITH CHECK (business_id = nmc.current_business_id());


CREATE FUNCTION nmc.appointment_json(a nmc.appointments)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$ SELECT jsonb_build_object('id', a.id, 'customer_id', a.customer_id, 'lead_id', a.lead_id, 'starts_at', lower(a.during),
                                'ends_at', upper(a.during), 'status', a.status, 'service_address', a.service_address,
                                'problem', a.problem, 'booked_by', a.booked_by, 'cancel_reason', a.cancel_reason,
                                'customer', nmc.customer_brief(a.customer_id)) $$;
COMMENT ON FUNCTION nmc.appointment_json(nmc.appointments) IS 'The API and event representation of an appointment, with its customer ({id, phone, name}).';

CREATE FUNCTION nmc.appointment_blocks(b nmc.businesses, p_starts_at timestamptz, len interval)
RETURNS tstzrange
LANGUAGE sql STABLE
AS $$ SELECT tstzrange(p_starts_at, p_starts_at + len + make_interval(mins => b.appointment_buffer_minutes), '[)') $$;
COMMENT ON FUNCTION nmc.appointment_blocks(nmc.businesses, timestamptz, interval) IS 'The time a job of length len starting at p_starts_at holds: itself and the business''s buffer after it (travel, clean-up). What the exclusion constraint compares, and what a free slot must not overlap.';

-- However an appointment is written (booked, moved, or by a DBA), what it holds follows its time.
CREATE FUNCTION nmc.appointments_blocks_set()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    NEW.blocks := (SELECT nmc.appointment_blocks(b, lower(NEW.during), upper(NEW.during) - lower(NEW.during))
                     FROM nmc.businesses b WHERE b.id = NEW.business_id);
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION nmc.appointments_blocks_set() IS 'Trigger: an appointment''s blocks is its time plus the business''s buffer (nmc.appointment_blocks), set whenever it is written or moved.';
CREATE TRIGGER appointments_blocks_set BEFORE INSERT OR UPDATE OF during ON nmc.appointments
    FOR EACH ROW EXECUTE FUNCTION nmc.appointments_blocks_set();

CREATE FUNCTION nmc.open_slots(p_business_id uuid, p_from timestamptz, p_count int DEFAULT 3, p_minutes int DEFAULT NULL,
                               p_exclude uuid DEFAULT NULL)
RETURNS TABLE (starts_at timestamptz, ends_at timestamptz)
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    b nmc.businesses;
    len interval;
    day date;
    h record;
    s timestamptz;
    found_n int := 0;
BEGIN
    SELECT * INTO b FROM nmc.businesses WHERE id = p_business_id;
    len := make_interval(mins => coalesce(p_minutes, b.appointment_minutes));
    -- Walk local days for two weeks; slots start on the hour or half hour.
    FOR day IN SELECT generate_series((p_from AT TIME ZONE b.timezone)::date, (p_from AT TIME ZONE b.timezone)::date + 13, interval '1 day')::date LOOP
        CONTINUE WHEN EXISTS (SELECT 1 FROM nmc.business_closures c WHERE c.business_id = b.id AND c.closed_on = day);
        FOR h IN SELECT opens_at, closes_at FROM nmc.business_hours
                  WHERE business_id = b.id AND weekday = extract(dow FROM day) ORDER BY opens_at LOOP
            s := (day + h.opens_at) AT TIME ZONE b.timezone;
            WHILE s + len <= CASE WHEN h.closes_at = '24:00' THEN (day + 1) AT TIME ZONE b.timezone
                                  ELSE (day + h.closes_at) AT TIME ZONE b.timezone END LOOP
                IF s >= p_from AND NOT EXISTS (SELECT 1 FROM nmc.appointments a WHERE a.business_id = b.id AND a.status = 'booked'
                                                  AND a.id IS DISTINCT FROM p_exclude AND a.blocks && nmc.appointment_blocks(b, s, len)) THEN
                    starts_at := s;
                    ends_at := s + len;
                    RETURN NEXT;
                    found_n := found_n + 1;
                    IF found_n >= p_count THEN
                        RETURN;
                    END IF;
                END IF;
                s := s + interval '30 minutes';
            END LOOP;
        END LOOP;
    END LOOP;
END
$$;
COMMENT ON FUNCTION nmc.open_slots(uuid, timestamptz, int, int, uuid) IS 'The next p_count free slots of the job''s length (p_minutes, else appointment_minutes) from p_from: inside business hours (local time), not on closures, not overlapping a booked appointment other than p_exclude (the one being moved), buffers included (nmc.appointment_blocks); starting on the hour or half hour, up to two weeks ahead.';

CREATE FUNCTION nmc.appointment_book(p_business_id uuid, p_customer_id uuid, p_starts_at timestamptz, p_booked_by text,
                                     p_address text DEFAULT NULL, p_problem text DEFAULT NULL, p_minutes int DEFAULT NULL)
RETURNS nmc.appointments
LANGUAGE plpgsql
AS $$
DECLARE
    b nmc.businesses;
    a nmc.appointments;
    l uuid;
BEGIN
    SELECT * INTO b FROM nmc.businesses WHERE id = p_business_id;
    IF NOT nmc.business_is_open(b.id, p_starts_at)
       OR NOT nmc.business_is_open(b.id, p_starts_at + make_interval(mins => coalesce(p_minutes, b.appointment_minutes)) - interval '1 second') THEN
        PERFORM nmc.raise_api_error(400, 'outside_business_hours', 'that time is outside the business''s hours', 'starts_at');
    END IF;
    SELECT id INTO l FROM nmc.leads WHERE business_id = b.id AND customer_id = p_customer_id
       AND status IN ('new', 'contacted', 'qualified', 'appointment_scheduled');
    BEGIN
        INSERT INTO nmc.appointments (business_id, customer_id, lead_id, during, booked_by, service_address, problem)
        VALUES (b.id, p_customer_id, l, tstzrange(p_starts_at, p_starts_at + make_interval(mins => coalesce(p_minutes, b.appointment_minutes)), '[)'),
                p_booked_by, p_address, p_problem)
        RETURNING * INTO a;
    EXCEPTION WHEN exclusion_violation THEN
        PERFORM nmc.raise_api_error(409, 'slot_taken', 'another appointment is booked at that time, or too close to it', 'starts_at');
    END;
    IF l IS NOT NULL THEN
        PERFORM nmc.lead_transition(l, 'appointment_scheduled');
    END IF;
    PERFORM nmc.appointment_reminders_set(a);
    PERFORM nmc.emit_event(b.id, 'appointment.created', nmc.appointment_json(a));
    IF p_booked_by = 'ai' THEN
        PERFORM nmc.owner_alert(b, conv, 'booking', format('Booked by the assistant: %s, %s%s. %s',
                    coalesce(nmc.owner_alert_who(conv), (SELECT phone FROM nmc.customers WHERE id = p_customer_id)),
                    to_char(p_starts_at AT TIME ZONE b.timezone, 'Dy Mon DD HH24:MI'),
                    coalesce(', ' || p_address, ''), coalesce(nmc.owner_alert_link(conv), '')))
          FROM (SELECT c FROM nmc.conversations c WHERE c.business_id = b.id AND c.customer_id = p_customer_id
                 ORDER BY c.state = 'open' DESC, c.created_at DESC LIMIT 1) x(conv);
    END IF;
    RETURN a;
END
$$;
COMMENT ON FUNCTION nmc.appointment_book(uuid, uuid, timestamptz, text, text, text, int) IS 'Books a job inside business hours; NM409 slot_taken when it would overlap another, buffers included (the exclusion constraint decides, even under concurrency). Moves the customer''s lead to appointment_scheduled; sets the customer''s reminders (nmc.appointment_reminders_set); emits appointment.created; one the assistant booked is texted to the owner''s phone (kind booking).';

CREATE FUNCTION nmc.appointment_cancel(p_appointment_id uuid, p_reason text DEFAULT NULL)
RETURNS nmc.appointments
LANGUAGE plpgsql
AS $$
DECLARE
    a nmc.appointments;
BEGIN
    UPDATE nmc.appointments SET status = 'cancelled', cancel_reason = p_reason
     WHERE id = p_appointment_id AND nmc.appointment_transition_allowed(status, 'cancelled') RETURNING * INTO a;
    IF NOT FOUND THEN
        PERFORM nmc.raise_api_error(404, 'not_found', 'no booked appointment with this id');
    END IF;
    PERFORM nmc.appointment_reminders_cancel(a);
    PERFORM nmc.emit_event(a.business_id, 'appointment.cancelled', nmc.appointment_json(a));
    RETURN a;
END
$$;
COMMENT ON FUNCTION nmc.appointment_cancel(uuid, text) IS 'Cancels a booked appointment (its time becomes free, its reminders are cancelled); emits appointment.cancelled.';

CREATE FUNCTION nmc.appointment_move(p_appointment_id uuid, p_starts_at timestamptz, p_minutes int DEFAULT NULL)
RETURNS nmc.appointments
LANGUAGE plpgsql
AS $$
DECLARE
    a nmc.appointments;
    len interval;
BEGIN
    SELECT * INTO a FROM nmc.appointments WHERE id = p_appointment_id AND status = 'booked' FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM nmc.raise_api_error(404, 'not_found', 'no booked appointment with this id');
    END IF;
    len := coalesce(make_interval(mins => p_minutes), upper(a.during) - lower(a.during));
    IF NOT nmc.business_is_open(a.business_id, p_starts_at) OR NOT nmc.business_is_open(a.business_id, p_starts_at + len - interval '1 second') THEN
        PERFORM nmc.raise_api_error(400, 'outside_business_hours', 'that time is outside the business''s hours', 'starts_at');
    END IF;
    BEGIN
        UPDATE nmc.appointments SET during = tstzrange(p_starts_at, p_starts_at + len, '[)') WHERE id = a.id RETURNING * INTO a;
    EXCEPTION WHEN exclusion_violation THEN
        PERFORM nmc.raise_api_error(409, 'slot_taken', 'another appointment is booked at that time, or too close to it', 'starts_at');
    END;
    PERFORM nmc.appointment_reminders_cancel(a);
    PERFORM nmc.appointment_reminders_set(a);
    PERFORM nmc.emit_event(a.business_id, 'appointment.updated', nmc.appointment_json(a));
    RETURN a;
END
$$;
COMMENT ON FUNCTION nmc.appointment_move(uuid, timestamptz, int) IS 'Moves a booked appointment (keeping its length unless given) inside business hours; NM409 slot_taken when it would overlap another, buffers included — the exclusion constraint decides. Its reminders follow it; emits appointment.updated.';

CREATE FUNCTION nmc.appointment_when(a nmc.appointments, b nmc.businesses)
RETURNS text
LANGUAGE sql STABLE
AS $$ SELECT nmc.time_words(lower(a.during), b.timezone, 'en', true) $$;
COMMENT ON FUNCTION nmc.appointment_when(nmc.appointments, nmc.businesses) IS 'When an appointment starts, in words and the business''s time ("Friday, March 6 at 2:30 PM"; nmc.time_words).';

CREATE FUNCTION nmc.appointment_confirmation(p_appointment_id uuid, p_lang text DEFAULT 'en')
RETURNS text
LANGUAGE sql STABLE
AS $$
    SELECT format(nmc.intake_say(p_lang, 'confirmation'),
                  b.name, nmc.time_words(lower(a.during), b.timezone, p_lang, true),
                  CASE WHEN a.service_address IS NOT NULL THEN nmc.intake_say(p_lang, 'at') || a.service_address ELSE '' END)
      FROM nmc.appointments a JOIN nmc.businesses b ON b.id = a.business_id
     WHERE a.id = p_appointment_id AND a.status = 'booked'
$$;
COMMENT ON FUNCTION nmc.appointment_confirmation(uuid, text) IS 'The confirmation text of a booked appointment, written from the row in the business''s local time, in English or the customer''s language (''es''): a customer is never told of a booking the database does not have.';

CREATE FUNCTION nmc.api_appointments_list(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    from_at timestamptz := now();
    to_at timestamptz;
BEGIN
    BEGIN
        from_at := coalesce((req #>> '{query,from}')::timestamptz, now());
        to_at := (req #>> '{query,to}')::timestamptz;
    EXCEPTION WHEN OTHERS THEN
        PERFORM nmc.raise_api_error(400, 'invalid_field', 'from and to must be timestamps (ISO 8601)', 'from');
    END;
    RETURN nmc.respond(200, jsonb_build_object('appointments', coalesce((
        SELECT jsonb_agg(nmc.appointment_json(a) ORDER BY lower(a.during))
          FROM nmc.appointments a
         WHERE a.business_id = nmc.current_business_id() AND upper(a.during) > from_at
           AND (to_at IS NULL OR lower(a.during) < to_at)
           AND (req #>> '{query,status}' IS NULL OR a.status = req #>> '{query,status}')), '[]')));
END
$$;
COMMENT ON FUNCTION nmc.api_appointments_list(jsonb) IS 'GET /api/appointments?from=&to=&status=: appointments ending after from (default now), in time order — upcoming list and day/week views.';

CREATE FUNCTION nmc.api_appointments_create(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $$
DECLARE
    body jsonb := nmc.input_object(req -> 'body');
    cust nmc.customers;
    starts timestamptz;
    a nmc.appointments;
    m nmc.messages;
BEGIN
    PERFORM nmc.input_allowed_fields(body, ARRAY['customer_phone', 'starts_at', 'minutes', 'service_address', 'problem', 'notify_customer']);
    starts := nmc.input_timestamptz(body, 'starts_at');
    cust := nmc.customer_upsert(nmc.current_business_id(), nmc.input_text(body, 'customer_phone', true, 32));
    a := nmc.appointment_book(nmc.current_business_id(), cust.id, starts, 'owner',
        nmc.input_text(body, 'service_address', false, 300, 0), nmc.input_text(body, 'problem', false, 1000, 0),
        CASE WHEN body ? 'minutes' THEN nmc.input_int(body, 'minutes', 15, 480) END);
    IF nmc.input_notify_customer(body) THEN
        m := nmc.appointment_tell_customer(a, nmc.appointment_confirmation(a.id));
    END IF;
    RETURN nmc.respond(201, jsonb_build_object('appointment', nmc.appointment_json(a), 'customer_texted', m.id IS NOT NULL));
END
$$;
COMMENT ON FUNCTION nmc.api_appointments_create(jsonb) IS 'POST /api/appointments {customer_phone, starts_at[, minutes, service_address, problem, notify_customer]}: the owner books by hand; the customer is texted the confirmation in their conversation unless notify_customer is false (customer_texted: false when they cannot be texted); 409 slot_taken on overlap.';

CREATE FUNCTION nmc.input_notify_customer(body jsonb)
RETURNS boolean
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    IF body ? 'notify_customer' AND jsonb_typeof(body -> 'notify_customer') <> 'boolean' THEN
        PERFORM nmc.raise_api_error(400, 'invalid_field', 'notify_customer must be true or false', 'notify_customer');
    END IF;
    RETURN coalesce((body ->> 'notify_customer')::boolean, true);
END
$$;
COMMENT ON FUNCTION nmc.input_notify_customer(jsonb) IS 'Whether an owner''s change to an appointment is texted to the customer (notify_customer, default true).';

CREATE FUNCTION nmc.api_appointments_patch(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $$
DECLARE
    body jsonb := nmc.input_object(req -> 'body');
    a nmc.appointments;
    b nmc.businesses;
    m nmc.messages;
    starts timestamptz;
BEGIN
    PERFORM nmc.input_allowed_fields(body, ARRAY['starts_at', 'minutes', 'notify_customer']);
    starts := nmc.input_timestamptz(body, 'starts_at');
    a := nmc.appointment_move(nmc.input_uuid(req #>> '{params,0}', 'appointment'), starts,
                              CASE WHEN body ? 'minutes' THEN nmc.input_int(body, 'minutes', 15, 480) END);
    SELECT * INTO b FROM nmc.businesses WHERE id = a.business_id;
    IF nmc.input_notify_customer(body) THEN
        m := nmc.appointment_tell_customer(a, format('%s moved your appointment to %s. Reply here if that does not work for you.',
                                                     b.name, nmc.appointment_when(a, b)));
    END IF;
    RETURN nmc.respond(200, jsonb_build_object('appointment', nmc.appointment_json(a), 'customer_texted', m.id IS NOT NULL));
END
$$;
COMMENT ON FUNCTION nmc.api_appointments_patch(jsonb) IS 'PATCH /api/appointments/{id} {starts_at[, minutes, notify_customer]}: the owner moves an appointment (nmc.appointment_move: same checks as booking); the customer is texted the new time unless notify_customer is false. 409 slot_taken, 400 outside_business_hours, 404.';

CREATE FUNCTION nmc.api_appointment_ics(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    a nmc.appointments;
BEGIN
    SELECT * INTO a FROM nmc.appointments WHERE id = nmc.input_uuid(req #>> '{params,0}', 'appointment');
    IF NOT FOUND THEN
        PERFORM nmc.raise_api_error(404, 'not_found', 'no such appointment');
    END IF;
    RETURN nmc.respond_text(200, 'text/calendar; charset=utf-8', nmc.appointment_ics(a));
END
$$;
COMMENT ON FUNCTION nmc.api_appointment_ics(jsonb) IS 'GET /api/appointments/{id}/ics: the appointment as an iCalendar file.';

CREATE FUNCTION nmc.api_appointments_cancel(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql
AS $$
DECLARE
    body jsonb := coalesce(req -> 'body', '{}');
    a nmc.appointments;
    b nmc.businesses;
    m nmc.messages;
BEGIN
    PERFORM nmc.input_allowed_fields(nmc.input_object(body), ARRAY['reason', 'notify_customer']);
    a := nmc.appointment_cancel(nmc.input_uuid(req #>> '{params,0}', 'appointment'), nmc.input_text(body, 'reason', false, 300, 0));
    SELECT * INTO b FROM nmc.businesses WHERE id = a.business_id;
    IF nmc.input_notify_customer(body) THEN
        m := nmc.appointment_tell_customer(a, format('%s cancelled your appointment on %s. Reply here to book another time.',
                                                     b.name, nmc.appointment_when(a, b)));
    END IF;
    RETURN nmc.respond(200, jsonb_build_object('appointment', nmc.appointment_json(a), 'customer_texted', m.id IS NOT NULL));
END
$$;
COMMENT ON FUNCTION nmc.api_appointments_cancel(jsonb) IS 'POST /api/appointments/{id}/cancel {reason?, notify_customer?}: the customer is texted that it is cancelled unless notify_customer is false.';

CREATE FUNCTION nmc.api_open_slots(req jsonb)
RETURNS nmc.http_response
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    b nmc.businesses;
    day date;
    minutes int;
    excluded uuid;
    q jsonb := coalesce(req -> 'query', '{}');
BEGIN
    SELECT * INTO b FROM nmc.businesses WHERE id = nmc.current_business_id();
    IF q ? 'minutes' THEN
        IF q ->> 'minutes' !~ '^[0-9]{1,3}$' OR (q ->> 'minutes')::int NOT BETWEEN 15 AND 480 THEN
            PERFORM nmc.raise_api_error(400, 'invalid_field', 'minutes must be a whole number from 15 to 480', 'minutes');
        END IF;
        minutes := (q ->> 'minutes')::int;
    END IF;
    IF q ? 'exclude' THEN
        excluded := nmc.input_uuid(q ->> 'exclude', 'exclude');
    END IF;
    IF q ? 'date' THEN
        IF q ->> 'date' !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' THEN
            PERFORM nmc.raise_api_error(400, 'invalid_field', 'date must be YYYY-MM-DD', 'date');
        END IF;
        BEGIN
            day := (q ->> 'date')::date;
        EXCEPTION WHEN OTHERS THEN
            PERFORM nmc.raise_api_error(400, 'invalid_field', 'date must be a real day (YYYY-MM-DD)', 'date');
        END;
        -- Every free start of that local day still ahead (at most 48: every half hour).
        RETURN nmc.respond(200, jsonb_build_object('slots', coalesce((
            SELECT jsonb_agg(jsonb_build_object('starts_at', s.starts_at, 'ends_at', s.ends_at) ORDER BY s.starts_at)
              FROM nmc.open_slots(b.id, greatest(now(), day::timestamp AT TIME ZONE b.timezone), 48, minutes, excluded) s
             WHERE s.starts_at < (day + 1)::timestamp AT TIME ZONE b.timezone), '[]')));
    END IF;
    RETURN nmc.respond(200, jsonb_build_object('slots', coalesce((
        SELECT jsonb_agg(jsonb_build_object('starts_at', s.starts_at, 'ends_at', s.ends_at) ORDER BY s.starts_at)
          FROM nmc.open_slots(b.id, now(), 10, minutes, excluded) s), '[]')));
END
$$;
COMMENT ON FUNCTION nmc.api_open_slots(jsonb) IS 'GET /api/appointments/open-slots[?date=YYYY-MM-DD&minutes=&exclude=<appointment>]: the free slots — of that local day (every free start still ahead), else the next ten — of minutes (else appointment_minutes), the appointment being moved not counting against itself (nmc.open_slots).';
