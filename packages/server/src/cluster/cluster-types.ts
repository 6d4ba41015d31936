import type { Topology } from '@parley/protocol';

/**
 * The cluster backend: where nodes register and where each room lives. One interface, two
 * implementations: `MemoryCluster` (one process, no other service: `npm start`) and
 * `RedisCluster` (`PARLEY_REDIS_URL`: every node of a deployment shares one Redis). The shape
 * follows LiveKit's Redis router (a node registry with load, a room -> node map consulted by
 * every node), with expiry by TTL keys instead of staleness checks, and placement decided by one
 * Lua script, so two first joins racing on two nodes agree.
 */
export type NodeRole = 'signaling' | 'media';
export const NODE_ROLES: readonly NodeRole[] = ['signaling', 'media'];

/** What a node reports about itself with every heartbeat. */
export interface NodeLoad {
  rooms: number;
  participants: number;
  /** Tracks published to its SFU. */
  tracks: number;
  /** Cores its SFU workers keep busy (rate of their CPU seconds over the last heartbeat). */
  sfuCpu: number;
}

export interface NodeInfo {
  id: string;
  roles: NodeRole[];
  /** Where clients and other nodes reach its signaling (http(s) base URL). */
  url: string;
  /** The address its SFU announces to clients, when it runs media. */
  mediaAddress?: string;
  /** 'draining': takes no new rooms, keeps the ones it has (a deploy, a shutdown). */
  state: 'serving' | 'draining';
  startedAt: number;
  load: NodeLoad;
  /** When this record was last written (the node's clock, ms). */
  updatedAt: number;
  /**
   * Rooms placed on it now, as the backend counts them when it lists nodes (not heartbeated:
   * a burst of new rooms between two heartbeats still spreads).
   */
  placedRooms?: number;
}

export interface Placement {
  room: string;
  node: NodeInfo;
  /** This call placed the room (it had no live node); false when it was placed already. */
  placedNow: boolean;
  /**
   * The topology the room's node recorded for it, if any (kept until the room is released). Read
   * when the room is created on a node: one that died with the room in it leaves what it had, so
   * an `auto` room that had moved to the SFU starts there again instead of going through P2P while
   * its participants come back one by one.
   */
  topology?: Topology;
}

export type ClusterErrorCode = 'BACKEND_UNAVAILABLE' | 'NO_MEDIA_NODE' | 'INVALID_RECORD';

/** A cluster operation that could not be done; `code` says why, `cause` keeps the backend's error. */
export class ClusterError extends Error {
  override name = 'ClusterError';
  constructor(
    readonly code: ClusterErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface ClusterBackend {
  readonly kind: 'memory' | 'redis';
  /** Registers this node (or refreshes its record): it is live until its TTL passes without another call. */
  heartbeat(node: NodeInfo): Promise<void>;
  /** Live nodes (registered, TTL not passed), any order. */
  nodes(): Promise<NodeInfo[]>;
  /**
   * The node a room lives on: the one it was placed on while that node is live, else the least
   * loaded live serving media node, recorded atomically (every caller gets the same answer).
   */
  placeRoom(room: string): Promise<Placement>;
  /**
   * Forgets a room's placement if it is still on `nodeId`: its last participant left there (the
   * recorded topology goes too), or the node is draining (`moving`: the topology stays for the
   * node the room moves to).
   */
  releaseRoom(room: string, nodeId: string, options?: { moving?: boolean }): Promise<void>;
  /** Records a room's topology, if the room is placed on `nodeId`: what a new node starts it with should `nodeId` die. */
  recordTopology(room: string, nodeId: string, topology: Topology): Promise<void>;
  /**
   * Records `nodeId` as the node of each of `rooms` that has no placement (Redis restarted empty,
   * say): the rooms that live on a node stay there, so a later join does not start a second copy
   * of a room elsewhere. Placements that exist are left alone.
   */
  claimRooms(rooms: readonly string[], nodeId: string): Promise<void>;
  /** Where a room is placed now, if anywhere live. */
  roomNode(room: string): Promise<NodeInfo | undefined>;
  /**
   * Removes a node's record at once (a clean shutdown, a node found dead), rather than waiting for
   * its TTL, and forgets the rooms placed on it. With `startedAt`, only if the record is that life
   * of the node (compared atomically): a node restarted meanwhile on the same id, registered with a
   * later `startedAt`, keeps its record and rooms.
   */
  deregister(nodeId: string, options?: { startedAt?: number }): Promise<void>;
  /** Closes the backend's connections. */
  close(): Promise<void>;
}
