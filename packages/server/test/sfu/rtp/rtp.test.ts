import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { startsKeyframe, type VideoCodecName } from '../../../src/sfu/rtp/keyframe.ts';
import { readPictureNumbering, writePictureNumbering } from '../../../src/sfu/rtp/picture-numbering.ts';
import { ReceptionStats } from '../../../src/sfu/rtp/reception-stats.ts';
import { buildDlrr, buildNack, buildPli, buildReceiverReport, buildRemb, buildSenderReport, parseRtcp, type ReportBlock } from '../../../src/sfu/rtp/rtcp.ts';
import {
  headerExtension,
  isRtcp,
  isRtp,
  marker,
  payloadEnd,
  payloadOffset,
  payloadType,
  rewriteHeader,
  sequenceDelta,
  sequenceNumber,
  ssrc,
  timestamp,
} from '../../../src/sfu/rtp/rtp.ts';
import { prng } from '../../seeded-random.ts';

interface RtpFields {
  payloadType?: number;
  marker?: boolean;
  sequence?: number;
  timestamp?: number;
  ssrc?: number;
  csrcs?: number[];
  /** Header extension: profile (0xBEDE one-byte, 0x100X two-byte) and its body, padded to 32 bits here. */
  extension?: { profile: number; body: number[] };
  payload?: number[];
  /** RTP padding bytes after the payload (the last one holds the count). */
  padding?: number;
}

/** An RTP packet laid out by hand per RFC 3550 section 5.1 (and RFC 8285 for extensions). */
function rtp(fields: RtpFields = {}): Buffer {
  const csrcs = fields.csrcs ?? [];
  const body = fields.extension ? [...fields.extension.body] : [];
  while (body.length % 4 !== 0) body.push(0);
  const bytes: number[] = [
    0x80 | (fields.padding ? 0x20 : 0) | (fields.extension ? 0x10 : 0) | csrcs.length,
    (fields.marker ? 0x80 : 0) | (fields.payloadType ?? 96),
    ...u16(fields.sequence ?? 1000),
    ...u32(fields.timestamp ?? 90_000),
    ...u32(fields.ssrc ?? 0x11223344),
    ...csrcs.flatMap(u32),
  ];
  if (fields.extension) bytes.push(...u16(fields.extension.profile), ...u16(body.length / 4), ...body);
  bytes.push(...(fields.payload ?? [0xaa, 0xbb, 0xcc]));
  if (fields.padding) bytes.push(...new Array<number>(fields.padding - 1).fill(0), fields.padding);
  return Buffer.from(bytes);
}

const u16 = (value: number) => [(value >> 8) & 0xff, value & 0xff];
const u32 = (value: number) => [(value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff];
const ascii = (text: string) => [...Buffer.from(text, 'latin1')];


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

describe('RTCP (rtcp.ts)', () => {
  test('PLI: RFC 4585 layout and round trip', () => {
    const pli = buildPli(0x01020304, 0xdeadbeef);
    assert.deepEqual([...pli.subarray(0, 4)], [0x81, 206, 0, 2], 'V=2 FMT=1, PSFB, length 2 words');
    assert.deepEqual(parseRtcp(pli), [{ type: 'pli', mediaSsrc: 0xdeadbeef }]);
  });

  test('NACK packs lost sequences into PID + bitmask pairs', () => {
    const nack = buildNack(1, 0x55667788, [116, 100, 105, 101, 200, 117]);
    assert.deepEqual([...nack.subarray(0, 4)], [0x81, 205, 0, 2 + 3], 'V=2 FMT=1, RTPFB, 3 FCIs');
    const fci = [0, 1, 2].map((i) => [nack.readUInt16BE(12 + i * 4), nack.readUInt16BE(14 + i * 4)]);
    // 101 is bit 0, 105 bit 4, 116 bit 15 of PID 100's mask; 117 is 17 past 100: a new FCI.
    assert.deepEqual(fci, [
      [100, 0b1000_0000_0001_0001],
      [117, 0],
      [200, 0],
    ]);
    assert.deepEqual(parseRtcp(nack), [{ type: 'nack', mediaSsrc: 0x55667788, lost: [100, 101, 105, 116, 117, 200] }]);
  });

  test('NACK ignores duplicates and survives the 65535 -> 0 wraparound', () => {
    const lost = [65533, 65535, 0, 2, 2, 65535];
    const [parsed] = parseRtcp(buildNack(1, 2, lost));
    assert.equal(parsed?.type, 'nack');
    if (parsed?.type !== 'nack') return;
    assert.deepEqual([...parsed.lost].sort((a, b) => a - b), [0, 2, 65533, 65535]);
    assert.equal(new Set(parsed.lost).size, parsed.lost.length, 'no sequence twice');
  });

  test('NACK parsing: a bitmask that crosses 65535 -> 0', () => {
    const packet = Buffer.from([0x81, 205, 0, 3, ...u32(1), ...u32(2), ...u16(65530), ...u16(0xffff)]);
    assert.deepEqual(parseRtcp(packet), [
      { type: 'nack', mediaSsrc: 2, lost: [65530, 65531, 65532, 65533, 65534, 65535, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10] },
    ]);
  });

  test('REMB: mantissa and exponent, header and SSRC list', () => {
    for (const bitrate of [0, 1, 262_143, 262_144, 300_000, 1_000_000, 2_500_000, 4_000_000, 123_456_789, 1_000_000_000]) {
      const remb = buildRemb(7, bitrate, [0x0a0b0c0d, 0x01020304]);
      assert.deepEqual([...remb.subarray(0, 4)], [0x8f, 206, 0, 4 + 2], `header at ${bitrate}`);
      assert.equal(remb.readUInt32BE(8), 0, 'media SSRC field is 0 (draft-alvestrand-rmcat-remb)');
      assert.equal(remb.toString('latin1', 12, 16), 'REMB');
      const exponent = remb[17]! >> 2;
      const mantissa = ((remb[17]! & 0x03) << 16) | remb.readUInt16BE(18);
      assert.ok(mantissa <= 0x3ffff);
      const [parsed] = parseRtcp(remb);
      assert.equal(parsed?.type, 'remb');
      if (parsed?.type !== 'remb') return;
      assert.deepEqual(parsed.ssrcs, [0x0a0b0c0d, 0x01020304]);
      assert.equal(parsed.bitrate, mantissa * 2 ** exponent);
      // Never above what was asked, and off by less than one mantissa step.
      assert.ok(parsed.bitrate <= bitrate && bitrate - parsed.bitrate < 2 ** exponent, `${bitrate} came back as ${parsed.bitrate}`);
    }
    const fourMbps = buildRemb(1, 4_000_000, [1]);
    assert.equal(fourMbps[17]! >> 2, 4, '4 Mbps: exponent 4');
    assert.equal(((fourMbps[17]! & 3) << 16) | fourMbps.readUInt16BE(18), 250_000, '4 Mbps: mantissa 250000');
    assert.deepEqual(parseRtcp(fourMbps), [{ type: 'remb', bitrate: 4_000_000, ssrcs: [1] }]);
  });

  test('receiver report round trip (fraction lost in 1/256, signed cumulative loss)', () => {
    const blocks: ReportBlock[] = [
      { ssrc: 0x11111111, fractionLost: 0.25, totalLost: 1234, highestSequence: 0x0001_0005, jitter: 42, lastSenderReport: 0xabcd1234, delaySinceLastSenderReport: 65536 },
      { ssrc: 0x22222222, fractionLost: 0, totalLost: -5, highestSequence: 7, jitter: 0, lastSenderReport: 0, delaySinceLastSenderReport: 0 },
    ];
    const rr = buildReceiverReport(0x99, blocks);
    assert.deepEqual([...rr.subarray(0, 4)], [0x82, 201, 0, 1 + 12], 'V=2 RC=2, RR, length');
    assert.deepEqual(parseRtcp(rr), [{ type: 'rr', ssrc: 0x99, reports: blocks }]);
    const [saturated] = parseRtcp(buildReceiverReport(1, [{ ...blocks[0]!, fractionLost: 1, totalLost: 0x7fffff + 10 }]));
    assert.equal(saturated?.type === 'rr' && saturated.reports[0]!.fractionLost, 255 / 256);
    assert.equal(saturated?.type === 'rr' && saturated.reports[0]!.totalLost, 0x7fffff);
    assert.deepEqual(parseRtcp(buildReceiverReport(3, [])), [{ type: 'rr', ssrc: 3, reports: [] }]);
  });

  test('sender report round trip', () => {
    const report = { ssrc: 0xfeedface, ntpSeconds: 0xe9b1c2d3, ntpFraction: 0x80000000, rtpTimestamp: 0xffff0000, packetCount: 1000, octetCount: 1_200_000 };
    const sr = buildSenderReport(report);
    assert.deepEqual([...sr.subarray(0, 4)], [0x80, 200, 0, 6]);
    assert.deepEqual(parseRtcp(sr), [{ type: 'sr', ...report, reports: [] }]);
  });

  test('a compound packet yields every report in order, including ones it does not interpret', () => {
    const sdes = Buffer.from([0x81, 202, 0, 3, ...u32(0x99), 1, 4, ...ascii('cnam'), 0, 0]);
    const bye = Buffer.from([0x81, 203, 0, 1, ...u32(0x99)]);
    const fir = Buffer.from([0x84, 206, 0, 4, ...u32(0x99), ...u32(0), ...u32(0x1234), 3, 0, 0, 0]);
    const compound = Buffer.concat([
      buildSenderReport({ ssrc: 0x99, ntpSeconds: 1, ntpFraction: 2, rtpTimestamp: 3, packetCount: 4, octetCount: 5 }),
      sdes,
      buildPli(0x99, 0x1234),
      buildNack(0x99, 0x1234, [10, 12]),
      buildRemb(0x99, 1_000_000, [0x1234]),
      fir,
      bye,
    ]);
    assert.deepEqual(
      parseRtcp(compound).map((p) => p.type),
      ['sr', 'other', 'pli', 'nack', 'remb', 'fir', 'other'],
    );
    assert.deepEqual(parseRtcp(compound)[5], { type: 'fir', mediaSsrcs: [0x1234] });
  });

  test('a damaged compound packet yields the reports before the damage', () => {
    const compound = Buffer.concat([buildPli(1, 2), buildNack(1, 2, [5]), buildPli(1, 3)]);
    assert.deepEqual(
      parseRtcp(compound.subarray(0, compound.length - 1)).map((p) => p.type),
      ['pli', 'nack'],
      'last packet truncated',
    );
    const badVersion = Buffer.from(compound);
    badVersion[12] = 0x41;
    assert.deepEqual(parseRtcp(badVersion).map((p) => p.type), ['pli'], 'second packet has version 1');
    const overlong = Buffer.from(compound);
    overlong.writeUInt16BE(200, 2);
    assert.deepEqual(parseRtcp(overlong), [], 'length field beyond the buffer');
    assert.deepEqual(parseRtcp(Buffer.alloc(0)), []);
    assert.deepEqual(parseRtcp(Buffer.from([0x80, 200, 0, 0])), [], 'a sender report too short for its fields');
    assert.deepEqual(parseRtcp(Buffer.from([0x80, 201, 0, 0])), [], 'a receiver report without its SSRC');
  });

  test('extended reports (RFC 3611): a receiver reference time is read among other blocks; a DLRR answer is built per 4.5', () => {
    // As Chromium sends it: XR from its receive-only SSRC 1 with one RRTR block (BT 4, length 2).
    const rrtr = Buffer.from([0x80, 207, 0, 4, ...u32(1), 4, 0, 0, 2, ...u32(0xe8f1a2b3), ...u32(0x4c5d6e7f)]);
    assert.deepEqual(parseRtcp(rrtr), [{ type: 'xr', ssrc: 1, rrtr: { ntpSeconds: 0xe8f1a2b3, ntpFraction: 0x4c5d6e7f } }]);
    // An unknown block (BT 42, 1 word) before it is skipped by its length.
    const mixed = Buffer.from([0x80, 207, 0, 6, ...u32(1), 42, 0, 0, 1, ...u32(7), 4, 0, 0, 2, ...u32(5), ...u32(6)]);
    assert.deepEqual(parseRtcp(mixed), [{ type: 'xr', ssrc: 1, rrtr: { ntpSeconds: 5, ntpFraction: 6 } }]);
    const damaged = Buffer.from([0x80, 207, 0, 3, ...u32(1), 4, 0, 0, 9, ...u32(5)]);
    assert.deepEqual(parseRtcp(damaged), [{ type: 'xr', ssrc: 1, rrtr: undefined }], 'a block longer than the packet is not read');
    const dlrr = buildDlrr(0x1234, 1, 0xa2b34c5d, 655);
    assert.deepEqual([...dlrr], [0x80, 207, 0, 5, ...u32(0x1234), 5, 0, 0, 3, ...u32(1), ...u32(0xa2b34c5d), ...u32(655)]);
    assert.deepEqual(parseRtcp(dlrr), [{ type: 'xr', ssrc: 0x1234, rrtr: undefined }]);
  });

  test('report counts larger than the packet stop at the packet end', () => {
    const rr = buildReceiverReport(1, [{ ssrc: 2, fractionLost: 0, totalLost: 0, highestSequence: 0, jitter: 0, lastSenderReport: 0, delaySinceLastSenderReport: 0 }]);
    rr[0] = 0x80 | 31;
    const [parsed] = parseRtcp(rr);
    assert.equal(parsed?.type === 'rr' && parsed.reports.length, 1);
  });
});

describe('keyframe detection (keyframe.ts)', () => {
  // VP8 payload header (RFC 7741 4.3, RFC 6386 9.1): the first frame-tag byte has P (inverse key frame) in bit 0.
  const VP8_KEY = [0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01];
  const VP8_DELTA = [0x51, 0x42, 0x00, 0x00, 0x00];

  describe('VP8 (RFC 7741)', () => {
    const cases: Array<[string, number[], boolean]> = [
      ['S=1 PID=0, no extension, keyframe', [0x10, ...VP8_KEY], true],
      ['S=1 PID=0, no extension, delta frame', [0x10, ...VP8_DELTA], false],
      ['N bit (non-reference) does not matter', [0x30, ...VP8_KEY], true],
      ['not the start of a partition', [0x00, ...VP8_KEY], false],
      ['start of partition 1, not 0', [0x11, ...VP8_KEY], false],
      ['reserved bit after S is ignored by receivers', [0x18, ...VP8_KEY], true],
      ['X: 7-bit PictureID', [0x90, 0x80, 0x05, ...VP8_KEY], true],
      ['X: 7-bit PictureID, delta frame', [0x90, 0x80, 0x05, ...VP8_DELTA], false],
      ['X: 15-bit PictureID (M bit)', [0x90, 0x80, 0x81, 0x23, ...VP8_KEY], true],
      ['X: 15-bit PictureID, delta frame', [0x90, 0x80, 0x81, 0x23, ...VP8_DELTA], false],
      ['X: 15-bit PictureID whose low byte looks like a delta header', [0x90, 0x80, 0x80, 0x01, ...VP8_KEY], true],
      ['X: PictureID + TL0PICIDX + TID/KEYIDX', [0x90, 0xf0, 0x81, 0x23, 0x07, 0x40, ...VP8_KEY], true],
      ['X: TL0PICIDX only', [0x90, 0x40, 0x01, ...VP8_KEY], true],
      ['X: TID only', [0x90, 0x20, 0x41, ...VP8_KEY], true],
      ['X: KEYIDX only (one byte, like TID)', [0x90, 0x10, 0x05, ...VP8_KEY], true],
      ['X: all fields, delta frame', [0x90, 0xf0, 0x81, 0x23, 0x07, 0x40, ...VP8_DELTA], false],
      ['X set but the descriptor is cut short', [0x90], false],
      ['descriptor without a payload header', [0x90, 0x80, 0x05], false],
    ];
    for (const [what, payload, expected] of cases) {
      test(what, () => assert.equal(startsKeyframe('vp8', Buffer.from(payload)), expected));
    }
  });

  describe('VP9 (RFC 9628)', () => {
    const cases: Array<[string, number[], boolean]> = [
      ['I, B, not inter-predicted: a keyframe starts', [0x88, 0x80, 0x01], true],
      ['B + scalability structure (V)', [0x8a, 0x80, 0x01, 0x18, 0x02, 0x80, 0x01, 0xe0, 0x01], true],
      ['inter-predicted (P) frame start', [0xc8, 0x80, 0x02], false],
      ['keyframe but not its first packet (E only)', [0x84, 0x80, 0x01], false],
      ['flexible mode (F) keyframe start', [0x98, 0x80, 0x01], true],
    ];
    for (const [what, payload, expected] of cases) {
      test(what, () => assert.equal(startsKeyframe('vp9', Buffer.from(payload)), expected));
    }
  });

  describe('H.264 (RFC 6184)', () => {
    const SPS = [0x67, 0x42, 0xe0, 0x1f, 0x8c, 0x8d, 0x40];
    const PPS = [0x68, 0xce, 0x3c, 0x80];
    const IDR = [0x65, 0x88, 0x84, 0x00];
    const SLICE = [0x41, 0x9a, 0x00, 0x10];
    const stapA = (...nals: number[][]) => [0x78, ...nals.flatMap((nal) => [...u16(nal.length), ...nal])];
    const cases: Array<[string, number[], boolean]> = [
      ['single NAL: IDR slice', IDR, true],
      ['single NAL: SPS', SPS, true],
      ['single NAL: PPS', PPS, false],
      ['single NAL: non-IDR slice', SLICE, false],
      ['STAP-A with SPS and PPS', stapA(SPS, PPS), true],
      ['STAP-A with IDR after an SEI', stapA([0x06, 0x05, 0x01], IDR), true],
      ['STAP-A of non-IDR NALs', stapA([0x06, 0x05, 0x01], SLICE), false],
      ['STAP-A whose size runs past the packet', [0x78, 0xff, 0xff, 0x41, 0x00], false],
      ['STAP-A cut inside a size field', [0x78, 0x00], false],
      ['FU-A start of an IDR', [0x7c, 0x85, 0x88, 0x84], true],
      ['FU-A middle of an IDR', [0x7c, 0x05, 0x00, 0x00], false],
      ['FU-A end of an IDR', [0x7c, 0x45, 0x00], false],
      ['FU-A start of a non-IDR slice', [0x7c, 0x81, 0x9a], false],
      ['FU-A without its FU header', [0x7c], false],
    ];
    for (const [what, payload, expected] of cases) {
      test(what, () => assert.equal(startsKeyframe('h264', Buffer.from(payload)), expected));
    }
  });

  describe('AV1 (RTP payload format, aggregation header Z Y W W N - - -)', () => {
    const cases: Array<[string, number[], boolean]> = [
      ['N=1: first packet of a coded video sequence', [0x18, 0x0a, 0x0b], true],
      ['N=1 with Y (continues in the next packet)', [0x58, 0x0a], true],
      ['N=0 start of a frame', [0x10, 0x32], false],
      ['N=0 continuation (Z)', [0x90, 0x00], false],
    ];
    for (const [what, payload, expected] of cases) {
      test(what, () => assert.equal(startsKeyframe('av1', Buffer.from(payload)), expected));
    }
  });

  test('an empty payload is never a keyframe', () => {
    for (const codec of ['vp8', 'vp9', 'h264', 'av1'] as const) assert.equal(startsKeyframe(codec, Buffer.alloc(0)), false, codec);
  });
});

describe('picture numbering (picture-numbering.ts)', () => {
  const at = (payload: number[]) => ({ packet: rtp({ payload }), start: 12 });
  const read = (codec: VideoCodecName, payload: number[]) => {
    const { packet, start } = at(payload);
    return readPictureNumbering(codec, packet, start);
  };

  test('VP8: 15-bit PictureID and TL0PICIDX, with their byte offsets', () => {
    assert.deepEqual(read('vp8', [0x90, 0xe0, 0x81, 0x23, 0x07, 0x40, 0x00]), { pictureIdAt: 14, pictureIdBits: 15, pictureId: 0x0123, tl0PicIdxAt: 16, tl0PicIdx: 7 });
  });

  test('VP8: 7-bit PictureID without TL0PICIDX; TL0PICIDX without PictureID', () => {
    assert.deepEqual(read('vp8', [0x90, 0x80, 0x05, 0x00]), { pictureIdAt: 14, pictureIdBits: 7, pictureId: 5, tl0PicIdxAt: -1, tl0PicIdx: 0 });
    assert.deepEqual(read('vp8', [0x90, 0x40, 0x09, 0x00]), { pictureIdAt: -1, pictureIdBits: 7, pictureId: 0, tl0PicIdxAt: 14, tl0PicIdx: 9 });
  });

  test('VP8: no extension, no numbers, or a descriptor cut short give undefined', () => {
    assert.equal(read('vp8', [0x10, 0x00]), undefined);
    assert.equal(read('vp8', [0x90, 0x20, 0x40]), undefined);
    assert.equal(read('vp8', [0x90, 0x80, 0x81]), undefined);
  });

  test('VP9: PictureID, then layer indices and TL0PICIDX in non-flexible mode only', () => {
    assert.deepEqual(read('vp9', [0xa8, 0x81, 0x23, 0x00, 0x11, 0x00]), { pictureIdAt: 13, pictureIdBits: 15, pictureId: 0x0123, tl0PicIdxAt: 16, tl0PicIdx: 0x11 });
    assert.deepEqual(read('vp9', [0xb8, 0x81, 0x23, 0x00, 0x11]), { pictureIdAt: 13, pictureIdBits: 15, pictureId: 0x0123, tl0PicIdxAt: -1, tl0PicIdx: 0 });
    assert.equal(read('vp9', [0x08, 0x00]), undefined);
  });

  test('other codecs carry none', () => {
    for (const codec of ['h264', 'av1', 'opus'] as const) assert.equal(read(codec as VideoCodecName, [0x90, 0xe0, 0x81, 0x23, 0x07]), undefined);
  });

  test('writing keeps each field width: a 15-bit PictureID keeps its M bit, a 7-bit one wraps at 128', () => {
    const { packet, start } = at([0x90, 0xc0, 0x81, 0x23, 0x07, 0x00]);
    writePictureNumbering(packet, readPictureNumbering('vp8', packet, start)!, 0x7fff, 0x1ff);
    assert.deepEqual([...packet.subarray(start, start + 5)], [0x90, 0xc0, 0xff, 0xff, 0xff]);
    const short = at([0x90, 0x80, 0x05, 0x00]);
    writePictureNumbering(short.packet, readPictureNumbering('vp8', short.packet, short.start)!, 130, 0);
    assert.deepEqual([...short.packet.subarray(short.start, short.start + 4)], [0x90, 0x80, 0x02, 0x00]);
  });
});

describe('malformed input never throws (seeded fuzz)', () => {
  const codecs: VideoCodecName[] = ['vp8', 'vp9', 'h264', 'av1'];
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

describe('ReceptionStats (receiver reports to publishers)', () => {
  test('resent packets do not hide loss: 7 of 100 lost, then resent, still report 7 % and 7 lost', () => {
    const stats = new ReceptionStats(0x1234, 1000);
    const lost = new Set([1003, 1010, 1020, 1041, 1050, 1077, 1090]);
    for (let sequence = 1000; sequence < 1100; sequence++) if (!lost.has(sequence)) stats.onPacket(sequence);
    for (const sequence of lost) stats.onPacket(sequence); // the publisher's answers to NACKs
    const report = stats.report();
    assert.equal(report.ssrc, 0x1234);
    assert.equal(report.highestSequence, 1099);
    assert.equal(report.totalLost, 7);
    assert.equal(report.fractionLost, 0.07);
  });

  test('fraction lost covers the interval since the previous report; total loss accumulates', () => {
    const stats = new ReceptionStats(1, 0);
    for (let sequence = 0; sequence < 50; sequence++) if (sequence % 10 !== 5) stats.onPacket(sequence);
    assert.equal(stats.report().fractionLost, 5 / 50);
    for (let sequence = 50; sequence < 100; sequence++) stats.onPacket(sequence);
    const clean = stats.report();
    assert.equal(clean.fractionLost, 0);
    assert.equal(clean.totalLost, 5);
    assert.equal(stats.report().fractionLost, 0, 'nothing new: no loss');
  });

  test('sequence numbers wrap: the extended highest counts cycles and nothing is lost', () => {
    const stats = new ReceptionStats(1, 65530);
    for (let step = 0; step < 12; step++) stats.onPacket((65530 + step) & 0xffff);
    const report = stats.report();
    assert.equal(report.highestSequence, 0x10000 + 5);
    assert.equal(report.totalLost, 0);
    assert.equal(stats.highestSequence, 5);
  });

  test('round-trip fields echo the last sender report with the delay since it', () => {
    const stats = new ReceptionStats(1, 0);
    stats.onPacket(0);
    assert.equal(stats.report().lastSenderReport, 0);
    stats.senderReport = { ntpSeconds: 0x00012345, ntpFraction: 0x67890000, rtpTimestamp: 0, receivedAt: 10_000 };
    const report = stats.report(10_500);
    assert.equal(report.lastSenderReport, 0x23456789);
    assert.equal(report.delaySinceLastSenderReport, 32768);
  });
});
