import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RepairShare } from '../../../src/sfu/rtp/repair-share.ts';

test('the share of packets asked for is counted over whole windows of a second', () => {
  const share = new RepairShare();
  assert.equal(share.update(0, 0), 0, 'no window has closed yet');
  for (let i = 0; i < 7; i++) share.requested();
  assert.equal(share.update(50, 500), 0, 'the window is half a second old: still the previous share');
  assert.equal(share.update(100, 1000), 0.07, '7 of the 100 packets sent in the second');
  assert.equal(share.update(150, 1500), 0.07, 'kept until the next window closes');
  assert.equal(share.update(200, 2000), 0, 'a clean second brings it back to 0');
});

test('a window in which nothing was sent reads 0; the share is at most 1', () => {
  const share = new RepairShare();
  share.update(10, 0);
  share.requested();
  assert.equal(share.update(10, 1000), 0);
  for (let i = 0; i < 5; i++) share.requested();
  assert.equal(share.update(12, 2000), 1);
});
