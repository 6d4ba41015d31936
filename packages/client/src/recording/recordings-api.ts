// The room's recordings over the REST API (`/api/rooms/{room}/recordings`), with this
// participant's token: start/stop of server recordings, the list, and file downloads. Files need
// the same bearer token as the list, so a plain link cannot download them: `download` fetches
// the file with the Authorization header and answers it as a Blob.

import type { RecordingFileListing, RecordingListing } from '@parley/protocol';
import { knownErrorCode, ParleyError } from '../errors.js';

export type { RecordingFileListing, RecordingListing } from '@parley/protocol';

export interface RecordingsEndpoint {
  baseUrl: string;
  token: string;
  room: string;
}

export class RecordingsApi {
  constructor(private readonly endpoint: () => RecordingsEndpoint) {}

  /** Every recording of the room, oldest first (browser and server ones). */
  async list(): Promise<RecordingListing[]> {
    const listed = await this.request('GET', '');
    if (!Array.isArray(listed) || !listed.every(isListing)) throw new ParleyError('INVALID_RESPONSE', 'the recordings API answered a list that is not one of recordings');
    return listed;
  }

  /**
   * A recording's file as a Blob, fetched with the token. `url` is a listed file's `url` (or the
   * file itself); anything that is not a recording file of this room on this server is refused
   * before any request, so the token never goes elsewhere.
   */
  async download(file: string | Pick<RecordingFileListing, 'url'>): Promise<Blob> {
    const { baseUrl, token, room } = this.endpoint();
    const path = typeof file === 'string' ? file : file?.url;
    if (typeof path !== 'string' || path === '') throw new ParleyError('INVALID_ARGUMENT', 'downloadRecordingFile needs a listed file or its url');
    let target: URL;
    try {
      target = new URL(path, baseUrl);
    } catch (error) {
      throw new ParleyError('INVALID_ARGUMENT', `not a URL: ${path.slice(0, 100)}`, { cause: error });
    }
    const prefix = `/api/rooms/${encodeURIComponent(room)}/recordings/`;
    if (target.origin !== new URL(baseUrl).origin || !target.pathname.startsWith(prefix) || !target.pathname.includes('/files/')) {
      throw new ParleyError('INVALID_ARGUMENT', `${path.slice(0, 100)} is not a file of this room's recordings on ${new URL(baseUrl).origin}`);
    }
    const response = await this.fetch(target.href, { headers: { authorization: `Bearer ${token}` } });
    if (!response.ok) throw await refusal(response);
    return response.blob();
  }

  /** A JSON request to `/api/rooms/{room}/recordings{path}`; a refusal becomes a ParleyError with the API's code. */
  async request(method: string, path: string, body?: unknown): Promise<unknown> {
    const { baseUrl, token, room } = this.endpoint();
    const response = await this.fetch(`${baseUrl}/api/rooms/${encodeURIComponent(room)}/recordings${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!response.ok) throw await refusal(response);
    const text = await response.text();
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new ParleyError('INVALID_RESPONSE', `the recordings API answered ${response.status} with something other than JSON`, { cause: error });
    }
  }

  private async fetch(url: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(url, init);
    } catch (error) {
      throw new ParleyError('CONNECTION_FAILED', `the recordings API did not answer: ${(error as Error).message}`, { cause: error });
    }
  }
}

/** The API's `{ error: { code, message } }` as a ParleyError. */
async function refusal(response: Response): Promise<ParleyError> {
  const text = await response.text().catch(() => '');
  let code: unknown;
  let message: unknown;
  try {
    ({ code, message } = (JSON.parse(text) as { error?: { code?: unknown; message?: unknown } }).error ?? {});
  } catch {
    // Not the API's JSON (a proxy's page): the status and the text say what happened.
  }
  return new ParleyError(knownErrorCode(code), `recording refused (${response.status}): ${typeof message === 'string' ? message : text.slice(0, 200)}`);
}

function isListing(value: unknown): value is RecordingListing {
  const r = value as RecordingListing | null;
  return (
    typeof r === 'object' && r !== null && typeof r.id === 'string' && typeof r.mode === 'string' && typeof r.status === 'string' &&
    Array.isArray(r.files) && r.files.every((f) => typeof f?.name === 'string' && typeof f.url === 'string' && typeof f.bytes === 'number')
  );
}
