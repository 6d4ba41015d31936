/**
 * Builds a recording's composite (`composite.webm`) from its per-track files and manifest entries:
 * places the tracks on one clock (`layout.ts`), finds who speaks when from each audio file's
 * levels (`audio-levels.ts`, `speaker-timeline.ts`), lays the videos out with the speaker big,
 * runs ffmpeg (`filter-graph.ts`) and probes the result. Runs in the export process
 * (`tracks/recorder-main.ts export`), after the per-track files are made, so neither signaling nor
 * an SFU worker ever waits for the encode.
 */
import { join } from 'node:path';
import { probeDuration, RemuxError, runTool, type RemuxTools } from '../remux.js';
import { audioLevels } from './audio-levels.js';
import { compositeArgs } from './filter-graph.js';
import { planComposite, speakerLayoutTimeline, type CompositeInput, type Tile } from './layout.js';
import { SPEAKER_DEFAULTS, speakerTimeline, type SpeakerStretch } from './speaker-timeline.js';

export const COMPOSITE_FILE = 'composite.webm';

/** 25 fps 1280x720 VP8 at 2 Mbit/s and Opus at 96 kbit/s. */
const SETTINGS = { fps: 25, videoBitrate: '2M', audioBitrate: '96k' };

export interface CompositeResult {
  file: string;
  layout: 'speaker';
  width: number;
  height: number;
  /** The room clock's time (SFU clock, ms since 1970) of the composite's first frame. */
  startMs: number;
  durationSeconds: number | null;
  /** Wall time of the ffmpeg encode. */
  encodeSeconds: number;
  /** Wall time of reading the audio files' levels (the speaker timeline). */
  levelsSeconds: number;
  tracks: Array<{ participant: string; source: string; kind: 'audio' | 'video'; offsetSeconds: number }>;
  /** Who is the speaker when (the big tile). */
  speakers: SpeakerStretch[];
  /** Each stretch of one layout: the speaker and every video's tile. */
  layouts: Array<{ fromSeconds: number; toSeconds: number; speaker: string | null; tiles: Array<Tile & { participant: string; source: string }> }>;
}

export async function exportComposite(directory: string, inputs: readonly CompositeInput[], tools: RemuxTools): Promise<CompositeResult> {
  const plan = planComposite(inputs);
  const levelsStarted = performance.now();
  const series = [];
  for (const track of plan.tracks) {
    if (track.kind !== 'audio') continue;
    series.push({ participant: track.participant, offsetSeconds: track.offsetSeconds, levels: await audioLevels(tools.ffmpegPath, join(directory, track.file), SPEAKER_DEFAULTS.windowSeconds) });
  }
  const videos = plan.tracks.filter((track) => track.kind === 'video');
  const speakers = speakerTimeline(series, videos.map((video) => ({ participant: video.participant, fromSeconds: video.offsetSeconds, toSeconds: video.offsetSeconds + video.durationSeconds })), plan.durationSeconds);
  const levelsSeconds = (performance.now() - levelsStarted) / 1000;
  const timeline = speakerLayoutTimeline(plan, speakers);
  const output = join(directory, COMPOSITE_FILE);
  const started = performance.now();
  const { code, stderr } = await runTool(tools.ffmpegPath, compositeArgs(plan, timeline, (file) => join(directory, file), output, SETTINGS));
  const encodeSeconds = (performance.now() - started) / 1000;
  if (code !== 0) throw new RemuxError(`ffmpeg could not write the composite (exit ${code}): ${stderr.slice(-400)}`, 'FFMPEG_FAILED');
  return {
    file: COMPOSITE_FILE,
    layout: 'speaker',
    width: plan.width,
    height: plan.height,
    startMs: plan.startMs,
    durationSeconds: await probeDuration(tools, output),
    encodeSeconds,
    levelsSeconds,
    tracks: plan.tracks.map(({ participant, source, kind, offsetSeconds }) => ({ participant, source, kind, offsetSeconds })),
    speakers,
    layouts: timeline.map((stretch) => ({ ...stretch, tiles: stretch.tiles.map((tile, i) => ({ ...tile, participant: videos[i]!.participant, source: videos[i]!.source })) })),
  };
}
