import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { orderPackets, Unwrapper } from '../../../src/recording/tracks/packet-order.ts';
import { rtpPacket } from './rtp-packets.ts';

describe('packet order', () => {
  test('sequence numbers across the 16-bit wrap, reordered and resent, come out in order once; holes are listed; padding is no hole', () => {
    const arrivals = [65533, 65535, 65534, 0, 0, 3, 1, 4].map((sequence, i) => ({ packet: rtpPacket({ sequence, timestamp: 1000 + sequence, payload: Buffer.from([i + 1]) }), arrivalMs: i }));
    arrivals.push({ packet: rtpPacket({ sequence: 5, timestamp: 0, payload: Buffer.alloc(0) }), arrivalMs: 9 });
    arrivals.push({ packet: rtpPacket({ sequence: 6, timestamp: 0, payload: Buffer.from([9]) }), arrivalMs: 10 });
    const { packets, duplicates, gaps } = orderPackets(arrivals);
    assert.deepEqual(packets.map((p) => p.sequence), [65533, 65534, 65535, 65536, 65537, 65539, 65540, 65542]);
    assert.equal(duplicates, 1);
    assert.deepEqual(gaps.map((g) => [g.after, g.missing]), [[65537, 1]], 'only sequence 2 is missing: 5 was padding');
    assert.equal(packets[0]!.payload[0], 1, 'the first copy is kept');
  });

  test('32-bit timestamps unwrap forward, and a late packet does not move the reference back', () => {
    const unwrap = new Unwrapper(32);
    assert.deepEqual([4294967000, 100, 4294967100, 200].map((v) => unwrap.unwrap(v)), [4294967000, 4294967396, 4294967100, 4294967496]);
  });
});
