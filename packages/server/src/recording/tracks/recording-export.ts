/**
 * A whole server recording's raw files to per-track files and `manifest.json`: what the export
 * process (`recorder-main.ts export`) runs after the recording stopped, or after a restart found
 * it unfinished. A `composite` recording then also gets `composite.webm`, made from those files
 * (`../composite/composite-export.ts`).
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RemuxTools } from '../remux.js';
import { exportComposite, type CompositeResult } from '../composite/composite-export.js';
import { readRecords, RecordType, type TrackDescription } from './record-format.js';
import { blankTrack, exportTrack, type ManifestTrack } from './track-export.js';

export const MANIFEST_FILE = 'manifest.json';
/** `s<segment>-t<track>.prec`: one worker connection's (segment's) records of one track. */
export const RAW_FILE = /^s(\d+)-t(\d+)\.prec$/;

export interface RecordingManifest {
  version: 1;
  recording: string;
  room: string;
  mode: 'tracks' | 'composite';
  /**
   * `startNtpMs`: each file's first frame on its publisher's wall clock, from the RTP/NTP pairs of
   * its sender reports (the clock browsers lip-sync with; tracks of one publisher line up on it).
   * `startArrivalMs`: the same moment on the SFU's clock (its first packet's arrival), one clock
   * for every publisher. Both are milliseconds since the Unix epoch.
   */
  clock: 'sender-report-ntp';
  tracks: Array<ManifestTrack & { segment: number; rawFile: string; rawBytes: number; tornTail: boolean }>;
  /** Composite recordings: the composite made, or why it could not be. */
  composite?: CompositeResult;
  compositeError?: string;
}

export interface ExportOptions {
  directory: string;
  recording: string;
  room: string;
  tools: RemuxTools;
  /** Also compose the tracks into one file (mode `composite`). */
  composite?: boolean;
}

const safe = (text: string) => text.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 24);

export async function exportRecording(options: ExportOptions): Promise<RecordingManifest> {
  const names = (await readdir(options.directory)).filter((name) => RAW_FILE.test(name)).sort((a, b) => rawOrder(a) - rawOrder(b));
  const manifest: RecordingManifest = { version: 1, recording: options.recording, room: options.room, mode: options.composite ? 'composite' : 'tracks', clock: 'sender-report-ntp', tracks: [] };
  let index = 0;
  for (const rawFile of names) {
    const [, segment] = RAW_FILE.exec(rawFile)!;
    const bytes = await readFile(join(options.directory, rawFile));
    const { records, torn } = readRecords(bytes);
    const head = records[0];
    if (!head || head.type !== RecordType.track) continue;
    const description = JSON.parse(head.payload.toString('utf8')) as TrackDescription;
    index += 1;
    const name = `track-${index}-${safe(description.participant)}-${safe(description.source)}`;
    const extra = { segment: Number(segment), rawFile, rawBytes: bytes.length, tornTail: torn };
    try {
      manifest.tracks.push({ ...(await exportTrack({ description, records, directory: options.directory, name, tools: options.tools })), ...extra });
    } catch (error) {
      manifest.tracks.push({ ...blankTrack(description, 0, null), error: error instanceof Error ? error.message : String(error), ...extra });
    }
  }
  if (options.composite) {
    try {
      manifest.composite = await exportComposite(options.directory, manifest.tracks, options.tools);
    } catch (error) {
      manifest.compositeError = error instanceof Error ? error.message : String(error);
    }
  }
  await writeFile(join(options.directory, MANIFEST_FILE), JSON.stringify(manifest, null, 2));
  return manifest;
}

function rawOrder(name: string): number {
  const [, segment, track] = RAW_FILE.exec(name)!;
  return Number(segment) * 100_000 + Number(track);
}
