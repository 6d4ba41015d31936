/**
 * An SFU worker whose UDP socket cannot be bound (its mux port taken by another process, or
 * every port of its range in use, which enough connections do) refuses the connection with an
 * error and keeps running. Before engine.ts's reserve(), the first setLocalDescription() of
 * such a connection threw std::runtime_error("Failed to gather local ICE candidates") through
 * node-datachannel, which std::terminate turned into SIGABRT of the whole worker: every room on
 * it dropped. A real server, worker, and UDP sockets on loopback.
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { after, describe, test } from 'node:test';
import nodeDataChannel from 'node-datachannel';
import { ErrorCode, type ServerMessage } from '@parley/protocol';
import { createToken, type RunningServer, type ServerConfigInput } from '../../src/index.ts';
import type { WorkerPool } from '../../src/sfu/worker-pool.ts';
import { freeUdpPort, TEST_KEY, TEST_SECRET, TestClient, startTestServer } from '../helpers.ts';
import { SyntheticPublisher, type Cleanups } from './synthetic-media.ts';

const cleanups: Cleanups = [];
after(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  nodeDataChannel.cleanup();
});

/** Holds `port` on 127.0.0.1 the way any other process could. */
async function occupy(port: number): Promise<Socket> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, '127.0.0.1', () => resolve());
  });
  return socket;
}

const release = (socket: Socket) => new Promise<void>((resolve) => socket.close(() => resolve()));

/** Two consecutive free ports (for a range), found by binding both. */
async function freePortPair(): Promise<number> {
  for (;;) {
    const first = await freeUdpPort();
    try {
      await release(await occupy(first + 1));
      return first;
    } catch {
      // first + 1 in use: try another
    }
  }
}

async function startServer(sfu: ServerConfigInput['sfu']): Promise<RunningServer> {
  const server = await startTestServer({ rooms: { topology: 'sfu' }, sfu: { workers: 1, requestTimeoutMs: 3000, ...sfu } });
  cleanups.push(() => server.close());
  return server;
}

async function join(server: RunningServer, room: string, identity: string): Promise<TestClient> {
  const client = await TestClient.open(server);
  cleanups.push(() => client.close());
  const token = await createToken({ apiKey: TEST_KEY, apiSecret: TEST_SECRET, room, identity, ttlSeconds: 600 });
  const reply = await client.request({ type: 'join', token });
  if (reply.type !== 'joined') throw new Error(`join failed: ${JSON.stringify(reply)}`);
  return client;
}

const publishOnce = async (client: TestClient): Promise<ServerMessage> => client.request({ type: 'publishTrack', source: 'camera', sdp: await new SyntheticPublisher(cleanups).offer() });

function expectRefused(reply: ServerMessage, pattern: RegExp): void {
  assert.equal(reply.type, 'error', JSON.stringify(reply));
  if (reply.type !== 'error') return;
  assert.equal(reply.code, ErrorCode.MEDIA_REJECTED, reply.message);
  assert.match(reply.message, pattern);
}

describe('SFU worker with no UDP socket to bind', () => {
  test('its ICE UDP mux port taken: publishing is refused, the worker lives, and publishes once the port is free', async () => {
    const port = await freeUdpPort();
    const blocker = await occupy(port);
    const server = await startServer({ udpPort: port });
    const pool = (await server.media.service()) as WorkerPool;
    const alice = await join(server, 'mux-port-taken', 'alice');
    const [pid] = pool.pids;
    assert.ok(pid, 'a worker runs');

    expectRefused(await publishOnce(alice), new RegExp(`UDP port ${port} is in use`));
    assert.deepEqual(pool.pids, [pid], 'the SFU worker survived');

    await release(blocker);
    const reply = await publishOnce(alice);
    assert.equal(reply.type, 'trackPublished', JSON.stringify(reply));
    assert.deepEqual(pool.pids, [pid], 'the same worker publishes');
    // The worker holds its port from now on, with or without connections.
    await assert.rejects(occupy(port), /EADDRINUSE/);
  });

  test('every port of its range in use: publishing is refused and the worker lives', async () => {
    const min = await freePortPair();
    const blockers = [await occupy(min), await occupy(min + 1)];
    const server = await startServer({ udpMux: false, portRange: { min, max: min + 1 } });
    const pool = (await server.media.service()) as WorkerPool;
    const alice = await join(server, 'range-full', 'alice');
    const [pid] = pool.pids;
    assert.ok(pid, 'a worker runs');

    expectRefused(await publishOnce(alice), new RegExp(`no UDP port is free in the SFU's range ${min}-${min + 1}`));
    assert.deepEqual(pool.pids, [pid], 'the SFU worker survived');

    await release(blockers[1]!);
    const reply = await publishOnce(alice);
    assert.equal(reply.type, 'trackPublished', JSON.stringify(reply));
    assert.deepEqual(pool.pids, [pid], 'the same worker publishes');
    await release(blockers[0]!);
  });
});
