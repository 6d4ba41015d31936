/**
 * What a media capture shows (`analyseMedia`: a pure function over `tshark -T fields` output,
 * unit-tested on its own in capture-analysis.test.ts): DTLS handshakes with use_srtp, what each
 * datagram is (RFC 7983, TURN unwrapped), and whether each payload type's RTP payloads look like
 * ciphertext. The capture itself is `capture.ts`.
 */

/** tshark's field separator as `PacketCapture.fields` asks for it (`-E separator=/t`). */
const FIELD_SEPARATOR = '\t';

/** `tshark -T fields` output (tab-separated, one line per packet) as arrays of values. */
export function parseFields(text: string): string[][] {
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => line.split(FIELD_SEPARATOR));
}

/** The fields `analyseMedia` reads, in its order: pass them to `PacketCapture.fields` with the display filter `udp`. */
export const MEDIA_FIELDS = [
  'frame.number',
  'udp.srcport',
  'udp.dstport',
  'dtls.handshake.type',
  'dtls.handshake.extension.type',
  'dtls.handshake.random',
  'udp.payload',
] as const;

/**
 * DTLS inside TURN ChannelData and Send/Data indications. tshark's DTLS heuristic misses some
 * flights (Firefox's DTLS 1.3 ServerHello datagram, which ends in a record with the unified
 * header), so the tests also decode the media ports as DTLS (`-d udp.port==P,dtls`).
 */
export const MEDIA_HEURISTICS = ['dtls_stun'];

/** DTLS handshake message types (RFC 6347 / RFC 9147) and extensions (RFC 5764 use_srtp, RFC 8446 supported_versions). */
const CLIENT_HELLO = 1;
const SERVER_HELLO = 2;
const USE_SRTP = 14;
/** A ServerHello that carries supported_versions negotiates (D)TLS 1.3. */
const SUPPORTED_VERSIONS = 43;

export interface PayloadTypeFigures {
  payloadType: number;
  /** Distinct packets (one packet captured on several legs, e.g. into and out of a TURN relay, counts once). */
  packets: number;
  ssrcs: number;
  /** Distinct values of the first payload byte. */
  distinctFirstBytes: number;
  /** What `distinctFirstBytes` would be, on average, for uniformly random bytes (ciphertext). */
  expectedIfRandom: number;
  /** `encrypted`: spread like random bytes; `plain`: far fewer values; `too-few`: under `minPackets`, not judged. */
  verdict: 'encrypted' | 'plain' | 'too-few';
}

/** Datagrams by what their first byte says they are (RFC 7983 demultiplexing), after unwrapping TURN. */
export interface DatagramCounts {
  stun: number;
  dtls: number;
  rtp: number;
  rtcp: number;
  /** TURN ChannelData messages and Send/Data indications unwrapped (their contents are counted by kind too). */
  turnWrapped: number;
  /** Zero-length datagrams (libjuice wakes its own socket with them): no content. */
  empty: number;
  /** Anything else: what DTLS-SRTP media never sends. */
  other: number;
}

export interface MediaAnalysis {
  /**
   * Distinct ClientHellos (by their random: a retransmission or a copy on another leg of a relay
   * counts once; a hello fragmented over datagrams counts where tshark reassembled it).
   */
  clientHellos: number;
  clientHellosWithUseSrtp: number;
  /** Distinct ServerHellos, by their random. */
  serverHellos: number;
  /** ServerHellos carrying use_srtp in the clear (DTLS 1.2). */
  serverHellosWithUseSrtp: number;
  /** ServerHellos negotiating DTLS 1.3: their use_srtp answer is inside the encrypted EncryptedExtensions. */
  serverHellosDtls13: number;
  datagrams: DatagramCounts;
  /** Distinct RTP packets. */
  rtpPackets: number;
  payloadTypes: PayloadTypeFigures[];
  /** True when there was RTP to judge and every judged payload type looks encrypted. */
  encrypted: boolean;
}

export interface AnalysisOptions {
  /** Datagrams to or from this port are TURN (ChannelData, STUN): what they carry is unwrapped. */
  turnPort?: number;
  /** A payload type with fewer distinct RTP packets is reported but not judged (default 50). */
  minPackets?: number;
  /** Encrypted when distinct first bytes reach this fraction of what random bytes would give (default 0.5). */
  randomFraction?: number;
}

/**
 * Reads `tshark -Y udp -T fields -e <MEDIA_FIELDS>` output. DTLS: counts ClientHellos and
 * ServerHellos as tshark decodes them, and which carry use_srtp. Media: every datagram's bytes
 * (inside TURN ChannelData or Send/Data indications for the TURN port) are sorted by their first
 * byte as RFC 7983 demultiplexes them (STUN 0-3, DTLS 20-63, RTP/RTCP 128-191), and the RTP
 * header (RFC 3550: CSRCs, extension) is read here to find the payload: tshark's RTP heuristic
 * rejects SRTP packets whose padding bit is set (their padding count is ciphertext), so it would
 * leave some packets unjudged.
 *
 * Per RTP payload type, how many distinct values the first payload byte takes: ciphertext (SRTP)
 * spreads over the 256 values like random bytes; a plain payload starts with a codec header that
 * takes a handful (a VP8 payload descriptor, an Opus TOC byte: 1 to ~10). Random bytes over n
 * packets give 256 * (1 - (255/256)^n) distinct values on average (~45 for 50 packets, ~250 for
 * 1000); half of that separates the two by a wide margin from n = 50 on. A packet seen twice (the
 * same SSRC, sequence number and payload, e.g. on both legs of a TURN relay) counts once, else
 * duplicates would narrow the spread of real ciphertext.
 */
export function analyseMedia(rows: string[][], options: AnalysisOptions = {}): MediaAnalysis {
  const minPackets = options.minPackets ?? 50;
  const randomFraction = options.randomFraction ?? 0.5;
  const datagrams: DatagramCounts = { stun: 0, dtls: 0, rtp: 0, rtcp: 0, turnWrapped: 0, empty: 0, other: 0 };
  const analysis: MediaAnalysis = {
    clientHellos: 0,
    clientHellosWithUseSrtp: 0,
    serverHellos: 0,
    serverHellosWithUseSrtp: 0,
    serverHellosDtls13: 0,
    datagrams,
    rtpPackets: 0,
    payloadTypes: [],
    encrypted: false,
  };
  const byType = new Map<number, { packets: Set<string>; ssrcs: Set<number>; firstBytes: Set<number> }>();
  const hellos = new Map<string, { type: number; extensions: Set<number> }>();
  for (const row of rows) {
    const [, srcPort = '', dstPort = '', handshakeTypes = '', extensionTypes = '', randoms = '', payloadHex = ''] = row;
    // A ClientHello or ServerHello comes first in its flight and the other messages of a flight
    // (Certificate, ServerKeyExchange, ...) carry no extensions in the clear, so the extensions
    // tshark lists for the datagram are the hello's. The first fragment of a fragmented hello has
    // no random yet (tshark decodes it once reassembled); a retransmission repeats the random and
    // may list no extensions (tshark reassembles once): the extensions seen for a random add up.
    const random = first(randoms);
    const type = numbers(handshakeTypes).find((t) => t === CLIENT_HELLO || t === SERVER_HELLO);
    if (random !== '' && type !== undefined) {
      const hello = hellos.get(random) ?? { type, extensions: new Set<number>() };
      for (const extension of numbers(extensionTypes)) hello.extensions.add(extension);
      hellos.set(random, hello);
    }

    let datagram: Buffer = Buffer.from(payloadHex.replace(/:/g, ''), 'hex');
    if (datagram.length === 0) {
      datagrams.empty++;
      continue;
    }
    if (options.turnPort !== undefined && (Number(srcPort) === options.turnPort || Number(dstPort) === options.turnPort)) {
      const inner = unwrapTurn(datagram);
      if (inner === 'control') {
        datagrams.stun++;
        continue;
      }
      if (inner === undefined) {
        datagrams.other++;
        continue;
      }
      datagrams.turnWrapped++;
      datagram = inner;
    }
    const kind = demultiplex(datagram);
    if (kind !== 'rtp') {
      datagrams[kind]++;
      continue;
    }
    const rtp = readRtp(datagram);
    if (rtp === undefined) {
      datagrams.other++;
      continue;
    }
    datagrams.rtp++;
    let figures = byType.get(rtp.payloadType);
    if (!figures) byType.set(rtp.payloadType, (figures = { packets: new Set(), ssrcs: new Set(), firstBytes: new Set() }));
    const key = `${rtp.ssrc}/${rtp.sequence}/${rtp.payload.subarray(0, 16).toString('hex')}`;
    if (figures.packets.has(key)) continue;
    figures.packets.add(key);
    analysis.rtpPackets++;
    figures.ssrcs.add(rtp.ssrc);
    if (rtp.payload.length > 0) figures.firstBytes.add(rtp.payload[0]!);
  }
  for (const { type, extensions } of hellos.values()) {
    if (type === CLIENT_HELLO) {
      analysis.clientHellos++;
      if (extensions.has(USE_SRTP)) analysis.clientHellosWithUseSrtp++;
    } else {
      analysis.serverHellos++;
      if (extensions.has(USE_SRTP)) analysis.serverHellosWithUseSrtp++;
      if (extensions.has(SUPPORTED_VERSIONS)) analysis.serverHellosDtls13++;
    }
  }
  for (const [payloadType, figures] of [...byType].sort(([a], [b]) => a - b)) {
    const packets = figures.packets.size;
    const expectedIfRandom = 256 * (1 - Math.pow(255 / 256, packets));
    const distinctFirstBytes = figures.firstBytes.size;
    const verdict = packets < minPackets ? 'too-few' : distinctFirstBytes >= randomFraction * expectedIfRandom ? 'encrypted' : 'plain';
    analysis.payloadTypes.push({ payloadType, packets, ssrcs: figures.ssrcs.size, distinctFirstBytes, expectedIfRandom: Math.round(expectedIfRandom), verdict });
  }
  const judged = analysis.payloadTypes.filter((figures) => figures.verdict !== 'too-few');
  analysis.encrypted = judged.length > 0 && judged.every((figures) => figures.verdict === 'encrypted');
  return analysis;
}

/** RFC 7983: what a datagram on a WebRTC 5-tuple is, by its first byte (and RTCP by its packet type). */
function demultiplex(datagram: Buffer): 'stun' | 'dtls' | 'rtp' | 'rtcp' | 'other' {
  const b0 = datagram[0]!;
  if (b0 <= 3) return 'stun';
  if (b0 >= 20 && b0 <= 63) return 'dtls';
  if (b0 >= 128 && b0 <= 191) {
    const packetType = datagram[1] ?? 0;
    return packetType >= 192 && packetType <= 223 ? 'rtcp' : 'rtp';
  }
  return 'other';
}

/** The RTP header's fields and the payload after it (RFC 3550 5.1: CSRCs, then a header extension when X is set). */
function readRtp(packet: Buffer): { payloadType: number; sequence: number; ssrc: number; payload: Buffer } | undefined {
  if (packet.length < 12) return undefined;
  let offset = 12 + 4 * (packet[0]! & 0x0f);
  if (packet[0]! & 0x10) {
    if (packet.length < offset + 4) return undefined;
    offset += 4 + 4 * packet.readUInt16BE(offset + 2);
  }
  if (packet.length < offset) return undefined;
  return { payloadType: packet[1]! & 0x7f, sequence: packet.readUInt16BE(2), ssrc: packet.readUInt32BE(8), payload: packet.subarray(offset) };
}

const STUN_MAGIC_COOKIE = 0x2112a442;
const SEND_INDICATION = 0x0016;
const DATA_INDICATION = 0x0017;
const DATA_ATTRIBUTE = 0x0013;

/**
 * What a datagram to or from a TURN server's port carries (RFC 8656): ChannelData's data, a Send
 * or Data indication's DATA attribute; `control` for other STUN messages (Allocate, Refresh,
 * CreatePermission, ChannelBind, Binding); undefined for what is neither.
 */
function unwrapTurn(datagram: Buffer): Buffer | 'control' | undefined {
  const b0 = datagram[0]!;
  if (b0 >= 0x40 && b0 <= 0x7f) {
    if (datagram.length < 4) return undefined;
    const length = datagram.readUInt16BE(2);
    return datagram.length >= 4 + length ? datagram.subarray(4, 4 + length) : undefined;
  }
  if (b0 > 3 || datagram.length < 20 || datagram.readUInt32BE(4) !== STUN_MAGIC_COOKIE) return undefined;
  const type = datagram.readUInt16BE(0);
  if (type !== SEND_INDICATION && type !== DATA_INDICATION) return 'control';
  for (let offset = 20; offset + 4 <= datagram.length; ) {
    const attribute = datagram.readUInt16BE(offset);
    const length = datagram.readUInt16BE(offset + 2);
    if (attribute === DATA_ATTRIBUTE) return datagram.subarray(offset + 4, Math.min(datagram.length, offset + 4 + length));
    offset += 4 + Math.ceil(length / 4) * 4;
  }
  return undefined;
}

/** One line for a test log: handshakes and each payload type's figures. */
export function describeAnalysis(analysis: MediaAnalysis): string {
  const types = analysis.payloadTypes.map((t) => `pt ${t.payloadType}: ${t.packets} pkts, ${t.ssrcs} ssrc, ${t.distinctFirstBytes} distinct first bytes (random ~${t.expectedIfRandom}) ${t.verdict}`);
  const d = analysis.datagrams;
  return (
    `ClientHello ${analysis.clientHellos} (use_srtp ${analysis.clientHellosWithUseSrtp}), ServerHello ${analysis.serverHellos} (use_srtp in the clear ${analysis.serverHellosWithUseSrtp}, DTLS 1.3 ${analysis.serverHellosDtls13}); ` +
    `datagrams: STUN ${d.stun}, DTLS ${d.dtls}, RTP ${d.rtp}, RTCP ${d.rtcp}, in TURN ${d.turnWrapped}, empty ${d.empty}, other ${d.other}; ` +
    `${analysis.rtpPackets} distinct RTP packets; ${types.join('; ') || 'no RTP'}`
  );
}

function numbers(list: string): number[] {
  return list === '' ? [] : list.split(',').map(Number);
}

function first(list: string): string {
  return list.split(',')[0] ?? '';
}
