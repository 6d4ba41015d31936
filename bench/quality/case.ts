/**
 * One case of the quality benchmark: a fresh room with one topology, a publisher and a receiver
 * (one of them the Chromium inside the namespace), the profile's shape on the link in one
 * direction, a ramp-up, then a measurement window in which the receiver's page records every
 * video frame it shows. Bounded in time; the pages are closed and the link cleared whatever
 * happens.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ShapedCallEnvironment } from '../../e2e/harness/environment.ts';
import { SdkParticipant } from '../../e2e/harness/participant.ts';
import type { LinkShape } from '../../e2e/netsim/index.ts';
import { detectFreezes, summarize, type CaseFigures, type Direction, type Step, type Topology } from './figures.ts';
import { pageNow, readFrameCallbacks, startFrameRecording, webrtcFreezeCounters } from './frame-recorder.ts';
import { scheduleFor, type QualityProfile } from './profiles.ts';
import { startFreezeTrace } from './freeze-trace.ts';

export interface CaseSpec {
  topology: Topology;
  direction: Direction;
  profile: QualityProfile;
  rampupMs: number;
  windowMs: number;
  /** Log what the receiver's and the SFU's counters did around each freeze (freeze-trace.ts). */
  trace?: boolean;
}

const FIRST_VIDEO_TIMEOUT_MS = 30_000;
/** On top of ramp-up and window: joining, the first video, reading the frames back. */
const CASE_OVERHEAD_LIMIT_MS = 90_000;

/** Runs one case; `log` gets a line for anything worth knowing besides the figures. */
export async function runCase(env: ShapedCallEnvironment, spec: CaseSpec, room: string, log: (line: string) => void): Promise<CaseFigures> {
  const opened: SdkParticipant[] = [];
  const abort = new AbortController();
  const limitMs = spec.rampupMs + spec.windowMs + CASE_OVERHEAD_LIMIT_MS;
  const measuring = measure(env, spec, room, opened, abort.signal, log);
  measuring.catch(() => {}); // settled below, or abandoned after the time limit
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the case did not finish within ${Math.round(limitMs / 1000)} s`)), limitMs);
  });
  try {
    return await Promise.race([measuring, limit]);
  } finally {
    clearTimeout(timer);
    abort.abort();
    await Promise.all(opened.map((p) => p.close()));
    // Each case sets its own shape first, so a failure here does not spoil the next one.
    await env.network.shape({}).catch((error: Error) => log(`  note: clearing the link failed: ${error.message}`));
  }
}

async function measure(env: ShapedCallEnvironment, spec: CaseSpec, room: string, opened: SdkParticipant[], signal: AbortSignal, log: (line: string) => void): Promise<CaseFigures> {
  const { topology, direction } = spec;
  // Uplink: the shaped side publishes, so its upload carries the video; downlink: it receives.
  const linkDirection = direction === 'uplink' ? 'upload' : 'download';
  const shapedSide = { browser: env.shapedBrowser, url: env.proxyUrl };
  const hostSide = { browser: env.hostBrowser, url: env.server.url };
  const [publishing, receiving] = direction === 'uplink' ? [shapedSide, hostSide] : [hostSide, shapedSide];
  const roomConfig = { topology };

  // The SDK's default camera: 1280x720 at 30 fps, three simulcast layers in an SFU room. Video only.
  // A join that completes after the case gave up is closed at once (runCase's cleanup has run).
  const track = async (participant: SdkParticipant) => {
    opened.push(participant);
    if (signal.aborted) await participant.close();
    signal.throwIfAborted();
    return participant;
  };
  await track(await SdkParticipant.join(publishing.browser, publishing.url, room, 'pub', { roomConfig, microphone: false }));
  const receiver = await track(await SdkParticipant.join(receiving.browser, receiving.url, room, 'sub', { roomConfig, camera: false, microphone: false }));
  await startFrameRecording(receiver.page);
  await receiver.waitForVideoFrom('pub', 30, FIRST_VIDEO_TIMEOUT_MS);

  const schedule = scheduleFor(spec.profile, spec.windowMs);
  const shape = async (linkShape: LinkShape) => {
    signal.throwIfAborted();
    await env.network.shape({ ...linkShape, direction: linkDirection });
  };
  await shape(schedule.initial);
  await sleep(spec.rampupMs, undefined, { signal });

  const trace = spec.trace ? await startFreezeTrace(receiver.page, env.server, room, topology === 'sfu') : undefined;
  const startedAt = performance.now();
  const start = await pageNow(receiver.page);
  const countersAtStart = await webrtcFreezeCounters(receiver.page);
  const marks: Partial<Record<'down' | 'up', number>> = {};
  for (const change of schedule.changes) {
    await sleep(Math.max(0, startedAt + change.atMs - performance.now()), undefined, { signal });
    await shape(change.shape);
    marks[change.label] = await pageNow(receiver.page);
  }
  await sleep(Math.max(0, startedAt + spec.windowMs - performance.now()), undefined, { signal });
  const end = await pageNow(receiver.page);
  const countersAtEnd = await webrtcFreezeCounters(receiver.page);

  const { callbacks, elements } = await readFrameCallbacks(receiver.page);
  if (elements !== 1) log(`  note: the receiver rendered ${elements} <video> elements (their frames are merged in time order)`);
  const step: Step | undefined = marks.down !== undefined && marks.up !== undefined ? { downAt: marks.down, upAt: marks.up } : undefined;
  const figures = summarize(callbacks, { start, end }, step);
  if (trace) for (const line of await trace.explain(detectFreezes(callbacks, { start, end }).freezes)) log(line);
  if (countersAtStart && countersAtEnd) {
    // Counters of a connection replaced during the window would go backwards: then there is no comparison.
    const freezeCount = countersAtEnd.freezeCount - countersAtStart.freezeCount;
    const freezeSeconds = countersAtEnd.freezeSeconds - countersAtStart.freezeSeconds;
    if (freezeCount >= 0 && freezeSeconds >= 0) figures.webrtc = { freezeCount, freezeSeconds };
  }
  return figures;
}
