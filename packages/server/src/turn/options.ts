/** How the built-in TURN server is set up (built-in-turn.ts fills this in from the `turn` configuration). */
import type { Logger } from '../logger.js';
import type { IcePasswordLookup } from './ice-check-repair.js';

export interface TurnServerOptions {
  /** Listening address for UDP and TCP (and TLS). */
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  /** TURN over TLS (`turns:`) on this port when a certificate is given. */
  tls?: { port: number; cert: string; key: string };
  /** Relay sockets bind here; the IPv6 one serves REQUESTED-ADDRESS-FAMILY IPv6. */
  relayAddress: string;
  relayAddressIpv6?: string;
  /** The relayed address clients are told, when the relay address sits behind a 1:1 NAT. */
  externalAddress?: string;
  relayPorts: { min: number; max: number };
  realm: string;
  /** The shared secret of the REST credential scheme. */
  secret: string;
  allowedPeers: readonly string[];
  deniedPeers: readonly string[];
  /**
   * This host's SFU media ports: reachable on the host's own and relay addresses, like live relay
   * ports, and nothing else there. A participant whose network allows only TURN (UDP blocked,
   * TCP/TLS to the TURN port only) reaches the SFU through them.
   */
  mediaPorts?: readonly { min: number; max: number }[];
  /**
   * The SFU's ICE password for a username fragment it handed out: with it, ICE checks relayed to
   * the media ports are made acceptable to the SFU's ICE agent (see ice-check-repair.ts).
   */
  sfuIcePassword?: IcePasswordLookup;
  maxAllocations: number;
  maxAllocationsPerUser: number;
  /** Per allocation, both directions together; 0 = unlimited. Excess packets are dropped. */
  bytesPerSecond: number;
  logger: Logger;
  now?: () => number;
}
