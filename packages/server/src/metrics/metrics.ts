/**
 * The node's Prometheus metrics (prom-client), served at GET /metrics (see `metricsAccess`).
 *
 * Naming follows Prometheus conventions: a `parley_` prefix, base units in the name, `_total` on
 * counters. Cardinality is bounded by construction: labels only take values from closed sets
 * (topologies, the protocol's message types and error codes, the limits Parley enforces), never a
 * room, participant or track id, so the series count is the same for 1 room or 10,000.
 *
 * Gauges of state (rooms, participants) and the SFU workers' counters are read when Prometheus
 * scrapes (collect callbacks): nothing is kept twice, and the workers' figures are summed over
 * the workers into this node's endpoint.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { clientMessageTypes, errorCodes, VideoCodec, type LeaveReason, type Topology } from '@parley/protocol';
import type { RoomRegistry } from '../rooms/room-registry.js';
import type { MediaCoordinator } from '../sfu/media-coordinator.js';
import type { MixersStats } from '../mcu/room-mixers.js';
import type { WorkerStats } from '../sfu/worker-protocol.js';
import type { TurnMetrics } from '../turn/metrics.js';
import { CallQualityMetrics } from './call-quality-metrics.js';
import type { WebhookStats } from '../webhooks/webhook-sender.js';

export const TOPOLOGIES = ['p2p', 'sfu', 'mcu'] as const satisfies readonly Topology[];
const LEAVE_REASONS = ['left', 'disconnected', 'removed', 'replaced'] as const satisfies readonly LeaveReason[];
/** The limits whose refusals are counted (`parley_rate_limit_refusals_total{limit}`). */
export const RATE_LIMITS = ['connection', 'message', 'media_operation', 'quality_report'] as const;
export type RateLimit = (typeof RATE_LIMITS)[number];

/** The kinds and codecs an SFU track can have (`parley_sfu_published_tracks{kind,codec}`). */
const TRACK_CODECS = [['audio', 'opus'], ...VideoCodec.options.map((codec) => ['video', codec] as const)] as const;

/** SFU worker counters exported, and the metric each becomes. */
const SFU_COUNTERS: ReadonlyArray<[Exclude<keyof WorkerStats, 'tracks' | 'eventLoopLagSeconds'>, string, string]> = [
  ['packetsIn', 'parley_sfu_packets_received_total', 'RTP packets received from publishers (media, first transmissions and resends)'],
  ['bytesIn', 'parley_sfu_received_bytes_total', 'RTP bytes received from publishers on their media payload types (headers included)'],
  ['packetsOut', 'parley_sfu_packets_sent_total', 'RTP packets sent to subscribers'],
  ['bytesOut', 'parley_sfu_sent_bytes_total', 'RTP bytes sent to subscribers (headers included)'],
  ['layerSwitches', 'parley_sfu_layer_switches_total', "times a subscriber's forwarded simulcast layer changed (congestion, requested quality, speaker changes)"],
  ['retransmissions', 'parley_sfu_retransmitted_packets_total', "packets resent to subscribers after their NACKs"],
  ['keyframeRequests', 'parley_sfu_keyframe_requests_total', 'keyframe requests (PLI) sent to publishers'],
  ['nacksToPublishers', 'parley_sfu_publisher_nacked_packets_total', 'sequence numbers the SFU asked publishers to resend (loss on their uplink)'],
  ['probePackets', 'parley_sfu_probe_packets_total', "padding packets sent to probe subscribers' downlinks"],
  ['cpuSeconds', 'parley_sfu_worker_cpu_seconds_total', 'CPU seconds (user + system) the SFU worker processes used: rate() over it against the worker count says how busy they are'],
  ['uplinkCollapses', 'parley_sfu_uplink_collapses_total', "times a publisher's uplink lost most of every layer (subscribers moved to the lowest)"],
  ['loopStalls', 'parley_sfu_worker_loop_stalls_total', "stalls of the SFU workers' loops (their 25 ms timer over 50 ms late), whose backlog is left out of publishers' transport-wide feedback"],
];

export interface MetricsSources {
  rooms: RoomRegistry;
  media: MediaCoordinator;
  /** The built-in TURN server's counters and its allocation quota, when it runs on this node. */
  turn?: TurnMetrics | undefined;
  turnAllocationQuota?: number | undefined;
  /** The webhook sender, when webhooks are configured. */
  webhooks?: { stats(): WebhookStats } | undefined;
  /** This node's cluster membership. */
  cluster?: { healthy: boolean; liveNodes: number; backendKind: string } | undefined;
}

/** A counter family whose series are read from someone else's counters at scrape time. */
type ReadCounter = [name: string, help: string, series: Array<[Record<string, string>, () => number]>];

/** How often prom-client samples the event loop's lag (see the constructor). */
export const EVENT_LOOP_SAMPLE_MS = 20;

export class ParleyMetrics {
  readonly registry = new Registry();
  readonly signalingMessages: Counter<'type'>;
  readonly signalingErrors: Counter<'code'>;
  readonly joins: Counter<'kind'>;
  readonly rateLimitRefusals: Counter<'limit'>;
  readonly callQuality: CallQualityMetrics;

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    // The event-loop lag histogram samples the loop every EVENT_LOOP_SAMPLE_MS (a timer that wakes
    // it). prom-client's default, 10 ms, cost an idle server ~6 ms of CPU a second on these VMs (a
    // ~60 us wakeup, 100 a second: 106 ms over 10 s against 29-43 ms at 100 ms); 20 ms halves
    // that, and a p99 (which counts the sampling interval: ~20 ms on an idle loop) still sits
    // well under ParleyEventLoopLag's 100 ms.
    collectDefaultMetrics({ register: this.registry, prefix: 'parley_', eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
    // prom-client's sums of its per-type handle/request/resource gauges end in `_total`, which
    // Prometheus reserves for counters (`promtool check metrics` flags them): the per-type gauges stay.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) this.registry.removeSingleMetric(`parley_${name}`);
    for (const [name, help, field] of [
      ['parley_rooms', 'rooms on this node, by topology', 'rooms'],
      ['parley_participants', 'participants joined on this node, by room topology', 'participants'],
    ] as const) {
      new Gauge({
        name,
        help,
        labelNames: ['topology'],
        registers,
        collect() {
          const counts = sources.rooms.countByTopology();
          for (const topology of TOPOLOGIES) this.set({ topology }, counts[topology]?.[field] ?? 0);
        },
      });
    }
    this.signalingMessages = new Counter({ name: 'parley_signaling_messages_total', help: 'signaling requests received, by type (invalid: not a valid message)', labelNames: ['type'], registers });
    for (const type of [...clientMessageTypes, 'invalid']) this.signalingMessages.inc({ type }, 0);
    this.signalingErrors = new Counter({ name: 'parley_signaling_errors_total', help: 'signaling error replies, by code', labelNames: ['code'], registers });
    for (const code of errorCodes) this.signalingErrors.inc({ code }, 0);
    this.joins = new Counter({ name: 'parley_joins_total', help: 'room joins: new memberships, and resumed ones (a reconnect within the grace period)', labelNames: ['kind'], registers });
    for (const kind of ['new', 'resumed']) this.joins.inc({ kind }, 0);
    this.rateLimitRefusals = new Counter({ name: 'parley_rate_limit_refusals_total', help: 'requests refused by a rate limit, by limit', labelNames: ['limit'], registers });
    for (const limit of RATE_LIMITS) this.rateLimitRefusals.inc({ limit }, 0);
    this.callQuality = new CallQualityMetrics(this.registry);
    const left = new Counter({
      name: 'parley_participants_left_total',
      help: 'participants who left a room, by reason (left; disconnected: their connection dropped and did not resume within the grace period; removed; replaced)',
      labelNames: ['reason'],
      registers,
    });
    for (const reason of LEAVE_REASONS) left.inc({ reason }, 0);
    sources.rooms.onEvent((event) => {
      if (event.event !== 'participant_left') return;
      left.inc({ reason: event.reason });
      if (event.quality) this.callQuality.participantRated(event.quality);
    });

    // One scrape asks the workers once; every SFU family reads that answer.
    let pending: Promise<WorkerStats> | undefined;
    const sfuStats = (): Promise<WorkerStats> => {
      pending ??= sources.media.sfuStats().finally(() => setTimeout(() => (pending = undefined), 0));
      return pending;
    };
    for (const [key, name, help] of SFU_COUNTERS) {
      new Counter({
        name,
        help: `${help} (summed over this node's SFU workers; a restarted worker starts from 0)`,
        registers,
        async collect() {
          this.reset();
          this.inc((await sfuStats())[key]);
        },
      });
    }
    new Gauge({
      name: 'parley_sfu_worker_eventloop_lag_p99_seconds',
      help: "the busiest SFU worker's event-loop delay, p99 over the last 10-20 s: every packet is forwarded from that loop",
      registers,
      async collect() {
        this.set((await sfuStats()).eventLoopLagSeconds);
      },
    });
    for (const [name, help, field] of [
      ['parley_sfu_published_tracks', "tracks published to this node's SFU, by kind and codec", 'published'],
      ['parley_sfu_subscriptions', 'tracks forwarded to subscribers (one per subscriber and track), by kind and codec', 'subscribed'],
    ] as const) {
      new Gauge({
        name,
        help,
        labelNames: ['kind', 'codec'],
        registers,
        async collect() {
          // Every codec Parley forwards has a series, 0 when unused: a closed set, and panels have data.
          for (const [kind, codec] of TRACK_CODECS) this.set({ kind, codec }, 0);
          for (const count of (await sfuStats()).tracks) this.set({ kind: count.kind, codec: count.codec }, count[field]);
        },
      });
    }
    new Counter({
      name: 'parley_sfu_worker_restarts_total',
      help: 'SFU worker processes restarted after they died',
      registers,
      collect() {
        this.reset();
        this.inc(sources.media.workerRestarts);
      },
    });
    this.registerMixers(sources.media.mixers);
    if (sources.turn) this.registerTurn(sources.turn, sources.turnAllocationQuota);
    if (sources.webhooks) this.registerWebhooks(sources.webhooks);
    const cluster = sources.cluster;
    if (cluster) {
      new Gauge({
        name: 'parley_cluster_backend_up',
        help: "1 when the cluster backend (Redis, or memory on a single node) answered this node's last heartbeat, else 0",
        labelNames: ['backend'],
        registers,
        collect() {
          this.set({ backend: cluster.backendKind }, cluster.healthy ? 1 : 0);
        },
      });
      new Gauge({ name: 'parley_cluster_nodes', help: 'live nodes in the cluster as this node last saw them (itself included)', registers, collect() { this.set(cluster.liveNodes); } });
    }
  }

  /** MCU rooms' mixer processes (their counters reach signaling once a second, `RoomMixers.stats`). */
  private registerMixers(mixers: { stats(): MixersStats }): void {
    new Gauge({
      name: 'parley_mcu_shared_mix_listeners',
      help: "MCU listeners who publish no audio and hear their room's shared mix (one Opus encode per room for all of them)",
      registers: [this.registry],
      collect() {
        this.set(mixers.stats().sharedListeners);
      },
    });
    this.registerReadCounters([
      ['parley_mcu_mix_encodes_total', "Opus frames the MCU mixers encoded: per room and 20 ms tick, one per speaker's mix-minus and one for the shared mix", [[{}, () => mixers.stats().encodes]]],
      ['parley_mcu_mixer_ticks_total', "MCU mixers' 20 ms ticks (each one frame of every listener's mix)", [[{}, () => mixers.stats().ticks]]],
      ['parley_mcu_mixer_late_ticks_total', 'MCU mixer ticks that ran more than a frame (20 ms) after their time: the mix eats into its jitter margin (a busy core)', [[{}, () => mixers.stats().lateTicks]]],
      ['parley_mcu_mixer_restarts_total', 'MCU mixer processes running attached again after one died or failed to start', [[{}, () => mixers.stats().restarts]]],
      ['parley_mcu_grid_draws_total', "MCU video grids drawn and handed to their encoder (15 a second per grid; one grid per receiver in the picture, one shared by the others)", [[{}, () => mixers.stats().gridDraws]]],
      [
        'parley_mcu_decoder_starts_total',
        "MCU video decoders handed to a published camera (or to one whose decoder fell silent and was started again), by start (warm: the spare ffmpeg, already started; cold: none was waiting, one started on demand)",
        [[{ start: 'warm' }, () => mixers.stats().warmDecoderStarts], [{ start: 'cold' }, () => mixers.stats().coldDecoderStarts]],
      ],
      ['parley_mcu_spare_decoder_deaths_total', 'spare MCU video decoders (ffmpeg) that exited by themselves while waiting (each is started again, later after each death in a row)', [[{}, () => mixers.stats().spareDecoderDeaths]]],
    ]);
  }

  /** Webhook deliveries (only on a node with webhooks configured). */
  private registerWebhooks(webhooks: { stats(): WebhookStats }): void {
    new Gauge({ name: 'parley_webhook_queued_events', help: 'webhook events waiting to be delivered (summed over the URLs)', registers: [this.registry], collect() { this.set(webhooks.stats().queued); } });
    this.registerReadCounters([
      [
        'parley_webhook_deliveries_total',
        'webhook POSTs, by result (delivered: a 2xx answer; failed: an attempt that failed and was retried or dropped; dropped: an event given up on)',
        [[{ result: 'delivered' }, () => webhooks.stats().delivered], [{ result: 'failed' }, () => webhooks.stats().failedAttempts], [{ result: 'dropped' }, () => webhooks.stats().dropped]],
      ],
    ]);
  }

  /** The built-in TURN server's families (only on a node that runs it). */
  private registerTurn(turn: TurnMetrics, quota: number | undefined): void {
    const registers = [this.registry];
    new Gauge({ name: 'parley_turn_allocations', help: 'TURN allocations open on the built-in server', registers, collect() { this.set(turn.allocationsActive); } });
    if (quota !== undefined) new Gauge({ name: 'parley_turn_allocation_quota', help: 'allocations the built-in TURN server accepts at once (turn.maxAllocations); past it, 508', registers }).set(quota);
    this.registerReadCounters([
      ['parley_turn_allocations_total', 'TURN allocations made', [[{}, () => turn.allocationsTotal]]],
      ['parley_turn_relayed_packets_total', 'packets relayed, by direction', [[{ direction: 'to_peer' }, () => turn.packetsToPeers], [{ direction: 'to_client' }, () => turn.packetsToClients]]],
      ['parley_turn_relayed_bytes_total', 'bytes relayed, by direction', [[{ direction: 'to_peer' }, () => turn.bytesToPeers], [{ direction: 'to_client' }, () => turn.bytesToClients]]],
      ['parley_turn_dropped_packets_total', 'packets not relayed (no permission or channel, over the bandwidth quota, unreachable relay port)', [[{}, () => turn.packetsDropped]]],
      ['parley_turn_refusals_total', 'TURN requests refused, by reason (peer_policy: 403 for a forbidden peer address; auth: wrong, expired or unknown credentials)', [[{ reason: 'peer_policy' }, () => turn.permissionsRefused], [{ reason: 'auth' }, () => turn.authFailures]]],
      ['parley_turn_binding_requests_total', 'STUN binding requests answered', [[{}, () => turn.bindingRequests]]],
    ]);
  }

  private registerReadCounters(counters: ReadCounter[]): void {
    const registers = [this.registry];
    for (const [name, help, series] of counters) {
      new Counter({
        name,
        help,
        labelNames: Object.keys(series[0]![0]),
        registers,
        collect() {
          this.reset();
          for (const [labels, read] of series) this.inc(labels, read());
        },
      });
    }
  }

  /** The exposition text and its content type. */
  async render(): Promise<{ body: string; contentType: string }> {
    return { body: await this.registry.metrics(), contentType: this.registry.contentType };
  }
}
