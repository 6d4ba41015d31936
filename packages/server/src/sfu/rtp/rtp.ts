/**
 * RTP header access on raw packets (RFC 3550), in place and allocation-free: the forwarding hot
 * path rewrites one received buffer for each subscriber just before the engine copies it out.
 */

/** RTP and RTCP share a port (RFC 5761): RTCP packet types 192-223 land in the RTP PT+marker byte. */
export function isRtcp(packet: Buffer): boolean {
  const type = packet[1]!;
  return type >= 192 && type <= 223;
}

export function isRtp(packet: Buffer): boolean {
  return packet.length >= 12 && packet[0]! >> 6 === 2 && !isRtcp(packet);
}

export const payloadType = (packet: Buffer): number => packet[1]! & 0x7f;
export const marker = (packet: Buffer): boolean => (packet[1]! & 0x80) !== 0;
export const sequenceNumber = (packet: Buffer): number => packet.readUInt16BE(2);
export const timestamp = (packet: Buffer): number => packet.readUInt32BE(4);
export const ssrc = (packet: Buffer): number => packet.readUInt32BE(8);

/** Offset of the first payload byte, or -1 when the header does not fit the packet. */
export function payloadOffset(packet: Buffer): number {
  let offset = 12 + (packet[0]! & 0x0f) * 4;
  if (packet[0]! & 0x10) {
    if (packet.length < offset + 4) return -1;
    offset += 4 + packet.readUInt16BE(offset + 2) * 4;
  }
  return offset <= packet.length ? offset : -1;
}

/** Payload length without RTP padding. */
export function payloadEnd(packet: Buffer): number {
  return packet[0]! & 0x20 ? packet.length - packet[packet.length - 1]! : packet.length;
}

/**
 * The value of header extension `id` (RFC 8285 one-byte or two-byte form), or undefined.
 * Returns a view into the packet: read it before the packet is rewritten.
 */
export function headerExtension(packet: Buffer, id: number): Buffer | undefined {
  if (!(packet[0]! & 0x10) || id <= 0) return undefined;
  const start = 12 + (packet[0]! & 0x0f) * 4;
  if (packet.length < start + 4) return undefined;
  const profile = packet.readUInt16BE(start);
  const end = start + 4 + packet.readUInt16BE(start + 2) * 4;
  if (end > packet.length) return undefined;
  const oneByte = profile === 0xbede;
  if (!oneByte && (profile & 0xfff0) !== 0x1000) return undefined;
  let offset = start + 4;
  while (offset < end) {
    const first = packet[offset]!;
    if (first === 0) {
      offset += 1; // padding
      continue;
    }
    let elementId: number;
    let length: number;
    if (oneByte) {
      elementId = first >> 4;
      length = (first & 0x0f) + 1;
      if (elementId === 15) return undefined;
      offset += 1;
    } else {
      if (offset + 1 >= end) return undefined;
      elementId = first;
      length = packet[offset + 1]!;
      offset += 2;
    }
    if (offset + length > end) return undefined;
    if (elementId === id) return packet.subarray(offset, offset + length);
    offset += length;
  }
  return undefined;
}

/** Overwrites the fields a subscriber's stream owns. */
export function rewriteHeader(packet: Buffer, newSsrc: number, newPayloadType: number, newSequence: number, newTimestamp: number): void {
  packet[1] = (packet[1]! & 0x80) | newPayloadType;
  packet.writeUInt16BE(newSequence & 0xffff, 2);
  packet.writeUInt32BE(newTimestamp >>> 0, 4);
  packet.writeUInt32BE(newSsrc >>> 0, 8);
}

/** Signed distance from `a` to `b` in 16-bit sequence space (positive when b is newer). */
export function sequenceDelta(a: number, b: number): number {
  return ((b - a + 0x8000) & 0xffff) - 0x8000;
}
