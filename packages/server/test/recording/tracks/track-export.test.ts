import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RecordType, type RawRecord } from '../../../src/recording/tracks/record-format.ts';
import { chooseLayer } from '../../../src/recording/tracks/track-export.ts';
import { rtpPacket } from './rtp-packets.ts';

/** One VP8 frame's only packet on `layer` at `arrivalMs`: a keyframe (P bit clear) or not. */
function vp8(layer: number, arrivalMs: number, keyframe: boolean): RawRecord {
  const payload = Buffer.from([0x10, keyframe ? 0x00 : 0x01, 0x9d, 0x01, 0x2a]);
  return { type: RecordType.rtp, layer, arrivalMs, payload: rtpPacket({ sequence: arrivalMs, timestamp: arrivalMs * 90, payload, marker: true }) };
}

/** A layer's frames every 100 ms over [fromMs, toMs], the first keyframe at `keyframeAtMs`. */
function layerFrames(layer: number, fromMs: number, toMs: number, keyframeAtMs: number | undefined): RawRecord[] {
  const records: RawRecord[] = [];
  for (let at = fromMs; at <= toMs; at += 100) records.push(vp8(layer, at, at === keyframeAtMs));
  return records;
}

describe('chooseLayer', () => {
  test('the highest layer that covers the track from its first keyframe', () => {
    const records = [...layerFrames(0, 0, 8000, 0), ...layerFrames(1, 0, 8000, 100), ...layerFrames(2, 0, 8000, 200)];
    assert.equal(chooseLayer(records, 'vp8'), 2);
  });

  test('a top layer with packets all along but its first keyframe late is passed over', () => {
    // The web app's server recording once kept 1.40 s of an 8.32 s camera.
    const records = [...layerFrames(0, 0, 8000, 0), ...layerFrames(1, 0, 8000, 100), ...layerFrames(2, 0, 8000, 6900)];
    assert.equal(chooseLayer(records, 'vp8'), 1);
    assert.equal(chooseLayer(records), 2, 'counted by packets alone it would be chosen');
  });

  test('no keyframe in any layer: the highest layer by packets', () => {
    const records = [...layerFrames(0, 0, 8000, undefined), ...layerFrames(1, 0, 8000, undefined)];
    assert.equal(chooseLayer(records, 'vp8'), 1);
  });

  test('a layer that came late but covers nearly as long is still the best', () => {
    const records = [...layerFrames(0, 0, 8000, 0), ...layerFrames(1, 500, 8000, 500)];
    assert.equal(chooseLayer(records, 'vp8'), 1);
  });

  test('no packets: layer 0', () => {
    assert.equal(chooseLayer([], 'vp8'), 0);
  });
});
