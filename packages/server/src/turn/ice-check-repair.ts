/**
 * ICE checks relayed to this node's own SFU, made acceptable to its ICE agent.
 *
 * Chromium (156, captured) sends the connectivity checks of a TURN/TCP or TURN/TLS relay candidate
 * with a zero tie-breaker in ICE-CONTROLLING (its UDP candidates carry a random one). Zero is a
 * valid tie-breaker, but libjuice, the SFU's ICE agent, stores the attribute as its value and
 * reads zero as "absent": it answers such a check with 400 (controlling and controlled both
 * missing), so a browser that reaches the SFU only through TURN over TCP or TLS never connects.
 *
 * For a Binding request headed to the SFU's media port whose ICE-CONTROLLING or ICE-CONTROLLED
 * tie-breaker is zero, the TURN server sets it to 1 and signs the check again. It signs only a
 * check whose MESSAGE-INTEGRITY it has verified with the same key (the SFU's ICE password for the
 * USERNAME's first fragment, from the SDP the SFU handed out), so it vouches for nothing the
 * client could not have signed itself. Everything else passes unchanged.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { Attr, HEADER_BYTES, MAGIC_COOKIE } from './stun-message.js';

const BINDING_REQUEST = 0x0001;
const ICE_CONTROLLED = 0x8029;
const ICE_CONTROLLING = 0x802a;
const FINGERPRINT_XOR = 0x5354554e;
const SHA1_BYTES = 20;

/** The SFU's ICE password for one of its username fragments, if this node handed it out. */
export type IcePasswordLookup = (ufrag: string) => string | undefined;

/** `data` itself, or a copy with the zero tie-breaker set to 1 and MESSAGE-INTEGRITY and FINGERPRINT redone. */
export function repairZeroTiebreaker(data: Buffer, passwordFor: IcePasswordLookup): Buffer {
  if (data.length < HEADER_BYTES || data.readUInt16BE(0) !== BINDING_REQUEST || data.readUInt32BE(4) !== MAGIC_COOKIE) return data;
  if (HEADER_BYTES + data.readUInt16BE(2) !== data.length) return data;
  let username: string | undefined;
  let tiebreakerAt = -1;
  let integrityAt = -1;
  let fingerprintAt = -1;
  for (let at = HEADER_BYTES; at + 4 <= data.length; ) {
    const type = data.readUInt16BE(at);
    const length = data.readUInt16BE(at + 2);
    if (at + 4 + length > data.length) return data;
    // Only FINGERPRINT may follow MESSAGE-INTEGRITY; anything else there would not be covered by it.
    if (integrityAt >= 0 && type !== Attr.Fingerprint) return data;
    if (type === Attr.Username) username = data.toString('utf8', at + 4, at + 4 + length);
    else if ((type === ICE_CONTROLLING || type === ICE_CONTROLLED) && length === 8) {
      if (data.readBigUInt64BE(at + 4) === 0n) tiebreakerAt = at + 4;
    } else if (type === Attr.MessageIntegrity && length === SHA1_BYTES) integrityAt = at;
    else if (type === Attr.Fingerprint && length === 4) fingerprintAt = at;
    at += 4 + ((length + 3) & ~3);
  }
  if (tiebreakerAt < 0 || integrityAt < 0 || username === undefined) return data;
  const password = passwordFor(username.split(':')[0] ?? '');
  if (password === undefined) return data;
  const key = Buffer.from(password, 'utf8');
  if (!timingSafeEqual(integrity(data, integrityAt, key), data.subarray(integrityAt + 4, integrityAt + 4 + SHA1_BYTES))) return data;
  const repaired = Buffer.from(data);
  repaired.writeBigUInt64BE(1n, tiebreakerAt);
  integrity(repaired, integrityAt, key).copy(repaired, integrityAt + 4);
  if (fingerprintAt >= 0) repaired.writeUInt32BE((crc32(repaired.subarray(0, fingerprintAt)) ^ FINGERPRINT_XOR) >>> 0, fingerprintAt + 4);
  return repaired;
}

/** HMAC-SHA1 over the message before MESSAGE-INTEGRITY, the header's length counting up to its end (RFC 8489 section 14.5). */
function integrity(message: Buffer, integrityAt: number, key: Buffer): Buffer {
  const header = Buffer.from(message.subarray(0, HEADER_BYTES));
  header.writeUInt16BE(integrityAt + 4 + SHA1_BYTES - HEADER_BYTES, 2);
  return createHmac('sha1', key).update(header).update(message.subarray(HEADER_BYTES, integrityAt)).digest();
}
