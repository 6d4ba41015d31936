/**
 * One case of the join benchmark: the room's existing participants join and see each other,
 * then, per run, a floor measurement (same load) and a newcomer joins; what every page and the
 * SFU recorded becomes step times. A run that fails is logged with every page's timeline and
 * the case goes on with the next.
 */
import { appendFileSync } from 'node:fs';
import type { RunningServer } from '@parley/server';
import type { TestBrowser } from '../../e2e/harness/browsers.ts';
import { mergeSamples, p2pSteps, runChecks, sfuSteps, type RunRecord, type StepSamples } from './figures.ts';
import { addChecks, checkFrames, firstFrameOf, NO_CHECKS, type FrameChecks } from './frames.ts';
import type { CaseSpec } from './options.ts';
import { JoinPage, measureFloor } from './page.ts';

export interface CaseResult {
  spec: CaseSpec;
  /** The floor to the first frame decoded, and shown (ms). */
  floor: number[];
  floorShown: number[];
  /** SFU and auto: both directions; P2P: the link's steps under `othersSeeNewcomer`. */
  othersSeeNewcomer: StepSamples;
  newcomerSeesOthers: StepSamples;
  failures: number;
  /** Over every first frame of the runs that ended, the floor's included. */
  checks: FrameChecks;
}

export interface Browsers {
  chromium: TestBrowser;
  firefox: TestBrowser | undefined;
}

const SETTLE_TIMEOUT_MS = 60_000;
/** The existing participants' camera (the newcomer's is the SDK's default, 1280x720 at 30 fps): see JoinPage.open. */
const EXISTING_CAMERA: MediaTrackConstraints = { width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 15 } };
const RUN_TIMEOUT_MS = 30_000;

/** `records`: a file to append each run's records to (`--records`). */
export async function runCase(server: RunningServer, browsers: Browsers, spec: CaseSpec, runs: number, runId: string, log: (line: string) => void, records?: string): Promise<CaseResult> {
  const result: CaseResult = { spec, floor: [], floorShown: [], othersSeeNewcomer: new Map(), newcomerSeesOthers: new Map(), failures: 0, checks: NO_CHECKS };
  const roomConfig = { topology: spec.topology };
  const newcomerBrowser = spec.newcomerBrowser === 'firefox' ? browsers.firefox : browsers.chromium;
  if (!newcomerBrowser) throw new Error('this case needs Firefox');
  // auto: a fresh P2P pair each run (the move happens once per room); the others share one room.
  let existing: JoinPage[] = [];
  let room = `join-${runId}-${spec.name}`;
  try {
    for (let run = 1; run <= runs; run++) {
      if (spec.topology === 'auto' || run === 1) {
        await Promise.all(existing.map((page) => page.close()));
        if (spec.topology === 'auto') room = `join-${runId}-${spec.name}-${run}`;
        existing = await settle(server, browsers.chromium, room, roomConfig, spec.size - 1);
      }
      const floor = await measureFloor(newcomerBrowser, server.url);
      result.floor.push(floor.decoded);
      result.floorShown.push(floor.shown);
      result.checks = addChecks(result.checks, checkFrames([floor.frame]));
      const newcomer = await JoinPage.open(newcomerBrowser, server.url, room, `new${run}`, roomConfig);
      try {
        await newcomer.connect(server.url, room);
        const ids = existing.map((page) => page.identity);
        await Promise.all([newcomer.waitForFirstFrames(ids, RUN_TIMEOUT_MS), ...existing.map((page) => page.waitForFirstFrames([newcomer.identity], RUN_TIMEOUT_MS))]);
        const record: RunRecord = { newcomer: await newcomer.record(), others: await Promise.all(existing.map((page) => page.record())), server: await server.media.timeline(room) };
        result.checks = addChecks(result.checks, runChecks(record));
        if (records) appendFileSync(records, `${JSON.stringify({ case: spec.name, run, floor, record })}\n`);
        if (spec.topology === 'p2p') mergeSamples(result.othersSeeNewcomer, p2pSteps(record));
        else {
          const steps = sfuSteps(record);
          mergeSamples(result.othersSeeNewcomer, steps.othersSeeNewcomer);
          mergeSamples(result.newcomerSeesOthers, steps.newcomerSeesOthers);
        }
        log(`  ${spec.name} run ${run}/${runs}: floor ${Math.round(floor.decoded)} ms (shown ${Math.round(floor.shown)}), ${runLine(record)}`);
      } catch (error) {
        result.failures += 1;
        const pages = await Promise.all([newcomer, ...existing].map((page) => page.describe()));
        // A run that failed is kept too (`failed`), with whatever the pages and the SFU recorded by then.
        if (records) {
          const record = { newcomer: await newcomer.record().catch(() => undefined), others: await Promise.all(existing.map((page) => page.record().catch(() => undefined))), server: await server.media.timeline(room).catch(() => undefined) };
          appendFileSync(records, `${JSON.stringify({ case: spec.name, run, floor, failed: (error as Error).message.split('\n')[0], record })}\n`);
        }
        log(`  ${spec.name} run ${run}/${runs} failed: ${(error as Error).message.split('\n')[0]}\n    ${pages.join('\n    ')}`);
      } finally {
        await newcomer.close();
      }
      if (spec.topology !== 'auto' && run < runs) await Promise.all(existing.map((page) => page.waitForParticipants(spec.size - 2, SETTLE_TIMEOUT_MS)));
    }
  } finally {
    await Promise.all(existing.map((page) => page.close()));
  }
  return result;
}

/** The room's first participants: joined one after another, each seeing every other one. */
async function settle(server: RunningServer, browser: TestBrowser, room: string, roomConfig: { topology: 'p2p' | 'sfu' | 'auto' }, count: number): Promise<JoinPage[]> {
  const pages: JoinPage[] = [];
  try {
    for (let index = 0; index < count; index++) {
      const page = await JoinPage.open(browser, server.url, room, `old${index}`, roomConfig, EXISTING_CAMERA);
      pages.push(page);
      await page.connect(server.url, room);
    }
    const ids = pages.map((page) => page.identity);
    await Promise.all(pages.map((page) => page.waitForFirstFrames(ids.filter((id) => id !== page.identity), SETTLE_TIMEOUT_MS)));
    return pages;
  } catch (error) {
    await Promise.all(pages.map((page) => page.close()));
    throw error;
  }
}

/** One line per run: when the newcomer's first frame was decoded (shown) at the last of the others, and theirs at the newcomer. */
function runLine(record: RunRecord): string {
  const t0 = record.newcomer.marks.find((m) => m.step === 'connect')!.at;
  const last = (frames: { decoded: number; shown: number }[]) => `${Math.round(Math.max(...frames.map((f) => f.decoded)) - t0)} (shown ${Math.round(Math.max(...frames.map((f) => f.shown)) - t0)})`;
  const seen = record.others.map((o) => firstFrameOf(o.firstFrames[`${record.newcomer.identity}:camera`]!));
  const sees = record.others.map((o) => firstFrameOf(record.newcomer.firstFrames[`${o.identity}:camera`]!));
  return `others see the newcomer at ${last(seen)} ms, the newcomer sees them at ${last(sees)} ms`;
}
