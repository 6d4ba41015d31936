import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DefaultReconnectPolicy, guardedRetryDelay } from '../src/reconnect-policy.ts';

describe('DefaultReconnectPolicy', () => {
  const lost = 'CONNECTION_LOST' as const;

  test('quick first retries, then a steady pace; past the grace period (a fresh join) for a minute at least', () => {
    const policy = new DefaultReconnectPolicy(() => 0);
    assert.equal(policy.nextRetryDelayMs({ attempt: 0, elapsedMs: 0, graceMs: 20_000, reason: lost }), 0);
    assert.equal(policy.nextRetryDelayMs({ attempt: 1, elapsedMs: 100, graceMs: 20_000, reason: lost }), 300);
    assert.equal(policy.nextRetryDelayMs({ attempt: 9, elapsedMs: 10_000, graceMs: 20_000, reason: lost }), 7000);
    assert.equal(policy.nextRetryDelayMs({ attempt: 9, elapsedMs: 30_000, graceMs: 20_000, reason: lost }), 7000, 'the grace is over, a fresh join can still work');
    assert.equal(policy.nextRetryDelayMs({ attempt: 12, elapsedMs: 53_000, graceMs: 20_000, reason: lost }), 7000);
    assert.equal(policy.nextRetryDelayMs({ attempt: 12, elapsedMs: 53_001, graceMs: 20_000, reason: lost }), null, 'gives up after a minute');
    assert.equal(policy.nextRetryDelayMs({ attempt: 20, elapsedMs: 100_000, graceMs: 120_000, reason: lost }), 7000, 'a longer grace is used whole');
    assert.equal(policy.nextRetryDelayMs({ attempt: 20, elapsedMs: 115_000, graceMs: 120_000, reason: lost }), null);
  });

  test('1000 clients of a server that shuts down: their first attempts spread over a second, later ones up to a second apart; a blip still retries at once', () => {
    const policy = new DefaultReconnectPolicy();
    const delays = (attempt: number, reason: 'SERVER_SHUTDOWN' | 'CONNECTION_LOST') =>
      Array.from({ length: 1000 }, () => policy.nextRetryDelayMs({ attempt, elapsedMs: 0, graceMs: 20_000, reason })!);
    const spread = (values: number[]) => {
      const perSlot = new Map<number, number>();
      for (const value of values) perSlot.set(Math.floor(value / 100), (perSlot.get(Math.floor(value / 100)) ?? 0) + 1);
      return { min: Math.min(...values), max: Math.max(...values), busiest: Math.max(...perSlot.values()) };
    };
    const first = spread(delays(0, 'SERVER_SHUTDOWN'));
    assert.ok(first.min >= 0 && first.max < 1000 && first.max >= 900, `first attempts within [0, 1000) ms, spread over most of it (${first.min}-${first.max})`);
    assert.ok(first.busiest < 200, `no 100 ms slot takes a fifth of the clients (busiest ${first.busiest} of 1000)`);
    assert.deepEqual([...new Set(delays(0, 'CONNECTION_LOST'))], [0], 'a single dropped connection retries at once');
    assert.deepEqual([...new Set(delays(1, 'SERVER_SHUTDOWN'))], [300], 'the second attempt is not jittered');
    const third = spread(delays(2, 'SERVER_SHUTDOWN'));
    assert.ok(third.min >= 1200 && third.max < 2200 && third.busiest < 200, `third attempts 1200-2200 ms, spread (${JSON.stringify(third)})`);
  });
});

describe('guardedRetryDelay', () => {
  const context = { attempt: 1, elapsedMs: 0, graceMs: 20_000, reason: 'CONNECTION_LOST' as const };
  const fallback = new DefaultReconnectPolicy(() => 0);

  test("a policy's finite delay or null is followed as given", () => {
    assert.equal(guardedRetryDelay({ nextRetryDelayMs: () => 42 }, context, fallback), 42);
    assert.equal(guardedRetryDelay({ nextRetryDelayMs: () => null }, context, fallback), null);
  });

  test('a policy that throws or answers nonsense is replaced by the default for that attempt', () => {
    const broken = [
      () => {
        throw new Error('bug in the app');
      },
      () => -5,
      () => Number.NaN,
      () => Infinity,
      () => '100' as unknown as number,
      () => undefined as unknown as number,
    ];
    for (const nextRetryDelayMs of broken) assert.equal(guardedRetryDelay({ nextRetryDelayMs }, context, fallback), 300, String(nextRetryDelayMs));
  });
});
