-- intake_language.sql — the built-in assistant's languages: which language a
-- customer writes in (English or Spanish, from their own words), every
-- sentence the assistant says in each language (one phrasebook), and dates and
-- times written out in either language. The engine (intake_engine.sql) and the
-- appointment confirmation speak through these, so a Spanish-speaking
-- customer is answered in Spanish from the first reply to the hand-off.

CREATE FUNCTION nmc.intake_language_score(t text)
RETURNS int
LANGUAGE sql IMMUTABLE
AS $$
    -- Spanish evidence minus English evidence: marker words of each (words shared
    -- by both, like "no" or "me", count for neither), and Spanish letters and marks.
    SELECT coalesce(sum(CASE WHEN w = ANY (ARRAY['hola', 'buenas', 'buenos', 'gracias', 'favor', 'llamo', 'soy', 'tengo', 'tiene',
                                   'necesito', 'quiero', 'puede', 'pueden', 'podrian', 'podrían', 'está', 'esta', 'estoy', 'el', 'la', 'los',
                                   'las', 'una', 'un', 'de', 'del', 'que', 'qué', 'con', 'para', 'por', 'es', 'hay', 'mi', 'mis', 'casa',
                                   'calle', 'agua', 'fuga', 'baño', 'bano', 'cocina', 'mañana', 'manana', 'tarde', 'noche', 'hoy', 'lunes',
                                   'martes', 'miércoles', 'miercoles', 'jueves', 'viernes', 'sábado', 'sabado', 'domingo', 'sí', 'si',
                                   'funciona', 'sirve', 'calentador', 'aire', 'luz', 'gotea', 'tubería', 'tuberia', 'fregadero',
                                   'inodoro', 'ayuda', 'dirección', 'direccion', 'vivo', 'cuando', 'cuándo', 'mejor', 'después',
                                   'despues', 'antes', 'primera', 'segunda', 'tercera', 'ninguna', 'otra', 'otro', 'nombre', 'pero',
                                   'muy', 'también', 'tambien', 'ya', 'bueno', 'claro', 'cuánto', 'cuanto', 'cuesta', 'semana', 'está',
                                   'perfecto', 'listo', 'señor', 'señora', 'usted', 'ustedes', 'se', 'le', 'lo', 'nos', 'al', 'y',
                                   'desde', 'hasta', 'lavabo', 'regadera', 'ducha', 'tapado', 'tapada', 'atascado', 'goteando',
                                   'caliente', 'fría', 'fria', 'enchufe', 'luces', 'aqui', 'aquí', 'ahora', 'urgente', 'opción',
                                   'opcion', 'número', 'numero', 'equivocado', 'dos', 'tres', 'uno', 'cualquiera', 'temprano'])
                             THEN 1
                             WHEN w = ANY (ARRAY['the', 'is', 'my', 'i', 'im', 'i''m', 'it', 'its', 'it''s', 'and', 'to', 'of', 'in', 'for',
                                   'on', 'with', 'this', 'that', 'you', 'we', 'can', 'please', 'water', 'leak', 'leaking', 'sink', 'hi',
                                   'hello', 'hey', 'thanks', 'thank', 'yes', 'yeah', 'tomorrow', 'morning', 'afternoon', 'evening',
                                   'have', 'has', 'need', 'not', 'working', 'works', 'broken', 'our', 'at', 'here', 'name', 'street',
                                   'st', 'ave', 'rd', 'dr', 'after', 'before', 'today', 'what', 'when', 'how', 'much', 'would', 'could',
                                   'any', 'time', 'one', 'two', 'three', 'first', 'second', 'third', 'none', 'those', 'ok', 'okay',
                                   'sure', 'fine', 'good', 'great', 'be', 'are', 'was', 'there', 'will', 'just', 'get', 'come', 'out',
                                   'toilet', 'heater', 'hot', 'cold', 'clogged', 'friday', 'monday', 'tuesday', 'wednesday', 'thursday',
                                   'saturday', 'sunday', 'asap', 'number', 'wrong', 'who', 'an', 'again', 'some', 'someone'])
                             THEN -1 ELSE 0 END), 0)::int
           + 2 * (SELECT count(*) FROM regexp_matches(t, '[ñáéíóú¿¡]', 'gi'))::int
      FROM regexp_split_to_table(lower(t), '[^a-zñáéíóúü'']+') w
     WHERE w <> ''
$$;
COMMENT ON FUNCTION nmc.intake_language_score(text) IS 'How Spanish a customer''s text reads: Spanish marker words and letters (ñ, accents, ¿ ¡) count up, English marker words down; 0: no evidence either way.';

CREATE FUNCTION nmc.intake_language(texts text[])
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
    SELECT CASE WHEN sum(nmc.intake_language_score(t)) > 0 THEN 'es' WHEN sum(nmc.intake_language_score(t)) < 0 THEN 'en' END FROM unnest(texts) t
$$;
COMMENT ON FUNCTION nmc.intake_language(text[]) IS 'The language of a customer from all their texts so far: ''es'' when the Spanish evidence outweighs the English, ''en'' when the English does, NULL when the texts say nothing either way ("2", "Dave").';

CREATE FUNCTION nmc.intake_say(lang text, what text)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
    SELECT CASE WHEN lang = 'es' THEN es ELSE en END FROM (VALUES
        ('ask_problem', 'What can we help you with?', '¿En qué le podemos ayudar?'),
        ('ask_name', 'What''s your name?', '¿Cuál es su nombre?'),
        ('ask_address', 'What''s the address for the job (street and number)?', '¿Cuál es la dirección del trabajo (calle y número)?'),
        ('ask_zip', 'And the ZIP code?', '¿Y el código postal?'),
        ('again_problem', 'Sorry, I didn''t get that. What can we help you with?', 'Perdón, no le entendí. ¿En qué le podemos ayudar?'),
        ('again_name', 'Sorry, what''s your name?', 'Perdón, ¿cuál es su nombre?'),
        ('again_address', 'Sorry, I need the street address with the house number, like "12 Elm St".',
                          'Perdón, necesito la dirección con el número de la casa, por ejemplo "12 Elm St".'),
        ('again_zip', 'Sorry, what''s the 5-digit ZIP code?', 'Perdón, ¿cuál es el código postal de 5 dígitos?'),
        ('again_slot', 'Sorry, which time?', 'Perdón, ¿qué hora le queda bien?'),
        ('thanks', 'Thanks!', '¡Gracias!'),
        ('thanks_name', 'Thanks, %s.', 'Gracias, %s.'),
        ('got_address', 'Got it: %s.', 'Anotado: %s.'),
        ('photo', 'Thanks for the photo, that helps.', 'Gracias por la foto, nos ayuda.'),
        ('price', 'I can''t quote prices by text; the technician will go over it with you.',
                  'No puedo dar precios por mensaje; el técnico lo revisará con usted.'),
        ('offer', 'I can book you in at: %s. Reply 1, 2 or 3 (or the day and time).',
                  'Puedo agendarle: %s. Responda 1, 2 o 3 (o el día y la hora).'),
        ('offer_others', 'Other times I can do: %s. Reply 1, 2 or 3 (or the day and time).',
                         'Otras horas disponibles: %s. Responda 1, 2 o 3 (o el día y la hora).'),
        ('offer_nearest', 'Nothing is open then; the nearest times are: %s. Reply 1, 2 or 3 (or the day and time).',
                          'No hay nada libre a esa hora; lo más cercano: %s. Responda 1, 2 o 3 (o el día y la hora).'),
        ('no_slots', 'Thanks! We have no open times in the next two weeks; someone from %s will text you to find one.',
                     '¡Gracias! No tenemos horas libres en las próximas dos semanas; alguien de %s le escribirá para buscar una.'),
        ('handoff', 'Sorry, I didn''t catch that. I''ll have someone from %s text you shortly.',
                    'Perdón, no le entendí. Alguien de %s le escribirá en breve.'),
        ('human', 'Sure, I''ll have someone from %s text you shortly.', 'Claro, alguien de %s le escribirá en breve.'),
        ('out_of_area', 'Sorry, %s doesn''t serve %s. We hope you find help quickly!',
                        'Lo sentimos, %s no da servicio en %s. ¡Esperamos que encuentre ayuda pronto!'),
        ('goodbye', 'No problem, sorry for the bother. Have a good day!', 'No hay problema, disculpe la molestia. ¡Que tenga buen día!'),
        ('disclosure', 'Hi, this is %s''s automated assistant.', 'Hola, soy el asistente automático de %s.'),
        ('confirmation', 'You''re booked with %s on %s%s. Reply here if anything changes.',
                         'Listo, tiene cita con %s el %s%s. Responda aquí si algo cambia.'),
        ('at', ' at ', ' en ')
    ) AS p(key, en, es)
     WHERE key = what
$$;
COMMENT ON FUNCTION nmc.intake_say(text, text) IS 'The phrasebook of the built-in assistant: what it says (a key such as ask_name, offer, handoff) in English or Spanish (''es''); %s marks where format() puts the details.';

CREATE FUNCTION nmc.time_words(ts timestamptz, tz text, lang text, long boolean)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
    SELECT CASE WHEN lang = 'es' THEN
               CASE WHEN long THEN (ARRAY['domingo', 'lunes', 'martes', 'miércoles', 'jueves', 'viernes', 'sábado'])[extract(dow FROM l)::int + 1]
                                   || ' ' || extract(day FROM l)::int || ' de '
                                   || (ARRAY['enero', 'febrero', 'marzo', 'abril', 'mayo', 'junio', 'julio', 'agosto', 'septiembre',
                                             'octubre', 'noviembre', 'diciembre'])[extract(month FROM l)::int]
                    ELSE (ARRAY['dom', 'lun', 'mar', 'mié', 'jue', 'vie', 'sáb'])[extract(dow FROM l)::int + 1]
                         || ' ' || extract(day FROM l)::int || ' '
                         || (ARRAY['ene', 'feb', 'mar', 'abr', 'may', 'jun', 'jul', 'ago', 'sep', 'oct', 'nov', 'dic'])[extract(month FROM l)::int] END
               || CASE WHEN extract(hour FROM l) IN (1, 13) THEN ' a la ' ELSE ' a las ' END
               || to_char(l, 'FMHH12:MI') || CASE WHEN extract(hour FROM l) < 12 THEN ' a. m.' ELSE ' p. m.' END
           ELSE to_char(l, CASE WHEN long THEN 'FMDay, FMMonth FMDD' ELSE 'Dy Mon FMDD' END) || ' at ' || nmc.format_time_of_day(l::time) END
      FROM (SELECT ts AT TIME ZONE tz AS l) x
$$;
COMMENT ON FUNCTION nmc.time_words(timestamptz, text, text, boolean) IS 'A moment in a time zone as a customer reads it, in English or Spanish (''es''); long: "Friday, March 6 at 2:30 PM" / "viernes 6 de marzo a las 2:30 p. m.", else "Fri Mar 6 at 2:30 PM" / "vie 6 mar a las 2:30 p. m.".';
