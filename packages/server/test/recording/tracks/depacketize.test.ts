import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { h264Part, vp8Part, vp9Part } from '../../../src/recording/tracks/depacketize.ts';

describe('depacketizers', () => {
  test('VP8: descriptor with a 15-bit PictureID, TL0PICIDX and TID skipped; S and partition 0 begin a frame', () => {
    const part = vp8Part(Buffer.from([0x90, 0xe0, 0x81, 0x23, 0x07, 0x40, 0xaa, 0xbb]));
    assert.equal(part.begins, true);
    assert.deepEqual([...part.data[0]!], [0xaa, 0xbb]);
    assert.equal(vp8Part(Buffer.from([0x00, 0xcc])).begins, false);
    assert.throws(() => vp8Part(Buffer.from([0x80])), { code: 'TRUNCATED' });
  });

  test('VP9: PictureID, layer indices, and the scalability structure (with the picture size) skipped', () => {
    // I, L, B, V | PictureID 0x8123 | TID/SID | TL0PICIDX | SS: N_S=1, Y, G: 640x360, N_G=1 (one ref)
    const payload = Buffer.from([0xaa, 0x81, 0x23, 0x00, 0x05, 0x18, 0x02, 0x80, 0x01, 0x68, 0x01, 0x04, 0x01, 0x77]);
    const part = vp9Part(payload);
    assert.equal(part.begins, true);
    assert.deepEqual(part.size, { width: 640, height: 360 });
    assert.deepEqual([...part.data[0]!], [0x77]);
  });

  test('H.264: single NAL, STAP-A and FU-A become an Annex B stream', () => {
    const start = [0, 0, 0, 1];
    assert.deepEqual([...Buffer.concat(h264Part(Buffer.from([0x65, 1, 2])).data)], [...start, 0x65, 1, 2]);
    const stap = h264Part(Buffer.from([0x78, 0, 2, 0x67, 9, 0, 1, 0x68]));
    assert.deepEqual([...Buffer.concat(stap.data)], [...start, 0x67, 9, ...start, 0x68]);
    const fuStart = h264Part(Buffer.from([0x7c, 0x85, 1, 2]));
    assert.deepEqual([fuStart.begins, ...Buffer.concat(fuStart.data)], [true, ...start, 0x65, 1, 2]);
    const fuMiddle = h264Part(Buffer.from([0x7c, 0x05, 3]));
    assert.deepEqual([fuMiddle.begins, ...Buffer.concat(fuMiddle.data)], [false, 3]);
    assert.throws(() => h264Part(Buffer.from([0x19, 0])), { code: 'UNSUPPORTED' });
  });


});
