/**
 * A page that records with the SDK: it publishes a canvas "camera" that draws the seconds since
 * the page started as eight black/white bars (binary, most significant bit left) and the browser's
 * fake microphone, so a recording can be checked second by second (`secondsIn`). With `picture:
 * 'noise'` the canvas is 1280x720 of moving noise instead (eight frames of faint grey noise shown in a
 * random order, 25 a second): no encoder predicts it, so a recording of it shows the bitrate the
 * encoder was given rather than what an easy picture needs. The counter still runs (`counter()`).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { TestBrowser, TestPage } from './browsers.ts';

const exec = promisify(execFile);

export interface RecordingPageState {
  room: import('@parley/client').Room;
  events: string[];
  acknowledged: number;
  /** The counter on the canvas when the last acknowledgement came. */
  counterAtLastAck: number;
  /** When each acknowledgement came (performance.now(), ms). */
  ackTimes: number[];
  failures: string[];
}

export class RecordingPage {
  private constructor(readonly page: TestPage) {}

  /**
   * `cameraClock: 'worker'` draws the canvas camera on the ticks of a dedicated Worker's timer
   * instead of the page's own `setInterval`: a page timer wakes about once a second in a hidden
   * tab of a throttling browser (e2e/recording-hidden-tab.test.ts), a real camera does not slow
   * down there, and neither does a Worker's timer.
   */
  static async open(browser: TestBrowser, serverUrl: string, room: string, identity: string, grants: Record<string, boolean>, picture: 'counter' | 'noise' = 'counter', cameraClock: 'page' | 'worker' = 'page'): Promise<RecordingPage> {
    const page = await browser.newPage();
    await page.goto(`${serverUrl}/sdk/parley.js`);
    await page.evaluate(
      async ({ serverUrl, room, identity, grants, picture, cameraClock }) => {
        const sdk = (await import(`${serverUrl}/sdk/parley.js`)) as typeof import('@parley/client');
        const canvas = document.createElement('canvas');
        const noise = picture === 'noise';
        canvas.width = noise ? 1280 : 320;
        canvas.height = noise ? 720 : 240;
        const ctx = canvas.getContext('2d') as CanvasRenderingContext2D;
        const started = performance.now();
        const counter = () => Math.floor((performance.now() - started) / 1000);
        // Grey noise of +-18 levels around mid-grey. Noise gives VP9's rate control a narrow range:
        // +-24 levels cost 3.3 Mbit/s at 18 fps even at its coarsest quantizer, +-12 levels only
        // 1.6 Mbit/s at 13 fps (a loaded machine) even at its finest.: made once (drawing a bitmap is cheap on a busy
        // machine, making 1280x720 random numbers 25 times a second is not).
        const frames = noise
          ? await Promise.all(
              Array.from({ length: 8 }, () => {
                const image = ctx.createImageData(1280, 720);
                const pixels = new Uint32Array(image.data.buffer);
                for (let i = 0; i < pixels.length; i++) {
                  const grey = 110 + Math.floor(Math.random() * 36);
                  pixels[i] = 0xff000000 | (grey << 16) | (grey << 8) | grey;
                }
                return createImageBitmap(image);
              }),
            )
          : [];
        const draw = () => {
          if (noise) {
            ctx.drawImage(frames[Math.floor(Math.random() * frames.length)]!, 0, 0);
            return;
          }
          const value = counter();
          for (let bit = 0; bit < 8; bit++) {
            ctx.fillStyle = (value >> (7 - bit)) & 1 ? '#fff' : '#000';
            ctx.fillRect(bit * 40, 0, 40, 240);
          }
        };
        draw();
        if (cameraClock === 'worker') {
          const source = 'setInterval(() => postMessage(0), 40);';
          const ticks = new Worker(URL.createObjectURL(new Blob([source], { type: 'text/javascript' })));
          ticks.onmessage = draw;
        } else setInterval(draw, 40);
        // The browser's fake microphone (a beep): an AudioContext source would stay suspended in
        // Firefox without a user gesture, and MediaRecorder waits for every track's first data.
        const microphone = await navigator.mediaDevices.getUserMedia({ audio: true });
        const parleyRoom = new sdk.Room({ qualityReports: false });
        const state: RecordingPageState = { room: parleyRoom, events: [], acknowledged: 0, counterAtLastAck: -1, ackTimes: [], failures: [] };
        (window as unknown as { __rec: RecordingPageState; __counter: () => number }).__rec = state;
        (window as unknown as { __counter: () => number }).__counter = counter;
        parleyRoom.on('recordingChanged', (r) => state.events.push(`${r.startedBy}:${r.status}`));
        parleyRoom.on('recordingProgress', ({ acknowledgedBytes }) => {
          state.acknowledged = acknowledgedBytes;
          state.counterAtLastAck = counter();
          state.ackTimes.push(performance.now());
        });
        parleyRoom.on('recordingFailed', ({ error }) => state.failures.push(`${error.code}: ${error.message}`));
        const token = await sdk.fetchDevToken(serverUrl, { room, identity, grants });
        await parleyRoom.connect(serverUrl, token);
        const video = canvas.captureStream(25).getVideoTracks()[0];
        const mic = microphone.getAudioTracks()[0];
        if (!video || !mic) throw new Error('no canvas or oscillator track');
        await parleyRoom.localParticipant.publishTrack('camera', video);
        await parleyRoom.localParticipant.publishTrack('microphone', mic);
      },
      { serverUrl, room, identity, grants, picture, cameraClock },
    );
    return new RecordingPage(page);
  }

  /**
   * Starts a recording; answers its id, the mime type used and the page's clock when MediaRecorder
   * started (the SDK's `startedAt`, the file's time 0: a `self` recording starts after the
   * camera's first frame, and in Firefox, where WebAudio does not run headless, a second after
   * the call).
   */
  start(options: { source?: 'self' | 'call'; mimeType?: string } = {}): Promise<{ id: string; mimeType: string; videoBitsPerSecond: number; timesliceMs: number; at: number }> {
    return this.page.evaluate(async (options) => {
      const state = (window as unknown as { __rec: RecordingPageState }).__rec;
      const started = await state.room.startRecording({ mode: 'browser', ...options });
      if (started.mode !== 'browser') throw new Error(`started a ${started.mode} recording`);
      return { id: started.id, mimeType: started.mimeType, videoBitsPerSecond: started.videoBitsPerSecond, timesliceMs: started.timesliceMs, at: performance.now() - (Date.now() - started.startedAt) };
    }, options);
  }

  /** The error a refused start gives (code: message), or 'started'. */
  tryStart(): Promise<string> {
    return this.page.evaluate(async () => {
      const state = (window as unknown as { __rec: RecordingPageState }).__rec;
      try {
        await state.room.startRecording({ mode: 'browser' });
        return 'started';
      } catch (error) {
        return `${(error as { code?: string }).code}: ${(error as Error).message}`;
      }
    }, undefined);
  }

  /** Stops it; answers the page's clock when stop was called (the truth is stop - start). */
  stop(id: string): Promise<number> {
    return this.page.evaluate(async (id) => {
      const state = (window as unknown as { __rec: RecordingPageState }).__rec;
      const at = performance.now();
      await state.room.stopRecording(id);
      return at;
    }, id);
  }

  state(): Promise<{ events: string[]; acknowledged: number; counterAtLastAck: number; ackTimes: number[]; failures: string[]; active: string[] }> {
    return this.page.evaluate(() => {
      const state = (window as unknown as { __rec: RecordingPageState }).__rec;
      return { events: state.events, acknowledged: state.acknowledged, counterAtLastAck: state.counterAtLastAck, ackTimes: state.ackTimes, failures: state.failures, active: state.room.activeRecordings.map((r) => `${r.startedBy}:${r.status}`) };
    }, undefined);
  }

  waitForEvent(event: string, timeoutMs: number): Promise<void> {
    return this.page.waitFor((event) => (window as unknown as { __rec: RecordingPageState }).__rec.events.includes(event), event, { timeoutMs, what: `recordingChanged ${event}` });
  }

  /** Waits until the page's canvas counter reads `seconds`. */
  waitForCounter(seconds: number): Promise<void> {
    return this.page.waitFor((seconds) => (window as unknown as { __counter: () => number }).__counter() >= seconds, seconds, { timeoutMs: seconds * 1000 + 30_000, what: `counter ${seconds}` });
  }

  counter(): Promise<number> {
    return this.page.evaluate(() => (window as unknown as { __counter: () => number }).__counter(), undefined);
  }
}

/**
 * The canvas counter in each decoded frame of `file`, sampled at `fps` (with its time): the bars
 * read after scaling each frame to 8x1 pixels.
 */
export async function secondsIn(file: string, fps = 4): Promise<number[]> {
  const { stdout } = await exec('ffmpeg', ['-nostdin', '-v', 'error', '-i', file, '-an', '-vf', `fps=${fps},scale=8:1:flags=area,format=gray`, '-f', 'rawvideo', '-'], { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 });
  const values: number[] = [];
  for (let offset = 0; offset + 8 <= stdout.length; offset += 8) {
    let value = 0;
    for (let bit = 0; bit < 8; bit++) value = (value << 1) | ((stdout[offset + bit] ?? 0) > 128 ? 1 : 0);
    values.push(value);
  }
  return values;
}

/**
 * Checks a counter sequence sampled at `fps`: it only ever steps up by one (no missing second,
 * nothing from before played again) and no second lasts longer than it should (no repeated
 * second). Answers a description of the first problem, or undefined.
 */
export function counterProblem(values: number[], fps: number): string | undefined {
  if (values.length === 0) return 'no frames';
  // Chromium's MediaRecorder may open the file with the last frame its track delivered before
  // start(), older by however long the page waited (second 0 for the first quarter second of a
  // recording started at second 2, on a loaded machine): a stale first picture, not a lost second.
  // Only the first sample may be behind; from the second on every step counts.
  const from = values.length > 1 && values[1]! - values[0]! > 1 ? 1 : 0;
  let run = 1;
  for (let i = from + 1; i < values.length; i++) {
    const step = (values[i] ?? 0) - (values[i - 1] ?? 0);
    if (step < 0) return `second ${values[i]} after ${values[i - 1]} (sample ${i}): played again`;
    if (step > 1) return `second ${values[i - 1]} then ${values[i]} (sample ${i}): ${step - 1} missing`;
    run = step === 0 ? run + 1 : 1;
    if (run > fps + 1) return `second ${values[i]} lasts ${run} samples at ${fps} fps: repeated`;
  }
  return undefined;
}
