'use client';
// TestCall.tsx — the wizard's last step: play a missed call to the new number
// (sandbox mode: POST /api/sandbox/missed-call) and watch it go through live,
// from the feed: call missed → greeting text → conversation. With real Twilio
// credentials the owner calls the number from another phone instead.
import Link from 'next/link';
import { useState } from 'react';
import { formatPhone } from '../lib/format';
import { errorText } from './FormStatus';
import { useLive } from './LiveProvider';
import { useSession } from './SessionProvider';

export const SAMPLE_CALLER = '+15125550142';

export function TestCall({ number, onFinish }: { number: string | null; onFinish: (conversationId: string | null) => void }) {
  const { api } = useSession();
  const { state, sandbox } = useLive();
  const [started, setStarted] = useState<{ at: number; from: string } | null>(null);
  const [error, setError] = useState<string | null>(null);

  const call = started ? Object.values(state.calls).find((c) => c.from === started.from && Date.parse(c.created_at) >= started.at - 5000) : undefined;
  const conv = call?.conversation_id ? state.conversations[call.conversation_id] : undefined;
  const greeting = conv && (state.threads[conv.id]?.length || conv.last_message);

  async function run() {
    setError(null);
    try {
      const r = await api.sandboxMissedCall(SAMPLE_CALLER);
      setStarted({ at: api.serverNow(), from: r.from });
    } catch (x) {
      setError(errorText(x));
    }
  }

  return (
    <div className="form test-call">
      {sandbox === false ? (
        <p>Call {number ? <strong>{formatPhone(number)}</strong> : 'your number'} from another phone and let it ring out: the text arrives within seconds and the conversation shows up here.</p>
      ) : (
        <p>See it work: we play a missed call from {formatPhone(SAMPLE_CALLER)} to {number ? formatPhone(number) : 'your number'} (sandbox: nothing is really sent).</p>
      )}
      {sandbox !== false && !started && <button type="button" className="primary" onClick={run}>Simulate a missed call</button>}
      <ol className="steps-live" aria-live="polite">
        <li data-done={!!call}>{call ? `Missed call from ${formatPhone(call.from)}` : 'Waiting for a missed call…'}</li>
        <li data-done={!!greeting}>{greeting ? 'Your greeting was texted back' : 'Greeting text'}</li>
        <li data-done={!!conv}>{conv ? 'Conversation opened' : 'Conversation'}</li>
      </ol>
      {error && <p className="form-status error" role="alert">{error}</p>}
      <div className="actions">
        {conv ? (
          <button type="button" className="primary" onClick={() => onFinish(conv.id)}>Open the conversation</button>
        ) : (
          <button type="button" className="link" onClick={() => onFinish(null)}>Skip and finish</button>
        )}
      </div>
      <p className="hint">You can run this again any time from <Link href="/status">Status</Link>.</p>
    </div>
  );
}
