/**
 * Header extensions (RFC 8285) between two numberings: a publisher's packets carry the ids its own
 * offer chose, and a subscriber's connection (one BUNDLE, where an id means one thing on every
 * m-line) has the ids the SFU offered it. The SFU renumbers once per packet, in place, before the
 * fan-out; elements subscribers have no use for become padding (zero bytes), so nothing moves.
 */

/** The ids the SFU offers subscribers. Chromium's own choices, so its logs read the same. */
export const SubscriberExtensionId = { audioLevel: 1, transportSequence: 3 } as const;

/** Publisher id -> subscriber id (0: erase). Ids are 1-255 (two-byte form); 256 entries. */
export type ExtensionIdMap = Uint8Array;

export function extensionIdMap(pairs: ReadonlyArray<readonly [from: number | undefined, to: number]>): ExtensionIdMap {
  const map = new Uint8Array(256);
  for (const [from, to] of pairs) if (from !== undefined && from > 0 && from < 256) map[from] = to;
  return map;
}

/**
 * Renumbers the packet's header extension elements in place by `map`, erasing the unmapped ones.
 * Returns false (packet unchanged from the first malformed element on) when the block is
 * malformed; such a packet still forwards, its extensions are then simply not understood.
 */
export function renumberExtensions(packet: Buffer, map: ExtensionIdMap): boolean {
  if (!(packet[0]! & 0x10)) return true;
  const start = 12 + (packet[0]! & 0x0f) * 4;
  if (packet.length < start + 4) return false;
  const profile = packet.readUInt16BE(start);
  const end = start + 4 + packet.readUInt16BE(start + 2) * 4;
  if (end > packet.length) return false;
  const oneByte = profile === 0xbede;
  if (!oneByte && (profile & 0xfff0) !== 0x1000) return true; // not RFC 8285: left alone
  let offset = start + 4;
  while (offset < end) {
    const first = packet[offset]!;
    if (first === 0) {
      offset += 1;
      continue;
    }
    const headerBytes = oneByte ? 1 : 2;
    if (oneByte && first >> 4 === 15) return true; // "stop parsing here" (RFC 8285 4.2)
    if (offset + headerBytes > end) return false;
    const id = oneByte ? first >> 4 : first;
    const length = oneByte ? (first & 0x0f) + 1 : packet[offset + 1]!;
    const next = offset + headerBytes + length;
    if (next > end) return false;
    const to = map[id]!;
    if (to === 0) packet.fill(0, offset, next);
    else packet[offset] = oneByte ? (to << 4) | (first & 0x0f) : to;
    offset = next;
  }
  return true;
}

/**
 * A copy of the packet with one more one-byte-form element (`id`, `length` zero bytes), for a
 * packet that lacks a field the SFU writes per subscriber. A two-byte-form block gets the element
 * in that form. Packets from a publisher that negotiated the field never need this.
 */
export function withExtension(packet: Buffer, id: number, length: number): Buffer {
  const csrcEnd = 12 + (packet[0]! & 0x0f) * 4;
  const hasBlock = (packet[0]! & 0x10) !== 0 && packet.length >= csrcEnd + 4;
  const profile = hasBlock ? packet.readUInt16BE(csrcEnd) : 0xbede;
  const oneByte = profile === 0xbede;
  const oldBody = hasBlock ? packet.subarray(csrcEnd + 4, csrcEnd + 4 + packet.readUInt16BE(csrcEnd + 2) * 4) : Buffer.alloc(0);
  const payload = packet.subarray(hasBlock ? csrcEnd + 4 + oldBody.length : csrcEnd);
  const element = Buffer.alloc((oneByte ? 1 : 2) + length);
  if (oneByte) element[0] = (id << 4) | (length - 1);
  else {
    element[0] = id;
    element[1] = length;
  }
  const bodyLength = oldBody.length + element.length;
  const padded = Math.ceil(bodyLength / 4) * 4;
  const out = Buffer.alloc(csrcEnd + 4 + padded + payload.length);
  packet.copy(out, 0, 0, csrcEnd);
  out[0] = out[0]! | 0x10;
  out.writeUInt16BE(oneByte ? 0xbede : profile, csrcEnd);
  out.writeUInt16BE(padded / 4, csrcEnd + 2);
  oldBody.copy(out, csrcEnd + 4);
  element.copy(out, csrcEnd + 4 + oldBody.length);
  payload.copy(out, csrcEnd + 4 + padded);
  return out;
}
