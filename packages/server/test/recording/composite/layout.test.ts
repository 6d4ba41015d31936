/** The composite's plan (pure): placement on one clock, the grid, ffmpeg's filter graph. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compositeArgs, CompositeError, gridLayout, placeTracks, planComposite, type CompositeInput } from '../../../src/recording/composite/layout.ts';

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
    assert.equal(plan.tiles.length, 2);
    assert.throws(() => planComposite([track('a', 'video', 0, 0, 8, null)]), (error: unknown) => error instanceof CompositeError && /no track has a file/.test(error.message));
    assert.throws(() => planComposite([track('a', 'video', 0, 0)], { width: 641, height: 360 }), /even and at least 16x16/);
  });

  test("compositeArgs: each video offset, scaled into its tile and overlaid; each audio delayed and mixed; VP8 + Opus WebM of the plan's length (the audio's 20 ms offset + 8 s)", () => {
    const plan = planComposite([track('a', 'video', 0, 0, 8), track('a', 'audio', 20, 20, 8), track('b', 'video', 1500, 1500, 6)]);
    const args = compositeArgs(plan, (file) => `/d/${file}`, '/d/out.webm', { fps: 25, videoBitrate: '2M', audioBitrate: '96k' });
    const graph = args[args.indexOf('-filter_complex') + 1]!;
    assert.deepEqual(args.filter((_, i) => args[i - 1] === '-i'), ['/d/a-video.webm', '/d/a-audio.webm', '/d/b-video.webm']);
    assert.match(graph, /^color=c=black:s=1280x720:r=25:d=8\.020\[base\]/);
    assert.match(graph, /\[0:v\]setpts=PTS-STARTPTS\+0\.0000\/TB,fps=25:round=near,scale=640:720:force_original_aspect_ratio=decrease,pad=640:720/);
    assert.match(graph, /\[base\]\[t0\]overlay=x=0:y=0:eof_action=pass\[v0\]/);
    assert.match(graph, /\[2:v\]setpts=PTS-STARTPTS\+1\.5000\/TB,fps=25:round=near,scale=640:720:.*\[v0\]\[t1\]overlay=x=640:y=0:eof_action=pass\[v1\];\[v1\]format=yuv420p\[vout\]/);
    assert.match(graph, /\[1:a\]aresample=48000:async=1:first_pts=0,adelay=20:all=1\[a0\]/);
    assert.match(graph, /\[a0\]amix=inputs=1:duration=longest:normalize=0\[aout\]$/);
    assert.deepEqual(args.slice(args.indexOf('-t'), args.indexOf('-t') + 2), ['-t', '8.020']);
    assert.deepEqual(args.slice(-3), ['-f', 'webm', '/d/out.webm']);
    assert.ok(args.includes('libvpx') && args.includes('libopus'));
  });
});
