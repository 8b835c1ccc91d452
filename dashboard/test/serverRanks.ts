// serverRanks.ts — the server's order of a text's states for unit tests, read
// from its one copy (nmc.message_delivery_ranks in sql/conversations/sms_inbound.sql)
// instead of a copy here; the running dashboard gets it from GET /api/meta.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { setDeliveryRanks } from '../lib/delivery';

export function loadServerRanks(): Record<string, number> {
  const sql = readFileSync(resolve(process.cwd(), '../sql/conversations/sms_inbound.sql'), 'utf8');
  const m = /CREATE FUNCTION nmc\.message_delivery_ranks\(\)[\s\S]*?SELECT '(\{[\s\S]*?\})'::jsonb/.exec(sql);
  if (!m) throw new Error('nmc.message_delivery_ranks not found in sql/conversations/sms_inbound.sql');
  const ranks = JSON.parse(m[1]) as Record<string, number>;
  setDeliveryRanks(ranks);
  return ranks;
}
