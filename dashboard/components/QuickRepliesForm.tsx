'use client';
// QuickRepliesForm.tsx — Settings → Quick replies: the owner's saved texts
// (GET/POST/PATCH/DELETE /api/quick-replies): add, edit, move up or down,
// delete, with the variables a text may use and each one's text as a customer
// with no name on file would get it. The order here is the composer's.
import { useCallback, useEffect, useState } from 'react';
import { BODY_MAX, checkQuickReply, LABEL_MAX, moveQuickReply, QUICK_REPLY_VARIABLES, sortQuickReplies, type QuickReplyErrors } from '../lib/quickReplies';
import type { QuickReply } from '../lib/types';
import { Field } from './Field';
import { errorText, FormStatus } from './FormStatus';
import { useSession } from './SessionProvider';

/** The label and text fields, for a new quick reply or one being edited. */
function QuickReplyFields({ label, body, errors, onLabel, onBody }: {
  label: string; body: string; errors: QuickReplyErrors; onLabel: (v: string) => void; onBody: (v: string) => void;
}) {
  return (
    <>
      <Field label="Button label" hint={`Up to ${LABEL_MAX} characters.`} error={errors.label}>
        {(p) => <input {...p} value={label} maxLength={LABEL_MAX} onChange={(e) => onLabel(e.target.value)} />}
      </Field>
      <Field label="Text" hint={`${body.length} / ${BODY_MAX} characters.`} error={errors.body}>
        {(p) => <textarea {...p} rows={3} value={body} maxLength={BODY_MAX} onChange={(e) => onBody(e.target.value)} />}
      </Field>
    </>
  );
}

function QuickReplyItem({ q, first, last, onSaved, onMove, onDelete }: {
  q: QuickReply; first: boolean; last: boolean;
  onSaved: () => Promise<void>; onMove: (dir: -1 | 1) => void; onDelete: () => void;
}) {
  const { api } = useSession();
  const [editing, setEditing] = useState(false);
  const [label, setLabel] = useState(q.label);
  const [body, setBody] = useState(q.body);
  const [errors, setErrors] = useState<QuickReplyErrors>({});
  const [error, setError] = useState<string | null>(null);

  async function save(e: React.FormEvent) {
    e.preventDefault();
    const found = checkQuickReply(label, body);
    setErrors(found);
    if (found.label || found.body) return;
    setError(null);
    try {
      await api.patchQuickReply(q.id, { label: label.trim(), body: body.trim() });
      await onSaved();
      setEditing(false);
    } catch (x) {
      setError(errorText(x));
    }
  }

  if (editing) {
    return (
      <li className="quick-reply editing">
        <form className="form" onSubmit={save} aria-label={`Edit ${q.label}`}>
          <QuickReplyFields label={label} body={body} errors={errors} onLabel={setLabel} onBody={setBody} />
          <div className="row">
            <button type="submit" className="primary">Save</button>
            <button type="button" onClick={() => { setEditing(false); setLabel(q.label); setBody(q.body); setErrors({}); setError(null); }}>Cancel</button>
          </div>
          <FormStatus error={error} />
        </form>
      </li>
    );
  }
  return (
    <li className="quick-reply" data-quick-reply={q.id}>
      <div className="quick-reply-text">
        <strong>{q.label}</strong>
        <span className="hint">{q.text}</span>
      </div>
      <div className="quick-reply-actions">
        <button type="button" aria-label={`Move ${q.label} up`} disabled={first} onClick={() => onMove(-1)}>↑</button>
        <button type="button" aria-label={`Move ${q.label} down`} disabled={last} onClick={() => onMove(1)}>↓</button>
        <button type="button" aria-label={`Edit ${q.label}`} onClick={() => setEditing(true)}>Edit</button>
        <button type="button" aria-label={`Delete ${q.label}`} onClick={onDelete}>Delete</button>
      </div>
    </li>
  );
}

export function QuickRepliesForm() {
  const { api } = useSession();
  const [items, setItems] = useState<QuickReply[] | null>(null);
  const [label, setLabel] = useState('');
  const [body, setBody] = useState('');
  const [errors, setErrors] = useState<QuickReplyErrors>({});
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);

  const load = useCallback(async () => {
    const r = await api.quickReplies();
    setItems(sortQuickReplies(r.quick_replies));
  }, [api]);
  useEffect(() => { load().catch((x) => setError(errorText(x))); }, [load]);

  async function run(what: () => Promise<unknown>, done: string) {
    setError(null);
    setSaved(null);
    try {
      await what();
      await load();
      setSaved(done);
    } catch (x) {
      setError(errorText(x));
      await load().catch(() => undefined);
    }
  }

  async function add(e: React.FormEvent) {
    e.preventDefault();
    const found = checkQuickReply(label, body);
    setErrors(found);
    if (found.label || found.body) return;
    await run(async () => {
      await api.addQuickReply({ label: label.trim(), body: body.trim() });
      setLabel(''); setBody('');
    }, 'Added.');
  }

  function move(id: string, dir: -1 | 1) {
    if (!items) return;
    const { order, patches } = moveQuickReply(items, id, dir);
    if (!patches.length) return;
    setItems(order);
    void run(async () => { for (const p of patches) await api.patchQuickReply(p.id, { position: p.position }); }, 'Order saved.');
  }

  return (
    <div className="form">
      <p className="hint">One tap above the reply box fills it with one of these; you can still change it before sending.</p>
      {items && items.length > 0 ? (
        <ul className="quick-reply-list">
          {items.map((q, i) => (
            <QuickReplyItem key={`${q.id}:${q.label}:${q.body}`} q={q} first={i === 0} last={i === items.length - 1}
              onSaved={() => run(async () => undefined, 'Saved.')} onMove={(dir) => move(q.id, dir)}
              onDelete={() => void run(() => api.deleteQuickReply(q.id), 'Deleted.')} />
          ))}
        </ul>
      ) : <p className="hint">{items ? 'No quick replies yet.' : 'Loading…'}</p>}
      <FormStatus error={error} saved={saved} />
      <form className="form" onSubmit={add} aria-label="Add a quick reply">
        <h3>Add a quick reply</h3>
        <QuickReplyFields label={label} body={body} errors={errors} onLabel={setLabel} onBody={setBody} />
        <button type="submit">Add</button>
      </form>
      <section className="variables" aria-labelledby="qr-vars">
        <h3 id="qr-vars">Variables you can use</h3>
        <p className="hint">Type them as shown, with the double braces: each is filled in for the customer when you tap the quick reply.</p>
        <dl>
          {QUICK_REPLY_VARIABLES.map((v) => (
            <div key={v.name}><dt><code>{v.name}</code></dt><dd>{v.means}</dd></div>
          ))}
        </dl>
      </section>
    </div>
  );
}
