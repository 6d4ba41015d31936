import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { RoomName } from '@parley/protocol';
import { verifyToken, type TokenClaims } from '../auth/token.js';
import { readBody } from '../http/routes.js';
import { ServerRecordingError, type ServerRecordings } from './tracks/server-recordings.js';
import { describeRecording, RECORDING_ID, type RecordingRecord } from './recording-types.js';
import type { RecordingService } from './recording-service.js';

type Send = (response: ServerResponse, status: number, code: string, message: string) => void;
type SendJson = (response: ServerResponse, status: number, body: unknown) => void;

export interface RecordingRoutesOptions {
  service: RecordingService;
  apiKeys: Readonly<Record<string, string>>;
  maxChunkBytes: number;
  /** Server recordings (`tracks` and `composite` modes); without them a start is answered 501. */
  serverRecordings?: ServerRecordings;
  sendError: Send;
  sendJson: SendJson;
}

const ROUTE = /^\/api\/rooms\/([^/]+)\/recordings(?:\/(.*))?$/;
const MAX_START_BODY_BYTES = 1024;
const CONTENT_TYPES: Record<string, string> = { webm: 'video/webm', mkv: 'video/x-matroska', json: 'application/json' };

/**
 * `/api/rooms/{room}/recordings[...]`, every route authorized by `Authorization: Bearer <token>`
 * whose token is for that room and has `canRecord`:
 * - `GET` the room's recordings; `GET {id}/files/{name}` a file; `DELETE {id}` a finished one;
 * - `POST` `{ "mode": "tracks" | "composite" }` starts a server recording of the room (answers `{ id }`), and
 *   `POST {id}/stop` stops it;
 * - `uploads` (POST: create) and `uploads/{id}` (HEAD, PATCH): tus 1.0, for the uploader only.
 * A recording of another room is "not found", whatever the token, so nothing leaks across rooms.
 */
export function createRecordingRoutes(options: RecordingRoutesOptions) {
  const { service, sendError, sendJson } = options;

  async function authorize(request: IncomingMessage, response: ServerResponse, room: string): Promise<TokenClaims | undefined> {
    const header = request.headers.authorization ?? '';
    const token = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
    const check = await verifyToken(token, options.apiKeys);
    if (!check.ok) {
      sendError(response, 401, check.code, `${check.reason} (send Authorization: Bearer <token>)`);
      return undefined;
    }
    if (check.claims.room !== room) {
      sendError(response, 403, 'PERMISSION_DENIED', `this token is for room ${check.claims.room}, not ${room}`);
      return undefined;
    }
    if (!check.claims.grants.canRecord) {
      sendError(response, 403, 'PERMISSION_DENIED', 'recording needs a token with the canRecord grant (npx parley token ... --grant canRecord)');
      return undefined;
    }
    return check.claims;
  }

  async function upload(request: IncomingMessage, response: ServerResponse, room: string, claims: TokenClaims, id: string | undefined): Promise<void> {
    const method = request.method ?? 'GET';
    const length = request.headers['content-length'];
    // A body-less request (the PATCH that only declares Upload-Length) may come without a Content-Length.
    const bytes = length === undefined ? (request.headers['transfer-encoding'] === undefined ? 0 : undefined) : Number(length);
    if (id === undefined) {
      if (method !== 'POST') return sendError(response, 405, 'METHOD_NOT_ALLOWED', 'create an upload with POST (tus 1.0)');
    } else {
      if (!RECORDING_ID.test(id) || !service.activeRecording(room, id)) {
        return sendError(response, 404, 'UPLOAD_NOT_FOUND', `no upload in progress with id ${JSON.stringify(id.slice(0, 40))} in room ${room}`);
      }
      if (service.activeRecording(room, id)?.startedBy !== claims.sub) return sendError(response, 403, 'PERMISSION_DENIED', 'only the participant who started this upload may write to it');
      if (method !== 'HEAD' && method !== 'PATCH') return sendError(response, 405, 'METHOD_NOT_ALLOWED', `${method} is not allowed on an upload (HEAD, PATCH)`);
      // Finished (by its last PATCH or for being idle): its bytes are being remuxed, nothing more is taken.
      if (method === 'PATCH' && service.activeRecording(room, id)?.status !== 'recording') return sendError(response, 404, 'UPLOAD_NOT_FOUND', `upload ${id} is finished`);
    }
    if (method === 'PATCH' || method === 'POST') {
      if (method === 'PATCH' && bytes === undefined) return sendError(response, 411, 'LENGTH_REQUIRED', 'upload chunks need a Content-Length (no chunked transfer encoding)');
      if (bytes !== undefined && !(Number.isSafeInteger(bytes) && bytes >= 0)) return sendError(response, 400, 'INVALID_MESSAGE', 'invalid Content-Length');
      if ((bytes ?? 0) > options.maxChunkBytes) return sendError(response, 413, 'CHUNK_TOO_LARGE', `upload chunks are limited to ${options.maxChunkBytes} bytes; this one has ${bytes}`);
      const quota = service.ledger.reserve(claims.sub, Math.max(1, bytes ?? 0));
      if (!quota.ok) return sendError(response, 413, quota.code, quota.message);
      try {
        return await service.handleUpload(request, response, claims, id);
      } finally {
        quota.release();
      }
    }
    return service.handleUpload(request, response, claims, id);
  }

  async function download(response: ServerResponse, record: RecordingRecord, name: string): Promise<void> {
    const file = await service.storage.openFile(record, name);
    if (!file) return sendError(response, 404, 'NOT_FOUND', `recording ${record.id} has no file ${JSON.stringify(name.slice(0, 64))}`);
    const extension = /\.([a-z0-9]+)$/.exec(name)?.[1] ?? 'webm';
    const filename = record.mode === 'browser' ? `${record.room}-${record.id}.webm` : `${record.room}-${record.id}-${name}`;
    response.writeHead(200, {
      'content-type': CONTENT_TYPES[extension] ?? 'application/octet-stream',
      'content-length': file.bytes,
      'content-disposition': `attachment; filename="${filename}"`,
      'cache-control': 'no-store',
    });
    await pipeline(file.stream, response);
  }

  async function startServerRecording(request: IncomingMessage, response: ServerResponse, room: string, claims: TokenClaims): Promise<void> {
    if (!/^application\/json\b/i.test(request.headers['content-type'] ?? '')) return sendError(response, 415, 'INVALID_MESSAGE', 'send { "mode": "tracks" } or { "mode": "composite" } as application/json');
    const body = await readBody(request, MAX_START_BODY_BYTES);
    if (body === undefined) return sendError(response, 413, 'MESSAGE_TOO_LARGE', `the request body is limited to ${MAX_START_BODY_BYTES} bytes`);
    let mode: unknown;
    try {
      mode = (JSON.parse(body) as { mode?: unknown } | null)?.mode;
    } catch {
      return sendError(response, 400, 'MALFORMED_JSON', 'the request body is not valid JSON');
    }
    if (mode === 'browser') return sendError(response, 400, 'INVALID_MESSAGE', 'browser recordings are made by the SDK (room.startRecording) and uploaded, not started here');
    if (mode !== 'tracks' && mode !== 'composite') return sendError(response, 400, 'INVALID_MESSAGE', `mode must be "tracks" or "composite", not ${JSON.stringify(mode)?.slice(0, 40) ?? 'missing'}`);
    if (!options.serverRecordings) return sendError(response, 501, 'NOT_IMPLEMENTED', 'this server does not record tracks');
    try {
      const record = await options.serverRecordings.start(room, claims.sub, mode);
      sendJson(response, 201, { id: record.id, mode: record.mode, status: record.status });
    } catch (error) {
      if (!(error instanceof ServerRecordingError)) throw error;
      sendError(response, error.status, error.code, error.message);
    }
  }

  async function stopServerRecording(response: ServerResponse, room: string, id: string): Promise<void> {
    if (!RECORDING_ID.test(id) || !options.serverRecordings) return sendError(response, 404, 'NOT_FOUND', `room ${room} has no recording ${JSON.stringify(id.slice(0, 40))}`);
    try {
      const record = await options.serverRecordings.stop(room, id);
      sendJson(response, 200, { id: record.id, mode: record.mode, status: record.status });
    } catch (error) {
      if (!(error instanceof ServerRecordingError)) throw error;
      sendError(response, error.status, error.code, error.message);
    }
  }

  /** Answers the request when it is a recording route (true), else false. */
  return async function handle(request: IncomingMessage, response: ServerResponse, path: string): Promise<boolean> {
    const match = ROUTE.exec(path);
    if (!match) return false;
    let room: string;
    let rest: string[];
    try {
      room = decodeURIComponent(match[1] ?? '');
      rest = (match[2] ?? '').split('/').filter((part) => part !== '').map(decodeURIComponent);
    } catch {
      sendError(response, 400, 'INVALID_MESSAGE', 'malformed path');
      return true;
    }
    if (!RoomName.safeParse(room).success) {
      sendError(response, 400, 'INVALID_MESSAGE', 'invalid room name in the path');
      return true;
    }
    const claims = await authorize(request, response, room);
    if (!claims) return true;
    const method = request.method ?? 'GET';
    if (rest[0] === 'uploads' && rest.length <= 2) {
      await upload(request, response, room, claims, rest[1]);
      return true;
    }
    if (rest.length === 0) {
      if (method === 'POST') await startServerRecording(request, response, room, claims);
      else if (method !== 'GET') sendError(response, 405, 'METHOD_NOT_ALLOWED', `${method} is not allowed here: GET lists, POST { "mode": "tracks" | "composite" } starts a server recording`);
      else sendJson(response, 200, (await service.storage.list(room)).map(describeRecording));
      return true;
    }
    if (rest.length === 2 && rest[1] === 'stop') {
      if (method !== 'POST') sendError(response, 405, 'METHOD_NOT_ALLOWED', 'stop a recording with POST');
      else await stopServerRecording(response, room, rest[0] ?? '');
      return true;
    }
    const id = rest[0] ?? '';
    const record = RECORDING_ID.test(id) ? await service.storage.get(room, id) : undefined;
    if (!record) {
      sendError(response, 404, 'NOT_FOUND', `room ${room} has no recording ${JSON.stringify(id.slice(0, 40))}`);
      return true;
    }
    if (rest.length === 1 && method === 'GET') sendJson(response, 200, describeRecording(record));
    else if (rest.length === 1 && method === 'DELETE') {
      if (service.activeRecording(room, id)) sendError(response, 409, 'RECORDING_ACTIVE', 'this recording is still running: stop it first');
      else if (await service.remove(room, id)) sendJson(response, 200, { deleted: id });
      else sendError(response, 404, 'NOT_FOUND', `room ${room} has no recording ${id}`);
    } else if (rest.length === 3 && rest[1] === 'files' && (method === 'GET' || method === 'HEAD')) await download(response, record, rest[2] ?? '');
    else sendError(response, 404, 'NOT_FOUND', `no recording route ${method} ${path}`);
    return true;
  };
}
