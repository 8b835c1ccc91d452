// delivery.ts — how far a text has got on its way (pending → queued → sent →
// delivered, or a final failure) and which of two reports of the same text is
// the newer. A thread hears a message's state from several places that can
// arrive out of order — the send's own answer, the feed's message.status, and
// API reads taken a moment earlier — and must never step back to "Sending…".
// Pure; used by lib/liveState.ts, unit-tested in test/delivery.test.ts.

/** Twilio's message states (and ours: pending, simulated, dropped) in the order they happen. */
const RANK: Record<string, number> = {
  pending: 0,
  accepted: 1, scheduled: 1, queued: 1, receiving: 1,
  sending: 2,
  sent: 3,
  delivered: 4, read: 5, undelivered: 4, failed: 4, canceled: 4, simulated: 4, dropped: 4, received: 4,
};

/** 0 for a text not yet handed over; higher is further along; an unknown state counts as handed over. */
export function deliveryRank(status: string | null | undefined): number {
  if (!status) return -1;
  return RANK[status] ?? 1;
}

export interface Delivery { status: string; error_code: number | null }

/** The report to keep: `next` unless it is behind `cur` (a tie goes to `next`, the later one heard). */
export function newerDelivery<T extends Delivery>(cur: T | undefined, next: T): T {
  if (cur && deliveryRank(cur.status) > deliveryRank(next.status)) return cur;
  return next;
}
