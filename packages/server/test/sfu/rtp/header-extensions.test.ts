/**
 * Header extensions between a publisher's numbering and the one subscribers were offered.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { extensionIdMap, renumberExtensions, SubscriberExtensionId, withExtension } from '../../../src/sfu/rtp/header-extensions.ts';
import { headerExtension, payloadOffset } from '../../../src/sfu/rtp/rtp.ts';

const u16 = (value: number) => [(value >> 8) & 0xff, value & 0xff];
const PAYLOAD = [0xde, 0xad, 0xbe, 0xef];

function rtp(profile: number | undefined, body: number[] = []): Buffer {
  const header = [profile === undefined ? 0x80 : 0x90, 96, 0, 1, 0, 0, 0, 0, 0x11, 0x22, 0x33, 0x44];
  if (profile === undefined) return Buffer.from([...header, ...PAYLOAD]);
  const padded = [...body];
  while (padded.length % 4 !== 0) padded.push(0);
  return Buffer.from([...header, ...u16(profile), ...u16(padded.length / 4), ...padded, ...PAYLOAD]);
}

/** Chromium's publisher ids: 1 audio level, 3 transport-cc, 4 mid, 10 rid. */
const publisherIds = extensionIdMap([
  [1, SubscriberExtensionId.audioLevel],
  [3, SubscriberExtensionId.transportSequence],
]);

describe('renumberExtensions', () => {
  test('one-byte form: mapped ids change, the rest become padding, nothing moves', () => {
    // mid "0" (id 4), transport seq 0x1234 (id 5 at this publisher), rid "h" (id 10)
    const packet = rtp(0xbede, [0x40, 0x30, 0x51, 0x12, 0x34, 0xa0, 0x68]);
    const map = extensionIdMap([[5, SubscriberExtensionId.transportSequence]]);
    assert.equal(renumberExtensions(packet, map), true);
    assert.equal(headerExtension(packet, SubscriberExtensionId.transportSequence)?.readUInt16BE(0), 0x1234);
    assert.equal(headerExtension(packet, 4), undefined, 'mid erased');
    assert.equal(headerExtension(packet, 10), undefined, 'rid erased');
    assert.deepEqual([...packet.subarray(payloadOffset(packet))], PAYLOAD);
  });

  test('two-byte form as well', () => {
    const packet = rtp(0x1000, [3, 2, 0xab, 0xcd, 12, 1, 0x68]);
    assert.equal(renumberExtensions(packet, publisherIds), true);
    assert.equal(headerExtension(packet, SubscriberExtensionId.transportSequence)?.readUInt16BE(0), 0xabcd);
    assert.equal(headerExtension(packet, 12), undefined);
  });

  test('a malformed block is reported, and the packet keeps its payload', () => {
    const packet = rtp(0xbede, [0x3f]); // claims 16 bytes in a 4-byte block
    assert.equal(renumberExtensions(packet, publisherIds), false);
    assert.deepEqual([...packet.subarray(payloadOffset(packet))], PAYLOAD);
    const noExtension = rtp(undefined);
    assert.equal(renumberExtensions(noExtension, publisherIds), true);
  });
});

describe('withExtension', () => {
  test('adds the field to a packet without extensions', () => {
    const out = withExtension(rtp(undefined), SubscriberExtensionId.transportSequence, 2);
    const field = headerExtension(out, SubscriberExtensionId.transportSequence);
    assert.equal(field?.length, 2);
    assert.deepEqual([...out.subarray(payloadOffset(out))], PAYLOAD);
    assert.equal(out.readUInt32BE(8), 0x11223344);
  });

  test('appends to an existing one-byte or two-byte block, keeping what was there', () => {
    for (const [profile, body] of [
      [0xbede, [0x10, 0x7f]],
      [0x1000, [1, 1, 0x7f]],
    ] as const) {
      const out = withExtension(rtp(profile, [...body]), SubscriberExtensionId.transportSequence, 2);
      assert.equal(headerExtension(out, 1)?.[0], 0x7f, `profile ${profile.toString(16)}: old element kept`);
      assert.equal(headerExtension(out, SubscriberExtensionId.transportSequence)?.length, 2);
      assert.deepEqual([...out.subarray(payloadOffset(out))], PAYLOAD);
    }
  });
});
