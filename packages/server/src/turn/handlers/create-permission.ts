/** CreatePermission (RFC 8656 section 9): installs or refreshes a permission for each peer address. */
import type { Allocation } from '../allocation.js';
import type { ClientTransport } from '../client-transport.js';
import type { StunMessage } from '../stun-message.js';
import { authorizeAllocationRequest, permittedPeers } from './allocation-request.js';
import type { HandlerContext } from './context.js';

export function handleCreatePermission(ctx: HandlerContext, message: StunMessage, client: ClientTransport, existing: Allocation | undefined): void {
  const request = authorizeAllocationRequest(ctx, message, client, existing);
  if (request === undefined) return;
  const permitted = permittedPeers(ctx, message, client, request);
  if (permitted === undefined) return;
  const { peers, verdicts } = permitted;
  peers.forEach((peer, i) => request.allocation.installPermission(peer.address, verdicts[i] === 'relay-ports-only'));
  request.respond(request.success());
}
