import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { classifyConnection, lossFraction, retransmissionShare } from '../src/connection-quality.ts';
import type { TrackStats } from '../src/stats.ts';

const stream = (over: Partial<TrackStats>): TrackStats => ({
  participant: 'p',
  direction: 'inbound',
  kind: 'video',
  bitrateKbps: 0,
  bytes: 0,
  packets: 0,
  packetsLost: 0,
  ...over,
});

describe('connection quality', () => {
  test('loss is counted since the previous sample, over all streams', () => {
    const before = [stream({ packets: 100, packetsLost: 0, bytes: 1 }), stream({ kind: 'audio', packets: 100, packetsLost: 0, bytes: 1 })];
    const after = [stream({ packets: 190, packetsLost: 10, bytes: 2 }), stream({ kind: 'audio', packets: 200, packetsLost: 0, bytes: 2 })];
    assert.equal(lossFraction(after, before), 10 / 200);
  });

  test('the share resent after NACKs is judged per simulcast layer: the most repaired one, if it sent enough to tell', () => {
    const layer = (rid: string, packets: number, retransmittedPackets: number) => stream({ direction: 'outbound', rid, packets, retransmittedPackets, bytes: packets });
    const before = [layer('q', 1000, 0), layer('h', 1000, 0), layer('f', 1000, 0)];
    // The SFU forwards only f: its 7 % must not be diluted by q and h, which nobody asked to repair.
    assert.equal(retransmissionShare([layer('q', 1030, 0), layer('h', 1090, 0), layer('f', 1300, 21)], before), 21 / 300);
    // A layer that sent 30 packets resent 3 of them: too few packets to call that 10 % loss.
    assert.equal(retransmissionShare([layer('q', 1030, 3), layer('h', 1090, 0), layer('f', 1300, 3)], before), 3 / 300);
    assert.equal(retransmissionShare([layer('f', 1300, 21)], undefined), 0, 'no previous sample, no share');
  });

  test('classes from loss, RTT and jitter; lost when nothing arrives', () => {
    const before = [stream({ packets: 100, bytes: 1000 })];
    assert.equal(classifyConnection([stream({ packets: 200, bytes: 2000, rttMs: 20, jitterMs: 5 })], before), 'excellent');
    assert.equal(classifyConnection([stream({ packets: 197, packetsLost: 3, bytes: 2000 })], before), 'good');
    assert.equal(classifyConnection([stream({ packets: 200, bytes: 2000, rttMs: 450 })], before), 'poor');
    assert.equal(classifyConnection([stream({ packets: 200, bytes: 2000, jitterMs: 150 })], before), 'poor');
    assert.equal(classifyConnection([stream({ packets: 100, bytes: 1000 })], before), 'lost');
    assert.equal(classifyConnection([], undefined), 'excellent');
  });
});
