'use client';
// NewTextForm.tsx — "New text" on the conversations screen: the owner texts any
// number from the business's number (POST /api/conversations {to, body}), a
// new customer or a known one, and lands in that conversation, theirs to
// handle (mode human). Quick replies fill the message; a refusal says why in
// words, by its field (not a phone number, too long) or for the form (opted
// out, unreachable, no texting number yet).
import { useRouter } from 'next/navigation';
import { useRef, useState } from 'react';
import { conversationAfterSend, sendProblem, type SendProblem } from '../lib/outgoing';
import { applyQuickReply } from '../lib/quickReplies';
import { Field } from './Field';
import { FormStatus } from './FormStatus';
import { useLive } from './LiveProvider';
import { QuickReplyChips } from './QuickReplyChips';
import { useSession } from './SessionProvider';

export function NewTextForm({ onClose }: { onClose: () => void }) {
  const { api } = useSession();
  const { dispatch } = useLive();
  const router = useRouter();
  const [to, setTo] = useState('');
  const [body, setBody] = useState('');
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<SendProblem | null>(null);
  const inserted = useRef<string | null>(null);

  async function send(e: React.FormEvent) {
    e.preventDefault();
    if (busy) return;
    setBusy(true);
    setProblem(null);
    try {
      const r = await api.startConversation(to.trim(), body.trim());
      if (r.conversation) dispatch({ type: 'conversation/patched', conversation: r.conversation });
      dispatch({ type: 'message/sent', message: r.message });
      const id = conversationAfterSend(null, r);
      onClose();
      if (id) router.push(`/conversations?c=${encodeURIComponent(id)}`);
    } catch (x) {
      setProblem(sendProblem(x));
    } finally {
      setBusy(false);
    }
  }

  const fieldError = (f: 'to' | 'body') => (problem?.field === f ? problem.text : null);
  return (
    <form className="form new-text card" onSubmit={send} aria-label="New text">
      <h2>New text</h2>
      <Field label="To (phone number)" error={fieldError('to')}>
        {(p) => <input {...p} type="tel" autoComplete="tel" inputMode="tel" required value={to} onChange={(e) => setTo(e.target.value)} />}
      </Field>
      <Field label="Message" hint="Sent from your texting number; the conversation is yours (the assistant stays out)." error={fieldError('body')}>
        {(p) => <textarea {...p} rows={3} required value={body} onChange={(e) => setBody(e.target.value)} />}
      </Field>
      <QuickReplyChips conversationId={null} onPick={(t) => { const n = applyQuickReply(body, inserted.current, t); inserted.current = n; setBody(n); }} />
      <div className="row">
        <button type="submit" className="primary" disabled={busy || !to.trim() || !body.trim()}>{busy ? 'Sending…' : 'Send text'}</button>
        <button type="button" onClick={onClose}>Cancel</button>
      </div>
      <FormStatus error={problem && !problem.field ? problem.text : null} />
    </form>
  );
}
