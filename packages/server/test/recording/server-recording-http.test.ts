/**
 * The REST side of server recordings (`POST /api/rooms/{room}/recordings { mode: "tracks" }`):
 * refusals that change nothing, and a recording of an SFU room with nobody publishing going
 * recording -> processing -> failed with the reason (the browser e2e test records real tracks).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createToken, type RunningServer } from '../../src/index.ts';
import { startTestServer, TestClient, TEST_KEY, TEST_SECRET, token } from '../helpers.ts';

const RECORD = { canRecord: true };

describe('server recording REST', () => {
  let dir: string;
  let server: RunningServer;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-rec-http-'));
    server = await startTestServer({ recording: { directory: join(dir, 'store') } });
  });
  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function post(path: string, bearer: string, body?: unknown, contentType = 'application/json'): Promise<{ status: number; body: { id?: string; status?: string; error?: { code: string; message: string } } }> {
    const response = await fetch(`${server.url}/api/rooms/${path}`, { method: 'POST', headers: { authorization: `Bearer ${bearer}`, 'content-type': contentType }, body: body === undefined ? '' : JSON.stringify(body) });
    return { status: response.status, body: (await response.json()) as never };
  }

  async function listed(room: string): Promise<Array<{ id: string; mode: string; status: string; error?: string; files: unknown[] }>> {
    const response = await fetch(`${server.url}/api/rooms/${room}/recordings`, { headers: { authorization: `Bearer ${await token(room, 'op', { grants: RECORD })}` } });
    return (await response.json()) as never;
  }

  test('refusals: no canRecord (403), another room (403), bad mode or body (400/415), a `p2p` room or an empty one (409, for tracks and composite); none starts anything', async () => {
    const room = 'http-refusals';
    const p2p = await TestClient.open(server);
    const p2pToken = await createToken({ apiKey: TEST_KEY, apiSecret: TEST_SECRET, room, identity: 'alice', ttlSeconds: 600, roomConfig: { topology: 'p2p' } });
    assert.equal((await p2p.request({ type: 'join', token: p2pToken })).type, 'joined');
    const allowed = await token(room, 'op', { grants: RECORD });
    const cases: Array<[Promise<Awaited<ReturnType<typeof post>>>, number, string]> = [
      [post(`${room}/recordings`, await token(room, 'op'), { mode: 'tracks' }), 403, 'PERMISSION_DENIED'],
      [post(`${room}/recordings`, await token('elsewhere', 'op', { grants: RECORD }), { mode: 'tracks' }), 403, 'PERMISSION_DENIED'],
      [post(`${room}/recordings`, allowed, { mode: 'video' }), 400, 'INVALID_MESSAGE'],
      [post(`${room}/recordings`, allowed, { mode: 'browser' }), 400, 'INVALID_MESSAGE'],
      [post(`${room}/recordings`, allowed, { mode: 'tracks' }, 'text/plain'), 415, 'INVALID_MESSAGE'],
      [post(`${room}/recordings`, allowed, {}), 400, 'INVALID_MESSAGE'],
      [post(`${room}/recordings`, allowed, { mode: 'composite' }), 409, 'ROOM_NOT_ON_SFU'],
      [post(`${room}/recordings`, allowed, { mode: 'tracks' }), 409, 'ROOM_NOT_ON_SFU'],
      [post(`empty-room/recordings`, await token('empty-room', 'op', { grants: RECORD }), { mode: 'tracks' }), 409, 'ROOM_NOT_ON_SFU'],
      [post(`${room}/recordings/rec_000000000000000000000000/stop`, allowed), 409, 'NOT_RECORDING'],
    ];
    for (const [answer, status, code] of cases) {
      const { status: got, body } = await answer;
      assert.deepEqual([got, body.error?.code], [status, code], body.error?.message);
    }
    assert.deepEqual(await listed(room), []);
    assert.deepEqual(await readdir(join(dir, 'store')).catch(() => []), [], 'no recorder was started, nothing written');
    assert.equal(p2p.of('topologyChanged').length, 0, 'the p2p room stayed P2P');
    p2p.close();
  });

  test('an SFU room nobody publishes in: started (201, everyone told), one at a time (409), stopped (processing), then failed with the reason; deletable', async () => {
    const room = 'http-sfu';
    const joinToken = await createToken({ apiKey: TEST_KEY, apiSecret: TEST_SECRET, room, identity: 'bob', ttlSeconds: 600, roomConfig: { topology: 'sfu' } });
    const bob = await TestClient.open(server);
    assert.equal((await bob.request({ type: 'join', token: joinToken })).type, 'joined');
    const allowed = await token(room, 'op', { grants: RECORD });
    const started = await post(`${room}/recordings`, allowed, { mode: 'tracks' });
    assert.equal(started.status, 201, started.body.error?.message);
    const id = started.body.id!;
    await bob.waitFor((message) => message.type === 'recordingChanged' && message.recording.id === id && message.recording.status === 'recording', 'recordingChanged: recording');
    assert.equal((await post(`${room}/recordings`, allowed, { mode: 'tracks' })).status, 409);
    const stopped = await post(`${room}/recordings/${id}/stop`, allowed);
    assert.deepEqual([stopped.status, stopped.body.status], [200, 'processing']);
    await bob.waitFor((message) => message.type === 'recordingChanged' && message.recording.id === id && message.recording.status === 'failed', 'recordingChanged: failed', 30_000);
    const [record] = await listed(room);
    assert.equal(record?.mode, 'tracks');
    assert.match(record?.error ?? '', /no track could be recorded/);
    const deleted = await fetch(`${server.url}/api/rooms/${room}/recordings/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${allowed}` } });
    assert.equal(deleted.status, 200);
    assert.deepEqual(await listed(room), []);
    bob.close();
  });

  test('composite in an SFU room nobody publishes in: started (201, mode composite, everyone told), a second server recording refused (409), stopped, then failed saying why there is no composite', async () => {
    const room = 'http-composite';
    const joinToken = await createToken({ apiKey: TEST_KEY, apiSecret: TEST_SECRET, room, identity: 'carol', ttlSeconds: 600, roomConfig: { topology: 'sfu' } });
    const carol = await TestClient.open(server);
    assert.equal((await carol.request({ type: 'join', token: joinToken })).type, 'joined');
    const allowed = await token(room, 'op', { grants: RECORD });
    const started = await post(`${room}/recordings`, allowed, { mode: 'composite' });
    assert.equal(started.status, 201, started.body.error?.message);
    const id = started.body.id!;
    await carol.waitFor((message) => message.type === 'recordingChanged' && message.recording.id === id && message.recording.mode === 'composite' && message.recording.status === 'recording', 'recordingChanged: composite recording');
    const second = await post(`${room}/recordings`, allowed, { mode: 'tracks' });
    assert.deepEqual([second.status, second.body.error?.code], [409, 'ALREADY_RECORDING']);
    assert.equal((await post(`${room}/recordings/${id}/stop`, allowed)).status, 200);
    await carol.waitFor((message) => message.type === 'recordingChanged' && message.recording.id === id && message.recording.status === 'failed', 'recordingChanged: failed', 30_000);
    const [record] = await listed(room);
    assert.equal(record?.mode, 'composite');
    assert.match(record?.error ?? '', /the composite could not be made: no track has a file to compose; no track could be recorded/);
    carol.close();
  });
});

describe('server recording of an `auto` room (back to P2P at two)', () => {
  let dir: string;
  let server: RunningServer;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-rec-auto-'));
    server = await startTestServer({ recording: { directory: join(dir, 'store') }, rooms: { p2pWhenTwo: true } });
  });
  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  const post = async (path: string, bearer: string, body?: unknown) => {
    const response = await fetch(`${server.url}/api/rooms/${path}`, { method: 'POST', headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' }, body: body === undefined ? '' : JSON.stringify(body) });
    return { status: response.status, body: (await response.json()) as { id?: string; status?: string; error?: { code: string; message: string } } };
  };
  const topologies = (client: TestClient) => client.of('topologyChanged').map((m) => m.topology);

  test('a P2P call of two: the recording moves it to the SFU (everyone told), it stays there while the recording runs (a third joining and leaving does not move it back), and goes back to P2P after the stop', async () => {
    const room = 'http-auto';
    const [alice, bob] = [await TestClient.joined(server, room, 'alice'), await TestClient.joined(server, room, 'bob')];
    assert.deepEqual([topologies(alice), topologies(bob)], [[], []], 'two people: P2P');
    const allowed = await token(room, 'op', { grants: RECORD });
    const started = await post(`${room}/recordings`, allowed, { mode: 'tracks' });
    assert.equal(started.status, 201, started.body.error?.message);
    const id = started.body.id!;
    for (const client of [alice, bob]) await client.waitFor((m) => m.type === 'topologyChanged' && m.topology === 'sfu', 'topologyChanged: sfu');
    await alice.waitFor((m) => m.type === 'recordingChanged' && m.recording.id === id && m.recording.status === 'recording', 'recordingChanged: recording');
    const carol = await TestClient.joined(server, room, 'carol');
    carol.close();
    await alice.waitFor((m) => m.type === 'participantLeft' && m.identity === 'carol', 'carol left');
    const beforeStop = bob.received.length;
    const stopped = await post(`${room}/recordings/${id}/stop`, allowed);
    assert.deepEqual([stopped.status, stopped.body.status], [200, 'processing']);
    for (const client of [alice, bob]) await client.waitFor((m) => m.type === 'topologyChanged' && m.topology === 'p2p', 'topologyChanged: p2p after the stop');
    // Back at two while recording, the room stayed on the SFU: its one move back came with the stop.
    assert.deepEqual(topologies(bob), ['sfu', 'p2p']);
    assert.ok(bob.received.findIndex((m) => m.type === 'topologyChanged' && m.topology === 'p2p') >= beforeStop, 'no move back to P2P while the recording ran');
    await alice.waitFor((m) => m.type === 'recordingChanged' && m.recording.id === id && m.recording.status === 'failed', 'recordingChanged: failed (nobody published)', 30_000);
    alice.close();
    bob.close();
  });
});
