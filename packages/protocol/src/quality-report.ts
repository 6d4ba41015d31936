import * as z from 'zod/mini';

/**
 * A participant's own view of its call over the last few seconds, from its getStats(): what the
 * SDK reports (`qualityReport`) and the server folds into histograms and a per-participant record
 * (docs/metrics.md, docs/webhooks.md). Compact on purpose: totals and ratios over the span, no
 * per-track detail, so a report is ~300 bytes every 10 s.
 */
const Ratio = z.number().check(z.gte(0), z.lte(1));
const Milliseconds = z.number().check(z.gte(0), z.lte(600_000));
const Kbps = z.number().check(z.gte(0), z.lte(1_000_000));
const Count = z.number().check(z.int(), z.gte(0), z.lte(100_000_000));

/** Why the camera's encoder sent less than asked (WebRTC's qualityLimitationReason) for most of the span. */
export const QualityLimitation = z.enum(['none', 'bandwidth', 'cpu', 'other']);
export type QualityLimitation = z.infer<typeof QualityLimitation>;

export const CallQualityReport = z.object({
  /** The span this report covers (the SDK sends one every 10 s by default). */
  intervalMs: z.number().check(z.int(), z.gte(1000), z.lte(60_000)),
  /** Round trip of the media connections (ICE selected pair), the largest, when measured. */
  rttMs: z.optional(Milliseconds),
  /** What this participant sent. */
  send: z.object({
    /** Packets its receivers (the SFU, or the peer) reported lost or asked again, over packets sent. */
    lossRatio: Ratio,
    bitrateKbps: Kbps,
    limitation: QualityLimitation,
  }),
  /** What this participant received. */
  receive: z.object({
    lossRatio: Ratio,
    bitrateKbps: Kbps,
    /** The largest inter-arrival jitter of its incoming streams. */
    jitterMs: Milliseconds,
    framesDecoded: Count,
    framesDropped: Count,
    /** Video freezes as the browser counts them (Chromium: a gap over max(3x mean, mean + 150 ms)). */
    freezes: Count,
    frozenMs: Milliseconds,
  }),
  /** Once, in the first report after they are known: `connect()` to joined, and to the first frame decoded. */
  joinMs: z.optional(Milliseconds),
  firstMediaMs: z.optional(Milliseconds),
});
export type CallQualityReport = z.infer<typeof CallQualityReport>;
