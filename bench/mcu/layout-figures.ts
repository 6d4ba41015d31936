/**
 * The pure part of `npm run bench:mcu:layout`: its options, what a frame of the receiver's grid
 * shows (whose picture, whose placeholder, whose tile is the large one) from the palette counts
 * `e2e/harness/color-probe.ts` makes of it, the first frame showing an event's new layout, and
 * the figures per kind of event. Unit-tested in bench/test/mcu-layout.test.ts.
 */
import { parseArgs } from 'node:util';
import { summarize } from '../join/figures.ts';

export const EVENT_KINDS = ['join', 'leave', 'camera off', 'camera on', 'speaker change'] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

export interface LayoutOptions {
  runs: number;
}

export function parseLayoutOptions(argv: string[]): LayoutOptions | 'help' {
  const { values } = parseArgs({ args: argv, options: { runs: { type: 'string' }, help: { type: 'boolean' } } });
  if (values.help) return 'help';
  const runs = Number(values.runs ?? '5');
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs: not a whole number >= 1: ${values.runs}`);
  return { runs };
}

/** Lattice points (of 1296) a picture's colour must cover to count as shown: a strip tile of a 640x360 grid covers ~80. */
export const SHOWN_POINTS = 20;
/**
 * Lattice points on a placeholder's disc: ~7 in a strip tile (its disc 40 px across), more in a
 * bigger one (e2e/mcu-call.test.ts's threshold).
 */
export const AVATAR_POINTS = 3;
/**
 * Share of the lattice the large tile's picture covers at least: the featured tile is the left
 * three quarters of the grid (480x360, a 16:9 picture letterboxed in it: 56 % of the grid),
 * each tile of an equal grid of three or four a quarter at most.
 */
export const BIG_SHARE = 1 / 3;

/** Where each participant is in the palette the frames were counted with: its picture's colour and its placeholder's (its avatar's). */
export interface Cast {
  picture: Record<string, number>;
  avatar: Record<string, number>;
}

/** A new layout, as much of it as an event decides. */
export interface Want {
  /** Shown with their pictures. */
  pictures?: string[];
  /** Shown as placeholders, their pictures not at all. */
  placeholders?: string[];
  /** In the grid neither way. */
  absent?: string[];
  /** Whose picture is the large tile. */
  big?: string;
}

export interface CountedFrame {
  counts: number[];
  points: number;
  /** When the page presented it (epoch ms). */
  shownAt: number;
}

/** Whose picture is the large tile of a frame; undefined in an equal grid (no picture covers `BIG_SHARE`). */
export function bigTile(frame: CountedFrame, cast: Cast): string | undefined {
  let best: string | undefined;
  let most = BIG_SHARE * frame.points;
  for (const [identity, index] of Object.entries(cast.picture)) {
    const count = frame.counts[index] ?? 0;
    if (count >= most) [best, most] = [identity, count];
  }
  return best;
}

export function showsLayout(frame: CountedFrame, cast: Cast, want: Want): boolean {
  const picture = (identity: string) => frame.counts[cast.picture[identity]!] ?? 0;
  const avatar = (identity: string) => (cast.avatar[identity] === undefined ? 0 : (frame.counts[cast.avatar[identity]!] ?? 0));
  return (
    (want.pictures ?? []).every((identity) => picture(identity) >= SHOWN_POINTS) &&
    (want.placeholders ?? []).every((identity) => picture(identity) === 0 && avatar(identity) >= AVATAR_POINTS) &&
    (want.absent ?? []).every((identity) => picture(identity) === 0 && avatar(identity) === 0) &&
    (want.big === undefined || bigTile(frame, cast) === want.big)
  );
}

/** The first frame presented at or after `since` that shows `want` (frames in any order). */
export function firstShowing<F extends CountedFrame>(frames: readonly F[], since: number, cast: Cast, want: Want): F | undefined {
  return [...frames].sort((a, b) => a.shownAt - b.shownAt).find((frame) => frame.shownAt >= since && showsLayout(frame, cast, want));
}

/** One event measured. */
export interface EventSample {
  kind: EventKind;
  /** From the event's cause in the browser to the first frame the receiver presented showing the new layout, less the receiver's video jitter buffer; undefined: never shown within the wait. */
  ms: number | undefined;
  /** A point on the server's side of the event's way, ms after its cause (see `SERVER_MARKS`). */
  markMs?: number;
}

/** What each kind's server mark is. */
export const SERVER_MARKS: Record<EventKind, string | undefined> = {
  join: "the joiner's camera's first packet at the SFU",
  leave: undefined,
  'camera off': undefined,
  'camera on': "the camera's first packet at the SFU",
  'speaker change': 'the SFU names the new speaker (activeSpeakersChanged at the receiver)',
};

const round = (value: number | undefined) => (value === undefined ? '-' : Math.round(value).toString());

/** A table, one row per kind: the event's time (median, p90, max) and its split at the server mark. */
export function eventTable(samples: readonly EventSample[]): string {
  const lines = [
    '| event | n (not shown) | cause to presented, ms, net of jitter buffer (median / p90 / max) | server mark | cause to mark, ms (median) | mark to presented, ms (median) |',
    '|---|---|---|---|---|---|',
  ];
  for (const kind of EVENT_KINDS) {
    const of = samples.filter((s) => s.kind === kind);
    if (of.length === 0) continue;
    const shown = of.flatMap((s) => (s.ms === undefined ? [] : [s.ms]));
    const figures = summarize(shown);
    const marked = of.filter((s) => s.ms !== undefined && s.markMs !== undefined);
    const toMark = summarize(marked.map((s) => s.markMs!)).median;
    const fromMark = summarize(marked.map((s) => s.ms! - s.markMs!)).median;
    lines.push(`| ${kind} | ${shown.length} (${of.length - shown.length}) | ${round(figures.median)} / ${round(figures.p90)} / ${round(shown.length ? Math.max(...shown) : undefined)} | ${SERVER_MARKS[kind] ?? '-'} | ${round(toMark)} | ${round(fromMark)} |`);
  }
  return lines.join('\n');
}

/** The last line: the slowest kind's median (an event never shown counts as slower than any). */
export function worstMedianLine(samples: readonly EventSample[]): string {
  let worst: { kind: EventKind; median: number } | undefined;
  for (const kind of EVENT_KINDS) {
    const of = samples.filter((s) => s.kind === kind);
    if (of.length === 0) continue;
    // Infinity - Infinity is NaN in the interpolation: a median between two unshown events.
    const found = summarize(of.map((s) => s.ms ?? Infinity)).median!;
    const median = Number.isNaN(found) ? Infinity : found;
    if (!worst || median > worst.median) worst = { kind, median };
  }
  const figure = !worst ? 'n/a (no event measured)' : Number.isFinite(worst.median) ? `${Math.round(worst.median)} ms (${worst.kind})` : `n/a (${worst.kind}: most never shown)`;
  return `mcu layout update, worst event median: ${figure}`;
}
