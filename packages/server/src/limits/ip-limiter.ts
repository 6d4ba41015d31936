import { TokenBucket } from './token-bucket.js';

export interface IpLimits {
  perMinute: number;
  burst: number;
  /** Concurrent leases per IP; Infinity for rate-only limiting. */
  maxConcurrent: number;
}

/** One admitted connection's hold on its IP's concurrency; `release()` once it ends (again is a no-op). */
export class IpLease {
  readonly ok = true;
  private released = false;

  // A class, not a closure per lease: under tsx every closure carries its own name property
  // (~300 bytes per connection, measured with a heap snapshot).
  constructor(private readonly entry: { active: number }) {}

  release(): void {
    if (this.released) return;
    this.released = true;
    this.entry.active -= 1;
  }
}

export type IpAdmission = IpLease | { ok: false; reason: 'rate' | 'concurrency' };

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
    return new IpLease(entry);
  }

  sweep(): void {
    for (const [ip, entry] of this.entries) if (entry.active === 0 && entry.bucket.isFull()) this.entries.delete(ip);
  }

  get trackedIps(): number {
    return this.entries.size;
  }
}
