/**
 * Whether the signaling connection still carries anything: a network that fails without closing
 * the socket (a Wi-Fi handover, a NAT that forgot the mapping) leaves it open and silent for
 * minutes, so the SDK pings every PING_EVERY_MS and gives the connection up after SILENT_LIMIT_MS
 * in which nothing at all arrived (any message counts, not only the pong).
 *
 * Silence is counted in the page's own running time. A busy or throttled page runs its timers late,
 * and what the server sent meanwhile waits in the page's task queue behind them, so each check
 * counts at most CHECK_EVERY_MS (plus a little) of silence, however late it ran. And the limit is
 * three pings: under load (8 Chromium pages on 2 cores, `npm run bench:join -- --cases sfu-8`) a
 * single ping with a 4 s timeout dropped 16-23 live connections a run, each a reconnect and a fresh
 * receiving connection. A network that really died is given up 9-10 s after its last message.
 */
export const CHECK_EVERY_MS = 1000;
export const PING_EVERY_MS = 3000;
/** Three pings unanswered, with nothing else heard either. */
export const SILENT_LIMIT_MS = 9000;
/** A check counts at most this much silence: its interval and a timer's usual lateness. */
const MAX_COUNTED_PER_CHECK_MS = CHECK_EVERY_MS + 100;

export type LivenessVerdict = 'fine' | 'ping' | 'dead';

export class Liveness {
  private lastCheckAt: number;
  private lastPingAt: number;
  private heardAt: number;
  /** Page running time since the last message. */
  private silentMs = 0;

  /** `now`: when the connection opened (it was heard then). */
  constructor(now: number) {
    this.lastCheckAt = now;
    this.lastPingAt = now;
    this.heardAt = now;
  }

  /** How long the connection has been silent, in page running time. */
  get silence(): number {
    return this.silentMs;
  }

  /**
   * A check at `now`, with `heardAt` the time of the newest message (any) from the server: 'dead'
   * once SILENT_LIMIT_MS of silence were counted, else 'ping' when one is due, else 'fine'.
   */
  check(now: number, heardAt: number): LivenessVerdict {
    const since = Math.min(now - this.lastCheckAt, MAX_COUNTED_PER_CHECK_MS);
    this.lastCheckAt = now;
    if (heardAt > this.heardAt) {
      this.heardAt = heardAt;
      this.silentMs = Math.min(now - heardAt, since);
    } else {
      this.silentMs += since;
    }
    if (this.silentMs >= SILENT_LIMIT_MS) return 'dead';
    if (now - this.lastPingAt >= PING_EVERY_MS) {
      this.lastPingAt = now;
      return 'ping';
    }
    return 'fine';
  }
}
