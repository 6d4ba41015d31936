/** The composite's plan (pure): placement on one clock, the grid, the speaker layout over time. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CompositeError, gridLayout, gridTimeline, placeTracks, planComposite, speakerLayout, speakerLayoutTimeline, type CompositeInput } from '../../../src/recording/composite/layout.ts';

const track = (participant: string, kind: 'audio' | 'video', startNtpMs: number | null, startArrivalMs: number | null, durationSeconds = 10, file: string | null = `${participant}-${kind}.webm`): CompositeInput => ({
  participant,
  source: kind === 'video' ? 'camera' : 'microphone',
  kind,
  file,
  startNtpMs,
  startArrivalMs,
  durationSeconds,
});

describe('composite layout', () => {
  test("placeTracks: a publisher's tracks keep their sender-report distance; each publisher is moved onto the SFU clock by its least delayed track", () => {
    // alice's clock is 5000 ms ahead of the SFU's; her video's first packet arrived 80 ms late
    // (a keyframe), her audio 20 ms. bob's clock is 300 ms behind; his one track arrived at 100_510.
    const { tracks, startMs } = placeTracks([
      track('alice', 'video', 105_030, 100_110),
      track('alice', 'audio', 105_000, 100_020),
      track('bob', 'audio', 100_200, 100_510),
    ]);
    assert.equal(startMs, 100_020);
    assert.deepEqual(tracks.map((t) => [t.participant, t.kind, Math.round(t.offsetSeconds * 1000)]), [['alice', 'video', 30], ['alice', 'audio', 0], ['bob', 'audio', 490]]);
  });

  test('placeTracks: no sender report: placed by arrival; no file, no duration or no time at all: left out', () => {
    const { tracks } = placeTracks([track('a', 'audio', null, 2000), track('b', 'video', 1000, 1500), track('c', 'video', 1000, 1000, 10, null), track('d', 'audio', 1000, 1000, 0), track('e', 'audio', null, null)]);
    assert.deepEqual(tracks.map((t) => [t.participant, t.offsetSeconds]), [['a', 0.5], ['b', 0]]);
  });

  test('gridLayout: 1 fills the picture, 2 side by side, 3 as 2 + 1 centred, 5 as 3 + 2 centred; even sizes', () => {
    assert.deepEqual(gridLayout(1, 1280, 720), [{ x: 0, y: 0, width: 1280, height: 720 }]);
    assert.deepEqual(gridLayout(2, 1280, 720), [{ x: 0, y: 0, width: 640, height: 720 }, { x: 640, y: 0, width: 640, height: 720 }]);
    assert.deepEqual(gridLayout(3, 1280, 720), [{ x: 0, y: 0, width: 640, height: 360 }, { x: 640, y: 0, width: 640, height: 360 }, { x: 320, y: 360, width: 640, height: 360 }]);
    const five = gridLayout(5, 1280, 720);
    assert.deepEqual(five.map((t) => [t.x, t.y, t.width, t.height]), [[0, 0, 426, 360], [426, 0, 426, 360], [852, 0, 426, 360], [214, 360, 426, 360], [640, 360, 426, 360]]);
    assert.deepEqual(gridLayout(0, 1280, 720), []);
  });

  test('planComposite: the duration runs to the last track end; nothing to compose or a bad size is a clear error', () => {
    const plan = planComposite([track('a', 'video', 0, 0, 8), track('a', 'audio', 0, 0, 9.5), track('b', 'video', 2000, 2000, 8)]);
    assert.equal(plan.durationSeconds, 10);
    assert.equal(plan.tracks.length, 3);
    assert.throws(() => planComposite([track('a', 'video', 0, 0, 8, null)]), (error: unknown) => error instanceof CompositeError && /no track has a file/.test(error.message));
    assert.throws(() => planComposite([track('a', 'video', 0, 0)], { width: 641, height: 360 }), /even and at least 16x16/);
  });

  test('speakerLayout: the big tile is the left three quarters; the others 320x180 in a strip down the right, centred; many get shorter; one fills the picture', () => {
    assert.deepEqual(speakerLayout(3, 1280, 720), { big: { x: 0, y: 0, width: 960, height: 720 }, strip: [{ x: 960, y: 180, width: 320, height: 180 }, { x: 960, y: 360, width: 320, height: 180 }] });
    assert.deepEqual(speakerLayout(2, 1280, 720).strip, [{ x: 960, y: 270, width: 320, height: 180 }]);
    const seven = speakerLayout(7, 1280, 720).strip;
    assert.deepEqual(seven.map((t) => [t.y, t.height]), [[0, 120], [120, 120], [240, 120], [360, 120], [480, 120], [600, 120]]);
    assert.deepEqual(speakerLayout(1, 1280, 720), { big: { x: 0, y: 0, width: 1280, height: 720 }, strip: [] });
  });

  test("speakerLayoutTimeline: in each speaker's stretch their camera is big and the others keep publishing order in the strip; no speakers: the first video big", () => {
    const plan = planComposite([track('a', 'video', 0, 0), track('a', 'audio', 0, 0), track('b', 'video', 0, 0), { ...track('b', 'video', 0, 0), source: 'screen' }, track('c', 'video', 0, 0)]);
    // b publishes a camera and a screen: while b speaks, b's camera is big.
    const timeline = speakerLayoutTimeline(plan, [{ participant: 'c', fromSeconds: 0, toSeconds: 4 }, { participant: 'b', fromSeconds: 4, toSeconds: 10 }]);
    const { big, strip } = speakerLayout(4, 1280, 720);
    assert.deepEqual(timeline.map((s) => [s.fromSeconds, s.toSeconds, s.speaker]), [[0, 4, 'c'], [4, 10, 'b']]);
    assert.deepEqual(timeline[0]!.tiles, [strip[0], strip[1], strip[2], big]);
    assert.deepEqual(timeline[1]!.tiles, [strip[0], big, strip[1], strip[2]]);
    assert.deepEqual(speakerLayoutTimeline(plan, []).map((s) => [s.fromSeconds, s.toSeconds, s.speaker, s.tiles[0]]), [[0, 10, 'a', big]]);
    assert.deepEqual(gridTimeline(plan).map((s) => [s.fromSeconds, s.toSeconds, s.speaker, s.tiles.length]), [[0, 10, null, 4]]);
  });

  test('speakerLayoutTimeline: a speaker whose camera was published twice (off and on, or a rejoin) has the publication running then big; between the two the earlier stays', () => {
    // b's camera: 0-4 s, then (after 2 s off) 6-10 s; a's all along. b speaks throughout.
    const plan = planComposite([track('a', 'video', 0, 0), track('b', 'video', 0, 0, 4), { ...track('b', 'video', 6000, 6000, 4), file: 'b-video-2.webm' }]);
    const { big, strip } = speakerLayout(3, 1280, 720);
    const timeline = speakerLayoutTimeline(plan, [{ participant: 'b', fromSeconds: 0, toSeconds: 10 }]);
    assert.deepEqual(timeline.map((s) => [s.fromSeconds, s.toSeconds, s.speaker]), [[0, 6, 'b'], [6, 10, 'b']]);
    assert.deepEqual(timeline[0]!.tiles, [strip[0], big, strip[1]], 'the first publication big until the second starts');
    assert.deepEqual(timeline[1]!.tiles, [strip[0], strip[1], big], 'then the second');
  });
});
