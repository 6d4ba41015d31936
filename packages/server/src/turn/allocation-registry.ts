/**
 * Every live allocation of the server and the indexes it is found by: the client's UDP 5-tuple
 * (address -> port -> allocation, so the relay path looks up without building keys), its TCP/TLS
 * connection, its relay port (reachable through relay-ports-only permissions), and per-user counts
 * for the quota. Expiry: sweep() deletes expired allocations and tidies the others.
 */
import type { Socket as TcpSocket } from 'node:net';
import type { Allocation } from './allocation.js';
import { UdpClient } from './client-transport.js';
import type { TurnMetrics } from './metrics.js';

export class AllocationRegistry {
  private readonly allocations = new Set<Allocation>();
  private readonly udpAllocations = new Map<string, Map<number, Allocation>>();
  private readonly streamAllocations = new WeakMap<TcpSocket, Allocation>();
  /** Each TCP/TLS allocation's connection, so deleting the allocation frees the connection for a new one. */
  private readonly connections = new Map<Allocation, TcpSocket>();
  private readonly relayPorts = new Set<number>();
  private readonly perUser = new Map<string, number>();
  /** Clients whose Allocate is binding a relay socket: they count against the server's quota. */
  private readonly allocating = new Set<string>();

  constructor(private readonly metrics: TurnMetrics) {}

  get size(): number {
    return this.allocations.size;
  }

  /** Live allocations plus Allocate requests still binding their relay socket. */
  get sizeWithPending(): number {
    return this.allocations.size + this.allocating.size;
  }

  /** The allocation of a UDP client, by the socket's own view of its address. */
  forUdp(rawAddress: string, port: number): Allocation | undefined {
    return this.udpAllocations.get(rawAddress)?.get(port);
  }

  forConnection(connection: TcpSocket): Allocation | undefined {
    return this.streamAllocations.get(connection);
  }

  /** True for a relay port of a live allocation on this server. */
  isRelayPort(port: number): boolean {
    return this.relayPorts.has(port);
  }

  allocationsOf(identity: string): number {
    return this.perUser.get(identity) ?? 0;
  }

  isAllocating(clientId: string): boolean {
    return this.allocating.has(clientId);
  }

  beginAllocating(clientId: string): void {
    this.allocating.add(clientId);
  }

  endAllocating(clientId: string): void {
    this.allocating.delete(clientId);
  }

  /** Registers a new allocation: under its connection for TCP/TLS, under its 5-tuple for UDP. */
  add(allocation: Allocation, connection: TcpSocket | undefined): void {
    const client = allocation.client;
    this.allocations.add(allocation);
    this.relayPorts.add(allocation.relayPort);
    this.perUser.set(allocation.identity, (this.perUser.get(allocation.identity) ?? 0) + 1);
    if (connection !== undefined) {
      this.streamAllocations.set(connection, allocation);
      this.connections.set(allocation, connection);
    } else {
      const raw = (client as UdpClient).rawAddress;
      let ports = this.udpAllocations.get(raw);
      if (ports === undefined) this.udpAllocations.set(raw, (ports = new Map()));
      ports.set(client.port, allocation);
    }
    this.metrics.allocationsActive = this.allocations.size;
    this.metrics.allocationsTotal++;
  }

  /** Closes and forgets an allocation; a second call does nothing. */
  delete(allocation: Allocation): void {
    if (!this.allocations.delete(allocation)) return;
    allocation.close();
    this.relayPorts.delete(allocation.relayPort);
    const count = (this.perUser.get(allocation.identity) ?? 1) - 1;
    if (count > 0) this.perUser.set(allocation.identity, count);
    else this.perUser.delete(allocation.identity);
    const client = allocation.client;
    // A TCP/TLS connection outlives its allocation (RFC 8656 section 7: a Refresh with lifetime 0
    // deletes the allocation, not the connection): it must no longer find the deleted one.
    const connection = this.connections.get(allocation);
    if (connection !== undefined) {
      this.connections.delete(allocation);
      if (this.streamAllocations.get(connection) === allocation) this.streamAllocations.delete(connection);
    }
    if (client instanceof UdpClient) {
      const ports = this.udpAllocations.get(client.rawAddress);
      ports?.delete(client.port);
      if (ports?.size === 0) this.udpAllocations.delete(client.rawAddress);
    }
    this.metrics.allocationsActive = this.allocations.size;
  }

  /** Deletes expired allocations; the others forget their expired permissions and channels. */
  sweep(now: number): void {
    for (const allocation of this.allocations) {
      if (allocation.isExpired(now)) this.delete(allocation);
      else allocation.sweep(now);
    }
  }

  deleteAll(): void {
    for (const allocation of [...this.allocations]) this.delete(allocation);
  }
}
