/**
 * Why a request to an SFU worker failed. Only `REJECTED` is the request's own fault (the worker
 * answered that it cannot do it: an unknown track, an SDP it cannot use); the others are the
 * SFU's (a worker that did not answer in time, is not running, or died with the request pending),
 * and a client must not be told that its track does not exist when the SFU simply did not answer.
 */
export type SfuWorkerErrorCode = 'REJECTED' | 'TIMEOUT' | 'NOT_RUNNING' | 'EXITED';

export class SfuWorkerError extends Error {
  constructor(
    readonly code: SfuWorkerErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SfuWorkerError';
  }
}

/** Whether the SFU failed to answer (timeout, worker down), as opposed to refusing the request. */
export function isSfuFailure(error: unknown): error is SfuWorkerError {
  return error instanceof SfuWorkerError && error.code !== 'REJECTED';
}
