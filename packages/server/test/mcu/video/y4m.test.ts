/** The decoders' Y4M output split into pictures (`y4m.ts`), by hand-made streams and by ffmpeg's own. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { Y4mError, Y4mReader } from '../../../src/mcu/video/y4m.ts';

const W = 4;
const H = 2;
const SIZE = W * H + 2 * (W / 2) * (H / 2);
const picture = (fill: number) => Buffer.alloc(SIZE, fill);

describe('Y4mReader', () => {
  test('pictures out of a stream cut at every byte, FRAME lines with and without parameters', () => {
    const stream = Buffer.concat([Buffer.from(`YUV4MPEG2 W${W} H${H} F15:1 Ip A1:1 C420jpeg XYSCSS=420JPEG\n`), Buffer.from('FRAME\n'), picture(1), Buffer.from('FRAME Ixyz\n'), picture(2), Buffer.from('FRAME\n'), picture(3)]);
    for (const step of [1, 7, stream.length]) {
      const reader = new Y4mReader();
      const out: Buffer[] = [];
      for (let i = 0; i < stream.length; i += step) out.push(...reader.push(stream.subarray(i, i + step)));
      assert.deepEqual(out, [picture(1), picture(2), picture(3)], `in chunks of ${step}`);
      assert.deepEqual([reader.width, reader.height], [W, H]);
    }
  });

  test('a picture is answered as soon as its last byte is there (nothing waits for the next FRAME)', () => {
    const reader = new Y4mReader();
    assert.deepEqual(reader.push(Buffer.from(`YUV4MPEG2 W${W} H${H} C420\nFRAME\n`)), []);
    assert.deepEqual(reader.push(picture(9).subarray(0, SIZE - 1)), []);
    assert.deepEqual(reader.push(picture(9).subarray(SIZE - 1)), [picture(9)]);
  });

  test('not Y4M, a broken frame line, or not 8-bit 4:2:0: an error', () => {
    assert.throws(() => new Y4mReader().push(Buffer.from('DKIF....\n')), (error: unknown) => error instanceof Y4mError && error.code === 'BAD_HEADER');
    assert.throws(() => new Y4mReader().push(Buffer.from('YUV4MPEG2 C420\n')), (error: unknown) => error instanceof Y4mError && error.code === 'BAD_HEADER');
    assert.throws(() => new Y4mReader().push(Buffer.from(`YUV4MPEG2 W${W} H${H} C444\n`)), (error: unknown) => error instanceof Y4mError && error.code === 'UNSUPPORTED');
    assert.throws(() => new Y4mReader().push(Buffer.from(`YUV4MPEG2 W${W} H${H} C420p10\n`)), (error: unknown) => error instanceof Y4mError && error.code === 'UNSUPPORTED');
    const reader = new Y4mReader();
    reader.push(Buffer.from(`YUV4MPEG2 W${W} H${H}\nFRAME\n`));
    assert.throws(() => reader.push(Buffer.concat([picture(0), Buffer.from('FRAMX\n')])), (error: unknown) => error instanceof Y4mError && error.code === 'BAD_FRAME');
    assert.throws(() => new Y4mReader().push(Buffer.alloc(2000, 0x41)), (error: unknown) => error instanceof Y4mError && error.code === 'BAD_HEADER');
  });

  test("ffmpeg's yuv4mpegpipe as the decoders write it (yuv420p): every picture, the planes as rawvideo has them", () => {
    const args = ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=size=64x36:rate=15', '-frames:v', '3', '-pix_fmt', 'yuv420p'];
    const y4m = spawnSync('ffmpeg', [...args, '-f', 'yuv4mpegpipe', 'pipe:1']).stdout;
    const raw = spawnSync('ffmpeg', [...args, '-f', 'rawvideo', 'pipe:1']).stdout;
    const reader = new Y4mReader();
    const pictures = reader.push(y4m);
    assert.equal(pictures.length, 3);
    assert.deepEqual([reader.width, reader.height], [64, 36]);
    assert.deepEqual(Buffer.concat(pictures), raw);
  });
});
