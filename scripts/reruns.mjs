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

const reporter = fileURLToPath(new URL('./failed-files-reporter.mjs', import.meta.url));
const timesReporter = fileURLToPath(new URL('./file-times-reporter.mjs', import.meta.url));

/**
 * Runs `files` (paths relative to `cwd`) with node's test runner, `concurrency` files at a time, its report
 * on this process's output (`stdio`); returns the exit status and the files that had a failing test.
 */
export function runTestFiles(files, { cwd, nodeArgs = ['--import', 'tsx'], timeoutMs = 240_000, stdio = 'inherit', concurrency = 1 }) {
  const dir = mkdtempSync(join(tmpdir(), 'parley-tests-'));
  const failedList = join(dir, 'failed');
  try {
    const result = spawnSync(
      process.execPath,
      [
        ...nodeArgs,
        '--test',
        '--test-reporter=spec',
        '--test-reporter-destination=stdout',
        `--test-reporter=${reporter}`,
        `--test-reporter-destination=${failedList}`,
        `--test-reporter=${timesReporter}`,
        '--test-reporter-destination=stdout',
        `--test-concurrency=${concurrency}`,
        `--test-timeout=${timeoutMs}`,
        ...files,
      ],
      // A runner started from inside a test (this script's own tests) would otherwise report to that test's runner.
      { cwd, stdio, env: withoutTestContext(process.env) },
    );
    let failed = [];
    try {
      failed = readFileSync(failedList, 'utf8').split('\n').filter(Boolean).map((file) => relative(cwd, file));
    } catch {
      // No list: the runner itself did not run (then the status says so).
    }
    return { status: result.status ?? 1, failed };
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

function withoutTestContext(env) {
  const copy = { ...env };
  delete copy.NODE_TEST_CONTEXT;
  return copy;
}
