import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encodeRecord, readRecords, RecordType, WireFrameReader, wireFrameSize, writeWireFrame } from '../../../src/recording/tracks/record-format.ts';
import { rtpPacket } from './rtp-packets.ts';

describe('record files', () => {
  const records = [encodeRecord(RecordType.track, 0, 1000.5, Buffer.from('{"a":1}')), encodeRecord(RecordType.rtp, 2, 1001.25, rtpPacket({ sequence: 7, timestamp: 9, payload: Buffer.from([1, 2, 3]) }))];
  const file = Buffer.concat(records);

  test('records read back as written: type, layer, arrival time, payload', () => {
    const { records: read, torn, validBytes } = readRecords(file);
    assert.equal(torn, false);
    assert.equal(validBytes, file.length);
    assert.deepEqual(read.map((r) => [r.type, r.layer, r.arrivalMs]), [[1, 0, 1000.5], [2, 2, 1001.25]]);
    assert.equal(read[0]!.payload.toString(), '{"a":1}');
  });

  test('a torn last record (cut short, or zeros the kernel never wrote) is left out; every record before it is kept', () => {
    for (let cut = 1; cut < records[1]!.length; cut++) {
      const torn = readRecords(file.subarray(0, file.length - cut));
      assert.equal(torn.records.length, 1, `cut ${cut} bytes`);
      assert.equal(torn.torn, true);
      assert.equal(torn.validBytes, records[0]!.length);
    }
    const zeroed = Buffer.concat([records[0]!, Buffer.alloc(records[1]!.length)]);
    assert.equal(readRecords(zeroed).records.length, 1);
    const flipped = Buffer.from(file);
    flipped[flipped.length - 1]! ^= 0xff;
    assert.equal(readRecords(flipped).records.length, 1, 'a corrupt body fails its CRC');
  });

  test('wire frames split anywhere across chunks come out whole, and a frame too large is refused', () => {
    const wire = Buffer.alloc(wireFrameSize(3) + wireFrameSize(5));
    const middle = writeWireFrame(wire, 0, 1, RecordType.rtp, 0, 5, Buffer.from([1, 2, 3]));
    writeWireFrame(wire, middle, 2, RecordType.padding, 1, 6, Buffer.from([4, 5, 6, 7, 8]));
    for (let split = 0; split <= wire.length; split++) {
      const reader = new WireFrameReader();
      const frames = [...reader.push(wire.subarray(0, split)), ...reader.push(wire.subarray(split))];
      assert.deepEqual(frames.map((f) => [f.track, f.type, WireFrameReader.payload(f.body).length]), [[1, 2, 3], [2, 4, 5]]);
    }
    const huge = Buffer.alloc(8);
    huge.writeUInt32BE(10_000_000, 0);
    assert.throws(() => new WireFrameReader().push(huge), { code: 'FRAME_TOO_LARGE' });
  });
});
