/**
 * STUN message codec (RFC 8489 section 5 and 14): decoding validates the whole layout once and
 * keeps attribute positions, so handlers read values straight out of the received buffer.
 */

export const MAGIC_COOKIE = 0x2112a442;
export const HEADER_BYTES = 20;
/** A STUN message's length field is 16 bits. */
export const MAX_STUN_BYTES = HEADER_BYTES + 0xffff;

export const StunMethod = {
  Binding: 0x001,
  Allocate: 0x003,
  Refresh: 0x004,
  Send: 0x006,
  Data: 0x007,
  CreatePermission: 0x008,
  ChannelBind: 0x009,
} as const;

export const StunClass = { Request: 0, Indication: 1, SuccessResponse: 2, ErrorResponse: 3 } as const;
export type StunClass = (typeof StunClass)[keyof typeof StunClass];

export const Attr = {
  MappedAddress: 0x0001,
  Username: 0x0006,
  MessageIntegrity: 0x0008,
  ErrorCode: 0x0009,
  UnknownAttributes: 0x000a,
  ChannelNumber: 0x000c,
  Lifetime: 0x000d,
  XorPeerAddress: 0x0012,
  Data: 0x0013,
  Realm: 0x0014,
  Nonce: 0x0015,
  XorRelayedAddress: 0x0016,
  RequestedAddressFamily: 0x0017,
  EvenPort: 0x0018,
  RequestedTransport: 0x0019,
  DontFragment: 0x001a,
  MessageIntegritySha256: 0x001c,
  PasswordAlgorithm: 0x001d,
  Userhash: 0x001e,
  XorMappedAddress: 0x0020,
  ReservationToken: 0x0022,
  Priority: 0x0024,
  UseCandidate: 0x0025,
  AdditionalAddressFamily: 0x8000,
  AddressErrorCode: 0x8001,
  PasswordAlgorithms: 0x8002,
  AlternateDomain: 0x8003,
  Icmp: 0x8004,
  Software: 0x8022,
  AlternateServer: 0x8023,
  Fingerprint: 0x8028,
  IceControlled: 0x8029,
  IceControlling: 0x802a,
} as const;

/** Comprehension-required attributes (0x0000-0x7FFF) this server understands; any other one gets 420. */
export const UNDERSTOOD_REQUIRED_ATTRIBUTES: ReadonlySet<number> = new Set([
  Attr.MappedAddress,
  Attr.Username,
  Attr.MessageIntegrity,
  Attr.ErrorCode,
  Attr.UnknownAttributes,
  Attr.ChannelNumber,
  Attr.Lifetime,
  Attr.XorPeerAddress,
  Attr.Data,
  Attr.Realm,
  Attr.Nonce,
  Attr.XorRelayedAddress,
  Attr.RequestedAddressFamily,
  Attr.EvenPort,
  Attr.RequestedTransport,
  Attr.MessageIntegritySha256,
  Attr.PasswordAlgorithm,
  Attr.XorMappedAddress,
  Attr.ReservationToken,
  Attr.Priority,
  Attr.UseCandidate,
]);

export function messageType(method: number, cls: StunClass): number {
  return (method & 0x000f) | ((method & 0x0070) << 1) | ((method & 0x0f80) << 2) | ((cls & 1) << 4) | ((cls & 2) << 7);
}

/** A decoded message: a view over the received bytes plus where each attribute's value lies. */
export class StunMessage {
  /** Attribute type, value offset and value length, in order of appearance. */
  readonly types: number[] = [];
  readonly offsets: number[] = [];
  readonly lengths: number[] = [];
  /** Offset of the MESSAGE-INTEGRITY(-SHA256) and FINGERPRINT attributes' headers, or -1. */
  integrityAt = -1;
  integritySha256At = -1;
  fingerprintAt = -1;

  constructor(
    readonly raw: Buffer,
    readonly method: number,
    readonly cls: StunClass,
  ) {}

  get transactionId(): Buffer {
    return this.raw.subarray(8, 20);
  }

  /** Index of the first attribute of `type`, or -1. */
  indexOf(type: number): number {
    return this.types.indexOf(type);
  }

  has(type: number): boolean {
    return this.types.includes(type);
  }

  value(type: number): Buffer | undefined {
    return this.valueAt(this.types.indexOf(type));
  }

  /** The value of the attribute at position `index` (attributes may repeat, e.g. XOR-PEER-ADDRESS). */
  valueAt(index: number): Buffer | undefined {
    return index < 0 || index >= this.types.length ? undefined : this.raw.subarray(this.offsets[index], this.offsets[index]! + this.lengths[index]!);
  }

  text(type: number): string | undefined {
    return this.value(type)?.toString('utf8');
  }

  /** Comprehension-required attribute types this server does not know (RFC 8489 section 7.3.1). */
  unknownRequired(): number[] {
    return this.types.filter((type) => type < 0x8000 && !UNDERSTOOD_REQUIRED_ATTRIBUTES.has(type));
  }
}

/** True when `buffer` starts like a STUN message (first two bits zero and the magic cookie). */
export function looksLikeStun(buffer: Buffer): boolean {
  return buffer.length >= HEADER_BYTES && (buffer[0]! & 0xc0) === 0 && buffer.readUInt32BE(4) === MAGIC_COOKIE;
}

/**
 * Decodes one whole STUN message, or returns undefined for anything malformed: wrong header,
 * a length that disagrees with the datagram, attributes running past the end, or attributes
 * after FINGERPRINT. Attributes after MESSAGE-INTEGRITY other than MESSAGE-INTEGRITY-SHA256 and
 * FINGERPRINT are ignored, as RFC 8489 section 14.5 requires.
 */
export function decodeStun(buffer: Buffer): StunMessage | undefined {
  if (!looksLikeStun(buffer)) return undefined;
  const length = buffer.readUInt16BE(2);
  if (length % 4 !== 0 || length + HEADER_BYTES !== buffer.length) return undefined;
  const type = buffer.readUInt16BE(0);
  const method = (type & 0x000f) | ((type & 0x00e0) >> 1) | ((type & 0x3e00) >> 2);
  const cls = (((type >> 4) & 1) | ((type >> 7) & 2)) as StunClass;
  const message = new StunMessage(buffer, method, cls);
  let offset = HEADER_BYTES;
  while (offset < buffer.length) {
    if (offset + 4 > buffer.length) return undefined;
    const attrType = buffer.readUInt16BE(offset);
    const attrLength = buffer.readUInt16BE(offset + 2);
    const valueAt = offset + 4;
    if (valueAt + attrLength > buffer.length) return undefined;
    if (message.fingerprintAt >= 0) return undefined;
    const afterIntegrity = message.integrityAt >= 0 || message.integritySha256At >= 0;
    let record = !afterIntegrity;
    if (attrType === Attr.Fingerprint) {
      if (attrLength !== 4) return undefined;
      message.fingerprintAt = offset;
      record = true;
    } else if (attrType === Attr.MessageIntegritySha256 && message.integritySha256At < 0) {
      if (attrLength < 16 || attrLength > 32 || attrLength % 4 !== 0) return undefined;
      message.integritySha256At = offset;
      record = true;
    } else if (attrType === Attr.MessageIntegrity && !afterIntegrity) {
      if (attrLength !== 20) return undefined;
      message.integrityAt = offset;
    }
    if (record) {
      message.types.push(attrType);
      message.offsets.push(valueAt);
      message.lengths.push(attrLength);
    }
    offset = valueAt + ((attrLength + 3) & ~3);
  }
  return offset === buffer.length ? message : undefined;
}

/**
 * Builds a message attribute by attribute into a fresh buffer. Integrity and fingerprint go
 * last through `seal` (see integrity.ts), which needs the final length in the header.
 */
export class StunWriter {
  private buffer: Buffer;
  private length = HEADER_BYTES;

  constructor(method: number, cls: StunClass, transactionId: Buffer, capacity = 512) {
    this.buffer = Buffer.allocUnsafe(Math.max(capacity, HEADER_BYTES));
    this.buffer.writeUInt16BE(messageType(method, cls), 0);
    this.buffer.writeUInt16BE(0, 2);
    this.buffer.writeUInt32BE(MAGIC_COOKIE, 4);
    transactionId.copy(this.buffer, 8, 0, 12);
  }

  get transactionId(): Buffer {
    return this.buffer.subarray(8, 20);
  }

  /** Appends an attribute; `write` fills `size` bytes at the given offset. Padding is zeroed. */
  attribute(type: number, size: number, write: (target: Buffer, at: number) => void): this {
    const padded = (size + 3) & ~3;
    this.reserve(4 + padded);
    const at = this.length;
    this.buffer.writeUInt16BE(type, at);
    this.buffer.writeUInt16BE(size, at + 2);
    write(this.buffer, at + 4);
    this.buffer.fill(0, at + 4 + size, at + 4 + padded);
    this.length += 4 + padded;
    this.buffer.writeUInt16BE(this.length - HEADER_BYTES, 2);
    return this;
  }

  bytes(type: number, value: Buffer): this {
    return this.attribute(type, value.length, (target, at) => value.copy(target, at));
  }

  text(type: number, value: string): this {
    return this.bytes(type, Buffer.from(value, 'utf8'));
  }

  uint32(type: number, value: number): this {
    return this.attribute(type, 4, (target, at) => target.writeUInt32BE(value >>> 0, at));
  }

  /** The message so far (a view: later appends do not show in it). */
  finish(): Buffer {
    return this.buffer.subarray(0, this.length);
  }

  private reserve(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + extra));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }
}
