/**
 * Long-term credentials in coturn's REST scheme (`use-auth-secret`): the username is
 * `<unix expiry>:<identity>` and the password is base64(HMAC-SHA1(secret, username)), so the
 * server needs no user database and a username stops working when its expiry passes.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export function restPassword(secret: string, username: string): string {
  return createHmac('sha1', secret).update(username).digest('base64');
}

export interface RestUsername {
  expiresAt: number;
  /** What quotas count per user: the part after the expiry. */
  identity: string;
}

/** Parses `expiry:identity` (or a bare expiry, as coturn accepts); undefined when malformed. */
export function parseRestUsername(username: string): RestUsername | undefined {
  const separator = username.indexOf(':');
  const expiry = separator < 0 ? username : username.slice(0, separator);
  if (!/^\d{1,12}$/.test(expiry)) return undefined;
  return { expiresAt: Number(expiry) * 1000, identity: separator < 0 ? '' : username.slice(separator + 1) };
}

/**
 * A simplified SASLprep (RFC 4013), as RFC 5769's long-term vector needs: characters mapped to
 * nothing are dropped, non-ASCII spaces become spaces, then NFKC.
 */
export function saslPrep(value: string): string {
  return value
    .replace(/[\u00ad\u034f\u1806\u180b-\u180d\u200b-\u200d\u2060\ufe00-\ufe0f\ufeff]/g, '')
    .replace(/[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]/g, ' ')
    .normalize('NFKC');
}

export type NonceCheck = 'valid' | 'stale';

/**
 * Stateless nonces: `<expiry hex><MAC>` bound to the client's transport address, so any nonce the
 * server did not issue to that client, or one past its expiry, is stale (438) and the client
 * retries with the fresh one in the error response.
 */
export class NonceIssuer {
  private readonly key = randomBytes(32);

  constructor(
    private readonly lifetimeMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  issue(client: string): string {
    const expiry = Math.floor((this.now() + this.lifetimeMs) / 1000).toString(16).padStart(10, '0');
    return expiry + this.mac(expiry, client);
  }

  check(nonce: string, client: string): NonceCheck {
    if (nonce.length !== 10 + 22) return 'stale';
    const expiry = nonce.slice(0, 10);
    const expected = Buffer.from(this.mac(expiry, client));
    const given = Buffer.from(nonce.slice(10));
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'stale';
    return parseInt(expiry, 16) * 1000 > this.now() ? 'valid' : 'stale';
  }

  private mac(expiry: string, client: string): string {
    return createHmac('sha256', this.key).update(`${expiry}|${client}`).digest('base64url').slice(0, 22);
  }
}
