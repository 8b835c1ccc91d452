'use client';
// GreetingForm.tsx — the text a missed caller receives: a template with
// {{variables}}, previewed live as the owner types (rendered by the server, with
// its encoding and SMS segment count, since that is what Twilio bills).
// Used by the wizard and settings.
import { useEffect, useRef, useState } from 'react';
import { ApiError } from '../lib/api';
import type { GreetingPreview } from '../lib/types';
import { errorText, FormStatus } from './FormStatus';
import { useSession } from './SessionProvider';

const PREVIEW_DEBOUNCE_MS = 250;

export function GreetingForm({ submitLabel, onDone }: { submitLabel: string; onDone?: () => void }) {
  const { api } = useSession();
  const [template, setTemplate] = useState<string | null>(null);
  const [defaults, setDefaults] = useState<{ template: string; variables: string[] } | null>(null);
  const [preview, setPreview] = useState<GreetingPreview | null>(null);
  const [previewError, setPreviewError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const seq = useRef(0);

  useEffect(() => {
    api.greeting().then((g) => {
      setTemplate(g.template);
      setPreview(g.preview);
      setDefaults({ template: g.default_template, variables: g.variables });
    }).catch((x) => setError(errorText(x)));
  }, [api]);

  useEffect(() => {
    if (template === null) return;
    const mine = ++seq.current;
    const t = setTimeout(() => {
      api.previewGreeting(template)
        .then((p) => { if (mine === seq.current) { setPreview(p); setPreviewError(null); } })
        .catch((x) => { if (mine === seq.current) setPreviewError(x instanceof ApiError ? x.message : errorText(x)); });
    }, PREVIEW_DEBOUNCE_MS);
    return () => clearTimeout(t);
  }, [template, api]);

  if (template === null) return <p className="page-loading">{error ?? 'Loading…'}</p>;

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    setBusy(true); setError(null);
    try {
      const g = await api.putGreeting(template);
      setPreview(g.preview);
      setSaved('Saved.');
      onDone?.();
    } catch (x) {
      setError(errorText(x));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={submit} className="form greeting" aria-label="Greeting">
      <div className="field">
        <label htmlFor="greeting-template">Greeting text</label>
        <textarea id="greeting-template" rows={5} value={template} onChange={(e) => { setTemplate(e.target.value); setSaved(null); }} aria-describedby="greeting-vars" />
        <p className="hint" id="greeting-vars">
          You can use {defaults?.variables.map((v) => <code key={v}>{`{{${v}}}`} </code>)}
          {defaults && template !== defaults.template && (
            <button type="button" className="link" onClick={() => setTemplate(defaults.template)}>Use the default</button>
          )}
        </p>
      </div>
      <div className="preview" aria-live="polite" aria-label="Preview">
        <p className="preview-label">What a caller receives</p>
        <p className="bubble">{preview?.text ?? '…'}</p>
        <p className={previewError ? 'field-error' : 'hint'} data-segments={preview?.segments}>
          {previewError ?? (preview ? `${preview.characters} characters · ${preview.segments} SMS segment${preview.segments === 1 ? '' : 's'} · ${preview.encoding}` : '\u00a0')}
        </p>
      </div>
      <button type="submit" className="primary" disabled={busy || !!previewError}>{busy ? 'Saving…' : submitLabel}</button>
      <FormStatus error={error} saved={saved} />
    </form>
  );
}
