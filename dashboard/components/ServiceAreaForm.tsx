'use client';
// ServiceAreaForm.tsx — where the business works (PATCH /api/business): the ZIP
// codes it serves and/or a radius in km around a centre (lat, lng; empty: the
// business address). The assistant politely declines jobs outside and marks the
// lead out of area. Bounds are checked first in the browser (lib/serviceArea.ts),
// and the API's own field errors show next to their field.
import { useEffect, useId, useState } from 'react';
import { ApiError } from '../lib/api';
import { formFieldOfApiField, parseServiceArea, serviceAreaText, type ServiceAreaErrors, type ServiceAreaText } from '../lib/serviceArea';
import { Field } from './Field';
import { errorText, FormStatus } from './FormStatus';
import { useLive } from './LiveProvider';
import { useSession } from './SessionProvider';
import { useMeta } from './useMeta';

const NUMBER_FIELDS = ['radius_km', 'lat', 'lng'] as const;

export function ServiceAreaForm() {
  const { api } = useSession();
  const { business, setBusiness } = useLive();
  const [f, setF] = useState<ServiceAreaText | null>(null);
  const [errors, setErrors] = useState<ServiceAreaErrors>({});
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const centreHint = useId();
  // Until GET /api/meta answers, the API alone checks the radius.
  const maxRadiusKm = useMeta()?.limits.service_radius_km_max ?? Infinity;

  useEffect(() => { if (business && !f) setF(serviceAreaText(business)); }, [business, f]);
  if (!f) return <p className="page-loading">Loading…</p>;
  const set = (k: keyof ServiceAreaText) => (e: React.ChangeEvent<HTMLInputElement | HTMLTextAreaElement>) => setF({ ...f, [k]: e.target.value });

  async function submit(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setError(null); setSaved(null);
    // A number input holds '' for text it cannot read: keep it from reading as "empty".
    const form = e.currentTarget;
    const typed = { ...f! };
    for (const k of NUMBER_FIELDS) if ((form.elements.namedItem(k) as HTMLInputElement | null)?.validity.badInput) typed[k] = '?';
    const parsed = parseServiceArea(typed, maxRadiusKm);
    if (!parsed.ok) { setErrors(parsed.errors); return; }
    setErrors({}); setBusy(true);
    try {
      const r = await api.patchBusiness(parsed.patch);
      setBusiness(r.business);
      setF(serviceAreaText(r.business));
      setSaved('Saved.');
    } catch (x) {
      const k = x instanceof ApiError ? formFieldOfApiField(x.field) : null;
      if (k) setErrors({ [k]: (x as ApiError).message });
      else setError(errorText(x));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="form" onSubmit={submit} noValidate aria-label="Service area">
      <p className="hint">The assistant checks each job&apos;s address against your ZIP codes and/or the radius: inside either one is in.</p>
      <Field label="ZIP codes you serve" hint="Separated by commas or spaces. Leave empty to serve everywhere." error={errors.postal_codes}>
        {(p) => <textarea {...p} rows={2} value={f.postal_codes} onChange={set('postal_codes')} />}
      </Field>
      <Field label="Radius (km)" hint={Number.isFinite(maxRadiusKm) ? `Up to ${maxRadiusKm} km. Empty or 0: no radius.` : "Empty or 0: no radius."} error={errors.radius_km}>
        {(p) => <input {...p} name="radius_km" type="number" inputMode="decimal" min={0} max={Number.isFinite(maxRadiusKm) ? maxRadiusKm : undefined} step={0.1} value={f.radius_km} onChange={set('radius_km')} />}
      </Field>
      <fieldset className="plain" aria-describedby={centreHint}>
        <legend>Centre of the radius (optional)</legend>
        <div className="row">
          <Field label="Latitude" error={errors.lat}>
            {(p) => <input {...p} name="lat" type="number" min={-90} max={90} step="any" value={f.lat} onChange={set('lat')} />}
          </Field>
          <Field label="Longitude" error={errors.lng}>
            {(p) => <input {...p} name="lng" type="number" min={-180} max={180} step="any" value={f.lng} onChange={set('lng')} />}
          </Field>
        </div>
        <p className="hint" id={centreHint}>Leave both empty to use your business address.</p>
      </fieldset>
      <button type="submit" className="primary" disabled={busy}>{busy ? 'Saving…' : 'Save'}</button>
      <FormStatus error={error} saved={saved} />
    </form>
  );
}
