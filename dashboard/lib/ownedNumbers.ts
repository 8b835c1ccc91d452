// ownedNumbers.ts — a number the owner's Twilio account already has, in words:
// the webhooks it points at (as listed, and as kept when it is attached, to be
// put back when it leaves us). Used by components/NumberPicker.tsx; unit-tested
// in test/ownedNumbers.test.ts.
import type { NumberWebhooks } from './types';

export interface WebhookLine { what: string; url: string; method: string }

const WHAT: Array<[keyof NumberWebhooks, keyof NumberWebhooks, string]> = [
  ['voice_url', 'voice_method', 'Calls'],
  ['sms_url', 'sms_method', 'Texts'],
  ['status_callback', 'status_callback_method', 'Call status'],
];

/** One line per webhook the number has (an empty URL is none), in the order calls, texts, call status. */
export function webhookLines(w: NumberWebhooks | null | undefined): WebhookLine[] {
  if (!w) return [];
  return WHAT.filter(([url]) => (w[url] ?? '').trim() !== '')
    .map(([url, method, what]) => ({ what, url: (w[url] ?? '').trim(), method: (w[method] ?? '').trim() || 'POST' }));
}

/** A short sentence for a list row: where its calls and texts go now. */
export function webhookSummary(w: NumberWebhooks | null | undefined): string {
  const lines = webhookLines(w);
  if (!lines.length) return 'No webhooks set';
  return lines.map((l) => `${l.what} → ${l.url}`).join(' · ');
}
