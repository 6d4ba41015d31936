/**
 * `npm run bench:mcu:layout`: how soon the MCU's grid follows a room's events (issue #14 item 3:
 * "joins, leaves, mutes and speaker changes update the layout within a second"). An `mcu` room of
 * four Chromium pages, each publishing a solid colour (`publishColor`, 320x180 at 15 fps, as the
 * e2e test): `rae` receives and is watched, `ann` makes the events, `bob` and `cat` stay; `ann`,
 * `bob` and `cat` publish a tone, silent unless they speak (`bob` does between speaker changes).
 * Each run, in turn: `ann`'s camera off (unpublished, as the SDK's `setCameraEnabled(false)`)
 * and on again (published again), `ann` leaving (`room.disconnect()`) and joining again
 * (`connect()`, then its camera and tone), and two speaker changes (`bob` falls silent as `ann` or
 * `cat` starts a loud tone, and back). Each is timed from its cause in the browser to the first
 * frame `rae`'s page presents of its grid showing the new layout (requestVideoFrameCallback's
 * presentation time on the element the page shows the grid in, every frame counted:
 * `watchGrid`), less what `rae`'s browser held in its video jitter buffer just before (as the
 * e2e test does: that part is the receiver's, not the server's).
 *
 *   npm run bench:mcu:layout -- --runs 5
 *
 * Every page and the server share this machine's cores; the report says the load average.
 */
import { loadavg } from 'node:os';
import { publishColor, watchGrid, type Rgb } from '../../e2e/harness/color-probe.ts';
import { SdkParticipant, type ParleyWindow } from '../../e2e/harness/participant.ts';
import { publishTone, setToneGain, videoJitterBufferMs } from '../../e2e/harness/tone-probe.ts';
import { avatarRgb } from '../../packages/server/src/mcu/video/placeholder.ts';
import { optionsOrExit } from '../cli.ts';
import { cleanUpOnSignals, onCleanup, runCleanups } from '../sfu/cleanup.ts';
import { cameraFirstPacket, gridShown, startGridBench } from './grid-room.ts';
import { eventTable, parseLayoutOptions, worstMedianLine, type Cast, type EventKind, type EventSample, type Want } from './layout-figures.ts';

const USAGE = `usage: npm run bench:mcu:layout -- [--runs N]

How soon an MCU room's grid shows a join, a leave, a camera turned off and on, and a speaker
change: 4 Chromium pages, each event N times (default 5), timed to the first frame the receiver
presents with the new layout, net of its video jitter buffer.`;

const options = optionsOrExit(parseLayoutOptions, USAGE);
const ROOM = `mcu-layout-${Date.now().toString(36)}`;
const mcuRoom = { topology: 'mcu' } as const;
/** Colours at least 80 apart, and each avatar (a placeholder's disc) 90+ from every one of them. */
const PEOPLE = {
  rae: { colour: [220, 40, 40], hz: 0 },
  ann: { colour: [40, 190, 60], hz: 540 },
  bob: { colour: [40, 80, 220], hz: 1160 },
  cat: { colour: [230, 210, 40], hz: 1540 },
} as const satisfies Record<string, { colour: Rgb; hz: number }>;
type Identity = keyof typeof PEOPLE;
/** What `rae` sees: the others' pictures, and `ann`'s placeholder. */
const SEEN: Identity[] = ['ann', 'bob', 'cat'];
const PALETTE: Rgb[] = [...SEEN.map((identity) => PEOPLE[identity].colour), avatarRgb('ann')];
const CAST: Cast = { picture: Object.fromEntries(SEEN.map((identity, i) => [identity, i])), avatar: { ann: SEEN.length } };
/** A speaker's level: -14 dBov RMS, far above the SFU's speech level (-50 dBov); silence is 0. */
const LOUD = 0.3;
/** How long a new layout may take before the event counts as not shown. */
const SHOWN_WITHIN_MS = 10_000;
/** After each event, before the next: the grid and the speaker detector's smoothing settle (its windows are 500 ms). */
const SETTLE_MS = 2000;
const READY_TIMEOUT_MS = 60_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const now = () => Date.now();

cleanUpOnSignals();
const samples: EventSample[] = [];
try {
  const { server, chromium, machine } = await startGridBench();
  console.log(`mcu layout benchmark: ${options.runs} runs, a room of 4 Chromium pages (320x180 solid colours at 15 fps), grids at 640x360@15; ${machine}; ${new Date().toISOString()}`);

  const pages = {} as Record<Identity, SdkParticipant>;
  for (const identity of Object.keys(PEOPLE) as Identity[]) {
    const p = await SdkParticipant.join(chromium, server.url, ROOM, identity, { roomConfig: mcuRoom, camera: false, microphone: false });
    pages[identity] = p;
    onCleanup(() => p.close());
    await publishColor(p, PEOPLE[identity].colour);
    if (PEOPLE[identity].hz > 0) await publishTone(p, PEOPLE[identity].hz, identity === 'bob' ? LOUD : 0, 'webAudio');
  }
  const { rae, ann, bob } = pages;
  await rae.page.waitFor((key) => (window as unknown as ParleyWindow).__parley.shown[key] !== undefined, 'server:mix-video', { timeoutMs: READY_TIMEOUT_MS, what: 'rae receives the grid' });
  await watchGrid(rae, PALETTE);

  /** Waits for rae's grid to show `want` from `since` on; the frame's presentation time. */
  const shown = (want: Want, since: number, timeoutMs = SHOWN_WITHIN_MS) => gridShown(rae, CAST, want, since, timeoutMs);
  /** When rae's page first heard that `speaker` is the loudest, at or after `since`. */
  const speakerNamed = async (speaker: Identity, since: number): Promise<number | undefined> => {
    const events = await rae.page.evaluate(() => (window as unknown as ParleyWindow).__parley.events, undefined);
    return events.find((e) => e.name === 'activeSpeakersChanged' && e.at >= since && e.detail.split(',')[0] === speaker)?.at;
  };

  const all: Want = { pictures: SEEN };
  const settled = await shown({ ...all, big: 'bob' }, now(), READY_TIMEOUT_MS);
  if (settled === undefined) throw new Error("rae's grid never showed ann, bob and cat with bob large");

  /** Times one event: `cause` does it in the browser and answers when (epoch ms); `mark`, the server's point on its way. */
  const measure = async (run: number, kind: EventKind, cause: () => Promise<number>, want: Want, mark?: (at: number) => Promise<number | undefined>) => {
    const bufferedMs = await videoJitterBufferMs(rae);
    const at = await cause();
    const presentedAt = await shown(want, at);
    const markAt = presentedAt === undefined ? undefined : await mark?.(at);
    const sample: EventSample = { kind, ms: presentedAt === undefined ? undefined : presentedAt - at - bufferedMs, ...(markAt === undefined ? {} : { markMs: markAt - at }) };
    samples.push(sample);
    const figure = sample.ms === undefined ? `not shown within ${SHOWN_WITHIN_MS / 1000} s` : `${Math.round(sample.ms)} ms (${Math.round(presentedAt! - at)} presented, ${Math.round(bufferedMs)} of it in rae's jitter buffer)`;
    console.log(`[run ${run}] ${kind}: ${figure}${sample.markMs === undefined ? '' : `; server mark at +${Math.round(sample.markMs)} ms`}; load average ${loadavg()[0]!.toFixed(1)}`);
    await sleep(SETTLE_MS);
  };

  for (let run = 1; run <= options.runs; run++) {
    await measure(
      run,
      'camera off',
      () =>
        ann.page.evaluate(async () => {
          const at = performance.timeOrigin + performance.now();
          // What setCameraEnabled(false) does.
          await (window as unknown as ParleyWindow).__parley.room.localParticipant.unpublishTrack('camera');
          return at;
        }, undefined),
      { placeholders: ['ann'], pictures: ['bob', 'cat'] },
    );
    await measure(
      run,
      'camera on',
      async () => {
        const at = now();
        await publishColor(ann, PEOPLE.ann.colour);
        return at;
      },
      all,
      () => cameraFirstPacket(server, ROOM, 'ann'),
    );
    await measure(
      run,
      'leave',
      () =>
        ann.page.evaluate(async () => {
          const at = performance.timeOrigin + performance.now();
          await (window as unknown as ParleyWindow).__parley.room.disconnect();
          return at;
        }, undefined),
      { absent: ['ann'], pictures: ['bob', 'cat'] },
    );
    await measure(
      run,
      'join',
      async () => {
        const at = now();
        await ann.connect(server.url, ROOM, { roomConfig: mcuRoom, camera: false, microphone: false });
        await publishColor(ann, PEOPLE.ann.colour);
        await publishTone(ann, PEOPLE.ann.hz, 0, 'webAudio');
        return at;
      },
      all,
      () => cameraFirstPacket(server, ROOM, 'ann'),
    );
    // A turn: bob falls silent as the next speaker starts (ann and cat in turn), then back to bob.
    for (const [from, to] of [
      [bob, pages[run % 2 ? 'ann' : 'cat']],
      [pages[run % 2 ? 'ann' : 'cat'], bob],
    ] as const) {
      await measure(
        run,
        'speaker change',
        async () => (await Promise.all([setToneGain(to, LOUD), setToneGain(from, 0)]))[0],
        { pictures: SEEN, big: to.identity },
        (at) => speakerNamed(to.identity as Identity, at),
      );
    }
  }
} catch (error) {
  console.error(`the benchmark could not run: ${(error as Error).stack ?? String(error)}`);
  process.exitCode = 1;
} finally {
  await runCleanups();
}

console.log('');
console.log("Each event from its cause in the browser to the first frame of rae's grid presented with the new layout, less rae's video jitter buffer:");
console.log(eventTable(samples));
console.log('');
console.log(worstMedianLine(samples));
