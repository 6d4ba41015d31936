/**
 * deploy/prometheus: the scrape config and alert rules are valid for Prometheus' own checker,
 * the rules' unit tests pass (`promtool test rules`), every Parley metric a rule uses is one a
 * running node really exports, and a real Prometheus (Debian's) scraping a running node gets
 * data for every rule's expression.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { RunningServer } from '../../src/index.ts';
import { startTestServer, TestClient } from '../helpers.ts';
import { scrape } from '../metrics-text.ts';
import { pending, startPrometheus } from '../prometheus-harness.ts';
import { alertExpressions } from '../dashboard-queries.ts';

const deploy = fileURLToPath(new URL('../../../../deploy/prometheus/', import.meta.url));

function promtool(args: string[], cwd = deploy): { ok: boolean; output: string } {
  const run = spawnSync('promtool', args, { cwd, encoding: 'utf8', timeout: 30_000 });
  assert.equal(run.error, undefined, `promtool runs (scripts/system-packages.sh installs prometheus): ${run.error?.message}`);
  return { ok: run.status === 0, output: `${run.stdout}${run.stderr}` };
}

describe('deploy/prometheus', () => {
  let server: RunningServer;
  const dir = mkdtempSync(join(tmpdir(), 'parley-prometheus-'));
  before(async () => {
    // The built-in TURN server on, so its families (and the quota rule) have data.
    server = await startTestServer({ turn: { enabled: true, port: 0, relayPortMin: 48200, relayPortMax: 48299 } });
  });
  after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('promtool check rules, and the rules unit tests (each alert fires on its condition and not before)', () => {
    const rules = promtool(['check', 'rules', 'alerts.yml']);
    assert.ok(rules.ok, rules.output);
    const tests = promtool(['test', 'rules', 'tests/alerts.test.yml']);
    assert.ok(tests.ok, tests.output);
  });

  test('promtool check config, with the token file it names beside it', () => {
    for (const file of ['prometheus.yml', 'alerts.yml']) copyFileSync(join(deploy, file), join(dir, file));
    writeFileSync(join(dir, 'parley-metrics-token'), 'a-token-for-the-check-only\n');
    const config = promtool(['check', 'config', 'prometheus.yml'], dir);
    assert.ok(config.ok, config.output);
  });

  test("every Parley metric the rules use is on a running node's /metrics", async () => {
    const used = new Set(readFileSync(join(deploy, 'alerts.yml'), 'utf8').match(/\bparley_[a-z0-9_]+/g) ?? []);
    assert.ok(used.size >= 6, `the rules use Parley's metrics (${[...used].join(', ')})`);
    const { text } = await scrape(server.url);
    const exported = new Set([...text.matchAll(/^(parley_[a-z0-9_]+)(?:\{| )/gm)].map((m) => m[1]!));
    for (const name of used) assert.ok(exported.has(name), `${name} is exported`);
  });

  test('a real Prometheus scraping a running node: every rule expression (its comparison left out) returns data', async () => {
    // Some traffic, so the signaling families have moved once, and a call-quality report.
    const client = await TestClient.joined(server, 'prometheus-room', 'alice');
    const report = { intervalMs: 10_000, rttMs: 40, send: { lossRatio: 0, bitrateKbps: 900, limitation: 'none' }, receive: { lossRatio: 0.01, bitrateKbps: 900, jitterMs: 8, framesDecoded: 300, framesDropped: 0, freezes: 0, frozenMs: 0 } };
    assert.equal((await client.request({ type: 'qualityReport', report })).type, 'ack');
    const prometheus = await startPrometheus(dir, server.url);
    try {
      const expressions = alertExpressions();
      assert.equal(expressions.length, 12, `every rule read: ${JSON.stringify(expressions)}`);
      // rate() and increase() need two scrapes in their window: wait for them, 30 s at most.
      const missing = await pending(expressions, async (expr) => (await prometheus.query(expr)).result.length > 0, 30_000);
      assert.deepEqual(missing, [], 'expressions without data');
    } finally {
      client.close();
      await prometheus.stop();
    }
  });
});
