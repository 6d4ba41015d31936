/** MESSAGE-INTEGRITY (HMAC-SHA1), MESSAGE-INTEGRITY-SHA256 and FINGERPRINT (RFC 8489 sections 14.5-14.7). */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { Attr, HEADER_BYTES, type StunMessage, type StunWriter } from './stun-message.js';

const FINGERPRINT_XOR = 0x5354554e;
export type IntegrityAlgorithm = 'sha1' | 'sha256';

/** The long-term credential key: MD5(username ":" realm ":" password). */
export function longTermKey(username: string, realm: string, password: string): Buffer {
  return createHash('md5').update(`${username}:${realm}:${password}`).digest();
}

/**
 * Which integrity attribute the message carries and whether it matches `key`: MESSAGE-INTEGRITY-SHA256
 * wins when both are present. `undefined` when the message carries none.
 */
export function checkIntegrity(message: StunMessage, key: Buffer): { algorithm: IntegrityAlgorithm; valid: boolean } | undefined {
  const sha256At = message.integritySha256At;
  if (sha256At >= 0) {
    const macLength = message.raw.readUInt16BE(sha256At + 2);
    const expected = integrityMac(message.raw, sha256At, macLength, key, 'sha256').subarray(0, macLength);
    return { algorithm: 'sha256', valid: timingSafeEqual(expected, message.raw.subarray(sha256At + 4, sha256At + 4 + macLength)) };
  }
  const sha1At = message.integrityAt;
  if (sha1At < 0) return undefined;
  const expected = integrityMac(message.raw, sha1At, 20, key, 'sha1');
  return { algorithm: 'sha1', valid: timingSafeEqual(expected, message.raw.subarray(sha1At + 4, sha1At + 24)) };
}

/** HMAC over everything before the attribute at `attributeAt`, with the header length counting up to its end. */
function integrityMac(raw: Buffer, attributeAt: number, macLength: number, key: Buffer, algorithm: IntegrityAlgorithm): Buffer {
  const header = Buffer.from(raw.subarray(0, HEADER_BYTES));
  header.writeUInt16BE(attributeAt + 4 + macLength - HEADER_BYTES, 2);
  return createHmac(algorithm, key).update(header).update(raw.subarray(HEADER_BYTES, attributeAt)).digest();
}

/** False only when a FINGERPRINT is present and wrong. */
export function fingerprintMatches(message: StunMessage): boolean {
  const at = message.fingerprintAt;
  if (at < 0) return true;
  return ((crc32(message.raw.subarray(0, at)) ^ FINGERPRINT_XOR) >>> 0) === message.raw.readUInt32BE(at + 4);
}

/** Appends the integrity attribute (when a key is given) and FINGERPRINT, and returns the finished message. */
export function seal(writer: StunWriter, key: Buffer | undefined, algorithm: IntegrityAlgorithm = 'sha1'): Buffer {
  if (key !== undefined) {
    const type = algorithm === 'sha256' ? Attr.MessageIntegritySha256 : Attr.MessageIntegrity;
    const macLength = algorithm === 'sha256' ? 32 : 20;
    writer.attribute(type, macLength, (target, at) => target.fill(0, at, at + macLength));
    const message = writer.finish();
    const attributeAt = message.length - 4 - macLength;
    createHmac(algorithm, key).update(message.subarray(0, attributeAt)).digest().copy(message, attributeAt + 4);
  }
  writer.attribute(Attr.Fingerprint, 4, (target, at) => target.writeUInt32BE(0, at));
  const message = writer.finish();
  message.writeUInt32BE((crc32(message.subarray(0, message.length - 8)) ^ FINGERPRINT_XOR) >>> 0, message.length - 4);
  return message;
}
