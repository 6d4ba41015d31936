/**
 * The printed results: one row per direction x profile, each figure with its SFU and P2P values
 * side by side. Pure: a string from the results.
 */
import { fixed, type CaseFigures, type CaseResult, type Direction, type Topology } from './figures.ts';

const TOPOLOGIES: readonly Topology[] = ['sfu', 'p2p'];

const COLUMNS: ReadonlyArray<{ title: string; value: (f: CaseFigures) => string; stepOnly?: boolean }> = [
  { title: 'frozen s/min', value: (f) => fixed(f.frozenSecondsPerMinute, 2) },
  { title: 'freezes', value: (f) => String(f.freezeCount) },
  { title: 'longest ms', value: (f) => String(Math.round(f.longestFreezeMs)) },
  { title: 'mean height', value: (f) => (f.meanHeight === undefined ? 'n/a' : String(Math.round(f.meanHeight))) },
  { title: 'fps', value: (f) => fixed(f.fps, 1) },
  { title: 'recovery ms', value: (f) => (f.recoveryMs === undefined ? '-' : f.recoveryMs === null ? 'not within window' : String(Math.round(f.recoveryMs))), stepOnly: true },
];

/** A markdown table; a case that failed shows `failed`, one not run `-`; recovery only if a row is the step profile. */
export function resultsTable(results: readonly CaseResult[], rows: ReadonlyArray<{ direction: Direction; profile: string }>): string {
  const withStep = rows.some((r) => r.profile === 'step');
  const columns = COLUMNS.filter((c) => !c.stepOnly || withStep);
  const header = ['direction', 'profile', ...columns.flatMap((c) => TOPOLOGIES.map((t) => `${c.title} ${t.toUpperCase()}`))];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const { direction, profile } of rows) {
    const cell = (topology: Topology, value: (f: CaseFigures) => string) => {
      const result = results.find((r) => r.direction === direction && r.profile === profile && r.topology === topology);
      if (!result) return '-';
      return result.figures ? value(result.figures) : 'failed';
    };
    lines.push(`| ${[direction, profile, ...columns.flatMap((c) => TOPOLOGIES.map((t) => cell(t, c.value)))].join(' | ')} |`);
  }
  return lines.join('\n');
}

/** One case's figures on one line, as it finishes. */
export function caseLine(result: CaseResult): string {
  const name = `${result.direction} ${result.profile} ${result.topology.toUpperCase()}`;
  const f = result.figures;
  if (!f) return `${name}: failed: ${result.error ?? 'unknown error'}`;
  return (
    `${name}: frozen ${fixed(f.frozenSecondsPerMinute, 2)} s/min (${f.freezeCount} freezes, longest ${Math.round(f.longestFreezeMs)} ms), ` +
    `mean height ${f.meanHeight === undefined ? 'n/a' : Math.round(f.meanHeight)}, ${fixed(f.fps, 1)} fps (${f.frames} frames; ` +
    `median gap ${f.medianGapMs === undefined ? 'n/a' : fixed(f.medianGapMs, 1)} ms, freeze over ${f.thresholdMs === undefined ? 'n/a' : fixed(f.thresholdMs, 1)} ms)` +
    (f.recoveryMs === undefined ? '' : `, recovery ${f.recoveryMs === null ? 'not within window' : `${Math.round(f.recoveryMs)} ms`}`) +
    (f.webrtc ? `; WebRTC's inbound-rtp counted ${f.webrtc.freezeCount} freezes, ${fixed(f.webrtc.freezeSeconds, 2)} s` : '')
  );
}
