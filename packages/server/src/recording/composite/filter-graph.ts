/**
 * ffmpeg's arguments for a composite (pure): the plan's tracks (`layout.ts`), laid out over time
 * by a `LayoutStretch` timeline, written as a VP8 + Opus WebM.
 */
import type { CompositePlan, LayoutStretch } from './layout.js';

export interface EncodeSettings {
  fps: number;
  videoBitrate: string;
  audioBitrate: string;
}

/** Where one scaled copy of a video sits in each stretch it is shown in. */
interface Placement {
  fromSeconds: number;
  toSeconds: number;
  x: number;
  y: number;
}

/**
 * - video: each track's timestamps moved to its offset (`setpts`), resampled to the composite's
 *   frame rate taking the nearest frame (`fps` with round=near: a frame is then at most half a
 *   frame interval, 20 ms at 25 fps, from its time; overlay alone shows the latest frame before
 *   each tick, up to a whole interval late, and the e2e flash then lagged its beep by 52 ms).
 *   A track shown at one tile size throughout (a grid) is scaled and padded into it once and
 *   overlaid at its place; a track shown at several sizes (big while its participant speaks,
 *   small in the strip otherwise) is `split` into one scaled copy per size, each overlaid only
 *   while it is shown (`enable`), at the place it has then (`x`/`y` as expressions of `t`). A stretch
 *   starts and ends half a frame before the frame nearest its time, so every frame belongs to
 *   exactly one stretch. All over a black `color` source of the composite's duration; a tile is
 *   black before its track starts and after it ends (`eof_action=pass`);
 * - audio: each track resampled with its holes filled by silence (`aresample=async=1`), delayed
 *   to its offset (`adelay`), all summed (`amix`, normalize=0: a voice keeps its level whoever
 *   else is in the call).
 */
export function compositeArgs(plan: CompositePlan, timeline: readonly LayoutStretch[], path: (file: string) => string, output: string, settings: EncodeSettings): string[] {
  const inputs: string[] = [];
  const graph: string[] = [];
  const duration = plan.durationSeconds.toFixed(3);
  graph.push(`color=c=black:s=${plan.width}x${plan.height}:r=${settings.fps}:d=${duration}[base]`);
  const edge = (seconds: number) => ((Math.round(seconds * settings.fps) - 0.5) / settings.fps).toFixed(4);
  const during = (placement: Placement) => `gte(t,${edge(placement.fromSeconds)})*lt(t,${edge(placement.toSeconds)})`;
  let video = 'base';
  let tile = 0;
  let overlays = 0;
  const audio: string[] = [];
  plan.tracks.forEach((track, index) => {
    inputs.push('-i', path(track.file));
    if (track.kind === 'audio') {
      const delayMs = Math.round(track.offsetSeconds * 1000);
      graph.push(`[${index}:a]aresample=48000:async=1:first_pts=0,adelay=${delayMs}:all=1[a${audio.length}]`);
      audio.push(`[a${audio.length}]`);
      return;
    }
    // This track's tile in each stretch, grouped by size (one scaled copy per size).
    const sizes = new Map<string, { width: number; height: number; placements: Placement[] }>();
    for (const stretch of timeline) {
      const { x, y, width, height } = stretch.tiles[tile]!;
      const key = `${width}x${height}`;
      const size = sizes.get(key) ?? { width, height, placements: [] };
      size.placements.push({ fromSeconds: stretch.fromSeconds, toSeconds: stretch.toSeconds, x, y });
      sizes.set(key, size);
    }
    const timed = `[${index}:v]setpts=PTS-STARTPTS+${track.offsetSeconds.toFixed(4)}/TB,fps=${settings.fps}:round=near`;
    const copies = [...sizes.values()];
    const labels = copies.map((_, c) => `t${tile}${copies.length > 1 ? `s${c}` : ''}`);
    if (copies.length > 1) graph.push(`${timed},split=${copies.length}${labels.map((label) => `[${label}i]`).join('')}`);
    copies.forEach(({ width, height, placements }, c) => {
      const from = copies.length > 1 ? `[${labels[c]}i]` : `${timed},`;
      graph.push(`${from}scale=${width}:${height}:force_original_aspect_ratio=decrease,pad=${width}:${height}:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1[${labels[c]}]`);
      const constant = (axis: 'x' | 'y') => placements.every((p) => p[axis] === placements[0]![axis]);
      const position = (axis: 'x' | 'y') => (constant(axis) ? String(placements[0]![axis]) : `'${placements.map((p) => `${p[axis]}*${during(p)}`).join('+')}'`);
      const always = placements.length === timeline.length;
      const enable = always ? '' : `:enable='${placements.map(during).join('+')}'`;
      graph.push(`[${video}][${labels[c]}]overlay=x=${position('x')}:y=${position('y')}:eof_action=pass${enable}[v${overlays}]`);
      video = `v${overlays++}`;
    });
    tile += 1;
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
