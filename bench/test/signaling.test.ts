import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pooled } from '../signaling/clients.ts';
import { parseSignalingOptions } from '../signaling/options.ts';

test('bench:signaling options: defaults, lists, and each bad value refused with the option named', () => {
  assert.deepEqual(parseSignalingOptions([]), { participants: 2000, roomSizes: [2, 50], nodeCounts: [1, 2], concurrency: 100 });
  assert.deepEqual(parseSignalingOptions(['--participants', '500', '--room-sizes', '50', '--nodes', '2', '--concurrency', '10']), { participants: 500, roomSizes: [50], nodeCounts: [2], concurrency: 10 });
  assert.equal(parseSignalingOptions(['--help']), 'help');
  for (const [args, pattern] of [
    [['--participants', '1'], /--participants/],
    [['--participants', 'many'], /--participants/],
    [['--room-sizes', '2,1'], /--room-sizes/],
    [['--room-sizes', ','], /--room-sizes needs/],
    [['--nodes', '3'], /--nodes/],
    [['--concurrency', '0'], /--concurrency/],
  ] as const) {
    assert.throws(() => parseSignalingOptions([...args]), pattern, args.join(' '));
  }
  assert.throws(() => parseSignalingOptions(['--unknown']), /unknown/i);
});

test('pooled: every task once, results in order, never more in flight than asked', async () => {
  let inFlight = 0;
  let most = 0;
  const tasks = Array.from({ length: 25 }, (_, i) => async () => {
    inFlight++;
    most = Math.max(most, inFlight);
    await new Promise((resolve) => setImmediate(resolve));
    inFlight--;
    return i * 2;
  });
  assert.deepEqual(await pooled(tasks, 4), Array.from({ length: 25 }, (_, i) => i * 2));
  assert.equal(most, 4);
});
