// Runs the test suites with node's test runner: `unit` (no browser),
// `e2e` (real Chromium and Firefox), or both (default). Files run one at a time because
// each browser test file starts its own browsers and this machine has 2 cores.
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
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

// PARLEY_TEST_RERUNS=0: no rerun of a failed e2e file (see scripts/reruns.mjs).
const { status } = process.env.PARLEY_TEST_RERUNS === '0' ? runTestFiles(files, { cwd: root }) : runWithReruns(files, { cwd: root });
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
