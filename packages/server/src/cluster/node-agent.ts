import type { Topology } from '@parley/protocol';
import type { Logger } from '../logger.js';
import type { ClusterBackend, NodeInfo, NodeLoad, NodeRole } from './cluster-types.js';

export interface NodeAgentOptions {
  backend: ClusterBackend;
  node: Omit<NodeInfo, 'load' | 'updatedAt' | 'state' | 'url'>;
  /** This node's load now (rooms, participants, tracks, SFU CPU). */
  load: () => Promise<NodeLoad>;
  /** The rooms this node hosts now and their topologies, claimed and recorded again whenever the backend comes back. */
  localRooms: () => Array<{ name: string; topology: Topology }>;
  heartbeatMs: number;
  logger: Logger;
}

/**
 * Keeps this node's record in the cluster backend: a heartbeat with its load every
 * `heartbeatMs`. While the backend is unreachable the node keeps serving what it has and says so
 * once (a warning), then once more when it is back, with how long it was away.
 */
export class NodeAgent {
  private timer: NodeJS.Timeout | undefined;
  private currentState: NodeInfo['state'] = 'serving';
  private downSince: number | undefined;
  private lastNodes = 0;
  private beating: Promise<void> | undefined;
  private url = '';

  constructor(private readonly options: NodeAgentOptions) {}

  get roles(): readonly NodeRole[] {
    return this.options.node.roles;
  }

  /** The backend answered the last heartbeat. */
  get healthy(): boolean {
    return this.downSince === undefined;
  }

  /** Live nodes the backend listed at the last heartbeat (this one included). */
  get liveNodes(): number {
    return this.lastNodes;
  }

  /** Registers this node at `url`, failing when the backend cannot be reached (a start-up error). */
  async start(url: string): Promise<void> {
    this.url = url;
    // A node restarted with the same id starts with no rooms: forget what its previous life held.
    await this.options.backend.deregister(this.options.node.id);
    await this.options.backend.heartbeat(await this.record());
    this.lastNodes = (await this.options.backend.nodes()).length;
    this.timer = setInterval(() => void this.beat(), this.options.heartbeatMs);
    this.timer.unref();
  }

  /** Takes no new rooms from now on (placement skips draining nodes); its rooms stay. */
  async drain(): Promise<void> {
    this.currentState = 'draining';
    await this.beat();
  }

  private async record(): Promise<NodeInfo> {
    return { ...this.options.node, url: this.url, state: this.currentState, load: await this.options.load(), updatedAt: Date.now() };
  }

  private beat(): Promise<void> {
    this.beating ??= this.heartbeat().finally(() => (this.beating = undefined));
    return this.beating;
  }

  private async heartbeat(): Promise<void> {
    try {
      await this.options.backend.heartbeat(await this.record());
      this.lastNodes = (await this.options.backend.nodes()).length;
      if (this.downSince !== undefined) {
        // Redis may have come back empty: the rooms that live here must stay here.
        const rooms = this.options.localRooms();
        await this.options.backend.claimRooms(
          rooms.map((room) => room.name),
          this.options.node.id,
        );
        // Their topologies too, or a node that takes one over should this one die later would start it afresh.
        await Promise.all(rooms.map((room) => this.options.backend.recordTopology(room.name, this.options.node.id, room.topology)));
        this.options.logger.info('cluster backend reachable again', { awayMs: Date.now() - this.downSince, nodes: this.lastNodes });
        this.downSince = undefined;
      }
    } catch (error) {
      if (this.downSince === undefined) {
        this.downSince = Date.now();
        this.options.logger.warn('cluster backend unreachable: this node keeps its rooms, other nodes will see it expire', { error });
      }
    }
  }

  /** 'draining' once drain() was called: /healthz says so, placement passes this node over. */
  get state(): NodeInfo['state'] {
    return this.currentState;
  }

  get nodeId(): string {
    return this.options.node.id;
  }

  /** Where a room lives (see ClusterBackend.placeRoom). */
  placeRoom(room: string): ReturnType<ClusterBackend['placeRoom']> {
    return this.options.backend.placeRoom(room);
  }

  /**
   * Another node's connection failed: if its port refuses connections (its process is gone, the
   * host is up), remove its record now rather than after its TTL, so its rooms are placed again at
   * once. Anything less certain (a timeout, a slow answer) waits for the TTL: removing a live node
   * would let a second copy of its rooms start elsewhere. Measured in e2e/cluster.test.ts: after a
   * media node's SIGKILL the SDKs' signaling is back in the room ~0.5 s later (waiting for the 1 s
   * TTL, with the SDK's retry schedule, takes ~1.2 s).
   */
  async suspect(node: { id: string; url: string }): Promise<boolean> {
    if (node.id === this.options.node.id) return false;
    const refused = await fetch(`${node.url}/healthz`, { signal: AbortSignal.timeout(1000) }).then(
      () => false,
      (error: unknown) => (error as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED',
    );
    if (!refused) return false;
    this.options.logger.warn('a node refuses connections: removed from the cluster before its TTL', { node: node.id });
    return this.options.backend.deregister(node.id).then(
      () => true,
      () => false,
    );
  }

  /** Forgets a room's placement now (draining: its participants are about to join it elsewhere). */
  releaseRoomNow(room: string): Promise<void> {
    return this.options.backend.releaseRoom(room, this.options.node.id, { moving: true });
  }

  /** This node's room changed topology: recorded, so a node that takes the room over should this one die starts it the same way. */
  recordTopology(room: string, topology: Topology): void {
    this.options.backend.recordTopology(room, this.options.node.id, topology).catch((error: unknown) => this.options.logger.warn('could not record a room’s topology', { room, error }));
  }

  /** This node's room ended: forget its placement (errors are logged: the placement is replaced once this node is gone anyway). */
  releaseRoom(room: string): void {
    this.options.backend.releaseRoom(room, this.options.node.id).catch((error: unknown) => this.options.logger.warn('could not release a room placement', { room, error }));
  }

  get backendKind(): ClusterBackend['kind'] {
    return this.options.backend.kind;
  }

  /** Stops heartbeating and removes this node's record. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.beating;
    // Redis away at shutdown: the record expires by itself after its TTL.
    await this.options.backend.deregister(this.options.node.id).catch(() => undefined);
    await this.options.backend.close();
  }
}
