import { Counter, Histogram, type Registry } from 'prom-client';
import type { CallQualityReport } from '@parley/protocol';
import type { CallQualitySummary } from '../analytics/call-quality.js';

/**
 * Call quality as participants report it (`qualityReport`), as histograms over reports and
 * counters: how calls went across the node, never per participant or room (the per-participant
 * record goes to webhooks). One report = one observation, ~every 10 s per participant.
 */
export class CallQualityMetrics {
  private readonly reports: Counter;
  private readonly reportedSeconds: Counter;
  private readonly rtt: Histogram;
  private readonly loss: Histogram<'direction'>;
  private readonly jitter: Histogram;
  private readonly bitrate: Histogram<'direction'>;
  private readonly frames: Counter<'result'>;
  private readonly freezes: Counter;
  private readonly frozen: Counter;
  private readonly limited: Counter<'reason'>;
  private readonly joinDuration: Histogram;
  private readonly firstMedia: Histogram;
  private readonly rated: Counter<'rating'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.reports = new Counter({ name: 'parley_call_quality_reports_total', help: 'call-quality reports received from participants (one per participant every ~10 s)', registers });
    this.reportedSeconds = new Counter({ name: 'parley_call_reported_seconds_total', help: 'seconds of call the quality reports cover (the denominator of frozen seconds per minute)', registers });
    this.rtt = new Histogram({ name: 'parley_call_rtt_seconds', help: "participants' media round trip, one observation per report", buckets: [0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2], registers });
    this.loss = new Histogram({
      name: 'parley_call_packet_loss_ratio',
      help: 'packet loss over a report, by direction (send: what its receivers reported lost or asked again; receive: what it lost)',
      labelNames: ['direction'],
      buckets: [0.001, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.5],
      registers,
    });
    this.jitter = new Histogram({ name: 'parley_call_jitter_seconds', help: 'largest inter-arrival jitter of the streams a participant received, per report', buckets: [0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5], registers });
    this.bitrate = new Histogram({
      name: 'parley_call_bitrate_bytes_per_second',
      help: 'what a participant sent and received over a report, by direction (bytes: Prometheus base units; 125000 B/s is 1 Mbit/s)',
      labelNames: ['direction'],
      buckets: [4e3, 12.5e3, 37.5e3, 75e3, 125e3, 250e3, 500e3, 1e6],
      registers,
    });
    this.frames = new Counter({ name: 'parley_call_video_frames_total', help: 'video frames participants received, by result (decoded, dropped)', labelNames: ['result'], registers });
    this.freezes = new Counter({ name: 'parley_call_video_freezes_total', help: 'video freezes participants saw', registers });
    this.frozen = new Counter({ name: 'parley_call_video_frozen_seconds_total', help: 'seconds of video participants saw frozen', registers });
    this.limited = new Counter({ name: 'parley_call_quality_limited_seconds_total', help: "seconds a participant's camera encoder was limited, by reason (bandwidth, cpu, other)", labelNames: ['reason'], registers });
    this.joinDuration = new Histogram({ name: 'parley_join_duration_seconds', help: "a participant's connect() to joined, as its SDK measured it", buckets: [0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 5], registers });
    this.firstMedia = new Histogram({ name: 'parley_time_to_first_media_seconds', help: "a participant's connect() to its first decoded video frame, as its SDK measured it", buckets: [0.1, 0.2, 0.3, 0.5, 1, 2, 3, 5, 10], registers });
    this.rated = new Counter({ name: 'parley_call_participants_rated_total', help: 'participants who left, by the rating of their call (good, fair, poor)', labelNames: ['rating'], registers });
    for (const direction of ['send', 'receive']) {
      this.loss.zero({ direction });
      this.bitrate.zero({ direction });
    }
    for (const result of ['decoded', 'dropped']) this.frames.inc({ result }, 0);
    for (const reason of ['bandwidth', 'cpu', 'other']) this.limited.inc({ reason }, 0);
    for (const rating of ['good', 'fair', 'poor']) this.rated.inc({ rating }, 0);
  }

  observe(report: CallQualityReport): void {
    this.reports.inc();
    this.reportedSeconds.inc(report.intervalMs / 1000);
    if (report.rttMs !== undefined) this.rtt.observe(report.rttMs / 1000);
    this.loss.observe({ direction: 'send' }, report.send.lossRatio);
    this.loss.observe({ direction: 'receive' }, report.receive.lossRatio);
    this.jitter.observe(report.receive.jitterMs / 1000);
    this.bitrate.observe({ direction: 'send' }, (report.send.bitrateKbps * 1000) / 8);
    this.bitrate.observe({ direction: 'receive' }, (report.receive.bitrateKbps * 1000) / 8);
    this.frames.inc({ result: 'decoded' }, report.receive.framesDecoded);
    this.frames.inc({ result: 'dropped' }, report.receive.framesDropped);
    this.freezes.inc(report.receive.freezes);
    this.frozen.inc(Math.min(report.receive.frozenMs, report.intervalMs) / 1000);
    if (report.send.limitation !== 'none') this.limited.inc({ reason: report.send.limitation }, report.intervalMs / 1000);
    if (report.joinMs !== undefined) this.joinDuration.observe(report.joinMs / 1000);
    if (report.firstMediaMs !== undefined) this.firstMedia.observe(report.firstMediaMs / 1000);
  }

  /** A participant left with a rated call. */
  participantRated(summary: CallQualitySummary): void {
    this.rated.inc({ rating: summary.rating });
  }
}
