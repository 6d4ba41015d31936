/**
 * `analyseMedia` (harness/capture.ts) on hand-built tshark rows: what it calls encrypted and
 * plain, how it unwraps TURN, counts DTLS hellos and skips duplicates. No capture, no browser.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { analyseMedia, MEDIA_FIELDS, parseFields } from './capture-analysis.ts';

/** A seeded byte source, so that "random" payloads are the same on every run. */
function bytes(seed: number): (n: number) => Buffer {
  let state = seed >>> 0 || 1;
  return (n) => {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      out[i] = state & 0xff;
    }
    return out;
  };
}

interface RtpOptions {
  payloadType: number;
  sequence: number;
  ssrc?: number;
  payload: Buffer;
  csrcs?: number;
  /** Header extension words (RFC 8285 one-byte form). */
  extensionWords?: number;
  padding?: boolean;
}

function rtp(options: RtpOptions): Buffer {
  const csrcs = options.csrcs ?? 0;
  const extension = options.extensionWords === undefined ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0xbe, 0xde, 0, options.extensionWords]), Buffer.alloc(4 * options.extensionWords, 0x11)]);
  const header = Buffer.alloc(12 + 4 * csrcs);
  header[0] = 0x80 | (options.padding ? 0x20 : 0) | (extension.length > 0 ? 0x10 : 0) | csrcs;
  header[1] = options.payloadType;
  header.writeUInt16BE(options.sequence & 0xffff, 2);
  header.writeUInt32BE(options.sequence * 3000, 4);
  header.writeUInt32BE(options.ssrc ?? 0x1234, 8);
  return Buffer.concat([header, extension, options.payload]);
}

function channelData(channel: number, data: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt16BE(channel, 0);
  header.writeUInt16BE(data.length, 2);
  return Buffer.concat([header, data, Buffer.alloc((4 - (data.length % 4)) % 4)]);
}

function stunMessage(type: number, attributes: Array<[number, Buffer]>): Buffer {
  const body = Buffer.concat(
    attributes.map(([attribute, value]) => {
      const header = Buffer.alloc(4);
      header.writeUInt16BE(attribute, 0);
      header.writeUInt16BE(value.length, 2);
      return Buffer.concat([header, value, Buffer.alloc((4 - (value.length % 4)) % 4)]);
    }),
  );
  const header = Buffer.alloc(20);
  header.writeUInt16BE(type, 0);
  header.writeUInt16BE(body.length, 2);
  header.writeUInt32BE(0x2112a442, 4);
  return Buffer.concat([header, body]);
}

/** One tshark row in MEDIA_FIELDS order. */
function row(datagram: Buffer, extra: { src?: number; dst?: number; handshake?: string; extensions?: string; random?: string } = {}): string[] {
  return ['1', String(extra.src ?? 5000), String(extra.dst ?? 6000), extra.handshake ?? '', extra.extensions ?? '', extra.random ?? '', datagram.toString('hex').replace(/(..)(?!$)/g, '$1:')];
}

const random = bytes(7);
/** n packets of payload type `pt` whose payload starts with bytes from `first`. */
function stream(pt: number, n: number, first: (i: number) => Buffer, ssrc = 0x1234): Buffer[] {
  return Array.from({ length: n }, (_, i) => rtp({ payloadType: pt, sequence: i, ssrc, payload: Buffer.concat([first(i), random(100)]) }));
}

describe('analyseMedia', () => {
  test('the row layout is MEDIA_FIELDS and parseFields reads tshark -T fields lines', () => {
    assert.equal(MEDIA_FIELDS.length, row(Buffer.from([0])).length);
    assert.deepEqual(parseFields('1\ta\t\n2\t\tb\n'), [['1', 'a', ''], ['2', '', 'b']]);
  });

  test('random payloads (SRTP) are encrypted; a VP8 descriptor and an Opus TOC byte are plain', () => {
    const srtp = analyseMedia([...stream(96, 400, () => random(1)), ...stream(111, 200, () => random(1), 0x99)].map((d) => row(d)));
    assert.equal(srtp.encrypted, true);
    assert.deepEqual(srtp.payloadTypes.map((t) => [t.payloadType, t.verdict]), [[96, 'encrypted'], [111, 'encrypted']]);
    assert.ok(srtp.payloadTypes[0]!.distinctFirstBytes > 150, `400 random first bytes take > 150 values (${srtp.payloadTypes[0]!.distinctFirstBytes})`);

    // VP8 payload descriptors: X=1, S=1 on a frame's first packet, else X=1 (0x90 / 0x80); Opus: one TOC byte.
    const plain = analyseMedia([...stream(96, 400, (i) => Buffer.from([i % 5 === 0 ? 0x90 : 0x80, 0x80, i & 0x7f])), ...stream(111, 200, () => Buffer.from([0x78]), 0x99)].map((d) => row(d)));
    assert.equal(plain.encrypted, false);
    assert.deepEqual(plain.payloadTypes.map((t) => [t.payloadType, t.distinctFirstBytes, t.verdict]), [[96, 2, 'plain'], [111, 1, 'plain']]);
  });

  test('one plain payload type among encrypted ones makes the whole capture not encrypted', () => {
    const mixed = analyseMedia([...stream(96, 300, () => random(1)), ...stream(111, 100, () => Buffer.from([0x78]), 0x99)].map((d) => row(d)));
    assert.equal(mixed.encrypted, false);
    assert.deepEqual(mixed.payloadTypes.filter((t) => t.verdict === 'plain').map((t) => t.payloadType), [111]);
  });

  test('too few packets are reported but not judged; nothing judged is not encrypted', () => {
    const few = analyseMedia(stream(96, 30, () => random(1)).map((d) => row(d)));
    assert.equal(few.payloadTypes[0]!.verdict, 'too-few');
    assert.equal(few.encrypted, false);
    assert.equal(analyseMedia([]).encrypted, false);
  });

  test('the payload starts after CSRCs and the header extension; the padding bit changes nothing', () => {
    const packets = Array.from({ length: 200 }, (_, i) => rtp({ payloadType: 100, sequence: i, payload: Buffer.from([0x42, ...random(50)]), csrcs: 2, extensionWords: 3, padding: i % 2 === 0 }));
    const analysis = analyseMedia(packets.map((d) => row(d)));
    assert.deepEqual(analysis.payloadTypes.map((t) => [t.payloadType, t.packets, t.distinctFirstBytes, t.verdict]), [[100, 200, 1, 'plain']]);
    assert.equal(analysis.datagrams.other, 0);
  });

  test('a packet captured again (e.g. on both legs of a relay) counts once', () => {
    const packets = stream(96, 100, () => random(1));
    const analysis = analyseMedia([...packets, ...packets, ...packets].map((d) => row(d)));
    assert.equal(analysis.rtpPackets, 100);
    assert.equal(analysis.datagrams.rtp, 300);
    assert.equal(analysis.payloadTypes[0]!.verdict, 'encrypted');
  });

  test('datagrams are sorted as RFC 7983 says: STUN, DTLS, RTP, RTCP, empty, other', () => {
    const rtcp = Buffer.from([0x81, 200, 0, 6, ...random(24)]);
    const analysis = analyseMedia([Buffer.from([0x00, 0x01, ...random(18)]), Buffer.from([22, 0xfe, 0xfd, ...random(20)]), rtcp, Buffer.alloc(0), Buffer.from('GET / HTTP/1.1'), ...stream(96, 2, () => random(1))].map((d) => row(d)));
    assert.deepEqual(analysis.datagrams, { stun: 1, dtls: 1, rtp: 2, rtcp: 1, turnWrapped: 0, empty: 1, other: 1 });
  });

  test('TURN: ChannelData and Send/Data indications are unwrapped on the TURN port; other STUN is control; the rest is other', () => {
    const turnPort = 3478;
    const plain = stream(96, 120, () => Buffer.from([0x90]));
    const rows = [
      ...plain.slice(0, 60).map((d) => row(channelData(0x4001, d), { dst: turnPort })),
      ...plain.slice(60, 90).map((d) => row(stunMessage(0x0016, [[0x0012, Buffer.alloc(8)], [0x0013, d]]), { dst: turnPort })),
      ...plain.slice(90).map((d) => row(stunMessage(0x0017, [[0x0013, d]]), { src: turnPort })),
      row(stunMessage(0x0003, [[0x0019, Buffer.from([17, 0, 0, 0])]]), { dst: turnPort }),
      row(Buffer.from('not turn at all'), { dst: turnPort }),
    ];
    const analysis = analyseMedia(rows, { turnPort });
    assert.equal(analysis.datagrams.turnWrapped, 120);
    assert.equal(analysis.datagrams.stun, 1);
    assert.equal(analysis.datagrams.other, 1);
    assert.deepEqual(analysis.payloadTypes.map((t) => [t.packets, t.verdict]), [[120, 'plain']], 'plain RTP inside TURN is found and judged plain');
    // Without the TURN port, ChannelData's first byte (0x40) is neither STUN, DTLS nor RTP.
    assert.equal(analyseMedia(rows).datagrams.other, 61);
  });

  test('DTLS hellos: counted once per random (fragments, retransmissions, copies), use_srtp and DTLS 1.3 seen', () => {
    const empty = Buffer.from([22]);
    const analysis = analyseMedia([
      // A fragmented DTLS 1.3 ClientHello: the first fragment has no random yet; a retransmission lists no extensions.
      row(empty, { handshake: '1' }),
      row(empty, { handshake: '1', random: 'aa', extensions: '10,51,14,43' }),
      row(empty, { handshake: '1', random: 'aa' }),
      // A DTLS 1.3 ServerHello (use_srtp comes in the encrypted extensions).
      row(empty, { handshake: '2', random: 'bb', extensions: '51,43' }),
      // A DTLS 1.2 ClientHello without use_srtp, and a 1.2 ServerHello flight that accepts it.
      row(empty, { handshake: '1', random: 'cc', extensions: '11,10,23' }),
      row(empty, { handshake: '2,11,12,13,14', random: 'dd', extensions: '23,65281,11,14' }),
    ]);
    assert.deepEqual(
      [analysis.clientHellos, analysis.clientHellosWithUseSrtp, analysis.serverHellos, analysis.serverHellosWithUseSrtp, analysis.serverHellosDtls13],
      [2, 1, 2, 1, 1],
    );
  });
});
