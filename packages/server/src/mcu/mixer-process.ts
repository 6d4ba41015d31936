/**
 * The signaling process's handle on one MCU room's mixer process (`mixer-main.ts`), forked with
 * the same TypeScript loader as the SFU workers and the recorders.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { MixerMessage, MixerSettings } from './mixer-main.js';

const ENTRY = fileURLToPath(new URL('./mixer-main.ts', import.meta.url));
const TSX_LOADER = import.meta.resolve('tsx');
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
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {
    this.exited = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode });
      else child.once('exit', (code, signal) => resolve({ code, signal }));
    });
  }

  /** Resolves once the mixer listens (its port is known). */
  static start(settings: MixerSettings, onFailed: (error: string) => void): Promise<MixerProcess> {
    const child = fork(ENTRY, [], {
      execArgv: ['--import', TSX_LOADER],
      env: { ...process.env, PARLEY_MIXER: JSON.stringify(settings) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'json',
    });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => fail(new MixerError(`the mixer did not start within ${START_TIMEOUT_MS} ms`, 'START_FAILED')), START_TIMEOUT_MS);
      const fail = (error: Error) => {
        clearTimeout(timer);
        child.kill('SIGKILL');
        reject(error);
      };
      child.once('error', (error) => fail(new MixerError('the mixer could not be started', 'START_FAILED', { cause: error })));
      child.once('exit', (code, signal) => fail(new MixerError(`the mixer exited at start (${signal ?? code})`, 'START_FAILED')));
      child.on('message', (message: MixerMessage) => {
        if (message.event === 'failed') return onFailed(message.error);
        clearTimeout(timer);
        child.removeAllListeners('exit');
        child.removeAllListeners('error');
        child.on('error', () => undefined);
        resolve(new MixerProcess(child, message.port));
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Ends it (SIGTERM, then SIGKILL if it does not go); resolves once it exited. */
  async stop(): Promise<void> {
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await this.exited;
    clearTimeout(timer);
  }
}
