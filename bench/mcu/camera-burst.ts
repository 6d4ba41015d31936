/**
 * `npm run bench:mcu:camera-burst`: how soon an MCU grid shows cameras published together (a
 * room starting, people turning their cameras on at a host's prompt), against one camera alone:
 * what the mixer's spare decoder (`packages/server/src/mcu/video/spare-pool.ts`) is for. An `mcu`
 * room of four Chromium pages: `rae` receives and is watched; `ann`, `bob` and `cat` publish a
 * silent tone (so each is a placeholder tile while its camera is off) and, in each run, in turn:
 *
 * - burst: all three publish a camera of a solid colour at once (three pages, one `Promise.all`);
 * - alone: `ann` publishes hers with the others' cameras off.
 *
 * Each camera is timed from its publication in its page to the first frame `rae`'s page presents
 * with its picture in the grid (`watchGrid`: requestVideoFrameCallback's presentation time), less
 * what `rae`'s browser held in its video jitter buffer just before (the receiver's part, not the
 * server's). Between events every camera is unpublished and the room left `SETTLE_MS` (the spare
 * replaced). The mixer's warm and cold decoder starts of each event (`RoomMixers.stats()`, the
 * figures of `parley_mcu_decoder_starts_total`) say which decoder each event's cameras got.
 *
 *   npm run bench:mcu:camera-burst -- --runs 4
 *
 * Every page and the server share this machine's cores; the report says the load average.
 */
import { loadavg } from 'node:os';
import { publishColor, unpublishColor, watchGrid, type Rgb } from '../../e2e/harness/color-probe.ts';
import { SdkParticipant, type ParleyWindow } from '../../e2e/harness/participant.ts';
import { publishTone, videoJitterBufferMs } from '../../e2e/harness/tone-probe.ts';
import { avatarRgb } from '../../packages/server/src/mcu/video/placeholder.ts';
import { optionsOrExit } from '../cli.ts';
import { cleanUpOnSignals, onCleanup, runCleanups } from '../sfu/cleanup.ts';
import { cameraFirstPacket, gridShown, startGridBench } from './grid-room.ts';
import { parseLayoutOptions, type Cast } from './layout-figures.ts';
import { summarize } from '../join/figures.ts';

const USAGE = `usage: npm run bench:mcu:camera-burst -- [--runs N]

How soon an MCU room's grid shows three cameras published at once, and one alone: 4 Chromium
pages, each event N times (default 5), each camera timed to the first frame the receiver presents
with its picture, net of its video jitter buffer; with the mixer's warm and cold decoder starts.`;

const options = optionsOrExit(parseLayoutOptions, USAGE);
const ROOM = `mcu-burst-${Date.now().toString(36)}`;
const mcuRoom = { topology: 'mcu' } as const;
const PEOPLE = {
  ann: [40, 190, 60],
  bob: [40, 80, 220],
  cat: [230, 210, 40],
} as const satisfies Record<string, Rgb>;
type Identity = keyof typeof PEOPLE;
const PUBLISHERS = Object.keys(PEOPLE) as Identity[];
const PALETTE: Rgb[] = [...PUBLISHERS.map((identity) => PEOPLE[identity]), ...PUBLISHERS.map((identity) => avatarRgb(identity))];
const CAST: Cast = { picture: Object.fromEntries(PUBLISHERS.map((identity, i) => [identity, i])), avatar: Object.fromEntries(PUBLISHERS.map((identity, i) => [identity, PUBLISHERS.length + i])) };
const SHOWN_WITHIN_MS = 10_000;
/** Before each event: the previous one's decoders closed and the spare replaced (its refill waits up to 1 s, its start up to ~1.3 s here). */
const SETTLE_MS = 3000;
/** The mixer's stats reach signaling once a second. */
const STATS_MS = 1500;
const READY_TIMEOUT_MS = 60_000;

const round = (value: number | undefined) => (value === undefined ? '-' : Math.round(value).toString());
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Sample {
  event: 'burst' | 'alone';
  /** The camera's place in its burst, by its first packet at the SFU (1: first). */
  order: number;
  ms: number | undefined;
  /** From the camera's first packet at the SFU to the same frame (the mixer's part: decoder, grid, encoder, and rae's way back). */
  fromPacketMs: number | undefined;
}

cleanUpOnSignals();
const samples: Sample[] = [];
const starts = { burst: { warm: 0, cold: 0 }, alone: { warm: 0, cold: 0 } };
const spreads: number[] = [];
try {
  const { server, chromium, machine } = await startGridBench();
  console.log(`mcu camera-burst benchmark: ${options.runs} runs, a room of 4 Chromium pages, grids at 640x360@15; ${machine}; ${new Date().toISOString()}`);

  const rae = await SdkParticipant.join(chromium, server.url, ROOM, 'rae', { roomConfig: mcuRoom, camera: false, microphone: false });
  onCleanup(() => rae.close());
  const pages = {} as Record<Identity, SdkParticipant>;
  for (const identity of PUBLISHERS) {
    const p = await SdkParticipant.join(chromium, server.url, ROOM, identity, { roomConfig: mcuRoom, camera: false, microphone: false });
    pages[identity] = p;
    onCleanup(() => p.close());
    await publishTone(p, 440, 0, 'webAudio');
  }
  await rae.page.waitFor((key) => (window as unknown as ParleyWindow).__parley.shown[key] !== undefined, 'server:mix-video', { timeoutMs: READY_TIMEOUT_MS, what: 'rae receives the grid' });
  await watchGrid(rae, PALETTE);

  /** When rae's page first presented `identity`'s picture at or after `since` (epoch ms). */
  const shown = (identity: Identity, since: number) => gridShown(rae, CAST, { pictures: [identity] }, since, SHOWN_WITHIN_MS);
  const decoderStarts = () => {
    const { warmDecoderStarts: warm, coldDecoderStarts: cold } = server.media.mixers.stats();
    return { warm, cold };
  };
  await sleep(SETTLE_MS);

  const event = async (run: number, kind: Sample['event'], who: Identity[]) => {
    const bufferedMs = await videoJitterBufferMs(rae);
    const before = decoderStarts();
    const published = await Promise.all(who.map(async (identity) => ({ identity, at: await publishColor(pages[identity], PEOPLE[identity]) })));
    const presented = await Promise.all(published.map(({ identity, at }) => shown(identity, at)));
    const cameras = await Promise.all(published.map(async ({ identity, at }, i) => ({ identity, at, presentedAt: presented[i], firstPacket: await cameraFirstPacket(server, ROOM, identity) })));
    // In the order their packets reached the SFU: near enough the order the mixer took decoders in.
    cameras.sort((a, b) => (a.firstPacket ?? a.at) - (b.firstPacket ?? b.at));
    await sleep(STATS_MS);
    const after = decoderStarts();
    const [warm, cold] = [after.warm - before.warm, after.cold - before.cold];
    starts[kind].warm += warm;
    starts[kind].cold += cold;
    const ats = cameras.map((c) => c.at);
    const spread = Math.max(...ats) - Math.min(...ats);
    if (who.length > 1) spreads.push(spread);
    const figures = cameras.map(({ identity, at, presentedAt, firstPacket }, i) => {
      const ms = presentedAt === undefined ? undefined : presentedAt - at - bufferedMs;
      const fromPacketMs = presentedAt === undefined || firstPacket === undefined ? undefined : presentedAt - firstPacket - bufferedMs;
      samples.push({ event: kind, order: i + 1, ms, fromPacketMs });
      return `${identity} ${ms === undefined ? 'not shown' : `${Math.round(ms)} ms (${round(fromPacketMs)} from its first packet)`}`;
    });
    console.log(`[run ${run}] ${kind}: ${figures.join(', ')} (published within ${Math.round(spread)} ms; rae's jitter buffer ${Math.round(bufferedMs)} ms; decoders ${warm} warm, ${cold} cold; load average ${loadavg()[0]!.toFixed(1)})`);
    await Promise.all(who.map((identity) => unpublishColor(pages[identity])));
    await sleep(SETTLE_MS);
  };

  for (let run = 1; run <= options.runs; run++) {
    await event(run, 'burst', PUBLISHERS);
    await event(run, 'alone', ['ann']);
  }
} catch (error) {
  console.error(`the benchmark could not run: ${(error as Error).stack ?? String(error)}`);
  process.exitCode = 1;
} finally {
  await runCleanups();
}

console.log('');
console.log("Each camera from its publication, and from its first packet at the SFU, to the first frame of rae's grid presented with its picture, less rae's video jitter buffer:");
console.log('| event | camera | n (not shown) | from publication, ms (median / min / max) | from first packet, ms (median / min / max) |');
console.log('|---|---|---|---|---|');
for (const [event, order] of [['burst', 1], ['burst', 2], ['burst', 3], ['alone', 1]] as const) {
  const of = samples.filter((s) => s.event === event && s.order === order);
  const shown = of.flatMap((s) => (s.ms === undefined ? [] : [s.ms]));
  const fromPacket = of.flatMap((s) => (s.fromPacketMs === undefined ? [] : [s.fromPacketMs]));
  const figures = (values: number[]) => `${round(summarize(values).median)} / ${round(Math.min(...values))} / ${round(Math.max(...values))}`;
  console.log(`| ${event} | ${event === 'alone' ? 'ann' : `${order}${['st', 'nd', 'rd'][order - 1]} at the SFU`} | ${shown.length} (${of.length - shown.length}) | ${figures(shown)} | ${figures(fromPacket)} |`);
}
console.log(`decoders: bursts ${starts.burst.warm} warm, ${starts.burst.cold} cold; alone ${starts.alone.warm} warm, ${starts.alone.cold} cold; bursts published within ${spreads.map(Math.round).join(', ')} ms`);
