/**
 * A browser recording of the participant's own camera and microphone (`source: 'self'`,
 * docs/recording.md) follows them being turned off and on again: real Chromium and Firefox with
 * their fake devices record through the SDK, the server remuxes, and ffmpeg reads the file back:
 * the camera before, the "camera off" placeholder while it is off, the camera again after (a new
 * track), and the microphone throughout (in Chromium also after it was turned off and on again).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { useCallEnvironment } from './harness/environment.ts';
import { assertDecodes, download, recordToken, waitFinished } from './harness/recordings-api.ts';
import { audioLevels, frameKinds, openSelfRecorder, recordSelf, type FrameKind, type FrameSample, type SelfRecordingTimeline } from './harness/self-recording.ts';
import { probe } from '../packages/server/test/media-tools.ts';
import type { TestBrowser } from './harness/browsers.ts';

const dir = await mkdtemp(join(tmpdir(), 'parley-e2e-selfrec-'));
const env = useCallEnvironment({ recording: { directory: join(dir, 'store'), idleFinishSeconds: 3 } });
after(() => rm(dir, { recursive: true, force: true }));

/** A sample this close to a step could show either side of it (a compositor frame, the encoder, a camera's first frame). */
const MARGIN = 0.4;
/**
 * The audio is measured in windows this long (seconds): Chromium's fake microphone beeps every
 * 0.5 s, each beep decaying from about -10 dB to digital silence within 0.45 s, so any 0.5 s
 * window holds a beep's loud start (Firefox's is a steady tone, about -23 dB).
 */
const WINDOW = 0.5;
/** Louder than this is the fake microphone; WebAudio's silence (the microphone off) is -inf. */
const SOUND_DB = -45;
/** A microphone turned on again sounds in the file within this (its capture starting, then the mix's next frame). */
const MIC_START = 0.75;

/** The samples inside [from, to] of the file's clock that are not of `kind`. */
function wrongFrames(samples: FrameSample[], from: number, to: number, kind: FrameKind): string[] {
  return samples.filter((s) => s.at >= from && s.at <= to && s.kind !== kind).map((s) => `${s.at.toFixed(1)} s ${s.kind} rgb(${s.rgb.join(',')}) centre ${s.centre} corners ${s.corners}`);
}

/** The audio windows inside [from, to] of the file's clock that are (`sound`) or are not loud enough. */
function wrongLevels(levels: Array<{ at: number; value: number }>, from: number, to: number, sound: boolean): string[] {
  return levels.filter((l) => l.at >= from && l.at + WINDOW <= to && l.value > SOUND_DB !== sound).map((l) => `${l.at.toFixed(2)} s ${l.value} dB`);
}

/**
 * Records ~10 s with the camera off from 3 s to 5 s (and, when `mic`, the microphone off from
 * 6 s to 8 s), downloads the file and checks it; answers the timeline, the frames and the audio.
 */
async function recordAndCheck(browser: () => TestBrowser, room: string, codecs: string[], mic: boolean) {
  const page = await openSelfRecorder(browser(), env.server.url, room, 'sam', 'Sam Self');
  try {
    const timeline = await recordSelf(page, { cameraOffAt: 3, cameraOnAt: 5, ...(mic ? { micOffAt: 6, micOnAt: 8 } : {}), stopAt: 10 });
    assert.deepEqual(timeline.failures, []);
    assert.notEqual(timeline.cameraTracks[0], timeline.cameraTracks[1], 'turning the camera on again gives a new track');
    if (mic) assert.notEqual(timeline.microphoneTracks[0], timeline.microphoneTracks[1], 'turning the microphone on again gives a new track');
    const token = await recordToken(room);
    const listed = await waitFinished(env.server.url, room, token, timeline.id, 30_000);
    assert.equal(listed.status, 'ready', listed.error);
    const path = await download(env.server.url, listed, token, listed.files[0]?.name ?? '', dir);
    const probed = await probe(path);
    assert.deepEqual(probed.streams.map((s) => `${s.codec_type}:${s.codec_name}`).sort(), codecs);
    // The file's time 0 is when MediaRecorder began (the SDK's startedAt), on the page's clock.
    const file = (pageSeconds: number) => pageSeconds - timeline.began;
    const truth = file(timeline.stopCalled);
    const duration = probed.durationSeconds ?? 0;
    assert.ok(Math.abs(duration - truth) < 1, `duration ${duration.toFixed(2)} s, truth ${truth.toFixed(2)} s`);
    await assertDecodes(path);
    const frames = await frameKinds(path);
    const end = Math.min(duration, truth);
    assert.deepEqual(wrongFrames(frames, MARGIN, file(timeline.cameraOffCalled) - MARGIN, 'camera'), [], 'the camera before it was turned off');
    assert.deepEqual(wrongFrames(frames, file(timeline.cameraOffDone) + MARGIN, file(timeline.cameraOnCalled) - MARGIN, 'placeholder'), [], 'the placeholder while it was off');
    assert.deepEqual(wrongFrames(frames, file(timeline.cameraOnDone) + MARGIN, end - MARGIN, 'camera'), [], 'the camera again after it was turned on');
    const levels = await audioLevels(path, WINDOW);
    const { micOffCalled, micOffDone, micOnCalled, micOnDone } = timeline;
    if (micOffCalled === undefined || micOffDone === undefined || micOnCalled === undefined || micOnDone === undefined) {
      assert.deepEqual(wrongLevels(levels, MARGIN, end - MARGIN, true), [], 'sound throughout');
    } else {
      assert.deepEqual(wrongLevels(levels, MARGIN, file(micOffCalled) - MARGIN, true), [], 'sound before the microphone was turned off');
      assert.deepEqual(wrongLevels(levels, file(micOffDone) + MARGIN, file(micOnCalled) - MARGIN, false), [], 'silence while it was off');
      assert.deepEqual(wrongLevels(levels, file(micOnDone) + MIC_START, end - MARGIN, true), [], 'sound again from the new microphone track');
    }
    return { path, timeline, duration, truth, frames, levels };
  } finally {
    await page.close();
  }
}

function describeRun(r: { timeline: SelfRecordingTimeline; duration: number; truth: number; frames: FrameSample[]; levels: Array<{ at: number; value: number }> }): string {
  const t = r.timeline;
  const kinds = r.frames.map((f) => (f.kind === 'camera' ? 'C' : f.kind === 'placeholder' ? 'P' : '?')).join('');
  const audio = r.levels.map((l) => (l.value > SOUND_DB ? '#' : '.')).join('');
  const loud = r.levels.filter((l) => l.value > SOUND_DB).map((l) => l.value);
  return `${t.mimeType}; MediaRecorder began ${t.began.toFixed(2)} s after the call (answered at ${t.started.toFixed(2)}), camera off ${t.cameraOffCalled.toFixed(2)}-${t.cameraOffDone.toFixed(2)}, on ${t.cameraOnCalled.toFixed(2)}-${t.cameraOnDone.toFixed(2)}${t.micOffCalled === undefined ? '' : `, mic off ${t.micOffCalled.toFixed(2)}, on ${t.micOnCalled?.toFixed(2)}-${t.micOnDone?.toFixed(2)}`}, stop ${t.stopCalled.toFixed(2)} (took ${(t.stopDone - t.stopCalled).toFixed(2)}); file ${r.duration.toFixed(2)} s (truth ${r.truth.toFixed(2)} s); frames at 10/s ${kinds}; audio per ${WINDOW} s ${audio} (sounding windows ${Math.min(...loud)} to ${Math.max(...loud)} dB)`;
}

// The two recordings mostly wait on the clock (10 s each, its steps at set times) and share only
// the server: each its own browser and room, checked on the file with 0.4 s margins. So they run
// at once, as e2e/recording.test.ts's do (docs/testing.md).
describe("browser recording of the participant's own stream", { concurrency: true }, () => {
  test('Chromium: camera off 3-5 s and microphone off 6-8 s of a 10 s recording: the camera, the placeholder, the camera again; sound before and after the microphone came back', async (t) => {
    const run = await recordAndCheck(() => env.chromium, 'self-chromium', ['audio:opus', 'video:vp9'], true);
    t.diagnostic(describeRun(run));
  });

  test('Firefox: camera off 3-5 s of a 10 s recording: the camera, the placeholder, the camera again; sound throughout', async (t) => {
    const run = await recordAndCheck(() => env.firefox, 'self-firefox', ['audio:opus', 'video:vp8'], false);
    t.diagnostic(describeRun(run));
  });
});
