import type { RecordingMode, RecordingStatus } from './messages.js';

/**
 * The REST API's shapes for recordings (`GET /api/rooms/{room}/recordings`, docs/recording.md):
 * what the server answers and the `recording_ready`/`recording_failed` webhooks carry, and what
 * the SDK reads. Plain types: the server builds them, nothing parses them at runtime.
 */

/** One file of a listed recording. `url` is the server's path; it needs the same bearer token as the list. */
export interface RecordingFileListing {
  name: string;
  url: string;
  bytes: number;
  /** ffprobe's duration after the remux or export; null while unknown. */
  durationSeconds: number | null;
}

/** A recording as the REST API lists it. */
export interface RecordingListing {
  id: string;
  mode: RecordingMode;
  status: RecordingStatus;
  startedBy: string;
  /** ISO 8601 times. */
  startedAt: string;
  endedAt?: string;
  mimeType?: string;
  /** Why it failed (`failed`). */
  error?: string;
  files: RecordingFileListing[];
}
