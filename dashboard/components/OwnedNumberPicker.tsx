'use client';
// OwnedNumberPicker.tsx — using a number the owner's Twilio account already
// has (an existing business line moved to Twilio, an old answering service):
// list the account's free numbers with where their calls and texts go now,
// pick one, attach it. Both are dispatcher jobs (POST then poll), so every
// state shows; the number's old webhooks are kept to be put back on detach.
import { useState } from 'react';
import type { Job, OwnedNumber } from '../lib/types';
import { formatPhone } from '../lib/format';
import { webhookSummary } from '../lib/ownedNumbers';
import { errorText } from './FormStatus';
import { useSession } from './SessionProvider';

type Phase =
  | { kind: 'idle' } | { kind: 'listing' } | { kind: 'list'; numbers: OwnedNumber[] }
  | { kind: 'attaching'; n: OwnedNumber } | { kind: 'failed'; message: string; retry: 'list' | 'attach' };

function jobFailure(j: Job): string {
  return j.error ?? `The request ended as ${j.status}${j.error_code ? ` (${j.error_code})` : ''}.`;
}

export function OwnedNumberPicker({ onAttached }: { onAttached: () => void | Promise<void> }) {
  const { api } = useSession();
  const [phase, setPhase] = useState<Phase>({ kind: 'idle' });
  const [numbers, setNumbers] = useState<OwnedNumber[]>([]);
  const [picked, setPicked] = useState<string | null>(null);

  async function list() {
    setPhase({ kind: 'listing' }); setPicked(null);
    try {
      const { job } = await api.ownedNumbers();
      const done = await api.waitForJob<{ numbers: OwnedNumber[] }>(job.id);
      if (done.status !== 'done') { setPhase({ kind: 'failed', message: jobFailure(done), retry: 'list' }); return; }
      const found = done.result?.numbers ?? [];
      setNumbers(found);
      setPhase({ kind: 'list', numbers: found });
      if (found.length) setPicked(found[0].twilio_sid);
    } catch (x) {
      setPhase({ kind: 'failed', message: errorText(x), retry: 'list' });
    }
  }

  async function attach() {
    const n = numbers.find((x) => x.twilio_sid === picked);
    if (!n) return;
    setPhase({ kind: 'attaching', n });
    try {
      const { job } = await api.attachNumber(n.twilio_sid);
      const done = await api.waitForJob(job.id);
      if (done.status !== 'done') { setPhase({ kind: 'failed', message: jobFailure(done), retry: 'attach' }); return; }
      await onAttached();
    } catch (x) {
      setPhase({ kind: 'failed', message: errorText(x), retry: 'attach' });
    }
  }

  return (
    <section className="form owned-numbers" aria-label="A number you already have">
      <h3>Already have a Twilio number?</h3>
      <p className="hint">Use it instead of a new one. Where its calls and texts go now is kept, and put back if you stop using it here.</p>
      {(phase.kind === 'idle' || phase.kind === 'list') && (
        <button type="button" onClick={list}>{phase.kind === 'list' ? 'List them again' : 'List my Twilio numbers'}</button>
      )}
      <div aria-live="polite" className="number-results">
        {phase.kind === 'listing' && <p className="progress">Asking Twilio for your numbers…</p>}
        {phase.kind === 'list' && phase.numbers.length === 0 && (
          <p className="notice">Your Twilio account has no number free to use here (numbers already in use by a business are not listed).</p>
        )}
        {phase.kind === 'list' && phase.numbers.length > 0 && (
          <fieldset className="numbers">
            <legend>Pick one of your numbers</legend>
            {phase.numbers.map((n) => (
              <label key={n.twilio_sid} className="check owned-number">
                <input type="radio" name="owned-number" value={n.twilio_sid} checked={picked === n.twilio_sid} onChange={() => setPicked(n.twilio_sid)} />
                <span>{formatPhone(n.phone_number)}{n.friendly_name && n.friendly_name !== n.phone_number ? ` · ${n.friendly_name}` : ''}
                  <span className="hint webhooks"> Now: {webhookSummary(n.webhooks)}</span></span>
              </label>
            ))}
          </fieldset>
        )}
        {phase.kind === 'attaching' && <p className="progress">Connecting {formatPhone(phase.n.phone_number)}… this takes a few seconds.</p>}
        {phase.kind === 'failed' && (
          <div className="notice error" role="alert">
            <p>{phase.retry === 'list' ? 'Listing your numbers failed' : 'Connecting the number failed'}: {phase.message}</p>
            <button type="button" onClick={() => (phase.retry === 'list' ? list() : attach())}>Try again</button>
          </div>
        )}
      </div>
      {phase.kind === 'list' && picked && (
        <button type="button" className="primary" onClick={attach}>Use {formatPhone(numbers.find((x) => x.twilio_sid === picked)?.phone_number ?? '')}</button>
      )}
    </section>
  );
}
