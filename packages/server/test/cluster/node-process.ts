/**
 * A Parley node as its own process (`parley start --config`), for tests that kill it with SIGKILL:
 * packages/server/test/cluster/cluster-failover.test.ts and e2e/cluster.test.ts.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../bin/parley.js', import.meta.url));

export interface NodeProcess {
  id: string;
  port: number;
  /** http://127.0.0.1:<port> */
  url: string;
  child: ChildProcess;
  /** SIGKILL, resolved once the process is gone. */
  kill(): Promise<void>;
  /** Resolves when the process has exited (by itself, after a SIGTERM's drain, or killed). */
  exited: Promise<void>;
}

export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/**
 * Writes `config` (plus host and port) to `dir` and starts the node; resolves once /healthz
 * answers. `port`: a restarted node comes back where its load balancer expects it.
 */
export async function startNodeProcess(dir: string, id: string, config: Record<string, unknown>, port?: number): Promise<NodeProcess> {
  port ??= await freePort();
  const file = join(dir, `${id}.json`);
  // PARLEY_TEST_NODE_LOG=info shows what the nodes did (on the test's stderr) when a run needs explaining.
  writeFileSync(file, JSON.stringify({ host: '127.0.0.1', port, nodeId: id, logLevel: process.env.PARLEY_TEST_NODE_LOG ?? 'warn', ...config }));
  // Its own process group: kill() takes the node and its SFU workers down together, as a machine
  // dying would, and nothing outlives the test holding the runner's stderr open.
  const child = spawn(process.execPath, [CLI, 'start', '--config', file], { stdio: ['ignore', 'ignore', 'inherit'], detached: true });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    const ok = await fetch(`${url}/healthz`).then((response) => response.ok, () => false);
    if (ok) break;
    assert.ok(child.exitCode === null, `node ${id} exited while starting (${child.exitCode})`);
    if (Date.now() >= deadline) {
      // Not left behind: its stderr, inherited, would keep the test process from ever exiting.
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
      assert.fail(`node ${id} answers /healthz within 20 s`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    id,
    port,
    url,
    child,
    exited,
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
      await exited;
    },
  };
}
