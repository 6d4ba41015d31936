/**
 * Browser recording end to end (docs/recording.md): real Chromium and Firefox record through the
 * SDK (MediaRecorder, tus uploads while recording), the server remuxes, and ffprobe/ffmpeg check
 * the files. The recorded "camera" is a canvas drawing the seconds since the page started as
 * bars, so a file can be checked for missing and repeated seconds (harness/recording-page.ts).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, describe, test } from 'node:test';
import { createToken, DEV_API_KEY, DEV_API_SECRET } from '@parley/server';
import { launchBrowser } from './harness/browsers.ts';
import { byTestId, click, joinThroughUi, waitForCall, waitForRemoteVideo } from './harness/web-ui.ts';
import { serverLogLines, useCallEnvironment } from './harness/environment.ts';
import { counterProblem, RecordingPage, secondsIn, type RecordingPageState } from './harness/recording-page.ts';
import { frameAt, probe, stripBrightness } from '../packages/server/test/media-tools.ts';
import { assertDecodes, download as downloadListed, recordToken, waitFinished } from './harness/recordings-api.ts';
import { beepsOf, flashTimes } from './harness/av-sync.ts';
import { joinFlashBeep } from './harness/flash-beep-page.ts';
import type { ParleyWindow } from './harness/participant.ts';
import { UPLOAD_STALL_TIMEOUT_MS } from '../packages/client/src/recording/stall-timeout.ts';
import { ServerProcess } from '../packages/server/test/server-process.ts';
import { SilentDropProxy } from './harness/silent-drop-proxy.ts';

const exec = promisify(execFile);
const RECORD = { canRecord: true };
const FPS = 4;
/** How long the silent-drop test's network delivers nothing: more than the SDK's 5 s stall timeout plus a chunk's second. */
const DROP_MS = 7000;
const dir = await mkdtemp(join(tmpdir(), 'parley-e2e-rec-'));
const env = useCallEnvironment({ recording: { directory: join(dir, 'store'), idleFinishSeconds: 3 } });
after(() => rm(dir, { recursive: true, force: true }));

interface Listed {
  id: string;
  status: string;
  mimeType?: string;
  error?: string;
  files: Array<{ url: string; bytes: number; durationSeconds: number | null }>;
}

async function bearer(room: string): Promise<string> {
  return createToken({ apiKey: DEV_API_KEY, apiSecret: DEV_API_SECRET, room, identity: 'checker', ttlSeconds: 600, grants: RECORD });
}

/** The recording as listed, and its file downloaded with the bearer token. */
async function download(serverUrl: string, room: string, id: string, name: string): Promise<{ listed: Listed; path: string }> {
  const token = await bearer(room);
  const response = await fetch(`${serverUrl}/api/rooms/${room}/recordings`, { headers: { authorization: `Bearer ${token}` } });
  const listed = ((await response.json()) as Listed[]).find((r) => r.id === id);
  assert.ok(listed, `recording ${id} is listed`);
  const file = listed.files[0];
  assert.ok(file, 'it has a file');
  const body = await fetch(new URL(file.url, serverUrl), { headers: { authorization: `Bearer ${token}` } });
  assert.equal(body.status, 200);
  const path = join(dir, `${name}.webm`);
  await writeFile(path, new Uint8Array(await body.arrayBuffer()));
  return { listed, path };
}

/** Checks codecs, duration and a clean decode; answers how many restamping notes the plain decode printed. */
async function assertPlayable(path: string, truthSeconds: number, codecs: string[]): Promise<number> {
  const probed = await probe(path);
  assert.deepEqual(probed.streams.map((s) => `${s.codec_type}:${s.codec_name}`).sort(), codecs);
  const duration = probed.durationSeconds ?? 0;
  assert.ok(Math.abs(duration - truthSeconds) < 1, `duration ${duration.toFixed(2)} s, truth ${truthSeconds.toFixed(2)} s`);
  return assertDecodes(path);
}

/** The video stream's bitrate from its packets at or after `fromSeconds`: their bits over the time they span. */
async function videoBitrate(file: string, fromSeconds: number): Promise<{ bitsPerSecond: number; frames: number; seconds: number }> {
  const { stdout } = await exec('ffprobe', ['-v', 'error', '-select_streams', 'v', '-show_entries', 'packet=pts_time,size', '-of', 'csv=p=0', file]);
  const packets = stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => line.split(',').map(Number) as [number, number])
    .filter(([at]) => at >= fromSeconds);
  // Each packet's bits until the next one: the last packet's duration is unknown and left out.
  const seconds = (packets.at(-1)?.[0] ?? 0) - (packets[0]?.[0] ?? 0);
  const bits = packets.slice(0, -1).reduce((sum, [, size]) => sum + size * 8, 0);
  return { bitsPerSecond: seconds > 0 ? bits / seconds : 0, frames: packets.length, seconds };
}

/** The mean RGB of `region` of the frame at `seconds`. */
async function tileMean(file: string, seconds: number, region: { x: number; y: number; width: number; height: number }): Promise<number[]> {
  const { stdout } = await exec('ffmpeg', ['-nostdin', '-v', 'error', '-ss', seconds.toFixed(3), '-i', file, '-frames:v', '1', '-vf', `crop=${region.width}:${region.height}:${region.x}:${region.y},scale=1:1:flags=area`, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { encoding: 'buffer' });
  return [...stdout];
}

/**
 * Two at a time, each in its own room: these wait mostly on the clock (a canvas of seconds at
 * 4 fps, recorded for 6-20 s). In this order the killed browser's (~17 s, the longest after
 * Chromium's 20 s) runs beside Chromium's, then the noise one, Firefox's and the disconnect one
 * (with the killed browser's last, the suite took ~49 s; in this order ~41 s). The heavy
 * recording of a call of three (the move to the SFU, its flashes and beeps timed in the file)
 * runs alone, in the next suite.
 */
describe('browser recording', { concurrency: 2 }, () => {
  test('Chromium, 20 s: VP9 + Opus, duration within 1 s, decodes, seeks to 10 s, no missing or repeated second; everyone is told, a participant without the grant is refused', async (t) => {
    const room = 'rec-chromium';
    const recorder = await RecordingPage.open(env.chromium, env.server.url, room, 'alice', RECORD);
    const viewer = await RecordingPage.open(env.chromium, env.server.url, room, 'bob', {});
    assert.match(await viewer.tryStart(), /^PERMISSION_DENIED: .*canRecord/);
    const started = await recorder.start();
    assert.equal(started.mimeType, 'video/webm;codecs=vp9,opus');
    // The defaults (docs/recording.md): 2.5 Mbit/s as MediaRecorder itself reports it, 1 s chunks.
    assert.deepEqual({ videoBitsPerSecond: started.videoBitsPerSecond, timesliceMs: started.timesliceMs }, { videoBitsPerSecond: 2_500_000, timesliceMs: 1000 });
    await viewer.waitForEvent('alice:recording', 5000);
    assert.deepEqual((await viewer.state()).active, ['alice:recording'], 'the viewer’s SDK lists it as running (the indicator)');
    await recorder.page.waitFor(() => (window as unknown as { __rec: { acknowledged: number } }).__rec.acknowledged > 0, undefined, { timeoutMs: 5000, what: 'a first acknowledged chunk' });
    const beforeStop = await recorder.counter();
    await recorder.waitForCounter(beforeStop + 20);
    const stoppedAt = await recorder.stop(started.id);
    await viewer.waitForEvent('alice:ready', 20_000);
    assert.deepEqual((await viewer.state()).active, []);
    const { listed, path } = await download(env.server.url, room, started.id, 'chromium');
    assert.equal(listed.mimeType, 'video/webm;codecs=vp9,opus');
    const truth = (stoppedAt - started.at) / 1000;
    const notes = await assertPlayable(path, truth, ['audio:opus', 'video:vp9']);
    assert.equal(await frameAt(path, 10), 320 * 240, 'a whole frame decoded after seeking to 10 s');
    const seconds = await secondsIn(path, FPS);
    assert.equal(counterProblem(seconds, FPS), undefined, `seconds: ${seconds.join(' ')}`);
    // 1 s chunks, each uploaded as it comes: the server acknowledged about once a second while it
    // recorded (the acknowledgements before the stop; the stop's own flush is not counted).
    const acks = (await recorder.state()).ackTimes.filter((at) => at < stoppedAt);
    const intervals = acks.slice(1).map((at, i) => (at - acks[i]!) / 1000).sort((a, b) => a - b);
    const medianInterval = intervals[Math.floor(intervals.length / 2)] ?? Infinity;
    assert.ok(acks.length >= Math.floor(truth) - 3 && acks.length <= Math.ceil(truth) + 2, `${acks.length} acknowledgements in ${truth.toFixed(1)} s`);
    assert.ok(medianInterval > 0.8 && medianInterval < 1.2, `median ${medianInterval.toFixed(2)} s between acknowledgements`);
    // What the file holds is at most what 2.5 Mbit/s (and Opus) allow. The canvas of bars at 4 fps
    // is far easier than a camera, so VP9 stays well below the target: no lower bound is meaningful here.
    const fileBitsPerSecond = ((listed.files[0]?.bytes ?? 0) * 8) / (listed.files[0]?.durationSeconds ?? truth);
    assert.ok(fileBitsPerSecond > 0 && fileBitsPerSecond < 2_500_000 * 1.1 + 128_000, `the file averages ${(fileBitsPerSecond / 1000).toFixed(0)} kbit/s`);
    t.diagnostic(`recorded ${truth.toFixed(2)} s, file ${listed.files[0]?.durationSeconds?.toFixed(2)} s, ${listed.files[0]?.bytes} bytes (${(fileBitsPerSecond / 1000).toFixed(0)} kbit/s), seconds ${seconds[0]}..${seconds.at(-1)}, null-muxer restamping notes ${notes}; MediaRecorder ${started.videoBitsPerSecond} bit/s, ${started.timesliceMs} ms timeslice; ${acks.length} acknowledgements, median ${medianInterval.toFixed(2)} s apart (min ${intervals[0]?.toFixed(2)}, max ${intervals.at(-1)?.toFixed(2)})`);
    await Promise.all([recorder.page.close(), viewer.page.close()]);
  });

  test('the recording browser killed mid-call: what the server acknowledged is in the stored file, which plays to that point', async (t) => {
    const room = 'rec-crash';
    const browser = await launchBrowser('chromium');
    try {
      const recorder = await RecordingPage.open(browser, env.server.url, room, 'carol', RECORD);
      const watcher = await RecordingPage.open(env.chromium, env.server.url, room, 'dave', {});
      const started = await recorder.start();
      const from = await recorder.counter();
      await recorder.waitForCounter(from + 8);
      const before = await recorder.state();
      assert.ok(before.acknowledged > 0);
      await browser.kill();
      await watcher.waitForEvent('carol:ready', 20_000).catch(async (error: unknown) => {
        // What the server did with the upload, and what the watcher was told, say why it is not ready.
        const told = (await watcher.state()).events.join(' ');
        throw new Error(`${error instanceof Error ? error.message : String(error)}\nthe watcher was told: ${told}\nthe server logged:\n${serverLogLines([room]).join('\n')}`, { cause: error });
      });
      const { path, listed } = await download(env.server.url, room, started.id, 'crash');
      await assertDecodes(path);
      const seconds = await secondsIn(path, FPS);
      assert.equal(counterProblem(seconds, FPS), undefined, `seconds: ${seconds.join(' ')}`);
      const last = seconds.at(-1) ?? -1;
      // A chunk holds the second before it was handed over (1 s timeslice): the acknowledged
      // bytes hold the counter up to at most two seconds before the one shown at their ack.
      assert.ok(last >= before.counterAtLastAck - 2, `the file reaches second ${last}; the last ack seen came at second ${before.counterAtLastAck}`);
      assert.ok((listed.files[0]?.bytes ?? 0) >= before.acknowledged * 0.9, 'the remuxed file is about as large as the acknowledged bytes, or larger');
      t.diagnostic(`acknowledged ${before.acknowledged} bytes (at second ${before.counterAtLastAck}); stored ${listed.files[0]?.bytes} bytes reaching second ${last}, ${listed.files[0]?.durationSeconds?.toFixed(2)} s`);
      await watcher.page.close();
    } finally {
      await browser.kill();
    }
  });

  test('Chromium, a camera no encoder can predict (1280x720 moving noise, 5 s): the file’s video averages near the configured 2.5 Mbit/s', async (t) => {
    const room = 'rec-bitrate';
    const recorder = await RecordingPage.open(env.chromium, env.server.url, room, 'nora', RECORD, 'noise');
    const started = await recorder.start();
    const from = await recorder.counter();
    await recorder.waitForCounter(from + 5);
    await recorder.stop(started.id);
    await recorder.waitForEvent('nora:ready', 20_000);
    const { path } = await download(env.server.url, room, started.id, 'bitrate');
    const whole = await videoBitrate(path, 0);
    const steady = await videoBitrate(path, 1);
    t.diagnostic(`video ${(steady.bitsPerSecond / 1e6).toFixed(2)} Mbit/s from 1 s on (${steady.frames} frames in ${steady.seconds.toFixed(2)} s), ${(whole.bitsPerSecond / 1e6).toFixed(2)} Mbit/s over the whole file (${whole.frames} frames, ${whole.seconds.toFixed(2)} s); MediaRecorder reports ${started.videoBitsPerSecond} bit/s`);
    // Measured from 1 s on: the file's first second is below the rest (MediaRecorder's VP9 encoder
    // drops frames while it starts: docs/recording.md). On this 2-core machine, shared, the
    // compositor and the encoder keep 13-23 of the 25 fps, and the noise's cost per frame at VP9's
    // finest quantizer (120-150 kbit a frame measured) caps what fewer frames can use: 1.63-3.43
    // Mbit/s measured, 4.10 Mbit/s in a loaded CI run (Chromium's VP9 rate control overshooting
    // over these 4 s) and 1.40 Mbit/s in another (the encoder starved of frames). The bounds say
    // the configured rate is applied: they exclude both what an easy picture needs (0.14-0.95
    // Mbit/s for the tests' canvases) and what noise costs unconstrained (full-range noise: 16.5
    // Mbit/s), with 2x the configured rate as the ceiling.
    const fps = steady.seconds > 0 ? steady.frames / steady.seconds : 0;
    assert.ok(steady.bitsPerSecond > 1_000_000 && steady.bitsPerSecond < 5_000_000, `the video averages ${(steady.bitsPerSecond / 1e6).toFixed(2)} Mbit/s from 1 s on (${fps.toFixed(1)} fps encoded); configured 2.5`);
    await recorder.page.close();
  });

  test('Firefox: falls back to VP8 + Opus, says so, and the file plays', async (t) => {
    const room = 'rec-firefox';
    // The tests' easy picture: this case can run beside the Chromium noise case above, and a second
    // 720p noise encoder on two shared cores starved that one's (0.89 Mbit/s in one run).
    const recorder = await RecordingPage.open(env.firefox, env.server.url, room, 'fox', RECORD);
    const started = await recorder.start();
    assert.equal(started.mimeType, 'video/webm;codecs=vp8,opus');
    assert.equal(started.timesliceMs, 1000);
    assert.ok(started.videoBitsPerSecond > 0, `Firefox's MediaRecorder reports ${started.videoBitsPerSecond} bit/s`);
    const from = await recorder.counter();
    await recorder.waitForCounter(from + 6);
    const stoppedAt = await recorder.stop(started.id);
    await recorder.waitForEvent('fox:ready', 20_000);
    const { path, listed } = await download(env.server.url, room, started.id, 'firefox');
    await assertPlayable(path, (stoppedAt - started.at) / 1000, ['audio:opus', 'video:vp8']);
    t.diagnostic(`Firefox recorded ${listed.mimeType} (MediaRecorder reports ${started.videoBitsPerSecond} bit/s, ${started.timesliceMs} ms timeslice), ${listed.files[0]?.durationSeconds?.toFixed(2)} s, ${listed.files[0]?.bytes} bytes`);
    await recorder.page.close();
  });

  test('room.disconnect() finishes the recording: the last chunk uploaded and the upload complete when it resolves; the file is ready at once and plays to the second of the disconnect', async (t) => {
    const room = 'rec-disconnect';
    const recorder = await RecordingPage.open(env.chromium, env.server.url, room, 'gina', RECORD);
    const started = await recorder.start();
    const from = await recorder.counter();
    await recorder.waitForCounter(from + 8);
    const left = await recorder.page.evaluate(async () => {
      const state = (window as unknown as { __rec: RecordingPageState }).__rec;
      const counter = (window as unknown as { __counter: () => number }).__counter;
      // Leave 300 ms into a second, so that second's frames are surely captured and encoded.
      const previous = counter();
      while (counter() === previous) await new Promise((resolve) => setTimeout(resolve, 10));
      await new Promise((resolve) => setTimeout(resolve, 300));
      const second = counter();
      const at = performance.now();
      await state.room.disconnect();
      return { at, second, took: performance.now() - at, state: state.room.state, failures: state.failures };
    }, undefined);
    assert.equal(left.state, 'disconnected');
    assert.deepEqual(left.failures, []);
    // Right after disconnect() resolved the server holds the whole upload: its length was declared,
    // so it is being remuxed or ready. Without the finish the upload stays open until the
    // server's idle timeout (3 s here) and the recording is still `recording`.
    const token = await bearer(room);
    const listAll = async () => ((await (await fetch(`${env.server.url}/api/rooms/${room}/recordings`, { headers: { authorization: `Bearer ${token}` } })).json()) as Listed[]).find((r) => r.id === started.id);
    const right = await listAll();
    assert.ok(right && right.status !== 'recording', `status right after disconnect(): ${right?.status}`);
    let listed: Listed | undefined = right;
    for (const deadline = Date.now() + 20_000; listed?.status !== 'ready' && listed?.status !== 'failed' && Date.now() < deadline; listed = await listAll()) await new Promise((resolve) => setTimeout(resolve, 250));
    assert.equal(listed?.status, 'ready', listed?.error);
    const { path } = await download(env.server.url, room, started.id, 'disconnect');
    const truth = (left.at - started.at) / 1000;
    await assertPlayable(path, truth, ['audio:opus', 'video:vp9']);
    const seconds = await secondsIn(path, FPS);
    assert.equal(counterProblem(seconds, FPS), undefined, `seconds: ${seconds.join(' ')}`);
    const last = seconds.at(-1) ?? -1;
    assert.ok(last >= left.second, `the file reaches second ${last}; disconnect() was called at second ${left.second}`);
    t.diagnostic(`recorded ${truth.toFixed(2)} s until disconnect() (at second ${left.second}), which took ${left.took.toFixed(0)} ms; status right after: ${right.status}; file ${listed.files[0]?.durationSeconds?.toFixed(2)} s, ${listed.files[0]?.bytes} bytes, seconds ${seconds[0]}..${last}`);
    await recorder.page.close();
  });

});

describe('browser recording of a call', () => {
  test('Chromium, a `call` recording of an `auto` room across its move from P2P to the SFU (a third participant joins): one file, duration within 1 s, decodes; the remote participant flashes and beeps in it before and after the move, the newcomer is in it after', async (t) => {
    const room = 'rec-auto-move';
    // alice records the call; bob's canvas flashes white as his 600 Hz tone beeps, once a second
    // (what a viewer would see and hear of him); carol, green, joins to make the room move.
    const alice = await joinFlashBeep(env.chromium, env.server.url, room, 'alice', { colour: 'rgb(200,0,0)', toneHz: 1000, flash: false, toneOn: false, grants: RECORD, topology: 'auto' });
    const bob = await joinFlashBeep(env.chromium, env.server.url, room, 'bob', { colour: 'rgb(0,0,200)', toneHz: 600, flash: true, topology: 'auto' });
    const remoteTracks = (page: typeof alice, identity: string) =>
      page.evaluate((identity) => [...((window as unknown as ParleyWindow).__parley.room.remoteParticipants.get(identity)?.tracks.values() ?? [])].filter((p) => p.track?.readyState === 'live').map((p) => p.track!.id), identity);
    await alice.waitFor(() => [...((window as unknown as ParleyWindow).__parley.room.remoteParticipants.get('bob')?.tracks.values() ?? [])].filter((p) => p.track).length === 2, undefined, { timeoutMs: 15_000, what: "bob's camera and microphone at alice's" });
    const topologyOf = (page: typeof alice) => page.evaluate(() => (window as unknown as ParleyWindow).__parley.room.topology, undefined);
    assert.equal(await topologyOf(alice), 'p2p', 'two in an auto room: P2P');
    const p2pTracks = await remoteTracks(alice, 'bob');
    const started = await alice.evaluate(() => (window as unknown as ParleyWindow).__parley.room.startRecording({ mode: 'browser', source: 'call' }), undefined);
    assert.equal(started.mode, 'browser');
    const startedAt = (started as { startedAt: number }).startedAt;
    const failures: string[] = [];
    await alice.evaluate(() => {
      const w = window as unknown as ParleyWindow & { __failures: string[] };
      w.__failures = [];
      w.__parley.room.on('recordingFailed', ({ error }) => w.__failures.push(`${error.code}: ${error.message}`));
    }, undefined);
    // 4 s of the call in P2P, then carol joins: three in an auto room go to the SFU.
    await new Promise((resolve) => setTimeout(resolve, 4000));
    const joinAt = Date.now();
    const carol = await joinFlashBeep(env.chromium, env.server.url, room, 'carol', { colour: 'rgb(0,180,0)', toneHz: 400, flash: false, toneOn: false, topology: 'auto' });
    await alice.waitFor(() => (window as unknown as ParleyWindow).__parley.room.topology === 'sfu', undefined, { timeoutMs: 15_000, what: 'the room on the SFU' });
    const sfuAt = Date.now();
    // bob's media again at alice's, now from the SFU (new tracks), and carol's.
    await alice.waitFor(
      (old) => {
        const room = (window as unknown as ParleyWindow).__parley.room;
        const live = (identity: string) => [...(room.remoteParticipants.get(identity)?.tracks.values() ?? [])].filter((p) => p.track?.readyState === 'live' && !old.includes(p.track.id)).length;
        return live('bob') === 2 && live('carol') === 2;
      },
      p2pTracks,
      { timeoutMs: 15_000, what: "bob's and carol's tracks through the SFU at alice's" },
    );
    const backAt = Date.now();
    const sfuTracks = await remoteTracks(alice, 'bob');
    await new Promise((resolve) => setTimeout(resolve, 4000));
    const stopCalled = Date.now();
    await alice.evaluate((id) => (window as unknown as ParleyWindow).__parley.room.stopRecording(id), started.id);
    failures.push(...(await alice.evaluate(() => (window as unknown as { __failures: string[] }).__failures, undefined)));
    assert.deepEqual(failures, [], 'the recording never failed');
    const token = await recordToken(room);
    const listed = await waitFinished(env.server.url, room, token, started.id, 30_000);
    assert.equal(listed.status, 'ready', listed.error);
    assert.equal(listed.files.length, 1, 'one file for the whole call');
    const path = await downloadListed(env.server.url, listed, token, listed.files[0]!.name, dir);
    const truth = (stopCalled - startedAt) / 1000;
    await assertPlayable(path, truth, ['audio:opus', 'video:vp9']);
    // On the file's clock (0 = MediaRecorder's start, this machine's clock).
    const inFile = (ms: number) => (ms - startedAt) / 1000;
    // bob's picture: 4:3 in the right half (two tiles) and then in the top right quarter (three tiles, 2x2); this crop is inside both.
    const flashes = await flashTimes(path, { x: 800, y: 160, width: 320, height: 160 });
    const { beeps } = await beepsOf(path, 600);
    const before = (times: number[]) => times.filter((at) => at < inFile(joinAt));
    const afterMove = (times: number[]) => times.filter((at) => at > inFile(backAt));
    const longestGap = (times: number[]) => times.slice(1).reduce((worst, at, i) => Math.max(worst, at - times[i]!), 0);
    t.diagnostic(`recorded ${truth.toFixed(2)} s (file ${listed.files[0]?.durationSeconds?.toFixed(2)} s, ${listed.files[0]?.bytes} bytes); carol joined at ${inFile(joinAt).toFixed(2)} s, SFU at ${inFile(sfuAt).toFixed(2)} s, bob's and carol's SFU tracks at alice's at ${inFile(backAt).toFixed(2)} s; bob's flashes ${flashes.map((at) => at.toFixed(2)).join(' ')} (longest gap ${longestGap(flashes).toFixed(2)} s); beeps ${beeps.map((at) => at.toFixed(2)).join(' ')} (longest gap ${longestGap(beeps).toFixed(2)} s)`);
    assert.notDeepEqual(sfuTracks, p2pTracks, 'after the move alice receives bob through new tracks');
    // One a second, but for the edges of each stretch.
    const secondsBefore = inFile(joinAt);
    const secondsAfter = truth - inFile(backAt);
    for (const [what, times] of [['flashes', flashes], ['beeps', beeps]] as const) {
      assert.ok(before(times).length >= Math.floor(secondsBefore) - 1, `bob's ${what} before the move: ${before(times).length} in ${secondsBefore.toFixed(1)} s`);
      assert.ok(afterMove(times).length >= Math.floor(secondsAfter) - 1, `bob's ${what} after the move: ${afterMove(times).length} in ${secondsAfter.toFixed(1)} s`);
    }
    // carol's green in her tile (bottom left of the 2x2 grid) after the move.
    const carolColour = await tileMean(path, (inFile(backAt) + truth) / 2, { x: 160, y: 400, width: 320, height: 280 });
    assert.ok(carolColour[1]! > 120 && carolColour[1]! > carolColour[0]! + 80 && carolColour[1]! > carolColour[2]! + 80, `carol's tile after the move is rgb(${carolColour.join(',')})`);
    await Promise.all([alice.close(), bob.close(), carol.close()]);
  });
});

/**
 * Each test kills and restarts a Parley server of its own (its own port, store and so origin, with
 * its own IndexedDB), so the two run at once.
 */
describe('browser recording across a server crash', { concurrency: true }, () => {
  const servers = new Set<ServerProcess>();
  after(() => Promise.all([...servers].map((server) => server.kill())));
  /** A server with its store in `name`; a restart passes the port, which keeps the uploads' URLs (and the pages' origin) valid. */
  async function startServerProcess(name: string, port = 0): Promise<ServerProcess> {
    const server = await ServerProcess.start({ port, host: '127.0.0.1', dev: true, turn: { enabled: false }, sfu: { startAtBoot: false }, rooms: { topology: 'p2p' }, reconnectGraceSeconds: 5, recording: { directory: join(dir, name) } });
    servers.add(server);
    return server;
  }

  test('kill -9 of the server mid-upload, restarted on its port: the SDK resumes and the file has no missing or repeated second', async (t) => {
    let server = await startServerProcess('crash-store-restart');
    const url = server.url;
    const room = 'rec-restart';
    const recorder = await RecordingPage.open(env.chromium, url, room, 'erin', RECORD);
    const started = await recorder.start();
    const from = await recorder.counter();
    await recorder.waitForCounter(from + 7);
    const acknowledgedBeforeKill = (await recorder.state()).acknowledged;
    const pageNow = () => recorder.page.evaluate(() => performance.now(), undefined);
    await server.kill();
    const killedAt = await recorder.counter();
    const killedMs = await pageNow();
    server = await startServerProcess('crash-store-restart', Number(new URL(url).port));
    const listeningMs = await pageNow();
    await recorder.page.waitFor((bytes) => (window as unknown as { __rec: { acknowledged: number } }).__rec.acknowledged > bytes, acknowledgedBeforeKill, { timeoutMs: 20_000, what: 'an acknowledgement from the restarted server' });
    const resumedAt = await recorder.counter();
    // Where the time without acknowledgements goes: the server's restart, then the SDK's next retry.
    const firstAckMs = (await recorder.state()).ackTimes.find((at) => at > killedMs) ?? NaN;
    await recorder.waitForCounter(from + 20);
    const stoppedAt = await recorder.stop(started.id);
    const state = await recorder.state();
    assert.deepEqual(state.failures, []);
    let listed: Listed | undefined;
    const token = await bearer(room);
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const response = await fetch(`${url}/api/rooms/${room}/recordings`, { headers: { authorization: `Bearer ${token}` } });
      listed = ((await response.json()) as Listed[]).find((r) => r.id === started.id);
      if (listed?.status === 'ready') break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    assert.equal(listed?.status, 'ready');
    const { path } = await download(url, room, started.id, 'restart');
    await assertPlayable(path, (stoppedAt - started.at) / 1000, ['audio:opus', 'video:vp9']);
    const seconds = await secondsIn(path, FPS);
    assert.equal(counterProblem(seconds, FPS), undefined, `seconds: ${seconds.join(' ')}`);
    t.diagnostic(`killed at second ${killedAt}, acknowledged again at second ${resumedAt}: the restarted server listened ${(listeningMs - killedMs).toFixed(0)} ms after the kill, the first acknowledgement ${(firstAckMs - listeningMs).toFixed(0)} ms after that (${(firstAckMs - killedMs).toFixed(0)} ms after the kill); file ${seconds[0]}..${seconds.at(-1)}, ${listed?.files[0]?.durationSeconds?.toFixed(2)} s`);
    await recorder.page.close();
  });

  test('the network silently drops mid-upload (no RST, no FIN) for 7 s: the SDK gives the stalled request up within its 5 s stall timeout, keeps recording, and resumes from the server’s offset once the network is back; the file has no missing or repeated second', async (t) => {
    const proxy = await SilentDropProxy.start(env.server.url);
    try {
      const room = 'rec-silent-drop';
      const recorder = await RecordingPage.open(env.chromium, proxy.url, room, 'ivan', RECORD);
      const started = await recorder.start();
      const from = await recorder.counter();
      await recorder.waitForCounter(from + 3);
      const pageNow = () => recorder.page.evaluate(() => performance.now(), undefined);
      const acknowledgedBeforeDrop = (await recorder.state()).acknowledged;
      assert.ok(acknowledgedBeforeDrop > 0, 'acknowledged before the drop');
      const droppedAt = Date.now();
      const droppedMs = await pageNow();
      proxy.drop();
      const droppedSecond = await recorder.counter();
      // Long enough for a stalled PATCH (one starts every second) to be given up, and a retry to stall too.
      await new Promise((resolve) => setTimeout(resolve, DROP_MS));
      const healedMs = await pageNow();
      proxy.heal();
      await recorder.page.waitFor((bytes) => (window as unknown as { __rec: { acknowledged: number } }).__rec.acknowledged > bytes, acknowledgedBeforeDrop, { timeoutMs: 20_000, what: 'an acknowledgement after the network is back' });
      const resumedSecond = await recorder.counter();
      const state = await recorder.state();
      const acksDuringDrop = state.ackTimes.filter((at) => at > droppedMs + 100 && at < healedMs);
      const firstAckAfter = state.ackTimes.find((at) => at >= healedMs) ?? NaN;
      // The SDK gave a stalled request up: the browser closed a connection that carried an upload request while nothing got through.
      const givenUp = proxy.events.find((e) => e.kind === 'client-closed' && e.dropping && /^(PATCH|HEAD) \/api\/rooms\/rec-silent-drop\/recordings\/uploads\//.test(e.line));
      assert.ok(givenUp, `a stalled upload request was given up during the drop: ${JSON.stringify(proxy.events.filter((e) => e.dropping))}`);
      const detectedMs = givenUp.at - droppedAt;
      assert.ok(detectedMs <= UPLOAD_STALL_TIMEOUT_MS + 1500, `given up ${detectedMs} ms after the drop`);
      await recorder.waitForCounter(resumedSecond + 2);
      const stoppedAt = await recorder.stop(started.id);
      assert.deepEqual((await recorder.state()).failures, [], 'the recording never failed');
      // Asked over REST, not awaited as an event: the signaling WebSocket went through the drop too.
      const finished = await waitFinished(env.server.url, room, await bearer(room), started.id, 20_000);
      assert.equal(finished.status, 'ready', finished.error);
      const { listed, path } = await download(env.server.url, room, started.id, 'silent-drop');
      await assertPlayable(path, (stoppedAt - started.at) / 1000, ['audio:opus', 'video:vp9']);
      const seconds = await secondsIn(path, FPS);
      assert.equal(counterProblem(seconds, FPS), undefined, `seconds: ${seconds.join(' ')}`);
      assert.ok(seconds.includes(droppedSecond + 3), `the seconds recorded while the network dropped are in the file (${droppedSecond}..${droppedSecond + 7}): ${seconds.join(' ')}`);
      const retried = proxy.events.filter((e) => e.kind === 'request' && e.dropping && e.line.includes('/uploads/')).map((e) => `${e.line.split(' ')[0]} +${e.at - droppedAt} ms`);
      t.diagnostic(`dropped at second ${droppedSecond} for ${DROP_MS} ms: acknowledgements while dropped ${acksDuringDrop.length}; stalled ${givenUp.line.split(' ')[0]} given up ${detectedMs} ms after the drop; requests sent into the drop: ${retried.join(', ')}; first acknowledgement ${(firstAckAfter - healedMs).toFixed(0)} ms after the heal (at second ${resumedSecond}); file ${seconds[0]}..${seconds.at(-1)}, ${listed.files[0]?.durationSeconds?.toFixed(2)} s, ${listed.files[0]?.bytes} bytes`);
      await recorder.page.close();
    } finally {
      await proxy.close();
    }
  });

  test('the page gone while the server was down (about:blank), the server restarted: a new page’s room.resumeRecordings() finishes the upload from the chunks kept in IndexedDB; the file has every second up to the leave', async (t) => {
    const server = await startServerProcess('crash-store-reload');
    const url = server.url;
    const room = 'rec-reload';
    const recorder = await RecordingPage.open(env.chromium, url, room, 'hank', RECORD);
    const started = await recorder.start();
    const from = await recorder.counter();
    await recorder.waitForCounter(from + 6);
    await server.kill();
    const killedAt = await recorder.counter();
    const acknowledged = (await recorder.state()).acknowledged;
    // The recording goes on with nobody acknowledging: its chunks pile up in the page.
    await recorder.waitForCounter(killedAt + 4);
    const leftAt = await recorder.counter();
    // The page is gone (a reload, a closed tab): its MediaRecorder, its memory, its upload.
    await recorder.page.goto('about:blank');
    await startServerProcess('crash-store-reload', Number(new URL(url).port));
    // A new page on the server's origin (IndexedDB is per origin): the SDK, a new token, resume.
    await recorder.page.goto(`${url}/sdk/parley.js`);
    const resumed = await recorder.page.evaluate(
      async ({ url, room }) => {
        const sdk = (await import(`${url}/sdk/parley.js`)) as typeof import('@parley/client');
        const again = new sdk.Room({ qualityReports: false });
        await again.connect(url, await sdk.fetchDevToken(url, { room, identity: 'hank', grants: { canRecord: true } }));
        const results = await again.resumeRecordings();
        const afterwards = await again.resumeRecordings();
        await again.disconnect();
        return { results: results.map((r) => ({ id: r.id, outcome: r.outcome, bytes: r.bytes ?? 0, error: r.error?.message })), afterwards: afterwards.length };
      },
      { url, room },
    );
    assert.equal(resumed.results.length, 1, JSON.stringify(resumed));
    const [result] = resumed.results;
    assert.deepEqual([result?.id, result?.outcome], [started.id, 'completed'], result?.error);
    assert.ok((result?.bytes ?? 0) > acknowledged, `the recording's ${result?.bytes} bytes go past the ${acknowledged} acknowledged before the kill`);
    assert.equal(resumed.afterwards, 0, 'a finished upload is no longer kept');
    const token = await bearer(room);
    let listed: Listed | undefined;
    for (const deadline = Date.now() + 20_000; listed?.status !== 'ready' && listed?.status !== 'failed' && Date.now() < deadline; ) {
      listed = ((await (await fetch(`${url}/api/rooms/${room}/recordings`, { headers: { authorization: `Bearer ${token}` } })).json()) as Listed[]).find((r) => r.id === started.id);
      if (listed?.status !== 'ready' && listed?.status !== 'failed') await new Promise((resolve) => setTimeout(resolve, 250));
    }
    assert.equal(listed?.status, 'ready', listed?.error);
    const { path } = await download(url, room, started.id, 'reload');
    await assertDecodes(path);
    const seconds = await secondsIn(path, FPS);
    assert.equal(counterProblem(seconds, FPS), undefined, `seconds: ${seconds.join(' ')}`);
    const last = seconds.at(-1) ?? -1;
    // A chunk holds the second before it was handed over (1 s timeslice): the kept chunks reach
    // at most two seconds before the page left, and well past the server's kill.
    assert.ok(last >= leftAt - 2 && last >= killedAt + 2, `the file reaches second ${last}; killed at ${killedAt}, left at ${leftAt}`);
    t.diagnostic(`killed at second ${killedAt} (${acknowledged} bytes acknowledged), left at ${leftAt}; resumed ${result?.bytes} bytes; file ${listed.files[0]?.durationSeconds?.toFixed(2)} s, seconds ${seconds[0]}..${last}`);
  });
});

describe('recording in the web app', () => {
  test('the record button only with canRecord; everyone sees the indicator while the call is recorded; the recording of the call plays', async (t) => {
    const room = 'rec-web';
    const token = await createToken({ apiKey: DEV_API_KEY, apiSecret: DEV_API_SECRET, room, identity: 'rita', name: 'Rita', ttlSeconds: 600, grants: RECORD });
    const recorder = await joinThroughUi(env.chromium, env.server.url, room, 'Rita', { token });
    const viewer = await joinThroughUi(env.chromium, env.server.url, room, 'Victor');
    await waitForCall(recorder, 2);
    await waitForCall(viewer, 2);
    await waitForRemoteVideo(recorder, 'Victor');
    const buttonShown = (page: typeof viewer) => page.evaluate((sel) => document.querySelector<HTMLButtonElement>(sel)?.hidden === false, byTestId('toggle-recording'));
    assert.equal(await buttonShown(recorder), true);
    assert.equal(await buttonShown(viewer), false, 'no record button without canRecord');
    const indicator = (page: typeof viewer, text: string | undefined) =>
      page.waitFor(({ sel, text }) => {
        const element = document.querySelector<HTMLElement>(sel);
        return element !== null && element.hidden === (text === undefined) && (text === undefined || element.textContent?.trim() === text);
      }, { sel: byTestId('recording-indicator'), text }, { timeoutMs: 10_000, what: `the recording indicator ${text ?? 'hidden'}` });
    await click(recorder, 'toggle-recording');
    await Promise.all([indicator(recorder, 'Recording (by you)'), indicator(viewer, 'Recording (by Rita)')]);
    const startedAt = Date.now();
    // The length of the recording, not a wait for anything.
    await new Promise((resolve) => setTimeout(resolve, 6000));
    await click(recorder, 'toggle-recording');
    const recordedSeconds = (Date.now() - startedAt) / 1000;
    await Promise.all([indicator(recorder, undefined), indicator(viewer, undefined)]);
    const bearerToken = await bearer(room);
    let listed: Listed | undefined;
    const deadline = Date.now() + 20_000;
    // Until it is finished, as the Recordings panel shows it: ready (or failed, which is final too).
    while (Date.now() < deadline && listed?.status !== 'ready' && listed?.status !== 'failed') {
      const response = await fetch(`${env.server.url}/api/rooms/${room}/recordings`, { headers: { authorization: `Bearer ${bearerToken}` } });
      listed = ((await response.json()) as Listed[])[0];
      if (listed?.status !== 'ready' && listed?.status !== 'failed') await new Promise((resolve) => setTimeout(resolve, 250));
    }
    assert.equal(listed?.status, 'ready', listed?.error);
    const { path } = await download(env.server.url, room, listed.id, 'web');
    const probed = await probe(path);
    assert.deepEqual(probed.streams.map((s) => `${s.codec_type}:${s.codec_name}`).sort(), ['audio:opus', 'video:vp9']);
    await assertDecodes(path);
    // Two 4:3 tiles side by side fill the 1280 px width; one tile alone would be 960 px wide,
    // centered, leaving the outer eighths the #111 background (17).
    const halves = await stripBrightness(path, 4, 8);
    assert.ok(halves.every((level) => level > 30), `both tiles are in the recording (mean level of each eighth: ${halves.join(', ')}; background 17)`);
    t.diagnostic(`web app recorded the call ~${recordedSeconds.toFixed(1)} s; file ${probed.durationSeconds?.toFixed(2)} s; levels of the eighths at 4 s: ${halves.join(', ')}`);
    await Promise.all([recorder.close(), viewer.close()]);
  });
});
