'use client';
// useMeta.ts — the server's rules the dashboard shows (GET /api/meta: each
// state machine's statuses, field bounds), read once per page load and shared;
// null until it has arrived (the server checks every request anyway).
import { useEffect, useState } from 'react';
import type { Api } from '../lib/api';
import { setDeliveryRanks } from '../lib/delivery';
import type { Meta } from '../lib/types';
import { useSession } from './SessionProvider';

let loading: Promise<Meta> | null = null;

/** GET /api/meta, asked once per page load (again after a failure); the text delivery order is applied when it arrives. */
export function loadMeta(api: Api): Promise<Meta> {
  loading ??= api.meta().then((m) => { setDeliveryRanks(m.message_delivery.ranks); return m; });
  loading.catch(() => { loading = null; });
  return loading;
}

export function useMeta(): Meta | null {
  const { api } = useSession();
  const [meta, setMeta] = useState<Meta | null>(null);
  useEffect(() => {
    let live = true;
    loadMeta(api).then((m) => { if (live) setMeta(m); }, () => { /* shown without the server's rules; asked again next time */ });
    return () => { live = false; };
  }, [api]);
  return meta;
}
