import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { headerExtension, payloadOffset } from '../../packages/server/src/sfu/rtp/rtp.ts';
import { buildNack, isRtcp, LossTracker, packetIndexOf, parseRtcpFeedback, sequenceDistance, sequenceOf, ssrcOf, Vp8Source } from '../sfu/rtp.ts';

const options = { ssrc: 0x1234abcd, payloadType: 96, payloadBytes: 1200, packetsPerFrame: 4, framesPerSecond: 25, keyframeIntervalFrames: 3 };

describe('Vp8Source', () => {
  it('once numbering transport-wide, each packet carries the next sequence in a one-byte header extension, read as an SFU reads it', () => {
    const source = new Vp8Source(options);
    const before = source.next().packet;
    assert.equal(headerExtension(before, 3), undefined);
    source.numberTransportWide(3);
    const packets = Array.from({ length: 5 }, () => source.next().packet);
    for (const [i, packet] of packets.entries()) {
      assert.equal(packet.length, 12 + 8 + 1200);
      assert.equal(headerExtension(packet, 3)?.readUInt16BE(0), i);
      assert.equal(payloadOffset(packet), 20, 'the VP8 payload descriptor after the extension');
      assert.equal(packetIndexOf(packet), i + 1);
    }
    assert.throws(() => source.numberTransportWide(15), /1-14/);
  });

  it('writes RTP headers: version, payload type, SSRC, consecutive sequence numbers, marker on the last packet of a frame', () => {
    const source = new Vp8Source(options);
    const packets = Array.from({ length: 8 }, () => source.next().packet);
    for (const [i, packet] of packets.entries()) {
      assert.equal(packet.length, 12 + 1200);
      assert.equal(packet[0], 0x80);
      assert.equal(packet[1]! & 0x7f, 96);
      assert.equal(ssrcOf(packet), 0x1234abcd);
      assert.equal(Boolean(packet[1]! & 0x80), i % 4 === 3, `marker of packet ${i}`);
      if (i > 0) assert.equal(sequenceDistance(sequenceOf(packet), sequenceOf(packets[i - 1]!)), 1);
    }
  });

  it('advances the 90 kHz timestamp once per frame', () => {
    const source = new Vp8Source(options);
    const timestamps = Array.from({ length: 8 }, () => source.next().packet.readUInt32BE(4));
    assert.equal(new Set(timestamps.slice(0, 4)).size, 1);
    assert.equal((timestamps[4]! - timestamps[0]! + 2 ** 32) % 2 ** 32, 3600);
  });

  it('marks the first packet of each frame (S bit) and keyframes by the VP8 frame tag and start code', () => {
    const source = new Vp8Source(options);
    const firstPackets = Array.from({ length: 4 * 4 }, () => source.next().packet).filter((_, i) => i % 4 === 0);
    const isKey = (packet: Buffer) => (packet[16]! & 0x01) === 0 && packet.subarray(19, 22).equals(Buffer.from([0x9d, 0x01, 0x2a]));
    assert.deepEqual(
      firstPackets.map((packet) => packet[12]),
      [0x90, 0x90, 0x90, 0x90],
    );
    // keyframeIntervalFrames 3: frames 0 and 3 are keyframes.
    assert.deepEqual(firstPackets.map(isKey), [true, false, false, true]);
  });

  it('starts a keyframe at the next frame when one is requested', () => {
    const source = new Vp8Source({ ...options, keyframeIntervalFrames: 1000 });
    for (let i = 0; i < 6; i++) source.next();
    source.requestKeyframe();
    const rest = [source.next(), source.next(), source.next()].map(({ packet }) => packet);
    assert.equal(rest[0]![12], 0x80, 'the request does not cut a frame short');
    assert.equal(rest[2]![12], 0x90);
    assert.equal(rest[2]![16]! & 0x01, 0, 'the next frame is a keyframe');
  });

  it('carries a 15-bit PictureID like Chromium, the same within a frame and counting frames', () => {
    const source = new Vp8Source(options);
    const pictureIds = Array.from({ length: 8 }, () => source.next().packet).map((packet) => {
      assert.equal(packet[13], 0x80, 'I bit: a PictureID follows');
      assert.ok(packet[14]! & 0x80, 'M bit: 15 bits');
      return packet.readUInt16BE(14) & 0x7fff;
    });
    assert.equal(new Set(pictureIds.slice(0, 4)).size, 1);
    assert.equal(pictureIds[4], (pictureIds[0]! + 1) & 0x7fff);
  });

  it('numbers packets in the last 4 payload bytes, which survive header extensions and padding', () => {
    const source = new Vp8Source(options);
    source.next();
    const { index, packet } = source.next();
    assert.equal(index, 1);
    assert.equal(packetIndexOf(packet), 1);
    const extension = Buffer.from([0xbe, 0xde, 0x00, 0x01, 0x10, 0xaa, 0x00, 0x00]);
    const padding = Buffer.from([0, 0, 0, 4]);
    const rewritten = Buffer.concat([packet.subarray(0, 12), extension, packet.subarray(12), padding]);
    rewritten[0] = 0x80 | 0x20 | 0x10;
    assert.equal(packetIndexOf(rewritten), 1);
  });
});

describe('RTCP', () => {
  it('a NACK it builds parses back to the same sequence numbers, across the wrap', () => {
    const lost = [65534, 65535, 0, 5, 40];
    const nack = buildNack(1, 2, lost);
    assert.ok(isRtcp(nack));
    const feedback = parseRtcpFeedback(nack);
    assert.equal(feedback.length, 1);
    assert.equal(feedback[0]!.kind, 'nack');
    assert.deepEqual(feedback[0]!.kind === 'nack' ? [...feedback[0]!.sequences].sort((a, b) => a - b) : [], [0, 5, 40, 65534, 65535]);
    assert.equal(nack.length, 12 + 4 * 2, 'four of them fit one PID+BLP item');
  });

  it('finds PLI and FIR in a compound packet after a receiver report', () => {
    const receiverReport = Buffer.from([0x80, 201, 0, 1, 0, 0, 0, 1]);
    const pli = Buffer.from([0x81, 206, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2]);
    const fir = Buffer.from([0x84, 206, 0, 4, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 1, 0, 0, 0]);
    assert.deepEqual(parseRtcpFeedback(Buffer.concat([receiverReport, pli, fir])), [{ kind: 'keyframe' }, { kind: 'keyframe' }]);
  });

  it('ignores a truncated packet', () => {
    assert.deepEqual(parseRtcpFeedback(Buffer.from([0x81, 206, 0, 9, 0, 0])), []);
  });
});

describe('LossTracker', () => {
  const tracking = { retryMs: 40, maxNacksPerPacket: 2, giveUpMs: 1000, maxGap: 100 };

  it('NACKs a gap, again after the retry time, and stops once the packet arrives', () => {
    const tracker = new LossTracker(tracking);
    tracker.onPacket(65534, 0);
    tracker.onPacket(1, 0);
    assert.deepEqual(tracker.due(0).sort((a, b) => a - b), [0, 65535]);
    assert.deepEqual(tracker.due(10), [], 'not before the retry time');
    tracker.onPacket(0, 20);
    assert.deepEqual(tracker.due(50), [65535]);
    assert.deepEqual(tracker.due(100), [], 'gives up after maxNacksPerPacket');
  });

  it('gives up on old losses and does not NACK a jump larger than maxGap', () => {
    const tracker = new LossTracker(tracking);
    tracker.onPacket(10, 0);
    tracker.onPacket(12, 0);
    assert.deepEqual(tracker.due(2000), []);
    tracker.onPacket(500, 2000);
    assert.deepEqual(tracker.due(2000), []);
  });
});
