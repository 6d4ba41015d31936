/**
 * ChannelBind (RFC 8656 section 11): binds a channel number to one peer transport address (or
 * refreshes the binding) and installs the peer's permission with it.
 */
import { MAX_CHANNEL, MIN_CHANNEL, type Allocation } from '../allocation.js';
import { readChannelNumber } from '../attributes.js';
import type { ClientTransport } from '../client-transport.js';
import { StunError } from '../error-codes.js';
import type { StunMessage } from '../stun-message.js';
import { authorizeAllocationRequest, permittedPeers } from './allocation-request.js';
import type { HandlerContext } from './context.js';

export function handleChannelBind(ctx: HandlerContext, message: StunMessage, client: ClientTransport, existing: Allocation | undefined): void {
  const request = authorizeAllocationRequest(ctx, message, client, existing);
  if (request === undefined) return;
  const permitted = permittedPeers(ctx, message, client, request);
  if (permitted === undefined) return;
  const { allocation, respond, fail, success } = request;
  const { peers, verdicts } = permitted;
  const number = readChannelNumber(message);
  const peer = peers[0]!;
  if (number === undefined || number < MIN_CHANNEL || number > MAX_CHANNEL) return fail(StunError.BadRequest, 'channel number out of range');
  if (verdicts[0] === 'relay-ports-only' && !ctx.allocationContext.isRelayPort(peer.port)) {
    ctx.metrics.permissionsRefused++;
    return fail(StunError.Forbidden, 'peer address not allowed');
  }
  const bound = allocation.channel(number);
  if (bound !== undefined && (bound.peer.address !== peer.address || bound.peer.port !== peer.port)) return fail(StunError.BadRequest, 'channel bound to another peer');
  const peerChannel = allocation.channelForPeer(peer);
  if (peerChannel !== undefined && peerChannel.number !== number) return fail(StunError.BadRequest, 'peer bound to another channel');
  allocation.bindChannel(number, peer);
  allocation.installPermission(peer.address, verdicts[0] === 'relay-ports-only');
  respond(success());
}
