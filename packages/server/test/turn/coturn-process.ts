/**
 * A real coturn for tests, configured by `parley turn-config` from the given environment, plus
 * only what a test run needs on top: a private user database, no pid file, logs to a buffer.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../../bin/parley.js', import.meta.url));
const START_TIMEOUT_MS = 10_000;

export interface CoturnProcess {
  /** What `turn-config` printed (before the test additions). */
  readonly generated: string;
  /** The last 20 000 characters coturn logged. */
  log(): string;
  stop(): void;
}

export async function startCoturn(env: Record<string, string>): Promise<CoturnProcess> {
  if (spawnSync('which', ['turnserver']).status !== 0) throw new Error('turnserver is missing: apt-get install -y coturn (.ci/run installs it)');
  const generated = spawnSync(process.execPath, [cli, 'turn-config'], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 20_000 });
  assert.equal(generated.status, 0, generated.stderr);
  const dir = mkdtempSync(join(tmpdir(), 'parley-coturn-'));
  const conf = `${generated.stdout}userdb=${join(dir, 'turndb.sqlite')}\npidfile=${join(dir, 'turnserver.pid')}\nlog-file=stdout\nsimple-log\n`;
  writeFileSync(join(dir, 'turnserver.conf'), conf);
  const child = spawn('turnserver', ['-c', join(dir, 'turnserver.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (chunk: Buffer) => (log = (log + chunk).slice(-20_000)));
  child.stderr.on('data', (chunk: Buffer) => (log = (log + chunk).slice(-20_000)));
  const stop = () => {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!/Total (UDP|General) servers|listener opened on/i.test(log)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      stop();
      throw new Error(`coturn did not start:\n${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { generated: generated.stdout, log: () => log, stop };
}
