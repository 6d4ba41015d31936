import type { CallQualityReport, QualityLimitation } from '@parley/protocol';
import { sameStream } from './connection-quality.js';
import type { TrackStats } from './stats.js';

/** How often the SDK sends its call-quality summary (the server refuses more than one per 2 s). */
export const QUALITY_REPORT_INTERVAL_MS = 10_000;

/** One monitor sample's figures: what changed between two getStats() snapshots. */
export interface SampleFigures {
  sendPackets: number;
  /** Packets its receivers reported lost, or asked again (whichever is larger, per stream). */
  sendLost: number;
  sendKbps: number;
  receivePackets: number;
  receiveLost: number;
  receiveKbps: number;
  jitterMs: number;
  rttMs: number | undefined;
  framesDecoded: number;
  framesDropped: number;
  freezes: number;
  frozenMs: number;
  /** The camera encoder's limitation now, when the camera is sent. */
  limitation: QualityLimitation | undefined;
}

/** Pure: the figures of one sample, from two consecutive snapshots. Streams new in `stats` count from 0. */
export function sampleFigures(stats: readonly TrackStats[], previous: readonly TrackStats[]): SampleFigures {
  const figures: SampleFigures = { sendPackets: 0, sendLost: 0, sendKbps: 0, receivePackets: 0, receiveLost: 0, receiveKbps: 0, jitterMs: 0, rttMs: undefined, framesDecoded: 0, framesDropped: 0, freezes: 0, frozenMs: 0, limitation: undefined };
  for (const stream of stats) {
    const before = previous.find((p) => sameStream(p, stream));
    const delta = (now: number | undefined, then: number | undefined) => Math.max(0, (now ?? 0) - (then ?? 0));
    const packets = delta(stream.packets, before?.packets);
    const lost = delta(stream.packetsLost, before?.packetsLost);
    if (stream.rttMs !== undefined) figures.rttMs = Math.max(figures.rttMs ?? 0, stream.rttMs);
    if (stream.direction === 'outbound') {
      figures.sendPackets += packets;
      figures.sendLost += Math.max(lost, delta(stream.retransmittedPackets, before?.retransmittedPackets));
      figures.sendKbps += stream.bitrateKbps;
      if (stream.kind === 'video' && stream.source === 'camera' && stream.qualityLimitationReason !== undefined && figures.limitation === undefined) {
        figures.limitation = asLimitation(stream.qualityLimitationReason);
      }
    } else {
      figures.receivePackets += packets;
      figures.receiveLost += lost;
      figures.receiveKbps += stream.bitrateKbps;
      figures.jitterMs = Math.max(figures.jitterMs, stream.jitterMs ?? 0);
      if (stream.kind === 'video') {
        figures.framesDecoded += delta(stream.frames, before?.frames);
        figures.framesDropped += delta(stream.framesDropped, before?.framesDropped);
        figures.freezes += delta(stream.freezeCount, before?.freezeCount);
        figures.frozenMs += delta(stream.totalFreezesDurationMs, before?.totalFreezesDurationMs);
      }
    }
  }
  return figures;
}

function asLimitation(reason: string): QualityLimitation {
  return reason === 'none' || reason === 'bandwidth' || reason === 'cpu' ? reason : 'other';
}

/**
 * Folds the monitor's samples (every 2 s) into one `qualityReport` per interval: totals for
 * packets and frames, time-weighted means for bitrates, jitter and round trip, and the camera's
 * most frequent limitation. The server keeps them per participant (webhooks) and as histograms.
 */
export class CallQualityReporter {
  private ms = 0;
  private totals = fresh();
  private milestones: { joinMs?: number; firstMediaMs?: number } = {};
  private readonly sentMilestones = new Set<string>();

  constructor(
    private readonly intervalMs: number,
    private readonly send: (report: CallQualityReport) => void,
  ) {}

  /** `connect()` to joined, and to the first decoded video frame: sent once, with the next report. */
  milestone(name: 'joinMs' | 'firstMediaMs', ms: number): void {
    if (this.milestones[name] === undefined && !this.sentMilestones.has(name)) this.milestones[name] = Math.round(ms);
  }

  /** One monitor sample covering `elapsedMs`; sends a report once an interval is full. */
  sample(stats: readonly TrackStats[], previous: readonly TrackStats[], elapsedMs: number): void {
    if (elapsedMs <= 0) return;
    const figures = sampleFigures(stats, previous);
    const t = this.totals;
    this.ms += elapsedMs;
    t.sendPackets += figures.sendPackets;
    t.sendLost += figures.sendLost;
    t.receivePackets += figures.receivePackets;
    t.receiveLost += figures.receiveLost;
    t.sendKbpsMs += figures.sendKbps * elapsedMs;
    t.receiveKbpsMs += figures.receiveKbps * elapsedMs;
    t.jitterMsMs += figures.jitterMs * elapsedMs;
    if (figures.rttMs !== undefined) {
      t.rttMsMs += figures.rttMs * elapsedMs;
      t.rttMs += elapsedMs;
    }
    t.framesDecoded += figures.framesDecoded;
    t.framesDropped += figures.framesDropped;
    t.freezes += figures.freezes;
    t.frozenMs += figures.frozenMs;
    if (figures.limitation) t.limitations.set(figures.limitation, (t.limitations.get(figures.limitation) ?? 0) + elapsedMs);
    if (this.ms >= this.intervalMs) this.flush();
  }

  private flush(): void {
    const t = this.totals;
    const ms = this.ms;
    const ratio = (lost: number, packets: number) => (packets + lost > 0 ? Math.min(1, lost / (packets + lost)) : 0);
    const limitation = [...t.limitations].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'none';
    const report: CallQualityReport = {
      intervalMs: Math.min(60_000, Math.max(1000, Math.round(ms))),
      ...(t.rttMs > 0 ? { rttMs: Math.round(t.rttMsMs / t.rttMs) } : {}),
      send: { lossRatio: round4(ratio(t.sendLost, t.sendPackets)), bitrateKbps: Math.round(t.sendKbpsMs / ms), limitation },
      receive: {
        lossRatio: round4(ratio(t.receiveLost, t.receivePackets)),
        bitrateKbps: Math.round(t.receiveKbpsMs / ms),
        jitterMs: Math.round(t.jitterMsMs / ms),
        framesDecoded: t.framesDecoded,
        framesDropped: t.framesDropped,
        freezes: t.freezes,
        frozenMs: Math.min(Math.round(t.frozenMs), Math.round(ms)),
      },
      ...this.milestones,
    };
    for (const name of Object.keys(this.milestones)) this.sentMilestones.add(name);
    this.milestones = {};
    this.ms = 0;
    this.totals = fresh();
    this.send(report);
  }
}

/** While waiting for a first frame: how often to look, and for how long at most. */
const FIRST_FRAME_POLL_MS = 100;
const FIRST_FRAME_TIMEOUT_MS = 15_000;

/**
 * Time to first media: from when there was someone to see (`connect()` if others were in the
 * room, else when the first of them joined) to the first video frame decoded. getStats() is
 * polled every 100 ms from the first video track's arrival until a frame is decoded (a few polls
 * on a normal join), so the figure is within 100 ms; after 15 s without a frame it is not reported.
 */
export async function watchFirstFrame(options: { decoded: () => Promise<boolean>; isActive: () => boolean; onFrame: (at: number) => void }): Promise<void> {
  const deadline = performance.now() + FIRST_FRAME_TIMEOUT_MS;
  while (options.isActive() && performance.now() < deadline) {
    if (await options.decoded().catch(() => false)) return options.onFrame(performance.now());
    await new Promise((resolve) => setTimeout(resolve, FIRST_FRAME_POLL_MS));
  }
}

function fresh() {
  return { sendPackets: 0, sendLost: 0, receivePackets: 0, receiveLost: 0, sendKbpsMs: 0, receiveKbpsMs: 0, jitterMsMs: 0, rttMsMs: 0, rttMs: 0, framesDecoded: 0, framesDropped: 0, freezes: 0, frozenMs: 0, limitations: new Map<QualityLimitation, number>() };
}

function round4(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}
