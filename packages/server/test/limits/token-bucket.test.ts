import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TokenBucket } from '../../src/limits/token-bucket.ts';

describe('TokenBucket', () => {
  test('allows the burst, then refills at the configured rate', () => {
    let now = 0;
    const bucket = new TokenBucket(3, 2, () => now);
    assert.deepEqual([bucket.take(), bucket.take(), bucket.take(), bucket.take()], [true, true, true, false]);
    now = 499;
    assert.equal(bucket.take(), false);
    now = 500;
    assert.equal(bucket.take(), true);
    now = 10_000;
    assert.equal(bucket.isFull(), true);
  });
});
