/** Who is the speaker when (pure): levels per 100 ms window to stretches, with the hysteresis. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { speakerTimeline, type LevelSeries, type VideoSpan } from '../../../src/recording/composite/speaker-timeline.ts';

const W = 0.1;
const QUIET = -90;
const VOICE = -20;

/** A level series of `seconds` (100 ms windows) loud where `speaks(t)` says so. */
const series = (participant: string, seconds: number, speaks: (t: number) => boolean, offsetSeconds = 0, loud = VOICE): LevelSeries => ({
  participant,
  offsetSeconds,
  levels: Array.from({ length: Math.round(seconds / W) }, (_, j) => (speaks(offsetSeconds + (j + 0.5) * W) ? loud : QUIET)),
});
const video = (participant: string, fromSeconds = 0, toSeconds = 20): VideoSpan => ({ participant, fromSeconds, toSeconds });
const brief = (stretches: ReturnType<typeof speakerTimeline>) => stretches.map((s) => `${s.participant} ${s.fromSeconds.toFixed(1)}-${s.toSeconds.toFixed(1)}`);

describe('speaker timeline', () => {
  test('A speaks for 6 s, then B for 6 s: A from the start, B from the moment B takes over', () => {
    const stretches = speakerTimeline([series('a', 12, (t) => t < 6), series('b', 12, (t) => t >= 6)], [video('a'), video('b')], 12);
    assert.deepEqual(brief(stretches), ['a 0.0-6.0', 'b 6.0-12.0']);
  });

  test('the first one to speak is the speaker from the composite start, even if they start later', () => {
    const stretches = speakerTimeline([series('a', 10, () => false), series('b', 10, (t) => t >= 3)], [video('a'), video('b')], 10);
    assert.deepEqual(brief(stretches), ['b 0.0-10.0']);
  });

  test('hysteresis: a 0.5 s interjection, or two people talking over each other in 0.4 s turns, does not change the speaker', () => {
    const interjection = speakerTimeline([series('a', 10, (t) => t < 4 || t >= 4.5), series('b', 10, (t) => t >= 4 && t < 4.5)], [video('a'), video('b')], 10);
    assert.deepEqual(brief(interjection), ['a 0.0-10.0']);
    const crosstalk = speakerTimeline([series('a', 10, (t) => t < 4 || Math.floor(t / 0.4) % 2 === 0), series('b', 10, (t) => t >= 4 && Math.floor(t / 0.4) % 2 === 1)], [video('a'), video('b')], 10);
    assert.deepEqual(brief(crosstalk), ['a 0.0-10.0']);
  });

  test("a pause in a speaker's turn keeps them; a stretch is never shorter than the minimum lead (1 s)", () => {
    const paused = speakerTimeline([series('a', 10, (t) => t < 3 || (t >= 3.6 && t < 6)), series('b', 10, (t) => t >= 7)], [video('a'), video('b')], 10);
    assert.deepEqual(brief(paused), ['a 0.0-7.0', 'b 7.0-10.0']);
    const turns = speakerTimeline([series('a', 10, (t) => t < 3 || t >= 4.2), series('b', 10, (t) => t >= 3 && t < 4.2)], [video('a'), video('b')], 10);
    assert.deepEqual(brief(turns), ['a 0.0-3.0', 'b 3.0-4.2', 'a 4.2-10.0']);
    for (const stretch of turns) assert.ok(stretch.toSeconds - stretch.fromSeconds >= 1);
  });

  test('a loud 100 ms beep every second is not a speaker against a steady voice; of two steady voices the louder leads', () => {
    const beeps = speakerTimeline([series('beeper', 10, (t) => t % 1 < 0.1, 0, -6), series('voice', 10, () => true)], [video('beeper'), video('voice')], 10);
    assert.deepEqual(brief(beeps), ['voice 0.0-10.0']);
    const louder = speakerTimeline([series('soft', 10, () => true, 0, -30), series('loud', 10, () => true, 0, -12)], [video('soft'), video('loud')], 10);
    assert.deepEqual(brief(louder), ['loud 0.0-10.0']);
  });

  test('only participants with a video in the composite at that moment: an audio-only voice never, a camera only once it starts', () => {
    const stretches = speakerTimeline([series('a', 12, (t) => t >= 8), series('radio', 12, () => true), series('late', 12, (t) => t < 8)], [video('a'), video('late', 4, 12)], 12);
    assert.deepEqual(brief(stretches), ['late 0.0-8.0', 'a 8.0-12.0']);
  });

  test("series are placed at their offsets; several tracks of one participant count as one; nobody speaking: the first video's participant", () => {
    const placed = speakerTimeline([series('a', 4, () => true, 0), series('b', 5, () => true, 5), series('b', 5, () => false, 5)], [video('a'), video('b')], 10);
    assert.deepEqual(brief(placed), ['a 0.0-5.0', 'b 5.0-10.0']);
    assert.deepEqual(brief(speakerTimeline([series('a', 5, () => false)], [video('b'), video('a')], 5)), ['b 0.0-5.0']);
    assert.deepEqual(speakerTimeline([series('a', 5, () => true)], [], 5), []);
  });
});
