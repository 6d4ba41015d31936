/**
 * Real-browser capacity: one Chromium publisher (1280x720 simulcast camera + microphone) and a
 * growing number of Chromium subscribers through Parley's SFU (one worker). For each N it reports
 * the SFU worker's CPU, the subscribers' decoded frame rate, and the CPU share one subscriber costs,
 * from which it extrapolates how many subscribers one core sustains.
 *
 *   npm run bench:sfu:browsers [-- --n 1,2,4,8 --seconds 10]
 *
 * On a 2-core machine the browsers themselves use most of the CPU, so the largest N measured
 * here is bounded by the browsers, not by the SFU; the extrapolation says where the SFU would stop.
 */
import { parseArgs } from 'node:util';
import { silentLogger, startServer } from '@parley/server';
import { launchBrowser } from '../../e2e/harness/browsers.ts';
import { freeUdpPort } from '../../e2e/harness/environment.ts';
import { SdkParticipant } from '../../e2e/harness/participant.ts';
import { cpuMicroseconds } from './cpu.ts';

const { values } = parseArgs({ options: { n: { type: 'string', default: '1,2,4,8' }, seconds: { type: 'string', default: '10' } } });
const counts = values.n.split(',').map(Number).filter((n) => n > 0).sort((a, b) => a - b);
const seconds = Number(values.seconds);

const server = await startServer({ port: 0, rooms: { topology: 'sfu' }, sfu: { workers: 1, udpPort: await freeUdpPort() } }, { logger: silentLogger });
const browser = await launchBrowser('chromium');
const room = 'capacity';
const rows: string[] = [];
const points: Array<{ n: number; cpuShare: number }> = [];
try {
  const publisher = await SdkParticipant.join(browser, server.url, room, 'publisher');
  const subscribers: SdkParticipant[] = [];
  const workerPid = ((await server.media.service()) as unknown as { pids: number[] }).pids[0]!;
  for (const n of counts) {
    while (subscribers.length < n) {
      subscribers.push(await SdkParticipant.join(browser, server.url, room, `viewer-${subscribers.length + 1}`, { camera: false, microphone: false }));
    }
    await Promise.all(subscribers.map((s) => s.waitForVideoFrom('publisher', 10, 60_000)));
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const framesBefore = await Promise.all(subscribers.map((s) => s.framesFrom('publisher')));
    const statsBefore = await server.media.sfuStats(room);
    const cpuBefore = cpuMicroseconds(workerPid);
    const startedAt = performance.now();
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    const elapsed = (performance.now() - startedAt) / 1000;
    const cpuShare = (cpuMicroseconds(workerPid) - cpuBefore) / 1e6 / elapsed;
    const statsAfter = await server.media.sfuStats(room);
    const framesAfter = await Promise.all(subscribers.map((s) => s.framesFrom('publisher')));
    const fps = framesAfter.map((f, i) => (f - framesBefore[i]!) / elapsed);
    const forwardedPerSecond = (statsAfter.packetsOut - statsBefore.packetsOut) / elapsed;
    const perSubscriber = cpuShare / n;
    points.push({ n, cpuShare });
    rows.push(
      [n, (cpuShare * 100).toFixed(1), forwardedPerSecond.toFixed(0), Math.min(...fps).toFixed(1), (fps.reduce((a, b) => a + b, 0) / n).toFixed(1), (perSubscriber * 100).toFixed(2)]
        .map(String)
        .join(' | '),
    );
    console.log(`N=${n}: SFU worker ${(cpuShare * 100).toFixed(1)}% of a core, ${forwardedPerSecond.toFixed(0)} packets/s forwarded, min ${Math.min(...fps).toFixed(1)} fps decoded`);
  }
  await publisher.close();
} finally {
  await browser.close();
  await server.close();
}
console.log('\n| N subscribers | SFU worker CPU % of a core | packets/s forwarded | min fps decoded | mean fps decoded | CPU % per subscriber (average) |');
console.log('|---|---|---|---|---|---|');
for (const row of rows) console.log(`| ${row} |`);
const { fixed, perSubscriber } = linearFit(points);
console.log(
  `\nfit: SFU CPU = ${(fixed * 100).toFixed(2)}% (publisher, fixed) + ${(perSubscriber * 100).toFixed(3)}% per subscriber -> ` +
    `one core sustains about ${perSubscriber > 0 ? Math.floor((1 - fixed) / perSubscriber) : 'unbounded (no measurable cost per subscriber)'} Chromium subscribers of this publisher`,
);

/** Least squares: CPU share = fixed + perSubscriber * N. */
function linearFit(data: Array<{ n: number; cpuShare: number }>): { fixed: number; perSubscriber: number } {
  const meanN = data.reduce((a, p) => a + p.n, 0) / data.length;
  const meanCpu = data.reduce((a, p) => a + p.cpuShare, 0) / data.length;
  const covariance = data.reduce((a, p) => a + (p.n - meanN) * (p.cpuShare - meanCpu), 0);
  const variance = data.reduce((a, p) => a + (p.n - meanN) ** 2, 0);
  const perSubscriber = variance > 0 ? covariance / variance : 0;
  return { fixed: meanCpu - perSubscriber * meanN, perSubscriber };
}
