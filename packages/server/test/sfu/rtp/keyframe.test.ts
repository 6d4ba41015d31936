import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { VIDEO_CODECS } from '@parley/protocol';
import { startsKeyframe } from '../../../src/sfu/rtp/keyframe.ts';
import { u16 } from './rtp-packets.ts';

describe('keyframe detection (keyframe.ts)', () => {
  // VP8 payload header (RFC 7741 4.3, RFC 6386 9.1): the first frame-tag byte has P (inverse key frame) in bit 0.
  const VP8_KEY = [0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01];
  const VP8_DELTA = [0x51, 0x42, 0x00, 0x00, 0x00];

  describe('VP8 (RFC 7741)', () => {
    const cases: Array<[string, number[], boolean]> = [
      ['S=1 PID=0, no extension, keyframe', [0x10, ...VP8_KEY], true],
      ['S=1 PID=0, no extension, delta frame', [0x10, ...VP8_DELTA], false],
      ['N bit (non-reference) does not matter', [0x30, ...VP8_KEY], true],
      ['not the start of a partition', [0x00, ...VP8_KEY], false],
      ['start of partition 1, not 0', [0x11, ...VP8_KEY], false],
      ['reserved bit after S is ignored by receivers', [0x18, ...VP8_KEY], true],
      ['X: 7-bit PictureID', [0x90, 0x80, 0x05, ...VP8_KEY], true],
      ['X: 7-bit PictureID, delta frame', [0x90, 0x80, 0x05, ...VP8_DELTA], false],
      ['X: 15-bit PictureID (M bit)', [0x90, 0x80, 0x81, 0x23, ...VP8_KEY], true],
      ['X: 15-bit PictureID, delta frame', [0x90, 0x80, 0x81, 0x23, ...VP8_DELTA], false],
      ['X: 15-bit PictureID whose low byte looks like a delta header', [0x90, 0x80, 0x80, 0x01, ...VP8_KEY], true],
      ['X: PictureID + TL0PICIDX + TID/KEYIDX', [0x90, 0xf0, 0x81, 0x23, 0x07, 0x40, ...VP8_KEY], true],
      ['X: TL0PICIDX only', [0x90, 0x40, 0x01, ...VP8_KEY], true],
      ['X: TID only', [0x90, 0x20, 0x41, ...VP8_KEY], true],
      ['X: KEYIDX only (one byte, like TID)', [0x90, 0x10, 0x05, ...VP8_KEY], true],
      ['X: all fields, delta frame', [0x90, 0xf0, 0x81, 0x23, 0x07, 0x40, ...VP8_DELTA], false],
      ['X set but the descriptor is cut short', [0x90], false],
      ['descriptor without a payload header', [0x90, 0x80, 0x05], false],
    ];
    for (const [what, payload, expected] of cases) {
      test(what, () => assert.equal(startsKeyframe('vp8', Buffer.from(payload)), expected));
    }
  });

  describe('VP9 (RFC 9628)', () => {
    const cases: Array<[string, number[], boolean]> = [
      ['I, B, not inter-predicted: a keyframe starts', [0x88, 0x80, 0x01], true],
      ['B + scalability structure (V)', [0x8a, 0x80, 0x01, 0x18, 0x02, 0x80, 0x01, 0xe0, 0x01], true],
      ['inter-predicted (P) frame start', [0xc8, 0x80, 0x02], false],
      ['keyframe but not its first packet (E only)', [0x84, 0x80, 0x01], false],
      ['flexible mode (F) keyframe start', [0x98, 0x80, 0x01], true],
    ];
    for (const [what, payload, expected] of cases) {
      test(what, () => assert.equal(startsKeyframe('vp9', Buffer.from(payload)), expected));
    }
  });

  describe('H.264 (RFC 6184)', () => {
    const SPS = [0x67, 0x42, 0xe0, 0x1f, 0x8c, 0x8d, 0x40];
    const PPS = [0x68, 0xce, 0x3c, 0x80];
    const IDR = [0x65, 0x88, 0x84, 0x00];
    const SLICE = [0x41, 0x9a, 0x00, 0x10];
    const stapA = (...nals: number[][]) => [0x78, ...nals.flatMap((nal) => [...u16(nal.length), ...nal])];
    const cases: Array<[string, number[], boolean]> = [
      ['single NAL: IDR slice', IDR, true],
      ['single NAL: SPS', SPS, true],
      ['single NAL: PPS', PPS, false],
      ['single NAL: non-IDR slice', SLICE, false],
      ['STAP-A with SPS and PPS', stapA(SPS, PPS), true],
      ['STAP-A with IDR after an SEI', stapA([0x06, 0x05, 0x01], IDR), true],
      ['STAP-A of non-IDR NALs', stapA([0x06, 0x05, 0x01], SLICE), false],
      ['STAP-A whose size runs past the packet', [0x78, 0xff, 0xff, 0x41, 0x00], false],
      ['STAP-A cut inside a size field', [0x78, 0x00], false],
      ['FU-A start of an IDR', [0x7c, 0x85, 0x88, 0x84], true],
      ['FU-A middle of an IDR', [0x7c, 0x05, 0x00, 0x00], false],
      ['FU-A end of an IDR', [0x7c, 0x45, 0x00], false],
      ['FU-A start of a non-IDR slice', [0x7c, 0x81, 0x9a], false],
      ['FU-A without its FU header', [0x7c], false],
    ];
    for (const [what, payload, expected] of cases) {
      test(what, () => assert.equal(startsKeyframe('h264', Buffer.from(payload)), expected));
    }
  });

  describe('AV1 (RTP payload format, aggregation header Z Y W W N - - -)', () => {
    const cases: Array<[string, number[], boolean]> = [
      ['N=1: first packet of a coded video sequence', [0x18, 0x0a, 0x0b], true],
      ['N=1 with Y (continues in the next packet)', [0x58, 0x0a], true],
      ['N=0 start of a frame', [0x10, 0x32], false],
      ['N=0 continuation (Z)', [0x90, 0x00], false],
    ];
    for (const [what, payload, expected] of cases) {
      test(what, () => assert.equal(startsKeyframe('av1', Buffer.from(payload)), expected));
    }
  });

  test('an empty payload is never a keyframe', () => {
    for (const codec of VIDEO_CODECS) assert.equal(startsKeyframe(codec, Buffer.alloc(0)), false, codec);
  });
});
