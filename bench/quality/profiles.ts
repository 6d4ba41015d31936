/**
 * What each profile does to the link, as a schedule: a shape applied before the ramp-up, and
 * changes at offsets into the measurement window. Pure; the benchmark applies them with
 * `network.shape({ ...shape, direction })`.
 */
import { PROFILES, type LinkShape } from '../../e2e/netsim/index.ts';

export const QUALITY_PROFILES = ['slow-3g', 'lossy', 'step'] as const;
export type QualityProfile = (typeof QUALITY_PROFILES)[number];

/** The bandwidth step: 2 Mbit/s, 300 kbit/s for the window's middle third, 2 Mbit/s again. */
export const STEP_HIGH_KBIT = 2000;
export const STEP_LOW_KBIT = 300;

export interface ShapeSchedule {
  /** Applied before the ramp-up; stays through the window unless a change says otherwise. */
  initial: LinkShape;
  /** `atMs`: offset from the window's start. */
  changes: Array<{ atMs: number; shape: LinkShape; label: 'down' | 'up' }>;
}

export function scheduleFor(profile: QualityProfile, windowMs: number): ShapeSchedule {
  switch (profile) {
    case 'slow-3g':
    case 'lossy':
      return { initial: { ...PROFILES[profile] }, changes: [] };
    case 'step':
      return {
        initial: { rateKbit: STEP_HIGH_KBIT },
        changes: [
          { atMs: windowMs / 3, shape: { rateKbit: STEP_LOW_KBIT }, label: 'down' },
          { atMs: (2 * windowMs) / 3, shape: { rateKbit: STEP_HIGH_KBIT }, label: 'up' },
        ],
      };
  }
}
