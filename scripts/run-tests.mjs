// Runs the test suites with node's test runner: `unit` (no browser),
// `e2e` (real Chromium and Firefox), or both (default). Browser files run one at a time because
// each starts its own browsers and this machine has 2 cores; most unit files two at a time (`run`).
import { readdirSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runTestFiles, runWithReruns } from './reruns.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const suites = {
  unit: () => [
    ...['protocol', 'server', 'client', 'web'].flatMap((pkg) => testFiles(join(root, 'packages', pkg, 'test'))),
    // The benchmarks' own helpers (RTP, RTCP, SDP); the benchmarks themselves are not tests.
    ...testFiles(join(root, 'bench', 'test')),
    // The repository's own scripts (the system package list the README and CI follow).
    ...testFiles(join(root, 'scripts', 'test')),
  ],
  e2e: () => testFiles(join(root, 'e2e')),
};

const requested = process.argv.slice(2);
const names = requested.length > 0 ? requested : ['unit', 'e2e'];
const unknown = names.filter((name) => !(name in suites));
if (unknown.length > 0) {
  console.error(`unknown suite ${unknown.join(', ')}: use ${Object.keys(suites).join(', ')}`);
  process.exit(2);
}
const files = names.flatMap((name) => suites[name]()).map((file) => relative(root, file));
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}

/**
 * Unit files that run alone: they time real media processes (ffmpeg mixers and exports, a webinar
 * of 53 connections, the SFU worker's loop and RTP path), and a second file beside them on these
 * two cores starved them (the webinar missed its 2 s of mix once of one run).
 */
const ALONE = ['packages/server/test/mcu/', 'packages/server/test/recording/', 'packages/server/test/sfu/'];
const isE2e = (file) => file.split(sep)[0] === 'e2e';
const twoAtATime = (file) => !isE2e(file) && !ALONE.some((prefix) => file.startsWith(prefix.split('/').join(sep)));

/**
 * The other unit files run two at a time: ~0.75 s of each file's 156 is starting node and tsx, and
 * two at a time took the unit suite from 310 s to 245 s. Browser (e2e) files run one at a time:
 * each starts its own browsers.
 */
function run(list) {
  const groups = [list.filter(twoAtATime), list.filter((file) => !twoAtATime(file))];
  let status = 0;
  const failed = [];
  for (const [index, group] of groups.entries()) {
    if (group.length === 0) continue;
    const result = runTestFiles(group, { cwd: root, concurrency: index === 0 ? 2 : 1 });
    if (result.status !== 0) status = result.status;
    failed.push(...result.failed);
  }
  return { status, failed };
}

// PARLEY_TEST_RERUNS=0: no rerun of a failed e2e file (see scripts/reruns.mjs).
const { status } = process.env.PARLEY_TEST_RERUNS === '0' ? run(files) : runWithReruns(files, { cwd: root, run });
process.exit(status);

function testFiles(dir) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true, recursive: true });
  } catch {
    return [];
  }
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.test.ts') && !join(entry.parentPath ?? entry.path, entry.name).includes('node_modules'))
    .map((entry) => join(entry.parentPath ?? entry.path, entry.name))
    .sort();
}
