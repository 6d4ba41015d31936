import type { ReceivedTrackSource } from '@parley/protocol';
import type { NegotiatedCodec } from '../codecs.js';
import { startsKeyframe } from '../rtp/keyframe.js';
import { readPictureNumbering } from '../rtp/picture-numbering.js';
import { payloadOffset, rewriteHeader } from '../rtp/rtp.js';
import type { Downstream, DownstreamSource, IncomingPacket } from './downstream.js';

const OPUS: NegotiatedCodec = { kind: 'audio', name: 'opus', payloadType: 111, clockRate: 48_000, fmtp: 'minptime=10;useinbandfec=1' };
const VP8: NegotiatedCodec = { kind: 'video', name: 'vp8', payloadType: 96, clockRate: 90_000, fmtp: '' };
const LAYERS: readonly number[] = [0];
/** A gap the receiver is told of when a restarted mixer's stream continues this one: one frame. */
const FRAME_TICKS = { audio: 960, video: 90_000 / 15 } as const;

export interface MixedTrackOptions {
  /** The participant who receives this mix (the protocol names it as the mix's participant). */
  listener: string;
  kind: 'audio' | 'video';
  /** The listener's browser asks for a keyframe of the grid (video). */
  onKeyframeRequest?: () => void;
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
  readonly layerCount = 1;
  readonly negotiatedCodec: NegotiatedCodec;
  readonly downstreams = new Set<Downstream>();
  readonly id: string;
  readonly publisher: string;
  private sequence = Math.floor(Math.random() * 0x8000);
  private lastTimestamp = Math.floor(Math.random() * 0x7fffffff);
  private lastSentAt: number | undefined;
  /** Added to the mixer's timestamps; set again at the first packet of each mixer connection. */
  private timestampOffset: number | undefined;
  private readonly onKeyframeRequest: (() => void) | undefined;

  constructor({ listener, kind, onKeyframeRequest }: MixedTrackOptions) {
    this.publisher = listener;
    this.kind = kind;
    this.negotiatedCodec = kind === 'audio' ? OPUS : VP8;
    this.codec = kind === 'audio' ? 'opus' : 'vp8';
    this.clockRate = this.negotiatedCodec.clockRate;
    this.id = `${kind === 'audio' ? 'MIX' : 'MIXV'}_${listener}`.slice(0, 64);
    this.onKeyframeRequest = onKeyframeRequest;
  }

  /** The mixer connection changed (a restart): its numbering starts over, this track's does not. */
  newMixer(): void {
    this.timestampOffset = undefined;
  }

  /** One packet of the mix, from the mixer; rewritten in place. */
  forward(packet: Buffer, mixerTimestamp: number): void {
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
      layer: 0,
      sequence: this.sequence,
      timestamp: this.lastTimestamp,
      numbering: video && offset >= 0 ? readPictureNumbering('vp8', packet, offset) : undefined,
      activeLayers: LAYERS,
      isKeyframe: () => !video || (offset >= 0 && startsKeyframe('vp8', packet.subarray(offset))),
      transportSequenceOffset: -1,
    };
    for (const downstream of this.downstreams) downstream.forward(incoming);
  }

  activeLayers(): number[] {
    return [0];
  }

  requestKeyframe(): void {
    this.onKeyframeRequest?.();
  }

  /** Nobody published the mix: there is nobody to tell it reached its listener. */
  delivered(): void {}

  layerBitrate(): number | undefined {
    return undefined;
  }

  senderReport(): undefined {
    return undefined;
  }
}
