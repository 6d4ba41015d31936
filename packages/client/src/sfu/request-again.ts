import { ParleyError } from '../errors.js';

/**
 * When a signaling request the SFU path cannot do without (`publishTrack`, `resubscribe`) is sent
 * again. The room's signaling reconnects by itself (`ReconnectPolicy`) and the server keeps the
 * membership 20 s, so a request lost with the connection is worth sending again until then; a
 * refusal (any other error) never is.
 */
export interface RequestSchedule {
  /**
   * Lost with the connection (`CONNECTION_LOST`), or sent while it reconnects (`NOT_CONNECTED`,
   * until the session resumed): again after this long...
   */
  lostDelayMs: number;
  /** ...while fewer than this many were sent in all. */
  lostAttempts: number;
  /** Unanswered on an open connection (`REQUEST_TIMEOUT`): again after this long... */
  timeoutDelayMs: number;
  /** ...while fewer than this many were sent in all. */
  timeoutAttempts: number;
}

/** Sends in all: once a second over the server's 20 s grace period, and a few more for the reconnect itself. */
export const WHILE_RECONNECTING_ATTEMPTS = 25;

/**
 * After request number `attempt` (from 1) failed with `error`: how long to wait before sending it
 * again, or undefined to give up.
 */
export function requestAgainDelayMs(schedule: RequestSchedule, error: unknown, attempt: number): number | undefined {
  const code = error instanceof ParleyError ? error.code : undefined;
  if (code === 'CONNECTION_LOST' || code === 'NOT_CONNECTED') return attempt < schedule.lostAttempts ? schedule.lostDelayMs : undefined;
  if (code === 'REQUEST_TIMEOUT') return attempt < schedule.timeoutAttempts ? schedule.timeoutDelayMs : undefined;
  return undefined;
}

export interface RequestAgainOptions {
  schedule: RequestSchedule;
  /** False once the request is no longer wanted (closed, replaced): then it resolves undefined. */
  wanted: () => boolean;
  /** Before each wait (for the timeline). */
  onAgain?: (error: Error, delayMs: number) => void;
}

/**
 * `send()`'s answer, sending again as the schedule says; undefined once the request is no longer
 * wanted; the last error when the schedule gives up.
 */
export async function requestAgain<T>(send: () => Promise<T>, options: RequestAgainOptions): Promise<T | undefined> {
  for (let attempt = 1; ; attempt++) {
    try {
      // Inside the try: the room's channel throws NOT_CONNECTED synchronously while it reconnects.
      return await send();
    } catch (error) {
      if (!options.wanted()) return undefined;
      const delayMs = requestAgainDelayMs(options.schedule, error, attempt);
      if (delayMs === undefined) throw error;
      options.onAgain?.(error as Error, delayMs);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      if (!options.wanted()) return undefined;
    }
  }
}
