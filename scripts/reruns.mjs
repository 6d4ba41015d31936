// One rerun of a failed browser (e2e) test file, reported loudly: see docs/testing.md, "Reruns".
// The e2e tests assert what users see (frames decoded within a time, a freeze under a bound) on 2
// shared cores, where a starved browser fails one timing in ~980 tests in about every other full
// run, a different one each time. A file that fails again on its rerun fails the run; a unit test
// (pure logic, no timing of browsers) never reruns; nor does a run where more than `maxFiles` files
// failed (that is no flake).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const reporter = fileURLToPath(new URL('./files-reporter.mjs', import.meta.url));
/** How many of the slowest files a run prints. */
const SLOWEST_SHOWN = 15;

/**
 * Runs `files` (paths relative to `cwd`) with node's test runner, `concurrency` files at a time, its report
 * on this process's output (`stdio`, followed by the slowest files when it is inherited); returns
 * the exit status, the files that had a failing test, and each file's wall time.
 */
export function runTestFiles(files, { cwd, nodeArgs = ['--import', 'tsx'], timeoutMs = 240_000, stdio = 'inherit', concurrency = 1 }) {
  const dir = mkdtempSync(join(tmpdir(), 'parley-tests-'));
  const report = join(dir, 'files');
  try {
    const result = spawnSync(
      process.execPath,
      [
        ...nodeArgs,
        '--test',
        '--test-reporter=spec',
        '--test-reporter-destination=stdout',
        `--test-reporter=${reporter}`,
        `--test-reporter-destination=${report}`,
        `--test-concurrency=${concurrency}`,
        `--test-timeout=${timeoutMs}`,
        ...files,
      ],
      // A runner started from inside a test (this script's own tests) would otherwise report to that test's runner.
      { cwd, stdio, env: withoutTestContext(process.env) },
    );
    let lines = [];
    try {
      lines = readFileSync(report, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line));
    } catch {
      // No report: the runner itself did not run (then the status says so).
    }
    const failed = lines.filter((line) => line.failed).map((line) => relative(cwd, line.failed));
    const times = lines.filter((line) => line.file).map((line) => ({ file: relative(cwd, line.file), seconds: line.seconds })).sort((a, b) => b.seconds - a.seconds);
    if (stdio === 'inherit' && times.length > 0) console.log(slowest(times));
    return { status: result.status ?? 1, failed, times };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Runs `files`; when only e2e files failed (at most `maxFiles` of them), runs those once more,
 * alone, and passes if they pass then. Every rerun is announced when it starts and summed up at the
 * end with the file's name, so a flaky test shows in every log it happened in.
 */
export function runWithReruns(files, { cwd, maxFiles = 2, rerunnable = (file) => file.split(sep)[0] === 'e2e', run = (list) => runTestFiles(list, { cwd }), log = console.log }) {
  const first = run(files);
  if (first.status === 0) return { status: 0, rerun: [] };
  const rerun = first.failed;
  if (rerun.length === 0 || rerun.length > maxFiles || !rerun.every(rerunnable)) {
    if (rerun.length > 0) log(`\nno rerun: ${rerun.length > maxFiles ? `${rerun.length} files failed (at most ${maxFiles} rerun)` : `${rerun.filter((f) => !rerunnable(f)).join(', ')} is not an e2e file`}`);
    return { status: first.status, rerun: [] };
  }
  log(`\n=== RERUN (flaky?): ${rerun.join(', ')} failed above; running ${rerun.length === 1 ? 'it' : 'them'} once more, alone ===\n`);
  const second = run(rerun);
  const passed = second.status === 0;
  log(
    passed
      ? `\n=== FLAKY: ${rerun.join(', ')} failed, then passed on a rerun. The first failure is above: a defect to fix, not noise. ===`
      : `\n=== FAILED AGAIN on a rerun: ${second.failed.join(', ') || rerun.join(', ')} ===`,
  );
  return { status: passed ? 0 : second.status || 1, rerun };
}

function slowest(times) {
  const total = times.reduce((sum, row) => sum + row.seconds, 0);
  const rows = times.slice(0, SLOWEST_SHOWN).map((row) => `${row.seconds.toFixed(1).padStart(8)} s  ${row.file}`);
  return `\nslowest test files (wall time from its start to its last result; ${times.length} files, ${total.toFixed(0)} s in all):\n${rows.join('\n')}`;
}

function withoutTestContext(env) {
  const copy = { ...env };
  delete copy.NODE_TEST_CONTEXT;
  return copy;
}
