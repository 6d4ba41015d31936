import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { VideoCodecName } from '../../../src/sfu/rtp/keyframe.ts';
import { readPictureNumbering, writePictureNumbering } from '../../../src/sfu/rtp/picture-numbering.ts';
import { rtp } from './rtp-packets.ts';

describe('picture numbering (picture-numbering.ts)', () => {
  const at = (payload: number[]) => ({ packet: rtp({ payload }), start: 12 });
  const read = (codec: VideoCodecName, payload: number[]) => {
    const { packet, start } = at(payload);
    return readPictureNumbering(codec, packet, start);
  };

  test('VP8: 15-bit PictureID and TL0PICIDX, with their byte offsets', () => {
    assert.deepEqual(read('vp8', [0x90, 0xe0, 0x81, 0x23, 0x07, 0x40, 0x00]), { pictureIdAt: 14, pictureIdBits: 15, pictureId: 0x0123, tl0PicIdxAt: 16, tl0PicIdx: 7 });
  });

  test('VP8: 7-bit PictureID without TL0PICIDX; TL0PICIDX without PictureID', () => {
    assert.deepEqual(read('vp8', [0x90, 0x80, 0x05, 0x00]), { pictureIdAt: 14, pictureIdBits: 7, pictureId: 5, tl0PicIdxAt: -1, tl0PicIdx: 0 });
    assert.deepEqual(read('vp8', [0x90, 0x40, 0x09, 0x00]), { pictureIdAt: -1, pictureIdBits: 7, pictureId: 0, tl0PicIdxAt: 14, tl0PicIdx: 9 });
  });

  test('VP8: no extension, no numbers, or a descriptor cut short give undefined', () => {
    assert.equal(read('vp8', [0x10, 0x00]), undefined);
    assert.equal(read('vp8', [0x90, 0x20, 0x40]), undefined);
    assert.equal(read('vp8', [0x90, 0x80, 0x81]), undefined);
  });

  test('VP9: PictureID, then layer indices and TL0PICIDX in non-flexible mode only', () => {
    assert.deepEqual(read('vp9', [0xa8, 0x81, 0x23, 0x00, 0x11, 0x00]), { pictureIdAt: 13, pictureIdBits: 15, pictureId: 0x0123, tl0PicIdxAt: 16, tl0PicIdx: 0x11 });
    assert.deepEqual(read('vp9', [0xb8, 0x81, 0x23, 0x00, 0x11]), { pictureIdAt: 13, pictureIdBits: 15, pictureId: 0x0123, tl0PicIdxAt: -1, tl0PicIdx: 0 });
    assert.equal(read('vp9', [0x08, 0x00]), undefined);
  });

  test('other codecs carry none', () => {
    for (const codec of ['h264', 'av1', 'opus'] as const) assert.equal(read(codec as VideoCodecName, [0x90, 0xe0, 0x81, 0x23, 0x07]), undefined);
  });

  test('writing keeps each field width: a 15-bit PictureID keeps its M bit, a 7-bit one wraps at 128', () => {
    const { packet, start } = at([0x90, 0xc0, 0x81, 0x23, 0x07, 0x00]);
    writePictureNumbering(packet, readPictureNumbering('vp8', packet, start)!, 0x7fff, 0x1ff);
    assert.deepEqual([...packet.subarray(start, start + 5)], [0x90, 0xc0, 0xff, 0xff, 0xff]);
    const short = at([0x90, 0x80, 0x05, 0x00]);
    writePictureNumbering(short.packet, readPictureNumbering('vp8', short.packet, short.start)!, 130, 0);
    assert.deepEqual([...short.packet.subarray(short.start, short.start + 4)], [0x90, 0x80, 0x02, 0x00]);
  });
});
