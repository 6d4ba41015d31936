/**
 * A participant recording itself (`source: 'self'`) with the browser's fake camera and
 * microphone while it turns them off and on again, and what the recorded file shows: each
 * sampled frame classified as the camera or the "camera off" placeholder, and the audio's level
 * over time.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { audioEnvelope, type Sample } from './av-sync.ts';
import type { TestBrowser, TestPage } from './browsers.ts';

const exec = promisify(execFile);

/** When each step happened, in seconds after startRecording was called (the page's clock). */
export interface SelfRecordingTimeline {
  id: string;
  mimeType: string;
  /** MediaRecorder started (the SDK's `startedAt`): the file's time 0. */
  began: number;
  /** startRecording resolved. */
  started: number;
  cameraOffCalled: number;
  cameraOffDone: number;
  cameraOnCalled: number;
  cameraOnDone: number;
  micOffCalled?: number;
  micOffDone?: number;
  micOnCalled?: number;
  micOnDone?: number;
  stopCalled: number;
  stopDone: number;
  /** The camera (and microphone) tracks published before and after: turning on again gives a new track. */
  cameraTracks: string[];
  microphoneTracks: string[];
  failures: string[];
}

/** When each step starts, in seconds after startRecording is called. */
export interface SelfRecordingScript {
  cameraOffAt: number;
  cameraOnAt: number;
  /** The microphone turned off and on again (a new track) in between, if given. */
  micOffAt?: number;
  micOnAt?: number;
  stopAt: number;
}

/** A page joined to `room` as `identity` (shown as `name`) with its fake camera (640x360) and microphone on. */
export async function openSelfRecorder(browser: TestBrowser, serverUrl: string, room: string, identity: string, name: string): Promise<TestPage> {
  const page = await browser.newPage();
  await page.goto(`${serverUrl}/sdk/parley.js`);
  await page.evaluate(
    async ({ serverUrl, room, identity, name }) => {
      const sdk = (await import(`${serverUrl}/sdk/parley.js`)) as typeof import('@parley/client');
      const parley = new sdk.Room({ qualityReports: false, capture: { video: { width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 20 } } } });
      const failures: string[] = [];
      parley.on('recordingFailed', ({ error }) => failures.push(`${error.code}: ${error.message}`));
      await parley.connect(serverUrl, await sdk.fetchDevToken(serverUrl, { room, identity, name, grants: { canRecord: true } }));
      await parley.localParticipant.setCameraEnabled(true);
      await parley.localParticipant.setMicrophoneEnabled(true);
      (window as unknown as { __self: { room: typeof parley; failures: string[] } }).__self = { room: parley, failures };
    },
    { serverUrl, room, identity, name },
  );
  return page;
}

/**
 * Records `self` and plays `script` in the page: the times are the lengths of the scenario's
 * stretches, not waits for anything. Resolves once stopRecording resolved (the server holds every
 * byte), with when each step was called and done.
 */
export function recordSelf(page: TestPage, script: SelfRecordingScript): Promise<SelfRecordingTimeline> {
  return page.evaluate(async (script) => {
    const { room, failures } = (window as unknown as { __self: { room: import('@parley/client').Room; failures: string[] } }).__self;
    const local = room.localParticipant;
    const called = performance.now();
    const now = () => (performance.now() - called) / 1000;
    const at = (seconds: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, seconds - now()) * 1000));
    const trackId = (source: 'camera' | 'microphone') => local.tracks.get(source)?.id ?? 'none';
    const cameraTracks = [trackId('camera')];
    const microphoneTracks = [trackId('microphone')];
    const started = await room.startRecording({ mode: 'browser', source: 'self' });
    if (started.mode !== 'browser') throw new Error(`started a ${started.mode} recording`);
    const startedAt = now();
    const began = (performance.now() - (Date.now() - started.startedAt) - called) / 1000;
    await at(script.cameraOffAt);
    const cameraOffCalled = now();
    await local.setCameraEnabled(false);
    const cameraOffDone = now();
    await at(script.cameraOnAt);
    const cameraOnCalled = now();
    await local.setCameraEnabled(true);
    const cameraOnDone = now();
    cameraTracks.push(trackId('camera'));
    const mic: Partial<SelfRecordingTimeline> = {};
    if (script.micOffAt !== undefined && script.micOnAt !== undefined) {
      await at(script.micOffAt);
      mic.micOffCalled = now();
      await local.setMicrophoneEnabled(false);
      mic.micOffDone = now();
      await at(script.micOnAt);
      mic.micOnCalled = now();
      await local.setMicrophoneEnabled(true);
      mic.micOnDone = now();
      microphoneTracks.push(trackId('microphone'));
    }
    await at(script.stopAt);
    const stopCalled = now();
    await room.stopRecording(started.id);
    const stopDone = now();
    return { id: started.id, mimeType: started.mimeType, began, started: startedAt, cameraOffCalled, cameraOffDone, cameraOnCalled, cameraOnDone, ...mic, stopCalled, stopDone, cameraTracks, microphoneTracks, failures };
  }, script);
}

export type FrameKind = 'camera' | 'placeholder' | 'other';

export interface FrameSample {
  at: number;
  kind: FrameKind;
  /** Mean R, G, B of the whole frame, then mean luma of its centre band and of its corners. */
  rgb: [number, number, number];
  centre: number;
  corners: number;
}

/**
 * The file's frames sampled at `fps` (frame n at n/fps s), each scaled to 4x3 pixels and told
 * apart: the fake camera (Chromium's and Firefox's are green: G well over R and B), the
 * placeholder (its slate background #1f2937 in the corners, the name and "Camera off" making the
 * centre brighter), or neither.
 */
export async function frameKinds(file: string, fps = 10): Promise<FrameSample[]> {
  const { stdout } = await exec('ffmpeg', ['-nostdin', '-v', 'error', '-i', file, '-an', '-vf', `fps=${fps},scale=4:3:flags=area,format=rgb24`, '-f', 'rawvideo', '-'], { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 });
  const samples: FrameSample[] = [];
  const pixel = (frame: Buffer, x: number, y: number): [number, number, number] => {
    const i = (y * 4 + x) * 3;
    return [frame[i] ?? 0, frame[i + 1] ?? 0, frame[i + 2] ?? 0];
  };
  const luma = ([r, g, b]: [number, number, number]) => 0.299 * r + 0.587 * g + 0.114 * b;
  for (let offset = 0, n = 0; offset + 36 <= stdout.length; offset += 36, n++) {
    const frame = stdout.subarray(offset, offset + 36);
    const all = Array.from({ length: 12 }, (_, i) => pixel(frame, i % 4, Math.floor(i / 4)));
    const rgb = [0, 1, 2].map((c) => Math.round(all.reduce((sum, p) => sum + p[c]!, 0) / 12)) as [number, number, number];
    const cornerPixels = [pixel(frame, 0, 0), pixel(frame, 3, 0), pixel(frame, 0, 2), pixel(frame, 3, 2)];
    const corners = Math.round(cornerPixels.reduce((sum, p) => sum + luma(p), 0) / 4);
    const centre = Math.round([pixel(frame, 1, 1), pixel(frame, 2, 1)].reduce((sum, p) => sum + luma(p), 0) / 2);
    const [r, g, b] = rgb;
    const slate = cornerPixels.every(([cr, cg, cb]) => Math.abs(cr - 31) <= 12 && Math.abs(cg - 41) <= 12 && Math.abs(cb - 55) <= 12);
    const kind: FrameKind = g > 100 && g > r + 40 && g > b + 40 ? 'camera' : slate && centre > corners + 4 ? 'placeholder' : 'other';
    samples.push({ at: n / fps, kind, rgb, centre, corners });
  }
  return samples;
}

/**
 * RMS level (dBFS) of the file's first audio stream in `windowSeconds` windows, on the file's
 * clock (holes filled with silence, the start padded).
 */
export async function audioLevels(file: string, windowSeconds = 0.25): Promise<Sample[]> {
  const rate = 48_000;
  const { stdout } = await exec('ffmpeg', ['-nostdin', '-v', 'error', '-copyts', '-i', file, '-map', '0:a:0', '-af', 'aresample=async=1:first_pts=0', '-ac', '1', '-ar', String(rate), '-f', 's16le', '-'], { encoding: 'buffer', maxBuffer: 256 * 1024 * 1024 });
  return audioEnvelope(stdout, rate, Math.round(rate * windowSeconds)).map(({ at, value }) => ({ at, value: value > 0 ? Math.round(20 * Math.log10(value / 32768) * 10) / 10 : -Infinity }));
}
