import { createHmac } from 'node:crypto';
import type { ServerConfig } from '../config/config.js';
import type { Logger } from '../logger.js';
import type { RoomRegistry } from '../rooms/room-registry.js';
import type { MediaCoordinator } from '../sfu/media-coordinator.js';
import type { ClusterBackend, NodeLoad } from './cluster-types.js';
import { MemoryCluster } from './memory-cluster.js';
import { NodeAgent } from './node-agent.js';
import { RedisCluster } from './redis-cluster.js';

/**
 * This node's cluster membership: Redis when `cluster.redisUrl` is set (connected here, so a
 * wrong URL fails the start), else a cluster of one in memory. The agent starts heartbeating once
 * the server listens (`agent.start(url)`).
 */
export async function createClusterAgent(config: ServerConfig, rooms: RoomRegistry, media: MediaCoordinator, logger: Logger): Promise<NodeAgent> {
  const { cluster } = config;
  let backend: ClusterBackend;
  if (cluster.redisUrl === undefined) {
    backend = new MemoryCluster({ nodeTtlMs: cluster.nodeTtlMs });
  } else {
    const redis = new RedisCluster({ url: cluster.redisUrl, nodeTtlMs: cluster.nodeTtlMs, prefix: cluster.keyPrefix, settleMs: 2 * cluster.heartbeatMs });
    await redis.connect();
    backend = redis;
  }
  return new NodeAgent({
    backend,
    node: { id: config.nodeId, roles: cluster.roles, startedAt: Date.now(), ...(config.sfu.announcedAddress ? { mediaAddress: config.sfu.announcedAddress } : {}) },
    load: loadReader(rooms, media),
    localRooms: () => rooms.names().flatMap((name) => {
      const room = rooms.get(name);
      return room ? [{ name, topology: room.topology }] : [];
    }),
    heartbeatMs: cluster.heartbeatMs,
    logger,
  });
}

/** Reads this node's load; SFU CPU is the workers' CPU seconds per second since the last reading. */
function loadReader(rooms: RoomRegistry, media: MediaCoordinator): () => Promise<NodeLoad> {
  let previous: { cpuSeconds: number; at: number } | undefined;
  return async () => {
    const { rooms: roomCount, participants } = rooms.stats();
    const sfu = await media.sfuStats().catch(() => undefined);
    const at = performance.now();
    const cpuSeconds = sfu?.cpuSeconds ?? 0;
    const sfuCpu = previous && at > previous.at && cpuSeconds >= previous.cpuSeconds ? (cpuSeconds - previous.cpuSeconds) / ((at - previous.at) / 1000) : 0;
    previous = { cpuSeconds, at };
    return { rooms: roomCount, participants, tracks: sfu?.publishedTracks ?? 0, sfuCpu: Math.round(sfuCpu * 100) / 100 };
  };
}

/**
 * The key nodes sign relay headers with: derived from the API key secrets every node of a
 * deployment already shares (tokens must verify on any node), so there is no new secret to
 * configure; the smallest key name's secret, so every node picks the same one.
 */
export function relaySecret(config: ServerConfig): string {
  const [first] = Object.keys(config.apiKeys).sort();
  return createHmac('sha256', config.apiKeys[first!] ?? '').update('parley cluster relay').digest('hex');
}
