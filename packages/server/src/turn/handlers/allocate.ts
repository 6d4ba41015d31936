/**
 * Allocate (RFC 8656 section 7.2): checks the request, reserves a relay port (or claims a
 * RESERVATION-TOKEN's), registers the allocation and answers with its relayed address. The
 * response is kept on the allocation and resent when the same transaction is retransmitted.
 */
import type { Socket as TcpSocket } from 'node:net';
import { Allocation } from '../allocation.js';
import { readRequestedFamily, readRequestedTransport, readUint32, writeXorAddress, type TransportAddress } from '../attributes.js';
import type { ClientTransport } from '../client-transport.js';
import { errorWriter, StunError, type StunErrorCode } from '../error-codes.js';
import { seal } from '../integrity.js';
import { Attr, StunClass, StunMethod, StunWriter, type StunMessage } from '../stun-message.js';
import { authenticate } from './authenticate.js';
import type { HandlerContext } from './context.js';
import { lifetimeSeconds } from './lifetime.js';

const UDP_TRANSPORT = 17;

export async function handleAllocate(
  ctx: HandlerContext,
  message: StunMessage,
  client: ClientTransport,
  existing: Allocation | undefined,
  connection?: TcpSocket,
): Promise<void> {
  const { options, registry, relayPorts } = ctx;
  if (existing?.allocateTransaction?.equals(message.transactionId) && existing.allocateResponse) {
    client.send(existing.allocateResponse);
    return;
  }
  if (registry.isAllocating(client.id)) return; // a retransmission while the relay socket binds
  const auth = authenticate(ctx, message, client);
  if (auth === undefined) return;
  const fail = (error: StunErrorCode, detail?: string) => client.send(seal(errorWriter(message, error, detail), auth.key, auth.algorithm));
  if (existing !== undefined) return fail(StunError.AllocationMismatch);
  const transport = readRequestedTransport(message);
  if (transport === undefined) return fail(StunError.BadRequest, 'REQUESTED-TRANSPORT is required');
  if (transport !== UDP_TRANSPORT) return fail(StunError.UnsupportedTransport);
  const requestedFamily = readRequestedFamily(message);
  const token = message.value(Attr.ReservationToken);
  const evenPort = message.value(Attr.EvenPort);
  if (token !== undefined && (requestedFamily !== undefined || evenPort !== undefined)) return fail(StunError.BadRequest, 'RESERVATION-TOKEN excludes REQUESTED-ADDRESS-FAMILY and EVEN-PORT');
  if (requestedFamily === 0) return fail(StunError.AddressFamilyNotSupported);
  const reservation = token === undefined ? undefined : relayPorts.take(token);
  if (token !== undefined && reservation === undefined) return fail(StunError.InsufficientCapacity, 'unknown or expired reservation');
  const family = reservation?.family ?? requestedFamily ?? 4;
  const relayAddress = family === 6 ? options.relayAddressIpv6 : options.relayAddress;
  if (relayAddress === undefined) return fail(StunError.AddressFamilyNotSupported);
  const quotaError =
    registry.allocationsOf(auth.identity) >= options.maxAllocationsPerUser
      ? StunError.AllocationQuotaReached
      : registry.sizeWithPending >= options.maxAllocations
        ? StunError.InsufficientCapacity
        : undefined;
  if (quotaError !== undefined) {
    reservation?.socket.close();
    return fail(quotaError);
  }

  let socket = reservation?.socket;
  let reservedToken: Buffer | undefined;
  if (socket === undefined) {
    const wantsPair = evenPort !== undefined && evenPort.length >= 1 && (evenPort[0]! & 0x80) !== 0;
    registry.beginAllocating(client.id);
    try {
      const bound = await relayPorts.bind(family, relayAddress, evenPort !== undefined, wantsPair);
      socket = bound?.[0];
      if (bound?.[1] !== undefined) reservedToken = relayPorts.reserve(bound[1], family);
    } finally {
      registry.endAllocating(client.id);
    }
  }
  if (socket === undefined) return fail(StunError.InsufficientCapacity, 'no relay port free');
  if (connection !== undefined && connection.destroyed) {
    socket.close();
    return;
  }
  let allocation: Allocation;
  let relayed: TransportAddress;
  let lifetime: number;
  try {
    relayed = { address: family === 4 ? (options.externalAddress ?? relayAddress) : relayAddress, port: socket.address().port, family };
    lifetime = lifetimeSeconds(readUint32(message, Attr.Lifetime));
    allocation = new Allocation({
      client,
      username: auth.username,
      identity: auth.identity,
      key: auth.key,
      relaySocket: socket,
      relayedAddress: relayed,
      lifetimeMs: lifetime * 1000,
      bytesPerSecond: options.bytesPerSecond,
      context: ctx.allocationContext,
    });
  } catch (error) {
    // Nobody owns the relay socket yet: close it rather than leak the port.
    socket.close();
    throw error;
  }
  socket.on('error', (error) => options.logger.debug('turn relay socket error', { client: client.id, error }));
  registry.add(allocation, connection);
  const writer = new StunWriter(StunMethod.Allocate, StunClass.SuccessResponse, message.transactionId);
  writeXorAddress(writer, Attr.XorRelayedAddress, relayed);
  writer.uint32(Attr.Lifetime, lifetime);
  writeXorAddress(writer, Attr.XorMappedAddress, { address: client.address, port: client.port, family: client.family });
  if (reservedToken !== undefined) writer.bytes(Attr.ReservationToken, reservedToken);
  const response = seal(writer, auth.key, auth.algorithm);
  allocation.allocateTransaction = Buffer.from(message.transactionId);
  allocation.allocateResponse = response;
  client.send(response);
}
