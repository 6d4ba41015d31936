/**
 * The share of the packets sent to a subscriber that it asked for (its first NACK of each), over
 * whole windows of a second. Receiver reports cannot tell this: a packet its resend repaired
 * counts as received there.
 */
const WINDOW_MS = 1000;

export class RepairShare {
  private windowStart = -Infinity;
  private sentAtStart = 0;
  private firstRequests = 0;
  /** The last whole window's share, 0-1; 0 until a window has closed. */
  share = 0;

  /** The subscriber asked for a packet it had not asked for before. */
  requested(): void {
    this.firstRequests += 1;
  }

  /** `sent`: the running count of packets sent. Closes the window once it is a second old; returns the share. */
  update(sent: number, now: number): number {
    if (now - this.windowStart < WINDOW_MS) return this.share;
    if (this.windowStart !== -Infinity) {
      const count = sent - this.sentAtStart;
      this.share = count > 0 ? Math.min(1, this.firstRequests / count) : 0;
    }
    this.windowStart = now;
    this.sentAtStart = sent;
    this.firstRequests = 0;
    return this.share;
  }
}
