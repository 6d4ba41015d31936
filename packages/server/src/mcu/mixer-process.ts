/**
 * The signaling process's handle on one MCU room's mixer process (`mixer-main.ts`), forked with
 * the same TypeScript loader as the SFU workers and the recorders.
 */
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { exitOf, forkTs, listeningPort, stopChild, untilReady, type ChildExit } from '../process/forked.js';
import type { MixerMessage, MixerSettings, MixerStats } from './mixer-main.js';

const ENTRY = fileURLToPath(new URL('./mixer-main.ts', import.meta.url));
const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 3_000;

export class MixerError extends Error {
  override name = 'MixerError';
  constructor(
    message: string,
    readonly code: 'START_FAILED',
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export class MixerProcess {
  readonly exited: Promise<ChildExit>;

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {
    this.exited = exitOf(child);
  }

  /** Resolves once the mixer listens (its port is known). `onStats` hears its counters once a second. */
  static async start(settings: MixerSettings, onFailed: (error: string) => void, onStats?: (stats: MixerStats) => void): Promise<MixerProcess> {
    const child = forkTs(ENTRY, { PARLEY_MIXER: JSON.stringify(settings) });
    // After the start too: the mixer reports a failure of its own (it goes on running).
    child.on('message', (message: MixerMessage) => {
      if (message.event === 'failed') onFailed(message.error);
      else if (message.event === 'stats') onStats?.(message);
    });
    const port = await untilReady(child, {
      ready: listeningPort,
      timeoutMs: START_TIMEOUT_MS,
      what: 'the mixer',
      error: (message, options) => new MixerError(message, 'START_FAILED', options),
    });
    return new MixerProcess(child, port);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Ends it (SIGTERM, then SIGKILL if it does not go); resolves once it exited. */
  stop(): Promise<void> {
    return stopChild(this.child, this.exited, STOP_TIMEOUT_MS);
  }
}
