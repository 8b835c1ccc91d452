'use client';
// AssistantForm.tsx — how long the owner has to answer before the assistant
// does (human window), how the assistant introduces itself (AI disclosure) and
// the safety advice sent at once when a text reports danger (PATCH /api/business).
import { useEffect, useState } from 'react';
import { ApiError } from '../lib/api';
import { Field } from './Field';
import { errorText, FormStatus } from './FormStatus';
import { useLive } from './LiveProvider';
import { useSession } from './SessionProvider';

export function AssistantForm() {
  const { api } = useSession();
  const { business, setBusiness } = useLive();
  const [f, setF] = useState<{ human_window_seconds: string; ai_disclosure: string; safety_advice: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [fieldErr, setFieldErr] = useState<{ field?: string; message: string } | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (business && !f) setF({ human_window_seconds: String(business.human_window_seconds), ai_disclosure: business.ai_disclosure, safety_advice: business.safety_advice });
  }, [business, f]);
  if (!f) return <p className="page-loading">Loading…</p>;
  const err = (k: string) => (fieldErr?.field === k ? fieldErr.message : null);

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    setBusy(true); setError(null); setFieldErr(null); setSaved(null);
    try {
      const r = await api.patchBusiness({ human_window_seconds: Number(f!.human_window_seconds), ai_disclosure: f!.ai_disclosure, safety_advice: f!.safety_advice });
      setBusiness(r.business);
      setF({ human_window_seconds: String(r.business.human_window_seconds), ai_disclosure: r.business.ai_disclosure, safety_advice: r.business.safety_advice });
      setSaved('Saved.');
    } catch (x) {
      if (x instanceof ApiError && x.field) setFieldErr({ field: x.field, message: x.message });
      else setError(errorText(x));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="form" onSubmit={submit} aria-label="Assistant">
      <Field label="Seconds you have to answer before the assistant does" error={err('human_window_seconds')}>
        {(p) => <input {...p} name="human_window_seconds" type="number" min={0} step={5} required value={f.human_window_seconds} onChange={(e) => setF({ ...f, human_window_seconds: e.target.value })} />}
      </Field>
      <Field label="How the assistant introduces itself" hint="Sent before its first text. Empty restores the default." error={err('ai_disclosure')}>
        {(p) => <textarea {...p} rows={2} value={f.ai_disclosure} onChange={(e) => setF({ ...f, ai_disclosure: e.target.value })} />}
      </Field>
      <Field label="Safety advice" hint="Sent at once when a customer reports danger (gas, smoke, sparks…)." error={err('safety_advice')}>
        {(p) => <textarea {...p} rows={3} value={f.safety_advice} onChange={(e) => setF({ ...f, safety_advice: e.target.value })} />}
      </Field>
      <button type="submit" className="primary" disabled={busy}>{busy ? 'Saving…' : 'Save'}</button>
      <FormStatus error={error} saved={saved} />
    </form>
  );
}
