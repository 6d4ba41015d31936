/** `lossBeyondRandom`: a loss count random loss does not explain, over few packets and many. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lossBeyondRandom } from '../../../src/sfu/rtp/loss-beyond-random.ts';

/** The fewest of `expected` packets lost that count as beyond random loss at a 30 % share. */
const fewest = (expected: number): number => {
  let lost = 0;
  while (lost <= expected && !lossBeyondRandom(expected, lost, 0.3)) lost += 1;
  return lost;
};

test('over few packets it takes more than the share; over many the share decides', () => {
  assert.equal(fewest(10), 7, '30 % of 10 is lost under 7 % random loss in 2.8 % of windows: 7 of 10 is needed');
  assert.equal(fewest(16), 8);
  assert.equal(fewest(20), 9);
  assert.equal(fewest(50), 15);
  assert.equal(fewest(100), 30, 'the share');
  assert.equal(fewest(2000), 600, 'past the table, the share');
  assert.equal(fewest(5), 5, 'of five packets, all');
  assert.equal(lossBeyondRandom(0, 0, 0.3), false);
});

test('7 % random loss over windows of 10-30 packets is beyond random in at most 1 of 10^4 (a share of 30 % alone: 348 of 10^5); 7 packets of 8 lost is, from 10 packets on', () => {
  let seed = 17;
  const random = () => ((seed = (seed * 48271) % 0x7fffffff) / 0x7fffffff);
  let flagged = 0;
  for (let window = 0; window < 100_000; window++) {
    const expected = 10 + (window % 21);
    let lost = 0;
    for (let i = 0; i < expected; i++) if (random() < 0.07) lost += 1;
    if (lossBeyondRandom(expected, lost, 0.3)) flagged += 1;
  }
  assert.ok(flagged <= 10, `${flagged} of 100000 windows`);
  // A publisher sending 2.5 Mbit/s into 300 kbit/s: one packet in 8 gets through.
  for (const expected of [10, 16, 24, 40, 80]) assert.equal(lossBeyondRandom(expected, Math.floor((expected * 7) / 8), 0.3), true, `${expected} packets`);
});
