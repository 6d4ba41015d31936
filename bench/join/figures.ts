/**
 * The pure part of `npm run bench:join`: what one run recorded (pages' timelines and first frames,
 * the SFU's first packets and deliveries) turned into step times relative to the newcomer's
 * `connect()`, and samples into median and p90. A first frame counts twice: decoded (what the
 * issue's goals are judged by) and shown (bench/join/frames.ts). Unit-tested in
 * bench/test/join.test.ts.
 */
import { checkFrames, firstFrameOf, type FirstFrame, type FrameCallback, type FrameChecks } from './frames.ts';

/** One mark of an SDK timeline (`room.timeline.marks`): wall-clock ms. */
export interface Mark {
  step: string;
  at: number;
  detail: string;
}

/** What one page recorded. */
export interface PageRecord {
  identity: string;
  marks: Mark[];
  /** `identity:source` of a received track -> its first frame's callback. */
  firstFrames: Record<string, FrameCallback>;
}

/** What the SFU recorded about the room (MediaCoordinator.timeline). */
export interface ServerRecord {
  tracks: Array<{ trackId: string; publisher: string; source: string; firstPacketAt: number | undefined }>;
  delivered: Array<{ trackId: string; publisher: string; subscriber: string; at: number }>;
}

export interface RunRecord {
  newcomer: PageRecord;
  others: PageRecord[];
  server: ServerRecord;
}

/** Steps in the order a join goes through them; each direction has its own list. */
export const OTHERS_SEE_NEWCOMER = [
  'signaling joined',
  'camera publish offer',
  'camera publish answer',
  'camera ICE connected',
  'camera DTLS connected',
  'first camera RTP at the SFU',
  'subscriber offer at the others',
  'subscriber answer from the others',
  'first keyframe forwarded',
  'first frame decoded (each)',
  'first frame decoded (all)',
  'first frame shown (each)',
  'first frame shown (all)',
] as const;

export const NEWCOMER_SEES_OTHERS = [
  'signaling joined',
  'subscriber offer',
  'subscriber answer',
  'ICE connected (receiving)',
  'DTLS connected (receiving)',
  'first keyframe forwarded (each)',
  'first frame decoded (each)',
  'first frame decoded (all)',
  'first frame shown (each)',
  'first frame shown (all)',
] as const;

export const P2P_STEPS = [
  'signaling joined', 'offer', 'offer received', 'offer applied (setRemoteDescription)', 'answer', 'ICE connected', 'DTLS connected',
  'first frame decoded at the newcomer',
  'first frame decoded at the other',
  'first frame shown at the newcomer',
  'first frame shown at the other',
] as const;

export type StepSamples = Map<string, number[]>;

/** Adds `value` (ms) to `step`'s samples; undefined (the step never happened) is skipped. */
function add(samples: StepSamples, step: string, value: number | undefined): void {
  if (value === undefined || !Number.isFinite(value)) return;
  let list = samples.get(step);
  if (!list) samples.set(step, (list = []));
  list.push(value);
}

function firstMark(page: PageRecord, step: string, matches: (detail: string) => boolean = () => true): number | undefined {
  return page.marks.find((mark) => mark.step === step && matches(mark.detail))?.at;
}

function connectAt(page: PageRecord): number {
  const at = firstMark(page, 'connect');
  if (at === undefined) throw new Error(`${page.identity} recorded no connect mark`);
  return at;
}

function includesTrack(detail: string, identity: string, source: string): boolean {
  return detail.split(',').includes(`${identity}:${source}`);
}

/** The first frame of `identity`'s camera at `page`, if it had one. */
function frameAt(page: PageRecord, identity: string): FirstFrame | undefined {
  const callback = page.firstFrames[`${identity}:camera`];
  return callback && firstFrameOf(callback);
}

/** Adds each frame's decoded and shown times to "(each)", and the last of them to "(all)". */
function addFrames(samples: StepSamples, frames: (FirstFrame | undefined)[], since: (at: number | undefined) => number | undefined): void {
  for (const kind of ['decoded', 'shown'] as const) {
    const times = frames.map((frame) => since(frame?.[kind]));
    for (const time of times) add(samples, `first frame ${kind} (each)`, time);
    add(samples, `first frame ${kind} (all)`, maxOf(times));
  }
}

/** The checks (frames.ts) over every first frame a run's pages recorded. */
export function runChecks(run: RunRecord): FrameChecks {
  return checkFrames([run.newcomer, ...run.others].flatMap((page) => Object.values(page.firstFrames).map(firstFrameOf)));
}

function maxOf(values: (number | undefined)[]): number | undefined {
  return values.some((v) => v === undefined) || values.length === 0 ? undefined : Math.max(...(values as number[]));
}

/** SFU run: both directions' steps, in ms since the newcomer's connect(). */
export function sfuSteps(run: RunRecord): { othersSeeNewcomer: StepSamples; newcomerSeesOthers: StepSamples } {
  const { newcomer, others, server } = run;
  const t0 = connectAt(newcomer);
  const since = (at: number | undefined) => (at === undefined ? undefined : at - t0);
  const me = newcomer.identity;
  const camera = server.tracks.find((t) => t.publisher === me && t.source === 'camera');

  const out: StepSamples = new Map();
  add(out, 'signaling joined', since(firstMark(newcomer, 'joined')));
  add(out, 'camera publish offer', since(firstMark(newcomer, 'publishOffer', (d) => d === 'camera')));
  add(out, 'camera publish answer', since(firstMark(newcomer, 'publishAnswer', (d) => d === 'camera')));
  add(out, 'camera ICE connected', since(firstMark(newcomer, 'iceConnected', (d) => d === 'pub:camera')));
  add(out, 'camera DTLS connected', since(firstMark(newcomer, 'dtlsConnected', (d) => d === 'pub:camera')));
  add(out, 'first camera RTP at the SFU', since(camera?.firstPacketAt));
  for (const other of others) {
    add(out, 'subscriber offer at the others', since(firstMark(other, 'subscriberOffer', (d) => includesTrack(d, me, 'camera'))));
    add(out, 'subscriber answer from the others', since(firstMark(other, 'subscriberAnswer', (d) => includesTrack(d, me, 'camera'))));
    add(out, 'first keyframe forwarded', since(server.delivered.find((d) => camera && d.trackId === camera.trackId && d.subscriber === other.identity)?.at));
  }
  addFrames(out, others.map((other) => frameAt(other, me)), since);

  const back: StepSamples = new Map();
  add(back, 'signaling joined', since(firstMark(newcomer, 'joined')));
  add(back, 'subscriber offer', since(firstMark(newcomer, 'subscriberOffer', (d) => d !== '')));
  add(back, 'subscriber answer', since(firstMark(newcomer, 'subscriberAnswer', (d) => d !== '')));
  add(back, 'ICE connected (receiving)', since(firstMark(newcomer, 'iceConnected', (d) => d === 'sub')));
  add(back, 'DTLS connected (receiving)', since(firstMark(newcomer, 'dtlsConnected', (d) => d === 'sub')));
  for (const other of others) {
    const theirCamera = server.tracks.find((t) => t.publisher === other.identity && t.source === 'camera');
    add(back, 'first keyframe forwarded (each)', since(server.delivered.find((d) => theirCamera && d.trackId === theirCamera.trackId && d.subscriber === me)?.at));
  }
  addFrames(back, others.map((other) => frameAt(newcomer, other.identity)), since);
  return { othersSeeNewcomer: out, newcomerSeesOthers: back };
}

/** P2P run (one other participant): the link's steps, in ms since the newcomer's connect(). */
export function p2pSteps(run: RunRecord): StepSamples {
  const { newcomer, others } = run;
  const other = others[0];
  if (!other) throw new Error('a P2P run needs the other participant');
  const t0 = connectAt(newcomer);
  const since = (at: number | undefined) => (at === undefined ? undefined : at - t0);
  const link = `p2p:${other.identity}`;
  const steps: StepSamples = new Map();
  add(steps, 'signaling joined', since(firstMark(newcomer, 'joined')));
  // Whichever side is impolite offers; the offer and the answer are taken from both pages.
  const offers = [firstMark(newcomer, 'p2pOffer', (d) => d === other.identity), firstMark(other, 'p2pOffer', (d) => d === newcomer.identity)].filter((v): v is number => v !== undefined && v >= t0);
  const answers = [firstMark(newcomer, 'p2pAnswer', (d) => d === other.identity), firstMark(other, 'p2pAnswer', (d) => d === newcomer.identity)].filter((v): v is number => v !== undefined && v >= t0);
  add(steps, 'offer', since(offers.length > 0 ? Math.min(...offers) : undefined));
  const received = (step: 'p2pOfferReceived' | 'p2pOfferApplied') =>
    [firstMark(newcomer, step, (d) => d === other.identity), firstMark(other, step, (d) => d === newcomer.identity)].filter((v): v is number => v !== undefined && v >= t0);
  const offerReceived = received('p2pOfferReceived');
  const offerApplied = received('p2pOfferApplied');
  add(steps, 'offer received', since(offerReceived.length > 0 ? Math.min(...offerReceived) : undefined));
  add(steps, 'offer applied (setRemoteDescription)', since(offerApplied.length > 0 ? Math.min(...offerApplied) : undefined));
  add(steps, 'answer', since(answers.length > 0 ? Math.min(...answers) : undefined));
  add(steps, 'ICE connected', since(firstMark(newcomer, 'iceConnected', (d) => d === link)));
  add(steps, 'DTLS connected', since(firstMark(newcomer, 'dtlsConnected', (d) => d === link)));
  const atNewcomer = frameAt(newcomer, other.identity);
  const atOther = frameAt(other, newcomer.identity);
  add(steps, 'first frame decoded at the newcomer', since(atNewcomer?.decoded));
  add(steps, 'first frame decoded at the other', since(atOther?.decoded));
  add(steps, 'first frame shown at the newcomer', since(atNewcomer?.shown));
  add(steps, 'first frame shown at the other', since(atOther?.shown));
  return steps;
}

/** Merges one run's samples into the case's. */
export function mergeSamples(into: StepSamples, from: StepSamples): void {
  for (const [step, values] of from) for (const value of values) add(into, step, value);
}

/** The q-th percentile (0-100) by linear interpolation between closest ranks; undefined for no samples. */
export function percentile(values: readonly number[], q: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (q / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (rank - low);
}

export interface Summary {
  median: number | undefined;
  p90: number | undefined;
  n: number;
}

export function summarize(values: readonly number[]): Summary {
  return { median: percentile(values, 50), p90: percentile(values, 90), n: values.length };
}
