/**
 * Relay-only calls (`iceTransportPolicy: 'relay'`) in real browsers: through Parley's built-in
 * TURN server (Chromium <-> Chromium, Chromium <-> Firefox), through a real coturn configured by
 * `parley turn-config`, and TURN credentials renewed during a call.
 *
 * Peer policy: with a relay-only policy both browsers signal only relay candidates, so the only
 * peers either TURN server sees are relay addresses: coturn's 127.0.0.1, which these tests allow
 * exactly (127.0.0.1/32, nothing else; loopback peers are denied by default), and the built-in
 * server's own relay address (the host's address its SFU is reached at, reachable on live relay
 * ports by its own rule).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startServer, type RunningServer } from '@parley/server';
import { launchBrowser, type TestBrowser } from './harness/browsers.ts';
import { SdkParticipant, type ParleyWindow } from './harness/participant.ts';
import { assertNoSecretsLogged, freeUdpPort, testServerLogger } from './harness/environment.ts';
import { startCoturn, type CoturnProcess } from '../packages/server/test/turn/coturn-process.ts';

const SECRET = 'e2e-turn-secret-0123456789abcdef';
const ALLOWED_PEERS = ['127.0.0.1/32'];
const BUILT_IN_RELAY_PORTS = { relayPortMin: 45000, relayPortMax: 45999 };
const COTURN_RELAY_PORTS = { min: 47000, max: 47999 };

interface SelectedPath {
  type: string;
  address: string;
  port: number;
  relayProtocol?: string;
  username?: string;
}

/** The selected pair's local candidate on every link of the page's room (a test-only look inside the SDK). */
async function selectedPaths(participant: SdkParticipant): Promise<SelectedPath[]> {
  const debug = await participant.page.evaluate(() => (window as unknown as ParleyWindow).__parley.room.debugState(), undefined);
  return debug.links.map((link) => ({
    type: String(link.selectedLocalCandidate?.candidateType),
    address: String(link.selectedLocalCandidate?.address),
    port: Number(link.selectedLocalCandidate?.port),
    ...(link.selectedLocalCandidate?.relayProtocol === undefined ? {} : { relayProtocol: link.selectedLocalCandidate.relayProtocol }),
    ...(link.turnUsername === undefined ? {} : { username: link.turnUsername }),
  }));
}

/** Both sides decode video and hear audio, and each side's selected local candidate is a relay in `relayPorts`. */
async function assertRelayedCall(a: SdkParticipant, b: SdkParticipant, relayPorts: { min: number; max: number }): Promise<void> {
  const [atA, atB] = await SdkParticipant.waitForMediaBetween(a, b, 10, 30_000);
  for (const [who, inbound] of [[a, atA], [b, atB]] as const) {
    const video = inbound.find((s) => s.kind === 'video')!;
    assert.equal(video.candidateType, 'relay', `${who.identity}: the selected pair's local candidate is a relay`);
    assert.ok((video.frames ?? 0) > 10, `${who.identity} decodes video`);
    const [path] = await selectedPaths(who);
    console.log(`${who.identity} (${who.page.name}): ${video.frames} frames over ${path?.type} ${path?.address}:${path?.port}`);
    assert.equal(path?.type, 'relay');
    assert.ok(path!.port >= relayPorts.min && path!.port <= relayPorts.max, `${who.identity}: relayed by the expected server (port ${path?.port})`);
  }
  const before = await a.framesFrom(b.identity);
  await a.waitForMediaFrom(b.identity, before + 10);
}

let chromium: TestBrowser;
let firefox: TestBrowser;
const servers: RunningServer[] = [];
before(async () => {
  [chromium, firefox] = await Promise.all([launchBrowser('chromium'), launchBrowser('firefox')]);
});
after(async () => {
  await Promise.all([chromium?.close(), firefox?.close()]);
  for (const server of servers) await server.close();
  for (const server of servers) assertNoSecretsLogged(server);
});

describe('relay-only calls through the built-in TURN server', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({ port: 0, turn: { port: 0, allowedPeers: ALLOWED_PEERS, ...BUILT_IN_RELAY_PORTS } }, { logger: testServerLogger() });
    servers.push(server);
  });

  test('Chromium <-> Chromium', async () => {
    const relayedBefore = server.turn!.server.metrics.relayedPackets;
    const alice = await SdkParticipant.join(chromium, server.url, 'turn-cc', 'alice', { iceTransportPolicy: 'relay' });
    const bob = await SdkParticipant.join(chromium, server.url, 'turn-cc', 'bob', { iceTransportPolicy: 'relay' });
    try {
      await assertRelayedCall(alice, bob, { min: BUILT_IN_RELAY_PORTS.relayPortMin, max: BUILT_IN_RELAY_PORTS.relayPortMax });
      assert.ok(server.turn!.server.metrics.relayedPackets - relayedBefore > 500, 'the media went through the built-in server');
    } finally {
      await Promise.all([alice.close(), bob.close()]);
    }
  });

  test('Chromium <-> Firefox', async () => {
    const chrome = await SdkParticipant.join(chromium, server.url, 'turn-cf', 'chrome-user', { iceTransportPolicy: 'relay' });
    const fox = await SdkParticipant.join(firefox, server.url, 'turn-cf', 'firefox-user', { iceTransportPolicy: 'relay' });
    try {
      await assertRelayedCall(chrome, fox, { min: BUILT_IN_RELAY_PORTS.relayPortMin, max: BUILT_IN_RELAY_PORTS.relayPortMax });
    } finally {
      await Promise.all([chrome.close(), fox.close()]);
    }
  });

  test('credentials are renewed at 80% of their lifetime and the relayed call carries on', async () => {
    const shortLived = await startServer(
      { port: 0, ice: { turnCredentialTtlSeconds: 8 }, turn: { port: 0, allowedPeers: ALLOWED_PEERS, ...BUILT_IN_RELAY_PORTS } },
      { logger: testServerLogger() },
    );
    servers.push(shortLived);
    const alice = await SdkParticipant.join(chromium, shortLived.url, 'turn-renew', 'alice', { iceTransportPolicy: 'relay' });
    const bob = await SdkParticipant.join(chromium, shortLived.url, 'turn-renew', 'bob', { iceTransportPolicy: 'relay' });
    try {
      await assertRelayedCall(alice, bob, { min: BUILT_IN_RELAY_PORTS.relayPortMin, max: BUILT_IN_RELAY_PORTS.relayPortMax });
      const [first] = await selectedPaths(alice);
      const expiry = (path: SelectedPath | undefined) => Number(path?.username?.split(':')[0]);
      await alice.page.waitFor(
        async (first) => (await (window as unknown as ParleyWindow).__parley.room.debugState({ stats: false })).links[0]?.turnUsername !== first,
        first?.username,
        { timeoutMs: 15_000, what: 'the link got fresh TURN credentials' },
      );
      const [renewed] = await selectedPaths(alice);
      assert.ok(expiry(renewed) > expiry(first), `a later expiry: ${first?.username} -> ${renewed?.username}`);
      const framesAfterRenewal = await alice.framesFrom('bob');
      await alice.waitForMediaFrom('bob', framesAfterRenewal + 20);
      const [path] = await selectedPaths(alice);
      assert.equal(path?.type, 'relay', 'still relayed after the ICE restart');
      assert.deepEqual((await alice.events()).filter((e) => e.name === 'error'), []);
    } finally {
      await Promise.all([alice.close(), bob.close()]);
    }
  });
});

describe('participants that may only use TURN in an SFU room', () => {
  test('the built-in TURN carries a relay-only Chromium\'s and Firefox\'s media to the SFU and back, Firefox over TURN/UDP (loopback server, no relay address or allowed peers configured): each decodes the others and they decode it', async () => {
    // No turn.allowedPeers: the built-in TURN reaches the host's SFU media port by its own narrow
    // rule. No turn.relayAddress either, as on `npm start`: the default is the host address the
    // SFU's candidates carry (defaultRelayAddress); relaying from 127.0.0.1, the SFU's answers
    // would come back from 127.0.0.1, not the address the browser's ICE checked.
    const server = await startServer(
      { port: 0, sfu: { udpPort: await freeUdpPort(), workers: 1 }, turn: { port: 0, relayPortMin: 46000, relayPortMax: 46999 } },
      { logger: testServerLogger() },
    );
    servers.push(server);
    const sfuRoom = { topology: 'sfu' as const };
    const alice = await SdkParticipant.join(chromium, server.url, 'turn-sfu', 'alice', { roomConfig: sfuRoom, microphone: false });
    const bob = await SdkParticipant.join(firefox, server.url, 'turn-sfu', 'bob', { roomConfig: sfuRoom, microphone: false });
    const relayedBefore = server.turn!.server.metrics.relayedPackets;
    // One relay-only participant per browser engine: each reaches the SFU over TURN/UDP.
    const relayOnly = { roomConfig: sfuRoom, microphone: false, iceTransportPolicy: 'relay' as const, recordConnections: true };
    const walled = await SdkParticipant.join(chromium, server.url, 'turn-sfu', 'walled', relayOnly);
    const walledFox = await SdkParticipant.join(firefox, server.url, 'turn-sfu', 'walledfox', relayOnly);
    try {
      for (const relayOnly of [walled, walledFox]) {
        for (const from of ['alice', 'bob', relayOnly === walled ? 'walledfox' : 'walled']) {
          const video = await relayOnly.waitForVideoFrom(from, 10);
          assert.equal(video.candidateType, 'relay', `${relayOnly.identity} receives ${from} through the relay`);
        }
        for (const viewer of [alice, bob]) await viewer.waitForVideoFrom(relayOnly.identity, 10);
        const sent = (await relayOnly.stats()).filter((s) => s.direction === 'outbound' && s.kind === 'video');
        assert.ok(sent.length > 0 && sent.every((s) => s.candidateType === 'relay'), `${relayOnly.identity} publishes through the relay (${sent.map((s) => s.candidateType).join(', ')})`);
        // Every connection of the page: its camera's publish connection and its receiving one.
        const pairs = await relayOnly.selectedCandidatePairs();
        console.log(`${relayOnly.identity} (${relayOnly.page.name}): ${pairs.map((p) => `${p.local.type}/${p.local.relayProtocol} ${p.local.address}:${p.local.port} -> ${p.remote.type} ${p.remote.address}:${p.remote.port}`).join('; ')}`);
        assert.ok(pairs.length >= 2, `${relayOnly.identity}: publishing and receiving connections to the SFU (${pairs.length})`);
        for (const pair of pairs) assert.equal(pair.local.type, 'relay', `${relayOnly.identity}: every SFU connection is relayed`);
        // Firefox relays every connection over TURN/UDP. Chromium, which offers its TURN/TCP
        // allocation too, selected it for its publishing connection in 2 of 4 runs while TURN/UDP
        // worked for its receiving one (not explained yet: ARCHITECTURE.md, "STUN/TURN").
        const protocols = pairs.map((pair) => pair.local.relayProtocol);
        if (relayOnly === walledFox) assert.deepEqual(protocols, pairs.map(() => 'udp'), 'walledfox: over TURN/UDP');
        else assert.ok(protocols.every((p) => p === 'udp' || p === 'tcp'), `walled: TURN/UDP, or TCP where Chromium picked it (${protocols.join(', ')})`);
      }
      const relayed = server.turn!.server.metrics.relayedPackets - relayedBefore;
      console.log(`relay-only participants in an SFU room: ${relayed} packets relayed by the built-in TURN`);
      assert.ok(relayed > 600, 'the media went through the built-in TURN');
    } finally {
      await Promise.all([alice.close(), bob.close(), walled.close(), walledFox.close()]);
    }
  });
});

describe('relay-only call through a real coturn configured by `parley turn-config`', () => {
  let coturn: CoturnProcess | undefined;
  let server: RunningServer;

  before(async () => {
    const port = await freeUdpPort();
    coturn = await startCoturn({
      PARLEY_TURN_SECRET: SECRET,
      PARLEY_TURN_HOST: '127.0.0.1',
      PARLEY_TURN_PORT: String(port),
      PARLEY_TURN_RELAY_ADDRESS: '127.0.0.1',
      PARLEY_TURN_RELAY_PORTS: `${COTURN_RELAY_PORTS.min}-${COTURN_RELAY_PORTS.max}`,
      PARLEY_TURN_ALLOWED_PEERS: ALLOWED_PEERS.join(','),
    });
    assert.match(coturn.generated, /^allow-loopback-peers$/m, 'allowing 127.0.0.1 makes coturn accept loopback peers');
    server = await startServer(
      { port: 0, ice: { turnSecret: SECRET, turnUrls: [`turn:127.0.0.1:${port}?transport=udp`] }, turn: { enabled: false } },
      { logger: testServerLogger() },
    );
    servers.push(server);
  });
  after(() => coturn?.stop());

  test('Chromium <-> Firefox relayed by coturn', async () => {
    const chrome = await SdkParticipant.join(chromium, server.url, 'coturn', 'chrome-user', { iceTransportPolicy: 'relay' });
    const fox = await SdkParticipant.join(firefox, server.url, 'coturn', 'firefox-user', { iceTransportPolicy: 'relay' });
    try {
      await assertRelayedCall(chrome, fox, COTURN_RELAY_PORTS);
    } catch (error) {
      console.log(coturn?.log().slice(-4000));
      throw error;
    } finally {
      await Promise.all([chrome.close(), fox.close()]);
    }
  });
});
