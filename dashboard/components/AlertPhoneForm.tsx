'use client';
// AlertPhoneForm.tsx — texts to the owner's phone away from the dashboard
// (GET/PATCH /api/business/alerts): the phone, proved by a texted code; which
// alerts go to it; quiet hours in the business's time zone (emergencies still
// go through); how to answer customers by replying to an alert; and a warning
// when the phone texted STOP. Saved on each change, like the other alerts.
import { useEffect, useId, useState } from 'react';
import { clockTime, dayLabel, formatPhone } from '../lib/format';
import { ALERT_KINDS, type AlertKind, type AlertSettings } from '../lib/types';
import { Field } from './Field';
import { errorText, FormStatus } from './FormStatus';
import { useSession } from './SessionProvider';

export function AlertPhoneForm() {
  const { api } = useSession();
  const [a, setA] = useState<AlertSettings | null>(null);
  const [phone, setPhone] = useState('');
  const [codeSent, setCodeSent] = useState(false);
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const hint = useId();

  useEffect(() => {
    api.alerts().then((r) => { setA(r.alerts); setPhone(r.alerts.phone ?? ''); }).catch((x) => setError(errorText(x)));
  }, [api]);
  if (!a) return error ? <FormStatus error={error} /> : <p className="page-loading">Loading…</p>;

  async function run(fn: () => Promise<{ alerts: AlertSettings }>, done: string) {
    setBusy(true); setError(null); setSaved(null);
    try {
      const r = await fn();
      setA(r.alerts);
      setSaved(done);
      return true;
    } catch (x) {
      setError(errorText(x));
      return false;
    } finally {
      setBusy(false);
    }
  }
  const sendCode = async () => { if (await run(() => api.setAlertPhone(phone), 'A code is on its way to that phone.')) setCodeSent(true); };
  const verify = async () => { if (await run(() => api.verifyAlertPhone(code), 'Verified: alerts go to this phone.')) { setCodeSent(false); setCode(''); } };
  const toggle = (kind: AlertKind, on: boolean) => run(() => api.patchAlerts({
    kinds: on ? [...a.kinds, kind] : a.kinds.filter((k) => k !== kind) }), 'Saved.');
  const quiet = (start: string, end: string) => run(() => api.patchAlerts({ quiet_hours: start && end ? { start, end } : null }), 'Saved.');

  return (
    <div className="form" role="group" aria-label="Alerts by text">
      {a.stopped && (
        <p className="warning" role="alert">
          {formatPhone(a.stopped.phone)} texted STOP to your number on {dayLabel(a.stopped.at)} at {clockTime(a.stopped.at)}: no alert, not even an
          emergency, is texted to it until it texts START to your number.
        </p>
      )}
      <p className="hint" id={hint}>
        {a.verified
          ? `Alerts are texted to ${formatPhone(a.phone)}.`
          : 'Get a text on your phone when it is your turn to answer — verify the phone first.'}
      </p>
      <Field label="Alert phone">{(p) => <input {...p} type="tel" autoComplete="tel" value={phone} aria-describedby={hint}
        onChange={(e) => { setPhone(e.target.value); setCodeSent(false); }} />}</Field>
      {!a.verified || phone !== (a.phone ?? '') ? (
        <button type="button" disabled={busy || !phone} onClick={sendCode}>Text me a code</button>
      ) : null}
      {codeSent && (
        <>
          <Field label="Code from the text">{(p) => <input {...p} inputMode="numeric" autoComplete="one-time-code" value={code}
            onChange={(e) => setCode(e.target.value)} />}</Field>
          <button type="button" className="primary" disabled={busy || code.length < 6} onClick={verify}>Verify</button>
        </>
      )}
      <fieldset disabled={!a.verified || busy}>
        <legend>Text me when</legend>
        {ALERT_KINDS.map(({ kind, label }) => (
          <label key={kind} className="check">
            <input type="checkbox" name={`alert_${kind}`} checked={a.kinds.includes(kind)} onChange={(e) => toggle(kind, e.target.checked)} />
            {label}
          </label>
        ))}
      </fieldset>
      <fieldset disabled={!a.verified || busy}>
        <legend>Quiet hours (emergencies still come through)</legend>
        <QuietHours value={a.quiet_hours} onChange={quiet} />
      </fieldset>
      {a.verified && (
        <details className="hint">
          <summary>Answer customers by replying to an alert</summary>
          <p>
            Your reply goes to the customer the latest alert named, from your business number, and you take the
            conversation over (the assistant stays silent). Alerts start with a number: begin with it to answer another
            customer, e.g. <q>#3 On my way</q>. If a second customer&apos;s alert came just before your reply, nothing is sent
            and you are asked which. Reply <q>AI</q> to hand the conversation back to the assistant, <q>NUMBER</q> for the
            customer&apos;s number, <q>HELP</q> for these rules.
          </p>
        </details>
      )}
      <FormStatus error={error} saved={saved} />
    </div>
  );
}

function QuietHours({ value, onChange }: { value: AlertSettings['quiet_hours']; onChange: (start: string, end: string) => void }) {
  const [start, setStart] = useState(value?.start ?? '');
  const [end, setEnd] = useState(value?.end ?? '');
  return (
    <div className="inline">
      <Field label="From">{(p) => <input {...p} type="time" value={start} onChange={(e) => setStart(e.target.value)} />}</Field>
      <Field label="To">{(p) => <input {...p} type="time" value={end} onChange={(e) => setEnd(e.target.value)} />}</Field>
      <button type="button" onClick={() => onChange(start, end)}>Save quiet hours</button>
      {value && <button type="button" className="link" onClick={() => { setStart(''); setEnd(''); onChange('', ''); }}>No quiet hours</button>}
    </div>
  );
}
