/**
 * `npm run bench:join`: how long a join takes, both ways, against the floor measured in the
 * same run. See bench/README.md.
 *
 *   npm run bench:join -- --runs 3 --cases p2p,sfu-4,auto
 */
import { startServer, type RunningServer } from '@parley/server';
import { freeUdpPort, testServerLogger } from '../../e2e/harness/environment.ts';
import { launchBrowser } from '../../e2e/harness/browsers.ts';
import { cleanUpOnSignals, onCleanup, runCleanups } from '../sfu/cleanup.ts';
import { runCase, type Browsers } from './case.ts';
import { parseJoinOptions, USAGE } from './options.ts';
import { optionsOrExit } from '../cli.ts';
import { caseTable, goalLines, type CaseReport } from './report.ts';

const options = optionsOrExit(parseJoinOptions, USAGE);
console.log(`join benchmark: ${options.cases.map((c) => c.name).join(', ')}; ${options.runs} runs each`);

cleanUpOnSignals();
const reports: CaseReport[] = [];
const runId = Date.now().toString(36);
try {
  // As `npm start` runs: SFU workers on the machine's cores (a room lives on one), started with
  // the server; no built-in TURN (its fixed port would collide with another server on this machine).
  const server: RunningServer = await startServer({ port: 0, turn: { enabled: false }, sfu: { udpPort: await freeUdpPort(), startAtBoot: true } }, { logger: testServerLogger() });
  onCleanup(() => server.close());
  const browsers: Browsers = { chromium: await launchBrowser('chromium'), firefox: undefined };
  onCleanup(() => browsers.chromium.close());
  if (options.cases.some((c) => c.newcomerBrowser === 'firefox')) {
    const firefox = await launchBrowser('firefox');
    browsers.firefox = firefox;
    onCleanup(() => firefox.close());
  }
  for (const spec of options.cases) {
    try {
      const result = await runCase(server, browsers, spec, options.runs, runId, (line) => console.log(line), options.records);
      const { floor, floorShown, othersSeeNewcomer, newcomerSeesOthers, failures, checks } = result;
      const report: CaseReport = { name: spec.name, topology: spec.topology, runs: options.runs, failures, floor, floorShown, othersSeeNewcomer, newcomerSeesOthers, checks };
      reports.push(report);
      if (result.failures > 0) process.exitCode = 1;
      console.log(caseTable(report));
    } catch (error) {
      console.error(`${spec.name}: the case could not run: ${(error as Error).message}`);
      process.exitCode = 1;
    }
  }
} catch (error) {
  console.error(`the benchmark could not run: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  await runCleanups();
}

console.log('');
for (const report of reports) console.log(`${caseTable(report)}\n`);
for (const line of goalLines(reports)) console.log(line);
