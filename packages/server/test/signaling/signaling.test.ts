import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CloseCode, ErrorCode, PROTOCOL_VERSION, type ServerMessage } from '@parley/protocol';
import type { RunningServer } from '../../src/index.ts';
import { TestClient, startTestServer, token } from '../helpers.ts';

const OFFER_SENDING = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\na=sendonly\r\n';
const OFFER_RECEIVING = OFFER_SENDING.replace('a=sendonly', 'a=recvonly');

const isError = (code: ErrorCode) => (m: ServerMessage) => m.type === 'error' && m.code === code;

let server: RunningServer;
let roomCounter = 0;
const freshRoom = () => `room-${++roomCounter}`;

before(async () => {
  // P2P rooms: these tests cover signaling for direct calls (SFU signaling: sfu/sfu-signaling.test.ts).
  server = await startTestServer({ rooms: { topology: 'p2p' } });
});
after(async () => {
  await server.close();
});

describe('joining', () => {
  test('a valid token joins; the second participant sees the first and the first is told', async () => {
    const room = freshRoom();
    const alice = await TestClient.joined(server, room, 'alice');
    const bob = await TestClient.open(server);
    const reply = await bob.request({ type: 'join', token: await token(room, 'bob'), room });
    assert.equal(reply.type, 'joined');
    if (reply.type !== 'joined') return;
    assert.equal(reply.participant.identity, 'bob');
    assert.deepEqual(reply.participants.map((p) => p.identity), ['alice']);
    assert.deepEqual(reply.room, { name: room, topology: 'p2p', maxParticipants: 2 });
    const joined = await alice.waitFor((m) => m.type === 'participantJoined', 'participantJoined');
    assert.equal(joined.type === 'participantJoined' && joined.participant.identity, 'bob');
    alice.close();
    bob.close();
  });

  for (const [what, makeToken, code] of [
    ['missing', async () => undefined, ErrorCode.TOKEN_MISSING],
    ['forged', () => token('r', 'eve', { secret: 'a-different-secret-that-is-32-chars-long' }), ErrorCode.TOKEN_INVALID],
    ['unknown key', () => token('r', 'eve', { key: 'nobody' }), ErrorCode.TOKEN_INVALID],
    ['garbage', async () => 'garbage', ErrorCode.TOKEN_INVALID],
  ] as const) {
    test(`a ${what} token is refused with ${code} and the socket closed (4001)`, async () => {
      const client = await TestClient.open(server);
      const t = await makeToken();
      const reply = await client.request({ type: 'join', ...(t === undefined ? {} : { token: t }) });
      assert.equal(reply.type === 'error' && reply.code, code);
      assert.equal(reply.type === 'error' && reply.fatal, true);
      assert.equal((await client.closed).code, CloseCode.AUTH_FAILED);
      assert.equal(server.rooms.get('r'), undefined, 'no room was created');
    });
  }

  test('a token for another room is refused with TOKEN_WRONG_ROOM', async () => {
    const client = await TestClient.open(server);
    const reply = await client.request({ type: 'join', token: await token('room-a', 'eve'), room: 'room-b' });
    assert.equal(reply.type === 'error' && reply.code, ErrorCode.TOKEN_WRONG_ROOM);
    assert.equal((await client.closed).code, CloseCode.AUTH_FAILED);
  });

  test('a second join on the same connection is refused; the first membership stands', async () => {
    const room = freshRoom();
    const alice = await TestClient.joined(server, room, 'alice');
    const reply = await alice.request({ type: 'join', token: await token(freshRoom(), 'alice') });
    assert.equal(reply.type === 'error' && reply.code, ErrorCode.ALREADY_JOINED);
    assert.equal(server.rooms.get(room)?.size, 1);
    alice.close();
  });

  test('a third participant in a P2P room is refused with ROOM_FULL; the two stay connected', async () => {
    const room = freshRoom();
    const alice = await TestClient.joined(server, room, 'alice');
    const bob = await TestClient.joined(server, room, 'bob');
    const carol = await TestClient.open(server);
    const reply = await carol.request({ type: 'join', token: await token(room, 'carol') });
    assert.equal(reply.type === 'error' && reply.code, ErrorCode.ROOM_FULL);
    assert.match(reply.type === 'error' ? reply.message : '', /p2p call holds 2 participants/);
    assert.equal((await carol.closed).code, CloseCode.ROOM_FULL);
    assert.equal(server.rooms.get(room)?.size, 2);
    assert.equal((await alice.request({ type: 'ping' })).type, 'pong');
    assert.equal(alice.of('participantJoined').filter((m) => m.participant.identity === 'carol').length, 0, 'carol never appeared');
    alice.close();
    bob.close();
  });

  test('the same identity joining again replaces the older connection: no ghost', async () => {
    const room = freshRoom();
    const alice = await TestClient.joined(server, room, 'alice');
    const bob1 = await TestClient.joined(server, room, 'bob');
    const bob2 = await TestClient.joined(server, room, 'bob');
    const replaced = await bob1.waitFor(isError(ErrorCode.REPLACED), 'REPLACED');
    assert.equal(replaced.type === 'error' && replaced.fatal, true);
    assert.equal((await bob1.closed).code, CloseCode.REPLACED);
    await alice.waitFor((m) => m.type === 'participantLeft' && m.identity === 'bob' && m.reason === 'replaced', 'participantLeft replaced');
    assert.equal(alice.of('participantJoined').filter((m) => m.participant.identity === 'bob').length, 2);
    assert.equal(server.rooms.get(room)?.size, 2);
    // The old socket closing must not remove the new bob.
    assert.equal((await bob2.request({ type: 'ping' })).type, 'pong');
    assert.equal(alice.of('participantLeft').length, 1);
    alice.close();
    bob2.close();
  });

  test('leaving and closing tell the others, and the room is freed when empty', async () => {
    const room = freshRoom();
    const alice = await TestClient.joined(server, room, 'alice');
    const bob = await TestClient.joined(server, room, 'bob');
    assert.equal((await bob.request({ type: 'leave' })).type, 'ack');
    assert.equal((await bob.closed).code, CloseCode.NORMAL);
    await alice.waitFor((m) => m.type === 'participantLeft' && m.reason === 'left', 'left');
    const bobAgain = await TestClient.joined(server, room, 'bob');
    bobAgain.close();
    await alice.waitFor((m) => m.type === 'participantLeft' && m.reason === 'disconnected', 'disconnected');
    alice.close();
    await alice.closed;
    await waitUntil(() => server.rooms.get(room) === undefined, 'room freed');
  });
});

describe('messages', () => {
  test('malformed JSON, unknown types, bad versions and binary frames get errors; the connection stays usable', async () => {
    const client = await TestClient.open(server);
    client.sendRaw('{"v":1,');
    await client.waitFor(isError(ErrorCode.MALFORMED_JSON), 'MALFORMED_JSON');
    const unknown = await client.request({ type: 'teleport' });
    assert.equal(unknown.type === 'error' && unknown.code, ErrorCode.UNKNOWN_TYPE);
    const version = await client.request({ type: 'ping', v: 99 });
    assert.equal(version.type === 'error' && version.code, ErrorCode.UNSUPPORTED_VERSION);
    client.sendRaw(Buffer.from([1, 2, 3]));
    await client.waitFor(isError(ErrorCode.INVALID_MESSAGE), 'INVALID_MESSAGE for binary');
    const invalid = await client.request({ type: 'setTrackMuted', source: 'camera' });
    assert.equal(invalid.type === 'error' && invalid.code, ErrorCode.INVALID_MESSAGE);
    assert.equal((await client.request({ type: 'ping' })).type, 'pong');
    assert.ok(client.of('error').every((e) => !e.fatal));
    client.close();
  });

  test('room messages before join are refused with NOT_JOINED', async () => {
    const client = await TestClient.open(server);
    for (const message of [
      { type: 'signal', to: 'bob', payload: { candidate: { candidate: 'c' } } },
      { type: 'setTrackMuted', source: 'camera', muted: true },
      { type: 'sendData', payload: 'hi' },
      { type: 'leave' },
    ]) {
      const reply = await client.request(message);
      assert.equal(reply.type === 'error' && reply.code, ErrorCode.NOT_JOINED, message.type);
    }
    client.close();
  });

  test('a replayed request id is refused with DUPLICATE_ID and not executed twice', async () => {
    const room = freshRoom();
    const alice = await TestClient.joined(server, room, 'alice');
    const bob = await TestClient.joined(server, room, 'bob');
    assert.equal((await alice.request({ type: 'sendData', payload: 'once', id: 'same' })).type, 'ack');
    alice.send({ type: 'sendData', payload: 'once', id: 'same' });
    await alice.waitFor((m) => m.type === 'error' && m.code === ErrorCode.DUPLICATE_ID && m.replyTo === 'same', 'DUPLICATE_ID');
    await bob.request({ type: 'ping' });
    assert.equal(bob.of('data').length, 1);
    alice.close();
    bob.close();
  });

  test('signals are relayed to the named participant only, stamped with the sender', async () => {
    const room = freshRoom();
    const alice = await TestClient.joined(server, room, 'alice');
    const bob = await TestClient.joined(server, room, 'bob');
    const payload = { description: { type: 'offer', sdp: OFFER_SENDING }, trackSources: { '0': 'camera' } };
    assert.equal((await alice.request({ type: 'signal', to: 'bob', payload })).type, 'ack');
    const signal = await bob.waitFor((m) => m.type === 'signal', 'signal');
    assert.deepEqual(signal.type === 'signal' && { from: signal.from, payload: signal.payload }, { from: 'alice', payload });
    const missing = await alice.request({ type: 'signal', to: 'nobody', payload });
    assert.equal(missing.type === 'error' && missing.code, ErrorCode.PARTICIPANT_NOT_FOUND);
    const self = await alice.request({ type: 'signal', to: 'alice', payload });
    assert.equal(self.type === 'error' && self.code, ErrorCode.PARTICIPANT_NOT_FOUND);
    alice.close();
    bob.close();
  });

  test('mute state is stored and broadcast; late joiners see it', async () => {
    const room = freshRoom();
    const alice = await TestClient.joined(server, room, 'alice');
    await alice.request({ type: 'setTrackMuted', source: 'microphone', muted: true });
    const bob = await TestClient.open(server);
    const joined = await bob.request({ type: 'join', token: await token(room, 'bob') });
    assert.deepEqual(joined.type === 'joined' && joined.participants[0]?.tracks, [{ source: 'microphone', muted: true }]);
    await bob.request({ type: 'setTrackMuted', source: 'camera', muted: false });
    const update = await alice.waitFor((m) => m.type === 'participantUpdated', 'participantUpdated');
    assert.deepEqual(update.type === 'participantUpdated' && update.participant.tracks, [{ source: 'camera', muted: false }]);
    alice.close();
    bob.close();
  });

  test('a broadcast (serialized once for the room) arrives as a text frame: a browser reads text frames only', async () => {
    const room = freshRoom();
    const alice = await TestClient.joined(server, room, 'alice');
    const bob = await TestClient.joined(server, room, 'bob');
    const joined = await alice.waitFor((m) => m.type === 'participantJoined' && m.participant.identity === 'bob', 'bob joined');
    assert.equal(joined.v, PROTOCOL_VERSION);
    assert.equal(alice.binaryFrames, 0, 'text frames only');
    alice.close();
    bob.close();
  });

  test('connection quality is broadcast on change; late joiners are told the known ones right after joining', async () => {
    const room = freshRoom();
    const alice = await TestClient.joined(server, room, 'alice');
    assert.equal((await alice.request({ type: 'setConnectionQuality', quality: 'good' })).type, 'ack');
    const bob = await TestClient.open(server);
    assert.equal((await bob.request({ type: 'join', token: await token(room, 'bob') })).type, 'joined');
    const known = await bob.waitFor((m) => m.type === 'connectionQuality', "alice's known quality");
    assert.deepEqual(known.type === 'connectionQuality' && [known.identity, known.quality], ['alice', 'good']);
    await bob.request({ type: 'setConnectionQuality', quality: 'poor' });
    const changed = await alice.waitFor((m) => m.type === 'connectionQuality', "bob's new quality");
    assert.deepEqual(changed.type === 'connectionQuality' && [changed.identity, changed.quality], ['bob', 'poor']);
    // The server keeps the reports as per-participant aggregates (for the metrics endpoint).
    const aggregates = server.rooms.participantAggregates().filter((a) => a.room === room);
    assert.deepEqual(
      aggregates.map((a) => [a.identity, a.connectionQuality, a.qualityChanges]).sort(),
      [['alice', 'good', 1], ['bob', 'poor', 1]],
    );
    alice.close();
    bob.close();
  });

  test('no message crosses rooms', async () => {
    const roomA = freshRoom();
    const roomB = freshRoom();
    const a1 = await TestClient.joined(server, roomA, 'alice');
    const b1 = await TestClient.joined(server, roomB, 'bob');
    const b2 = await TestClient.joined(server, roomB, 'carol');
    const toOtherRoom = await a1.request({ type: 'signal', to: 'bob', payload: { candidate: { candidate: 'c' } } });
    assert.equal(toOtherRoom.type === 'error' && toOtherRoom.code, ErrorCode.PARTICIPANT_NOT_FOUND);
    const dataToOtherRoom = await a1.request({ type: 'sendData', payload: 'x', to: ['carol'] });
    assert.equal(dataToOtherRoom.type === 'error' && dataToOtherRoom.code, ErrorCode.PARTICIPANT_NOT_FOUND);
    await a1.request({ type: 'sendData', payload: 'to my room' });
    await b1.request({ type: 'sendData', payload: 'hello carol' });
    await b2.waitFor((m) => m.type === 'data', 'data in room B');
    await a1.request({ type: 'ping' });
    assert.deepEqual(a1.received.filter((m) => m.type !== 'pong' && m.type !== 'ack' && m.type !== 'error' && m.type !== 'joined'), []);
    assert.deepEqual(b2.of('data').map((m) => m.payload), ['hello carol']);
    for (const c of [a1, b1, b2]) c.close();
  });
});

describe('grants', () => {
  test('each grant gates its action with PERMISSION_DENIED, changing nothing', async () => {
    const room = freshRoom();
    const viewer = await TestClient.joined(server, room, 'viewer', { canPublish: false, canSubscribe: true, canPublishData: false, roomAdmin: false });
    const host = await TestClient.joined(server, room, 'host', { roomAdmin: true });
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ type: 'signal', to: 'host', payload: { description: { type: 'offer', sdp: OFFER_SENDING } } }, /cannot publish/],
      [{ type: 'setTrackMuted', source: 'camera', muted: false }, /cannot publish/],
      [{ type: 'sendData', payload: 'hi' }, /cannot publish data/],
      [{ type: 'removeParticipant', identity: 'host' }, /roomAdmin/],
    ];
    for (const [message, reason] of cases) {
      const reply = await viewer.request(message);
      assert.equal(reply.type === 'error' && reply.code, ErrorCode.PERMISSION_DENIED, String(message.type));
      assert.match(reply.type === 'error' ? reply.message : '', reason);
    }
    assert.equal((await viewer.request({ type: 'signal', to: 'host', payload: { description: { type: 'offer', sdp: OFFER_RECEIVING } } })).type, 'ack', 'receive-only offers are fine');
    await host.request({ type: 'ping' });
    assert.equal(host.of('data').length + host.of('participantUpdated').length, 0);
    assert.equal(host.of('signal').length, 1);
    assert.equal(server.rooms.get(room)?.size, 2);
    viewer.close();
    host.close();
  });

  test('a room admin removes a participant: it is closed with REMOVED and the others are told', async () => {
    const room = freshRoom();
    const host = await TestClient.joined(server, room, 'host', { roomAdmin: true });
    const guest = await TestClient.joined(server, room, 'guest');
    assert.equal((await host.request({ type: 'removeParticipant', identity: 'guest' })).type, 'ack');
    await guest.waitFor(isError(ErrorCode.REMOVED), 'REMOVED');
    assert.equal((await guest.closed).code, CloseCode.REMOVED);
    await host.waitFor((m) => m.type === 'participantLeft' && m.reason === 'removed', 'participantLeft removed');
    assert.equal(server.rooms.get(room)?.size, 1);
    const missing = await host.request({ type: 'removeParticipant', identity: 'guest' });
    assert.equal(missing.type === 'error' && missing.code, ErrorCode.PARTICIPANT_NOT_FOUND);
    host.close();
  });
});

async function waitUntil(condition: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
