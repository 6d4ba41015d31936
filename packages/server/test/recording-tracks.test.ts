/**
 * Server recording's pure parts (record files, packet order, depacketizers, containers, clock)
 * and one track exported end to end from records made of ffmpeg-encoded VP8 and Opus.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ntpToUnixMs, rtpToUnixMs } from '../src/recording/tracks/clock.ts';
import { opusPacketSamples } from '../src/recording/tracks/containers.ts';
import { av1TemporalUnit } from '../src/recording/tracks/av1.ts';
import { h264Part, vp8Part, vp9Part } from '../src/recording/tracks/depacketize.ts';
import { assembleFrames } from '../src/recording/tracks/frames.ts';
import { orderPackets, Unwrapper } from '../src/recording/tracks/packet-order.ts';
import { encodeRecord, readRecords, RecordType, WireFrameReader, wireFrameSize, writeWireFrame } from '../src/recording/tracks/record-format.ts';
import { rtpPacket, vp8Packets } from './recording-rtp.ts';

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

describe('packet order', () => {
  test('sequence numbers across the 16-bit wrap, reordered and resent, come out in order once; holes are listed; padding is no hole', () => {
    const arrivals = [65533, 65535, 65534, 0, 0, 3, 1, 4].map((sequence, i) => ({ packet: rtpPacket({ sequence, timestamp: 1000 + sequence, payload: Buffer.from([i + 1]) }), arrivalMs: i }));
    arrivals.push({ packet: rtpPacket({ sequence: 5, timestamp: 0, payload: Buffer.alloc(0) }), arrivalMs: 9 });
    arrivals.push({ packet: rtpPacket({ sequence: 6, timestamp: 0, payload: Buffer.from([9]) }), arrivalMs: 10 });
    const { packets, duplicates, gaps } = orderPackets(arrivals);
    assert.deepEqual(packets.map((p) => p.sequence), [65533, 65534, 65535, 65536, 65537, 65539, 65540, 65542]);
    assert.equal(duplicates, 1);
    assert.deepEqual(gaps.map((g) => [g.after, g.missing]), [[65537, 1]], 'only sequence 2 is missing: 5 was padding');
    assert.equal(packets[0]!.payload[0], 1, 'the first copy is kept');
  });

  test('32-bit timestamps unwrap forward, and a late packet does not move the reference back', () => {
    const unwrap = new Unwrapper(32);
    assert.deepEqual([4294967000, 100, 4294967100, 200].map((v) => unwrap.unwrap(v)), [4294967000, 4294967396, 4294967100, 4294967496]);
  });
});

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

  test('AV1: length-prefixed elements (W=0) and an OBU continued in the next packet (Y, then Z) become sized OBUs after a temporal delimiter', () => {
    const unit = av1TemporalUnit([Buffer.from([0x40, 2, 0x30, 0xaa, 2, 0x30, 0xbb]), Buffer.from([0x90, 0xcc])]);
    assert.deepEqual([...unit], [0x12, 0x00, 0x32, 0x01, 0xaa, 0x32, 0x02, 0xbb, 0xcc]);
    assert.throws(() => av1TemporalUnit([Buffer.from([0x00, 5, 0x30])]), { code: 'TRUNCATED' });
  });

  test('frames: a frame missing a packet is left out, and so is every frame up to the next keyframe', () => {
    const keyframe = Buffer.from([0x10, 0x00, 0x9d, 0x01, 0x2a]);
    const delta = Buffer.from([0x10, 0x01]);
    const packets = vp8Packets([
      { timestamp: 0, parts: [keyframe, Buffer.from([0x00, 1])] },
      { timestamp: 3000, parts: [delta, Buffer.from([0x00, 2])] },
      { timestamp: 6000, parts: [delta] },
      { timestamp: 9000, parts: [keyframe] },
    ]);
    const lost = packets.filter((p) => p.sequence !== 4); // the second packet of the frame at 3000
    const assembly = assembleFrames('vp8', orderPackets(lost.map((p) => ({ packet: p.packet, arrivalMs: 0 }))).packets);
    assert.deepEqual(assembly.frames.map((f) => [f.timestamp, f.keyframe]), [[0, true], [9000, true]]);
    assert.equal(assembly.broken, 1);
    assert.equal(assembly.skipped, 1);
  });
});

describe('timing', () => {
  test('NTP to Unix time, and an RTP timestamp placed by a sender report across the 32-bit wrap', () => {
    assert.equal(ntpToUnixMs(2_208_988_800 + 1, 2 ** 31), 1500);
    const report = { ssrc: 1, ntpSeconds: 2_208_988_800 + 100, ntpFraction: 0, rtpTimestamp: 4294967000 };
    assert.equal(rtpToUnixMs(4294967000 + 9000 - 2 ** 32, report, 90_000), 100_100);
    assert.equal(rtpToUnixMs(4294967000 - 48_000, { ...report }, 48_000), 99_000);
  });

  test('Opus packet durations from the TOC byte', () => {
    assert.equal(opusPacketSamples(Buffer.from([0xf8])), 960, 'CELT FB 20 ms, one frame');
    assert.equal(opusPacketSamples(Buffer.from([0x79])), 1920, 'hybrid 20 ms, two frames');
    assert.equal(opusPacketSamples(Buffer.from([0x1b, 0x03])), 2880 * 3, 'SILK 60 ms, three frames (code 3)');
    assert.equal(opusPacketSamples(Buffer.alloc(0)), 0);
  });
});
