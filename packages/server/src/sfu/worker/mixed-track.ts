import type { ReceivedTrackSource } from '@parley/protocol';
import type { NegotiatedCodec } from '../codecs.js';
import { rewriteHeader } from '../rtp/rtp.js';
import type { Downstream, DownstreamSource, IncomingPacket } from './downstream.js';

const OPUS: NegotiatedCodec = { kind: 'audio', name: 'opus', payloadType: 111, clockRate: 48_000, fmtp: 'minptime=10;useinbandfec=1' };
const LAYERS: readonly number[] = [0];

/**
 * The mix one participant of an MCU room receives: everyone else's voices, made by the room's
 * mixer process and sent back to this worker, forwarded to that participant only. It lives as
 * long as the participant's membership, whatever happens to the mixer: a restarted mixer's
 * packets continue this track's numbering (sequence numbers and timestamps), so the browser keeps
 * the same track and just hears the mix again, with no renegotiation.
 */
export class MixedTrack implements DownstreamSource {
  readonly kind = 'audio' as const;
  readonly source: ReceivedTrackSource = 'mix';
  readonly codec = 'opus' as const;
  readonly clockRate = OPUS.clockRate;
  readonly layerCount = 1;
  readonly negotiatedCodec = OPUS;
  readonly downstreams = new Set<Downstream>();
  readonly id: string;
  private sequence = Math.floor(Math.random() * 0x8000);
  private lastTimestamp = Math.floor(Math.random() * 0x7fffffff);
  private lastSentAt: number | undefined;
  /** Added to the mixer's timestamps; set again at the first packet of each mixer connection. */
  private timestampOffset: number | undefined;

  /** `publisher`: the participant who hears this mix (the protocol names it as the mix's participant). */
  constructor(readonly publisher: string) {
    this.id = `MIX_${publisher}`.slice(0, 64);
  }

  /** The mixer connection changed (a restart): its numbering starts over, this track's does not. */
  newMixer(): void {
    this.timestampOffset = undefined;
  }

  /** One packet of the mix, from the mixer; rewritten in place. */
  forward(packet: Buffer, mixerTimestamp: number): void {
    const now = performance.now();
    if (this.timestampOffset === undefined) {
      // Continue from the last packet, as much later as the wall clock says (the gap is silence to the receiver).
      const elapsed = this.lastSentAt === undefined ? 960 : Math.max(960, Math.round(((now - this.lastSentAt) / 1000) * this.clockRate));
      this.timestampOffset = (this.lastTimestamp + elapsed - mixerTimestamp) >>> 0;
    }
    this.sequence = (this.sequence + 1) & 0xffff;
    this.lastTimestamp = (mixerTimestamp + this.timestampOffset) >>> 0;
    this.lastSentAt = now;
    rewriteHeader(packet, 0, OPUS.payloadType, this.sequence, this.lastTimestamp);
    const incoming: IncomingPacket = {
      buffer: packet,
      layer: 0,
      sequence: this.sequence,
      timestamp: this.lastTimestamp,
      numbering: undefined,
      activeLayers: LAYERS,
      isKeyframe: () => true,
      transportSequenceOffset: -1,
    };
    for (const downstream of this.downstreams) downstream.forward(incoming);
  }

  activeLayers(): number[] {
    return [0];
  }

  requestKeyframe(): void {}

  /** Nobody published the mix: there is nobody to tell it reached its listener. */
  delivered(): void {}

  layerBitrate(): number | undefined {
    return undefined;
  }

  senderReport(): undefined {
    return undefined;
  }
}
