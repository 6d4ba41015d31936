/**
 * The built-in STUN/TURN server (RFC 8489, RFC 8656): UDP and TCP listeners (and TLS when a
 * certificate is given), long-term REST credentials, relay UDP sockets on a port range, the peer
 * address policy and quotas. Malformed input is dropped (or answered with 400) and never throws
 * out of a socket handler.
 *
 * This file is the transport wiring and the dispatch by STUN method; the methods are handled in
 * handlers/, the allocations are kept in allocation-registry.ts and relay ports are reserved in
 * relay-ports.ts.
 */
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { createServer as createTcpServer, isIPv6, type Server as TcpServer, type Socket as TcpSocket } from 'node:net';
import { networkInterfaces } from 'node:os';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import type { Allocation, AllocationContext } from './allocation.js';
import { AllocationRegistry } from './allocation-registry.js';
import { writeUnknownAttributes } from './attributes.js';
import { StreamClient, UdpClient, type ClientTransport } from './client-transport.js';
import { NonceIssuer } from './credentials.js';
import { errorWriter, StunError } from './error-codes.js';
import { CHANNEL_DATA_HEADER_BYTES, isChannelData, StreamFramer } from './framing.js';
import { handleAllocate } from './handlers/allocate.js';
import { handleBinding } from './handlers/binding.js';
import { handleChannelBind } from './handlers/channel-bind.js';
import type { HandlerContext } from './handlers/context.js';
import { handleCreatePermission } from './handlers/create-permission.js';
import { handleRefresh } from './handlers/refresh.js';
import { handleChannelData, handleSendIndication } from './handlers/send.js';
import { fingerprintMatches, seal } from './integrity.js';
import { literalLookup } from './literal-lookup.js';
import { TurnMetrics } from './metrics.js';
import type { TurnServerOptions } from './options.js';
import { repairZeroTiebreaker } from './ice-check-repair.js';
import { PeerPolicy } from './peer-policy.js';
import { RelayPorts } from './relay-ports.js';
import { decodeStun, StunClass, StunMethod, type StunMessage } from './stun-message.js';

export { DEFAULT_LIFETIME_S, MAX_LIFETIME_S } from './handlers/lifetime.js';
export type { TurnServerOptions } from './options.js';

const NONCE_LIFETIME_MS = 600_000;
const SWEEP_INTERVAL_MS = 1000;
/** A TCP/TLS connection without an allocation is closed after this long. */
const IDLE_CONNECTION_MS = 60_000;
/** Socket buffers absorb bursts between event-loop turns (the kernel caps them at net.core.[rw]mem_max). */
const LISTEN_BUFFER_BYTES = 4 * 1024 * 1024;

export class TurnServer {
  readonly metrics = new TurnMetrics();
  private readonly now: () => number;
  private readonly registry = new AllocationRegistry(this.metrics);
  private readonly connections = new Set<TcpSocket>();
  private readonly ctx: HandlerContext;
  private udp: UdpSocket | undefined;
  private tcp: TcpServer | undefined;
  private tlsServer: TlsServer | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private ports = { udp: 0, tcp: 0, tls: 0 };

  private constructor(private readonly options: TurnServerOptions) {
    this.now = options.now ?? Date.now;
    const relayAddresses = [options.relayAddress, options.relayAddressIpv6, options.externalAddress].filter((a): a is string => a !== undefined);
    const policy = new PeerPolicy({
      allowed: options.allowedPeers,
      denied: options.deniedPeers,
      ownAddresses: [...hostAddresses(), ...(isConcrete(options.host) ? [options.host] : [])].filter((a) => !relayAddresses.includes(a)),
      relayAddresses,
      ownAddressesOnRelayPorts: (options.mediaPorts ?? []).length > 0,
    });
    const mediaPorts = options.mediaPorts ?? [];
    // Live relay ports (two relayed clients) and the host's SFU media ports: all a relay-ports-only permission reaches.
    const isMediaPort = (port: number) => mediaPorts.some((range) => port >= range.min && port <= range.max);
    const isRelayPort = (port: number) => this.registry.isRelayPort(port) || isMediaPort(port);
    const sfuIcePassword = options.sfuIcePassword;
    const allocationContext: AllocationContext = {
      metrics: this.metrics,
      now: this.now,
      isRelayPort,
      ...(sfuIcePassword ? { toOwnPort: (port: number, data: Buffer) => (isMediaPort(port) ? repairZeroTiebreaker(data, sfuIcePassword) : data) } : {}),
    };
    this.ctx = {
      options,
      metrics: this.metrics,
      now: this.now,
      nonces: new NonceIssuer(NONCE_LIFETIME_MS, this.now),
      policy,
      registry: this.registry,
      relayPorts: new RelayPorts(options.relayPorts, this.now),
      allocationContext,
    };
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
    this.ctx.relayPorts.sweep(now);
    this.registry.sweep(now);
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.registry.deleteAll();
    this.ctx.relayPorts.close();
    for (const connection of this.connections) connection.destroy();
    await Promise.all([
      new Promise<void>((resolve) => (this.udp ? this.udp.close(() => resolve()) : resolve())),
      new Promise<void>((resolve) => (this.tcp?.listening ? this.tcp.close(() => resolve()) : resolve())),
      new Promise<void>((resolve) => (this.tlsServer?.listening ? this.tlsServer.close(() => resolve()) : resolve())),
    ]);
  }

  private async listen(): Promise<void> {
    const { host, port } = this.options;
    // TCP on the same port as UDP, so `port: 0` still gives one port for both. The free UDP port
    // the kernel picks may be taken for TCP (outgoing connections use the same ephemeral range):
    // with `port: 0`, another one is tried (on a loaded 2-core machine running several test suites,
    // 2 of ~10 start-ups of a test server fail with EADDRINUSE without the retry).
    for (let attempt = 1; ; attempt++) {
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
      this.tcp = createTcpServer((socket) => this.onConnection(socket, 'tcp'));
      try {
        this.ports.tcp = await listenStream(this.tcp, this.ports.udp, host);
        break;
      } catch (error) {
        if (port !== 0 || (error as { code?: string }).code !== 'EADDRINUSE' || attempt >= 20) throw error;
        await new Promise<void>((resolve) => udp.close(() => resolve()));
      }
    }
    const udp = this.udp;
    const sharedHeader = Buffer.alloc(CHANNEL_DATA_HEADER_BYTES);
    udp.on('message', (message, rinfo) => this.onUdp(udp, sharedHeader, message, rinfo));
    udp.on('error', (error) => this.options.logger.warn('turn udp socket error', { error }));

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
    if (isChannelData(message[0]!)) return handleChannelData(this.metrics, message, this.registry.forUdp(rinfo.address, rinfo.port));
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
        if (channelData) return handleChannelData(this.metrics, message, allocation);
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
        if (message.method === StunMethod.Send && allocation !== undefined) handleSendIndication(this.metrics, message, allocation);
        return;
      }
      if (message.cls !== StunClass.Request) return;
      const unknown = message.unknownRequired();
      if (unknown.length > 0) {
        client.send(seal(writeUnknownAttributes(errorWriter(message, StunError.UnknownAttribute), unknown), undefined));
        return;
      }
      switch (message.method) {
        case StunMethod.Binding:
          return handleBinding(this.ctx, message, client);
        case StunMethod.Allocate:
          // Asynchronous (the relay socket binds): its errors would escape this try as an
          // unhandled rejection, which ends a Node process.
          return void handleAllocate(this.ctx, message, client, allocation, connection).catch((error: unknown) => this.options.logger.warn('turn allocate failed', { client: client.id, error }));
        case StunMethod.Refresh:
          return handleRefresh(this.ctx, message, client, allocation);
        case StunMethod.CreatePermission:
          return handleCreatePermission(this.ctx, message, client, allocation);
        case StunMethod.ChannelBind:
          return handleChannelBind(this.ctx, message, client, allocation);
      }
      client.send(seal(errorWriter(message, StunError.BadRequest, 'unknown method'), undefined));
    } catch (error) {
      this.options.logger.warn('turn request failed', { client: client.id, error });
    }
  }
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
