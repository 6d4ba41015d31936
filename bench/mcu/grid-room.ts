/**
 * What the browser benchmarks of an MCU grid share (`bench:mcu:layout`, `bench:mcu:camera-burst`):
 * a server with one 640x360@15 tier and one Chromium, both closed by the benchmark's cleanups,
 * and the readings of a watched receiver's grid and of the SFU's timeline.
 */
import { availableParallelism, loadavg } from 'node:os';
import { startServer, type RunningServer } from '@parley/server';
import { launchBrowser, type TestBrowser } from '../../e2e/harness/browsers.ts';
import { gridFrames } from '../../e2e/harness/color-probe.ts';
import { freeUdpPort, testServerLogger } from '../../e2e/harness/environment.ts';
import type { SdkParticipant } from '../../e2e/harness/participant.ts';
import { onCleanup } from '../sfu/cleanup.ts';
import { firstShowing, type Cast, type Want } from './layout-figures.ts';

export interface GridBench {
  server: RunningServer;
  chromium: TestBrowser;
  /** "N cores, load average L": the report's first line says what the pages and server shared. */
  machine: string;
}

/**
 * One 640x360@15 tier, as bench:mcu: four grids at the default tiers (up to 1280x720@30) would
 * take the cores the pages need. TURN off: every page is on this machine.
 */
export async function startGridBench(): Promise<GridBench> {
  const server = await startServer(
    { port: 0, turn: { enabled: false }, sfu: { udpPort: await freeUdpPort(), workers: 1 }, mcu: { videoTiers: [{ width: 640, height: 360, fps: 15, bitrateKbps: 600 }] } },
    { logger: testServerLogger() },
  );
  onCleanup(() => server.close());
  const chromium = await launchBrowser('chromium');
  onCleanup(() => chromium.close());
  return { server, chromium, machine: `${availableParallelism()} cores, load average ${loadavg()[0]!.toFixed(1)}` };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * When `receiver`'s page first presented its grid showing `want` at or after `since` (epoch ms;
 * `watchGrid` must be running on it), polled every 100 ms for `withinMs`; undefined if never.
 */
export async function gridShown(receiver: SdkParticipant, cast: Cast, want: Want, since: number, withinMs: number): Promise<number | undefined> {
  while (Date.now() - since < withinMs) {
    const frame = firstShowing(await gridFrames(receiver, since), since, cast, want);
    if (frame) return frame.shownAt;
    await sleep(100);
  }
  return undefined;
}

/** The newest first packet of `publisher`'s camera at the SFU (epoch ms), from the room's timeline. */
export async function cameraFirstPacket(server: RunningServer, room: string, publisher: string): Promise<number | undefined> {
  const times = (await server.media.timeline(room)).tracks.filter((t) => t.publisher === publisher && t.source === 'camera' && t.firstPacketAt !== undefined).map((t) => t.firstPacketAt!);
  return times.length ? Math.max(...times) : undefined;
}
