import { sequenceDelta } from '../rtp/rtp.js';

/** A jump this large is a restarted or rewound stream, not loss worth asking for. */
const MAX_GAP = 256;
/** Ask again this long after the last request (the worker polls every 200 ms). */
const RETRY_AFTER_MS = 150;
const MAX_REQUESTS = 3;
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
 * NACK): at once when a gap shows, then again a few times while the packet stays missing.
 */
export class UpstreamLosses {
  private readonly missing = new Map<number, Missing>();

  /** A packet arrived after `previousHighest`: the sequence numbers a gap just before it left missing. */
  onPacket(sequence: number, previousHighest: number, now = performance.now()): number[] {
    const delta = sequenceDelta(previousHighest, sequence);
    if (delta <= 0) {
      this.missing.delete(sequence);
      return [];
    }
    if (delta === 1 || delta > MAX_GAP) return [];
    const gap: number[] = [];
    for (let step = 1; step < delta; step++) {
      const lost = (previousHighest + step) & 0xffff;
      this.missing.set(lost, { since: now, askedAt: now, requests: 1 });
      gap.push(lost);
    }
    for (const oldest of this.missing.keys()) {
      if (this.missing.size <= MAX_TRACKED) break;
      this.missing.delete(oldest);
    }
    return gap;
  }

  /** Sequence numbers to ask for again now; forgets those asked often enough or too long ago. */
  due(now = performance.now()): number[] {
    const again: number[] = [];
    for (const [sequence, missing] of this.missing) {
      if (now - missing.askedAt < RETRY_AFTER_MS) continue;
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
}
