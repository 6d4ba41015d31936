import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RETRY_DELAYS_MS } from '../../src/recording/browser-recorder.ts';

test('upload retries: about two minutes in all, and a server back within the first 30 s is retried within a second', () => {
  const total = RETRY_DELAYS_MS.reduce((sum, delay) => sum + delay, 0);
  assert.ok(total >= 110_000 && total <= 130_000, `retries span ${total} ms`);
  // When each retry runs, from the first failure on; a server that listens again at any moment up
  // to 30 s waits at most 1 s for the next retry.
  const at = RETRY_DELAYS_MS.map((_, i) => RETRY_DELAYS_MS.slice(0, i + 1).reduce((sum, delay) => sum + delay, 0));
  for (let back = 0; back <= 30_000; back += 50) {
    const next = at.find((t) => t >= back);
    assert.ok(next !== undefined && next - back <= 1000, `a server back ${back} ms after the failure is retried ${next === undefined ? 'never' : `${next - back} ms later`}`);
  }
});
