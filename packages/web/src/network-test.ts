// Words for the join page's "Test my network" result. Nothing here touches the DOM, so the
// wording is unit-tested (packages/web/test/network-test.test.ts).

import type { NetworkQuality, NetworkQualityResult } from '@parley/client';

const ADVICE: Readonly<Record<NetworkQuality, string>> = {
  excellent: 'Video calls will work well.',
  good: 'Video calls should work well.',
  fair: 'Expect less sharp video; audio should be fine.',
  poor: 'Video may freeze or drop. Try turning your camera off, or moving closer to your Wi-Fi.',
};

const LABEL: Readonly<Record<NetworkQuality, string>> = {
  excellent: 'Excellent',
  good: 'Good',
  fair: 'Fair',
  poor: 'Poor',
};

/** E.g. "Excellent network: 94 Mbps down, 48 Mbps up, 12 ms latency. Video calls will work well." */
export function describeNetworkResult(result: NetworkQualityResult): string {
  return (
    `${LABEL[result.quality]} network: ${formatMbps(result.downloadMbps)} down, ${formatMbps(result.uploadMbps)} up, ` +
    `${Math.round(result.latencyMs)} ms latency. ${ADVICE[result.quality]}`
  );
}

/** Two significant digits below 10 Mbps (0.42, 3.1), whole numbers above; kbps under 0.1 Mbps. */
export function formatMbps(mbps: number): string {
  if (!(mbps > 0)) return '0 Mbps';
  if (mbps < 0.1) return `${Math.round(mbps * 1000)} kbps`;
  if (mbps < 10) return `${Number(mbps.toPrecision(2))} Mbps`;
  return `${Math.round(mbps)} Mbps`;
}
