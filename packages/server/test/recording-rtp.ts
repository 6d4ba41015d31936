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
