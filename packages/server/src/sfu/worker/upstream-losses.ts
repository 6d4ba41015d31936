import { sequenceDelta } from '../rtp/rtp.js';

/** A jump this large is a restarted or rewound stream, not loss worth asking for. */
const MAX_GAP = 256;
/**
 * Ask again after twice the time a resend has been taking (a NACK's way to the publisher, its
 * pacer, the resend's way back), within these bounds. A resend lost again (7 % of them under
 * `lossy`) that waits 150-350 ms for a fixed retry freezes the subscriber's picture for that long;
 * the receiver in a direct call (libwebrtc's NackRequester) asks again every round trip.
 */
const MIN_RETRY_MS = 30;
const MAX_RETRY_MS = 150;
/** Before any resend was measured: a round trip through a loaded uplink. */
const INITIAL_RESEND_MS = 50;
/** libwebrtc's NackRequester gives up on a packet after 10 requests, too. */
const MAX_REQUESTS = 10;
/** A retransmission later than this arrives after the subscribers gave the packet up. */
const GIVE_UP_AFTER_MS = 1000;
const MAX_TRACKED = 512;

interface Missing {
  readonly since: number;
  askedAt: number;
  requests: number;
}

/**
 * Packets one simulcast layer of a publisher never delivered to the SFU. Subscribers' NACKs can
 * only be answered from what arrived, so the SFU asks the publisher itself (RFC 4585 generic
 * NACK): at once when a gap shows, then again every couple of resend times while the packet stays
 * missing.
 */
export class UpstreamLosses {
  private readonly missing = new Map<number, Missing>();
  /** How long the first request for a packet took to bring it (smoothed), in ms. */
  private resendMs = INITIAL_RESEND_MS;

  /**
   * A packet arrived after `previousHighest`: the sequence numbers a gap just before it left
   * missing, to ask for now. `paddingGap`: what is missing can only be padding (see
   * `PublishedTrack`), which the publisher never stores, so asking for it would be answered by
   * nothing. `ask` false: the caller will not send a request now (nobody receives the layer, or
   * its link is losing most of what it sends); the packets are remembered as never asked for, so
   * the next `due` asks at once and no resend time is measured from a request never made (one
   * withheld 60 ms, counted as a request, was measured as a 60 ms resend and put the next
   * repeats 100 ms apart instead of 50).
   */
  onPacket(sequence: number, previousHighest: number, now = performance.now(), paddingGap = false, ask = true): number[] {
    const delta = sequenceDelta(previousHighest, sequence);
    if (delta <= 0) {
      this.arrivedLate(sequence, now);
      return [];
    }
    if (delta === 1 || delta > MAX_GAP || paddingGap) return [];
    const gap: number[] = [];
    for (let step = 1; step < delta; step++) {
      const lost = (previousHighest + step) & 0xffff;
      this.missing.set(lost, ask ? { since: now, askedAt: now, requests: 1 } : { since: now, askedAt: -Infinity, requests: 0 });
      if (ask) gap.push(lost);
    }
    for (const oldest of this.missing.keys()) {
      if (this.missing.size <= MAX_TRACKED) break;
      this.missing.delete(oldest);
    }
    return gap;
  }

  /** How long after a request the SFU asks again (ms). */
  get retryAfterMs(): number {
    return Math.min(MAX_RETRY_MS, Math.max(MIN_RETRY_MS, 2 * this.resendMs));
  }

  /**
   * When the next packet asked for falls due again (`performance.now()` ms), or undefined. Packets
   * never asked for (withheld) are left to the caller's periodic check, which knows whether they
   * can be asked for now.
   */
  nextDueAt(): number | undefined {
    let earliest: number | undefined;
    for (const missing of this.missing.values()) {
      if (missing.requests === 0) continue;
      if (earliest === undefined || missing.askedAt < earliest) earliest = missing.askedAt;
    }
    return earliest === undefined ? undefined : earliest + this.retryAfterMs;
  }

  /** Sequence numbers to ask for (again) now; forgets those asked often enough or too long ago. Call it only when the requests will be sent. */
  due(now = performance.now()): number[] {
    const again: number[] = [];
    const retryAfter = this.retryAfterMs;
    for (const [sequence, missing] of this.missing) {
      if (missing.askedAt + retryAfter > now) continue; // as nextDueAt computes it
      if (now - missing.since > GIVE_UP_AFTER_MS || missing.requests >= MAX_REQUESTS) {
        this.missing.delete(sequence);
        continue;
      }
      missing.askedAt = now;
      missing.requests += 1;
      again.push(sequence);
    }
    return again;
  }

  private arrivedLate(sequence: number, now: number): void {
    const missing = this.missing.get(sequence);
    if (!missing) return;
    this.missing.delete(sequence);
    // Only an answer to the first request measures the resend time unambiguously.
    if (missing.requests === 1) this.resendMs = 0.8 * this.resendMs + 0.2 * (now - missing.askedAt);
  }
}
