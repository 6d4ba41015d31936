/**
 * The composite's plan (pure): where each recorded track sits in time and, for video, on the
 * picture, and the ffmpeg filter graph that builds it.
 *
 * Time: one clock for the room. Each track's manifest entry has its start on its publisher's
 * sender-report clock (`startNtpMs`, which lines up one publisher's camera and microphone the way
 * a browser lip-syncs them) and on the SFU's clock (`startArrivalMs`, one clock for everyone, but
 * late by each packet's network delay: a keyframe of many packets arrives later than an audio
 * packet sent at the same instant). So a publisher's tracks keep their sender-report distances,
 * and the publisher is moved onto the SFU's clock by the smallest arrival - NTP difference of its
 * tracks (the least delayed packet). A track without a sender report is placed by its arrival.
 *
 * Picture, as stretches of time each with one tile per video track (`LayoutStretch`):
 * - `speaker` (what composite recordings use): the active speaker's video in one big tile (the
 *   left three quarters, the full height) and every other video in a strip down the right
 *   quarter, in the order they were published; a new stretch whenever the speaker changes
 *   (`speaker-timeline.ts` says when);
 * - `grid`: an equal grid (cols = ceil(sqrt(n))), one stretch.
 * Each video is scaled into its tile keeping its aspect ratio, over a black background.
 */
import type { SpeakerStretch } from './speaker-timeline.js';

export interface CompositeInput {
  participant: string;
  source: string;
  kind: 'audio' | 'video';
  /** The per-track file (null: nothing could be made of the track, it is left out). */
  file: string | null;
  startNtpMs: number | null;
  startArrivalMs: number | null;
  durationSeconds: number | null;
}

export interface PlacedTrack {
  participant: string;
  source: string;
  kind: 'audio' | 'video';
  file: string;
  /** Seconds from the composite's start to the track's first frame. */
  offsetSeconds: number;
  durationSeconds: number;
}

export interface Tile {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface CompositePlan {
  tracks: PlacedTrack[];
  /** The room clock's time (ms since 1970, SFU clock) of the composite's start. */
  startMs: number;
  durationSeconds: number;
  width: number;
  height: number;
}

export class CompositeError extends Error {
  override name = 'CompositeError';
}

export function placeTracks(inputs: readonly CompositeInput[]): { tracks: PlacedTrack[]; startMs: number } {
  const usable = inputs.filter((input): input is CompositeInput & { file: string } => input.file !== null && (input.durationSeconds ?? 0) > 0 && (input.startArrivalMs !== null || input.startNtpMs !== null));
  const shift = new Map<string, number>();
  for (const input of usable) {
    if (input.startNtpMs === null || input.startArrivalMs === null) continue;
    const difference = input.startArrivalMs - input.startNtpMs;
    shift.set(input.participant, Math.min(shift.get(input.participant) ?? Infinity, difference));
  }
  const startOf = (input: CompositeInput) => {
    const publisherShift = shift.get(input.participant);
    if (input.startNtpMs !== null && publisherShift !== undefined) return input.startNtpMs + publisherShift;
    return input.startArrivalMs ?? input.startNtpMs!;
  };
  const starts = usable.map(startOf);
  const startMs = starts.length === 0 ? 0 : Math.min(...starts);
  const tracks = usable.map((input, index) => ({
    participant: input.participant,
    source: input.source,
    kind: input.kind,
    file: input.file,
    offsetSeconds: (starts[index]! - startMs) / 1000,
    durationSeconds: input.durationSeconds!,
  }));
  return { tracks, startMs };
}

/** An equal grid of `count` tiles filling `width` x `height` (even sizes, as the encoders need). */
export function gridLayout(count: number, width: number, height: number): Tile[] {
  if (count <= 0) return [];
  const cols = Math.ceil(Math.sqrt(count));
  const rows = Math.ceil(count / cols);
  const tileWidth = even(width / cols);
  const tileHeight = even(height / rows);
  const tiles: Tile[] = [];
  for (let i = 0; i < count; i++) {
    const row = Math.floor(i / cols);
    // A last row with fewer tiles is centred.
    const inRow = row === rows - 1 ? count - row * cols : cols;
    const left = even((width - inRow * tileWidth) / 2);
    tiles.push({ x: left + (i - row * cols) * tileWidth, y: row * tileHeight, width: tileWidth, height: tileHeight });
  }
  return tiles;
}

export function planComposite(inputs: readonly CompositeInput[], size: { width: number; height: number } = { width: 1280, height: 720 }): CompositePlan {
  if (size.width < 16 || size.height < 16 || size.width % 2 || size.height % 2) throw new CompositeError(`the composite's size must be even and at least 16x16, not ${size.width}x${size.height}`);
  const { tracks, startMs } = placeTracks(inputs);
  if (tracks.length === 0) throw new CompositeError('no track has a file to compose');
  const durationSeconds = Math.max(...tracks.map((track) => track.offsetSeconds + track.durationSeconds));
  return { tracks, startMs, durationSeconds, width: size.width, height: size.height };
}

/** A stretch of the composite's time with one layout. */
export interface LayoutStretch {
  fromSeconds: number;
  toSeconds: number;
  /** The participant in the big tile (`speaker` layout); null in a grid. */
  speaker: string | null;
  /** One tile per video track, in the order of the plan's videos. */
  tiles: Tile[];
}

const even = (value: number) => Math.floor(value / 2) * 2;
const videosOf = (plan: CompositePlan) => plan.tracks.filter((track) => track.kind === 'video');

/** The whole composite as one equal grid. */
export function gridTimeline(plan: CompositePlan): LayoutStretch[] {
  return [{ fromSeconds: 0, toSeconds: plan.durationSeconds, speaker: null, tiles: gridLayout(videosOf(plan).length, plan.width, plan.height) }];
}

/**
 * One big tile and a strip of `count - 1` small ones: the big tile is the left three quarters at
 * full height, the strip the right quarter, its tiles 16:9 (or shorter, when more than
 * `height / (width / 4 * 9 / 16)` of them must fit), centred vertically. A single video fills the picture.
 */
export function speakerLayout(count: number, width: number, height: number): { big: Tile; strip: Tile[] } {
  if (count <= 1) return { big: { x: 0, y: 0, width, height }, strip: [] };
  const bigWidth = even((width * 3) / 4);
  const stripWidth = width - bigWidth;
  const small = count - 1;
  const tileHeight = even(Math.min(height / small, (stripWidth * 9) / 16));
  const top = even((height - small * tileHeight) / 2);
  const strip = Array.from({ length: small }, (_, i) => ({ x: bigWidth, y: top + i * tileHeight, width: stripWidth, height: tileHeight }));
  return { big: { x: 0, y: 0, width: bigWidth, height }, strip };
}

/**
 * The speaker layout over `speakers`' stretches: in each, the speaker's video (their camera if
 * they publish more than one) in the big tile, the other videos in the strip in publishing order.
 * A speaker who published their camera again (turned it off and on, left and joined again) has
 * one video per publication: a stretch is cut where those start and end, and each piece shows
 * the one running then (between two, the one before stays). A stretch whose speaker has no video
 * in the composite keeps the first video big.
 */
export function speakerLayoutTimeline(plan: CompositePlan, speakers: readonly SpeakerStretch[]): LayoutStretch[] {
  const videos = videosOf(plan);
  const { big, strip } = speakerLayout(videos.length, plan.width, plan.height);
  const stretches = speakers.length > 0 ? speakers : [{ participant: videos[0]?.participant ?? '', fromSeconds: 0, toSeconds: plan.durationSeconds }];
  const layout = (bigIndex: number, fromSeconds: number, toSeconds: number): LayoutStretch => {
    let slot = 0;
    const tiles = videos.map((_, i) => (i === bigIndex ? big : strip[slot++]!));
    return { fromSeconds, toSeconds, speaker: videos[bigIndex]?.participant ?? null, tiles };
  };
  return stretches.flatMap(({ participant, fromSeconds, toSeconds }) => {
    const own = videos.map((video, i) => ({ video, i })).filter(({ video }) => video.participant === participant);
    const fallback = (own.find(({ video }) => video.source === 'camera') ?? own[0])?.i ?? 0;
    const ends = own.flatMap(({ video }) => [video.offsetSeconds, video.offsetSeconds + video.durationSeconds]);
    const cuts = [...new Set([fromSeconds, ...ends.filter((t) => t > fromSeconds && t < toSeconds), toSeconds])].sort((a, b) => a - b);
    const pieces: LayoutStretch[] = [];
    let current: number | undefined;
    for (let k = 0; k + 1 < cuts.length; k++) {
      const middle = (cuts[k]! + cuts[k + 1]!) / 2;
      const running = own.filter(({ video }) => video.offsetSeconds <= middle && middle < video.offsetSeconds + video.durationSeconds);
      const chosen = (running.find(({ video }) => video.source === 'camera') ?? running[0])?.i ?? current ?? fallback;
      const last = pieces[pieces.length - 1];
      if (last && chosen === current) last.toSeconds = cuts[k + 1]!;
      else pieces.push(layout(chosen, cuts[k]!, cuts[k + 1]!));
      current = chosen;
    }
    return pieces;
  });
}
