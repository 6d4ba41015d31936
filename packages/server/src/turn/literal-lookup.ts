/** The `lookup` every TURN UDP socket uses (the listener and the relay sockets). */
import type { SocketOptions } from 'node:dgram';

/**
 * Every address this server sends to is an IP literal. Answering the lookup synchronously skips
 * dns.lookup's deferral to the next tick, so each send() is attempted right away (the relay path
 * costs less, and a send that did not have to queue is done with its buffers when send() returns).
 */
export const literalLookup = ((address: string, _family: unknown, callback: (error: null, address: string, family: number) => void) =>
  callback(null, address, address.includes(':') ? 6 : 4)) as unknown as SocketOptions['lookup'];
