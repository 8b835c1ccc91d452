'use client';
// ConversationList.tsx — the live list of conversations with a filter (open /
// needs you / all), newest activity first, straight from the live model.
import { useState } from 'react';
import { sortedConversations } from '../lib/liveState';
import type { Conversation } from '../lib/types';
import { ConversationRow } from './ConversationRow';
import { ListEmpty } from './ListEmpty';
import { useLive } from './LiveProvider';
import { useSession } from './SessionProvider';

const FILTERS: { key: string; label: string; test: (c: Conversation) => boolean }[] = [
  { key: 'open', label: 'Open', test: (c) => c.state === 'open' },
  { key: 'you', label: 'Needs you', test: (c) => c.state === 'open' && (c.mode === 'human_window' || c.mode === 'human') },
  { key: 'all', label: 'All', test: () => true },
];

export function ConversationList({ selectedId }: { selectedId: string | null }) {
  const { state, olderConversations, loadOlder } = useLive();
  const { api } = useSession();
  const [filter, setFilter] = useState('open');
  const f = FILTERS.find((x) => x.key === filter) ?? FILTERS[0];
  const items = sortedConversations(state, f.test);
  return (
    <section className="conv-list" aria-label="Conversations">
      <div className="segmented" role="group" aria-label="Show">
        {FILTERS.map((x) => (
          <button key={x.key} type="button" aria-pressed={x.key === filter} onClick={() => setFilter(x.key)}>{x.label}</button>
        ))}
      </div>
      {items.length === 0 ? (
        <ListEmpty>No conversations yet. When a call is missed, the caller gets your greeting and the conversation shows up here.</ListEmpty>
      ) : (
        <ul className="conv-items" aria-live="polite" aria-relevant="additions">
          {items.map((c) => <ConversationRow key={c.id} conversation={c} selected={c.id === selectedId} serverNow={api.serverNow} />)}
        </ul>
      )}
      {olderConversations && <button type="button" className="more" onClick={() => void loadOlder('conversations')}>Show older conversations</button>}
    </section>
  );
}
