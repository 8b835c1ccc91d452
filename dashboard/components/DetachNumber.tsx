'use client';
// DetachNumber.tsx — giving back a number the owner brought from their Twilio
// account: a confirmation naming where its calls and texts will go again, then
// a dispatcher job that puts its earlier webhooks back (POST
// /api/phone-numbers/{id}/detach, polled); every state shows.
import { useState } from 'react';
import type { PhoneNumber } from '../lib/types';
import { formatPhone } from '../lib/format';
import { webhookSummary } from '../lib/ownedNumbers';
import { errorText } from './FormStatus';
import { useSession } from './SessionProvider';

type Phase = { kind: 'idle' } | { kind: 'confirm' } | { kind: 'detaching' } | { kind: 'failed'; message: string };

export function DetachNumber({ number, onDetached }: { number: PhoneNumber; onDetached: () => void | Promise<void> }) {
  const { api } = useSession();
  const [phase, setPhase] = useState<Phase>({ kind: 'idle' });

  async function detach() {
    setPhase({ kind: 'detaching' });
    try {
      const { job } = await api.detachNumber(number.id);
      const done = await api.waitForJob(job.id);
      if (done.status !== 'done') {
        setPhase({ kind: 'failed', message: done.error ?? `The request ended as ${done.status}.` });
        return;
      }
      await onDetached();
    } catch (x) {
      setPhase({ kind: 'failed', message: errorText(x) });
    }
  }

  return (
    <div className="detach-number" aria-live="polite">
      {phase.kind === 'idle' && (
        <button type="button" onClick={() => setPhase({ kind: 'confirm' })}>Stop using this number here</button>
      )}
      {phase.kind === 'confirm' && (
        <div className="notice" role="alertdialog" aria-label="Stop using this number">
          <p>{formatPhone(number.phone)} goes back to how it was set up — {webhookSummary(number.previous_webhooks)}. Missed calls to it will no longer be texted back.</p>
          <button type="button" className="primary" onClick={detach}>Put its old set-up back</button>{' '}
          <button type="button" onClick={() => setPhase({ kind: 'idle' })}>Keep using it</button>
        </div>
      )}
      {phase.kind === 'detaching' && <p className="progress">Putting back {formatPhone(number.phone)}'s old set-up…</p>}
      {phase.kind === 'failed' && (
        <div className="notice error" role="alert">
          <p>Putting the old set-up back failed: {phase.message}</p>
          <button type="button" onClick={detach}>Try again</button>
        </div>
      )}
    </div>
  );
}
