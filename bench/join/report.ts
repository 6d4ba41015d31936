/**
 * The join benchmark's output: per case, the floor and each step's median and p90 (ms since the
 * newcomer's connect()), then one line per goal of issue #16 with the figures it is judged by.
 * Pure, unit-tested in bench/test/join.test.ts.
 */
import { NEWCOMER_SEES_OTHERS, OTHERS_SEE_NEWCOMER, P2P_STEPS, summarize, type StepSamples } from './figures.ts';

export interface CaseReport {
  name: string;
  /** p2p: the link's steps; otherwise the two directions. */
  p2p: boolean;
  runs: number;
  failures: number;
  floor: number[];
  othersSeeNewcomer: StepSamples;
  newcomerSeesOthers: StepSamples;
}

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

export function caseTable(report: CaseReport): string {
  const floor = summarize(report.floor);
  const lines = [
    `${report.name}: ${report.runs - report.failures} of ${report.runs} runs${report.failures > 0 ? ` (${report.failures} failed)` : ''}`,
    `${"  ms since the newcomer's connect()".padEnd(LABEL_WIDTH)} ${'median'.padStart(6)} ${'p90'.padStart(6)} ${'n'.padStart(4)}`,
    row('  floor (two RTCPeerConnections in one page, same load)', floor.median, floor.p90, floor.n),
  ];
  if (report.p2p) lines.push(...rows('the link (both directions)', P2P_STEPS, report.othersSeeNewcomer));
  else {
    lines.push(...rows('the others see the newcomer', OTHERS_SEE_NEWCOMER, report.othersSeeNewcomer));
    lines.push(...rows('the newcomer sees the others', NEWCOMER_SEES_OTHERS, report.newcomerSeesOthers));
  }
  return lines.join('\n');
}

/** The figures the issue's goals are stated in, per case, as "value (floor + delta)". */
export function goalLines(reports: CaseReport[]): string[] {
  const lines: string[] = [];
  for (const report of reports) {
    const floor = summarize(report.floor).median;
    const versus = (value: number | undefined) => (value === undefined ? '-' : floor === undefined ? ms(value) : `${ms(value)} (floor + ${ms(value - floor)})`);
    if (report.p2p) {
      const seen = summarize(report.othersSeeNewcomer.get('first frame decoded at the other') ?? []);
      const sees = summarize(report.othersSeeNewcomer.get('first frame decoded at the newcomer') ?? []);
      lines.push(`${report.name}: others see the newcomer median ${versus(seen.median)}, p90 ${versus(seen.p90)}; the newcomer sees them median ${versus(sees.median)}`);
      continue;
    }
    const seen = summarize(report.othersSeeNewcomer.get('first frame decoded (all)') ?? []);
    const sees = summarize(report.newcomerSeesOthers.get('first frame decoded (all)') ?? []);
    lines.push(`${report.name}: all others see the newcomer median ${versus(seen.median)}, p90 ${versus(seen.p90)}; the newcomer sees all median ${versus(sees.median)}`);
  }
  return lines;
}
