import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildDlrr, buildNack, buildPli, buildReceiverReport, buildRemb, buildSenderReport, parseRtcp, type ReportBlock } from '../../../src/sfu/rtp/rtcp.ts';
import { ascii, u16, u32 } from './rtp-packets.ts';

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
