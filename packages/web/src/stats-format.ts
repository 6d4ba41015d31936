// The stats panel's figures in words, and the last minute of each stream's bitrate and loss for
// its graphs. Nothing here touches the DOM (unit-tested in packages/web/test/stats-format.test.ts).

import type { TrackStats } from '@parley/client';

/** One row of the stats panel, every cell as shown. */
export interface StatsRowText {
  /** Stable across refreshes: the same stream keeps its row (and its graph history). */
  key: string;
  /** e.g. "Bob · camera · received", "To Bob · camera · sent (layer h)". */
  label: string;
  bitrate: string;
  loss: string;
  rtt: string;
  jitter: string;
  codec: string;
  resolution: string;
  fps: string;
  candidate: string;
}

const MISSING = '—';

/** Identifies one stream across getStats() calls. */
export function streamKey(stats: TrackStats): string {
  return [stats.participant, stats.direction, stats.kind, stats.source ?? '', stats.rid ?? ''].join('|');
}

/** `nameOf` turns an identity into the name shown on tiles. */
export function formatStatsRow(stats: TrackStats, nameOf: (identity: string) => string): StatsRowText {
  const what = stats.source ?? stats.kind;
  const layer = stats.rid === undefined ? '' : ` (layer ${stats.rid})`;
  const label =
    stats.direction === 'inbound'
      ? `${nameOf(stats.participant)} · ${what} · received`
      : `To ${nameOf(stats.participant)} · ${what} · sent${layer}`;
  return {
    key: streamKey(stats),
    label,
    bitrate: formatBitrate(stats.bitrateKbps),
    loss: formatLoss(stats.packetsLost, stats.packets),
    rtt: stats.rttMs === undefined ? MISSING : `${Math.round(stats.rttMs)} ms`,
    jitter: stats.jitterMs === undefined ? MISSING : `${Math.round(stats.jitterMs)} ms`,
    codec: stats.codec === undefined ? MISSING : stats.codec.replace(/^(audio|video)\//i, ''),
    resolution: stats.frameWidth && stats.frameHeight ? `${stats.frameWidth}×${stats.frameHeight}` : MISSING,
    fps: stats.framesPerSecond === undefined ? MISSING : String(Math.round(stats.framesPerSecond)),
    candidate: describeCandidate(stats.candidateType),
  };
}

/** "850 kbps", "2.4 Mbps". */
export function formatBitrate(kbps: number): string {
  if (!(kbps > 0)) return '0 kbps';
  if (Math.round(kbps) < 1000) return `${Math.round(kbps)} kbps`;
  return `${(kbps / 1000).toFixed(1)} Mbps`;
}

/** Packets lost so far and their share of the packets expected, e.g. "12 (0.4%)". */
export function formatLoss(lost: number, received: number): string {
  const lostPackets = Math.max(0, lost);
  const expected = Math.max(0, received) + lostPackets;
  const percent = expected === 0 ? 0 : (lostPackets / expected) * 100;
  return `${lostPackets} (${percent < 10 && percent > 0 ? percent.toFixed(1) : Math.round(percent)}%)`;
}

const CANDIDATES: Readonly<Record<string, string>> = {
  host: 'direct (host)',
  srflx: 'direct via NAT (srflx)',
  prflx: 'direct via NAT (prflx)',
  relay: 'relayed (TURN)',
};

function describeCandidate(type: string | undefined): string {
  if (type === undefined) return MISSING;
  return CANDIDATES[type] ?? type;
}

/** One graph sample: bitrate and the share of packets lost since the previous sample. */
export interface StatsSample {
  bitrateKbps: number;
  lossPercent: number;
}

/**
 * The last `capacity` samples of every stream (one a second: 60 = one minute), for the graphs.
 * Loss is per interval, from the change in the cumulative counters, so a loss burst shows when it
 * happens instead of being averaged over the whole call.
 */
export class StatsHistory {
  private readonly series = new Map<string, StatsSample[]>();
  private readonly counters = new Map<string, { packets: number; lost: number }>();

  constructor(readonly capacity = 60) {}

  /** Adds one sample per stream; streams not in `streams` any more are forgotten. */
  record(streams: readonly TrackStats[]): void {
    const seen = new Set<string>();
    for (const stats of streams) {
      const key = streamKey(stats);
      seen.add(key);
      const before = this.counters.get(key);
      this.counters.set(key, { packets: stats.packets, lost: stats.packetsLost });
      const packets = Math.max(0, stats.packets - (before?.packets ?? stats.packets));
      const lost = Math.max(0, stats.packetsLost - (before?.lost ?? stats.packetsLost));
      const series = this.series.get(key) ?? [];
      series.push({ bitrateKbps: stats.bitrateKbps, lossPercent: packets + lost === 0 ? 0 : (lost / (packets + lost)) * 100 });
      if (series.length > this.capacity) series.splice(0, series.length - this.capacity);
      this.series.set(key, series);
    }
    for (const key of [...this.series.keys()]) {
      if (seen.has(key)) continue;
      this.series.delete(key);
      this.counters.delete(key);
    }
  }

  samples(key: string): readonly StatsSample[] {
    return this.series.get(key) ?? [];
  }
}
