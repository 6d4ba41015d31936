/**
 * deploy/haproxy: the file as shipped (its values from the environment) is valid for
 * `haproxy -c`, and a real HAProxy running it in front of two Parley nodes sharing a real Redis
 * terminates TLS, carries WebSockets to both nodes (participants spread over them are in one
 * room), keeps /metrics private, and, when the room's node shuts down, sends everyone to the
 * other node, where they are in the room again.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { RunningServer } from '../../src/index.ts';
import { startTestServer, TestClient, token } from '../helpers.ts';
import { sample, scrape } from '../metrics-text.ts';
import { TestRedis } from '../cluster/redis-harness.ts';
import { haproxyEnvironment, HAPROXY_CONFIG, httpsStatus, startHaproxy, type RunningHaproxy } from '../haproxy-harness.ts';
import WebSocket from 'ws';

type Upgrade = { ws: WebSocket } | { status: number; body: string };

/** A signaling WebSocket through the proxy from `localAddress` (any 127/8 address is this host): the socket, or the refusal's status and body. */
function upgrade(wsUrl: string, localAddress: string): Promise<Upgrade> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl, { rejectUnauthorized: false, localAddress });
    ws.once('open', () => resolve({ ws }));
    ws.once('unexpected-response', (_request, response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    ws.once('error', reject);
  });
}

async function admitted(wsUrl: string, localAddress: string): Promise<WebSocket> {
  const result = await upgrade(wsUrl, localAddress);
  if ('ws' in result) return result.ws;
  throw new Error(`refused from ${localAddress}: ${result.status} ${result.body}`);
}

async function refused(wsUrl: string, localAddress: string): Promise<{ status: number; body: string }> {
  const result = await upgrade(wsUrl, localAddress);
  if ('ws' in result) {
    result.ws.terminate();
    throw new Error(`admitted from ${localAddress}`);
  }
  return result;
}

function closeAndWait(ws: WebSocket): Promise<void> {
  return new Promise((resolve) => {
    ws.once('close', () => resolve());
    ws.close();
  });
}

describe('deploy/haproxy in front of two nodes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-haproxy-'));
  let redis: TestRedis;
  const nodes: RunningServer[] = [];
  let proxy: RunningHaproxy | undefined;

  before(async () => {
    redis = await TestRedis.start();
    const cluster = { redisUrl: redis.url, heartbeatMs: 100, nodeTtlMs: 1000, keyPrefix: 'lb:' };
    for (const nodeId of ['node-1', 'node-2']) nodes.push(await startTestServer({ nodeId, behindTlsProxy: true, reconnectGraceSeconds: 5, cluster }));
  });
  after(async () => {
    await proxy?.stop();
    for (const node of nodes) await node.close();
    await redis?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  test('haproxy -c accepts the file as shipped', async () => {
    const { env } = await haproxyEnvironment(dir, [`127.0.0.1:${nodes[0]!.port}`, `127.0.0.1:${nodes[1]!.port}`]);
    const check = spawnSync('haproxy', ['-c', '-f', HAPROXY_CONFIG], { env, encoding: 'utf8' });
    assert.equal(check.error, undefined, `haproxy runs (scripts/system-packages.sh installs it): ${check.error?.message}`);
    assert.equal(check.status, 0, `${check.stdout}${check.stderr}`);
  });

  test('per-IP limits hold across the cluster: the proxy counts one address\'s WebSockets on both nodes together, and refuses the one over the limit with 429', async (t) => {
    const limits = { PARLEY_LB_MAX_WS_PER_IP: '3', PARLEY_LB_WS_PER_IP_PER_MINUTE: '6' };
    const limited = await startHaproxy(dir, [`127.0.0.1:${nodes[0]!.port}`, `127.0.0.1:${nodes[1]!.port}`], limits);
    const open: WebSocket[] = [];
    try {
      const wsUrl = limited.wsUrl;
      // Concurrency: three open from one address (leastconn spreads them over both nodes, each far
      // below its own limit of 64); the fourth is refused by the proxy. A node refuses after the
      // upgrade, over the socket: a 429 before it is the proxy's.
      for (let i = 0; i < 3; i++) open.push(await admitted(wsUrl, '127.0.0.1'));
      const over = await refused(wsUrl, '127.0.0.1');
      assert.equal(over.status, 429);
      assert.equal(over.body, 'too many open connections from your address');
      // Another address is counted apart.
      await closeAndWait(await admitted(wsUrl, '127.0.0.2'));
      // Closing one frees its place.
      await closeAndWait(open.shift()!);
      open.push(await admitted(wsUrl, '127.0.0.1'));

      // Rate: a third address opens and closes one at a time (never more than one open): 6 in the
      // window are let through, then refused with "retry later".
      let through = 0;
      for (;;) {
        const result = await upgrade(wsUrl, '127.0.0.3');
        if (!('ws' in result)) {
          assert.equal(result.status, 429);
          assert.equal(result.body, 'too many connections from your address: retry later');
          break;
        }
        through += 1;
        await closeAndWait(result.ws);
        assert.ok(through <= 6, 'no more than 6 per minute from one address');
      }
      assert.equal(through, 6, 'six in the window before the refusal');
      t.diagnostic(`one address: 3 open, the 4th refused with 429; another address admitted; a freed place taken again; ${through} in the window, then refused as rate`);
    } finally {
      for (const ws of open) ws.terminate();
      await limited.stop();
    }
  });

  test('TLS at the proxy, WebSockets to both nodes in one room, /metrics not public, and a node shutting down: everyone back in the room on the other', async (t) => {
    proxy = await startHaproxy(dir, [`127.0.0.1:${nodes[0]!.port}`, `127.0.0.1:${nodes[1]!.port}`]);
    const lb = proxy;
    assert.equal(await httpsStatus(`${lb.url}/metrics`), 404, 'the nodes’ metrics are not served through the proxy');

    const names = ['ann', 'ben', 'cat', 'dan'];
    const clients = await Promise.all(names.map(async (name) => {
      const client = await TestClient.open(lb);
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
        const client = await TestClient.open(lb).catch(() => undefined);
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

describe('deploy/haproxy in front of a node that drains', () => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-haproxy-drain-'));
  let redis: TestRedis;
  const nodes: RunningServer[] = [];
  let proxy: RunningHaproxy | undefined;

  before(async () => {
    redis = await TestRedis.start();
    const cluster = { redisUrl: redis.url, heartbeatMs: 100, nodeTtlMs: 1000, keyPrefix: 'drain:' };
    for (const nodeId of ['node-1', 'node-2']) nodes.push(await startTestServer({ nodeId, behindTlsProxy: true, reconnectGraceSeconds: 5, cluster }));
    proxy = await startHaproxy(dir, [`127.0.0.1:${nodes[0]!.port}`, `127.0.0.1:${nodes[1]!.port}`]);
  });
  after(async () => {
    await proxy?.stop();
    for (const node of nodes) await node.close();
    await redis?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  test('connections made while a node drains, before the health check takes it out, all land on the other node (the 503 is retried there), none refused', async (t) => {
    const lb = proxy!;
    const joinsAt = async (node: RunningServer) => sample((await scrape(node.url)).text, 'parley_signaling_messages_total{type="join"}') ?? 0;
    const before = await Promise.all(['ann', 'ben', 'cat', 'dan'].map((name) => TestClient.joined(lb, 'drain-room', name)));
    const [draining, staying] = nodes as [RunningServer, RunningServer];
    const joinsBefore = await joinsAt(draining);
    const drainStarted = performance.now();
    const drained = draining.drain(10_000);
    // Reconnects come once the node has shed its connections (leastconn spread the four over both
    // nodes, so some were on it): by then it is recorded as draining (no new rooms) and refuses new upgrades, but
    // HAProxy checks every second and needs two failures, so for ~1-2 s it still sends connections
    // there, and leastconn prefers it now that it holds none.
    await Promise.race(before.map((client) => client.closed));
    const during = await Promise.all(['eve', 'fay', 'gus', 'hal', 'ivy', 'jon'].map((name) => TestClient.joined(lb, 'drain-room-2', name)));
    const joinedMs = Math.round(performance.now() - drainStarted);
    assert.equal(await joinsAt(draining), joinsBefore, 'no join reached the draining node');
    assert.equal(staying.rooms.get('drain-room-2')?.size, 6, 'all six in the room on the other node');
    assert.equal(await drained, true, 'the draining node emptied');
    await Promise.all(before.map((client) => client.closed));
    t.diagnostic(`six connections made as the drain began: all joined through the other node within ${joinedMs} ms; the drain emptied the node`);
    for (const client of during) client.close();
  });
});
