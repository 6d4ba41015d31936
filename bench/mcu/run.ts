/**
 * `npm run bench:mcu`: the MCU against the SFU for the same room, side by side in one run.
 * Rooms of N participants (default 2, 4 and 8), each publishing a 640x360 camera at 15 fps and a
 * tone: Chromium pages publishing a canvas, one of them flashing white once a second, and with
 * `--browsers B` only B pages, the room's others synthetic participants in Node
 * (`synthetic-main.ts`: the real signaling, real VP8 and Opus over node-datachannel). Per room and topology, over a window
 * after everyone shows everyone: the CPU of the server's media processes (SFU worker, mixer
 * and its ffmpegs), each receiver's download and each participant's upload, and glass to glass
 * (the flash's paint in the publisher's page to the first picture presenting it at each
 * receiver: the SFU's forwarded track, or the flasher's tile in the MCU's grid).
 *
 *   npm run bench:mcu -- --sizes 2,4 --seconds 20
 *   npm run bench:mcu -- --sizes 8 --browsers 2
 *
 * Every page and process runs on this machine: on 2 cores the browsers' encoders and decoders
 * compete with the server; the report says the load average, and the figures are for
 * comparing the two topologies in one run, not absolute.
 */
import { execFileSync } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { startServer } from '@parley/server';
import { freeUdpPort, testServerLogger } from '../../e2e/harness/environment.ts';
import { launchBrowser } from '../../e2e/harness/browsers.ts';
import { SdkParticipant } from '../../e2e/harness/participant.ts';
import { publishTone } from '../../e2e/harness/tone-probe.ts';
import { optionsOrExit } from '../cli.ts';
import { cleanUpOnSignals, onCleanup, runCleanups } from '../sfu/cleanup.ts';
import { childProcessIds, commandLine, cpuMicroseconds } from '../sfu/cpu.ts';
import { figuresTable, glassToGlass, ratioLines, summarize, type CaseFigures } from './figures.ts';
import { publishCanvas, readPage, rtpBytes, watchForFlashes } from './page.ts';
import { SYNTHETIC_COMMAND, SyntheticParticipants } from './synthetic.ts';

const USAGE = `usage: npm run bench:mcu -- [options]

The MCU against the SFU for rooms of N participants (640x360 at 15 fps each, one flashing).

  --sizes LIST        room sizes (default 2,4,8)
  --browsers B        Chromium pages per room at most, at least 2 (default: every participant);
                      the rest are synthetic participants in a Node process (real signaling,
                      VP8 from ffmpeg and Opus over node-datachannel)
  --topologies LIST   mcu,sfu (default both, MCU first)
  --seconds T         measured window per case (default 20)
  --settle T          after everyone shows everyone, before the window (default 8)
  --pin               the server's processes on the last core, the browsers on the others
                      (default: every process on every core)
  --all-tiers         the MCU grid at the server's default tiers (up to 1280x720@30), not
                      640x360@15 only`;

interface Options {
  sizes: number[];
  browsers: number | undefined;
  topologies: Array<'mcu' | 'sfu'>;
  seconds: number;
  settleSeconds: number;
  pin: boolean;
  allTiers: boolean;
}

function parse(argv: string[]): Options | 'help' {
  const { values } = parseArgs({ args: argv, options: { sizes: { type: 'string' }, browsers: { type: 'string' }, 'all-tiers': { type: 'boolean' }, topologies: { type: 'string' }, seconds: { type: 'string' }, settle: { type: 'string' }, pin: { type: 'boolean' }, help: { type: 'boolean' } } });
  if (values.help) return 'help';
  const count = (value: string, what: string, min: number) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new Error(`${what}: not a whole number >= ${min}: ${value}`);
    return n;
  };
  const topologies = (values.topologies ?? 'mcu,sfu').split(',').map((t) => {
    if (t !== 'mcu' && t !== 'sfu') throw new Error(`--topologies: mcu or sfu, not ${t}`);
    return t;
  });
  return {
    sizes: (values.sizes ?? '2,4,8').split(',').map((n) => count(n, '--sizes', 2)),
    browsers: values.browsers === undefined ? undefined : count(values.browsers, '--browsers', 2),
    topologies,
    seconds: count(values.seconds ?? '20', '--seconds', 1),
    settleSeconds: count(values.settle ?? '8', '--settle', 0),
    pin: values.pin === true && availableParallelism() >= 2,
    allTiers: values['all-tiers'] === true,
  };
}

const options = optionsOrExit(parse, USAGE);
/** Distinct, saturated, never white: a picture with the flash is told apart from every other tile. */
const COLOURS: ReadonlyArray<readonly [number, number, number]> = [
  [200, 40, 40],
  [40, 160, 40],
  [40, 60, 200],
  [200, 160, 20],
  [150, 40, 170],
  [20, 160, 170],
  [220, 100, 20],
  [90, 90, 90],
];
const READY_TIMEOUT_MS = 90_000;
/**
 * A synthetic camera's VP8 bitrate: what the SFU forwarded of a page's canvas, one layer, in the
 * rooms of 2 and 4 (530 and ~500 kbit/s per camera, BENCHMARKS.md).
 */
const SYNTHETIC_CAMERA_KBPS = 500;
const FLASH_MATCH_MS = 900;

/** The server's media processes: its descendants that are not clients (SFU workers, the mixer, ffmpeg). */
function mediaProcesses(): number[] {
  const found: number[] = [];
  const walk = (pid: number) => {
    for (const child of childProcessIds(pid)) {
      const command = commandLine(child);
      // Browsers, the synthetic participants (and their ffmpegs), and tsx's esbuild service (this process's, not the server's).
      if (/chrom|firefox|crashpad|esbuild/i.test(command) || SYNTHETIC_COMMAND.test(command)) continue;
      found.push(child);
      walk(child);
    }
  };
  walk(process.pid);
  return found;
}

/** A process and its descendants. */
function processTree(pid: number): number[] {
  return [pid, ...childProcessIds(pid).flatMap((child) => processTree(child))];
}

function cpuOf(pids: readonly number[]): Map<number, number> {
  const cpu = new Map<number, number>();
  for (const pid of pids) {
    try {
      cpu.set(pid, cpuMicroseconds(pid));
    } catch {
      // gone meanwhile
    }
  }
  return cpu;
}

/** What the media processes are, e.g. "2 node, 5 ffmpeg". */
function describeProcesses(pids: Iterable<number>): string {
  const counts = new Map<string, number>();
  for (const pid of pids) {
    const command = commandLine(pid);
    // The synthetic participants' process first: its command line (its configuration) names ffmpeg.
    const name = SYNTHETIC_COMMAND.test(command) ? 'synthetic participants' : /mixer-main/.test(command) ? 'mixer' : /ffmpeg/.test(command) ? 'ffmpeg' : /worker/.test(command) ? 'SFU worker' : (command.split(' ')[0] ?? '?').split('/').pop() || '?';
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return [...counts].map(([name, n]) => `${n} ${name}`).join(', ');
}

/** Until the media processes are back to `baseline` (the last case's mixer and its ffmpegs gone): they would count in the next case. */
async function settleProcesses(baseline: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (mediaProcesses().length > baseline && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 250));
}

/**
 * `--pin`: the server's processes on the last core, the browsers on the others, so the server's
 * figures are its own. Not the default: on 2 cores four pages on one core encode at 4-10 fps and
 * decode the grid at 3.6 (measured), so the clients' figures become a weak device's. Sharing
 * every core, rooms of 2 and 4 ran at 15 fps everywhere. Processes started later inherit it.
 */
function pin(pid: number, cores: string): void {
  execFileSync('taskset', ['-a', '-p', '-c', cores, String(pid)], { stdio: 'ignore' });
}

function browserProcesses(): number[] {
  const found: number[] = [];
  const walk = (pid: number, inBrowser: boolean) => {
    for (const child of childProcessIds(pid)) {
      const browser = inBrowser || /chrom|firefox/i.test(commandLine(child));
      if (browser) found.push(child);
      walk(child, browser);
    }
  };
  walk(process.pid, false);
  return found;
}

cleanUpOnSignals();
const results: CaseFigures[] = [];
const runId = Date.now().toString(36);
try {
  const chromium = await launchBrowser('chromium');
  onCleanup(() => chromium.close());
  const cores = availableParallelism();
  if (options.pin) {
    for (const pid of browserProcesses()) pin(pid, `0-${cores - 2}`);
    pin(process.pid, String(cores - 1));
  }
  // The grid at the rooms' 640x360 (the issue's comparison; as every grid was before tiers). With
  // the default tiers a receiver on loopback may climb to 1280x720@30 and 2.5 Mbit/s.
  const mcu = options.allTiers ? {} : { videoTiers: [{ width: 640, height: 360, fps: 15, bitrateKbps: 600 }] };
  const server = await startServer({ port: 0, turn: { enabled: false }, sfu: { udpPort: await freeUdpPort(), workers: 1 }, mcu }, { logger: testServerLogger() });
  onCleanup(() => server.close());
  // The SFU worker, started with the first room; what is there beyond it belongs to a case.
  let baseline: number | undefined;
  console.log(`mcu benchmark: rooms of ${options.sizes.join(', ')}${options.browsers === undefined ? '' : ` (at most ${options.browsers} Chromium pages each, the others synthetic)`}; ${options.topologies.join(' then ')}; grid ${options.allTiers ? 'at the default tiers' : '640x360@15 only'}; ${options.seconds} s windows; ${options.pin ? `server on core ${cores - 1}, browsers on ${cores === 2 ? 'core 0' : `cores 0-${cores - 2}`}` : 'every process on every core'}`);
  for (const size of options.sizes) {
    for (const topology of options.topologies) {
      if (baseline !== undefined) await settleProcesses(baseline);
      const room = `mcu-bench-${runId}-${topology}-${size}`;
      const participants: SdkParticipant[] = [];
      const browsers = Math.min(size, options.browsers ?? size);
      const identities = Array.from({ length: size }, (_, i) => `p${i}`);
      let synthetic: SyntheticParticipants | undefined;
      try {
        for (let i = 0; i < browsers; i++) {
          const p = await SdkParticipant.join(chromium, server.url, room, `p${i}`, { roomConfig: { topology }, camera: false, microphone: false });
          participants.push(p);
          await publishTone(p, 300 + 170 * i, 0.2, 'webAudio');
          await publishCanvas(p, COLOURS[i % COLOURS.length]!, i === 0);
        }
        if (size > browsers) {
          synthetic = await SyntheticParticipants.start(
            {
              serverUrl: server.url,
              wsUrl: server.wsUrl,
              room,
              topology,
              participants: identities.slice(browsers).map((identity, j) => ({ identity, rgb: COLOURS[(browsers + j) % COLOURS.length]!, hz: 300 + 170 * (browsers + j) })),
              width: 640,
              height: 360,
              fps: 15,
              bitrateKbps: SYNTHETIC_CAMERA_KBPS,
              ffmpeg: 'ffmpeg',
            },
            READY_TIMEOUT_MS,
          );
          const group = synthetic;
          onCleanup(() => group.stop());
        }
        // Everyone shows everyone: the grid (MCU) or each other one's camera (SFU).
        await Promise.all(
          participants.map((p) =>
            p.page.waitFor(
              ({ topology, others }) => {
                const shown = (window as unknown as import('../../e2e/harness/participant.ts').ParleyWindow).__parley.shown;
                return topology === 'mcu' ? shown['server:mix-video'] !== undefined : others.every((o) => shown[`${o}:camera`] !== undefined);
              },
              { topology, others: identities.filter((o) => o !== p.identity) },
              { timeoutMs: READY_TIMEOUT_MS, what: `${p.identity} shows everyone` },
            ),
          ),
        );
        const receivers = participants.slice(1);
        await Promise.all(receivers.map((p) => watchForFlashes(p)));
        baseline ??= mediaProcesses().filter((pid) => !/ffmpeg|mixer/.test(commandLine(pid))).length;
        await new Promise((resolve) => setTimeout(resolve, options.settleSeconds * 1000));
        // The window.
        const pids = mediaProcesses();
        const cpuBefore = cpuOf(pids);
        const clientCpuBefore = synthetic ? cpuOf(processTree(synthetic.pid)) : undefined;
        const syntheticBefore = await synthetic?.stats();
        const bytesBefore = await Promise.all(participants.map((p) => rtpBytes(p)));
        const pagesBefore = await Promise.all(participants.map((p) => readPage(p)));
        const startedAt = Date.now();
        await new Promise((resolve) => setTimeout(resolve, options.seconds * 1000));
        const pagesAfter = await Promise.all(participants.map((p) => readPage(p)));
        const bytesAfter = await Promise.all(participants.map((p) => rtpBytes(p)));
        const syntheticAfter = await synthetic?.stats();
        const cpuAfter = cpuOf(mediaProcesses());
        const clientCpuAfter = synthetic ? cpuOf(processTree(synthetic.pid)) : undefined;
        const seconds = (Date.now() - startedAt) / 1000;
        let cpuMicros = 0;
        for (const [pid, after] of cpuAfter) cpuMicros += after - (cpuBefore.get(pid) ?? 0);
        let clientCpuMicros = 0;
        for (const [pid, after] of clientCpuAfter ?? []) clientCpuMicros += after - (clientCpuBefore!.get(pid) ?? 0);
        // Flashes inside the window, late enough to be shown before it ends.
        const flashes = pagesAfter[0]!.flashes.filter((at) => at >= startedAt && at < startedAt + seconds * 1000 - FLASH_MATCH_MS);
        const g2g = glassToGlass(
          flashes,
          receivers.map((_, i) => pagesAfter[i + 1]!.edges),
          FLASH_MATCH_MS,
        );
        const download = receivers.map((_, i) => ((bytesAfter[i + 1]!.received - bytesBefore[i + 1]!.received) * 8) / 1000 / seconds);
        const figures: CaseFigures = {
          topology,
          size,
          serverCpuPercent: (cpuMicros / 1e6 / seconds) * 100,
          downloadKbps: { ...summarize(download), max: download.length ? Math.max(...download) : undefined },
          uploadKbps: summarize(participants.map((_, i) => ((bytesAfter[i]!.sent - bytesBefore[i]!.sent) * 8) / 1000 / seconds)),
          glassToGlassMs: summarize(g2g.latencies),
          missedFlashes: g2g.missed,
          flashes: flashes.length * receivers.length,
          framesPerSecond: summarize(receivers.map((_, i) => (pagesAfter[i + 1]!.frames - pagesBefore[i + 1]!.frames) / seconds)),
          ...(syntheticBefore && syntheticAfter
            ? {
                synthetic: {
                  count: syntheticAfter.participants.length,
                  cpuPercent: (clientCpuMicros / 1e6 / seconds) * 100,
                  downloadKbps: summarize(syntheticAfter.participants.map((p, i) => ((p.received - syntheticBefore.participants[i]!.received) * 8) / 1000 / seconds)),
                  uploadKbps: summarize(syntheticAfter.participants.map((p, i) => ((p.sent - syntheticBefore.participants[i]!.sent) * 8) / 1000 / seconds)),
                  framesPerSecond: summarize(syntheticAfter.participants.map((p, i) => (p.frames - syntheticBefore.participants[i]!.frames) / seconds)),
                },
              }
            : {}),
        };
        results.push(figures);
        const perVideo = Object.entries(pagesAfter[1]!.framesByVideo).map(([video, frames]) => `${video} ${((frames - (pagesBefore[1]!.framesByVideo[video] ?? 0)) / seconds).toFixed(1)}`);
        for (const error of syntheticAfter?.errors ?? []) console.error(`[${topology} ${size}] synthetic: ${error}`);
        const clients = figures.synthetic
          ? `; ${figures.synthetic.count} synthetic participants: their process ${figures.synthetic.cpuPercent.toFixed(1)} % of a core (${describeProcesses(clientCpuAfter!.keys())}), download ${syntheticAfter!.participants.map((p, i) => (((p.received - syntheticBefore!.participants[i]!.received) * 8) / 1000 / seconds).toFixed(0)).join('/')} kbit/s, upload median ${figures.synthetic.uploadKbps.median?.toFixed(0)} kbit/s, ${figures.synthetic.framesPerSecond.median?.toFixed(1)} frames encoded per s, ${syntheticAfter!.participants.reduce((n, p) => n + p.plis, 0)} PLIs and ${syntheticAfter!.participants.reduce((n, p) => n + p.keyframes, 0)} keyframes so far`
          : '';
        console.log(`[${topology} ${size}] server CPU ${figures.serverCpuPercent.toFixed(1)} % of a core (${describeProcesses(cpuAfter.keys())}); download ${download.map((k) => k.toFixed(0)).join('/')} kbit/s; glass to glass median ${figures.glassToGlassMs.median?.toFixed(0)} ms p90 ${figures.glassToGlassMs.p90?.toFixed(0)} ms (${g2g.missed} of ${figures.flashes} missed); ${figures.framesPerSecond.median?.toFixed(0)} frames shown per s per receiver (${receivers[0]!.identity}: ${perVideo.join(', ')}); frames sent per s ${bytesAfter.map((b, i) => ((b.sentFrames - bytesBefore[i]!.sentFrames) / seconds).toFixed(1)).join('/')}${clients}; load average ${loadavg()[0]!.toFixed(1)}`);
      } catch (error) {
        console.error(`[${topology} ${size}] could not run: ${(error as Error).message}`);
        process.exitCode = 1;
      } finally {
        await synthetic?.stop();
        await Promise.all(participants.map((p) => p.close().catch(() => undefined)));
      }
    }
  }
} catch (error) {
  console.error(`the benchmark could not run: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  await runCleanups();
}

console.log('');
console.log(figuresTable(results));
console.log('');
for (const line of ratioLines(results)) console.log(line);
