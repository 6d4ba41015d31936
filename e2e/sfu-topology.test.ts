/**
 * The SFU across cores and back to P2P: rooms spread over SFU worker processes (a room lives on
 * one), and an `auto` room configured with `p2pWhenTwo` returns to a direct call when it drops to
 * two, media flowing again without anyone rejoining.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { useCallEnvironment } from './harness/environment.ts';
import { SdkParticipant, type ParleyWindow } from './harness/participant.ts';

const env = useCallEnvironment({ rooms: { topology: 'auto', p2pWhenTwo: true }, sfu: { workers: 2 } });
const smallCamera = { width: 640, height: 360, frameRate: 15 };

describe('SFU topology', () => {
  test('two SFU rooms land on two worker processes', async () => {
    const options = { roomConfig: { topology: 'sfu' as const }, camera: false, microphone: false };
    const first = await SdkParticipant.join(env.chromium, env.server.url, 'spread-1', 'one', options);
    const second = await SdkParticipant.join(env.chromium, env.server.url, 'spread-2', 'two', options);
    // The media side of a join completes just after the join's reply: poll the workers briefly.
    const sfu = await env.server.media.service();
    let perWorker = await sfu.stats();
    for (let attempt = 0; attempt < 50 && perWorker.reduce((n, w) => n + w.rooms, 0) < 2; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      perWorker = await sfu.stats();
    }
    assert.equal(perWorker.length, 2, 'two SFU worker processes');
    assert.deepEqual(perWorker.map((w) => w.rooms), [1, 1], 'one room on each');
    await Promise.all([first.close(), second.close()]);
  });

  test('p2pWhenTwo: a third leaves and the remaining two talk directly again', async () => {
    const room = 'back-to-p2p';
    const a = await SdkParticipant.join(env.chromium, env.server.url, room, 'back-a', { video: smallCamera });
    const b = await SdkParticipant.join(env.chromium, env.server.url, room, 'back-b', { video: smallCamera });
    const c = await SdkParticipant.join(env.firefox, env.server.url, room, 'back-c', { video: smallCamera });
    await Promise.all([a.waitForEvent('topologyChanged', 'sfu'), b.waitForEvent('topologyChanged', 'sfu')]);
    await SdkParticipant.waitForMediaBetween(a, b);
    await c.disconnect();
    await Promise.all([a.waitForEvent('topologyChanged', 'p2p'), b.waitForEvent('topologyChanged', 'p2p')]);
    // Media flows again over a direct link: frames grow on a stream whose path is not the SFU's.
    for (const [receiver, sender] of [[a, b], [b, a]] as const) {
      await receiver.page
        .waitFor(
          async (from) => {
            const room = (window as unknown as ParleyWindow).__parley.room;
            const stats = await room.getStats();
            return (await room.debugState({ stats: false })).links.length === 1 && stats.some((s) => s.participant === from && s.direction === 'inbound' && s.kind === 'video' && (s.frames ?? 0) > 10);
          },
          sender.identity,
          { timeoutMs: 20_000, what: `${receiver.identity} decodes ${sender.identity} over a direct link` },
        )
        .catch(async (error: Error) => {
          // What the page had instead: its links and the streams it received.
          const seen = await receiver.page.evaluate(async () => {
            const room = (window as unknown as ParleyWindow).__parley.room;
            const { links } = await room.debugState({ stats: false });
            const inbound = (await room.getStats()).filter((s) => s.direction === 'inbound').map((s) => `${s.participant}:${s.kind} ${s.frames ?? '-'} frames ${s.bytes} bytes`);
            return JSON.stringify({ topology: room.topology, links: links.map((l) => ({ ...l, rtp: undefined })), inbound });
          }, undefined);
          throw new Error(`${error.message}\n  the page had: ${seen}\n  its events: ${JSON.stringify((await receiver.events()).slice(-12))}`);
        });
      assert.equal(await receiver.topology(), 'p2p');
    }
    const sfuNow = await env.server.media.sfuStats(room);
    assert.equal(sfuNow.publishedTracks, 0, 'nothing is published through the SFU any more');
    const events = await a.events();
    assert.ok(!events.some((e) => e.name === 'participantLeft' && e.detail.startsWith('back-b:')), 'nobody rejoined');
    await Promise.all([a.close(), b.close(), c.close()]);
  });
});
