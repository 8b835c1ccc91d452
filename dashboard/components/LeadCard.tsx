'use client';
// LeadCard.tsx — one lead: the customer, what the assistant captured (problem,
// address, urgency), how many calls and the last call's text decision in
// words, a delivery problem if any, and its status — changeable; won and lost
// ask why (required for lost, as the API does).
import Link from 'next/link';
import { useState } from 'react';
import { deliveryLabel, formatPhone, LEAD_STATUS_LABEL, timeAgo } from '../lib/format';
import type { Lead, LeadStatus } from '../lib/types';
import { AddressLink, PhoneLink } from './ContactLinks';
import { errorText } from './FormStatus';
import { useLive } from './LiveProvider';
import { useSession } from './SessionProvider';
import { useMeta } from './useMeta';

const NEEDS_REASON: LeadStatus[] = ['won', 'lost'];

export function LeadCard({ lead: l }: { lead: Lead }) {
  const { api } = useSession();
  const { dispatch, state } = useLive();
  const statuses = (useMeta()?.state_machines.lead.statuses ?? [l.status]) as LeadStatus[];
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState<LeadStatus | null>(null);
  const [reason, setReason] = useState('');
  const conv = Object.values(state.conversations).find((c) => c.lead_id === l.id);
  const who = l.customer?.name || formatPhone(l.customer?.phone) || 'Caller';

  async function save(status: LeadStatus, why?: string) {
    setError(null);
    try {
      const r = await api.setLeadStatus(l.id, status, why);
      dispatch({ type: 'lead/patched', lead: r.lead });
      setPending(null);
      setReason('');
    } catch (x) {
      setError(errorText(x));
    }
  }

  function choose(status: LeadStatus) {
    if (NEEDS_REASON.includes(status)) setPending(status);
    else void save(status);
  }

  return (
    <li className="card lead" data-lead={l.id} data-status={l.status}>
      <div className="lead-top">
        <strong>{who}</strong>
        {l.urgency && l.urgency !== 'normal' && <span className={`badge badge-urgency-${l.urgency}`}>{l.urgency === 'emergency' ? 'Emergency' : 'Urgent'}</span>}
        <span className="hint">{timeAgo(l.last_activity_at, api.serverNow())}</span>
      </div>
      {l.customer?.phone && <p className="hint"><PhoneLink phone={l.customer.phone} /></p>}
      {l.problem && <p className="lead-problem">{l.problem}</p>}
      {l.service_address && <p className="hint"><AddressLink address={l.service_address} /></p>}
      <p>{l.calls_count} call{l.calls_count === 1 ? '' : 's'}{l.last_call?.decision_reason ? ` · ${l.last_call.decision_reason}` : ''}{l.last_call?.text_status ? ` · text ${deliveryLabel(l.last_call.text_status).toLowerCase()}` : ''}</p>
      {l.status_reason && <p className="hint">{LEAD_STATUS_LABEL[l.status]}: {l.status_reason}</p>}
      {l.delivery_error && <p className="field-error">Text not delivered: {l.delivery_error}</p>}
      <div className="lead-actions">
        <label className="inline">
          <span>Status</span>
          <select value={pending ?? l.status} onChange={(e) => choose(e.target.value as LeadStatus)}>
            {statuses.map((s) => <option key={s} value={s}>{LEAD_STATUS_LABEL[s]}</option>)}
          </select>
        </label>
        {conv && <Link href={`/conversations?c=${conv.id}`}>Conversation</Link>}
      </div>
      {pending && (
        <form className="inline-form lead-reason" onSubmit={(e) => { e.preventDefault(); void save(pending, reason.trim() || undefined); }}>
          <label className="field">
            <span>{pending === 'lost' ? 'Why was it lost?' : 'Anything to note? (optional)'}</span>
            <input value={reason} onChange={(e) => setReason(e.target.value)} required={pending === 'lost'} maxLength={500} autoFocus />
          </label>
          <button type="submit" className="primary">Mark {LEAD_STATUS_LABEL[pending].toLowerCase()}</button>
          <button type="button" onClick={() => { setPending(null); setReason(''); }}>Cancel</button>
        </form>
      )}
      {error && <p className="form-status error" role="alert">{error}</p>}
    </li>
  );
}
