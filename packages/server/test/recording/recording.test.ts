import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { LocalRecordingStorage, type RecordingRecord, type RunningServer } from '../../src/index.ts';
import { FsyncFileStore } from '../../src/recording/fsync-file-store.ts';
import { decodeErrors, frameAt, makeLiveWebm, probe } from '../media-tools.ts';
import { startTestServer, TestClient, token } from '../helpers.ts';
import { absolute, tusCreate, tusHead, tusPatch } from '../recording-tus.ts';
import { ServerProcess } from '../server-process.ts';

const RECORD = { canRecord: true };
const CHUNK = 64 * 1024;

interface Listed {
  id: string;
  mode: string;
  status: string;
  startedBy: string;
  files: Array<{ name: string; url: string; bytes: number; durationSeconds: number | null }>;
}

async function list(base: string, room: string, bearer: string): Promise<Listed[]> {
  const response = await fetch(`${base}/api/rooms/${room}/recordings`, { headers: { authorization: `Bearer ${bearer}` } });
  assert.equal(response.status, 200, await response.clone().text());
  return (await response.json()) as Listed[];
}

async function errorOf(response: Response): Promise<{ status: number; code: string }> {
  const body = (await response.json()) as { error: { code: string } };
  return { status: response.status, code: body.error.code };
}

/** Uploads `bytes` from `from` in CHUNK pieces, checking each acknowledged offset. */
async function uploadRange(url: string, bearer: string, bytes: Uint8Array, from: number, to: number, finish = false): Promise<number> {
  let offset = from;
  while (offset < to) {
    const end = Math.min(to, offset + CHUNK);
    const last = finish && end === bytes.length;
    const answer = await tusPatch(url, bearer, offset, bytes.subarray(offset, end), last ? bytes.length : undefined);
    assert.equal(answer.status, 204, answer.body);
    assert.equal(answer.offset, end);
    offset = end;
  }
  return offset;
}

describe('browser recording uploads (tus 1.0)', () => {
  let dir: string;
  let webm: Uint8Array;
  let server: RunningServer;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-rec-'));
    await makeLiveWebm(join(dir, 'source.webm'), 6);
    webm = new Uint8Array(await readFile(join(dir, 'source.webm')));
    server = await startTestServer({ recording: { directory: join(dir, 'store'), maxChunkBytes: 256 * 1024, idleFinishSeconds: 1 } });
  });
  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('the source is what MediaRecorder writes: a live WebM without a duration', async () => {
    assert.equal((await probe(join(dir, 'source.webm'))).durationSeconds, undefined);
  });

  test('no token 401, no canRecord 403, another room’s token 403: nothing is created', async () => {
    assert.equal((await tusCreate(server.url, 'rec-a', undefined)).status, 401);
    const plain = await tusCreate(server.url, 'rec-a', await token('rec-a', 'alice'));
    assert.equal(plain.status, 403);
    assert.match(plain.body, /canRecord/);
    assert.equal((await tusCreate(server.url, 'rec-a', await token('rec-b', 'alice', { grants: RECORD }))).status, 403);
    assert.deepEqual(await errorOf(await fetch(`${server.url}/api/rooms/rec-a/recordings`, { headers: { authorization: `Bearer ${await token('rec-a', 'bob')}` } })), { status: 403, code: 'PERMISSION_DENIED' });
    assert.deepEqual(await list(server.url, 'rec-a', await token('rec-a', 'alice', { grants: RECORD })), []);
  });

  test('uploaded while recording, finished: a seekable WebM with its duration; the room is told each step', async () => {
    const watcher = await TestClient.joined(server, 'rec-a', 'watcher');
    const bearer = await token('rec-a', 'alice', { grants: RECORD });
    const created = await tusCreate(server.url, 'rec-a', bearer);
    assert.equal(created.status, 201, created.body);
    const url = absolute(server.url, created.location);
    const id = url.split('/').pop() ?? '';
    assert.match(id, /^rec_[0-9a-f]{24}$/);
    assert.equal((await tusHead(url, bearer)).offset, 0);
    await uploadRange(url, bearer, webm, 0, webm.length, true);
    for (const status of ['recording', 'processing', 'ready']) {
      await watcher.waitFor((m) => m.type === 'recordingChanged' && m.recording.id === id && m.recording.status === status, `recordingChanged ${status}`, 15_000);
    }
    const [listed] = await list(server.url, 'rec-a', bearer);
    assert.equal(listed?.id, id);
    assert.equal(listed?.mode, 'browser');
    assert.equal(listed?.status, 'ready');
    assert.equal(listed?.startedBy, 'alice');
    const file = listed?.files[0];
    assert.ok(file && file.durationSeconds !== null && Math.abs(file.durationSeconds - 6) < 0.5, `duration ${file?.durationSeconds}`);
    const download = await fetch(new URL(file.url, server.url), { headers: { authorization: `Bearer ${bearer}` } });
    assert.equal(download.status, 200);
    const bytes = new Uint8Array(await download.arrayBuffer());
    assert.equal(bytes.length, file.bytes);
    const path = join(dir, 'downloaded.webm');
    await writeFile(path, bytes);
    const probed = await probe(path);
    assert.deepEqual(probed.streams.map((s) => `${s.codec_type}:${s.codec_name}`).sort(), ['audio:opus', 'video:vp9']);
    assert.ok(Math.abs((probed.durationSeconds ?? 0) - 6) < 0.5);
    assert.equal(await decodeErrors(path), '');
    assert.equal(await frameAt(path, 3), 320 * 240, 'one whole frame decoded after seeking to 3 s');
    // The finished upload is gone: writing to it is an unknown upload.
    assert.equal((await tusPatch(url, bearer, webm.length, new Uint8Array(10))).status, 404);
    watcher.ws.close();
  });

  test('a participant who joins while a recording runs hears of it right after joined', async () => {
    const bearer = await token('rec-g', 'gina', { grants: RECORD });
    const id = absolute(server.url, (await tusCreate(server.url, 'rec-g', bearer)).location).split('/').pop() ?? '';
    const late = await TestClient.joined(server, 'rec-g', 'late');
    const event = await late.waitFor((m) => m.type === 'recordingChanged', 'recordingChanged after joined');
    assert.deepEqual(event.type === 'recordingChanged' ? event.recording : undefined, { id, mode: 'browser', status: 'recording', startedBy: 'gina' });
    assert.ok(late.received.findIndex((m) => m.type === 'joined') < late.received.indexOf(event), 'after joined, so the SDK has a room to tell');
    late.ws.close();
  });

  test('limits: oversized chunk 413, unknown upload 404, someone else’s 403, wrong offset 409; nothing changes', async () => {
    const bearer = await token('rec-c', 'carol', { grants: RECORD });
    const url = absolute(server.url, (await tusCreate(server.url, 'rec-c', bearer)).location);
    await uploadRange(url, bearer, webm, 0, CHUNK);
    const big = await tusPatch(url, bearer, CHUNK, new Uint8Array(256 * 1024 + 1));
    assert.equal(big.status, 413);
    assert.match(big.body, /CHUNK_TOO_LARGE/);
    assert.equal((await tusHead(url, bearer)).offset, CHUNK);
    const unknown = await tusPatch(url.replace(/rec_[0-9a-f]+$/, 'rec_000000000000000000000000'), bearer, 0, new Uint8Array(1));
    assert.equal(unknown.status, 404);
    assert.match(unknown.body, /UPLOAD_NOT_FOUND/);
    assert.equal((await tusPatch(url, await token('rec-c', 'dave', { grants: RECORD }), CHUNK, new Uint8Array(1))).status, 403);
    assert.equal((await tusPatch(url, bearer, 0, new Uint8Array(1))).status, 409);
    assert.equal((await tusHead(url, bearer)).offset, CHUNK);
  });

  test('another room never sees, writes, downloads or deletes this room’s recordings', async () => {
    const own = await token('rec-a', 'alice', { grants: RECORD });
    const [recording] = await list(server.url, 'rec-a', own);
    assert.ok(recording);
    const other = await token('rec-z', 'mallory', { grants: RECORD });
    assert.deepEqual(await list(server.url, 'rec-z', other), []);
    const base = `${server.url}/api/rooms/rec-z/recordings/${recording.id}`;
    assert.equal((await fetch(`${base}/files/recording.webm`, { headers: { authorization: `Bearer ${other}` } })).status, 404);
    assert.equal((await fetch(base, { method: 'DELETE', headers: { authorization: `Bearer ${other}` } })).status, 404);
    assert.equal((await fetch(`${server.url}/api/rooms/rec-a/recordings/${recording.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${other}` } })).status, 403);
    const carol = await token('rec-c', 'carol', { grants: RECORD });
    const [open] = await list(server.url, 'rec-c', carol);
    assert.ok(open);
    assert.equal((await tusPatch(`${server.url}/api/rooms/rec-z/recordings/uploads/${open.id}`, other, CHUNK, new Uint8Array(1))).status, 404);
    assert.equal((await list(server.url, 'rec-a', own)).length, 1);
  });

  /** A watcher in `room`, and an upload of `identity`'s there holding the first half of the WebM, acknowledged. */
  async function halfUploaded(room: string, identity: string) {
    const watcher = await TestClient.joined(server, room, 'watcher');
    const bearer = await token(room, identity, { grants: RECORD });
    const url = absolute(server.url, (await tusCreate(server.url, room, bearer)).location);
    const half = Math.floor(webm.length / 2);
    await uploadRange(url, bearer, webm, 0, half);
    return { watcher, bearer, url, id: url.split('/').pop() ?? '', half };
  }

  test('an upload nobody writes to is finished with the bytes it has (the recording browser closed)', async () => {
    const { watcher, bearer, id } = await halfUploaded('rec-d', 'erin');
    await watcher.waitFor((m) => m.type === 'recordingChanged' && m.recording.id === id && m.recording.status === 'ready', 'ready after the idle time', 15_000);
    const [listed] = await list(server.url, 'rec-d', bearer);
    const duration = listed?.files[0]?.durationSeconds ?? 0;
    assert.ok(duration > 2 && duration < 6, `half the upload holds about half the 6 s: ${duration}`);
    watcher.ws.close();
  });

  test("an upload whose author is still in the room is not idle, however late its first bytes (a slow MediaRecorder); once the author's connection drops, it is finished with what it has", async () => {
    const watcher = await TestClient.joined(server, 'rec-g', 'watcher');
    const author = await TestClient.joined(server, 'rec-g', 'fay', RECORD);
    const bearer = await token('rec-g', 'fay', { grants: RECORD });
    const first = absolute(server.url, (await tusCreate(server.url, 'rec-g', bearer)).location);
    // The scenario: the first chunk comes after 2.5 idle times (idleFinishSeconds is 1 here).
    await new Promise((resolve) => setTimeout(resolve, 2500));
    assert.equal(await uploadRange(first, bearer, webm, 0, webm.length, true), webm.length, 'the late bytes are taken, and the length declared');
    const firstId = first.split('/').pop() ?? '';
    await watcher.waitFor((m) => m.type === 'recordingChanged' && m.recording.id === firstId && m.recording.status === 'ready', 'the whole upload ready', 15_000);
    const done = (await list(server.url, 'rec-g', bearer)).find((r) => r.id === firstId);
    assert.ok(Math.abs((done?.files[0]?.durationSeconds ?? 0) - 6) < 0.5, `the whole 6 s: ${done?.files[0]?.durationSeconds}`);
    // The author's browser goes away mid-upload: the idle time finishes the second upload.
    const second = absolute(server.url, (await tusCreate(server.url, 'rec-g', bearer)).location);
    const secondId = second.split('/').pop() ?? '';
    await uploadRange(second, bearer, webm, 0, Math.floor(webm.length / 2));
    author.ws.close();
    await watcher.waitFor((m) => m.type === 'recordingChanged' && m.recording.id === secondId && m.recording.status === 'ready', "ready once the author's connection dropped", 15_000);
    watcher.ws.close();
  });

  test('a chunk cut mid-body (the recording browser killed while it was on its way): the upload is finished after the idle time with the bytes acknowledged before it', async () => {
    const { watcher, bearer, url, id, half } = await halfUploaded('rec-cut', 'gus');
    // The next chunk announces CHUNK bytes, sends a third of them, and its connection is reset.
    const target = new URL(url);
    const socket = connect(Number(target.port), target.hostname);
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(
      `PATCH ${target.pathname} HTTP/1.1\r\nHost: ${target.host}\r\nTus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\n` +
        `Upload-Offset: ${half}\r\nAuthorization: Bearer ${bearer}\r\nContent-Length: ${CHUNK}\r\n\r\n`,
    );
    socket.write(webm.subarray(half, half + Math.floor(CHUNK / 3)));
    await new Promise((resolve) => setTimeout(resolve, 200));
    socket.resetAndDestroy();
    await watcher.waitFor((m) => m.type === 'recordingChanged' && m.recording.id === id && m.recording.status === 'ready', 'ready after the idle time, the cut chunk notwithstanding', 15_000);
    const [listed] = await list(server.url, 'rec-cut', bearer);
    assert.ok((listed?.files[0]?.bytes ?? 0) > 0.9 * half, `the acknowledged half is kept: ${listed?.files[0]?.bytes} bytes of ${half}`);
    watcher.ws.close();
  });

  test('DELETE removes a finished recording and its file; a running one is refused with 409', async () => {
    const bearer = await token('rec-a', 'alice', { grants: RECORD });
    const [recording] = await list(server.url, 'rec-a', bearer);
    assert.ok(recording);
    const gone = await fetch(`${server.url}/api/rooms/rec-a/recordings/${recording.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${bearer}` } });
    assert.equal(gone.status, 200);
    assert.deepEqual(await list(server.url, 'rec-a', bearer), []);
    assert.equal((await fetch(new URL(recording.files[0]?.url ?? '', server.url), { headers: { authorization: `Bearer ${bearer}` } })).status, 404);
    const frank = await token('rec-f', 'frank', { grants: RECORD });
    const running = absolute(server.url, (await tusCreate(server.url, 'rec-f', frank)).location).split('/').pop() ?? '';
    const refused = await fetch(`${server.url}/api/rooms/rec-f/recordings/${running}`, { method: 'DELETE', headers: { authorization: `Bearer ${frank}` } });
    assert.equal(refused.status, 409);
    assert.equal((await list(server.url, 'rec-f', frank))[0]?.status, 'recording');
  });
});

describe('recording quotas', () => {
  let server: RunningServer;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-rec-quota-'));
    server = await startTestServer({ recording: { directory: dir, quotaBytesPerUser: 100_000, quotaBytesPerServer: 150_000 } });
  });
  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('past the user quota 413 USER_QUOTA_EXCEEDED, past the server quota 413 SERVER_QUOTA_EXCEEDED; offsets unchanged', async () => {
    const alice = await token('quota', 'alice', { grants: RECORD });
    const aliceUrl = absolute(server.url, (await tusCreate(server.url, 'quota', alice)).location);
    assert.equal((await tusPatch(aliceUrl, alice, 0, new Uint8Array(90_000))).offset, 90_000);
    const over = await tusPatch(aliceUrl, alice, 90_000, new Uint8Array(20_000));
    assert.equal(over.status, 413);
    assert.match(over.body, /USER_QUOTA_EXCEEDED/);
    assert.equal((await tusHead(aliceUrl, alice)).offset, 90_000);
    assert.equal((await tusPatch(aliceUrl, alice, 90_000, new Uint8Array(10_000))).offset, 100_000, 'up to the quota exactly');
    const bob = await token('quota', 'bob', { grants: RECORD });
    const bobUrl = absolute(server.url, (await tusCreate(server.url, 'quota', bob)).location);
    assert.equal((await tusPatch(bobUrl, bob, 0, new Uint8Array(40_000))).offset, 40_000);
    const full = await tusPatch(bobUrl, bob, 40_000, new Uint8Array(20_000));
    assert.equal(full.status, 413);
    assert.match(full.body, /SERVER_QUOTA_EXCEEDED/);
    assert.equal((await tusHead(bobUrl, bob)).offset, 40_000);
  });
});

describe('an upload survives kill -9 of the server', () => {
  let dir: string;
  let webm: Uint8Array;
  let server: ServerProcess | undefined;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-rec-kill-'));
    await makeLiveWebm(join(dir, 'source.webm'), 6);
    webm = new Uint8Array(await readFile(join(dir, 'source.webm')));
  });
  after(async () => {
    await server?.kill();
    await rm(dir, { recursive: true, force: true });
  });

  test('every acknowledged byte is there after the restart; the upload resumes from the offset HEAD answers and finishes whole', async () => {
    const config = { port: 0, host: '127.0.0.1', dev: true, turn: { enabled: false }, sfu: { startAtBoot: false }, recording: { directory: join(dir, 'store') } };
    server = await ServerProcess.start(config);
    const port = Number(new URL(server.url).port);
    const bearer = await token('crash', 'alice', { grants: RECORD, key: 'devkey', secret: 'parley-dev-secret-not-for-production-use' });
    const url = absolute(server.url, (await tusCreate(server.url, 'crash', bearer)).location);
    const acknowledged = await uploadRange(url, bearer, webm, 0, Math.floor(webm.length / 3));
    // A PATCH whose body is half sent when the server dies.
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent < 20_000) {
          controller.enqueue(webm.subarray(acknowledged + sent, acknowledged + sent + 10_000));
          sent += 10_000;
        }
      },
    });
    const inFlight = fetch(url, {
      method: 'PATCH',
      headers: { 'tus-resumable': '1.0.0', 'content-type': 'application/offset+octet-stream', 'upload-offset': String(acknowledged), 'content-length': '40000', authorization: `Bearer ${bearer}` },
      body,
      duplex: 'half',
    } as RequestInit).catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await server.kill();
    assert.ok((await inFlight) instanceof Error, 'the PATCH in flight never got an answer');
    server = await ServerProcess.start({ ...config, port });
    const head = await tusHead(url, bearer);
    assert.equal(head.status, 200);
    const offset = head.offset ?? -1;
    assert.ok(offset >= acknowledged, `HEAD ${offset} >= acknowledged ${acknowledged}`);
    assert.ok(offset <= acknowledged + 20_000, 'no byte that was never sent');
    const stored = new Uint8Array(await readFile(join(dir, 'store', 'uploads', url.split('/').pop() ?? '')));
    assert.deepEqual(stored.subarray(0, offset), webm.subarray(0, offset), 'the stored bytes are the ones sent, in order');
    await uploadRange(url, bearer, webm, offset, webm.length, true);
    let listed: Listed[] = [];
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && listed[0]?.status !== 'ready') {
      listed = await list(server.url, 'crash', bearer);
      if (listed[0]?.status !== 'ready') await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.equal(listed[0]?.status, 'ready');
    const response = await fetch(new URL(listed[0]?.files[0]?.url ?? '', server.url), { headers: { authorization: `Bearer ${bearer}` } });
    const path = join(dir, 'after-crash.webm');
    await writeFile(path, new Uint8Array(await response.arrayBuffer()));
    assert.equal(await decodeErrors(path), '');
    assert.ok(Math.abs(((await probe(path)).durationSeconds ?? 0) - 6) < 0.5);
  });
});

test('the last chunk is answered only once the recording is saved as processing: a listing right after it never says recording', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'parley-rec-slow-'));
  // A storage whose save of the processing status is slow (a busy disk, a remote store): the
  // answer to the last chunk must wait for it.
  class SlowProcessingSave extends LocalRecordingStorage {
    override async save(record: RecordingRecord): Promise<void> {
      if (record.status === 'processing') await new Promise((resolve) => setTimeout(resolve, 400));
      return super.save(record);
    }
  }
  const directory = join(dir, 'store');
  const server = await startTestServer({ recording: { directory, idleFinishSeconds: 30 } }, { recordingStorage: new SlowProcessingSave(directory) });
  try {
    await makeLiveWebm(join(dir, 'source.webm'), 2);
    const bytes = new Uint8Array(await readFile(join(dir, 'source.webm')));
    const bearer = await token('rec-slow', 'hal', { grants: RECORD });
    const url = absolute(server.url, (await tusCreate(server.url, 'rec-slow', bearer)).location);
    const answer = await tusPatch(url, bearer, 0, bytes, bytes.length);
    assert.equal(answer.status, 204, answer.body);
    const [listed] = await list(server.url, 'rec-slow', bearer);
    assert.ok(listed?.status === 'processing' || listed?.status === 'ready', `listed right after the last chunk's answer: ${listed?.status}`);
  } finally {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('FsyncFileStore: write() resolves only after the fsync of the offset it answers', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'parley-fsync-'));
  const events: string[] = [];
  const store = new FsyncFileStore({ directory: dir, onSynced: (id, offset) => events.push(`synced ${id} ${offset}`) });
  const { Upload } = await import('@tus/utils');
  await store.create(new Upload({ id: 'rec_aaaaaaaaaaaaaaaaaaaaaaaa', offset: 0, size: undefined }));
  const offset = await store.write(Readable.from([Buffer.alloc(1000, 1), Buffer.alloc(500, 2)]), 'rec_aaaaaaaaaaaaaaaaaaaaaaaa', 0);
  events.push(`resolved ${offset}`);
  assert.deepEqual(events, ['synced rec_aaaaaaaaaaaaaaaaaaaaaaaa 1500', 'resolved 1500']);
  await rm(dir, { recursive: true, force: true });
});

test('remux of an empty upload fails saying so: ffmpeg’s exit code, the input’s 0 bytes and its own words', async () => {
  const { remuxWebm } = await import('../../src/recording/remux.ts');
  const dir = await mkdtemp(join(tmpdir(), 'parley-remux-'));
  try {
    await writeFile(join(dir, 'empty'), new Uint8Array(0));
    await assert.rejects(remuxWebm({ ffmpegPath: 'ffmpeg', ffprobePath: 'ffprobe' }, join(dir, 'empty'), join(dir, 'out.webm')), (error: Error) => {
      assert.match(error.message, /ffmpeg exited with 1 on 0 bytes of input: .*(Invalid data|End of file)/s);
      return true;
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
