/** Binding (RFC 8489): the client's reflexive address, no credentials needed. */
import { writeXorAddress } from '../attributes.js';
import type { ClientTransport } from '../client-transport.js';
import { seal } from '../integrity.js';
import { Attr, StunClass, StunMethod, StunWriter, type StunMessage } from '../stun-message.js';
import type { HandlerContext } from './context.js';

export function handleBinding(ctx: HandlerContext, message: StunMessage, client: ClientTransport): void {
  ctx.metrics.bindingRequests++;
  const writer = new StunWriter(StunMethod.Binding, StunClass.SuccessResponse, message.transactionId);
  writeXorAddress(writer, Attr.XorMappedAddress, { address: client.address, port: client.port, family: client.family });
  client.send(seal(writer, undefined));
}
