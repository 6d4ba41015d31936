import { open } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { FileStore } from '@tus/file-store';
import type { Upload } from '@tus/utils';
import { syncDirectory } from './storage.js';

export interface FsyncFileStoreOptions {
  directory: string;
  /** Called after each fsync with the offset it made durable (tests watch the order with it). */
  onSynced?: (id: string, offset: number) => void;
}

/**
 * `@tus/file-store` writes a PATCH body with a write stream and answers the new offset without
 * an fsync, so an acknowledged byte range could still be only in the page cache. This store
 * fsyncs the upload file (and its `.json` and the directory at creation) before `write` resolves,
 * and `@tus/server` sends `Upload-Offset` only after `write` resolves: the server never
 * acknowledges a byte that is not on disk.
 */
export class FsyncFileStore extends FileStore {
  private readonly onSynced: ((id: string, offset: number) => void) | undefined;
  private readonly root: string;
  /** The write (and its fsync) under way for each upload. */
  private readonly writing = new Map<string, Promise<unknown>>();

  constructor(options: FsyncFileStoreOptions) {
    super({ directory: options.directory });
    this.onSynced = options.onSynced;
    this.root = options.directory;
  }

  /** Upload ids are the server's own (`rec_` + hex): no path of theirs leaves the directory. */
  private pathOf(id: string): string {
    return join(this.root, id);
  }

  override async create(file: Upload): Promise<Upload> {
    const created = await super.create(file);
    const path = this.pathOf(file.id);
    await syncFile(path);
    await syncFile(`${path}.json`);
    await syncDirectory(dirname(path));
    return created;
  }

  override write(readable: Readable, id: string, offset: number): Promise<number> {
    const work = this.writeAndSync(readable, id, offset);
    const settled = work.catch(() => undefined);
    this.writing.set(id, settled);
    void settled.then(() => this.writing.get(id) === settled && this.writing.delete(id));
    return work;
  }

  /** Resolves once no write of upload `id` is under way (its bytes synced or its error known). */
  async settled(id: string): Promise<void> {
    await this.writing.get(id);
  }

  private async writeAndSync(readable: Readable, id: string, offset: number): Promise<number> {
    let written: number;
    try {
      written = await super.write(readable, id, offset);
    } finally {
      // Bytes that reached the file before an aborted request are kept too (the next HEAD
      // reports them), so they are made durable either way.
      await syncFile(this.pathOf(id)).catch(() => undefined);
    }
    this.onSynced?.(id, written);
    return written;
  }

  override async declareUploadLength(id: string, length: number): Promise<void> {
    await super.declareUploadLength(id, length);
    await syncFile(`${this.pathOf(id)}.json`);
  }
}

async function syncFile(path: string): Promise<void> {
  const file = await open(path, 'r');
  try {
    await file.sync();
  } finally {
    await file.close();
  }
}
