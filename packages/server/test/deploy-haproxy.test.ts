/**
 * deploy/haproxy: the file as shipped (its values from the environment) is valid for
 * `haproxy -c`, and a real HAProxy running it in front of two Parley nodes sharing a real Redis
 * terminates TLS, carries WebSockets to both nodes (participants spread over them are in one
 * room), keeps /metrics private, and, when the room's node shuts down, sends everyone to the
 * other node, where they are in the room again.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import type { RunningServer } from '../src/index.ts';
import { startTestServer, TestClient, token } from './helpers.ts';
import { sample, scrape } from './metrics-text.ts';
import { TestRedis } from './cluster/redis-harness.ts';

const CONFIG = fileURLToPath(new URL('../../../deploy/haproxy/haproxy.cfg', import.meta.url));

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** GET over HTTPS to the proxy (its certificate is self-signed here). */
function get(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { rejectUnauthorized: false }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.end();
  });
}

describe('deploy/haproxy in front of two nodes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-haproxy-'));
  let redis: TestRedis;
  const nodes: RunningServer[] = [];
  let proxy: ChildProcess | undefined;
  let env: NodeJS.ProcessEnv;
  let lb: { url: string; wsUrl: string };

  before(async () => {
    redis = await TestRedis.start();
    const cluster = { redisUrl: redis.url, heartbeatMs: 100, nodeTtlMs: 1000, keyPrefix: 'lb:' };
    for (const nodeId of ['node-1', 'node-2']) nodes.push(await startTestServer({ nodeId, behindTlsProxy: true, reconnectGraceSeconds: 5, cluster }));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' });
    writeFileSync(join(dir, 'parley.pem'), readFileSync(join(dir, 'cert.pem'), 'utf8') + readFileSync(join(dir, 'key.pem'), 'utf8'));
    const port = await freePort();
    env = { ...process.env, PARLEY_LB_BIND: `127.0.0.1:${port}`, PARLEY_LB_CERT: join(dir, 'parley.pem'), PARLEY_NODE_1: `127.0.0.1:${nodes[0]!.port}`, PARLEY_NODE_2: `127.0.0.1:${nodes[1]!.port}` };
    lb = { url: `https://127.0.0.1:${port}`, wsUrl: `wss://127.0.0.1:${port}/ws` };
  });
  after(async () => {
    if (proxy?.exitCode === null) proxy.kill('SIGKILL');
    for (const node of nodes) await node.close();
    await redis?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  test('haproxy -c accepts the file as shipped', () => {
    const check = spawnSync('haproxy', ['-c', '-f', CONFIG], { env, encoding: 'utf8' });
    assert.equal(check.error, undefined, `haproxy runs (scripts/system-packages.sh installs it): ${check.error?.message}`);
    assert.equal(check.status, 0, `${check.stdout}${check.stderr}`);
  });

  test('TLS at the proxy, WebSockets to both nodes in one room, /metrics not public, and a node shutting down: everyone back in the room on the other', async (t) => {
    proxy = spawn('haproxy', ['-db', '-f', CONFIG], { env, stdio: 'ignore' });
    const deadline = Date.now() + 10_000;
    while ((await get(`${lb.url}/healthz`)) !== 200) {
      assert.ok(Date.now() < deadline, 'the proxy answers /healthz within 10 s');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(await get(`${lb.url}/metrics`), 404, 'the nodes’ metrics are not served through the proxy');

    const names = ['ann', 'ben', 'cat', 'dan'];
    const clients = await Promise.all(names.map(async (name) => {
      const client = await TestClient.open(lb as RunningServer);
      const reply = await client.request({ type: 'join', token: await token('balanced', name) });
      assert.equal(reply.type, 'joined', JSON.stringify(reply));
      return client;
    }));
    for (const [i, client] of clients.entries()) {
      await client.waitFor(() => names.filter((n) => n !== names[i]).every((other) => client.received.some((m) => (m.type === 'joined' && m.participants.some((p) => p.identity === other)) || (m.type === 'participantJoined' && m.participant.identity === other))), `${names[i]} sees the three others`);
    }
    const joinsAt = async (node: RunningServer) => sample((await scrape(node.url)).text, 'parley_signaling_messages_total{type="join"}') ?? 0;
    const spread = [await joinsAt(nodes[0]!), await joinsAt(nodes[1]!)];
    assert.ok(spread[0]! > 0 && spread[1]! > 0, `the proxy spread the connections over both nodes (joins taken: ${spread.join(', ')})`);

    const host = nodes.find((node) => node.rooms.get('balanced'))!;
    const survivor = nodes.find((node) => node !== host)!;
    const closedAt = performance.now();
    await host.close();
    nodes.splice(nodes.indexOf(host), 1);
    await Promise.all(clients.map((client) => client.closed));
    // Every client rejoins through the proxy, as the SDK does after SERVER_SHUTDOWN or a lost connection.
    const back = await Promise.all(names.map(async (name) => {
      for (;;) {
        const client = await TestClient.open(lb as RunningServer).catch(() => undefined);
        const reply = client && (await client.request({ type: 'join', token: await token('balanced', name) }).catch(() => undefined));
        if (reply?.type === 'joined') return client!;
        client?.close();
        assert.ok(performance.now() - closedAt < 10_000, `${name} back within 10 s (${JSON.stringify(reply)})`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }));
    const backMs = Math.round(performance.now() - closedAt);
    assert.equal(survivor.rooms.get('balanced')?.size, 4, 'all four in the room on the surviving node');
    t.diagnostic(`the room's node shut down: all four back in the room on the other node, through the proxy, ${backMs} ms later (joins first spread ${spread.join('/')})`);
    for (const client of back) client.close();
  });
});
