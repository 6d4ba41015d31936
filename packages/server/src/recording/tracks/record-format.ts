/**
 * The raw record files of a server recording, and the frames that carry their records from an SFU
 * worker to the recorder process. Pure: no I/O.
 *
 * File (`*.prec`, one per recorded track and worker connection): a sequence of records
 *
 *   u32 BE  body length
 *   u32 BE  CRC-32 of the body
 *   body:   u8 type | u8 layer | u16 reserved (0) | f64 BE arrival (ms since the Unix epoch) | payload
 *
 * appended as they arrive and never rewritten. A crash can leave the last record torn (cut short,
 * or zeros where the kernel had not written the data yet): its length or CRC does not match, and
 * the reader stops there, keeping every record before it.
 *
 * Wire (worker -> recorder, one TCP stream per worker connection): `u32 BE length | u16 BE track |
 * body`, the body being the file's. The recorder checks a frame's shape and appends its body,
 * with the CRC, to the track's file.
 */
import type { VideoCodecName } from '@parley/protocol/vocabulary';
import { crc32 } from 'node:zlib';

export const RecordType = {
  /** The first record of every file: the track's description (JSON, `TrackDescription`). */
  track: 1,
  /** One RTP packet with a payload, as received from the publisher (decrypted, header untouched). */
  rtp: 2,
  /** The publisher's RTCP sender report for this layer's SSRC (`SenderReportRecord`, 16 bytes). */
  senderReport: 3,
  /** A padding-only RTP packet: its 12-byte fixed header only (so its sequence number is no hole). */
  padding: 4,
  /** Wire only: the first frame of a connection, `{ recording, secret }` (JSON). */
  hello: 5,
} as const;
export type RecordType = (typeof RecordType)[keyof typeof RecordType];

/** What the recorder and the export need to know about a recorded track. */
export interface TrackDescription {
  trackId: string;
  participant: string;
  /** The publisher's display name, when signaling gave one (the MCU grid's placeholder shows it). */
  name?: string;
  source: string;
  kind: 'audio' | 'video';
  codec: VideoCodecName | 'opus';
  payloadType: number;
  clockRate: number;
  /** Simulcast rids, lowest first; empty for a single stream (layer 0). */
  rids: string[];
  /** Opus channels (2 in WebRTC's SDP), absent for video. */
  channels?: number;
}

export interface RawRecord {
  type: RecordType;
  layer: number;
  /** Milliseconds since the Unix epoch, with fractions, when the SFU worker received it. */
  arrivalMs: number;
  payload: Buffer;
}

export interface SenderReportRecord {
  ssrc: number;
  ntpSeconds: number;
  ntpFraction: number;
  rtpTimestamp: number;
}

const BODY_HEADER = 12;
const FILE_HEADER = 8;
const WIRE_HEADER = 6;
/** No record is larger: an RTP packet is < 1500 bytes, a description a few hundred. */
export const MAX_BODY = 64 * 1024;

export class RecordFormatError extends Error {
  override name = 'RecordFormatError';
  constructor(
    message: string,
    readonly code: 'FRAME_TOO_LARGE' | 'BAD_FRAME',
  ) {
    super(message);
  }
}

function writeBody(target: Buffer, offset: number, type: RecordType, layer: number, arrivalMs: number, payload: Uint8Array): number {
  target[offset] = type;
  target[offset + 1] = layer;
  target.writeUInt16BE(0, offset + 2);
  target.writeDoubleBE(arrivalMs, offset + 4);
  target.set(payload, offset + BODY_HEADER);
  return offset + BODY_HEADER + payload.length;
}

/** Bytes one wire frame of `payloadLength` takes. */
export const wireFrameSize = (payloadLength: number): number => WIRE_HEADER + BODY_HEADER + payloadLength;

/** Writes one wire frame at `offset` (the caller made room: `wireFrameSize`); answers the offset after it. */
export function writeWireFrame(target: Buffer, offset: number, track: number, type: RecordType, layer: number, arrivalMs: number, payload: Uint8Array): number {
  target.writeUInt32BE(2 + BODY_HEADER + payload.length, offset);
  target.writeUInt16BE(track, offset + 4);
  return writeBody(target, offset + WIRE_HEADER, type, layer, arrivalMs, payload);
}

/** One file record for `body` (a wire frame's body). */
export function fileRecord(body: Buffer): Buffer {
  const record = Buffer.allocUnsafe(FILE_HEADER + body.length);
  record.writeUInt32BE(body.length, 0);
  record.writeUInt32BE(crc32(body), 4);
  body.copy(record, FILE_HEADER);
  return record;
}

/** A file record made from its parts (tests, and the recorder's own records). */
export function encodeRecord(type: RecordType, layer: number, arrivalMs: number, payload: Uint8Array): Buffer {
  const body = Buffer.allocUnsafe(BODY_HEADER + payload.length);
  writeBody(body, 0, type, layer, arrivalMs, payload);
  return fileRecord(body);
}

function readBody(body: Buffer): RawRecord {
  return { type: body[0] as RecordType, layer: body[1]!, arrivalMs: body.readDoubleBE(4), payload: body.subarray(BODY_HEADER) };
}

/**
 * Every whole record of a file, in file order, and where the intact part ends: a torn or corrupt
 * record stops the reading (nothing after it can be trusted to be aligned).
 */
export function readRecords(file: Buffer): { records: RawRecord[]; validBytes: number; torn: boolean } {
  const records: RawRecord[] = [];
  let offset = 0;
  while (offset + FILE_HEADER <= file.length) {
    const length = file.readUInt32BE(offset);
    if (length < BODY_HEADER || length > MAX_BODY || offset + FILE_HEADER + length > file.length) break;
    const body = file.subarray(offset + FILE_HEADER, offset + FILE_HEADER + length);
    if (crc32(body) !== file.readUInt32BE(offset + 4)) break;
    records.push(readBody(body));
    offset += FILE_HEADER + length;
  }
  return { records, validBytes: offset, torn: offset !== file.length };
}

/**
 * Splits a TCP stream into wire frames: `push` each chunk as it comes, get the whole frames it
 * completed (a frame may span chunks). A frame too large or too small to be one is an error: the
 * connection is not a worker's.
 */
export class WireFrameReader {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Array<{ track: number; type: RecordType; body: Buffer }> {
    const data = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: Array<{ track: number; type: RecordType; body: Buffer }> = [];
    let offset = 0;
    while (offset + 4 <= data.length) {
      const length = data.readUInt32BE(offset);
      if (length > MAX_BODY + 2) throw new RecordFormatError(`a frame of ${length} bytes is larger than any record`, 'FRAME_TOO_LARGE');
      if (length < 2 + BODY_HEADER) throw new RecordFormatError(`a frame of ${length} bytes is smaller than a record header`, 'BAD_FRAME');
      if (offset + 4 + length > data.length) break;
      const body = data.subarray(offset + WIRE_HEADER, offset + 4 + length);
      frames.push({ track: data.readUInt16BE(offset + 4), type: body[0] as RecordType, body });
      offset += 4 + length;
    }
    // Copy the unfinished tail: it must not pin the (possibly large) chunk it came in.
    this.pending = offset === data.length ? Buffer.alloc(0) : Buffer.from(data.subarray(offset));
    return frames;
  }

  /** Body payload of a frame (after the record header). */
  static payload(body: Buffer): Buffer {
    return body.subarray(BODY_HEADER);
  }
}

export function encodeSenderReport(report: SenderReportRecord): Buffer {
  const payload = Buffer.allocUnsafe(16);
  payload.writeUInt32BE(report.ssrc >>> 0, 0);
  payload.writeUInt32BE(report.ntpSeconds >>> 0, 4);
  payload.writeUInt32BE(report.ntpFraction >>> 0, 8);
  payload.writeUInt32BE(report.rtpTimestamp >>> 0, 12);
  return payload;
}

export function decodeSenderReport(payload: Buffer): SenderReportRecord | undefined {
  if (payload.length < 16) return undefined;
  return { ssrc: payload.readUInt32BE(0), ntpSeconds: payload.readUInt32BE(4), ntpFraction: payload.readUInt32BE(8), rtpTimestamp: payload.readUInt32BE(12) };
}
