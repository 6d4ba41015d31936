import { allocate, type Allocation, type AllocationTrack } from '../bwe/allocator.js';
import { BandwidthEstimator } from '../bwe/bandwidth-estimator.js';
import { TransportSendHistory, type PacketResult } from '../bwe/send-history.js';
import { SubscriberExtensionId } from '../rtp/header-extensions.js';
import { headerExtension } from '../rtp/rtp.js';
import type { TransportFeedback } from '../rtp/twcc.js';
import type { Downstream } from './downstream.js';

/** What a downstream asks of its subscriber connection's transport just before sending. */
export interface DownlinkTransport {
  /** Writes the next transport-wide sequence into the packet (at `fieldOffset` if known) and records it as sent at `now` (default: the clock now). */
  stamp(packet: Buffer, fieldOffset?: number, now?: number): void;
  /** Whether a resend of this size fits the connection's resend budget now (and takes it if so). */
  allowResend(bytes: number): boolean;
}

/**
 * Where a subscriber starts: enough for one 640x360 layer and audio, not a 1.5 Mbit/s keyframe
 * burst into a link nobody has measured yet. Probes take it up within a few seconds.
 */
export const INITIAL_BPS = 1_000_000;
const PROBE_DURATION_MS = 300;
/**
 * A probe asks for at most 2x the estimate, as libwebrtc's probes in application-limited
 * stretches do: one for a layer three times the current would push ~1 Mbit/s of padding into a
 * 400 kbit/s link (measured: 35 % loss and a freeze). Steps that succeed follow 500 ms apart, so
 * 300 kbit/s -> 1.7 Mbit/s takes three.
 */
const PROBE_MAX_GROWTH = 2;
const PROBE_TICK_MS = 10;
/** No probe until the link has been calm (no queue building, no loss cut) this long. */
const CALM_BEFORE_PROBE_MS = 2_000;
const PROBE_BACKOFF_MIN_MS = 2_000;
/** After a probe that raised the estimate, the next step up follows this soon. */
const PROBE_SUCCESS_GAP_MS = 500;
/**
 * Failed probes back off to at most this, so a link that recovers is found again soon: with 8 s
 * the SFU took 15 s to get back to the top layer after the step (60 s windows), 4 s leaves the
 * five or so steps up the rest of the 10 s.
 */
const PROBE_BACKOFF_MAX_MS = 4_000;
/** A probe's result waits at most this long for its feedback. */
const PROBE_RESULT_WAIT_MS = 1_000;
/** libwebrtc's probe_bitrate_estimator.cc: a link below 90 % of the send rate saturated; take 95 % of what got through. */
const SATURATED_RATIO = 0.9;
const SATURATED_TARGET = 0.95;
/** Fallback rates for layers not being sent (paused by dynacast): each layer ~3x the one below. */
const NOMINAL_LAYER_BPS = [150_000, 500_000, 1_500_000];
const LAYER_RATIO = 3;
export const NOMINAL_AUDIO_BPS = 40_000;
/** The estimate under this share of the send rate means the link lost capacity (the step from 2 Mbit/s to 300 kbit/s reads ~0.3). */
const OVERLOAD_RATIO = 0.6;
const RESEND_SHARE = 0.5;
const RESEND_BURST_MS = 200;

interface Probe {
  cluster: number;
  startedAt: number;
  endsAt: number;
  /** The estimate the next layer needs. */
  targetBps: number;
  /** Padding rate on top of what is being sent. */
  rateBps: number;
  lastTick: number;
  timer: NodeJS.Timeout | undefined;
  sent: { bytes: number; lastSize: number; first: number; last: number; packets: number };
  received: { bytes: number; firstSize: number; first: number; last: number; packets: number };
}


/**
 * One subscriber's downlink: the transport-wide numbering of everything sent to it, the estimate
 * its feedback gives (BandwidthEstimator), the simulcast layers that estimate allows (allocate),
 * and probes (padding the browser discards, Downstream.addProbeBytes) to find out
 * whether a higher layer would fit before switching to it, since a layer that does not fit
 * freezes the picture until the lower layer's next keyframe. Until the first feedback arrives
 * (a browser without transport-cc), layers follow loss in receiver reports as before.
 */
export class DownlinkController implements DownlinkTransport {
  private readonly history = new TransportSendHistory();
  private readonly estimator = new BandwidthEstimator({ initialBps: INITIAL_BPS });
  private active = false;
  private probe: Probe | undefined;
  private nextCluster = 1;
  private nextProbeAt = 0;
  private backoffMs = PROBE_BACKOFF_MIN_MS;
  private closed = false;
  private resendTokens = 0;
  /** The estimate the layers were last allocated for. */
  private allocatedAt = 0;
  private resendRefilledAt = 0;
  /** An upper bound on the estimate (`setCap`, tests and benchmarks only). */
  private capBps: number | undefined;

  constructor(
    private readonly downstreams: () => readonly Downstream[],
    private readonly priorityOf: (downstream: Downstream) => number,
  ) {}

  /** Holds the estimate the layers are allocated from at most `bps` (undefined lifts it); no probes above it. */
  setCap(bps: number | undefined): void {
    this.capBps = bps;
    if (this.active) this.allocateLayers(performance.now());
  }

  /** What the layers are allocated from: the estimate, under the cap if one is set. */
  private get budgetBps(): number {
    return Math.min(this.estimator.bps, this.capBps ?? Infinity);
  }

  stamp(packet: Buffer, fieldOffset?: number, now = performance.now()): void {
    let offset = fieldOffset;
    if (offset === undefined) {
      const field = headerExtension(packet, SubscriberExtensionId.transportSequence);
      if (field?.length !== 2) return;
      offset = field.byteOffset - packet.byteOffset;
    }
    const probe = this.probe && now < this.probe.endsAt ? this.probe : undefined;
    const sequence = this.history.onSent(packet.length, now, probe?.cluster ?? 0);
    packet.writeUInt16BE(sequence, offset);
    if (probe) this.onProbeSent(probe, packet.length, now);
  }

  /**
   * Resends (answers to NACKs) may take up to half the estimate, as libwebrtc's sender limits its
   * retransmissions: after a drop in capacity the receiver asks for most of what was queued, and
   * answering all of it kept a 300 kbit/s link full with 2.3 Mbit/s of resends for two seconds.
   * Without feedback yet there is no estimate to hold them to.
   */
  allowResend(bytes: number): boolean {
    if (!this.active) return true;
    const now = performance.now();
    const rate = (RESEND_SHARE * this.estimator.bps) / 8000; // bytes per ms
    this.resendTokens = Math.min(rate * RESEND_BURST_MS, this.resendTokens + (now - this.resendRefilledAt) * rate);
    this.resendRefilledAt = now;
    if (this.resendTokens < bytes) return false;
    this.resendTokens -= bytes;
    return true;
  }

  onFeedback(feedback: TransportFeedback): void {
    if (this.closed) return;
    const now = performance.now();
    const results = this.history.results(feedback);
    this.active = true;
    this.estimator.onFeedback(results, now);
    // A fall in the estimate takes effect now, not at the next poll: every 100 ms more at the old
    // layer fills the queue the lower layer's keyframe must then wait behind.
    if (this.budgetBps < this.allocatedAt * 0.8) this.allocateLayers(now);
    const probe = this.probe;
    if (probe) {
      for (const result of results) if (result.probe === probe.cluster) onProbeReceived(probe, result);
      if (this.estimator.lastOveruseAt >= probe.startedAt) this.endProbe(now, false);
      else if (now >= probe.endsAt && (probe.received.packets >= probe.sent.packets * 0.8 || now - probe.endsAt > PROBE_RESULT_WAIT_MS)) this.endProbe(now, true);
    }
  }

  /** Runs with the worker's poll (200 ms): apply the estimate to layers, and probe when it holds a layer back. */
  poll(): void {
    if (!this.active || this.closed) return;
    const now = performance.now();
    const { allocation, downstreams, tracks } = this.allocateLayers(now);
    if (this.probe) {
      if (now - this.probe.endsAt > PROBE_RESULT_WAIT_MS) this.endProbe(now, true);
      return;
    }
    if (allocation.nextStepBps === undefined || now < this.nextProbeAt || this.budgetBps < this.estimator.bps) return;
    const calmSince = Math.max(this.estimator.lastOveruseAt, this.estimator.lastDecreaseAt);
    if (this.estimator.usage !== 'normal' || now - calmSince < CALM_BEFORE_PROBE_MS) return;
    this.startProbe(Math.min(allocation.nextStepBps, PROBE_MAX_GROWTH * this.estimator.bps), now);
  }

  private allocateLayers(now: number): { allocation: Allocation; downstreams: readonly Downstream[]; tracks: AllocationTrack[] } {
    const downstreams = this.downstreams();
    const tracks = downstreams.map((downstream, index) => this.allocationTrack(downstream, index));
    const budget = this.budgetBps;
    const allocation = allocate(budget, tracks);
    this.allocatedAt = budget;
    // Sending well over what the link carries (a drop in capacity): stop the layers being left at once.
    const overloaded = budget < OVERLOAD_RATIO * this.history.sendRate(now);
    downstreams.forEach((downstream, index) => {
      if (downstream.kind !== 'video') return;
      const before = downstream.layers.wanted;
      downstream.layers.setAllocated(allocation.layers.get(String(index)) ?? 0, overloaded);
      if (downstream.layers.wanted !== before) downstream.poll(); // asks for the new layer's keyframe now
    });
    return { allocation, downstreams, tracks };
  }


  close(): void {
    this.closed = true;
    if (this.probe?.timer) clearInterval(this.probe.timer);
    this.probe = undefined;
  }

  private allocationTrack(downstream: Downstream, index: number): AllocationTrack {
    const nominal = downstream.nominalLayerBps;
    // An MCU grid's tiers: rates set by the mixer's encoders, whichever tier is being sent.
    if (nominal) return { id: String(index), kind: downstream.kind, priority: this.priorityOf(downstream), layerBps: nominal, maxLayer: downstream.layers.requestedLayer, currentLayer: downstream.forwardedLayer };
    const layerBps: number[] = [];
    for (let layer = 0; layer < downstream.layerCount; layer++) {
      const measured = downstream.layerBitrate(layer);
      const below = layerBps[layer - 1];
      layerBps.push(measured ?? (downstream.kind === 'audio' ? NOMINAL_AUDIO_BPS : below !== undefined ? below * LAYER_RATIO : NOMINAL_LAYER_BPS[layer]!));
    }
    // A layer that just resumed measures a fraction of its rate while its encoder ramps up: each
    // layer counts at least 3x the one below, as Chromium's simulcast layers run when steady
    // (measured 96/288/865 kbit/s), or the allocator takes a layer for a third of its cost.
    for (let layer = 1; layer < layerBps.length; layer++) layerBps[layer] = Math.max(layerBps[layer]!, LAYER_RATIO * layerBps[layer - 1]!);
    return { id: String(index), kind: downstream.kind, priority: this.priorityOf(downstream), layerBps, maxLayer: downstream.layers.requestedLayer, currentLayer: downstream.forwardedLayer };
  }

  private startProbe(targetBps: number, now: number): void {
    const rateBps = Math.max(0, targetBps - this.history.sendRate(now));
    const source = this.probeSource();
    if (rateBps <= 0 || !source) return;
    const probe: Probe = {
      cluster: this.nextCluster,
      startedAt: now,
      endsAt: now + PROBE_DURATION_MS,
      targetBps,
      rateBps,
      lastTick: now,
      timer: undefined,
      sent: { bytes: 0, lastSize: 0, first: now, last: now, packets: 0 },
      received: { bytes: 0, firstSize: 0, first: Infinity, last: -Infinity, packets: 0 },
    };
    this.nextCluster = (this.nextCluster % 0xfffe) + 1;
    this.probe = probe;
    probe.timer = setInterval(() => this.tick(probe), PROBE_TICK_MS);
  }

  /** Queues the probe's share of padding since the last tick. */
  private tick(probe: Probe): void {
    const now = performance.now();
    if (this.closed || this.probe !== probe || now >= probe.endsAt) {
      if (probe.timer) clearInterval(probe.timer);
      probe.timer = undefined;
      return;
    }
    const bytes = (probe.rateBps / 8) * ((now - probe.lastTick) / 1000);
    probe.lastTick = now;
    this.probeSource()?.addProbeBytes(bytes);
  }

  /** The video being forwarded at the highest layer (the most frames, so the most gaps for padding). */
  private probeSource(): Downstream | undefined {
    let best: Downstream | undefined;
    for (const downstream of this.downstreams()) if (downstream.kind === 'video' && downstream.forwardedLayer >= 0 && (!best || downstream.forwardedLayer > best.forwardedLayer)) best = downstream;
    return best;
  }

  private onProbeSent(probe: Probe, size: number, now: number): void {
    const sent = probe.sent;
    if (sent.packets === 0) sent.first = now;
    sent.packets += 1;
    sent.bytes += size;
    sent.lastSize = size;
    sent.last = now;
  }

  private endProbe(now: number, evaluate: boolean): void {
    const probe = this.probe;
    if (!probe) return;
    if (probe.timer) clearInterval(probe.timer);
    this.probe = undefined;
    for (const downstream of this.downstreams()) downstream.stopProbe();
    const before = this.estimator.bps;
    const result = evaluate ? probeResult(probe) : undefined;
    if (result) this.estimator.onProbeResult(result.bps, probe.startedAt);
    const next = afterProbe({ targetBps: probe.targetBps, beforeBps: before, afterBps: this.estimator.bps, saturated: result?.saturated, backoffMs: this.backoffMs });
    this.nextProbeAt = now + next.delayMs;
    this.backoffMs = next.backoffMs;
  }
}

function onProbeReceived(probe: Probe, result: PacketResult): void {
  if (result.arrivalMs === undefined) return;
  const received = probe.received;
  if (received.packets === 0 || result.arrivalMs < received.first) {
    received.first = result.arrivalMs;
    received.firstSize = result.size;
  }
  received.last = Math.max(received.last, result.arrivalMs);
  received.packets += 1;
  received.bytes += result.size;
}

/**
 * What the probe showed the link carries (`bps`), and whether the link limited it (`saturated`:
 * it arrived slower than it was sent), or undefined when it was too short to tell.
 */
export function probeResult(probe: Pick<Probe, 'sent' | 'received'>): { bps: number; saturated: boolean } | undefined {
  const { sent, received } = probe;
  const sendSpan = sent.last - sent.first;
  const receiveSpan = received.last - received.first;
  if (sent.packets < 5 || received.packets < sent.packets * 0.8 || sendSpan <= 0 || receiveSpan <= 0) return undefined;
  const sendBps = ((sent.bytes - sent.lastSize) * 8000) / sendSpan;
  const receiveBps = ((received.bytes - received.firstSize) * 8000) / receiveSpan;
  const saturated = receiveBps < SATURATED_RATIO * sendBps;
  return { bps: saturated ? SATURATED_TARGET * receiveBps : Math.min(sendBps, receiveBps), saturated };
}

/**
 * When to probe again after a probe ended, and the backoff after that. Soon (500 ms, the backoff
 * reset) when the probe got the estimate where it was aimed, or when the link carried all of it
 * and the estimate rose: a probe rides on the media's packets and sends less than asked when the
 * media is quiet (after a step back up to 2 Mbit/s, 462 kbit/s sent of 504 asked), which says
 * nothing of a limit; backing off then cost 4 s of a 10.7 s recovery (`bench:quality`, downlink
 * step). Later, and longer each time (2 s doubling to 4 s), when the link saturated, the estimate
 * did not rise, or there was no result: the link is near its limit.
 */
export function afterProbe(outcome: { targetBps: number; beforeBps: number; afterBps: number; saturated: boolean | undefined; backoffMs: number }): { delayMs: number; backoffMs: number } {
  const reached = outcome.afterBps >= outcome.targetBps * 0.95;
  const carriedAndRose = outcome.saturated === false && outcome.afterBps > outcome.beforeBps;
  if (reached || carriedAndRose) return { delayMs: PROBE_SUCCESS_GAP_MS, backoffMs: PROBE_BACKOFF_MIN_MS };
  return { delayMs: outcome.backoffMs, backoffMs: Math.min(PROBE_BACKOFF_MAX_MS, outcome.backoffMs * 2) };
}
