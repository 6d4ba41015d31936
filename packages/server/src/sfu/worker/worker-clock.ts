/**
 * The SFU worker's periodic work on one timer. Each wakeup of an idle Node process costs ~60 µs
 * of CPU on these VMs (the kernel's epoll wait and Node's timer processing, outside JavaScript);
 * the worker had five timers (10, 50, 200, 250 and 1000 ms: 130 wakeups a second) and now has one
 * every TICK_MS (40 a second), each job running on the ticks that fall on its period. Measured
 * with `npm run bench:sfu:compare` (BENCHMARKS.md, "SFU CPU per forwarded packet").
 *
 * Every period is a whole number of ticks, checked when the clock is made, so a job's rate is the
 * one its constant says.
 */
export interface ClockJob {
  /** For the error when `everyMs` is not a whole number of ticks. */
  readonly name: string;
  readonly everyMs: number;
  readonly run: () => void;
}

export class WorkerClock {
  private ticks = 0;
  private readonly jobs: ReadonlyArray<{ readonly every: number; readonly run: () => void }>;

  constructor(
    readonly tickMs: number,
    jobs: readonly ClockJob[],
  ) {
    this.jobs = jobs.map((job) => {
      const every = job.everyMs / tickMs;
      if (!Number.isInteger(every) || every < 1) throw new RangeError(`${job.name}: every ${job.everyMs} ms is not a whole number of ${tickMs} ms ticks`);
      return { every, run: job.run };
    });
  }

  /** One tick: runs each job whose period ends now, in the order given. */
  tick(): void {
    this.ticks += 1;
    for (const job of this.jobs) if (this.ticks % job.every === 0) job.run();
  }
}
