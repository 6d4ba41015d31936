/**
 * A Parley cluster with real parts only: Redis, three `parley start` processes (a-media: media
 * only; b-both: signaling and media; c-signal: signaling only), HAProxy as shipped in front of the
 * two signaling nodes, and real Chromium and Firefox joining through it over TLS.
 *
 * - Two participants (on whichever signaling node HAProxy picked) talk P2P; a third makes it an
 *   SFU call on the room's node (a media node: the media-only one or the other, by load); everyone
 *   decodes everyone.
 * - The signaling-only node is killed with SIGKILL mid-call: whoever was connected through it
 *   resumes through the other signaling node, nobody sees a leave or a join, and video never
 *   stops (media does not cross signaling); restarted on its address, it joins the cluster again.
 * - Redis is killed and restarted (empty) mid-call: video never stops; a new participant joins
 *   the right room once it is back; no ghost room or participant is left.
 * - The room's media node is killed with SIGKILL mid-call: the SDKs reconnect by themselves, the
 *   room is placed on the other media node, and everyone decodes everyone again; the time from the
 *   kill to the last participant decoding again is reported.
 * - The killed node is restarted on its address and the room's node is drained (SIGTERM): the call
 *   moves to the restarted node, make before break: every viewer keeps seeing every camera (the
 *   longest gap between presented frames is measured and bounded), nobody is seen leaving.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort, startNodeProcess, type NodeProcess } from '../packages/server/test/cluster/node-process.ts';
import { TestRedis } from '../packages/server/test/cluster/redis-harness.ts';
import { startHaproxy, type RunningHaproxy } from '../packages/server/test/haproxy-harness.ts';
import { launchBrowser, type TestBrowser } from './harness/browsers.ts';
import { freeUdpPort } from './harness/environment.ts';
import { SdkParticipant, type ParleyWindow } from './harness/participant.ts';

const ROOM = 'cluster-call';
const HEARTBEAT_MS = 200;
const NODE_TTL_MS = 1000;
const DRAIN_SECONDS = 20;
/**
 * Gaps between frames of a camera a viewer may be shown across a drain. Before make before break
 * the middle pair of viewer and camera went 1.8-3.6 s without video here (a fresh join's set-up;
 * the worst 2.0-5.4 s); with it 0.7-1.4 s (the worst 0.8-3.7 s: a publisher's browser encoding its
 * camera for both nodes on 2 cores shared with other test runs stalls now and then). So the middle
 * pair is bounded, and every pair only loosely.
 */
const MEDIAN_GAP_BOUND_MS = 1500;
/**
 * 640x360 at 20 fps, not the SDK's 720p30: during a drain each browser encodes its camera for both
 * nodes and sets up new connections, and three browsers (one Firefox), three nodes, Redis and
 * HAProxy share 2 cores. At 720p the middle gap was 1.6-2.2 s in 4 of 8 runs, with one
 * publisher's whole browser (its sending and its receiving) stalled ~2 s while its new
 * connections started: the machine's CPU, not the handover. This test is about the cluster.
 */
const CAMERA = { width: 640, height: 360, frameRate: 20 };
const WORST_GAP_BOUND_MS = 5000;

interface Health {
  rooms: number;
  participants: number;
}

async function until(condition: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition().catch(() => false))) {
    assert.ok(Date.now() < deadline, `${what} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function health(node: NodeProcess): Promise<Health> {
  return (await fetch(`${node.url}/healthz`)).json() as Promise<Health>;
}

/**
 * Whether `viewer` decodes new frames of `from` now (two samples 400 ms apart: counters restart
 * with new connections), and what was seen, for the failure message.
 */
async function decodingNow(viewer: SdkParticipant, from: string): Promise<{ decoding: boolean; seen: string }> {
  const sample = () => viewer.stats().then(
    (stats) => stats.filter((s) => s.participant === from && s.direction === 'inbound' && s.kind === 'video').map((s) => s.frames ?? 0),
    (error: Error) => error.message.slice(0, 120),
  );
  const before = await sample();
  await new Promise((resolve) => setTimeout(resolve, 400));
  const after = await sample();
  // One entry per stream from `from` (a direct link's and the SFU's during a move), in a stable order.
  const decoding = Array.isArray(before) && Array.isArray(after) && after.length === before.length && after.some((frames, i) => frames > before[i]! + 2);
  return { decoding, seen: `${JSON.stringify(before)} -> ${JSON.stringify(after)}` };
}

async function everyoneDecodesEveryone(participants: SdkParticipant[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const pending = new Map(participants.flatMap((viewer) => participants.filter((other) => other !== viewer).map((other) => [`${viewer.identity} <- ${other.identity}`, [viewer, other, ''] as [SdkParticipant, SdkParticipant, string]])));
  while (pending.size > 0) {
    assert.ok(Date.now() < deadline, `everyone decodes everyone within ${timeoutMs} ms; still waiting (video frames decoded, 400 ms apart): ${[...pending].map(([pair, [, , seen]]) => `${pair}: ${seen}`).join('; ')}`);
    await Promise.all(
      [...pending].map(async ([key, pair]) => {
        const { decoding, seen } = await decodingNow(pair[0], pair[1].identity);
        if (decoding) pending.delete(key);
        else pair[2] = seen;
      }),
    );
  }
}

describe('a cluster behind HAProxy, with real browsers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-cluster-e2e-'));
  let redis: TestRedis;
  const nodes = new Map<string, NodeProcess>();
  const configs = new Map<string, Record<string, unknown>>();
  let proxy: RunningHaproxy;
  let chromium: TestBrowser;
  /** carol's own Chromium: a page behind another tab of its browser is hardly rendered (~1 frame/s presented), which the gap measurements would count as freezes. */
  let chromium2: TestBrowser;
  let firefox: TestBrowser;
  const participants: SdkParticipant[] = [];
  let host = '';
  /** The media node killed in the kill -9 test, and its port (restarted for the drain test). */
  let killedHost = '';
  let killedPort = 0;

  before(async () => {
    // Independent of each other, so started together: the browsers while Redis and the nodes
    // start, the three nodes at once (each on its own ports, picked first). Every part is assigned
    // as soon as it runs, so `after` stops whatever started even when another part failed.
    const browsers = Promise.allSettled([
      launchBrowser('chromium', { acceptInsecureCerts: true }).then((browser) => (chromium = browser)),
      launchBrowser('chromium', { acceptInsecureCerts: true }).then((browser) => (chromium2 = browser)),
      launchBrowser('firefox', { acceptInsecureCerts: true }).then((browser) => (firefox = browser)),
    ]);
    const startCluster = async () => {
      redis = await TestRedis.start();
      const cluster = { redisUrl: redis.url, heartbeatMs: HEARTBEAT_MS, nodeTtlMs: NODE_TTL_MS, keyPrefix: 'e2e:', drainSeconds: DRAIN_SECONDS };
      const udpPorts = new Set<number>();
      const tcpPorts = new Set<number>();
      while (udpPorts.size < 3) udpPorts.add(await freeUdpPort());
      while (tcpPorts.size < 3) tcpPorts.add(await freePort());
      const [udp, tcp] = [[...udpPorts], [...tcpPorts]];
      const started = await Promise.allSettled(
        ([['a-media', ['media']], ['b-both', ['signaling', 'media']], ['c-signal', ['signaling']]] as const).map(async ([id, roles], i) => {
          const config = {
            dev: true,
            behindTlsProxy: true,
            reconnectGraceSeconds: 10,
            turn: { enabled: false },
            sfu: { udpPort: udp[i]!, workers: 1 },
            cluster: { ...cluster, roles },
          };
          configs.set(id, config);
          nodes.set(id, await startNodeProcess(dir, id, config, tcp[i]!));
        }),
      );
      for (const result of started) if (result.status === 'rejected') throw result.reason;
      proxy = await startHaproxy(dir, [`127.0.0.1:${nodes.get('b-both')!.port}`, `127.0.0.1:${nodes.get('c-signal')!.port}`]);
    };
    const [launched, clusterStarted] = await Promise.allSettled([browsers, startCluster()]);
    if (clusterStarted.status === 'rejected') throw clusterStarted.reason;
    if (launched.status === 'fulfilled') for (const result of launched.value) if (result.status === 'rejected') throw result.reason;
  });
  after(async () => {
    await Promise.all([chromium?.close(), chromium2?.close(), firefox?.close()]);
    await proxy?.stop();
    for (const node of nodes.values()) await node.kill();
    await redis?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  test('two talk P2P through the signaling nodes, a third makes it an SFU call on a media node', async (t) => {
    participants.push(await SdkParticipant.join(chromium, proxy.url, ROOM, 'alice', { video: CAMERA }));
    participants.push(await SdkParticipant.join(firefox, proxy.url, ROOM, 'bob', { video: CAMERA }));
    await everyoneDecodesEveryone(participants, 30_000);
    assert.equal(await participants[0]!.page.evaluate(() => (window as unknown as ParleyWindow).__parley.room.topology, undefined), 'p2p');
    participants.push(await SdkParticipant.join(chromium2, proxy.url, ROOM, 'carol', { video: CAMERA }));
    await everyoneDecodesEveryone(participants, 30_000);
    // The room lives on one media node (the least loaded when it was placed), with its SFU.
    const hosts = [];
    for (const id of ['a-media', 'b-both']) if ((await health(nodes.get(id)!)).participants === 3) hosts.push(id);
    assert.equal(hosts.length, 1, 'one media node holds the room and its three participants');
    host = hosts[0]!;
    t.diagnostic(`the room lives on ${host}`);
  });

  test('kill -9 of the signaling-only node mid-call: its participants resume through the other one, nobody sees a leave, media goes on; restarted, it serves again', async (t) => {
    const signalOnly = nodes.get('c-signal')!;
    // Each participant watches another's video across the kill (media does not cross signaling).
    const watched = participants.map((viewer, i) => [viewer, participants[(i + 1) % participants.length]!] as const);
    const gaps = Promise.all(watched.map(([viewer, other]) => viewer.longestVideoGapMs(other.identity, 6000)));
    gaps.catch(() => undefined); // awaited below; a failure before that must not leave it unhandled
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const killedAtWall = Date.now();
    await signalOnly.kill();
    // HAProxy balances by open connections: of three, at least one went through c-signal.
    const since = async (participant: SdkParticipant) => (await participant.events()).filter((e) => e.at >= killedAtWall);
    const reconnected: string[] = [];
    const deadline = Date.now() + 15_000;
    for (;;) {
      const all = await Promise.all(participants.map(async (p) => [p.identity, await since(p)] as const));
      const dropped = all.filter(([, events]) => events.some((e) => e.name === 'connectionStateChanged' && e.detail === 'reconnecting'));
      const back = dropped.filter(([, events]) => events.some((e) => e.name === 'connectionStateChanged' && e.detail === 'connected'));
      if (dropped.length > 0 && back.length === dropped.length) {
        for (const [identity, events] of back) {
          const at = events.find((e) => e.name === 'connectionStateChanged' && e.detail === 'connected')!.at;
          reconnected.push(`${identity} +${at - killedAtWall} ms`);
        }
        break;
      }
      assert.ok(Date.now() < deadline, `those connected through c-signal are connected again within 15 s (${JSON.stringify(all.map(([id, events]) => [id, events.map((e) => `${e.name} ${e.detail}`)]))})`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    for (const [identity, events] of await Promise.all(participants.map(async (p) => [p.identity, await since(p)] as const))) {
      assert.deepEqual(events.filter((e) => e.name === 'participantLeft' || e.name === 'participantJoined' || e.name === 'topologyChanged'), [], `${identity} sees nobody leave or join (the memberships live on the room's node)`);
    }
    const measured = await gaps;
    watched.forEach(([viewer, other], i) => {
      assert.ok(measured[i]!.frames > 30 && measured[i]!.gapMs < 1000, `${viewer.identity} keeps decoding ${other.identity} (${JSON.stringify(measured[i])})`);
    });
    t.diagnostic(`c-signal SIGKILLed: resumed through b-both ${reconnected.join(', ')} after the kill; longest video gaps ${measured.map((m) => m.gapMs).join(', ')} ms`);
    // Back on its old address: registered in the cluster and in HAProxy's rotation again.
    const restarted = await startNodeProcess(dir, 'c-signal', configs.get('c-signal')!, signalOnly.port);
    nodes.set('c-signal', restarted);
    await until(async () => ((await (await fetch(`${restarted.url}/healthz`)).json()) as { cluster: { nodes: number } }).cluster.nodes === 3, 'c-signal sees the cluster of three again');
  });

  test('Redis restarted mid-call: media never stops, and a new participant joins once it is back', async (t) => {
    const watched = participants.map((viewer, i) => [viewer, participants[(i + 1) % participants.length]!] as const);
    const gaps = Promise.all(watched.map(([viewer, other]) => viewer.longestVideoGapMs(other.identity, 5000)));
    gaps.catch(() => undefined); // awaited below; a failure before that must not leave it unhandled
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const killedAt = performance.now();
    await redis.kill();
    // Redis stays away for two node TTLs: every record would have expired had it survived.
    await new Promise((resolve) => setTimeout(resolve, 2 * NODE_TTL_MS));
    await redis.restart();
    const outageMs = Math.round(performance.now() - killedAt);
    const measured = await gaps;
    watched.forEach(([viewer, other], i) => {
      assert.ok(measured[i]!.frames > 30 && measured[i]!.gapMs < 1000, `${viewer.identity} keeps decoding ${other.identity} through the outage (${JSON.stringify(measured[i])})`);
    });
    const joinStarted = performance.now();
    const dave = await SdkParticipant.join(firefox, proxy.url, ROOM, 'dave', { camera: false, microphone: false });
    const joinMs = Math.round(performance.now() - joinStarted);
    try {
      assert.deepEqual((await dave.remoteIdentities()).sort(), ['alice', 'bob', 'carol'], 'dave is in the room where it lives, with everyone');
      await Promise.all(participants.map((p) => p.waitForEvent('participantJoined', 'dave')));
    } finally {
      await dave.close();
    }
    await Promise.all(participants.map((p) => p.page.waitFor(() => !(window as unknown as ParleyWindow).__parley.room.remoteParticipants.has('dave'), undefined, { timeoutMs: 15_000, what: `${p.identity} sees dave leave` })));
    // Rebuilt without ghosts: one room on one media node, three participants in it.
    const counts = await Promise.all(['a-media', 'b-both'].map((id) => health(nodes.get(id)!)));
    assert.deepEqual(counts.filter((c) => c.rooms > 0).map((c) => [c.rooms, c.participants]), [[1, 3]], 'one room on one media node, three participants in it');
    t.diagnostic(`Redis down ${outageMs} ms: longest video gaps ${measured.map((m) => m.gapMs).join(', ')} ms; a new participant joined ${joinMs} ms after it was back (page load included)`);
  });

  test('kill -9 of the room’s media node mid-call: the SDKs move the call to the other media node by themselves', async (t) => {
    assert.ok(host, 'the first test found the room');
    const survivor = host === 'a-media' ? 'b-both' : 'a-media';
    const killedAt = performance.now();
    const killedAtWall = Date.now();
    killedHost = host;
    killedPort = nodes.get(host)!.port;
    await nodes.get(host)!.kill();
    nodes.delete(host);
    // What each SDK did after the kill, printed whether or not the call came back (a failure
    // without it says only who is not decoding whom).
    const eventsSinceKill = new Map<string, Array<{ name: string; detail: string; at: number }>>();
    const printEvents = async () => {
      for (const participant of participants) {
        const events = (await participant.page.evaluate(() => (window as unknown as ParleyWindow).__parley.events, undefined)).filter((e) => e.at >= killedAtWall);
        eventsSinceKill.set(participant.identity, events);
        t.diagnostic(`${participant.identity}: ${events.map((e) => `+${e.at - killedAtWall}ms ${e.name} ${e.detail}`).join('; ')}`);
      }
    };
    try {
      await everyoneDecodesEveryone(participants, 30_000);
      // A new track is shown once it decoded a frame (the frozen one from the dead node stays until
      // then): wait until every viewer was shown every other camera again.
      await until(
        async () => (await Promise.all(participants.map(async (viewer) => {
          const shown = new Set((await viewer.events()).filter((e) => e.at >= killedAtWall && e.name === 'firstFrame').map((e) => e.detail));
          return participants.every((other) => other === viewer || shown.has(`${other.identity}:camera`));
        }))).every(Boolean),
        'every viewer is shown every other camera again',
        15_000,
      );
    } finally {
      await printEvents();
    }
    const backMs = Math.round(performance.now() - killedAt);
    // When each viewer was shown each other camera again: the first frame presented after the kill
    // (the harness's requestVideoFrameCallback). The polling above, in 400 ms rounds, only bounds it.
    const shown: string[] = [];
    let lastShownMs = 0;
    for (const viewer of participants) {
      for (const other of participants.filter((p) => p !== viewer)) {
        const first = eventsSinceKill.get(viewer.identity)?.find((e) => e.name === 'firstFrame' && e.detail === `${other.identity}:camera`);
        assert.ok(first, `${viewer.identity} was shown ${other.identity}'s camera again`);
        lastShownMs = Math.max(lastShownMs, first.at - killedAtWall);
        shown.push(`${viewer.identity} <- ${other.identity} +${first.at - killedAtWall} ms`);
      }
    }
    // The room had moved to the SFU; its new node starts it there (the topology the dead node
    // recorded), so nobody goes through a direct link while the others come back.
    for (const [identity, events] of eventsSinceKill) {
      assert.ok(!events.some((e) => e.name === 'topologyChanged'), `${identity} rejoined straight into the SFU room`);
      // The memberships died with the node; the SDK keeps a participant that comes back in the new
      // room (node-handover.ts), so nobody is seen leaving or joining, and never twice (flapping).
      for (const name of ['participantLeft', 'participantJoined']) {
        const seen = events.filter((e) => e.name === name).map((e) => e.detail.split(':')[0]!);
        assert.equal(seen.length, new Set(seen).size, `${identity} sees nobody ${name === 'participantLeft' ? 'leave' : 'join'} twice (${seen.join(', ')})`);
      }
    }
    const moved = await health(nodes.get(survivor)!);
    assert.deepEqual({ rooms: moved.rooms, participants: moved.participants }, { rooms: 1, participants: 3 }, `the room lives on ${survivor} now`);
    t.diagnostic(`${host} SIGKILLed mid-call (TTL ${NODE_TTL_MS} ms, heartbeat ${HEARTBEAT_MS} ms): everyone sees everyone again ${lastShownMs} ms after the kill (goal: under 3 s; first frames: ${shown.join(', ')}); confirmed decoding by ${backMs} ms`);
    host = survivor;
  });
  test('SIGTERM drains the room’s media node: the call moves to the other one (restarted on its address), each participant’s gap measured', async (t) => {
    const draining = nodes.get(host)!;
    const target = killedHost;
    // The node killed before comes back on its address and takes the room.
    nodes.set(target, await startNodeProcess(dir, target, configs.get(target)!, killedPort));
    await until(async () => (await (await fetch(`${nodes.get('c-signal')!.url}/healthz`)).json()).cluster.nodes === 3, 'the restarted node registered');
    // Every viewer watches every other camera across the drain: the frames presented to it
    // (requestVideoFrameCallback on the element showing the track the SDK gave last), from a second
    // before the signal until a second after it is shown that camera from the new node.
    const watched = participants.flatMap((viewer) => participants.filter((other) => other !== viewer).map((other) => [viewer, other] as const));
    const since = await Promise.all(watched.map(([viewer]) => viewer.pageNow()));
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const termAt = performance.now();
    const termAtWall = Date.now();
    draining.child.kill('SIGTERM');
    const exitedAt = draining.exited.then(() => performance.now());
    // When each viewer was shown each camera from the new node: its first frame presented after the
    // signal (the SDK replaces a track once its new one decoded a frame).
    const swapped: Array<number | undefined> = watched.map(() => undefined);
    const printEvents = async () => {
      for (const participant of participants) {
        const events = (await participant.events()).filter((e) => e.at >= termAtWall && e.name !== 'activeSpeakersChanged');
        t.diagnostic(`${participant.identity}: ${events.map((e) => `+${e.at - termAtWall}ms ${e.name} ${e.detail}`).join('; ')}`);
      }
    };
    try {
      await until(async () => {
        await Promise.all(watched.map(async ([viewer, other], i) => {
          const first = (await viewer.events()).find((e) => e.at >= termAtWall && e.name === 'firstFrame' && e.detail === `${other.identity}:camera`);
          if (first) swapped[i] = first.at - termAtWall;
        }));
        return swapped.every((at) => at !== undefined);
      }, `every viewer is shown every camera from ${target}`, 40_000);
      await everyoneDecodesEveryone(participants, 30_000);
    } finally {
      await printEvents();
    }
    const backMs = Math.round(performance.now() - termAt);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const shown = await Promise.all(watched.map(([viewer, other], i) => viewer.longestPresentedGapSince(other.identity, since[i]!)));
    // The bound's timer is cleared once the node exited: left running it kept this file's process
    // (and so the whole run) waiting ~20 s after the last test.
    let exitBound: NodeJS.Timeout | undefined;
    const drainedMs = Math.round(
      (await Promise.race([exitedAt, new Promise<number>((_, reject) => (exitBound = setTimeout(() => reject(new Error(`${host} still running ${DRAIN_SECONDS + 5} s after SIGTERM`)), (DRAIN_SECONDS + 5) * 1000)))]).finally(() => clearTimeout(exitBound))) - termAt,
    );
    nodes.delete(host);
    const moved = await health(nodes.get(target)!);
    assert.deepEqual({ rooms: moved.rooms, participants: moved.participants }, { rooms: 1, participants: 3 }, `the room lives on ${target} now`);
    t.diagnostic(`${host} drained (SIGTERM): each camera shown from ${target} after ${watched.map(([viewer, other], i) => `${viewer.identity} <- ${other.identity} +${swapped[i]} ms`).join(', ')} (everyone decoding by ${backMs} ms); the node exited after ${drainedMs} ms; longest gap between frames presented: ${watched.map(([viewer, other], i) => `${viewer.identity} <- ${other.identity} ${shown[i]!.gapMs} ms from +${shown[i]!.startsAtMs - 1000} ms (${shown[i]!.frames} frames)`).join(', ')}`);
    // Make before break: everyone kept seeing everyone while the call moved. The old node's media
    // went on until each browser showed the new node's, so no viewer waits for a fresh join's
    // set-up (a 2-3 s black gap per viewer before this was built), and nobody is seen leaving and
    // coming back.
    const gaps = shown.map((s) => s.gapMs).sort((a, b) => a - b);
    const median = (gaps[(gaps.length - 1) >> 1]! + gaps[gaps.length >> 1]!) / 2;
    assert.ok(median < MEDIAN_GAP_BOUND_MS, `the middle viewer kept seeing the middle camera through the drain (median gap ${median} ms of ${gaps.join(', ')})`);
    watched.forEach(([viewer, other], i) => {
      assert.ok(shown[i]!.gapMs < WORST_GAP_BOUND_MS, `${viewer.identity} kept seeing ${other.identity} through the drain (${JSON.stringify(shown[i])})`);
    });
    for (const participant of participants) {
      const seen = (await participant.events()).filter((e) => e.at >= termAtWall && (e.name === 'participantLeft' || e.name === 'participantJoined'));
      assert.deepEqual(seen.map((e) => `${e.name} ${e.detail}`), [], `${participant.identity} sees nobody leave or join while the call moves`);
    }
  });
});
