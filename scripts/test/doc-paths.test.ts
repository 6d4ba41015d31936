/**
 * The files ARCHITECTURE.md, the README and docs/*.md name exist: a reader following a path from
 * the docs lands on the code it describes, and a file moved without its docs fails here.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, normalize, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const SKIPPED_DIRS = new Set(['node_modules', 'dist', '.git']);

/** Every file and folder of the repository, relative to its root (build output and dependencies left out). */
function tree(): { files: Set<string>; dirs: Set<string>; basenames: Set<string> } {
  const files = new Set<string>();
  const dirs = new Set<string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      if (SKIPPED_DIRS.has(entry.name)) continue;
      const path = dir ? `${dir}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        dirs.add(path);
        walk(path);
      } else files.add(path);
    }
  };
  walk('');
  return { files, dirs, basenames: new Set([...files].map((file) => basename(file))) };
}

const { files, dirs, basenames } = tree();
const docs = ['ARCHITECTURE.md', 'README.md', ...[...files].filter((file) => /^docs\/[^/]+\.md$/.test(file))];
/** Where the repository's own paths start; anything else with a slash (MIME types, CIDRs, packages) is not a path here. */
const ROOTS = /^(packages|e2e|bench|scripts|docs|deploy)\//;
const SOURCE = /^[\w.-]+\.(ts|mjs|sh|md)$/;

/** A path the docs name: a file, a folder, or the start of file names (`e2e/server-recording*` written as `e2e/server-recording`). */
function exists(path: string): boolean {
  const clean = path.replace(/\/$/, '');
  return files.has(clean) || dirs.has(clean) || [...files].some((file) => file.startsWith(clean));
}

/** A path relative to a folder the text is about (`worker/downstream.ts` in the table of sfu/): the end of some path. */
function existsUnder(path: string): boolean {
  const clean = path.replace(/\/$/, '');
  return [...files, ...dirs].some((entry) => entry.endsWith(`/${clean}`));
}

for (const doc of docs) {
  test(`${doc}: every file it names exists`, () => {
    const text = readFileSync(join(root, doc), 'utf8');
    const missing: string[] = [];
    for (const [, link] of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
      if (/^[a-z]+:/.test(link!)) continue;
      const target = normalize(join(dirname(doc), link!));
      if (!exists(relative('.', target))) missing.push(link!);
    }
    for (const [, quoted] of text.matchAll(/`([^`\s]+)`/g)) {
      const path = quoted!.replace(/[.,:;]+$/, '').replace(/:\d+(-\d+)?$/, '');
      // Not the repository's own paths: patterns, URLs, npm packages, absolute paths, build output.
      if (/[*<>{}$|=()]/.test(path) || path.includes('://') || path.startsWith('@') || path.startsWith('/') || path.includes('/dist/')) continue;
      if (ROOTS.test(path)) {
        if (!exists(path)) missing.push(path);
      } else if (path.includes('/') && SOURCE.test(basename(path))) {
        if (!existsUnder(path)) missing.push(path);
      } else if (SOURCE.test(path) && !path.includes('/')) {
        if (!basenames.has(path)) missing.push(path);
      }
    }
    assert.deepEqual(missing, [], `${doc} names files that do not exist`);
  });
}
