/**
 * One process kept started ahead of need (pure bookkeeping; the mixer's use: a spare ffmpeg
 * decoder, `video-mixer.ts`). Why: a decoder's ffmpeg was spawned when its camera was published,
 * and its start (~0.15 s of CPU, 600-1250 ms of wall time on the 2 busy cores of
 * `bench:mcu:layout`) was most of the time a joiner's picture took to reach the grid (joins
 * 1.10-1.36 s, median). A spare is past its start when a publication comes, so it decodes the
 * keyframe at once; another is started behind it.
 *
 * - Bounded: one spare at a time. An idle decoder costs no CPU and ~9.4 MB of memory of its own
 *   (47 MB RSS, of which 37 MB are ffmpeg's shared libraries, mapped once for every ffmpeg on the
 *   machine: `/proc/PID/smaps_rollup`, Private_Dirty 9.4 MB, Pss 21 MB with three running); more
 *   than one would serve only cameras published together.
 * - Replaced at once when taken (on a timer of 0 ms: after the taker has handed the spare its
 *   codec), so a camera published close behind the first finds one already starting. Not held
 *   back to leave the taken decoder's first keyframe the CPU: `npm run bench:mcu:camera-burst`
 *   (4 Chromium pages on these 2 busy cores, 3 rounds alternated, 9 events of each kind a side)
 *   found a 1 s wait bought nothing. From a camera's first packet to its picture in a receiver's
 *   grid: one camera alone, median 1258 ms at once against 1455 ms with the wait; three
 *   published within 50 ms, 2167 against 2848 ms (the burst's last 2362 against 3113; lower in
 *   each round), 17 of the bursts' 27 decoders warm against 9. The spare is started either way,
 *   only sooner, so at rest it still costs one ffmpeg. Cameras added before that timer runs
 *   (tracks arriving together) start their own past the first, and one spare follows.
 * - A spare that dies by itself (not closed here) is started again after `retryMs`, doubled on
 *   each death in a row up to `maxRetryMs` (a broken ffmpeg path must not spin), reset when a
 *   spare is taken alive.
 * - `close` closes the spare and stops every timer: nothing outlives the mixer. (Should the
 *   mixer's process die instead, the spare's stdin closes with it and ffmpeg exits: end of input.)
 */
export interface Spare {
  close(): void;
}

export interface SparePoolOptions<T extends Spare> {
  /** Starts one; it calls `onExit` if it ends by itself (not after `close`). */
  start: (onExit: () => void) => T;
  refillMs?: number;
  retryMs?: number;
  maxRetryMs?: number;
  /** Timers, replaceable in tests. */
  setTimer?: (callback: () => void, ms: number) => unknown;
  clearTimer?: (timer: unknown) => void;
}

export interface SparePoolStats {
  /** `take`s answered by the spare (started ahead). */
  warm: number;
  /** `take`s that found no spare and started one on demand. */
  cold: number;
  /** Spares that ended by themselves while waiting. */
  died: number;
}

/** A taken spare's replacement is started on a timer of this long: 0, the next task (see above). */
export const SPARE_REFILL_MS = 0;
const RETRY_MS = 1000;
const MAX_RETRY_MS = 30_000;

export class SparePool<T extends Spare> {
  private spare: T | undefined;
  private timer: unknown;
  private closed = false;
  private retryMs: number;
  private readonly stats_: SparePoolStats = { warm: 0, cold: 0, died: 0 };
  private readonly setTimer: (callback: () => void, ms: number) => unknown;
  private readonly clearTimer: (timer: unknown) => void;

  constructor(private readonly options: SparePoolOptions<T>) {
    this.retryMs = options.retryMs ?? RETRY_MS;
    this.setTimer = options.setTimer ?? ((callback, ms) => setTimeout(callback, ms).unref());
    this.clearTimer = options.clearTimer ?? ((timer) => clearTimeout(timer as NodeJS.Timeout));
    this.fill();
  }

  /** The spare if there is one (another started after `refillMs`: at once by default), else one started now. */
  take(): T {
    if (this.closed) throw new Error('the spare pool is closed');
    const spare = this.spare;
    this.spare = undefined;
    if (spare) {
      this.stats_.warm += 1;
      this.retryMs = this.options.retryMs ?? RETRY_MS;
      this.schedule(this.options.refillMs ?? SPARE_REFILL_MS);
      return spare;
    }
    this.stats_.cold += 1;
    // No spare (taken earlier in this task, or dead and waiting to be started again): the timer
    // that is pending will start the next one.
    if (this.timer === undefined) this.schedule(this.options.refillMs ?? SPARE_REFILL_MS);
    return this.options.start(() => {});
  }

  /** Whether a spare is waiting now. */
  get ready(): boolean {
    return this.spare !== undefined;
  }

  get stats(): Readonly<SparePoolStats> {
    return { ...this.stats_ };
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) this.clearTimer(this.timer);
    this.timer = undefined;
    this.spare?.close();
    this.spare = undefined;
  }

  private schedule(ms: number): void {
    if (this.timer !== undefined) this.clearTimer(this.timer);
    this.timer = this.setTimer(() => {
      this.timer = undefined;
      this.fill();
    }, ms);
  }

  private fill(): void {
    if (this.closed || this.spare) return;
    const spare: T = this.options.start(() => {
      // Only a spare still waiting matters: one taken is its user's (the mixer's watchdog restarts a silent decoder).
      if (this.spare !== spare) return;
      this.spare = undefined;
      this.stats_.died += 1;
      this.schedule(this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, this.options.maxRetryMs ?? MAX_RETRY_MS);
    });
    this.spare = spare;
  }
}
