/** The long-term credential check every TURN request but Binding goes through. */
import type { ClientTransport } from '../client-transport.js';
import { parseRestUsername, restPassword, saslPrep } from '../credentials.js';
import { errorWriter, StunError, type StunErrorCode } from '../error-codes.js';
import { checkIntegrity, longTermKey, seal, type IntegrityAlgorithm } from '../integrity.js';
import { Attr, type StunMessage } from '../stun-message.js';
import type { HandlerContext } from './context.js';

export interface Authenticated {
  username: string;
  identity: string;
  key: Buffer;
  algorithm: IntegrityAlgorithm;
}

/**
 * Long-term credential check (RFC 8489 section 9.2): a challenge (401 + REALM + NONCE) without
 * integrity, 438 for a stale nonce, 401 for a bad username, expiry or MAC.
 */
export function authenticate(ctx: HandlerContext, message: StunMessage, client: ClientTransport): Authenticated | undefined {
  const realm = ctx.options.realm;
  const challenge = (error: StunErrorCode, detail?: string) => {
    const writer = errorWriter(message, error, detail).text(Attr.Realm, realm).text(Attr.Nonce, ctx.nonces.issue(client.id));
    client.send(seal(writer, undefined));
    return undefined;
  };
  if (message.integrityAt < 0 && message.integritySha256At < 0) return challenge(StunError.Unauthorized);
  const username = message.text(Attr.Username);
  const nonce = message.text(Attr.Nonce);
  const requestRealm = message.text(Attr.Realm);
  if (username === undefined || nonce === undefined || requestRealm === undefined) {
    client.send(seal(errorWriter(message, StunError.BadRequest, 'USERNAME, REALM and NONCE are required'), undefined));
    return undefined;
  }
  if (ctx.nonces.check(nonce, client.id) === 'stale') return challenge(StunError.StaleNonce);
  const rest = parseRestUsername(username);
  if (requestRealm !== realm || rest === undefined || rest.expiresAt <= ctx.now()) {
    ctx.metrics.authFailures++;
    return challenge(StunError.Unauthorized, rest !== undefined && rest.expiresAt <= ctx.now() ? 'credentials expired' : undefined);
  }
  const key = longTermKey(username, realm, saslPrep(restPassword(ctx.options.secret, username)));
  const integrity = checkIntegrity(message, key);
  if (!integrity?.valid) {
    ctx.metrics.authFailures++;
    return challenge(StunError.Unauthorized);
  }
  return { username, identity: rest.identity, key, algorithm: integrity.algorithm };
}
