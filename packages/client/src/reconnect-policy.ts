/** What a reconnect policy is asked with. */
export interface ReconnectContext {
  /** 0-based: the attempt about to be made. */
  attempt: number;
  /** Since the connection dropped. */
  elapsedMs: number;
  /** How long the server keeps the membership for a resume. */
  graceMs: number;
  /**
   * Why the connection ended: `SERVER_SHUTDOWN` when the server said it is going away (every
   * client of that server reconnects at once), `CONNECTION_LOST` otherwise.
   */
  reason: 'SERVER_SHUTDOWN' | 'CONNECTION_LOST';
}

/** When to try again after the signaling connection dropped. */
export interface ReconnectPolicy {
  /**
   * Milliseconds to wait before attempt `attempt`, or null to give up. A policy that throws or
   * answers something other than a finite number >= 0 or null is not followed: the SDK uses
   * `DefaultReconnectPolicy` for that attempt.
   */
  nextRetryDelayMs(context: ReconnectContext): number | null;
}

const DELAYS_MS = [0, 300, 1200, 2700, 4800];
const MAX_DELAY_MS = 7000;
/** How long to keep trying at least, whatever the server's grace period. */
const MIN_TRYING_MS = 60_000;
/** Up to this much random delay is added from the third attempt on (LiveKit's default does the same). */
const MAX_JITTER_MS = 1000;
/** After SERVER_SHUTDOWN the first attempt is spread over this (every client of the node drops at once). */
const SHUTDOWN_SPREAD_MS = 1000;

/**
 * Quick first tries (most drops are a blip), then a steady pace. Within the server's grace period a
 * retry resumes the membership (nobody notices); after it the membership is gone, but a fresh join
 * still brings the call back (the others see a leave and a join), so trying goes on for a minute
 * at least, as long as a tunnel or a Wi-Fi handover may take.
 *
 * Random delay keeps clients apart: a server that shuts down drops all its clients at the same
 * instant, and with fixed delays they would all reconnect (to the next server) at the same
 * instants, attempt after attempt. So the first attempt after a shutdown is spread over a second,
 * and from the third attempt on every delay gets up to a second more. A blip (`CONNECTION_LOST`,
 * one client) still retries at once.
 */
export class DefaultReconnectPolicy implements ReconnectPolicy {
  constructor(private readonly random: () => number = Math.random) {}

  nextRetryDelayMs({ attempt, elapsedMs, graceMs, reason }: ReconnectContext): number | null {
    let delay = DELAYS_MS[attempt] ?? MAX_DELAY_MS;
    if (attempt === 0 && reason === 'SERVER_SHUTDOWN') delay += Math.floor(this.random() * SHUTDOWN_SPREAD_MS);
    if (attempt >= 2) delay += Math.floor(this.random() * MAX_JITTER_MS);
    return elapsedMs + delay > Math.max(graceMs, MIN_TRYING_MS) ? null : delay;
  }
}

/** The user's policy for one attempt, or the default's where it throws or answers nonsense. */
export function guardedRetryDelay(policy: ReconnectPolicy, context: ReconnectContext, fallback: ReconnectPolicy = new DefaultReconnectPolicy()): number | null {
  try {
    const delay = policy.nextRetryDelayMs(context);
    if (delay === null || (typeof delay === 'number' && Number.isFinite(delay) && delay >= 0)) return delay;
  } catch {
    // A broken policy must not leave the room stuck in `reconnecting`: the default decides.
  }
  return fallback.nextRetryDelayMs(context);
}
