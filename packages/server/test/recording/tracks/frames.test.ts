import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assembleFrames } from '../../../src/recording/tracks/frames.ts';
import { orderPackets } from '../../../src/recording/tracks/packet-order.ts';
import { vp8Packets } from './rtp-packets.ts';

describe('frames', () => {
  test('a frame missing a packet is left out, and so is every frame up to the next keyframe', () => {
    const keyframe = Buffer.from([0x10, 0x00, 0x9d, 0x01, 0x2a]);
    const delta = Buffer.from([0x10, 0x01]);
    const packets = vp8Packets([
      { timestamp: 0, parts: [keyframe, Buffer.from([0x00, 1])] },
      { timestamp: 3000, parts: [delta, Buffer.from([0x00, 2])] },
      { timestamp: 6000, parts: [delta] },
      { timestamp: 9000, parts: [keyframe] },
    ]);
    const lost = packets.filter((p) => p.sequence !== 4); // the second packet of the frame at 3000
    const assembly = assembleFrames('vp8', orderPackets(lost.map((p) => ({ packet: p.packet, arrivalMs: 0 }))).packets);
    assert.deepEqual(assembly.frames.map((f) => [f.timestamp, f.keyframe]), [[0, true], [9000, true]]);
    assert.equal(assembly.broken, 1);
    assert.equal(assembly.skipped, 1);
  });
});
