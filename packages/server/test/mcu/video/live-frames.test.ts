import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LiveFrameAssembler } from '../../../src/mcu/video/live-frames.ts';
import { rtpPacket, vp8Payloads } from '../../../src/mcu/video/vp8-packetizer.ts';

/** A VP8 frame's bytes: a keyframe starts with bit 0 clear and the start code at 3..5 (RFC 6386 9.1). */
function vp8Frame(keyframe: boolean, size: number, fill: number): Buffer {
  const frame = Buffer.alloc(size, fill);
  frame[0] = keyframe ? 0x00 : 0x01;
  if (keyframe) frame.set([0x9d, 0x01, 0x2a, 64, 0, 36, 0], 3);
  return frame;
}

/** The frame's RTP packets from `sequence` on (300-byte payloads: a frame of 1000 bytes is 4 packets). */
function packets(frame: Buffer, sequence: number, timestamp: number, pictureId: number): Buffer[] {
  const payloads = vp8Payloads(frame, pictureId, 304);
  return payloads.map((payload, i) => rtpPacket({ payloadType: 96, sequence: (sequence + i) & 0xffff, timestamp, ssrc: 1 }, i === payloads.length - 1, payload));
}

const padding = (sequence: number, timestamp: number) => rtpPacket({ payloadType: 96, sequence, timestamp, ssrc: 1 }, false, Buffer.alloc(0));

describe('LiveFrameAssembler', () => {
  test('frames out whole and in order, whatever order their packets come in, and nothing before the first keyframe', () => {
    const assembler = new LiveFrameAssembler('vp8');
    const delta = vp8Frame(false, 500, 7);
    const key = vp8Frame(true, 1000, 1);
    const next = vp8Frame(false, 700, 2);
    // A delta frame first: nothing to decode it against.
    for (const packet of packets(delta, 10, 1000, 1)) assert.deepEqual(assembler.push(packet, 0).frames, []);
    const keyPackets = packets(key, 12, 4000, 2);
    const nextPackets = packets(next, 12 + keyPackets.length, 7000, 3);
    const shuffled = [keyPackets[2]!, nextPackets[1]!, keyPackets[0]!, keyPackets[3]!, nextPackets[0]!, keyPackets[1]!, nextPackets[2]!];
    const out = shuffled.flatMap((packet) => assembler.push(packet, 1).frames);
    assert.deepEqual(
      out.map((f) => [f.timestamp, f.keyframe, f.data.equals(f.keyframe ? key : next)]),
      [
        [4000, true, true],
        [7000, false, true],
      ],
    );
    // A packet again (a resend that crossed the original) changes nothing.
    assert.deepEqual(assembler.push(keyPackets[1]!, 2).frames, []);
  });

  test('a hole repaired in time delays the frame; one that is not drops everything up to the next keyframe and asks for one', () => {
    const assembler = new LiveFrameAssembler('vp8', { maxWaitMs: 100 });
    const key = packets(vp8Frame(true, 900, 1), 100, 0, 1);
    assert.equal(key.flatMap((p) => assembler.push(p, 0).frames).length, 1);
    const second = packets(vp8Frame(false, 900, 2), 103, 3000, 2);
    assert.deepEqual(assembler.push(second[0]!, 10).frames, []);
    assert.deepEqual(assembler.push(second[2]!, 10).frames, [], 'the middle packet is missing');
    const repaired = assembler.push(second[1]!, 60);
    assert.equal(repaired.frames.length, 1, 'the resend arrived within the wait');
    const third = packets(vp8Frame(false, 900, 3), 106, 6000, 3);
    const fourth = packets(vp8Frame(false, 900, 4), 109, 9000, 4);
    assembler.push(third[0]!, 100);
    for (const packet of fourth) assert.deepEqual(assembler.push(packet, 101).frames, [], 'a frame after a hole waits for it');
    assert.deepEqual(assembler.poll(150), { frames: [], needKeyframe: false }, 'still within the wait');
    assert.deepEqual(assembler.poll(202), { frames: [], needKeyframe: true }, 'the hole outlived the wait');
    assert.equal(assembler.broken, 1);
    assert.ok(assembler.waitingForKeyframe);
    const fifth = packets(vp8Frame(false, 300, 5), 112, 12_000, 5);
    assert.deepEqual(assembler.push(fifth[0]!, 210).frames, [], 'a delta frame is no way back');
    const next = packets(vp8Frame(true, 900, 6), 113, 15_000, 6);
    assert.deepEqual(next.flatMap((p) => assembler.push(p, 220).frames).map((f) => f.keyframe), [true]);
  });

  test('a keyframe arriving slowly (a slow link) is waited for as long as no packet is missing', () => {
    const assembler = new LiveFrameAssembler('vp8', { maxWaitMs: 100 });
    const key = packets(vp8Frame(true, 3000, 1), 65_530, 0, 1);
    const out = key.flatMap((packet, i) => assembler.push(packet, i * 400).frames);
    assert.equal(out.length, 1, 'across the sequence number wrap, 400 ms between packets');
  });

  test('padding between frames, and padding lost after a frame, hold nothing up', () => {
    const assembler = new LiveFrameAssembler('vp8', { maxWaitMs: 100 });
    const key = packets(vp8Frame(true, 600, 1), 0, 0, 1);
    key.forEach((p) => assembler.push(p, 0));
    assembler.push(padding(2, 0), 1);
    // 3 (padding with the same timestamp) is lost; 4 is padding stamped like the last frame.
    assembler.push(padding(4, 0), 2);
    const next = packets(vp8Frame(false, 600, 2), 5, 3000, 2);
    assert.equal(next.flatMap((p) => assembler.push(p, 3).frames).length, 1);
    assert.equal(assembler.broken, 0);
  });
});
