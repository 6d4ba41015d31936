/**
 * Takes packets out of an RTP stream without leaving holes in its sequence numbers. Chromium,
 * with transport-cc and no RTX, pads and probes with padding-only packets on the media SSRC:
 * measured at the SFU under a shaped uplink, 9 of every 10 packets of a camera. Subscribers
 * gain nothing from them and would pay for them on their downlink, but a dropped number looks
 * like loss (a NACK, a lost packet in their stats). So each dropped packet shifts the numbers
 * after it down by one, and a late packet (a resend the SFU asked for) is numbered with the
 * shift in force where it belongs.
 */
import { sequenceDelta } from './rtp.js';

/** How many drops are remembered for late packets: ~1-2 s of a padded camera. */
const REMEMBERED_DROPS = 1024;

export class SequenceCompactor {
  /** Drops so far. */
  private dropped = 0;
  private highest = -1;
  /** Ring of the source sequences at which each remembered drop took effect (the next one). */
  private readonly dropsFrom = new Int32Array(REMEMBERED_DROPS);
  private remembered = 0;
  private next = 0;

  /**
   * A packet to leave out: dropped when it is the newest so far (true), otherwise it has to fill
   * the number it already holds in the output and is kept (false: forward it like any other).
   */
  drop(sequence: number): boolean {
    if (this.highest >= 0 && sequenceDelta(this.highest, sequence) <= 0) return false;
    this.highest = sequence;
    this.dropped += 1;
    this.dropsFrom[this.next] = (sequence + 1) & 0xffff;
    this.next = (this.next + 1) % REMEMBERED_DROPS;
    this.remembered = Math.min(this.remembered + 1, REMEMBERED_DROPS);
    return true;
  }

  /** The output number of a kept packet, or undefined for one too late to place (forget it). */
  map(sequence: number): number | undefined {
    if (this.highest < 0 || sequenceDelta(this.highest, sequence) > 0) {
      this.highest = sequence;
      return (sequence - this.dropped) & 0xffff;
    }
    // A late packet: undo the drops that took effect after it, newest first.
    let shift = this.dropped;
    for (let i = 0; i < this.remembered; i++) {
      const from = this.dropsFrom[(this.next - 1 - i + REMEMBERED_DROPS) % REMEMBERED_DROPS]!;
      if (((from - 1) & 0xffff) === sequence) return undefined; // a copy of a dropped packet
      if (sequenceDelta(from, sequence) >= 0) return (sequence - shift) & 0xffff;
      shift -= 1;
    }
    return this.remembered < REMEMBERED_DROPS ? (sequence - shift) & 0xffff : undefined;
  }
}
