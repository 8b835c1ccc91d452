'use client';
// Composer.tsx — the owner's text box in a thread: the quick replies above it
// (a tap fills the box, still editable), sends as the business (POST
// /api/conversations/{id}/messages), Ctrl/⌘+Enter to send, keeps the draft
// when sending fails and says why (opted out, unreachable, too long…). A
// closed conversation is no dead end: the box stays, says that sending reopens
// it and hands it to the owner, and after the send the thread shows the
// conversation the text went to (the answer's conversation, maybe another id).
import { useRouter } from 'next/navigation';
import { useRef, useState } from 'react';
import { conversationAfterSend, sendProblem } from '../lib/outgoing';
import { applyQuickReply } from '../lib/quickReplies';
import { useLive } from './LiveProvider';
import { QuickReplyChips } from './QuickReplyChips';
import { useSession } from './SessionProvider';

export function Composer({ conversationId, closed }: { conversationId: string; closed: boolean }) {
  const { api } = useSession();
  const { dispatch } = useLive();
  const router = useRouter();
  const [body, setBody] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const inserted = useRef<string | null>(null);
  const box = useRef<HTMLTextAreaElement>(null);

  function pick(text: string) {
    const next = applyQuickReply(body, inserted.current, text);
    inserted.current = next;
    setBody(next);
    setError(null);
    box.current?.focus();
  }

  async function send(e?: React.FormEvent) {
    e?.preventDefault();
    const text = body.trim();
    if (!text || busy) return;
    setBusy(true);
    setError(null);
    try {
      const r = await api.sendMessage(conversationId, text);
      if (r.conversation) dispatch({ type: 'conversation/patched', conversation: r.conversation });
      dispatch({ type: 'message/sent', message: r.message });
      setBody('');
      inserted.current = null;
      const next = conversationAfterSend(conversationId, r);
      if (next) router.push(`/conversations?c=${encodeURIComponent(next)}`);
    } catch (err) {
      setError(sendProblem(err).text);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="composer" onSubmit={send} aria-label="Reply" data-closed={closed || undefined}>
      <QuickReplyChips conversationId={conversationId} onPick={pick} />
      {closed && (
        <p id="reply-closed" className="hint composer-closed">
          This conversation is closed. Sending a text reopens it and you take it over: the assistant stays silent.
        </p>
      )}
      <label htmlFor="reply" className="visually-hidden">Your reply</label>
      <textarea
        id="reply" ref={box} rows={2} value={body} placeholder={closed ? 'Text them again…' : 'Type your reply…'}
        onChange={(e) => setBody(e.target.value)}
        onKeyDown={(e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) void send(); }}
        aria-describedby={closed ? 'reply-closed reply-status' : 'reply-status'}
      />
      <button type="submit" className="primary" disabled={busy || !body.trim()}>{busy ? 'Sending…' : 'Send'}</button>
      <p id="reply-status" className={error ? 'form-status error' : 'form-status'} role={error ? 'alert' : undefined}>
        {error ?? `${body.length} characters`}
      </p>
    </form>
  );
}
