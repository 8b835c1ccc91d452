'use client';
// NumberPicker.tsx — getting the business its texting number: search by area
// code, pick one, buy it. Both are jobs run by the dispatcher (POST then poll
// GET /api/jobs/{id}), so every state shows: searching, none found, buying,
// bought, failed with the reason and a way to retry. A number the owner's
// Twilio account already has is the other way in (OwnedNumberPicker); once
// attached, the webhooks it had before show with it, and it can be given back
// (DetachNumber).
import { useEffect, useState } from 'react';
import type { AvailableNumber, Job, PhoneNumber } from '../lib/types';
import { formatPhone } from '../lib/format';
import { webhookLines } from '../lib/ownedNumbers';
import { Field } from './Field';
import { errorText } from './FormStatus';
import { useLive } from './LiveProvider';
import { DetachNumber } from './DetachNumber';
import { OwnedNumberPicker } from './OwnedNumberPicker';
import { useSession } from './SessionProvider';

type Phase =
  | { kind: 'idle' } | { kind: 'searching' } | { kind: 'results'; numbers: AvailableNumber[] }
  | { kind: 'buying'; phone: string } | { kind: 'failed'; message: string; retry: 'search' | 'buy' };

/** A phone screen shows the first few; the rest on request. */
const FIRST_SHOWN = 5;

function jobFailure(j: Job): string {
  return j.error ?? `The request ended as ${j.status}${j.error_code ? ` (${j.error_code})` : ''}.`;
}

export function NumberPicker({ onDone }: { onDone?: (n: PhoneNumber) => void }) {
  const { api } = useSession();
  const { business } = useLive();
  const [owned, setOwned] = useState<PhoneNumber[] | null>(null);
  const [area, setArea] = useState('');
  const [picked, setPicked] = useState<string | null>(null);
  const [phase, setPhase] = useState<Phase>({ kind: 'idle' });
  const [showAll, setShowAll] = useState(false);

  useEffect(() => { api.phoneNumbers().then((r) => setOwned(r.phone_numbers)).catch(() => setOwned([])); }, [api]);
  async function reload() {
    const r = await api.phoneNumbers();
    setOwned(r.phone_numbers);
    return r.phone_numbers;
  }
  useEffect(() => {
    const m = /^\+1(\d{3})/.exec(business?.forward_to_phone ?? '');
    if (m && !area) setArea(m[1]);
  }, [business, area]);

  async function search(e?: React.FormEvent) {
    e?.preventDefault();
    setPhase({ kind: 'searching' }); setPicked(null); setShowAll(false);
    try {
      const { job } = await api.searchNumbers(area);
      const done = await api.waitForJob<{ numbers: AvailableNumber[] }>(job.id);
      if (done.status !== 'done') { setPhase({ kind: 'failed', message: jobFailure(done), retry: 'search' }); return; }
      const numbers = done.result?.numbers ?? [];
      setPhase({ kind: 'results', numbers });
      if (numbers.length) setPicked(numbers[0].phone_number);
    } catch (x) {
      setPhase({ kind: 'failed', message: errorText(x), retry: 'search' });
    }
  }

  async function buy() {
    if (!picked) return;
    setPhase({ kind: 'buying', phone: picked });
    try {
      const { job } = await api.buyNumber(picked);
      const done = await api.waitForJob(job.id);
      if (done.status !== 'done') { setPhase({ kind: 'failed', message: jobFailure(done), retry: 'buy' }); return; }
      const numbers = await reload();
      setPhase({ kind: 'idle' });
      const mine = numbers.find((n) => n.phone === picked) ?? numbers[0];
      if (mine) onDone?.(mine);
    } catch (x) {
      setPhase({ kind: 'failed', message: errorText(x), retry: 'buy' });
    }
  }

  if (owned === null) return <p className="page-loading">Loading…</p>;
  if (owned.length > 0) {
    const earlier = webhookLines(owned[0].previous_webhooks);
    return (
      <div className="form">
        <p>Your texting number: <strong data-testid="owned-number">{formatPhone(owned[0].phone)}</strong>{owned[0].simulated && ' (simulated: sandbox mode)'}</p>
        {owned[0].previous_webhooks && (
          <div className="previous-webhooks" data-testid="previous-webhooks">
            <p className="hint">Your own Twilio number. Before, it was set up like this — kept, and put back if you stop using it here:</p>
            {earlier.length ? (
              <ul>{earlier.map((l) => <li key={l.what}>{l.what}: <code>{l.method} {l.url}</code></li>)}</ul>
            ) : <p className="hint">No webhooks.</p>}
            <DetachNumber number={owned[0]} onDetached={async () => { await reload(); }} />
          </div>
        )}
        {onDone && <button type="button" className="primary" onClick={() => onDone(owned[0])}>Continue</button>}
      </div>
    );
  }

  const busy = phase.kind === 'searching' || phase.kind === 'buying';
  return (
    <div className="form">
      <h3>A new number</h3>
      <form onSubmit={search} className="inline-form" aria-label="Search numbers">
        <Field label="Area code (customers trust a local number)">
          {(p) => <input {...p} name="area_code" inputMode="numeric" pattern="[0-9]{3}" maxLength={3} required value={area} onChange={(e) => setArea(e.target.value.replace(/\D/g, ''))} />}
        </Field>
        <button type="submit" disabled={busy || area.length !== 3}>{phase.kind === 'searching' ? 'Searching…' : 'Search'}</button>
      </form>
      <div aria-live="polite" className="number-results">
        {phase.kind === 'searching' && <p className="progress">Looking for numbers in {area}…</p>}
        {phase.kind === 'results' && phase.numbers.length === 0 && <p className="notice">No numbers available in {area}. Try a nearby area code.</p>}
        {phase.kind === 'results' && phase.numbers.length > 0 && (
          <fieldset className="numbers">
            <legend>Pick a number</legend>
            {phase.numbers.slice(0, showAll ? undefined : FIRST_SHOWN).map((n) => (
              <label key={n.phone_number} className="check">
                <input type="radio" name="number" value={n.phone_number} checked={picked === n.phone_number} onChange={() => setPicked(n.phone_number)} />
                {n.friendly_name || formatPhone(n.phone_number)}{n.locality ? <span className="hint"> · {n.locality}</span> : null}
              </label>
            ))}
            {!showAll && phase.numbers.length > FIRST_SHOWN && (
              <button type="button" className="link" onClick={() => setShowAll(true)}>{phase.numbers.length - FIRST_SHOWN} more numbers</button>
            )}
          </fieldset>
        )}
        {phase.kind === 'buying' && <p className="progress">Getting {formatPhone(phase.phone)} and connecting it… this takes a few seconds.</p>}
        {phase.kind === 'failed' && (
          <div className="notice error" role="alert">
            <p>{phase.retry === 'search' ? 'The search failed' : 'Buying the number failed'}: {phase.message}</p>
            <button type="button" onClick={() => (phase.retry === 'search' ? search() : buy())}>Try again</button>
          </div>
        )}
      </div>
      {phase.kind === 'results' && phase.numbers.length > 0 && (
        <button type="button" className="primary" disabled={!picked} onClick={buy}>Get {picked ? formatPhone(picked) : 'this number'}</button>
      )}
      {!busy && (
        <OwnedNumberPicker onAttached={async () => {
          const numbers = await reload();
          if (numbers[0]) onDone?.(numbers[0]);
        }} />
      )}
    </div>
  );
}
