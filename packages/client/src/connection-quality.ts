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

function sameStream(a: TrackStats, b: TrackStats): boolean {
  return a.participant === b.participant && a.direction === b.direction && a.kind === b.kind && a.source === b.source && a.rid === b.rid;
}

/**
 * Outbound: packets resent after NACKs over packets sent since the previous sample. Where the
 * receiver repairs loss by retransmission its reports show little loss; the sender still sees it.
 */
export function retransmissionShare(streams: readonly TrackStats[], previous: readonly TrackStats[] | undefined): number {
  let resent = 0;
  let sent = 0;
  for (const stream of streams) {
    const before = previous?.find((p) => sameStream(p, stream));
    if (!before || stream.retransmittedPackets === undefined) continue;
    resent += Math.max(0, stream.retransmittedPackets - (before.retransmittedPackets ?? 0));
    sent += Math.max(0, stream.packets - before.packets);
  }
  return sent === 0 ? 0 : resent / sent;
}
