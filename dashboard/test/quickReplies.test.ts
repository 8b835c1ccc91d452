// quickReplies.test.ts — the saved texts' rules before the API sees them, their
// order, the positions a move up or down patches, and how a tapped chip fills
// the composer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyQuickReply, BODY_MAX, checkQuickReply, LABEL_MAX, moveQuickReply, QUICK_REPLY_VARIABLES, sortQuickReplies } from '../lib/quickReplies';
import type { QuickReply } from '../lib/types';

const q = (id: string, position: number): QuickReply => ({ id, label: id, body: `{{customer_name}} ${id}`, text: `there ${id}`, position });

test('label and text are required and as long as the API allows', () => {
  assert.deepEqual(checkQuickReply('On my way', 'Hi {{customer_name}}'), {});
  assert.deepEqual(Object.keys(checkQuickReply('  ', '')).sort(), ['body', 'label']);
  assert.deepEqual(checkQuickReply('x'.repeat(LABEL_MAX), 'y'.repeat(BODY_MAX)), {});
  assert.match(checkQuickReply('x'.repeat(LABEL_MAX + 1), 'ok').label ?? '', /At most 40 characters \(now 41\)/);
  assert.match(checkQuickReply('ok', 'y'.repeat(BODY_MAX + 1)).body ?? '', /At most 480/);
  assert.deepEqual(checkQuickReply(`  ${'x'.repeat(LABEL_MAX)}  `, 'ok'), {}, 'measured as sent: trimmed');
});

test('every variable the server renders is explained', () => {
  assert.deepEqual(QUICK_REPLY_VARIABLES.map((v) => v.name).sort(),
    ['{{business_name}}', '{{callback_line}}', '{{customer_name}}', '{{hours_today}}', '{{trade}}']);
});

test('the list is in position order; ties keep the order the API sent', () => {
  assert.deepEqual(sortQuickReplies([q('c', 3), q('a', 1), q('b', 1)]).map((x) => x.id), ['a', 'b', 'c']);
});

test('moving swaps neighbours and patches only the positions that change', () => {
  const list = [q('a', 1), q('b', 2), q('c', 3)];
  const up = moveQuickReply(list, 'c', -1);
  assert.deepEqual(up.order.map((x) => x.id), ['a', 'c', 'b']);
  assert.deepEqual(up.patches, [{ id: 'c', position: 2 }, { id: 'b', position: 3 }]);
  const down = moveQuickReply(list, 'a', 1);
  assert.deepEqual(down.order.map((x) => [x.id, x.position]), [['b', 1], ['a', 2], ['c', 3]]);
  assert.equal(down.patches.length, 2);
});

test('nothing moves past either end or for an unknown id', () => {
  const list = [q('a', 1), q('b', 2)];
  assert.deepEqual(moveQuickReply(list, 'a', -1).patches, []);
  assert.deepEqual(moveQuickReply(list, 'b', 1).patches, []);
  assert.deepEqual(moveQuickReply(list, 'zz', 1).patches, []);
});

test('tied or gapped positions are renumbered so the move holds', () => {
  const { order, patches } = moveQuickReply([q('a', 0), q('b', 0), q('c', 7)], 'c', -1);
  assert.deepEqual(order.map((x) => [x.id, x.position]), [['a', 1], ['c', 2], ['b', 3]]);
  assert.deepEqual(patches, [{ id: 'a', position: 1 }, { id: 'c', position: 2 }, { id: 'b', position: 3 }]);
});

test('a chip fills an empty box, replaces an untouched chip text, and goes after what was typed', () => {
  assert.equal(applyQuickReply('', null, 'On my way'), 'On my way');
  assert.equal(applyQuickReply('   ', null, 'On my way'), 'On my way');
  assert.equal(applyQuickReply('On my way', 'On my way', 'Running late'), 'Running late', 'another chip replaces the first');
  assert.equal(applyQuickReply('On my way, gate code 42', 'On my way', 'Booked'), 'On my way, gate code 42 Booked', 'edited: kept');
  assert.equal(applyQuickReply('Hello \n', null, 'Booked'), 'Hello Booked');
});
