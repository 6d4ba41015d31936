import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { VIDEO_CODECS } from '@parley/protocol';
import { startsKeyframe, type VideoCodecName } from '../../../src/sfu/rtp/keyframe.ts';
import { readPictureNumbering, writePictureNumbering } from '../../../src/sfu/rtp/picture-numbering.ts';
import { buildNack, buildPli, buildReceiverReport, buildRemb, buildSenderReport, parseRtcp } from '../../../src/sfu/rtp/rtcp.ts';
import { headerExtension, isRtcp, isRtp, marker, payloadEnd, payloadOffset, payloadType, rewriteHeader, sequenceDelta, sequenceNumber, ssrc, timestamp } from '../../../src/sfu/rtp/rtp.ts';
import { ascii, rtp } from './rtp-packets.ts';
import { prng } from '../../seeded-random.ts';

describe('RTP header (rtp.ts)', () => {
  test('accessors read version-2 header fields', () => {
    const packet = rtp({ payloadType: 111, marker: true, sequence: 0xfffe, timestamp: 0xfedcba98, ssrc: 0xcafebabe });
    assert.equal(isRtp(packet), true);
    assert.equal(isRtcp(packet), false);
    assert.equal(payloadType(packet), 111);
    assert.equal(marker(packet), true);
    assert.equal(sequenceNumber(packet), 0xfffe);
    assert.equal(timestamp(packet), 0xfedcba98);
    assert.equal(ssrc(packet), 0xcafebabe);
    assert.equal(marker(rtp({ marker: false })), false);
  });

  test('RTCP on the same port is told apart by its packet type (RFC 5761)', () => {
    for (const type of [200, 201, 205, 206]) {
      const packet = Buffer.from([0x80, type, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2]);
      assert.equal(isRtcp(packet), true, `type ${type}`);
      assert.equal(isRtp(packet), false, `type ${type}`);
    }
    assert.equal(isRtp(Buffer.from([0x80, 96, 0, 1])), false, 'shorter than a header');
    assert.equal(isRtp(Buffer.from([0x40, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0])), false, 'version 1');
  });

  test('payloadOffset skips CSRCs and the header extension', () => {
    assert.equal(payloadOffset(rtp()), 12);
    assert.equal(payloadOffset(rtp({ csrcs: [1, 2, 3] })), 24);
    const withExtension = rtp({ csrcs: [7], extension: { profile: 0xbede, body: [0x10, 0x42, 0, 0, 0x21, 1, 2] } });
    assert.equal(payloadOffset(withExtension), 12 + 4 + 4 + 8);
    assert.deepEqual([...withExtension.subarray(payloadOffset(withExtension))], [0xaa, 0xbb, 0xcc]);
  });

  test('payloadOffset is -1 when the header does not fit the packet', () => {
    const packet = rtp({ csrcs: [1, 2], extension: { profile: 0xbede, body: [0x10, 1, 0, 0] }, payload: [] });
    assert.equal(payloadOffset(packet), packet.length, 'an empty payload is fine');
    assert.equal(payloadOffset(packet.subarray(0, packet.length - 1)), -1, 'extension body cut short');
    assert.equal(payloadOffset(packet.subarray(0, 12 + 8 + 2)), -1, 'extension header cut short');
    assert.equal(payloadOffset(rtp({ csrcs: [1, 2], payload: [] }).subarray(0, 16)), -1, 'CSRC list cut short');
    assert.equal(payloadOffset(Buffer.alloc(0)), -1);
  });

  test('payloadEnd excludes RTP padding', () => {
    const padded = rtp({ payload: [1, 2, 3, 4, 5], padding: 3 });
    assert.deepEqual([...padded.subarray(payloadOffset(padded), payloadEnd(padded))], [1, 2, 3, 4, 5]);
    const plain = rtp({ payload: [1, 2] });
    assert.equal(payloadEnd(plain), plain.length);
  });

  describe('headerExtension (RFC 8285)', () => {
    test('one-byte form: finds each element, skips padding between elements', () => {
      const packet = rtp({
        extension: {
          profile: 0xbede,
          // id 1 len 1 (0x05) | padding 0 0 | id 10 "h" (rid) | id 3 len 3 (abs-send-time)
          body: [0x10, 0x05, 0x00, 0x00, 0xa0, ...ascii('h'), 0x32, 0x01, 0x02, 0x03],
        },
      });
      assert.deepEqual([...headerExtension(packet, 1)!], [0x05]);
      assert.equal(headerExtension(packet, 10)!.toString('latin1'), 'h');
      assert.deepEqual([...headerExtension(packet, 3)!], [1, 2, 3]);
      assert.equal(headerExtension(packet, 4), undefined, 'absent id');
      assert.equal(headerExtension(packet, 0), undefined, 'id 0 is padding, never an element');
    });

    test('one-byte form: a multi-byte rid after CSRCs', () => {
      const packet = rtp({ csrcs: [9, 8], extension: { profile: 0xbede, body: [0x92, ...ascii('low')] } });
      assert.equal(headerExtension(packet, 9)!.toString('latin1'), 'low');
    });

    test('one-byte form: id 15 ends parsing (reserved)', () => {
      const packet = rtp({ extension: { profile: 0xbede, body: [0xf0, 0x00, 0x20, 0x07] } });
      assert.equal(headerExtension(packet, 2), undefined);
    });

    test('two-byte form: ids above 14, zero-length elements, padding', () => {
      const packet = rtp({
        extension: {
          profile: 0x1000,
          // id 20 len 2 | padding | id 1 len 0 | id 200 len 3
          body: [20, 2, 0xde, 0xad, 0x00, 1, 0, 200, 3, ...ascii('mid')],
        },
      });
      assert.deepEqual([...headerExtension(packet, 20)!], [0xde, 0xad]);
      assert.equal(headerExtension(packet, 1)!.length, 0);
      assert.equal(headerExtension(packet, 200)!.toString('latin1'), 'mid');
      assert.equal(headerExtension(packet, 5), undefined);
    });

    test('two-byte form accepts any appbits (0x100X)', () => {
      const packet = rtp({ extension: { profile: 0x100f, body: [7, 1, 0x42] } });
      assert.deepEqual([...headerExtension(packet, 7)!], [0x42]);
    });

    test('malformed extensions give undefined, never a read past the block', () => {
      const cases: Array<[string, Buffer, number]> = [
        ['no X bit', rtp(), 1],
        ['unknown profile', rtp({ extension: { profile: 0x1234, body: [0x10, 0x05] } }), 1],
        ['element longer than the block (one-byte)', rtp({ extension: { profile: 0xbede, body: [0x00, 0x00, 0x00, 0x1f] } }), 1],
        ['element longer than the block (two-byte)', rtp({ extension: { profile: 0x1000, body: [0, 0, 3, 9] } }), 3],
        ['two-byte header cut at the block end', rtp({ extension: { profile: 0x1000, body: [0, 0, 0, 3] } }), 3],
      ];
      for (const [what, packet, id] of cases) assert.equal(headerExtension(packet, id), undefined, what);

      const lengthBeyondPacket = rtp({ extension: { profile: 0xbede, body: [0x10, 0x05] } });
      lengthBeyondPacket.writeUInt16BE(200, 14);
      assert.equal(headerExtension(lengthBeyondPacket, 1), undefined, 'block length beyond the packet');
      const cut = rtp({ extension: { profile: 0xbede, body: [0x10, 0x05] }, payload: [] });
      assert.equal(headerExtension(cut.subarray(0, 14), 1), undefined, 'extension header cut short');
      assert.equal(headerExtension(Buffer.alloc(0), 1), undefined, 'empty buffer');
    });
  });

  test('rewriteHeader sets SSRC, payload type, sequence and timestamp and keeps the marker bit', () => {
    const marked = rtp({ marker: true, payloadType: 120, sequence: 5, timestamp: 10, ssrc: 1, payload: [9, 8, 7] });
    rewriteHeader(marked, 0xa1b2c3d4, 96, 0x1_0003, -1);
    assert.equal(marker(marked), true);
    assert.equal(payloadType(marked), 96);
    assert.equal(sequenceNumber(marked), 3, 'sequence wraps at 16 bits');
    assert.equal(timestamp(marked), 0xffffffff, 'timestamp wraps at 32 bits');
    assert.equal(ssrc(marked), 0xa1b2c3d4);
    assert.equal(marked[0], 0x80, 'first byte untouched');
    assert.deepEqual([...marked.subarray(12)], [9, 8, 7], 'payload untouched');

    const unmarked = rtp({ marker: false, payloadType: 127 });
    rewriteHeader(unmarked, 1, 45, 0, 0);
    assert.equal(marker(unmarked), false);
    assert.equal(payloadType(unmarked), 45);
  });

  test('sequenceDelta is signed and wraps around 65535 -> 0', () => {
    assert.equal(sequenceDelta(100, 105), 5);
    assert.equal(sequenceDelta(105, 100), -5);
    assert.equal(sequenceDelta(65535, 0), 1);
    assert.equal(sequenceDelta(0, 65535), -1);
    assert.equal(sequenceDelta(65530, 4), 10);
    assert.equal(sequenceDelta(4, 65530), -10);
    assert.equal(sequenceDelta(7, 7), 0);
    assert.equal(sequenceDelta(0, 0x7fff), 0x7fff);
    assert.equal(sequenceDelta(0, 0x8000), -0x8000);
  });
});

describe('malformed input never throws (seeded fuzz)', () => {
  const codecs: readonly VideoCodecName[] = VIDEO_CODECS;
  const seeds: Buffer[] = [
    buildPli(1, 2),
    buildNack(1, 2, [1, 3, 70, 65535]),
    buildRemb(1, 4_000_000, [1, 2, 3]),
    buildSenderReport({ ssrc: 1, ntpSeconds: 2, ntpFraction: 3, rtpTimestamp: 4, packetCount: 5, octetCount: 6 }),
    buildReceiverReport(1, [{ ssrc: 2, fractionLost: 0.1, totalLost: 3, highestSequence: 4, jitter: 5, lastSenderReport: 6, delaySinceLastSenderReport: 7 }]),
    rtp({ csrcs: [1], extension: { profile: 0xbede, body: [0x10, 0x05, 0x00, 0xa2, ...ascii('abc')] }, payload: [0x90, 0xf0, 0x81, 0x23, 0x07, 0x40, 0x50] }),
    rtp({ extension: { profile: 0x1000, body: [20, 2, 1, 2, 0, 3, 1, 9] }, payload: [0x78, 0, 3, 0x67, 1, 2], padding: 4 }),
  ];

  /** Random bytes, or a valid packet with flipped bytes, cut, or extended. */
  function fuzzCase(random: () => number): Buffer {
    const kind = random();
    if (kind < 0.3) return Buffer.from(Array.from({ length: Math.floor(random() * 64) }, () => Math.floor(random() * 256)));
    const packet = Buffer.from(seeds[Math.floor(random() * seeds.length)]!);
    const mutations = 1 + Math.floor(random() * 4);
    for (let i = 0; i < mutations && packet.length > 0; i++) packet[Math.floor(random() * packet.length)] = Math.floor(random() * 256);
    if (kind < 0.6) return packet.subarray(0, Math.floor(random() * (packet.length + 1)));
    if (kind < 0.8) return Buffer.concat([packet, Buffer.from(Array.from({ length: Math.floor(random() * 16) }, () => Math.floor(random() * 256)))]);
    return packet;
  }

  test('20000 random and mutated buffers through every parser', () => {
    const random = prng(0x5eed_2026);
    let parsedRtcp = 0;
    let foundExtensions = 0;
    for (let i = 0; i < 20_000; i++) {
      const buffer = fuzzCase(random);
      const context = () => `case ${i}: ${buffer.toString('hex')}`;
      try {
        const reports = parseRtcp(buffer);
        parsedRtcp += reports.length;
        for (const report of reports) if (report.type === 'nack') assert.ok(report.lost.every((s) => Number.isInteger(s) && s >= 0 && s <= 0xffff));
        isRtp(buffer);
        isRtcp(buffer);
        const offset = payloadOffset(buffer);
        assert.ok(offset === -1 || (offset >= 12 && offset <= buffer.length), context());
        for (let id = 0; id <= 16; id++) {
          const value = headerExtension(buffer, id);
          if (value) {
            foundExtensions += 1;
            // A view into the packet, inside it.
            assert.equal(value.buffer, buffer.buffer, context());
            assert.ok(value.byteOffset + value.length <= buffer.byteOffset + buffer.length, context());
          }
        }
        for (const codec of codecs) {
          assert.equal(typeof startsKeyframe(codec, buffer), 'boolean');
          const numbering = readPictureNumbering(codec, buffer, offset);
          if (numbering) {
            // Fields found lie inside the packet, and writing them never grows or shrinks it.
            assert.ok(numbering.pictureIdAt + (numbering.pictureIdBits === 15 ? 2 : 1) <= buffer.length && numbering.tl0PicIdxAt < buffer.length, context());
            const copy = Buffer.from(buffer);
            writePictureNumbering(copy, numbering, 0x1234, 0x56);
            assert.equal(copy.length, buffer.length, context());
          }
        }
      } catch (error) {
        assert.fail(`${context()}: ${(error as Error).stack}`);
      }
    }
    // The fuzzer reached the interesting paths, not only the early rejections.
    assert.ok(parsedRtcp > 1000, `parsed ${parsedRtcp} RTCP reports`);
    assert.ok(foundExtensions > 100, `found ${foundExtensions} header extensions`);
  });
});
