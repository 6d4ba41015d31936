// CPU time of processes from /proc/<pid>/stat (utime + stime: every thread of the process,
// including threads that already exited), in microseconds.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

const clockTicksPerSecond = readClockTicks();

export function cpuMicroseconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) is in parentheses and may contain spaces: split after it.
  const afterName = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const userTicks = Number(afterName[11]);
  const systemTicks = Number(afterName[12]);
  return ((userTicks + systemTicks) * 1_000_000) / clockTicksPerSecond;
}

export function totalCpuMicroseconds(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + cpuMicroseconds(pid), 0);
}

/** The direct children of a process (e.g. an SFU's worker processes). */
export function childProcessIds(pid: number): number[] {
  const ids: number[] = [];
  for (const task of safeReadDir(`/proc/${pid}/task`)) {
    const children = safeRead(`/proc/${pid}/task/${task}/children`).trim();
    if (children) ids.push(...children.split(/\s+/).map(Number));
  }
  return ids;
}

/** The process's command line, arguments joined by spaces ('' once it is gone). */
export function commandLine(pid: number): string {
  return safeRead(`/proc/${pid}/cmdline`).split('\0').join(' ');
}

function readClockTicks(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}

function safeReadDir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
