/**
 * Server recording in `tracks` mode end to end (docs/recording.md): a real Chromium publishes its
 * camera and microphone into an SFU room, the REST API starts and stops a server recording, and
 * ffprobe/ffmpeg check the per-track files the server made from the raw RTP it recorded.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { createToken, DEV_API_KEY, DEV_API_SECRET } from '@parley/server';
import { useCallEnvironment } from './harness/environment.ts';
import { SdkParticipant, type ParleyWindow } from './harness/participant.ts';
import { api as callApi, download as downloadFile, until, type ListedRecording } from './harness/recordings-api.ts';
import { decodeErrors, decodeProblems, frameAt, probe } from '../packages/server/test/media-tools.ts';

const RECORD_SECONDS = 9;
const KILL_AFTER_SECONDS = 5;
const dir = await mkdtemp(join(tmpdir(), 'parley-e2e-srvrec-'));
const env = useCallEnvironment({ recording: { directory: join(dir, 'store') } }, { firefox: false });
after(() => rm(dir, { recursive: true, force: true }));

type Listed = ListedRecording;

interface Manifest {
  tracks: Array<{ participant: string; source: string; kind: string; codec: string; file: string | null; startNtpMs: number | null; startArrivalMs: number | null; gaps: unknown[]; packets: number; layer: { index: number; rid: string | null }; rawBytes: number; tornTail: boolean }>;
}

const bearer = (room: string, grants: { canRecord: boolean }) => createToken({ apiKey: DEV_API_KEY, apiSecret: DEV_API_SECRET, room, identity: 'operator', ttlSeconds: 600, grants });

// The REST calls of harness/recordings-api.ts, on this file's server and directory.
const api = (method: string, path: string, token: string, body?: unknown) => callApi(env.server.url, method, path, token, body);
const download = (listed: Listed, token: string, name: string) => downloadFile(env.server.url, listed, token, name, dir);

async function waitReady(path: string, token: string, id: string): Promise<Listed> {
  return until('the recording ready', async () => {
    const found = ((await api('GET', path, token)).json as Listed[]).find((r) => r.id === id);
    return found && (found.status === 'ready' || found.status === 'failed') ? found : undefined;
  });
}

async function publishingAlice(room: string, grants: { canRecord?: boolean } = {}): Promise<SdkParticipant> {
  const alice = await SdkParticipant.join(env.chromium, env.server.url, room, 'alice', { roomConfig: { topology: 'sfu' }, video: { width: 640, height: 360, frameRate: 20 }, grants });
  await until('alice publishing camera and microphone to the SFU', async () => {
    const { tracks } = await env.server.media.timeline(room);
    return tracks.filter((t) => t.firstPacketAt !== undefined).length === 2 ? true : undefined;
  });
  return alice;
}

/** Checks codec, duration within 1 s of `truth`, a clean decode and (video) a seek to the middle. */
async function assertPlayable(local: string, kind: string, truth: number): Promise<number> {
  const probed = await probe(local);
  assert.deepEqual(probed.streams.map((s) => `${s.codec_type}:${s.codec_name}`), [kind === 'video' ? 'video:vp8' : 'audio:opus']);
  const duration = probed.durationSeconds ?? 0;
  assert.ok(Math.abs(duration - truth) < 1, `${local}: ${duration.toFixed(2)} s, truth ${truth.toFixed(2)} s`);
  const errors = await decodeProblems(local);
  assert.deepEqual(errors, [], `${local} decodes without an error`);
  assert.equal(await decodeErrors(local, ['-vsync', 'vfr']), '', 'every frame decodes, with its own timestamp');
  if (kind === 'video') assert.ok((await frameAt(local, truth / 2)) > 0, 'seeking to the middle gives a frame');
  return duration;
}

describe('server recording (tracks)', () => {
  test('Chromium camera + mic in an SFU room: a token without canRecord is refused and nothing starts; ~9 s recorded per track: VP8 and Opus WebM, duration within 1 s, decodes, seeks to the middle; manifest on one clock', async () => {
    const room = 'srvrec-1';
    const alice = await publishingAlice(room);
    const path = `/api/rooms/${room}/recordings`;
    const allowed = await bearer(room, { canRecord: true });

    const refused = await api('POST', path, await bearer(room, { canRecord: false }), { mode: 'tracks' });
    assert.equal(refused.status, 403);
    assert.match(JSON.stringify(refused.json), /PERMISSION_DENIED.*canRecord/);
    // The SDK asks the same API with the participant's own token, which has no canRecord.
    const sdkRefusal = await alice.page.evaluate(async () => {
      try {
        await (window as unknown as ParleyWindow).__parley.room.startRecording({ mode: 'tracks' });
        return 'started';
      } catch (error) {
        return `${(error as { code?: string }).code}: ${(error as Error).message}`;
      }
    }, undefined);
    assert.match(sdkRefusal, /^PERMISSION_DENIED: .*canRecord/);
    assert.deepEqual((await api('GET', path, allowed)).json, [], 'nothing started');

    const started = await api('POST', path, allowed, { mode: 'tracks' });
    const startedAt = Date.now();
    assert.equal(started.status, 201, JSON.stringify(started.json));
    const { id } = started.json as { id: string };
    assert.match(id, /^rec_[0-9a-f]{24}$/);
    const again = await api('POST', path, allowed, { mode: 'tracks' });
    assert.equal(again.status, 409, 'one tracks recording per room at a time');
    // Everyone in the room is told (consent): the SDK lists it as running.
    await alice.page.waitFor((recording) => (window as unknown as ParleyWindow).__parley.room.activeRecordings.some((r) => r.id === recording && r.mode === 'tracks'), id, { timeoutMs: 10_000, what: 'alice told of the recording' });
    await new Promise((resolve) => setTimeout(resolve, RECORD_SECONDS * 1000));
    const stopped = await api('POST', `${path}/${id}/stop`, allowed);
    const truth = (Date.now() - startedAt) / 1000;
    assert.equal(stopped.status, 200, JSON.stringify(stopped.json));
    assert.equal((stopped.json as Listed).status, 'processing');

    const exportStarted = Date.now();
    const listed = await waitReady(path, allowed, id);
    console.log(`recording ${id}: ${listed.status} ${Date.now() - exportStarted} ms after stop; files ${listed.files.map((f) => `${f.name} ${f.bytes} B ${f.durationSeconds ?? '-'} s`).join(', ')}; truth ${truth.toFixed(2)} s`);
    assert.equal(listed.status, 'ready', listed.error);
    assert.equal(listed.mode, 'tracks');
    const manifest = JSON.parse(await readFile(await download(listed, allowed, 'manifest.json'), 'utf8')) as Manifest;
    assert.deepEqual(manifest.tracks.map((t) => `${t.participant}:${t.source}:${t.codec}`).sort(), ['alice:camera:vp8', 'alice:microphone:opus']);
    for (const track of manifest.tracks) {
      assert.ok(track.file, `${track.source} has a file`);
      const duration = await assertPlayable(await download(listed, allowed, track.file), track.kind, truth);
      console.log(`${track.file}: ${duration.toFixed(3)} s (truth ${truth.toFixed(2)} s), layer ${track.layer.rid ?? track.layer.index}, ${track.packets} packets, raw ${track.rawBytes} B, gaps ${JSON.stringify(track.gaps)}`);
      assert.ok(track.startNtpMs !== null, `${track.source} is placed on the sender-report clock`);
    }
    const [first, second] = manifest.tracks;
    const skew = Math.abs(first!.startNtpMs! - second!.startNtpMs!);
    console.log(`camera and microphone start ${skew.toFixed(0)} ms apart on alice's clock`);
    assert.ok(skew < 1000, `both tracks start within the first second of each other (${skew.toFixed(0)} ms)`);
    await alice.disconnect();
  });

  test('the recorder process SIGKILLed mid-recording: signaling and the call go on, and the recording ends ready with what was written before the kill', async () => {
    const room = 'srvrec-kill';
    const alice = await publishingAlice(room, { canRecord: true });
    const path = `/api/rooms/${room}/recordings`;
    const allowed = await bearer(room, { canRecord: true });
    // Started from the SDK this time, by a participant with canRecord.
    const started = await alice.page.evaluate(() => (window as unknown as ParleyWindow).__parley.room.startRecording({ mode: 'tracks' }), undefined);
    const startedAt = Date.now();
    assert.equal(started.mode, 'tracks');
    const { id } = started;
    assert.match(id, /^rec_[0-9a-f]{24}$/);
    await new Promise((resolve) => setTimeout(resolve, KILL_AFTER_SECONDS * 1000));
    // The recorder is a child of the server, which runs in this test process.
    const { stdout } = await promisify(execFile)('pgrep', ['-P', String(process.pid), '-f', 'recorder-main']);
    const pids = stdout.split('\n').filter((line) => line !== '').map(Number);
    assert.equal(pids.length, 1, 'one recorder process');
    process.kill(pids[0]!, 'SIGKILL');
    const truth = (Date.now() - startedAt) / 1000;
    const listed = await waitReady(path, allowed, id);
    assert.equal(listed.status, 'ready', listed.error);
    const manifest = JSON.parse(await readFile(await download(listed, allowed, 'manifest.json'), 'utf8')) as Manifest;
    assert.equal(manifest.tracks.length, 2);
    for (const track of manifest.tracks) {
      assert.ok(track.file);
      const duration = await assertPlayable(await download(listed, allowed, track.file), track.kind, truth);
      console.log(`killed ${truth.toFixed(2)} s in: ${track.file} ${duration.toFixed(3)} s, raw ${track.rawBytes} B${track.tornTail ? ' (torn tail left out)' : ''}`);
    }
    // The call itself never noticed: alice is still connected and publishing.
    assert.equal(await alice.page.evaluate(() => (window as unknown as ParleyWindow).__parley.room.state, undefined), 'connected');
    // Stopping it from the SDK now is refused with the server's reason: it ended with the recorder.
    const lateStop = await alice.page.evaluate(async (recording) => {
      try {
        await (window as unknown as ParleyWindow).__parley.room.stopRecording(recording);
        return 'stopped';
      } catch (error) {
        return `${(error as { code?: string }).code}: ${(error as Error).message}`;
      }
    }, id);
    assert.match(lateStop, /^NOT_RECORDING: /);
    await alice.disconnect();
  });
});
