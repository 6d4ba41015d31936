/** ffmpeg's arguments for a composite (pure): the grid, and the speaker layout changing over time. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compositeArgs } from '../../../src/recording/composite/filter-graph.ts';
import { gridTimeline, planComposite, speakerLayoutTimeline, type CompositeInput } from '../../../src/recording/composite/layout.ts';

const track = (participant: string, kind: 'audio' | 'video', startMs: number, durationSeconds: number): CompositeInput => ({
  participant,
  source: kind === 'video' ? 'camera' : 'microphone',
  kind,
  file: `${participant}-${kind}.webm`,
  startNtpMs: startMs,
  startArrivalMs: startMs,
  durationSeconds,
});
const settings = { fps: 25, videoBitrate: '2M', audioBitrate: '96k' };
const graphOf = (args: string[]) => args[args.indexOf('-filter_complex') + 1]!;

describe('composite filter graph', () => {
  test("grid: each video offset, scaled into its tile and overlaid; each audio delayed and mixed; VP8 + Opus WebM of the plan's length (the audio's 20 ms offset + 8 s)", () => {
    const plan = planComposite([track('a', 'video', 0, 8), track('a', 'audio', 20, 8), track('b', 'video', 1500, 6)]);
    const args = compositeArgs(plan, gridTimeline(plan), (file) => `/d/${file}`, '/d/out.webm', settings);
    const graph = graphOf(args);
    assert.deepEqual(args.filter((_, i) => args[i - 1] === '-i'), ['/d/a-video.webm', '/d/a-audio.webm', '/d/b-video.webm']);
    assert.match(graph, /^color=c=black:s=1280x720:r=25:d=8\.020\[base\]/);
    assert.match(graph, /\[0:v\]setpts=PTS-STARTPTS\+0\.0000\/TB,fps=25:round=near,scale=640:720:force_original_aspect_ratio=decrease,pad=640:720/);
    assert.match(graph, /\[base\]\[t0\]overlay=x=0:y=0:eof_action=pass\[v0\]/);
    assert.match(graph, /\[2:v\]setpts=PTS-STARTPTS\+1\.5000\/TB,fps=25:round=near,scale=640:720:.*\[v0\]\[t1\]overlay=x=640:y=0:eof_action=pass\[v1\];\[v1\]format=yuv420p\[vout\]/);
    assert.match(graph, /\[1:a\]aresample=48000:async=1:first_pts=0,adelay=20:all=1\[a0\]/);
    assert.match(graph, /\[a0\]amix=inputs=1:duration=longest:normalize=0\[aout\]$/);
    assert.doesNotMatch(graph, /enable|split/, 'one layout throughout: no timeline');
    assert.deepEqual(args.slice(args.indexOf('-t'), args.indexOf('-t') + 2), ['-t', '8.020']);
    assert.deepEqual(args.slice(-3), ['-f', 'webm', '/d/out.webm']);
    assert.ok(args.includes('libvpx') && args.includes('libopus'));
  });

  test('speaker layout: each video split into a big and a small copy, each shown only in its stretches (edges half a frame before the nearest frame), the strip tile moving with the speaker', () => {
    const plan = planComposite([track('a', 'video', 0, 10), track('b', 'video', 0, 10), track('c', 'video', 0, 10)]);
    const timeline = speakerLayoutTimeline(plan, [{ participant: 'a', fromSeconds: 0, toSeconds: 4.3 }, { participant: 'b', fromSeconds: 4.3, toSeconds: 10 }]);
    const graph = graphOf(compositeArgs(plan, timeline, (file) => file, 'out.webm', settings));
    // a: big in [0, 4.3), then the strip's first slot. 4.3 s is frame 107.5, rounded to 108: the edge at (108 - 0.5) / 25 = 4.3 s falls between frames 107 (4.28 s) and 108 (4.32 s); 10 s (the end) gives 9.98.
    assert.match(graph, /\[0:v\]setpts=PTS-STARTPTS\+0\.0000\/TB,fps=25:round=near,split=2\[t0s0i\]\[t0s1i\]/);
    assert.match(graph, /\[t0s0i\]scale=960:720:force_original_aspect_ratio=decrease,pad=960:720:\(ow-iw\)\/2:\(oh-ih\)\/2:color=black,setsar=1\[t0s0\]/);
    assert.match(graph, /\[t0s1i\]scale=320:180:.*\[t0s1\]/);
    assert.match(graph, /\[base\]\[t0s0\]overlay=x=0:y=0:eof_action=pass:enable='gte\(t,-0\.0200\)\*lt\(t,4\.3000\)'\[v0\]/);
    assert.match(graph, /\[v0\]\[t0s1\]overlay=x=960:y=180:eof_action=pass:enable='gte\(t,4\.3000\)\*lt\(t,9\.9800\)'\[v1\]/);
    // b: the strip's first slot, then big.
    assert.match(graph, /\[v1\]\[t1s0\]overlay=x=960:y=180:eof_action=pass:enable='gte\(t,-0\.0200\)\*lt\(t,4\.3000\)'\[v2\]/);
    assert.match(graph, /\[v2\]\[t1s1\]overlay=x=0:y=0:eof_action=pass:enable='gte\(t,4\.3000\)\*lt\(t,9\.9800\)'\[v3\]/);
    // c: small throughout, in the strip's second slot in both stretches (a and b swap places): one copy at a constant place.
    assert.match(graph, /\[2:v\]setpts=PTS-STARTPTS\+0\.0000\/TB,fps=25:round=near,scale=320:180:.*\[t2\]/);
    assert.match(graph, /\[v3\]\[t2\]overlay=x=960:y=360:eof_action=pass\[v4\];\[v4\]format=yuv420p\[vout\]/);
  });

  test('a strip tile whose slot changes gets its position as an expression of t', () => {
    const plan = planComposite([track('a', 'video', 0, 10), track('b', 'video', 0, 10), track('c', 'video', 0, 10)]);
    const timeline = speakerLayoutTimeline(plan, [{ participant: 'a', fromSeconds: 0, toSeconds: 5 }, { participant: 'c', fromSeconds: 5, toSeconds: 10 }]);
    const graph = graphOf(compositeArgs(plan, timeline, (file) => file, 'out.webm', settings));
    // b: the first slot while a is big (a is before b), the second while c is big.
    assert.match(graph, /\[t1\]overlay=x=960:y='180\*gte\(t,-0\.0200\)\*lt\(t,4\.9800\)\+360\*gte\(t,4\.9800\)\*lt\(t,9\.9800\)':eof_action=pass\[v\d\]/);
  });
});
