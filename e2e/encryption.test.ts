/**
 * Encryption proven by capture (issue #10 item 5): packets captured on the wire while real
 * browsers call each other, decoded by tshark (harness/capture.ts).
 *
 * - Media of a P2P call, an SFU call and a relay-only call through the built-in TURN: DTLS
 *   handshakes whose ClientHellos offer use_srtp (and whose DTLS 1.2 ServerHellos accept it in the
 *   clear; a DTLS 1.3 ServerHello carries it inside the encrypted extensions), then SRTP only:
 *   every UDP datagram of the media flows is STUN, DTLS, RTP or RTCP (or empty: the SFU's ICE
 *   library wakes its own socket with zero-length datagrams), and the RTP payloads, read straight
 *   off the wire and from inside TURN ChannelData and Send/Data indications, start with bytes
 *   spread like random ones, per payload type.
 * - Signaling off loopback with TLS on: a server on the host's own address with a self-signed
 *   certificate; its TCP port carries TLS handshakes and records only (no HTTP, no WebSocket), and
 *   none of the room name, identity, token or SDP the browsers exchanged appears in the bytes. The
 *   same search over the plain-HTTP loopback server's signaling finds them (the control).
 * - The check is checked: RTP that ffmpeg sends in the clear is judged plain by the same analysis,
 *   and SRTP that ffmpeg encrypts is judged encrypted, so the media tests fail if a call's media
 *   were sent unencrypted.
 *
 * Captures run on `lo` (loopback, and traffic to the host's own addresses, go through it on
 * Linux), a few seconds each, after media is decoding. Other test runs on this machine may use
 * `lo` at the same time: each capture is narrowed to this call's ports (the capture filter, then
 * a display filter on the ports the browsers' getStats name).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startServer, type RunningServer } from '@parley/server';
import { hostIpv4 } from '../packages/server/test/helpers.ts';
import { launchBrowser, type TestBrowser } from './harness/browsers.ts';
import { analyseMedia, describeAnalysis, MEDIA_FIELDS, MEDIA_HEURISTICS, type MediaAnalysis } from './harness/capture-analysis.ts';
import { PacketCapture, type DecodeOptions } from './harness/capture.ts';
import { assertNoSecretsLogged, freeUdpPort, testServerLogger } from './harness/environment.ts';
import { SdkParticipant, type ParleyWindow } from './harness/participant.ts';

/** Seconds of media captured once both sides decode: ~1000-3000 RTP packets per call here. */
const MEASURE_SECONDS = 3;
const RELAY_PORTS = { relayPortMin: 44500, relayPortMax: 44999 };

let chromium: TestBrowser;
let firefox: TestBrowser;
/**
 * Plain HTTP on loopback (dev defaults) with the SFU and the built-in TURN, whose relay binds the
 * host's address (defaultRelayAddress); 127.0.0.1 is allowed as a peer as in turn-relay.test.ts.
 */
let server: RunningServer;
let sfuPort: number;
let turnPort: number;
const captures = new Set<PacketCapture>();

before(async () => {
  sfuPort = await freeUdpPort();
  server = await startServer(
    { port: 0, sfu: { udpPort: sfuPort, workers: 1 }, turn: { port: 0, allowedPeers: ['127.0.0.1/32'], ...RELAY_PORTS } },
    { logger: testServerLogger() },
  );
  turnPort = server.turn!.server.addresses.udp;
  // acceptInsecureCerts: the TLS server below has a self-signed certificate.
  [chromium, firefox] = await Promise.all([launchBrowser('chromium', { acceptInsecureCerts: true }), launchBrowser('firefox', { acceptInsecureCerts: true })]);
});
after(async () => {
  for (const capture of captures) await capture.dispose();
  await Promise.all([chromium?.close(), firefox?.close()]);
  await server?.close();
  assertNoSecretsLogged(server);
});

async function startCapture(filter: string): Promise<PacketCapture> {
  const capture = await PacketCapture.start({ interface: 'lo', filter, maxSeconds: 90 });
  captures.add(capture);
  return capture;
}

async function disposeCapture(capture: PacketCapture): Promise<void> {
  captures.delete(capture);
  await capture.dispose();
}

interface Endpoints {
  /**
   * The ports of every local candidate the page's connections gathered (host ports, or the relay
   * ports TURN allocated): ICE may carry the DTLS handshake over one pair and settle on another.
   */
  ports: number[];
  /** The local candidate type of each connection's selected pair. */
  candidateTypes: string[];
}

/** The candidates of every PeerConnection of a page's room (P2P links and SFU connections). */
async function candidates(participant: SdkParticipant): Promise<Endpoints> {
  const debug = await participant.page.evaluate(() => (window as unknown as ParleyWindow).__parley.room.debugState(), undefined);
  const connections = [...debug.links, ...(debug.sfu?.publications ?? []), ...(debug.sfu?.subscriber ? [debug.sfu.subscriber] : [])];
  return {
    ports: connections.flatMap((c) => c.localCandidates.flatMap((candidate) => (candidate.port === undefined ? [] : [candidate.port]))),
    candidateTypes: connections.flatMap((c) => (c.selectedLocalCandidate ? [String(c.selectedLocalCandidate.candidateType)] : [])),
  };
}

/**
 * Analyses the UDP datagrams of `capture` selected by `flows` (a display filter), logs the
 * figures and asserts DTLS-SRTP only: DTLS-SRTP handshakes, RTP payloads spread like ciphertext,
 * and nothing but STUN, DTLS, RTP and RTCP (inside TURN for `turnPort`).
 */
async function assertEncryptedMedia(what: string, capture: PacketCapture, flows: string, decode: DecodeOptions, turnPort?: number): Promise<MediaAnalysis> {
  const rows = await capture.fields(`(${flows}) && udp`, [...MEDIA_FIELDS], decode);
  const analysis = analyseMedia(rows, turnPort === undefined ? {} : { turnPort });
  console.log(`${what}: ${rows.length} UDP datagrams; ${describeAnalysis(analysis)}`);
  if (analysis.clientHellos === 0) {
    assert.fail(`${what}: a DTLS ClientHello on the wire (none in ${rows.length} datagrams of the flows "${flows}"); every UDP datagram captured, by ports: ${await portPairs(capture)}; ${capture.summary()}`);
  }
  assert.equal(analysis.clientHellosWithUseSrtp, analysis.clientHellos, `${what}: every ClientHello offers use_srtp (DTLS-SRTP keying)`);
  assert.ok(analysis.serverHellos >= 1, `${what}: a DTLS ServerHello on the wire`);
  assert.equal(
    analysis.serverHellosWithUseSrtp + analysis.serverHellosDtls13,
    analysis.serverHellos,
    `${what}: every DTLS 1.2 ServerHello accepts use_srtp in the clear (DTLS 1.3 ones answer inside the encrypted extensions)`,
  );
  if (analysis.rtpPackets < 300) {
    // Too little of the call in the flows: say where the captured datagrams went (another
    // candidate pair than the ones listed, or a call that sent little in the window).
    assert.fail(`${what}: RTP on the wire (${analysis.rtpPackets} packets in the flows "${flows}"); every UDP datagram captured, by ports: ${await portPairs(capture)}; ${capture.summary()}`);
  }
  const judged = analysis.payloadTypes.filter((t) => t.verdict !== 'too-few');
  assert.ok(judged.length >= 2, `${what}: audio and video payload types judged (${judged.length})`);
  assert.deepEqual(
    analysis.payloadTypes.filter((t) => t.verdict === 'plain').map((t) => t.payloadType),
    [],
    `${what}: no RTP payload type in the clear`,
  );
  assert.equal(analysis.encrypted, true);
  assert.equal(analysis.datagrams.other, 0, `${what}: nothing but STUN, DTLS, RTP and RTCP`);
  return analysis;
}

/** The capture's UDP datagrams counted by source and destination port, the eight largest flows first. */
async function portPairs(capture: PacketCapture): Promise<string> {
  const pairs = new Map<string, number>();
  for (const [from, to] of await capture.fields('udp', ['udp.srcport', 'udp.dstport'])) pairs.set(`${from}->${to}`, (pairs.get(`${from}->${to}`) ?? 0) + 1);
  return [...pairs].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([pair, n]) => `${pair} ${n}`).join(', ');
}

/** tshark decode-as rules: these UDP ports carry DTLS (and STUN and SRTP, which the DTLS dissector leaves alone). */
function asDtls(ports: number[]): string[] {
  return [...new Set(ports)].map((port) => `udp.port==${port},dtls`);
}

/** A display filter for UDP packets whose two ports are both in `ports`. */
function betweenPorts(ports: number[]): string {
  const set = `{${[...new Set(ports)].join(',')}}`;
  return `udp.srcport in ${set} && udp.dstport in ${set}`;
}

describe('media on the wire is DTLS-SRTP', () => {
  test('P2P call, Chromium <-> Firefox: DTLS handshakes, then only SRTP', async () => {
    // Every UDP packet on lo but the SFU's and TURN's; narrowed to the call's pair afterwards.
    const capture = await startCapture(`udp and not port ${sfuPort} and not port ${turnPort} and not portrange ${RELAY_PORTS.relayPortMin}-${RELAY_PORTS.relayPortMax}`);
    const room = { topology: 'p2p' as const };
    const alice = await SdkParticipant.join(chromium, server.url, 'capture-p2p', 'alice', { roomConfig: room });
    const bob = await SdkParticipant.join(firefox, server.url, 'capture-p2p', 'bob', { roomConfig: room });
    try {
      await SdkParticipant.waitForMediaBetween(alice, bob, 10, 30_000);
      // The candidates as media starts, and again at the end: a browser's stats can drop the
      // candidates of pairs it pruned, and the handshake may have crossed one of them.
      const early = await Promise.all([candidates(alice), candidates(bob)]);
      await sleep(MEASURE_SECONDS * 1000); // the measurement window
      await capture.stop();
      const [atAlice, atBob] = await Promise.all([candidates(alice), candidates(bob)]);
      assert.equal(atAlice.candidateTypes.length, 1, 'one link');
      assert.match(atAlice.candidateTypes[0]!, /^(host|srflx)$/, 'a direct link');
      // Datagrams between the two browsers' candidates, on any of the pairs ICE tried.
      const ports = [...early.flatMap((e) => e.ports), ...atAlice.ports, ...atBob.ports];
      await assertEncryptedMedia('P2P', capture, betweenPorts(ports), { decodeAs: asDtls(ports), heuristics: MEDIA_HEURISTICS });
    } finally {
      await Promise.all([alice.close(), bob.close()]);
      await disposeCapture(capture);
    }
  });

  test('SFU call, Chromium + Firefox publishing and receiving: DTLS handshakes with the SFU, then only SRTP', async () => {
    const capture = await startCapture(`udp port ${sfuPort}`);
    const room = { topology: 'sfu' as const };
    const alice = await SdkParticipant.join(chromium, server.url, 'capture-sfu', 'alice', { roomConfig: room });
    const bob = await SdkParticipant.join(firefox, server.url, 'capture-sfu', 'bob', { roomConfig: room });
    try {
      await SdkParticipant.waitForMediaBetween(alice, bob, 10, 30_000);
      await sleep(MEASURE_SECONDS * 1000); // the measurement window
      await capture.stop();
      await assertEncryptedMedia('SFU', capture, `udp.port == ${sfuPort}`, { decodeAs: asDtls([sfuPort]), heuristics: MEDIA_HEURISTICS });
    } finally {
      await Promise.all([alice.close(), bob.close()]);
      await disposeCapture(capture);
    }
  });

  test('relay-only call through the built-in TURN, Chromium <-> Firefox: SRTP inside ChannelData and between relays', async () => {
    const capture = await startCapture(`udp port ${turnPort} or udp portrange ${RELAY_PORTS.relayPortMin}-${RELAY_PORTS.relayPortMax}`);
    const options = { roomConfig: { topology: 'p2p' as const }, iceTransportPolicy: 'relay' as const };
    const alice = await SdkParticipant.join(chromium, server.url, 'capture-relay', 'alice', options);
    const bob = await SdkParticipant.join(firefox, server.url, 'capture-relay', 'bob', options);
    try {
      await SdkParticipant.waitForMediaBetween(alice, bob, 10, 30_000);
      await sleep(MEASURE_SECONDS * 1000); // the measurement window
      await capture.stop();
      const [atAlice, atBob] = await Promise.all([candidates(alice), candidates(bob)]);
      assert.deepEqual([...atAlice.candidateTypes, ...atBob.candidateTypes], ['relay', 'relay'], 'both sides relayed');
      // Browser <-> TURN (ChannelData / Send and Data indications) and relay <-> relay (every allocation's port).
      const relayPorts = [...atAlice.ports, ...atBob.ports].filter((port) => port >= RELAY_PORTS.relayPortMin && port <= RELAY_PORTS.relayPortMax);
      const flows = `udp.port == ${turnPort} || (${betweenPorts(relayPorts)})`;
      const decode = { decodeAs: [`udp.port==${turnPort},stun`, ...asDtls(relayPorts)], heuristics: MEDIA_HEURISTICS };
      const analysis = await assertEncryptedMedia('relayed', capture, flows, decode, turnPort);
      assert.ok(analysis.datagrams.turnWrapped >= 300, `media inside TURN ChannelData or Send/Data indications (${analysis.datagrams.turnWrapped})`);
    } finally {
      await Promise.all([alice.close(), bob.close()]);
      await disposeCapture(capture);
    }
  });
});

/**
 * A JWT's first bytes: the base64url of Parley's token header, {"alg":"HS256","typ":"JWT"}. The
 * whole header, not just `eyJ`: three given bytes turn up by chance in ~1 MB of ciphertext about
 * one capture in ten; 36 never do.
 */
const TOKEN_HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');

/** Strings of one call's signaling that must never cross the network in the clear (each 12 bytes or more: none turns up in ciphertext by chance). */
function signalingSecrets(room: string, identity: string): string[] {
  return [room, identity, TOKEN_HEADER, 'Upgrade: websocket', 'a=fingerprint', '"type":"join'];
}

/** Two Chromium participants at `url` in `room`, decoding each other (offers, answers and candidates went over signaling). */
async function callOver(url: string, room: string, identity: string): Promise<void> {
  const first = await SdkParticipant.join(chromium, url, room, identity, { roomConfig: { topology: 'p2p' } });
  const second = await SdkParticipant.join(chromium, url, room, `${identity}-2`, { roomConfig: { topology: 'p2p' } });
  try {
    await SdkParticipant.waitForMediaBetween(first, second, 10, 30_000);
  } finally {
    await Promise.all([first.close(), second.close()]);
  }
}

describe('signaling off loopback is TLS', () => {
  test('WSS on the host address: TLS handshakes and records only; no HTTP, no WebSocket, none of the room, identity, token or SDP in the bytes', async () => {
    const address = hostIpv4();
    const tlsServer = await startServer(
      { host: address, port: 0, tls: { selfSigned: true }, dev: true, turn: { enabled: false }, sfu: { udpPort: await freeUdpPort(), workers: 1 } },
      { logger: testServerLogger() },
    );
    assert.match(tlsServer.url, /^https:/);
    const capture = await startCapture(`tcp port ${tlsServer.port}`);
    const room = 'capture-tls-room-q7r';
    const identity = 'capture-tls-person-k2m';
    try {
      await callOver(tlsServer.url, room, identity);
      await capture.stop();
      const decode = { decodeAs: [`tcp.port==${tlsServer.port},tls`], twoPass: true };
      const segments = await capture.count('tcp.len > 0', decode);
      const hellos = await capture.count('tls.handshake.type == 1', decode);
      // TLS 1.3 records show their type as opaque_type (always application data on the wire).
      const appData = await capture.count('tls.record.opaque_type == 23 || tls.record.content_type == 23', decode);
      const clear = await capture.count('http || websocket || json', decode);
      // A retransmitted segment repeats bytes tshark already decoded as TLS. A segment that holds
      // only part of a record spanning several is TLS once reassembled: tshark marks it
      // `tcp.reassembled_in` in its second pass (e.g. 2 such segments in ~900 when a busy
      // receiver's window cuts a 16 KB record). Plain bytes never reassemble into a record, so they
      // still count here.
      const nonTlsFilter = 'tcp.len > 0 && !tls && !tcp.analysis.retransmission && !tcp.reassembled_in';
      const nonTls = await capture.count(nonTlsFilter, decode);
      const bytes = await capture.bytes();
      const found = signalingSecrets(room, identity).filter((text) => bytes.includes(text));
      console.log(`TLS signaling on ${address}:${tlsServer.port}: ${segments} TCP segments with data, ${hellos} ClientHellos, ${appData} with application data records, ${clear} HTTP/WebSocket/JSON, ${nonTls} not TLS; in the clear: ${found.join(', ') || 'nothing'}`);
      assert.ok(hellos >= 1, 'TLS handshakes');
      assert.ok(appData >= 10, 'TLS application data');
      assert.equal(clear, 0, 'no HTTP, WebSocket or JSON in the clear');
      if (nonTls > 0) {
        const frames = await capture.fields(nonTlsFilter, ['frame.number', 'tcp.stream', 'tcp.seq', 'tcp.len', '_ws.col.info'], decode);
        assert.fail(`every TCP payload is TLS: ${nonTls} segments are not:\n${frames.map((row) => row.join(' ')).join('\n')}`);
      }
      assert.deepEqual(found, [], 'none of the signaling in the clear');
    } finally {
      await disposeCapture(capture);
      await tlsServer.close();
      assertNoSecretsLogged(tlsServer);
    }
  });

  test('control: the same search over the plain-HTTP loopback server finds the signaling in the clear', async () => {
    const capture = await startCapture(`tcp port ${server.port}`);
    const room = 'capture-plain-room-q7r';
    const identity = 'capture-plain-person-k2m';
    try {
      await callOver(server.url, room, identity);
      await capture.stop();
      const decode = { decodeAs: [`tcp.port==${server.port},http`] };
      const websocket = await capture.count('websocket', decode);
      const bytes = await capture.bytes();
      const found = signalingSecrets(room, identity).filter((text) => bytes.includes(text));
      console.log(`plain signaling on loopback: ${websocket} WebSocket frames; in the clear: ${found.join(', ')}`);
      assert.ok(websocket >= 10, 'WebSocket frames decoded');
      assert.deepEqual(found, signalingSecrets(room, identity), 'every searched string is found in a plain capture');
    } finally {
      await disposeCapture(capture);
    }
  });
});

/** Runs ffmpeg for a few seconds of test video and audio to RTP (or SRTP) on loopback ports; killed by PID if it overruns. */
async function ffmpegRtp(outputs: string[][]): Promise<void> {
  const seconds = 3;
  const inputs = ['-re', '-t', String(seconds), '-f', 'lavfi', '-i', 'testsrc=size=640x360:rate=30', '-re', '-t', String(seconds), '-f', 'lavfi', '-i', 'sine=frequency=440'];
  const child = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', ...inputs, ...outputs.flat()], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => child.pid !== undefined && process.kill(child.pid, 'SIGKILL'), (seconds + 20) * 1000);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  clearTimeout(timer);
  assert.equal(code, 0, `ffmpeg: ${stderr}`);
}

describe('the check is checked', () => {
  test('RTP ffmpeg sends in the clear is judged plain (VP8 and Opus); VP8 ffmpeg encrypts with SRTP is judged encrypted', async () => {
    const [plainVideo, plainAudio, srtpVideo] = [await freeUdpPort(), await freeUdpPort(), await freeUdpPort()];
    const capture = await startCapture(`udp and (port ${plainVideo} or port ${plainAudio} or port ${srtpVideo})`);
    try {
      // Small packets: ~1000 video packets in 3 s, as many as a call's capture holds.
      const vp8 = ['-c:v', 'libvpx', '-b:v', '800k', '-deadline', 'realtime', '-pkt_size', '600', '-f', 'rtp'];
      const key = Buffer.from(Array.from({ length: 30 }, (_, i) => (i * 37 + 11) & 0xff)).toString('base64');
      await ffmpegRtp([
        ['-map', '0:v', ...vp8, `rtp://127.0.0.1:${plainVideo}`],
        ['-map', '1:a', '-c:a', 'libopus', '-f', 'rtp', `rtp://127.0.0.1:${plainAudio}`],
        ['-map', '0:v', ...vp8, '-srtp_out_suite', 'AES_CM_128_HMAC_SHA1_80', '-srtp_out_params', key, `srtp://127.0.0.1:${srtpVideo}`],
      ]);
      await capture.stop();
      const analyse = async (port: number) => analyseMedia(await capture.fields(`udp.dstport == ${port}`, [...MEDIA_FIELDS], { heuristics: MEDIA_HEURISTICS }));
      const [video, audio, srtp] = [await analyse(plainVideo), await analyse(plainAudio), await analyse(srtpVideo)];
      console.log(`plain VP8: ${describeAnalysis(video)}\nplain Opus: ${describeAnalysis(audio)}\nSRTP VP8: ${describeAnalysis(srtp)}`);
      for (const [name, analysis] of [['plain VP8', video], ['plain Opus', audio]] as const) {
        assert.ok(analysis.rtpPackets >= 100, `${name}: RTP captured (${analysis.rtpPackets})`);
        assert.equal(analysis.encrypted, false, `${name} is not judged encrypted`);
        assert.ok(analysis.payloadTypes.every((t) => t.verdict === 'plain'), `${name}: judged plain`);
      }
      assert.ok(srtp.rtpPackets >= 100, `SRTP VP8: RTP captured (${srtp.rtpPackets})`);
      assert.equal(srtp.encrypted, true, 'SRTP VP8 is judged encrypted');
    } finally {
      await disposeCapture(capture);
    }
  });
});
