import { createHmac } from 'node:crypto';
import type { IceServer } from '@parley/protocol';
import type { ServerConfig } from '../config/config.js';

/**
 * TURN REST credentials (the scheme coturn calls `use-auth-secret`): the username carries its own
 * expiry, the password is an HMAC of the username, so TURN servers need no user database.
 */
export function turnCredentials(secret: string, identity: string, ttlSeconds: number, nowMs = Date.now()): { username: string; credential: string } {
  const expiry = Math.floor(nowMs / 1000) + ttlSeconds;
  const username = `${expiry}:${identity}`;
  const credential = createHmac('sha1', secret).update(username).digest('base64');
  return { username, credential };
}

/** The ICE server list handed to one participant: STUN as configured, TURN with fresh credentials. */
export function iceServersFor(identity: string, ice: ServerConfig['ice'], nowMs = Date.now()): IceServer[] {
  const servers: IceServer[] = [];
  if (ice.stunUrls.length > 0) servers.push({ urls: ice.stunUrls });
  if (ice.turnUrls.length > 0 && ice.turnSecret !== undefined) {
    servers.push({ urls: ice.turnUrls, ...turnCredentials(ice.turnSecret, identity, ice.turnCredentialTtlSeconds, nowMs) });
  }
  return servers;
}
