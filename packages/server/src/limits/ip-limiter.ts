import { TokenBucket } from './token-bucket.js';

export interface IpLimits {
  perMinute: number;
  burst: number;
  /** Concurrent leases per IP; Infinity for rate-only limiting. */
  maxConcurrent: number;
}

export type IpAdmission = { ok: true; release: () => void } | { ok: false; reason: 'rate' | 'concurrency' };

/**
 * Per-IP rate and concurrency limits. Entries whose bucket is full and which hold no lease
 * are dropped by `sweep()`, so memory follows the active IPs, not every IP ever seen.
 */
export class IpLimiter {
  private readonly entries = new Map<string, { bucket: TokenBucket; active: number }>();

  constructor(
    private readonly limits: IpLimits,
    private readonly now: () => number = Date.now,
  ) {}

  admit(ip: string): IpAdmission {
    let entry = this.entries.get(ip);
    if (!entry) {
      entry = { bucket: new TokenBucket(this.limits.burst, this.limits.perMinute / 60, this.now), active: 0 };
      this.entries.set(ip, entry);
    }
    if (entry.active >= this.limits.maxConcurrent) return { ok: false, reason: 'concurrency' };
    if (!entry.bucket.take()) return { ok: false, reason: 'rate' };
    entry.active += 1;
    const held = entry;
    let released = false;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        held.active -= 1;
      },
    };
  }

  sweep(): void {
    for (const [ip, entry] of this.entries) if (entry.active === 0 && entry.bucket.isFull()) this.entries.delete(ip);
  }

  get trackedIps(): number {
    return this.entries.size;
  }
}
