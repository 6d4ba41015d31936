// Why this file is ~490 lines: one module's tests (rtp/twcc.ts): byte-for-byte vectors, seeded
// traces and a real Chromium capture of the feedback format.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { buildPli, parseRtcp } from '../../../src/sfu/rtp/rtcp.ts';
import {
  buildTransportFeedback,
  parseTransportFeedback,
  transportSequence,
  TwccRecorder,
  writeTransportSequence,
  type FeedbackInput,
  type TransportFeedback,
} from '../../../src/sfu/rtp/twcc.ts';
import { prng } from '../../seeded-random.ts';


const u16 = (value: number) => [(value >> 8) & 0xff, value & 0xff];

/** A minimal RTP packet with a header extension block (RFC 8285), body padded to 32 bits here. */
function rtpWithExtension(profile: number, body: number[]): Buffer {
  const padded = [...body];
  while (padded.length % 4 !== 0) padded.push(0);
  return Buffer.from([0x90, 96, 0, 1, 0, 0, 0, 0, 0x11, 0x22, 0x33, 0x44, ...u16(profile), ...u16(padded.length / 4), ...padded, 0xaa]);
}

const feedback = (overrides: Partial<FeedbackInput> & Pick<FeedbackInput, 'arrivalsUs'>): FeedbackInput => ({
  senderSsrc: 1,
  mediaSsrc: 2,
  baseSequence: 0,
  feedbackCount: 0,
  ...overrides,
});

const parse = (packet: Buffer): TransportFeedback => {
  const parsed = parseTransportFeedback(packet);
  assert.ok(parsed, `parses: ${packet.toString('hex')}`);
  return parsed;
};

/** The status chunk words right after the 20-byte header. */
const chunkWords = (packet: Buffer, count: number) => Array.from({ length: count }, (_, i) => packet.readUInt16BE(20 + 2 * i));

/** Arrivals indexed from received[0] (16-bit sequence arithmetic), as libwebrtc's FeedbackTester feeds them. */
function arrivalsFor(received: number[], timesUs: number[]): (number | undefined)[] {
  const arrivals: (number | undefined)[] = [];
  received.forEach((sequence, i) => (arrivals[(sequence - received[0]!) & 0xffff] = timesUs[i]));
  return Array.from(arrivals, (value) => value);
}

describe('transport-wide sequence number extension', () => {
  test('one-byte form: read, overwrite in place, absent id', () => {
    const packet = rtpWithExtension(0xbede, [0x10, 0x05, 0x51, 0xab, 0xcd]); // id 1 len 1, id 5 len 2
    assert.equal(transportSequence(packet, 5), 0xabcd);
    assert.equal(writeTransportSequence(packet, 5, 0x1_0203), true);
    assert.equal(transportSequence(packet, 5), 0x0203, 'written modulo 2^16');
    assert.deepEqual([...packet.subarray(16, 21)], [0x10, 0x05, 0x51, 0x02, 0x03], 'only the value bytes changed');
    assert.equal(transportSequence(packet, 3), undefined);
    assert.equal(writeTransportSequence(packet, 3, 7), false);
  });

  test('two-byte form: read and overwrite', () => {
    const packet = rtpWithExtension(0x1000, [3, 1, 0x77, 20, 2, 0xff, 0xfe]);
    assert.equal(transportSequence(packet, 20), 0xfffe);
    assert.equal(writeTransportSequence(packet, 20, 0), true);
    assert.equal(transportSequence(packet, 20), 0);
    assert.deepEqual([...packet.subarray(16, 23)], [3, 1, 0x77, 20, 2, 0, 0]);
  });

  test('an element of the wrong length is no sequence number', () => {
    const oneByte = rtpWithExtension(0xbede, [0x50, 0x12]); // id 5 len 1
    assert.equal(transportSequence(oneByte, 5), undefined);
    assert.equal(writeTransportSequence(oneByte, 5, 1), false);
    assert.deepEqual([...oneByte.subarray(16, 18)], [0x50, 0x12], 'untouched');
    const twoByte = rtpWithExtension(0x1000, [9, 3, 1, 2, 3]);
    assert.equal(transportSequence(twoByte, 9), undefined);
    assert.equal(transportSequence(Buffer.from([0x80, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1]), 5), undefined, 'no extension');
  });
});

describe('transport feedback packets', () => {
  // pion/rtcp transport_layer_cc_test.go, TestTransportLayerCC_Unmarshal "example1": one packet received.
  const pionExample1 = Buffer.from([
    0xaf, 0xcd, 0x00, 0x05, 0xfa, 0x17, 0xfa, 0x17, 0x43, 0x03, 0x2f, 0xa0, 0x00, 0x99, 0x00, 0x01, 0x3d, 0xe8, 0x02, 0x17, 0x20, 0x01, 0x94, 0x01,
  ]);
  // Same file, "example4": a run of 7 small deltas, 3 bytes of padding.
  const pionExample4 = Buffer.from([
    0xaf, 0xcd, 0x00, 0x07, 0xfa, 0x17, 0xfa, 0x17, 0x19, 0x3d, 0xd8, 0xbb, 0x00, 0x04, 0x00, 0x07, 0x10, 0x63, 0x6e, 0x01, 0x20, 0x07, 0x4c, 0x24,
    0x24, 0x10, 0x0c, 0x0c, 0x10, 0x00, 0x00, 0x03,
  ]);
  const example4Deltas = [19000, 9000, 9000, 4000, 3000, 3000, 4000];
  const cumulative = (start: number, deltas: number[]) => deltas.map((_, i) => start + deltas.slice(0, i + 1).reduce((a, b) => a + b, 0));

  test('parses pion/rtcp vectors (example1, example4)', () => {
    assert.deepEqual(parse(pionExample1), {
      senderSsrc: 4195875351,
      mediaSsrc: 1124282272,
      baseSequence: 153,
      referenceTime: 4057090,
      feedbackCount: 23,
      arrivalsUs: [4057090 * 64000 + 37000],
    });
    const four = parse(pionExample4);
    assert.equal(four.baseSequence, 4);
    assert.equal(four.referenceTime, 1074030);
    assert.equal(four.feedbackCount, 1);
    assert.deepEqual(four.arrivalsUs, cumulative(1074030 * 64000, example4Deltas));
  });

  test('builds pion/rtcp example1 and example4 byte for byte (libwebrtc picks the same chunks)', () => {
    const one = buildTransportFeedback({
      senderSsrc: 4195875351,
      mediaSsrc: 1124282272,
      baseSequence: 153,
      feedbackCount: 23,
      arrivalsUs: [4057090 * 64000 + 37000],
    });
    assert.deepEqual(one, [pionExample1]);
    const four = buildTransportFeedback({
      senderSsrc: 4195875351,
      mediaSsrc: 423483579,
      baseSequence: 4,
      feedbackCount: 1,
      arrivalsUs: cumulative(1074030 * 64000, example4Deltas),
    });
    assert.deepEqual(four, [pionExample4]);
  });

  test('parses pion/rtcp vectors with a 2-bit vector, clamped run, and trailing losses', () => {
    // TestTransportLayerCC_Unmarshal "example6": 2-bit vector then a run of 48 lost clamped to the count (9).
    const six = parse(
      Buffer.from([
        0xaf, 0xcd, 0x00, 0x07, 0x9b, 0x74, 0xf6, 0x1f, 0x93, 0x71, 0xdc, 0xbc, 0x85, 0x3c, 0x00, 0x09, 0x63, 0xf9, 0x16, 0xb3, 0xd5, 0x52, 0x00, 0x30,
        0x9b, 0xaa, 0x6a, 0xaa, 0x7b, 0x01, 0x09, 0x01,
      ]),
    );
    assert.equal(six.baseSequence, 34108);
    assert.equal(six.feedbackCount, 179);
    const base = 6551830 * 64000;
    assert.deepEqual(six.arrivalsUs, [...cumulative(base, [38750, 42500, 26500, 42500, 30750]), undefined, base + 181000 + 66250, undefined, undefined]);
    // TestTransportLayerCC_Marshal "example6": a 1-bit vector of 12 statuses.
    const marshal6 = parse(
      Buffer.from([
        0xaf, 0xcd, 0x00, 0x07, 0xfa, 0x17, 0xfa, 0x17, 0x43, 0x03, 0x2f, 0xa0, 0x9c, 0x14, 0x00, 0x0c, 0x75, 0x84, 0x20, 0x00, 0xbe, 0xc0, 0xc1, 0x3f,
        0x3b, 0x3f, 0x53, 0x90, 0x3b, 0x00, 0x00, 0x03,
      ]),
    );
    assert.equal(marshal6.baseSequence, 39956);
    const received = cumulative(7701536 * 64000, [48250, 15750, 14750, 15750, 20750, 36000, 14750]);
    assert.deepEqual(marshal6.arrivalsUs, [...received.slice(0, 5), undefined, ...received.slice(5), undefined, undefined, undefined, undefined]);
  });

  test('rejects malformed packets (pion/rtcp examples 2, 7, 8, 9, status 3, bad padding and length)', () => {
    const header = [0xaf, 0xcd, 0x00, 0x05, 0xfa, 0x17, 0xfa, 0x17, 0x43, 0x03, 0x2f, 0xa0, 0x00, 0x99];
    const cases: Array<[string, number[]]> = [
      ['example8: 3 deltas announced, 1 present', [...header, 0x00, 0x03, 0x3d, 0xe8, 0x02, 0x17, 0x20, 0x03, 0x94, 0x01]],
      ['example9: 2 large deltas announced', [...header, 0x00, 0x02, 0x3d, 0xe8, 0x02, 0x17, 0x40, 0x02, 0x94, 0x01]],
      ['example7: empty feedback', [0x8f, 0xcd, 0x00, 0x04, 0x9a, 0xcb, 0x04, 0x42, ...new Array<number>(12).fill(0)]],
      ['example2: status 3 (received without delta), deltas missing', [...header.slice(0, 3), 0x06, ...header.slice(4), 0x00, 0x0e, 0x45, 0xb1, 0x5a, 0x40, 0xd8, 0x00, 0xf0, 0xff, 0xd0, 0x00, 0x00, 0x03]],
      ['a run of status 3', [0x8f, 0xcd, 0x00, 0x05, ...header.slice(4), 0x00, 0x01, 0, 0, 0, 0, 0x60, 0x01, 0x10, 0, 0, 0]],
      ['padding count 0', [...pionExample1.subarray(0, 23), 0x00]],
      ['padding past the payload', [...pionExample1.subarray(0, 23), 0x40]],
      ['length beyond the buffer', [...pionExample1.subarray(0, 3), 0x06, ...pionExample1.subarray(4)]],
      ['not RTPFB', [0xaf, 0xce, ...pionExample1.subarray(2)]],
      ['FMT 1 (NACK)', [0xa1, ...pionExample1.subarray(1)]],
    ];
    for (const [what, bytes] of cases) assert.equal(parseTransportFeedback(Buffer.from(bytes)), undefined, what);
  });

  test('accepts zero padding without the P bit, as libwebrtc does for old clients', () => {
    const old = Buffer.from(pionExample1);
    old[0] = 0x8f;
    old[23] = 0;
    assert.deepEqual(parse(old).arrivalsUs, [4057090 * 64000 + 37000]);
  });

  test('libwebrtc chunk choices (sizes from transport_feedback_unittest.cc, words by its algorithm)', () => {
    const ms = (n: number) => n * 1000;
    const build = (received: number[], timesUs: number[]) => {
      const packets = buildTransportFeedback(feedback({ baseSequence: received[0]!, arrivalsUs: arrivalsFor(received, timesUs) }));
      assert.equal(packets.length, 1);
      return packets[0]!;
    };
    const byDefaultDelta = (received: number[], deltaUs: number) => {
      let wraps = 0;
      return received.map((sequence, i) => (i > 0 && sequence < received[i - 1]! ? ++wraps : wraps) * 0x10000 * deltaUs + sequence * deltaUs);
    };
    const cases: Array<[string, number[], number[], number, number[]]> = [
      ['OneBitVector', [1, 2, 7, 8, 9, 10, 13], byDefaultDelta([1, 2, 7, 8, 9, 10, 13], 1000), 32, [0xb0f2]],
      ['FullOneBitVector', [1, 2, 7, 8, 9, 10, 13, 14], byDefaultDelta([1, 2, 7, 8, 9, 10, 13, 14], 1000), 32, [0xb0f3]],
      ['OneBitVectorWrapReceived', [65533, 65534, 65535, 0, 1, 2], byDefaultDelta([65533, 65534, 65535, 0, 1, 2], 1000), 28, [0x2006]],
      ['OneBitVectorWrapMissing', [65533, 65534, 1, 2], byDefaultDelta([65533, 65534, 1, 2], 1000), 28, [0xd414]],
      ['TwoBitVector', [1, 2, 6, 7], byDefaultDelta([1, 2, 6, 7], 64000), 32, [0xd80a]],
      ['TwoBitVectorFull', [1, 2, 6, 7, 8], byDefaultDelta([1, 2, 6, 7, 8], 64000), 36, [0xd80a, 0x4001]],
      ['LargeAndNegativeDeltas', [1, 2, 6, 7, 8], [ms(2), ms(1), ms(4), ms(3), ms(3) + 64000], 32, [0xd806, 0x4001]],
      ['MaxRle', [0, 8191 + 14], [ms(1), ms(2)], 28, [0xa000, 0x1fff, 0x2001]],
      ['MinRle', [0, 29], [ms(1), ms(2)], 28, [0xa000, 0x000f, 0x2001]],
      ['OneToTwoBitVector', [0, 6], [0, 64000], 28, [0xd002]],
      ['OneToTwoBitVectorSimpleSplit', [0, 7], [0, 64000], 28, [0xd000, 0x4001]],
    ];
    for (const [name, received, times, size, words] of cases) {
      const packet = build(received, times);
      assert.equal(packet.length, size, name);
      assert.deepEqual(chunkWords(packet, words.length), words, name);
      const arrivals = parse(packet).arrivalsUs;
      received.forEach((sequence, i) => assert.equal(arrivals[(sequence - received[0]!) & 0xffff], times[i], `${name} seq ${sequence}`));
    }

    // OneToTwoBitVectorSplit: 8 small, 1 large, 13 small: run, 2-bit vector (L + 6 S), run.
    const times = [ms(1)];
    for (let i = 1; i < 22; i++) times.push(times[i - 1]! + (i === 8 ? 64000 : ms(1)));
    const split = build(Array.from({ length: 22 }, (_, i) => i), times);
    assert.deepEqual(chunkWords(split, 3), [0x2008, 0xe555, 0x2007]);
    assert.equal(split.length, 52, '20 + 3 chunks + 21 small + 1 large, padded');
  });

  test('a mixed 1-bit chunk followed by a large delta splits as a 2-bit vector, keeping the rest', () => {
    const statuses = [1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2];
    let time = 0;
    const arrivals = statuses.map((status) => (status === 0 ? undefined : (time += status === 1 ? 1000 : 100_000)));
    const [packet] = buildTransportFeedback(feedback({ arrivalsUs: arrivals }));
    // [S 0 S S S S S] as a 2-bit vector, then [S S S L] as the last (2-bit) chunk.
    assert.deepEqual(chunkWords(packet!, 2), [0xd155, 0xd580]);
    assert.deepEqual(parse(packet!).arrivalsUs, arrivals);
  });

  test('short mixed and longer 1-bit last chunks', () => {
    const [short] = buildTransportFeedback(feedback({ arrivalsUs: [0, undefined, 500] }));
    assert.deepEqual(chunkWords(short!, 1), [0xd100], 'libwebrtc writes up to 7 symbols as a 2-bit vector');
    const [long] = buildTransportFeedback(feedback({ arrivalsUs: [0, undefined, 250, 500, 750, 1000, 1250, 1500] }));
    assert.deepEqual(chunkWords(long!, 1), [0xafc0]);
  });

  test('a delta beyond 16 bits signed starts a new packet; both parse back', () => {
    const t0 = 640_000_000; // a multiple of 64 ms: the first delta is 0
    for (const [second, packetCount] of [
      [t0 + 32767 * 250, 1],
      [t0 + 32768 * 250, 2],
      [t0 - 32768 * 250, 1],
      [t0 - 32769 * 250, 2],
    ] as const) {
      const packets = buildTransportFeedback(feedback({ baseSequence: 65535, feedbackCount: 255, arrivalsUs: [t0, undefined, second] }));
      assert.equal(packets.length, packetCount, `second at ${second - t0} µs`);
      const parsed = packets.map(parse);
      if (packetCount === 1) {
        assert.deepEqual(parsed[0]!.arrivalsUs, [t0, undefined, second]);
        continue;
      }
      assert.deepEqual(
        parsed.map((p) => [p.baseSequence, p.feedbackCount, p.referenceTime, p.arrivalsUs]),
        [
          [65535, 255, t0 / 64000, [t0]],
          [0, 0, Math.floor(second / 64000), [undefined, second]],
        ],
      );
    }
  });

  test('round trip of seeded random traces: losses, reordering, large and negative deltas, wrap, long runs', () => {
    const random = prng(0x7cc);
    let splitForSize = 0;
    for (let trial = 0; trial < 300; trial++) {
      const arrivals: (number | undefined)[] = [];
      let time = 1e10 + Math.floor(random() * 4e11) + random();
      const length = 1 + Math.floor(random() * (trial % 10 === 0 ? 40000 : 2000));
      const lossRate = random() * 0.3;
      while (arrivals.length < length) {
        const r = random();
        if (r < 0.01) {
          // A burst of loss, sometimes longer than a run chunk holds.
          const burst = Math.floor(random() * (random() < 0.2 ? 20000 : 40));
          for (let i = 0; i < burst && arrivals.length < length - 1; i++) arrivals.push(undefined);
          continue;
        }
        if (r < 0.03) time += 64_000 + random() * 400_000; // needs a 2-byte delta
        else if (r < 0.032) time += (random() < 0.5 ? -1 : 1) * 8_500_000; // beyond 16 bits: new packet
        else time += random() * 3000;
        const reordered = random() < 0.05 ? time - random() * 40_000 : time; // arrives before its predecessor
        arrivals.push(random() < lossRate ? undefined : reordered);
      }
      const baseSequence = random() < 0.3 ? 65535 - Math.floor(random() * 100) : Math.floor(random() * 65536);
      const feedbackCount = Math.floor(random() * 256);
      const maxBytes = random() < 0.5 ? 1200 : 100 + Math.floor(random() * 400);
      const packets = buildTransportFeedback({ senderSsrc: 9, mediaSsrc: 8, baseSequence, feedbackCount, arrivalsUs: arrivals, maxBytes });

      let next = 0;
      packets.forEach((packet, k) => {
        assert.ok(packet.length <= maxBytes, `packet ${packet.length} bytes > ${maxBytes}`);
        assert.equal(packet.length % 4, 0);
        assert.equal(packet.readUInt16BE(2), packet.length / 4 - 1, 'RTCP length in words minus one');
        const parsed = parse(packet);
        assert.equal(parsed.feedbackCount, (feedbackCount + k) & 0xff);
        assert.equal(parsed.baseSequence, (baseSequence + next) & 0xffff, 'each packet starts after the previous one');
        parsed.arrivalsUs.forEach((value, i) => {
          const expected = arrivals[next + i];
          if (value === undefined || expected === undefined) assert.equal(value, expected, `index ${next + i}`);
          // Each delta is rounded against the previous rounded time, so the error never builds up.
          else assert.ok(Math.abs(value - expected) <= 125, `index ${next + i}: ${value} vs ${expected}`);
        });
        assert.notEqual(parsed.arrivalsUs.at(-1), undefined, 'a packet ends at a received packet');
        next += parsed.arrivalsUs.length;
      });
      const lastReceived = arrivals.findLastIndex((value) => value !== undefined);
      assert.equal(next, lastReceived + 1, 'everything up to the last received packet is reported');
      if (packets.length > 1 && packets.some((packet) => packet.length > maxBytes - 12)) splitForSize++;
    }
    assert.ok(splitForSize > 0, 'some traces were split for size');
  });

  test('nothing received, nothing to build', () => {
    assert.deepEqual(buildTransportFeedback(feedback({ arrivalsUs: [] })), []);
    assert.deepEqual(buildTransportFeedback(feedback({ arrivalsUs: [undefined, NaN] })), []);
  });

  test('a compound packet still walks past the feedback (the RTCP length is right)', () => {
    const [twcc] = buildTransportFeedback(feedback({ arrivalsUs: [0, 1000, undefined, 90_000] }));
    const packets = parseRtcp(Buffer.concat([twcc!, buildPli(1, 0xabc)]));
    assert.deepEqual(packets.at(-1), { type: 'pli', mediaSsrc: 0xabc });
  });

  test('10000 seeded random and mutated buffers never throw', () => {
    const random = prng(12345);
    const valid = [
      pionExample1,
      pionExample4,
      ...buildTransportFeedback(feedback({ arrivalsUs: Array.from({ length: 300 }, (_, i) => (i % 7 === 3 ? undefined : i * 9000 + (i % 5) * 70_000)) })),
    ];
    for (let i = 0; i < 10000; i++) {
      let buffer: Buffer;
      if (i % 3 === 0) {
        buffer = Buffer.from(Array.from({ length: Math.floor(random() * 80) }, () => Math.floor(random() * 256)));
        if (buffer.length >= 2 && random() < 0.7) {
          buffer[0] = random() < 0.5 ? 0x8f : 0xaf;
          buffer[1] = 205;
        }
      } else {
        buffer = Buffer.from(valid[Math.floor(random() * valid.length)]!);
        for (let flips = 1 + Math.floor(random() * 4); flips > 0; flips--) buffer[Math.floor(random() * buffer.length)] = Math.floor(random() * 256);
        if (random() < 0.3) buffer = buffer.subarray(0, Math.floor(random() * buffer.length));
        if (random() < 0.2 && buffer.length >= 4) buffer.writeUInt16BE(Math.floor(random() * 0x10000), 2);
      }
      let parsed: TransportFeedback | undefined;
      assert.doesNotThrow(() => (parsed = parseTransportFeedback(buffer)), buffer.toString('hex'));
      if (parsed) assert.equal(parsed.arrivalsUs.length, buffer.readUInt16BE(14));
    }
  });
});

describe('TwccRecorder', () => {
  /** Parses a take and returns [base, arrivals, feedback count] per packet. */
  const take = (recorder: TwccRecorder) =>
    recorder.takeFeedback(0x5f5f, 0x6e6e).map((packet) => {
      const parsed = parse(packet);
      assert.equal(parsed.senderSsrc, 0x5f5f);
      assert.equal(parsed.mediaSsrc, 0x6e6e);
      return [parsed.baseSequence, parsed.arrivalsUs, parsed.feedbackCount] as const;
    });
  const T = 1_000_000_000; // a multiple of 64 ms, so times come back exact when they are multiples of 250 µs

  test('nothing to report gives an empty array', () => {
    const recorder = new TwccRecorder();
    assert.deepEqual(recorder.takeFeedback(1, 2), []);
    recorder.onPacket(10, T);
    assert.equal(recorder.takeFeedback(1, 2).length, 1);
    assert.deepEqual(recorder.takeFeedback(1, 2), [], 'reported packets are forgotten');
  });

  test('in-order packets with losses, then the next feedback continues after the last reported', () => {
    const recorder = new TwccRecorder();
    for (const sequence of [100, 101, 104]) recorder.onPacket(sequence, T + (sequence - 100) * 1000);
    assert.deepEqual(take(recorder), [[100, [T, T + 1000, undefined, undefined, T + 4000], 0]]);
    recorder.onPacket(107, T + 9000);
    assert.deepEqual(take(recorder), [[105, [undefined, undefined, T + 9000], 1]], 'the gap 105-106 is reported lost');
  });

  test('a stall\'s backlog is left out: neither received nor lost in any feedback; reporting resumes after it', () => {
    const recorder = new TwccRecorder();
    for (const sequence of [200, 201]) recorder.onPacket(sequence, T + (sequence - 200) * 1000);
    assert.deepEqual(take(recorder), [[200, [T, T + 1000], 0]], 'what came before the stall, reported first');
    for (const sequence of [202, 203, 205]) recorder.leaveOut(sequence); // 204 lost during the stall: no sample either
    assert.deepEqual(take(recorder), [], 'nothing of the backlog is reported');
    recorder.onPacket(206, T + 300_000);
    recorder.onPacket(208, T + 302_000);
    assert.deepEqual(take(recorder), [[206, [T + 300_000, undefined, T + 302_000], 1]], 'after it: 206 on, 207 lost');
    recorder.onPacket(204, T + 303_000);
    assert.deepEqual(take(recorder), [], 'a skipped stretch\'s late packet stays out');
  });

  test('duplicates keep the first arrival; reordering is fine, also before the first packet', () => {
    const recorder = new TwccRecorder();
    recorder.onPacket(5, T + 5000);
    recorder.onPacket(3, T + 6000);
    recorder.onPacket(5, T + 7000);
    recorder.onPacket(4, T + 8000);
    recorder.onPacket(6, T + 4000);
    assert.deepEqual(take(recorder), [[3, [T + 6000, T + 8000, T + 5000, T + 4000], 0]]);
    recorder.onPacket(2, T + 9000);
    recorder.onPacket(4, T + 9000);
    assert.deepEqual(take(recorder), [], 'late packets already reported are ignored');
  });

  test('sequence wrap 65535 -> 0, within and across feedbacks', () => {
    const recorder = new TwccRecorder();
    for (const sequence of [65534, 65535, 0, 1]) recorder.onPacket(sequence, T + ((sequence + 2) & 0xffff) * 250);
    assert.deepEqual(take(recorder), [[65534, [T, T + 250, T + 500, T + 750], 0]]);
    recorder.onPacket(65535, T); // before the window, in 16-bit terms
    recorder.onPacket(3, T + 2000);
    assert.deepEqual(take(recorder), [[2, [undefined, T + 2000], 1]]);

    const early = new TwccRecorder();
    early.onPacket(0, T + 500);
    early.onPacket(65535, T + 250); // reordered across the wrap before the first report
    assert.deepEqual(take(early), [[65535, [T + 250, T + 500], 0]]);
  });

  test('memory is capped: the oldest sequences are dropped', () => {
    const recorder = new TwccRecorder();
    for (let i = 0; i < 10000; i++) recorder.onPacket((60000 + i) & 0xffff, T + i * 250);
    const packets = take(recorder);
    assert.equal(packets[0]![0], (60000 + 10000 - 8192) & 0xffff);
    const arrivals = packets.flatMap(([, values]) => values);
    assert.equal(arrivals.length, 8192);
    assert.deepEqual(arrivals.slice(0, 2), [T + (10000 - 8192) * 250, T + (10001 - 8192) * 250]);

    const small = new TwccRecorder({ capacity: 4 });
    for (const sequence of [1, 2, 3, 4, 5, 9]) small.onPacket(sequence, T + sequence * 1000);
    small.onPacket(5, T); // dropped already (the window is 6-9): ignored
    small.onPacket(2, T);
    assert.deepEqual(take(small), [[6, [undefined, undefined, undefined, T + 9000], 0]]);
  });

  test('a jump of more than 0x4000 restarts and drops what was not reported', () => {
    const recorder = new TwccRecorder();
    for (let sequence = 0; sequence < 10; sequence++) recorder.onPacket(sequence, T + sequence * 1000);
    recorder.onPacket(30000, T + 20000);
    recorder.onPacket(30001, T + 21000);
    assert.deepEqual(take(recorder), [[30000, [T + 20000, T + 21000], 0]]);
    recorder.onPacket(30002 - 0x5000, T + 22000); // backwards too
    assert.deepEqual(take(recorder), [[30002 - 0x5000, [T + 22000], 1]]);
    recorder.onPacket(30002 - 0x5000 + 0x4000, T + 23000); // exactly 0x4000 is still the same stream
    const window = take(recorder).flatMap(([, arrivals]) => arrivals);
    assert.equal(window.length, 8192, 'reported as losses up to it, capped, not restarted');
    assert.equal(window.at(-1), T + 23000);
  });

  test('the feedback count goes up per packet and wraps at 256', () => {
    const recorder = new TwccRecorder();
    for (let i = 0; i < 300; i++) {
      recorder.onPacket(i, T + i * 1000);
      assert.deepEqual(
        take(recorder).map(([, , count]) => count),
        [i & 0xff],
      );
    }
    // Two packets in one take (a 9 s gap does not fit a delta) take two counts.
    recorder.onPacket(300, T);
    recorder.onPacket(301, T + 9_000_000);
    assert.deepEqual(
      take(recorder).map(([base, , count]) => [base, count]),
      [
        [300, 300 & 0xff],
        [301, 301 & 0xff],
      ],
    );
    recorder.onPacket(302, T + 9_001_000);
    assert.equal(take(recorder)[0]![2], 302 & 0xff);
  });
});

describe('transport-wide feedback captured from Chromium', () => {
  const fixture = JSON.parse(readFileSync(new URL('../../fixtures/chromium-downlink-step.json', import.meta.url), 'utf8')) as { feedback: string[] };
  const captured = fixture.feedback.map((hex) => {
    const compound = Buffer.from(hex, 'hex');
    const feedbacks = parseRtcp(compound).filter((p) => p.type === 'twcc');
    assert.equal(feedbacks.length, 1, `one transport feedback in ${hex}`);
    // The feedback's own bytes within the compound packet: it is the one with PT 205, FMT 15.
    let offset = 0;
    while (!(compound[offset + 1] === 205 && (compound[offset]! & 0x1f) === 15)) offset += (compound.readUInt16BE(offset + 2) + 1) * 4;
    return { bytes: compound.subarray(offset, offset + (compound.readUInt16BE(offset + 2) + 1) * 4), parsed: (feedbacks[0] as { feedback: TransportFeedback }).feedback };
  });

  test('parses every packet, losses included', () => {
    assert.equal(captured.length, 18);
    const statuses = captured.flatMap(({ parsed }) => parsed.arrivalsUs);
    assert.ok(statuses.some((arrival) => arrival === undefined), 'some report losses');
    for (const { parsed } of captured) {
      const times = parsed.arrivalsUs.filter((t): t is number => t !== undefined);
      assert.ok(times.length > 0);
      for (const t of times) assert.ok(t >= parsed.referenceTime * 64_000 - 8_192_000, 'within a delta range of the reference time');
    }
  });

  test('our encoder builds the same bytes from the same arrivals (it makes libwebrtc\'s choices)', () => {
    for (const { bytes, parsed } of captured) {
      const [rebuilt, ...rest] = buildTransportFeedback({
        senderSsrc: parsed.senderSsrc,
        mediaSsrc: parsed.mediaSsrc,
        baseSequence: parsed.baseSequence,
        arrivalsUs: parsed.arrivalsUs,
        feedbackCount: parsed.feedbackCount,
      });
      assert.equal(rest.length, 0);
      assert.equal(rebuilt!.toString('hex'), bytes.toString('hex'));
    }
  });
});
