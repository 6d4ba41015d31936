/**
 * Losing the node a room lives on: two `parley start` processes sharing a real Redis, a room
 * placed on node A with one participant connected through node B and one on A. A is killed with
 * SIGKILL. What the participants see, and how fast: the one on B is disconnected at once
 * (GOING_AWAY); B finds A's port refusing connections and removes A from the registry (else its
 * rejoins get ROOM_UNAVAILABLE until A's record expires), the room is placed on B and both are in
 * it again. The clients here do what the SDK does
 * (retry ROOM_UNAVAILABLE and lost connections, resume with the session id, join afresh when the
 * membership is gone).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { TEST_KEY, TEST_SECRET, TestClient, token } from '../helpers.ts';
import { startNodeProcess, type NodeProcess } from './node-process.ts';
import { TestRedis } from './redis-harness.ts';

const HEARTBEAT_MS = 200;
const NODE_TTL_MS = 1000;

function startNode(dir: string, id: string, redisUrl: string, options: { roles?: string[]; prefix?: string } = {}): Promise<NodeProcess> {
  return startNodeProcess(dir, id, {
    dev: false,
    apiKeys: { [TEST_KEY]: TEST_SECRET },
    reconnectGraceSeconds: 10,
    turn: { enabled: false },
    rooms: { topology: 'p2p' },
    // P2P rooms: no SFU workers to start (and none to outlive the test).
    sfu: { startAtBoot: false },
    cluster: { redisUrl, heartbeatMs: HEARTBEAT_MS, nodeTtlMs: NODE_TTL_MS, keyPrefix: options.prefix ?? 'failover:', roles: options.roles ?? ['signaling', 'media'] },
  });
}

/** A close the test waits for, bounded: a hung wait must fail the test, not the suite's timeout. */
function closedWithin(client: TestClient, ms: number): Promise<{ code: number; reason: string }> {
  return Promise.race([client.closed, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`the connection did not close within ${ms} ms`)), ms).unref())]);
}

/** What TestClient needs of a server: its WebSocket URL. */
const at = (node: NodeProcess) => ({ wsUrl: `${node.url.replace('http', 'ws')}/ws` });

/** Joins (or resumes) through `node`, retrying what the SDK retries, until joined or `timeoutMs`. */
async function joinRetrying(node: NodeProcess, room: string, identity: string, resume: string | undefined, timeoutMs: number): Promise<{ client: TestClient; reply: { type: string; resumed?: boolean; sessionId?: string }; refusals: string[] }> {
  const refusals: string[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const client = await TestClient.open(at(node));
    const reply = (await client.request({ type: 'join', token: await token(room, identity), ...(resume ? { resume } : {}) })) as { type: string; code?: string; resumed?: boolean; sessionId?: string };
    if (reply.type === 'joined') return { client, reply, refusals };
    refusals.push(reply.code ?? reply.type);
    client.close();
    assert.equal(reply.code, 'ROOM_UNAVAILABLE', `only ROOM_UNAVAILABLE is retried: ${JSON.stringify(reply)}`);
    assert.ok(Date.now() < deadline, `joined within ${timeoutMs} ms (refusals: ${refusals.join(', ')})`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const dir = mkdtempSync(join(tmpdir(), 'parley-failover-'));
let redis: TestRedis;
const nodes: NodeProcess[] = [];
before(async () => {
  redis = await TestRedis.start();
});
after(async () => {
  for (const node of nodes) await node.kill();
  await redis?.kill();
  rmSync(dir, { recursive: true, force: true });
});

test('kill -9 of the node a room lives on: its participants are back in the room on a live node within the node TTL', async (t) => {
  const a = await startNode(dir, 'node-a', redis.url);
  nodes.push(a);
  const b = await startNode(dir, 'node-b', redis.url);
  nodes.push(b);
  // Both idle: the room goes to node-a (ties go to the smaller id).
  const alice = await joinRetrying(b, 'lifeboat', 'alice', undefined, 5000);
  const bob = await joinRetrying(a, 'lifeboat', 'bob', undefined, 5000);
  await alice.client.waitFor((m) => m.type === 'participantJoined' && m.participant.identity === 'bob', 'alice (through node-b) sees bob (on node-a)');

  const killedAt = performance.now();
  await a.kill();
  const dropped = await closedWithin(alice.client, 10_000);
  const droppedMs = Math.round(performance.now() - killedAt);
  assert.equal(dropped.code, 1001, `node-b closes alice's carried connection as going away (${dropped.code} ${dropped.reason})`);
  await closedWithin(bob.client, 10_000);

  // Both come back through node-b (the load balancer's only live choice), resuming if they can.
  const [aliceBack, bobBack] = await Promise.all([
    joinRetrying(b, 'lifeboat', 'alice', alice.reply.sessionId, NODE_TTL_MS + 5000),
    joinRetrying(b, 'lifeboat', 'bob', bob.reply.sessionId, NODE_TTL_MS + 5000),
  ]);
  const backMs = Math.round(performance.now() - killedAt);
  assert.equal(aliceBack.reply.resumed, false, 'the membership died with node-a: a fresh join');
  const other = (client: TestClient, identity: string) =>
    client.waitFor((m) => (m.type === 'joined' && m.participants.some((p) => p.identity === identity)) || (m.type === 'participantJoined' && m.participant.identity === identity), `${identity} in the room again`);
  await Promise.all([other(aliceBack.client, 'bob'), other(bobBack.client, 'alice')]);
  const health = async () => (await (await fetch(`${b.url}/healthz`)).json()) as { rooms: number; participants: number; cluster: { nodes: number } };
  assert.deepEqual({ rooms: (await health()).rooms, participants: (await health()).participants }, { rooms: 1, participants: 2 }, 'the room lives on node-b now');
  // node-b's view of the cluster is as of its last heartbeat: one more and it counts itself alone.
  const seenAlone = Date.now() + HEARTBEAT_MS * 5;
  while ((await health()).cluster.nodes !== 1) {
    assert.ok(Date.now() < seenAlone, 'node-b sees node-a gone within a few heartbeats');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.ok(backMs < NODE_TTL_MS + 3000, `back within the TTL and a few retries (${backMs} ms)`);
  t.diagnostic(
    `node-a SIGKILLed: alice's carried connection closed after ${droppedMs} ms; rejoins refused ${aliceBack.refusals.length}x (${[...new Set(aliceBack.refusals)].join(', ') || 'none'}) ` +
      `before the room was placed again (node-b found node-a's port refusing connections and removed it; TTL ${NODE_TTL_MS} ms); both in the room on node-b ${backMs} ms after the kill`,
  );
  aliceBack.client.close();
  bobBack.client.close();
});

test('kill -9 of a signaling-only node: its clients resume through another node, and the others see nothing', async (t) => {
  const host = await startNode(dir, 'room-host', redis.url, { prefix: 'edge-loss:' });
  nodes.push(host);
  const edge = await startNode(dir, 'edge-only', redis.url, { prefix: 'edge-loss:', roles: ['signaling'] });
  nodes.push(edge);
  const alice = await joinRetrying(edge, 'unbroken', 'alice', undefined, 5000);
  const bob = await joinRetrying(host, 'unbroken', 'bob', undefined, 5000);
  await alice.client.waitFor((m) => m.type === 'participantJoined' && m.participant.identity === 'bob', 'alice (through the edge) sees bob');

  const killedAt = performance.now();
  await edge.kill();
  await closedWithin(alice.client, 10_000);
  // Through the load balancer's other node: the membership lives on the room's node, so she resumes.
  const back = await joinRetrying(host, 'unbroken', 'alice', alice.reply.sessionId, 5000);
  const backMs = Math.round(performance.now() - killedAt);
  assert.equal(back.reply.resumed, true, 'resumed: the same membership');
  assert.equal((await back.client.request({ type: 'sendData', payload: 'still me' })).type, 'ack');
  await bob.client.waitFor((m) => m.type === 'data' && m.payload === 'still me', 'bob hears from alice again');
  assert.equal(bob.client.received.filter((m) => m.type === 'participantLeft' || (m.type === 'participantJoined' && m.participant.identity === 'alice')).length, 0, 'bob saw no leave and no second join');
  t.diagnostic(`signaling-only node SIGKILLed: alice resumed through the room's node ${backMs} ms after the kill; bob saw nothing`);
  back.client.close();
  bob.client.close();
});

test('a join carried toward a room whose node just died is served at once: the dead node refuses, is removed, and the room placed on a live node within the same request', async (t) => {
  const doomed = await startNode(dir, 'a-doomed', redis.url, { prefix: 'first-try:' });
  nodes.push(doomed);
  const live = await startNode(dir, 'b-live', redis.url, { prefix: 'first-try:' });
  nodes.push(live);
  // Both idle: the room goes to a-doomed (ties go to the smaller id); nobody is carried there yet.
  const bob = await joinRetrying(doomed, 'first-try', 'bob', undefined, 5000);
  await doomed.kill();
  await closedWithin(bob.client, 10_000);
  // carol's join reaches b-live while a-doomed's record still lives (TTL 1 s): b-live carries it,
  // finds the port refusing, removes a-doomed and serves the join itself.
  const started = performance.now();
  const carol = await TestClient.open(at(live));
  const reply = await carol.request({ type: 'join', token: await token('first-try', 'carol') });
  const servedMs = Math.round(performance.now() - started);
  assert.equal(reply.type, 'joined', `joined on the first request, no ROOM_UNAVAILABLE to retry: ${JSON.stringify(reply)}`);
  const health = (await (await fetch(`${live.url}/healthz`)).json()) as { rooms: number; participants: number };
  assert.deepEqual({ rooms: health.rooms, participants: health.participants }, { rooms: 1, participants: 1 }, 'the room lives on b-live now');
  t.diagnostic(`a-doomed SIGKILLed: a join through b-live was answered (joined, on b-live) ${servedMs} ms after it was sent`);
  carol.close();
});
