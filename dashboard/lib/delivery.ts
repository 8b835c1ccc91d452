// delivery.ts — how far a text has got on its way (pending → queued → sent →
// delivered, or a final failure) and which of two reports of the same text is
// the newer. A thread hears a message's state from several places that can
// arrive out of order — the send's own answer, the feed's message.status, and
// API reads taken a moment earlier — and must never step back to "Sending…".
// Pure but for the order itself, which the server gives (setDeliveryRanks); used by
// lib/liveState.ts, unit-tested in test/delivery.test.ts.

/** The order of a text's states, from the server (GET /api/meta: message_delivery.ranks, the one
 *  copy is nmc.message_delivery_ranks in SQL); set before the live model starts (LiveProvider). */
let ranks: Record<string, number> = {};

export function setDeliveryRanks(r: Record<string, number>): void {
  ranks = r;
}

/** -1 for no state; higher is further along; a state the server did not list counts as handed over (queued's rank). */
export function deliveryRank(status: string | null | undefined): number {
  if (!status) return -1;
  return ranks[status] ?? ranks.queued ?? 1;
}

export interface Delivery { status: string; error_code: number | null }

/** The report to keep: `next` unless it is behind `cur` (a tie goes to `next`, the later one heard). */
export function newerDelivery<T extends Delivery>(cur: T | undefined, next: T): T {
  if (cur && deliveryRank(cur.status) > deliveryRank(next.status)) return cur;
  return next;
}
