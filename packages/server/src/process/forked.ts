/**
 * Child processes of the main process (SFU workers, MCU mixers, recorders): forked with the same
 * TypeScript loader as the parent, and waited for until they say they are ready. One crash of a
 * child never takes signaling down; these helpers only start, watch and end it.
 */
import { fork, type ChildProcess } from 'node:child_process';

const TSX_LOADER = import.meta.resolve('tsx');

/**
 * Forks `entry` (a .ts file) with the tsx loader, IPC as JSON, stdout/stderr shared with this process.
 *
 * The child always has an 'error' listener. A message sent to a child that was just killed
 * fails with EPIPE while `child.connected` is still true (44 of 44 sends in a loop right after a
 * SIGKILL, here), and Node emits that as 'error' on the ChildProcess: with no listener it is an
 * uncaught exception, and the main process (signaling) would die with its SFU worker. The
 * owner learns of the end from 'exit'; `untilReady` still sees a spawn error with its own listener.
 */
export function forkTs(entry: string, env: Record<string, string>): ChildProcess {
  const child = fork(entry, [], {
    execArgv: ['--import', TSX_LOADER],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'json',
  });
  child.on('error', () => undefined);
  return child;
}

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Resolves once `child` has exited (at once if it already has), however it ended. */
export function exitOf(child: ChildProcess): Promise<ChildExit> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode });
    else child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

export interface ReadyOptions<T> {
  /** The ready message's value, or undefined for any other message (left to the caller's own listener). */
  ready: (message: unknown) => T | undefined;
  timeoutMs: number;
  /** What the child is, for the error messages: "the mixer". */
  what: string;
  /** The caller's error type with its checked code; `options.cause` is the spawn error, if any. */
  error: (message: string, options?: { cause: unknown }) => Error;
}

/**
 * Resolves with the value of `child`'s first ready message. Rejects, and kills the child with
 * SIGKILL, when it cannot be spawned, exits first, or is not ready within `timeoutMs`: a child
 * that half started must not linger holding ports or files.
 */
export function untilReady<T>(child: ChildProcess, options: ReadyOptions<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    const onError = (cause: Error) => fail(options.error(`${options.what} could not be started`, { cause }));
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => fail(options.error(`${options.what} exited at start (${signal ?? code})`));
    const onMessage = (message: unknown) => {
      const value = options.ready(message);
      if (value === undefined) return;
      done();
      resolve(value);
    };
    const timer = setTimeout(() => fail(options.error(`${options.what} did not start within ${options.timeoutMs} ms`)), options.timeoutMs);
    const done = () => {
      clearTimeout(timer);
      child.off('error', onError);
      child.off('exit', onExit);
      child.off('message', onMessage);
    };
    const fail = (error: Error) => {
      done();
      child.kill('SIGKILL');
      reject(error);
    };
    child.once('error', onError);
    child.once('exit', onExit);
    child.on('message', onMessage);
  });
}

/** SIGTERM, then SIGKILL after `timeoutMs` if it has not gone; resolves once it exited. */
export async function stopChild(child: ChildProcess, exited: Promise<ChildExit>, timeoutMs: number): Promise<void> {
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}

/** The port of the ready message the mixer and the recorder both send: `{ event: 'listening', port }`. */
export function listeningPort(message: unknown): number | undefined {
  const { event, port } = message as { event?: unknown; port?: unknown };
  return event === 'listening' && typeof port === 'number' ? port : undefined;
}
