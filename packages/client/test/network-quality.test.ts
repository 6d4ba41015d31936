import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { classifyNetworkQuality, detectNetworkQuality, type NetworkMeasurement, type NetworkQuality } from '../src/network-quality.ts';
import { ParleyError } from '../src/errors.ts';

const m = (downloadMbps: number, uploadMbps: number, latencyMs: number): NetworkMeasurement => ({ downloadMbps, uploadMbps, latencyMs });

describe('classifyNetworkQuality', () => {
  const cases: Array<[NetworkMeasurement, NetworkQuality, string]> = [
    [m(100, 50, 5), 'excellent', 'a fast LAN'],
    [m(5.01, 2.01, 49.9), 'excellent', 'just above every excellent threshold'],
    [m(5, 50, 5), 'good', 'download exactly 5 is not above 5'],
    [m(50, 2, 5), 'good', 'upload exactly 2 is not above 2'],
    [m(50, 50, 50), 'good', 'latency exactly 50 is not below 50'],
    [m(2.01, 1.01, 149), 'good', 'just above every good threshold'],
    [m(2, 10, 10), 'fair', 'download exactly 2'],
    [m(10, 1, 10), 'fair', 'upload exactly 1'],
    [m(10, 10, 150), 'fair', 'latency exactly 150'],
    [m(1.01, 0.51, 299), 'fair', 'just above every fair threshold'],
    [m(1, 10, 10), 'poor', 'download exactly 1'],
    [m(10, 0.5, 10), 'poor', 'upload exactly 0.5'],
    [m(10, 10, 300), 'poor', 'latency exactly 300'],
    [m(0.4, 0.4, 400), 'poor', 'slow 3G'],
    [m(0, 0, 0), 'poor', 'nothing moved'],
    [m(1000, 1000, 400), 'poor', 'fast but far: latency alone makes it poor'],
    [m(0.8, 100, 1), 'poor', 'one weak direction is enough'],
  ];
  for (const [measurement, expected, why] of cases) {
    test(`${JSON.stringify(measurement)} is ${expected} (${why})`, () => {
      assert.equal(classifyNetworkQuality(measurement), expected);
    });
  }

  test('NaN figures (nothing measurable) are poor, never better', () => {
    assert.equal(classifyNetworkQuality(m(Number.NaN, 100, 1)), 'poor');
    assert.equal(classifyNetworkQuality(m(100, 100, Number.NaN)), 'poor');
  });
});

describe('detectNetworkQuality arguments', () => {
  test('refuses a bad duration or URL with INVALID_ARGUMENT before sending anything', async () => {
    for (const durationMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      await assert.rejects(detectNetworkQuality({ url: 'http://127.0.0.1:9', durationMs }), (error: unknown) => {
        assert.ok(error instanceof ParleyError);
        assert.equal(error.code, 'INVALID_ARGUMENT');
        assert.match(error.message, /durationMs/);
        return true;
      });
    }
    await assert.rejects(detectNetworkQuality({ url: 'not a url' }), { code: 'INVALID_ARGUMENT', message: /url must be/ });
  });

  test('an already aborted signal rejects with its reason', async () => {
    const reason = new Error('user went away');
    await assert.rejects(detectNetworkQuality({ url: 'http://127.0.0.1:9', signal: AbortSignal.abort(reason) }), reason);
  });
});
