/**
 * The Debian packages the tests need are listed once (scripts/system-packages.sh); the README, the
 * test command and CI must all follow that list, or a newcomer on a brand-new machine gets red tests.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const script = `${root}scripts/system-packages.sh`;
const listed = execFileSync('bash', [script, 'list'], { encoding: 'utf8' }).trim().split('\n');

test('the list names the browsers, coturn, the netsim tools, prometheus, redis-server, haproxy, systemd, ffmpeg, tshark and xvfb', () => {
  assert.deepEqual([...listed].sort(), ['chromium', 'coturn', 'ffmpeg', 'firefox-esr', 'haproxy', 'iproute2', 'nftables', 'prometheus', 'redis-server', 'systemd', 'tshark', 'xvfb']);
});

test("the README's requirements name every package, in its install line too", () => {
  const readme = readFileSync(`${root}README.md`, 'utf8');
  const installLine = readme.split('\n').find((line) => line.includes('apt-get install -y'));
  assert.ok(installLine, 'the README shows the apt-get install line');
  for (const name of listed) assert.match(installLine, new RegExp(`\\b${name}\\b`), `${name} in the README's install line`);
});

test('npm test and CI both ensure the list before anything else', () => {
  const scripts = JSON.parse(readFileSync(`${root}package.json`, 'utf8')).scripts as Record<string, string>;
  assert.match(scripts['pretest'] ?? '', /^bash scripts\/system-packages\.sh ensure && /);
  const ci = readFileSync(`${root}.ci/run`, 'utf8').split('\n').filter((line) => line.trim() !== '' && !line.startsWith('#'));
  const ensure = ci.findIndex((line) => line.includes('scripts/system-packages.sh ensure'));
  assert.ok(ensure >= 0 && ensure < ci.findIndex((line) => line.includes('npm ci')), '.ci/run ensures the packages before npm ci');
});

test('a wrong call is refused with usage and exit 2; the skip switch installs nothing', () => {
  const wrong = spawnSync('bash', [script, 'instal'], { encoding: 'utf8' });
  assert.equal(wrong.status, 2);
  assert.match(wrong.stderr, /usage: .* check\|ensure\|list/);
  const skipped = spawnSync('/bin/bash', [script, 'ensure'], { encoding: 'utf8', env: { ...process.env, PARLEY_SKIP_SYSTEM_PACKAGES: '1', PATH: '/nonexistent' } });
  assert.equal(skipped.status, 0, 'skipped before looking for dpkg or apt-get');
});
