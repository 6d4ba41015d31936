/** Refresh (RFC 8656 section 7.3): a new lifetime for the allocation, or its deletion with LIFETIME 0. */
import type { Allocation } from '../allocation.js';
import { readRequestedFamily, readUint32 } from '../attributes.js';
import type { ClientTransport } from '../client-transport.js';
import { StunError } from '../error-codes.js';
import { Attr, type StunMessage } from '../stun-message.js';
import { authorizeAllocationRequest } from './allocation-request.js';
import type { HandlerContext } from './context.js';
import { lifetimeSeconds } from './lifetime.js';

export function handleRefresh(ctx: HandlerContext, message: StunMessage, client: ClientTransport, existing: Allocation | undefined): void {
  const request = authorizeAllocationRequest(ctx, message, client, existing);
  if (request === undefined) return;
  const { allocation, respond, fail, success } = request;
  const family = readRequestedFamily(message);
  if (family !== undefined && family !== allocation.family) return fail(StunError.PeerAddressFamilyMismatch);
  const requested = readUint32(message, Attr.Lifetime);
  if (requested === 0) {
    ctx.registry.delete(allocation);
    return respond(success().uint32(Attr.Lifetime, 0));
  }
  const lifetime = lifetimeSeconds(requested);
  allocation.expiresAt = ctx.now() + lifetime * 1000;
  respond(success().uint32(Attr.Lifetime, lifetime));
}
