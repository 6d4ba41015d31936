/**
 * Nodes in a cluster: two Parley servers sharing a real Redis see each other (`/healthz`,
 * `/metrics`), a clean shutdown leaves the registry at once, a Redis that cannot be reached fails
 * the start with the reason, and without Redis a server is a cluster of one.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { after, before, describe, test } from 'node:test';
import { ConfigError, configFromEnv, resolveConfig, type RunningServer } from '../../src/index.ts';
import { readFileSync } from 'node:fs';
import { WebSocket } from 'ws';
import { RELAY_HEADER, relayHeader, verifyRelayHeader } from '../../src/cluster/room-relay.ts';
import { freeUdpPort, startTestServer, TestClient, token } from '../helpers.ts';
import { RedisCluster } from '../../src/cluster/redis-cluster.ts';
import { sample, scrape } from '../metrics-text.ts';
import { TestRedis } from './redis-harness.ts';

async function health(server: RunningServer): Promise<{ cluster: { backend: string; healthy: boolean; nodes: number; state: string } }> {
  return (await fetch(`${server.url}/healthz`)).json() as Promise<{ cluster: { backend: string; healthy: boolean; nodes: number; state: string } }>;
}

/** Whether this process can bind `port` on every interface (UDP) at once: false while a worker holds it. */
async function udpPortFree(port: number): Promise<boolean> {
  const socket = createSocket('udp4');
  const bound = await new Promise<boolean>((resolve) => {
    socket.once('error', () => resolve(false));
    socket.bind(port, '0.0.0.0', () => resolve(true));
  });
  if (bound) await new Promise<void>((resolve) => socket.close(() => resolve()));
  return bound;
}

async function until(condition: () => Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('a cluster of two nodes over Redis', () => {
  let redis: TestRedis;
  const servers: RunningServer[] = [];
  before(async () => {
    redis = await TestRedis.start();
  });
  after(async () => {
    for (const server of servers) await server.close();
    await redis.kill();
  });

  test('each node sees the other; a node that shuts down leaves the registry at once', async () => {
    const cluster = { redisUrl: redis.url, heartbeatMs: 100, nodeTtlMs: 1000, keyPrefix: 'two:' };
    const a = await startTestServer({ nodeId: 'node-a', cluster });
    servers.push(a);
    const b = await startTestServer({ nodeId: 'node-b', cluster: { ...cluster, roles: ['signaling'] } });
    servers.push(b);
    await until(async () => (await health(a)).cluster.nodes === 2, 'node-a to see two nodes');
    assert.deepEqual((await health(b)).cluster, { backend: 'redis', healthy: true, nodes: 2, state: 'serving' });
    const metrics = (await scrape(a.url)).text;
    assert.equal(sample(metrics, 'parley_cluster_nodes'), 2);
    assert.equal(sample(metrics, 'parley_cluster_backend_up{backend="redis"}'), 1);
    await b.close();
    servers.pop();
    const closedAt = Date.now();
    await until(async () => (await health(a)).cluster.nodes === 1, 'node-a to see one node');
    assert.ok(Date.now() - closedAt < 1000, 'sooner than the TTL: the record was removed, not left to expire');
  });

  test('participants connected to different nodes are in one room on the room’s node: presence, data, leave, resume through the other node, SFU publishing', async (t) => {
    const cluster = { redisUrl: redis.url, heartbeatMs: 100, nodeTtlMs: 1000, keyPrefix: 'routing:' };
    const media = await startTestServer({ nodeId: 'media-node', reconnectGraceSeconds: 5, rooms: { topology: 'sfu' }, sfu: { workers: 1 }, cluster });
    servers.push(media);
    const edge = await startTestServer({ nodeId: 'edge-node', reconnectGraceSeconds: 5, rooms: { topology: 'sfu' }, cluster: { ...cluster, roles: ['signaling'] } });
    servers.push(edge);
    await until(async () => (await health(edge)).cluster.nodes === 2, 'both nodes registered');

    const startedAt = performance.now();
    const alice = await TestClient.open(edge);
    const joined = await alice.request({ type: 'join', token: await token('spread', 'alice') });
    const joinMs = Math.round(performance.now() - startedAt);
    assert.equal(joined.type, 'joined', JSON.stringify(joined));
    const bob = await TestClient.joined(media, 'spread', 'bob');
    await alice.waitFor((m) => m.type === 'participantJoined' && m.participant.identity === 'bob', 'alice (on the edge node) sees bob join');
    assert.equal(media.rooms.get('spread')?.size, 2, 'the room lives on the media node');
    assert.equal(edge.rooms.get('spread'), undefined, 'and not on the edge node');

    assert.equal((await alice.request({ type: 'sendData', payload: 'from the edge' })).type, 'ack');
    await bob.waitFor((m) => m.type === 'data' && m.payload === 'from the edge', 'bob receives alice’s data');
    assert.equal((await bob.request({ type: 'sendData', payload: 'from the media node' })).type, 'ack');
    await alice.waitFor((m) => m.type === 'data' && m.payload === 'from the media node', 'alice receives bob’s data');

    const sdp = readFileSync(new URL('../fixtures/chromium-audio-offer.sdp', import.meta.url), 'utf8');
    const published = await alice.request({ type: 'publishTrack', source: 'microphone', sdp });
    assert.equal(published.type, 'trackPublished', JSON.stringify(published));
    assert.equal((await media.media.sfuStats('spread')).publishedTracks, 1, 'published on the room node’s SFU');

    // Alice's connection drops; she resumes through the media node directly, keeping her membership.
    const sessionId = (joined as { sessionId: string }).sessionId;
    alice.ws.terminate();
    const again = await TestClient.open(media);
    const resumed = await again.request({ type: 'join', token: await token('spread', 'alice'), resume: sessionId });
    assert.ok(resumed.type === 'joined' && resumed.resumed, `resumed on another node: ${JSON.stringify(resumed).slice(0, 200)}`);
    assert.equal(bob.of('participantLeft').length, 0, 'bob never saw alice leave');

    assert.equal((await bob.request({ type: 'leave' })).type, 'ack');
    await again.waitFor((m) => m.type === 'participantLeft' && m.identity === 'bob', 'alice sees bob leave');
    again.close();
    t.diagnostic(`a join through the edge node, carried to the room's node: ${joinMs} ms`);
  });

  test('SIGTERM drain: the node says so to the load balancer, moves its room to the other node and its participants with it, then has no connection left', async (t) => {
    const cluster = { redisUrl: redis.url, heartbeatMs: 100, nodeTtlMs: 1000, keyPrefix: 'drain:' };
    const leaving = await startTestServer({ nodeId: 'a-leaving', cluster });
    servers.push(leaving);
    const staying = await startTestServer({ nodeId: 'b-staying', cluster });
    servers.push(staying);
    await until(async () => (await health(leaving)).cluster.nodes === 2, 'both nodes registered');
    // The room lives on a-leaving (ties go to the smaller id); carol reaches it through b-staying.
    const alice = await TestClient.joined(leaving, 'moving-room', 'alice');
    const carol = await TestClient.joined(staying, 'moving-room', 'carol');
    assert.ok(leaving.rooms.get('moving-room') && !staying.rooms.get('moving-room'), 'the room lives on a-leaving');

    const startedAt = performance.now();
    const drained = leaving.drain(5000);
    // Both are asked to reconnect; each does it at once through the other node, as the SDK does
    // after SERVER_SHUTDOWN through a load balancer that has taken the node out.
    const gaps = await Promise.all([alice, carol].map(async (client, i) => {
      const closed = await client.closed;
      const closedAt = performance.now();
      assert.equal(closed.code, 1001, `asked to reconnect (${closed.reason})`);
      const back = await TestClient.joined(staying, 'moving-room', i === 0 ? 'alice' : 'carol');
      return { back, gapMs: Math.round(performance.now() - closedAt) };
    }));
    assert.equal(await drained, true, 'no connection left on the draining node');
    const drainMs = Math.round(performance.now() - startedAt);
    const status = await fetch(`${leaving.url}/healthz`);
    assert.equal(status.status, 503, 'the load balancer sees it going');
    assert.equal(((await status.json()) as { status: string }).status, 'draining');
    assert.equal(staying.rooms.get('moving-room')?.size, 2, 'the room and both participants are on b-staying now');
    // Make before break: their old memberships (with any SFU media they have there) stay on the
    // draining node until its time is up, even with no reconnect grace, and nobody there is told of a leave.
    assert.equal(leaving.rooms.get('moving-room')?.size, 2, 'the old memberships stay on the draining node');
    await gaps[0]!.back.waitFor((m) => (m.type === 'joined' && m.participants.some((p) => p.identity === 'carol')) || (m.type === 'participantJoined' && m.participant.identity === 'carol'), 'alice sees carol');
    t.diagnostic(`drain: connections gone ${drainMs} ms after it began; each participant's gap from the request to reconnect to joined again: ${gaps.map((g) => `${g.gapMs} ms`).join(', ')}`);
    for (const { back } of gaps) back.close();
  });

  test('Redis restarted mid-call: the call goes on, joins get ROOM_UNAVAILABLE meanwhile, and after it the room is found where it lives (no second copy)', async (t) => {
    const cluster = { redisUrl: redis.url, heartbeatMs: 100, nodeTtlMs: 1000, keyPrefix: 'restart:' };
    const host = await startTestServer({ nodeId: 'a-host', cluster });
    servers.push(host);
    const edge = await startTestServer({ nodeId: 'b-edge', cluster });
    servers.push(edge);
    await until(async () => (await health(edge)).cluster.nodes === 2, 'both nodes registered');
    const alice = await TestClient.joined(edge, 'steady', 'alice');
    const bob = await TestClient.joined(host, 'steady', 'bob');
    assert.ok(host.rooms.get('steady') && !edge.rooms.get('steady'), 'the room lives on a-host');

    await redis.kill();
    const killedAt = performance.now();
    assert.equal((await alice.request({ type: 'sendData', payload: 'during the outage' })).type, 'ack', 'a carried connection does not need Redis');
    await bob.waitFor((m) => m.type === 'data' && m.payload === 'during the outage', 'bob receives it');
    const refused = await (await TestClient.open(edge)).request({ type: 'join', token: await token('steady', 'carol') });
    assert.ok(refused.type === 'error' && refused.code === 'ROOM_UNAVAILABLE', `a join that needs Redis is refused clearly: ${JSON.stringify(refused)}`);
    await until(async () => !(await health(edge)).cluster.healthy, '/healthz to show the backend down');

    await redis.restart();
    const restartedAt = performance.now();
    // Redis is empty: the room's placement is gone until a-host claims it again at its next heartbeat.
    let carol: TestClient | undefined;
    while (!carol) {
      const client = await TestClient.open(edge);
      const reply = await client.request({ type: 'join', token: await token('steady', 'carol') });
      if (reply.type === 'joined') carol = client;
      else {
        client.close();
        assert.ok(performance.now() - restartedAt < 5000, `carol joins within 5 s of Redis coming back (${JSON.stringify(reply)})`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    const joinedMs = Math.round(performance.now() - restartedAt);
    await bob.waitFor((m) => m.type === 'participantJoined' && m.participant.identity === 'carol', 'carol joins the room where it lives');
    assert.equal(edge.rooms.get('steady'), undefined, 'no second copy of the room on b-edge');
    assert.equal(host.rooms.get('steady')?.size, 3);
    t.diagnostic(`Redis down ${Math.round(restartedAt - killedAt)} ms: the call went on; a new participant joined the right room ${joinedMs} ms after Redis came back empty`);
    for (const client of [alice, bob, carol]) client.close();
  });

  test('ten rooms joined through one signaling node spread over two media nodes', async () => {
    const cluster = { redisUrl: redis.url, heartbeatMs: 100, nodeTtlMs: 1000, keyPrefix: 'spread:' };
    const mediaA = await startTestServer({ nodeId: 'media-a', cluster: { ...cluster, roles: ['media'] } });
    servers.push(mediaA);
    const mediaB = await startTestServer({ nodeId: 'media-b', cluster: { ...cluster, roles: ['media'] } });
    servers.push(mediaB);
    const front = await startTestServer({ nodeId: 'front', cluster: { ...cluster, roles: ['signaling'] } });
    servers.push(front);
    await until(async () => (await health(front)).cluster.nodes === 3, 'three nodes registered');
    const clients = await Promise.all(Array.from({ length: 10 }, (_, i) => TestClient.joined(front, `spread-${i}`, `p${i}`)));
    const [a, b] = [mediaA.rooms.stats().rooms, mediaB.rooms.stats().rooms];
    assert.equal(a + b, 10, 'every room lives on a media node');
    assert.ok(a >= 3 && b >= 3, `neither holds all: ${a} and ${b}`);
    for (const client of clients) client.close();
  });

  test('a media-only node takes clients only through a signaling node', async () => {
    const cluster = { redisUrl: redis.url, heartbeatMs: 100, nodeTtlMs: 1000, keyPrefix: 'roles:' };
    const mediaOnly = await startTestServer({ nodeId: 'a-media', cluster: { ...cluster, roles: ['media'] } });
    servers.push(mediaOnly);
    const signalingOnly = await startTestServer({ nodeId: 'b-signaling', cluster: { ...cluster, roles: ['signaling'] } });
    servers.push(signalingOnly);
    await until(async () => (await health(signalingOnly)).cluster.nodes === 2, 'both nodes registered');
    const direct = await TestClient.open(mediaOnly);
    const refusal = await direct.waitFor((m) => m.type === 'error', 'the refusal');
    assert.ok(refusal.type === 'error' && refusal.code === 'PERMISSION_DENIED' && /only runs media/.test(refusal.message), JSON.stringify(refusal));
    const viaSignaling = await TestClient.joined(signalingOnly, 'roles-room', 'dora');
    assert.equal(mediaOnly.rooms.get('roles-room')?.size, 1, 'the room lives on the media node, reached through the signaling node');
    viaSignaling.close();
  });

  test('a media node is registered only once its SFU workers run; a signaling-only node starts none, even asked to at boot (as `parley start` asks)', async (t) => {
    const cluster = { redisUrl: redis.url, heartbeatMs: 100, nodeTtlMs: 1000, keyPrefix: 'boot:' };
    const [mediaPort, signalingPort] = [await freeUdpPort(), await freeUdpPort()];
    const observer = new RedisCluster({ url: redis.url, nodeTtlMs: 1000, prefix: 'boot:', settleMs: 0 });
    await observer.connect();
    try {
      const startedAt = performance.now();
      const media = startTestServer({ nodeId: 'boot-media', cluster: { ...cluster, roles: ['media'] }, sfu: { startAtBoot: true, udpPort: mediaPort, workers: 1 } });
      const signaling = startTestServer({ nodeId: 'boot-signaling', cluster: { ...cluster, roles: ['signaling'] }, sfu: { startAtBoot: true, udpPort: signalingPort, workers: 1 } });
      // The SFU worker holds its UDP port from its start: a node first seen in the registry with
      // that port still free would be given rooms whose joins wait for its workers.
      let seenMs: number | undefined;
      let portFreeWhenSeen: boolean | undefined;
      while (seenMs === undefined) {
        assert.ok(performance.now() - startedAt < 20_000, 'the media node registers within 20 s');
        if ((await observer.nodes()).some((node) => node.id === 'boot-media')) {
          seenMs = Math.round(performance.now() - startedAt);
          portFreeWhenSeen = await udpPortFree(mediaPort);
        } else await new Promise((resolve) => setTimeout(resolve, 5));
      }
      servers.push(await media, await signaling);
      assert.equal(portFreeWhenSeen, false, `the media node's SFU held its UDP port when the node was first seen in the registry (${seenMs} ms after the start)`);
      // Both nodes were asked at the same moment: the media node's workers have run for a while.
      assert.equal(await udpPortFree(signalingPort), true, 'the signaling-only node started no SFU worker (its UDP port is free)');
      t.diagnostic(`the media node was first seen in the registry ${seenMs} ms after both nodes were started, its SFU running`);
    } finally {
      await observer.close();
    }
  });

  test('a relay header a client makes up is not believed: limits stay on its own address', async () => {
    const cluster = { redisUrl: redis.url, heartbeatMs: 100, nodeTtlMs: 1000, keyPrefix: 'forged:' };
    const node = await startTestServer({ nodeId: 'lone', cluster, limits: { maxConnectionsPerIp: 1 } });
    servers.push(node);
    const first = await TestClient.open(node);
    // Were the header believed, this would be 203.0.113.9's first connection and be let in.
    const forged = new WebSocket(node.wsUrl, { headers: { [RELAY_HEADER]: relayHeader('not-the-cluster-secret', 'evil-node', '203.0.113.9') } });
    const refusal = await new Promise<{ code?: string }>((resolve, reject) => {
      forged.once('message', (data) => resolve(JSON.parse(String(data)) as { code?: string }));
      forged.once('error', reject);
    });
    assert.equal(refusal.code, 'RATE_LIMITED', 'counted as a second connection from 127.0.0.1');
    forged.close();
    first.close();
  });

  test('a Redis nobody listens on fails the start with the reason', async () => {
    await assert.rejects(startTestServer({ cluster: { redisUrl: 'redis://127.0.0.1:1' } }), /cluster backend: could not connect to Redis/);
  });
});

test('without Redis a node is a cluster of one, in memory', async () => {
  const server = await startTestServer();
  try {
    assert.deepEqual((await health(server)).cluster, { backend: 'memory', healthy: true, nodes: 1, state: 'serving' });
  } finally {
    await server.close();
  }
});

test('cluster settings from the environment, and their errors', () => {
  assert.deepEqual(configFromEnv({ PARLEY_REDIS_URL: 'redis://:pw@redis:6379/0', PARLEY_NODE_ROLES: 'media', PARLEY_ADVERTISE_URL: 'https://node-1.example.com' }), {
    cluster: { redisUrl: 'redis://:pw@redis:6379/0', roles: ['media'], advertiseUrl: 'https://node-1.example.com' },
  });
  for (const [cluster, reason] of [
    [{ redisUrl: 'http://redis:6379' }, /redis:\/\/ or rediss:\/\//],
    [{ roles: ['sfu'] }, /roles/],
    [{ roles: [] }, /roles/],
    [{ heartbeatMs: 1000, nodeTtlMs: 1500 }, /at least twice/],
  ] as const) {
    assert.throws(() => resolveConfig({ cluster: cluster as never }), (error: unknown) => error instanceof ConfigError && reason.test(error.message), JSON.stringify(cluster));
  }
});

test('relay headers: signed by the cluster secret, fresh, not forgeable', () => {
  const now = Date.UTC(2026, 11, 5);
  const header = relayHeader('secret', 'edge-1', '198.51.100.7', now);
  assert.deepEqual(verifyRelayHeader(header, 'secret', now + 1000), { ok: true, edgeNode: 'edge-1', clientIp: '198.51.100.7' });
  assert.deepEqual(verifyRelayHeader(header, 'other', now), { ok: false });
  assert.deepEqual(verifyRelayHeader(header.replace('198.51.100.7', '198.51.100.8'), 'secret', now), { ok: false });
  assert.deepEqual(verifyRelayHeader(header, 'secret', now + 31_000), { ok: false }, 'stale');
  for (const bad of [undefined, '', 'a;b;c', 'a;b;c;d;e', `edge;ip;${now};zz`]) assert.deepEqual(verifyRelayHeader(bad, 'secret', now), { ok: false });
});
