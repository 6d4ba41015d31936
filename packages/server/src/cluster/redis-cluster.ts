import type { Topology } from '@parley/protocol';
import { Redis } from 'ioredis';
import { ClusterError, type ClusterBackend, type NodeInfo, type Placement } from './cluster-types.js';
import { mediaCandidates } from './node-selection.js';

export interface RedisClusterOptions {
  url: string;
  /** A node whose record is not refreshed within this is gone (its rooms are placed again). */
  nodeTtlMs: number;
  /** Key prefix, so deployments (or tests) can share one Redis. */
  prefix?: string;
  /**
   * After Redis starts (or restarts empty), how long a room without a placement waits before it
   * is placed: time for every live node's next heartbeat to claim the rooms it hosts, so a join
   * cannot start a second copy of a room elsewhere. Two heartbeats.
   */
  settleMs: number;
  /**
   * How long one Redis command may take before it fails with BACKEND_UNAVAILABLE (default 2000).
   * A Redis that is frozen or cut off by the network (no RST, no FIN) leaves the connection open
   * and never answers: without this a join would wait for TCP keepalive, minutes.
   */
  commandTimeoutMs?: number;
}

/** Default of RedisClusterOptions.commandTimeoutMs: longer than any command Parley sends takes on a live Redis (under 5 ms here), short enough for a join to report the error. */
export const REDIS_COMMAND_TIMEOUT_MS = 2000;

/**
 * Keys: `<prefix>node:<id>` (the node's JSON record, expiring after nodeTtlMs unless refreshed),
 * `<prefix>nodes` (the set of ids, pruned of expired ones when read), `<prefix>room:<name>`
 * (the id of the node the room lives on), `<prefix>rooms-of:<id>` (the rooms placed on a node),
 * `<prefix>topology:<name>` (the topology the room's node recorded; a day's expiry bounds what
 * rooms of dead nodes that nobody rejoined leave behind). One Redis, not Redis Cluster: the placement script
 * reads a node key it computes, which Redis Cluster's key slots would forbid.
 */
/**
 * Places a room unless it already lives on a live node, choosing the node inside the script: the
 * candidates come in tie-break order with their heartbeated participants, and the rooms placed on
 * each are counted here, so placements racing from many connections still spread (read outside
 * the script, ten concurrent joins all saw empty nodes and all chose the same one).
 * ARGV: node key prefix, rooms-of prefix, room, then (id, participants) per candidate.
 */
const PLACE_ROOM = `
local current = redis.call('GET', KEYS[1])
if current and redis.call('EXISTS', ARGV[1] .. current) == 1 then return {current, 0, redis.call('GET', KEYS[2])} end
local best, bestLoad = nil, nil
for i = 4, #ARGV, 2 do
  local id = ARGV[i]
  if redis.call('EXISTS', ARGV[1] .. id) == 1 then
    local load = tonumber(ARGV[i + 1]) + redis.call('SCARD', ARGV[2] .. id)
    if not best or load < bestLoad then best, bestLoad = id, load end
  end
end
if not best then return {false, 0, false} end
if current then redis.call('SREM', ARGV[2] .. current, ARGV[3]) end
redis.call('SET', KEYS[1], best)
redis.call('SADD', ARGV[2] .. best, ARGV[3])
return {best, 1, redis.call('GET', KEYS[2])}`;
/** SET NX of a room's placement, counted in the node's set of rooms when it took. */
const CLAIM_ROOM = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX') then redis.call('SADD', ARGV[2] .. ARGV[1], ARGV[3]) end
return 0`;
/** Milliseconds since this Redis first saw a Parley node (its own clock, so nodes' clocks do not matter). */
const EPOCH_AGE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local epoch = redis.call('GET', KEYS[1])
if not epoch then
  redis.call('SET', KEYS[1], now)
  return 0
end
return now - tonumber(epoch)`;
const RELEASE_ROOM = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SREM', ARGV[2] .. ARGV[1], ARGV[3])
  if ARGV[4] ~= 'moving' then redis.call('DEL', KEYS[2]) end
  return redis.call('DEL', KEYS[1])
end
return 0`;
/**
 * Removes a node's record, its id from the set of nodes and its set of rooms, if its record is
 * the life that started at ARGV[2] (compared as numbers: cjson reads JSON numbers as doubles,
 * exact for millisecond times). ARGV: id, startedAt.
 */
const DEREGISTER_IF_STARTED_AT = `
local record = redis.call('GET', KEYS[1])
if not record then return 0 end
local ok, node = pcall(cjson.decode, record)
if not ok or type(node) ~= 'table' or node.startedAt ~= tonumber(ARGV[2]) then return 0 end
redis.call('DEL', KEYS[1], KEYS[3])
redis.call('SREM', KEYS[2], ARGV[1])
return 1`;
/** Records a room's topology if the room is placed on the node asking. */
const RECORD_TOPOLOGY = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[2], ARGV[2], 'EX', 86400) end
return 0`;

export class RedisCluster implements ClusterBackend {
  readonly kind = 'redis';
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly commandTimeoutMs: number;

  constructor(private readonly options: RedisClusterOptions) {
    this.prefix = options.prefix ?? 'parley:';
    this.commandTimeoutMs = options.commandTimeoutMs ?? REDIS_COMMAND_TIMEOUT_MS;
    // Fail fast while Redis is away (no offline queue, one retry, a timeout per command): a join
    // waits on placement, and an error it can report beats a request hanging until Redis returns.
    // Reconnects go on in the background every 0.1-1 s.
    this.redis = new Redis(options.url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: this.commandTimeoutMs,
      commandTimeout: this.commandTimeoutMs,
      retryStrategy: (times) => Math.min(times * 100, 1000),
    });
    this.redis.on('error', () => {
      // Reported by the failing calls (ClusterError); ioredis reconnects by itself.
    });
  }

  /** Connects (at start: a wrong URL is a start-up error, not a later surprise). */
  async connect(): Promise<void> {
    // connectTimeout bounds the TCP connect only: a frozen Redis accepts the connection (its
    // kernel does) and never answers the ready check, which ioredis retries. Bounded here as two
    // command timeouts.
    const bound = 2 * this.commandTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no ready answer within ${bound} ms`)), bound);
    });
    try {
      await this.call('connect to Redis', () => Promise.race([this.redis.connect(), timeout]));
    } catch (error) {
      // Stop the reconnect attempts: nobody will use or close this instance.
      this.redis.disconnect();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  private nodeKey(id: string): string {
    return `${this.prefix}node:${id}`;
  }

  /** The set of rooms placed on a node. */
  private roomsOfKey(id: string): string {
    return `${this.prefix}rooms-of:${id}`;
  }

  private roomKey(room: string): string {
    return `${this.prefix}room:${room}`;
  }

  private topologyKey(room: string): string {
    return `${this.prefix}topology:${room}`;
  }

  private async call<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw new ClusterError('BACKEND_UNAVAILABLE', `cluster backend: could not ${what}: ${(error as Error).message}`, { cause: error });
    }
  }

  async heartbeat(node: NodeInfo): Promise<void> {
    await this.call('register this node', () =>
      this.redis.multi().set(this.nodeKey(node.id), JSON.stringify(node), 'PX', this.options.nodeTtlMs).sadd(`${this.prefix}nodes`, node.id).exec(),
    );
    // The epoch starts with the first heartbeat a Redis sees, not with the first join.
    await this.call('read the cluster epoch', () => this.redis.eval(EPOCH_AGE, 1, `${this.prefix}epoch`));
  }

  async nodes(): Promise<NodeInfo[]> {
    const ids = await this.call('list nodes', () => this.redis.smembers(`${this.prefix}nodes`));
    if (ids.length === 0) return [];
    const records = await this.call('read nodes', () => this.redis.mget(ids.map((id) => this.nodeKey(id))));
    const gone = ids.filter((_, index) => records[index] === null);
    if (gone.length > 0) await this.redis.srem(`${this.prefix}nodes`, ...gone).catch(() => undefined);
    const live = records.flatMap((record) => (record === null ? [] : [parseNode(record)]));
    const counts = await this.call('count rooms', () => Promise.all(live.map((node) => this.redis.scard(this.roomsOfKey(node.id)))));
    return live.map((node, index) => ({ ...node, placedRooms: counts[index] ?? 0 }));
  }

  async placeRoom(room: string, attempt = 1): Promise<Placement> {
    const live = await this.nodes();
    const candidates = mediaCandidates(live);
    const current = await this.call('read a room placement', () => this.redis.get(this.roomKey(room)));
    const placedOnLive = current === null ? undefined : live.find((node) => node.id === current);
    if (placedOnLive) return { room, node: placedOnLive, placedNow: false, ...(await this.recordedTopology(room)) };
    // Redis just (re)started: wait until the nodes have claimed their rooms, then look again.
    const age = (await this.call('read the cluster epoch', () => this.redis.eval(EPOCH_AGE, 1, `${this.prefix}epoch`))) as number;
    if (age < this.options.settleMs && attempt < 3) {
      await new Promise((resolve) => setTimeout(resolve, this.options.settleMs - age));
      return this.placeRoom(room, attempt + 1);
    }
    if (candidates.length === 0) throw new ClusterError('NO_MEDIA_NODE', `no live media node to place room ${room} on`);
    const args = candidates.flatMap((node) => [node.id, String(node.load.participants)]);
    const [id, placedNow, topology] = (await this.call('place a room', () => this.redis.eval(PLACE_ROOM, 2, this.roomKey(room), this.topologyKey(room), this.nodeKey(''), this.roomsOfKey(''), room, ...args))) as [string | null, number, string | null];
    if (id === null) {
      if (attempt >= 3) throw new ClusterError('NO_MEDIA_NODE', `room ${room}: every media node expired while it was being placed`);
      return this.placeRoom(room, attempt + 1);
    }
    // Another node placed it first (or on a node that came back): that placement wins.
    const node = live.find((record) => record.id === id) ?? (await this.nodes()).find((record) => record.id === id);
    // It expired in between: place the room again (a few times at most, then say so).
    if (!node) {
      if (attempt >= 3) throw new ClusterError('NO_MEDIA_NODE', `room ${room}: the node it was placed on keeps disappearing`);
      return this.placeRoom(room, attempt + 1);
    }
    return { room, node, placedNow: placedNow === 1, ...asTopology(topology) };
  }

  async claimRooms(rooms: readonly string[], nodeId: string): Promise<void> {
    if (rooms.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const room of rooms) pipeline.eval(CLAIM_ROOM, 1, this.roomKey(room), nodeId, this.roomsOfKey(''), room);
    await this.call('claim this node’s rooms', () => pipeline.exec());
  }

  async releaseRoom(room: string, nodeId: string, options: { moving?: boolean } = {}): Promise<void> {
    await this.call('release a room', () => this.redis.eval(RELEASE_ROOM, 2, this.roomKey(room), this.topologyKey(room), nodeId, this.roomsOfKey(''), room, options.moving ? 'moving' : 'ended'));
  }

  private async recordedTopology(room: string): Promise<{ topology?: Topology }> {
    return asTopology(await this.call('read a room’s topology', () => this.redis.get(this.topologyKey(room))));
  }

  async recordTopology(room: string, nodeId: string, topology: Topology): Promise<void> {
    await this.call('record a room’s topology', () => this.redis.eval(RECORD_TOPOLOGY, 2, this.roomKey(room), this.topologyKey(room), nodeId, topology));
  }

  async roomNode(room: string): Promise<NodeInfo | undefined> {
    const id = await this.call('read a room placement', () => this.redis.get(this.roomKey(room)));
    if (id === null) return undefined;
    const record = await this.call('read a node', () => this.redis.get(this.nodeKey(id)));
    return record === null ? undefined : parseNode(record);
  }

  async deregister(nodeId: string, options: { startedAt?: number } = {}): Promise<void> {
    const { startedAt } = options;
    if (startedAt !== undefined) {
      await this.call('deregister a node', () => this.redis.eval(DEREGISTER_IF_STARTED_AT, 3, this.nodeKey(nodeId), `${this.prefix}nodes`, this.roomsOfKey(nodeId), nodeId, String(startedAt)));
      return;
    }
    await this.call('deregister a node', () => this.redis.multi().del(this.nodeKey(nodeId)).srem(`${this.prefix}nodes`, nodeId).del(this.roomsOfKey(nodeId)).exec());
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}

function asTopology(value: string | null): { topology?: Topology } {
  return value === 'sfu' || value === 'p2p' || value === 'mcu' ? { topology: value } : {};
}

function parseNode(record: string): NodeInfo {
  try {
    return JSON.parse(record) as NodeInfo;
  } catch (error) {
    throw new ClusterError('INVALID_RECORD', `a node record in Redis is not JSON: ${record.slice(0, 80)}`, { cause: error });
  }
}
