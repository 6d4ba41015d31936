/**
 * What one subscriber's stream looks like through the SFU's rewriting: across a simulcast layer
 * switch its sequence numbers, VP8 picture IDs and TL0PICIDX continue, and a NACK is answered
 * with this subscriber's numbering even after another subscriber rewrote the shared buffer.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Track } from 'node-datachannel';
import { startsKeyframe } from '../../../src/sfu/rtp/keyframe.ts';
import { readPictureNumbering } from '../../../src/sfu/rtp/picture-numbering.ts';
import { SubscriberExtensionId, withExtension } from '../../../src/sfu/rtp/header-extensions.ts';
import { headerExtension, payloadEnd, payloadOffset, sequenceNumber, ssrc } from '../../../src/sfu/rtp/rtp.ts';
import type { DownlinkTransport } from '../../../src/sfu/worker/downlink-controller.ts';
import { Downstream, type DownstreamSource, type IncomingPacket } from '../../../src/sfu/worker/downstream.ts';

const VP8_KEY_TAG = [0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a];
const VP8_DELTA_TAG = [0x51, 0x42, 0x00];

/** A VP8 packet whose descriptor carries a 15-bit PictureID, TL0PICIDX and TID. */
function vp8Packet(sequence: number, timestamp: number, pictureId: number, tl0PicIdx: number, keyframe: boolean): Buffer {
  const header = Buffer.alloc(12);
  header[0] = 0x80;
  header[1] = 96;
  header.writeUInt16BE(sequence, 2);
  header.writeUInt32BE(timestamp, 4);
  header.writeUInt32BE(0xaaaa, 8);
  const descriptor = [0x90, 0xe0, 0x80 | (pictureId >> 8), pictureId & 0xff, tl0PicIdx, 0x00];
  return Buffer.concat([header, Buffer.from([...descriptor, ...(keyframe ? VP8_KEY_TAG : VP8_DELTA_TAG)])]);
}

/** What the published track computes once per packet before the fan-out. */
function incoming(buffer: Buffer, layer: number, activeLayers: number[]): IncomingPacket {
  const offset = payloadOffset(buffer);
  return {
    buffer,
    layer,
    sequence: sequenceNumber(buffer),
    timestamp: buffer.readUInt32BE(4),
    numbering: readPictureNumbering('vp8', buffer, offset),
    activeLayers,
    isKeyframe: () => startsKeyframe('vp8', buffer.subarray(offset)),
    transportSequenceOffset: -1,
    receivedAt: performance.now(),
    payloadBytes: payloadEnd(buffer) - offset,
  };
}

/** The engine's track, reduced to what a downstream uses: it records copies of what is sent. */
function recordingTrack(): { track: Track; sent: Buffer[] } {
  const sent: Buffer[] = [];
  const track = { isOpen: () => true, sendMessageBinary: (packet: Buffer) => sent.push(Buffer.from(packet)) > 0 } as unknown as Track;
  return { track, sent };
}

const source: DownstreamSource = {
  kind: 'video',
  source: 'camera',
  layerBitrate: () => undefined,
  codec: 'vp8',
  clockRate: 90_000,
  layerCount: 3,
  activeLayers: () => [0, 2],
  requestKeyframe: () => undefined,
  delivered: () => undefined,
  senderReport: () => undefined,
};

const counters = () => ({ packetsOut: 0, bytesOut: 0, layerSwitches: 0, retransmissions: 0, keyframeRequests: 0, probePackets: 0, subscriberFeedbacks: 0 });

function numbersOf(packet: Buffer): { sequence: number; pictureId: number; tl0PicIdx: number } {
  const numbering = readPictureNumbering('vp8', packet, payloadOffset(packet))!;
  return { sequence: sequenceNumber(packet), pictureId: numbering.pictureId, tl0PicIdx: numbering.tl0PicIdx };
}

describe('Downstream', () => {
  test('a layer switch continues sequence numbers, picture IDs and TL0PICIDX from where the old layer stopped', () => {
    const { track, sent } = recordingTrack();
    const downstream = new Downstream({ subscriber: 'viewer', ssrc: 0x1234, payloadType: 100, engineTrack: track, source, counters: counters() });
    downstream.setQuality('low');
    for (let i = 0; i < 3; i++) downstream.forward(incoming(vp8Packet(100 + i, 9000 + i * 3000, 500 + i, 40, i === 0), 0, [0, 2]));
    downstream.setQuality('high');
    // Layer 2 counts on its own; its delta frame is not a place to switch, its keyframe is.
    downstream.forward(incoming(vp8Packet(7000, 500_000, 20_000, 200, false), 2, [0, 2]));
    downstream.forward(incoming(vp8Packet(103, 18_000, 503, 41, false), 0, [0, 2]));
    downstream.forward(incoming(vp8Packet(7001, 503_000, 20_001, 201, true), 2, [0, 2]));
    downstream.forward(incoming(vp8Packet(7002, 506_000, 20_002, 201, false), 2, [0, 2]));
    downstream.forward(incoming(vp8Packet(104, 21_000, 504, 41, false), 0, [0, 2]));

    const numbers = sent.map(numbersOf);
    assert.equal(numbers.length, 6, 'three low packets, the old layer until the keyframe, then the new layer only');
    assert.ok(sent.every((packet) => ssrc(packet) === 0x1234));
    for (let i = 1; i < numbers.length; i++) assert.equal(numbers[i]!.sequence, (numbers[0]!.sequence + i) & 0xffff, `sequence continues at packet ${i}`);
    assert.deepEqual(
      numbers.map((n) => n.pictureId),
      [500, 501, 502, 503, 504, 505],
      'the first layer keeps the publisher picture IDs, the switched-to layer continues them',
    );
    assert.deepEqual(
      numbers.map((n) => n.tl0PicIdx),
      [40, 40, 40, 41, 42, 42],
    );
  });

  test("a NACK is answered with this subscriber's numbering after another subscriber rewrote the shared buffer", () => {
    const first = recordingTrack();
    const second = recordingTrack();
    const a = new Downstream({ subscriber: 'a', ssrc: 0x1111, payloadType: 100, engineTrack: first.track, source, counters: counters() });
    const b = new Downstream({ subscriber: 'b', ssrc: 0x2222, payloadType: 101, engineTrack: second.track, source, counters: counters() });
    a.setQuality('low');
    // b joins later: its numbering differs from a's once a has switched layers.
    a.forward(incoming(vp8Packet(100, 9000, 500, 40, true), 0, [0, 2]));
    a.setQuality('high');
    // Each starts on the lowest layer (its first picture), from pictures of its own.
    b.forward(incoming(vp8Packet(200, 9100, 600, 41, true), 0, [0, 2]));
    const shared = vp8Packet(7001, 503_000, 20_001, 201, true);
    const packet = incoming(shared, 2, [0, 2]);
    a.forward(packet);
    b.forward(packet);
    const original = numbersOf(first.sent[1]!);
    assert.notEqual(numbersOf(second.sent[1]!).pictureId, original.pictureId, 'the two subscribers number the picture differently');

    a.handleRtcp([{ type: 'nack', mediaSsrc: 0x1111, lost: [original.sequence] }]);
    const resent = first.sent[2]!;
    assert.equal(ssrc(resent), 0x1111);
    assert.deepEqual(numbersOf(resent), original);
  });
});

/** Records what is stamped, as the subscriber connection's transport would number it. */
function recordingTransport(resendBudget = Infinity): DownlinkTransport & { stamped: number[] } {
  let next = 0;
  let budget = resendBudget;
  const stamped: number[] = [];
  return {
    stamped,
    stamp(packet: Buffer, fieldOffset?: number) {
      const field = fieldOffset ?? headerExtension(packet, SubscriberExtensionId.transportSequence)!.byteOffset - packet.byteOffset;
      packet.writeUInt16BE(next, field);
      stamped.push(next++);
    },
    allowResend(bytes: number) {
      if (budget < bytes) return false;
      budget -= bytes;
      return true;
    },
  };
}

/** A VP8 packet as it reaches a downstream: with the subscribers' transport-wide sequence field. */
function numberedPacket(sequence: number, timestamp: number, pictureId: number, keyframe: boolean, endOfFrame: boolean): IncomingPacket {
  const buffer = withExtension(vp8Packet(sequence, timestamp, pictureId, 40, keyframe), SubscriberExtensionId.transportSequence, 2);
  if (endOfFrame) buffer[1] = buffer[1]! | 0x80;
  const field = headerExtension(buffer, SubscriberExtensionId.transportSequence)!;
  return { ...incoming(buffer, 0, [0]), transportSequenceOffset: field.byteOffset - buffer.byteOffset };
}

describe('Downstream probes and the transport-wide numbering', () => {
  test('probe padding goes out after a frame, with sequence numbers of its own; the stream continues after it', () => {
    const { track, sent } = recordingTrack();
    const transport = recordingTransport();
    const downstream = new Downstream({ subscriber: 'v', ssrc: 0x1234, payloadType: 100, engineTrack: track, source: { ...source, layerCount: 1, activeLayers: () => [0] }, counters: counters(), transport });
    downstream.forward(numberedPacket(100, 9000, 500, true, false));
    downstream.addProbeBytes(600);
    assert.equal(sent.length, 1, 'no padding in the middle of a frame');
    downstream.forward(numberedPacket(101, 9000, 500, false, true));
    const padding = sent.slice(2);
    assert.equal(padding.length, 3, '600 bytes make three padding packets of 255 bytes');
    for (const packet of padding) {
      assert.equal(packet[0]! & 0x20, 0x20, 'P bit');
      assert.equal(payloadOffset(packet) + packet[packet.length - 1]!, packet.length, 'padding only');
      assert.equal(packet.readUInt32BE(4), 9000 + (sent[0]!.readUInt32BE(4) - 9000), 'the timestamp of the frame it follows');
    }
    downstream.forward(numberedPacket(102, 12000, 501, false, true));
    const sequences = sent.map((packet) => sequenceNumber(packet));
    for (let i = 1; i < sequences.length; i++) assert.equal(sequences[i], (sequences[0]! + i) & 0xffff, `sequence ${i} continues`);
    assert.deepEqual(transport.stamped, [0, 1, 2, 3, 4, 5], 'every packet sent is numbered on the transport, in order');
    assert.deepEqual(
      sent.map((packet) => headerExtension(packet, SubscriberExtensionId.transportSequence)!.readUInt16BE(0)),
      [0, 1, 2, 3, 4, 5],
    );
  });

  test('a late upstream resend keeps its place in the numbering after padding went in', () => {
    const { track, sent } = recordingTrack();
    const downstream = new Downstream({ subscriber: 'v', ssrc: 0x1234, payloadType: 100, engineTrack: track, source: { ...source, layerCount: 1, activeLayers: () => [0] }, counters: counters(), transport: recordingTransport() });
    downstream.forward(numberedPacket(100, 9000, 500, true, false));
    downstream.addProbeBytes(255);
    downstream.forward(numberedPacket(102, 9000, 500, false, true)); // 101 lost upstream
    downstream.forward(numberedPacket(103, 12000, 501, false, true));
    downstream.forward(numberedPacket(101, 9000, 500, false, false)); // the publisher's resend
    const [first, , paddingPacket, afterPadding, lateResend] = sent.map((packet) => sequenceNumber(packet));
    assert.equal(lateResend, (first! + 1) & 0xffff, 'where 101 belongs, not shifted by the padding');
    assert.equal(paddingPacket, (first! + 3) & 0xffff);
    assert.equal(afterPadding, (first! + 4) & 0xffff);
  });

  test('NACKs: the padding is resent too; not twice within a round trip; not beyond the resend budget', () => {
    const { track, sent } = recordingTrack();
    const packetBytes = numberedPacket(101, 9000, 500, false, true).buffer.length;
    const downstream = new Downstream({ subscriber: 'v', ssrc: 0x1234, payloadType: 100, engineTrack: track, source: { ...source, layerCount: 1, activeLayers: () => [0] }, counters: counters(), transport: recordingTransport(3 * packetBytes + 300) });
    downstream.addProbeBytes(255);
    downstream.forward(numberedPacket(100, 9000, 500, true, true));
    for (let i = 1; i <= 4; i++) downstream.forward(numberedPacket(100 + i, 9000 + 3000 * i, 500 + i, false, true));
    const sequences = sent.map((packet) => sequenceNumber(packet));
    const paddingSequence = sequences[1]!;
    downstream.handleRtcp([{ type: 'nack', mediaSsrc: 0x1234, lost: [paddingSequence] }]);
    assert.equal(sent.length, 7);
    assert.equal(payloadOffset(sent[6]!) + sent[6]![sent[6]!.length - 1]!, sent[6]!.length, 'the padding again');
    downstream.handleRtcp([{ type: 'nack', mediaSsrc: 0x1234, lost: [paddingSequence] }]);
    assert.equal(sent.length, 7, 'not again within the round trip');
    downstream.handleRtcp([{ type: 'nack', mediaSsrc: 0x1234, lost: sequences.slice(2) }]);
    assert.equal(sent.length, 10, 'three of four fit the budget that is left');
  });
});

describe('Downstream repair under random loss', () => {
  const singleLayer: DownstreamSource = { ...source, layerCount: 1, activeLayers: () => [0] };
  const isPadding = (packet: Buffer) => (packet[0]! & 0x20) !== 0 && payloadOffset(packet) + packet[packet.length - 1]! === packet.length;

  /** Frames of five packets every 50 ms from `from`; returns the subscriber's sequence numbers of the media sent. */
  function sendFrames(downstream: Downstream, sent: Buffer[], clock: { now: number }, frames: number, first: { sequence: number; picture: number }): number[] {
    const media: number[] = [];
    for (let frame = 0; frame < frames; frame++, clock.now += 50, first.picture++) {
      for (let i = 0; i < 5; i++) {
        downstream.forward(numberedPacket(first.sequence++, 9000 + 4500 * first.picture, 500 + first.picture, first.picture === 0 && i === 0, i === 4));
        media.push(sequenceNumber(sent.at(-1)!));
      }
    }
    return media;
  }

  test("once a subscriber asks for over 1 % of its packets, each frame's end is followed by a 1-byte padding packet", (t) => {
    const clock = { now: 10_000 };
    t.mock.method(performance, 'now', () => clock.now);
    const { track, sent } = recordingTrack();
    const transport = recordingTransport();
    const downstream = new Downstream({ subscriber: 'v', ssrc: 0x1234, payloadType: 100, engineTrack: track, source: singleLayer, counters: counters(), transport });
    const next = { sequence: 100, picture: 0 };
    // Two clean seconds (the windows close at the frame ends at 11 and 12 s): nothing but media.
    sendFrames(downstream, sent, clock, 41, next);
    assert.equal(sent.filter(isPadding).length, 0, 'no padding while nothing is asked for');
    // The next second: 3 of its 95 packets are asked for (one of them twice: counted once).
    const media = sendFrames(downstream, sent, clock, 19, next);
    downstream.handleRtcp([{ type: 'nack', mediaSsrc: 0x1234, lost: [media[3]!, media[40]!] }]);
    clock.now += 10;
    downstream.handleRtcp([{ type: 'nack', mediaSsrc: 0x1234, lost: [media[3]!, media[77]!] }]);
    assert.equal(sent.filter(isPadding).length, 0, 'the window has not closed yet');
    const before = sent.length;
    sendFrames(downstream, sent, clock, 2, next);
    const after = sent.slice(before);
    assert.equal(after.length, 12, 'two frames of five, each followed by one padding packet');
    for (const end of [5, 11]) {
      const padding = after[end]!;
      assert.ok(isPadding(padding), `packet ${end} is padding only`);
      assert.equal(padding[padding.length - 1], 1, 'one byte of padding');
      assert.equal(sequenceNumber(padding), (sequenceNumber(after[end - 1]!) + 1) & 0xffff, "the next number after the frame's last packet");
      assert.equal(padding.readUInt32BE(4), after[end - 1]!.readUInt32BE(4), 'the timestamp of the frame it ends');
    }
    for (let i = 0; i < 5; i++) assert.ok(!isPadding(after[i]!), 'none in the middle of a frame');
    assert.equal(sequenceNumber(after[6]!), (sequenceNumber(after[5]!) + 1) & 0xffff, 'the next frame continues after the padding');
    assert.deepEqual(transport.stamped, transport.stamped.map((_, i) => i), 'the padding is numbered on the transport too');
  });

  test('a packet asked for again 5 ms after its resend is sent again; sooner, it is taken for the resend on its way', (t) => {
    const clock = { now: 10_000 };
    t.mock.method(performance, 'now', () => clock.now);
    const { track, sent } = recordingTrack();
    const downstream = new Downstream({ subscriber: 'v', ssrc: 0x1234, payloadType: 100, engineTrack: track, source: singleLayer, counters: counters(), transport: recordingTransport() });
    downstream.rttMs = 2;
    const media = sendFrames(downstream, sent, clock, 2, { sequence: 100, picture: 0 });
    const lost = media[2]!;
    const resends = () => sent.filter((packet) => sequenceNumber(packet) === lost).length - 1;
    downstream.handleRtcp([{ type: 'nack', mediaSsrc: 0x1234, lost: [lost] }]);
    assert.equal(resends(), 1);
    clock.now += 3;
    downstream.handleRtcp([{ type: 'nack', mediaSsrc: 0x1234, lost: [lost] }]);
    assert.equal(resends(), 1, '3 ms later: the resend may still be on its way');
    clock.now += 4;
    downstream.handleRtcp([{ type: 'nack', mediaSsrc: 0x1234, lost: [lost] }]);
    assert.equal(resends(), 2, "7 ms after the resend, over the 2 ms round trip: Chromium's next request means it was lost");
    downstream.rttMs = 30;
    clock.now += 20;
    downstream.handleRtcp([{ type: 'nack', mediaSsrc: 0x1234, lost: [lost] }]);
    assert.equal(resends(), 2, 'within a longer round trip, not again');
  });
});
