// serviceArea.test.ts — the service-area form: the API's bounds checked in the
// browser, empty fields clearing, and the API's field errors placed on a field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formFieldOfApiField, parseServiceArea, serviceAreaText } from '../lib/serviceArea';

const empty = { postal_codes: '', radius_km: '', lat: '', lng: '' };

test('empty: no ZIP limit, no radius, centre from the business address', () => {
  assert.deepEqual(parseServiceArea(empty, 500), {
    ok: true,
    patch: { service_postal_codes: [], service_radius_km: null, service_center: null },
  });
});

test('a radius with a centre, and ZIP codes as typed', () => {
  assert.deepEqual(parseServiceArea({ postal_codes: '78701 78702,78701', radius_km: ' 25 ', lat: '30.2672', lng: '-97.7431' }, 500), {
    ok: true,
    patch: { service_postal_codes: ['78701', '78702'], service_radius_km: 25, service_center: { lat: 30.2672, lng: -97.7431 } },
  });
});

test('radius bounds as the API: 0 to 500, 0 clears', () => {
  assert.deepEqual(parseServiceArea({ ...empty, radius_km: '0' }, 500), { ok: true, patch: { service_postal_codes: [], service_radius_km: null, service_center: null } });
  const max = parseServiceArea({ ...empty, radius_km: '500' }, 500);
  assert.ok(max.ok && max.patch.service_radius_km === 500);
  for (const bad of ['500.1', '-1', 'ten', '1e3', '2..5']) {
    const r = parseServiceArea({ ...empty, radius_km: bad }, 500);
    assert.ok(!r.ok && r.errors.radius_km, `${bad} is refused`);
  }
});

test('centre bounds: |lat| <= 90, |lng| <= 180, both or neither', () => {
  assert.ok(parseServiceArea({ ...empty, lat: '-90', lng: '180' }, 500).ok);
  assert.deepEqual(parseServiceArea({ ...empty, lat: '90.5', lng: '-180.5' }, 500), {
    ok: false,
    errors: { lat: 'Latitude is a number from -90 to 90.', lng: 'Longitude is a number from -180 to 180.' },
  });
  const onlyLat = parseServiceArea({ ...empty, lat: '30' }, 500);
  assert.ok(!onlyLat.ok && onlyLat.errors.lng && !onlyLat.errors.lat);
  const onlyLng = parseServiceArea({ ...empty, lng: '-97' }, 500);
  assert.ok(!onlyLng.ok && onlyLng.errors.lat && !onlyLng.errors.lng);
});

test('the business as the form shows it', () => {
  assert.deepEqual(serviceAreaText({ service_postal_codes: ['78701'], service_radius_km: 25.0, service_center: { lat: 30.2672, lng: -97.7431 } }),
    { postal_codes: '78701', radius_km: '25', lat: '30.2672', lng: '-97.7431' });
  assert.deepEqual(serviceAreaText({ service_postal_codes: [], service_radius_km: null, service_center: null }), empty);
});

test("the API's field errors land on a form field", () => {
  assert.equal(formFieldOfApiField('service_radius_km'), 'radius_km');
  assert.equal(formFieldOfApiField('service_center'), 'lat');
  assert.equal(formFieldOfApiField('service_postal_codes'), 'postal_codes');
  assert.equal(formFieldOfApiField('name'), null);
  assert.equal(formFieldOfApiField(undefined), null);
});
