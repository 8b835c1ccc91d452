'use client';
// Composer.tsx — the owner's reply box: sends as the business (POST
// /api/conversations/{id}/messages), Ctrl/⌘+Enter to send, keeps the draft
// when sending fails and says why (opted out, too long, closed…).
import { useState } from 'react';
import { errorText } from './FormStatus';
import { useLive } from './LiveProvider';
import { useSession } from './SessionProvider';

export function Composer({ conversationId, disabled }: { conversationId: string; disabled?: string | null }) {
  const { api } = useSession();
  const { dispatch } = useLive();
  const [body, setBody] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function send(e?: React.FormEvent) {
    e?.preventDefault();
    const text = body.trim();
    if (!text || busy) return;
    setBusy(true);
    setError(null);
    try {
      const r = await api.sendMessage(conversationId, text);
      dispatch({ type: 'message/sent', message: r.message });
      setBody('');
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="composer" onSubmit={send} aria-label="Reply">
      <label htmlFor="reply" className="visually-hidden">Your reply</label>
      <textarea
        id="reply" rows={2} value={body} placeholder={disabled ?? 'Type your reply…'} disabled={!!disabled}
        onChange={(e) => setBody(e.target.value)}
        onKeyDown={(e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) void send(); }}
        aria-describedby="reply-status"
      />
      <button type="submit" className="primary" disabled={busy || !!disabled || !body.trim()}>{busy ? 'Sending…' : 'Send'}</button>
      <p id="reply-status" className={error ? 'form-status error' : 'form-status'} role={error ? 'alert' : undefined}>
        {error ?? `${body.length} characters`}
      </p>
    </form>
  );
}
