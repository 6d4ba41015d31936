/**
 * The node agent (packages/server/src/cluster/node-agent.ts) against a real Redis: a heartbeat
 * that waits on something that never answers (the load reading, the backend) does not stop the
 * node's record being refreshed, and a node removed as dead (`suspect`) is only the life of it
 * that was suspected, not the node restarted meanwhile on its id (issue #11, e2e/cluster.test.ts).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, test } from 'node:test';
import type { ClusterBackend, NodeInfo, NodeLoad } from '../../src/cluster/cluster-types.ts';
import { NodeAgent } from '../../src/cluster/node-agent.ts';
import { RedisCluster } from '../../src/cluster/redis-cluster.ts';
import { createLogger } from '../../src/index.ts';
import { freePort } from './node-process.ts';
import { TestRedis } from './redis-harness.ts';

/** As in e2e/cluster.test.ts: a record not refreshed for five heartbeats expires. */
const HEARTBEAT_MS = 200;
const TTL_MS = 1000;

const redis = await TestRedis.start();
after(() => redis.kill());

async function redisBackend(prefix = `agent${randomUUID().slice(0, 8)}:`): Promise<RedisCluster> {
  const backend = new RedisCluster({ url: redis.url, nodeTtlMs: TTL_MS, prefix, settleMs: 0 });
  await backend.connect();
  return backend;
}

function agentOf(backend: ClusterBackend, fields: { id: string; startedAt?: number; load?: () => Promise<NodeLoad>; heartbeatMs?: number; lines?: string[] }): NodeAgent {
  return new NodeAgent({
    backend,
    node: { id: fields.id, roles: ['signaling', 'media'], startedAt: fields.startedAt ?? Date.now() },
    load: fields.load ?? (async () => ({ rooms: 0, participants: 0, tracks: 0, sfuCpu: 0 })),
    localRooms: () => [],
    heartbeatMs: fields.heartbeatMs ?? HEARTBEAT_MS,
    logger: createLogger({ level: 'info', write: (line) => fields.lines?.push(line) }),
  });
}

/**
 * Reads the node's record every 50 ms for `ms`: it must be listed each time, written less than a
 * TTL before (by Redis's expiry it would be gone otherwise; `updatedAt` says it was rewritten).
 */
async function recordStaysFresh(backend: ClusterBackend, id: string, ms: number): Promise<{ reads: number; oldestMs: number; records: NodeInfo[] }> {
  const records: NodeInfo[] = [];
  let oldestMs = 0;
  for (const until = Date.now() + ms; Date.now() < until; ) {
    const record = (await backend.nodes()).find((node) => node.id === id);
    assert.ok(record, `${id} is listed ${Math.round(ms - (until - Date.now()))} ms in`);
    const ageMs = Date.now() - record.updatedAt;
    oldestMs = Math.max(oldestMs, ageMs);
    assert.ok(ageMs < TTL_MS, `${id}'s record was written ${ageMs} ms ago, within the TTL`);
    records.push(record);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { reads: records.length, oldestMs, records };
}

test('a load reading that never settles: the heartbeats go on with the last load read, and one reading at a time', { timeout: 30_000 }, async (t) => {
  const backend = await redisBackend();
  let readings = 0;
  // The first reading answers (at start); every later one hangs, as the first reading of an SFU
  // whose workers are still starting did for the length of their start.
  const load = (): Promise<NodeLoad> => (++readings === 1 ? Promise.resolve({ rooms: 1, participants: 3, tracks: 2, sfuCpu: 0.5 }) : new Promise<NodeLoad>(() => undefined));
  const lines: string[] = [];
  const agent = agentOf(backend, { id: 'slow-load', load, lines });
  await agent.start('http://slow-load.test');
  try {
    const { reads, oldestMs, records } = await recordStaysFresh(backend, 'slow-load', 4 * TTL_MS);
    assert.ok(records.every((record) => record.load.participants === 3), 'the record carries the last load read');
    assert.equal(readings, 2, 'the hung reading is not started again at every heartbeat');
    assert.equal(lines.filter((line) => line.includes('load reading is late')).length, 1, 'said once');
    assert.equal(agent.healthy, true);
    t.diagnostic(`load() hung for ${4 * TTL_MS} ms: the record was listed at each of ${reads} reads, the oldest written ${oldestMs} ms before (TTL ${TTL_MS} ms)`);
  } finally {
    await agent.stop();
  }
});

test('a backend heartbeat call that never settles: the next heartbeats are sent without waiting for it, with one warning', { timeout: 30_000 }, async (t) => {
  const backend = await redisBackend();
  let calls = 0;
  // The third heartbeat (the second of the timer's) never gets an answer, as a call to a Redis
  // that stopped answering; the others go through.
  const hanging = new Proxy(backend, {
    get(target, property, receiver) {
      if (property === 'heartbeat') return (node: NodeInfo) => (++calls === 3 ? new Promise<void>(() => undefined) : target.heartbeat(node));
      const value = Reflect.get(target, property, receiver) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const lines: string[] = [];
  const agent = agentOf(hanging, { id: 'slow-backend', lines });
  await agent.start('http://slow-backend.test');
  try {
    const { reads, oldestMs } = await recordStaysFresh(backend, 'slow-backend', 4 * TTL_MS);
    assert.ok(calls >= 3, `the hung call was made (${calls} heartbeats)`);
    const warnings = lines.filter((line) => line.includes('heartbeat overran'));
    assert.ok(
      warnings.some((line) => (JSON.parse(line) as { level: string; waitingFor: string }).level === 'warn' && line.includes('"waitingFor":"register this node"')),
      `a warning names what the heartbeat waited for: ${warnings.join('\n')}`,
    );
    // Once per run of late heartbeats, not once per heartbeat (another run may come from a loaded machine).
    assert.ok(warnings.length <= lines.filter((line) => line.includes('heartbeats on time again')).length + 1, `warned once per run of late heartbeats:\n${lines.join('\n')}`);
    t.diagnostic(`a heartbeat hung on the backend: the record was listed at each of ${reads} reads over ${4 * TTL_MS} ms, the oldest written ${oldestMs} ms before (TTL ${TTL_MS} ms); ${calls} heartbeats`);
  } finally {
    // Bounded too: the hung heartbeat does not hold the shutdown.
    await agent.stop();
  }
});

test('a node suspected dead is removed, but not the node restarted meanwhile on its id: its record and rooms stay', { timeout: 30_000 }, async () => {
  // Two nodes' connections to one cluster: the restarted node's and the watcher's.
  const prefix = `agent${randomUUID().slice(0, 8)}:`;
  const backend = await redisBackend(prefix);
  const observer = await redisBackend(prefix);
  // Nothing listens there: the refused connection suspect() takes for a dead node.
  const deadUrl = `http://127.0.0.1:${await freePort()}`;
  const watcher = agentOf(observer, { id: 'watcher', heartbeatMs: 60_000 });
  const firstLife: NodeInfo = { id: 'phoenix', roles: ['media'], url: deadUrl, state: 'serving', startedAt: 1_765_000_000_000, updatedAt: Date.now(), load: { rooms: 0, participants: 0, tracks: 0, sfuCpu: 0 } };

  // No heartbeat of its own between the start and the checks: the record seen is the one start() wrote.
  const restarted = agentOf(backend, { id: 'phoenix', startedAt: firstLife.startedAt + 5000, heartbeatMs: 60_000 });
  try {
    // The life suspected is the one registered: removed at once.
    await backend.heartbeat(firstLife);
    assert.equal(await watcher.suspect(firstLife), true);
    assert.deepEqual((await backend.nodes()).map((node) => node.id), [], 'the dead node is removed before its TTL');

    // The node restarted on its id (a later startedAt) before a suspicion of its first life landed.
    await backend.heartbeat(firstLife);
    await restarted.start(deadUrl);
    const placed = await backend.placeRoom('phoenix-room');
    assert.equal(placed.node.id, 'phoenix');
    assert.equal(await watcher.suspect(firstLife), true, 'the suspected life is gone');
    const listed = (await backend.nodes()).find((node) => node.id === 'phoenix');
    assert.ok(listed, 'the restarted node keeps its record');
    assert.equal(listed.startedAt, firstLife.startedAt + 5000);
    assert.equal(listed.placedRooms, 1, 'and the rooms placed on it (counted for placement)');
    assert.equal((await backend.roomNode('phoenix-room'))?.id, 'phoenix');
    assert.equal((await backend.placeRoom('phoenix-room')).placedNow, false, 'the room stays where it is');
  } finally {
    await restarted.stop();
    await observer.close();
  }
});
