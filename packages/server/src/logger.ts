import { pino, stdSerializers, type Logger as PinoLogger } from 'pino';
import { prettyFactory } from 'pino-pretty';

/**
 * Structured logs: one JSON object per line (pino), with the ids that let an operator follow one
 * call across lines: `node` on every line, `conn` (a signaling connection), `room` and
 * `participant` once it joined, `req` (the signaling request id or the HTTP X-Request-Id).
 * `format: 'pretty'` prints the same events readably for development.
 *
 * Secrets never reach a line: callers never pass tokens or secrets, and as a second line of
 * defence the field names that carry them are censored (REDACTED_PATHS) and URLs lose their query
 * string's credentials (safeUrl). A test greps a whole run's logs for every secret it used.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'json' | 'pretty';

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  /** A logger whose every line also carries these fields (ids: room, participant, conn, req). */
  child(bindings: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  format?: LogFormat;
  /** Where lines go (each without its newline); stderr by default. */
  write?: (line: string) => void;
  /** Fields on every line, e.g. `{ node }`. */
  base?: Record<string, unknown>;
}

/** Field names whose values are credentials wherever they appear (one level of nesting too). */
export const REDACTED_FIELDS = ['token', 'secret', 'password', 'credential', 'authorization', 'apiSecret', 'turnSecret', 'metricsToken'];
const REDACTED_PATHS = REDACTED_FIELDS.flatMap((name) => [name, `*.${name}`]);

/** `auto`: pretty on a terminal (someone is reading), JSON lines otherwise (something is collecting). */
export function resolveLogFormat(format: LogFormat | 'auto', stream: { isTTY?: boolean } = process.stderr): LogFormat {
  return format === 'auto' ? (stream.isTTY ? 'pretty' : 'json') : format;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const prettify = options.format === 'pretty' ? prettyFactory({ colorize: false, singleLine: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }) : undefined;
  const destination = {
    write(chunk: string) {
      const line = chunk.endsWith('\n') ? chunk.slice(0, -1) : chunk;
      write(prettify ? prettify(line).trimEnd() : line);
    },
  };
  const logger = pino(
    {
      level: options.level ?? 'info',
      base: { pid: process.pid, ...options.base },
      messageKey: 'msg',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { error: stdSerializers.err },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    },
    destination,
  );
  return wrap(logger);
}

function wrap(logger: PinoLogger): Logger {
  const log = (level: LogLevel) => (message: string, fields?: Record<string, unknown>) => {
    if (fields) logger[level](fields, message);
    else logger[level](message);
  };
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error'), child: (bindings) => wrap(logger.child(bindings)) };
}

/** A URL for a log line: path and query names kept, the values of credential-like parameters replaced. */
export function safeUrl(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  const query = url.indexOf('?');
  if (query < 0) return url;
  const params = new URLSearchParams(url.slice(query + 1));
  for (const name of [...params.keys()]) {
    if (/token|secret|key|pass|auth|cred|sig/i.test(name)) params.set(name, '[redacted]');
  }
  return `${url.slice(0, query)}?${params.toString()}`;
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silentLogger };
