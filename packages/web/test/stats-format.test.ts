import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TrackStats } from '@parley/client';
import { formatBitrate, formatLoss, formatStatsRow, StatsHistory, streamKey } from '../src/stats-format.ts';

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
