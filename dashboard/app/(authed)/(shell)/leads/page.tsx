'use client';
// leads/page.tsx — every missed call's lead, grouped by status through a
// filter, live from the feed (lead.updated), newest activity first.
import { useState } from 'react';
import { LeadCard } from '../../../../components/LeadCard';
import { ListEmpty } from '../../../../components/ListEmpty';
import { useLive } from '../../../../components/LiveProvider';
import { LEAD_STATUS_LABEL } from '../../../../lib/format';
import type { LeadStatus } from '../../../../lib/types';
import { useMeta } from '../../../../components/useMeta';

export default function LeadsPage() {
  const { state, olderLeads, loadOlder } = useLive();
  const [status, setStatus] = useState<LeadStatus | 'all'>('all');
  const statuses = (useMeta()?.state_machines.lead.statuses ?? []) as LeadStatus[];
  const all = Object.values(state.leads).sort((a, b) => Date.parse(b.last_activity_at) - Date.parse(a.last_activity_at));
  const count = (s: LeadStatus) => all.filter((l) => l.status === s).length;
  const shown = status === 'all' ? all : all.filter((l) => l.status === status);
  return (
    <div className="page">
      <h1>Leads</h1>
      <div className="segmented wrap" role="group" aria-label="Status">
        <button type="button" aria-pressed={status === 'all'} onClick={() => setStatus('all')}>All ({all.length})</button>
        {statuses.map((s) => (
          <button key={s} type="button" aria-pressed={status === s} onClick={() => setStatus(s)}>{LEAD_STATUS_LABEL[s]} ({count(s)})</button>
        ))}
      </div>
      {shown.length === 0 ? <ListEmpty>No leads here yet.</ListEmpty> : <ul className="cards">{shown.map((l) => <LeadCard key={l.id} lead={l} />)}</ul>}
      {olderLeads && <button type="button" className="more" onClick={() => void loadOlder('leads')}>Show older leads</button>}
    </div>
  );
}
