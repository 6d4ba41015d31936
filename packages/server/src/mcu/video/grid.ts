/**
 * One grid of a room's video mix: a picture of everyone but `leftOut` ('' for the listeners'
 * shared grid) at one tier's size, frame rate and bitrate, its encoder and its RTP numbering, and
 * who receives it. A grid is keyed by (layout, tier): receivers of the same layout on different
 * tiers get different encodes (docs/topologies.md). A receiver moving to this grid (another tier,
 * or another layout) keeps receiving its old grid until this one's next keyframe, so its browser
 * never gets the middle of a stream it cannot decode.
 */
import { GridEncoder } from './ffmpeg-video.js';
import { blankI420, type I420 } from './i420.js';
import { Vp8RtpStream } from './vp8-packetizer.js';

/** One size, frame rate and bitrate a grid is encoded at (`mcu.videoTiers`, lowest first). */
export interface GridTier {
  width: number;
  height: number;
  fps: number;
  bitrateKbps: number;
}

const VP8_PAYLOAD_TYPE = 96;

/** The key of the grid of everyone but `leftOut` at `tier`. */
export const gridKey = (leftOut: string, tier: number): string => `${tier}:${leftOut}`;

/**
 * The 90 kHz RTP clock every grid of a mixer shares: a receiver moved from one grid to another
 * (another tier) keeps a timeline that only moves forward by the time that passed.
 */
export class RtpClock {
  private readonly startedAt = performance.now();
  private readonly base = Math.floor(Math.random() * 0x1_0000_0000);

  now(): number {
    return (this.base + Math.round((performance.now() - this.startedAt) * 90)) >>> 0;
  }
}

export interface GridOptions {
  ffmpegPath: string;
  leftOut: string;
  tier: number;
  settings: GridTier;
  /** Frames between the keyframes the encoder makes by itself. */
  keyframeInterval: number;
  clock: RtpClock;
  onError: (message: string) => void;
  /** The RTP packets of one encoded frame. */
  onPackets: (grid: Grid, packets: Buffer[], keyframe: boolean) => void;
}

export class Grid {
  readonly key: string;
  readonly leftOut: string;
  readonly tier: number;
  readonly settings: GridTier;
  readonly encoder: GridEncoder;
  readonly picture: I420;
  /** The arrangement last painted (the background is painted again when it changes). */
  layout = '';
  /** The newest input arrival drawn into the picture being encoded. */
  inputArrivalMs = 0;
  /** Listeners this grid's packets go to. */
  receivers = new Set<string>();
  /** Listeners who move here at its next keyframe. */
  joining = new Set<string>();
  private readonly rtp = new Vp8RtpStream(Math.floor(Math.random() * 0xffff_fff0) + 1, VP8_PAYLOAD_TYPE);
  private readonly clock: RtpClock;
  /** When the next frame is due (performance.now() ms): a tier below the mixer's tick rate skips ticks. */
  private nextFrameAt = -Infinity;

  constructor(options: GridOptions) {
    this.key = gridKey(options.leftOut, options.tier);
    this.leftOut = options.leftOut;
    this.tier = options.tier;
    this.settings = options.settings;
    this.clock = options.clock;
    const { width, height, fps, bitrateKbps } = options.settings;
    this.picture = blankI420(width, height);
    this.encoder = new GridEncoder(
      { ffmpegPath: options.ffmpegPath, width, height, onError: options.onError },
      { fps, bitrateKbps, keyframeInterval: options.keyframeInterval },
      (frame, keyframe) => options.onPackets(this, this.packetize(frame), keyframe),
    );
  }

  /**
   * Whether this tick draws and encodes a frame: a tier at half the tick rate takes every other
   * tick. Half a tick of slack so a timer a little early does not skip a frame.
   */
  due(now: number, tickMs: number): boolean {
    if (now < this.nextFrameAt - tickMs / 2) return false;
    const interval = 1000 / this.settings.fps;
    // Behind by more than a frame (a stalled thread): start the schedule over rather than burst.
    this.nextFrameAt = now - this.nextFrameAt > interval ? now + interval : this.nextFrameAt + interval;
    return true;
  }

  close(): void {
    this.encoder.close();
  }

  private packetize(frame: Buffer): Buffer[] {
    // The time it leaves the encoder on RTP's 90 kHz clock: the browser paces playout by it.
    return this.rtp.packets(frame, this.clock.now());
  }
}
