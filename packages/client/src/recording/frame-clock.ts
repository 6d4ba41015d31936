/**
 * The clock that drives the recording compositor's drawing (canvas-compositor.ts): a dedicated
 * Worker's `setInterval` posting one message per tick to the page. Browsers throttle a hidden
 * tab's own timers (Chromium: about one wake-up a second), and a user who switches tabs during a
 * call would get a recording at that rate; a dedicated Worker's timers and the messages it posts
 * are not throttled. Measured in e2e/recording-hidden-tab.test.ts (headful Chromium 156 under
 * Xvfb, a `self` recording without a microphone whose tab was hidden for 8 s): drawn by the
 * page's setInterval the file had 1.0 fps while hidden (one frame a second), drawn on this clock
 * 25.0 fps. In a bare hidden page a Worker's 40 ms timer ticked 75 times in 3 s, the page's own 4.
 *
 * MediaStreamTrackProcessor was not tried: its frames come at the camera's pace and only while there is a
 * camera, and the compositor must draw at its own rate whatever it shows (the placeholder with no
 * camera, a grid of several); Firefox has none either.
 *
 * The Worker is made from a Blob URL, so the SDK stays one file and works on any origin; a page
 * whose Content-Security-Policy refuses blob: workers (Parley's own allows them: `worker-src
 * 'self' blob:`) gets the page's own `setInterval`, as before, which is throttled in a hidden tab.
 */

/** The Worker's whole program: tick every `data` ms (0 stops). */
const WORKER_SOURCE = 'let timer; onmessage = (event) => { clearInterval(timer); if (event.data > 0) timer = setInterval(() => postMessage(0), event.data); };';

export type FrameClockKind = 'worker' | 'page';

export class FrameClock {
  private worker: Worker | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private stopped = false;
  private lastTick = -Infinity;
  private kindNow: FrameClockKind = 'page';

  /** Calls `tick` every `intervalMs` from now on until `stop()`. */
  constructor(
    private readonly intervalMs: number,
    private readonly tick: () => void,
  ) {
    const worker = startWorker();
    if (!worker) {
      this.usePageTimer();
      return;
    }
    this.worker = worker.worker;
    this.kindNow = 'worker';
    worker.worker.onmessage = () => {
      worker.loaded();
      this.onTick();
    };
    // A Worker the page may not start (a CSP without blob: workers) fails after construction.
    worker.worker.onerror = (event) => {
      event.preventDefault();
      worker.loaded();
      worker.worker.terminate();
      this.worker = undefined;
      if (!this.stopped) this.usePageTimer();
    };
    worker.worker.postMessage(intervalMs);
  }

  /** Which clock ticks now: the Worker's, or the page's own timer (no Worker could start). */
  get kind(): FrameClockKind {
    return this.kindNow;
  }

  stop(): void {
    this.stopped = true;
    this.worker?.terminate();
    this.worker = undefined;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private usePageTimer(): void {
    this.kindNow = 'page';
    this.timer = setInterval(() => this.onTick(), this.intervalMs);
  }

  private onTick(): void {
    if (this.stopped) return;
    // Messages queue while the page is busy (a page timer's ticks do not): one tick for a backlog,
    // not a burst of drawings the canvas track would drop anyway.
    const now = performance.now();
    if (now - this.lastTick < this.intervalMs / 2) return;
    this.lastTick = now;
    this.tick();
  }
}

/** A Worker running WORKER_SOURCE, and `loaded()` to release its Blob URL; undefined where none can be made. */
function startWorker(): { worker: Worker; loaded: () => void } | undefined {
  if (typeof Worker === 'undefined' || typeof Blob === 'undefined' || typeof URL.createObjectURL !== 'function') return undefined;
  const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: 'text/javascript' }));
  let revoked = false;
  const loaded = () => {
    if (revoked) return;
    revoked = true;
    URL.revokeObjectURL(url);
  };
  try {
    return { worker: new Worker(url), loaded };
  } catch {
    // Older browsers refuse a CSP-blocked Worker in its constructor.
    loaded();
    return undefined;
  }
}
