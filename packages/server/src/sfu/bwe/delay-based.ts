/**
 * Delay-based overuse detection, as in GCC (draft-ietf-rmcat-gcc-02 and libwebrtc's
 * modules/congestion_controller/goog_cc: inter_arrival_delta.cc, trendline_estimator.cc): packets
 * sent within 5 ms form a group; the change in one-way delay between groups, accumulated and
 * smoothed, is fitted to a line over the last 20 groups; a slope above an adaptive threshold for
 * 10 ms while growing means a queue is building somewhere on the path (overuse), before it
 * overflows and loses packets. Times in milliseconds; constants are libwebrtc's.
 */

export type BandwidthUsage = 'normal' | 'overusing' | 'underusing';

const GROUP_LENGTH_MS = 5;
/** Arrivals this close, with a negative propagation delta, are one burst (libwebrtc kBurstDeltaThresholdMs). */
const BURST_DELTA_MS = 5;
const MAX_BURST_DURATION_MS = 100;
const WINDOW = 20;
const SMOOTHING = 0.9;
const THRESHOLD_GAIN = 4;
const MIN_DELTAS = 60;
const OVERUSE_TIME_MS = 10;
const K_UP = 0.0087;
const K_DOWN = 0.039;
const MAX_ADAPT_OFFSET_MS = 15;

interface Group {
  firstSend: number;
  lastSend: number;
  firstArrival: number;
  lastArrival: number;
}

export class DelayBasedDetector {
  private readonly queue = new QueueDelayDetector();
  private current: Group | undefined;
  private previous: Group | undefined;
  private deltas = 0;
  private firstArrival = -1;
  private accumulated = 0;
  private smoothed = 0;
  private readonly history: { x: number; y: number }[] = [];
  private threshold = 12.5;
  private lastThresholdUpdate = -1;
  private overusingMs = -1;
  private overuseCount = 0;
  private previousTrend = 0;
  private usage: BandwidthUsage = 'normal';

  get state(): BandwidthUsage {
    return this.usage;
  }

  /** One received packet, in send order. Returns the state after it. */
  onPacket(sentAtMs: number, arrivalMs: number): BandwidthUsage {
    const group = this.current;
    if (!group) {
      this.current = { firstSend: sentAtMs, lastSend: sentAtMs, firstArrival: arrivalMs, lastArrival: arrivalMs };
      return this.usage;
    }
    if (sentAtMs < group.firstSend) return this.usage; // reordered across groups: skip, as libwebrtc does
    if (this.belongsTo(group, sentAtMs, arrivalMs)) {
      group.lastSend = Math.max(group.lastSend, sentAtMs);
      group.lastArrival = Math.max(group.lastArrival, arrivalMs);
      return this.usage;
    }
    if (this.previous) {
      const sendDelta = group.lastSend - this.previous.lastSend;
      const arrivalDelta = group.lastArrival - this.previous.lastArrival;
      // A receiver clock that jumped back, or groups that arrived out of order: start over.
      if (arrivalDelta >= 0) this.update(arrivalDelta - sendDelta, sendDelta, group.lastArrival);
    }
    if (this.queue.onGroup(group.lastSend, group.lastArrival)) this.usage = 'overusing';
    this.previous = group;
    this.current = { firstSend: sentAtMs, lastSend: sentAtMs, firstArrival: arrivalMs, lastArrival: arrivalMs };
    return this.usage;
  }

  private belongsTo(group: Group, sentAtMs: number, arrivalMs: number): boolean {
    if (sentAtMs - group.firstSend <= GROUP_LENGTH_MS) return true;
    // A burst: packets that queued up and arrived back to back belong with the group they caught up with.
    const arrivalDelta = arrivalMs - group.lastArrival;
    const propagationDelta = arrivalDelta - (sentAtMs - group.lastSend);
    return propagationDelta < 0 && arrivalDelta <= BURST_DELTA_MS && arrivalMs - group.firstArrival < MAX_BURST_DURATION_MS;
  }

  private update(delayDelta: number, sendDelta: number, arrivalMs: number): void {
    this.deltas = Math.min(this.deltas + 1, 1000);
    if (this.firstArrival < 0) this.firstArrival = arrivalMs;
    this.accumulated += delayDelta;
    this.smoothed = SMOOTHING * this.smoothed + (1 - SMOOTHING) * this.accumulated;
    this.history.push({ x: arrivalMs - this.firstArrival, y: this.smoothed });
    if (this.history.length > WINDOW) this.history.shift();
    const trend = this.history.length === WINDOW ? slope(this.history) ?? this.previousTrend : this.previousTrend;
    this.detect(trend, sendDelta, arrivalMs);
  }

  private detect(trend: number, sendDelta: number, now: number): void {
    if (this.deltas < 2) {
      this.usage = 'normal';
      return;
    }
    const modified = Math.min(this.deltas, MIN_DELTAS) * trend * THRESHOLD_GAIN;
    if (modified > this.threshold) {
      this.overusingMs = this.overusingMs < 0 ? sendDelta / 2 : this.overusingMs + sendDelta;
      this.overuseCount += 1;
      if (this.overusingMs > OVERUSE_TIME_MS && this.overuseCount > 1 && trend >= this.previousTrend) {
        this.overusingMs = 0;
        this.overuseCount = 0;
        this.usage = 'overusing';
      }
    } else if (modified < -this.threshold) {
      this.overusingMs = -1;
      this.overuseCount = 0;
      this.usage = 'underusing';
    } else {
      this.overusingMs = -1;
      this.overuseCount = 0;
      this.usage = 'normal';
    }
    this.previousTrend = trend;
    this.updateThreshold(modified, now);
  }

  /** The threshold follows the trend slowly, so competing TCP flows do not starve the call. */
  private updateThreshold(modified: number, now: number): void {
    if (this.lastThresholdUpdate < 0) this.lastThresholdUpdate = now;
    const magnitude = Math.abs(modified);
    if (magnitude > this.threshold + MAX_ADAPT_OFFSET_MS) {
      this.lastThresholdUpdate = now; // a spike: do not let it drag the threshold up
      return;
    }
    const k = magnitude < this.threshold ? K_DOWN : K_UP;
    const elapsed = Math.min(now - this.lastThresholdUpdate, 100);
    this.threshold = Math.min(600, Math.max(6, this.threshold + k * (magnitude - this.threshold) * elapsed));
    this.lastThresholdUpdate = now;
  }
}

/** Queueing delay over this, rising group after group, is overuse without waiting for the trend. */
const QUEUE_DELAY_OVERUSE_MS = 60;
const RISING_GROUPS = 3;
/** The base one-way delay is the least seen over 5-10 s (two buckets), so clock drift cannot build up. */
const BASE_BUCKET_MS = 5000;

/**
 * A second, faster signal for a sender without a pacer. libwebrtc's trendline sees ~100 groups a
 * second from its paced sender; the SFU forwards each frame as one burst, so ~30 groups a second,
 * and the 20-group trend took 560-610 ms to call overuse after a link fell from 2 Mbit/s to 300
 * kbit/s (the recorded trace in the tests), with the queue already 300 ms deep. Delay above the
 * path's base, rising over three groups in a row, is a queue filling: a keyframe burst is one
 * group and the ones after it drain, so it does not count.
 */
class QueueDelayDetector {
  private base = Infinity;
  private previousBase = Infinity;
  private bucketStart = -Infinity;
  private lastDelay = -Infinity;
  private rising = 0;

  /** True when the group shows a queue filling. */
  onGroup(sendMs: number, arrivalMs: number): boolean {
    const offset = arrivalMs - sendMs;
    if (sendMs - this.bucketStart > BASE_BUCKET_MS) {
      this.previousBase = this.base;
      this.base = Infinity;
      this.bucketStart = sendMs;
    }
    this.base = Math.min(this.base, offset);
    const delay = offset - Math.min(this.base, this.previousBase);
    this.rising = delay > this.lastDelay ? this.rising + 1 : 0;
    this.lastDelay = delay;
    return delay > QUEUE_DELAY_OVERUSE_MS && this.rising >= RISING_GROUPS;
  }
}

/** Least-squares slope of y over x; undefined when every x is the same. */
export function slope(points: readonly { x: number; y: number }[]): number | undefined {
  let sumX = 0;
  let sumY = 0;
  for (const p of points) {
    sumX += p.x;
    sumY += p.y;
  }
  const meanX = sumX / points.length;
  const meanY = sumY / points.length;
  let numerator = 0;
  let denominator = 0;
  for (const p of points) {
    numerator += (p.x - meanX) * (p.y - meanY);
    denominator += (p.x - meanX) ** 2;
  }
  return denominator === 0 ? undefined : numerator / denominator;
}
