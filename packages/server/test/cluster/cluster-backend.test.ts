/**
 * The cluster backend (packages/server/src/cluster): the same contract for the in-memory and the
 * Redis implementation (a real redis-server), two nodes racing to place the same rooms, and what
 * a node sees when Redis is killed with SIGKILL and comes back empty, or freezes (SIGSTOP) and answers again.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { ClusterError, type ClusterBackend, type NodeInfo } from '../../src/cluster/cluster-types.ts';
import { MemoryCluster } from '../../src/cluster/memory-cluster.ts';
import { NodeAgent } from '../../src/cluster/node-agent.ts';
import { selectMediaNode } from '../../src/cluster/node-selection.ts';
import { RedisCluster } from '../../src/cluster/redis-cluster.ts';
import { createLogger } from '../../src/index.ts';
import { TestRedis } from './redis-harness.ts';

const TTL_MS = 400;

function node(id: string, fields: Partial<NodeInfo> = {}, participants = 0): NodeInfo {
  return { id, roles: ['signaling', 'media'], url: `http://${id}.test`, state: 'serving', startedAt: 0, updatedAt: Date.now(), load: { rooms: 0, participants, tracks: 0, sfuCpu: 0 }, ...fields };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('selectMediaNode: serving media nodes only, fewest participants, then SFU CPU, then id', () => {
  const busy = node('a', {}, 10);
  const idle = node('b', {}, 2);
  const idleButHot = node('c', { load: { rooms: 1, participants: 2, tracks: 4, sfuCpu: 1.5 } });
  const signalingOnly = node('d', { roles: ['signaling'] });
  const draining = node('e', { state: 'draining' });
  assert.equal(selectMediaNode([busy, idleButHot, idle, signalingOnly, draining])?.id, 'b');
  assert.equal(selectMediaNode([node('z'), node('y')])?.id, 'y', 'ties go to the smaller id, the same on every node');
  assert.equal(selectMediaNode([signalingOnly, draining]), undefined);
});

const redis = await TestRedis.start();
after(() => redis.kill());

const implementations: Array<[string, () => Promise<ClusterBackend>]> = [
  ['MemoryCluster', async () => new MemoryCluster({ nodeTtlMs: TTL_MS })],
  [
    'RedisCluster',
    async () => {
      const backend = new RedisCluster({ url: redis.url, nodeTtlMs: TTL_MS, prefix: `t${randomUUID().slice(0, 8)}:`, settleMs: 0 });
      await backend.connect();
      return backend;
    },
  ],
];

for (const [name, make] of implementations) {
  describe(`${name}: the backend contract`, () => {
    let backend: ClusterBackend;
    before(async () => {
      backend = await make();
    });
    after(() => backend.close());

    test('nodes register with their load and are listed until their TTL passes without a heartbeat', async () => {
      // Timed from before n1's heartbeat: its record lives TTL_MS from when the backend stored
      // it, which is after this, so it cannot be gone sooner however slow the calls between are.
      const started = Date.now();
      await backend.heartbeat(node('n1', {}, 3));
      await backend.heartbeat(node('n2'));
      try {
        const listed = await backend.nodes();
        const listedAfter = Date.now() - started;
        // Only a listing made within the TTL must hold n1 (a loaded machine may take longer).
        if (listedAfter < TTL_MS) {
          assert.deepEqual(listed.map((n) => n.id).sort(), ['n1', 'n2']);
          assert.equal(listed.find((n) => n.id === 'n1')?.load.participants, 3);
        }
        while ((await backend.nodes()).some((n) => n.id === 'n1')) {
          await backend.heartbeat(node('n2'));
          assert.ok(Date.now() - started < TTL_MS * 4, 'n1 expires');
          await sleep(25);
        }
        const expiredAfter = Date.now() - started;
        // Redis expires a key up to 1 ms early against this process's clock.
        assert.ok(expiredAfter >= TTL_MS - 2, `not before its TTL (${expiredAfter} ms)`);
      } finally {
        await backend.deregister('n1');
        await backend.deregister('n2');
      }
      assert.deepEqual(await backend.nodes(), [], 'a closed node is gone at once');
    });

    test('deregister with startedAt removes that life of the node only: a node restarted on its id keeps its record and rooms', async () => {
      await backend.heartbeat(node('again', { startedAt: 1000 }));
      await backend.deregister('again', { startedAt: 1000 });
      assert.deepEqual(await backend.nodes(), [], 'the life named is removed');
      await backend.heartbeat(node('again', { startedAt: 2000 }));
      assert.equal((await backend.placeRoom('kept')).node.id, 'again');
      await backend.deregister('again', { startedAt: 1000 });
      assert.deepEqual((await backend.nodes()).map((n) => [n.id, n.startedAt, n.placedRooms]), [['again', 2000, 1]], 'another life stays, with its rooms');
      assert.equal((await backend.roomNode('kept'))?.id, 'again');
      await backend.deregister('again');
      assert.deepEqual(await backend.nodes(), [], 'without startedAt, whatever life it is');
    });

    test('a room goes to the least loaded media node and stays there; release is compare-and-delete', async () => {
      await backend.heartbeat(node('busy', {}, 8));
      await backend.heartbeat(node('idle', {}, 1));
      await backend.heartbeat(node('signaling-only', { roles: ['signaling'] }));
      const first = await backend.placeRoom('standup');
      assert.deepEqual([first.node.id, first.placedNow], ['idle', true]);
      await backend.heartbeat(node('idle', {}, 20));
      const again = await backend.placeRoom('standup');
      assert.deepEqual([again.node.id, again.placedNow], ['idle', false], 'a placed room stays where it is, whatever the load now');
      assert.equal((await backend.roomNode('standup'))?.id, 'idle');
      await backend.releaseRoom('standup', 'busy');
      assert.equal((await backend.roomNode('standup'))?.id, 'idle', 'another node cannot release it');
      await backend.releaseRoom('standup', 'idle');
      assert.equal(await backend.roomNode('standup'), undefined);
      assert.equal((await backend.placeRoom('standup')).node.id, 'busy', 'placed afresh: busy has fewer participants now');
      for (const id of ['busy', 'idle', 'signaling-only']) await backend.deregister(id);
    });

    test('ten rooms created between two heartbeats spread over the media nodes (placed rooms count at once)', async () => {
      await backend.heartbeat(node('left'));
      await backend.heartbeat(node('right'));
      const placed: string[] = [];
      for (let i = 0; i < 10; i++) placed.push((await backend.placeRoom(`burst-${i}`)).node.id);
      const onLeft = placed.filter((id) => id === 'left').length;
      assert.equal(onLeft, 5, `five rooms each (${placed.join(', ')})`);
      assert.deepEqual((await backend.nodes()).map((n) => [n.id, n.placedRooms]).sort(), [['left', 5], ['right', 5]]);
      await backend.releaseRoom('burst-0', placed[0]!);
      assert.equal((await backend.nodes()).find((n) => n.id === placed[0])?.placedRooms, 4, 'a released room is no longer counted');
      for (const id of ['left', 'right']) await backend.deregister(id);
      for (let i = 1; i < 10; i++) await backend.releaseRoom(`burst-${i}`, placed[i]!);
    });

    test('a room’s topology, recorded by its node only, comes with its placement, outlives that node and goes with the release', async () => {
      await backend.heartbeat(node('host'));
      assert.equal((await backend.placeRoom('meeting')).topology, undefined, 'nothing recorded yet');
      await backend.heartbeat(node('other', {}, 9));
      await backend.recordTopology('meeting', 'other', 'sfu');
      assert.equal((await backend.placeRoom('meeting')).topology, undefined, 'a node the room is not on records nothing');
      await backend.recordTopology('meeting', 'host', 'sfu');
      assert.deepEqual(await backend.placeRoom('meeting'), { room: 'meeting', node: (await backend.placeRoom('meeting')).node, placedNow: false, topology: 'sfu' });
      // The host dies with the room in it: the room is placed on the other node, as it was.
      await backend.deregister('host');
      const moved = await backend.placeRoom('meeting');
      assert.deepEqual([moved.node.id, moved.placedNow, moved.topology], ['other', true, 'sfu']);
      await backend.recordTopology('meeting', 'other', 'p2p');
      assert.equal((await backend.placeRoom('meeting')).topology, 'p2p', 'the new node records over it');
      // A draining node lets the room go to another node: the topology goes with it.
      await backend.releaseRoom('meeting', 'other', { moving: true });
      const drained = await backend.placeRoom('meeting');
      assert.deepEqual([drained.placedNow, drained.topology], [true, 'p2p']);
      await backend.releaseRoom('meeting', drained.node.id);
      const fresh = await backend.placeRoom('meeting');
      assert.deepEqual([fresh.placedNow, fresh.topology], [true, undefined], 'a released room starts afresh');
      await backend.releaseRoom('meeting', fresh.node.id);
      await backend.deregister('other');
    });

    test('claimRooms records only rooms without a placement', async () => {
      await backend.heartbeat(node('first'));
      await backend.heartbeat(node('second'));
      assert.equal((await backend.placeRoom('taken')).node.id, 'first');
      await backend.claimRooms(['taken', 'orphan'], 'second');
      assert.equal((await backend.roomNode('taken'))?.id, 'first', 'an existing placement is left alone');
      assert.equal((await backend.roomNode('orphan'))?.id, 'second');
      for (const id of ['first', 'second']) await backend.deregister(id);
    });

    test('a dead node’s rooms are placed again on a live one; a draining node gets no new rooms; no media node is a clear error', async () => {
      await backend.heartbeat(node('doomed'));
      assert.equal((await backend.placeRoom('moving')).node.id, 'doomed');
      await backend.heartbeat(node('survivor', {}, 5));
      await backend.heartbeat(node('draining', { state: 'draining' }));
      const deadline = Date.now() + TTL_MS * 4;
      let placement = await backend.placeRoom('moving');
      while (placement.node.id === 'doomed') {
        assert.ok(Date.now() < deadline, 'the room moves once doomed expires');
        await backend.heartbeat(node('survivor', {}, 5));
        await backend.heartbeat(node('draining', { state: 'draining' }));
        await sleep(25);
        placement = await backend.placeRoom('moving');
      }
      assert.deepEqual([placement.node.id, placement.placedNow], ['survivor', true]);
      await backend.deregister('survivor');
      await assert.rejects(backend.placeRoom('nowhere'), (error: unknown) => error instanceof ClusterError && error.code === 'NO_MEDIA_NODE');
      await backend.deregister('draining');
    });
  });
}

/** A node's agent heartbeating every 100 ms on `backend`, hosting one SFU room; its log lines kept. */
async function startAgent(backend: ClusterBackend, id: string, room: string): Promise<{ agent: NodeAgent; lines: string[] }> {
  const lines: string[] = [];
  const agent = new NodeAgent({
    backend,
    node: { id, roles: ['signaling', 'media'], startedAt: Date.now() },
    load: async () => ({ rooms: 1, participants: 2, tracks: 0, sfuCpu: 0 }),
    localRooms: () => [{ name: room, topology: 'sfu' }],
    heartbeatMs: 100,
    logger: createLogger({ level: 'info', write: (line) => lines.push(line) }),
  });
  await agent.start(`http://${id}.test`);
  return { agent, lines };
}

describe('RedisCluster: two nodes, one Redis', () => {
  test('first joins racing on two nodes agree on every room and spread over both', async () => {
    const prefix = `race${randomUUID().slice(0, 8)}:`;
    const [a, b] = await Promise.all([0, 1].map(async () => {
      const backend = new RedisCluster({ url: redis.url, nodeTtlMs: 5000, prefix, settleMs: 0 });
      await backend.connect();
      return backend;
    }));
    try {
      // 80 placements at once from two connections: without the script's atomic check-and-set
      // several callers would each see the room unplaced and each report placing it.
      await a!.heartbeat(node('node-a'));
      await b!.heartbeat(node('node-b'));
      const rooms = Array.from({ length: 20 }, (_, i) => `room-${i}`);
      const answers = await Promise.all(rooms.flatMap((room) => [a!, b!, a!, b!].map(async (backend) => ({ room, placement: await backend.placeRoom(room) }))));
      for (const room of rooms) {
        const nodes = new Set(answers.filter((answer) => answer.room === room).map((answer) => answer.placement.node.id));
        assert.equal(nodes.size, 1, `${room}: every caller got the same node (${[...nodes].join(', ')})`);
        assert.equal(answers.filter((answer) => answer.room === room && answer.placement.placedNow).length, 1, `${room}: placed exactly once`);
      }
      // The node is chosen inside the placement script, so rooms racing each other still spread:
      // chosen from loads read before the race, all twenty went to node-a.
      const onA = rooms.filter((room) => answers.find((answer) => answer.room === room)!.placement.node.id === 'node-a').length;
      assert.equal(onA, 10, `twenty rooms placed at once split evenly (node-a has ${onA})`);
    } finally {
      await a!.deregister('node-a');
      await b!.deregister('node-b');
      await Promise.all([a!.close(), b!.close()]);
    }
  });

  test('Redis killed (SIGKILL): calls fail fast with BACKEND_UNAVAILABLE, the node says so once, and re-registers when Redis is back (empty)', async (t) => {
    const backend = new RedisCluster({ url: redis.url, nodeTtlMs: 1000, prefix: `kill${randomUUID().slice(0, 8)}:`, settleMs: 200 });
    await backend.connect();
    const { agent, lines } = await startAgent(backend, 'survivor', 'kept-room');
    try {
      assert.equal(agent.healthy, true);
      await redis.kill();
      const failedAt = performance.now();
      await assert.rejects(backend.placeRoom('anything'), (error: unknown) => error instanceof ClusterError && error.code === 'BACKEND_UNAVAILABLE' && error.cause !== undefined);
      const failMs = Math.round(performance.now() - failedAt);
      assert.ok(failMs < 3000, `a call fails within the connect timeout, not hanging (${failMs} ms)`);
      const noticed = performance.now();
      while (agent.healthy) {
        assert.ok(performance.now() - noticed < 3000, 'the agent notices');
        await sleep(20);
      }
      const noticeMs = Math.round(performance.now() - noticed);
      await sleep(300);
      assert.equal(lines.filter((line) => line.includes('cluster backend unreachable')).length, 1, 'one warning per outage, not one per heartbeat');

      const restartedAt = performance.now();
      await redis.restart();
      while (!agent.healthy || (await backend.nodes().catch(() => [])).length === 0) {
        assert.ok(performance.now() - restartedAt < 5000, 'the node is registered again within 5 s of Redis');
        await sleep(20);
      }
      const backMs = Math.round(performance.now() - restartedAt);
      assert.equal((await backend.nodes())[0]?.id, 'survivor');
      assert.equal((await backend.roomNode('kept-room'))?.id, 'survivor', 'the rooms it hosts are claimed again: a join cannot start a second copy elsewhere');
      assert.equal((await backend.placeRoom('kept-room')).topology, 'sfu', 'and their topologies recorded again: a node taking one over later starts it as it is');
      assert.equal((await backend.placeRoom('after-restart')).node.id, 'survivor', 'rooms are placed again');
      assert.ok(lines.some((line) => line.includes('cluster backend reachable again')));
      t.diagnostic(`Redis SIGKILLed: a call failed after ${failMs} ms, the agent noticed within ${noticeMs} ms; Redis restarted empty: the node was registered again ${backMs} ms after it answered`);
    } finally {
      await agent.stop();
    }
  });

  test('Redis frozen (SIGSTOP: the connection stays open, nothing answers, as a cut network): calls fail within the command timeout, the node says so, and all is well once it answers again', async (t) => {
    const commandTimeoutMs = 500;
    const backend = new RedisCluster({ url: redis.url, nodeTtlMs: 1000, prefix: `frozen${randomUUID().slice(0, 8)}:`, settleMs: 0, commandTimeoutMs });
    await backend.connect();
    const { agent, lines } = await startAgent(backend, 'patient', 'held-room');
    try {
      assert.equal((await backend.placeRoom('held-room')).node.id, 'patient');
      redis.freeze();
      const failedAt = performance.now();
      await assert.rejects(backend.placeRoom('while-frozen'), (error: unknown) => error instanceof ClusterError && error.code === 'BACKEND_UNAVAILABLE' && /timed out/i.test(error.message));
      const failMs = Math.round(performance.now() - failedAt);
      // One command's timeout, not several: placeRoom's first call fails and the join reports it.
      assert.ok(failMs >= commandTimeoutMs - 50 && failMs < 2 * commandTimeoutMs + 200, `a call fails after the command timeout (${failMs} ms, timeout ${commandTimeoutMs} ms)`);
      const noticed = performance.now();
      while (agent.healthy) {
        assert.ok(performance.now() - noticed < 3000, 'the agent notices a frozen Redis too');
        await sleep(20);
      }
      const noticeMs = Math.round(performance.now() - noticed);
      // A second client connecting now: the TCP connect succeeds (the kernel accepts), the ready check never answers.
      const late = new RedisCluster({ url: redis.url, nodeTtlMs: 1000, settleMs: 0, commandTimeoutMs });
      const connectAt = performance.now();
      await assert.rejects(late.connect(), (error: unknown) => error instanceof ClusterError && error.code === 'BACKEND_UNAVAILABLE');
      const connectMs = Math.round(performance.now() - connectAt);
      assert.ok(connectMs < 2 * commandTimeoutMs + 200, `connecting to a frozen Redis fails within two command timeouts (${connectMs} ms)`);
      await late.close();

      const thawedAt = performance.now();
      redis.thaw();
      while (!agent.healthy) {
        assert.ok(performance.now() - thawedAt < 3000, 'the node is healthy again within 3 s of Redis answering');
        await sleep(20);
      }
      const backMs = Math.round(performance.now() - thawedAt);
      assert.equal((await backend.placeRoom('held-room')).node.id, 'patient', 'the placement it held is still there (a frozen Redis keeps its data)');
      assert.equal((await backend.placeRoom('after-thaw')).node.id, 'patient', 'rooms are placed again');
      assert.ok(lines.some((line) => line.includes('cluster backend unreachable')) && lines.some((line) => line.includes('cluster backend reachable again')), lines.join('\n'));
      t.diagnostic(`Redis frozen: a call failed after ${failMs} ms (timeout ${commandTimeoutMs} ms), the agent noticed within ${noticeMs} ms, a new connection failed after ${connectMs} ms; thawed: healthy again after ${backMs} ms`);
    } finally {
      redis.thaw();
      await agent.stop();
    }
  });

  test('a Redis nobody listens on fails the connect with a ClusterError', async () => {
    const backend = new RedisCluster({ url: 'redis://127.0.0.1:1', nodeTtlMs: 1000, settleMs: 0 });
    await assert.rejects(backend.connect(), (error: unknown) => error instanceof ClusterError && error.code === 'BACKEND_UNAVAILABLE' && /connect to Redis/.test(error.message));
    await backend.close();
  });
});

