// Finishing a browser recording's upload from another page (after a reload, or a closed tab
// reopened): the chunks kept in IndexedDB are uploaded from the offset the server answers to
// HEAD (tus), and the upload declares its length, so the server remuxes the file at once. The
// MediaRecorder of the old page is gone: the recording ends where its last kept chunk ends.

import { Upload } from 'tus-js-client';
import type { ParleyError } from '../errors.js';
import { uploadError, uploadOptions } from './browser-recorder.js';
import type { ChunkStore, PersistedUpload } from './chunk-store.js';
import { RecorderSource } from './recorder-source.js';

/** A kept upload after `room.resumeRecordings()`. */
export interface ResumedRecording {
  id: string;
  /**
   * `completed`: every kept byte is on the server, which finishes the file. `gone`: the server had
   * finished it already (idle) or refuses it (4xx): the kept chunks are deleted. `failed`: the
   * server stayed away past every retry: the chunks stay kept for a later call.
   */
  outcome: 'completed' | 'gone' | 'failed';
  /** The recording's length in bytes (`completed`). */
  bytes?: number;
  error?: ParleyError;
}

export async function resumeUpload(store: ChunkStore, persisted: PersistedUpload, token: string, onAcknowledged: (bytes: number) => void): Promise<ResumedRecording> {
  const chunks = await store.chunks(persisted.id);
  const first = chunks[0];
  if (!first) {
    await store.remove(persisted.id);
    return { id: persisted.id, outcome: 'gone' };
  }
  const source = new RecorderSource(first.offset);
  for (const chunk of chunks) source.push(chunk.blob);
  source.end();
  const bytes = source.recordedBytes;
  const result = await new Promise<ResumedRecording>((resolve) => {
    const upload = new Upload(new Blob(), {
      ...uploadOptions(token, source),
      uploadUrl: persisted.uploadUrl,
      onChunkComplete: (_size, accepted) => onAcknowledged(accepted),
      onSuccess: () => resolve({ id: persisted.id, outcome: 'completed', bytes }),
      // A HEAD answered 404 (the server finished the upload for being idle) ends here too: with
      // no endpoint tus-js-client cannot create another upload, which is right.
      onError: (error) => {
        const status = (error as { originalResponse?: { getStatus(): number } | null }).originalResponse?.getStatus() ?? 0;
        resolve({ id: persisted.id, outcome: status >= 400 && status < 500 ? 'gone' : 'failed', error: uploadError(error) });
      },
    });
    upload.start();
  });
  if (result.outcome !== 'failed') await store.remove(persisted.id);
  return result;
}
