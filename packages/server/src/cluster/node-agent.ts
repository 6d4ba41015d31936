import type { Topology } from '@parley/protocol';
import type { Logger } from '../logger.js';
import { ClusterError, type ClusterBackend, type NodeInfo, type NodeLoad, type NodeRole } from './cluster-types.js';

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

/** Heartbeats still waiting for the backend at most: beyond this the backend counts as unreachable and none is added. */
const MAX_RUNNING_HEARTBEATS = 4;
/**
 * A heartbeat still running this many intervals after it started (at the second tick after it,
 * whatever the timer's jitter) overran: warned. One that merely takes longer than an interval is
 * common on a loaded machine with short intervals (200-290 ms measured with 200 ms heartbeats in
 * e2e/cluster.test.ts) and harmless: the next goes beside it.
 */
const OVERRUN_INTERVALS = 1.5;
const NO_LOAD: NodeLoad = { rooms: 0, participants: 0, tracks: 0, sfuCpu: 0 };

/** One heartbeat: when it started and what it is waiting for (named in the warning if it overruns). */
interface Beat {
  startedAt: number;
  step: string;
  done: Promise<void>;
  overran?: boolean;
}

/**
 * Keeps this node's record in the cluster backend: a heartbeat with its load every
 * `heartbeatMs`. While the backend is unreachable the node keeps serving what it has and says so
 * once (a warning), then once more when it is back, with how long it was away.
 *
 * A heartbeat is bounded in time, so nothing it waits for can stop the record being refreshed
 * (the record expires after the node TTL, and the node's rooms are placed elsewhere while it still
 * serves them): the load reading gets half an interval, after which the heartbeat carries the last
 * load read (the reading goes on, one at a time); a heartbeat still waiting for the backend when
 * the next is due does not hold that one back. Otherwise one heartbeat awaiting the load of an SFU
 * whose workers are still starting (e2e/cluster.test.ts, a media node restarted: 2.3 s locally,
 * ~15 s in a loaded CI run) would hold every later one, and the record would expire while the
 * node serves.
 */
export class NodeAgent {
  private timer: NodeJS.Timeout | undefined;
  private currentState: NodeInfo['state'] = 'serving';
  private downSince: number | undefined;
  private lastNodes = 0;
  /** Heartbeats not settled yet, oldest first (one, unless the backend is slower than the interval). */
  private readonly running = new Set<Beat>();
  /** The latest heartbeat, until it settles. */
  private latest: Beat | undefined;
  /** When the heartbeat whose answer was last applied started (an overrun one answering late must not undo a newer one). */
  private appliedStartedAt = -Infinity;
  /** Heartbeats overran their interval since this (warned once), until one is on time again. */
  private late: { since: number; overran: number } | undefined;
  /** The last load read, carried by heartbeats while a reading is late. */
  private lastLoad: NodeLoad = NO_LOAD;
  /** The load reading in flight, if any: never more than one. */
  private reading: Promise<void> | undefined;
  private readingLate = false;
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

  /**
   * Takes no new rooms from now on (placement skips draining nodes); its rooms stay. A heartbeat
   * carrying 'draining' is sent at once (not the one in flight, which may carry 'serving'), waited
   * for one interval at most: should the backend not answer, the next ones carry it too.
   */
  async drain(): Promise<void> {
    this.currentState = 'draining';
    await within(this.beat({ now: true }), this.options.heartbeatMs);
  }

  private async record(beat?: Beat): Promise<NodeInfo> {
    return { ...this.options.node, url: this.url, state: this.currentState, load: await this.load(beat), updatedAt: Date.now() };
  }

  /**
   * This node's load for a heartbeat: a fresh reading when it comes within half an interval, else
   * the last one read. A late reading is not started again until it settles (an SFU worker that
   * does not answer its `stats` request is not sent one more per heartbeat).
   */
  private async load(beat?: Beat): Promise<NodeLoad> {
    if (beat) beat.step = 'read this node’s load';
    this.reading ??= this.options.load().then(
      (load) => {
        this.lastLoad = load;
        this.readingLate = false;
      },
      // The last load stays (the reader of start-cluster.ts does not fail; another might).
      (error: unknown) => this.options.logger.warn('could not read this node’s load: heartbeats carry the last one', { error }),
    ).finally(() => (this.reading = undefined));
    if (!(await within(this.reading, this.options.heartbeatMs / 2)) && !this.readingLate) {
      this.readingLate = true;
      // Expected while a media node's SFU workers start (the first reading waits for them).
      this.options.logger.info('this node’s load reading is late: heartbeats carry the last one until it comes', { waitedMs: Math.round(this.options.heartbeatMs / 2) });
    }
    return this.lastLoad;
  }

  /**
   * Starts a heartbeat, unless the latest one started less than half an interval ago (`now`: a
   * state change to send at once). One still running when the next is due goes on in the
   * background, and the next is sent beside it: nothing a heartbeat waits for holds the later ones.
   */
  private beat(options: { now?: boolean } = {}): Promise<void> {
    const now = performance.now();
    const [oldest] = this.running;
    if (oldest && !oldest.overran && now - oldest.startedAt >= OVERRUN_INTERVALS * this.options.heartbeatMs) this.overran(oldest, now - oldest.startedAt);
    const latest = this.latest;
    if (latest && !options.now && now - latest.startedAt < this.options.heartbeatMs / 2) return latest.done;
    if (this.running.size >= MAX_RUNNING_HEARTBEATS) {
      this.unreachable(new ClusterError('BACKEND_UNAVAILABLE', `${this.running.size} heartbeats are still waiting for the cluster backend`));
      return Promise.resolve();
    }
    const beat: Beat = { startedAt: now, step: 'start', done: Promise.resolve() };
    this.running.add(beat);
    this.latest = beat;
    beat.done = this.heartbeat(beat).finally(() => {
      this.running.delete(beat);
      if (this.latest === beat) this.latest = undefined;
      this.onTime(beat);
    });
    return beat.done;
  }

  /** A heartbeat overran (OVERRUN_INTERVALS): warned once until heartbeats are on time again. */
  private overran(beat: Beat, runningMs: number): void {
    beat.overran = true;
    if (this.late) {
      this.late.overran += 1;
      return;
    }
    this.late = { since: Date.now(), overran: 1 };
    this.options.logger.warn('a cluster heartbeat overran its interval: the next ones are sent without waiting for it', {
      waitingFor: beat.step,
      runningMs: Math.round(runningMs),
      heartbeatMs: this.options.heartbeatMs,
    });
  }

  private onTime(beat: Beat): void {
    if (!this.late || performance.now() - beat.startedAt >= OVERRUN_INTERVALS * this.options.heartbeatMs) return;
    this.options.logger.info('cluster heartbeats on time again', { lateForMs: Date.now() - this.late.since, overran: this.late.overran });
    this.late = undefined;
  }

  private unreachable(error: unknown): void {
    if (this.downSince !== undefined) return;
    this.downSince = Date.now();
    this.options.logger.warn('cluster backend unreachable: this node keeps its rooms, other nodes will see it expire', { error });
  }

  private async heartbeat(beat: Beat): Promise<void> {
    try {
      const record = await this.record(beat);
      beat.step = 'register this node';
      await this.options.backend.heartbeat(record);
      beat.step = 'list nodes';
      const nodes = (await this.options.backend.nodes()).length;
      // Heartbeats may overlap (one overran): the newest answer counts.
      if (beat.startedAt < this.appliedStartedAt) return;
      this.appliedStartedAt = beat.startedAt;
      this.lastNodes = nodes;
      if (this.downSince !== undefined) {
        beat.step = 'claim this node’s rooms';
        // Redis may have come back empty: the rooms that live here must stay here.
        const rooms = this.options.localRooms();
        await this.options.backend.claimRooms(
          rooms.map((room) => room.name),
          this.options.node.id,
        );
        // Their topologies too, or a node that takes one over should this one die later would start it afresh.
        await Promise.all(rooms.map((room) => this.options.backend.recordTopology(room.name, this.options.node.id, room.topology)));
        if (this.downSince === undefined) return;
        this.options.logger.info('cluster backend reachable again', { awayMs: Date.now() - this.downSince, nodes: this.lastNodes });
        this.downSince = undefined;
      }
    } catch (error) {
      this.unreachable(error);
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
   *
   * Only the life of the node that was suspected is removed (`startedAt`, from the record the
   * caller was given): the node may have been restarted on its address (same id) between the
   * refused connection and the removal, and the live node's record and rooms must stay.
   */
  async suspect(node: { id: string; url: string; startedAt?: number }): Promise<boolean> {
    if (node.id === this.options.node.id) return false;
    const refused = await fetch(`${node.url}/healthz`, { signal: AbortSignal.timeout(1000) }).then(
      () => false,
      (error: unknown) => (error as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED',
    );
    if (!refused) return false;
    this.options.logger.warn('a node refuses connections: removed from the cluster before its TTL', { node: node.id });
    return this.options.backend.deregister(node.id, node.startedAt === undefined ? {} : { startedAt: node.startedAt }).then(
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
    // The heartbeat in flight, one interval at most (a backend that does not answer must not hold
    // the shutdown; should that heartbeat land after the removal, its record expires by its TTL).
    if (this.latest) await within(this.latest.done, this.options.heartbeatMs);
    // Redis away at shutdown: the record expires by itself after its TTL.
    await this.options.backend.deregister(this.options.node.id).catch(() => undefined);
    await this.options.backend.close();
  }
}

/** Whether `promise` settled within `ms` (it goes on either way; its rejection is left to its owner). */
function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.then(
      () => true,
      () => true,
    ),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
  ]).finally(() => clearTimeout(timer));
}
