/**
 * A UDP relay that adds one-way delay, for the delay the kernel here cannot add (no netem).
 * Put it in front of a media or TURN port: clients send to the relay, and each client gets its
 * own upstream socket, so the server sees one distinct address per client (as ICE and TURN
 * need) and its answers find their way back. Needs no privileges.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import type { AddressInfo } from 'node:net';

export interface UdpRelayOptions {
  /** Address and port to listen on (port 0: any free port). */
  listen: { host: string; port?: number };
  /** Where datagrams go. */
  target: { host: string; port: number };
  /** Added in each direction, so a round trip through the relay gains twice this. */
  delayMs?: number;
  /** A client silent for this long loses its upstream socket. */
  idleMs?: number;
}

const DEFAULT_IDLE_MS = 60_000;

interface Mapping {
  upstream: Socket;
  client: RemoteInfo;
  lastSeen: number;
}

export class UdpRelay {
  /** Added to every datagram in each direction; changes apply to datagrams arriving from then on. */
  delayMs: number;
  private readonly mappings = new Map<string, Mapping>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private sweeper: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(
    private readonly socket: Socket,
    private readonly options: UdpRelayOptions,
  ) {
    this.delayMs = options.delayMs ?? 0;
  }

  static async start(options: UdpRelayOptions): Promise<UdpRelay> {
    const socket = createSocket(options.listen.host.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(options.listen.port ?? 0, options.listen.host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    const relay = new UdpRelay(socket, options);
    socket.on('message', (data, client) => relay.fromClient(data, client));
    // A datagram that cannot be delivered (ICMP unreachable) is lost, as on a real network.
    socket.on('error', () => {});
    const idleMs = options.idleMs ?? DEFAULT_IDLE_MS;
    relay.sweeper = setInterval(() => relay.dropIdle(idleMs), Math.min(idleMs, 10_000));
    relay.sweeper.unref();
    return relay;
  }

  get address(): { host: string; port: number } {
    const { address, port } = this.socket.address() as AddressInfo;
    return { host: address, port };
  }

  /** Clients with an upstream socket right now. */
  get clientCount(): number {
    return this.mappings.size;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweeper);
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    const sockets = [this.socket, ...[...this.mappings.values()].map((m) => m.upstream)];
    this.mappings.clear();
    await Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }

  private fromClient(data: Buffer, client: RemoteInfo): void {
    const key = `${client.address}|${client.port}`;
    let mapping = this.mappings.get(key);
    if (!mapping) {
      const upstream = createSocket(this.options.target.host.includes(':') ? 'udp6' : 'udp4');
      const created: Mapping = { upstream, client, lastSeen: Date.now() };
      upstream.on('message', (reply) => {
        created.lastSeen = Date.now();
        this.later(() => this.socket.send(reply, client.port, client.address));
      });
      upstream.on('error', () => {});
      this.mappings.set(key, created);
      mapping = created;
    }
    mapping.lastSeen = Date.now();
    const { upstream } = mapping;
    this.later(() => upstream.send(data, this.options.target.port, this.options.target.host));
  }

  /** Runs `send` after the delay; datagrams keep their order because timers with equal delays fire in order. */
  private later(send: () => void): void {
    if (this.closed) return;
    if (this.delayMs <= 0) return send();
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.closed) send();
    }, this.delayMs);
    this.timers.add(timer);
  }

  private dropIdle(idleMs: number): void {
    const cutoff = Date.now() - idleMs;
    for (const [key, mapping] of this.mappings) {
      if (mapping.lastSeen >= cutoff) continue;
      this.mappings.delete(key);
      mapping.upstream.close();
    }
  }
}
