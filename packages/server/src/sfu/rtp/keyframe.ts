import type { VideoCodecName } from '@parley/protocol/vocabulary';

export type { VideoCodecName };

/**
 * Whether an RTP payload starts a keyframe, per codec. A subscriber may switch to a new stream
 * (simulcast layer, new publisher) only there, or its decoder would show corruption.
 */
export function startsKeyframe(codec: VideoCodecName, payload: Buffer): boolean {
  if (payload.length === 0) return false;
  switch (codec) {
    case 'vp8':
      return vp8Keyframe(payload);
    case 'vp9':
      return vp9Keyframe(payload);
    case 'h264':
      return h264Keyframe(payload);
    case 'av1':
      return av1Keyframe(payload);
  }
}

/** RFC 7741: payload descriptor, then the VP8 frame header whose P bit is 0 on keyframes. */
function vp8Keyframe(p: Buffer): boolean {
  const first = p[0]!;
  const startOfPartition = (first & 0x10) !== 0;
  const partitionId = first & 0x07; // the bit above PID is reserved: receivers ignore it
  if (!startOfPartition || partitionId !== 0) return false;
  let offset = 1;
  if (first & 0x80) {
    const extension = p[offset++];
    if (extension === undefined) return false;
    if (extension & 0x80) offset += (p[offset] ?? 0) & 0x80 ? 2 : 1; // PictureID, 7 or 15 bits
    if (extension & 0x40) offset += 1; // TL0PICIDX
    if (extension & 0x30) offset += 1; // TID/KEYIDX
  }
  const header = p[offset];
  return header !== undefined && (header & 0x01) === 0;
}

/** RFC 9628 (VP9): not inter-predicted (P=0) and the beginning of a frame (B=1). */
function vp9Keyframe(p: Buffer): boolean {
  const first = p[0]!;
  const interPredicted = (first & 0x40) !== 0;
  const beginsFrame = (first & 0x08) !== 0;
  return !interPredicted && beginsFrame;
}

const H264_IDR = 5;
const H264_SPS = 7;
const isH264KeyNal = (type: number): boolean => type === H264_IDR || type === H264_SPS;

/** RFC 6184: an IDR or SPS NAL unit, alone, inside a STAP-A, or at the start of an FU-A. */
function h264Keyframe(p: Buffer): boolean {
  const type = p[0]! & 0x1f;
  if (type === 24) {
    for (let offset = 1; offset + 2 < p.length; ) {
      const size = p.readUInt16BE(offset);
      const nal = p[offset + 2];
      if (nal !== undefined && isH264KeyNal(nal & 0x1f)) return true;
      offset += 2 + size;
    }
    return false;
  }
  if (type === 28) {
    const header = p[1];
    return header !== undefined && (header & 0x80) !== 0 && isH264KeyNal(header & 0x1f);
  }
  return isH264KeyNal(type);
}

/** AV1 RTP spec: the N bit of the aggregation header marks the first packet of a coded video sequence. */
function av1Keyframe(p: Buffer): boolean {
  return (p[0]! & 0x08) !== 0;
}
