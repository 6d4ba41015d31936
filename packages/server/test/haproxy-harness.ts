/**
 * deploy/haproxy/haproxy.cfg as shipped, run by a real HAProxy (Debian's) with a fresh
 * self-signed certificate, in front of the given node addresses: for deploy/haproxy.test.ts and
 * e2e/cluster.test.ts. Only the environment values the file reads are set.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './cluster/node-process.ts';

export const HAPROXY_CONFIG = fileURLToPath(new URL('../../../deploy/haproxy/haproxy.cfg', import.meta.url));

export interface RunningHaproxy {
  /** https://127.0.0.1:<port> */
  url: string;
  /** wss://127.0.0.1:<port>/ws */
  wsUrl: string;
  /** The environment the file was run with (for `haproxy -c`). */
  env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

/** The environment for the shipped file: a fresh certificate in `dir`, a free port, the two nodes. */
export async function haproxyEnvironment(dir: string, nodes: readonly [string, string], extra: Record<string, string> = {}): Promise<{ env: NodeJS.ProcessEnv; port: number }> {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' });
  writeFileSync(join(dir, 'parley.pem'), readFileSync(join(dir, 'cert.pem'), 'utf8') + readFileSync(join(dir, 'key.pem'), 'utf8'));
  const port = await freePort();
  return { port, env: { ...process.env, PARLEY_LB_BIND: `127.0.0.1:${port}`, PARLEY_LB_CERT: join(dir, 'parley.pem'), PARLEY_NODE_1: nodes[0], PARLEY_NODE_2: nodes[1], ...extra } };
}

/** Starts HAProxy and resolves once it answers /healthz (a node behind it is up). `extra`: more of the file's values, e.g. `PARLEY_LB_MAX_WS_PER_IP`. */
export async function startHaproxy(dir: string, nodes: readonly [string, string], extra: Record<string, string> = {}): Promise<RunningHaproxy> {
  const { env, port } = await haproxyEnvironment(dir, nodes, extra);
  const child: ChildProcess = spawn('haproxy', ['-db', '-f', HAPROXY_CONFIG], { env, stdio: 'ignore' });
  const url = `https://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  while ((await httpsStatus(`${url}/healthz`)) !== 200) {
    assert.ok(child.exitCode === null, `haproxy exited (${child.exitCode})`);
    assert.ok(Date.now() < deadline, 'haproxy answers /healthz within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    wsUrl: `wss://127.0.0.1:${port}/ws`,
    env,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** GET over HTTPS, the self-signed certificate accepted: the status, or 0 when nothing answered. */
export function httpsStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { rejectUnauthorized: false }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.end();
  });
}
