'use client';
// forgot/page.tsx — a forgotten password: a code is texted to the owner's
// phone (POST /api/auth/password/forgot), then the code and a new password
// log the owner in (…/reset), which ends every other session of the account.
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { Field } from '../../components/Field';
import { errorText, FormStatus } from '../../components/FormStatus';
import { useSession } from '../../components/SessionProvider';

export default function ForgotPasswordPage() {
  const { api, logIn } = useSession();
  const router = useRouter();
  const [email, setEmail] = useState('');
  const [sent, setSent] = useState<string | null>(null);
  const [code, setCode] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function askForCode(e: React.FormEvent) {
    e.preventDefault();
    setBusy(true); setError(null);
    try {
      setSent((await api.forgotPassword(email)).message);
    } catch (err) {
      setError(errorText(err));
    }
    setBusy(false);
  }

  async function reset(e: React.FormEvent) {
    e.preventDefault();
    setBusy(true); setError(null);
    try {
      const r = await api.resetPassword(email, code, password);
      logIn(r.token);
      router.replace(r.user.preferences?.onboarded ? '/conversations' : '/onboarding');
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  }

  return (
    <main className="auth">
      <h1>NeverMissCall</h1>
      {!sent ? (
        <form onSubmit={askForCode} className="card" aria-labelledby="forgot-title">
          <h2 id="forgot-title">Forgot your password?</h2>
          <p className="hint">We text a code to your business&apos;s phone (the alert phone, or the phone calls are forwarded to).</p>
          <Field label="Email">{(p) => <input {...p} type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} />}</Field>
          <button type="submit" className="primary" disabled={busy}>{busy ? 'Sending…' : 'Text me a code'}</button>
          <FormStatus error={error} />
          <p><Link href="/login">Back to log in</Link></p>
        </form>
      ) : (
        <form onSubmit={reset} className="card" aria-labelledby="reset-title">
          <h2 id="reset-title">Set a new password</h2>
          <p className="notice">{sent}</p>
          <Field label="Code from the text">{(p) => <input {...p} inputMode="numeric" autoComplete="one-time-code" required value={code} onChange={(e) => setCode(e.target.value)} />}</Field>
          <Field label="New password">{(p) => <input {...p} type="password" autoComplete="new-password" minLength={8} required value={password} onChange={(e) => setPassword(e.target.value)} />}</Field>
          <p className="hint">Every other place you are logged in is signed out.</p>
          <button type="submit" className="primary" disabled={busy || code.length < 6 || password.length < 8}>{busy ? 'Saving…' : 'Save and log in'}</button>
          <FormStatus error={error} />
        </form>
      )}
    </main>
  );
}
