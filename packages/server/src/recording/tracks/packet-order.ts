/**
 * One RTP stream's packets as recorded (arrival order, with resends and reordering) put in
 * sequence order: sequence numbers and timestamps unwrapped past their 16- and 32-bit limits,
 * duplicates dropped, holes reported. Pure.
 */

export interface OrderedPacket {
  /** The sequence number unwrapped: continues past 65535. */
  sequence: number;
  /** The RTP timestamp unwrapped: continues past 2^32. */
  timestamp: number;
  marker: boolean;
  /** The payload (RTP header and padding removed); empty for a padding-only packet. */
  payload: Buffer;
  arrivalMs: number;
  /** Packets are missing right before this one (padding counts as present). */
  afterHole: boolean;
}

export interface SequenceGap {
  /** The last sequence number (unwrapped) before the hole. */
  after: number;
  /** How many packets never arrived. */
  missing: number;
  /** The (unwrapped) RTP timestamp of the packet after the hole. */
  timestamp: number;
}

export interface InputPacket {
  /** The RTP packet (header included). */
  packet: Buffer;
  arrivalMs: number;
}

/** Unwraps a counter of `bits` bits: each value lands next to the previous one, forward or back. */
export class Unwrapper {
  private last: number | undefined;
  private readonly range: number;

  constructor(bits: 16 | 32) {
    this.range = 2 ** bits;
  }

  unwrap(value: number): number {
    if (this.last === undefined) {
      this.last = value;
      return value;
    }
    const half = this.range / 2;
    const base = ((this.last % this.range) + this.range) % this.range;
    let delta = value - base;
    if (delta > half) delta -= this.range;
    else if (delta < -half) delta += this.range;
    const unwrapped = this.last + delta;
    // Follow the newest value only: a late packet must not pull the reference back.
    if (delta > 0) this.last = unwrapped;
    return unwrapped;
  }
}

function payloadBounds(packet: Buffer): { start: number; end: number } | undefined {
  if (packet.length < 12 || packet[0]! >> 6 !== 2) return undefined;
  let start = 12 + (packet[0]! & 0x0f) * 4;
  if (packet[0]! & 0x10) {
    if (packet.length < start + 4) return undefined;
    start += 4 + packet.readUInt16BE(start + 2) * 4;
  }
  const end = packet[0]! & 0x20 ? packet.length - packet[packet.length - 1]! : packet.length;
  return start <= end ? { start, end } : undefined;
}

/**
 * Sorts by unwrapped sequence number, keeps the first copy of each, and lists the holes. Padding
 * packets (recorded as bare headers) take their place in the numbering, so they are no hole, and
 * are left out of `packets`.
 */
export function orderPackets(input: readonly InputPacket[]): { packets: OrderedPacket[]; duplicates: number; gaps: SequenceGap[]; malformed: number } {
  const sequences = new Unwrapper(16);
  const timestamps = new Unwrapper(32);
  const all: OrderedPacket[] = [];
  let malformed = 0;
  for (const { packet, arrivalMs } of input) {
    const bounds = payloadBounds(packet);
    if (!bounds) {
      malformed += 1;
      continue;
    }
    all.push({
      sequence: sequences.unwrap(packet.readUInt16BE(2)),
      timestamp: timestamps.unwrap(packet.readUInt32BE(4)),
      marker: (packet[1]! & 0x80) !== 0,
      payload: packet.subarray(bounds.start, bounds.end),
      arrivalMs,
      afterHole: false,
    });
  }
  all.sort((a, b) => a.sequence - b.sequence || a.arrivalMs - b.arrivalMs);
  const packets: OrderedPacket[] = [];
  const gaps: SequenceGap[] = [];
  let duplicates = 0;
  let previous: number | undefined;
  for (const packet of all) {
    if (previous !== undefined && packet.sequence === previous) {
      duplicates += 1;
      continue;
    }
    if (previous !== undefined && packet.sequence > previous + 1) {
      gaps.push({ after: previous, missing: packet.sequence - previous - 1, timestamp: packet.timestamp });
      packet.afterHole = true;
    }
    previous = packet.sequence;
    if (packet.payload.length > 0) packets.push(packet);
  }
  return { packets, duplicates, gaps, malformed };
}
