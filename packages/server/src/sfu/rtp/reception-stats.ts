import { compactNtp, type ReportBlock } from './rtcp.js';
import { sequenceDelta } from './rtp.js';

/** The publisher's last sender report on this stream, for the round-trip fields of ours. */
export interface SenderReportSeen {
  ntpSeconds: number;
  ntpFraction: number;
  rtpTimestamp: number;
  /** Date.now() when it arrived. */
  receivedAt: number;
}

/**
 * What the SFU received of one RTP stream, for the receiver reports it sends the publisher
 * (RFC 3550 A.3). Only first transmissions count as received: a packet older than the highest
 * sequence seen is a resend the SFU asked for (or a late one), and counting it would hide the
 * loss it repaired. That is what a receiver using RTX reports too (resends come on another SSRC),
 * and so what Chromium's P2P calls see: the publisher's adaptive bitrate, and its congestion
 * control, learn how lossy its uplink is, not how well NACKs patched it.
 */
export class ReceptionStats {
  private highest: number;
  private cycles = 0;
  private received = 0;
  private expectedPrior = 0;
  private receivedPrior = 0;
  senderReport: SenderReportSeen | undefined;

  constructor(
    readonly ssrc: number,
    private readonly baseSequence: number,
  ) {
    this.highest = baseSequence;
  }

  /** The highest sequence number received so far (16 bits). */
  get highestSequence(): number {
    return this.highest;
  }

  onPacket(sequence: number): void {
    const delta = sequenceDelta(this.highest, sequence);
    if (delta <= 0 && this.received > 0) return;
    this.received += 1;
    if (delta > 0) {
      if (sequence < this.highest) this.cycles += 0x10000;
      this.highest = sequence;
    }
  }

  /** The report block since the previous one; `now` is Date.now(). */
  report(now = Date.now()): ReportBlock {
    const extendedHighest = this.cycles + this.highest;
    const expected = extendedHighest - this.baseSequence + 1;
    const expectedInterval = expected - this.expectedPrior;
    const lostInterval = expectedInterval - (this.received - this.receivedPrior);
    this.expectedPrior = expected;
    this.receivedPrior = this.received;
    const sender = this.senderReport;
    return {
      ssrc: this.ssrc,
      fractionLost: expectedInterval <= 0 || lostInterval <= 0 ? 0 : lostInterval / expectedInterval,
      totalLost: Math.max(0, expected - this.received),
      highestSequence: extendedHighest,
      jitter: 0,
      lastSenderReport: sender ? compactNtp(sender.ntpSeconds, sender.ntpFraction) : 0,
      delaySinceLastSenderReport: sender ? Math.round(((now - sender.receivedAt) / 1000) * 65536) : 0,
    };
  }
}
