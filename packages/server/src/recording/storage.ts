import { createReadStream, type ReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { RoomName } from '@parley/protocol';
import { RECORDING_ID, type RecordingRecord } from './recording-types.js';

/**
 * Where recordings live. The local directory is the one backend today; a further one (S3...)
 * implements this, and only once it can be tested against a real server here.
 */
export interface RecordingStorage {
  /** Writes (or replaces) a recording's metadata, durably. */
  save(record: RecordingRecord): Promise<void>;
  get(room: string, id: string): Promise<RecordingRecord | undefined>;
  /** A room's recordings, oldest first. Never another room's. */
  list(room: string): Promise<RecordingRecord[]>;
  /** Every recording (start-up: quotas, unfinished work, retention). */
  all(): Promise<RecordingRecord[]>;
  /** Moves a finished local file into the recording under `name`; answers its size. */
  importFile(record: RecordingRecord, name: string, localPath: string): Promise<number>;
  /** A stored file's bytes, or undefined when it does not exist. */
  openFile(record: RecordingRecord, name: string): Promise<{ stream: ReadStream; bytes: number } | undefined>;
  /** Removes the recording and its files; false when there was none. */
  remove(room: string, id: string): Promise<boolean>;
}

const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** `<directory>/rooms/<room>/<id>/recording.json` and the files next to it. */
export class LocalRecordingStorage implements RecordingStorage {
  constructor(private readonly directory: string) {}

  private roomDir(room: string): string {
    if (!RoomName.safeParse(room).success) throw new RangeError(`invalid room name ${JSON.stringify(room)}`);
    return join(this.directory, 'rooms', room);
  }

  private recordingDir(room: string, id: string): string {
    if (!RECORDING_ID.test(id)) throw new RangeError(`invalid recording id ${JSON.stringify(id)}`);
    return join(this.roomDir(room), id);
  }

  async save(record: RecordingRecord): Promise<void> {
    const dir = this.recordingDir(record.room, record.id);
    await mkdir(dir, { recursive: true });
    const temporary = join(dir, 'recording.json.tmp');
    const file = await open(temporary, 'w');
    try {
      await file.writeFile(JSON.stringify(record));
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, join(dir, 'recording.json'));
    await syncDirectory(dir);
  }

  async get(room: string, id: string): Promise<RecordingRecord | undefined> {
    if (!RECORDING_ID.test(id) || !RoomName.safeParse(room).success) return undefined;
    try {
      const record = JSON.parse(await readFile(join(this.recordingDir(room, id), 'recording.json'), 'utf8')) as RecordingRecord;
      return record.room === room && record.id === id ? record : undefined;
    } catch {
      return undefined;
    }
  }

  async list(room: string): Promise<RecordingRecord[]> {
    if (!RoomName.safeParse(room).success) return [];
    const ids = await readdir(this.roomDir(room)).catch(() => [] as string[]);
    const records = await Promise.all(ids.map((id) => this.get(room, id)));
    return records.filter((record): record is RecordingRecord => record !== undefined).sort((a, b) => a.startedAt - b.startedAt);
  }

  async all(): Promise<RecordingRecord[]> {
    const rooms = await readdir(join(this.directory, 'rooms')).catch(() => [] as string[]);
    return (await Promise.all(rooms.map((room) => this.list(room)))).flat();
  }

  async importFile(record: RecordingRecord, name: string, localPath: string): Promise<number> {
    if (!FILE_NAME.test(name)) throw new RangeError(`invalid file name ${JSON.stringify(name)}`);
    const dir = this.recordingDir(record.room, record.id);
    await mkdir(dir, { recursive: true });
    const target = join(dir, name);
    const file = await open(localPath, 'r');
    try {
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(localPath, target);
    await syncDirectory(dir);
    return (await stat(target)).size;
  }

  async openFile(record: RecordingRecord, name: string): Promise<{ stream: ReadStream; bytes: number } | undefined> {
    if (!FILE_NAME.test(name) || name === 'recording.json' || !record.files.some((file) => file.name === name)) return undefined;
    const path = join(this.recordingDir(record.room, record.id), name);
    try {
      const { size } = await stat(path);
      return { stream: createReadStream(path), bytes: size };
    } catch {
      return undefined;
    }
  }

  async remove(room: string, id: string): Promise<boolean> {
    if ((await this.get(room, id)) === undefined) return false;
    await rm(this.recordingDir(room, id), { recursive: true, force: true });
    return true;
  }
}

/** fsync of a directory, so a rename or a new file in it survives a power loss. */
export async function syncDirectory(path: string): Promise<void> {
  const dir = await open(path, 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
