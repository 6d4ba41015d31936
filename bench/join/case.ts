/**
 * One case of the join benchmark: the room's existing participants join and see each other,
 * then, per run, a floor measurement (same load) and a newcomer joins; what every page and the
 * SFU recorded becomes step times. A run that fails is logged with every page's timeline and
 * the case goes on with the next.
 */
import type { RunningServer } from '@parley/server';
import type { TestBrowser } from '../../e2e/harness/browsers.ts';
import { mergeSamples, p2pSteps, sfuSteps, type RunRecord, type StepSamples } from './figures.ts';
import type { CaseSpec } from './options.ts';
import { JoinPage, measureFloor } from './page.ts';

export interface CaseResult {
  spec: CaseSpec;
  floor: number[];
  /** SFU and auto: both directions; P2P: the link's steps under `othersSeeNewcomer`. */
  othersSeeNewcomer: StepSamples;
  newcomerSeesOthers: StepSamples;
  failures: number;
}

export interface Browsers {
  chromium: TestBrowser;
  firefox: TestBrowser | undefined;
}

const SETTLE_TIMEOUT_MS = 60_000;
/** The existing participants' camera (the newcomer's is the SDK's default, 1280x720 at 30 fps): see JoinPage.open. */
const EXISTING_CAMERA: MediaTrackConstraints = { width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 15 } };
const RUN_TIMEOUT_MS = 30_000;

export async function runCase(server: RunningServer, browsers: Browsers, spec: CaseSpec, runs: number, runId: string, log: (line: string) => void): Promise<CaseResult> {
  const result: CaseResult = { spec, floor: [], othersSeeNewcomer: new Map(), newcomerSeesOthers: new Map(), failures: 0 };
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
      result.floor.push(await measureFloor(newcomerBrowser, server.url));
      const newcomer = await JoinPage.open(newcomerBrowser, server.url, room, `new${run}`, roomConfig);
      try {
        await newcomer.connect(server.url, room);
        const ids = existing.map((page) => page.identity);
        await Promise.all([newcomer.waitForFirstFrames(ids, RUN_TIMEOUT_MS), ...existing.map((page) => page.waitForFirstFrames([newcomer.identity], RUN_TIMEOUT_MS))]);
        const record: RunRecord = { newcomer: await newcomer.record(), others: await Promise.all(existing.map((page) => page.record())), server: await server.media.timeline(room) };
        if (spec.topology === 'p2p') mergeSamples(result.othersSeeNewcomer, p2pSteps(record));
        else {
          const steps = sfuSteps(record);
          mergeSamples(result.othersSeeNewcomer, steps.othersSeeNewcomer);
          mergeSamples(result.newcomerSeesOthers, steps.newcomerSeesOthers);
        }
        log(`  ${spec.name} run ${run}/${runs}: floor ${Math.round(result.floor.at(-1)!)} ms, ${runLine(record)}`);
      } catch (error) {
        result.failures += 1;
        const pages = await Promise.all([newcomer, ...existing].map((page) => page.describe()));
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

/** One line per run: when the newcomer was seen by the last of the others, and saw the last of them. */
function runLine(record: RunRecord): string {
  const t0 = record.newcomer.marks.find((m) => m.step === 'connect')!.at;
  const seen = Math.max(...record.others.map((o) => o.firstFrames[`${record.newcomer.identity}:camera`]! - t0));
  const sees = Math.max(...record.others.map((o) => record.newcomer.firstFrames[`${o.identity}:camera`]! - t0));
  return `others see the newcomer at ${Math.round(seen)} ms, the newcomer sees them at ${Math.round(sees)} ms`;
}
