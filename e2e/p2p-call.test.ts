/**
 * P2P calls in real browsers through a real Parley server: media decoded on both sides over a
 * direct, DTLS-encrypted path, Chromium <-> Firefox both ways, leave/rejoin, a refused third.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { useCallEnvironment } from './harness/environment.ts';
import { SdkParticipant, type ParleyWindow, type StreamFigures } from './harness/participant.ts';

// P2P rooms (policy p2p): two participants at most, media always direct.
const env = useCallEnvironment({ rooms: { topology: 'p2p' } });
let roomCounter = 0;
const freshRoom = () => `p2p-${++roomCounter}`;

/** Both directions decode video and carry audio over a direct, DTLS-connected path. */
async function assertTwoWayCall(a: SdkParticipant, b: SdkParticipant): Promise<void> {
  const [atA, atB] = await SdkParticipant.waitForMediaBetween(a, b);
  for (const [where, inbound] of [[a.identity, atA], [b.identity, atB]] as const) {
    const video = inbound.find((s) => s.kind === 'video') as StreamFigures;
    const audio = inbound.find((s) => s.kind === 'audio') as StreamFigures;
    console.log(`${where} receives: video ${video.codec} ${video.frames} frames ${video.frameHeight}p, audio ${audio.codec} ${audio.bytes} B, path ${video.candidateType}, dtls ${video.dtlsState}`);
    assert.ok((video.frames ?? 0) > 10, `${where} decodes video`);
    assert.ok(audio.bytes > 0, `${where} receives audio`);
    assert.equal(video.source, 'camera');
    assert.equal(audio.source, 'microphone');
    assert.match(video.candidateType ?? '', /^(host|srflx)$/, `${where}: the selected pair is direct`);
    assert.equal(video.dtlsState, 'connected', `${where}: DTLS-SRTP is up`);
  }
  // Frames keep coming: the call is live, not a burst at set-up.
  const before = (await a.stats()).find((s) => s.direction === 'inbound' && s.kind === 'video')?.frames ?? 0;
  await a.waitForMediaFrom(b.identity, before + 10);
}

/** Resolves with how long it took until `receiver` decodes `from`'s video at `height` or more. */
async function msUntilHeight(receiver: SdkParticipant, from: string, height: number, timeoutMs: number): Promise<number> {
  const started = Date.now();
  await receiver.page.waitFor(
    async ({ from, height }) =>
      ((await (window as unknown as ParleyWindow).__parley.room.getStats()).find((s) => s.participant === from && s.direction === 'inbound' && s.kind === 'video')?.frameHeight ?? 0) >= height,
    { from, height },
    { timeoutMs, what: `${receiver.identity} decodes ${from} at ${height}p` },
  );
  return Date.now() - started;
}

describe('P2P call', () => {
  test('Chromium <-> Chromium, in 720p within seconds', async () => {
    const room = freshRoom();
    const alice = await SdkParticipant.join(env.chromium, env.server.url, room, 'alice');
    const bob = await SdkParticipant.join(env.chromium, env.server.url, room, 'bob');
    // Without the start bitrate hint Chromium starts at 180p and is still at 360p after 12 s.
    // Alone this file sees 720p ~1 s after the call starts; run right after observability.test.ts
    // both senders are still bandwidth-limited at 5 s (2 of 2 runs; the cause is not known),
    // hence the 15 s bound. On failure the senders say what limited them.
    const [atAlice, atBob] = await SdkParticipant.explained([alice, bob], () => Promise.all([msUntilHeight(alice, 'bob', 720, 15_000), msUntilHeight(bob, 'alice', 720, 15_000)]));
    console.log(`720p decoded ${atAlice} ms (alice) and ${atBob} ms (bob) after the call started`);
    await assertTwoWayCall(alice, bob);
    await Promise.all([alice.close(), bob.close()]);
  });

  test('Chromium joins first, Firefox second', async () => {
    const room = freshRoom();
    const chrome = await SdkParticipant.join(env.chromium, env.server.url, room, 'chrome-user');
    const fox = await SdkParticipant.join(env.firefox, env.server.url, room, 'firefox-user');
    await assertTwoWayCall(chrome, fox);
    await Promise.all([chrome.close(), fox.close()]);
  });

  test('Firefox joins first, Chromium second', async () => {
    const room = freshRoom();
    const fox = await SdkParticipant.join(env.firefox, env.server.url, room, 'a-firefox');
    const chrome = await SdkParticipant.join(env.chromium, env.server.url, room, 'z-chrome');
    await assertTwoWayCall(fox, chrome);
    await Promise.all([chrome.close(), fox.close()]);
  });

  test('leaving tells the other side; rejoining restores media both ways', async () => {
    const room = freshRoom();
    const alice = await SdkParticipant.join(env.chromium, env.server.url, room, 'alice');
    const bob = await SdkParticipant.join(env.firefox, env.server.url, room, 'bob');
    await assertTwoWayCall(alice, bob);
    await bob.disconnect();
    await alice.waitForEvent('participantLeft', 'bob:left');
    await alice.waitForEvent('trackUnsubscribed', 'bob:camera');
    assert.deepEqual(await alice.remoteIdentities(), []);
    await bob.connect(env.server.url, room);
    await alice.waitForEvent('participantJoined', 'bob');
    await assertTwoWayCall(alice, bob);
    assert.deepEqual(await alice.remoteIdentities(), ['bob']);
    assert.equal(env.server.rooms.get(room)?.size, 2);
    await Promise.all([alice.close(), bob.close()]);
  });

  test('turning the camera off and on again: the other side loses, then decodes the video again', async () => {
    const room = freshRoom();
    const alice = await SdkParticipant.join(env.chromium, env.server.url, room, 'alice');
    const bob = await SdkParticipant.join(env.firefox, env.server.url, room, 'bob');
    await assertTwoWayCall(alice, bob);
    await bob.setCameraEnabled(false);
    await alice.waitForEvent('trackUnsubscribed', 'bob:camera');
    await bob.setCameraEnabled(true);
    await alice.page.waitFor(
      () => (window as unknown as { __parley: { events: Array<{ name: string; detail: string }> } }).__parley.events.filter((e) => e.name === 'trackSubscribed' && e.detail === 'bob:camera').length === 2,
      undefined,
      { timeoutMs: 10_000, what: 'bob:camera subscribed again' },
    );
    const framesBefore = await alice.framesFrom('bob');
    await alice.waitForMediaFrom('bob', framesBefore + 10);
    await Promise.all([alice.close(), bob.close()]);
  });

  test('a participant without camera or microphone still receives, and can turn its camera on later', async () => {
    const room = freshRoom();
    const viewer = await SdkParticipant.join(env.firefox, env.server.url, room, 'a-viewer', { camera: false, microphone: false });
    const speaker = await SdkParticipant.join(env.chromium, env.server.url, room, 'b-speaker');
    await viewer.waitForMediaFrom('b-speaker', 10);
    await viewer.setCameraEnabled(true);
    await speaker.page.waitFor(
      async () => ((await (window as unknown as { __parley: { room: import('@parley/client').Room } }).__parley.room.getStats()).find((s) => s.direction === 'inbound' && s.kind === 'video')?.frames ?? 0) > 10,
      undefined,
      { timeoutMs: 15_000, what: 'the speaker decodes the viewer camera' },
    );
    await Promise.all([viewer.close(), speaker.close()]);
  });

  test('a subscribe-only token receives the call and is refused publishing', async () => {
    const room = freshRoom();
    const viewer = await SdkParticipant.join(env.chromium, env.server.url, room, 'viewer', { camera: false, microphone: false, grants: { canPublish: false } });
    const host = await SdkParticipant.join(env.firefox, env.server.url, room, 'host');
    await viewer.waitForMediaFrom('host', 10);
    assert.equal(await viewer.tryCamera(), 'PERMISSION_DENIED');
    assert.deepEqual((await viewer.events()).filter((e) => e.name === 'error'), [], 'its signaling was never refused');
    assert.equal((await host.stats()).filter((s) => s.direction === 'inbound').length, 0, 'the host receives nothing from it');
    await Promise.all([viewer.close(), host.close()]);
  });

  test('a third participant is refused with ROOM_FULL while the call goes on', async () => {
    const room = freshRoom();
    const alice = await SdkParticipant.join(env.chromium, env.server.url, room, 'alice');
    const bob = await SdkParticipant.join(env.chromium, env.server.url, room, 'bob');
    await assertTwoWayCall(alice, bob);
    const carol = await SdkParticipant.joinExpectingRefusal(env.firefox, env.server.url, room, 'carol');
    assert.equal(carol.code, 'ROOM_FULL');
    assert.match(carol.message, /holds 2 participants/);
    await assertTwoWayCall(alice, bob);
    assert.deepEqual((await alice.events()).filter((e) => e.detail.startsWith('carol')), []);
    await Promise.all([alice.close(), bob.close(), carol.page.close()]);
  });
});
