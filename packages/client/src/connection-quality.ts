import type { ConnectionQuality } from '@parley/protocol';
import type { TrackStats } from './stats.js';

/**
 * One participant's connection quality from its own streams: the worst of loss, round-trip time
 * and jitter over what it sends and receives; `lost` when nothing arrived although streams exist.
 */
export function classifyConnection(streams: readonly TrackStats[], previous: readonly TrackStats[] | undefined): ConnectionQuality {
  if (streams.length === 0) return 'excellent';
  const loss = lossFraction(streams, previous);
  const rtt = Math.max(0, ...streams.map((s) => s.rttMs ?? 0));
  const jitter = Math.max(0, ...streams.map((s) => s.jitterMs ?? 0));
  const inbound = streams.filter((s) => s.direction === 'inbound');
  if (previous && inbound.length > 0 && inbound.every((s) => s.bytes === previous.find((p) => sameStream(p, s))?.bytes)) return 'lost';
  if (loss > 0.1 || rtt > 400 || jitter > 100) return 'poor';
  if (loss > 0.02 || rtt > 200 || jitter > 40) return 'good';
  return 'excellent';
}

/** Packets lost since the previous sample over packets expected, across every stream. */
export function lossFraction(streams: readonly TrackStats[], previous: readonly TrackStats[] | undefined): number {
  let lost = 0;
  let total = 0;
  for (const stream of streams) {
    const before = previous?.find((p) => sameStream(p, stream));
    const packets = stream.packets - (before?.packets ?? 0);
    const lostNow = stream.packetsLost - (before?.packetsLost ?? 0);
    if (packets <= 0 && lostNow <= 0) continue;
    lost += Math.max(0, lostNow);
    total += Math.max(0, packets) + Math.max(0, lostNow);
  }
  return total === 0 ? 0 : lost / total;
}

/** The same stream in two samples: same participant, direction, kind, source and simulcast layer. */
export function sameStream(a: TrackStats, b: TrackStats): boolean {
  return a.participant === b.participant && a.direction === b.direction && a.kind === b.kind && a.source === b.source && a.rid === b.rid;
}

/** Fewer packets than this in a sample say too little about loss (a 180p layer sends ~15 a second). */
const MIN_PACKETS_FOR_SHARE = 50;

/**
 * Outbound: packets resent after NACKs over packets sent since the previous sample, on the stream
 * that resent the most. Where the receiver repairs loss by retransmission its reports show little
 * loss; the sender still sees it. Per stream, because an SFU asks only for the simulcast layers
 * it forwards: summed over every layer, the loss of one would be diluted by the others.
 */
export function retransmissionShare(streams: readonly TrackStats[], previous: readonly TrackStats[] | undefined): number {
  let share = 0;
  for (const stream of streams) {
    const before = previous?.find((p) => sameStream(p, stream));
    if (!before || stream.retransmittedPackets === undefined) continue;
    const sent = stream.packets - before.packets;
    if (sent < MIN_PACKETS_FOR_SHARE) continue;
    share = Math.max(share, Math.max(0, stream.retransmittedPackets - (before.retransmittedPackets ?? 0)) / sent);
  }
  return share;
}
