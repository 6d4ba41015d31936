import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { startsKeyframe } from '../../../src/sfu/rtp/keyframe.ts';
import { readPictureNumbering } from '../../../src/sfu/rtp/picture-numbering.ts';
import { payloadOffset, sequenceNumber, ssrc, timestamp } from '../../../src/sfu/rtp/rtp.ts';
import { withoutVp8TemporalLayer } from '../../../src/sfu/rtp/vp8-temporal.ts';
import { rtp } from './rtp-packets.ts';

describe('VP8 temporal layer indices taken out (vp8-temporal.ts)', () => {
  // X=1, S=1, PID 0; I, L, T set: 15-bit PictureID 0x0123, TL0PICIDX 7, TID 2 with Y (0xa0); then a
  // VP8 keyframe's payload header (P bit 0) and its start code.
  const descriptor = [0x90, 0xe0, 0x81, 0x23, 0x07, 0xa0];
  const keyframePayload = [0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a];
  const withExtension = { extension: { profile: 0xbede, body: [0x10, 0x05] }, sequence: 4321, timestamp: 123_456, ssrc: 0xabcdef01, marker: true };

  test('the TID byte goes, the T bit is cleared; header, picture numbers and payload are kept', () => {
    const packet = rtp({ ...withExtension, payload: [...descriptor, ...keyframePayload] });
    const start = payloadOffset(packet);
    const header = [...packet.subarray(0, start)];
    const out = withoutVp8TemporalLayer(packet, start);
    assert.equal(out.length, packet.length - 1);
    assert.deepEqual([...out.subarray(0, start)], header);
    assert.equal(payloadOffset(out), start);
    assert.deepEqual([sequenceNumber(out), timestamp(out), ssrc(out)], [4321, 123_456, 0xabcdef01]);
    assert.deepEqual([...out.subarray(start)], [0x90, 0xc0, 0x81, 0x23, 0x07, ...keyframePayload]);
    assert.deepEqual(readPictureNumbering('vp8', out, start), { pictureIdAt: start + 2, pictureIdBits: 15, pictureId: 0x0123, tl0PicIdxAt: start + 4, tl0PicIdx: 7 });
    assert.equal(startsKeyframe('vp8', out.subarray(start)), true);
  });

  test('with a 7-bit PictureID and no TL0PICIDX', () => {
    const packet = rtp({ payload: [0x90, 0xa0, 0x05, 0x40, 0xaa] });
    assert.deepEqual([...withoutVp8TemporalLayer(packet, 12).subarray(12)], [0x90, 0x80, 0x05, 0xaa]);
  });

  test('a KEYIDX keeps its byte: only TID and Y are cleared', () => {
    const packet = rtp({ payload: [0x90, 0xb0, 0x05, 0xe3, 0xaa] });
    const out = withoutVp8TemporalLayer(packet, 12);
    assert.equal(out.length, packet.length);
    assert.deepEqual([...out.subarray(12)], [0x90, 0x90, 0x05, 0x03, 0xaa]);
  });

  test('no TID, no extension byte, or a descriptor cut short: unchanged', () => {
    for (const payload of [[0x90, 0xc0, 0x81, 0x23, 0x07, 0xaa], [0x10, 0xaa, 0xbb], [0x90, 0xe0, 0x81, 0x23, 0x07]]) {
      const packet = rtp({ payload });
      const copy = Buffer.from(packet);
      assert.equal(withoutVp8TemporalLayer(packet, 12), packet);
      assert.deepEqual(packet, copy);
    }
  });
});
