// ownedNumbers.test.ts — a number's webhooks in words: only those set, in a
// fixed order, a missing method read as Twilio's default (POST).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { webhookLines, webhookSummary } from '../lib/ownedNumbers';

const old = {
  voice_url: 'https://old.example.com/voice', voice_method: 'POST',
  sms_url: 'https://old.example.com/sms', sms_method: 'GET',
  status_callback: '', status_callback_method: 'POST',
};

test('the webhooks a number has, calls then texts then call status; an empty URL is none', () => {
  assert.deepEqual(webhookLines(old), [
    { what: 'Calls', url: 'https://old.example.com/voice', method: 'POST' },
    { what: 'Texts', url: 'https://old.example.com/sms', method: 'GET' },
  ]);
  assert.deepEqual(webhookLines({ ...old, voice_url: null, sms_url: '  ', status_callback: 'https://s.example.com/cb', status_callback_method: null }),
    [{ what: 'Call status', url: 'https://s.example.com/cb', method: 'POST' }], 'no method given: POST, as Twilio defaults');
});

test('no record, or nothing set', () => {
  assert.deepEqual(webhookLines(null), []);
  assert.deepEqual(webhookLines(undefined), []);
  assert.equal(webhookSummary({ ...old, voice_url: '', sms_url: '' }), 'No webhooks set');
});

test('a one-line summary for a list row', () => {
  assert.equal(webhookSummary(old), 'Calls → https://old.example.com/voice · Texts → https://old.example.com/sms');
});
