/** When to try again after the signaling connection dropped. */
export interface ReconnectPolicy {
  /** Milliseconds to wait before attempt `attempt` (0-based), or null to give up. */
  nextRetryDelayMs(context: { attempt: number; elapsedMs: number; graceMs: number }): number | null;
}

const DELAYS_MS = [0, 300, 1200, 2700, 4800];
const MAX_DELAY_MS = 7000;
/** How long to keep trying at least, whatever the server's grace period. */
const MIN_TRYING_MS = 60_000;

/**
 * Quick first tries (most drops are a blip), then a steady pace. Within the server's grace period a
 * retry resumes the membership (nobody notices); after it the membership is gone, but a fresh join
 * still brings the call back (the others see a leave and a join), so trying goes on for a minute
 * at least, as long as a tunnel or a Wi-Fi handover may take.
 */
export class DefaultReconnectPolicy implements ReconnectPolicy {
  nextRetryDelayMs({ attempt, elapsedMs, graceMs }: { attempt: number; elapsedMs: number; graceMs: number }): number | null {
    const delay = DELAYS_MS[attempt] ?? MAX_DELAY_MS;
    return elapsedMs + delay > Math.max(graceMs, MIN_TRYING_MS) ? null : delay;
  }
}
