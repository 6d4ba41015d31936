/**
 * What Refresh, CreatePermission and ChannelBind share: long-term credentials, a live allocation
 * on this 5-tuple (437 otherwise) made with the same username (441 otherwise), and for the last
 * two the XOR-PEER-ADDRESS attributes judged by the peer policy.
 */
import type { Allocation } from '../allocation.js';
import { readXorAddress, type TransportAddress } from '../attributes.js';
import type { ClientTransport } from '../client-transport.js';
import { errorWriter, StunError, type StunErrorCode } from '../error-codes.js';
import { seal } from '../integrity.js';
import type { PeerVerdict } from '../peer-policy.js';
import { Attr, StunClass, StunWriter, type StunMessage } from '../stun-message.js';
import { authenticate } from './authenticate.js';
import type { HandlerContext } from './context.js';

export interface AllocationRequest {
  readonly allocation: Allocation;
  /** Sends a response signed with the request's key. */
  respond(writer: StunWriter): void;
  fail(error: StunErrorCode, detail?: string): void;
  /** A success response to the request, for the handler to add attributes to. */
  success(): StunWriter;
}

/** The request's allocation once the shared checks pass; undefined after a challenge or an error response. */
export function authorizeAllocationRequest(
  ctx: HandlerContext,
  message: StunMessage,
  client: ClientTransport,
  allocation: Allocation | undefined,
): AllocationRequest | undefined {
  const auth = authenticate(ctx, message, client);
  if (auth === undefined) return undefined;
  const respond = (writer: StunWriter) => client.send(seal(writer, auth.key, auth.algorithm));
  const fail = (error: StunErrorCode, detail?: string) => respond(errorWriter(message, error, detail));
  if (allocation === undefined || allocation.isExpired(ctx.now())) return void fail(StunError.AllocationMismatch);
  if (auth.username !== allocation.username) {
    ctx.metrics.authFailures++;
    return void fail(StunError.WrongCredentials);
  }
  const success = () => new StunWriter(message.method, StunClass.SuccessResponse, message.transactionId);
  return { allocation, respond, fail, success };
}

export interface PermittedPeers {
  readonly peers: TransportAddress[];
  /** The policy's verdict for each peer: 'allow' or 'relay-ports-only' (a 'deny' is answered with 403). */
  readonly verdicts: PeerVerdict[];
}

/** Every XOR-PEER-ADDRESS of a CreatePermission or ChannelBind, when all may be reached; undefined after an error response. */
export function permittedPeers(ctx: HandlerContext, message: StunMessage, client: ClientTransport, request: AllocationRequest): PermittedPeers | undefined {
  const { allocation, fail } = request;
  const peers: TransportAddress[] = [];
  for (let i = 0; i < message.types.length; i++) {
    if (message.types[i] !== Attr.XorPeerAddress) continue;
    const peer = readXorAddress(message, Attr.XorPeerAddress, i);
    if (peer === undefined) return void fail(StunError.BadRequest, 'malformed XOR-PEER-ADDRESS');
    peers.push(peer);
  }
  if (peers.length === 0) return void fail(StunError.BadRequest, 'XOR-PEER-ADDRESS is required');
  // The policy goes first: a forbidden address is refused whatever its family.
  const verdicts = peers.map((peer) => ctx.policy.check(peer.address));
  const refused = verdicts.indexOf('deny');
  if (refused >= 0) {
    ctx.metrics.permissionsRefused++;
    ctx.options.logger.debug('turn peer refused', { client: client.id, peer: peers[refused]!.address });
    return void fail(StunError.Forbidden, 'peer address not allowed');
  }
  if (peers.some((peer) => peer.family !== allocation.family)) return void fail(StunError.PeerAddressFamilyMismatch);
  return { peers, verdicts };
}
