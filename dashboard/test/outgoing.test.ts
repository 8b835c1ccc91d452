// outgoing.test.ts — after a send the thread follows the conversation the text
// went to; a refused text says why in words, tied to the field to fix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../lib/api';
import { conversationAfterSend, sendProblem } from '../lib/outgoing';
import type { Conversation, Message, SentText } from '../lib/types';

const msg = (conversation_id: string) => ({ id: 'm1', conversation_id, direction: 'outbound', author: 'owner', body: 'hi',
  status: 'pending', error_code: null, simulated: true, created_at: '2025-01-01T00:00:00Z' }) as Message;
const conv = (id: string) => ({ id, customer_id: 'cu', lead_id: null, state: 'open', mode: 'human', human_window_deadline: null,
  last_message_at: null, created_at: '2025-01-01T00:00:00Z' }) as Conversation;

test('the thread moves to the conversation the text went to, and only when it is another one', () => {
  const reopened: SentText = { message: msg('new'), conversation: conv('new') };
  assert.equal(conversationAfterSend('closed-one', reopened), 'new');
  assert.equal(conversationAfterSend('new', reopened), null, 'the same conversation: stay');
  assert.equal(conversationAfterSend(null, reopened), 'new', 'a new text opens its conversation');
  assert.equal(conversationAfterSend('old', { message: msg('m-conv') }), 'm-conv', 'an older answer without conversation: the message says');
});

test('refusals in words, tied to their field', () => {
  assert.deepEqual(sendProblem(new ApiError(400, 'invalid_field', 'to is not a phone number', 'to')).field, 'to');
  assert.match(sendProblem(new ApiError(400, 'invalid_field', 'to is not a phone number', 'to')).text, /not a phone number/);
  assert.equal(sendProblem(new ApiError(400, 'invalid_phone', 'to may contain only digits…', 'to')).field, 'to', 'as the API answers today');
  assert.match(sendProblem(new ApiError(409, 'customer_opted_out', 'opted out')).text, /texted STOP/);
  assert.match(sendProblem(new ApiError(409, 'customer_unreachable', 'x')).text, /cannot get texts/);
  const none = sendProblem(new ApiError(409, 'no_number', 'get a texting number first'));
  assert.equal(none.field, null);
  assert.match(none.text, /no texting number yet/);
  const long = sendProblem(new ApiError(400, 'message_too_long', 'this message would be 4 SMS segments; the limit is 3 (max_reply_segments)', 'body'));
  assert.deepEqual(long, { field: 'body', text: 'Too long: it would go as 4 texts and the limit is 3. Shorten it.' });
  assert.equal(sendProblem(new ApiError(0, 'network_error', 'The server could not be reached.')).text, 'The server could not be reached.');
  assert.equal(sendProblem(new Error('boom')).field, null);
});
