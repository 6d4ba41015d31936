import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { probeRate } from '../../../src/sfu/worker/downlink-controller.ts';

describe('probeRate', () => {
  const probe = (sent: [number, number, number], received: [number, number, number]) => ({
    sent: { bytes: sent[0], lastSize: 250, first: sent[1], last: sent[2], packets: 40 },
    received: { bytes: received[0], firstSize: 250, first: received[1], last: received[2], packets: 40 },
  });

  test('min of send and receive rates when the link kept up; 95 % of received when it saturated', () => {
    // 10,250 bytes over 100 ms sent = 800 kbit/s; received over 100 ms too.
    assert.equal(probeRate(probe([10_250, 0, 100], [10_250, 1000, 1100])), 800_000);
    // received over 200 ms: 400 kbit/s < 90 % of 800: saturated.
    assert.equal(probeRate(probe([10_250, 0, 100], [10_250, 1000, 1200])), 0.95 * 400_000);
  });

  test('too little received to tell', () => {
    assert.equal(probeRate({ sent: { bytes: 10_000, lastSize: 250, first: 0, last: 100, packets: 40 }, received: { bytes: 5000, firstSize: 250, first: 0, last: 100, packets: 20 } }), undefined);
  });
});
