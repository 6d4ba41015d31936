/**
 * MediaRecorder's VP9 encoder in Chromium is created on the first frame and takes 0.5-1 s to give
 * its first output; meanwhile Chromium keeps at most about ten frames waiting for it and drops
 * the rest. A recording that simply started had its first ~11 frames (0-0.44 s) and then no
 * frame for 0.16-0.73 s: a frozen picture, and in a `call` recording the others' first flash of
 * the e2e test lost in every traced run (docs/recording.md). VP8's encoder answers in
 * 0.22-0.26 s and lost no frame (measured: Chromium 156, a 1280x720 canvas at 25 fps).
 *
 * The warm-up: MediaRecorder runs for WARM_UP_RUN_MS (a few frames and the first audio, so the
 * encoders exist and the WebM muxer can write), is paused until it has written (its `start`
 * event, which Chromium sends with the first data) or for ENCODER_START_TIMEOUT_MS at most, and
 * resumed. While paused, frames are not queued (nothing is dropped later) and Chromium takes the
 * paused time out of the file's timestamps: the file's first WARM_UP_RUN_MS show the call when
 * recording was asked for, and everything after follows, without a hole, from the resume on.
 */

/** How long MediaRecorder runs before the pause: the first frames and one Opus packet (60 ms) reach the encoders. */
export const WARM_UP_RUN_MS = 120;
/** The longest pause: VP9's first output came 0.53-1.05 s after start() here; past this the recording goes on anyway. */
export const ENCODER_START_TIMEOUT_MS = 1500;

/** Whether the recording's encoder is one that drops frames while it starts: VP9 (VP8, Firefox's only one, does not). */
export function needsEncoderWarmUp(mimeType: string): boolean {
  return /codecs=[^;]*vp9/i.test(mimeType);
}

/** The part of MediaRecorder the warm-up uses (a fake in unit tests). */
export type WarmableRecorder = Pick<MediaRecorder, 'state' | 'pause' | 'resume' | 'addEventListener' | 'removeEventListener'>;

export interface WarmUpTiming {
  runMs: number;
  timeoutMs: number;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
}

const DEFAULT_TIMING: WarmUpTiming = {
  runMs: WARM_UP_RUN_MS,
  timeoutMs: ENCODER_START_TIMEOUT_MS,
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/**
 * Pauses a just-started `recorder` (at `startedAt`, Date.now()) until its encoder has written,
 * and resumes it. Answers when the file's time 0 is on this clock for everything after its first
 * `runMs`: `startedAt` plus the time paused (none when the encoder was quick, or the recorder
 * stopped meanwhile).
 */
export async function warmUpEncoder(recorder: WarmableRecorder, startedAt: number, timing: Partial<WarmUpTiming> = {}): Promise<number> {
  const { runMs, timeoutMs, now, sleep } = { ...DEFAULT_TIMING, ...timing };
  let wrote = false;
  let wake: () => void = () => undefined;
  const written = () => {
    wrote = true;
    wake();
  };
  // Read afresh after each wait (TypeScript would keep the narrowing of an earlier check).
  const state = (): RecordingState => recorder.state;
  recorder.addEventListener('start', written);
  recorder.addEventListener('dataavailable', written);
  try {
    await sleep(runMs);
    if (wrote || state() !== 'recording') return startedAt;
    recorder.pause();
    const pausedAt = now();
    await Promise.race([new Promise<void>((resolve) => (wake = resolve)), sleep(timeoutMs)]);
    // Stopped meanwhile (the upload failed, or stop() was called): nothing to resume.
    if (state() !== 'paused') return startedAt;
    recorder.resume();
    return startedAt + (now() - pausedAt);
  } finally {
    recorder.removeEventListener('start', written);
    recorder.removeEventListener('dataavailable', written);
  }
}
