'use client';
// status/page.tsx — is it all working: database, the dispatcher (running,
// heartbeat, queue), the inbox of Twilio's webhooks (worker, waiting, failed),
// provider results over five minutes, a provider that is down (its circuit
// open) and how much of yours waits behind it, sandbox mode; in
// sandbox mode a button plays a missed call. Refreshed on load, on demand and
// when the feed reports a health change.
import { useCallback, useEffect, useState } from 'react';
import { errorText } from '../../../../components/FormStatus';
import { useLive } from '../../../../components/LiveProvider';
import { useSession } from '../../../../components/SessionProvider';
import { TestCall } from '../../../../components/TestCall';
import type { SystemStatus } from '../../../../lib/types';

function Row({ label, value, ok }: { label: string; value: React.ReactNode; ok?: boolean | 'warn' }) {
  return (
    <div className="status-row">
      <dt>{label}</dt>
      <dd>{ok !== undefined && <span className={`dot ${ok === 'warn' ? 'warn' : ok ? 'ok' : 'bad'}`} aria-hidden="true" />}{value}</dd>
    </div>
  );
}

export default function StatusPage() {
  const { api } = useSession();
  const { state, feedStatus } = useLive();
  const [s, setS] = useState<SystemStatus | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [trying, setTrying] = useState(false);
  const load = useCallback(() => { api.status().then((r) => { setS(r); setError(null); }).catch((x) => setError(errorText(x))); }, [api]);
  useEffect(load, [load, state.health]);

  return (
    <div className="page">
      <h1>System status</h1>
      {error && <p className="notice error" role="alert">{error}</p>}
      {s && (
        <dl className="card status">
          <Row label="Database" value={s.database === 'ok' ? 'OK' : s.database} ok={s.database === 'ok'} />
          <Row label="Live updates" value={feedStatus === 'live' ? 'Connected' : 'Reconnecting'} ok={feedStatus === 'live'} />
          <Row label="Sender (dispatcher)" value={s.dispatcher.running ? `Running · heartbeat ${s.dispatcher.heartbeat_age_seconds.toFixed(1)} s ago` : 'Not running'} ok={s.dispatcher.running} />
          <Row label="Queue" value={`${s.dispatcher.queued} queued · ${s.dispatcher.due} due · ${s.dispatcher.in_flight} in flight · oldest due ${s.dispatcher.oldest_due_age_seconds.toFixed(1)} s`} ok={s.dispatcher.oldest_due_age_seconds < 30} />
          <Row label="Calls and texts from Twilio (inbox)" value={s.inbox.running
            ? `Running · ${s.inbox.waiting} waiting${s.inbox.waiting > 0 ? ` (oldest ${s.inbox.oldest_waiting_age_seconds.toFixed(1)} s)` : ''}${s.inbox.failed > 0 ? ` · ${s.inbox.failed} could not be processed` : ''}`
            : 'Not running'} ok={!s.inbox.running ? false : s.inbox.failed > 0 || s.inbox.oldest_waiting_age_seconds >= 30 ? 'warn' : true} />
          <Row label="Mode" value={s.sandbox_mode ? 'Sandbox: texts are simulated' : 'Live: texts go out through Twilio'} ok={s.sandbox_mode ? 'warn' : true} />
          {Object.entries(s.providers ?? {}).filter(([, c]) => c.state === 'open').map(([name, c]) => (
            <Row key={`down-${name}`} label={`${name[0].toUpperCase()}${name.slice(1)} is down`}
              value={`since ${c.since ? new Date(c.since).toLocaleTimeString() : '?'} · ${c.waiting} of your ${c.waiting === 1 ? 'job waits' : 'jobs wait'} and will go out when it is back (texts older than an hour are not sent: you get a text to call back instead)`}
              ok={false} />
          ))}
          {Object.entries(s.providers_5m).map(([name, p]) => (
            <Row key={name} label={`${name[0].toUpperCase()}${name.slice(1)} (5 min)`} value={`${p.done} done · ${p.retries} retried · ${p.failures} failed`} ok={p.failures === 0} />
          ))}
        </dl>
      )}
      <button type="button" onClick={load}>Refresh</button>
      {s?.sandbox_mode && (
        <section className="card">
          <h2>Try it</h2>
          {trying ? <TestCall number={null} onFinish={() => setTrying(false)} /> : <button type="button" onClick={() => setTrying(true)}>Play a missed call</button>}
        </section>
      )}
    </div>
  );
}
