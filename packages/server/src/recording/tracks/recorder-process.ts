/**
 * The main process's handle on recorder processes (`recorder-main.ts`): one records a server
 * recording, another, started after it, exports it. Forked with the same TypeScript loader as the
 * SFU workers.
 */
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { exitOf, forkTs, listeningPort, untilReady, type ChildExit } from '../../process/forked.js';
import type { RecorderMessage, RecorderRole } from './recorder-main.js';
import type { RecordingManifest } from './recording-export.js';

const ENTRY = fileURLToPath(new URL('./recorder-main.ts', import.meta.url));
const START_TIMEOUT_MS = 20_000;
/** A stop that does not finish in this long (a wedged recorder) ends with SIGKILL: what it wrote stays. */
const STOP_TIMEOUT_MS = 10_000;
/**
 * Exporting is ffmpeg copies and TypeScript parsing: ~1 s for a 10 s two-track call here; a long
 * call takes longer. A composite is an encode: 7.7 s for 15 s of three 640x360 publishers on 2
 * busy cores (e2e), so a 3 h call's composite may take ~1.5 h.
 */
const EXPORT_TIMEOUT_MS = 4 * 60 * 60_000;

export class RecorderError extends Error {
  override name = 'RecorderError';
  constructor(
    message: string,
    readonly code: 'START_FAILED' | 'EXPORT_FAILED',
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

function spawnRecorder(role: RecorderRole): ChildProcess {
  return forkTs(ENTRY, { PARLEY_RECORDER: JSON.stringify(role) });
}

/** A running recorder: its port for the SFU worker, `stop()`, and `exited` (resolves however it ends). */
export class RecorderProcess {
  readonly exited: Promise<ChildExit>;
  private stopping = false;

  private constructor(
    readonly child: ChildProcess,
    readonly port: number,
  ) {
    this.exited = exitOf(child);
  }

  static async start(options: { directory: string; recording: string; secret: string }): Promise<RecorderProcess> {
    const child = spawnRecorder({ role: 'record', ...options });
    const port = await untilReady(child, {
      ready: listeningPort,
      timeoutMs: START_TIMEOUT_MS,
      what: 'the recorder',
      error: (message, options) => new RecorderError(message, 'START_FAILED', options),
    });
    return new RecorderProcess(child, port);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get stopRequested(): boolean {
    return this.stopping;
  }

  /**
   * Asks it to sync and close its files once it has received `expectBytes` (what the SFU's tap
   * sent; the last batch may still be in flight) or after a short wait; resolves once it exited.
   */
  async stop(expectBytes = 0): Promise<void> {
    this.stopping = true;
    if (this.child.connected) this.child.send({ op: 'stop', expectBytes });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Exports a stopped recording's raw files in a process of its own; answers the manifest. */
export function exportInProcess(options: Omit<Extract<RecorderRole, { role: 'export' }>, 'role'>): Promise<RecordingManifest> {
  const child = spawnRecorder({ role: 'export', ...options });
  return new Promise((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), EXPORT_TIMEOUT_MS);
    child.on('message', (message: RecorderMessage) => {
      if (message.event === 'exported') {
        settled = true;
        resolve(message.manifest as RecordingManifest);
      } else if (message.event === 'failed') {
        settled = true;
        reject(new RecorderError(`the export failed: ${message.error}`, 'EXPORT_FAILED'));
      }
    });
    child.once('error', (error) => !settled && reject(new RecorderError('the export process could not be started', 'EXPORT_FAILED', { cause: error })));
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (!settled) reject(new RecorderError(`the export process ended without a result (${signal ?? code})`, 'EXPORT_FAILED'));
    });
  });
}
