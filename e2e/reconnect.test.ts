/**
 * Signaling drops mid-call: the SDK reconnects and resumes the same membership, nobody sees a
 * leave or a join, and media (which never went through signaling) does not stop.
 * The SFU's media worker crashes mid-call: the server restarts it, and the SDK reconnects its
 * media to the new worker by itself, again without a leave or a join.
 * The whole server restarts mid-call (a deploy): the SDKs join the new one by themselves.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { startServer, type RunningServer, type WorkerPool } from '@parley/server';
import { freeTcpPort, freeUdpPort, testServerLogger, useCallEnvironment } from './harness/environment.ts';
import { SdkParticipant, type ParleyWindow, type SignalingTapWindow } from './harness/participant.ts';
import { SilentDropProxy } from './harness/silent-drop-proxy.ts';

const env = useCallEnvironment();
let roomCounter = 0;
const freshRoom = () => `reconnect-${++roomCounter}`;
/** How many subscriber answers the page mangled on their way out. */
type RefusingWindow = { __refusedAnswers: number };

/** Closes a participant's signaling socket from the server side, abruptly (no close frame). */
function dropSignaling(room: string, identity: string): void {
  const participant = env.server.rooms.get(room)?.get(identity);
  assert.ok(participant && !participant.suspended, `${identity} has a signaling connection`);
  participant.link.drop();
}

async function assertResumes(dropped: SdkParticipant, others: SdkParticipant[], room: string): Promise<void> {
  const watches = [dropped.longestVideoGapMs(others[0]!.identity, 6000), ...others.map((o) => o.longestVideoGapMs(dropped.identity, 6000))];
  await new Promise((resolve) => setTimeout(resolve, 1000));
  dropSignaling(room, dropped.identity);
  await dropped.waitForEvent('connectionStateChanged', 'reconnecting');
  await dropped.page.waitFor(() => (window as unknown as ParleyWindow).__parley.room.state === 'connected', undefined, { timeoutMs: 10_000, what: 'connected again' });
  const results = await Promise.all(watches);
  console.log(`frames across the drop: ${results.map((r) => `${r.frames} frames, longest freeze ${r.gapMs} ms`).join('; ')}`);
  // Media does not go through signaling: the picture keeps moving across the drop (no freeze over
  // 1 s) and frames keep coming after it (more than the ~20 decoded in the second before it).
  for (const { gapMs, frames } of results) {
    assert.ok(gapMs <= 1000, `media never stopped (longest freeze ${gapMs} ms)`);
    assert.ok(frames >= 30, `frames kept coming after the drop (${frames} in 6 s)`);
  }
  for (const other of others) {
    const events = await other.events();
    assert.ok(!events.some((e) => e.detail.startsWith(`${dropped.identity}:`) && e.name === 'participantLeft'), `${other.identity} saw no leave`);
    assert.equal(events.filter((e) => e.name === 'participantJoined' && e.detail === dropped.identity).length, events.some((e) => e.name === 'participantJoined' && e.detail === dropped.identity) ? 1 : 0, `${other.identity} saw no second join`);
  }
  assert.deepEqual((await dropped.remoteIdentities()).sort(), others.map((o) => o.identity).sort());
  assert.equal(env.server.rooms.get(room)?.size, others.length + 1, 'no duplicate participant on the server');
  // Signaling works again: a data message reaches the others.
  await dropped.page.evaluate(() => (window as unknown as ParleyWindow).__parley.room.sendData('after-resume'), undefined);
}

describe('reconnection', () => {
  test('P2P: a dropped signaling socket resumes; no leave/join, media never stops', async () => {
    const room = freshRoom();
    const alice = await SdkParticipant.join(env.chromium, env.server.url, room, 'alice', { roomConfig: { topology: 'p2p' } });
    const bob = await SdkParticipant.join(env.firefox, env.server.url, room, 'bob', { roomConfig: { topology: 'p2p' } });
    await SdkParticipant.waitForMediaBetween(alice, bob);
    await assertResumes(alice, [bob], room);
    await Promise.all([alice.close(), bob.close()]);
  });

  test('P2P: a page busy for 6 s keeps its signaling; a connection that goes silent (open, carrying nothing) is given up by the SDK itself and resumed, nobody sees a leave', async () => {
    const room = freshRoom();
    const proxy = await SilentDropProxy.start(env.server.url);
    try {
      const alice = await SdkParticipant.join(env.chromium, proxy.url, room, 'alice', { roomConfig: { topology: 'p2p' }, recordSignaling: true });
      const bob = await SdkParticipant.join(env.firefox, env.server.url, room, 'bob', { roomConfig: { topology: 'p2p' } });
      await SdkParticipant.waitForMediaBetween(alice, bob);

      // The page's main thread blocked 6 s: the server's pongs wait in its task queue behind the
      // late timers. The SDK pings again once it runs; its pong must come back on the same connection.
      const busyFrom = Date.now();
      const pingsBefore = await alice.page.evaluate(() => {
        const end = performance.now() + 6000;
        while (performance.now() < end);
        return (window as unknown as SignalingTapWindow).__signaling.sent.filter((m) => m.type === 'ping').length;
      }, undefined);
      await alice.page.waitFor(
        (pingsBefore) => {
          const tap = (window as unknown as SignalingTapWindow).__signaling;
          const pings = tap.sent.filter((m) => m.type === 'ping').slice(pingsBefore).map((m) => m.id);
          return tap.received.some((m) => m.type === 'pong' && pings.includes(m.replyTo));
        },
        pingsBefore,
        { timeoutMs: 10_000, what: 'alice: a ping after the busy stretch answered' },
      );
      const afterBusy = (await alice.events()).filter((e) => e.at >= busyFrom);
      assert.deepEqual(afterBusy.filter((e) => e.name === 'connectionStateChanged').map((e) => e.detail), [], 'alice kept her signaling connection through the busy stretch');

      // Her connection goes silent: open, nothing delivered either way (a NAT that forgot it).
      const watch = bob.longestVideoGapMs('alice', 14_000);
      const silentAt = performance.now();
      proxy.dropOpen();
      await alice.waitForEvent('connectionStateChanged', 'reconnecting', 20_000);
      const gaveUpMs = Math.round(performance.now() - silentAt);
      await alice.page.waitFor(() => (window as unknown as ParleyWindow).__parley.room.state === 'connected', undefined, { timeoutMs: 10_000, what: 'alice connected again' });
      const backMs = Math.round(performance.now() - silentAt);
      const media = await watch;
      console.log(`alice's signaling went silent: the SDK gave it up after ${gaveUpMs} ms and was connected again after ${backMs} ms; bob's view of alice across it: longest freeze ${media.gapMs} ms, ${media.frames} frames`);
      // Three pings unanswered (liveness.ts: 9 s of silence, checked each second), with slack for a loaded machine.
      assert.ok(gaveUpMs >= 8000 && gaveUpMs < 15_000, `given up after ${gaveUpMs} ms (9-10 s expected)`);
      assert.ok(media.gapMs <= 1000, `media never stopped (longest freeze ${media.gapMs} ms)`);
      const bobSaw = await bob.events();
      assert.ok(!bobSaw.some((e) => e.name === 'participantLeft' && e.detail.startsWith('alice')), 'bob saw no leave');
      assert.equal(env.server.rooms.get(room)?.size, 2, 'one alice on the server');
      await alice.page.evaluate(() => (window as unknown as ParleyWindow).__parley.room.sendData('after-silence'), undefined);
      await Promise.all([alice.close(), bob.close()]);
    } finally {
      await proxy.close();
    }
  });

  test('SFU: a dropped signaling socket resumes; a later joiner still reaches everyone', async () => {
    const room = freshRoom();
    const sfu = { roomConfig: { topology: 'sfu' as const } };
    const ann = await SdkParticipant.join(env.chromium, env.server.url, room, 'ann', sfu);
    const ben = await SdkParticipant.join(env.chromium, env.server.url, room, 'ben', sfu);
    await SdkParticipant.waitForMediaBetween(ann, ben);
    await assertResumes(ann, [ben], room);
    const cat = await SdkParticipant.join(env.firefox, env.server.url, room, 'cat', sfu);
    await SdkParticipant.waitForMediaBetween(ann, cat);
    await Promise.all([ann.close(), ben.close(), cat.close()]);
  });

  test('SFU: the media worker crashes; the server restarts it and both sides see and hear each other again within 10 s', async () => {
    const room = freshRoom();
    const sfu = { roomConfig: { topology: 'sfu' as const } };
    const ann = await SdkParticipant.join(env.chromium, env.server.url, room, 'ann', sfu);
    const ben = await SdkParticipant.join(env.chromium, env.server.url, room, 'ben', sfu);
    await SdkParticipant.waitForMediaBetween(ann, ben);
    const pool = (await env.server.media.service()) as WorkerPool;
    const [crashed] = pool.pids;
    assert.ok(crashed !== undefined, 'an SFU worker runs');
    // What each side plays now comes over the connections the crash kills: mark them.
    const crashedSfu = await Promise.all([ann, ben].map(async (p) => (await p.page.evaluate(() => (window as unknown as ParleyWindow).__parley.room.debugState({ stats: false }), undefined)).sfu?.id));

    const killedAt = Date.now();
    process.kill(crashed, 'SIGKILL');
    await Promise.all(
      [ann, ben].map((p, index) =>
        p.page.waitFor(async (crashed) => (await (window as unknown as ParleyWindow).__parley.room.debugState({ stats: false })).sfu?.id !== crashed, crashedSfu[index], { timeoutMs: 10_000, what: `${p.identity} reconnects its media` }),
      ),
    );
    await SdkParticipant.waitForMediaBetween(ann, ben, 10, Math.max(1, 10_000 - (Date.now() - killedAt)));
    const recoveredMs = Date.now() - killedAt;
    console.log(`worker ${crashed} killed: both sides decode each other again after ${recoveredMs} ms (new worker ${pool.pids.join(',')})`);
    assert.notDeepEqual(pool.pids, [crashed], 'a new worker process');
    for (const [p, other] of [[ann, ben], [ben, ann]] as const) {
      const events = await p.events();
      assert.ok(!events.some((e) => e.name === 'participantLeft' || (e.name === 'participantJoined' && e.detail === other.identity && e.at >= killedAt)), `${p.identity} saw no leave or join`);
      assert.equal(await p.page.evaluate(() => (window as unknown as ParleyWindow).__parley.room.state, undefined), 'connected');
    }
    await Promise.all([ann.close(), ben.close()]);
  });

  test('SFU: an answer the SFU refuses: the SDK asks for a fresh receiving connection by itself and media arrives', async () => {
    const room = freshRoom();
    const sfu = { roomConfig: { topology: 'sfu' as const } };
    const ann = await SdkParticipant.join(env.chromium, env.server.url, room, 'ann', sfu);
    // Ann's first answer to the SFU goes out mangled, as if it had been built from another offer.
    await ann.page.evaluate(() => {
      const send = WebSocket.prototype.send;
      const page = window as unknown as RefusingWindow;
      page.__refusedAnswers = 0;
      WebSocket.prototype.send = function (data) {
        const message = typeof data === 'string' ? JSON.parse(data) : undefined;
        if (message?.type !== 'subscriberAnswer' || page.__refusedAnswers > 0) return send.call(this, data);
        page.__refusedAnswers++;
        return send.call(this, JSON.stringify({ ...message, sdp: 'v=0\r\n' }));
      };
    }, undefined);
    const ben = await SdkParticipant.join(env.chromium, env.server.url, room, 'ben', sfu);
    await SdkParticipant.waitForMediaBetween(ann, ben);
    assert.equal(await ann.page.evaluate(() => (window as unknown as RefusingWindow).__refusedAnswers, undefined), 1, 'one answer was refused');
    assert.deepEqual((await ann.events()).filter((e) => e.name === 'error'), [], 'ann recovered without an error');
    await Promise.all([ann.close(), ben.close()]);
  });
});

describe('server restart', () => {
  for (const topology of ['p2p', 'sfu'] as const) {
    test(`${topology.toUpperCase()}: the server shuts down mid-call and comes back: both SDKs join it again by themselves and media flows within 15 s`, async () => {
      const config = { port: await freeTcpPort(), turn: { enabled: false }, sfu: { udpPort: await freeUdpPort(), workers: 1 } };
      let server: RunningServer = await startServer(config, { logger: testServerLogger() });
      const room = `restart-${topology}`;
      const options = { roomConfig: { topology } };
      const ann = await SdkParticipant.join(env.chromium, server.url, room, 'ann', options);
      const fox = await SdkParticipant.join(env.firefox, server.url, room, 'fox', options);
      try {
        await SdkParticipant.waitForMediaBetween(ann, fox);
        // Mark the connections media flows over now: the new server knows nothing of them.
        const mediaIds = async (p: SdkParticipant) => {
          const debug = await p.page.evaluate(() => (window as unknown as ParleyWindow).__parley.room.debugState({ stats: false }), undefined);
          return [...(debug.sfu ? [debug.sfu.id] : []), ...debug.links.map((link) => link.id)];
        };
        const before = await Promise.all([ann, fox].map(mediaIds));

        const stoppedAt = Date.now();
        await server.close();
        server = await startServer(config, { logger: testServerLogger() });
        await Promise.all(
          [ann, fox].map((p, index) =>
            p.page.waitFor(
              async ({ topology, before }) => {
                const current = await (window as unknown as ParleyWindow).__parley.room.debugState({ stats: false });
                const media = topology === 'sfu' ? [current.sfu?.id] : current.links.map((link) => link.id);
                return current.state === 'connected' && media.length > 0 && media.every((id) => id !== undefined && !before.includes(id));
              },
              { topology, before: before[index]! },
              { timeoutMs: 15_000, what: `${p.identity} joins the restarted server with new connections` },
            ),
          ),
        );
        await SdkParticipant.waitForMediaBetween(ann, fox, 10, Math.max(1, 15_000 - (Date.now() - stoppedAt)));
        console.log(`${topology}: server restarted; both decode each other again ${Date.now() - stoppedAt} ms after the shutdown began`);
        assert.equal(server.rooms.get(room)?.size, 2, 'both are members of the restarted server');
        for (const p of [ann, fox]) assert.deepEqual((await p.events()).filter((e) => e.name === 'error' || e.name === 'disconnected'), [], `${p.identity}: no error, never disconnected`);
      } finally {
        await Promise.all([ann.close(), fox.close()]);
        await server.close();
      }
    });
  }
});

