/**
 * The one rerun of a failed e2e file (scripts/reruns.mjs), driven through node's real test runner
 * on fixture files: a flaky e2e file passes on its rerun and is announced as FLAKY; one that fails
 * twice fails the run; a failing unit file, or more failing files than the bound, never reruns.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
// @ts-expect-error: a plain .mjs script without types
import { runTestFiles, runWithReruns } from '../reruns.mjs';

type Run = { status: number; failed: string[]; times: { file: string; seconds: number }[] };
let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'parley-reruns-'));
  mkdirSync(join(dir, 'e2e'));
  mkdirSync(join(dir, 'unit'));
  const fixture = (path: string, body: string) => writeFileSync(join(dir, path), `import { test } from 'node:test';\nimport { existsSync, writeFileSync } from 'node:fs';\n${body}\n`);
  // Fails the first time it runs in a directory, passes after (a marker file remembers).
  fixture('e2e/flaky.test.mjs', `test('flaky', () => { const marker = new URL('./flaky.ran', import.meta.url); if (!existsSync(marker)) { writeFileSync(marker, ''); throw new Error('first run fails'); } });`);
  fixture('e2e/broken.test.mjs', `test('broken', () => { throw new Error('always'); });`);
  fixture('e2e/fine.test.mjs', `test('fine', () => {});`);
  fixture('unit/broken.test.mjs', `test('unit broken', () => { throw new Error('always'); });`);
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs through the real runner, quietly, and records every run's file list and what it logged. */
function harness() {
  const runs: string[][] = [];
  const logged: string[] = [];
  const run = (files: string[]): Run => {
    runs.push(files);
    return runTestFiles(files, { cwd: dir, nodeArgs: [], stdio: 'ignore' }) as Run;
  };
  return { runs, logged, options: { cwd: dir, run, log: (line: string) => void logged.push(line) } };
}

test('the reporter names exactly the files with a failing test, and times each file', () => {
  const result = runTestFiles(['e2e/broken.test.mjs', 'e2e/fine.test.mjs', 'unit/broken.test.mjs'], { cwd: dir, nodeArgs: [], stdio: 'ignore' }) as Run;
  assert.notEqual(result.status, 0);
  assert.deepEqual(result.failed.sort(), ['e2e/broken.test.mjs', 'unit/broken.test.mjs']);
  assert.deepEqual(result.times.map((row) => row.file).sort(), ['e2e/broken.test.mjs', 'e2e/fine.test.mjs', 'unit/broken.test.mjs'], 'and times every file');
  assert.ok(result.times.every((row) => row.seconds >= 0 && row.seconds < 60), JSON.stringify(result.times));
});

test('a flaky e2e file fails, is rerun alone, passes, and the run passes with FLAKY announced', () => {
  rmSync(join(dir, 'e2e/flaky.ran'), { force: true });
  const h = harness();
  const result = runWithReruns(['e2e/fine.test.mjs', 'e2e/flaky.test.mjs'], h.options);
  assert.equal(result.status, 0);
  assert.deepEqual(h.runs, [['e2e/fine.test.mjs', 'e2e/flaky.test.mjs'], ['e2e/flaky.test.mjs']]);
  assert.match(h.logged.join('\n'), /FLAKY: e2e\/flaky\.test\.mjs failed, then passed on a rerun/);
});

test('an e2e file that fails on its rerun too fails the run', () => {
  const h = harness();
  const result = runWithReruns(['e2e/broken.test.mjs', 'e2e/fine.test.mjs'], h.options);
  assert.notEqual(result.status, 0);
  assert.deepEqual(h.runs, [['e2e/broken.test.mjs', 'e2e/fine.test.mjs'], ['e2e/broken.test.mjs']]);
  assert.match(h.logged.join('\n'), /FAILED AGAIN on a rerun: e2e\/broken\.test\.mjs/);
});

test('a failing unit file is never rerun, even beside an e2e failure', () => {
  rmSync(join(dir, 'e2e/flaky.ran'), { force: true });
  const h = harness();
  const result = runWithReruns(['e2e/flaky.test.mjs', 'unit/broken.test.mjs'], h.options);
  assert.notEqual(result.status, 0);
  assert.equal(h.runs.length, 1);
  assert.match(h.logged.join('\n'), /no rerun: unit\/broken\.test\.mjs is not an e2e file/);
});

test('more failing e2e files than the bound: no rerun', () => {
  rmSync(join(dir, 'e2e/flaky.ran'), { force: true });
  const h = harness();
  const result = runWithReruns(['e2e/flaky.test.mjs', 'e2e/broken.test.mjs'], { ...h.options, maxFiles: 1 });
  assert.notEqual(result.status, 0);
  assert.equal(h.runs.length, 1);
  assert.match(h.logged.join('\n'), /no rerun: 2 files failed \(at most 1 rerun\)/);
});
