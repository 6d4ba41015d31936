import type { CallQualityReport, QualityLimitation } from '@parley/protocol';

/**
 * One participant's call, folded from its quality reports: what a webhook or API returns after
 * the call ("was this call good, and if not, whose network was it"). Ratios are weighted by the
 * time each report covers, so a 10 s report counts five times a 2 s one.
 *
 * Whose network: each participant's reports describe its own links (in an SFU room, its uplink to
 * the SFU and its downlink from it, measured separately). Its send loss and its round trip are its
 * own. What it receives, though, crossed someone else's uplink first: the SFU repairs most of a
 * publisher's uplink loss but not all (measured: a publisher behind 7 % loss sent 5.9 % of its
 * packets again, and its subscriber on a clean link still lost 5.5 %), so receive loss counts
 * against a participant only beyond the worst send loss of the others in the room. Jitter is an
 * issue but not evidence either way: it too arrives from the sender's side.
 */
export type CallQualityIssue = 'uplink_loss' | 'downlink_loss' | 'high_rtt' | 'high_jitter' | 'freezes' | 'bandwidth_limited' | 'cpu_limited';
export type CallRating = 'good' | 'fair' | 'poor';
/** What the rest of the room says about the streams this participant received. */
export interface RoomContext {
  /** The largest send loss among the others (who send what it receives). */
  othersSendLoss: number;
}

export interface CallQualitySummary {
  reports: number;
  /** Seconds of call the reports cover. */
  seconds: number;
  rating: CallRating;
  issues: CallQualityIssue[];
  /** Whether its own network was bad: its uplink loss or round trip, or receive loss the others' uplinks do not explain. */
  networkAtFault: boolean;
  rttMs: { mean: number; max: number } | undefined;
  send: { lossRatio: number; maxLossRatio: number; bitrateKbps: number; limitedSeconds: Record<Exclude<QualityLimitation, 'none'>, number> };
  receive: { lossRatio: number; maxLossRatio: number; bitrateKbps: number; jitterMs: number; framesDecoded: number; framesDropped: number; freezes: number; frozenSeconds: number };
  joinMs?: number;
  firstMediaMs?: number;
}

/**
 * Where a figure turns into an issue, and where an issue makes the call poor. Loss after
 * retransmission is what users notice: 3 % starts to show as artefacts and freezes, 10 % makes
 * video unusable; 300 ms of round trip makes conversation awkward (ITU-T G.114 puts the limit of
 * comfortable one-way delay at 150 ms); frozen seconds per minute is bench:quality's measure.
 */
export const THRESHOLDS = {
  lossRatio: { issue: 0.03, poor: 0.1 },
  rttMs: { issue: 300, poor: 600 },
  jitterMs: { issue: 50, poor: 150 },
  frozenSecondsPerMinute: { issue: 2, poor: 6 },
  /** Share of the time the encoder was limited. */
  limitedShare: { issue: 0.5 },
} as const;

export class CallQualityRecord {
  private reports = 0;
  private ms = 0;
  private rttWeighted = 0;
  private rttMs = 0;
  private rttMax = 0;
  private readonly send = { loss: 0, maxLoss: 0, kbps: 0, limitedMs: { bandwidth: 0, cpu: 0, other: 0 } };
  private readonly receive = { loss: 0, maxLoss: 0, kbps: 0, jitter: 0, maxJitter: 0, framesDecoded: 0, framesDropped: 0, freezes: 0, frozenMs: 0 };
  private joinMs: number | undefined;
  private firstMediaMs: number | undefined;

  get empty(): boolean {
    return this.reports === 0;
  }

  /** Its time-weighted send loss so far (what it did to what the others receive). */
  get sendLossRatio(): number {
    return this.ms > 0 ? this.send.loss / this.ms : 0;
  }

  add(report: CallQualityReport): void {
    const span = report.intervalMs;
    this.reports += 1;
    this.ms += span;
    if (report.rttMs !== undefined) {
      this.rttWeighted += report.rttMs * span;
      this.rttMs += span;
      this.rttMax = Math.max(this.rttMax, report.rttMs);
    }
    this.send.loss += report.send.lossRatio * span;
    this.send.maxLoss = Math.max(this.send.maxLoss, report.send.lossRatio);
    this.send.kbps += report.send.bitrateKbps * span;
    if (report.send.limitation !== 'none') this.send.limitedMs[report.send.limitation] += span;
    const { receive } = report;
    this.receive.loss += receive.lossRatio * span;
    this.receive.maxLoss = Math.max(this.receive.maxLoss, receive.lossRatio);
    this.receive.kbps += receive.bitrateKbps * span;
    this.receive.jitter += receive.jitterMs * span;
    this.receive.framesDecoded += receive.framesDecoded;
    this.receive.framesDropped += receive.framesDropped;
    this.receive.freezes += receive.freezes;
    this.receive.frozenMs += Math.min(receive.frozenMs, span);
    this.joinMs ??= report.joinMs;
    this.firstMediaMs ??= report.firstMediaMs;
  }

  summary(context: RoomContext = { othersSendLoss: 0 }): CallQualitySummary {
    const ms = Math.max(1, this.ms);
    const mean = (weighted: number) => weighted / ms;
    const rttMs = this.rttMs > 0 ? { mean: Math.round(this.rttWeighted / this.rttMs), max: Math.round(this.rttMax) } : undefined;
    const summary: Omit<CallQualitySummary, 'rating' | 'issues' | 'networkAtFault'> = {
      reports: this.reports,
      seconds: Math.round(this.ms / 1000),
      rttMs,
      send: {
        lossRatio: round4(mean(this.send.loss)),
        maxLossRatio: round4(this.send.maxLoss),
        bitrateKbps: Math.round(mean(this.send.kbps)),
        limitedSeconds: { bandwidth: Math.round(this.send.limitedMs.bandwidth / 1000), cpu: Math.round(this.send.limitedMs.cpu / 1000), other: Math.round(this.send.limitedMs.other / 1000) },
      },
      receive: {
        lossRatio: round4(mean(this.receive.loss)),
        maxLossRatio: round4(this.receive.maxLoss),
        bitrateKbps: Math.round(mean(this.receive.kbps)),
        jitterMs: Math.round(mean(this.receive.jitter)),
        framesDecoded: this.receive.framesDecoded,
        framesDropped: this.receive.framesDropped,
        freezes: this.receive.freezes,
        frozenSeconds: Math.round(this.receive.frozenMs / 100) / 10,
      },
      ...(this.joinMs === undefined ? {} : { joinMs: this.joinMs }),
      ...(this.firstMediaMs === undefined ? {} : { firstMediaMs: this.firstMediaMs }),
    };
    return { ...summary, ...assess(summary, this.ms, this.send.limitedMs, context) };
  }
}

/** The rating and issues of a summary (pure: unit-tested on its own). */
export function assess(
  summary: Pick<CallQualitySummary, 'rttMs' | 'send' | 'receive'>,
  ms: number,
  limitedMs: Record<Exclude<QualityLimitation, 'none'>, number>,
  context: RoomContext = { othersSendLoss: 0 },
): { rating: CallRating; issues: CallQualityIssue[]; networkAtFault: boolean } {
  const issues: CallQualityIssue[] = [];
  let poor = false;
  const check = (issue: CallQualityIssue, value: number, limits: { issue: number; poor?: number }) => {
    if (value > limits.issue) issues.push(issue);
    if (limits.poor !== undefined && value > limits.poor) poor = true;
  };
  check('uplink_loss', summary.send.lossRatio, THRESHOLDS.lossRatio);
  check('downlink_loss', summary.receive.lossRatio, THRESHOLDS.lossRatio);
  check('high_rtt', summary.rttMs?.mean ?? 0, THRESHOLDS.rttMs);
  check('high_jitter', summary.receive.jitterMs, THRESHOLDS.jitterMs);
  check('freezes', ms > 0 ? summary.receive.frozenSeconds / (ms / 60_000) : 0, THRESHOLDS.frozenSecondsPerMinute);
  check('bandwidth_limited', ms > 0 ? limitedMs.bandwidth / ms : 0, THRESHOLDS.limitedShare);
  check('cpu_limited', ms > 0 ? limitedMs.cpu / ms : 0, THRESHOLDS.limitedShare);
  const rating: CallRating = poor ? 'poor' : issues.length > 0 ? 'fair' : 'good';
  const unexplainedReceiveLoss = summary.receive.lossRatio - context.othersSendLoss > THRESHOLDS.lossRatio.issue;
  const networkAtFault = issues.includes('uplink_loss') || issues.includes('high_rtt') || (issues.includes('downlink_loss') && unexplainedReceiveLoss);
  return { rating, issues, networkAtFault };
}

function round4(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}
