/** Attribute values of STUN (RFC 8489 section 14) and TURN (RFC 8656 section 18). */
import { SocketAddress } from 'node:net';
import { Attr, MAGIC_COOKIE, type StunMessage, type StunWriter } from './stun-message.js';

export interface TransportAddress {
  /** Canonical text form, as Node reports peers (`::1`, `::ffff:1.2.3.4`). */
  address: string;
  port: number;
  family: 4 | 6;
}

const FAMILY_IPV4 = 0x01;
const FAMILY_IPV6 = 0x02;
const COOKIE_BYTES = Buffer.from([0x21, 0x12, 0xa4, 0x42]);

/** XOR-MAPPED-ADDRESS, XOR-PEER-ADDRESS, XOR-RELAYED-ADDRESS: undefined when malformed. */
export function readXorAddress(message: StunMessage, type: number, index = message.indexOf(type)): TransportAddress | undefined {
  const value = message.types[index] === type ? message.valueAt(index) : undefined;
  if (value === undefined || value.length < 4) return undefined;
  const family = value[1];
  const port = value.readUInt16BE(2) ^ (MAGIC_COOKIE >>> 16);
  if (family === FAMILY_IPV4 && value.length === 8) {
    const raw = (value.readUInt32BE(4) ^ MAGIC_COOKIE) >>> 0;
    return { address: `${raw >>> 24}.${(raw >>> 16) & 0xff}.${(raw >>> 8) & 0xff}.${raw & 0xff}`, port, family: 4 };
  }
  if (family === FAMILY_IPV6 && value.length === 20) {
    const key = Buffer.concat([COOKIE_BYTES, message.transactionId]);
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push((((value[4 + i]! ^ key[i]!) << 8) | (value[5 + i]! ^ key[i + 1]!)).toString(16));
    return { address: canonicalIpv6(groups.join(':')), port, family: 6 };
  }
  return undefined;
}

/** Writes an XOR-*-ADDRESS attribute; `address` is IPv4 dotted or any IPv6 text form. */
export function writeXorAddress(writer: StunWriter, type: number, address: TransportAddress): StunWriter {
  const bytes = addressBytes(address.address, address.family);
  const key = Buffer.concat([COOKIE_BYTES, writer.transactionId]);
  return writer.attribute(type, 4 + bytes.length, (target, at) => {
    target[at] = 0;
    target[at + 1] = address.family === 4 ? FAMILY_IPV4 : FAMILY_IPV6;
    target.writeUInt16BE(address.port ^ (MAGIC_COOKIE >>> 16), at + 2);
    for (let i = 0; i < bytes.length; i++) target[at + 4 + i] = bytes[i]! ^ key[i]!;
  });
}

/** The 4 or 16 network-order bytes of an address. */
export function addressBytes(address: string, family: 4 | 6): Buffer {
  if (family === 4) return Buffer.from(address.split('.').map(Number));
  const canonical = canonicalIpv6(address);
  const [head = '', tail] = canonical.includes('::') ? canonical.split('::') : [canonical, undefined];
  const expand = (part: string) => (part === '' ? [] : part.split(':').flatMap((group) => (group.includes('.') ? ipv4Groups(group) : [parseInt(group, 16)])));
  const left = expand(head);
  const right = tail === undefined ? [] : expand(tail);
  const groups = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  const bytes = Buffer.alloc(16);
  groups.forEach((group, i) => bytes.writeUInt16BE(group, i * 2));
  return bytes;
}

function ipv4Groups(dotted: string): number[] {
  const [a = 0, b = 0, c = 0, d = 0] = dotted.split('.').map(Number);
  return [(a << 8) | b, (c << 8) | d];
}

/** The form Node (libuv) gives peers' addresses, so permissions match `rinfo.address`. */
export function canonicalIpv6(address: string): string {
  return new SocketAddress({ address, family: 'ipv6' }).address;
}

export function writeErrorCode(writer: StunWriter, code: number, reason: string): StunWriter {
  const text = Buffer.from(reason, 'utf8');
  return writer.attribute(Attr.ErrorCode, 4 + text.length, (target, at) => {
    target.writeUInt16BE(0, at);
    target[at + 2] = Math.floor(code / 100);
    target[at + 3] = code % 100;
    text.copy(target, at + 4);
  });
}

/** ERROR-CODE of a response, for clients and tests. */
export function readErrorCode(message: StunMessage): { code: number; reason: string } | undefined {
  const value = message.value(Attr.ErrorCode);
  if (value === undefined || value.length < 4) return undefined;
  return { code: (value[2]! & 0x07) * 100 + value[3]!, reason: value.subarray(4).toString('utf8') };
}

export function writeUnknownAttributes(writer: StunWriter, types: number[]): StunWriter {
  return writer.attribute(Attr.UnknownAttributes, types.length * 2, (target, at) => types.forEach((type, i) => target.writeUInt16BE(type, at + i * 2)));
}

export function readUint32(message: StunMessage, type: number): number | undefined {
  const value = message.value(type);
  return value?.length === 4 ? value.readUInt32BE(0) : undefined;
}

/** CHANNEL-NUMBER: the number in the first two bytes (the other two are RFFU). */
export function readChannelNumber(message: StunMessage): number | undefined {
  const value = message.value(Attr.ChannelNumber);
  return value?.length === 4 ? value.readUInt16BE(0) : undefined;
}

/** REQUESTED-TRANSPORT: the IANA protocol number (17 = UDP). */
export function readRequestedTransport(message: StunMessage): number | undefined {
  const value = message.value(Attr.RequestedTransport);
  return value?.length === 4 ? value[0] : undefined;
}

/** REQUESTED-ADDRESS-FAMILY: 4, 6, or 0 for a value this server does not know. */
export function readRequestedFamily(message: StunMessage): 4 | 6 | 0 | undefined {
  const value = message.value(Attr.RequestedAddressFamily);
  if (value === undefined) return undefined;
  if (value.length !== 4) return 0;
  return value[0] === FAMILY_IPV4 ? 4 : value[0] === FAMILY_IPV6 ? 6 : 0;
}
