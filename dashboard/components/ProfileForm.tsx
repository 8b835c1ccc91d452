'use client';
// ProfileForm.tsx — the business profile: name, trade, address, timezone and
// the phone calls are forwarded to (PATCH /api/business). Used by the wizard
// and by settings.
import { useEffect, useState } from 'react';
import { ApiError } from '../lib/api';
import type { Business, TradeType } from '../lib/types';
import { Field } from './Field';
import { errorText, FormStatus } from './FormStatus';
import { useLive } from './LiveProvider';
import { useSession } from './SessionProvider';

const FIELDS = ['name', 'trade_type', 'address_line1', 'city', 'region', 'postal_code', 'timezone', 'forward_to_phone'] as const;
type Form = Record<(typeof FIELDS)[number], string>;

function timezones(current: string): string[] {
  const all = (Intl as unknown as { supportedValuesOf?: (k: string) => string[] }).supportedValuesOf?.('timeZone') ?? [];
  return all.includes(current) ? all : [current, ...all];
}

export function ProfileForm({ submitLabel, onDone }: { submitLabel: string; onDone?: (b: Business) => void }) {
  const { api } = useSession();
  const { business, setBusiness } = useLive();
  const [trades, setTrades] = useState<TradeType[]>([]);
  const [f, setF] = useState<Form | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [fieldErr, setFieldErr] = useState<{ field?: string; message: string } | null>(null);
  const [saved, setSaved] = useState<string | null>(null);

  useEffect(() => { api.tradeTypes().then((r) => setTrades(r.trade_types)).catch(() => undefined); }, [api]);
  useEffect(() => {
    if (business && !f) {
      const init = {} as Form;
      for (const k of FIELDS) init[k] = (business[k] as string | null) ?? '';
      setF(init);
    }
  }, [business, f]);
  if (!f) return <p className="page-loading">Loading…</p>;

  const set = (k: keyof Form) => (e: React.ChangeEvent<HTMLInputElement | HTMLSelectElement>) => { setF({ ...f, [k]: e.target.value }); setSaved(null); };
  const err = (k: string) => (fieldErr?.field === k ? fieldErr.message : null);

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    setBusy(true); setError(null); setFieldErr(null);
    try {
      const r = await api.patchBusiness(f!);
      setBusiness(r.business);
      setSaved('Saved.');
      onDone?.(r.business);
    } catch (x) {
      if (x instanceof ApiError && x.field) setFieldErr({ field: x.field, message: x.message });
      else setError(errorText(x));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={submit} className="form" aria-label="Business profile">
      <Field label="Business name" error={err('name')}>{(p) => <input {...p} name="name" required value={f.name} onChange={set('name')} />}</Field>
      <Field label="Trade" error={err('trade_type')}>{(p) => (
        <select {...p} name="trade_type" value={f.trade_type} onChange={set('trade_type')}>
          {(trades.length ? trades : [{ code: f.trade_type, label: f.trade_type }]).map((t) => <option key={t.code} value={t.code}>{t.label}</option>)}
        </select>
      )}</Field>
      <Field label="Phone to forward calls to" hint="Your mobile: calls ring here first; if you don't answer, the caller gets a text." error={err('forward_to_phone')}>
        {(p) => <input {...p} name="forward_to_phone" type="tel" autoComplete="tel" required value={f.forward_to_phone} onChange={set('forward_to_phone')} />}
      </Field>
      <Field label="Street address" error={err('address_line1')}>{(p) => <input {...p} name="address_line1" autoComplete="address-line1" value={f.address_line1} onChange={set('address_line1')} />}</Field>
      <div className="row">
        <Field label="City" error={err('city')}>{(p) => <input {...p} name="city" autoComplete="address-level2" value={f.city} onChange={set('city')} />}</Field>
        <Field label="State" error={err('region')}>{(p) => <input {...p} name="region" autoComplete="address-level1" value={f.region} onChange={set('region')} />}</Field>
        <Field label="ZIP" error={err('postal_code')}>{(p) => <input {...p} name="postal_code" autoComplete="postal-code" inputMode="numeric" value={f.postal_code} onChange={set('postal_code')} />}</Field>
      </div>
      <Field label="Timezone" error={err('timezone')}>{(p) => (
        <select {...p} name="timezone" value={f.timezone} onChange={set('timezone')}>
          {timezones(f.timezone).map((z) => <option key={z} value={z}>{z.replace(/_/g, ' ')}</option>)}
        </select>
      )}</Field>
      <button type="submit" className="primary" disabled={busy}>{busy ? 'Saving…' : submitLabel}</button>
      <FormStatus error={error} saved={saved} />
    </form>
  );
}
