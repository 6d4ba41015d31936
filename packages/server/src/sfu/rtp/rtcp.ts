/**
 * RTCP (RFC 3550, RFC 4585 feedback, REMB draft) parsing and building for the SFU. Parsing never
 * throws: a malformed compound packet simply yields the well-formed reports before the damage.
 */
import { parseTransportFeedback, type TransportFeedback } from './twcc.js';

export const RtcpType = { SR: 200, RR: 201, SDES: 202, BYE: 203, RTPFB: 205, PSFB: 206, XR: 207 } as const;

/** RFC 3611 report block types used here. */
const XrBlock = { RRTR: 4, DLRR: 5 } as const;

export interface ReportBlock {
  ssrc: number;
  fractionLost: number;
  totalLost: number;
  highestSequence: number;
  jitter: number;
  lastSenderReport: number;
  delaySinceLastSenderReport: number;
}

export type RtcpPacket =
  | { type: 'sr'; ssrc: number; ntpSeconds: number; ntpFraction: number; rtpTimestamp: number; packetCount: number; octetCount: number; reports: ReportBlock[] }
  | { type: 'rr'; ssrc: number; reports: ReportBlock[] }
  | { type: 'nack'; mediaSsrc: number; lost: number[] }
  | { type: 'pli'; mediaSsrc: number }
  | { type: 'fir'; mediaSsrcs: number[] }
  | { type: 'remb'; bitrate: number; ssrcs: number[] }
  | { type: 'twcc'; feedback: TransportFeedback }
  /** Extended report (RFC 3611); `rrtr`: a receiver reference time, for a receive-only peer's round trip. */
  | { type: 'xr'; ssrc: number; rrtr: { ntpSeconds: number; ntpFraction: number } | undefined }
  | { type: 'other'; packetType: number };

export function parseRtcp(buffer: Buffer): RtcpPacket[] {
  const packets: RtcpPacket[] = [];
  let offset = 0;
  while (offset + 4 <= buffer.length) {
    if (buffer[offset]! >> 6 !== 2) break;
    const length = (buffer.readUInt16BE(offset + 2) + 1) * 4;
    if (offset + length > buffer.length) break;
    const packet = parseOne(buffer.subarray(offset, offset + length));
    if (packet) packets.push(packet);
    offset += length;
  }
  return packets;
}

function parseOne(p: Buffer): RtcpPacket | undefined {
  const count = p[0]! & 0x1f;
  const packetType = p[1]!;
  switch (packetType) {
    case RtcpType.SR:
      if (p.length < 28) return undefined;
      return {
        type: 'sr',
        ssrc: p.readUInt32BE(4),
        ntpSeconds: p.readUInt32BE(8),
        ntpFraction: p.readUInt32BE(12),
        rtpTimestamp: p.readUInt32BE(16),
        packetCount: p.readUInt32BE(20),
        octetCount: p.readUInt32BE(24),
        reports: reportBlocks(p, 28, count),
      };
    case RtcpType.RR:
      if (p.length < 8) return undefined;
      return { type: 'rr', ssrc: p.readUInt32BE(4), reports: reportBlocks(p, 8, count) };
    case RtcpType.RTPFB:
      if (count === 15) {
        const feedback = parseTransportFeedback(p);
        return feedback ? { type: 'twcc', feedback } : undefined;
      }
      if (count !== 1 || p.length < 16) return { type: 'other', packetType };
      return { type: 'nack', mediaSsrc: p.readUInt32BE(8), lost: nackedSequences(p) };
    case RtcpType.PSFB:
      return payloadSpecific(p, count);
    case RtcpType.XR:
      return extendedReport(p);
    default:
      return { type: 'other', packetType };
  }
}

function payloadSpecific(p: Buffer, format: number): RtcpPacket | undefined {
  if (p.length < 12) return undefined;
  if (format === 1) return { type: 'pli', mediaSsrc: p.readUInt32BE(8) };
  if (format === 4) {
    const mediaSsrcs: number[] = [];
    for (let offset = 12; offset + 8 <= p.length; offset += 8) mediaSsrcs.push(p.readUInt32BE(offset));
    return { type: 'fir', mediaSsrcs };
  }
  if (format === 15 && p.length >= 20 && p.toString('latin1', 12, 16) === 'REMB') {
    const ssrcCount = p[16]!;
    const exponent = p[17]! >> 2;
    const mantissa = ((p[17]! & 0x03) << 16) | p.readUInt16BE(18);
    const ssrcs: number[] = [];
    for (let i = 0; i < ssrcCount && 20 + i * 4 + 4 <= p.length; i++) ssrcs.push(p.readUInt32BE(20 + i * 4));
    return { type: 'remb', bitrate: mantissa * 2 ** exponent, ssrcs };
  }
  return { type: 'other', packetType: RtcpType.PSFB };
}

function extendedReport(p: Buffer): RtcpPacket | undefined {
  if (p.length < 8) return undefined;
  let rrtr: { ntpSeconds: number; ntpFraction: number } | undefined;
  for (let offset = 8; offset + 4 <= p.length; ) {
    const blockType = p[offset]!;
    const end = offset + 4 + p.readUInt16BE(offset + 2) * 4;
    if (end > p.length) break;
    if (blockType === XrBlock.RRTR && end - offset === 12) rrtr = { ntpSeconds: p.readUInt32BE(offset + 4), ntpFraction: p.readUInt32BE(offset + 8) };
    offset = end;
  }
  return { type: 'xr', ssrc: p.readUInt32BE(4), rrtr };
}

/**
 * An extended report with one DLRR sub-block (RFC 3611 4.5): the answer to a receiver reference
 * time, from which a receive-only peer computes its round trip (`lastRr` is the compact NTP of
 * the reference time, `delay` in 1/65536 s since it arrived).
 */
export function buildDlrr(senderSsrc: number, receiverSsrc: number, lastRr: number, delay: number): Buffer {
  const p = Buffer.alloc(24);
  p[0] = 0x80;
  p[1] = RtcpType.XR;
  p.writeUInt16BE(p.length / 4 - 1, 2);
  p.writeUInt32BE(senderSsrc >>> 0, 4);
  p[8] = XrBlock.DLRR;
  p.writeUInt16BE(3, 10);
  p.writeUInt32BE(receiverSsrc >>> 0, 12);
  p.writeUInt32BE(lastRr >>> 0, 16);
  p.writeUInt32BE(delay >>> 0, 20);
  return p;
}

function reportBlocks(p: Buffer, start: number, count: number): ReportBlock[] {
  const blocks: ReportBlock[] = [];
  for (let i = 0, offset = start; i < count && offset + 24 <= p.length; i++, offset += 24) {
    const lost = p.readUIntBE(offset + 5, 3);
    blocks.push({
      ssrc: p.readUInt32BE(offset),
      fractionLost: p[offset + 4]! / 256,
      totalLost: lost & 0x800000 ? lost - 0x1000000 : lost,
      highestSequence: p.readUInt32BE(offset + 8),
      jitter: p.readUInt32BE(offset + 12),
      lastSenderReport: p.readUInt32BE(offset + 16),
      delaySinceLastSenderReport: p.readUInt32BE(offset + 20),
    });
  }
  return blocks;
}

function nackedSequences(p: Buffer): number[] {
  const lost: number[] = [];
  for (let offset = 12; offset + 4 <= p.length; offset += 4) {
    const first = p.readUInt16BE(offset);
    const bitmask = p.readUInt16BE(offset + 2);
    lost.push(first);
    for (let bit = 0; bit < 16; bit++) if (bitmask & (1 << bit)) lost.push((first + bit + 1) & 0xffff);
  }
  return lost;
}

export function buildPli(senderSsrc: number, mediaSsrc: number): Buffer {
  const p = Buffer.alloc(12);
  p[0] = 0x81;
  p[1] = RtcpType.PSFB;
  p.writeUInt16BE(2, 2);
  p.writeUInt32BE(senderSsrc >>> 0, 4);
  p.writeUInt32BE(mediaSsrc >>> 0, 8);
  return p;
}

export function buildNack(senderSsrc: number, mediaSsrc: number, lost: readonly number[]): Buffer {
  const pairs: [number, number][] = [];
  for (const sequence of [...lost].sort((a, b) => a - b)) {
    const last = pairs[pairs.length - 1];
    const distance = last ? (sequence - last[0]) & 0xffff : 0;
    if (last && distance >= 1 && distance <= 16) last[1] |= 1 << (distance - 1);
    else if (!last || distance !== 0) pairs.push([sequence, 0]);
  }
  const p = Buffer.alloc(12 + pairs.length * 4);
  p[0] = 0x81;
  p[1] = RtcpType.RTPFB;
  p.writeUInt16BE(2 + pairs.length, 2);
  p.writeUInt32BE(senderSsrc >>> 0, 4);
  p.writeUInt32BE(mediaSsrc >>> 0, 8);
  pairs.forEach(([first, mask], i) => {
    p.writeUInt16BE(first, 12 + i * 4);
    p.writeUInt16BE(mask, 14 + i * 4);
  });
  return p;
}

/** REMB (draft-alvestrand-rmcat-remb): the bandwidth the receiver asks the sender to stay under. */
export function buildRemb(senderSsrc: number, bitrate: number, mediaSsrcs: readonly number[]): Buffer {
  let exponent = 0;
  let mantissa = Math.max(0, Math.floor(bitrate));
  while (mantissa > 0x3ffff) {
    // Division, not >>=: bit shifts work on 32-bit integers and bitrates can exceed 2^31.
    mantissa = Math.floor(mantissa / 2);
    exponent += 1;
  }
  const p = Buffer.alloc(20 + mediaSsrcs.length * 4);
  p[0] = 0x8f;
  p[1] = RtcpType.PSFB;
  p.writeUInt16BE(4 + mediaSsrcs.length, 2);
  p.writeUInt32BE(senderSsrc >>> 0, 4);
  p.writeUInt32BE(0, 8);
  p.write('REMB', 12, 'latin1');
  p[16] = mediaSsrcs.length;
  p[17] = (exponent << 2) | (mantissa >> 16);
  p.writeUInt16BE(mantissa & 0xffff, 18);
  mediaSsrcs.forEach((ssrc, i) => p.writeUInt32BE(ssrc >>> 0, 20 + i * 4));
  return p;
}

export function buildReceiverReport(senderSsrc: number, blocks: readonly ReportBlock[]): Buffer {
  const p = Buffer.alloc(8 + blocks.length * 24);
  p[0] = 0x80 | blocks.length;
  p[1] = RtcpType.RR;
  p.writeUInt16BE(1 + blocks.length * 6, 2);
  p.writeUInt32BE(senderSsrc >>> 0, 4);
  blocks.forEach((block, i) => {
    const offset = 8 + i * 24;
    p.writeUInt32BE(block.ssrc >>> 0, offset);
    p[offset + 4] = Math.min(255, Math.round(block.fractionLost * 256));
    p.writeUIntBE(block.totalLost < 0 ? block.totalLost + 0x1000000 : Math.min(block.totalLost, 0x7fffff), offset + 5, 3);
    p.writeUInt32BE(block.highestSequence >>> 0, offset + 8);
    p.writeUInt32BE(block.jitter >>> 0, offset + 12);
    p.writeUInt32BE(block.lastSenderReport >>> 0, offset + 16);
    p.writeUInt32BE(block.delaySinceLastSenderReport >>> 0, offset + 20);
  });
  return p;
}

export interface SenderReport {
  ssrc: number;
  ntpSeconds: number;
  ntpFraction: number;
  rtpTimestamp: number;
  packetCount: number;
  octetCount: number;
}

export function buildSenderReport(report: SenderReport): Buffer {
  const p = Buffer.alloc(28);
  p[0] = 0x80;
  p[1] = RtcpType.SR;
  p.writeUInt16BE(6, 2);
  p.writeUInt32BE(report.ssrc >>> 0, 4);
  p.writeUInt32BE(report.ntpSeconds >>> 0, 8);
  p.writeUInt32BE(report.ntpFraction >>> 0, 12);
  p.writeUInt32BE(report.rtpTimestamp >>> 0, 16);
  p.writeUInt32BE(report.packetCount >>> 0, 20);
  p.writeUInt32BE(report.octetCount >>> 0, 24);
  return p;
}

const NTP_EPOCH_OFFSET_SECONDS = 2_208_988_800;

/** Wall-clock milliseconds as a 64-bit NTP timestamp (seconds, fraction). */
export function ntpFromMillis(ms: number): { ntpSeconds: number; ntpFraction: number } {
  const seconds = Math.floor(ms / 1000);
  return { ntpSeconds: (seconds + NTP_EPOCH_OFFSET_SECONDS) >>> 0, ntpFraction: Math.floor(((ms - seconds * 1000) / 1000) * 0x1_0000_0000) >>> 0 };
}

/** The middle 32 bits of an NTP timestamp, as carried in LSR. */
export function compactNtp(ntpSeconds: number, ntpFraction: number): number {
  return (((ntpSeconds & 0xffff) << 16) | (ntpFraction >>> 16)) >>> 0;
}
