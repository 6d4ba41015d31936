/** Allocation lifetimes, for Allocate and Refresh. */
export const DEFAULT_LIFETIME_S = 600;
export const MAX_LIFETIME_S = 3600;

/** RFC 8656 section 7.2: the requested lifetime capped at the maximum, and never below the default. */
export function lifetimeSeconds(requested: number | undefined): number {
  if (requested === undefined) return DEFAULT_LIFETIME_S;
  return Math.max(DEFAULT_LIFETIME_S, Math.min(requested, MAX_LIFETIME_S));
}
