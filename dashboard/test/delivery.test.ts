// delivery.test.ts — a text's delivery state only moves forward, whatever
// order the send's answer, the feed and API reads arrive in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deliveryRank, newerDelivery, setDeliveryRanks, type Delivery } from '../lib/delivery';
import { loadServerRanks } from './serverRanks';

const ranks = loadServerRanks();

test('before the server has said, every state ranks alike: the later report heard wins', () => {
  setDeliveryRanks({});
  assert.equal(deliveryRank('pending'), deliveryRank('delivered'));
  const d = { status: 'pending', error_code: null };
  assert.equal(newerDelivery({ status: 'delivered', error_code: null }, d), d);
  setDeliveryRanks(ranks);
});

test('states rank in the order they happen; unknown ones count as handed over', () => {
  const order = ['pending', 'queued', 'sending', 'sent', 'delivered'];
  for (let i = 1; i < order.length; i++) assert.ok(deliveryRank(order[i]) > deliveryRank(order[i - 1]), `${order[i]} after ${order[i - 1]}`);
  for (const end of ['simulated', 'failed', 'undelivered', 'dropped']) assert.ok(deliveryRank(end) > deliveryRank('sent'), end);
  assert.equal(deliveryRank('something_new'), deliveryRank('queued'));
  assert.ok(deliveryRank(undefined) < deliveryRank('pending'));
});

test('the newer report is kept: never back to pending, ties go to the later one heard', () => {
  const queued: Delivery = { status: 'queued', error_code: null };
  const pending: Delivery = { status: 'pending', error_code: null };
  assert.equal(newerDelivery(queued, pending), queued, 'a late "pending" answer does not undo "queued"');
  assert.equal(newerDelivery(pending, queued), queued);
  const failed = { status: 'failed', error_code: 21211 };
  assert.equal(newerDelivery(queued, failed), failed);
  const undelivered = { status: 'undelivered', error_code: 30003 };
  assert.equal(newerDelivery(failed, undelivered), undelivered, 'same rank: the later report');
  assert.equal(newerDelivery(undefined, pending), pending);
});
