'use client';
// ThreadActions.tsx — Take over (the assistant goes silent, guaranteed by the
// server) and Hand back to AI, with the mode badge and the countdown.
import { useState } from 'react';
import type { Conversation } from '../lib/types';
import { Countdown } from './Countdown';
import { errorText } from './FormStatus';
import { useLive } from './LiveProvider';
import { ModeBadge } from './ModeBadge';
import { useSession } from './SessionProvider';

export function ThreadActions({ conversation: c }: { conversation: Conversation }) {
  const { api } = useSession();
  const { dispatch } = useLive();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function act(kind: 'takeover' | 'release') {
    setBusy(true);
    setError(null);
    try {
      const r = kind === 'takeover' ? await api.takeover(c.id) : await api.release(c.id);
      dispatch({ type: 'conversation/patched', conversation: r.conversation });
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  }

  const open = c.state === 'open';
  return (
    <div className="thread-actions">
      <ModeBadge conversation={c} />
      {open && c.mode === 'human_window' && <Countdown deadline={c.human_window_deadline} serverNow={api.serverNow} />}
      <span className="spacer" />
      {open && c.mode !== 'human' && (
        <button type="button" className="primary" disabled={busy} onClick={() => act('takeover')}>Take over</button>
      )}
      {open && c.mode === 'human' && (
        <button type="button" disabled={busy} onClick={() => act('release')}>Hand back to AI</button>
      )}
      {error && <p className="form-status error" role="alert">{error}</p>}
    </div>
  );
}
