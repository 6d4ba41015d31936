/**
 * One TURN allocation (RFC 8656 section 2.2): a relay UDP socket owned by one client 5-tuple,
 * its permissions (per peer IP, 300 s) and channel bindings (600 s), and the per-packet relay
 * path in both directions. Expired state is checked on use and swept periodically.
 */
import type { RemoteInfo, Socket as UdpSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import type { TransportAddress } from './attributes.js';
import { addressBytes } from './attributes.js';
import type { ClientTransport } from './client-transport.js';
import type { TurnMetrics } from './metrics.js';
import { Attr, HEADER_BYTES, MAGIC_COOKIE, StunClass, StunMethod, messageType } from './stun-message.js';

export const PERMISSION_LIFETIME_MS = 300_000;
export const CHANNEL_LIFETIME_MS = 600_000;
/** An expired channel number stays reserved to its peer this long (RFC 8656 section 12). */
export const CHANNEL_REUSE_DELAY_MS = 300_000;
export const MIN_CHANNEL = 0x4000;
/** RFC 8656 narrowed channels to 0x4FFF, but RFC 5766 clients (coturn's among them) still use up to 0x7FFF. */
export const MAX_CHANNEL = 0x7fff;

interface Permission {
  expiresAt: number;
  /** The peer is this server's own relay address: only ports of live allocations are reachable. */
  relayPortsOnly: boolean;
}

export interface Channel {
  readonly number: number;
  readonly peer: TransportAddress;
  expiresAt: number;
}

export interface AllocationContext {
  readonly metrics: TurnMetrics;
  now(): number;
  /** True for a relay port of a live allocation on this server, or one of the host's SFU media ports. */
  isRelayPort(port: number): boolean;
  /** What is sent to a relay-ports-only peer on `port` (the host's SFU: see ice-check-repair.ts). */
  toOwnPort?(port: number, data: Buffer): Buffer;
}

/** Bytes per second with a one-second burst; 0 means unlimited. */
class ByteBudget {
  private tokens: number;
  private refilledAt: number;

  constructor(
    private readonly bytesPerSecond: number,
    now: number,
  ) {
    this.tokens = bytesPerSecond;
    this.refilledAt = now;
  }

  take(bytes: number, now: number): boolean {
    if (this.bytesPerSecond === 0) return true;
    if (now !== this.refilledAt) {
      this.tokens = Math.min(this.bytesPerSecond, this.tokens + ((now - this.refilledAt) * this.bytesPerSecond) / 1000);
      this.refilledAt = now;
    }
    if (this.tokens < bytes) return false;
    this.tokens -= bytes;
    return true;
  }
}

const transactionPrefix = randomBytes(4);
let indicationCounter = 0;

export interface AllocationOptions {
  client: ClientTransport;
  username: string;
  identity: string;
  /** The long-term key this allocation's requests must be signed with. */
  key: Buffer;
  relaySocket: UdpSocket;
  /** What the client is told (the external address when the server is behind NAT). */
  relayedAddress: TransportAddress;
  lifetimeMs: number;
  /** The relay's byte budget per second, both directions together; 0 is unlimited. */
  bytesPerSecond: number;
  context: AllocationContext;
}

export class Allocation {
  readonly client: ClientTransport;
  readonly username: string;
  readonly identity: string;
  /** The long-term key this allocation's requests must be signed with. */
  readonly key: Buffer;
  readonly relaySocket: UdpSocket;
  /** What the client is told (the external address when the server is behind NAT). */
  readonly relayedAddress: TransportAddress;
  expiresAt: number;
  /** The Allocate transaction and its response, resent on a retransmission (RFC 8656 section 7.2). */
  allocateTransaction: Buffer | undefined;
  allocateResponse: Buffer | undefined;
  private readonly permissions = new Map<string, Permission>();
  private readonly channelsByNumber = new Map<number, Channel>();
  /** Peer address -> peer port -> channel: the peer-to-client path looks up without building keys. */
  private readonly channelsByPeer = new Map<string, Map<number, Channel>>();
  private readonly budget: ByteBudget;
  private closed = false;
  private readonly ctx: AllocationContext;

  constructor(options: AllocationOptions) {
    ({ client: this.client, username: this.username, identity: this.identity, key: this.key, relaySocket: this.relaySocket, relayedAddress: this.relayedAddress, context: this.ctx } = options);
    this.expiresAt = this.ctx.now() + options.lifetimeMs;
    this.budget = new ByteBudget(options.bytesPerSecond, this.ctx.now());
    this.relaySocket.on('message', (message, peer) => this.fromPeer(message, peer));
  }

  get family(): 4 | 6 {
    return this.relayedAddress.family;
  }

  get relayPort(): number {
    return this.relayedAddress.port;
  }

  isExpired(now: number): boolean {
    return now >= this.expiresAt;
  }

  installPermission(address: string, relayPortsOnly: boolean): void {
    this.permissions.set(address, { expiresAt: this.ctx.now() + PERMISSION_LIFETIME_MS, relayPortsOnly });
  }

  hasPermission(address: string): boolean {
    const permission = this.permissions.get(address);
    return permission !== undefined && permission.expiresAt > this.ctx.now();
  }

  /** The channel a number is bound (or still reserved) to. */
  channel(number: number): Channel | undefined {
    return this.channelsByNumber.get(number);
  }

  channelForPeer(peer: TransportAddress): Channel | undefined {
    return this.channelsByPeer.get(peer.address)?.get(peer.port);
  }

  bindChannel(number: number, peer: TransportAddress): void {
    const existing = this.channelsByNumber.get(number);
    const expiresAt = this.ctx.now() + CHANNEL_LIFETIME_MS;
    if (existing !== undefined) {
      existing.expiresAt = expiresAt;
      return;
    }
    const channel: Channel = { number, peer, expiresAt };
    this.channelsByNumber.set(number, channel);
    let ports = this.channelsByPeer.get(peer.address);
    if (ports === undefined) this.channelsByPeer.set(peer.address, (ports = new Map()));
    ports.set(peer.port, channel);
  }

  /** Client -> peer through a channel. */
  fromClientChannel(number: number, data: Buffer): void {
    const channel = this.channelsByNumber.get(number);
    if (channel === undefined || channel.expiresAt <= this.ctx.now()) {
      this.ctx.metrics.packetsDropped++;
      return;
    }
    this.toPeer(channel.peer.address, channel.peer.port, data);
  }

  /** Client -> peer from a Send indication. */
  toPeer(address: string, port: number, data: Buffer): void {
    const now = this.ctx.now();
    const permission = this.permissions.get(address);
    const metrics = this.ctx.metrics;
    if (
      this.closed ||
      permission === undefined ||
      permission.expiresAt <= now ||
      (permission.relayPortsOnly && !this.ctx.isRelayPort(port)) ||
      !this.budget.take(data.length, now)
    ) {
      metrics.packetsDropped++;
      return;
    }
    metrics.packetsToPeers++;
    metrics.bytesToPeers += data.length;
    this.relaySocket.send(permission.relayPortsOnly && this.ctx.toOwnPort ? this.ctx.toOwnPort(port, data) : data, port, address);
  }

  /** Peer -> client: through the peer's channel if it has one, else as a Data indication. */
  private fromPeer(data: Buffer, peer: RemoteInfo): void {
    const now = this.ctx.now();
    const permission = this.permissions.get(peer.address);
    const metrics = this.ctx.metrics;
    if (
      this.closed ||
      permission === undefined ||
      permission.expiresAt <= now ||
      (permission.relayPortsOnly && !this.ctx.isRelayPort(peer.port)) ||
      !this.budget.take(data.length, now)
    ) {
      metrics.packetsDropped++;
      return;
    }
    metrics.packetsToClients++;
    metrics.bytesToClients += data.length;
    const channel = this.channelsByPeer.get(peer.address)?.get(peer.port);
    if (channel !== undefined && channel.expiresAt > now) this.client.sendChannelData(channel.number, data);
    else this.client.sendDataIndication(dataIndicationPrefix(peer.address, peer.port, this.family, data.length), data);
  }

  /** Forgets expired permissions and channels whose reuse delay has passed. */
  sweep(now: number): void {
    for (const [address, permission] of this.permissions) if (permission.expiresAt <= now) this.permissions.delete(address);
    for (const [number, channel] of this.channelsByNumber) {
      if (channel.expiresAt + CHANNEL_REUSE_DELAY_MS > now) continue;
      this.channelsByNumber.delete(number);
      const ports = this.channelsByPeer.get(channel.peer.address);
      ports?.delete(channel.peer.port);
      if (ports?.size === 0) this.channelsByPeer.delete(channel.peer.address);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.relaySocket.close();
  }
}

/** STUN header, XOR-PEER-ADDRESS and the DATA attribute header of a Data indication. */
function dataIndicationPrefix(address: string, port: number, family: 4 | 6, dataLength: number): Buffer {
  const addressLength = family === 4 ? 4 : 16;
  const prefix = Buffer.allocUnsafe(HEADER_BYTES + 4 + 4 + addressLength + 4);
  prefix.writeUInt16BE(messageType(StunMethod.Data, StunClass.Indication), 0);
  prefix.writeUInt16BE(prefix.length - HEADER_BYTES + ((dataLength + 3) & ~3), 2);
  prefix.writeUInt32BE(MAGIC_COOKIE, 4);
  transactionPrefix.copy(prefix, 8);
  prefix.writeUInt32BE(0, 12);
  prefix.writeUInt32BE((indicationCounter = (indicationCounter + 1) >>> 0), 16);
  let at = HEADER_BYTES;
  prefix.writeUInt16BE(Attr.XorPeerAddress, at);
  prefix.writeUInt16BE(4 + addressLength, at + 2);
  prefix[at + 4] = 0;
  prefix[at + 5] = family === 4 ? 1 : 2;
  prefix.writeUInt16BE(port ^ (MAGIC_COOKIE >>> 16), at + 6);
  const bytes = addressBytes(address.startsWith('::ffff:') && family === 4 ? address.slice(7) : address, family);
  for (let i = 0; i < addressLength; i++) prefix[at + 8 + i] = bytes[i]! ^ prefix[4 + i]!;
  at += 8 + addressLength;
  prefix.writeUInt16BE(Attr.Data, at);
  prefix.writeUInt16BE(dataLength, at + 2);
  return prefix;
}
