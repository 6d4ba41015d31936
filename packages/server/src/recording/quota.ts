/** Why an upload may not grow: a clear 4xx for the client. */
export type QuotaRefusal = { code: 'USER_QUOTA_EXCEEDED' | 'SERVER_QUOTA_EXCEEDED'; message: string };

export interface QuotaLimits {
  bytesPerUser: number;
  bytesPerServer: number;
}

/**
 * Bytes kept on the server, per identity and in total: recordings' files and uploads in progress
 * (each an item with an owner and a size), plus bytes reserved by requests in flight, so two
 * concurrent PATCHes cannot both pass the check and together exceed it. Pure bookkeeping: the
 * recording service feeds it sizes from disk.
 */
export class QuotaLedger {
  private readonly items = new Map<string, { owner: string; bytes: number }>();
  private readonly reserved = new Map<number, { owner: string; bytes: number }>();
  private nextReservation = 1;

  constructor(private readonly limits: QuotaLimits) {}

  /** Sets an item's size (an upload's offset, a recording's total bytes). */
  set(itemId: string, owner: string, bytes: number): void {
    this.items.set(itemId, { owner, bytes });
  }

  delete(itemId: string): void {
    this.items.delete(itemId);
  }

  used(owner?: string): number {
    let total = 0;
    for (const entry of [...this.items.values(), ...this.reserved.values()]) if (owner === undefined || entry.owner === owner) total += entry.bytes;
    return total;
  }

  /**
   * Reserves `bytes` more for `owner` when both limits allow it; answers a release function (call
   * it once the request is over and the item's size was `set`), or the refusal.
   */
  reserve(owner: string, bytes: number): { ok: true; release: () => void } | ({ ok: false } & QuotaRefusal) {
    const user = this.used(owner);
    if (user + bytes > this.limits.bytesPerUser) {
      return { ok: false, code: 'USER_QUOTA_EXCEEDED', message: `recording quota exceeded: ${owner} keeps ${user} of ${this.limits.bytesPerUser} bytes, this request adds ${bytes}` };
    }
    const server = this.used();
    if (server + bytes > this.limits.bytesPerServer) {
      return { ok: false, code: 'SERVER_QUOTA_EXCEEDED', message: `the server's recording storage is full (${server} of ${this.limits.bytesPerServer} bytes): delete recordings first` };
    }
    const id = this.nextReservation++;
    this.reserved.set(id, { owner, bytes });
    return { ok: true, release: () => void this.reserved.delete(id) };
  }
}
