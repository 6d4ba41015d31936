import type { PacketResult } from '../../../src/sfu/bwe/send-history.ts';

/** Packets of `size` bytes sent at `sendBps` through a bottleneck of `linkBps` with a FIFO queue. */
export function bottleneck(options: { sendBps: number; linkBps: number; size?: number; fromMs: number; toMs: number; lossEvery?: number }): PacketResult[] {
  const size = options.size ?? 1200;
  const interval = (size * 8 * 1000) / options.sendBps;
  const service = (size * 8 * 1000) / options.linkBps;
  const results: PacketResult[] = [];
  let free = 0;
  let n = 0;
  for (let sent = options.fromMs; sent < options.toMs; sent += interval) {
    n += 1;
    free = Math.max(free, sent) + service;
    const lost = options.lossEvery !== undefined && n % options.lossEvery === 0;
    results.push({ sentAtMs: sent, size, probe: 0, arrivalMs: lost ? undefined : free + 20 });
  }
  return results;
}
