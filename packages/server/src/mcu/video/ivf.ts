/**
 * IVF, the plain container of VP8/VP9/AV1 frames (pure): what the mixer writes to the ffmpeg that
 * decodes a publisher's video and reads back from the ffmpeg that encodes a grid. H.264 too, as
 * Annex B access units under the FourCC `H264`: ffmpeg's IVF reader takes any codec of its
 * BMP tag table, so one framing serves every decoder (a raw `-f h264` input would wait for the
 * next frame's start to end each one). Each frame is
 * length-prefixed, so a pipe carries one frame at a time with no probing or buffering in ffmpeg.
 * Layout: a 32-byte file header (`DKIF`, version 0, header size, FourCC, width, height, time base
 * rate and scale, frame count), then per frame 12 bytes (size, 64-bit timestamp) and the frame.
 */
export type IvfCodec = 'vp8' | 'vp9' | 'h264';

const FOURCC: Record<IvfCodec, string> = { vp8: 'VP80', vp9: 'VP90', h264: 'H264' };
const FILE_HEADER = 32;
const FRAME_HEADER = 12;

export class IvfError extends Error {
  override name = 'IvfError';
  constructor(
    message: string,
    readonly code: 'BAD_HEADER' | 'FRAME_TOO_LARGE',
  ) {
    super(message);
  }
}

/** The file header; `rate`/`scale` is the time base of the frames' timestamps (90000/1: RTP's clock). */
export function ivfFileHeader(codec: IvfCodec, width: number, height: number, rate = 90_000, scale = 1): Buffer {
  const header = Buffer.alloc(FILE_HEADER);
  header.write('DKIF', 0, 'latin1');
  header.writeUInt16LE(0, 4);
  header.writeUInt16LE(FILE_HEADER, 6);
  header.write(FOURCC[codec], 8, 'latin1');
  header.writeUInt16LE(width, 12);
  header.writeUInt16LE(height, 14);
  header.writeUInt32LE(rate, 16);
  header.writeUInt32LE(scale, 20);
  header.writeUInt32LE(0, 24);
  return header;
}

export function ivfFrame(data: Buffer, pts: number): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER + data.length);
  frame.writeUInt32LE(data.length, 0);
  frame.writeBigUInt64LE(BigInt(Math.max(0, Math.round(pts))), 4);
  data.copy(frame, FRAME_HEADER);
  return frame;
}

/** Largest frame accepted from an encoder: a 1080p keyframe is well under 1 MB. */
const MAX_FRAME_BYTES = 4 * 1024 * 1024;

/** Splits an IVF byte stream (an encoder's stdout) into frames as chunks arrive. */
export class IvfReader {
  private pending: Buffer = Buffer.alloc(0);
  private headerSeen = false;

  push(chunk: Buffer): Array<{ data: Buffer; pts: number }> {
    let data = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: Array<{ data: Buffer; pts: number }> = [];
    if (!this.headerSeen) {
      if (data.length < FILE_HEADER) {
        this.pending = Buffer.from(data);
        return frames;
      }
      if (data.toString('latin1', 0, 4) !== 'DKIF') throw new IvfError('the stream does not begin with an IVF header', 'BAD_HEADER');
      const size = data.readUInt16LE(6);
      data = data.subarray(Math.max(FILE_HEADER, size));
      this.headerSeen = true;
    }
    let offset = 0;
    while (offset + FRAME_HEADER <= data.length) {
      const size = data.readUInt32LE(offset);
      if (size > MAX_FRAME_BYTES) throw new IvfError(`an IVF frame of ${size} bytes`, 'FRAME_TOO_LARGE');
      if (offset + FRAME_HEADER + size > data.length) break;
      frames.push({ data: Buffer.from(data.subarray(offset + FRAME_HEADER, offset + FRAME_HEADER + size)), pts: Number(data.readBigUInt64LE(offset + 4)) });
      offset += FRAME_HEADER + size;
    }
    this.pending = offset === data.length ? Buffer.alloc(0) : Buffer.from(data.subarray(offset));
    return frames;
  }
}
