'use client';
// ServiceAreaForm.tsx — the ZIP codes the business serves (PATCH /api/business
// service_postal_codes). Empty means anywhere; the assistant politely declines
// jobs elsewhere and marks the lead out of area.
import { useEffect, useState } from 'react';
import { parsePostalCodes } from '../lib/format';
import { Field } from './Field';
import { errorText, FormStatus } from './FormStatus';
import { useLive } from './LiveProvider';
import { useSession } from './SessionProvider';

export function ServiceAreaForm() {
  const { api } = useSession();
  const { business, setBusiness } = useLive();
  const [text, setText] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);

  useEffect(() => { if (business && text === null) setText(business.service_postal_codes.join(', ')); }, [business, text]);
  if (text === null) return <p className="page-loading">Loading…</p>;

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    setError(null); setSaved(null);
    try {
      const r = await api.patchBusiness({ service_postal_codes: parsePostalCodes(text!) });
      setBusiness(r.business);
      setText(r.business.service_postal_codes.join(', '));
      setSaved('Saved.');
    } catch (x) {
      setError(errorText(x));
    }
  }

  return (
    <form className="form" onSubmit={submit} aria-label="Service area">
      <Field label="ZIP codes you serve" hint="Separated by commas or spaces. Leave empty to serve everywhere.">
        {(p) => <textarea {...p} rows={2} value={text} onChange={(e) => setText(e.target.value)} />}
      </Field>
      <button type="submit" className="primary">Save</button>
      <FormStatus error={error} saved={saved} />
    </form>
  );
}
