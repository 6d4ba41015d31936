/**
 * Builds a recording's composite (`composite.webm`) from its per-track files and manifest entries:
 * plans it (`layout.ts`), runs ffmpeg, and probes the result. Runs in the export process
 * (`tracks/recorder-main.ts export`), after the per-track files are made, so neither signaling nor
 * an SFU worker ever waits for the encode.
 */
import { join } from 'node:path';
import { probeDuration, RemuxError, runTool, type RemuxTools } from '../remux.js';
import { compositeArgs, planComposite, type CompositeInput, type Tile } from './layout.js';

export const COMPOSITE_FILE = 'composite.webm';

/** 25 fps 1280x720 VP8 at 2 Mbit/s and Opus at 96 kbit/s. */
const SETTINGS = { fps: 25, videoBitrate: '2M', audioBitrate: '96k' };

export interface CompositeResult {
  file: string;
  layout: 'grid';
  width: number;
  height: number;
  /** The room clock's time (SFU clock, ms since 1970) of the composite's first frame. */
  startMs: number;
  durationSeconds: number | null;
  /** Wall time of the ffmpeg encode. */
  encodeSeconds: number;
  tracks: Array<{ participant: string; source: string; kind: 'audio' | 'video'; offsetSeconds: number; tile?: Tile }>;
}

export async function exportComposite(directory: string, inputs: readonly CompositeInput[], tools: RemuxTools): Promise<CompositeResult> {
  const plan = planComposite(inputs);
  const output = join(directory, COMPOSITE_FILE);
  const started = performance.now();
  const { code, stderr } = await runTool(tools.ffmpegPath, compositeArgs(plan, (file) => join(directory, file), output, SETTINGS));
  const encodeSeconds = (performance.now() - started) / 1000;
  if (code !== 0) throw new RemuxError(`ffmpeg could not write the composite (exit ${code}): ${stderr.slice(-400)}`, 'FFMPEG_FAILED');
  let tile = 0;
  return {
    file: COMPOSITE_FILE,
    layout: 'grid',
    width: plan.width,
    height: plan.height,
    startMs: plan.startMs,
    durationSeconds: await probeDuration(tools, output),
    encodeSeconds,
    tracks: plan.tracks.map((track) => ({
      participant: track.participant,
      source: track.source,
      kind: track.kind,
      offsetSeconds: track.offsetSeconds,
      ...(track.kind === 'video' ? { tile: plan.tiles[tile++]! } : {}),
    })),
  };
}
