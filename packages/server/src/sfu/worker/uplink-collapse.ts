/**
 * Whether a publisher's uplink has collapsed: far more sent than it carries, so most of every
 * layer is lost on the way to the SFU. Measured under `bench:quality`'s uplink step (2 Mbit/s to
 * 300 kbit/s): the publisher kept sending all three simulcast layers (~2.5 Mbit/s) for ~2 s until
 * its congestion control caught up, the subscriber's top layer arrived in pieces, and the picture
 * froze for up to 2 s. In a direct call the same browser lowers one encoder's rate; through the SFU
 * only the SFU can see at once that the upper layers are lost anyway. So on a collapse the track's
 * subscribers drop to the lowest layer, whose keyframe is the smallest to get through, and the
 * SFU stops asking for the upper layers' lost packets (PublishedTrack). Judged by loss alone
 * (~500 ms after the drop), that still left the lowest layer's keyframe ~1 s behind what the
 * publisher had queued by then (resends first, and keyframes of every layer); telling it then to
 * send less (REMB) or to pause the upper layers (dynacast) did not shorten that.
 *
 * A collapse is also seen before any loss shows, from the queue it builds: the first packets sent
 * into the narrower link wait in its queue (300 ms under `bench:quality`), so loss reaches the SFU
 * only ~450-550 ms after the drop. Queueing delay alone cannot tell a falling link from a 720p
 * keyframe on a healthy one (that builds ~200 ms too), but the arrival rate can: a keyframe comes
 * in at the link's full rate, a fallen link delivers a fraction of what came before. So a queue
 * of QUEUE_COLLAPSE_MS or more, held over QUEUE_HELD_MS of arrivals, while the last 200 ms
 * brought under 40 % of the rate before, counts as a collapse (~150 ms after the drop: 162 ms in
 * the unit test's 2 Mbit/s to 300 kbit/s fall). Then the publisher is told at once (REMB, rateCap)
 * to send less than the link carried: its encoder turns the upper layers off at its next frame,
 * and the lowest layer's keyframe, asked for one tick later, is the only one it makes (Chromium's
 * VP8 simulcast encodes a keyframe on every layer it sends for a request on any one).
 *
 * Loss is counted from gaps in the sequence numbers of every layer (first transmissions; resends
 * arrive late and do not count), over the last WINDOW_MS. A collapse is held at least HOLD_MS
 * after the last lossy stretch; a collapse soon after the previous one holds twice as long (up to
 * MAX_HOLD_MS), so a link that cannot carry the upper layers is not offered them every few seconds.
 */
import { lossBeyondRandom } from '../rtp/loss-beyond-random.js';

const WINDOW_MS = 500;
const MAX_ADVANCE = 256;
const BUCKET_MS = 100;
/**
 * A link sent 8x its rate loses far more than this; random loss (7 % in `lossy`) reaches it over
 * few packets, so the count must also be beyond random loss (`rtp/loss-beyond-random.ts`).
 */
const COLLAPSE_LOSS = 0.3;
/** Below this the window counts as clean again. */
const CLEAN_LOSS = 0.05;
/** A window needs this many packets to judge (a 180p layer alone sends ~10 in 500 ms). */
const MIN_PACKETS = 20;
const HOLD_MS = 3_000;
const MAX_HOLD_MS = 24_000;
/** A collapse this long after the previous one ended starts over at HOLD_MS. */
const FORGET_AFTER_MS = 30_000;
/** Queueing delay (arrival against capture time, above its 2 s minimum) that, with the rate fall, is a collapse. */
const QUEUE_COLLAPSE_MS = 80;
/**
 * The queue must have held QUEUE_COLLAPSE_MS over this much arrival time. A link (or an SFU worker's
 * event loop) that stalls and then delivers its backlog at once queues the backlog too, and its
 * first packets arrive after a quiet 200 ms, but the whole backlog comes within a few ms (a 300 ms
 * stall at 2 Mbit/s: ~12 ms at 50 Mbit/s); a fallen link keeps its queue while it trickles. Judged
 * without this, stalls of 120 ms and more counted as collapses (unit test).
 */
const QUEUE_HELD_MS = 40;
/** Arrivals in the last RECENT_MS under this share of the rate over the second before. */
const RATE_FALL_SHARE = 0.4;
/** Below this rate before, a fall is left to the loss check (a publisher this slow has little queued to lose). */
const MIN_RATE_BEFORE_BPS = 600_000;
/** A stall of the publisher (no packets, then a burst) is not a falling link: it needs this many arrivals. */
const MIN_RECENT_ARRIVALS = 4;
const ARRIVAL_BIN_MS = 50;
const ARRIVAL_HISTORY_MS = 1_500;
const DELAY_BIN_MS = 500;
const DELAY_BINS = 4;
/** losingMost's and the carried rate's window. */
const RECENT_MS = 200;
/** Fewer packets than this in RECENT_MS tell nothing (and random loss passes 30 % of 10 in 2.8 % of windows: lossBeyondRandom). */
const MIN_RECENT_PACKETS = 10;
/** The share of what the collapsed link carried that the publisher is told to send (rateCap). */
const RATE_CAP_SHARE = 0.75;
/** Chromium's own floor for its estimate is 30 kbit/s; the lowest simulcast layer needs ~50. */
const MIN_RATE_CAP_BPS = 50_000;
/**
 * After the collapse, the cap rises by this factor a second (to the ceiling in ~8 s from 160 kbit/s)
 * rather than at once: while capped, the publisher's own estimate never saw the narrower link (the
 * cap came before its loss), and lifted at once it went straight back to ~2 Mbit/s, turned its
 * upper layers on into the 300 kbit/s link and collapsed it again. Rising, it meets the link's
 * limit within ~2 s, where its congestion control learns it.
 */
const RATE_CAP_RISE_PER_S = 1.5;

interface Bucket {
  start: number;
  expected: number;
  lost: number;
}

interface LayerDelay {
  lastTimestamp: number;
  /** RTP timestamp since the first packet, unwrapped. */
  elapsed: number;
  /** Minimum (arrival - capture) per DELAY_BIN_MS: the delay with no queue. */
  minimums: Array<{ start: number; min: number }>;
}

export class UplinkCollapse {
  private readonly buckets: Bucket[] = [];
  private isCollapsed = false;
  private lastLossyAt = -Infinity;
  private endedAt = -Infinity;
  private holdMs = HOLD_MS;
  private byQueue = false;
  /** The REMB while collapsed (rateCap); it rises from there after. */
  private capBps = 0;
  private readonly delays = new Map<number, LayerDelay>();
  /** Every packet's arrival (media, resends, padding) in ARRIVAL_BIN_MS bins. */
  private readonly arrivals: Array<{ start: number; bytes: number; packets: number }> = [];
  private queueMs = 0;
  private queueAt = -Infinity;
  /** Arrival of the first packet of the current run of packets queued QUEUE_COLLAPSE_MS or more. */
  private queuedSince: number | undefined;
  /** A packet advanced a layer's highest sequence number by `advance`, `advance - 1` of them lost. */
  onAdvance(advance: number, now = performance.now()): void {
    // A jump this large is an outage or a restarted stream, over by the time it shows, not loss.
    if (advance > MAX_ADVANCE) return;
    let bucket = this.buckets.at(-1);
    if (!bucket || now - bucket.start >= BUCKET_MS) {
      bucket = { start: now, expected: 0, lost: 0 };
      this.buckets.push(bucket);
      while (this.buckets.length > 0 && now - this.buckets[0]!.start >= WINDOW_MS) this.buckets.shift();
    }
    bucket.expected += advance;
    bucket.lost += advance - 1;
  }

  /** Any packet of the publisher's connection arrived (media, resends, padding): what its link carries. */
  onBytes(bytes: number, now = performance.now()): void {
    let bin = this.arrivals.at(-1);
    if (!bin || now - bin.start >= ARRIVAL_BIN_MS) {
      this.arrivals.push((bin = { start: now, bytes: 0, packets: 0 }));
      while (now - this.arrivals[0]!.start >= ARRIVAL_HISTORY_MS) this.arrivals.shift();
    }
    bin.bytes += bytes;
    bin.packets += 1;
  }

  /**
   * A media packet, newest of its layer, arrived: its queueing delay is how much later than usual
   * it arrives for its capture time (RTP timestamp), against the least over the last 2 s.
   */
  onMedia(layer: number, rtpTimestamp: number, clockRate: number, now = performance.now()): void {
    let state = this.delays.get(layer);
    if (!state) this.delays.set(layer, (state = { lastTimestamp: rtpTimestamp, elapsed: 0, minimums: [] }));
    state.elapsed += (rtpTimestamp - state.lastTimestamp) | 0;
    state.lastTimestamp = rtpTimestamp;
    const delay = now - (state.elapsed * 1000) / clockRate;
    let bin = state.minimums.at(-1);
    if (!bin || now - bin.start >= DELAY_BIN_MS) {
      state.minimums.push((bin = { start: now, min: delay }));
      if (state.minimums.length > DELAY_BINS) state.minimums.shift();
    } else if (delay < bin.min) bin.min = delay;
    let least = delay;
    for (const { min } of state.minimums) if (min < least) least = min;
    this.queueMs = delay - least;
    this.queueAt = now;
    if (this.queueMs < QUEUE_COLLAPSE_MS) this.queuedSince = undefined;
    else this.queuedSince ??= now;
  }

  /** Bytes and packets that arrived in the last RECENT_MS, and the rate over the second before. */
  private arrivalRates(now: number): { recentBps: number; recentPackets: number; beforeBps: number | undefined } {
    let recentBytes = 0;
    let recentPackets = 0;
    let beforeBytes = 0;
    let beforeStart = Infinity;
    for (const bin of this.arrivals) {
      if (now - bin.start < RECENT_MS) {
        recentBytes += bin.bytes;
        recentPackets += bin.packets;
      } else {
        beforeBytes += bin.bytes;
        beforeStart = Math.min(beforeStart, bin.start);
      }
    }
    const beforeMs = now - RECENT_MS - beforeStart;
    return { recentBps: (recentBytes * 8000) / RECENT_MS, recentPackets, beforeBps: beforeMs >= 500 ? (beforeBytes * 8000) / beforeMs : undefined };
  }

  /** A queue growing while far less arrives than before: the link fell (see the top of the file). */
  private queueBuilding(now: number): boolean {
    if (now - this.queueAt > 2 * ARRIVAL_BIN_MS || this.queuedSince === undefined || this.queueAt - this.queuedSince < QUEUE_HELD_MS) return false;
    const { recentBps, recentPackets, beforeBps } = this.arrivalRates(now);
    return beforeBps !== undefined && beforeBps >= MIN_RATE_BEFORE_BPS && recentPackets >= MIN_RECENT_ARRIVALS && recentBps < RATE_FALL_SHARE * beforeBps;
  }

  /** Re-evaluates; true while collapsed. */
  update(now = performance.now()): boolean {
    while (this.buckets.length > 0 && now - this.buckets[0]!.start >= WINDOW_MS) this.buckets.shift();
    let expected = 0;
    let lost = 0;
    for (const bucket of this.buckets) {
      expected += bucket.expected;
      lost += bucket.lost;
    }
    const loss = expected >= MIN_PACKETS ? lost / expected : 0;
    if (!this.isCollapsed) {
      const lossy = expected >= MIN_PACKETS && lossBeyondRandom(expected, lost, COLLAPSE_LOSS);
      if (!lossy && !this.queueBuilding(now)) return false;
      this.holdMs = now - this.endedAt < FORGET_AFTER_MS ? Math.min(MAX_HOLD_MS, this.holdMs * 2) : HOLD_MS;
      this.isCollapsed = true;
      this.byQueue = !lossy;
      this.lastLossyAt = now;
      // The link was full over the last RECENT_MS (queued or losing): what arrived is what it carries.
      this.capBps = Math.max(MIN_RATE_CAP_BPS, Math.round(this.arrivalRates(now).recentBps * RATE_CAP_SHARE));
      return true;
    }
    if (loss >= CLEAN_LOSS) this.lastLossyAt = now;
    if (now - this.lastLossyAt < this.holdMs) return true;
    this.isCollapsed = false;
    this.endedAt = now;
    return false;
  }

  get collapsed(): boolean {
    return this.isCollapsed;
  }

  /**
   * Whether this collapse was seen by its queue, before loss: what is being forwarded above the
   * cap still arrives whole for a while (the queue's ~300 ms), so it stays on until the switch.
   */
  get seenBeforeLoss(): boolean {
    return this.isCollapsed && this.byQueue;
  }

  /**
   * The rate the publisher may send (REMB), up to `ceilingBps`: while collapsed, RATE_CAP_SHARE of
   * what its link carried at the onset, so its encoder and pacer fall below the link at once
   * instead of after its own congestion control has seen the loss. Measured once, at the onset:
   * what arrives afterwards is what the capped publisher sends, and measuring again would ratchet
   * the cap down. After the collapse it rises by RATE_CAP_RISE_PER_S back to the ceiling.
   */
  rateCap(ceilingBps: number, now = performance.now()): number {
    if (this.capBps === 0) return ceilingBps;
    if (this.isCollapsed) return Math.min(ceilingBps, this.capBps);
    const risen = this.capBps * RATE_CAP_RISE_PER_S ** ((now - this.endedAt) / 1000);
    if (risen < ceilingBps) return Math.round(risen);
    this.capBps = 0;
    return ceilingBps;
  }

  /**
   * Whether the last RECENT_MS lost most of what was sent: a collapse beginning, seen before
   * `update` can judge a whole window. Asking the publisher to resend into such a link only delays
   * the lowest layer's keyframe: libwebrtc's pacer sends resends ahead of media, up to its whole
   * target rate.
   */
  get losingMost(): boolean {
    const newest = this.buckets.at(-1);
    if (!newest) return false;
    let expected = 0;
    let lost = 0;
    for (let i = this.buckets.length - 1; i >= 0 && newest.start - this.buckets[i]!.start < RECENT_MS; i--) {
      expected += this.buckets[i]!.expected;
      lost += this.buckets[i]!.lost;
    }
    return expected >= MIN_RECENT_PACKETS && lossBeyondRandom(expected, lost, COLLAPSE_LOSS);
  }
}
