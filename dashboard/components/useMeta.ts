'use client';
// useMeta.ts — the server's rules the dashboard shows (GET /api/meta: each
// state machine's statuses, field bounds), read once per page load and shared;
// null until it has arrived (the server checks every request anyway).
import { useEffect, useState } from 'react';
import type { Meta } from '../lib/types';
import { useSession } from './SessionProvider';

let loading: Promise<Meta> | null = null;

export function useMeta(): Meta | null {
  const { api } = useSession();
  const [meta, setMeta] = useState<Meta | null>(null);
  useEffect(() => {
    let live = true;
    loading ??= api.meta();
    loading.then((m) => { if (live) setMeta(m); }, () => { loading = null; });
    return () => { live = false; };
  }, [api]);
  return meta;
}
