/**
 * deploy/prometheus: the scrape config and alert rules are valid for Prometheus' own checker,
 * the rules' unit tests pass (`promtool test rules`), every Parley metric a rule uses is one a
 * running node really exports, and a real Prometheus (Debian's) scraping a running node gets
 * data for every rule's expression.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { RunningServer } from '../src/index.ts';
import { startTestServer, TestClient } from './helpers.ts';
import { scrape } from './metrics-text.ts';

const deploy = fileURLToPath(new URL('../../../deploy/prometheus/', import.meta.url));

function promtool(args: string[], cwd = deploy): { ok: boolean; output: string } {
  const run = spawnSync('promtool', args, { cwd, encoding: 'utf8', timeout: 30_000 });
  assert.equal(run.error, undefined, `promtool runs (scripts/system-packages.sh installs prometheus): ${run.error?.message}`);
  return { ok: run.status === 0, output: `${run.stdout}${run.stderr}` };
}

describe('deploy/prometheus', () => {
  let server: RunningServer;
  const dir = mkdtempSync(join(tmpdir(), 'parley-prometheus-'));
  before(async () => {
    server = await startTestServer();
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
    // Some traffic, so the signaling families have moved once.
    const client = await TestClient.joined(server, 'prometheus-room', 'alice');
    const port = await freePort();
    const data = join(dir, 'data');
    const { hostname, port: parleyPort } = new URL(server.url);
    writeFileSync(
      join(dir, 'scrape.yml'),
      [
        'global: { scrape_interval: 1s, evaluation_interval: 1s }',
        'scrape_configs:',
        '  - job_name: parley',
        `    static_configs: [{ targets: ['${hostname}:${parleyPort}'] }]`,
        '',
      ].join('\n'),
    );
    const prometheus: ChildProcess = spawn('prometheus', [`--config.file=${join(dir, 'scrape.yml')}`, `--storage.tsdb.path=${data}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' });
    try {
      const query = async (expr: string): Promise<unknown[]> => {
        const response = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(expr)}`).catch(() => undefined);
        if (!response?.ok) return [];
        const body = (await response.json()) as { data?: { result?: unknown[] } };
        return body.data?.result ?? [];
      };
      const expressions = [...readFileSync(join(deploy, 'alerts.yml'), 'utf8').matchAll(/expr: (?:\|\n)?([\s\S]*?)\n\s+(?:for|labels):/g)].map((m) =>
        m[1]!.replace(/\s+/g, ' ').trim().replace(/ (==|>|<|>=|<=) [0-9.]+$/, ''),
      );
      assert.equal(expressions.length, 7, `every rule read: ${JSON.stringify(expressions)}`);
      // rate() and increase() need two scrapes in their window: wait for them, 30 s at most.
      const missing = new Set(expressions);
      for (const deadline = Date.now() + 30_000; missing.size > 0 && Date.now() < deadline; ) {
        for (const expr of [...missing]) if ((await query(expr)).length > 0) missing.delete(expr);
        if (missing.size > 0) await new Promise((resolve) => setTimeout(resolve, 500));
      }
      assert.deepEqual([...missing], [], 'expressions without data');
    } finally {
      client.close();
      prometheus.kill('SIGKILL');
      await new Promise((resolve) => (prometheus.exitCode !== null ? resolve(undefined) : prometheus.once('exit', resolve)));
    }
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}
