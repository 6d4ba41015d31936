import { errorCodes, type ErrorCode } from '@parley/protocol';

/**
 * Codes the SDK raises itself, next to the server's protocol error codes; the HTTP API's own
 * (`DEV_MODE_OFF`, `NOT_FOUND`, `METHOD_NOT_ALLOWED`) come through `fetchDevToken` and the network test.
 */
export const CLIENT_ERROR_CODES = [
  'CONNECTION_FAILED',
  'CONNECTION_LOST',
  'REQUEST_TIMEOUT',
  'NOT_CONNECTED',
  'NEGOTIATION_FAILED',
  'MEDIA_DENIED',
  'MEDIA_NOT_FOUND',
  'MEDIA_FAILED',
  'DEV_MODE_OFF',
  'NOT_FOUND',
  'METHOD_NOT_ALLOWED',
  'INVALID_RESPONSE',
  'INVALID_ARGUMENT',
  'RECORDING_UNSUPPORTED',
  'RECORDING_FAILED',
  'RECORDING_NOT_FOUND',
  // The recording API's refusals (docs/recording.md).
  'CHUNK_TOO_LARGE',
  'LENGTH_REQUIRED',
  'UPLOAD_NOT_FOUND',
  'USER_QUOTA_EXCEEDED',
  'SERVER_QUOTA_EXCEEDED',
  'RECORDING_ACTIVE',
  // Server recordings' refusals.
  'ROOM_NOT_ON_SFU',
  'ALREADY_RECORDING',
  'NOT_RECORDING',
  'RECORDER_FAILED',
  'NOT_IMPLEMENTED',
] as const;

export type ClientErrorCode = (typeof CLIENT_ERROR_CODES)[number];

export type ParleyErrorCode = ErrorCode | ClientErrorCode;

const KNOWN_CODES: ReadonlySet<string> = new Set<string>([...errorCodes, ...CLIENT_ERROR_CODES]);

/** A code read from an HTTP error body: itself when the SDK knows it, else `INVALID_RESPONSE`. */
export function knownErrorCode(code: unknown): ParleyErrorCode {
  return typeof code === 'string' && KNOWN_CODES.has(code) ? (code as ParleyErrorCode) : 'INVALID_RESPONSE';
}

export class ParleyError extends Error {
  override name = 'ParleyError';

  /** `cause`: the error this one wraps (a browser or network failure), kept for debugging. */
  constructor(
    readonly code: ParleyErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Turns a getUserMedia/getDisplayMedia failure into a ParleyError that says what to do. */
export function mediaError(error: unknown, what: string): ParleyError {
  const name = (error as { name?: string } | null)?.name;
  if (name === 'NotAllowedError' || name === 'SecurityError') {
    return new ParleyError('MEDIA_DENIED', `permission to use the ${what} was denied`, { cause: error });
  }
  if (name === 'NotFoundError' || name === 'OverconstrainedError') return new ParleyError('MEDIA_NOT_FOUND', `no ${what} was found`, { cause: error });
  if (name === 'NotReadableError') return new ParleyError('MEDIA_FAILED', `the ${what} is in use by another application`, { cause: error });
  return new ParleyError('MEDIA_FAILED', `the ${what} could not be started: ${(error as Error)?.message ?? String(error)}`, { cause: error });
}
