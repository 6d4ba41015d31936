/**
 * The video half of a room's mix (MCU rooms and `mixed` receivers, docs/topologies.md): each
 * published video track the worker feeds (one simulcast layer) is put together from its packets
 * (`live-frames.ts`), decoded by an ffmpeg of its own to the grid's size, and on every tick each
 * grid is drawn (`grid-layout.ts`, `i420.ts`) and encoded once (`ffmpeg-video.ts`) for everyone
 * who sees it. Who sees which grid follows the audio mix's rule (`mix-plan.ts`): a participant who
 * is in the picture (publishes video or audio) gets a grid of everyone else, never itself; those
 * who are not (listeners) share one grid of everyone. A participant with a voice but no video is
 * a placeholder tile: initials and name (`placeholder.ts`). A screen share is featured, else the active speaker (the worker says who).
 * Each listener is on one of the configured tiers (`mcu.videoTiers`: size, frame rate, bitrate),
 * which its SFU worker picks from its downlink estimate; a grid is keyed by (layout, tier) and
 * encoded only while someone receives it (`grid.ts`).
 */
import type { TrackDescription } from '../../recording/tracks/record-format.js';
// What the mixer decodes (ffmpeg's decoders behind IVF framing), the set the router asks publishers for.
import { isMixerVideoCodec, type MixerVideoCodec } from '../../sfu/codecs.js';
import { VideoDecoder } from './ffmpeg-video.js';
import { Grid, gridKey, RtpClock, type GridTier } from './grid.js';
import { placeTiles, layoutKey, type GridEntry } from './grid-layout.js';
import { drawFitted, fillRect, type Yuv } from './i420.js';
import { LiveFrameAssembler } from './live-frames.js';
import { PlaceholderPainter, PLACEHOLDER_BACKGROUND } from './placeholder.js';
import { SparePool, type SparePoolStats } from './spare-pool.js';

export interface VideoMixerOptions {
  ffmpegPath: string;
  /** What grids are encoded at, lowest first (`mcu.videoTiers`); a listener starts on the first. */
  tiers: readonly GridTier[];
  /** Seconds between the keyframes an encoder makes by itself (receivers that need one sooner ask). */
  keyframeSeconds: number;
  /** Layouts with a grid of their own at most: past it, participants in the picture share the grid of everyone (themselves in it). Default: no limit. */
  maxGrids?: number;
  /** One RTP packet of a listener's grid (VP8, payload type 96) at `tier`, and when the newest input frame in it reached the worker. */
  send: (listener: string, packet: Buffer, inputArrivalMs: number, tier: number) => void;
  /** The mixer lost an input's picture: the worker asks its publisher for a keyframe. */
  requestKeyframe: (trackId: string) => void;
  onError: (message: string) => void;
}

const GAP: Yuv = { y: 16, u: 128, v: 128 };
const ASSEMBLER_POLL_MS = 50;
const even = (value: number) => Math.floor(value / 2) * 2;

class Input {
  assembler: LiveFrameAssembler;
  /** The simulcast layer being decoded (the worker moves the feed to another when it stops). */
  layer: number | undefined;
  decoder: VideoDecoder;
  newestArrivalMs = 0;
  /** Frames given to the decoder since it last answered a picture, and when the first of them went. */
  unanswered = 0;
  waitingSince = 0;
  private readonly codec: MixerVideoCodec;

  constructor(
    readonly number: number,
    readonly description: TrackDescription,
    private readonly decoders: SparePool<VideoDecoder>,
  ) {
    this.codec = description.codec as MixerVideoCodec;
    this.assembler = new LiveFrameAssembler(this.codec);
    this.decoder = this.newDecoder();
  }

  /** A fresh decoder (and assembler: it starts at a keyframe). */
  restart(): void {
    this.decoder.close();
    this.decoder = this.newDecoder();
    this.assembler = new LiveFrameAssembler(this.codec);
    this.unanswered = 0;
  }

  private newDecoder(): VideoDecoder {
    const decoder = this.decoders.take();
    decoder.use(this.codec);
    decoder.onPicture = () => (this.unanswered = 0);
    return decoder;
  }
}

/**
 * A decoder given frames that answers no picture for this long is started again (and a keyframe
 * asked for): a safety net for a decoder that takes frames and says nothing, as ffmpeg did when
 * it dropped the keyframe it had probed (`ffmpeg-video.ts`), which left a Firefox publisher's tile
 * grey for a whole call. Not sooner: a decoder starting on busy cores takes a while to answer,
 * and restarting it then only starts the wait again.
 */
const DECODER_SILENT_MS = 5_000;

/** The largest tier by pixels. */
export function largestTier(tiers: readonly GridTier[]): GridTier {
  return tiers.reduce((best, tier) => (tier.width * tier.height > best.width * best.height ? tier : best));
}

/** The mixer's tick: the highest frame rate among the tiers (lower ones take every n-th tick). */
export const tickMs = (tiers: readonly GridTier[]): number => 1000 / Math.max(...tiers.map((tier) => tier.fps));

export class VideoMixer {
  private readonly inputs = new Map<number, Input>();
  private readonly listeners = new Set<string>();
  /** Grids by key (`gridKey`: the participant they leave out, '' the shared one, and the tier). */
  private readonly grids = new Map<string, Grid>();
  /** The tier each listener wants (its worker's choice); absent: the lowest. */
  private readonly wantedTiers = new Map<string, number>();
  /** The grid each listener receives now (it moves to another at that one's keyframe). */
  private readonly delivered = new Map<string, string>();
  private readonly clock = new RtpClock();
  private speaker: string | undefined;
  private readonly placeholders: PlaceholderPainter;
  private readonly poller: NodeJS.Timeout;
  /** Decoders, one kept started ahead: a camera's first picture does not wait for an ffmpeg to start (`spare-pool.ts`). */
  private readonly decoders: SparePool<VideoDecoder>;
  /** Grids drawn (for the mixer's stats). */
  draws = 0;
  private closed = false;

  constructor(private readonly options: VideoMixerOptions) {
    this.placeholders = new PlaceholderPainter({ ffmpegPath: options.ffmpegPath, onError: options.onError });
    // Half the largest tier's size: the largest tile of a grid of two or more (a featured one is
    // 3/4 of it), and a quarter of the pixels to move and draw. One picture serves every tier's
    // grid (smaller tiers scale it down as they draw), so every decoder is alike until its codec.
    const { width, height } = largestTier(options.tiers);
    const codecOptions = { ffmpegPath: options.ffmpegPath, width: even(width / 2), height: even(height / 2), onError: options.onError };
    this.decoders = new SparePool({ start: (onExit) => new VideoDecoder(codecOptions, onExit) });
    this.poller = setInterval(() => {
      const now = performance.now();
      for (const input of this.inputs.values()) {
        this.deliver(input, input.assembler.poll(now));
        this.watch(input, now);
      }
    }, ASSEMBLER_POLL_MS);
  }

  /** A published video to decode into the grids; one the mixer cannot decode (AV1) is left out, its owner a placeholder. */
  addInput(track: number, description: TrackDescription): void {
    if (!isMixerVideoCodec(description.codec) || this.closed) return;
    this.inputs.get(track)?.decoder.close();
    this.inputs.set(track, new Input(track, description, this.decoders));
    // A fresh decoder starts at a keyframe.
    this.options.requestKeyframe(description.trackId);
  }

  removeInput(trackId: string): void {
    for (const [number, input] of this.inputs) {
      if (input.description.trackId !== trackId) continue;
      input.decoder.close();
      this.inputs.delete(number);
    }
  }

  removeInputsOf(participant: string): void {
    for (const input of [...this.inputs.values()]) if (input.description.participant === participant) this.removeInput(input.description.trackId);
  }

  get gridCount(): number {
    return this.grids.size;
  }

  /** Decoders handed out warm (the spare) and cold (started on demand), and spares that died waiting. */
  get decoderStarts(): Readonly<SparePoolStats> {
    return this.decoders.stats;
  }

  /** One RTP packet (or padding) of an input's `layer`. */
  receive(track: number, packet: Buffer, arrivalMs: number, layer = 0): void {
    const input = this.inputs.get(track);
    if (!input) return;
    if (layer !== input.layer) {
      // Another layer: its own numbering, and nothing to decode before its keyframe (the worker asked for one).
      input.layer = layer;
      input.assembler = new LiveFrameAssembler(input.assembler.codec);
    }
    input.newestArrivalMs = arrivalMs;
    this.deliver(input, input.assembler.push(packet, performance.now()));
  }

  setListener(participant: string, listening: boolean): void {
    if (listening) this.listeners.add(participant);
    else {
      this.listeners.delete(participant);
      this.wantedTiers.delete(participant);
      this.delivered.delete(participant);
    }
  }

  /** The tier a listener receives from now on (from the next keyframe of that tier's grid). */
  setTier(listener: string, tier: number): void {
    if (!Number.isInteger(tier)) return;
    this.wantedTiers.set(listener, Math.max(0, Math.min(this.options.tiers.length - 1, tier)));
  }

  /** The tier a listener receives now (undefined before its first grid's keyframe). */
  deliveredTier(listener: string): number | undefined {
    const key = this.delivered.get(listener);
    return key === undefined ? undefined : this.grids.get(key)?.tier;
  }

  /** The grids being encoded: key, tier, who receives each and who waits for its keyframe. */
  gridSummary(): Array<{ key: string; tier: number; receivers: string[]; joining: string[] }> {
    return [...this.grids.values()].map((grid) => ({ key: grid.key, tier: grid.tier, receivers: [...grid.receivers].sort(), joining: [...grid.joining].sort() }));
  }

  setSpeaker(participant: string | undefined): void {
    this.speaker = participant;
  }

  /**
   * A listener's browser lost its grid's picture (or just subscribed): a keyframe of its grid.
   * With `tier`, of that tier's grid: the worker asks so for the keyframe a switch of tier waits
   * for, and again every 200 ms while it waits, so the request is idempotent.
   */
  requestKeyframe(listener: string, tier?: number): void {
    if (tier !== undefined) this.setTier(listener, tier);
    const joining = [...this.grids.values()].find((grid) => grid.joining.has(listener));
    const key = this.delivered.get(listener);
    const grid = joining ?? (key === undefined ? undefined : this.grids.get(key));
    // Not yet waiting for the wanted tier's grid: the next tick starts that (its first frame a keyframe).
    if (!grid || (tier !== undefined && grid.tier !== (this.wantedTiers.get(listener) ?? 0))) return;
    grid.encoder.requestKeyframe();
  }

  /**
   * Draws and encodes every grid someone sees. `audioPublishers`: who the audio mix has a voice of,
   * with their display names (they are in the picture, as a placeholder when they have no video).
   */
  tick(audioPublishers: ReadonlyMap<string, string>, now = performance.now()): void {
    const inPicture = new Set<string>(audioPublishers.keys());
    for (const input of this.inputs.values()) inPicture.add(input.description.participant);
    // Which grid each listener wants: nobody's while nobody publishes video (an audio-only webinar
    // sends no picture of grey tiles to its audience).
    const wanted = new Map<string, string>();
    const own = this.ownGrids(inPicture);
    for (const listener of this.inputs.size > 0 ? this.listeners : []) wanted.set(listener, gridKey(own.has(listener) ? listener : '', this.wantedTiers.get(listener) ?? 0));
    // Grids in use: those wanted, and those still delivered to a listener waiting for its wanted
    // grid's keyframe (it keeps its picture meanwhile).
    const inUse = new Set<string>(wanted.values());
    for (const [listener, key] of this.delivered) {
      if (wanted.has(listener)) inUse.add(key);
      else this.delivered.delete(listener);
    }
    for (const [key, grid] of this.grids) {
      if (inUse.has(key)) continue;
      grid.close();
      this.grids.delete(key);
    }
    for (const key of inUse) if (!this.grids.has(key)) this.grids.set(key, this.newGrid(key));
    for (const grid of this.grids.values()) {
      const receivers = new Set<string>();
      const joining = new Set<string>();
      for (const [listener, key] of wanted) {
        if (this.delivered.get(listener) === grid.key) receivers.add(listener);
        else if (key === grid.key) joining.add(listener);
      }
      // A listener starting to wait for a grid already running: that grid's next frame a keyframe
      // (a new grid's first frame is one anyway).
      const newcomer = [...joining].some((listener) => !grid.joining.has(listener));
      grid.receivers = receivers;
      grid.joining = joining;
      if (newcomer) grid.encoder.requestKeyframe();
      if (!grid.due(now, tickMs(this.options.tiers))) continue;
      this.draw(grid, inPicture, audioPublishers);
      grid.encoder.encode(grid.picture);
    }
  }

  private newGrid(key: string): Grid {
    const separator = key.indexOf(':');
    const tier = Number(key.slice(0, separator));
    const settings = this.options.tiers[tier]!;
    return new Grid({
      ffmpegPath: this.options.ffmpegPath,
      leftOut: key.slice(separator + 1),
      tier,
      settings,
      keyframeInterval: Math.round(settings.fps * this.options.keyframeSeconds),
      clock: this.clock,
      onError: this.options.onError,
      onPackets: (grid, packets, keyframe) => this.sendGrid(grid, packets, keyframe),
    });
  }

  /**
   * Who gets a grid of their own (everyone else): each listener in the picture, up to
   * `maxGrids` layouts in all (the shared one counted when someone sees it). Past that, the
   * latecomers see the shared grid, themselves in it: each layout is an encode per tier in use
   * (5.4-6.0 % of a core here at 640x360@15 and 600 kbit/s, ~21 % at 1280x720@30, a moving
   * test picture: BENCHMARKS.md), and a room of 16 must not take a node's cores. Those who have
   * a grid keep it, so nobody's picture flips between the two as others come and go.
   */
  private ownGrids(inPicture: ReadonlySet<string>): Set<string> {
    const candidates = [...this.listeners].filter((listener) => inPicture.has(listener));
    const max = this.options.maxGrids ?? Infinity;
    const audience = [...this.listeners].some((listener) => !inPicture.has(listener));
    if (candidates.length + (audience ? 1 : 0) <= max) return new Set(candidates);
    const hasOwn = (candidate: string) => [...this.grids.values()].some((grid) => grid.leftOut === candidate);
    const ordered = [...candidates.filter(hasOwn), ...candidates.filter((c) => !hasOwn(c)).sort()];
    return new Set(ordered.slice(0, Math.max(0, max - 1)));
  }

  close(): void {
    this.closed = true;
    clearInterval(this.poller);
    this.decoders.close();
    for (const input of this.inputs.values()) input.decoder.close();
    for (const grid of this.grids.values()) grid.close();
    this.inputs.clear();
    this.grids.clear();
    this.delivered.clear();
  }

  /** What the grids show, in a stable order (by participant, camera before screen). */
  private entries(inPicture: ReadonlySet<string>, leftOut: string): GridEntry[] {
    const entries: GridEntry[] = [];
    for (const participant of [...inPicture].sort()) {
      if (participant === leftOut) continue;
      const own = [...this.inputs.values()].filter((input) => input.description.participant === participant);
      const camera = own.find((input) => input.description.source !== 'screen');
      entries.push({ participant, input: camera?.number, screen: false });
      for (const screen of own.filter((input) => input.description.source === 'screen')) entries.push({ participant, input: screen.number, screen: true });
    }
    return entries;
  }

  private draw(grid: Grid, inPicture: ReadonlySet<string>, names: ReadonlyMap<string, string>): void {
    const { width, height } = grid.settings;
    const tiles = placeTiles(this.entries(inPicture, grid.leftOut), this.speaker, width, height);
    const key = layoutKey(tiles);
    if (key !== grid.layout) {
      // The picture's background once per arrangement; tiles overwrite their own area each tick.
      fillRect(grid.picture, { x: 0, y: 0, width, height }, GAP);
      grid.layout = key;
    }
    let newest = 0;
    for (const tile of tiles) {
      const input = tile.entry.input === undefined ? undefined : this.inputs.get(tile.entry.input);
      const picture = input?.decoder.latest;
      if (!input) {
        // No camera: the placeholder (its disc at once, the initials and name as soon as they are drawn).
        const { participant } = tile.entry;
        drawFitted(grid.picture, this.placeholders.get(participant, names.get(participant) ?? participant, tile.width, tile.height).picture, tile, PLACEHOLDER_BACKGROUND);
        continue;
      }
      if (!picture) {
        // A camera not decoded yet (its first keyframe is on its way): the bare tile, as the web
        // app shows a camera that is connecting, not a name as if it were off.
        fillRect(grid.picture, tile, PLACEHOLDER_BACKGROUND);
        continue;
      }
      drawFitted(grid.picture, picture, tile, GAP);
      newest = Math.max(newest, input.newestArrivalMs);
    }
    grid.inputArrivalMs = newest;
    this.draws += 1;
  }

  /** A grid's frame goes to its receivers; at a keyframe, those waiting for it move over from their previous grid. */
  private sendGrid(grid: Grid, packets: Buffer[], keyframe: boolean): void {
    if (keyframe) {
      for (const listener of grid.joining) {
        this.delivered.set(listener, grid.key);
        grid.receivers.add(listener);
      }
      grid.joining.clear();
    }
    for (const listener of grid.receivers) {
      // Moved on to another grid at that one's keyframe since the last tick.
      if (this.delivered.get(listener) !== grid.key) continue;
      for (const packet of packets) this.options.send(listener, packet, grid.inputArrivalMs, grid.tier);
    }
  }

  private watch(input: Input, now: number): void {
    if (input.unanswered === 0 || now - input.waitingSince < DECODER_SILENT_MS) return;
    this.options.onError(`the decoder of ${input.description.participant}'s ${input.description.source} answered no picture for ${input.unanswered} frames (${Math.round(now - input.waitingSince)} ms); started again`);
    input.restart();
    this.options.requestKeyframe(input.description.trackId);
  }

  private deliver(input: Input, result: { frames: { data: Buffer; timestamp: number }[]; needKeyframe: boolean }): void {
    for (const frame of result.frames) {
      if (input.unanswered === 0) input.waitingSince = performance.now();
      input.decoder.decode(frame.data);
      input.unanswered += 1;
    }
    if (result.needKeyframe) this.options.requestKeyframe(input.description.trackId);
  }
}
