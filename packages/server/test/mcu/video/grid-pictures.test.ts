import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { placeTiles, type GridEntry } from '../../../src/mcu/video/grid-layout.ts';
import { blankI420, drawFitted, fitRect, i420Size, type I420, type Yuv } from '../../../src/mcu/video/i420.ts';
import { IvfReader, ivfFileHeader, ivfFrame } from '../../../src/mcu/video/ivf.ts';
import { vp8Payloads } from '../../../src/mcu/video/vp8-packetizer.ts';
import { vp8Part } from '../../../src/recording/tracks/depacketize.ts';

const camera = (participant: string, input = 1): GridEntry => ({ participant, input, screen: false });

describe('placeTiles', () => {
  test('two tiles side by side; from three, the active speaker big and the others in a strip; a screen share featured first', () => {
    const grid = placeTiles([camera('a'), camera('b')], 'a', 640, 360);
    assert.deepEqual(grid.map(({ x, y, width, height }) => [x, y, width, height]), [
      [0, 0, 320, 360],
      [320, 0, 320, 360],
    ], 'two tiles: equal halves, whoever speaks');
    const three = placeTiles([camera('a'), camera('b'), camera('c')], 'b', 640, 360);
    assert.deepEqual(three.map((t) => [t.entry.participant, t.width, t.height]), [
      ['a', 160, 90],
      ['b', 480, 360],
      ['c', 160, 90],
    ]);
    const shared = placeTiles([camera('a'), camera('b'), { participant: 'c', input: 9, screen: true }], 'b', 640, 360);
    assert.equal(shared.find((t) => t.width === 480)!.entry.screen, true, 'the screen share is featured over the speaker');
    assert.deepEqual(placeTiles([], 'a', 640, 360), []);
    const nobody = placeTiles([camera('a'), camera('b'), camera('c'), camera('d')], undefined, 640, 360);
    assert.ok(nobody.every((t) => t.width === 320 && t.height === 180), 'no speaker: an equal grid');
  });
});

const colour = (picture: I420, x: number, y: number): Yuv => {
  const cw = picture.width >> 1;
  const u = picture.width * picture.height;
  const v = u + cw * (picture.height >> 1);
  return { y: picture.data[y * picture.width + x]!, u: picture.data[u + (y >> 1) * cw + (x >> 1)]!, v: picture.data[v + (y >> 1) * cw + (x >> 1)]! };
};

describe('I420 drawing', () => {
  test('a picture drawn into a tile fills the fitted rectangle, bars in the background colour, and nothing outside the tile', () => {
    const target = blankI420(64, 36, { y: 1, u: 2, v: 3 });
    const red: Yuv = { y: 81, u: 90, v: 240 };
    const source = blankI420(8, 8, red);
    assert.equal(target.data.length, i420Size(64, 36));
    const tile = { x: 32, y: 0, width: 32, height: 18 };
    assert.deepEqual(fitRect(8, 8, tile), { x: 38, y: 0, width: 18, height: 18 });
    drawFitted(target, source, tile, { y: 16, u: 128, v: 128 });
    assert.deepEqual(colour(target, 48, 8), red, 'inside the fitted picture');
    assert.deepEqual(colour(target, 34, 8), { y: 16, u: 128, v: 128 }, 'a bar beside it');
    assert.deepEqual(colour(target, 10, 8), { y: 1, u: 2, v: 3 }, 'outside the tile: untouched');
    assert.deepEqual(colour(target, 48, 30), { y: 1, u: 2, v: 3 }, 'below the tile: untouched');
  });

  test('scaling keeps which half of the source is where', () => {
    const source = blankI420(4, 2, { y: 10, u: 128, v: 128 });
    // Right half bright.
    for (const row of [0, 1]) source.data.fill(200, row * 4 + 2, row * 4 + 4);
    const target = blankI420(16, 8);
    drawFitted(target, source, { x: 0, y: 0, width: 16, height: 8 });
    assert.equal(colour(target, 3, 4).y, 10);
    assert.equal(colour(target, 12, 4).y, 200);
  });
});

describe('IVF and VP8 packets', () => {
  test('frames written as IVF come back whole from any split of the stream', () => {
    const frames = [Buffer.alloc(5, 1), Buffer.alloc(3000, 2), Buffer.alloc(1, 3)];
    const stream = Buffer.concat([ivfFileHeader('vp8', 640, 360), ...frames.map((f, i) => ivfFrame(f, i * 3000))]);
    for (const step of [1, 7, 32, 1000, stream.length]) {
      const reader = new IvfReader();
      const out: Buffer[] = [];
      for (let offset = 0; offset < stream.length; offset += step) out.push(...reader.push(stream.subarray(offset, offset + step)).map((f) => f.data));
      assert.deepEqual(out, frames, `in chunks of ${step}`);
    }
    assert.throws(() => new IvfReader().push(Buffer.alloc(40)), { code: 'BAD_HEADER' });
  });

  test("a frame's payloads: even parts under the limit, the first marked as its start, PictureID in each, read back by the recording's depacketizer", () => {
    const frame = Buffer.from(Array.from({ length: 2500 }, (_, i) => i & 0xff));
    const payloads = vp8Payloads(frame, 0x1234, 1000);
    assert.equal(payloads.length, 3);
    assert.ok(payloads.every((p) => p.length <= 1000));
    assert.deepEqual(payloads.map((p) => vp8Part(p).begins), [true, false, false]);
    assert.ok(payloads.every((p) => (p.readUInt16BE(2) & 0x7fff) === 0x1234));
    assert.deepEqual(Buffer.concat(payloads.flatMap((p) => vp8Part(p).data)), frame);
  });
});
