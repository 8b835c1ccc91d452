'use client';
// LeadCard.tsx — one lead: the customer, status (changeable), how many calls,
// the text decision of the last call in words, and a delivery problem if any.
import Link from 'next/link';
import { useState } from 'react';
import { formatPhone, LEAD_STATUS_LABEL, timeAgo } from '../lib/format';
import { LEAD_STATUSES, type Lead, type LeadStatus } from '../lib/types';
import { errorText } from './FormStatus';
import { useLive } from './LiveProvider';
import { useSession } from './SessionProvider';

export function LeadCard({ lead: l }: { lead: Lead }) {
  const { api } = useSession();
  const { dispatch, state } = useLive();
  const [error, setError] = useState<string | null>(null);
  const conv = Object.values(state.conversations).find((c) => c.lead_id === l.id);
  const who = l.customer?.name || formatPhone(l.customer?.phone) || 'Caller';

  async function change(status: LeadStatus) {
    setError(null);
    try {
      const r = await api.setLeadStatus(l.id, status);
      dispatch({ type: 'lead/patched', lead: r.lead });
    } catch (x) {
      setError(errorText(x));
    }
  }

  return (
    <li className="card lead" data-lead={l.id} data-status={l.status}>
      <div className="lead-top">
        <strong>{who}</strong>
        <span className="hint">{timeAgo(l.last_activity_at, api.serverNow())}</span>
      </div>
      {l.customer?.name && <p className="hint">{formatPhone(l.customer.phone)}</p>}
      <p>{l.calls_count} call{l.calls_count === 1 ? '' : 's'}{l.last_call?.decision_reason ? ` · ${l.last_call.decision_reason}` : ''}</p>
      {l.delivery_error && <p className="field-error">Text not delivered: {l.delivery_error}</p>}
      <div className="lead-actions">
        <label className="inline">
          <span>Status</span>
          <select value={l.status} onChange={(e) => change(e.target.value as LeadStatus)}>
            {LEAD_STATUSES.map((s) => <option key={s} value={s}>{LEAD_STATUS_LABEL[s]}</option>)}
          </select>
        </label>
        {conv && <Link href={`/conversations?c=${conv.id}`}>Conversation</Link>}
      </div>
      {error && <p className="form-status error" role="alert">{error}</p>}
    </li>
  );
}
