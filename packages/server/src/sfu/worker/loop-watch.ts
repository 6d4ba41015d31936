/**
 * The worker's own event loop, watched by its clock's timer every TICK_MS (`worker-clock.ts`): its delay (the lag metric), and
 * stalls. A stall is a stretch in which the timer could not run (a GC pause, a starved core, the
 * process stopped): packets that reached the socket meanwhile are handled together once the loop
 * runs again, so the time they are handled says nothing about when they arrived.
 *
 * That matters for transport-wide feedback to publishers: stamped with the time they were handled,
 * a 250 ms stall's backlog reads as 250 ms of queueing on the publisher's uplink, and its
 * congestion control cuts its estimate and turns its top simulcast layer off. Measured in
 * `e2e/sfu-loss.test.ts` (the worker stopped 3 x 250 ms, another process busy on one core):
 * Chromium's estimate fell from ~2800 to 1139 kbit/s ("bandwidth") and its 720p layer paused
 * 450 ms-2.9 s; its subscriber switched layers twice. Packets handled during a stall's grace
 * (`inStall`) are left out of the feedback instead: neither received nor lost (`TwccRecorder.leaveOut`).
 */
export const TICK_MS = 25;
/**
 * The timer's interval this long: the loop was not running. Under load on 2 cores the timer runs
 * up to a few tens of ms late; 50 ms late is a stall, as it was with a 10 ms tick.
 */
export const STALL_MS = TICK_MS + 50;
/**
 * After a stall is seen, packets are taken as its backlog for as long as the stall lasted, at
 * most this: the kernel and libdatachannel's threads hand the backlog over within a few ms of the
 * loop running again, even on a starved core.
 */
export const MAX_BACKLOG_MS = 150;

/** What a published track asks of the loop. */
export interface StallSource {
  inStall(now: number): boolean;
}

export class LoopWatch implements StallSource {
  /** When the timer last ran. */
  private lastTick: number;
  private backlogUntil = -Infinity;
  /** Stalls seen so far. */
  stalls = 0;

  constructor(now: number) {
    this.lastTick = now;
  }

  /** The timer ran; returns how late it was (ms), for the lag histogram. */
  tick(now: number): number {
    const late = Math.max(0, now - this.lastTick - TICK_MS);
    this.noteGap(now);
    this.lastTick = now;
    return late;
  }

  /**
   * Whether a packet handled now may be a stall's backlog. Called before the timer had its chance
   * to run again, it sees the stall itself (the timer's last run is over STALL_MS ago).
   */
  inStall(now: number): boolean {
    this.noteGap(now);
    return now < this.backlogUntil;
  }

  private noteGap(now: number): void {
    const gap = now - this.lastTick;
    if (gap <= STALL_MS) return;
    if (now >= this.backlogUntil) this.stalls += 1;
    this.backlogUntil = Math.max(this.backlogUntil, now + Math.min(gap, MAX_BACKLOG_MS));
  }
}
