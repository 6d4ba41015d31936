/**
 * A virtual X display (Xvfb, Debian's `xvfb`) for a HEADFUL browser: headless Chromium never
 * hides a page (docs/recording.md), a headful one on a display hides a tab when another tab is
 * opened in front of it, as a user's browser does. `startXvfb()` takes the first free display
 * from :90 up, waits for its socket, and `close()` kills that Xvfb by its PID (also at exit if a
 * test process ends without closing it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants, existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export interface VirtualDisplay {
  /** e.g. ":90", for DISPLAY. */
  display: string;
  pid: number;
  close(): Promise<void>;
}

const XVFB = '/usr/bin/Xvfb';
const FIRST_DISPLAY = 90;
const LAST_DISPLAY = 140;
const START_TIMEOUT_MS = 10_000;

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Starts Xvfb on the first free display from :90 (1280x720x24, no TCP); throws if none starts. */
export async function startXvfb(): Promise<VirtualDisplay> {
  try {
    accessSync(XVFB, fsConstants.X_OK);
  } catch {
    throw new Error(`e2e harness: ${XVFB} not found; install it with \`DEBIAN_FRONTEND=noninteractive apt-get install -y xvfb\``);
  }
  const failures: string[] = [];
  for (let n = FIRST_DISPLAY; n <= LAST_DISPLAY; n++) {
    // A display in use (by another test or a person) has its lock file or socket: skip it.
    if (existsSync(`/tmp/.X${n}-lock`) || existsSync(`/tmp/.X11-unix/X${n}`)) continue;
    const started = await tryDisplay(n);
    if ('display' in started) return started;
    failures.push(`:${n} ${started.failure}`);
    // Another process took this display between the check and the start: try the next one.
    if (failures.length >= 3) break;
  }
  throw new Error(`e2e harness: Xvfb did not start (${failures.join('; ') || `no free display :${FIRST_DISPLAY}-:${LAST_DISPLAY}`})`);
}

async function tryDisplay(n: number): Promise<VirtualDisplay | { failure: string }> {
  const child = spawn(XVFB, [`:${n}`, '-screen', '0', '1280x720x24', '-nolisten', 'tcp'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2000);
  });
  let exited = false;
  child.once('exit', () => {
    exited = true;
    running.delete(child);
  });
  const pid = child.pid;
  if (pid === undefined) return { failure: 'no process' };
  running.add(child);
  installExitHook();
  const close = async () => {
    if (exited) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const left = await Promise.race([gone.then(() => false), sleep(3000).then(() => true)]);
    if (left) {
      child.kill('SIGKILL');
      await gone;
    }
  };
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (exited) return { failure: `exited: ${stderr.trim().split('\n').slice(-2).join(' ')}` };
    if (existsSync(`/tmp/.X11-unix/X${n}`)) return { display: `:${n}`, pid, close };
    await sleep(50);
  }
  await close();
  return { failure: `no socket /tmp/.X11-unix/X${n} within ${START_TIMEOUT_MS} ms` };
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}
