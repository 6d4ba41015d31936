import { DetailedError, Upload, type UploadOptions } from 'tus-js-client';
import { knownErrorCode, ParleyError, type ParleyErrorCode } from '../errors.js';
import { chooseMimeType, DEFAULT_RECORDING_BITS_PER_SECOND, DEFAULT_TIMESLICE_MS } from './mime-type.js';
import { RecorderSource } from './recorder-source.js';
import type { ChunkStore } from './chunk-store.js';
import { log } from '../log.js';
import { StallTimeoutHttpStack } from './stall-timeout.js';

export interface BrowserRecorderOptions {
  /** e.g. https://host/api/rooms/demo/recordings/uploads */
  endpoint: string;
  token: string;
  stream: MediaStream;
  source: 'self' | 'call';
  /** Preferred MediaRecorder mime type; falls back along Parley's list when unsupported. */
  mimeType?: string;
  videoBitsPerSecond?: number;
  timesliceMs?: number;
  /** Largest PATCH body (the server's `recording.maxChunkBytes` must allow it). */
  chunkBytes?: number;
  /** Each acknowledged offset: every byte before it is on the server's disk. */
  onAcknowledged?: (bytes: number) => void;
  /** The upload gave up (a 4xx such as a quota, or the server away past every retry). */
  onFailed?: (error: ParleyError) => void;
  /** Keeps every chunk in IndexedDB until acknowledged, so another page can finish the upload. */
  persist?: { store: ChunkStore; room: string; identity: string };
}

/**
 * Retries after a network drop or a server restart: quickly at first, then every second for the
 * first ~30 s, then every 3 s, about two minutes in all. Each retry asks the server (HEAD) for its
 * offset and sends from there; a refused connection costs the server nothing. The 1 s steps: a
 * server listening again is retried within a second. With 3 s steps from the fifth retry on, a
 * server back 1.75-30 s after the failure waited up to 3 s more; measured with e2e/recording.test.ts's
 * kill -9 held down 4 s longer, the server listening 5.5 s after the kill: acknowledged 1.88 s
 * after it listened with 3 s steps, 0.62 s with these.
 */
export const RETRY_DELAYS_MS = [0, 250, 500, ...Array.from({ length: 30 }, () => 1000), ...Array.from({ length: 30 }, () => 3000)];

/**
 * What every recording upload, new or resumed, gives tus-js-client: the token, a length declared
 * at the end, chunks read from `source`, the retries above, retrying only what a retry can
 * mend (no answer, 5xx, 409 offset mismatch, 423 locked by a dead request), and requests given up
 * after 5 s without progress (a network that drops silently: stall-timeout.ts).
 */
export function uploadOptions(token: string, source: RecorderSource, chunkBytes = 8 * 1024 * 1024) {
  return {
    headers: { authorization: `Bearer ${token}` },
    uploadLengthDeferred: true,
    chunkSize: chunkBytes,
    retryDelays: RETRY_DELAYS_MS,
    storeFingerprintForResuming: false,
    httpStack: new StallTimeoutHttpStack(),
    fileReader: { openFile: async () => source },
    onShouldRetry: (error: DetailedError) => {
      const status = error.originalResponse?.getStatus() ?? 0;
      return status === 0 || status >= 500 || status === 409 || status === 423;
    },
  } satisfies Partial<UploadOptions>;
}

/**
 * One browser recording: MediaRecorder over `stream`, its chunks uploaded while it records
 * (tus 1.0 with tus-js-client, length declared at the end).
 */
export class BrowserRecorder {
  readonly mimeType: string;
  /** How often MediaRecorder hands over a chunk (ms): the option, or DEFAULT_TIMESLICE_MS. */
  readonly timesliceMs: number;
  private readonly recorder: MediaRecorder;
  private readonly source = new RecorderSource();
  private readonly upload: Upload;
  private acknowledged = 0;
  private readonly finished: Promise<void>;
  private failure: ParleyError | undefined;
  /** Chunks are kept (IndexedDB) and then handed to the upload in order; stop() waits for the last. */
  private handedOver: Promise<void> = Promise.resolve();
  private recordedBytes = 0;
  private readonly idKnown: Promise<string>;

  private constructor(
    private readonly options: BrowserRecorderOptions,
    mimeType: string,
    created: { resolve: (url: string) => void; reject: (error: ParleyError) => void },
  ) {
    this.mimeType = mimeType;
    this.timesliceMs = options.timesliceMs ?? DEFAULT_TIMESLICE_MS;
    this.recorder = new MediaRecorder(options.stream, { mimeType, videoBitsPerSecond: options.videoBitsPerSecond ?? DEFAULT_RECORDING_BITS_PER_SECOND });
    let knowId: (id: string) => void = () => undefined;
    this.idKnown = new Promise<string>((resolve) => (knowId = resolve));
    const store = options.persist?.store;
    this.recorder.addEventListener('dataavailable', (event) => {
      const blob = event.data;
      if (blob.size === 0) return;
      const offset = this.recordedBytes;
      this.recordedBytes += blob.size;
      this.handedOver = this.handedOver.then(async () => {
        // Kept before it is uploaded: what the server has not acknowledged survives a reload.
        if (store) await store.addChunk(await this.idKnown, offset, blob).catch((error: unknown) => log.debug('a recording chunk was not kept in IndexedDB', error));
        this.source.push(blob);
      });
    });
    let settle: { resolve: () => void; reject: (error: ParleyError) => void } | undefined;
    this.finished = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    // Whoever awaits `finished` gets its failure; this only keeps a recording nobody awaits from
    // reporting an unhandled rejection.
    this.finished.catch(() => undefined);
    const source = this.source;
    this.upload = new Upload(new Blob(), {
      ...uploadOptions(options.token, source, options.chunkBytes),
      endpoint: options.endpoint,
      metadata: { filetype: mimeType, source: options.source },
      onUploadUrlAvailable: () => {
        const url = this.upload.url ?? '';
        const id = url.split('/').pop() ?? '';
        const persist = options.persist;
        // The upload's description first, so a kept chunk never lacks one.
        const saved = persist ? persist.store.saveUpload({ id, uploadUrl: url, room: persist.room, identity: persist.identity, mimeType }).catch((error: unknown) => log.debug('the recording upload was not kept in IndexedDB', error)) : Promise.resolve();
        void saved.then(() => knowId(id));
        created.resolve(url);
      },
      onChunkComplete: (_size, accepted) => {
        this.acknowledged = accepted;
        options.onAcknowledged?.(accepted);
        void this.idKnown.then((id) => store?.dropBefore(id, accepted)).catch((error: unknown) => log.debug('acknowledged chunks were not deleted from IndexedDB', error));
      },
      onSuccess: () => {
        void this.idKnown.then((id) => store?.remove(id)).catch((error: unknown) => log.debug('a finished upload was not deleted from IndexedDB', error));
        settle?.resolve();
      },
      onError: (error) => {
        void this.idKnown.then((id) => store?.remove(id)).catch((error: unknown) => log.debug('a failed upload was not deleted from IndexedDB', error));
        const failure = uploadError(error);
        this.failure = failure;
        created.reject(failure);
        settle?.reject(failure);
        if (this.recorder.state !== 'inactive') this.recorder.stop();
        options.onFailed?.(failure);
      },
    });
  }

  /** Starts recording and the upload; resolves with the recording's id once the server created it. */
  static async start(options: BrowserRecorderOptions): Promise<BrowserRecorder> {
    if (typeof MediaRecorder === 'undefined') throw new ParleyError('RECORDING_UNSUPPORTED', 'this browser has no MediaRecorder');
    const mimeType = chooseMimeType((type) => MediaRecorder.isTypeSupported(type), options.mimeType);
    if (!mimeType) throw new ParleyError('RECORDING_UNSUPPORTED', 'this browser records no WebM format');
    let created!: { resolve: (url: string) => void; reject: (error: ParleyError) => void };
    const url = new Promise<string>((resolve, reject) => (created = { resolve, reject }));
    const recorder = new BrowserRecorder(options, mimeType, created);
    recorder.upload.start();
    recorder.startedAt = Date.now();
    recorder.recorder.start(recorder.timesliceMs);
    try {
      recorder.uploadUrl = await url;
    } catch (error) {
      if (recorder.recorder.state !== 'inactive') recorder.recorder.stop();
      throw error;
    }
    return recorder;
  }

  uploadUrl = '';
  /** When MediaRecorder started (Date.now()): the file's time 0. */
  startedAt = 0;

  /** The server's recording id (the upload's id). */
  get id(): string {
    return this.uploadUrl.split('/').pop() ?? '';
  }

  /** The video bitrate MediaRecorder says it records with (its `videoBitsPerSecond`: what the browser took of the option). */
  get videoBitsPerSecond(): number {
    return this.recorder.videoBitsPerSecond;
  }

  get acknowledgedBytes(): number {
    return this.acknowledged;
  }

  /** Stops recording; resolves once every byte is on the server (which then remuxes the file). */
  async stop(): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.recorder.state !== 'inactive') {
      const stopped = new Promise<void>((resolve) => this.recorder.addEventListener('stop', () => resolve(), { once: true }));
      this.recorder.stop();
      await stopped;
    }
    await this.handedOver;
    this.source.end();
    await this.finished;
  }
}

export function uploadError(error: Error): ParleyError {
  if (error instanceof DetailedError && error.originalResponse) {
    const status = error.originalResponse.getStatus();
    let code: ParleyErrorCode = 'RECORDING_FAILED';
    let message = error.originalResponse.getBody();
    try {
      const parsed = JSON.parse(message) as { error?: { code?: string; message?: string } };
      if (parsed.error?.code !== undefined) code = knownErrorCode(parsed.error.code);
      message = parsed.error?.message ?? message;
    } catch {
      // A tus error body is plain text.
    }
    return new ParleyError(code, `recording upload refused (${status}): ${message.trim()}`, { cause: error });
  }
  return new ParleyError('RECORDING_FAILED', `recording upload failed: ${error.message}`, { cause: error });
}
