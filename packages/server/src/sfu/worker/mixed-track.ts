import type { ReceivedTrackSource } from '@parley/protocol';
import { allocate } from '../bwe/allocator.js';
import type { NegotiatedCodec } from '../codecs.js';
import { SubscriberExtensionId, withExtension } from '../rtp/header-extensions.js';
import { startsKeyframe } from '../rtp/keyframe.js';
import { readPictureNumbering } from '../rtp/picture-numbering.js';
import { headerExtension, payloadEnd, payloadOffset, rewriteHeader } from '../rtp/rtp.js';
import { INITIAL_BPS, NOMINAL_AUDIO_BPS } from './downlink-controller.js';
import type { Downstream, DownstreamSource, IncomingPacket } from './downstream.js';

const OPUS: NegotiatedCodec = { kind: 'audio', name: 'opus', payloadType: 111, clockRate: 48_000, fmtp: 'minptime=10;useinbandfec=1' };
const VP8: NegotiatedCodec = { kind: 'video', name: 'vp8', payloadType: 96, clockRate: 90_000, fmtp: '' };
/** A gap the receiver is told of when a restarted mixer's stream continues this one: one frame. */
const FRAME_TICKS = { audio: 960, video: 90_000 / 15 } as const;
/**
 * A tier's rate as the downlink carries it: the encoder's target (its `-maxrate` too) plus ~10 %
 * for RTP, SRTP and UDP headers on ~1 kB packets and libvpx's overshoot on a keyframe.
 */
const TIER_OVERHEAD = 1.1;
/** While the mixer sends another tier than the receiver's target, it is asked again this often (the worker's poll). */
const TIER_ASK_INTERVAL_MS = 200;

export interface MixedTrackOptions {
  /** The participant who receives this mix (the protocol names it as the mix's participant). */
  listener: string;
  kind: 'audio' | 'video';
  /**
   * A keyframe of the grid at `tier` (video): the listener's browser lost its picture, or its
   * downlink allows another tier (the mixer moves it there at that tier's next keyframe).
   */
  onKeyframeRequest?: (tier: number) => void;
  /** The grid's tiers' bitrates, lowest first (`mcu.videoTiers`); default one tier. */
  tierKbps?: readonly number[];
}

/**
 * A mix one participant receives (an `mcu` room, or `receive: 'mixed'`): everyone else's voices
 * (Opus), or the grid of everyone else's videos (VP8), made by the room's mixer process and sent
 * back to this worker, forwarded to that participant only. It lives as long as the participant's
 * membership, whatever happens to the mixer: a restarted mixer's packets continue this track's
 * numbering (sequence numbers and timestamps), so the browser keeps the same track and just gets
 * the mix again, with no renegotiation.
 */
export class MixedTrack implements DownstreamSource {
  readonly kind: 'audio' | 'video';
  readonly source: ReceivedTrackSource = 'mix';
  readonly codec: 'opus' | 'vp8';
  readonly clockRate: number;
  /** Video: the grid's tiers, which the subscriber's downlink allocation treats as simulcast layers. */
  readonly layerCount: number;
  /** What each tier takes of the downlink (the allocator's layer rates; known, not measured). */
  readonly nominalLayerBps: readonly number[] | undefined;
  private readonly layers: readonly number[];
  /**
   * The tier a receiver starts on: the one the downlink's first estimate (before any feedback,
   * INITIAL_BPS) allows beside the audio mix, not the highest as a simulcast track does before
   * the first feedback (that would start the top tier's encoder for the ~100 ms until then, only
   * to stop it again), nor the lowest as its first picture (a simulcast track's smallest
   * keyframe): each tier the mixer goes through is an encoder started, and a join that started
   * one at the lowest tier and another at the next a moment later was when the e2e test's
   * joiner checks missed their second on 2 busy cores.
   */
  readonly startLayerCap: number;
  /** See `startLayerCap`: the first picture comes from that tier, not the lowest. */
  readonly startsAtWanted = true;
  readonly negotiatedCodec: NegotiatedCodec;
  readonly downstreams = new Set<Downstream>();
  readonly id: string;
  readonly publisher: string;
  private sequence = Math.floor(Math.random() * 0x8000);
  private lastTimestamp = Math.floor(Math.random() * 0x7fffffff);
  private lastSentAt: number | undefined;
  /** Added to the mixer's timestamps; set again at the first packet of each mixer connection. */
  private timestampOffset: number | undefined;
  private readonly onKeyframeRequest: ((tier: number) => void) | undefined;
  private tierAskedAt = -Infinity;

  constructor({ listener, kind, onKeyframeRequest, tierKbps }: MixedTrackOptions) {
    this.publisher = listener;
    this.kind = kind;
    this.negotiatedCodec = kind === 'audio' ? OPUS : VP8;
    this.codec = kind === 'audio' ? 'opus' : 'vp8';
    this.clockRate = this.negotiatedCodec.clockRate;
    this.id = `${kind === 'audio' ? 'MIX' : 'MIXV'}_${listener}`.slice(0, 64);
    this.onKeyframeRequest = onKeyframeRequest;
    const tiers = kind === 'video' && tierKbps && tierKbps.length > 0 ? tierKbps : undefined;
    this.layerCount = tiers?.length ?? 1;
    this.layers = Array.from({ length: this.layerCount }, (_, i) => i);
    this.nominalLayerBps = tiers?.map((kbps) => kbps * 1000 * TIER_OVERHEAD);
    this.startLayerCap = this.nominalLayerBps
      ? allocate(INITIAL_BPS, [
          { id: 'audio', kind: 'audio', priority: 0, layerBps: [NOMINAL_AUDIO_BPS], maxLayer: 0, currentLayer: -1 },
          { id: 'grid', kind: 'video', priority: 0, layerBps: this.nominalLayerBps, maxLayer: this.layerCount - 1, currentLayer: -1 },
        ]).layers.get('grid')!
      : 0;
  }

  /** The mixer connection changed (a restart): its numbering starts over, this track's does not. */
  newMixer(): void {
    this.timestampOffset = undefined;
    // It starts everyone on the lowest tier: the tier this receiver is on is asked for at its first packet.
    this.tierAskedAt = -Infinity;
  }

  /**
   * One packet of the mix, from the mixer (a grid's packet at `tier`). Given the subscriber's
   * transport-wide sequence field, as forwarded packets are, so the mix counts in its downlink
   * estimate.
   */
  forward(mixerPacket: Buffer, mixerTimestamp: number, tier = 0): void {
    const packet = withExtension(mixerPacket, SubscriberExtensionId.transportSequence, 2);
    const transportField = headerExtension(packet, SubscriberExtensionId.transportSequence);
    const now = performance.now();
    if (this.timestampOffset === undefined) {
      // Continue from the last packet, as much later as the wall clock says (the gap is silence, or a still picture, to the receiver).
      const frame = FRAME_TICKS[this.kind];
      const elapsed = this.lastSentAt === undefined ? frame : Math.max(frame, Math.round(((now - this.lastSentAt) / 1000) * this.clockRate));
      this.timestampOffset = (this.lastTimestamp + elapsed - mixerTimestamp) >>> 0;
    }
    this.sequence = (this.sequence + 1) & 0xffff;
    this.lastTimestamp = (mixerTimestamp + this.timestampOffset) >>> 0;
    this.lastSentAt = now;
    rewriteHeader(packet, 0, this.negotiatedCodec.payloadType, this.sequence, this.lastTimestamp);
    const video = this.kind === 'video';
    const offset = video ? payloadOffset(packet) : -1;
    const incoming: IncomingPacket = {
      buffer: packet,
      layer: tier,
      sequence: this.sequence,
      timestamp: this.lastTimestamp,
      numbering: video && offset >= 0 ? readPictureNumbering('vp8', packet, offset) : undefined,
      activeLayers: this.layers,
      isKeyframe: () => !video || (offset >= 0 && startsKeyframe('vp8', packet.subarray(offset))),
      transportSequenceOffset: transportField?.length === 2 ? transportField.byteOffset - packet.byteOffset : -1,
      receivedAt: now,
      payloadBytes: payloadEnd(packet) - Math.max(payloadOffset(packet), 0),
    };
    for (const downstream of this.downstreams) downstream.forward(incoming);
    // The mixer sends another tier than the receiver's target (a request lost, or a restarted
    // mixer that starts everyone on the lowest): ask again, as a pending simulcast switch does.
    const target = this.targetTier();
    if (video && target !== undefined && target !== tier && now - this.tierAskedAt >= TIER_ASK_INTERVAL_MS) this.requestKeyframe();
  }

  /** Every tier is always available: the mixer encodes the one a receiver wants. */
  activeLayers(): number[] {
    return [...this.layers];
  }

  /**
   * The receiver's downstream asks for a keyframe: to start the tier its allocation chose, or
   * because the browser lost the picture. Either way the mixer is asked for the tier the
   * downstream now targets, so a picture loss during a switch does not call the old tier back.
   */
  requestKeyframe(layer = 0): void {
    this.tierAskedAt = performance.now();
    this.onKeyframeRequest?.(this.targetTier() ?? layer);
  }

  /** The tier the mixer should send this receiver: its downstream's target, or before it has one the start tier. */
  wantedTier(): number {
    return this.targetTier() ?? this.startLayerCap;
  }

  /** The tier the receiver's downstream forwards next (the allocation's choice, once it started). */
  private targetTier(): number | undefined {
    for (const downstream of this.downstreams) {
      const target = downstream.layers.target(this.layers);
      if (target >= 0) return target;
    }
    return undefined;
  }

  /** Nobody published the mix: there is nobody to tell it reached its listener. */
  delivered(): void {}

  layerBitrate(layer: number): number | undefined {
    return this.nominalLayerBps?.[layer];
  }

  senderReport(): undefined {
    return undefined;
  }
}
