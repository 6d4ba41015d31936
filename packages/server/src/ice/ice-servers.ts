import type { IceServer } from '@parley/protocol';
import type { ServerConfig } from '../config/config.js';
import { restPassword } from '../turn/credentials.js';

/**
 * TURN REST credentials (the scheme coturn calls `use-auth-secret`): the username carries its own
 * expiry, the password is an HMAC of the username, so TURN servers need no user database.
 */
export function turnCredentials(secret: string, identity: string, ttlSeconds: number, nowMs = Date.now()): { username: string; credential: string } {
  const expiry = Math.floor(nowMs / 1000) + ttlSeconds;
  const username = `${expiry}:${identity}`;
  return { username, credential: restPassword(secret, username) };
}

type IceSettings = Omit<ServerConfig['ice'], 'regions'> & Partial<Pick<ServerConfig['ice'], 'regions'>>;

export interface IceListOptions {
  /** The built-in TURN server's stun:/turn:/turns: URLs, when it runs. */
  builtInUrls?: readonly string[];
  /** The secret when none is configured (the built-in server's per-process one). */
  secret?: string;
  /** The participant's preferred region (a hint: unknown names fall back to the default). */
  region?: string;
}

/** The region a participant gets: its hint if configured, else `defaultRegion`, else the first one. */
export function chooseRegion(ice: IceSettings, hint: string | undefined): string | undefined {
  const regions = ice.regions ?? {};
  if (hint !== undefined && Object.hasOwn(regions, hint)) return hint;
  return ice.defaultRegion ?? Object.keys(regions)[0];
}

/**
 * The ICE server list handed to one participant: STUN as configured, the built-in server, the
 * configured TURN URLs and the chosen region's servers, all TURN entries with one set of fresh
 * credentials (valid `turnCredentialTtlSeconds`).
 */
export function iceServersFor(identity: string, ice: IceSettings, nowMs = Date.now(), options: IceListOptions = {}): IceServer[] {
  const servers: IceServer[] = [];
  if (ice.stunUrls.length > 0) servers.push({ urls: ice.stunUrls });
  const secret = ice.turnSecret ?? options.secret;
  if (secret === undefined) return servers;
  const credentials = turnCredentials(secret, identity, ice.turnCredentialTtlSeconds, nowMs);
  const builtIn = options.builtInUrls ?? [];
  const builtInStun = builtIn.filter((url) => url.startsWith('stun'));
  const builtInTurn = builtIn.filter((url) => url.startsWith('turn'));
  if (builtInStun.length > 0) servers.push({ urls: builtInStun });
  if (builtInTurn.length > 0) servers.push({ urls: builtInTurn, ...credentials });
  if (ice.turnUrls.length > 0) servers.push({ urls: ice.turnUrls, ...credentials });
  const region = chooseRegion(ice, options.region);
  for (const server of region === undefined ? [] : (ice.regions?.[region] ?? [])) servers.push({ urls: server.urls, ...credentials });
  return servers;
}
