/**
 * deploy/systemd/parley.service: valid for systemd's own checker, starts what the repository
 * has, and stops by SIGTERM (the drain) with time for it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const UNIT = fileURLToPath(new URL('../../../../deploy/systemd/parley.service', import.meta.url));
const root = fileURLToPath(new URL('../../../../', import.meta.url));

function verify(path: string): { ok: boolean; output: string } {
  const run = spawnSync('systemd-analyze', ['verify', path], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(run.error, undefined, `systemd-analyze runs (scripts/system-packages.sh installs systemd): ${run.error?.message}`);
  // A setting systemd cannot parse is a warning it ignores (exit 0): any output is a failure here.
  return { ok: run.status === 0 && run.stdout.trim() === '' && run.stderr.trim() === '', output: `${run.stdout}${run.stderr}` };
}

test('systemd-analyze verify accepts the unit, and would refuse a broken one', () => {
  const shipped = verify(UNIT);
  assert.ok(shipped.ok, shipped.output);
  const dir = mkdtempSync(join(tmpdir(), 'parley-systemd-'));
  try {
    const broken = join(dir, 'parley.service');
    writeFileSync(broken, readFileSync(UNIT, 'utf8').replace('KillSignal=SIGTERM', 'KillSignal=SIGNOPE'));
    assert.equal(verify(broken).ok, false, 'the check can fail');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('it starts the CLI the repository has, and stops by SIGTERM with room for a drain', () => {
  const unit = readFileSync(UNIT, 'utf8');
  const exec = /^ExecStart=(\S+) \/opt\/parley\/(\S+) start --config \S+$/m.exec(unit);
  assert.ok(exec, 'ExecStart runs the parley CLI from /opt/parley');
  assert.ok(existsSync(join(root, exec[2]!)), `${exec[2]} exists in the repository`);
  assert.match(unit, /^KillSignal=SIGTERM$/m);
  const timeout = Number(/^TimeoutStopSec=(\d+)$/m.exec(unit)?.[1]);
  assert.ok(timeout >= 600, `TimeoutStopSec (${timeout} s) leaves a 10-minute drain time to finish`);
});
