/** RTP packets for the server recording tests: a plain packetizer (RFC 3550 header, VP8 and Opus payloads). */

export interface RtpFields {
  sequence: number;
  timestamp: number;
  payload: Buffer;
  marker?: boolean;
  ssrc?: number;
  payloadType?: number;
}

export function rtpPacket(fields: RtpFields): Buffer {
  const header = Buffer.alloc(12);
  header[0] = 0x80;
  header[1] = (fields.marker ? 0x80 : 0) | (fields.payloadType ?? 96);
  header.writeUInt16BE(fields.sequence & 0xffff, 2);
  header.writeUInt32BE(fields.timestamp >>> 0, 4);
  header.writeUInt32BE(fields.ssrc ?? 0x1234, 8);
  return Buffer.concat([header, fields.payload]);
}

/** Frames given as payload parts (descriptor included) to packets numbered from `first`, the marker on each frame's last. */
export function vp8Packets(frames: Array<{ timestamp: number; parts: Buffer[] }>, first = 1): Array<{ sequence: number; packet: Buffer }> {
  const out: Array<{ sequence: number; packet: Buffer }> = [];
  let sequence = first;
  for (const frame of frames) {
    frame.parts.forEach((payload, i) => {
      out.push({ sequence, packet: rtpPacket({ sequence, timestamp: frame.timestamp, payload, marker: i === frame.parts.length - 1 }) });
      sequence += 1;
    });
  }
  return out;
}

/** A VP8 frame split into RTP payloads of at most `mtu` bytes, each with a 1-byte descriptor (S on the first). */
export function packetizeVp8(frame: Buffer, mtu = 1000): Buffer[] {
  const parts: Buffer[] = [];
  for (let offset = 0; offset < frame.length; offset += mtu) parts.push(Buffer.concat([Buffer.from([offset === 0 ? 0x10 : 0x00]), frame.subarray(offset, offset + mtu)]));
  return parts;
}

/** The frames of an IVF file: [pts, data]. */
export function readIvf(file: Buffer): Array<{ pts: number; data: Buffer }> {
  const frames: Array<{ pts: number; data: Buffer }> = [];
  for (let offset = file.readUInt16LE(6); offset + 12 <= file.length; ) {
    const size = file.readUInt32LE(offset);
    frames.push({ pts: Number(file.readBigUInt64LE(offset + 4)), data: file.subarray(offset + 12, offset + 12 + size) });
    offset += 12 + size;
  }
  return frames;
}

/** The packets of an Ogg stream (after its two header packets). */
export function readOggPackets(file: Buffer): Buffer[] {
  const packets: Buffer[] = [];
  let current: Buffer[] = [];
  for (let offset = 0; offset + 27 <= file.length; ) {
    const segments = file[offset + 26]!;
    let data = offset + 27 + segments;
    for (let i = 0; i < segments; i++) {
      const size = file[offset + 27 + i]!;
      current.push(file.subarray(data, data + size));
      data += size;
      if (size < 255) {
        packets.push(Buffer.concat(current));
        current = [];
      }
    }
    offset = data;
  }
  return packets.slice(2);
}

/** An H.264 Annex B stream's NAL units grouped into access units (a new one at an SPS, an AUD, or a slice with first_mb_in_slice 0). */
export function h264AccessUnits(stream: Buffer): Buffer[][] {
  const nals: Buffer[] = [];
  let start = -1;
  for (let i = 0; i + 3 <= stream.length; ) {
    const startCode = stream[i] === 0 && stream[i + 1] === 0 ? (stream[i + 2] === 1 ? 3 : stream[i + 2] === 0 && stream[i + 3] === 1 ? 4 : 0) : 0;
    if (startCode === 0) {
      i += 1;
      continue;
    }
    if (start >= 0) nals.push(stream.subarray(start, i));
    start = i + startCode;
    i += startCode;
  }
  if (start >= 0) nals.push(stream.subarray(start));
  const units: Buffer[][] = [];
  let current: Buffer[] = [];
  let sliceSeen = false;
  for (const nal of nals) {
    const type = nal[0]! & 0x1f;
    const slice = type === 1 || type === 5;
    if (sliceSeen && (type === 7 || type === 9 || (slice && (nal[1]! & 0x80) !== 0))) {
      units.push(current);
      current = [];
      sliceSeen = false;
    }
    current.push(nal);
    if (slice) sliceSeen = true;
  }
  if (current.length > 0) units.push(current);
  return units;
}

/** One access unit as RTP payloads (RFC 6184): small NAL units alone, larger ones as FU-A fragments. */
export function packetizeH264(unit: Buffer[], mtu = 1000): Buffer[] {
  const payloads: Buffer[] = [];
  for (const nal of unit) {
    if (nal.length <= mtu) {
      payloads.push(nal);
      continue;
    }
    for (let offset = 1; offset < nal.length; offset += mtu) {
      const header = (offset === 1 ? 0x80 : 0) | (offset + mtu >= nal.length ? 0x40 : 0) | (nal[0]! & 0x1f);
      payloads.push(Buffer.concat([Buffer.from([(nal[0]! & 0xe0) | 28, header]), nal.subarray(offset, offset + mtu)]));
    }
  }
  return payloads;
}

/** A VP9 frame as RTP payloads (RFC 9628, one spatial layer): B on the first, E on the last, P unless a keyframe. */
export function packetizeVp9(frame: Buffer, mtu = 1000): Buffer[] {
  // Profile 0 uncompressed header: frame_type is bit 2 of the first byte (0: keyframe).
  const interPredicted = (frame[0]! & 0x04) !== 0;
  const payloads: Buffer[] = [];
  for (let offset = 0; offset < frame.length; offset += mtu) {
    const descriptor = (interPredicted ? 0x40 : 0) | (offset === 0 ? 0x08 : 0) | (offset + mtu >= frame.length ? 0x04 : 0);
    payloads.push(Buffer.concat([Buffer.from([descriptor]), frame.subarray(offset, offset + mtu)]));
  }
  return payloads;
}

/**
 * An AV1 temporal unit (low-overhead OBUs with sizes, as IVF holds it) as RTP payloads: each OBU
 * without its size field in its own packet (W=1), fragmented with Z/Y past `mtu`, temporal
 * delimiters dropped, N set when the unit carries a sequence header.
 */
export function packetizeAv1(unit: Buffer, mtu = 1000): Buffer[] {
  const elements: Buffer[] = [];
  let newSequence = false;
  for (let offset = 0; offset < unit.length; ) {
    const header = unit[offset]!;
    const headerBytes = header & 0x04 ? 2 : 1;
    let size = 0;
    let next = offset + headerBytes;
    for (let shift = 0; ; shift += 7) {
      const byte = unit[next++]!;
      size += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) break;
    }
    const type = (header >> 3) & 0x0f;
    if (type === 1) newSequence = true;
    if (type !== 2) elements.push(Buffer.concat([Buffer.from([header & ~0x02]), unit.subarray(offset + 1, offset + headerBytes), unit.subarray(next, next + size)]));
    offset = next + size;
  }
  const payloads: Buffer[] = [];
  elements.forEach((element) => {
    for (let offset = 0; offset < element.length; offset += mtu) {
      const z = offset > 0 ? 0x80 : 0;
      const y = offset + mtu < element.length ? 0x40 : 0;
      const n = newSequence && payloads.length === 0 ? 0x08 : 0;
      payloads.push(Buffer.concat([Buffer.from([z | y | 0x10 | n]), element.subarray(offset, offset + mtu)]));
    }
  });
  return payloads;
}
