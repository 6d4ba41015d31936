/** Which packets the SFU asks a publisher to resend, and when. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { UpstreamLosses } from '../../../src/sfu/worker/upstream-losses.ts';

describe('UpstreamLosses', () => {
  test('a gap is asked for at once; a packet that arrives late is not asked for again', () => {
    const losses = new UpstreamLosses();
    assert.deepEqual(losses.onPacket(101, 100, 0), []);
    assert.deepEqual(losses.onPacket(105, 101, 10), [102, 103, 104]);
    assert.deepEqual(losses.onPacket(103, 105, 20), [], 'a late packet opens no gap');
    assert.deepEqual(losses.due(10 + losses.retryAfterMs - 1), [], 'not before the retry interval');
    assert.deepEqual(losses.due(200), [102, 104]);
  });

  test('asked again after twice the measured resend time (30-150 ms), ten requests at most, none after a second', () => {
    const losses = new UpstreamLosses();
    assert.equal(losses.retryAfterMs, 100, 'before any resend is measured: twice 50 ms');
    // Resends that take 10 ms bring the retry down to its 30 ms floor.
    for (let i = 0; i < 20; i++) {
      const at = i * 1000;
      losses.onPacket(2 * i + 2, 2 * i, at);
      losses.onPacket(2 * i + 1, 2 * i + 2, at + 10);
    }
    assert.equal(losses.retryAfterMs, 30);
    losses.onPacket(102, 100, 50_000);
    const asked: number[] = [];
    for (let t = 50_000; t <= 51_100; t += 10) if (losses.due(t).includes(101)) asked.push(t - 50_000);
    assert.deepEqual(asked, [30, 60, 90, 120, 150, 180, 210, 240, 270], 'nine more requests, every 30 ms');
    losses.onPacket(110, 102, 60_000);
    assert.deepEqual(losses.due(61_100), [], 'too old to be worth it');
  });

  test('slow resends stretch the retry to at most 150 ms; a resend answering a second request measures nothing', () => {
    const losses = new UpstreamLosses();
    for (let i = 0; i < 20; i++) {
      const at = i * 1000;
      losses.onPacket(2 * i + 2, 2 * i, at);
      losses.onPacket(2 * i + 1, 2 * i + 2, at + 400);
    }
    assert.equal(losses.retryAfterMs, 150);
    const before = losses.retryAfterMs;
    losses.onPacket(102, 100, 50_000);
    losses.due(50_150);
    losses.onPacket(101, 102, 50_151);
    assert.equal(losses.retryAfterMs, before);
  });

  test('a gap not asked for at once (withheld) is asked for at the next check, and its resend time is measured from that request', () => {
    const losses = new UpstreamLosses();
    // Resends that take 1 ms, as on bench:quality's link: the retry is at its 30 ms floor.
    for (let i = 0; i < 20; i++) {
      losses.onPacket(2 * i + 2, 2 * i, i * 1000);
      losses.onPacket(2 * i + 1, 2 * i + 2, i * 1000 + 1);
    }
    assert.equal(losses.retryAfterMs, 30);
    assert.deepEqual(losses.onPacket(103, 100, 50_000, false, false), [], 'withheld: nothing to send now');
    assert.deepEqual(losses.due(50_010), [101, 102], 'asked for at the first check, not a retry interval later');
    // Three gaps withheld for 60 ms each, each resent 1 ms after its request: still 1 ms resends
    // (counting from the gap, 61 ms ones, the retry went to ~60 ms).
    for (let i = 0; i < 3; i++) {
      const at = 60_000 + i * 1000;
      losses.onPacket(202 + 2 * i, 200 + 2 * i, at, false, false);
      assert.deepEqual(losses.due(at + 60), [201 + 2 * i]);
      losses.onPacket(201 + 2 * i, 202 + 2 * i, at + 61);
    }
    assert.equal(losses.retryAfterMs, 30);
  });

  test('nextDueAt: when the oldest request falls due again; withheld or repaired packets set no time', () => {
    const losses = new UpstreamLosses();
    assert.equal(losses.nextDueAt(), undefined);
    losses.onPacket(103, 100, 1000, false, false);
    assert.equal(losses.nextDueAt(), undefined, 'withheld: left to the periodic check');
    assert.deepEqual(losses.due(1010), [101, 102]);
    assert.equal(losses.nextDueAt(), 1010 + losses.retryAfterMs);
    losses.onPacket(106, 103, 1020);
    assert.equal(losses.nextDueAt(), 1010 + losses.retryAfterMs, 'the oldest request first');
    losses.onPacket(101, 106, 1030);
    losses.onPacket(102, 106, 1031);
    assert.equal(losses.nextDueAt(), 1020 + losses.retryAfterMs, 'what arrived is not waited for');
    assert.deepEqual(losses.due(losses.nextDueAt()!), [104, 105], 'due exactly then');
  });

  test('a padding gap is not asked for: the publisher keeps no padding to resend', () => {
    const losses = new UpstreamLosses();
    assert.deepEqual(losses.onPacket(105, 100, 0, true), []);
    assert.deepEqual(losses.due(500), []);
  });

  test('the gap across 65535 -> 0; a jump too large to be loss is ignored', () => {
    const losses = new UpstreamLosses();
    assert.deepEqual(losses.onPacket(1, 65534, 0), [65535, 0]);
    assert.deepEqual(losses.onPacket(5000, 1, 0), [], 'a restarted stream, not 4998 lost packets');
  });
});
