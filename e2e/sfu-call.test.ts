/**
 * Group calls through Parley's SFU in real browsers: everyone decodes everyone (Chromium and
 * Firefox mixed), late joiners get existing tracks, leavers disappear, simulcast quality per
 * subscriber, the auto topology moving a call from P2P to the SFU, each codec, active speakers,
 * stale subscriber answers that leave the receiving connection alone.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { VideoQuality } from '@parley/client';
import { VIDEO_CODECS } from '@parley/protocol';
import { useCallEnvironment } from './harness/environment.ts';
import { SdkParticipant, type ParleyWindow, type SignalingTapWindow } from './harness/participant.ts';
import { publishTone, setToneGain } from './harness/tone-probe.ts';

const env = useCallEnvironment();
let roomCounter = 0;
const freshRoom = () => `sfu-${++roomCounter}`;
const sfuRoom = { topology: 'sfu' } as const;
/** Five browsers on two cores: a smaller camera keeps every encoder and decoder in real time. */
const smallCamera = { width: 640, height: 360, frameRate: 15 };
/** Counts room.getStats() calls made back to back in the page while it runs. */
type ProbeWindow = { __statsProbe: { calls: number; running: boolean; done: boolean } };

/** performance.now() of each of the page's rendering steps (requestAnimationFrame), from `watchRendering`. */
type RenderWindow = { __renderSteps: number[] };

/**
 * Records the page's rendering steps from now on (bounded): a control for frames presented, since
 * a page whose renderer is starved (five browsers on two cores) presents no frame of any video,
 * whatever the SDK hands it.
 */
function watchRendering(p: SdkParticipant): Promise<void> {
  return p.page.evaluate(() => {
    const steps: number[] = [];
    (window as unknown as RenderWindow).__renderSteps = steps;
    const step = () => {
      steps.push(performance.now());
      if (steps.length < 20_000) requestAnimationFrame(step);
    };
    requestAnimationFrame(step);
  }, undefined);
}

/** The longest wait between the page's rendering steps within [from, to] (its clock; the edges count). */
function longestRenderGap(p: SdkParticipant, from: number, to: number): Promise<number> {
  return p.page.evaluate(
    ({ from, to }) => {
      const inside = (window as unknown as RenderWindow).__renderSteps.filter((t) => t > from && t < to);
      let longest = 0;
      let previous = from;
      for (const t of [...inside, to]) [longest, previous] = [Math.max(longest, t - previous), t];
      return Math.round(longest);
    },
    { from, to },
  );
}

/** Every receiver decodes video and receives audio from every sender. */
async function assertEveryoneReceives(receivers: SdkParticipant[], senders: SdkParticipant[], minFrames = 10): Promise<void> {
  const pairs = receivers.flatMap((receiver) => senders.filter((s) => s !== receiver).map((sender) => [receiver, sender] as const));
  await Promise.all(
    pairs.map(async ([receiver, sender]) => {
      const inbound = await receiver.waitForMediaFrom(sender.identity, minFrames, 60_000);
      const video = inbound.find((s) => s.kind === 'video');
      assert.ok((video?.frames ?? 0) > minFrames, `${receiver.identity} decodes ${sender.identity}`);
      assert.equal(video?.source, 'camera');
      assert.equal(inbound.find((s) => s.kind === 'audio')?.source, 'microphone');
    }),
  );
}

async function inboundHeight(receiver: SdkParticipant, from: string): Promise<number> {
  return (await receiver.stats()).find((s) => s.participant === from && s.direction === 'inbound' && s.kind === 'video')?.frameHeight ?? 0;
}

async function setQuality(receiver: SdkParticipant, from: string, quality: VideoQuality): Promise<void> {
  await receiver.page.evaluate(
    ({ from, quality }) => (window as unknown as { __parley: { room: import('@parley/client').Room } }).__parley.room.remoteParticipants.get(from)!.setVideoQuality(quality),
    { from, quality },
  );
}

describe('SFU call', () => {
  test('4 Chromium + 1 Firefox: everyone decodes everyone; a late joiner gets everything; a leaver disappears', async () => {
    const room = freshRoom();
    // The four join at once (their order is not what this test is about; the late joiner's is).
    const chromes = await Promise.all(['c1', 'c2', 'c3', 'c4'].map((name) => SdkParticipant.join(env.chromium, env.server.url, room, name, { roomConfig: sfuRoom, video: smallCamera })));
    await assertEveryoneReceives(chromes, chromes);
    // The late joiner: Firefox arrives once the others publish, and gets all of them; they get it.
    const fox = await SdkParticipant.join(env.firefox, env.server.url, room, 'fox', { roomConfig: sfuRoom, video: smallCamera });
    const everyone = [...chromes, fox];
    await assertEveryoneReceives(everyone, everyone);
    const foxView = await fox.stats();
    console.log(`fox receives ${foxView.filter((s) => s.direction === 'inbound' && s.kind === 'video').map((s) => `${s.participant}:${s.frames}f@${s.frameHeight}p`).join(' ')}`);

    await chromes[3]!.disconnect();
    await Promise.all(everyone.slice(0, 3).concat(fox).map((p) => p.waitForEvent('participantLeft', 'c4:left')));
    for (const p of [...chromes.slice(0, 3), fox]) {
      await p.waitForEvent('trackUnsubscribed', 'c4:camera');
      assert.ok(!(await p.remoteIdentities()).includes('c4'), `${p.identity} no longer lists c4`);
    }
    // The others keep talking.
    const before = await fox.framesFrom('c1');
    await fox.waitForMediaFrom('c1', before + 10);
    await Promise.all(everyone.map((p) => p.close()));
  });

  test('simulcast: low gets a smaller picture than high, switching keeps decoding without a long freeze', async () => {
    const room = freshRoom();
    const publisher = await SdkParticipant.join(env.chromium, env.server.url, room, 'pub', { roomConfig: sfuRoom, microphone: false });
    const subscriber = (name: string) => SdkParticipant.join(env.chromium, env.server.url, room, name, { roomConfig: sfuRoom, camera: false, microphone: false });
    const [low, high] = await Promise.all([subscriber('low'), subscriber('high')]);
    await Promise.all([low.waitForVideoFrom('pub', 10), high.waitForVideoFrom('pub', 10)]);
    await setQuality(low, 'pub', 'low');
    await setQuality(high, 'pub', 'high');
    await low.page.waitFor(
      async () => ((await (window as unknown as ParleyWindow).__parley.room.getStats()).find((s) => s.direction === 'inbound' && s.kind === 'video')?.frameHeight ?? 999) <= 200,
      undefined,
      { timeoutMs: 15_000, what: 'low subscriber drops to the low layer' },
    );
    await high.page.waitFor(
      async () => ((await (window as unknown as ParleyWindow).__parley.room.getStats()).find((s) => s.direction === 'inbound' && s.kind === 'video')?.frameHeight ?? 0) >= 540,
      undefined,
      { timeoutMs: 15_000, what: 'high subscriber on the top layer' },
    );
    const [lowHeight, highHeight] = await Promise.all([inboundHeight(low, 'pub'), inboundHeight(high, 'pub')]);
    console.log(`low subscriber ${lowHeight}p, high subscriber ${highHeight}p`);
    assert.ok(lowHeight < highHeight, `low (${lowHeight}p) is smaller than high (${highHeight}p)`);

    // Back and forth while watching frames. The high subscriber, which never switches, is the
    // control: a stall of the publisher itself (a starved encoder) shows there too.
    const watch = low.longestVideoGapMs('pub', 9000);
    const control = high.longestVideoGapMs('pub', 9000);
    for (const quality of ['high', 'low', 'medium', 'high', 'low'] as const) {
      await setQuality(low, 'pub', quality);
      await new Promise((resolve) => setTimeout(resolve, 1600));
    }
    const [{ gapMs, frames }, controlRun] = await Promise.all([watch, control]);
    console.log(`switching: longest freeze ${gapMs} ms, ${frames} frames decoded; control (no switching) ${controlRun.gapMs} ms`);
    assert.ok(frames > 30, 'frames keep decoding while switching');
    // No freeze over 1 s, unless the publisher itself stalled (a starved machine): then the
    // switching subscriber may not stall longer than the control.
    assert.ok(gapMs <= Math.max(1000, controlRun.gapMs + 200), `no long freeze caused by switching (longest ${gapMs} ms, control ${controlRun.gapMs} ms)`);
    await Promise.all([publisher.close(), low.close(), high.close()]);
  });

  test('auto topology: two talk directly, a third moves everyone to the SFU', async () => {
    const room = freshRoom();
    const auto = { topology: 'auto' } as const;
    // Small cameras: at the move each browser encodes for the direct link and three simulcast
    // layers at once, and a starved encoder would stall its picture whatever the SFU does.
    const a = await SdkParticipant.join(env.chromium, env.server.url, room, 'auto-a', { roomConfig: auto, video: smallCamera });
    const b = await SdkParticipant.join(env.firefox, env.server.url, room, 'auto-b', { roomConfig: auto, video: smallCamera });
    await SdkParticipant.waitForMediaBetween(a, b);
    assert.equal(await a.topology(), 'p2p');
    assert.equal((await env.server.media.sfuStats(room)).publishedTracks, 0, 'no SFU transport while two talk directly');
    assert.equal(await a.directLinks(), 1);
    // Watch what a and b play of each other across the move: no gap over ~1 s.
    const gaps = Promise.all([a.longestVideoGapMs('auto-b', 12_000), b.longestVideoGapMs('auto-a', 12_000)] as const);
    await Promise.all([a, b].map(watchRendering));
    const [sinceA, sinceB] = await Promise.all([a.pageNow(), b.pageNow()]);
    // Both pages ask for their stats back to back across the move (as the stats panel and the
    // call-quality reports do), so some call is in flight when the direct link closes: Firefox
    // never settles a getStats() pending at close(), and room.getStats() must not wait on it.
    for (const p of [a, b]) await p.page.evaluate(() => {
      const probe = { calls: 0, running: true, done: false };
      (window as unknown as ProbeWindow).__statsProbe = probe;
      void (async () => {
        while (probe.running) {
          await (window as unknown as ParleyWindow).__parley.room.getStats();
          probe.calls++;
        }
        probe.done = true;
      })();
    }, undefined);
    const c = await SdkParticipant.join(env.chromium, env.server.url, room, 'auto-c', { roomConfig: auto, video: smallCamera });
    await Promise.all([a.waitForEvent('topologyChanged', 'sfu'), b.waitForEvent('topologyChanged', 'sfu')]);
    // The server announced c while the room was still direct, and a and b began direct links to
    // it; never connected, those closed with the move (their offers, ICE and encoders would only
    // compete with the SFU's set-up). Read right after the event: the move closes them before it.
    const linkedTo = (p: SdkParticipant) => p.page.evaluate(async () => (await (window as unknown as ParleyWindow).__parley.room.debugState({ stats: false })).links.map((link) => link.remoteIdentity), undefined);
    assert.deepEqual([await linkedTo(a), await linkedTo(b)].map((identities) => identities.filter((identity) => identity === 'auto-c')), [[], []], 'no direct link to the newcomer whose join moved the room');
    // The direct link closes once the SFU delivers the other's media (make before break).
    await Promise.all([a, b].map((p) => p.page.waitFor(async () => (await (window as unknown as ParleyWindow).__parley.room.debugState({ stats: false })).links.length === 0, undefined, { timeoutMs: 15_000, what: `${p.identity} drops its direct link` })));
    for (const p of [a, b]) {
      const calls = await p.page.evaluate(() => {
        const probe = (window as unknown as ProbeWindow).__statsProbe;
        probe.running = false;
        return probe.calls;
      }, undefined);
      await p.page.waitFor(() => (window as unknown as ProbeWindow).__statsProbe.done, undefined, { timeoutMs: 5000, what: `${p.identity}: its last room.getStats() settles after the direct link closed (${calls} calls before)` });
    }
    await assertEveryoneReceives([a, b, c], [a, b, c]);
    const [atA, atB] = await gaps;
    // What each one saw: frames presented of the track shown (the direct link's, then the SFU's).
    const [seenA, seenB] = await Promise.all([a.longestPresentedGapSince('auto-b', sinceA), b.longestPresentedGapSince('auto-a', sinceB)]);
    // How long each page itself did not render during its longest presented gap.
    const [stallA, stallB] = await Promise.all([
      longestRenderGap(a, sinceA + seenA.startsAtMs, sinceA + seenA.startsAtMs + seenA.gapMs),
      longestRenderGap(b, sinceB + seenB.startsAtMs, sinceB + seenB.startsAtMs + seenB.gapMs),
    ]);
    console.log(
      `move to the SFU: longest gap in b's video at a ${atA.gapMs} ms decoded, ${seenA.gapMs} ms presented (${atA.frames} frames; the page's longest rendering pause in it ${stallA} ms), ` +
        `in a's video at b ${atB.gapMs} ms decoded, ${seenB.gapMs} ms presented (${atB.frames} frames; rendering pause ${stallB} ms)`,
    );
    const worse = atA.gapMs >= atB.gapMs ? { at: 'a', ...atA } : { at: 'b', ...atB };
    console.log(`around the longer gap in frames decoded (at ${worse.at}):\n${worse.around}`);
    const [seen, viewer, since] = seenA.gapMs >= seenB.gapMs ? [seenA, a, sinceA] : [seenB, b, sinceB];
    const gapStart = since + seen.startsAtMs;
    console.log(`around the longer gap presented (at ${viewer.identity}, 0 ms = its start):\n${await viewer.eventsBetween(gapStart - 1000, gapStart + seen.gapMs + 200, gapStart)}`);
    // Frames decoded are read from the page's getStats every 100 ms: a page starved of CPU (five
    // browsers on two cores) reads late, and once took 1.3 s for one getStats while it did not
    // render for 1.9 s. Its own pause is allowed, as for the frames presented below.
    const [decodeStallA, decodeStallB] = await Promise.all([longestRenderGap(a, atA.startsAt, atA.startsAt + atA.gapMs), longestRenderGap(b, atB.startsAt, atB.startsAt + atB.gapMs)]);
    for (const [{ gapMs }, stall] of [[atA, decodeStallA], [atB, decodeStallB]] as const) {
      assert.ok(gapMs <= Math.max(1200, stall + 600), `no media gap over ~1 s while moving to the SFU (longest ${gapMs} ms decoded; the page did not render for ${stall} ms of it)`);
    }
    // What the page shows also waits for its new <video> to present the SFU track's first frame
    // (20-190 ms from trackSubscribed to firstFrame in these runs) and that track's own jitter
    // buffer to fill: looser, but it fails
    // if the SDK hands over a track before it decodes or closes the link before the other's
    // picture arrives through the SFU (2.0 s seen before both were fixed).
    // Unless the page itself did not render for most of it (its renderer starved: then it presents
    // no frame of any video, whatever the SDK hands it): then the pause and what a move without
    // one shows (250-510 ms presented in CI runs) and no more.
    for (const [{ gapMs }, stall] of [[seenA, stallA], [seenB, stallB]] as const) {
      assert.ok(gapMs <= Math.max(1800, stall + 600), `no picture frozen over ~1.5 s while moving to the SFU (longest ${gapMs} ms presented; the page did not render for ${stall} ms of it)`);
    }
    assert.equal(await a.topology(), 'sfu');
    assert.equal((await env.server.media.sfuStats(room)).publishedTracks, 6, 'three participants publish camera and microphone through the SFU');
    await Promise.all([a.close(), b.close(), c.close()]);
  });

  // VP8, the default, is what every other test here negotiates.
  for (const codec of VIDEO_CODECS.filter((name) => name !== 'vp8')) {
    test(`codec ${codec}: negotiated and decoded`, async () => {
      const room = freshRoom();
      const config = { topology: 'sfu' as const, videoCodecs: [codec] };
      const join = (name: string) => SdkParticipant.join(env.chromium, env.server.url, room, `${codec}-${name}`, { roomConfig: config, microphone: false });
      const [a, b] = await Promise.all([join('a'), join('b')]);
      const [atA, atB] = await Promise.all([a.waitForVideoFrom(b.identity, 10), b.waitForVideoFrom(a.identity, 10)]);
      for (const video of [atA, atB]) assert.equal(video.codec?.toLowerCase(), `video/${codec}`);
      console.log(`${codec}: ${atA.frames} and ${atB.frames} frames decoded`);
      await Promise.all([a.close(), b.close()]);
    });
  }

  for (const browser of ['chromium', 'firefox'] as const) {
    test(`a ${browser} subscriber sends the SFU transport-wide feedback for what it receives (the downlink estimate runs on it); Chromium measures its round trip from the SFU's answers to its reference times and reports its DTLS role`, async () => {
      const room = freshRoom();
      const publisher = await SdkParticipant.join(env.chromium, env.server.url, room, 'pub', { roomConfig: sfuRoom, video: smallCamera });
      // The SFU's counters are per worker: counted from here, with the earlier tests' participants
      // gone and nobody else subscribed, every feedback packet is the viewer's.
      const counted = async () => (await env.server.media.sfuStats()).subscriberFeedbacks;
      const before = await counted();
      const viewer = await SdkParticipant.join(env[browser], env.server.url, room, 'viewer', { roomConfig: sfuRoom, camera: false, microphone: false });
      try {
        await viewer.waitForMediaFrom('pub', 10);
        let feedbacks = 0;
        for (const deadline = Date.now() + 10_000; feedbacks === 0 && Date.now() < deadline; ) {
          feedbacks = (await counted()) - before;
          if (feedbacks === 0) await new Promise((resolve) => setTimeout(resolve, 100));
        }
        console.log(`${browser} subscriber: ${feedbacks} transport-wide feedback packets`);
        assert.ok(feedbacks > 0, `${browser} answered the SFU's transport-cc and sends feedback`);
        if (browser === 'chromium') {
          // Its connection only receives: the round trip it repeats NACKs at comes from the SFU's
          // answers to its reference-time reports (rrtr), sent about once a second.
          const measured = async () => (await viewer.stats()).find((s) => s.direction === 'inbound' && s.kind === 'video' && s.participant === 'pub');
          let video = await measured();
          for (const deadline = Date.now() + 10_000; !(video?.rttMeasurements ?? 0) && Date.now() < deadline; video = await measured()) await new Promise((resolve) => setTimeout(resolve, 200));
          console.log(`chromium subscriber: ${video?.rttMeasurements ?? 0} round trips measured from the SFU's answers, latest ${video?.rttMs} ms`);
          assert.ok((video?.rttMeasurements ?? 0) > 0, 'the receive-only Chromium measured its round trip to the SFU (XR DLRR)');
          // 0-3 ms here as a rule; 70 ms once, in a run where the same file's other timings
          // stalled too (a busy host): below the default is what tells a measurement.
          assert.ok((video?.rttMs ?? Infinity) < 100, `a loopback round trip (${video?.rttMs} ms), not the 100 ms default`);
          // Chromium keeps the DTLS client role it picks (ARCHITECTURE.md: "DTLS role of a receiving connection").
          assert.equal(video?.dtlsRole, 'client', 'room.getStats() reports the DTLS role');
        }
      } finally {
        await Promise.all([publisher.close(), viewer.close()]);
      }
    });
  }

  test('a stale subscriber answer (a re-sent offer answered twice, an old answer again) leaves the receiving connection and its tracks in place', async () => {
    const room = freshRoom();
    const viewer = await SdkParticipant.join(env.chromium, env.server.url, room, 'viewer', { roomConfig: sfuRoom, camera: false, microphone: false, recordSignaling: true });
    const publisher = await SdkParticipant.join(env.chromium, env.server.url, room, 'pub', { roomConfig: sfuRoom, video: smallCamera });
    try {
      await viewer.waitForMediaFrom('pub', 10);
      const before = await viewer.framesFrom('pub');
      const replayedAt = Date.now();
      const replayed = await viewer.page.evaluate(() => {
        const tap = (window as unknown as SignalingTapWindow).__signaling;
        const offers = tap.received.filter((m) => m.type === 'subscriberOffer');
        const answers = tap.sent.filter((m) => m.type === 'subscriberAnswer');
        const latest = offers.at(-1)!;
        // As the server does after a signaling resume: the offer already answered, once more. The
        // SDK answers it again unchanged, and the SFU, which has that answer, says STALE_ANSWER.
        tap.socket!.dispatchEvent(new MessageEvent('message', { data: JSON.stringify(latest) }));
        // An answer sent twice, and the first answer again, straight over the socket (their replies go to no request of the SDK's).
        tap.socket!.send(JSON.stringify({ ...answers.at(-1), id: 'e2e-stale-answer' }));
        tap.socket!.send(JSON.stringify({ ...answers[0], id: 'e2e-old-answer' }));
        return { offerIds: offers.map((m) => m.offerId), answered: answers.map((m) => m.offerId) };
      }, undefined);
      console.log(`viewer: offers ${replayed.offerIds.join(',')}, answered ${replayed.answered.join(',')}; replayed offer ${replayed.offerIds.at(-1)} and its answer`);
      const reply = (id = 'e2e-stale-answer') => viewer.page.evaluate((id) => (window as unknown as SignalingTapWindow).__signaling.received.find((m) => m.replyTo === id), id);
      const marks = () => viewer.page.evaluate(() => (window as unknown as ParleyWindow).__parley.room.timeline.marks.map((m) => `${m.step} ${m.detail}`), undefined);
      await viewer.page.waitFor(
        () => (window as unknown as ParleyWindow).__parley.room.timeline.marks.some((m) => m.step === 'subscriberAnswerFailed') && (window as unknown as SignalingTapWindow).__signaling.received.filter((m) => String(m.replyTo).startsWith('e2e-')).length === 2,
        undefined,
        { timeoutMs: 5000, what: 'the answers sent again settle' },
      );
      assert.equal((await reply())?.code, 'STALE_ANSWER', JSON.stringify(await reply()));
      assert.equal((await reply('e2e-old-answer'))?.code, 'STALE_ANSWER', JSON.stringify(await reply('e2e-old-answer')));
      const timeline = await marks();
      assert.ok(timeline.includes(`subscriberOfferRepeated ${replayed.offerIds.at(-1)} answerAgain`), timeline.join('\n'));
      assert.ok(timeline.some((m) => m.startsWith(`subscriberAnswerFailed ${replayed.offerIds.at(-1)} stale: `)), timeline.join('\n'));
      // Frames keep decoding on the same tracks: nothing removed, no fresh connection, no error.
      await viewer.waitForMediaFrom('pub', before + 10, 10_000);
      assert.ok(!timeline.some((m) => m.startsWith('resubscribe')) && !(await marks()).some((m) => m.startsWith('resubscribe')), 'no resubscribe');
      const events = (await viewer.events()).filter((e) => e.at >= replayedAt);
      assert.deepEqual(events.filter((e) => ['trackUnsubscribed', 'trackSubscribed', 'error'].includes(e.name)), [], 'no track removed or added again, no error');
    } finally {
      await Promise.all([publisher.close(), viewer.close()]);
    }
  });

  for (const drop of [
    { when: 'its answer sent and the reply lost', tap: { closeAfter: { type: 'subscriberAnswer' } }, resent: false },
    { when: 'the offer received, not yet answered', tap: { closeOnReceived: { type: 'subscriberOffer' } }, resent: true },
  ]) {
    test(`a viewer's signaling drops mid-renegotiation (${drop.when}): the session resumes, the offer is answered once on the same receiving connection, and the camera is shown`, async () => {
      const room = freshRoom();
      const viewer = await SdkParticipant.join(env.chromium, env.server.url, room, 'viewer', { roomConfig: sfuRoom, camera: false, microphone: false, recordSignaling: true });
      const publisher = await SdkParticipant.join(env.chromium, env.server.url, room, 'pub', { roomConfig: sfuRoom, camera: false, microphone: false, video: smallCamera });
      try {
        await viewer.page.evaluate((tap) => Object.assign((window as unknown as SignalingTapWindow).__signaling, tap), drop.tap);
        const droppedFrom = Date.now();
        await publisher.page.evaluate(() => (window as unknown as ParleyWindow).__parley.room.localParticipant.setCameraEnabled(true), undefined);
        await viewer.waitForVideoFrom('pub', 10, 20_000);
        const seen = await viewer.page.evaluate(() => {
          const tap = (window as unknown as SignalingTapWindow).__signaling;
          return {
            offers: tap.received.filter((m) => m.type === 'subscriberOffer').map((m) => Number(m.offerId)),
            marks: (window as unknown as ParleyWindow).__parley.room.timeline.marks.map((m) => `${m.step} ${m.detail}`),
          };
        }, undefined);
        const events = (await viewer.events()).filter((e) => e.at >= droppedFrom);
        console.log(`${drop.when}: offers ${seen.offers.join(',')}; ${seen.marks.filter((m) => /^(subscriber|resubscribe)/.test(m)).join(' | ')}; ${events.filter((e) => e.name === 'connectionStateChanged').map((e) => `+${e.at - droppedFrom}ms ${e.detail}`).join(', ')}`);
        const offerId = seen.offers.at(-1)!;
        assert.deepEqual(events.filter((e) => e.name === 'connectionStateChanged').map((e) => e.detail), ['reconnecting', 'connected'], 'the signaling dropped and resumed');
        // The server re-sends an offer it still waits for; one it had the answer to, it does not.
        assert.equal(seen.offers.filter((id) => id === offerId).length, drop.resent ? 2 : 1, `offer ${offerId} received ${drop.resent ? 'again after the resume' : 'once'}`);
        if (drop.resent) {
          // The SDK's first answer fails with the socket (and waits for the resend), or, when applying
          // the offer took longer than the resume (a loaded machine: 372 ms), goes out on the new
          // socket before the resend arrives; either way the resent offer is answered again, unchanged.
          assert.ok(seen.marks.includes(`subscriberOfferRepeated ${offerId} answerAgain`), seen.marks.join(' | '));
        } else {
          assert.ok(seen.marks.some((m) => m.startsWith(`subscriberAnswerFailed ${offerId} awaitResend`)), `the answer's failure waited for the session (${seen.marks.join(' | ')})`);
        }
        assert.ok(!seen.marks.some((m) => m.startsWith('resubscribe')), 'no fresh receiving connection');
        assert.deepEqual(events.filter((e) => e.name === 'error'), [], 'no error');
      } finally {
        await Promise.all([publisher.close(), viewer.close()]);
      }
    });
  }

  test('a publishTrack whose reply is lost with the signaling connection is sent again once the session resumes, replacing what the first published: the camera reaches the viewer, one track at the SFU', async () => {
    const room = freshRoom();
    const viewer = await SdkParticipant.join(env.chromium, env.server.url, room, 'viewer', { roomConfig: sfuRoom, camera: false, microphone: false });
    const publisher = await SdkParticipant.join(env.chromium, env.server.url, room, 'pub', { roomConfig: sfuRoom, camera: false, video: smallCamera, recordSignaling: true });
    try {
      // The request goes out, then the socket closes: the server publishes the track, its reply is lost.
      const sent = await publisher.page.evaluate(async () => {
        (window as unknown as SignalingTapWindow).__signaling.closeAfter = { type: 'publishTrack', source: 'camera' };
        await (window as unknown as ParleyWindow).__parley.room.localParticipant.setCameraEnabled(true);
        return (window as unknown as SignalingTapWindow).__signaling.sent.filter((m) => m.type === 'publishTrack' && m.source === 'camera').map((m) => String(m.cid));
      }, undefined);
      const marks = await publisher.page.evaluate(() => (window as unknown as ParleyWindow).__parley.room.timeline.marks.filter((m) => m.step === 'publishAgain' && m.detail.startsWith('camera')).map((m) => m.detail), undefined);
      console.log(`publishTrack sent ${sent.length} times with cids ${sent.join(', ')}; publishAgain: ${marks.join(' | ')}`);
      assert.ok(sent.length >= 2, `sent again (${sent.length})`);
      assert.equal(new Set(sent).size, 1, 'with the same cid each time');
      assert.ok(marks.length >= 1, 'the timeline says why');
      await viewer.waitForMediaFrom('pub', 10, 15_000);
      assert.equal((await env.server.media.sfuStats(room)).publishedTracks, 2, 'its microphone and one camera at the SFU: the first camera publication was replaced');
      assert.deepEqual([...(env.server.rooms.get(room)?.get('pub')?.publishedTracks.values() ?? [])].sort(), ['camera', 'microphone'], 'one camera in the room');
    } finally {
      await Promise.all([publisher.close(), viewer.close()]);
    }
  });

  test('active speakers: a talker is announced to the room, to a newcomer when it joins, and again when it falls silent', async () => {
    const room = freshRoom();
    const talker = await SdkParticipant.join(env.chromium, env.server.url, room, 'talker', { roomConfig: sfuRoom, camera: false, microphone: false });
    // A steady tone: every packet loud, so the SFU announces the talker once and never again
    // until it falls silent (Chromium's fake microphone beeps, and its announcements come and go).
    await publishTone(talker, 440, 0.5, 'webAudio');
    const explain = (...pages: SdkParticipant[]) => async (error: unknown) => {
      throw new Error(`${error instanceof Error ? error.message : String(error)}\n${(await Promise.all(pages.map(async (p) => `${p.identity}: ${await p.diagnostics()}`))).join('\n')}`, { cause: error });
    };
    // The room (here the talker itself) hears of it...
    await talker.waitForEvent('activeSpeakersChanged', 'talker', 15_000).catch(explain(talker));
    // ...and someone who joins afterwards is told at once: nothing changes for the SFU to announce.
    const listener = await SdkParticipant.join(env.chromium, env.server.url, room, 'listener', { roomConfig: sfuRoom, camera: false, microphone: false });
    await listener.waitForEvent('activeSpeakersChanged', 'talker', 10_000).catch(explain(talker, listener));
    assert.deepEqual(await listener.page.evaluate(() => [...(window as unknown as ParleyWindow).__parley.room.activeSpeakers], undefined), ['talker']);
    // Silence is announced too: the list empties.
    await setToneGain(talker, 0);
    await listener.waitForEvent('activeSpeakersChanged', '', 10_000).catch(explain(talker, listener));
    assert.deepEqual(await listener.page.evaluate(() => [...(window as unknown as ParleyWindow).__parley.room.activeSpeakers], undefined), []);
    await Promise.all([talker.close(), listener.close()]);
  });
});
