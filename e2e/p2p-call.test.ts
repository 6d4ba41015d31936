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

/**
 * Sets the `maxBitrate` of the camera sender of `participant`'s direct connection (joined with
 * `recordConnections`, so the page keeps its connections), through the browser's own API as an
 * app or a browser extension could; resolves with what it was.
 */
async function capCamera(participant: SdkParticipant, maxBitrate: number | undefined): Promise<number | undefined> {
  return participant.page.evaluate(async (maxBitrate) => {
    const pcs = (window as unknown as { __parleyPcs: RTCPeerConnection[] }).__parleyPcs;
    const sender = pcs.flatMap((pc) => (pc.connectionState === 'connected' ? pc.getSenders() : [])).find((s) => s.track?.kind === 'video');
    if (!sender) throw new Error('no connected camera sender');
    const parameters = sender.getParameters();
    const encoding = parameters.encodings[0]!;
    const before = encoding.maxBitrate;
    if (maxBitrate === undefined) delete encoding.maxBitrate;
    else encoding.maxBitrate = maxBitrate;
    await sender.setParameters(parameters);
    return before;
  }, maxBitrate);
}

/**
 * Resolves with how long it took until the camera encoder of `participant` (joined with
 * `recordConnections`) sends at `height` or less because of bandwidth, as its outbound-rtp says.
 */
async function msUntilEncoderAtMost(participant: SdkParticipant, height: number, timeoutMs: number): Promise<number> {
  const started = Date.now();
  await participant.page.waitFor(
    async (height) => {
      const pcs = (window as unknown as { __parleyPcs: RTCPeerConnection[] }).__parleyPcs;
      const sender = pcs.flatMap((pc) => (pc.connectionState === 'connected' ? pc.getSenders() : [])).find((s) => s.track?.kind === 'video');
      if (!sender) return false;
      let atMost = false;
      (await sender.getStats()).forEach((r: Record<string, unknown>) => {
        if (r.type === 'outbound-rtp' && typeof r.frameHeight === 'number' && r.frameHeight <= height && r.qualityLimitationReason === 'bandwidth') atMost = true;
      });
      return atMost;
    },
    height,
    { timeoutMs, what: `${participant.identity}'s encoder sends at ${height}p or less for bandwidth` },
  );
  return Date.now() - started;
}

/** Resolves with how long it took until `receiver` decodes `from`'s video at `height` or less. */
async function msUntilHeightAtMost(receiver: SdkParticipant, from: string, height: number, timeoutMs: number): Promise<number> {
  const started = Date.now();
  await receiver.page.waitFor(
    async ({ from, height }) =>
      ((await (window as unknown as ParleyWindow).__parley.room.getStats()).find((s) => s.participant === from && s.direction === 'inbound' && s.kind === 'video')?.frameHeight ?? Infinity) <= height,
    { from, height },
    { timeoutMs, what: `${receiver.identity} decodes ${from} at ${height}p or less` },
  );
  return Date.now() - started;
}

describe('P2P call', () => {
  test('Chromium <-> Chromium, in 720p within seconds, and again after a squeeze', async () => {
    const room = freshRoom();
    const alice = await SdkParticipant.join(env.chromium, env.server.url, room, 'alice');
    const bob = await SdkParticipant.join(env.chromium, env.server.url, room, 'bob', { recordConnections: true });
    // Without the start bitrate hint Chromium starts at 180p and is still at 360p after 12 s.
    // Alone this file sees 720p ~1 s after the call starts; run right after observability.test.ts
    // both senders are still bandwidth-limited at 5 s (2 of 2 runs; the cause is not known),
    // hence the 15 s bound. On failure the senders say what limited them.
    const [atAlice, atBob] = await SdkParticipant.explained([alice, bob], () => Promise.all([msUntilHeight(alice, 'bob', 720, 15_000), msUntilHeight(bob, 'alice', 720, 15_000)]));
    console.log(`720p decoded ${atAlice} ms (alice) and ${atBob} ms (bob) after the call started`);
    await assertTwoWayCall(alice, bob);

    // A squeeze that passed: bob's camera capped at 60 kbit/s until its encoder sends 180p for
    // bandwidth and alice decodes that, then uncapped: alice must see 720p again. Without the SDK's
    // encoder watch (p2p/encoder-watch.ts) Chromium 156 kept 180p: not 720p within 20 s of the
    // uncap in 6 of 6 runs (3 with two busy loops beside); with it, 720p 1.3-2.3 s after.
    // How the encoder gets down varies (13 runs logged every 500 ms): its first adaptation comes
    // ~4 s after the cap, straight to 180p (6 runs) or to 270p and 180p 5 s later (3), or one
    // step only, then one step per ~5 s (the QP scaler's period; the QP was at its maximum at
    // every step, so a lower cap would not speed it up): 720p -> 540p (4.2 s) -> 360p (9.4 s) ->
    // 270p (14.0 s) -> 180p (19.2 s). The 15 s wait for "below 360p" this test once had ended
    // just as that path reached 270p, so it failed on a slower machine; 180p read from bob's own
    // encoder, within 40 s (2x the slowest run), waits for either path.
    const uncapped = await capCamera(bob, 60_000);
    const [encoderAt180, decodedAt180] = await SdkParticipant.explained([alice, bob], async () => {
      const encoderMs = await msUntilEncoderAtMost(bob, 180, 40_000);
      // What alice decodes follows one frame later; without this wait a 720p frame decoded before
      // the squeeze could pass the check below at once.
      return [encoderMs, encoderMs + (await msUntilHeightAtMost(alice, 'bob', 180, 10_000))];
    });
    console.log(`squeeze: bob's encoder at 180p ${encoderAt180} ms after the 60 kbit/s cap, alice decoding it at ${decodedAt180} ms`);
    await capCamera(bob, uncapped);
    const backMs = await SdkParticipant.explained([alice, bob], () => msUntilHeight(alice, 'bob', 720, 8000));
    const [link] = (await bob.page.evaluate(async () => (await (window as unknown as ParleyWindow).__parley.room.debugState({ stats: false })).links, undefined)) ?? [];
    console.log(`uncapped: 720p again ${backMs} ms later (${link?.encoderRestarts} encoder reattach(es))`);
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
