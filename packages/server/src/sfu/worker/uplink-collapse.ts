/**
 * Whether a publisher's uplink has collapsed: far more sent than it carries, so most of every
 * layer is lost on the way to the SFU. Measured under `bench:quality`'s uplink step (2 Mbit/s to
 * 300 kbit/s): the publisher kept sending all three simulcast layers (~2.5 Mbit/s) for ~2 s until
 * its congestion control caught up, the subscriber's top layer arrived in pieces, and the picture
 * froze for up to 2 s. In a direct call the same browser lowers one encoder's rate; through the SFU
 * only the SFU can see at once that the upper layers are lost anyway. So on a collapse the track's
 * subscribers drop to the lowest layer, whose keyframe is the smallest to get through, and the
 * SFU stops asking for the upper layers' lost packets (PublishedTrack). What the publisher had
 * queued still drains for ~1-2 s (its pacer holds up to 2 s of all three layers); telling it to
 * pause the upper layers (dynacast) did not shorten that and made the recovery after the step
 * ~4 s slower (16.4 s against 12.6-12.9 s), so the publisher's own congestion control decides
 * what it sends.
 *
 * Loss is counted from gaps in the sequence numbers of every layer (first transmissions; resends
 * arrive late and do not count), over the last WINDOW_MS. A collapse is held at least HOLD_MS
 * after the last lossy stretch; a collapse soon after the previous one holds twice as long (up to
 * MAX_HOLD_MS), so a link that cannot carry the upper layers is not offered them every few seconds.
 */
const WINDOW_MS = 500;
const MAX_ADVANCE = 256;
const BUCKET_MS = 100;
/** Random loss (7 % in `lossy`) never reaches this over a window; a link sent 8x its rate does. */
const COLLAPSE_LOSS = 0.3;
/** Below this the window counts as clean again. */
const CLEAN_LOSS = 0.05;
/** A window needs this many packets to judge (a 180p layer alone sends ~10 in 500 ms). */
const MIN_PACKETS = 20;
const HOLD_MS = 3_000;
const MAX_HOLD_MS = 24_000;
/** A collapse this long after the previous one ended starts over at HOLD_MS. */
const FORGET_AFTER_MS = 30_000;
/** losingMost's window. */
const RECENT_MS = 200;
/** 7 % random loss reaches 30 % of 10+ packets in ~1 of 10^3 windows (a skipped request is asked again later). */
const MIN_RECENT_PACKETS = 10;

interface Bucket {
  start: number;
  expected: number;
  lost: number;
}

export class UplinkCollapse {
  private readonly buckets: Bucket[] = [];
  private isCollapsed = false;
  private lastLossyAt = -Infinity;
  private endedAt = -Infinity;
  private holdMs = HOLD_MS;
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
      if (loss < COLLAPSE_LOSS) return false;
      this.holdMs = now - this.endedAt < FORGET_AFTER_MS ? Math.min(MAX_HOLD_MS, this.holdMs * 2) : HOLD_MS;
      this.isCollapsed = true;
      this.lastLossyAt = now;
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
    return expected >= MIN_RECENT_PACKETS && lost >= COLLAPSE_LOSS * expected;
  }
}
