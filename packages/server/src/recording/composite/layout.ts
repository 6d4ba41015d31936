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
 * Picture: an equal grid (cols = ceil(sqrt(n))), each video scaled into its tile keeping its
 * aspect ratio, over a black background; tiles in the order the tracks were published.
 */

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
  /** One tile per video track, in the order of `tracks`' videos. */
  tiles: Tile[];
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
  const even = (value: number) => Math.floor(value / 2) * 2;
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
  const videos = tracks.filter((track) => track.kind === 'video').length;
  return { tracks, startMs, durationSeconds, tiles: gridLayout(videos, size.width, size.height), width: size.width, height: size.height };
}

export interface EncodeSettings {
  fps: number;
  videoBitrate: string;
  audioBitrate: string;
}

/**
 * ffmpeg's arguments for `plan` (inputs are the plan's files, in `directory`-relative names
 * resolved by `path`), writing a VP8 + Opus WebM to `output`:
 * - video: each track's timestamps moved to its offset (`setpts`), resampled to the composite's
 *   frame rate taking the nearest frame (`fps` with round=near: a frame is then at most half a
 *   frame interval, 20 ms at 25 fps, from its time; overlay alone shows the latest frame before
 *   each tick, up to a whole interval late, and the e2e flash then lagged its beep by 52 ms),
 *   scaled and padded into its tile, overlaid on a black `color` source of the composite's
 *   duration; a tile is black before its track starts and after it ends (`eof_action=pass`);
 * - audio: each track resampled with its holes filled by silence (`aresample=async=1`), delayed
 *   to its offset (`adelay`), all summed (`amix`, normalize=0: a voice keeps its level whoever
 *   else is in the call).
 */
export function compositeArgs(plan: CompositePlan, path: (file: string) => string, output: string, settings: EncodeSettings): string[] {
  const inputs: string[] = [];
  const graph: string[] = [];
  const duration = plan.durationSeconds.toFixed(3);
  graph.push(`color=c=black:s=${plan.width}x${plan.height}:r=${settings.fps}:d=${duration}[base]`);
  let video = 'base';
  let tile = 0;
  const audio: string[] = [];
  plan.tracks.forEach((track, index) => {
    inputs.push('-i', path(track.file));
    if (track.kind === 'video') {
      const { x, y, width, height } = plan.tiles[tile]!;
      graph.push(
        `[${index}:v]setpts=PTS-STARTPTS+${track.offsetSeconds.toFixed(4)}/TB,fps=${settings.fps}:round=near,scale=${width}:${height}:force_original_aspect_ratio=decrease,pad=${width}:${height}:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1[t${tile}]`,
        `[${video}][t${tile}]overlay=x=${x}:y=${y}:eof_action=pass[v${tile}]`,
      );
      video = `v${tile}`;
      tile += 1;
    } else {
      const delayMs = Math.round(track.offsetSeconds * 1000);
      graph.push(`[${index}:a]aresample=48000:async=1:first_pts=0,adelay=${delayMs}:all=1[a${audio.length}]`);
      audio.push(`[a${audio.length}]`);
    }
  });
  // The overlay's output may carry alpha, which libvpx would try to encode (and refuse).
  graph.push(`[${video}]format=yuv420p[vout]`);
  if (audio.length > 0) graph.push(`${audio.join('')}amix=inputs=${audio.length}:duration=longest:normalize=0[aout]`);
  return [
    '-nostdin', '-v', 'error', '-y',
    ...inputs,
    '-filter_complex', graph.join(';'),
    '-map', '[vout]',
    ...(audio.length > 0 ? ['-map', '[aout]'] : []),
    '-t', duration,
    // Realtime VP8 at its fastest setting: 2 cores encode 720p faster than real time (docs/recording.md).
    '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-threads', '2', '-b:v', settings.videoBitrate, '-g', String(settings.fps * 2),
    ...(audio.length > 0 ? ['-c:a', 'libopus', '-b:a', settings.audioBitrate] : []),
    '-f', 'webm', output,
  ];
}
