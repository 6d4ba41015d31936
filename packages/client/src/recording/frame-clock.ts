/**
 * The clock that drives the recording compositor's drawing (canvas-compositor.ts). While the page
 * is visible: the page's own `setInterval`, as always. While it is hidden: a dedicated Worker's
 * `setInterval` posting one message per tick to the page. Browsers throttle a hidden tab's own
 * timers (Chromium: about one wake-up a second), and a user who switches tabs during a call would
 * get a recording at that rate; a dedicated Worker's timers and the messages it posts are not
 * throttled.
 *
 * Measured in e2e/recording-hidden-tab.test.ts (headful Chromium 156 under Xvfb, a `self`
 * recording without a microphone whose tab was hidden for 8 s): drawn by the page's setInterval
 * the file had 1.0 fps while hidden (one frame a second), drawn on the Worker's clock 25.0-25.1 fps.
 * In a bare hidden page a Worker's 40 ms timer ticked 75 times in 3 s, the page's own 4.
 *
 * Why the page's timer while visible: with every frame driven from the Worker,
 * e2e/recording.test.ts failed on a loaded 2-core machine (load 7-9): the 1280x720 noise camera's file
 * had 33 frames in 4 s (1.39 Mbit/s) against 73 in 3.3 s with the page timer, and the web app's
 * recording page answered too slowly for its test. The Worker waits for each tick's drawing
 * before the next (at most one tick queued), and runs only while the page is hidden.
 *
 * The Worker is made from a Blob URL, so the SDK stays one file and works on any origin; a page
 * whose Content-Security-Policy refuses blob: workers (Parley's own allows them: `worker-src
 * 'self' blob:`) keeps the page's timer when hidden, throttled.
 *
 * MediaStreamTrackProcessor was not tried: its frames come at the camera's pace and only while
 * there is a camera, and the compositor must draw at its own rate whatever it shows (the
 * placeholder with no camera, a grid of several); Firefox has none either.
 */

/**
 * The Worker's whole program: a number starts ticking every that many ms (0 stops), 'drawn'
 * says the page handled the last tick; no tick is posted while one is unanswered.
 */
const WORKER_SOURCE =
  "let timer; let waiting = false; onmessage = (event) => { if (event.data === 'drawn') { waiting = false; return; } clearInterval(timer); waiting = false; if (event.data > 0) timer = setInterval(() => { if (!waiting) { waiting = true; postMessage(0); } }, event.data); };";

export type FrameClockKind = 'worker' | 'page';

/** Whether the page is hidden, and changes of it (`document` by default). */
export interface PageVisibility {
  hidden(): boolean;
  /** Calls `listener` on every change; answers how to stop. */
  onChange(listener: () => void): () => void;
}

const documentVisibility: PageVisibility | undefined =
  typeof document === 'undefined'
    ? undefined
    : {
        hidden: () => document.visibilityState === 'hidden',
        onChange(listener) {
          document.addEventListener('visibilitychange', listener);
          return () => document.removeEventListener('visibilitychange', listener);
        },
      };

export class FrameClock {
  private worker: Worker | undefined;
  /** No Worker may start here (none in this browser, or the page's CSP refused it). */
  private noWorker = false;
  private timer: ReturnType<typeof setInterval> | undefined;
  private stopped = false;
  private kindNow: FrameClockKind = 'page';
  private readonly stopWatching: () => void;

  /** Calls `tick` every `intervalMs` from now on until `stop()`. */
  constructor(
    private readonly intervalMs: number,
    private readonly tick: () => void,
    private readonly visibility: PageVisibility | undefined = documentVisibility,
  ) {
    this.stopWatching = visibility?.onChange(() => this.follow()) ?? (() => undefined);
    this.follow();
  }

  /** Which clock ticks now: the Worker's (the page hidden), or the page's own timer. */
  get kind(): FrameClockKind {
    return this.kindNow;
  }

  stop(): void {
    this.stopped = true;
    this.stopWatching();
    this.worker?.terminate();
    this.worker = undefined;
    this.stopPageTimer();
  }

  /** The Worker's clock while the page is hidden (where one may start), the page's timer otherwise. */
  private follow(): void {
    if (this.stopped) return;
    if (this.visibility?.hidden() === true && !this.noWorker && this.useWorker()) {
      this.stopPageTimer();
      return;
    }
    this.worker?.postMessage(0);
    this.kindNow = 'page';
    this.timer ??= setInterval(() => this.tick(), this.intervalMs);
  }

  private stopPageTimer(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Starts (or resumes) the Worker's ticks; false where no Worker can be made. */
  private useWorker(): boolean {
    if (!this.worker) {
      const started = startWorker();
      if (!started) {
        this.noWorker = true;
        return false;
      }
      const worker = started.worker;
      this.worker = worker;
      worker.onmessage = () => {
        started.loaded();
        // A tick still on its way when the page became visible: the page's timer ticks now (the
        // Worker's next number resets its wait).
        if (this.stopped || this.worker !== worker || this.kindNow !== 'worker') return;
        this.tick();
        worker.postMessage('drawn');
      };
      // A Worker the page may not start (a CSP without blob: workers) fails after construction:
      // the page's timer, for good.
      worker.onerror = (event) => {
        event.preventDefault();
        started.loaded();
        worker.terminate();
        if (this.worker !== worker) return;
        this.worker = undefined;
        this.noWorker = true;
        this.follow();
      };
    }
    this.kindNow = 'worker';
    this.worker.postMessage(this.intervalMs);
    return true;
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
