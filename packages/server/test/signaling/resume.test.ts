import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RunningServer } from '../../src/index.ts';
import { TestClient, startTestServer, token } from '../helpers.ts';

let server: RunningServer;
let roomCounter = 0;
const freshRoom = () => `resume-${++roomCounter}`;

before(async () => {
  server = await startTestServer({ rooms: { topology: 'p2p' }, reconnectGraceSeconds: 2 });
});
after(async () => {
  await server.close();
});

async function joinedWithSession(room: string, identity: string, resume?: string): Promise<{ client: TestClient; sessionId: string; resumed: boolean }> {
  const client = await TestClient.open(server);
  const reply = await client.request({ type: 'join', token: await token(room, identity), ...(resume ? { resume } : {}) });
  if (reply.type !== 'joined') throw new Error(`join failed: ${JSON.stringify(reply)}`);
  return { client, sessionId: reply.sessionId, resumed: reply.resumed };
}

/** Drops the socket the way a network failure would: no close frame, no leave. */
function drop(client: TestClient): void {
  client.ws.terminate();
}

describe('resuming a dropped connection', () => {
  test('a resume within the grace period keeps the membership: the others see no leave and no join', async () => {
    const room = freshRoom();
    const alice = await joinedWithSession(room, 'alice');
    const bob = await joinedWithSession(room, 'bob');
    assert.equal(alice.resumed, false);
    drop(alice.client);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(server.rooms.get(room)?.size, 2, 'alice is still a member while her connection is down');
    const again = await joinedWithSession(room, 'alice', alice.sessionId);
    assert.equal(again.resumed, true);
    assert.equal(again.sessionId, alice.sessionId);
    // Messages reach the resumed connection, and nobody saw a leave or a join.
    assert.equal((await bob.client.request({ type: 'sendData', payload: 'hi' })).type, 'ack');
    await again.client.waitFor((m) => m.type === 'data' && m.payload === 'hi', 'data after resume');
    await new Promise((resolve) => setTimeout(resolve, 2500));
    assert.equal(bob.client.of('participantLeft').length, 0);
    assert.equal(bob.client.of('participantJoined').filter((m) => m.participant.identity === 'alice').length, 0);
    assert.equal(server.rooms.get(room)?.size, 2);
    again.client.close();
    bob.client.close();
  });

  test('a resume while the old socket is still open takes over and closes the old one with 1001', async () => {
    const room = freshRoom();
    const alice = await joinedWithSession(room, 'alice');
    const bob = await joinedWithSession(room, 'bob');
    const again = await joinedWithSession(room, 'alice', alice.sessionId);
    assert.equal(again.resumed, true);
    assert.equal((await alice.client.closed).code, 1001);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(bob.client.of('participantLeft').length, 0, 'the takeover is silent');
    again.client.close();
    bob.client.close();
  });

  test('after the grace period the others see the leave, and a resume becomes a fresh join', async () => {
    const room = freshRoom();
    const alice = await joinedWithSession(room, 'alice');
    const bob = await joinedWithSession(room, 'bob');
    drop(alice.client);
    await bob.client.waitFor((m) => m.type === 'participantLeft' && m.identity === 'alice' && m.reason === 'disconnected', 'leave after grace', 5000);
    const again = await joinedWithSession(room, 'alice', alice.sessionId);
    assert.equal(again.resumed, false);
    assert.notEqual(again.sessionId, alice.sessionId);
    await bob.client.waitFor((m) => m.type === 'participantJoined' && m.participant.identity === 'alice', 'join again');
    again.client.close();
    bob.client.close();
  });

  test('a wrong session id does not resume: it is a normal join that replaces the old connection', async () => {
    const room = freshRoom();
    const alice = await joinedWithSession(room, 'alice');
    const bob = await joinedWithSession(room, 'bob');
    const other = await joinedWithSession(room, 'alice', 'not-the-session');
    assert.equal(other.resumed, false);
    await bob.client.waitFor((m) => m.type === 'participantLeft' && m.identity === 'alice' && m.reason === 'replaced', 'replaced');
    assert.equal((await alice.client.closed).code, 4002);
    other.client.close();
    bob.client.close();
  });

  test('a connection the server drops (link.drop(), what e2e tests use): closed without a close frame, the member suspended and resumable', async () => {
    const room = freshRoom();
    const alice = await joinedWithSession(room, 'alice');
    const participant = server.rooms.get(room)?.get('alice');
    assert.ok(participant);
    participant.link.drop();
    assert.equal((await alice.client.closed).code, 1006, 'no close frame');
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(participant.suspended, true);
    assert.equal((await joinedWithSession(room, 'alice', alice.sessionId)).resumed, true);
  });

  test("another identity's session id resumes nothing", async () => {
    const room = freshRoom();
    const alice = await joinedWithSession(room, 'alice');
    const mallory = await joinedWithSession(room, 'mallory', alice.sessionId);
    assert.equal(mallory.resumed, false);
    assert.equal(server.rooms.get(room)?.get('alice')?.sessionId, alice.sessionId, 'alice keeps her membership');
    alice.client.close();
    mallory.client.close();
  });
});
