'use client';
// signup/page.tsx — create the owner's account and business in one form, then
// straight into the onboarding wizard. The timezone comes from the browser.
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useEffect, useState } from 'react';
import { Field } from '../../components/Field';
import { errorText, FormStatus } from '../../components/FormStatus';
import { useSession } from '../../components/SessionProvider';
import { ApiError } from '../../lib/api';
import type { TradeType } from '../../lib/types';

export default function SignupPage() {
  const { api, logIn } = useSession();
  const router = useRouter();
  const [trades, setTrades] = useState<TradeType[]>([]);
  const [f, setF] = useState({ name: '', email: '', password: '', business_name: '', trade_type: 'plumbing' });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [fieldError, setFieldError] = useState<{ field?: string; message: string } | null>(null);

  useEffect(() => { api.tradeTypes().then((r) => setTrades(r.trade_types)).catch(() => setTrades([])); }, [api]);
  const set = (k: keyof typeof f) => (e: React.ChangeEvent<HTMLInputElement | HTMLSelectElement>) => setF({ ...f, [k]: e.target.value });
  const errFor = (k: string) => (fieldError?.field === k ? fieldError.message : null);

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setFieldError(null);
    try {
      const timezone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
      const r = await api.register({ ...f, timezone });
      logIn(r.token);
      router.replace('/onboarding');
    } catch (err) {
      if (err instanceof ApiError && err.field) setFieldError({ field: err.field, message: err.message });
      else setError(errorText(err));
      setBusy(false);
    }
  }

  return (
    <main className="auth">
      <h1>NeverMissCall</h1>
      <form onSubmit={submit} className="card" aria-labelledby="signup-title">
        <h2 id="signup-title">Never miss a job again</h2>
        <p className="hint">Missed calls get a text within seconds. Set up takes about two minutes.</p>
        <Field label="Your name" error={errFor('name')}>{(p) => <input {...p} name="name" autoComplete="name" required value={f.name} onChange={set('name')} />}</Field>
        <Field label="Business name" error={errFor('business_name')}>{(p) => <input {...p} name="business_name" autoComplete="organization" required value={f.business_name} onChange={set('business_name')} />}</Field>
        <Field label="Trade" error={errFor('trade_type')}>{(p) => (
          <select {...p} name="trade_type" value={f.trade_type} onChange={set('trade_type')}>
            {(trades.length ? trades : [{ code: 'plumbing', label: 'Plumbing' }]).map((t) => <option key={t.code} value={t.code}>{t.label}</option>)}
          </select>
        )}</Field>
        <Field label="Email" error={errFor('email')}>{(p) => <input {...p} name="email" type="email" autoComplete="email" required value={f.email} onChange={set('email')} />}</Field>
        <Field label="Password" hint="At least 8 characters." error={errFor('password')}>{(p) => (
          <input {...p} name="password" type="password" autoComplete="new-password" minLength={8} required value={f.password} onChange={set('password')} />
        )}</Field>
        <button type="submit" className="primary" disabled={busy}>{busy ? 'Creating your account…' : 'Create account'}</button>
        <FormStatus error={error} />
        <p>Already have an account? <Link href="/login">Log in</Link></p>
      </form>
    </main>
  );
}
