import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { Server as TusServer } from '@tus/server';
import type { Upload } from '@tus/utils';
import { type ServerMessageBody } from '@parley/protocol';
import type { TokenClaims } from '../auth/token.js';
import type { ServerConfig } from '../config/config.js';
import type { Logger } from '../logger.js';
import type { RoomRegistry } from '../rooms/room-registry.js';
import { FsyncFileStore } from './fsync-file-store.js';
import { QuotaLedger } from './quota.js';
import { remuxWebm } from './remux.js';
import { RECORDING_ID, summary, type RecordingRecord } from './recording-types.js';
import { LocalRecordingStorage, type RecordingStorage } from './storage.js';

export type RecordingSettings = ServerConfig['recording'];

export interface RecordingServiceOptions {
  settings: RecordingSettings;
  rooms: RoomRegistry;
  logger: Logger;
  /** Defaults to the local directory `settings.directory`. */
  storage?: RecordingStorage;
}

/** The recorded file's name in every browser recording. */
export const BROWSER_FILE = 'recording.webm';
const MIME_TYPE = /^(video|audio)\/webm(;\s*codecs="?[a-z0-9.,]{1,64}"?)?$/i;

/** A refusal thrown from tus hooks: `@tus/server` answers it as is. */
function tusError(status: number, code: string, message: string): { status_code: number; body: string } {
  return { status_code: status, body: JSON.stringify({ error: { code, message } }) };
}

/**
 * Browser recordings: tus uploads (`@tus/server` over an fsyncing file store) that become
 * recordings. A recording is `recording` while its upload is open, `processing` while ffmpeg
 * remuxes it, then `ready` (or `failed`). An upload nobody writes to for `idleFinishSeconds`
 * (the recording browser closed) is finished with the bytes it has, unless its author is still
 * connected to the room: their browser is there, and MediaRecorder may not have handed over its
 * first chunk yet (a busy machine took more than 3 s, and the upload was finished empty). Every status change is told
 * to the room (`recordingChanged`), and a newcomer hears the ones running (`eventsFor`).
 */
export class RecordingService {
  readonly storage: RecordingStorage;
  readonly ledger: QuotaLedger;
  private readonly uploadsDir: string;
  private tusServer: TusServer | undefined;
  private store: FsyncFileStore | undefined;
  private starting: Promise<void> | undefined;
  /** Recordings in `recording` or `processing`, by id. */
  private readonly active = new Map<string, RecordingRecord>();
  private readonly idleTimers = new Map<string, NodeJS.Timeout>();
  private readonly inFlight = new Map<string, number>();
  private readonly claimsOf = new WeakMap<object, TokenClaims>();
  private readonly finishing = new Set<Promise<void>>();
  private retentionTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly finishedListeners: Array<(record: RecordingRecord) => void> = [];

  constructor(private readonly options: RecordingServiceOptions) {
    const { settings } = options;
    this.storage = options.storage ?? new LocalRecordingStorage(settings.directory);
    this.ledger = new QuotaLedger({ bytesPerUser: settings.quotaBytesPerUser, bytesPerServer: settings.quotaBytesPerServer });
    this.uploadsDir = join(settings.directory, 'uploads');
  }

  /** Recovers unfinished uploads when the directory exists (a restart); otherwise it is made at the first upload. */
  async start(): Promise<void> {
    if (existsSync(this.options.settings.directory)) await this.ready();
  }

  private ready(): Promise<void> {
    this.starting ??= this.open();
    return this.starting;
  }

  private async open(): Promise<void> {
    await mkdir(this.uploadsDir, { recursive: true });
    this.store = new FsyncFileStore({ directory: this.uploadsDir });
    this.tusServer = new TusServer({
      path: '/api/rooms/recordings/uploads',
      datastore: this.store,
      maxSize: this.options.settings.quotaBytesPerUser,
      namingFunction: () => `rec_${randomBytes(12).toString('hex')}`,
      generateUrl: (request, { id }) => `${new URL(request.url).pathname.replace(/\/$/, '')}/${id}`,
      getFileIdFromRequest: (_request, lastPath) => lastPath,
      onUploadCreate: (request, upload) => this.created(request.runtime?.node?.req, upload),
      onUploadFinish: async (_request, upload) => {
        // Awaited: the upload's last response leaves once the recording is saved as `processing`,
        // so whoever was told the upload is complete never lists it as `recording`.
        await this.finishLater(upload.id);
        return {};
      },
    });
    await this.recover();
    this.sweepRetention();
    this.retentionTimer = setInterval(() => this.sweepRetention(), 3600_000);
    this.retentionTimer.unref();
  }

  get settings(): RecordingSettings {
    return this.options.settings;
  }

  /** A server recording started (or resumed after a restart): saved, listed as running, told to its room. */
  async track(record: RecordingRecord): Promise<void> {
    await this.storage.save(record);
    this.active.set(record.id, record);
    this.announce(record);
  }

  /** A server recording's new status: saved and told; a finished one leaves the running list. */
  async changed(record: RecordingRecord): Promise<void> {
    await this.storage.save(record);
    if (record.status === 'ready' || record.status === 'failed') this.active.delete(record.id);
    else this.active.set(record.id, record);
    this.announce(record);
    if (record.status === 'ready' || record.status === 'failed') this.finished(record);
  }

  /**
   * Calls `listener` once a recording, browser or server, is `ready` or `failed` and saved so (its
   * files listed): the `recording_ready`/`recording_failed` webhooks.
   */
  onFinished(listener: (record: RecordingRecord) => void): void {
    this.finishedListeners.push(listener);
  }

  private finished(record: RecordingRecord): void {
    for (const listener of this.finishedListeners) {
      try {
        listener({ ...record, files: [...record.files] });
      } catch (error) {
        // A listener's failure is its own; the recording is finished regardless.
        this.options.logger.error('recording finished listener failed', { recording: record.id, error });
      }
    }
  }

  /** `recordingChanged` for each recording running in `room` (sent to a participant who joins). */
  eventsFor(room: string): ServerMessageBody[] {
    return [...this.active.values()].filter((record) => record.room === room).map((record) => this.event(record));
  }

  /** A recording in progress of `room`, or undefined. */
  activeRecording(room: string, id: string): RecordingRecord | undefined {
    const record = this.active.get(id);
    return record?.room === room ? record : undefined;
  }

  /** Hands a tus request (already authorized for `claims`) to `@tus/server`. */
  async handleUpload(request: IncomingMessage, response: ServerResponse, claims: TokenClaims, uploadId: string | undefined): Promise<void> {
    await this.ready();
    const server = this.tusServer;
    if (!server) throw new Error('recording uploads are not open');
    this.claimsOf.set(request, claims);
    if (uploadId === undefined) return server.handle(request, response);
    this.inFlight.set(uploadId, (this.inFlight.get(uploadId) ?? 0) + 1);
    try {
      // A request whose connection is cut mid-body never settles `handle()` (@tus/server 2.4.5
      // answers through srvx, which waits for `response.end`'s callback on a destroyed
      // socket). The bytes that arrived are in the store once its write has settled: from
      // then the request is over, or the upload would never be idle and never finish.
      const cut = new Promise<void>((resolve) => response.once('close', () => !response.writableFinished && resolve()));
      await Promise.race([server.handle(request, response), cut.then(() => this.store?.settled(uploadId))]);
    } finally {
      const left = (this.inFlight.get(uploadId) ?? 1) - 1;
      if (left > 0) this.inFlight.set(uploadId, left);
      else this.inFlight.delete(uploadId);
      const record = this.active.get(uploadId);
      if (record?.status === 'recording') {
        await this.countUpload(record);
        this.armIdle(record);
      }
    }
  }

  private async created(request: object | undefined, upload: Upload): Promise<{ metadata: Record<string, string> }> {
    const claims = request ? this.claimsOf.get(request) : undefined;
    if (!claims) throw tusError(403, 'PERMISSION_DENIED', 'uploads need a token with the canRecord grant');
    const mimeType = upload.metadata?.filetype ?? 'video/webm';
    if (!MIME_TYPE.test(mimeType)) throw tusError(400, 'INVALID_MESSAGE', `filetype must be a WebM mime type, not ${JSON.stringify(mimeType.slice(0, 80))}`);
    const source = upload.metadata?.source === 'call' ? 'call' : 'self';
    const record: RecordingRecord = { id: upload.id, room: claims.room, mode: 'browser', status: 'recording', startedBy: claims.sub, startedAt: Date.now(), mimeType, source, files: [] };
    await this.storage.save(record);
    this.active.set(record.id, record);
    this.ledger.set(record.id, record.startedBy, 0);
    this.announce(record);
    this.armIdle(record);
    this.options.logger.info('recording started', { room: record.room, recording: record.id, participant: record.startedBy, mimeType });
    return { metadata: { filetype: mimeType, source, room: claims.room, identity: claims.sub } };
  }

  private async countUpload(record: RecordingRecord): Promise<void> {
    const size = await stat(join(this.uploadsDir, record.id)).then((info) => info.size, () => 0);
    this.ledger.set(record.id, record.startedBy, size);
  }

  private armIdle(record: RecordingRecord, delayMs = this.options.settings.idleFinishSeconds * 1000): void {
    clearTimeout(this.idleTimers.get(record.id));
    const timer = setTimeout(() => {
      this.idleTimers.delete(record.id);
      if ((this.inFlight.get(record.id) ?? 0) > 0) return this.armIdle(record);
      const author = this.options.rooms.get(record.room)?.get(record.startedBy);
      if (author && !author.suspended) return this.armIdle(record);
      this.options.logger.info('recording upload idle: finishing it with what it has', { room: record.room, recording: record.id });
      void this.finishLater(record.id);
    }, delayMs);
    timer.unref();
    this.idleTimers.set(record.id, timer);
  }

  /**
   * Marks the recording `processing` and remuxes it in the background. Resolves once the new
   * status is saved (never rejects: a failed save fails the recording in `finish`).
   */
  private async finishLater(id: string): Promise<void> {
    const record = this.active.get(id);
    if (!record || record.status !== 'recording' || this.closed) return;
    clearTimeout(this.idleTimers.get(id));
    this.idleTimers.delete(id);
    record.status = 'processing';
    record.endedAt = Date.now();
    this.announce(record);
    const saved = this.storage.save(record);
    const work = this.finish(record, saved).finally(() => this.finishing.delete(work));
    this.finishing.add(work);
    await saved.catch(() => undefined);
  }

  /** Remuxes the upload into the recording's file (seekable, with a duration), then drops the upload. */
  private async finish(record: RecordingRecord, processingSaved: Promise<void>): Promise<void> {
    const raw = join(this.uploadsDir, record.id);
    const remuxed = join(this.uploadsDir, `${record.id}.remux.webm`);
    try {
      await processingSaved;
      let durationSeconds: number | undefined;
      let source = remuxed;
      try {
        ({ durationSeconds } = await remuxWebm(this.options.settings, raw, remuxed));
      } catch (error) {
        // Keep what was uploaded rather than nothing: the raw WebM still plays from its start.
        this.options.logger.error('recording remux failed: keeping the upload as it is', { room: record.room, recording: record.id, error });
        record.error = error instanceof Error ? error.message : String(error);
        source = raw;
      }
      const bytes = await this.storage.importFile(record, BROWSER_FILE, source);
      record.files = [{ name: BROWSER_FILE, bytes, durationSeconds }];
      record.status = record.error === undefined ? 'ready' : 'failed';
      await this.storage.save(record);
      await Promise.all([rm(raw, { force: true }), rm(`${raw}.json`, { force: true }), rm(remuxed, { force: true })]);
      this.ledger.set(record.id, record.startedBy, bytes);
      this.options.logger.info('recording ready', { room: record.room, recording: record.id, bytes, durationSeconds, status: record.status });
    } catch (error) {
      record.status = 'failed';
      record.error = error instanceof Error ? error.message : String(error);
      this.options.logger.error('recording could not be finished', { room: record.room, recording: record.id, error });
      await this.storage.save(record).catch(() => undefined);
    }
    this.active.delete(record.id);
    this.announce(record);
    this.finished(record);
  }

  /** After a restart: quotas from disk, unfinished uploads armed again, interrupted remuxes redone. */
  private async recover(): Promise<void> {
    for (const record of await this.storage.all()) {
      this.ledger.set(record.id, record.startedBy, record.files.reduce((sum, file) => sum + file.bytes, 0));
      // Server recordings are recovered by ServerRecordings.
      if (record.mode !== 'browser' || (record.status !== 'recording' && record.status !== 'processing')) continue;
      const upload = await this.store?.getUpload(record.id).catch(() => undefined);
      if (!upload) {
        record.status = 'failed';
        record.error = 'the upload was lost';
        await this.storage.save(record);
        this.finished(record);
        continue;
      }
      record.status = 'recording';
      this.active.set(record.id, record);
      this.ledger.set(record.id, record.startedBy, upload.offset);
      if (upload.size !== undefined && upload.offset === upload.size) await this.finishLater(record.id);
      else this.armIdle(record);
    }
  }

  private sweepRetention(): void {
    const days = this.options.settings.retentionDays;
    if (days <= 0) return;
    const before = Date.now() - days * 86400_000;
    void this.storage
      .all()
      .then(async (records) => {
        for (const record of records) {
          if (record.status !== 'ready' && record.status !== 'failed') continue;
          if ((record.endedAt ?? record.startedAt) >= before) continue;
          await this.storage.remove(record.room, record.id);
          this.ledger.delete(record.id);
          this.options.logger.info('recording deleted by retention', { room: record.room, recording: record.id, retentionDays: days });
        }
      })
      .catch((error: unknown) => this.options.logger.error('recording retention sweep failed', { error }));
  }

  /** Deletes a finished recording (false when `room` has no such recording). */
  async remove(room: string, id: string): Promise<boolean> {
    const removed = await this.storage.remove(room, id);
    if (removed) this.ledger.delete(id);
    // A server recording whose export failed keeps its raw files there.
    if (removed && RECORDING_ID.test(id)) await rm(join(this.options.settings.directory, 'server', id), { recursive: true, force: true });
    return removed;
  }

  private event(record: RecordingRecord): ServerMessageBody {
    return { type: 'recordingChanged', recording: summary(record) };
  }

  private announce(record: RecordingRecord): void {
    this.options.rooms.get(record.room)?.broadcast(this.event(record));
  }

  /** Stops the timers and waits for remuxes under way (their uploads stay on disk otherwise). */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.retentionTimer);
    for (const timer of this.idleTimers.values()) clearTimeout(timer);
    this.idleTimers.clear();
    await Promise.allSettled([...this.finishing]);
  }
}
