import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TrackStats } from '@parley/client';
import { deviceOptions, selectedDevice } from '../src/device-options.ts';
import { MAX_QUALITY_BARS, qualityIndicator } from '../src/quality-bars.ts';
import { sparklinePoints } from '../src/sparkline.ts';
import { formatBitrate, formatLoss, formatStatsRow, StatsHistory, streamKey } from '../src/stats-format.ts';

describe('qualityIndicator', () => {
  it('maps excellent/good/poor/lost to 3/2/1/0 bars and says it in words', () => {
    assert.deepEqual(qualityIndicator('excellent'), { bars: 3, label: 'Connection: excellent' });
    assert.deepEqual(qualityIndicator('good'), { bars: 2, label: 'Connection: good' });
    assert.deepEqual(qualityIndicator('poor'), { bars: 1, label: 'Connection: poor' });
    assert.equal(qualityIndicator('lost').bars, 0);
    assert.match(qualityIndicator('lost').label, /lost/);
    assert.equal(MAX_QUALITY_BARS, 3);
  });
});

describe('sparklinePoints', () => {
  const scale = { width: 62, height: 22, capacity: 61, minimumMax: 10 };

  it('puts the newest sample at the right edge, zero at the bottom and the maximum at the top', () => {
    const points = sparklinePoints([0, 50, 100], scale);
    assert.equal(points.length, 3);
    assert.deepEqual(points.at(-1), { x: 61, y: 1 });
    assert.deepEqual(points[0], { x: 59, y: 21 });
    assert.equal(points[1]?.y, 11);
  });

  it('keeps small values low against the minimum top, and treats junk as zero', () => {
    const points = sparklinePoints([5, Number.NaN, -3, Infinity], scale);
    assert.equal(points[0]?.y, 11, '5 of a minimum top of 10 is half way');
    assert.deepEqual(points.slice(1).map((p) => p.y), [21, 21, 21]);
  });

  it('spans the whole width when full and drops samples beyond the capacity', () => {
    const values = Array.from({ length: 100 }, (_, i) => i);
    const points = sparklinePoints(values, scale);
    assert.equal(points.length, 61);
    assert.equal(points[0]?.x, 1);
    assert.equal(points.at(-1)?.x, 61);
    assert.equal(points.at(-1)?.y, 1, 'the newest (99) is the maximum of the samples shown');
    assert.equal(points[0]?.y, 1 + 20 - (39 / 99) * 20);
  });

  it('draws nothing for no samples', () => {
    assert.deepEqual(sparklinePoints([], scale), []);
  });
});

const video: TrackStats = {
  participant: 'bob-1',
  direction: 'inbound',
  kind: 'video',
  source: 'camera',
  codec: 'video/VP8',
  bitrateKbps: 1234.4,
  bytes: 1_000_000,
  packets: 990,
  packetsLost: 10,
  rttMs: 12.4,
  jitterMs: 3.6,
  frameWidth: 1280,
  frameHeight: 720,
  framesPerSecond: 29.7,
  candidateType: 'host',
};

describe('formatStatsRow', () => {
  it('shows every figure of a received video stream in words', () => {
    assert.deepEqual(formatStatsRow(video, (id) => (id === 'bob-1' ? 'Bob' : id)), {
      key: 'bob-1|inbound|video|camera|',
      label: 'Bob · camera · received',
      bitrate: '1.2 Mbps',
      loss: '10 (1.0%)',
      rtt: '12 ms',
      jitter: '4 ms',
      codec: 'VP8',
      resolution: '1280×720',
      fps: '30',
      candidate: 'direct (host)',
    });
  });

  it('marks missing figures with a dash and names the simulcast layer of a sent stream', () => {
    const sent: TrackStats = { participant: 'sfu', direction: 'outbound', kind: 'audio', bitrateKbps: 0, bytes: 0, packets: 0, packetsLost: 0, rid: 'h', candidateType: 'relay' };
    const row = formatStatsRow(sent, (id) => id);
    assert.equal(row.label, 'To sfu · audio · sent (layer h)');
    assert.deepEqual([row.bitrate, row.loss, row.rtt, row.jitter, row.codec, row.resolution, row.fps, row.candidate], ['0 kbps', '0 (0%)', '—', '—', '—', '—', '—', 'relayed (TURN)']);
  });

  it('formats bitrates and loss at every scale', () => {
    assert.deepEqual([0, Number.NaN, 0.4, 999.6, 1000, 25_400].map(formatBitrate), ['0 kbps', '0 kbps', '0 kbps', '1.0 Mbps', '1.0 Mbps', '25.4 Mbps']);
    assert.equal(formatLoss(0, 0), '0 (0%)');
    assert.equal(formatLoss(1, 999), '1 (0.1%)');
    assert.equal(formatLoss(50, 50), '50 (50%)');
    assert.equal(formatLoss(-1, 10), '0 (0%)', 'a negative counter (duplicates) is not loss');
  });
});

describe('StatsHistory', () => {
  it('keeps per-interval loss and bitrate for each stream, up to its capacity, and forgets streams that went away', () => {
    const history = new StatsHistory(3);
    const key = streamKey(video);
    history.record([{ ...video, packets: 100, packetsLost: 0, bitrateKbps: 0 }]);
    history.record([{ ...video, packets: 190, packetsLost: 10, bitrateKbps: 800 }]);
    history.record([{ ...video, packets: 290, packetsLost: 10, bitrateKbps: 900 }]);
    history.record([{ ...video, packets: 290, packetsLost: 10, bitrateKbps: 0 }]);
    assert.deepEqual(history.samples(key), [
      { bitrateKbps: 800, lossPercent: 10 },
      { bitrateKbps: 900, lossPercent: 0 },
      { bitrateKbps: 0, lossPercent: 0 },
    ]);
    history.record([]);
    assert.deepEqual(history.samples(key), []);
  });
});

describe('deviceOptions', () => {
  it('lists each device once, numbering the ones without a label, and selects the one in use', () => {
    const options = deviceOptions(
      [
        { deviceId: 'a', label: 'Front camera' },
        { deviceId: 'b', label: '' },
        { deviceId: 'a', label: 'Front camera' },
      ],
      'Camera',
    );
    assert.deepEqual(options, [
      { value: 'a', label: 'Front camera' },
      { value: 'b', label: 'Camera 2' },
    ]);
    assert.equal(selectedDevice(options, 'b'), 'b');
    assert.equal(selectedDevice(options, 'gone'), 'a');
    assert.equal(selectedDevice([], undefined), undefined);
  });
});
