/**
 * The SDK's console output, by level. Failures the SDK recovers from by itself (a statistics
 * sample, a best-effort report to the server, a request on a connection that is closing) go to
 * `debug`: an app sees them with `setLogLevel('debug')` without every call's console filling up.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3, silent: 4 };
let threshold: LogLevel = 'warn';

/** How much the SDK writes to the console (default `warn`). */
export function setLogLevel(level: LogLevel): void {
  if (!(level in ORDER)) throw new RangeError(`log level must be one of ${Object.keys(ORDER).join(', ')}`);
  threshold = level;
}

function write(level: 'debug' | 'warn', message: string, detail: unknown[]): void {
  if (ORDER[level] < ORDER[threshold]) return;
  console[level](`parley: ${message}`, ...detail);
}

/** The levels the SDK writes at; `info` and `error` exist as thresholds for `setLogLevel`. */
export const log = {
  debug: (message: string, ...detail: unknown[]) => write('debug', message, detail),
  warn: (message: string, ...detail: unknown[]) => write('warn', message, detail),
};
