import type { ErrorCode } from '@parley/protocol';

/** Codes the SDK raises itself, next to the server's protocol error codes. */
export type ClientErrorCode =
  | 'CONNECTION_FAILED'
  | 'CONNECTION_LOST'
  | 'REQUEST_TIMEOUT'
  | 'NOT_CONNECTED'
  | 'MEDIA_DENIED'
  | 'MEDIA_NOT_FOUND'
  | 'MEDIA_FAILED'
  | 'DEV_MODE_OFF'
  | 'INVALID_RESPONSE'
  | 'INVALID_ARGUMENT'
  | 'RECORDING_UNSUPPORTED'
  | 'RECORDING_FAILED'
  | 'RECORDING_NOT_FOUND';

export type ParleyErrorCode = ErrorCode | ClientErrorCode;

export class ParleyError extends Error {
  override name = 'ParleyError';

  constructor(
    readonly code: ParleyErrorCode | (string & {}),
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
    return new ParleyError('MEDIA_DENIED', `permission to use the ${what} was denied`);
  }
  if (name === 'NotFoundError' || name === 'OverconstrainedError') return new ParleyError('MEDIA_NOT_FOUND', `no ${what} was found`);
  if (name === 'NotReadableError') return new ParleyError('MEDIA_FAILED', `the ${what} is in use by another application`);
  return new ParleyError('MEDIA_FAILED', `the ${what} could not be started: ${(error as Error)?.message ?? String(error)}`);
}
