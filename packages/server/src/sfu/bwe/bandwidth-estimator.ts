import { DelayBasedDetector, type BandwidthUsage } from './delay-based.js';
import type { PacketResult } from './send-history.js';

/**
 * What one subscriber's downlink carries, from transport-wide feedback: GCC's rate control
 * (libwebrtc's aimd_rate_control.cc, loss_based_bandwidth_estimation.cc) on the delay-based
 * detector, reduced to what an SFU forwarding someone else's encoder needs. Times in ms, rates in
 * bits per second.
 *
 * - Overuse (a queue building): down to 85 % of what the receiver actually got, then hold.
 * - Normal: up 8 % per second, but never past 1.5x what gets through plus 10 kbit/s: an SFU
 *   forwarding a 150 kbit/s layer learns nothing about 1.5 Mbit/s from it. Probes (duplicates sent
 *   on purpose, see DownlinkController) are how the estimate climbs past what is being sent.
 * - Loss over 10 % in a window of a second: down by half the loss. 2-10 %: no increase.
 */
export interface BandwidthEstimatorOptions {
  initialBps: number;
  minBps?: number;
  maxBps?: number;
}

const BETA = 0.85;
const INCREASE_PER_SECOND = 1.08;
const ACKED_WINDOW_MS = 500;
/**
 * Loss is judged over a second and 50 packets at least: 7 % random loss measured over 20 packets
 * reads over 10 % a third of the time (measured: 6 needless step-downs in 30 s of `lossy`).
 */
const LOSS_WINDOW_PACKETS = 50;
const LOSS_WINDOW_MS = 1000;
const LOSS_HIGH = 0.1;
const LOSS_LOW = 0.02;

export class BandwidthEstimator {
  private estimate: number;
  private readonly minBps: number;
  private readonly maxBps: number;
  private readonly delay = new DelayBasedDetector();
  private lastUpdate = -1;
  private holding = false;
  /** Received packets by arrival, for the acked rate. */
  private readonly acked: { arrival: number; size: number }[] = [];
  private ackedBytes = 0;
  private lossPackets = 0;
  private lossLost = 0;
  private lossSince = -1;
  private lossFraction = 0;
  private lastDecrease = -Infinity;
  private lastOveruse = -Infinity;

  constructor(options: BandwidthEstimatorOptions) {
    this.minBps = options.minBps ?? 30_000;
    this.maxBps = options.maxBps ?? 20_000_000;
    this.estimate = Math.min(this.maxBps, Math.max(this.minBps, options.initialBps));
  }

  get bps(): number {
    return this.estimate;
  }

  get usage(): BandwidthUsage {
    return this.delay.state;
  }

  /** Bits per second the receiver got over the last half second; undefined before any arrived. */
  get ackedBps(): number | undefined {
    if (this.acked.length < 2) return undefined;
    const span = Math.max(100, this.acked[this.acked.length - 1]!.arrival - this.acked[0]!.arrival);
    // n packets span n - 1 gaps: the first one's bytes arrived before the span began.
    return ((this.ackedBytes - this.acked[0]!.size) * 8000) / span;
  }

  /** When the delay detector last saw a queue building (ms, the sender's clock). */
  get lastOveruseAt(): number {
    return this.lastOveruse;
  }

  get lastDecreaseAt(): number {
    return this.lastDecrease;
  }

  /** One feedback's packets, in send order; `now` on the sender's clock. */
  onFeedback(results: readonly PacketResult[], now: number): void {
    if (results.length === 0) return;
    let overused = false;
    for (const result of results) {
      this.lossPackets += 1;
      if (result.arrivalMs === undefined) {
        this.lossLost += 1;
        continue;
      }
      if (this.delay.onPacket(result.sentAtMs, result.arrivalMs) === 'overusing') overused = true;
      this.addAcked(result.arrivalMs, result.size);
    }
    if (overused) this.lastOveruse = now;
    this.updateLoss(now);
    this.updateRate(overused ? 'overusing' : this.delay.state, now);
  }

  /**
   * A probe that got through without a queue building raises the estimate to what it carried
   * (`bps`: min of its send and receive rates, 95 % of received when the link saturated).
   */
  onProbeResult(bps: number, probeStartedAt: number): void {
    if (this.lastOveruse >= probeStartedAt || this.lossFraction > LOSS_HIGH) return;
    this.estimate = Math.min(this.maxBps, Math.max(this.estimate, bps));
  }

  private addAcked(arrival: number, size: number): void {
    this.acked.push({ arrival, size });
    this.ackedBytes += size;
    while (this.acked.length > 1 && arrival - this.acked[0]!.arrival > ACKED_WINDOW_MS) this.ackedBytes -= this.acked.shift()!.size;
  }

  private updateLoss(now: number): void {
    if (this.lossSince < 0) this.lossSince = now;
    if (this.lossPackets < LOSS_WINDOW_PACKETS || now - this.lossSince < LOSS_WINDOW_MS) return;
    this.lossFraction = this.lossLost / this.lossPackets;
    this.lossPackets = this.lossLost = 0;
    this.lossSince = now;
    if (this.lossFraction > LOSS_HIGH) this.decreaseTo(this.estimate * (1 - 0.5 * this.lossFraction), now);
  }

  private updateRate(usage: BandwidthUsage, now: number): void {
    const elapsed = this.lastUpdate < 0 ? 0 : Math.min(1000, now - this.lastUpdate);
    this.lastUpdate = now;
    if (usage === 'overusing') {
      const acked = this.ackedBps;
      // Once per round of decreases: a queue takes a while to drain after the cut.
      if (now - this.lastDecrease > 200) this.decreaseTo(acked === undefined ? this.estimate * BETA : Math.min(this.estimate, BETA * acked), now);
      this.holding = true;
      return;
    }
    if (usage === 'underusing') {
      this.holding = true;
      return;
    }
    if (this.holding) {
      this.holding = false;
      return;
    }
    if (this.lossFraction >= LOSS_LOW) return;
    const increased = this.estimate * INCREASE_PER_SECOND ** (elapsed / 1000);
    const acked = this.ackedBps;
    const ceiling = acked === undefined ? increased : Math.max(this.estimate, 1.5 * acked + 10_000);
    this.estimate = Math.min(this.maxBps, Math.min(increased, ceiling));
  }

  private decreaseTo(bps: number, now: number): void {
    this.estimate = Math.max(this.minBps, Math.min(this.estimate, bps));
    this.lastDecrease = now;
  }
}
