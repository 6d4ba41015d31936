// Synthetic VP8 over RTP (RFC 7741) for the SFU benchmark, and the little RTP/RTCP parsing the
// clients need. The payload is filler except for what an SFU looks at (the VP8 payload
// descriptor with a 15-bit PictureID like Chromium's, and on a keyframe's first packet the VP8
// keyframe header) and a packet index in
// the last 4 bytes, which the subscribers use to count delivery exactly over a window.

export const RTP_HEADER_BYTES = 12;
const VP8_CLOCK_RATE = 90_000;
const PACKET_INDEX_BYTES = 4;
/** A one-byte header extension block holding the 2-byte transport-wide sequence number. */
const TRANSPORT_EXTENSION_BYTES = 8;

export interface Vp8SourceOptions {
  ssrc: number;
  payloadType: number;
  payloadBytes: number;
  packetsPerFrame: number;
  framesPerSecond: number;
  keyframeIntervalFrames: number;
}

export interface SentPacket {
  index: number;
  packet: Buffer;
}

/** Produces the packets of a VP8 stream one at a time; every packet is a fresh Buffer. */
export class Vp8Source {
  private nextIndex = 0;
  private sequence: number;
  private timestamp: number;
  private frame = 0;
  private readonly firstPictureId = randomUint(15);
  private packetInFrame = 0;
  private keyframeRequested = true;
  private currentFrameIsKey = false;
  private readonly timestampStep: number;
  private transportSequenceId: number | undefined;
  private transportSequence = 0;

  constructor(private readonly options: Vp8SourceOptions) {
    if (options.payloadBytes < 16) throw new Error('payloadBytes must be at least 16');
    if (options.packetsPerFrame < 1) throw new Error('packetsPerFrame must be at least 1');
    this.sequence = randomUint(16);
    this.timestamp = randomUint(32);
    this.timestampStep = Math.round(VP8_CLOCK_RATE / options.framesPerSecond);
  }

  /** The index the next packet will carry. */
  get packetsProduced(): number {
    return this.nextIndex;
  }

  /**
   * From now on each packet carries the transport-wide sequence number (one-byte header
   * extension `id`, 8 bytes before the payload), as a browser's do once the SFU accepted it.
   */
  numberTransportWide(id: number): void {
    if (id < 1 || id > 14) throw new RangeError(`a one-byte header extension id is 1-14, not ${id}`);
    this.transportSequenceId = id;
  }

  /** The next frame that starts will be a keyframe (a PLI or FIR arrived). */
  requestKeyframe(): void {
    this.keyframeRequested = true;
  }

  next(): SentPacket {
    const { ssrc, payloadType, payloadBytes, packetsPerFrame, keyframeIntervalFrames } = this.options;
    const startsFrame = this.packetInFrame === 0;
    if (startsFrame) {
      this.currentFrameIsKey = this.keyframeRequested || this.frame % keyframeIntervalFrames === 0;
      this.keyframeRequested = false;
    }
    const endsFrame = this.packetInFrame === packetsPerFrame - 1;
    const extensionBytes = this.transportSequenceId === undefined ? 0 : TRANSPORT_EXTENSION_BYTES;
    const packet = Buffer.alloc(RTP_HEADER_BYTES + extensionBytes + payloadBytes, 0x5a);
    packet[0] = extensionBytes > 0 ? 0x90 : 0x80;
    packet[1] = (endsFrame ? 0x80 : 0) | payloadType;
    packet.writeUInt16BE(this.sequence, 2);
    packet.writeUInt32BE(this.timestamp >>> 0, 4);
    packet.writeUInt32BE(ssrc >>> 0, 8);
    if (this.transportSequenceId !== undefined) {
      // RFC 8285 one-byte form: profile 0xBEDE, one word: the element (id, length 2 - 1), its 2 bytes, a pad byte.
      packet.writeUInt16BE(0xbede, RTP_HEADER_BYTES);
      packet.writeUInt16BE(1, RTP_HEADER_BYTES + 2);
      packet[RTP_HEADER_BYTES + 4] = (this.transportSequenceId << 4) | 1;
      packet.writeUInt16BE(this.transportSequence, RTP_HEADER_BYTES + 5);
      packet[RTP_HEADER_BYTES + 7] = 0;
      this.transportSequence = (this.transportSequence + 1) & 0xffff;
    }
    writeVp8Payload(packet.subarray(RTP_HEADER_BYTES + extensionBytes), startsFrame, this.currentFrameIsKey, (this.firstPictureId + this.frame) & 0x7fff);
    const index = this.nextIndex++;
    packet.writeUInt32BE(index, packet.length - PACKET_INDEX_BYTES);

    this.sequence = (this.sequence + 1) & 0xffff;
    if (endsFrame) {
      this.packetInFrame = 0;
      this.frame++;
      this.timestamp = (this.timestamp + this.timestampStep) >>> 0;
    } else {
      this.packetInFrame++;
    }
    return { index, packet };
  }
}

// VP8 payload descriptor (RFC 7741 §4.2) as Chromium sends it: X and I set, a 15-bit PictureID
// counting frames, S set on the first packet of a frame, partition 0. On a frame's first packet
// the VP8 frame tag follows (RFC 6386 §9.1): its lowest bit is 0 for a keyframe, which then
// carries the start code 9d 01 2a and its dimensions.
const VP8_DESCRIPTOR_BYTES = 4;

function writeVp8Payload(payload: Buffer, startsFrame: boolean, keyframe: boolean, pictureId: number): void {
  payload[0] = 0x80 | (startsFrame ? 0x10 : 0x00);
  payload[1] = 0x80;
  payload.writeUInt16BE(0x8000 | pictureId, 2);
  if (!startsFrame) return;
  const tag = payload.subarray(VP8_DESCRIPTOR_BYTES);
  const showFrame = 0x10;
  tag[0] = (keyframe ? 0x00 : 0x01) | showFrame;
  tag[1] = 0x00;
  tag[2] = 0x00;
  if (!keyframe) return;
  tag[3] = 0x9d;
  tag[4] = 0x01;
  tag[5] = 0x2a;
  tag.writeUInt16LE(640, 6);
  tag.writeUInt16LE(480, 8);
}

export function isRtcp(packet: Uint8Array): boolean {
  const packetType = packet[1] ?? 0;
  return packet.length >= 4 && packetType >= 192 && packetType <= 223;
}

/** The packet index a {@link Vp8Source} wrote, or undefined if this is not such an RTP packet. */
export function packetIndexOf(packet: Buffer): number | undefined {
  if (packet.length < RTP_HEADER_BYTES || (packet[0]! & 0xc0) !== 0x80 || isRtcp(packet)) return undefined;
  let end = packet.length;
  if (packet[0]! & 0x20) end -= packet[end - 1]!;
  let payloadStart = RTP_HEADER_BYTES + 4 * (packet[0]! & 0x0f);
  if (packet[0]! & 0x10) {
    if (payloadStart + 4 > end) return undefined;
    payloadStart += 4 + 4 * packet.readUInt16BE(payloadStart + 2);
  }
  if (end - payloadStart < PACKET_INDEX_BYTES) return undefined;
  return packet.readUInt32BE(end - PACKET_INDEX_BYTES);
}

export type RtcpFeedback = { kind: 'keyframe' } | { kind: 'nack'; sequences: number[] };

/** Keyframe requests (PLI, FIR) and NACKs in a compound RTCP packet; everything else is skipped. */
export function parseRtcpFeedback(packet: Buffer): RtcpFeedback[] {
  const feedback: RtcpFeedback[] = [];
  let offset = 0;
  while (offset + 4 <= packet.length) {
    const format = packet[offset]! & 0x1f;
    const packetType = packet[offset + 1]!;
    const length = 4 * (packet.readUInt16BE(offset + 2) + 1);
    if (offset + length > packet.length) break;
    const isPli = packetType === 206 && format === 1;
    const isFir = packetType === 206 && format === 4;
    if (isPli || isFir) feedback.push({ kind: 'keyframe' });
    if (packetType === 205 && format === 1) feedback.push({ kind: 'nack', sequences: nackedSequences(packet, offset, length) });
    offset += length;
  }
  return feedback;
}

// Generic NACK (RFC 4585 §6.2.1): after the 12-byte header, pairs of (PID, BLP).
function nackedSequences(packet: Buffer, offset: number, length: number): number[] {
  const sequences: number[] = [];
  for (let item = offset + 12; item + 4 <= offset + length; item += 4) {
    const first = packet.readUInt16BE(item);
    const bitmask = packet.readUInt16BE(item + 2);
    sequences.push(first);
    for (let bit = 0; bit < 16; bit++) {
      if (bitmask & (1 << bit)) sequences.push((first + bit + 1) & 0xffff);
    }
  }
  return sequences;
}

export function sequenceOf(packet: Buffer): number {
  return packet.readUInt16BE(2);
}

export function ssrcOf(packet: Buffer): number {
  return packet.readUInt32BE(8);
}

/** Sequence-number distance from `older` to `newer` (negative if `newer` is the older one). */
export function sequenceDistance(newer: number, older: number): number {
  const forward = (newer - older) & 0xffff;
  return forward < 0x8000 ? forward : forward - 0x10000;
}

export interface LossTrackerOptions {
  /** How long to wait between two NACKs of the same packet. */
  retryMs: number;
  maxNacksPerPacket: number;
  /** A packet missing for longer is given up (a real receiver would have played on). */
  giveUpMs: number;
  /** A larger gap is not NACKed packet by packet (the stream restarted or jumped). */
  maxGap: number;
}

/** The receiver side of NACK (RFC 4585): which sequence numbers of one stream to ask for again. */
export class LossTracker {
  private highest: number | undefined;
  private readonly missing = new Map<number, { since: number; nacks: number; lastNackAt: number }>();

  constructor(private readonly options: LossTrackerOptions) {}

  onPacket(sequence: number, now: number): void {
    if (this.highest === undefined) {
      this.highest = sequence;
      return;
    }
    const distance = sequenceDistance(sequence, this.highest);
    if (distance <= 0) {
      this.missing.delete(sequence);
      return;
    }
    if (distance <= this.options.maxGap) {
      for (let gap = 1; gap < distance; gap++) {
        this.missing.set((this.highest + gap) & 0xffff, { since: now, nacks: 0, lastNackAt: Number.NEGATIVE_INFINITY });
      }
    }
    this.highest = sequence;
  }

  /** The sequence numbers to NACK now; each call counts as one NACK for them. */
  due(now: number): number[] {
    const sequences: number[] = [];
    for (const [sequence, entry] of this.missing) {
      if (now - entry.since > this.options.giveUpMs || entry.nacks >= this.options.maxNacksPerPacket) {
        this.missing.delete(sequence);
      } else if (now - entry.lastNackAt >= this.options.retryMs) {
        entry.nacks++;
        entry.lastNackAt = now;
        sequences.push(sequence);
      }
    }
    return sequences;
  }
}

/** A generic NACK (RTCP RTPFB, FMT 1) for `sequences` of `mediaSsrc`. */
export function buildNack(senderSsrc: number, mediaSsrc: number, sequences: number[]): Buffer {
  const items: { first: number; bitmask: number }[] = [];
  for (const sequence of [...sequences].sort((a, b) => sequenceDistance(a, b))) {
    const last = items.at(-1);
    const offset = last ? sequenceDistance(sequence, last.first) : 0;
    if (last && offset >= 1 && offset <= 16) last.bitmask |= 1 << (offset - 1);
    else if (!last || offset !== 0) items.push({ first: sequence, bitmask: 0 });
  }
  const packet = Buffer.alloc(12 + 4 * items.length);
  packet[0] = 0x81;
  packet[1] = 205;
  packet.writeUInt16BE(packet.length / 4 - 1, 2);
  packet.writeUInt32BE(senderSsrc >>> 0, 4);
  packet.writeUInt32BE(mediaSsrc >>> 0, 8);
  items.forEach((item, i) => {
    packet.writeUInt16BE(item.first, 12 + 4 * i);
    packet.writeUInt16BE(item.bitmask, 14 + 4 * i);
  });
  return packet;
}

function randomUint(bits: 15 | 16 | 32): number {
  return Math.floor(Math.random() * 2 ** bits);
}
