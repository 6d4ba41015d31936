import type { Topology } from '@parley/protocol';
import { ClusterError, type ClusterBackend, type NodeInfo, type Placement } from './cluster-types.js';
import { selectMediaNode } from './node-selection.js';

/**
 * The cluster of one process (no Redis): the node registry and room map in memory, with the same
 * TTL rule as Redis, so a single node behaves as a cluster of one and tests can run several
 * "nodes" against one instance.
 */
export class MemoryCluster implements ClusterBackend {
  readonly kind = 'memory';
  private readonly records = new Map<string, { node: NodeInfo; expiresAt: number }>();
  private readonly rooms = new Map<string, string>();
  private readonly topologies = new Map<string, Topology>();

  constructor(private readonly options: { nodeTtlMs: number; now?: () => number }) {}

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  async heartbeat(node: NodeInfo): Promise<void> {
    this.records.set(node.id, { node: structuredClone(node), expiresAt: this.now() + this.options.nodeTtlMs });
  }

  async nodes(): Promise<NodeInfo[]> {
    const now = this.now();
    for (const [id, record] of this.records) if (record.expiresAt <= now) this.records.delete(id);
    const placed = new Map<string, number>();
    for (const id of this.rooms.values()) placed.set(id, (placed.get(id) ?? 0) + 1);
    return [...this.records.values()].map(({ node }) => ({ ...structuredClone(node), placedRooms: placed.get(node.id) ?? 0 }));
  }

  async placeRoom(room: string): Promise<Placement> {
    const live = await this.nodes();
    const current = live.find((node) => node.id === this.rooms.get(room));
    const recorded = this.topologies.get(room);
    if (current) return { room, node: current, placedNow: false, ...(recorded ? { topology: recorded } : {}) };
    const chosen = selectMediaNode(live);
    if (!chosen) throw new ClusterError('NO_MEDIA_NODE', `no live media node to place room ${room} on`);
    this.rooms.set(room, chosen.id);
    return { room, node: chosen, placedNow: true, ...(recorded ? { topology: recorded } : {}) };
  }

  async claimRooms(rooms: readonly string[], nodeId: string): Promise<void> {
    for (const room of rooms) if (!this.rooms.has(room)) this.rooms.set(room, nodeId);
  }

  async releaseRoom(room: string, nodeId: string, options: { moving?: boolean } = {}): Promise<void> {
    if (this.rooms.get(room) !== nodeId) return;
    this.rooms.delete(room);
    if (!options.moving) this.topologies.delete(room);
  }

  async recordTopology(room: string, nodeId: string, topology: Topology): Promise<void> {
    if (this.rooms.get(room) === nodeId) this.topologies.set(room, topology);
  }

  async roomNode(room: string): Promise<NodeInfo | undefined> {
    const id = this.rooms.get(room);
    return id === undefined ? undefined : (await this.nodes()).find((node) => node.id === id);
  }

  async deregister(nodeId: string, options: { startedAt?: number } = {}): Promise<void> {
    const record = this.records.get(nodeId);
    // Another life of the node (restarted on the same id), or none: left as it is (as in Redis).
    if (options.startedAt !== undefined && record?.node.startedAt !== options.startedAt) return;
    this.records.delete(nodeId);
    for (const [room, id] of this.rooms) if (id === nodeId) this.rooms.delete(room);
  }

  async close(): Promise<void> {}
}
