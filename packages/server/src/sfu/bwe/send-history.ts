import type { TransportFeedback } from '../rtp/twcc.js';

/** One sent packet as the feedback reports it. Times in milliseconds. */
export interface PacketResult {
  sentAtMs: number;
  size: number;
  /** The probe cluster it belongs to, 0 for none. */
  probe: number;
  /** On the receiver's clock (only differences mean anything); undefined if lost. */
  arrivalMs: number | undefined;
}

const CAPACITY = 4096;
const MASK = CAPACITY - 1;

/**
 * The transport-wide numbering of one subscriber connection: every packet sent on it (media,
 * resends, probes) takes the next sequence, and is remembered until its feedback arrives, so
 * feedback turns into (send time, arrival time, size) for the estimator. 4096 sequences cover
 * ~1.5 s at 2,700 packets/s; feedback comes every 50-100 ms.
 */
export class TransportSendHistory {
  private next = Math.floor(Math.random() * 0x10000);
  private readonly sentAt = new Float64Array(CAPACITY);
  private readonly sizes = new Uint16Array(CAPACITY);
  private readonly probes = new Uint16Array(CAPACITY);
  /** The wire sequence each slot holds, -1 when free. */
  private readonly sequences = new Int32Array(CAPACITY).fill(-1);
  private readonly reported = new Uint8Array(CAPACITY);
  private sent = 0;

  /** Numbers a packet about to be sent; returns its transport-wide sequence. */
  onSent(size: number, nowMs: number, probe = 0): number {
    const sequence = this.next;
    this.next = (this.next + 1) & 0xffff;
    const slot = sequence & MASK;
    this.sentAt[slot] = nowMs;
    this.sizes[slot] = Math.min(size, 0xffff);
    this.probes[slot] = probe;
    this.sequences[slot] = sequence;
    this.reported[slot] = 0;
    this.sent += 1;
    return sequence;
  }

  /** Bits per second sent over the last `windowMs` (as far back as the history reaches). */
  sendRate(nowMs: number, windowMs = 500): number {
    let bytes = 0;
    const held = Math.min(this.sent, CAPACITY);
    for (let i = 1; i <= held; i++) {
      const slot = (this.next - i) & MASK;
      if (nowMs - this.sentAt[slot]! >= windowMs) break;
      bytes += this.sizes[slot]!;
    }
    return (bytes * 8000) / windowMs;
  }

  /**
   * The packets a feedback reports, in sequence (send) order. Each is reported once: a sequence
   * already reported, too old to be held, or never sent is left out.
   */
  results(feedback: TransportFeedback): PacketResult[] {
    const out: PacketResult[] = [];
    feedback.arrivalsUs.forEach((arrivalUs, i) => {
      const sequence = (feedback.baseSequence + i) & 0xffff;
      const slot = sequence & MASK;
      if (this.sequences[slot] !== sequence || this.reported[slot]) return;
      this.reported[slot] = 1;
      out.push({ sentAtMs: this.sentAt[slot]!, size: this.sizes[slot]!, probe: this.probes[slot]!, arrivalMs: arrivalUs === undefined ? undefined : arrivalUs / 1000 });
    });
    return out;
  }
}
