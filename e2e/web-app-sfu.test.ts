/**
 * The web app in a group call: on a server with the default `auto` topology, three people join
 * the same room through the join page (Chromium, Firefox, Chromium); the call moves to the SFU,
 * everyone sees three tiles with the two remote ones playing video received through the SFU,
 * speakers get the speaking ring, and a leaver's tile disappears for the others while they keep
 * seeing each other.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { TestPage } from './harness/browsers.ts';
import { useCallEnvironment } from './harness/environment.ts';
import { click, joinThroughUi, remoteTileState, waitForCall, waitForRemoteVideo } from './harness/web-ui.ts';

const env = useCallEnvironment();

/** The page's room is on the SFU with no direct link left, so what its tiles play came through the SFU. */
async function waitForSfuOnly(page: TestPage): Promise<void> {
  await page.waitFor(
    async () => {
      const room = window.parleyRoom;
      return room?.topology === 'sfu' && (await room.debugState({ stats: false })).links.length === 0;
    },
    undefined,
    { timeoutMs: 20_000, what: 'the call on the SFU with no direct link left' },
  );
}

/** Each remote tile plays the camera track the room now holds for that participant (the SFU's). */
function tilesShowCurrentTracks(page: TestPage): Promise<Array<{ identity: string; current: boolean; width: number }>> {
  return page.evaluate(() => {
    const room = window.parleyRoom!;
    return [...document.querySelectorAll<HTMLElement>('[data-testid="tile"][data-local="false"]')].map((tile) => {
      const identity = tile.dataset.identity ?? '';
      const video = tile.querySelector<HTMLVideoElement>('[data-testid="tile-video"]')!;
      const shown = video.srcObject instanceof MediaStream ? video.srcObject.getVideoTracks()[0] : undefined;
      const current = room.remoteParticipants.get(identity)?.tracks.get('camera')?.track;
      return { identity, current: shown !== undefined && shown === current, width: video.videoWidth };
    });
  }, undefined);
}

describe('web app in an SFU room', () => {
  test('three people join through the UI: the call moves to the SFU, everyone sees three tiles playing; a leaver disappears', async () => {
    const room = 'web-sfu';
    const alice = await joinThroughUi(env.chromium, env.server.url, room, 'Alice');
    await waitForCall(alice, 1);
    const bob = await joinThroughUi(env.firefox, env.server.url, room, 'Bob');
    await Promise.all([waitForCall(alice, 2), waitForCall(bob, 2)]);
    await Promise.all([waitForRemoteVideo(alice, 'Bob'), waitForRemoteVideo(bob, 'Alice')]);
    assert.equal(await alice.evaluate(() => window.parleyRoom?.topology, undefined), 'p2p', 'two people talk directly first');

    const carol = await joinThroughUi(env.chromium, env.server.url, room, 'Carol');
    const everyone = { Alice: alice, Bob: bob, Carol: carol };
    await Promise.all(Object.values(everyone).map((page) => waitForCall(page, 3)));
    await Promise.all(Object.values(everyone).map(waitForSfuOnly));
    await Promise.all(
      Object.entries(everyone).flatMap(([viewer, page]) =>
        Object.keys(everyone)
          .filter((name) => name !== viewer)
          .map((name) => waitForRemoteVideo(page, name, 40_000)),
      ),
    );
    for (const [viewer, page] of Object.entries(everyone)) {
      const tiles = await tilesShowCurrentTracks(page);
      console.log(`${viewer} sees`, JSON.stringify(tiles));
      assert.equal(await page.evaluate(() => document.querySelectorAll('[data-testid="tile"]').length, undefined), 3, `${viewer} has three tiles`);
      assert.equal(tiles.length, 2);
      for (const tile of tiles) assert.ok(tile.current && tile.width > 0, `${viewer} plays ${tile.identity}'s SFU track`);
    }
    // Everyone's fake microphone beeps, so the SFU names speakers: their tiles get the speaking ring.
    await alice.waitFor(() => document.querySelector('[data-testid="tile"][data-speaking="true"].is-speaking') !== null, undefined, { timeoutMs: 15_000, what: 'a speaking ring on a tile' });
    // The videos playing imply the cameras are on the SFU, not the microphones (published in
    // parallel): poll until all six tracks are there, for at most 10 s.
    let sfu = await env.server.media.sfuStats(room);
    for (const deadline = Date.now() + 10_000; sfu.publishedTracks < 6 && Date.now() < deadline; sfu = await env.server.media.sfuStats(room)) await delay(100);
    console.log('SFU:', JSON.stringify(sfu));
    assert.equal(sfu.publishedTracks, 6, 'three people publish camera and microphone through the SFU');

    await click(bob, 'leave');
    await Promise.all([waitForCall(alice, 2), waitForCall(carol, 2)]);
    for (const page of [alice, carol]) assert.equal((await remoteTileState(page, 'Bob')).exists, false, 'Bob’s tile is gone');
    // The two left keep seeing each other.
    await Promise.all([waitForRemoteVideo(alice, 'Carol'), waitForRemoteVideo(carol, 'Alice')]);
    await Promise.all([alice.close(), bob.close(), carol.close()]);
  });
});
