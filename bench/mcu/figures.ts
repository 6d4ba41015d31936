/**
 * The pure part of `npm run bench:mcu`: matching each flash of the flashing publisher to the
 * first picture a receiver presented with it (glass to glass), and the figures of a case.
 * Unit-tested in bench/test/mcu.test.ts.
 */
import { summarize, type Summary } from '../join/figures.ts';

/**
 * Glass to glass, per flash and receiver: from when the publisher's page painted the flash to
 * the first rising edge of white a receiver presented after it, within `withinMs` (a later
 * edge belongs to the next flash, an edge before a flash to none). Times on one clock (the
 * machine's, epoch ms). A flash a receiver never showed is counted as missed, not as a latency.
 */
export function glassToGlass(flashes: readonly number[], edgesByReceiver: readonly (readonly number[])[], withinMs: number): { latencies: number[]; missed: number } {
  const latencies: number[] = [];
  let missed = 0;
  for (const edges of edgesByReceiver) {
    const sorted = [...edges].sort((a, b) => a - b);
    for (const flash of flashes) {
      const edge = sorted.find((at) => at >= flash && at < flash + withinMs);
      if (edge === undefined) missed += 1;
      else latencies.push(edge - flash);
    }
  }
  return { latencies, missed };
}

export interface CaseFigures {
  topology: 'mcu' | 'sfu';
  size: number;
  /** The media processes' CPU (SFU worker, mixer, its ffmpegs), % of one core over the window. */
  serverCpuPercent: number;
  /** Each receiver's download (every inbound RTP stream), kbit/s over the window. */
  downloadKbps: Summary & { max: number | undefined };
  /** Each participant's upload, kbit/s. */
  uploadKbps: Summary;
  glassToGlassMs: Summary;
  missedFlashes: number;
  flashes: number;
  /** Video frames each receiver presented per second (all its video elements together). */
  framesPerSecond: Summary;
  /** The room's synthetic participants (`--browsers`): clients, so none of this is in the server's CPU. */
  synthetic?: {
    count: number;
    /** Their process and its ffmpegs (their encoders), % of one core. */
    cpuPercent: number;
    downloadKbps: Summary;
    uploadKbps: Summary;
    /** Camera frames each encoded per second. */
    framesPerSecond: Summary;
  };
}

/** The table's cell for a case's synthetic participants: how many, their CPU, each one's download. */
export function syntheticCell(c: CaseFigures): string {
  if (!c.synthetic) return '-';
  const kbps = (value: number | undefined) => (value === undefined ? '-' : Math.round(value).toString());
  return `${c.synthetic.count}: ${c.synthetic.cpuPercent.toFixed(1)} % of a core; download ${kbps(c.synthetic.downloadKbps.median)} kbit/s (median)`;
}

export function figuresTable(cases: readonly CaseFigures[]): string {
  const ms = (value: number | undefined) => (value === undefined ? '-' : Math.round(value).toString());
  const lines = [
    '| room | topology | server CPU, % of a core | download kbit/s per receiver (median / max) | upload kbit/s (median) | glass to glass ms (median / p90) | flashes missed | frames shown per s (median) | synthetic participants (clients) |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const c of cases) {
    lines.push(
      `| ${c.size} | ${c.topology} | ${c.serverCpuPercent.toFixed(1)} | ${ms(c.downloadKbps.median)} / ${ms(c.downloadKbps.max)} | ${ms(c.uploadKbps.median)} | ${ms(c.glassToGlassMs.median)} / ${ms(c.glassToGlassMs.p90)} (n ${c.glassToGlassMs.n}) | ${c.missedFlashes} of ${c.flashes} | ${ms(c.framesPerSecond.median)} | ${syntheticCell(c)} |`,
    );
  }
  return lines.join('\n');
}

/** One line per room size with both topologies: MCU against SFU as ratios. */
export function ratioLines(cases: readonly CaseFigures[]): string[] {
  const lines: string[] = [];
  for (const size of [...new Set(cases.map((c) => c.size))]) {
    const mcu = cases.find((c) => c.size === size && c.topology === 'mcu');
    const sfu = cases.find((c) => c.size === size && c.topology === 'sfu');
    if (!mcu || !sfu) continue;
    const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined || b === 0 ? 'n/a' : `${(a / b).toFixed(2)}x`);
    const difference = mcu.glassToGlassMs.median === undefined || sfu.glassToGlassMs.median === undefined ? undefined : Math.round(mcu.glassToGlassMs.median - sfu.glassToGlassMs.median);
    const added = difference === undefined ? 'n/a' : `${difference >= 0 ? '+' : ''}${difference} ms`;
    lines.push(`room of ${size}, mcu/sfu: server CPU ${ratio(mcu.serverCpuPercent, sfu.serverCpuPercent)}, download per receiver ${ratio(mcu.downloadKbps.median, sfu.downloadKbps.median)}, glass to glass ${added} (median)`);
  }
  return lines;
}

export { summarize };
