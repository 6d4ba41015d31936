// Browser recordings' chunks kept in IndexedDB until the server acknowledges them, so a page
// reload (or a closed tab reopened) can finish the upload from the server's offset
// (`room.resumeRecordings()`). Each chunk is written before it is handed to the upload; chunks
// wholly before an acknowledged offset are deleted; a finished upload deletes its entry.

const DB_NAME = 'parley-recordings';
const UPLOADS = 'uploads';
const CHUNKS = 'chunks';

/** What is needed to finish an upload from another page: where it is, and whose it is. */
export interface PersistedUpload {
  id: string;
  /** The upload's absolute URL (tus). */
  uploadUrl: string;
  room: string;
  identity: string;
  mimeType: string;
}

interface PersistedChunk {
  id: string;
  offset: number;
  blob: Blob;
}

function done<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error('IndexedDB request failed'));
  });
}

function committed(transaction: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    transaction.oncomplete = () => resolve();
    transaction.onerror = () => reject(transaction.error ?? new Error('IndexedDB transaction failed'));
    transaction.onabort = () => reject(transaction.error ?? new Error('IndexedDB transaction aborted'));
  });
}

export class ChunkStore {
  private constructor(private readonly db: IDBDatabase) {}

  /** The store, or undefined where the browser has no IndexedDB (or refuses it: private mode). */
  static async open(): Promise<ChunkStore | undefined> {
    if (typeof indexedDB === 'undefined') return undefined;
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => {
      request.result.createObjectStore(UPLOADS, { keyPath: 'id' });
      request.result.createObjectStore(CHUNKS, { keyPath: ['id', 'offset'] });
    };
    try {
      return new ChunkStore(await done(request));
    } catch {
      return undefined;
    }
  }

  async saveUpload(upload: PersistedUpload): Promise<void> {
    const transaction = this.db.transaction(UPLOADS, 'readwrite');
    transaction.objectStore(UPLOADS).put(upload);
    await committed(transaction);
  }

  /** Resolves once the chunk is committed (then it may be uploaded). */
  async addChunk(id: string, offset: number, blob: Blob): Promise<void> {
    const transaction = this.db.transaction(CHUNKS, 'readwrite');
    transaction.objectStore(CHUNKS).put({ id, offset, blob } satisfies PersistedChunk);
    await committed(transaction);
  }

  /**
   * Deletes the chunks that end at or before `offset` (the server has them on its disk), but
   * never the last one: its end is the recording's length, which a resumed upload declares.
   */
  async dropBefore(id: string, offset: number): Promise<void> {
    const transaction = this.db.transaction(CHUNKS, 'readwrite');
    const store = transaction.objectStore(CHUNKS);
    const keys = (await done(store.getAllKeys(IDBKeyRange.bound([id, 0], [id, Number.MAX_SAFE_INTEGER])))) as Array<[string, number]>;
    const last = Math.max(...keys.map(([, start]) => start));
    const chunks = (await done(store.getAll(IDBKeyRange.bound([id, 0], [id, offset])))) as PersistedChunk[];
    for (const chunk of chunks) if (chunk.offset + chunk.blob.size <= offset && chunk.offset !== last) store.delete([id, chunk.offset]);
    await committed(transaction);
  }

  async remove(id: string): Promise<void> {
    const transaction = this.db.transaction([UPLOADS, CHUNKS], 'readwrite');
    transaction.objectStore(UPLOADS).delete(id);
    transaction.objectStore(CHUNKS).delete(IDBKeyRange.bound([id, 0], [id, Number.MAX_SAFE_INTEGER]));
    await committed(transaction);
  }

  /** Unfinished uploads of `identity` in `room`. */
  async uploads(room: string, identity: string): Promise<PersistedUpload[]> {
    const all = (await done(this.db.transaction(UPLOADS).objectStore(UPLOADS).getAll())) as PersistedUpload[];
    return all.filter((upload) => upload.room === room && upload.identity === identity);
  }

  /** The kept chunks of `id`, in order. */
  async chunks(id: string): Promise<Array<{ offset: number; blob: Blob }>> {
    const chunks = (await done(this.db.transaction(CHUNKS).objectStore(CHUNKS).getAll(IDBKeyRange.bound([id, 0], [id, Number.MAX_SAFE_INTEGER])))) as PersistedChunk[];
    return chunks.sort((a, b) => a.offset - b.offset).map(({ offset, blob }) => ({ offset, blob }));
  }
}
