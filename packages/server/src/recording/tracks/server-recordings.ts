/**
 * Server recordings in `tracks` mode (docs/recording.md): the room's published tracks, recorded
 * by a recorder process the SFU worker feeds (`sfu/worker/recording-tap.ts`), then exported to
 * per-track files and a manifest by a process of their own. Status as for browser recordings:
 * `recording`, `processing` (stopped, exporting), `ready` or `failed`, told to the room
 * (`recordingChanged`) through the RecordingService, whose storage, listing and downloads they
 * share.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../logger.js';
import type { SfuService } from '../../sfu/sfu-service.js';
import type { RecordingRecord, RecordingFile } from '../recording-types.js';
import type { RecordingService } from '../recording-service.js';
import { MANIFEST_FILE } from './recording-export.js';
import { exportInProcess, RecorderProcess } from './recorder-process.js';

export type ServerRecordingErrorCode = 'ROOM_NOT_ON_SFU' | 'ALREADY_RECORDING' | 'NOT_RECORDING' | 'RECORDER_FAILED' | 'USER_QUOTA_EXCEEDED' | 'SERVER_QUOTA_EXCEEDED';

/** Why a server recording could not start or stop; `status` is the HTTP status it is answered with. */
export class ServerRecordingError extends Error {
  override name = 'ServerRecordingError';
  constructor(
    message: string,
    readonly code: ServerRecordingErrorCode,
    readonly status: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface ServerRecordingsOptions {
  service: RecordingService;
  /**
   * The SFU holding the room's media, the room held there until `release` (an `auto` room in P2P
   * moves to the SFU for the recording); undefined when the room cannot be on the SFU (nobody in
   * it, or a `p2p` room).
   */
  holdSfu: (room: string) => Promise<{ sfu: SfuService; release: () => Promise<void> } | undefined>;
  logger: Logger;
}

interface Running {
  record: RecordingRecord;
  recorder: RecorderProcess;
  sfu: SfuService;
  /** Lets the room leave the SFU again (an `auto` room configured to go back to P2P at two). */
  release: () => Promise<void>;
  directory: string;
  secret: string;
  /** Worker connections the recording had: 1, plus one per SFU worker restart it followed. */
  segments: number;
  stopped: Promise<void> | undefined;
}

export class ServerRecordings {
  private readonly running = new Map<string, Running>();
  /** Rooms whose recording is being started (moving to the SFU, starting its recorder). */
  private readonly starting = new Set<string>();
  private readonly exports = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly options: ServerRecordingsOptions) {}

  private get settings() {
    return this.options.service.settings;
  }

  private directoryOf(id: string): string {
    return join(this.settings.directory, 'server', id);
  }

  /**
   * Starts recording `room`'s tracks (and those published while it runs); `composite` also
   * composes them into one file after the stop.
   */
  async start(room: string, startedBy: string, mode: 'tracks' | 'composite' = 'tracks'): Promise<RecordingRecord> {
    if (this.starting.has(room) || [...this.running.values()].some((running) => running.record.room === room)) {
      throw new ServerRecordingError(`room ${room} is already being recorded by the server: stop that recording first`, 'ALREADY_RECORDING', 409);
    }
    const quota = this.options.service.ledger.reserve(startedBy, 1);
    if (!quota.ok) throw new ServerRecordingError(quota.message, quota.code, 413);
    quota.release();
    this.starting.add(room);
    try {
      return await this.startHeld(room, startedBy, mode);
    } finally {
      this.starting.delete(room);
    }
  }

  private async startHeld(room: string, startedBy: string, mode: 'tracks' | 'composite'): Promise<RecordingRecord> {
    const held = await this.options.holdSfu(room).catch((error: unknown) => {
      throw new ServerRecordingError(`room ${room} could not be moved to the SFU: ${error instanceof Error ? error.message : String(error)}`, 'ROOM_NOT_ON_SFU', 409, { cause: error });
    });
    if (!held) {
      throw new ServerRecordingError(`room ${room} has no media on the SFU (nobody is in it, or it is a P2P call): tracks recording records what the SFU receives`, 'ROOM_NOT_ON_SFU', 409);
    }
    const { sfu, release } = held;
    const id = `rec_${randomBytes(12).toString('hex')}`;
    const secret = randomBytes(24).toString('base64url');
    const directory = this.directoryOf(id);
    const undo = async (steps: { recorder?: RecorderProcess; tap?: boolean }) => {
      if (steps.tap) await sfu.request({ op: 'stopRecording', room, recording: id }).catch(() => undefined);
      await steps.recorder?.stop();
      await rm(directory, { recursive: true, force: true });
      await release().catch((error: unknown) => this.options.logger.error('server recording: could not release the room from the SFU', { room, error }));
    };
    let recorder: RecorderProcess;
    try {
      await mkdir(directory, { recursive: true });
      recorder = await RecorderProcess.start({ directory, recording: id, secret });
    } catch (error) {
      await undo({});
      throw new ServerRecordingError('the recorder process could not be started', 'RECORDER_FAILED', 500, { cause: error });
    }
    try {
      await sfu.request({ op: 'record', room, recording: id, port: recorder.port, secret });
    } catch (error) {
      await undo({ recorder });
      throw new ServerRecordingError(`the SFU could not record room ${room}: ${error instanceof Error ? error.message : String(error)}`, 'ROOM_NOT_ON_SFU', 409, { cause: error });
    }
    const record: RecordingRecord = { id, room, mode, status: 'recording', startedBy, startedAt: Date.now(), files: [] };
    try {
      await this.options.service.track(record);
    } catch (error) {
      await undo({ recorder, tap: true });
      throw new ServerRecordingError('the recording could not be saved in the recordings directory', 'RECORDER_FAILED', 500, { cause: error });
    }
    this.running.set(id, { record, recorder, sfu, release, directory, secret, segments: 1, stopped: undefined });
    this.options.logger.info('server recording started', { room, recording: id, participant: startedBy, recorderPid: recorder.pid });
    void recorder.exited.then(({ code, signal }) => {
      if (recorder.stopRequested || this.closed) return;
      // What it wrote is on disk: the recording ends there and is exported.
      this.options.logger.error('server recorder died: the recording ends with what it wrote', { room, recording: id, code, signal });
      void this.stopRunning(id).catch(() => undefined);
    });
    return record;
  }

  /** Stops a running recording; resolves once its raw files are closed (status `processing`). */
  async stop(room: string, id: string): Promise<RecordingRecord> {
    const running = this.running.get(id);
    if (!running || running.record.room !== room) {
      throw new ServerRecordingError(`room ${room} has no server recording ${id} running`, 'NOT_RECORDING', 409);
    }
    await this.stopRunning(id);
    return running.record;
  }

  /**
   * The room's media was re-created on a restarted SFU worker (the old one died, and with it the
   * tap's connection): the new worker's tap connects to the same recorder, which writes what it
   * sends as the next segment (`s<n>-t<track>.prec`); the export joins a track's segments into
   * one file with the restart as a gap. Called before the participants republish, so the new
   * segment holds each track from its first packet.
   */
  async mediaRestored(room: string): Promise<void> {
    for (const [id, running] of this.running) {
      if (running.record.room !== room || running.stopped || running.recorder.stopRequested) continue;
      await running.sfu.request({ op: 'record', room, recording: id, port: running.recorder.port, secret: running.secret });
      running.segments += 1;
      this.options.logger.info('server recording follows the room to a restarted SFU worker', { room, recording: id, segment: running.segments });
    }
  }

  /** The room's last participant left: its recordings end. */
  roomFinished(room: string): void {
    for (const [id, running] of this.running) if (running.record.room === room) void this.stopRunning(id).catch(() => undefined);
  }

  private stopRunning(id: string): Promise<void> {
    const running = this.running.get(id)!;
    running.stopped ??= (async () => {
      const { sentBytes, droppedBytes } = await running.sfu.request({ op: 'stopRecording', room: running.record.room, recording: id }).catch(() => ({ sentBytes: 0, droppedBytes: 0 }));
      await running.recorder.stop(sentBytes);
      if (!this.closed) await running.release().catch((error: unknown) => this.options.logger.error('server recording: could not release the room from the SFU', { room: running.record.room, recording: id, error }));
      running.record.status = 'processing';
      running.record.endedAt = Date.now();
      await this.options.service.changed(running.record);
      this.options.logger.info('server recording stopped', { room: running.record.room, recording: id, sentBytes, droppedBytes });
      if (!this.closed) this.exportLater(running.record, running.directory);
    })();
    return running.stopped;
  }

  private exportLater(record: RecordingRecord, directory: string): void {
    const work = this.export(record, directory).finally(() => {
      this.exports.delete(work);
      this.running.delete(record.id);
    });
    this.exports.add(work);
  }

  private async export(record: RecordingRecord, directory: string): Promise<void> {
    const { service } = this.options;
    const started = performance.now();
    try {
      const manifest = await exportInProcess({ directory, recording: record.id, room: record.room, ffmpegPath: this.settings.ffmpegPath, ffprobePath: this.settings.ffprobePath, composite: record.mode === 'composite' });
      const files: RecordingFile[] = [];
      for (const track of manifest.tracks) {
        if (track.file) files.push({ name: track.file, bytes: await service.storage.importFile(record, track.file, join(directory, track.file)), durationSeconds: track.durationSeconds ?? undefined });
      }
      if (manifest.composite) files.push({ name: manifest.composite.file, bytes: await service.storage.importFile(record, manifest.composite.file, join(directory, manifest.composite.file)), durationSeconds: manifest.composite.durationSeconds ?? undefined });
      files.push({ name: MANIFEST_FILE, bytes: await service.storage.importFile(record, MANIFEST_FILE, join(directory, MANIFEST_FILE)), durationSeconds: undefined });
      record.files = files;
      const failed = manifest.tracks.filter((track) => track.error !== undefined);
      if (failed.length > 0) record.error = failed.map((track) => `${track.participant}/${track.source}: ${track.error}`).join('; ');
      record.status = files.length > 1 ? 'ready' : 'failed';
      if (files.length <= 1) record.error ??= 'no track could be recorded (nothing was published while it ran)';
      if (manifest.compositeError !== undefined) {
        // The per-track files stay listed: the call is not lost, only its composite.
        record.status = 'failed';
        record.error = `the composite could not be made: ${manifest.compositeError}${record.error ? `; ${record.error}` : ''}`;
      }
      await rm(directory, { recursive: true, force: true });
      this.options.logger.info('server recording ready', { room: record.room, recording: record.id, mode: record.mode, tracks: manifest.tracks.length, files: files.length, exportMs: Math.round(performance.now() - started), ...(manifest.composite ? { compositeEncodeMs: Math.round(manifest.composite.encodeSeconds * 1000) } : {}) });
    } catch (error) {
      // The raw files stay in the directory, for a later export.
      record.status = 'failed';
      record.error = error instanceof Error ? error.message : String(error);
      this.options.logger.error('server recording could not be exported', { room: record.room, recording: record.id, error });
    }
    service.ledger.set(record.id, record.startedBy, record.files.reduce((sum, file) => sum + file.bytes, 0));
    await service.changed(record).catch((error: unknown) => this.options.logger.error('server recording: could not save its state', { recording: record.id, error }));
  }

  /** After a restart: recordings the last run did not finish are exported from what they wrote. */
  async recover(): Promise<void> {
    for (const record of await this.options.service.storage.all()) {
      if ((record.mode !== 'tracks' && record.mode !== 'composite') || (record.status !== 'recording' && record.status !== 'processing')) continue;
      const directory = this.directoryOf(record.id);
      record.endedAt ??= Date.now();
      if (!existsSync(directory)) {
        record.status = 'failed';
        record.error = 'the raw recording was lost';
        await this.options.service.changed(record);
        continue;
      }
      record.status = 'processing';
      await this.options.service.track(record);
      this.exportLater(record, directory);
    }
  }

  /** Ends every recording's raw files (they are exported at the next start) and waits for exports under way. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.running.keys()].map((id) => this.stopRunning(id)));
    await Promise.allSettled([...this.exports]);
  }
}
