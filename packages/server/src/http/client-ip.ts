import type { IncomingMessage } from 'node:http';

/**
 * The address limits apply to. Behind a proxy, the last X-Forwarded-For entry is the one the proxy
 * itself appended; anything to its left could be forged by the client.
 */
export function clientIp(request: IncomingMessage, behindProxy: boolean): string {
  const direct = request.socket.remoteAddress ?? 'unknown';
  if (!behindProxy) return direct;
  const forwarded = request.headers['x-forwarded-for'];
  const header = Array.isArray(forwarded) ? forwarded[forwarded.length - 1] : forwarded;
  const last = header?.split(',').pop()?.trim();
  return last !== undefined && last.length > 0 ? last : direct;
}
