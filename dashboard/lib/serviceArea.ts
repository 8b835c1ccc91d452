// serviceArea.ts — the service-area form's values to and from the API
// (PATCH /api/business service_postal_codes, service_radius_km, service_center):
// the same bounds the API checks (radius 0 up to GET /api/meta's
// limits.service_radius_km_max km, 0 or empty: no radius; a
// centre is both |lat| ≤ 90 and |lng| ≤ 180, or neither: the business address),
// checked in the browser first so the owner sees what is wrong at once.
import { parsePostalCodes } from './format';
import type { Business } from './types';

/** What the form holds: strings, as typed. */
export interface ServiceAreaText {
  postal_codes: string;
  radius_km: string;
  lat: string;
  lng: string;
}

export interface ServiceAreaPatch {
  service_postal_codes: string[];
  service_radius_km: number | null;
  service_center: { lat: number; lng: number } | null;
}

/** Field errors, keyed by the form's field (lat and lng stand for service_center's parts). */
export type ServiceAreaErrors = Partial<Record<keyof ServiceAreaText, string>>;

export type ServiceAreaResult = { ok: true; patch: ServiceAreaPatch } | { ok: false; errors: ServiceAreaErrors };

/** The business's service area as the form shows it. */
export function serviceAreaText(b: Pick<Business, 'service_postal_codes' | 'service_radius_km' | 'service_center'>): ServiceAreaText {
  return {
    postal_codes: (b.service_postal_codes ?? []).join(', '),
    radius_km: b.service_radius_km == null ? '' : String(Number(b.service_radius_km)),
    lat: b.service_center ? String(b.service_center.lat) : '',
    lng: b.service_center ? String(b.service_center.lng) : '',
  };
}

/** A number as typed ("25", " 25.5 ", "-97.74"); null when empty, NaN when not a number. */
function parseNumber(s: string): number | null {
  const t = s.trim();
  if (t === '') return null;
  return /^[+-]?(\d+\.?\d*|\.\d+)$/.test(t) ? Number(t) : NaN;
}

/** The form's text → the PATCH body, or the errors to show next to each field. */
export function parseServiceArea(f: ServiceAreaText, maxRadiusKm: number): ServiceAreaResult {
  const errors: ServiceAreaErrors = {};
  const radius = parseNumber(f.radius_km);
  if (radius !== null && !(radius >= 0 && radius <= maxRadiusKm)) {
    errors.radius_km = `Enter a radius from 0 to ${maxRadiusKm} km (0 or empty: no radius).`;
  }
  const lat = parseNumber(f.lat);
  const lng = parseNumber(f.lng);
  if (lat !== null && !(Math.abs(lat) <= 90)) errors.lat = 'Latitude is a number from -90 to 90.';
  if (lng !== null && !(Math.abs(lng) <= 180)) errors.lng = 'Longitude is a number from -180 to 180.';
  if (lat === null && lng !== null) errors.lat = 'Enter the latitude too, or leave both empty.';
  if (lng === null && lat !== null) errors.lng = 'Enter the longitude too, or leave both empty.';
  if (Object.keys(errors).length) return { ok: false, errors };
  return {
    ok: true,
    patch: {
      service_postal_codes: parsePostalCodes(f.postal_codes),
      service_radius_km: radius ? radius : null,
      service_center: lat !== null && lng !== null ? { lat, lng } : null,
    },
  };
}

/** Which form field shows an API field error (service_center's goes under the latitude). */
export function formFieldOfApiField(field: string | undefined): keyof ServiceAreaText | null {
  switch (field) {
    case 'service_postal_codes': return 'postal_codes';
    case 'service_radius_km': return 'radius_km';
    case 'service_center': return 'lat';
    default: return null;
  }
}
