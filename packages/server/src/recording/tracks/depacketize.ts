/**
 * RTP payloads back to the codec's own frames (pure): VP8 (RFC 7741), VP9 (RFC 9628) and H.264
 * (RFC 6184, to Annex B byte stream). Each codec answers, per packet, whether it begins a frame and
 * the bytes it adds to the frame.
 */
import type { VideoCodecName } from '../../sfu/rtp/keyframe.js';

/** The codecs whose frames are the concatenation of per-packet parts (AV1 is `av1.ts`: its OBUs span packets). */
export type PacketizedVideoCodec = Exclude<VideoCodecName, 'av1'>;

export interface PayloadPart {
  /** The packet starts a frame (VP8: S=1 and partition 0; VP9: B=1; H.264: not an FU-A continuation). */
  begins: boolean;
  /** The frame's bytes this packet carries. */
  data: Buffer[];
  /** Picture size carried in the payload (VP9's scalability structure), when it has one. */
  size?: { width: number; height: number };
}

export class DepacketizeError extends Error {
  override name = 'DepacketizeError';
  constructor(
    message: string,
    readonly code: 'TRUNCATED' | 'UNSUPPORTED',
  ) {
    super(message);
  }
}

function need(payload: Buffer, bytes: number, codec: string): void {
  if (payload.length < bytes) throw new DepacketizeError(`${codec} payload of ${payload.length} bytes ends inside its descriptor`, 'TRUNCATED');
}

/** VP8 payload descriptor (RFC 7741 4.2): X, then I (7/15-bit PictureID), L (TL0PICIDX), T/K. */
export function vp8Part(payload: Buffer): PayloadPart {
  need(payload, 1, 'VP8');
  const first = payload[0]!;
  let offset = 1;
  if (first & 0x80) {
    need(payload, 2, 'VP8');
    const extension = payload[offset++]!;
    if (extension & 0x80) {
      need(payload, offset + 1, 'VP8');
      offset += payload[offset]! & 0x80 ? 2 : 1;
    }
    if (extension & 0x40) offset += 1;
    if (extension & 0x30) offset += 1;
  }
  need(payload, offset, 'VP8');
  return { begins: (first & 0x10) !== 0 && (first & 0x07) === 0, data: [payload.subarray(offset)] };
}

/**
 * VP9 payload descriptor (RFC 9628 4.2): I P L F B E V Z, PictureID, layer indices (and TL0PICIDX
 * in non-flexible mode), reference diffs (flexible mode), the scalability structure. One spatial
 * layer is assumed (what a simulcast publisher sends): each picture is one frame.
 */
export function vp9Part(payload: Buffer): PayloadPart {
  need(payload, 1, 'VP9');
  const first = payload[0]!;
  const bit = (mask: number) => (first & mask) !== 0;
  const [pictureId, interPredicted, layers, flexible, begins, scalability] = [bit(0x80), bit(0x40), bit(0x20), bit(0x10), bit(0x08), bit(0x02)];
  let offset = 1;
  if (pictureId) {
    need(payload, offset + 1, 'VP9');
    offset += payload[offset]! & 0x80 ? 2 : 1;
  }
  if (layers) offset += flexible ? 1 : 2;
  if (flexible && interPredicted) {
    for (let diffs = 0; diffs < 3; diffs++) {
      need(payload, offset + 1, 'VP9');
      if ((payload[offset++]! & 0x01) === 0) break;
    }
  }
  let size: PayloadPart['size'];
  if (scalability) {
    need(payload, offset + 1, 'VP9');
    const ss = payload[offset++]!;
    const spatialLayers = (ss >> 5) + 1;
    if (ss & 0x10) {
      need(payload, offset + 4 * spatialLayers, 'VP9');
      size = { width: payload.readUInt16BE(offset), height: payload.readUInt16BE(offset + 2) };
      offset += 4 * spatialLayers;
    }
    if (ss & 0x08) {
      need(payload, offset + 1, 'VP9');
      const groups = payload[offset++]!;
      for (let group = 0; group < groups; group++) {
        need(payload, offset + 1, 'VP9');
        const references = (payload[offset]! >> 2) & 0x03;
        offset += 1 + references;
      }
    }
  }
  need(payload, offset, 'VP9');
  return { begins, data: [payload.subarray(offset)], ...(size ? { size } : {}) };
}

const START_CODE = Buffer.from([0, 0, 0, 1]);

/** H.264 (RFC 6184, non-interleaved mode): single NAL units, STAP-A and FU-A, as an Annex B byte stream. */
export function h264Part(payload: Buffer): PayloadPart {
  need(payload, 1, 'H.264');
  const type = payload[0]! & 0x1f;
  if (type >= 1 && type <= 23) return { begins: true, data: [START_CODE, payload] };
  if (type === 24) {
    const data: Buffer[] = [];
    for (let offset = 1; offset < payload.length; ) {
      need(payload, offset + 2, 'H.264 STAP-A');
      const size = payload.readUInt16BE(offset);
      need(payload, offset + 2 + size, 'H.264 STAP-A');
      data.push(START_CODE, payload.subarray(offset + 2, offset + 2 + size));
      offset += 2 + size;
    }
    return { begins: true, data };
  }
  if (type === 28) {
    need(payload, 2, 'H.264 FU-A');
    const header = payload[1]!;
    if (header & 0x80) return { begins: true, data: [START_CODE, Buffer.from([(payload[0]! & 0xe0) | (header & 0x1f)]), payload.subarray(2)] };
    return { begins: false, data: [payload.subarray(2)] };
  }
  throw new DepacketizeError(`H.264 NAL unit type ${type} (STAP-B, MTAP, FU-B) belongs to the interleaved mode, which WebRTC does not use`, 'UNSUPPORTED');
}

export function payloadPart(codec: PacketizedVideoCodec, payload: Buffer): PayloadPart {
  switch (codec) {
    case 'vp8':
      return vp8Part(payload);
    case 'vp9':
      return vp9Part(payload);
    case 'h264':
      return h264Part(payload);
  }
}

/** Width and height from a VP8 keyframe's header (RFC 6386 9.1), or undefined for an interframe. */
export function vp8FrameSize(frame: Buffer): { width: number; height: number } | undefined {
  if (frame.length < 10 || (frame[0]! & 0x01) !== 0 || frame[3] !== 0x9d || frame[4] !== 0x01 || frame[5] !== 0x2a) return undefined;
  return { width: frame.readUInt16LE(6) & 0x3fff, height: frame.readUInt16LE(8) & 0x3fff };
}
