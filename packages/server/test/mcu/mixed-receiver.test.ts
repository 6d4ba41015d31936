/**
 * `receive: 'mixed'` in an SFU room, at the server: the room's mixer process runs while a mixed
 * receiver is there, and only then (what each browser hears is proven in e2e/mcu-call.test.ts).
 * A real server, SFU worker and mixer; protocol clients without media.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { RunningServer } from '../../src/index.ts';
import { freeUdpPort, startTestServer, TestClient, token } from '../helpers.ts';

let server: RunningServer;
const clients: TestClient[] = [];

before(async () => {
  server = await startTestServer({ rooms: { topology: 'sfu' }, sfu: { workers: 1, udpPort: await freeUdpPort() } });
});
after(async () => {
  for (const client of clients) client.close();
  await server.close();
});

async function join(room: string, identity: string, receive?: 'tracks' | 'mixed'): Promise<TestClient> {
  const client = await TestClient.open(server);
  clients.push(client);
  const reply = await client.request({ type: 'join', token: await token(room, identity), ...(receive ? { receive } : {}) });
  assert.equal(reply.type, 'joined', JSON.stringify(reply));
  // A connection's later requests wait for its media join: answered, the join is done on the SFU.
  assert.equal((await client.request({ type: 'ping' })).type, 'pong');
  return client;
}

async function leave(client: TestClient): Promise<void> {
  const reply = await client.request({ type: 'leave' });
  assert.equal(reply.type, 'ack', JSON.stringify(reply));
  await client.closed;
}

/** Polls the room's mixer process id until `done` holds for it. */
async function mixerPid(room: string, done: (pid: number | undefined) => boolean, what: string): Promise<number | undefined> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const pid = await server.media.mixers.pid(room);
    if (done(pid)) return pid;
    if (Date.now() > deadline) throw new Error(`${room}: ${what} not within 10 s (mixer pid ${pid})`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

test("an SFU room runs a mixer from its first `mixed` receiver to its last, and none without one", async () => {
  const room = 'mixed-lifecycle';
  const ann = await join(room, 'ann');
  const ben = await join(room, 'ben', 'tracks');
  assert.equal(await server.media.mixers.pid(room), undefined, 'no mixer while nobody asked for the mix');

  const cyd = await join(room, 'cyd', 'mixed');
  const pid = await mixerPid(room, (p) => p !== undefined, 'a mixer for the mixed receiver');
  assert.doesNotThrow(() => process.kill(pid!, 0), 'the mixer process runs');
  const dee = await join(room, 'dee', 'mixed');

  await leave(ben);
  await leave(cyd);
  assert.equal(await server.media.mixers.pid(room), pid, 'the same mixer while one mixed receiver is left');
  await leave(dee);
  await mixerPid(room, (p) => p === undefined, 'the mixer stopped with the last mixed receiver');
  const alive = () => {
    try {
      process.kill(pid!, 0);
      return true;
    } catch {
      return false;
    }
  };
  for (const deadline = Date.now() + 5000; alive() && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 25));
  assert.ok(!alive(), 'its process is gone');
  assert.equal((await ann.request({ type: 'ping' })).type, 'pong', 'the room goes on');
});

test("a join asking to receive something else is refused, naming the field", async () => {
  const client = await TestClient.open(server);
  clients.push(client);
  const reply = await client.request({ type: 'join', token: await token('mixed-bad', 'eve'), receive: 'everything' });
  assert.equal(reply.type, 'error');
  assert.ok(reply.type === 'error' && reply.code === 'INVALID_MESSAGE' && /receive/.test(reply.message), JSON.stringify(reply));
});
