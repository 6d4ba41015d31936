// Pure parts of `npm run bench:sfu:compare`: reading one `bench:sfu` run's output, and the
// paired ratios of simultaneous rounds.

export interface ParsedRound {
  subscribers: number;
  delivery: number;
  cpuMs: number;
  microsecondsPerPacket: number;
  /** `CPU by process` (ms by role), when the checkout's bench prints it. */
  cpuByRole: Record<string, number> | undefined;
}

const ROW = /^\s*(\d+)\s+(\d+)\s+(\d+)\s+([\d.]+)\s+(\d+)\s+([\d.]+)\s+\d+\s+\d+\s+\d+\s+\d+\s*$/;
const SPLIT = /^\s*N=(\d+) CPU by process: (.*)$/;

/** The Parley table row for `subscribers` in one run's output; undefined if the round failed or is missing. */
export function parseRound(output: string, subscribers: number): ParsedRound | undefined {
  let found: ParsedRound | undefined;
  let split: Record<string, number> | undefined;
  for (const line of output.split('\n')) {
    const row = ROW.exec(line);
    if (row && Number(row[1]) === subscribers) {
      found = { subscribers, delivery: Number(row[4]), cpuMs: Number(row[5]), microsecondsPerPacket: Number(row[6]), cpuByRole: undefined };
    }
    const parts = SPLIT.exec(line);
    if (parts && Number(parts[1]) === subscribers) {
      split = {};
      for (const part of parts[2]!.split(', ')) {
        const match = /^(.*) (\d+) ms$/.exec(part);
        if (match) split[match[1]!] = Number(match[2]);
      }
    }
  }
  return found && { ...found, cpuByRole: split };
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export interface PairedRound {
  candidate: ParsedRound | undefined;
  baseline: ParsedRound | undefined;
}

export interface Comparison {
  /** Rounds where both sides measured, with full delivery. */
  valid: number;
  /** candidate / baseline, µs per forwarded packet, per valid round. */
  ratios: number[];
  medianRatio: number;
  /** The same for the SFU worker processes alone, when both sides print the split. */
  workerRatios: number[];
  medianWorkerRatio: number;
}

/** Rounds with less than full delivery on either side are left out: a stalled subscriber lowers CPU. */
export function compare(rounds: readonly PairedRound[], minDelivery = 99.9): Comparison {
  const ratios: number[] = [];
  const workerRatios: number[] = [];
  let valid = 0;
  for (const { candidate, baseline } of rounds) {
    if (!candidate || !baseline || candidate.delivery < minDelivery || baseline.delivery < minDelivery) continue;
    valid += 1;
    ratios.push(candidate.microsecondsPerPacket / baseline.microsecondsPerPacket);
    const candidateWorker = candidate.cpuByRole?.['sfu worker'];
    const baselineWorker = baseline.cpuByRole?.['sfu worker'];
    // Per forwarded packet, as the total: the worker's share of the CPU times the µs per packet.
    const perPacket = (round: ParsedRound, ms: number) => (ms / round.cpuMs) * round.microsecondsPerPacket;
    if (candidateWorker !== undefined && baselineWorker !== undefined && baselineWorker > 0) workerRatios.push(perPacket(candidate, candidateWorker) / perPacket(baseline, baselineWorker));
  }
  return { valid, ratios, medianRatio: median(ratios), workerRatios, medianWorkerRatio: median(workerRatios) };
}
