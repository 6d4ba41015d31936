/**
 * The video half of a room's mix (MCU rooms and `mixed` receivers, docs/topologies.md): each
 * published video track the worker feeds (one simulcast layer) is put together from its packets
 * (`live-frames.ts`), decoded by an ffmpeg of its own to the grid's size, and on every tick each
 * grid is drawn (`grid-layout.ts`, `i420.ts`) and encoded once (`ffmpeg-video.ts`) for everyone
 * who sees it. Who sees which grid follows the audio mix's rule (`mix-plan.ts`): a participant who
 * is in the picture (publishes video or audio) gets a grid of everyone else, never itself; those
 * who are not (listeners) share one grid of everyone. A participant with a voice but no video is
 * a placeholder tile: initials and name (`placeholder.ts`). A screen share is featured, else the active speaker (the worker says who).
 */
import type { TrackDescription } from '../../recording/tracks/record-format.js';
// What the mixer decodes (ffmpeg's decoders behind IVF framing), the set the router asks publishers for.
import { isMixerVideoCodec, type MixerVideoCodec } from '../../sfu/codecs.js';
import { GridEncoder, VideoDecoder, type EncoderSettings } from './ffmpeg-video.js';
import { placeTiles, layoutKey, type GridEntry } from './grid-layout.js';
import { blankI420, drawFitted, fillRect, type I420, type Yuv } from './i420.js';
import { LiveFrameAssembler } from './live-frames.js';
import { PlaceholderPainter, PLACEHOLDER_BACKGROUND } from './placeholder.js';
import { rtpPacket, vp8Payloads } from './vp8-packetizer.js';

export interface VideoMixerOptions {
  ffmpegPath: string;
  width: number;
  height: number;
  /** Grids encoded at most: past it, participants in the picture share the grid of everyone (themselves in it). Default: no limit. */
  maxGrids?: number;
  encoder: EncoderSettings;
  /** One RTP packet of a listener's grid (VP8, payload type 96), and when the newest input frame in it reached the worker. */
  send: (listener: string, packet: Buffer, inputArrivalMs: number) => void;
  /** The mixer lost an input's picture: the worker asks its publisher for a keyframe. */
  requestKeyframe: (trackId: string) => void;
  onError: (message: string) => void;
}

const VP8_PAYLOAD_TYPE = 96;
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
    private readonly options: VideoMixerOptions,
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
    // Half the grid's size: the largest tile of a grid of two or more (a featured one is 3/4 of
    // it), and a quarter of the pixels to move and draw.
    const decoder = new VideoDecoder(this.codec, { ffmpegPath: this.options.ffmpegPath, width: even(this.options.width / 2), height: even(this.options.height / 2), onError: this.options.onError });
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

/** One grid: who it leaves out ('' for the listeners' shared grid), its encoder and its RTP numbering. */
class Grid {
  readonly encoder: GridEncoder;
  private sequence = Math.floor(Math.random() * 0x10000);
  private pictureId = Math.floor(Math.random() * 0x8000);
  private readonly ssrc = Math.floor(Math.random() * 0xffff_fff0) + 1;
  private readonly startedAt = performance.now();
  private readonly timestampBase = Math.floor(Math.random() * 0x1_0000_0000);
  readonly picture: I420;
  layout = '';
  /** The newest input arrival drawn into the picture being encoded. */
  inputArrivalMs = 0;
  listeners = new Set<string>();

  constructor(
    readonly leftOut: string,
    options: VideoMixerOptions,
    onPackets: (grid: Grid, packets: Buffer[]) => void,
  ) {
    this.picture = blankI420(options.width, options.height);
    this.encoder = new GridEncoder({ ffmpegPath: options.ffmpegPath, width: options.width, height: options.height, onError: options.onError }, options.encoder, (frame) => onPackets(this, this.packetize(frame)));
  }

  private packetize(frame: Buffer): Buffer[] {
    // The time it leaves the encoder on RTP's 90 kHz clock: the browser paces playout by it.
    const timestamp = (this.timestampBase + Math.round((performance.now() - this.startedAt) * 90)) >>> 0;
    const payloads = vp8Payloads(frame, this.pictureId);
    this.pictureId = (this.pictureId + 1) & 0x7fff;
    return payloads.map((payload, i) => rtpPacket({ payloadType: VP8_PAYLOAD_TYPE, sequence: this.sequence++, timestamp, ssrc: this.ssrc }, i === payloads.length - 1, payload));
  }
}

export class VideoMixer {
  private readonly inputs = new Map<number, Input>();
  private readonly listeners = new Set<string>();
  /** Grids by the participant they leave out ('' the shared one). */
  private readonly grids = new Map<string, Grid>();
  private speaker: string | undefined;
  private readonly placeholders: PlaceholderPainter;
  private readonly poller: NodeJS.Timeout;
  /** Grids drawn (for the mixer's stats). */
  draws = 0;

  constructor(private readonly options: VideoMixerOptions) {
    this.placeholders = new PlaceholderPainter({ ffmpegPath: options.ffmpegPath, onError: options.onError });
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
    if (!isMixerVideoCodec(description.codec)) return;
    this.inputs.get(track)?.decoder.close();
    this.inputs.set(track, new Input(track, description, this.options));
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
    else this.listeners.delete(participant);
  }

  setSpeaker(participant: string | undefined): void {
    this.speaker = participant;
  }

  /** A listener's browser lost its grid's picture (or just subscribed): a keyframe of that grid. */
  requestKeyframe(listener: string): void {
    for (const grid of this.grids.values()) if (grid.listeners.has(listener)) grid.encoder.requestKeyframe();
  }

  /**
   * Draws and encodes every grid someone sees. `audioPublishers`: who the audio mix has a voice of,
   * with their display names (they are in the picture, as a placeholder when they have no video).
   */
  tick(audioPublishers: ReadonlyMap<string, string>): void {
    const inPicture = new Set<string>(audioPublishers.keys());
    for (const input of this.inputs.values()) inPicture.add(input.description.participant);
    // Who sees which grid: nobody while nobody publishes video (an audio-only webinar sends no
    // picture of grey tiles to its audience).
    const wanted = new Map<string, Set<string>>();
    const own = this.ownGrids(inPicture);
    for (const listener of this.inputs.size > 0 ? this.listeners : []) {
      const key = own.has(listener) ? listener : '';
      let set = wanted.get(key);
      if (!set) wanted.set(key, (set = new Set()));
      set.add(listener);
    }
    for (const [key, grid] of this.grids) {
      if (wanted.has(key)) continue;
      grid.encoder.close();
      this.grids.delete(key);
    }
    for (const [key, listeners] of wanted) {
      let grid = this.grids.get(key);
      if (!grid) this.grids.set(key, (grid = new Grid(key, this.options, (g, packets) => this.sendGrid(g, packets))));
      grid.listeners = listeners;
      this.draw(grid, inPicture, audioPublishers);
      grid.encoder.encode(grid.picture);
    }
  }

  /**
   * Who gets a grid of their own (everyone else): each listener in the picture, up to
   * `maxGrids` grids in all (the shared one counted when someone sees it). Past that, the
   * latecomers see the shared grid, themselves in it: each grid is an encode (5.4-6.0 % of a
   * core here at 640x360@15 and 600 kbit/s, a moving test picture: BENCHMARKS.md), and a room of 16 must not take a node's cores. Those who have a grid
   * keep it, so nobody's picture flips between the two as others come and go.
   */
  private ownGrids(inPicture: ReadonlySet<string>): Set<string> {
    const candidates = [...this.listeners].filter((listener) => inPicture.has(listener));
    const max = this.options.maxGrids ?? Infinity;
    const audience = [...this.listeners].some((listener) => !inPicture.has(listener));
    if (candidates.length + (audience ? 1 : 0) <= max) return new Set(candidates);
    const ordered = [...candidates.filter((c) => this.grids.has(c)), ...candidates.filter((c) => !this.grids.has(c)).sort()];
    return new Set(ordered.slice(0, Math.max(0, max - 1)));
  }

  close(): void {
    clearInterval(this.poller);
    for (const input of this.inputs.values()) input.decoder.close();
    for (const grid of this.grids.values()) grid.encoder.close();
    this.inputs.clear();
    this.grids.clear();
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
    const { width, height } = this.options;
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

  private sendGrid(grid: Grid, packets: Buffer[]): void {
    for (const listener of grid.listeners) for (const packet of packets) this.options.send(listener, packet, grid.inputArrivalMs);
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
