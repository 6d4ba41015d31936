/**
 * `npm run bench:quality`: how much received video freezes on a bad link, Parley's SFU against a
 * direct (P2P) call between the same two Chromiums, in one run. See bench/README.md.
 *
 *   npm run bench:quality -- --window 20 --rampup 8 --profiles slow-3g --directions uplink
 *
 * Cases run one after another, SFU and P2P back to back for each direction x profile so both
 * see the same machine load. The last line of the output is always
 * `sfu-p2p frozen seconds per minute under slow-3g, worst direction: <number>` (or `n/a (...)`).
 */
import { startShapedCall, stopShapedCall, type ShapedCallParts } from '../../e2e/harness/environment.ts';
import { cleanUpOnSignals, onCleanup, runCleanups } from '../sfu/cleanup.ts';
import { runCase } from './case.ts';
import { lastLine, type CaseResult } from './figures.ts';
import { parseQualityOptions, USAGE } from './options.ts';
import { optionsOrExit } from '../cli.ts';
import { caseLine, resultsTable } from './table.ts';

const options = optionsOrExit(parseQualityOptions, USAGE);

const rows = options.directions.flatMap((direction) => options.profiles.map((profile) => ({ direction, profile })));
const cases = rows.flatMap((row) => options.topologies.map((topology) => ({ ...row, topology })));
const perCaseSeconds = options.rampupSeconds + options.windowSeconds + 15;
console.log(
  `quality benchmark: ${cases.length} case(s) (${options.directions.join(', ')} x ${options.profiles.join(', ')} x ${options.topologies.join(', ')}), ` +
    `ramp-up ${options.rampupSeconds} s, window ${options.windowSeconds} s; about ${Math.ceil((cases.length * perCaseSeconds) / 60)} min`,
);

cleanUpOnSignals();
const parts: ShapedCallParts = {};
onCleanup(() => stopShapedCall(parts));
const results: CaseResult[] = [];
const runId = Date.now().toString(36);
try {
  const env = await startShapedCall({}, parts);
  for (const [index, spec] of cases.entries()) {
    const room = `quality-${runId}-${index}-${spec.topology}`;
    let result: CaseResult;
    try {
      const figures = await runCase(env, { ...spec, rampupMs: options.rampupSeconds * 1000, windowMs: options.windowSeconds * 1000, trace: options.trace }, room, (line) => console.log(line));
      result = { ...spec, figures };
    } catch (error) {
      // The whole message (with the harness's diagnostics) on stderr, its first line in the table's log.
      console.error(`${spec.direction} ${spec.profile} ${spec.topology}: ${(error as Error).message}`);
      result = { ...spec, error: (error as Error).message.split('\n')[0] };
      process.exitCode = 1;
    }
    results.push(result);
    console.log(`[${index + 1}/${cases.length}] ${caseLine(result)}`);
  }
} catch (error) {
  console.error(`the benchmark could not run: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  await runCleanups();
}

console.log('');
console.log(resultsTable(results, rows));
console.log('');
console.log(lastLine(results));
