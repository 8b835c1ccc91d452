'use client';
// MessageBubble.tsx — one text in a thread: who wrote it (customer, assistant,
// you, automatic), the text, its photos (thumbnails of our copies) or voicemail (a player), the time
// and, for our texts, the delivery status (and why, when it failed or was not sent).
import { isMediaPath } from '../lib/api';
import { authorLabel, clockTime, deliveryLabel } from '../lib/format';
import type { Message } from '../lib/types';
import { MediaFile } from './MediaFile';

export function MessageBubble({ message: m }: { message: Message }) {
  const ours = m.direction === 'outbound';
  const bad = m.status === 'failed' || m.status === 'undelivered' || m.status === 'dropped';
  return (
    <li className={`msg ${ours ? 'msg-out' : 'msg-in'} msg-${m.author}`} data-message={m.id} data-status={m.status}>
      <span className="msg-author">{authorLabel(m.author)}</span>
      <p className="msg-body">{m.body ?? '…'}</p>
      {m.media?.some((f) => f.url && isMediaPath(f.url)) && (
        <span className="msg-media">
          {m.media.map((f, i) => {
            if (!f.url || !isMediaPath(f.url)) return null;
            if (f.content_type.startsWith('image/')) return <MediaFile key={f.url} url={f.url} kind="image" label={`Photo ${i + 1}`} />;
            if (f.content_type.startsWith('audio/')) return <MediaFile key={f.url} url={f.url} kind="audio" label="Voicemail" />;
            return null;
          })}
        </span>
      )}
      <span className="msg-meta">
        <time dateTime={m.created_at}>{clockTime(m.created_at)}</time>
        {ours && <span className={`msg-status${bad ? ' bad' : ''}`}> · {deliveryLabel(m.status)}{bad && m.error_message ? `: ${m.error_message}` : ''}</span>}
      </span>
    </li>
  );
}
