// quickReplies.ts — the owner's saved texts without React: the variables a
// template may use (explained in Settings), the checks the API makes (label
// ≤ 40, body ≤ 480, both required), the list's order and the positions a
// move up or down changes, and how a tapped chip fills the composer.
// Unit-tested in test/quickReplies.test.ts.
import type { QuickReply } from './types';

export const LABEL_MAX = 40;
export const BODY_MAX = 480;

/** What each variable becomes when the text is sent (sql/conversations/quick_replies.sql, sql/onboarding/greeting.sql). */
export const QUICK_REPLY_VARIABLES: { name: string; means: string }[] = [
  { name: '{{customer_name}}', means: 'the customer’s first name, or “there” when you do not know it' },
  { name: '{{business_name}}', means: 'your business name' },
  { name: '{{trade}}', means: 'your trade, e.g. “plumbing”' },
  { name: '{{hours_today}}', means: 'your hours today' },
  { name: '{{callback_line}}', means: 'a sentence with the number they can call you back at' },
];

export interface QuickReplyErrors { label?: string; body?: string }

/** The API's rules, checked before sending so the owner sees them by the field. */
export function checkQuickReply(label: string, body: string): QuickReplyErrors {
  const e: QuickReplyErrors = {};
  if (!label.trim()) e.label = 'Give it a short name for its button.';
  else if (label.trim().length > LABEL_MAX) e.label = `At most ${LABEL_MAX} characters (now ${label.trim().length}).`;
  if (!body.trim()) e.body = 'Write the text to send.';
  else if (body.trim().length > BODY_MAX) e.body = `At most ${BODY_MAX} characters (now ${body.trim().length}).`;
  return e;
}

/** The list as the API orders it: position, then as it came (the API breaks ties by age). */
export function sortQuickReplies(list: QuickReply[]): QuickReply[] {
  return list.map((q, i) => ({ q, i })).sort((a, b) => a.q.position - b.q.position || a.i - b.i).map((x) => x.q);
}

/**
 * Moves one quick reply up (-1) or down (+1): the new order, and the PATCHes
 * that make the server's positions say it (1, 2, 3… for the items whose
 * position changes: two for a neighbour swap, more when positions were tied).
 * Nothing to do at either end.
 */
export function moveQuickReply(list: QuickReply[], id: string, dir: -1 | 1): { order: QuickReply[]; patches: { id: string; position: number }[] } {
  const sorted = sortQuickReplies(list);
  const i = sorted.findIndex((q) => q.id === id);
  const j = i + dir;
  if (i < 0 || j < 0 || j >= sorted.length) return { order: sorted, patches: [] };
  const moved = sorted.slice();
  [moved[i], moved[j]] = [moved[j], moved[i]];
  const patches: { id: string; position: number }[] = [];
  const order = moved.map((q, k) => {
    if (q.position === k + 1) return q;
    patches.push({ id: q.id, position: k + 1 });
    return { ...q, position: k + 1 };
  });
  return { order, patches };
}

/**
 * The composer's text after a chip is tapped: the chip's text replaces an
 * empty draft or one that is still another chip's text untouched; anything
 * the owner typed is kept, and the text goes after it.
 */
export function applyQuickReply(draft: string, lastInserted: string | null, text: string): string {
  if (!draft.trim() || (lastInserted !== null && draft === lastInserted)) return text;
  return `${draft.replace(/\s+$/, '')} ${text}`;
}
