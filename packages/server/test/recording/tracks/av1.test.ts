import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { av1TemporalUnit } from '../../../src/recording/tracks/av1.ts';

describe('AV1 depacketizing', () => {
  test('AV1: length-prefixed elements (W=0) and an OBU continued in the next packet (Y, then Z) become sized OBUs after a temporal delimiter', () => {
    const unit = av1TemporalUnit([Buffer.from([0x40, 2, 0x30, 0xaa, 2, 0x30, 0xbb]), Buffer.from([0x90, 0xcc])]);
    assert.deepEqual([...unit], [0x12, 0x00, 0x32, 0x01, 0xaa, 0x32, 0x02, 0xbb, 0xcc]);
    assert.throws(() => av1TemporalUnit([Buffer.from([0x00, 5, 0x30])]), { code: 'TRUNCATED' });
  });
});
