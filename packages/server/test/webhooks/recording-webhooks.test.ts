/**
 * `recording_ready` and `recording_failed` webhooks (docs/webhooks.md): a real server with a
 * recording directory and webhooks to a real local receiver. A browser recording uploaded over
 * tus and remuxed arrives as `recording_ready` with the files the REST API lists (and they
 * download); a server recording that could record nothing arrives as `recording_failed` with the
 * reason. Each is signed, sent once.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createToken, verifyWebhook, type RunningServer } from '../../src/index.ts';
import { startTestServer, TestClient, TEST_KEY, TEST_SECRET, token } from '../helpers.ts';
import { makeLiveWebm } from '../media-tools.ts';
import { absolute, tusCreate, tusPatch } from '../recording-tus.ts';
import { Receiver, type Delivery } from '../webhook-receiver.ts';

const SECRET = 'webhook-secret-0123456789abcdef-0123';
const RECORD = { canRecord: true };

describe('recording webhooks from a real server', () => {
  const receiver = new Receiver();
  let dir: string;
  let server: RunningServer;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-rec-hooks-'));
    await receiver.up();
    server = await startTestServer({ sfu: { workers: 1 }, recording: { directory: join(dir, 'store') }, webhooks: { urls: [receiver.url], secret: SECRET } });
  });
  after(async () => {
    await server.close();
    await receiver.down();
    await rm(dir, { recursive: true, force: true });
  });

  async function delivered(event: string, id: string, timeoutMs = 20_000): Promise<Delivery> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = receiver.deliveries.find((d) => d.payload.event === event && (d.payload as { recording?: { id: string } }).recording?.id === id);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no ${event} for ${id}; got ${receiver.deliveries.map((d) => d.payload.event).join(', ')}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  const listing = async (room: string, id: string, bearer: string) => (await (await fetch(`${server.url}/api/rooms/${room}/recordings/${id}`, { headers: { authorization: `Bearer ${bearer}` } })).json()) as Record<string, unknown>;

  test('a browser recording, uploaded and remuxed: recording_ready, signed, with the listed files, which download', async () => {
    const room = 'hook-browser';
    const watcher = await TestClient.joined(server, room, 'watcher');
    await makeLiveWebm(join(dir, 'source.webm'), 4);
    const webm = new Uint8Array(await readFile(join(dir, 'source.webm')));
    const bearer = await token(room, 'alice', { grants: RECORD });
    const created = await tusCreate(server.url, room, bearer);
    assert.equal(created.status, 201, created.body);
    const url = absolute(server.url, created.location);
    const id = url.split('/').pop() ?? '';
    assert.equal((await tusPatch(url, bearer, 0, webm, webm.length)).status, 204);

    const delivery = await delivered('recording_ready', id);
    assert.deepEqual(verifyWebhook(delivery.body, delivery.headers['parley-signature'] as string, SECRET).ok, true, 'signed');
    const payload = delivery.payload as unknown as { event: string; id: string; room: { name: string; topology?: string }; recording: { id: string; mode: string; status: string; files: Array<{ name: string; url: string; bytes: number; durationSeconds: number }> } };
    assert.equal(delivery.headers['parley-webhook-id'], payload.id);
    assert.deepEqual(payload.room, { name: room, topology: 'p2p' }, 'the room, open: its topology too');
    assert.deepEqual(payload.recording, await listing(room, id, bearer), 'the recording as GET .../recordings/{id} answers it');
    assert.equal(payload.recording.mode, 'browser');
    assert.equal(payload.recording.status, 'ready');
    const [file] = payload.recording.files;
    assert.ok(file && Math.abs(file.durationSeconds - 4) < 0.5, `file ${JSON.stringify(file)}`);
    const download = await fetch(new URL(file.url, server.url), { headers: { authorization: `Bearer ${bearer}` } });
    assert.equal(download.status, 200);
    assert.equal((await download.arrayBuffer()).byteLength, file.bytes);
    assert.equal(receiver.deliveries.filter((d) => (d.payload as { recording?: { id: string } }).recording?.id === id).length, 1, 'sent once');
    watcher.close();
  });

  test('a server recording that recorded nothing: recording_failed with the reason, room topology sfu', async () => {
    const room = 'hook-tracks';
    const joinToken = await createToken({ apiKey: TEST_KEY, apiSecret: TEST_SECRET, room, identity: 'bob', ttlSeconds: 600, roomConfig: { topology: 'sfu' } });
    const bob = await TestClient.open(server);
    assert.equal((await bob.request({ type: 'join', token: joinToken })).type, 'joined');
    const bearer = await token(room, 'op', { grants: RECORD });
    const post = (path: string, body?: unknown) => fetch(`${server.url}/api/rooms/${room}/recordings${path}`, { method: 'POST', headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' }, body: body === undefined ? '' : JSON.stringify(body) });
    const started = (await (await post('', { mode: 'tracks' })).json()) as { id: string };
    assert.equal((await post(`/${started.id}/stop`)).status, 200);

    const delivery = await delivered('recording_failed', started.id, 30_000);
    const payload = delivery.payload as unknown as { room: { name: string; topology?: string }; recording: { mode: string; status: string; error?: string; startedBy: string } };
    assert.deepEqual(payload.room, { name: room, topology: 'sfu' });
    assert.equal(payload.recording.mode, 'tracks');
    assert.equal(payload.recording.status, 'failed');
    assert.equal(payload.recording.startedBy, 'op');
    assert.match(payload.recording.error ?? '', /no track could be recorded/);
    assert.deepEqual(payload.recording, await listing(room, started.id, bearer));
    assert.equal(receiver.deliveries.some((d) => d.payload.event === 'recording_ready' && (d.payload as { recording?: { id: string } }).recording?.id === started.id), false, 'no ready for it');
    bob.close();
  });
});
