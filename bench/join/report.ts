/**
 * The join benchmark's output: per case, the floor and each step's median and p90 (ms since the
 * newcomer's connect()), then one line per case with the figures issue #16's goals are stated in
 * and whether each goal is met. The goals are judged on the first frame decoded (the issue's
 * "first decoded frame"); the first frame shown follows it by the page's rendering delay.
 * Pure, unit-tested in bench/test/join.test.ts.
 */
import { NEWCOMER_SEES_OTHERS, OTHERS_SEE_NEWCOMER, P2P_STEPS, percentile, summarize, type StepSamples, type Summary } from './figures.ts';
import type { FrameChecks } from './frames.ts';

export interface CaseReport {
  name: string;
  /** p2p: the link's steps; otherwise the two directions. auto: the third joining a P2P pair. */
  topology: 'p2p' | 'sfu' | 'auto';
  runs: number;
  failures: number;
  /** Per run, ms to the floor call's first frame decoded, and shown. */
  floor: number[];
  floorShown: number[];
  othersSeeNewcomer: StepSamples;
  newcomerSeesOthers: StepSamples;
  checks: FrameChecks;
}

/** Issue #16's goals, ms. */
export const GOALS = { sfuSeenMedian: 150, sfuSeenP90: 400, sfuSeesMedian: 100, p2pMedian: 50, autoSeen: 1000 } as const;

const ms = (value: number | undefined) => (value === undefined ? '-' : String(Math.round(value)));
const LABEL_WIDTH = 58;
const row = (label: string, median: number | undefined, p90: number | undefined, n: number) => `${label.padEnd(LABEL_WIDTH)} ${ms(median).padStart(6)} ${ms(p90).padStart(6)} ${String(n).padStart(4)}`;

function rows(title: string, steps: readonly string[], samples: StepSamples): string[] {
  const lines = [`  ${title}`];
  for (const step of steps) {
    const { median, p90, n } = summarize(samples.get(step) ?? []);
    lines.push(row(`    ${step}`, median, p90, n));
  }
  return lines;
}

/** Where a case's decoded times came from (bench/join/frames.ts), and how late the processor is. */
export function checkLine(checks: FrameChecks): string {
  const { from } = checks;
  return (
    `first frames: ${checks.frames}; decoded from the first frame's receive + decode time ${from['first frame']}, ` +
    `from the processor (the callback described a later frame) ${from.processor}, from a later frame's receive + decode time ${from['later frame']}, ` +
    `from the presentation time ${from.shown}; decoded after shown ${checks.decodedAfterShown}; ` +
    `the processor's first frame after the first frame decoded: median ${ms(percentile(checks.readLags, 50))}, p90 ${ms(percentile(checks.readLags, 90))} ms (n ${checks.readLags.length})`
  );
}

export function caseTable(report: CaseReport): string {
  const floor = summarize(report.floor);
  const floorShown = summarize(report.floorShown);
  const lines = [
    `${report.name}: ${report.runs - report.failures} of ${report.runs} runs${report.failures > 0 ? ` (${report.failures} failed)` : ''}`,
    `${"  ms since the newcomer's connect()".padEnd(LABEL_WIDTH)} ${'median'.padStart(6)} ${'p90'.padStart(6)} ${'n'.padStart(4)}`,
    row('  floor: two RTCPeerConnections in one page, decoded', floor.median, floor.p90, floor.n),
    row('  floor, shown', floorShown.median, floorShown.p90, floorShown.n),
  ];
  if (report.topology === 'p2p') lines.push(...rows('the link (both directions)', P2P_STEPS, report.othersSeeNewcomer));
  else {
    lines.push(...rows('the others see the newcomer', OTHERS_SEE_NEWCOMER, report.othersSeeNewcomer));
    lines.push(...rows('the newcomer sees the others', NEWCOMER_SEES_OTHERS, report.newcomerSeesOthers));
  }
  lines.push(`  ${checkLine(report.checks)}`);
  return lines.join('\n');
}

/** "met" or "missed" for `value` against `limit`; "not measured" without a value. */
function verdict(value: number | undefined, limit: number | undefined): string {
  if (value === undefined || limit === undefined) return 'not measured';
  return value <= limit ? 'met' : 'missed';
}

/**
 * Per case, the headline figures (decoded, then shown) against the floor's median, and each goal:
 * SFU rooms: the others see the newcomer within floor + 150 (median) and floor + 400 (p90), the
 * newcomer sees all within floor + 100 (median); P2P: both ways within floor + 50 (median); auto:
 * the pair sees the third within 1 s (median and p90).
 */
export function goalLines(reports: CaseReport[]): string[] {
  const lines: string[] = [];
  for (const report of reports) {
    const floor = summarize(report.floor).median;
    const plus = (value: number | undefined) => (value === undefined || floor === undefined ? '' : ` (floor + ${ms(value - floor)})`);
    const figure = (step: string) => summarize(report.othersSeeNewcomer.get(step) ?? []);
    const limit = (delta: number) => (floor === undefined ? undefined : floor + delta);
    const both = (decoded: Summary, shown: Summary) => `median ${ms(decoded.median)}${plus(decoded.median)}, p90 ${ms(decoded.p90)}${plus(decoded.p90)} [shown ${ms(shown.median)} / ${ms(shown.p90)}]`;
    if (report.topology === 'p2p') {
      const seen = figure('first frame decoded at the other');
      const sees = figure('first frame decoded at the newcomer');
      lines.push(
        `${report.name}: the other decoded the newcomer's first frame at ${both(seen, figure('first frame shown at the other'))}; ` +
          `the newcomer decoded theirs at ${both(sees, figure('first frame shown at the newcomer'))}. ` +
          `Goal floor + ${GOALS.p2pMedian} median: seen ${verdict(seen.median, limit(GOALS.p2pMedian))}, sees ${verdict(sees.median, limit(GOALS.p2pMedian))}`,
      );
      continue;
    }
    const seen = figure('first frame decoded (all)');
    const sees = summarize(report.newcomerSeesOthers.get('first frame decoded (all)') ?? []);
    const seesShown = summarize(report.newcomerSeesOthers.get('first frame shown (all)') ?? []);
    const head = `${report.name}: all others decoded the newcomer's first frame at ${both(seen, figure('first frame shown (all)'))}; the newcomer decoded all at ${both(sees, seesShown)}. `;
    const goals =
      report.topology === 'auto'
        ? `Goal the third seen within ${GOALS.autoSeen} ms: median ${verdict(seen.median, GOALS.autoSeen)}, p90 ${verdict(seen.p90, GOALS.autoSeen)}`
        : `Goals: seen floor + ${GOALS.sfuSeenMedian} median ${verdict(seen.median, limit(GOALS.sfuSeenMedian))}, floor + ${GOALS.sfuSeenP90} p90 ${verdict(seen.p90, limit(GOALS.sfuSeenP90))}; sees floor + ${GOALS.sfuSeesMedian} median ${verdict(sees.median, limit(GOALS.sfuSeesMedian))}`;
    lines.push(head + goals);
  }
  return lines;
}
