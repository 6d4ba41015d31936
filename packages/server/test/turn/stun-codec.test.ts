/** The STUN codec against RFC 5769's test vectors, plus round trips of what the server writes. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { readXorAddress, writeErrorCode, readErrorCode, writeXorAddress } from '../../src/turn/attributes.ts';
import { saslPrep } from '../../src/turn/credentials.ts';
import { checkIntegrity, fingerprintMatches, longTermKey, seal } from '../../src/turn/integrity.ts';
import { Attr, decodeStun, StunClass, StunMethod, StunWriter } from '../../src/turn/stun-message.ts';

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');

// RFC 5769 section 2.1: a Binding request with short-term credentials (the key is the password).
const sampleRequest = hex(`
  000100582112a442b7e7a701bc34d686fa87dfae802200105354554e207465737420636c
  69656e74002400046e0001ff80290008932ff9b151263b36000600096576746a3a68367659202020
  000800149aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a280280004e57a3bcf`);
// Section 2.2 and 2.3: Binding success responses, IPv4 and IPv6.
const ipv4Response = hex(`
  0101003c2112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563746f7220
  00200008 0001a147e112a643 000800142b91f599fd9e90c38c7489f92af9ba53f06be7d7 80280004c07d4c96`);
const ipv6Response = hex(`
  010100482112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563746f7220
  00200014 0002a1470113a9faa5d3f179bc25f4b5bed2b9d9 00080014a382954e4be67bf11784c97c8292c275bfe3ed41
  80280004c8fb0b4c`);
// Section 2.4: a request with long-term credentials (USERNAME, NONCE, REALM, MESSAGE-INTEGRITY).
const longTermRequest = hex(`
  000100602112a44278ad3433c6ad72c029da412e00060012e3839ee38388e383aae38383e382afe382b90000
  0015001c662f2f3439396b39353464364f4c33346f4c39465354767936347341
  0014000b6578616d706c652e6f726700 00080014f67024656dd64a3e02b8e0712e85c9a28ca89666`);
const shortTermKey = Buffer.from('VOkJxbRl1RmTxUk/WvJxBt');

describe('STUN codec: RFC 5769 test vectors', () => {
  test('sample request: attributes, integrity and fingerprint', () => {
    const message = decodeStun(sampleRequest);
    assert.ok(message);
    assert.equal(message.method, StunMethod.Binding);
    assert.equal(message.cls, StunClass.Request);
    assert.equal(message.transactionId.toString('hex'), 'b7e7a701bc34d686fa87dfae');
    assert.equal(message.text(Attr.Software), 'STUN test client');
    assert.equal(message.text(Attr.Username), 'evtj:h6vY');
    assert.deepEqual(checkIntegrity(message, shortTermKey), { algorithm: 'sha1', valid: true });
    assert.deepEqual(checkIntegrity(message, Buffer.from('wrong')), { algorithm: 'sha1', valid: false });
    assert.ok(fingerprintMatches(message));
  });

  test('IPv4 response: XOR-MAPPED-ADDRESS 192.0.2.1:32853, integrity, fingerprint', () => {
    const message = decodeStun(ipv4Response);
    assert.ok(message);
    assert.equal(message.cls, StunClass.SuccessResponse);
    assert.deepEqual(readXorAddress(message, Attr.XorMappedAddress), { address: '192.0.2.1', port: 32853, family: 4 });
    assert.equal(checkIntegrity(message, shortTermKey)?.valid, true);
    assert.ok(fingerprintMatches(message));
  });

  test('IPv6 response: XOR-MAPPED-ADDRESS [2001:db8:1234:5678:11:2233:4455:6677]:32853', () => {
    const message = decodeStun(ipv6Response);
    assert.ok(message);
    assert.deepEqual(readXorAddress(message, Attr.XorMappedAddress), { address: '2001:db8:1234:5678:11:2233:4455:6677', port: 32853, family: 6 });
    assert.equal(checkIntegrity(message, shortTermKey)?.valid, true);
    assert.ok(fingerprintMatches(message));
  });

  test('long-term credentials: the key is MD5(username:realm:SASLprep(password))', () => {
    const message = decodeStun(longTermRequest);
    assert.ok(message);
    const username = message.text(Attr.Username) ?? '';
    assert.equal(username, '\u30DE\u30C8\u30EA\u30C3\u30AF\u30B9');
    assert.equal(message.text(Attr.Nonce), 'f//499k954d6OL34oL9FSTvy64sA');
    assert.equal(message.text(Attr.Realm), 'example.org');
    const password = saslPrep('The\u00ADM\u00AAtr\u2168');
    assert.equal(password, 'TheMatrIX');
    assert.equal(checkIntegrity(message, longTermKey(username, 'example.org', password))?.valid, true);
    assert.equal(checkIntegrity(message, longTermKey(username, 'example.org', 'TheMatrix'))?.valid, false);
  });

  test('a flipped bit breaks the fingerprint', () => {
    const copy = Buffer.from(sampleRequest);
    copy[30]! ^= 1;
    const message = decodeStun(copy);
    assert.ok(message);
    assert.equal(fingerprintMatches(message), false);
  });
});

describe('STUN codec: encoding', () => {
  test('what the writer seals decodes, verifies and round-trips addresses (IPv4, IPv6, mapped)', () => {
    const key = longTermKey('1700000000:alice', 'parley', 'secret');
    for (const algorithm of ['sha1', 'sha256'] as const) {
      const writer = new StunWriter(StunMethod.Allocate, StunClass.ErrorResponse, Buffer.alloc(12, 7));
      writeErrorCode(writer, 438, 'Stale Nonce');
      writeXorAddress(writer, Attr.XorPeerAddress, { address: '203.0.113.9', port: 4000, family: 4 });
      writeXorAddress(writer, Attr.XorPeerAddress, { address: '2001:db8::1', port: 5000, family: 6 });
      writeXorAddress(writer, Attr.XorPeerAddress, { address: '::ffff:127.0.0.1', port: 6000, family: 6 });
      const message = decodeStun(seal(writer.text(Attr.Realm, 'parley'), key, algorithm));
      assert.ok(message);
      assert.equal(message.method, StunMethod.Allocate);
      assert.equal(message.cls, StunClass.ErrorResponse);
      assert.deepEqual(readErrorCode(message), { code: 438, reason: 'Stale Nonce' });
      const peers = message.types.flatMap((type, i) => (type === Attr.XorPeerAddress ? [readXorAddress(message, type, i)] : []));
      assert.deepEqual(peers, [
        { address: '203.0.113.9', port: 4000, family: 4 },
        { address: '2001:db8::1', port: 5000, family: 6 },
        { address: '::ffff:127.0.0.1', port: 6000, family: 6 },
      ]);
      assert.deepEqual(checkIntegrity(message, key), { algorithm, valid: true });
      assert.ok(fingerprintMatches(message));
    }
  });

  test('malformed layouts are refused, not thrown', () => {
    const valid = Buffer.from(sampleRequest);
    const cases: Array<[string, Buffer]> = [
      ['too short', valid.subarray(0, 19)],
      ['length disagrees with the datagram', valid.subarray(0, valid.length - 4)],
      ['wrong magic cookie', Buffer.concat([valid.subarray(0, 4), Buffer.from([0, 0, 0, 0]), valid.subarray(8)])],
      ['top bits set', Buffer.concat([Buffer.from([0xc0]), valid.subarray(1)])],
      ['attribute past the end', (() => { const b = Buffer.from(valid); b.writeUInt16BE(0xffff, 22); return b; })()],
      ['attribute after FINGERPRINT', (() => { const b = Buffer.concat([valid, Buffer.from([0, 0x24, 0, 4, 1, 2, 3, 4])]); b.writeUInt16BE(b.length - 20, 2); return b; })()],
    ];
    for (const [what, bytes] of cases) assert.equal(decodeStun(bytes), undefined, what);
  });
});
