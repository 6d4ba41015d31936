/**
 * One mixer decoder with the real ffmpeg (`ffmpeg-video.ts`): started before its codec is known,
 * as the spare is, it answers a picture for a lone keyframe (no second frame behind it: the
 * one-frame hold of `-f rawvideo` is gone, `y4m.ts`), and `close` ends its process.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { VideoDecoder } from '../../../src/mcu/video/ffmpeg-video.ts';
import { IvfReader } from '../../../src/mcu/video/ivf.ts';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('a decoder started ahead takes its codec later and answers the first keyframe alone, within 10-20 ms of it here', async () => {
  const ivf = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'color=c=red:s=320x180:r=15', '-frames:v', '1', '-c:v', 'libvpx', '-f', 'ivf', 'pipe:1']).stdout;
  const [keyframe] = new IvfReader().push(ivf);
  assert.ok(keyframe, 'ffmpeg made a keyframe');
  const errors: string[] = [];
  let exits = 0;
  const decoder = new VideoDecoder({ ffmpegPath: 'ffmpeg', width: 320, height: 180, onError: (message) => errors.push(message) }, () => (exits += 1));
  try {
    // Past its start, as a spare is by the time a camera comes.
    await new Promise((resolve) => setTimeout(resolve, 500));
    decoder.use('vp8');
    assert.throws(() => decoder.use('vp9'), /a vp8 decoder given vp9/);
    const sent = performance.now();
    decoder.decode(keyframe.data);
    const picture = await new Promise<number>((resolve) => {
      decoder.onPicture = () => resolve(performance.now() - sent);
      setTimeout(() => resolve(-1), 3000);
    });
    console.log(`first picture ${picture.toFixed(0)} ms after the keyframe`);
    assert.ok(picture >= 0, 'a picture came for the keyframe alone');
    const { data } = decoder.latest!;
    assert.equal(data.length, (320 * 180 * 3) / 2);
    // Red in limited-range BT.601: Y ~81, V ~240.
    const [y, v] = [data[320 * 90 + 160]!, data[320 * 180 + 160 * 90 + 45 * 160 + 80]!];
    assert.ok(Math.abs(y - 81) < 12 && v > 200, `the picture is red (Y ${y}, V ${v})`);
  } finally {
    const { pid } = decoder;
    decoder.close();
    await new Promise((resolve) => setTimeout(resolve, 200));
    if (pid !== undefined) assert.ok(!alive(pid), 'close ended the process');
  }
  assert.equal(exits, 0, 'a close is not an exit of its own');
  assert.deepEqual(errors, []);
});
