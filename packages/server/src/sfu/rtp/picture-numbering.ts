/**
 * VP8 and VP9 number their pictures in the payload descriptor (PictureID, TL0PICIDX), and
 * receivers use these numbers to find each frame's references. Every simulcast layer counts on
 * its own, so a subscriber switched between layers must see them continue, like its sequence
 * numbers: a jump makes the receiver wait for pictures that will never come (a frozen picture
 * until the next keyframe, as Chromium's reference finder does).
 */
import type { VideoCodecName } from './keyframe.js';

/** Where one packet keeps its picture numbers (byte offsets into the packet) and their values. */
export interface PictureNumbering {
  /** -1 when the descriptor carries no PictureID. */
  readonly pictureIdAt: number;
  /** 7 or 15. */
  readonly pictureIdBits: number;
  readonly pictureId: number;
  /** -1 when the descriptor carries no TL0PICIDX. */
  readonly tl0PicIdxAt: number;
  readonly tl0PicIdx: number;
}

/** The picture numbers of a VP8 (RFC 7741) or VP9 (RFC 9628) packet; undefined for other codecs or none. */
export function readPictureNumbering(codec: VideoCodecName | 'opus', packet: Buffer, payloadStart: number): PictureNumbering | undefined {
  if (payloadStart < 0 || payloadStart >= packet.length) return undefined;
  if (codec === 'vp8') return readVp8(packet, payloadStart);
  if (codec === 'vp9') return readVp9(packet, payloadStart);
  return undefined;
}

/** Writes new picture numbers in place; each keeps its field's width (7-bit PictureIDs wrap at 128). */
export function writePictureNumbering(packet: Buffer, numbering: PictureNumbering, pictureId: number, tl0PicIdx: number): void {
  if (numbering.pictureIdAt >= 0) {
    if (numbering.pictureIdBits === 15) packet.writeUInt16BE(0x8000 | (pictureId & 0x7fff), numbering.pictureIdAt);
    else packet[numbering.pictureIdAt] = pictureId & 0x7f;
  }
  if (numbering.tl0PicIdxAt >= 0) packet[numbering.tl0PicIdxAt] = tl0PicIdx & 0xff;
}

/** X bit, then I (PictureID), L (TL0PICIDX) in the extension byte. */
function readVp8(packet: Buffer, start: number): PictureNumbering | undefined {
  if ((packet[start]! & 0x80) === 0) return undefined;
  const extension = packet[start + 1];
  if (extension === undefined) return undefined;
  const picture = readPictureId(packet, start + 2, (extension & 0x80) !== 0);
  if (!picture) return undefined;
  const tl0PicIdxAt = extension & 0x40 && picture.next < packet.length ? picture.next : -1;
  return finish(picture, tl0PicIdxAt, packet);
}

/** I (PictureID) and L (layer indices, followed by TL0PICIDX in non-flexible mode) in the first byte. */
function readVp9(packet: Buffer, start: number): PictureNumbering | undefined {
  const first = packet[start]!;
  const picture = readPictureId(packet, start + 1, (first & 0x80) !== 0);
  if (!picture) return undefined;
  const nonFlexibleLayerIndices = (first & 0x20) !== 0 && (first & 0x10) === 0;
  const tl0PicIdxAt = nonFlexibleLayerIndices && picture.next + 1 < packet.length ? picture.next + 1 : -1;
  return finish(picture, tl0PicIdxAt, packet);
}

interface PictureIdField {
  at: number;
  bits: number;
  value: number;
  /** The offset of the field after it. */
  next: number;
}

/** The PictureID field at `at` if the descriptor says it is `present` (M bit: 15 bits, else 7); undefined if cut short. */
function readPictureId(packet: Buffer, at: number, present: boolean): PictureIdField | undefined {
  if (!present) return { at: -1, bits: 7, value: 0, next: at };
  const high = packet[at];
  if (high === undefined) return undefined;
  if ((high & 0x80) === 0) return { at, bits: 7, value: high & 0x7f, next: at + 1 };
  const low = packet[at + 1];
  return low === undefined ? undefined : { at, bits: 15, value: ((high & 0x7f) << 8) | low, next: at + 2 };
}

function finish(picture: PictureIdField, tl0PicIdxAt: number, packet: Buffer): PictureNumbering | undefined {
  if (picture.at < 0 && tl0PicIdxAt < 0) return undefined;
  return { pictureIdAt: picture.at, pictureIdBits: picture.bits, pictureId: picture.value, tl0PicIdxAt, tl0PicIdx: tl0PicIdxAt >= 0 ? packet[tl0PicIdxAt]! : 0 };
}
