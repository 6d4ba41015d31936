// Formatting of the benchmark's results: one table per target, then the ratio line.

export interface RoundResult {
  subscribers: number;
  packetsSent: number;
  packetsForwarded: number;
  cpuMicroseconds: number;
  seconds: number;
  /** Keyframe requests (PLI, FIR) the publisher got, over the whole round. */
  keyframeRequests: number;
  /** Packets the publisher resent on the SFU's NACKs, over the whole round. */
  retransmitted: number;
  /** NACK packets the subscribers sent, over the whole round. */
  subscriberNacks: number;
  /** Subscribers that got less than 99% of the window's packets (a stalled stream shows here). */
  subscribersShort: number;
  /** `--record` rounds: the recorder process's share of `cpuMicroseconds`. */
  recorderCpuMicroseconds?: number;
  /** `cpuMicroseconds` by process role (Parley: server, sfu worker, recorder), summed per role. */
  cpuByRole?: Record<string, number>;
}

export type RoundOutcome = RoundResult | { subscribers: number; error: string };

export const BAR = { maxRatio: 1.0, minDelivery: 0.999, atSubscribers: 20 };

export function deliveryRatio(result: RoundResult): number {
  return result.packetsSent === 0 ? 0 : result.packetsForwarded / (result.packetsSent * result.subscribers);
}

export function microsecondsPerForwardedPacket(result: RoundResult): number {
  return result.packetsForwarded === 0 ? Number.POSITIVE_INFINITY : result.cpuMicroseconds / result.packetsForwarded;
}

const columns = ['N', 'sent', 'forwarded', 'delivery %', 'CPU ms', 'µs/fwd pkt', 'pub PLI', 'pub rtx', 'sub NACK', 'subs <99%'];
const widths = [4, 8, 10, 11, 9, 11, 8, 8, 9, 10];

export function tableHeader(): string {
  return [row(columns), row(widths.map((width) => '-'.repeat(width)))].join('\n');
}

export function tableRow(outcome: RoundOutcome): string {
  if ('error' in outcome) return `${String(outcome.subscribers).padStart(widths[0]!)}  failed: ${outcome.error}`;
  return row([
    String(outcome.subscribers),
    String(outcome.packetsSent),
    String(outcome.packetsForwarded),
    (deliveryRatio(outcome) * 100).toFixed(3),
    (outcome.cpuMicroseconds / 1000).toFixed(0),
    microsecondsPerForwardedPacket(outcome).toFixed(2),
    String(outcome.keyframeRequests),
    String(outcome.retransmitted),
    String(outcome.subscriberNacks),
    String(outcome.subscribersShort),
  ]);
}

/** `  N=20 CPU by process: server 80 ms, sfu worker 2060 ms` (nothing for a round without the split). */
export function cpuByRoleLine(outcome: RoundOutcome): string | undefined {
  if ('error' in outcome || !outcome.cpuByRole) return undefined;
  const parts = Object.entries(outcome.cpuByRole).map(([role, us]) => `${role} ${(us / 1000).toFixed(0)} ms`);
  return `  N=${outcome.subscribers} CPU by process: ${parts.join(', ')}`;
}

/** The role of one measured Parley process, from its command line. */
export function processRole(commandLine: string): string {
  if (commandLine.includes('recorder-main')) return 'recorder';
  if (commandLine.includes('sfu/worker/main')) return 'sfu worker';
  if (commandLine.includes('esbuild')) return 'esbuild (tsx)';
  return 'server';
}

function row(cells: string[]): string {
  return cells.map((cell, i) => cell.padStart(widths[i]!)).join('  ');
}

export interface Verdict {
  lines: string[];
  ratioLine: string;
}

/** The comparison at N=20: Parley's µs per forwarded packet over Janus's, and the bar. */
export function verdict(parley: RoundOutcome[] | string, janus: RoundOutcome[] | string): Verdict {
  const prefix = `parley/janus cpu-per-forwarded-packet ratio at N=${BAR.atSubscribers}:`;
  const parleyRound = atBar(parley, 'parley');
  const janusRound = atBar(janus, 'janus');
  if (typeof parleyRound === 'string' || typeof janusRound === 'string') {
    const reason = [parleyRound, janusRound].filter((part) => typeof part === 'string').join('; ');
    return { lines: [], ratioLine: `${prefix} n/a (${reason})` };
  }
  const ratio = microsecondsPerForwardedPacket(parleyRound) / microsecondsPerForwardedPacket(janusRound);
  const delivery = deliveryRatio(parleyRound);
  const met = ratio <= BAR.maxRatio && delivery >= BAR.minDelivery;
  return {
    lines: [
      `bar: ratio <= ${BAR.maxRatio.toFixed(1)} with Parley delivery >= ${(BAR.minDelivery * 100).toFixed(1)}% at N=${BAR.atSubscribers}: ` +
        `${met ? 'met' : 'NOT met'} (ratio ${ratio.toFixed(3)}, Parley delivery ${(delivery * 100).toFixed(3)}%, ` +
        `Janus delivery ${(deliveryRatio(janusRound) * 100).toFixed(3)}%)`,
    ],
    ratioLine: `${prefix} ${ratio.toFixed(3)}`,
  };
}

function atBar(outcomes: RoundOutcome[] | string, name: string): RoundResult | string {
  if (typeof outcomes === 'string') return `${name}: ${outcomes}`;
  const outcome = outcomes.find((candidate) => candidate.subscribers === BAR.atSubscribers);
  if (!outcome) return `${name} was not measured at N=${BAR.atSubscribers}`;
  if ('error' in outcome) return `${name} failed at N=${BAR.atSubscribers}`;
  return outcome;
}

/** `--record`: per N, µs per forwarded packet without and with a server recording running. */
export function recordingCostLines(without: RoundOutcome[], recorded: RoundOutcome[]): string[] {
  const lines = ['server (tracks) recording cost, Parley, µs of CPU per forwarded packet (SFU worker + server + recorder):'];
  for (const plain of without) {
    const withRecording = recorded.find((outcome) => outcome.subscribers === plain.subscribers);
    if (!withRecording || 'error' in plain || 'error' in withRecording) {
      lines.push(`  N=${plain.subscribers}: n/a (a round failed)`);
      continue;
    }
    const [a, b] = [microsecondsPerForwardedPacket(plain), microsecondsPerForwardedPacket(withRecording)];
    const recorder = (withRecording.recorderCpuMicroseconds ?? 0) / withRecording.packetsForwarded;
    // The tap copies each received packet once, whatever N: the cost per recorded packet is the one that does not dilute.
    const perRecorded = (withRecording.cpuMicroseconds / withRecording.packetsSent) - (plain.cpuMicroseconds / plain.packetsSent);
    const recorderPerRecorded = (withRecording.recorderCpuMicroseconds ?? 0) / withRecording.packetsSent;
    lines.push(
      `  N=${plain.subscribers}: ${a.toFixed(2)} without, ${b.toFixed(2)} with (${b - a >= 0 ? '+' : ''}${(b - a).toFixed(2)}, ${(((b - a) / a) * 100).toFixed(1)} %), ` +
        `of which the recorder process ${recorder.toFixed(2)}; per recorded packet +${perRecorded.toFixed(1)} µs (recorder ${recorderPerRecorded.toFixed(1)}, ` +
        `worker and server ${(perRecorded - recorderPerRecorded).toFixed(1)}); delivery ${(deliveryRatio(withRecording) * 100).toFixed(3)} % with`,
    );
  }
  return lines;
}
