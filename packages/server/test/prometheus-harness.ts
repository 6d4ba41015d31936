/**
 * A real Prometheus (Debian's `prometheus`, installed by scripts/system-packages.sh) scraping a
 * running Parley node every second, for the deploy/ tests: deploy/prometheus.test.ts (the alert
 * rules' expressions) and deploy/grafana.test.ts (the dashboard's queries).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

/** What `/api/v1/query` answered: its status ("success", "error"), error text and result vector. */
export interface QueryAnswer {
  status: string;
  error?: string;
  result: Array<{ metric: Record<string, string>; value: [number, string] }>;
}

export interface RunningPrometheus {
  port: number;
  /** An instant query; a failed request or an unanswered port is status "unreachable", no result. */
  query(expr: string): Promise<QueryAnswer>;
  /** GET of any other API path (e.g. `/api/v1/label/instance/values`), its JSON body, or undefined. */
  get(path: string): Promise<unknown>;
  stop(): Promise<void>;
}

/**
 * Starts Prometheus with its data in `dir`, scraping `parleyUrl`'s /metrics (job "parley", as
 * deploy/prometheus/prometheus.yml names it) every second. Resolves once it listens, not once
 * it has scraped: wait for data with `until`.
 */
export async function startPrometheus(dir: string, parleyUrl: string): Promise<RunningPrometheus> {
  const port = await freePort();
  const { hostname, port: parleyPort } = new URL(parleyUrl);
  const config = join(dir, 'scrape.yml');
  writeFileSync(
    config,
    [
      'global: { scrape_interval: 1s, evaluation_interval: 1s }',
      'scrape_configs:',
      '  - job_name: parley',
      `    static_configs: [{ targets: ['${hostname}:${parleyPort}'] }]`,
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn('prometheus', [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' });
  const spawned = await new Promise<Error | undefined>((resolve) => {
    child.once('spawn', () => resolve(undefined));
    child.once('error', resolve);
  });
  assert.equal(spawned, undefined, `prometheus runs (scripts/system-packages.sh installs it): ${spawned?.message}`);
  const get = async (path: string): Promise<unknown> => {
    const response = await fetch(`http://127.0.0.1:${port}${path}`).catch(() => undefined);
    return response ? response.json().catch(() => undefined) : undefined;
  };
  const running: RunningPrometheus = {
    port,
    get,
    async query(expr) {
      const body = (await get(`/api/v1/query?query=${encodeURIComponent(expr)}`)) as { status?: string; error?: string; data?: { result?: QueryAnswer['result'] } } | undefined;
      return { status: body?.status ?? 'unreachable', ...(body?.error ? { error: body.error } : {}), result: body?.data?.result ?? [] };
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    },
  };
  // Listening: the readiness endpoint answers (the first scrape follows within a second).
  await until(async () => (await fetch(`http://127.0.0.1:${port}/-/ready`).catch(() => undefined))?.ok === true, 'Prometheus ready', 15_000);
  return running;
}

/** Polls `check` every 250 ms until it holds; throws naming `what` after `timeoutMs`. */
export async function until(check: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; ; ) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/**
 * Checks every item until each has passed once (rate() and increase() need two scrapes in their
 * window), for `timeoutMs` at most; returns the items that never passed.
 */
export async function pending<T>(items: readonly T[], passes: (item: T) => Promise<boolean>, timeoutMs: number): Promise<T[]> {
  const left = new Set(items);
  for (const deadline = Date.now() + timeoutMs; left.size > 0 && Date.now() < deadline; ) {
    for (const item of [...left]) if (await passes(item)) left.delete(item);
    if (left.size > 0) await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return [...left];
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}
