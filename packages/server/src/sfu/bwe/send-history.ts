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
/** The history's slots, one typed array per field (17 bytes a slot, 68 KiB in all). */
class Slots {
  readonly sentAt = new Float64Array(CAPACITY);
  readonly sizes = new Uint16Array(CAPACITY);
  readonly probes = new Uint16Array(CAPACITY);
  /** The wire sequence each slot holds, -1 when free. */
  readonly sequences = new Int32Array(CAPACITY).fill(-1);
  readonly reported = new Uint8Array(CAPACITY);
}

export class TransportSendHistory {
  private next = Math.floor(Math.random() * 0x10000);
  /**
   * Allocated with the first packet sent: a subscriber that receives nothing (a participant who
   * only talks over signaling, or one waiting for the first publisher) holds no 68 KiB. In a
   * room of 50 signaling-only participants that was 68 of the 105 KiB per participant
   * (`npm run bench:signaling`).
   */
  private slots: Slots | undefined;
  private sent = 0;

  /** Numbers a packet about to be sent; returns its transport-wide sequence. */
  onSent(size: number, nowMs: number, probe = 0): number {
    const slots = (this.slots ??= new Slots());
    const sequence = this.next;
    this.next = (this.next + 1) & 0xffff;
    const slot = sequence & MASK;
    slots.sentAt[slot] = nowMs;
    slots.sizes[slot] = Math.min(size, 0xffff);
    slots.probes[slot] = probe;
    slots.sequences[slot] = sequence;
    slots.reported[slot] = 0;
    this.sent += 1;
    return sequence;
  }

  /** Bits per second sent over the last `windowMs` (as far back as the history reaches). */
  sendRate(nowMs: number, windowMs = 500): number {
    const slots = this.slots;
    if (!slots) return 0;
    let bytes = 0;
    const held = Math.min(this.sent, CAPACITY);
    for (let i = 1; i <= held; i++) {
      const slot = (this.next - i) & MASK;
      if (nowMs - slots.sentAt[slot]! >= windowMs) break;
      bytes += slots.sizes[slot]!;
    }
    return (bytes * 8000) / windowMs;
  }

  /**
   * The packets a feedback reports, in sequence (send) order. Each is reported once: a sequence
   * already reported, too old to be held, or never sent is left out.
   */
  results(feedback: TransportFeedback): PacketResult[] {
    const out: PacketResult[] = [];
    const slots = this.slots;
    if (!slots) return out;
    feedback.arrivalsUs.forEach((arrivalUs, i) => {
      const sequence = (feedback.baseSequence + i) & 0xffff;
      const slot = sequence & MASK;
      if (slots.sequences[slot] !== sequence || slots.reported[slot]) return;
      slots.reported[slot] = 1;
      out.push({ sentAtMs: slots.sentAt[slot]!, size: slots.sizes[slot]!, probe: slots.probes[slot]!, arrivalMs: arrivalUs === undefined ? undefined : arrivalUs / 1000 });
    });
    return out;
  }
}
