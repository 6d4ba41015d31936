import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import { forkTs } from '../process/forked.js';
import type { Logger } from '../logger.js';
import type { RoomOp, RoomRequest, RoomRequestOf, SfuEvents, SfuService } from './sfu-service.js';
import type { EngineOptions } from './worker/engine.js';
import type { WorkerMessageOut, WorkerRequest, WorkerResults, WorkerStats } from './worker-protocol.js';
import { SfuWorkerError } from './sfu-worker-error.js';
import { rememberIceCredentials } from './ice-credentials.js';

const WORKER_ENTRY = fileURLToPath(new URL('./worker/main.ts', import.meta.url));
const READY_TIMEOUT_MS = 20_000;
const RESTART_DELAY_MS = 500;

export interface WorkerPoolOptions {
  workers: number;
  bindAddress: string | undefined;
  /** First UDP port; worker i listens on udpPort + i. */
  udpPort: number | undefined;
  portRange: { min: number; max: number } | undefined;
  announcedAddress: string | undefined;
  /** A request unanswered this long fails with SfuWorkerError TIMEOUT (config `sfu.requestTimeoutMs`). */
  requestTimeoutMs: number;
  logger: Logger;
  /** This node's id, on the workers' own log lines. */
  nodeId?: string;
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/** One SFU worker process and its request/response channel. */
class WorkerHandle {
  readonly rooms = new Set<string>();
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  readonly ready: Promise<void>;

  constructor(
    readonly index: number,
    readonly child: ChildProcess,
    private readonly requestTimeoutMs: number,
    onEvent: (message: WorkerMessageOut) => void,
  ) {
    this.ready = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`SFU worker ${index} did not start`)), READY_TIMEOUT_MS);
      child.on('message', (message: WorkerMessageOut) => {
        if ('event' in message && message.event === 'ready') {
          clearTimeout(timer);
          resolve();
        }
        // The SFU's ICE credentials, for the built-in TURN (turn/ice-check-repair.ts).
        const sdp = 'replyTo' in message && message.ok ? (message.result as { sdp?: unknown } | null | undefined)?.sdp : undefined;
        if (typeof sdp === 'string') rememberIceCredentials(sdp);
        else if ('event' in message && message.event === 'offer') rememberIceCredentials(message.sdp);
        if ('replyTo' in message) this.settle(message);
        else onEvent(message);
      });
      child.once('exit', () => {
        clearTimeout(timer);
        reject(new Error(`SFU worker ${index} exited`));
      });
    });
    this.ready.catch(() => undefined);
  }

  request<Op extends WorkerRequest['op']>(request: Extract<WorkerRequest, { op: Op }>): Promise<WorkerResults[Op]> {
    if (!this.child.connected) return Promise.reject(new SfuWorkerError('NOT_RUNNING', 'the SFU worker is not running'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new SfuWorkerError('TIMEOUT', `the SFU worker did not answer ${request.op} within ${this.requestTimeoutMs} ms`));
      }, this.requestTimeoutMs);
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject, timer });
      // A worker killed a moment ago still reads as connected; the write then fails (EPIPE) and
      // the request fails with it, at once rather than at its timeout.
      this.child.send({ id, request }, (error) => {
        if (!error || !this.pending.delete(id)) return;
        clearTimeout(timer);
        reject(new SfuWorkerError('NOT_RUNNING', 'the SFU worker is not running', { cause: error }));
      });
    });
  }

  failAll(error: Error): void {
    for (const pending of this.pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(error);
    }
    this.pending.clear();
  }

  private settle(message: Extract<WorkerMessageOut, { replyTo: number }>): void {
    const pending = this.pending.get(message.replyTo);
    if (!pending) return;
    clearTimeout(pending.timer);
    this.pending.delete(message.replyTo);
    if (message.ok) pending.resolve(message.result ?? undefined);
    else pending.reject(new SfuWorkerError('REJECTED', message.error));
  }
}

/**
 * SFU worker processes, one per core by default, like mediasoup's workers. A room lives on one
 * worker (the least loaded when it starts); a worker that dies is restarted and its rooms are
 * reported lost so their participants reconnect their media.
 */
export class WorkerPool implements SfuService {
  private readonly workers: (WorkerHandle | undefined)[] = [];
  private readonly roomWorker = new Map<string, WorkerHandle>();
  private readonly events = new EventEmitter();
  private closing = false;

  private constructor(private readonly options: WorkerPoolOptions) {}

  static async start(options: WorkerPoolOptions): Promise<WorkerPool> {
    const pool = new WorkerPool(options);
    await Promise.all(Array.from({ length: options.workers }, (_, index) => pool.spawn(index).ready));
    return pool;
  }

  on<E extends keyof SfuEvents>(event: E, listener: SfuEvents[E]): void {
    this.events.on(event, listener);
  }

  async request<Op extends RoomOp>(request: RoomRequestOf<Op>): Promise<WorkerResults[Op]> {
    const typed = request as RoomRequest;
    if (typed.op === 'join') {
      const worker = this.workerFor(typed.room);
      await worker.ready;
      return worker.request(request);
    }
    const worker = this.roomWorker.get(typed.room);
    // No media for the room (never joined, or its worker is gone): leaving and asking are no-ops.
    if (typed.op === 'leave') return (worker ? await worker.request(request).catch(() => undefined) : undefined) as WorkerResults[Op];
    if (typed.op === 'stopMix') return (worker ? await worker.request(request).catch(() => undefined) : undefined) as WorkerResults[Op];
    if (typed.op === 'timeline') return (worker ? await worker.request(request) : []) as WorkerResults[Op];
    if (typed.op === 'stopRecording') return (worker ? await worker.request(request).catch(() => ({ sentBytes: 0, droppedBytes: 0 })) : { sentBytes: 0, droppedBytes: 0 }) as WorkerResults[Op];
    return this.placed(typed.room).request(request);
  }

  /** Forgets the room's placement once signaling has no one left in it. */
  releaseRoom(room: string): void {
    const worker = this.roomWorker.get(room);
    worker?.rooms.delete(room);
    this.roomWorker.delete(room);
  }

  async stats(room?: string): Promise<WorkerStats[]> {
    return Promise.all(this.workers.filter((w): w is WorkerHandle => w !== undefined).map((w) => w.request({ op: 'stats', ...(room === undefined ? {} : { room }) })));
  }

  /** Worker process ids, for CPU accounting in benchmarks. */
  get pids(): number[] {
    return this.workers.flatMap((w) => (w?.child.pid === undefined ? [] : [w.child.pid]));
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(
      this.workers.map(
        (worker) =>
          new Promise<void>((resolve) => {
            if (!worker || worker.child.exitCode !== null) return resolve();
            const timer = setTimeout(() => worker.child.kill('SIGKILL'), 3000);
            worker.child.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            worker.child.kill('SIGTERM');
          }),
      ),
    );
  }

  private placed(room: string): WorkerHandle {
    const worker = this.roomWorker.get(room);
    if (!worker) throw new Error(`room ${room} has no media`);
    return worker;
  }

  private workerFor(room: string): WorkerHandle {
    const placed = this.roomWorker.get(room);
    if (placed) return placed;
    const live = this.workers.filter((w): w is WorkerHandle => w !== undefined);
    const worker = live.reduce((best, w) => (w.rooms.size < best.rooms.size ? w : best), live[0]!);
    worker.rooms.add(room);
    this.roomWorker.set(room, worker);
    return worker;
  }

  private spawn(index: number): WorkerHandle {
    const { udpPort, portRange, bindAddress, announcedAddress, logger } = this.options;
    const engine: EngineOptions = { bindAddress, udpPort: udpPort === undefined ? undefined : udpPort + index, portRange, announcedAddress };
    const child = forkTs(WORKER_ENTRY, { PARLEY_SFU_WORKER: JSON.stringify(engine), PARLEY_SFU_WORKER_INDEX: String(index), ...(this.options.nodeId ? { PARLEY_NODE_ID: this.options.nodeId } : {}) });
    const handle = new WorkerHandle(index, child, this.options.requestTimeoutMs, (message) => this.onEvent(message));
    this.workers[index] = handle;
    child.on('exit', (code, signal) => this.onExit(handle, code, signal));
    return handle;
  }

  private onExit(handle: WorkerHandle, code: number | null, signal: NodeJS.Signals | null): void {
    handle.failAll(new SfuWorkerError('EXITED', 'the SFU worker stopped'));
    if (this.closing) return;
    const lost = [...handle.rooms];
    for (const room of lost) this.roomWorker.delete(room);
    this.options.logger.error('SFU worker died; restarting it', { worker: handle.index, code, signal, rooms: lost.length });
    this.workers[handle.index] = undefined;
    setTimeout(() => {
      if (this.closing) return;
      const replacement = this.spawn(handle.index);
      replacement.ready.then(
        () => this.events.emit('roomsLost', lost),
        (error: unknown) => this.options.logger.error('SFU worker failed to restart', { worker: handle.index, error }),
      );
    }, RESTART_DELAY_MS).unref();
  }

  private onEvent(message: WorkerMessageOut): void {
    if (!('event' in message)) return;
    switch (message.event) {
      case 'offer':
        return void this.events.emit('offer', message.room, message.participant, message.sdp, message.tracks, message.offerId);
      case 'delivered':
        return void this.events.emit('delivered', message.room, message.participant, message.trackId, message.subscriber, message.at);
      case 'activeSpeakers':
        return void this.events.emit('activeSpeakers', message.room, message.speakers);
      case 'layersWanted':
        return void this.events.emit('layersWanted', message.room, message.participant, message.trackId, message.rids);
      case 'log':
        return this.options.logger[message.level](message.message, message.fields);
      case 'ready':
        return;
    }
  }
}
