/**
 * Entry point of an SFU worker process. Media runs here, in native code that could crash, so a
 * crash never takes signaling down: the parent restarts the worker and its rooms reconnect.
 */
import type { WorkerEvent, WorkerMessageIn, WorkerMessageOut, WorkerRequest, WorkerResults, WorkerStats, TrackCount } from '../worker-protocol.js';
import { createHistogram } from 'node:perf_hooks';
import { MediaEngine, type EngineOptions } from './engine.js';
import { LoopWatch, TICK_MS } from './loop-watch.js';
import { WorkerClock } from './worker-clock.js';
import { logWorkerError } from './worker-log.js';
import { RoomRouter, type Counters } from './room-router.js';
import { SPEAKER_WINDOW_MS } from './active-speakers.js';

const POLL_MS = 200;
const REPORT_MS = 1000;
/**
 * Transport-wide feedback interval. libwebrtc's receiver sends it every 50-250 ms (5 % of the
 * bitrate); 50 ms, its fastest, lets the publisher's GCC see a queue build within a frame or two.
 */
const TRANSPORT_FEEDBACK_MS = 50;

const options = JSON.parse(process.env.PARLEY_SFU_WORKER ?? '{}') as EngineOptions;
const engine = new MediaEngine(options);
const rooms = new Map<string, RoomRouter>();
const counters: Counters = { packetsIn: 0, bytesIn: 0, packetsOut: 0, bytesOut: 0, layerSwitches: 0, retransmissions: 0, keyframeRequests: 0, nacksToPublishers: 0, transportFeedbacks: 0, paddingDropped: 0, subscriberFeedbacks: 0, probePackets: 0, uplinkCollapses: 0, mixedPackets: 0, mixLatencyMsTotal: 0 };

/**
 * The worker's event-loop delay: every packet is forwarded from this loop, so a lagging loop is
 * late media. The clock's tick records each interval (as `monitorEventLoopDelay` does, so an idle
 * loop reads ~TICK_MS, 25 ms) and tells stalls apart for transport-wide feedback (`loop-watch.ts`).
 * p99 over the current and the previous 10 s window, so a scrape never reads an empty window.
 */
const LAG_WINDOW_MS = 10_000;
const eventLoopDelay = createHistogram();
const loop = new LoopWatch(performance.now());
let previousWindowLagP99 = 0;

function send(message: WorkerMessageOut): void {
  if (process.connected) process.send!(message);
}
const emit = (event: WorkerEvent) => send(event);

type Handlers = { [Op in WorkerRequest['op']]: (request: Extract<WorkerRequest, { op: Op }>) => WorkerResults[Op] | Promise<WorkerResults[Op]> };

const handlers: Handlers = {
  join: (request) => {
    const { room, config } = request;
    let router = rooms.get(room);
    if (!router) {
      router = new RoomRouter({ name: room, config, engine, counters, emit, loop });
      rooms.set(room, router);
    }
    router.join(request);
  },
  leave: ({ room, participant }) => {
    const router = rooms.get(room);
    router?.leave(participant);
    if (router?.isEmpty) {
      router.close();
      rooms.delete(room);
    }
  },
  // The request object itself goes to the room's router (see sfu-service.ts).
  publish: (request) => routerOf(request.room).publish(request),
  unpublish: (request) => routerOf(request.room).unpublish(request),
  answer: (request) => routerOf(request.room).answer(request),
  resendOffer: ({ room, participant }) => routerOf(room).resendOffer(participant),
  resubscribe: ({ room, participant }) => routerOf(room).resubscribe(participant),
  setQuality: (request) => routerOf(request.room).setQuality(request),
  capDownlink: (request) => routerOf(request.room).capDownlink(request),
  record: (request) => routerOf(request.room).record(request),
  stopRecording: ({ room, recording }) => rooms.get(room)?.stopRecording(recording) ?? { sentBytes: 0, droppedBytes: 0 },
  mix: (request) => routerOf(request.room).mix(request),
  stopMix: ({ room }) => rooms.get(room)?.stopMix(),
  stats: ({ room }): WorkerStats => {
    const routers = [...rooms.values()].filter((router) => room === undefined || router.name === room);
    let publishedTracks = 0;
    let downstreams = 0;
    const byCodec = new Map<string, TrackCount>();
    for (const router of routers) {
      publishedTracks += router.tracks.size;
      downstreams += router.downstreamCount;
      for (const track of router.tracks.values()) {
        const key = `${track.kind}/${track.codec}`;
        const count = byCodec.get(key) ?? { kind: track.kind, codec: track.codec, published: 0, subscribed: 0 };
        count.published += 1;
        count.subscribed += track.downstreams.size;
        byCodec.set(key, count);
      }
    }
    const cpu = process.cpuUsage();
    return { rooms: routers.length, publishedTracks, downstreams, ...counters, cpuSeconds: (cpu.user + cpu.system) / 1e6, eventLoopLagSeconds: Math.max(previousWindowLagP99, eventLoopDelay.percentile(99)) / 1e9, loopStalls: loop.stalls, tracks: [...byCodec.values()] };
  },
  timeline: ({ room }) =>
    [...(rooms.get(room)?.tracks.values() ?? [])].map((track) => ({ trackId: track.id, publisher: track.publisher, source: track.source, firstPacketAt: track.firstPacketAt })),
};

function routerOf(room: string): RoomRouter {
  const router = rooms.get(room);
  if (!router) throw new Error(`room ${room} has no media on this worker`);
  return router;
}

process.on('message', (message: WorkerMessageIn) => {
  const handler = handlers[message.request.op] as (request: WorkerRequest) => unknown;
  Promise.resolve()
    .then(() => handler(message.request))
    .then(
      (result) => send({ replyTo: message.id, ok: true, result: result ?? null }),
      (error: unknown) => send({ replyTo: message.id, ok: false, error: error instanceof Error ? error.message : String(error) }),
    );
});

// Without its parent the worker has no purpose: leave rather than linger with open sockets.
process.on('disconnect', () => shutdown());
process.on('SIGTERM', () => shutdown());

function shutdown(): void {
  for (const router of rooms.values()) router.close();
  rooms.clear();
  // libdatachannel's cleanup can block on exit with connections open; the process is ending anyway.
  process.exit(0);
}

const clock = new WorkerClock(TICK_MS, [
  {
    name: 'loop lag',
    everyMs: TICK_MS,
    run: () => {
      const late = loop.tick(performance.now());
      eventLoopDelay.record(Math.max(1, Math.round((TICK_MS + late) * 1e6)));
    },
  },
  { name: 'transport-wide feedback', everyMs: TRANSPORT_FEEDBACK_MS, run: () => rooms.forEach((router) => router.fastTick()) },
  { name: 'poll', everyMs: POLL_MS, run: () => rooms.forEach((router) => router.poll()) },
  { name: 'active speakers', everyMs: SPEAKER_WINDOW_MS, run: () => rooms.forEach((router) => router.evaluateSpeakers()) },
  { name: 'reports', everyMs: REPORT_MS, run: () => rooms.forEach((router) => router.report()) },
  {
    name: 'lag window',
    everyMs: LAG_WINDOW_MS,
    run: () => {
      previousWindowLagP99 = eventLoopDelay.percentile(99);
      eventLoopDelay.reset();
    },
  },
]);
setInterval(() => clock.tick(), TICK_MS).unref();

// Held from the start, the worker's port cannot be taken by another process between rooms; if it
// is taken already, connections fail with an error until it is free (engine.ts).
engine.holdPort().catch((error: unknown) => logWorkerError('the SFU worker could not take its UDP port', error));

emit({ event: 'ready' });
