import type { Grants, RoomConfig } from '@parley/protocol';
import { knownErrorCode, ParleyError } from './errors.js';

export interface DevTokenRequest {
  room: string;
  identity: string;
  name?: string;
  ttlSeconds?: number;
  /** Defaults: canPublish, canSubscribe, canPublishData on; roomAdmin, canRecord off. */
  grants?: Partial<Grants>;
  /** Settings for the room if this participant creates it: topology (p2p, sfu, auto), video codec order. */
  roomConfig?: RoomConfig;
}

/**
 * Gets a token from a dev-mode server (`POST /api/dev/token`). Production servers have no such
 * endpoint: tokens come from your backend (`npx parley token` or the server library).
 */
export async function fetchDevToken(serverUrl: string, request: DevTokenRequest): Promise<string> {
  const endpoint = new URL('/api/dev/token', serverUrl.replace(/^ws/, 'http'));
  let response: Response;
  try {
    response = await fetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request) });
  } catch (error) {
    throw new ParleyError('CONNECTION_FAILED', `could not reach ${endpoint.origin}: ${(error as Error).message}`, { cause: error });
  }
  // A body that is not JSON (a proxy's error page): the status is reported instead.
  const body = (await response.json().catch(() => undefined)) as { token?: string; error?: { code: string; message: string } } | undefined;
  if (response.ok && typeof body?.token === 'string') return body.token;
  throw new ParleyError(knownErrorCode(body?.error?.code), body?.error?.message ?? `token request failed with HTTP ${response.status}`);
}
