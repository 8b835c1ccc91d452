'use client';
// MediaFile.tsx — a file we keep for the business (an MMS photo, a voicemail)
// shown from GET /api/media/{id}: fetched with the session's token in the
// header, shown from an object URL (the token never goes in a URL). A file
// still being copied from the provider (409 media_not_ready) is asked for
// again a few times, further apart each time.
import { useEffect, useState } from 'react';
import { ApiError } from '../lib/api';
import { useSession } from './SessionProvider';

const RETRY_MS = [1000, 2000, 4000, 8000, 16000];

interface Props { url: string; kind: 'image' | 'audio'; label: string }

export function MediaFile({ url, kind, label }: Props) {
  const { api } = useSession();
  const [src, setSrc] = useState<string | null>(null);
  const [state, setState] = useState<'loading' | 'ready' | 'waiting' | 'failed'>('loading');

  useEffect(() => {
    let objectUrl: string | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    async function load(attempt: number) {
      try {
        const blob = await api.media(url);
        if (stopped) return;
        objectUrl = URL.createObjectURL(blob);
        setSrc(objectUrl);
        setState('ready');
      } catch (x) {
        if (stopped) return;
        if (x instanceof ApiError && x.code === 'media_not_ready' && attempt < RETRY_MS.length) {
          setState('waiting');
          timer = setTimeout(() => load(attempt + 1), RETRY_MS[attempt]);
        } else {
          setState('failed');
        }
      }
    }
    load(0);
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      if (objectUrl) URL.revokeObjectURL(objectUrl);
    };
  }, [api, url]);

  if (state === 'failed') return <span className="media-missing" data-media-state="failed">{label}: could not be loaded</span>;
  if (!src) return <span className="media-loading" data-media-state={state}>{label}: loading…</span>;
  return kind === 'image'
    ? <a className="media-photo" href={src} target="_blank" rel="noopener"><img src={src} alt={label} data-media-state="ready" /></a>
    : <audio className="media-audio" controls preload="metadata" src={src} aria-label={label} data-media-state="ready" />;
}
