/**
 * `publishTrack` sent again with the same `cid` (the SDK does so when the reply was lost with a
 * dropped signaling connection): the first publication is replaced, never doubled. A real server,
 * a real SFU worker, and synthetic WebRTC publishers (synthetic-media.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import nodeDataChannel from 'node-datachannel';
import { ErrorCode, type ServerMessage } from '@parley/protocol';
import type { RunningServer } from '../../src/index.ts';
import { freeUdpPort, TestClient, startTestServer } from '../helpers.ts';
import { SyntheticPublisher, type Cleanups } from './synthetic-media.ts';

let server: RunningServer;
const cleanups: Cleanups = [];
let roomCounter = 0;
const freshRoom = () => `publish-again-${++roomCounter}`;

before(async () => {
  server = await startTestServer({ rooms: { topology: 'sfu' }, sfu: { workers: 1, udpPort: await freeUdpPort() } });
});
after(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  nodeDataChannel.cleanup();
  await server.close();
});

async function join(room: string, identity: string): Promise<TestClient> {
  const client = await TestClient.joined(server, room, identity);
  cleanups.push(() => client.close());
  return client;
}

async function publish(client: TestClient, cid: string | undefined, source: 'camera' | 'screen' = 'camera'): Promise<ServerMessage> {
  const sdp = await new SyntheticPublisher(cleanups).offer();
  return client.request({ type: 'publishTrack', source, sdp, ...(cid === undefined ? {} : { cid }) });
}

function trackIdOf(reply: ServerMessage): string {
  assert.equal(reply.type, 'trackPublished', JSON.stringify(reply));
  return reply.type === 'trackPublished' ? reply.trackId : '';
}

describe('publishTrack sent again with its cid', () => {
  test('replaces the first publication: one track at the SFU and in the room', async () => {
    const room = freshRoom();
    const alice = await join(room, 'alice');
    const first = trackIdOf(await publish(alice, 'cam-1'));
    const second = trackIdOf(await publish(alice, 'cam-1'));
    assert.notEqual(second, first, 'a new track id');
    assert.deepEqual([...server.rooms.get(room)!.get('alice')!.publishedTracks.keys()], [second], 'the room holds the second publication only');
    assert.equal((await server.media.sfuStats(room)).publishedTracks, 1, 'one track at the SFU');
    // What another participant's browser then receives is e2e/sfu-call.test.ts's: the camera, once.
  });

  test('another cid, or none, is another publication', async () => {
    const room = freshRoom();
    const alice = await join(room, 'alice');
    trackIdOf(await publish(alice, 'cam-1'));
    trackIdOf(await publish(alice, 'cam-2'));
    trackIdOf(await publish(alice, undefined));
    assert.equal(server.rooms.get(room)!.get('alice')!.publishedTracks.size, 3);
    assert.equal((await server.media.sfuStats(room)).publishedTracks, 3);
  });

  test('at the limit of 8 tracks a publication sent again still replaces its first; a new one is refused', async () => {
    const room = freshRoom();
    const alice = await join(room, 'alice');
    for (let i = 0; i < 8; i++) trackIdOf(await publish(alice, `t${i}`));
    trackIdOf(await publish(alice, 't3'));
    const refused = await publish(alice, 't8', 'screen');
    assert.equal(refused.type, 'error');
    assert.equal(refused.type === 'error' ? refused.code : undefined, ErrorCode.MEDIA_REJECTED);
    assert.equal((await server.media.sfuStats(room)).publishedTracks, 8);
  });

  test('a cid that is not 1-64 of A-Z a-z 0-9 _ -: INVALID_MESSAGE, nothing published', async () => {
    const room = freshRoom();
    const alice = await join(room, 'alice');
    for (const cid of ['', 'has space', 'x'.repeat(65)]) {
      const reply = await publish(alice, cid);
      assert.equal(reply.type, 'error', JSON.stringify(reply));
      assert.equal(reply.type === 'error' ? reply.code : undefined, ErrorCode.INVALID_MESSAGE, cid);
    }
    assert.equal(server.rooms.get(room)!.get('alice')!.publishedTracks.size, 0);
  });
});
