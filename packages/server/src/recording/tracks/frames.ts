/**
 * Video frames from ordered RTP packets (pure): packets of one timestamp make a frame; a frame is
 * whole when its packets are consecutive, the first begins a frame and the last has the marker.
 * A decoder fed a broken frame, or a frame referring to one, shows corruption (and `ffmpeg -v
 * error` reports it), so after a broken frame every frame is left out up to the next whole
 * keyframe, and so is everything before the first one.
 */
import { startsKeyframe } from '../../sfu/rtp/keyframe.js';
import { av1Begins, av1TemporalUnit } from './av1.js';
import { payloadPart, vp8FrameSize, type PacketizedVideoCodec } from './depacketize.js';
import type { VideoCodecName } from '../../sfu/rtp/keyframe.js';
import type { OrderedPacket } from './packet-order.js';

export interface VideoFrame {
  /** Unwrapped RTP timestamp. */
  timestamp: number;
  data: Buffer;
  keyframe: boolean;
}

export interface FrameAssembly {
  frames: VideoFrame[];
  /** Frames missing a packet (loss the publisher never repaired). */
  broken: number;
  /** Whole frames left out while waiting for a keyframe (after a broken one, or before the first). */
  skipped: number;
  /** Payloads the depacketizer could not read. */
  unreadable: number;
  /** The picture size of the first keyframe, when the payload says it (VP8 header, VP9 SS). */
  size: { width: number; height: number } | undefined;
}

export function assembleFrames(codec: VideoCodecName, packets: readonly OrderedPacket[]): FrameAssembly {
  const result: FrameAssembly = { frames: [], broken: 0, skipped: 0, unreadable: 0, size: undefined };
  let waitingForKeyframe = true;
  let index = 0;
  while (index < packets.length) {
    const first = packets[index]!;
    let end = index + 1;
    while (end < packets.length && packets[end]!.timestamp === first.timestamp) end++;
    const group = packets.slice(index, end);
    index = end;
    const frame = buildFrame(codec, group, result);
    if (!frame) {
      waitingForKeyframe = true;
      continue;
    }
    if (waitingForKeyframe && !frame.keyframe) {
      result.skipped += 1;
      continue;
    }
    waitingForKeyframe = false;
    result.frames.push(frame);
  }
  return result;
}

function buildFrame(codec: VideoCodecName, group: readonly OrderedPacket[], result: FrameAssembly): VideoFrame | undefined {
  const first = group[0]!;
  const last = group[group.length - 1]!;
  const consecutive = last.sequence - first.sequence + 1 === group.length;
  // H.264's single NAL packets cannot say they begin a frame: a hole right before one means its start was lost.
  const startSeen = codec !== 'h264' || !first.afterHole;
  const parts: Buffer[] = [];
  let begins = false;
  let size: FrameAssembly['size'];
  try {
    if (codec === 'av1') {
      begins = av1Begins(first.payload);
      parts.push(av1TemporalUnit(group.map((packet) => packet.payload)));
    } else {
      group.forEach((packet, position) => {
        const part = payloadPart(codec, packet.payload);
        if (position === 0) begins = part.begins;
        size ??= part.size;
        parts.push(...part.data);
      });
    }
  } catch {
    result.unreadable += 1;
    result.broken += 1;
    return undefined;
  }
  if (!consecutive || !begins || !last.marker || !startSeen) {
    result.broken += 1;
    return undefined;
  }
  const data = Buffer.concat(parts);
  const keyframe = startsKeyframe(codec, first.payload);
  if (keyframe && !result.size) result.size = size ?? (codec === 'vp8' ? vp8FrameSize(data) : undefined);
  return { timestamp: first.timestamp, data, keyframe };
}
