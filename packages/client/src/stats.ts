import type { ReceivedTrackSource } from '@parley/protocol';

/** One media stream's figures, as `room.getStats()` reports them. */
export interface TrackStats {
  /** The remote participant this stream comes from (inbound) or goes to (outbound). */
  participant: string;
  direction: 'inbound' | 'outbound';
  kind: 'audio' | 'video';
  source?: ReceivedTrackSource;
  /** e.g. `video/VP8`, `audio/opus` */
  codec?: string;
  /** Since the previous getStats() call (0 on the first). */
  bitrateKbps: number;
  bytes: number;
  packets: number;
  packetsLost: number;
  /**
   * Outbound: the round trip the remote receiver's reports give. Inbound: the one the sender's
   * answers to this receiver's reference-time reports give (RFC 3611; Chromium receiving from the
   * SFU), else the connection's ICE round trip.
   */
  rttMs?: number;
  /** Inbound: how many round trips the receiver measured from the sender's answers (see rttMs). */
  rttMeasurements?: number;
  jitterMs?: number;
  frameWidth?: number;
  frameHeight?: number;
  framesPerSecond?: number;
  /** Inbound video: frames decoded so far. Outbound video: frames encoded. */
  frames?: number;
  /** Inbound video: frames dropped before decoding or display so far. */
  framesDropped?: number;
  /** Inbound video: freezes so far and their total duration (Chromium; Firefox does not count them). */
  freezeCount?: number;
  totalFreezesDurationMs?: number;
  /** Video: NACKs (retransmission requests) sent so far (inbound) or received (outbound). */
  nackCount?: number;
  /** Outbound: packets sent again after a NACK (a sender-side view of link loss that retransmission repaired). */
  retransmittedPackets?: number;
  /** Outbound: the browser's bandwidth estimate for this connection (selected pair's availableOutgoingBitrate). */
  availableOutgoingKbps?: number;
  /** Local candidate type of the selected pair: host, srflx, prflx or relay. */
  candidateType?: string;
  remoteCandidateType?: string;
  /** DTLS transport state of the connection (connected once DTLS-SRTP is up). */
  dtlsState?: string;
  /** This browser's DTLS role on the connection, `client` or `server` (Chromium; Firefox does not report it). */
  dtlsRole?: string;
  /** Outbound simulcast: which layer this report is (q, h, f). */
  rid?: string;
  /**
   * The RTP stream's SSRC: which stream this report follows from one call to the next (a
   * participant's camera reaches this page over a direct link and then the SFU as two streams).
   */
  ssrc?: number;
  /** Outbound: why the encoder is limited (bandwidth, cpu, none). */
  qualityLimitationReason?: string;
}

export interface StreamOwner {
  participant: string;
  source?: ReceivedTrackSource | undefined;
}

export type Report = Record<string, unknown> & { id: string; type: string; timestamp: number };

/** How often a pending getStats() looks whether its connection was closed meanwhile. */
const CLOSED_POLL_MS = 250;

/** The part of an RTCPeerConnection statsUnlessClosed uses. */
export type StatsSource = Pick<RTCPeerConnection, 'getStats' | 'signalingState'>;

/**
 * `pc.getStats()`, or undefined once the connection is closed. Firefox (ESR 153, measured) never
 * settles a getStats() that is pending when its connection closes (still pending 5 s later;
 * Chromium resolves it), and close() fires no event, so this looks every 250 ms. Otherwise one
 * connection closed at the wrong moment (a direct link closed by the move to the SFU, a replaced
 * receiving connection) would hang that `room.getStats()` for good, and with it the stats panel,
 * the call-quality reports and the first-frame watch that await it.
 */
export function statsUnlessClosed(pc: StatsSource, pollMs = CLOSED_POLL_MS): Promise<RTCStatsReport | undefined> {
  if (pc.signalingState === 'closed') return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const poll = setInterval(() => {
      if (pc.signalingState !== 'closed') return;
      clearInterval(poll);
      resolve(undefined);
    }, pollMs);
    pc.getStats().then(
      (report) => {
        clearInterval(poll);
        resolve(report);
      },
      (error: unknown) => {
        clearInterval(poll);
        // Closed while it ran: nothing to report, the same as a connection already closed.
        if (pc.signalingState === 'closed') resolve(undefined);
        else reject(error);
      },
    );
  });
}

/** Remembers the previous byte counters to turn them into bitrates. */
export class StatsSampler {
  private readonly previous = new Map<string, { bytes: number; timestamp: number }>();

  /** `describe` names the participant and source of each stream (by m-line), or undefined to leave it out. */
  async sample(pc: RTCPeerConnection, describe: (mid: string | undefined, direction: 'inbound' | 'outbound') => StreamOwner | undefined): Promise<TrackStats[]> {
    const statsReport = await statsUnlessClosed(pc);
    if (statsReport === undefined) return [];
    const reports = new Map<string, Report>();
    statsReport.forEach((report: Report) => reports.set(report.id, report));
    const transport = selectedTransport(reports);
    // Firefox reports no `transport` stats: the DTLS transport object has the state.
    transport.dtlsState ??= [...pc.getSenders(), ...pc.getReceivers()].find((t) => t.transport)?.transport?.state;
    const result: TrackStats[] = [];
    for (const report of reports.values()) {
      if (report.type !== 'inbound-rtp' && report.type !== 'outbound-rtp') continue;
      const direction = report.type === 'inbound-rtp' ? 'inbound' : 'outbound';
      const kind = (report.kind ?? report.mediaType) as 'audio' | 'video';
      const bytes = num(direction === 'inbound' ? report.bytesReceived : report.bytesSent) ?? 0;
      const remote = direction === 'outbound' ? findRemoteInbound(reports, report) : findRemoteOutbound(reports, report);
      const codec = reports.get(report.codecId as string)?.mimeType as string | undefined;
      const owner = describe(report.mid as string | undefined, direction);
      if (!owner) continue;
      const { participant, source } = owner;
      result.push(
        compact({
          participant,
          direction,
          kind,
          source,
          codec,
          bitrateKbps: this.bitrate(`${participant}/${report.id}`, bytes, report.timestamp),
          bytes,
          packets: num(direction === 'inbound' ? report.packetsReceived : report.packetsSent) ?? 0,
          packetsLost: num(direction === 'inbound' ? report.packetsLost : remote?.packetsLost) ?? 0,
          rttMs: secondsToMs(num(remote?.roundTripTime) ?? transport.rtt),
          rttMeasurements: direction === 'inbound' ? num(remote?.roundTripTimeMeasurements) : undefined,
          jitterMs: secondsToMs(num(direction === 'inbound' ? report.jitter : remote?.jitter)),
          frameWidth: num(report.frameWidth),
          frameHeight: num(report.frameHeight),
          framesPerSecond: num(report.framesPerSecond),
          frames: num(direction === 'inbound' ? report.framesDecoded : report.framesEncoded),
          framesDropped: direction === 'inbound' ? num(report.framesDropped) : undefined,
          freezeCount: direction === 'inbound' ? num(report.freezeCount) : undefined,
          totalFreezesDurationMs: direction === 'inbound' ? secondsToMs(num(report.totalFreezesDuration)) : undefined,
          nackCount: num(report.nackCount),
          retransmittedPackets: direction === 'outbound' ? num(report.retransmittedPacketsSent) : undefined,
          availableOutgoingKbps: direction === 'outbound' && transport.availableOutgoingBitrate !== undefined ? Math.round(transport.availableOutgoingBitrate / 1000) : undefined,
          candidateType: transport.localType,
          remoteCandidateType: transport.remoteType,
          dtlsState: transport.dtlsState,
          dtlsRole: transport.dtlsRole,
          rid: report.rid as string | undefined,
          ssrc: num(report.ssrc),
          qualityLimitationReason: report.qualityLimitationReason as string | undefined,
        }),
      );
    }
    return result;
  }

  /** Drops the counters of a participant who left. */
  forget(participant: string): void {
    for (const key of this.previous.keys()) if (key.startsWith(`${participant}/`)) this.previous.delete(key);
  }

  private bitrate(key: string, bytes: number, timestamp: number): number {
    const before = this.previous.get(key);
    this.previous.set(key, { bytes, timestamp });
    if (!before || timestamp <= before.timestamp) return 0;
    return Math.round(((bytes - before.bytes) * 8) / (timestamp - before.timestamp));
  }
}

/** The selected candidate pair's figures and the DTLS state, from one getStats() report (Chromium and Firefox). */
export function selectedTransport(reports: Map<string, Report>): { localType?: string; remoteType?: string; rtt?: number; dtlsState?: string; dtlsRole?: string; availableOutgoingBitrate?: number } {
  const transport = [...reports.values()].find((r) => r.type === 'transport');
  let pair = transport?.selectedCandidatePairId ? reports.get(transport.selectedCandidatePairId as string) : undefined;
  // Firefox has no transport report: its selected pair carries `selected` (or is the nominated, succeeded one).
  pair ??= [...reports.values()].find((r) => r.type === 'candidate-pair' && (r.selected === true || (r.nominated === true && r.state === 'succeeded')));
  return {
    localType: pair ? (reports.get(pair.localCandidateId as string)?.candidateType as string | undefined) : undefined,
    remoteType: pair ? (reports.get(pair.remoteCandidateId as string)?.candidateType as string | undefined) : undefined,
    rtt: num(pair?.currentRoundTripTime),
    availableOutgoingBitrate: num(pair?.availableOutgoingBitrate),
    dtlsState: transport?.dtlsState as string | undefined,
    dtlsRole: transport?.dtlsRole as string | undefined,
  };
}

function findRemoteInbound(reports: Map<string, Report>, outbound: Report): Report | undefined {
  if (typeof outbound.remoteId === 'string') return reports.get(outbound.remoteId);
  return [...reports.values()].find((r) => r.type === 'remote-inbound-rtp' && r.ssrc === outbound.ssrc);
}

function findRemoteOutbound(reports: Map<string, Report>, inbound: Report): Report | undefined {
  if (typeof inbound.remoteId === 'string') return reports.get(inbound.remoteId);
  return [...reports.values()].find((r) => r.type === 'remote-outbound-rtp' && r.ssrc === inbound.ssrc);
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function secondsToMs(seconds: number | undefined): number | undefined {
  return seconds === undefined ? undefined : Math.round(seconds * 1000);
}

function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
