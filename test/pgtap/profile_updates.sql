-- profile_updates.sql — GET/PATCH /api/me and /api/business: partial updates,
-- phone normalisation on the forward-to number, and named-field errors that
-- change nothing.
BEGIN;
SELECT plan(26);
SET LOCAL ROLE nmc_edge;
CREATE TEMP TABLE s AS SELECT nmc_test.register('pat@example.com', 'Pat HVAC') ->> 'token' AS token;

CREATE FUNCTION pg_temp.call(method text, path text, body jsonb DEFAULT NULL)
RETURNS TABLE (status int, body jsonb, headers text) LANGUAGE sql AS $$
    SELECT x.* FROM s, LATERAL nmc_test.api(method, path, body, s.token) x $$;
CREATE FUNCTION pg_temp.err(method text, path text, body jsonb) RETURNS text LANGUAGE sql AS $$
    SELECT status || ' ' || (body #>> '{error,code}') || ' ' || coalesce(body #>> '{error,field}', '-') FROM pg_temp.call(method, path, body) $$;

SELECT is((SELECT body #>> '{user,email}' FROM pg_temp.call('GET', '/api/me')), 'pat@example.com', 'GET /api/me');
SELECT is((SELECT body -> 'user' -> 'preferences' FROM pg_temp.call('PATCH', '/api/me', '{"preferences":{"sound":false}}')),
          '{"sound": false}'::jsonb, 'PATCH /api/me sets a preference');
SELECT is((SELECT body -> 'user' -> 'preferences' FROM pg_temp.call('PATCH', '/api/me', '{"name":"Pat Q","preferences":{"browser_notifications":true}}')),
          '{"sound": false, "browser_notifications": true}'::jsonb, 'preferences merge: other keys are kept');
SELECT is((SELECT body #>> '{user,name}' FROM pg_temp.call('GET', '/api/me')), 'Pat Q', 'the name change persisted');
SELECT is(pg_temp.err('PATCH', '/api/me', '{"preferences":[1]}'), '400 invalid_field preferences', 'preferences must be an object');
SELECT is(pg_temp.err('PATCH', '/api/me', '{"email":"x@example.com"}'), '400 unknown_field email', 'email cannot be changed here');

SELECT is((SELECT body #>> '{business,trade_type}' FROM pg_temp.call('GET', '/api/business')), 'plumbing', 'GET /api/business');
SELECT is((SELECT body -> 'business' FROM pg_temp.call('PATCH', '/api/business',
             '{"trade_type":"hvac","address_line1":"1 Main St","city":"Austin","region":"TX","postal_code":"78701","forward_to_phone":"(512) 555-0143","timezone":"America/Chicago"}'))
          - ARRAY['id', 'name', 'created_at', 'updated_at', 'address_line2', 'country', 'ring_timeout_seconds', 'min_ring_seconds',
                  'repeat_window_seconds', 'human_window_seconds', 'max_reply_segments', 'after_hours_message', 'help_text',
                  'appointment_minutes', 'safety_advice', 'ai_disclosure', 'service_postal_codes', 'max_ai_segments',
                  'service_radius_km', 'service_center', 'emergency_sms_to_owner', 'reminder_day_before', 'reminder_hours_before', 'voicemail_enabled', 'appointment_buffer_minutes'],
          '{"trade_type":"hvac","address_line1":"1 Main St","city":"Austin","region":"TX","postal_code":"78701","forward_to_phone":"+15125550143","timezone":"America/Chicago"}'::jsonb,
          'PATCH /api/business updates the profile and normalises the phone to E.164');
SELECT is(pg_temp.err('PATCH', '/api/business', '{"forward_to_phone":"555-0143"}'), '400 invalid_phone forward_to_phone', 'invalid forward-to phone names the field');
SELECT is(pg_temp.err('PATCH', '/api/business', '{"timezone":"Central"}'), '400 invalid_timezone timezone', 'unknown time zone');
SELECT is(pg_temp.err('PATCH', '/api/business', '{"trade_type":"wizardry"}'), '400 invalid_trade_type trade_type', 'unknown trade');
SELECT is(pg_temp.err('PATCH', '/api/business', '{"name":""}'), '400 invalid_field name', 'empty business name');
SELECT is(pg_temp.err('PATCH', '/api/business', '{"country":"USA"}'), '400 invalid_field country', 'country must be two letters');
SELECT is(pg_temp.err('PATCH', '/api/business', '{"city":"Dallas","forward_to_phone":"bad"}'), '400 invalid_phone forward_to_phone',
          'one bad field refuses the whole update');
SELECT is((SELECT body #>> '{business,city}' FROM pg_temp.call('GET', '/api/business')), 'Austin', '… and nothing of it was written');
SELECT is((SELECT body #>> '{business,forward_to_phone}' FROM pg_temp.call('PATCH', '/api/business', '{"forward_to_phone":"","address_line1":""}')),
          NULL, 'an empty optional field clears it');
SELECT is((SELECT (body #>> '{business,ring_timeout_seconds}') || '/' || (body #>> '{business,min_ring_seconds}') || '/' || (body #>> '{business,human_window_seconds}')
             FROM pg_temp.call('PATCH', '/api/business', '{"ring_timeout_seconds":25,"min_ring_seconds":3,"human_window_seconds":90}')),
          '25/3/90', 'call handling settings are part of the profile');
SELECT is(pg_temp.err('PATCH', '/api/business', '{"ring_timeout_seconds":2}'), '400 invalid_field ring_timeout_seconds', 'Twilio rings at least 5 s');
SELECT is(pg_temp.err('PATCH', '/api/business', '{"human_window_seconds":"60"}'), '400 invalid_field human_window_seconds', 'numbers must be numbers');

-- The radius service area and the owner's emergency text.
SELECT is((SELECT body -> 'business' -> 'service_radius_km' FROM pg_temp.call('PATCH', '/api/business',
             '{"service_radius_km": 25.04, "service_center": {"lat": 30.2672, "lng": -97.7431}}')),
          '25.0'::jsonb, 'a service radius is kept in km (one decimal)');
SELECT is((SELECT body -> 'business' -> 'service_center' FROM pg_temp.call('GET', '/api/business')),
          '{"lat": 30.2672, "lng": -97.7431}'::jsonb, '… around the centre given');
SELECT is((SELECT body #>> '{error,field}' FROM pg_temp.call('PATCH', '/api/business', '{"service_radius_km": 900}')),
          'service_radius_km', 'a radius over 500 km is refused');
SELECT is((SELECT body #>> '{error,field}' FROM pg_temp.call('PATCH', '/api/business', '{"service_center": {"lat": 95, "lng": 0}}')),
          'service_center', 'a centre off the globe is refused');
SELECT is((SELECT body #>> '{error,field}' FROM pg_temp.call('PATCH', '/api/business', '{"emergency_sms_to_owner": "yes"}')),
          'emergency_sms_to_owner', 'the emergency text switch must be true or false');
SELECT is((SELECT jsonb_build_object('r', b -> 'service_radius_km', 'c', b -> 'service_center', 'e', b -> 'emergency_sms_to_owner')
             FROM (SELECT body -> 'business' AS b FROM pg_temp.call('GET', '/api/business')) x),
          '{"r": 25.0, "c": {"lat": 30.2672, "lng": -97.7431}, "e": true}'::jsonb, '… and refused updates wrote nothing');
SELECT is((SELECT body -> 'business' -> 'emergency_sms_to_owner' FROM pg_temp.call('PATCH', '/api/business', '{"emergency_sms_to_owner": false}')),
          'false'::jsonb, 'the emergency text to the owner can be switched off');

SELECT * FROM finish();
ROLLBACK;
