/**
 * An MCU grid's tiers as one receiver's SFU worker handles them (pure, no mixer): which tier its
 * downlink estimate allows (the allocator, with the tiers' set rates: audio first, a step down
 * before the link is full, a step up only with a margin), and its mix video track: every packet
 * given the receiver's transport-wide sequence field (so the mix counts in the estimate), the
 * mixer asked for the tier the receiver's downstream targets, and the switch made at the new
 * tier's keyframe with the stream's numbering continuous.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Track } from 'node-datachannel';
import { allocate, type AllocationTrack } from '../../../src/sfu/bwe/allocator.ts';
import { SubscriberExtensionId } from '../../../src/sfu/rtp/header-extensions.ts';
import { readPictureNumbering } from '../../../src/sfu/rtp/picture-numbering.ts';
import { headerExtension, payloadOffset, sequenceNumber } from '../../../src/sfu/rtp/rtp.ts';
import type { DownlinkTransport } from '../../../src/sfu/worker/downlink-controller.ts';
import { Downstream } from '../../../src/sfu/worker/downstream.ts';
import { MixedTrack } from '../../../src/sfu/worker/mixed-track.ts';
import { rtpPacket, vp8Payloads } from '../../../src/mcu/video/vp8-packetizer.ts';

/** The default tiers' bitrates (mcu.videoTiers). */
const TIER_KBPS = [600, 1200, 2500];

function tierChoice(estimateBps: number, currentTier: number): number {
  const mix = new MixedTrack({ listener: 'viewer', kind: 'video', tierKbps: TIER_KBPS });
  const tracks: AllocationTrack[] = [
    { id: 'audio', kind: 'audio', priority: 0, layerBps: [40_000], maxLayer: 0, currentLayer: 0 },
    { id: 'grid', kind: 'video', priority: 0, layerBps: mix.nominalLayerBps!, maxLayer: mix.layerCount - 1, currentLayer: currentTier },
  ];
  return allocate(estimateBps, tracks).layers.get('grid')!;
}

describe("the grid's tier from the receiver's downlink estimate", () => {
  test('each tier counts its bitrate plus 10 % (headers, keyframe overshoot), not a simulcast ratio', () => {
    const mix = new MixedTrack({ listener: 'viewer', kind: 'video', tierKbps: TIER_KBPS });
    assert.deepEqual(mix.nominalLayerBps!.map(Math.round), [660_000, 1_320_000, 2_750_000]);
    assert.equal(mix.layerCount, 3);
    assert.deepEqual(new MixedTrack({ listener: 'viewer', kind: 'audio', tierKbps: TIER_KBPS }).layerCount, 1, 'the audio mix has no tiers');
  });

  test('the lowest tier under any estimate; higher tiers as the estimate allows them with 15 % to spare', () => {
    assert.equal(tierChoice(300_000, -1), 0, 'the lowest even when it does not fit: the picture goes on');
    assert.equal(tierChoice(1_000_000, -1), 0, 'the first estimate (1 Mbit/s): 40k audio + 660k, the next step needs 759k more');
    assert.equal(tierChoice(1_460_000, 0), 1, '40k + 660k + 1.15 x 660k = 1.459 Mbit/s: the middle tier');
    assert.equal(tierChoice(2_000_000, 1), 1);
    assert.equal(tierChoice(3_500_000, 1), 2, '40k + 1.32M + 1.15 x 1.43M = 3.0 Mbit/s: the top tier');
  });

  test('hysteresis: a tier being received is kept down to 90 % of its step; one not yet received needs 115 %', () => {
    // 1.3 Mbit/s: 600k left after audio and the lowest tier; the middle tier's step is 660k.
    assert.equal(tierChoice(1_300_000, 1), 1, 'kept: 0.9 x 660k = 594k fits in 600k');
    assert.equal(tierChoice(1_300_000, 0), 0, 'not climbed to: 1.15 x 660k = 759k does not');
    assert.equal(tierChoice(1_250_000, 1), 0, 'stepped down once 0.9 x the step no longer fits');
    // Audio first: the same estimate with a second audio track leaves less for the grid.
    const tracks: AllocationTrack[] = [
      { id: 'a1', kind: 'audio', priority: 0, layerBps: [40_000], maxLayer: 0, currentLayer: 0 },
      { id: 'a2', kind: 'audio', priority: 0, layerBps: [40_000], maxLayer: 0, currentLayer: 0 },
      { id: 'grid', kind: 'video', priority: 0, layerBps: [660_000, 1_320_000, 2_750_000], maxLayer: 2, currentLayer: 1 },
    ];
    assert.equal(allocate(1_300_000, tracks).layers.get('grid'), 0, 'audio comes off the top');
  });

  test('from the top tier, a fall in the estimate steps down before the link is full', () => {
    // 2.5 Mbit/s is under the top tier's 2.79 Mbit/s with audio, though over 90 % of it.
    assert.equal(tierChoice(2_500_000, 2), 1);
    assert.equal(tierChoice(2_700_000, 2), 2, 'within 90 % of its step: kept');
  });
});

/** The engine's track, reduced to what a downstream uses: it records copies of what is sent. */
function recordingTrack(): { track: Track; sent: Buffer[] } {
  const sent: Buffer[] = [];
  const track = { isOpen: () => true, sendMessageBinary: (packet: Buffer) => sent.push(Buffer.from(packet)) > 0 } as unknown as Track;
  return { track, sent };
}

/** A transport that numbers packets 1, 2, 3... in the field it is told of. */
function numberingTransport(): DownlinkTransport & { stamped: number } {
  const transport = {
    stamped: 0,
    stamp(packet: Buffer, fieldOffset?: number) {
      if (fieldOffset === undefined) return;
      transport.stamped += 1;
      packet.writeUInt16BE(transport.stamped, fieldOffset);
    },
    allowResend: () => true,
  };
  return transport;
}

const VP8_KEYFRAME = Buffer.from([0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01]);
const VP8_DELTA = Buffer.from([0x51, 0x42, 0x00, 0x01, 0x02]);

/** A one-packet grid frame as the mixer sends it (its own SSRC, numbering and picture IDs per tier). */
function gridPacket(tier: number, index: number, keyframe: boolean): Buffer {
  const [payload] = vp8Payloads(keyframe ? VP8_KEYFRAME : VP8_DELTA, tier * 1000 + index);
  return rtpPacket({ payloadType: 96, sequence: tier * 10_000 + index, timestamp: 90_000 + index * 6000, ssrc: 100 + tier }, true, payload!);
}

describe('MixedTrack: the grid at tiers through one receiver', () => {
  function setup() {
    const asked: number[] = [];
    const mix = new MixedTrack({ listener: 'viewer', kind: 'video', tierKbps: TIER_KBPS, onKeyframeRequest: (tier) => asked.push(tier) });
    const { track, sent } = recordingTrack();
    const transport = numberingTransport();
    const downstream = new Downstream({ subscriber: 'viewer', ssrc: 0x4242, payloadType: 96, engineTrack: track, source: mix, counters: { packetsOut: 0, bytesOut: 0, layerSwitches: 0, retransmissions: 0, keyframeRequests: 0, probePackets: 0, subscriberFeedbacks: 0 }, transport });
    mix.downstreams.add(downstream);
    return { mix, downstream, sent, asked, transport };
  }

  test("every packet of the mix carries the receiver's transport-wide sequence (the mix counts in its estimate)", () => {
    const { mix, sent, transport } = setup();
    for (let i = 0; i < 3; i++) mix.forward(gridPacket(0, i, i === 0), 90_000 + i * 6000, 0);
    assert.equal(sent.length, 3);
    assert.equal(transport.stamped, 3);
    assert.deepEqual(sent.map((packet) => headerExtension(packet, SubscriberExtensionId.transportSequence)?.readUInt16BE(0)), [1, 2, 3]);
    const audio = new MixedTrack({ listener: 'viewer', kind: 'audio' });
    const audioOut = recordingTrack();
    const audioTransport = numberingTransport();
    audio.downstreams.add(new Downstream({ subscriber: 'viewer', ssrc: 1, payloadType: 111, engineTrack: audioOut.track, source: audio, counters: { packetsOut: 0, bytesOut: 0, layerSwitches: 0, retransmissions: 0, keyframeRequests: 0, probePackets: 0, subscriberFeedbacks: 0 }, transport: audioTransport }));
    audio.forward(rtpPacket({ payloadType: 111, sequence: 1, timestamp: 960, ssrc: 5 }, false, Buffer.from([0xfc, 0xff, 0xfe])), 960);
    assert.equal(audioTransport.stamped, 1, 'the audio mix too');
  });

  test('a tier the allocation chooses: the mixer is asked for it; the receiver switches at its keyframe, numbering continuous; a PLI meanwhile asks for the new tier, not the old', () => {
    const { mix, downstream, sent, asked } = setup();
    mix.forward(gridPacket(0, 0, true), 90_000, 0);
    mix.forward(gridPacket(0, 1, false), 96_000, 0);
    assert.equal(downstream.forwardedLayer, 0);
    downstream.layers.setAllocated(2);
    downstream.poll();
    assert.deepEqual(asked, [2], 'the mixer is asked for tier 2');
    downstream.requestKeyframe();
    assert.deepEqual(asked, [2, 2], "a picture loss while switching asks for tier 2's keyframe");
    // The mixer moves the receiver at tier 2's keyframe: a delta of tier 2 first is not a place to switch.
    mix.forward(gridPacket(2, 0, false), 102_000, 2);
    mix.forward(gridPacket(2, 1, true), 108_000, 2);
    mix.forward(gridPacket(2, 2, false), 114_000, 2);
    assert.equal(downstream.forwardedLayer, 2);
    assert.equal(sent.length, 4, 'two of tier 0, then tier 2 from its keyframe');
    const sequences = sent.map(sequenceNumber);
    for (let i = 1; i < sequences.length; i++) assert.equal(sequences[i], (sequences[0]! + i) & 0xffff, 'sequence numbers continue');
    const pictureIds = sent.map((packet) => readPictureNumbering('vp8', packet, payloadOffset(packet))!.pictureId);
    for (let i = 1; i < pictureIds.length; i++) assert.equal(pictureIds[i], (pictureIds[0]! + i) & 0x7fff, 'picture IDs continue');
  });

  test("a receiver starts on the tier the first estimate (1 Mbit/s) allows, its first picture from that tier's keyframe", () => {
    assert.equal(new MixedTrack({ listener: 'viewer', kind: 'video', tierKbps: TIER_KBPS }).startLayerCap, 0, 'default tiers: the lowest (the middle needs 1.46 Mbit/s)');
    const asked: number[] = [];
    const mix = new MixedTrack({ listener: 'viewer', kind: 'video', tierKbps: [200, 600], onKeyframeRequest: (tier) => asked.push(tier) });
    assert.equal(mix.startLayerCap, 1, '40k + 220k + 1.15 x 440k = 766k: the 600 kbit/s tier');
    assert.equal(mix.wantedTier(), 1, 'what the mixer is told with the listener record');
    const { track, sent } = recordingTrack();
    const downstream = new Downstream({ subscriber: 'viewer', ssrc: 0x4242, payloadType: 96, engineTrack: track, source: mix, counters: { packetsOut: 0, bytesOut: 0, layerSwitches: 0, retransmissions: 0, keyframeRequests: 0, probePackets: 0, subscriberFeedbacks: 0 } });
    mix.downstreams.add(downstream);
    mix.forward(gridPacket(0, 0, true), 90_000, 0);
    assert.equal(sent.length, 0, 'not a first picture from the lowest tier');
    assert.deepEqual(asked, [1], 'the mixer asked for tier 1');
    mix.forward(gridPacket(1, 0, true), 96_000, 1);
    assert.equal(downstream.forwardedLayer, 1);
    assert.equal(sent.length, 1);
  });

  test('a mixer sending another tier than the target (a restarted mixer starts everyone on the lowest) is asked again', () => {
    const { mix, downstream, asked } = setup();
    mix.forward(gridPacket(0, 0, true), 90_000, 0);
    downstream.layers.setAllocated(1);
    downstream.poll();
    mix.forward(gridPacket(1, 0, true), 96_000, 1);
    assert.equal(downstream.forwardedLayer, 1);
    asked.length = 0;
    // The mixer restarted: tier 0 again.
    mix.newMixer();
    mix.forward(gridPacket(0, 5, true), 90_000, 0);
    assert.deepEqual(asked, [1], 'asked for tier 1 again at once');
    mix.forward(gridPacket(0, 6, false), 96_000, 0);
    assert.deepEqual(asked, [1], 'not again within 200 ms');
  });
});
