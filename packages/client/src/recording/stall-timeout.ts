// A recording upload over a network that stops delivering without saying so (packets dropped, no
// RST or FIN: a Wi-Fi gone quiet, a NAT that forgot the connection, a dead proxy) never ends by
// itself: the browser's XMLHttpRequest has no timeout of its own and waits for TCP, which gives
// up after many minutes. tus-js-client has no timeout either. So every tus request goes through
// this stack, which aborts a request that has made no progress for a while and fails it as a
// network error: the upload's retries then ask the server (HEAD) for its offset and send from
// there, while MediaRecorder's chunks wait in the page (and IndexedDB).

import { DefaultHttpStack, type HttpRequest, type HttpResponse, type HttpStack } from 'tus-js-client';

/**
 * How long a tus request may go without progress (no byte of its body leaving, no response)
 * before it is given up. A PATCH carries one 1 s chunk (~300 KB at 2.5 Mbit/s), whose bytes
 * report progress as they leave even on a slow uplink; the server answers once they are on its
 * disk (fsync: milliseconds). 5 s of nothing is a dead path. Measured with e2e/recording.test.ts's
 * silent-drop case: the PATCH sent 0.33 s into a 7 s drop was given up 5.1 s after it was sent,
 * and the upload acknowledged again 3.7 s after the network was back.
 */
export const UPLOAD_STALL_TIMEOUT_MS = 5000;

export class StallTimeoutHttpStack implements HttpStack {
  constructor(
    private readonly stallMs: number = UPLOAD_STALL_TIMEOUT_MS,
    private readonly inner: HttpStack = new DefaultHttpStack({}),
  ) {}

  createRequest(method: string, url: string): HttpRequest {
    return new StallTimeoutRequest(this.inner.createRequest(method, url), this.stallMs);
  }

  getName(): string {
    return `StallTimeout(${this.inner.getName()})`;
  }
}

/** Thrown when a request made no progress for the stall time (a network error to the retries). */
export class UploadStalledError extends Error {
  constructor(method: string, stallMs: number) {
    super(`${method} made no progress for ${stallMs} ms: the network stopped delivering`);
    this.name = 'UploadStalledError';
  }
}

type Listener = (type: string, listener: () => void) => void;

class StallTimeoutRequest implements HttpRequest {
  private onProgress: ((bytesSent: number) => void) | undefined;

  constructor(
    private readonly inner: HttpRequest,
    private readonly stallMs: number,
  ) {}

  getMethod(): string {
    return this.inner.getMethod();
  }

  getURL(): string {
    return this.inner.getURL();
  }

  setHeader(header: string, value: string): void {
    this.inner.setHeader(header, value);
  }

  getHeader(header: string): string | undefined {
    return this.inner.getHeader(header);
  }

  setProgressHandler(handler: (bytesSent: number) => void): void {
    this.onProgress = handler;
    this.inner.setProgressHandler(handler);
  }

  send(body?: unknown): Promise<HttpResponse> {
    return new Promise<HttpResponse>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          // The inner request's promise never settles once aborted (XHR fires `abort`, not
          // `error`): this one answers for it.
          void this.inner.abort().catch(() => undefined);
          reject(new UploadStalledError(this.getMethod(), this.stallMs));
        }, this.stallMs);
      };
      // Any byte of the body leaving, or of the response arriving, is progress. The XHR's own
      // events, beside tus's progress handler (which XHR calls only with a computable length).
      const underlying = this.inner.getUnderlyingObject() as { addEventListener?: Listener; upload?: { addEventListener?: Listener } } | undefined;
      underlying?.addEventListener?.('progress', arm);
      underlying?.upload?.addEventListener?.('progress', arm);
      if (this.onProgress) {
        const handler = this.onProgress;
        this.inner.setProgressHandler((bytes) => {
          arm();
          handler(bytes);
        });
      }
      arm();
      this.inner.send(body as never).then(
        (response) => {
          clearTimeout(timer);
          resolve(response);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error instanceof Error ? error : new Error(String(error)));
        },
      );
    });
  }

  abort(): Promise<void> {
    return this.inner.abort();
  }

  getUnderlyingObject(): unknown {
    return this.inner.getUnderlyingObject();
  }
}
