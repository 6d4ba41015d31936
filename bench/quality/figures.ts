/**
 * The quality benchmark's arithmetic, free of browsers and networks: freezes found in a list of
 * video frame callbacks (`requestVideoFrameCallback` at the receiver), the figures reported per
 * case, and the last line of the output.
 *
 * The freeze rule is WebRTC's (a frame that comes more than max(3 x the usual frame interval,
 * the usual interval + 150 ms) after the previous one ends a freeze), with the median interval
 * over the measurement window as "the usual interval".
 */

/** One `requestVideoFrameCallback` call at the receiver. */
export interface FrameCallback {
  /** The callback's `now` (page clock, ms). */
  at: number;
  /** `metadata.presentedFrames`: frames of this element handed to the compositor so far. */
  presentedFrames: number;
  width: number;
  height: number;
  /** Which <video> element (a new subscription may render into a new one). */
  element: number;
}

/** Where to measure, on the page clock (ms). */
export interface TimeWindow {
  start: number;
  end: number;
}

export interface Freeze {
  /** When it started, or the window's start if it began before. */
  at: number;
  /** Its part inside the window. */
  durationMs: number;
}

export interface FreezeAnalysis {
  /** Undefined when fewer than two frames frame a gap: then the whole window is one freeze. */
  medianGapMs?: number;
  thresholdMs?: number;
  freezes: Freeze[];
  /** Frames shown inside the window (see `presentations`). */
  frames: number;
}

export interface CaseFigures {
  frozenSecondsPerMinute: number;
  freezeCount: number;
  longestFreezeMs: number;
  /** Mean height of the frames shown in the window; undefined if none was. */
  meanHeight?: number;
  fps: number;
  frames: number;
  medianGapMs?: number;
  thresholdMs?: number;
  /** Step profile only: ms from the step up until the pre-drop height shows again; null: not within the window. */
  recoveryMs?: number | null;
  /** A cross-check, not part of the table: WebRTC's own inbound-rtp freeze counters over the window. */
  webrtc?: { freezeCount: number; freezeSeconds: number };
}

/** When the link stepped down and back up (page clock, ms). */
export interface Step {
  downAt: number;
  upAt: number;
}

export function freezeThresholdMs(medianGapMs: number): number {
  return Math.max(3 * medianGapMs, medianGapMs + 150);
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of nothing');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * The frames shown, in time order. Callbacks can be skipped while the page's main thread is busy
 * although the compositor keeps presenting: a callback whose `presentedFrames` advanced by k > 1
 * since the previous callback of the same element stands for k frames spread evenly over the
 * time since that callback, so a busy page is not mistaken for a frozen video.
 */
export function presentations(callbacks: readonly FrameCallback[]): Array<{ at: number; height: number }> {
  const sorted = [...callbacks].sort((a, b) => a.at - b.at);
  const previous = new Map<number, FrameCallback>();
  const shown: Array<{ at: number; height: number }> = [];
  for (const callback of sorted) {
    const before = previous.get(callback.element);
    previous.set(callback.element, callback);
    const advanced = before ? callback.presentedFrames - before.presentedFrames : 1;
    if (before && advanced > 1 && advanced <= 1000) {
      const step = (callback.at - before.at) / advanced;
      for (let i = 1; i < advanced; i++) shown.push({ at: before.at + step * i, height: callback.height });
    }
    shown.push({ at: callback.at, height: callback.height });
  }
  return shown;
}

/**
 * Freezes inside `window`. The gaps are those between consecutive frames shown inside the window,
 * plus the one from the last frame before it to the first inside (clipped to the window), plus
 * the open gaps at either end (to the window's end after the last frame; from its start before
 * the first if no earlier frame exists). The median is over the closed gaps; a gap is a freeze
 * when it is longer than `freezeThresholdMs(median)`.
 */
export function detectFreezes(callbacks: readonly FrameCallback[], window: TimeWindow): FreezeAnalysis {
  const shown = presentations(callbacks);
  const inside = shown.filter((f) => f.at >= window.start && f.at <= window.end);
  const anchor = shown.filter((f) => f.at < window.start).at(-1);
  const times = [...(anchor ? [anchor.at] : []), ...inside.map((f) => f.at)];
  const gaps = times.slice(1).map((to, i) => ({ from: times[i]!, to }));
  if (gaps.length === 0) return { freezes: [{ at: window.start, durationMs: window.end - window.start }], frames: inside.length };
  const medianGapMs = median(gaps.map((g) => g.to - g.from));
  const thresholdMs = freezeThresholdMs(medianGapMs);
  const freezes: Freeze[] = [];
  const first = inside[0];
  if (!anchor && first && first.at - window.start > thresholdMs) freezes.push({ at: window.start, durationMs: first.at - window.start });
  for (const gap of gaps) {
    if (gap.to - gap.from <= thresholdMs) continue;
    const from = Math.max(gap.from, window.start);
    freezes.push({ at: from, durationMs: gap.to - from });
  }
  const last = times.at(-1)!;
  if (window.end - last > thresholdMs) freezes.push({ at: Math.max(last, window.start), durationMs: window.end - Math.max(last, window.start) });
  return { medianGapMs, thresholdMs, freezes, frames: inside.length };
}

/**
 * From the step up: ms until a frame at least as tall as the last one before the step down
 * shows; null if none does within the window (or no frame preceded the drop).
 */
export function recoveryMs(callbacks: readonly FrameCallback[], step: Step, windowEnd: number): number | null {
  const sorted = [...callbacks].sort((a, b) => a.at - b.at);
  const before = sorted.filter((c) => c.at < step.downAt).at(-1);
  if (!before) return null;
  const back = sorted.find((c) => c.at >= step.upAt && c.at <= windowEnd && c.height >= before.height);
  return back ? back.at - step.upAt : null;
}

/** The figures of one case; `step` only for the bandwidth-step profile. */
export function summarize(callbacks: readonly FrameCallback[], window: TimeWindow, step?: Step): CaseFigures {
  const analysis = detectFreezes(callbacks, window);
  const windowMs = window.end - window.start;
  const frozenMs = analysis.freezes.reduce((sum, f) => sum + f.durationMs, 0);
  const heights = presentations(callbacks)
    .filter((f) => f.at >= window.start && f.at <= window.end)
    .map((f) => f.height);
  return {
    frozenSecondsPerMinute: windowMs > 0 ? (frozenMs * 60) / windowMs : 0, // the frozen share of the window, times 60 s
    freezeCount: analysis.freezes.length,
    longestFreezeMs: Math.max(0, ...analysis.freezes.map((f) => f.durationMs)),
    ...(heights.length > 0 ? { meanHeight: heights.reduce((a, b) => a + b, 0) / heights.length } : {}),
    fps: windowMs > 0 ? (analysis.frames * 1000) / windowMs : 0,
    frames: analysis.frames,
    ...(analysis.medianGapMs !== undefined ? { medianGapMs: analysis.medianGapMs, thresholdMs: analysis.thresholdMs } : {}),
    ...(step ? { recoveryMs: recoveryMs(callbacks, step, window.end) } : {}),
  };
}

export type Direction = 'uplink' | 'downlink';
export type Topology = 'sfu' | 'p2p';

export interface CaseResult {
  direction: Direction;
  profile: string;
  topology: Topology;
  /** Undefined when the case failed. */
  figures?: CaseFigures;
  error?: string;
}

export const LAST_LINE_PREFIX = 'sfu-p2p frozen seconds per minute under slow-3g, worst direction:';

/**
 * The output's last line: over the directions where both topologies were measured under
 * slow-3g, the largest SFU-minus-P2P difference in frozen seconds per minute (2 decimals), or
 * `n/a (<why>)` when no direction has both.
 */
export function lastLine(results: readonly CaseResult[]): string {
  const frozen = (direction: Direction, topology: Topology) =>
    results.find((r) => r.profile === 'slow-3g' && r.direction === direction && r.topology === topology)?.figures?.frozenSecondsPerMinute;
  const differences: number[] = [];
  for (const direction of ['uplink', 'downlink'] as const) {
    const [sfu, p2p] = [frozen(direction, 'sfu'), frozen(direction, 'p2p')];
    if (sfu !== undefined && p2p !== undefined) differences.push(sfu - p2p);
  }
  if (differences.length === 0) return `${LAST_LINE_PREFIX} n/a (no direction with both SFU and P2P measured under slow-3g)`;
  return `${LAST_LINE_PREFIX} ${fixed(Math.max(...differences), 2)}`;
}

/** `toFixed` without "-0.00". */
export function fixed(value: number, decimals: number): string {
  const text = value.toFixed(decimals);
  return Number(text) === 0 ? (0).toFixed(decimals) : text;
}
