import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bigTile, eventTable, firstShowing, parseLayoutOptions, showsLayout, worstMedianLine, type Cast, type CountedFrame, type EventSample } from '../mcu/layout-figures.ts';

/** Palette: ann's, bob's and cat's pictures, then ann's avatar. */
const cast: Cast = { picture: { ann: 0, bob: 1, cat: 2 }, avatar: { ann: 3 } };
const POINTS = 48 * 27;
const frame = (counts: number[], shownAt = 0): CountedFrame => ({ counts, points: POINTS, shownAt });
// bob featured: 56 % of the grid; ann and cat in the strip (~80 points each).
const bobBig = frame([80, 730, 80, 0]);
const equalGrid = frame([320, 320, 320, 0]);
const annPlaceholder = frame([0, 730, 80, 7]);
const annGone = frame([0, 600, 600, 0]);

describe('bench:mcu:layout figures', () => {
  test('options: --runs defaults to 5; not a whole number >= 1 is refused; --help', () => {
    assert.deepEqual(parseLayoutOptions([]), { runs: 5 });
    assert.deepEqual(parseLayoutOptions(['--runs', '3']), { runs: 3 });
    assert.equal(parseLayoutOptions(['--help']), 'help');
    assert.throws(() => parseLayoutOptions(['--runs', '0']), /--runs/);
    assert.throws(() => parseLayoutOptions(['--runs', '2.5']), /--runs/);
    assert.throws(() => parseLayoutOptions(['--seconds', '3']), /Unknown option/);
  });

  test("the large tile is the picture covering a third of the grid or more; an equal grid has none", () => {
    assert.equal(bigTile(bobBig, cast), 'bob');
    assert.equal(bigTile(equalGrid, cast), undefined);
    assert.equal(bigTile(frame([0, 0, 0, 900]), cast), undefined, 'a placeholder is not a picture');
  });

  test("a frame's layout: pictures shown, a placeholder without its picture, someone absent both ways, the large tile", () => {
    assert.ok(showsLayout(bobBig, cast, { pictures: ['ann', 'bob', 'cat'], big: 'bob' }));
    assert.ok(!showsLayout(bobBig, cast, { pictures: ['ann', 'bob', 'cat'], big: 'cat' }));
    assert.ok(!showsLayout(frame([19, 730, 80, 0]), cast, { pictures: ['ann'] }), 'under 20 points is not a picture shown');
    assert.ok(showsLayout(annPlaceholder, cast, { placeholders: ['ann'], pictures: ['bob', 'cat'] }));
    assert.ok(!showsLayout(frame([5, 730, 80, 7]), cast, { placeholders: ['ann'] }), 'a placeholder while some of the picture remains is not yet the new layout');
    assert.ok(!showsLayout(annPlaceholder, cast, { absent: ['ann'] }), 'a placeholder is not absent');
    assert.ok(showsLayout(annGone, cast, { absent: ['ann'], pictures: ['bob', 'cat'] }));
  });

  test('the first frame showing the new layout, at or after the cause, whatever order the frames come in', () => {
    const frames = [frame(annPlaceholder.counts, 1400), frame(bobBig.counts, 900), frame(annPlaceholder.counts, 950), frame(bobBig.counts, 1200), frame(annPlaceholder.counts, 1300)];
    assert.equal(firstShowing(frames, 1000, cast, { placeholders: ['ann'] })?.shownAt, 1300, 'the 950 ms frame precedes the cause');
    assert.equal(firstShowing(frames, 1000, cast, { big: 'cat' }), undefined);
  });

  test('a table row per kind measured: n and those never shown, median / p90 / max, the split at the server mark', () => {
    const samples: EventSample[] = [
      { kind: 'join', ms: 700, markMs: 400 },
      { kind: 'join', ms: 900, markMs: 500 },
      { kind: 'join', ms: undefined },
      { kind: 'leave', ms: 300 },
    ];
    const rows = eventTable(samples).split('\n');
    assert.equal(rows.length, 4, 'header, rule, join, leave');
    assert.equal(rows[2], "| join | 2 (1) | 800 / 880 / 900 | the joiner's camera's first packet at the SFU | 450 | 350 |");
    assert.equal(rows[3], '| leave | 1 (0) | 300 / 300 / 300 | - | - | - |');
  });

  test('the last line names the slowest median; an event mostly never shown is n/a', () => {
    assert.equal(worstMedianLine([]), 'mcu layout update, worst event median: n/a (no event measured)');
    const samples: EventSample[] = [
      { kind: 'leave', ms: 300 },
      { kind: 'speaker change', ms: 1100 },
      { kind: 'speaker change', ms: 900 },
    ];
    assert.equal(worstMedianLine(samples), 'mcu layout update, worst event median: 1000 ms (speaker change)');
    assert.equal(worstMedianLine([...samples, { kind: 'join', ms: undefined }, { kind: 'join', ms: undefined }]), 'mcu layout update, worst event median: n/a (join: most never shown)');
    assert.equal(worstMedianLine([{ kind: 'join', ms: undefined }, { kind: 'join', ms: 500 }, { kind: 'join', ms: 600 }]), 'mcu layout update, worst event median: 600 ms (join)', 'one never shown of three counts as the slowest');
  });
});
