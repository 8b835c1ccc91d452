'use client';
// login/page.tsx — log in with email and password; the token is kept by
// SessionProvider. Says why when a previous session ended. Sends this
// browser's device token (lib/devices.ts), so a known device is let in while
// someone guessing the email has it throttled; on a new device that must wait,
// offers a sign-in code texted to the business's phone.
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { Field } from '../../components/Field';
import { errorText, FormStatus } from '../../components/FormStatus';
import { useSession } from '../../components/SessionProvider';
import { ApiError } from '../../lib/api';
import { deviceFor, rememberDevice } from '../../lib/devices';

export default function LoginPage() {
  const { api, logIn, endedBecause } = useSession();
  const router = useRouter();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [throttled, setThrottled] = useState(false);
  const [codeSent, setCodeSent] = useState<string | null>(null);
  const [code, setCode] = useState('');

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const r = await api.login(email, password, { device: deviceFor(localStorage, email), loginCode: codeSent ? code : undefined });
      rememberDevice(localStorage, email, r.device);
      logIn(r.token);
      router.replace(r.user.preferences?.onboarded ? '/conversations' : '/onboarding');
    } catch (err) {
      if (err instanceof ApiError && err.status === 429) setThrottled(true);
      setError(errorText(err));
      setBusy(false);
    }
  }

  async function askForCode() {
    setBusy(true);
    setError(null);
    try {
      const r = await api.requestLoginCode(email);
      setCodeSent(r.message);
    } catch (err) {
      setError(errorText(err));
    }
    setBusy(false);
  }

  return (
    <main className="auth">
      <h1>NeverMissCall</h1>
      <form onSubmit={submit} className="card" aria-labelledby="login-title">
        <h2 id="login-title">Log in</h2>
        {endedBecause && <p className="notice">{endedBecause}</p>}
        <Field label="Email">{(p) => <input {...p} type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} />}</Field>
        <Field label="Password">{(p) => <input {...p} type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />}</Field>
        {codeSent && (
          <>
            <p className="notice">{codeSent}</p>
            <Field label="Sign-in code">{(p) => <input {...p} inputMode="numeric" autoComplete="one-time-code" pattern="[0-9 ]{6,7}" required value={code} onChange={(e) => setCode(e.target.value)} />}</Field>
          </>
        )}
        <button type="submit" className="primary" disabled={busy}>{busy ? 'Logging in…' : 'Log in'}</button>
        <FormStatus error={error} />
        {throttled && !codeSent && (
          <p>
            Can&apos;t wait? <button type="button" onClick={askForCode} disabled={busy || !email}>Text me a sign-in code</button>
          </p>
        )}
        <p><Link href="/forgot">Forgot your password?</Link></p>
        <p>New here? <Link href="/signup">Create an account</Link></p>
      </form>
    </main>
  );
}
