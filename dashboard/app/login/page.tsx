'use client';
// login/page.tsx — log in with email and password; the token is kept by
// SessionProvider. Says why when a previous session ended.
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { Field } from '../../components/Field';
import { errorText, FormStatus } from '../../components/FormStatus';
import { useSession } from '../../components/SessionProvider';

export default function LoginPage() {
  const { api, logIn, endedBecause } = useSession();
  const router = useRouter();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const r = await api.login(email, password);
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
      <form onSubmit={submit} className="card" aria-labelledby="login-title">
        <h2 id="login-title">Log in</h2>
        {endedBecause && <p className="notice">{endedBecause}</p>}
        <Field label="Email">{(p) => <input {...p} type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} />}</Field>
        <Field label="Password">{(p) => <input {...p} type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />}</Field>
        <button type="submit" className="primary" disabled={busy}>{busy ? 'Logging in…' : 'Log in'}</button>
        <FormStatus error={error} />
        <p>New here? <Link href="/signup">Create an account</Link></p>
      </form>
    </main>
  );
}
