// outgoing.ts — texts the owner sends, without React: which conversation to
// show after a send (a closed one's text goes to the customer's open
// conversation, or a new one), and why a send was refused, in words, with the
// field it is about (the number or the text). Used by components/Composer.tsx
// and components/NewTextForm.tsx; unit-tested in test/outgoing.test.ts.
import { ApiError } from './api';
import type { SentText } from './types';

/** The conversation to open after a send, when it is not the one on screen (else null). */
export function conversationAfterSend(postedTo: string | null, r: SentText): string | null {
  const to = r.conversation?.id ?? r.message.conversation_id;
  return to && to !== postedTo ? to : null;
}

export interface SendProblem { field: 'to' | 'body' | null; text: string }

/** Why a text was not sent, said for the owner; field: what to fix, when it is one field. */
export function sendProblem(e: unknown): SendProblem {
  if (!(e instanceof ApiError)) return { field: null, text: 'Something went wrong. Please try again.' };
  switch (e.code) {
    case 'customer_opted_out':
      return { field: null, text: 'This customer texted STOP: nothing can be texted to them until they text START. Call them instead.' };
    case 'customer_unreachable':
      return { field: null, text: 'This number cannot get texts (a landline, or the carrier refuses them). Call them instead.' };
    case 'no_number':
      return { field: null, text: 'You have no texting number yet: get one in Settings → Texting number, then send again.' };
    case 'message_too_long': {
      const m = /(\d+) SMS segments; the limit is (\d+)/.exec(e.message);
      return { field: 'body', text: m ? `Too long: it would go as ${m[1]} texts and the limit is ${m[2]}. Shorten it.` : 'Too long to send: shorten it.' };
    }
    case 'invalid_phone':   // what the API answers for `to` (normalize_phone); invalid_field as documented
    case 'invalid_field':
      if (e.field === 'to') return { field: 'to', text: 'That is not a phone number. Type it with its area code, e.g. (512) 555-0142.' };
      if (e.field === 'body') return { field: 'body', text: e.message };
      return { field: null, text: e.message };
    default:
      return { field: null, text: e.message };
  }
}
