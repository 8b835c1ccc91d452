import { test } from 'node:test';
import assert from 'node:assert/strict';
import { alertLinkTarget, mapHref, telHref } from '../lib/links';

test('tel: links dial the stored E.164 number', () => {
  assert.equal(telHref('+15125550143'), 'tel:+15125550143');
  assert.equal(telHref('+44 20 7946 0958'), 'tel:+442079460958');
  assert.equal(telHref(null), null);
  assert.equal(telHref(''), null);
  assert.equal(telHref('anonymous'), null, 'nothing to dial');
});

test('map links search for the address, encoded', () => {
  assert.equal(mapHref('55 Oak St, Austin TX 78702'),
    'https://www.google.com/maps/search/?api=1&query=55%20Oak%20St%2C%20Austin%20TX%2078702');
  assert.equal(mapHref('  '), null);
  assert.equal(mapHref(undefined), null);
  assert.equal(mapHref('1 A&B Rd #2'), 'https://www.google.com/maps/search/?api=1&query=1%20A%26B%20Rd%20%232');
});

test("an alert's link to a conversation opens its thread", () => {
  assert.equal(alertLinkTarget('/conversations/3f2a-77'), '/conversations?c=3f2a-77');
  assert.equal(alertLinkTarget('/conversations/3f2a-77/'), '/conversations?c=3f2a-77');
  assert.equal(alertLinkTarget('/conversations'), null);
  assert.equal(alertLinkTarget('/'), null);
  assert.equal(alertLinkTarget('/conversations/a/b'), null);
  assert.equal(alertLinkTarget('/conversations/a&b=c'), null);
});
