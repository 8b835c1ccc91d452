// connection.test.ts — what the connection bar says, and the store through
// which the API client reports whether the server answered.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connection, createReachability } from '../lib/connection';

test('the browser offline comes first, then a server out of reach, then the feed', () => {
  assert.equal(connection(false, true, 'live'), 'offline');
  assert.equal(connection(false, false, 'reconnecting'), 'offline');
  assert.equal(connection(true, false, 'reconnecting'), 'unreachable');
  assert.equal(connection(true, false, 'connecting'), 'unreachable');
  assert.equal(connection(true, false, 'live'), 'live', 'a live feed proves the server is there');
  assert.equal(connection(true, true, 'reconnecting'), 'reconnecting');
  assert.equal(connection(true, true, 'live'), 'live');
});

test('reachability tells its listeners of changes only', () => {
  const r = createReachability();
  let told = 0;
  const stop = r.subscribe(() => { told += 1; });
  assert.equal(r.reached(), true);
  r.report(true);
  r.report(false);
  r.report(false);
  assert.equal(r.reached(), false);
  r.report(true);
  assert.equal(told, 2);
  stop();
  r.report(false);
  assert.equal(told, 2);
});
