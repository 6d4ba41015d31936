// How a connection quality is drawn on a tile: filled bars (like a phone's signal meter) and the
// same in words for screen readers. Nothing here touches the DOM (unit-tested).

import type { ConnectionQuality } from '@parley/client';

export interface QualityIndicator {
  /** Filled bars out of MAX_QUALITY_BARS. */
  bars: number;
  /** What a screen reader says, e.g. "Connection: good". */
  label: string;
}

export const MAX_QUALITY_BARS = 3;

const BARS: Readonly<Record<ConnectionQuality, number>> = { excellent: 3, good: 2, poor: 1, lost: 0 };

const WORDS: Readonly<Record<ConnectionQuality, string>> = {
  excellent: 'excellent',
  good: 'good',
  poor: 'poor',
  lost: 'lost (no media arriving)',
};

export function qualityIndicator(quality: ConnectionQuality): QualityIndicator {
  return { bars: BARS[quality], label: `Connection: ${WORDS[quality]}` };
}
