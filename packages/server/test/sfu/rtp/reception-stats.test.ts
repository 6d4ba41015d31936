import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ReceptionStats } from '../../../src/sfu/rtp/reception-stats.ts';

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
