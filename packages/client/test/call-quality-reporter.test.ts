import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CallQualityReport } from '@parley/protocol';
import { CallQualityReporter, sampleFigures } from '../src/call-quality-reporter.ts';
import type { TrackStats } from '../src/stats.ts';

const base = { participant: 'sfu', bitrateKbps: 0, bytes: 0, packets: 0, packetsLost: 0 } as const;
const camera = (fields: Partial<TrackStats>): TrackStats => ({ ...base, direction: 'outbound', kind: 'video', source: 'camera', rid: 'f', ...fields });
const incoming = (fields: Partial<TrackStats>): TrackStats => ({ ...base, participant: 'bob', direction: 'inbound', kind: 'video', source: 'camera', ...fields });

describe('sampleFigures', () => {
  test('differences between two snapshots, send loss as the larger of reported loss and resends', () => {
    const before = [camera({ packets: 1000, packetsLost: 10, retransmittedPackets: 5 }), incoming({ packets: 2000, packetsLost: 20, frames: 300, framesDropped: 1, freezeCount: 0, totalFreezesDurationMs: 0 })];
    const now = [
      camera({ packets: 1100, packetsLost: 12, retransmittedPackets: 15, bitrateKbps: 900, rttMs: 40, qualityLimitationReason: 'bandwidth' }),
      incoming({ packets: 2190, packetsLost: 30, frames: 360, framesDropped: 3, freezeCount: 1, totalFreezesDurationMs: 450, bitrateKbps: 1200, jitterMs: 12, rttMs: 55 }),
    ];
    assert.deepEqual(sampleFigures(now, before), {
      sendPackets: 100,
      sendLost: 10,
      sendKbps: 900,
      receivePackets: 190,
      receiveLost: 10,
      receiveKbps: 1200,
      jitterMs: 12,
      rttMs: 55,
      framesDecoded: 60,
      framesDropped: 2,
      freezes: 1,
      frozenMs: 450,
      limitation: 'bandwidth',
    });
  });

  test('a stream new in this sample counts from zero; counters that went back (a new connection) count nothing', () => {
    const figures = sampleFigures([incoming({ packets: 50, frames: 10 }), camera({ packets: 10 })], [camera({ packets: 500 })]);
    assert.equal(figures.receivePackets, 50);
    assert.equal(figures.framesDecoded, 10);
    assert.equal(figures.sendPackets, 0);
  });
});

describe('CallQualityReporter', () => {
  test('one report per interval: totals, time-weighted means, the most frequent limitation, milestones once', () => {
    const reports: CallQualityReport[] = [];
    const reporter = new CallQualityReporter(10_000, (report) => reports.push(report));
    reporter.milestone('joinMs', 123.4);
    reporter.milestone('firstMediaMs', 456);
    let previous = [camera({}), incoming({})];
    const step = (i: number, limitation: string, kbps: number, lost: number) => {
      const stats = [
        camera({ packets: i * 100, packetsLost: 0, bitrateKbps: kbps, qualityLimitationReason: limitation, rttMs: 100 }),
        incoming({ packets: i * 200, packetsLost: lost * i, frames: i * 60, jitterMs: 10, bitrateKbps: 1000 }),
      ];
      reporter.sample(stats, previous, 2000);
      previous = stats;
    };
    for (let i = 1; i <= 4; i++) step(i, i === 1 ? 'none' : 'bandwidth', 500, 0);
    assert.equal(reports.length, 0, 'nothing before the interval is full');
    step(5, 'cpu', 1000, 4);
    assert.equal(reports.length, 1);
    assert.deepEqual(reports[0], {
      intervalMs: 10_000,
      rttMs: 100,
      send: { lossRatio: 0, bitrateKbps: 600, limitation: 'bandwidth' },
      receive: { lossRatio: round4(20 / 1020), bitrateKbps: 1000, jitterMs: 10, framesDecoded: 300, framesDropped: 0, freezes: 0, frozenMs: 0 },
      joinMs: 123,
      firstMediaMs: 456,
    });
    for (let i = 6; i <= 10; i++) step(i, 'none', 500, 0);
    assert.equal(reports.length, 2);
    assert.equal(reports[1]!.joinMs, undefined, 'milestones go once');
    reporter.milestone('joinMs', 999);
    for (let i = 11; i <= 15; i++) step(i, 'none', 500, 0);
    assert.equal(reports[2]!.joinMs, undefined, 'a milestone already sent is not replaced');
  });
});

function round4(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}
