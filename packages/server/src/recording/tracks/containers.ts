/**
 * The two simple containers the export writes before ffmpeg copies them into WebM/Matroska
 * (pure: bytes in, bytes out). Both carry each frame's own timestamp, taken from RTP time, so the
 * final file's timing (and duration) is the publisher's, gaps included:
 * - IVF for video: a 32-byte header, then `u32 size | u64 pts` per frame (time base 1/90000,
 *   the RTP video clock);
 * - Ogg Opus (RFC 7845) for audio: one Opus packet per page, each page's granule position the
 *   48 kHz sample count at the end of its packet.
 */
import type { VideoCodecName } from '@parley/protocol/vocabulary';

const IVF_FOURCC: Record<VideoCodecName, string> = { vp8: 'VP80', vp9: 'VP90', h264: 'H264', av1: 'AV01' };

export function ivfHeader(codec: keyof typeof IVF_FOURCC, width: number, height: number, frameCount: number, clockRate = 90_000): Buffer {
  const header = Buffer.alloc(32);
  header.write('DKIF', 0, 'latin1');
  header.writeUInt16LE(0, 4);
  header.writeUInt16LE(32, 6);
  header.write(IVF_FOURCC[codec], 8, 'latin1');
  header.writeUInt16LE(width & 0xffff, 12);
  header.writeUInt16LE(height & 0xffff, 14);
  // Time base as rate (denominator) then scale (numerator), the order ffmpeg's ivf demuxer reads.
  header.writeUInt32LE(clockRate, 16);
  header.writeUInt32LE(1, 20);
  header.writeUInt32LE(frameCount, 24);
  return header;
}

export function ivfFrameHeader(size: number, pts: number): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt32LE(size, 0);
  header.writeBigUInt64LE(BigInt(pts), 4);
  return header;
}

/** Samples (at 48 kHz) one Opus packet holds, from its TOC byte (RFC 6716 3.1); 0 when unreadable. */
export function opusPacketSamples(packet: Buffer): number {
  const toc = packet[0];
  if (toc === undefined) return 0;
  const config = toc >> 3;
  const tenths = config < 12 ? [100, 200, 400, 600][config & 3]! : config < 16 ? [100, 200][config & 1]! : [25, 50, 100, 200][config & 3]!;
  const code = toc & 3;
  const frames = code === 0 ? 1 : code === 3 ? (packet[1] ?? 0) & 0x3f : 2;
  return (frames * tenths * 48) / 10;
}

/** Ogg's CRC-32 (polynomial 0x04c11db7, not reflected, starting at 0). */
const OGG_CRC = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let bit = 0; bit < 8; bit++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    table[i] = r >>> 0;
  }
  return table;
})();

function oggCrc(data: Buffer): number {
  let crc = 0;
  for (const byte of data) crc = ((crc << 8) ^ OGG_CRC[((crc >>> 24) ^ byte) & 0xff]!) >>> 0;
  return crc;
}

export class OggOpusWriter {
  private sequence = 0;
  readonly pages: Buffer[] = [];

  constructor(
    private readonly serial: number,
    channels: number,
  ) {
    const head = Buffer.alloc(19);
    head.write('OpusHead', 0, 'latin1');
    head[8] = 1;
    head[9] = channels;
    head.writeUInt16LE(0, 10); // pre-skip: the stream starts where the call's audio did
    head.writeUInt32LE(48_000, 12);
    this.page(head, 0, 0x02);
    const vendor = Buffer.from('parley', 'latin1');
    const tags = Buffer.alloc(8 + 4 + vendor.length + 4);
    tags.write('OpusTags', 0, 'latin1');
    tags.writeUInt32LE(vendor.length, 8);
    vendor.copy(tags, 12);
    this.page(tags, 0, 0);
  }

  /** One Opus packet; `endSample` is the 48 kHz position at its end, counted from the track's start. */
  packet(packet: Buffer, endSample: number, last = false): void {
    this.page(packet, endSample, last ? 0x04 : 0);
  }

  private page(data: Buffer, granule: number, flags: number): void {
    const segments: number[] = [];
    for (let left = data.length; ; left -= 255) {
      segments.push(Math.min(left, 255));
      if (left < 255) break;
    }
    if (segments.length > 255) throw new RangeError(`an Ogg page holds at most 65025 bytes, not ${data.length}`);
    const header = Buffer.alloc(27 + segments.length);
    header.write('OggS', 0, 'latin1');
    header[4] = 0;
    header[5] = flags;
    header.writeBigUInt64LE(BigInt(granule), 6);
    header.writeUInt32LE(this.serial, 14);
    header.writeUInt32LE(this.sequence++, 18);
    header[26] = segments.length;
    segments.forEach((size, i) => (header[27 + i] = size));
    const page = Buffer.concat([header, data]);
    page.writeUInt32LE(oggCrc(page), 22);
    this.pages.push(page);
  }
}
