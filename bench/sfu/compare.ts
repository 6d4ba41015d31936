// `npm run bench:sfu:compare -- --baseline DIR`: this checkout's SFU against another checkout's
// (an older commit, in a worktree with its dependencies installed), both measured *at the same
// time*, each by its own `bench:sfu` with its own clients. Measured one after the other, the same
// build's µs per forwarded packet moved ±10 % between consecutive rounds on the shared 2-core
// machine; measured side by side, both see the same load and the paired ratio moves far less
// (BENCHMARKS.md, "CPU against the code before #17"). Rounds alternate which side starts first.
// The default rate is half bench:sfu's, so that two rooms of 20 fit on 2 cores with room to spare.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { compare, parseRound, type PairedRound } from './compare-figures.ts';

const USAGE = `usage: npm run bench:sfu:compare -- --baseline DIR [options]

  --baseline DIR   another checkout of Parley with node_modules (e.g. a git worktree of an older
                   commit, its node_modules linked to this one's; see bench/README.md)
  --rounds R       simultaneous rounds (default 6)
  --n N            subscribers in each room (default 20)
  --rate P         packets per second from each publisher (default 500)
  --seconds S      measuring window (default 10)
  --help           this text`;

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const ROUND_TIMEOUT_MS = 180_000;

function options(): { baseline: string; rounds: number; n: number; rate: number; seconds: number } | undefined {
  const { values } = parseArgs({
    strict: true,
    options: {
      baseline: { type: 'string' },
      rounds: { type: 'string', default: '6' },
      n: { type: 'string', default: '20' },
      rate: { type: 'string', default: '500' },
      seconds: { type: 'string', default: '10' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return undefined;
  if (!values.baseline) throw new Error('--baseline DIR is required');
  const baseline = resolve(values.baseline);
  if (!existsSync(`${baseline}/bench/sfu/run.ts`) || !existsSync(`${baseline}/node_modules`)) throw new Error(`${baseline} is not a Parley checkout with node_modules and bench/sfu/run.ts`);
  const int = (name: string, value: string, min: number, max: number) => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < min || parsed > max) throw new Error(`${name} must be an integer from ${min} to ${max}`);
    return parsed;
  };
  return { baseline, rounds: int('--rounds', values.rounds, 1, 50), n: int('--n', values.n, 1, 100), rate: int('--rate', values.rate, 25, 5000), seconds: int('--seconds', values.seconds, 1, 120) };
}

/** One `bench:sfu` run in `dir`, its whole output. */
function benchIn(dir: string, args: string[]): Promise<string> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/sfu/run.ts', ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGTERM'), ROUND_TIMEOUT_MS);
    child.on('close', () => {
      clearTimeout(timer);
      done(output);
    });
  });
}

async function main(): Promise<number> {
  let opts;
  try {
    opts = options();
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }
  if (!opts) {
    console.log(USAGE);
    return 0;
  }
  const args = ['--target', 'parley', '--n', String(opts.n), '--rate', String(opts.rate), '--seconds', String(opts.seconds)];
  console.log(`bench:sfu at the same time in ${ROOT} (candidate) and ${opts.baseline} (baseline): N=${opts.n}, ${opts.rate} packets/s, ${opts.seconds} s windows, ${opts.rounds} rounds`);
  const rounds: PairedRound[] = [];
  for (let round = 1; round <= opts.rounds; round++) {
    const candidateFirst = round % 2 === 1;
    const first = benchIn(candidateFirst ? ROOT : opts.baseline, args);
    // The two servers start a moment apart, so their startup work does not land at the same instant.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const second = benchIn(candidateFirst ? opts.baseline : ROOT, args);
    const [a, b] = await Promise.all([first, second]);
    const [candidateOutput, baselineOutput] = candidateFirst ? [a, b] : [b, a];
    const paired = { candidate: parseRound(candidateOutput, opts.n), baseline: parseRound(baselineOutput, opts.n) };
    rounds.push(paired);
    const describe = (side: PairedRound['candidate'], output: string) =>
      side ? `${side.microsecondsPerPacket.toFixed(2)} µs/pkt (${side.cpuMs} ms${side.cpuByRole ? `: ${Object.entries(side.cpuByRole).map(([role, ms]) => `${role} ${ms}`).join(', ')}` : ''}), delivery ${side.delivery}%` : `failed (${output.split('\n').filter((line) => /failed|rror/.test(line)).slice(0, 2).join(' | ') || 'no result'})`;
    console.log(`round ${round}: candidate ${describe(paired.candidate, candidateOutput)}; baseline ${describe(paired.baseline, baselineOutput)}`);
  }
  const result = compare(rounds);
  console.log(`\nvalid rounds: ${result.valid} of ${opts.rounds}`);
  console.log(`paired ratios (candidate/baseline, µs per forwarded packet): ${result.ratios.map((r) => r.toFixed(3)).join(', ')}`);
  if (result.workerRatios.length > 0) console.log(`SFU worker alone: ${result.workerRatios.map((r) => r.toFixed(3)).join(', ')}; median ${result.medianWorkerRatio.toFixed(3)}`);
  console.log(`candidate/baseline cpu-per-forwarded-packet ratio, median of ${result.valid} simultaneous rounds: ${result.valid > 0 ? result.medianRatio.toFixed(3) : 'n/a'}`);
  return result.valid > 0 ? 0 : 1;
}

process.exitCode = await main();
