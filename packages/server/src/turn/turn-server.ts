/**
 * The built-in STUN/TURN server (RFC 8489, RFC 8656): UDP and TCP listeners (and TLS when a
 * certificate is given), long-term REST credentials, relay UDP sockets on a port range, the peer
 * address policy and quotas. Malformed input is dropped (or answered with 400) and never throws
 * out of a socket handler.
 */
import { createSocket, type RemoteInfo, type Socket as UdpSocket, } from 'node:dgram';
import { createServer as createTcpServer, isIPv6, type Server as TcpServer, type Socket as TcpSocket } from 'node:net';
import { networkInterfaces } from 'node:os';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import type { Logger } from '../logger.js';
import { Allocation, MAX_CHANNEL, MIN_CHANNEL } from './allocation.js';
import { AllocationRegistry } from './allocation-registry.js';
import {
  readChannelNumber,
  readRequestedFamily,
  readRequestedTransport,
  readUint32,
  readXorAddress,
  writeUnknownAttributes,
  writeXorAddress,
  type TransportAddress,
} from './attributes.js';
import { StreamClient, UdpClient, type ClientTransport } from './client-transport.js';
import { NonceIssuer, parseRestUsername, restPassword, saslPrep } from './credentials.js';
import { errorWriter, StunError, type StunErrorCode } from './error-codes.js';
import { CHANNEL_DATA_HEADER_BYTES, isChannelData, StreamFramer } from './framing.js';
import { checkIntegrity, fingerprintMatches, longTermKey, seal, type IntegrityAlgorithm } from './integrity.js';
import { TurnMetrics } from './metrics.js';
import { literalLookup } from './literal-lookup.js';
import { PeerPolicy } from './peer-policy.js';
import { RelayPorts } from './relay-ports.js';
import { Attr, decodeStun, StunClass, StunMethod, StunWriter, type StunMessage } from './stun-message.js';

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
  maxAllocations: number;
  maxAllocationsPerUser: number;
  /** Per allocation, both directions together; 0 = unlimited. Excess packets are dropped. */
  bytesPerSecond: number;
  logger: Logger;
  now?: () => number;
}

export const DEFAULT_LIFETIME_S = 600;
export const MAX_LIFETIME_S = 3600;
const NONCE_LIFETIME_MS = 600_000;
const UDP_TRANSPORT = 17;
const SWEEP_INTERVAL_MS = 1000;
/** A TCP/TLS connection without an allocation is closed after this long. */
const IDLE_CONNECTION_MS = 60_000;
/** Socket buffers absorb bursts between event-loop turns (the kernel caps them at net.core.[rw]mem_max). */
const LISTEN_BUFFER_BYTES = 4 * 1024 * 1024;

interface Authenticated {
  username: string;
  identity: string;
  key: Buffer;
  algorithm: IntegrityAlgorithm;
}

export class TurnServer {
  readonly metrics = new TurnMetrics();
  private readonly now: () => number;
  private readonly nonces: NonceIssuer;
  private readonly policy: PeerPolicy;
  private readonly registry = new AllocationRegistry(this.metrics);
  private readonly relayPorts: RelayPorts;
  private readonly connections = new Set<TcpSocket>();
  private udp: UdpSocket | undefined;
  private tcp: TcpServer | undefined;
  private tlsServer: TlsServer | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private ports = { udp: 0, tcp: 0, tls: 0 };
  private readonly allocationContext;

  private constructor(private readonly options: TurnServerOptions) {
    this.now = options.now ?? Date.now;
    this.nonces = new NonceIssuer(NONCE_LIFETIME_MS, this.now);
    const relayAddresses = [options.relayAddress, options.relayAddressIpv6, options.externalAddress].filter((a): a is string => a !== undefined);
    this.policy = new PeerPolicy({
      allowed: options.allowedPeers,
      denied: options.deniedPeers,
      ownAddresses: [...hostAddresses(), ...(isConcrete(options.host) ? [options.host] : [])].filter((a) => !relayAddresses.includes(a)),
      relayAddresses,
    });
    this.relayPorts = new RelayPorts(options.relayPorts, this.now);
    this.allocationContext = { metrics: this.metrics, now: this.now, isRelayPort: (port: number) => this.registry.isRelayPort(port) };
  }

  static async start(options: TurnServerOptions): Promise<TurnServer> {
    const server = new TurnServer(options);
    try {
      await server.listen();
    } catch (error) {
      await server.close();
      throw error;
    }
    return server;
  }

  /** The bound ports (useful with port 0). `tls` is 0 when TLS is off. */
  get addresses(): { host: string; udp: number; tcp: number; tls: number } {
    return { host: this.options.host, ...this.ports };
  }

  get activeAllocations(): number {
    return this.registry.size;
  }

  /** Runs expiry now (the timer does it every second). */
  sweep(): void {
    const now = this.now();
    this.relayPorts.sweep(now);
    this.registry.sweep(now);
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.registry.deleteAll();
    this.relayPorts.close();
    for (const connection of this.connections) connection.destroy();
    await Promise.all([
      new Promise<void>((resolve) => (this.udp ? this.udp.close(() => resolve()) : resolve())),
      new Promise<void>((resolve) => (this.tcp?.listening ? this.tcp.close(() => resolve()) : resolve())),
      new Promise<void>((resolve) => (this.tlsServer?.listening ? this.tlsServer.close(() => resolve()) : resolve())),
    ]);
  }

  private async listen(): Promise<void> {
    const { host, port } = this.options;
    const udp = createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4', lookup: literalLookup, recvBufferSize: LISTEN_BUFFER_BYTES, sendBufferSize: LISTEN_BUFFER_BYTES });
    this.udp = udp;
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(port, host, () => {
        udp.off('error', reject);
        resolve();
      });
    });
    this.ports.udp = udp.address().port;
    const sharedHeader = Buffer.alloc(CHANNEL_DATA_HEADER_BYTES);
    udp.on('message', (message, rinfo) => this.onUdp(udp, sharedHeader, message, rinfo));
    udp.on('error', (error) => this.options.logger.warn('turn udp socket error', { error }));

    // TCP on the same port as UDP, so `port: 0` still gives one port for both.
    this.tcp = createTcpServer((socket) => this.onConnection(socket, 'tcp'));
    this.ports.tcp = await listenStream(this.tcp, this.ports.udp, host);
    if (this.options.tls) {
      this.tlsServer = createTlsServer({ cert: this.options.tls.cert, key: this.options.tls.key }, (socket) => this.onConnection(socket, 'tls'));
      this.tlsServer.on('tlsClientError', (error) => this.options.logger.debug('turn tls handshake failed', { error }));
      this.ports.tls = await listenStream(this.tlsServer, this.options.tls.port, host);
    }
    this.sweeper = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS).unref();
  }

  // ---- transports --------------------------------------------------------------------------

  private onUdp(socket: UdpSocket, sharedHeader: Buffer, message: Buffer, rinfo: RemoteInfo): void {
    if (message.length < CHANNEL_DATA_HEADER_BYTES) return;
    if (isChannelData(message[0]!)) {
      const allocation = this.registry.forUdp(rinfo.address, rinfo.port);
      const length = message.readUInt16BE(2);
      if (allocation === undefined || CHANNEL_DATA_HEADER_BYTES + length > message.length) {
        this.metrics.packetsDropped++;
        return;
      }
      allocation.fromClientChannel(message.readUInt16BE(0), message.subarray(CHANNEL_DATA_HEADER_BYTES, CHANNEL_DATA_HEADER_BYTES + length));
      return;
    }
    const stun = decodeStun(message);
    if (stun === undefined) return;
    const existing = this.registry.forUdp(rinfo.address, rinfo.port);
    this.onStun(stun, existing?.client ?? new UdpClient(socket, rinfo.address, rinfo.port, sharedHeader), existing);
  }

  private onConnection(socket: TcpSocket, protocol: 'tcp' | 'tls'): void {
    if (this.connections.size >= this.options.maxAllocations * 2) {
      socket.destroy();
      return;
    }
    this.connections.add(socket);
    const client = new StreamClient(protocol, socket);
    const framer = new StreamFramer();
    let allocation: Allocation | undefined;
    socket.setNoDelay(true);
    socket.setTimeout(IDLE_CONNECTION_MS, () => {
      if (allocation === undefined) socket.destroy();
    });
    socket.on('data', (chunk: Buffer) => {
      const framed = framer.push(chunk, (message, channelData) => {
        allocation = this.registry.forConnection(socket);
        if (channelData) {
          if (allocation) allocation.fromClientChannel(message.readUInt16BE(0), message.subarray(CHANNEL_DATA_HEADER_BYTES));
          else this.metrics.packetsDropped++;
          return;
        }
        const stun = decodeStun(message);
        if (stun !== undefined) this.onStun(stun, client, allocation, socket);
      });
      if (!framed) socket.destroy();
    });
    socket.on('error', (error) => this.options.logger.debug('turn connection error', { client: client.id, error }));
    socket.on('close', () => {
      this.connections.delete(socket);
      const owned = this.registry.forConnection(socket);
      if (owned) this.registry.delete(owned);
    });
  }

  // ---- STUN dispatch -----------------------------------------------------------------------

  private onStun(message: StunMessage, client: ClientTransport, allocation: Allocation | undefined, connection?: TcpSocket): void {
    try {
      if (!fingerprintMatches(message)) return;
      if (message.cls === StunClass.Indication) {
        if (message.method === StunMethod.Send && allocation !== undefined) this.onSend(message, allocation);
        return;
      }
      if (message.cls !== StunClass.Request) return;
      const unknown = message.unknownRequired();
      if (unknown.length > 0) {
        client.send(seal(writeUnknownAttributes(errorWriter(message, StunError.UnknownAttribute), unknown), undefined));
        return;
      }
      if (message.method === StunMethod.Binding) return this.onBinding(message, client);
      if (message.method === StunMethod.Allocate) return void this.onAllocate(message, client, allocation, connection);
      if (message.method === StunMethod.Refresh || message.method === StunMethod.CreatePermission || message.method === StunMethod.ChannelBind) {
        return this.onAllocationRequest(message, client, allocation);
      }
      client.send(seal(errorWriter(message, StunError.BadRequest, 'unknown method'), undefined));
    } catch (error) {
      this.options.logger.warn('turn request failed', { client: client.id, error });
    }
  }

  private onBinding(message: StunMessage, client: ClientTransport): void {
    this.metrics.bindingRequests++;
    const writer = new StunWriter(StunMethod.Binding, StunClass.SuccessResponse, message.transactionId);
    writeXorAddress(writer, Attr.XorMappedAddress, { address: client.address, port: client.port, family: client.family });
    client.send(seal(writer, undefined));
  }

  /**
   * Long-term credential check (RFC 8489 section 9.2): a challenge (401 + REALM + NONCE) without
   * integrity, 438 for a stale nonce, 401 for a bad username, expiry or MAC.
   */
  private authenticate(message: StunMessage, client: ClientTransport): Authenticated | undefined {
    const realm = this.options.realm;
    const challenge = (error: StunErrorCode, detail?: string) => {
      const writer = errorWriter(message, error, detail).text(Attr.Realm, realm).text(Attr.Nonce, this.nonces.issue(client.id));
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
    if (this.nonces.check(nonce, client.id) === 'stale') return challenge(StunError.StaleNonce);
    const rest = parseRestUsername(username);
    if (requestRealm !== realm || rest === undefined || rest.expiresAt <= this.now()) {
      this.metrics.authFailures++;
      return challenge(StunError.Unauthorized, rest !== undefined && rest.expiresAt <= this.now() ? 'credentials expired' : undefined);
    }
    const key = longTermKey(username, realm, saslPrep(restPassword(this.options.secret, username)));
    const integrity = checkIntegrity(message, key);
    if (!integrity?.valid) {
      this.metrics.authFailures++;
      return challenge(StunError.Unauthorized);
    }
    return { username, identity: rest.identity, key, algorithm: integrity.algorithm };
  }

  // ---- Allocate ----------------------------------------------------------------------------

  private async onAllocate(message: StunMessage, client: ClientTransport, existing: Allocation | undefined, connection?: TcpSocket): Promise<void> {
    if (existing?.allocateTransaction?.equals(message.transactionId) && existing.allocateResponse) {
      client.send(existing.allocateResponse);
      return;
    }
    if (this.registry.isAllocating(client.id)) return; // a retransmission while the relay socket binds
    const auth = this.authenticate(message, client);
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
    const reservation = token === undefined ? undefined : this.relayPorts.take(token);
    if (token !== undefined && reservation === undefined) return fail(StunError.InsufficientCapacity, 'unknown or expired reservation');
    const family = reservation?.family ?? requestedFamily ?? 4;
    const relayAddress = family === 6 ? this.options.relayAddressIpv6 : this.options.relayAddress;
    if (relayAddress === undefined) return fail(StunError.AddressFamilyNotSupported);
    const quotaError =
      this.registry.allocationsOf(auth.identity) >= this.options.maxAllocationsPerUser
        ? StunError.AllocationQuotaReached
        : this.registry.sizeWithPending >= this.options.maxAllocations
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
      this.registry.beginAllocating(client.id);
      try {
        const bound = await this.relayPorts.bind(family, relayAddress, evenPort !== undefined, wantsPair);
        socket = bound?.[0];
        if (bound?.[1] !== undefined) reservedToken = this.relayPorts.reserve(bound[1], family);
      } finally {
        this.registry.endAllocating(client.id);
      }
    }
    if (socket === undefined) return fail(StunError.InsufficientCapacity, 'no relay port free');
    if (connection !== undefined && connection.destroyed) {
      socket.close();
      return;
    }
    const relayed: TransportAddress = { address: family === 4 ? (this.options.externalAddress ?? relayAddress) : relayAddress, port: socket.address().port, family };
    const lifetime = lifetimeSeconds(readUint32(message, Attr.Lifetime));
    const allocation = new Allocation(client, auth.username, auth.identity, auth.key, socket, relayed, lifetime * 1000, this.options.bytesPerSecond, this.allocationContext);
    socket.on('error', (error) => this.options.logger.debug('turn relay socket error', { client: client.id, error }));
    this.registry.add(allocation, connection);
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

  // ---- Refresh, CreatePermission, ChannelBind ----------------------------------------------

  private onAllocationRequest(message: StunMessage, client: ClientTransport, allocation: Allocation | undefined): void {
    const auth = this.authenticate(message, client);
    if (auth === undefined) return;
    const respond = (writer: StunWriter) => client.send(seal(writer, auth.key, auth.algorithm));
    const fail = (error: StunErrorCode, detail?: string) => respond(errorWriter(message, error, detail));
    if (allocation === undefined || allocation.isExpired(this.now())) return fail(StunError.AllocationMismatch);
    if (auth.username !== allocation.username) {
      this.metrics.authFailures++;
      return fail(StunError.WrongCredentials);
    }
    const success = () => new StunWriter(message.method, StunClass.SuccessResponse, message.transactionId);
    if (message.method === StunMethod.Refresh) {
      const family = readRequestedFamily(message);
      if (family !== undefined && family !== allocation.family) return fail(StunError.PeerAddressFamilyMismatch);
      const requested = readUint32(message, Attr.Lifetime);
      if (requested === 0) {
        this.registry.delete(allocation);
        return respond(success().uint32(Attr.Lifetime, 0));
      }
      const lifetime = lifetimeSeconds(requested);
      allocation.expiresAt = this.now() + lifetime * 1000;
      return respond(success().uint32(Attr.Lifetime, lifetime));
    }
    const peers: TransportAddress[] = [];
    for (let i = 0; i < message.types.length; i++) {
      if (message.types[i] !== Attr.XorPeerAddress) continue;
      const peer = readXorAddress(message, Attr.XorPeerAddress, i);
      if (peer === undefined) return fail(StunError.BadRequest, 'malformed XOR-PEER-ADDRESS');
      peers.push(peer);
    }
    if (peers.length === 0) return fail(StunError.BadRequest, 'XOR-PEER-ADDRESS is required');
    // The policy goes first: a forbidden address is refused whatever its family.
    const verdicts = peers.map((peer) => this.policy.check(peer.address));
    const refused = verdicts.indexOf('deny');
    if (refused >= 0) {
      this.metrics.permissionsRefused++;
      this.options.logger.debug('turn peer refused', { client: client.id, peer: peers[refused]!.address });
      return fail(StunError.Forbidden, 'peer address not allowed');
    }
    if (peers.some((peer) => peer.family !== allocation.family)) return fail(StunError.PeerAddressFamilyMismatch);
    if (message.method === StunMethod.CreatePermission) {
      peers.forEach((peer, i) => allocation.installPermission(peer.address, verdicts[i] === 'relay-ports-only'));
      return respond(success());
    }
    const number = readChannelNumber(message);
    const peer = peers[0]!;
    if (number === undefined || number < MIN_CHANNEL || number > MAX_CHANNEL) return fail(StunError.BadRequest, 'channel number out of range');
    if (verdicts[0] === 'relay-ports-only' && !this.registry.isRelayPort(peer.port)) {
      this.metrics.permissionsRefused++;
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

  private onSend(message: StunMessage, allocation: Allocation): void {
    if (message.unknownRequired().length > 0) return;
    const peer = readXorAddress(message, Attr.XorPeerAddress);
    const data = message.value(Attr.Data);
    if (peer === undefined || data === undefined || peer.family !== allocation.family) {
      this.metrics.packetsDropped++;
      return;
    }
    allocation.toPeer(peer.address, peer.port, data);
  }
}

/** RFC 8656 section 7.2: the requested lifetime capped at the maximum, and never below the default. */
function lifetimeSeconds(requested: number | undefined): number {
  if (requested === undefined) return DEFAULT_LIFETIME_S;
  return Math.max(DEFAULT_LIFETIME_S, Math.min(requested, MAX_LIFETIME_S));
}

function listenStream(server: TcpServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as { port: number }).port);
    });
  });
}

function isConcrete(host: string): boolean {
  return host !== '0.0.0.0' && host !== '::';
}

function hostAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flatMap((entries) => entries ?? [])
    .map((entry) => entry.address.replace(/%.*$/, ''));
}
