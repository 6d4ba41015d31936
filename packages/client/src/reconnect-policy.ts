/** When to try again after the signaling connection dropped. */
export interface ReconnectPolicy {
  /** Milliseconds to wait before attempt `attempt` (0-based), or null to give up. */
  nextRetryDelayMs(context: { attempt: number; elapsedMs: number; graceMs: number }): number | null;
}

const DELAYS_MS = [0, 300, 1200, 2700, 4800];
const MAX_DELAY_MS = 7000;

/**
 * Quick first tries (most drops are a blip), then a steady pace, until the server's grace period
 * is over: after that the membership is gone and a resume cannot work.
 */
export class DefaultReconnectPolicy implements ReconnectPolicy {
  nextRetryDelayMs({ attempt, elapsedMs, graceMs }: { attempt: number; elapsedMs: number; graceMs: number }): number | null {
    const delay = DELAYS_MS[attempt] ?? MAX_DELAY_MS;
    return elapsedMs + delay > graceMs ? null : delay;
  }
}
