/**
 * Transport-wide congestion control (draft-holmer-rmcat-transport-wide-cc-extensions-01): the
 * transport-wide sequence number header extension, and the RTCP feedback (RTPFB, FMT 15) that
 * tells the sender when each of those packets arrived. The encoder makes libwebrtc's choices
 * (modules/rtp_rtcp/source/rtcp_packet/transport_feedback.cc) so the bytes match what Chromium
 * sends for the same arrivals; the parser reads what libwebrtc's does, except as noted there.
 */
import { RtcpType } from './rtcp.js';
import { headerExtension, sequenceDelta } from './rtp.js';

/** The transport-wide sequence number of an RTP packet, or undefined without a 2-byte extension `id`. */
export function transportSequence(packet: Buffer, extensionId: number): number | undefined {
  const value = headerExtension(packet, extensionId);
  return value?.length === 2 ? value.readUInt16BE(0) : undefined;
}

/** Overwrites the transport-wide sequence number in place; false when the packet has none. */
export function writeTransportSequence(packet: Buffer, extensionId: number, value: number): boolean {
  const field = headerExtension(packet, extensionId);
  if (field?.length !== 2) return false;
  field.writeUInt16BE(value & 0xffff, 0);
  return true;
}

export interface TransportFeedback {
  senderSsrc: number;
  mediaSsrc: number;
  baseSequence: number;
  /** 24 bits, in 64 ms units, read unsigned as libwebrtc does (it wraps every ~12.4 days). */
  referenceTime: number;
  /** 8 bits, one more for each feedback packet sent. */
  feedbackCount: number;
  /**
   * One entry per sequence from baseSequence on (entry i is (baseSequence + i) & 0xffff): its
   * arrival in microseconds, referenceTime * 64000 plus the deltas so far, or undefined if lost.
   */
  arrivalsUs: (number | undefined)[];
}

export interface FeedbackInput {
  senderSsrc: number;
  mediaSsrc: number;
  baseSequence: number;
  /**
   * Arrival (microseconds, any monotonic clock) of each sequence from baseSequence on; undefined
   * or NaN when not received. Trailing losses are left out: like libwebrtc's, a feedback packet
   * ends at a received packet, and the next feedback reports those sequences.
   */
  arrivalsUs: ArrayLike<number | undefined>;
  /** The first packet's feedback count; each further packet takes the next one (mod 256). */
  feedbackCount: number;
  /** Largest packet to build, in bytes (default 1200); the feedback is split to stay under it. */
  maxBytes?: number;
}

const TICK_US = 250;
const REFERENCE_US = 64_000;
const HEADER_BYTES = 20;
const MAX_STATUS_COUNT = 0xffff;
const MAX_RUN = 0x1fff;
const ONE_BIT_CAPACITY = 14;
const TWO_BIT_CAPACITY = 7;

// The chunk being filled, as libwebrtc's LastChunk: symbols 0 = lost, 1 = small delta (1 byte),
// 2 = large or negative delta (2 bytes). Only the first 14 are kept: beyond that the chunk can
// only be a run of one symbol. Module state is fine, building never yields.
const symbols = new Uint8Array(ONE_BIT_CAPACITY);
let size = 0;
let allSame = true;
let hasLarge = false;
const chunks: number[] = [];
const deltas: number[] = [];

function canAdd(symbol: number): boolean {
  if (size < TWO_BIT_CAPACITY) return true;
  if (size < ONE_BIT_CAPACITY && !hasLarge && symbol !== 2) return true;
  return size < MAX_RUN && allSame && symbols[0] === symbol;
}

function add(symbol: number): void {
  if (size < ONE_BIT_CAPACITY) symbols[size] = symbol;
  size += 1;
  allSame &&= symbol === symbols[0];
  hasLarge ||= symbol === 2;
}

function encodeRunLength(): number {
  return (symbols[0]! << 13) | size;
}

function encodeVector(count: number, twoBit: boolean): number {
  let chunk = twoBit ? 0xc000 : 0x8000;
  for (let i = 0; i < count; i++) chunk |= symbols[i]! << (twoBit ? 2 * (TWO_BIT_CAPACITY - 1 - i) : ONE_BIT_CAPACITY - 1 - i);
  return chunk;
}

function resetChunk(): void {
  size = 0;
  allSame = true;
  hasLarge = false;
}

/** Closes the full chunk. A 2-bit vector holds only 7 symbols: the rest stay in the chunk. */
function emit(): void {
  const twoBit = !allSame && size !== ONE_BIT_CAPACITY;
  chunks.push(allSame ? encodeRunLength() : encodeVector(twoBit ? TWO_BIT_CAPACITY : size, twoBit));
  const kept = twoBit ? size - TWO_BIT_CAPACITY : 0;
  symbols.copyWithin(0, TWO_BIT_CAPACITY, TWO_BIT_CAPACITY + kept);
  resetChunk();
  for (let i = 0; i < kept; i++) add(symbols[i]!);
}

/** The last chunk, which may be partly filled: libwebrtc prefers a 2-bit vector up to 7 symbols. */
function encodeLast(): number {
  return allSame ? encodeRunLength() : encodeVector(size, size <= TWO_BIT_CAPACITY);
}

function addLost(count: number): void {
  if (size > 0) {
    while (count > 0 && canAdd(0)) {
      add(0);
      count -= 1;
    }
    if (count === 0) return;
    emit();
  }
  for (; count >= MAX_RUN; count -= MAX_RUN) chunks.push(MAX_RUN); // run of lost, full length
  symbols.fill(0);
  resetChunk();
  size = count;
}

/** libwebrtc's rounding: to the nearest tick, halves away from zero. */
function ticksOf(us: number): number {
  return us >= 0 ? Math.floor((us + TICK_US / 2) / TICK_US) : -Math.floor((TICK_US / 2 - us) / TICK_US);
}

const isReceived = (us: number | undefined): us is number => us !== undefined && !Number.isNaN(us);

/**
 * Encodes arrivals as transport feedback packets. A new packet starts (at the sequence after the
 * last received one, like libwebrtc's feedback generator) when the next delta does not fit 16
 * bits signed (over ~8.2 s), the status count would pass 0xffff, or the packet would pass maxBytes.
 */
export function buildTransportFeedback(input: FeedbackInput): Buffer[] {
  const { arrivalsUs } = input;
  const maxBytes = input.maxBytes ?? 1200;
  const packets: Buffer[] = [];
  let open = false;
  let start = 0; // index of the open packet's base sequence
  let next = 0; // index of the first sequence the open packet has no status for yet
  let reference = 0;
  let lastUs = 0; // time of the previous received packet as the feedback says it, not as it was
  let deltaBytes = 0;
  const close = () => {
    packets.push(writePacket(input, start, next - start, reference, (input.feedbackCount + packets.length) & 0xff, deltaBytes));
    open = false;
    start = next;
  };
  for (let i = 0; i < arrivalsUs.length; i++) {
    const arrival = arrivalsUs[i];
    if (!isReceived(arrival)) continue;
    if (open) {
      const ticks = ticksOf(arrival - lastUs);
      const gap = i - next;
      // Upper bound on the growth (emitted chunk, run chunks, a new chunk, the delta) so nothing
      // has to be undone; it only ever splits a few bytes early.
      const bound = 2 * (Math.ceil(gap / MAX_RUN) + 2) + (ticks >= 0 && ticks <= 0xff ? 1 : 2);
      const bytes = HEADER_BYTES + 2 * (chunks.length + (size > 0 ? 1 : 0)) + deltaBytes;
      if (ticks < -0x8000 || ticks > 0x7fff || i + 1 - start > MAX_STATUS_COUNT || ((bytes + bound + 3) & ~3) > maxBytes) close();
    }
    if (!open) {
      if (i + 1 - start > MAX_STATUS_COUNT) start = i; // losses no packet can hold go unreported
      open = true;
      next = start;
      reference = Math.floor(arrival / REFERENCE_US);
      lastUs = reference * REFERENCE_US;
      deltaBytes = chunks.length = deltas.length = 0;
      resetChunk();
    }
    const ticks = ticksOf(arrival - lastUs);
    const symbol = ticks >= 0 && ticks <= 0xff ? 1 : 2;
    addLost(i - next);
    if (!canAdd(symbol)) emit();
    add(symbol);
    deltas.push(ticks);
    deltaBytes += symbol;
    lastUs += ticks * TICK_US;
    next = i + 1;
  }
  if (open) close();
  return packets;
}

function writePacket(input: FeedbackInput, start: number, count: number, reference: number, feedbackCount: number, deltaBytes: number): Buffer {
  const chunkCount = chunks.length + (size > 0 ? 1 : 0);
  const unpadded = HEADER_BYTES + 2 * chunkCount + deltaBytes;
  const padding = (4 - (unpadded % 4)) % 4;
  const p = Buffer.alloc(unpadded + padding);
  // Padding as libwebrtc: zero bytes, the last holding their count, and the P bit only if any.
  p[0] = 0x80 | (padding > 0 ? 0x20 : 0) | 15;
  p[1] = RtcpType.RTPFB;
  p.writeUInt16BE(p.length / 4 - 1, 2);
  p.writeUInt32BE(input.senderSsrc >>> 0, 4);
  p.writeUInt32BE(input.mediaSsrc >>> 0, 8);
  p.writeUInt16BE((input.baseSequence + start) & 0xffff, 12);
  p.writeUInt16BE(count, 14);
  p.writeUIntBE(((reference % 0x1000000) + 0x1000000) % 0x1000000, 16, 3);
  p[19] = feedbackCount;
  let offset = HEADER_BYTES;
  for (const chunk of chunks) offset = p.writeUInt16BE(chunk, offset);
  if (size > 0) offset = p.writeUInt16BE(encodeLast(), offset);
  for (const ticks of deltas) offset = ticks >= 0 && ticks <= 0xff ? p.writeUInt8(ticks, offset) : p.writeInt16BE(ticks, offset);
  if (padding > 0) p[p.length - 1] = padding;
  return p;
}

/** Parses one transport feedback packet; undefined (never a throw) for anything malformed. */
export function parseTransportFeedback(p: Buffer): TransportFeedback | undefined {
  if (p.length < HEADER_BYTES || (p[0]! & 0xdf) !== 0x8f || p[1] !== RtcpType.RTPFB) return undefined;
  let end = (p.readUInt16BE(2) + 1) * 4;
  if (end > p.length) return undefined;
  if (p[0]! & 0x20) {
    const padding = p[end - 1]!;
    if (padding === 0 || padding > end - 4) return undefined;
    end -= padding;
  }
  const count = p.readUInt16BE(14);
  if (count === 0 || end < HEADER_BYTES + 2) return undefined; // libwebrtc rejects empty feedback too
  const statuses = new Uint8Array(count);
  let n = 0;
  let offset = HEADER_BYTES;
  while (n < count) {
    if (offset + 2 > end) return undefined;
    const chunk = p.readUInt16BE(offset);
    offset += 2;
    if (!(chunk & 0x8000)) {
      const run = Math.min(chunk & MAX_RUN, count - n); // run lengths past the count are clamped
      statuses.fill((chunk >> 13) & 3, n, n + run);
      n += run;
    } else if (!(chunk & 0x4000)) {
      for (let bit = ONE_BIT_CAPACITY - 1; bit >= 0 && n < count; bit--) statuses[n++] = (chunk >> bit) & 1;
    } else {
      for (let shift = 2 * (TWO_BIT_CAPACITY - 1); shift >= 0 && n < count; shift -= 2) statuses[n++] = (chunk >> shift) & 3;
    }
  }
  const referenceTime = p.readUIntBE(16, 3);
  let time = referenceTime * REFERENCE_US;
  const arrivalsUs: (number | undefined)[] = [];
  for (const status of statuses) {
    if (status === 0) {
      arrivalsUs.push(undefined);
      continue;
    }
    // 3 ("received, no delta") is reserved and libwebrtc refuses it. Deltas cut short are refused
    // too, where libwebrtc would read the packet as loss-only feedback without times.
    if (status === 3 || offset + status > end) return undefined;
    time += (status === 1 ? p[offset]! : p.readInt16BE(offset)) * TICK_US;
    offset += status;
    arrivalsUs.push(time);
  }
  return {
    senderSsrc: p.readUInt32BE(4),
    mediaSsrc: p.readUInt32BE(8),
    baseSequence: p.readUInt16BE(12),
    referenceTime,
    feedbackCount: p[19]!,
    arrivalsUs,
  };
}

const low16 = (value: number): number => ((value % 0x10000) + 0x10000) % 0x10000;

/**
 * Arrival times for one transport (one PeerConnection): what the next feedback will report.
 * Sequences are unwrapped to plain numbers. A feedback covers from the sequence after the last
 * reported one to the highest received, then forgets them: a packet arriving after its sequence
 * was reported lost stays lost (libwebrtc re-reports such late packets; the sender's estimator
 * copes either way). A jump of more than 0x4000 is a new stream: the unreported rest is dropped.
 */
export class TwccRecorder {
  private readonly capacity: number;
  /** Arrival by unwrapped sequence modulo capacity; NaN outside [base, highest] and for losses. */
  private readonly ring: Float64Array;
  private readonly scratch: Float64Array;
  private started = false;
  /** The first sequence the next feedback reports. */
  private base = 0;
  /** The highest sequence received; base - 1 when nothing waits to be reported. */
  private highest = 0;
  private highestWire = 0;
  /** Once a feedback went out (or old arrivals were dropped), older sequences are ignored. */
  private baseFixed = false;
  private feedbackCount = 0;

  /** `capacity`: most sequences held between feedbacks (default 8192); the oldest go first. */
  constructor(options: { capacity?: number } = {}) {
    this.capacity = Math.max(1, Math.floor(options.capacity ?? 8192));
    this.ring = new Float64Array(this.capacity).fill(NaN);
    this.scratch = new Float64Array(this.capacity);
  }

  onPacket(sequence: number, arrivalUs: number): void {
    sequence &= 0xffff;
    let delta = this.started ? sequenceDelta(this.highestWire, sequence) : 0;
    if (!this.started || delta > 0x4000 || delta < -0x4000) {
      this.clear(this.base, this.highest + 1);
      this.started = true;
      this.baseFixed = false;
      this.base = this.highest = sequence;
      this.highestWire = sequence;
      delta = 0;
    }
    const unwrapped = this.highest + delta;
    if (unwrapped > this.highest) {
      if (unwrapped - this.base >= this.capacity) {
        const base = unwrapped - this.capacity + 1;
        this.clear(this.base, Math.min(base, this.highest + 1));
        this.base = base;
        this.baseFixed = true;
      }
      this.highest = unwrapped;
      this.highestWire = sequence;
    } else if (unwrapped < this.base) {
      if (this.baseFixed || this.highest - unwrapped >= this.capacity) return;
      this.base = unwrapped; // reordered before the first packet of a fresh window
    }
    const slot = this.slot(unwrapped);
    if (Number.isNaN(this.ring[slot]!)) this.ring[slot] = arrivalUs; // duplicates keep the first
  }

  /**
   * A packet whose arrival time is not known (handled late, after a stall of this process): it is
   * left out of every feedback, neither received nor lost, and so is everything not yet reported
   * up to the highest sequence seen. libwebrtc's sender takes packets no feedback names as acked
   * without a delay or loss sample (TransportFeedbackAdapter). Take the feedback for what came
   * before first.
   */
  leaveOut(sequence: number): void {
    this.onPacket(sequence, 0);
    if (!this.started) return;
    this.clear(this.base, this.highest + 1);
    this.base = this.highest + 1;
    this.baseFixed = true;
  }

  /** Feedback packets for everything received since the last call; [] when there is none. */
  takeFeedback(senderSsrc: number, mediaSsrc: number): Buffer[] {
    if (!this.started || this.highest < this.base) return [];
    const count = this.highest - this.base + 1;
    for (let i = 0; i < count; i++) this.scratch[i] = this.ring[this.slot(this.base + i)]!;
    this.clear(this.base, this.highest + 1);
    const packets = buildTransportFeedback({
      senderSsrc,
      mediaSsrc,
      baseSequence: low16(this.base),
      arrivalsUs: this.scratch.subarray(0, count),
      feedbackCount: this.feedbackCount,
    });
    this.feedbackCount = (this.feedbackCount + packets.length) & 0xff;
    this.base = this.highest + 1;
    this.baseFixed = true;
    return packets;
  }

  private slot(sequence: number): number {
    return ((sequence % this.capacity) + this.capacity) % this.capacity;
  }

  private clear(from: number, to: number): void {
    for (let sequence = from; sequence < to; sequence++) this.ring[this.slot(sequence)] = NaN;
  }
}
