import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ConnectionQuality } from '@parley/protocol';
import type { BitrateDecision, NetworkSample, VideoProfile } from '../src/adaptive-bitrate.ts';
import { cameraSample, MediaMonitor } from '../src/media-monitor.ts';
import type { TrackStats } from '../src/stats.ts';

function stream(fields: Partial<TrackStats>): TrackStats {
  return { participant: 'bob', direction: 'outbound', kind: 'video', source: 'camera', bitrateKbps: 0, bytes: 0, packets: 0, packetsLost: 0, ...fields };
}

test('cameraSample: nothing to judge without an outbound camera stream', () => {
  const mic = stream({ kind: 'audio', source: 'microphone', packets: 100 });
  const inbound = stream({ direction: 'inbound', packets: 100 });
  assert.equal(cameraSample([mic, inbound], [mic, inbound]), undefined);
});

test('cameraSample: loss since the previous sample, the worst round trip, the smallest bandwidth estimate', () => {
  const before = [stream({ rid: 'q', packets: 100, packetsLost: 0 }), stream({ rid: 'f', packets: 100, packetsLost: 0 })];
  const now = [
    stream({ rid: 'q', packets: 190, packetsLost: 10, rttMs: 40 }),
    stream({ rid: 'f', packets: 200, packetsLost: 0, rttMs: 120, availableOutgoingKbps: 900 }),
    stream({ direction: 'inbound', source: 'camera', packets: 500, packetsLost: 400, rttMs: 999 }),
  ];
  const sample = cameraSample(now, before)!;
  assert.equal(sample.lossFraction, 10 / 200);
  assert.equal(sample.rttMs, 120);
  assert.equal(sample.availableKbps, 900);
});

test('cameraSample: the share resent after NACKs counts when it is larger than the reported loss', () => {
  const before = [stream({ packets: 1000, retransmittedPackets: 0 })];
  const now = [stream({ packets: 1100, retransmittedPackets: 20 })];
  const sample = cameraSample(now, before)!;
  assert.equal(sample.lossFraction, 0.2);
  assert.equal(sample.rttMs, undefined);
  assert.equal(sample.availableKbps, undefined);
});

/** A monitor over scripted samples; records what it told the room. */
function monitor(decide: (sample: NetworkSample, current: VideoProfile) => VideoProfile, samples: TrackStats[][]) {
  const applied: VideoProfile[] = [];
  const decisions: BitrateDecision[] = [];
  const qualities: ConnectionQuality[] = [];
  let asked = 0;
  const m = new MediaMonitor({
    bitratePolicy: {
      decide: (sample, current) => {
        asked++;
        return decide(sample, current);
      },
    },
    qualityReporter: undefined,
    collectStats: async () => samples.shift() ?? [],
    isConnected: () => true,
    applyCameraProfile: async (profile) => void applied.push(profile),
    bitrateChanged: (decision) => void decisions.push(decision),
    qualityChanged: async (quality) => void qualities.push(quality),
  });
  return { m, applied, decisions, qualities, asked: () => asked };
}

test('MediaMonitor: the first sample only sets the baseline', async () => {
  const t = monitor(() => 'low', [[stream({ packets: 100 })]]);
  await t.m.tick();
  assert.equal(t.asked(), 0);
  assert.deepEqual(t.qualities, []);
  assert.equal(t.m.cameraProfile, 'high');
});

test('MediaMonitor: a step down is applied, then announced; staying low re-applies without announcing', async () => {
  const t = monitor(() => 'low', [[stream({ packets: 100 })], [stream({ packets: 200 })], [stream({ packets: 300 })]]);
  await t.m.tick();
  await t.m.tick();
  assert.equal(t.m.cameraProfile, 'low');
  assert.deepEqual(t.applied, ['low']);
  assert.equal(t.decisions.length, 1);
  assert.equal(t.decisions[0]!.profile, 'low');
  assert.equal(t.decisions[0]!.previous, 'high');
  await t.m.tick();
  assert.deepEqual(t.applied, ['low', 'low'], 'senders made since the step down get the low caps');
  assert.equal(t.decisions.length, 1);
});

test('MediaMonitor: staying high applies nothing', async () => {
  const t = monitor((_, current) => current, [[stream({ packets: 100 })], [stream({ packets: 200 })]]);
  await t.m.tick();
  await t.m.tick();
  assert.equal(t.asked(), 1);
  assert.deepEqual(t.applied, []);
  assert.deepEqual(t.decisions, []);
});

test('MediaMonitor: the samples judged are kept for debugState, the last 10, each with the profile it left', async () => {
  const t = monitor((_, current) => current, Array.from({ length: 13 }, (_, i) => [stream({ packets: 100 * (i + 1) })]));
  await t.m.tick();
  assert.equal(t.m.cameraSamples.length, 0, 'the baseline is no sample');
  for (let i = 0; i < 12; i++) await t.m.tick();
  assert.equal(t.m.cameraSamples.length, 10);
  assert.ok(t.m.cameraSamples.every((s) => s.profile === 'high' && s.lossFraction === 0 && Number.isFinite(s.at)));
  assert.ok(t.m.cameraSamples.every((s, i, all) => i === 0 || s.at >= all[i - 1]!.at), 'oldest first');
});

test('MediaMonitor: connection quality is reported when it changes, and again after a stop', async () => {
  const clean = (packets: number) => [stream({ packets })];
  const lossy = (packets: number, lost: number) => [stream({ packets, packetsLost: lost })];
  const t = monitor((_, current) => current, [clean(100), clean(200), clean(300), lossy(400, 50), clean(100), clean(200)]);
  for (let i = 0; i < 4; i++) await t.m.tick();
  assert.deepEqual(t.qualities, ['excellent', 'poor']);
  t.m.stop();
  await t.m.tick();
  assert.deepEqual(t.qualities, ['excellent', 'poor'], 'after a stop the first sample is a baseline again');
  await t.m.tick();
  assert.deepEqual(t.qualities, ['excellent', 'poor', 'excellent']);
});
