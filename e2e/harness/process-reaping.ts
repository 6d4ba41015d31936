/**
 * The e2e harness's process reaping: every browser's processes (by PID, process group and the
 * profile directory on their command lines) and temp directories are removed by `forceCleanup`,
 * and synchronously at exit if a test process ends without closing its browsers.
 */
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

// ---------------------------------------------------------------------------
// Process and temp-dir cleanup

export interface Tracked {
  dir: string;
  pids: Set<number>;
  /** Removed with the profile directory. */
  extraDirs: string[];
  /** Run after the processes are gone (e.g. closing a control-channel bridge). */
  onCleanup: Array<() => Promise<void>>;
}

const live = new Set<Tracked>();
let exitHookInstalled = false;

/** Last resort if the test process exits without calling close(): SIGKILL and remove the profile, synchronously. */
export function registerForExit(tracked: Tracked): void {
  live.add(tracked);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const t of live) {
      for (const pid of collectTree(t)) trySignal(pid, 'SIGKILL');
      for (const dir of [t.dir, ...t.extraDirs]) {
        try {
          rmSync(dir, { recursive: true, force: true });
        } catch {
          /* best effort */
        }
      }
    }
  });
}

export async function forceCleanup(tracked: Tracked): Promise<void> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const pids = collectTree(tracked);
    if (pids.size === 0) break;
    for (const pid of tracked.pids) trySignal(-pid, 'SIGKILL'); // process group (both launchers spawn detached)
    for (const pid of pids) trySignal(pid, 'SIGKILL');
    await waitGone(pids, 3_000);
  }
  for (const cleanup of tracked.onCleanup.splice(0)) await cleanup().catch(() => {});
  for (const dir of [tracked.dir, ...tracked.extraDirs]) await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 }).catch(() => {});
  live.delete(tracked);
}

/** Our browser processes that are still alive: the recorded PIDs, their descendants, and anything naming our profile dir. */
function collectTree(tracked: Tracked): Set<number> {
  const procs = listProcs();
  const result = new Set<number>();
  for (const pid of tracked.pids) if (procs.has(pid)) result.add(pid);
  for (const [pid, p] of procs) if (p.cmdline.includes(tracked.dir)) result.add(pid);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, p] of procs) {
      if (!result.has(pid) && result.has(p.ppid)) {
        result.add(pid);
        grew = true;
      }
    }
  }
  return result;
}

export function pidsMentioning(dir: string): number[] {
  const out: number[] = [];
  for (const [pid, p] of listProcs()) if (p.cmdline.includes(dir)) out.push(pid);
  return out;
}

/** Live (non-zombie) processes from /proc. */
function listProcs(): Map<number, { ppid: number; cmdline: string }> {
  const procs = new Map<number, { ppid: number; cmdline: string }>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return procs;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // "pid (comm) state ppid ..." — comm may contain spaces/parens.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z' || fields[0] === 'X') continue;
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      procs.set(Number(entry), { ppid: Number(fields[1]), cmdline });
    } catch {
      /* exited meanwhile */
    }
  }
  return procs;
}

async function waitGone(pids: Set<number>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const procs = listProcs();
    if (![...pids].some((pid) => procs.has(pid))) return;
    await sleep(50);
  }
}

function trySignal(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    /* already gone */
  }
}
