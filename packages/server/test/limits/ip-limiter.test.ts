import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { IpLimiter } from '../../src/limits/ip-limiter.ts';

describe('IpLimiter', () => {
  test('caps concurrent leases and the rate per IP, independently per IP', () => {
    let now = 0;
    const limiter = new IpLimiter({ perMinute: 60, burst: 3, maxConcurrent: 2 }, () => now);
    const a1 = limiter.admit('a');
    const a2 = limiter.admit('a');
    assert.deepEqual(limiter.admit('a'), { ok: false, reason: 'concurrency' });
    assert.equal(limiter.admit('b').ok, true);
    if (a1.ok) a1.release();
    if (a1.ok) a1.release(); // idempotent
    assert.equal(limiter.admit('a').ok, true);
    if (a2.ok) a2.release();
    assert.deepEqual(limiter.admit('a'), { ok: false, reason: 'rate' });
    now = 1000;
    assert.equal(limiter.admit('a').ok, true);
  });

  test('sweep forgets idle IPs whose bucket refilled', () => {
    let now = 0;
    const limiter = new IpLimiter({ perMinute: 60, burst: 1, maxConcurrent: 5 }, () => now);
    const lease = limiter.admit('a');
    if (lease.ok) lease.release();
    limiter.sweep();
    assert.equal(limiter.trackedIps, 1);
    now = 2000;
    limiter.sweep();
    assert.equal(limiter.trackedIps, 0);
  });
});
