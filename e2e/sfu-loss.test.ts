/**
 * Packet loss between the SFU and one subscriber: the subscriber (Chromium inside a netsim
 * namespace) asks for what it missed with NACKs, the SFU resends it from that subscriber's
 * history, and the picture keeps moving. A clean-link baseline first shows ~0 of both, so the
 * lossy figures are the loss's doing.
 * A slow downlink (400 kbit/s to the subscriber): the SFU's estimate from the subscriber's
 * transport-wide feedback moves it to the lowest simulcast layer, and probes take it back up.
 * Loss between a publisher (inside the namespace) and the SFU: the SFU asks the publisher to
 * resend what never arrived, and its subscribers' picture keeps moving. A paused SFU worker (its
 * packets then handled in a burst) is not taken for a collapsing uplink.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { useShapedCallEnvironment } from './harness/environment.ts';
import { SdkParticipant, type ParleyWindow } from './harness/participant.ts';
import type { WorkerPool } from '@parley/server';
import { sample, scrape } from '../packages/server/test/metrics-text.ts';

const ROOM = 'sfu-loss';
const LOSS_PERCENT = 5;
const WATCH_MS = 8000;
const sfuRoom = { topology: 'sfu' } as const;

/** What the subscriber saw of the publisher's video over one watch. */
interface Watch {
  freezeMs: number;
  frames: number;
  packets: number;
  packetsLost: number;
  nacks: number;
  frameHeight: number;
  /**
   * The longest freeze as the page saw it: packets that arrived and frames dropped during it, and
   * the picture height on each side. Packets flowing through a freeze mean media arrived that the
   * decoder could not use (a missing reference, a layer switch waiting for its keyframe); none
   * mean the SFU (or the publisher) sent nothing.
   */
  longest: { packets: number; framesDropped: number; heightBefore: number; heightAfter: number };
}

/**
 * Samples the inbound video every 100 ms for `ms` in the page: the longest stretch without a new
 * decoded frame, and how much the counters grew.
 */
function watchVideo(subscriber: SdkParticipant, from: string, ms: number): Promise<Watch> {
  return subscriber.page.evaluate(
    async ({ from, ms }) => {
      const room = (window as unknown as { __parley: { room: import('@parley/client').Room } }).__parley.room;
      const video = async () => (await room.getStats()).find((s) => s.participant === from && s.direction === 'inbound' && s.kind === 'video');
      const first = await video();
      let lastFrames = first?.frames ?? 0;
      let lastChange = performance.now();
      let freezeMs = 0;
      let latest = first;
      // The sample at the last new frame; the longest freeze runs from it to the sample that ends it
      // (or to the end of the watch).
      let atChange = first;
      let longestFrom = first;
      let longestTo = first;
      let longestOpen = false;
      const end = performance.now() + ms;
      while (performance.now() < end) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        latest = await video();
        const now = performance.now();
        const newFrame = (latest?.frames ?? 0) > lastFrames;
        if (newFrame && longestOpen) [longestTo, longestOpen] = [latest, false];
        if (newFrame) {
          lastFrames = latest?.frames ?? 0;
          lastChange = now;
          atChange = latest;
        }
        if (now - lastChange > freezeMs) {
          freezeMs = now - lastChange;
          [longestFrom, longestTo, longestOpen] = [atChange, latest, true];
        }
      }
      const longest = {
        packets: (longestTo?.packets ?? 0) - (longestFrom?.packets ?? 0),
        framesDropped: (longestTo?.framesDropped ?? 0) - (longestFrom?.framesDropped ?? 0),
        heightBefore: longestFrom?.frameHeight ?? 0,
        heightAfter: longestTo?.frameHeight ?? 0,
      };
      const grew = (key: 'frames' | 'packets' | 'packetsLost' | 'nackCount') => (latest?.[key] ?? 0) - (first?.[key] ?? 0);
      return { freezeMs: Math.round(freezeMs), frames: grew('frames'), packets: grew('packets'), packetsLost: grew('packetsLost'), nacks: grew('nackCount'), frameHeight: latest?.frameHeight ?? 0, longest };
    },
    { from, ms },
  );
}

/**
 * The longest stretch, sampled every 100 ms over `ms`, in which `publisher`'s encoders produced no
 * video frame (every layer summed): a control for a subscriber's freeze, since a starved encoder
 * (two browsers' simulcast encoding on 2 cores) stalls every subscriber whatever the SFU does.
 */
function watchEncoded(publisher: SdkParticipant, ms: number): Promise<{ gapMs: number; frames: number }> {
  return publisher.page.evaluate(async (ms) => {
    const room = (window as unknown as { __parley: { room: import('@parley/client').Room } }).__parley.room;
    const encoded = async () => (await room.getStats()).filter((s) => s.direction === 'outbound' && s.kind === 'video').reduce((sum, s) => sum + (s.frames ?? 0), 0);
    const first = await encoded();
    let last = first;
    let lastChange = performance.now();
    let gapMs = 0;
    for (const end = performance.now() + ms; performance.now() < end; ) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const now = performance.now();
      const frames = await encoded();
      if (frames > last) [last, lastChange] = [frames, now];
      gapMs = Math.max(gapMs, now - lastChange);
    }
    return { gapMs: Math.round(gapMs), frames: last - first };
  }, ms);
}

describe('SFU under packet loss', () => {
  const env = useShapedCallEnvironment();
  let publisher: SdkParticipant;
  let subscriber: SdkParticipant;

  before(async () => {
    publisher = await SdkParticipant.join(env.hostBrowser, env.server.url, ROOM, 'pub', { roomConfig: sfuRoom, microphone: false });
    subscriber = await SdkParticipant.join(env.shapedBrowser, env.proxyUrl, ROOM, 'sub', { roomConfig: sfuRoom, camera: false, microphone: false });
    await subscriber.waitForVideoFrom('pub', 30);
    // The top simulcast layer: the most packets per second, so the most to lose and recover.
    await subscriber.page.evaluate(() => (window as unknown as ParleyWindow).__parley.room.remoteParticipants.get('pub')!.setVideoQuality('high'), undefined);
    await subscriber.page.waitFor(
      async () => ((await (window as unknown as ParleyWindow).__parley.room.getStats()).find((s) => s.direction === 'inbound' && s.kind === 'video')?.frameHeight ?? 0) >= 540,
      undefined,
      { timeoutMs: 20_000, what: 'the subscriber on the top layer' },
    );
  });

  test("the subscriber's media crosses the namespace's link: the SFU offers the veth host address", async () => {
    const media = await subscriber.page.evaluate(async () => {
      const receiving = (await (window as unknown as ParleyWindow).__parley.room.debugState()).sfu?.subscriber;
      const offered = [...(receiving?.remoteSdp ?? '').matchAll(/^a=candidate:\S+ \d+ udp \d+ (\S+) (\d+) typ host/gim)].map((m) => m[1]!);
      const selectedAddress = receiving?.selectedRemoteCandidate?.address;
      return { offered, selectedAddress };
    }, undefined);
    console.log(`SFU host candidates offered to the subscriber: ${media.offered.join(' ')}; selected ${media.selectedAddress}`);
    assert.ok(media.offered.includes(env.network.hostAddress), `the SFU offers ${env.network.hostAddress} (offered: ${media.offered.join(', ')})`);
    assert.equal(media.selectedAddress, env.network.hostAddress);
  });

  test(`clean link: no NACKs and ~0 retransmissions; ${LOSS_PERCENT} % loss: NACKs answered by retransmissions, no freeze over 1 s`, async () => {
    const retransmissions = async () => (await env.server.media.sfuStats(ROOM)).retransmissions;

    const cleanStart = await retransmissions();
    const clean = await watchVideo(subscriber, 'pub', WATCH_MS);
    const cleanRetransmissions = (await retransmissions()) - cleanStart;
    console.log(`clean link over ${WATCH_MS} ms: ${JSON.stringify(clean)}, SFU retransmissions ${cleanRetransmissions}`);

    await env.network.shape({ lossPercent: LOSS_PERCENT });
    const lossyStart = await retransmissions();
    const [lossy, lossyEncoded] = await Promise.all([watchVideo(subscriber, 'pub', WATCH_MS), watchEncoded(publisher, WATCH_MS)]);
    const lossyRetransmissions = (await retransmissions()) - lossyStart;
    const dropped = await env.network.droppedPackets();
    await env.network.shape({});
    // A retransmitted packet fills its gap, so packetsLost counts only what was never recovered.
    console.log(
      `${LOSS_PERCENT} % loss over ${WATCH_MS} ms: ${JSON.stringify(lossy)} (the publisher's encoders' longest pause ${lossyEncoded.gapMs} ms), SFU retransmissions ${lossyRetransmissions}; ` +
        `the link dropped ${dropped.download} packets towards the subscriber (media, RTCP, ICE, signaling) and ${dropped.upload} from it; ` +
        `${lossy.packetsLost} media packets still lost`,
    );

    assert.ok(clean.frames > 100, `video flows on the clean link (${clean.frames} frames)`);
    assert.ok(clean.nacks <= 2, `no NACKs on a clean link (${clean.nacks})`);
    assert.ok(cleanRetransmissions <= 2, `~0 retransmissions on a clean link (${cleanRetransmissions})`);
    assert.ok(dropped.download >= 5, `the loss rule dropped packets towards the subscriber (${dropped.download})`);
    assert.ok(lossy.nacks >= 3, `the subscriber sent NACKs (${lossy.nacks})`);
    assert.ok(lossyRetransmissions >= 3, `the SFU retransmitted (${lossyRetransmissions})`);
    assert.ok(lossy.packetsLost <= dropped.download / 2, `most dropped packets were recovered: ${lossy.packetsLost} still lost of ${dropped.download} dropped`);
    assert.ok(lossy.frames > 100, `frames keep decoding under loss (${lossy.frames})`);
    // Unless the publisher's encoders themselves paused that long (see `watchEncoded`).
    assert.ok(lossy.freezeMs <= Math.max(1000, lossyEncoded.gapMs + 200), `no freeze over 1 s under loss (longest ${lossy.freezeMs} ms; the publisher's encoders paused at most ${lossyEncoded.gapMs} ms)`);
  });

  test('the SFU worker paused 250 ms three times (SIGSTOP: a GC pause, a starved core), its backlog then handled at once: not an uplink collapse, the subscriber stays on the top layer', async () => {
    const pool = (await env.server.media.service()) as WorkerPool;
    const [worker] = pool.pids;
    assert.ok(worker !== undefined, 'an SFU worker runs');
    const sfu = () => env.server.media.sfuStats(ROOM);
    const before = await sfu();
    const heights: number[] = [];
    // The control: the publisher's own top layer. A starved machine makes Chromium scale its
    // encoders down (quality limitation "cpu"), and then the top layer itself is 360p.
    const topLayerHeights: number[] = [];
    // And whether its encoder paused the top layer (Chromium's simulcast allocator turns it off
    // when its own estimate falls short): the longest stretch without a new top-layer frame.
    let topFrames = -1;
    let topFramesAt = performance.now();
    let topLayerPauseMs = 0;
    let lowestEstimateKbps = Infinity;
    const limitations = new Set<string>();
    const sampling = (async () => {
      for (const end = performance.now() + 6000; performance.now() < end; await new Promise((resolve) => setTimeout(resolve, 100))) {
        const [received, sent] = await Promise.all([subscriber.stats(), publisher.stats()]);
        heights.push(received.find((s) => s.direction === 'inbound' && s.kind === 'video')?.frameHeight ?? 0);
        const layers = sent.filter((s) => s.direction === 'outbound' && s.kind === 'video');
        topLayerHeights.push(Math.max(0, ...layers.map((s) => s.frameHeight ?? 0)));
        const top = layers.find((s) => s.rid === 'f');
        const now = performance.now();
        if ((top?.frames ?? 0) > topFrames) [topFrames, topFramesAt] = [top?.frames ?? 0, now];
        topLayerPauseMs = Math.max(topLayerPauseMs, now - topFramesAt);
        for (const layer of layers) {
          if (layer.availableOutgoingKbps !== undefined) lowestEstimateKbps = Math.min(lowestEstimateKbps, layer.availableOutgoingKbps);
          if (layer.qualityLimitationReason) limitations.add(layer.qualityLimitationReason);
        }
      }
    })();
    for (let i = 0; i < 3; i++) {
      process.kill(worker, 'SIGSTOP');
      await new Promise((resolve) => setTimeout(resolve, 250));
      process.kill(worker, 'SIGCONT');
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    await sampling;
    const after = await sfu();
    const topLayerLowest = Math.min(...topLayerHeights);
    console.log(
      `worker paused 3 x 250 ms: its loop saw ${after.loopStalls - before.loopStalls} stalls; uplink collapses ${after.uplinkCollapses - before.uplinkCollapses}, layer switches ${after.layerSwitches - before.layerSwitches}; ` +
        `the subscriber's frame heights over 6 s: ${Math.min(...heights)}-${Math.max(...heights)}p (${heights.length} samples); the publisher's top layer ${topLayerLowest}-${Math.max(...topLayerHeights)}p, its longest pause ${Math.round(topLayerPauseMs)} ms; the publisher's lowest estimate ${lowestEstimateKbps} kbit/s, limited by ${[...limitations].join('/') || '-'}`,
    );
    assert.equal(after.uplinkCollapses - before.uplinkCollapses, 0, 'no uplink collapse counted');
    // The publisher's congestion control is fed the SFU's feedback: a stall's backlog stamped with
    // the time it was handled read as 250 ms of queueing, and Chromium turned its top layer off
    // (450 ms-2.9 s, estimate down to ~1.1 Mbit/s, with another process busy on a core). The
    // backlog is left out of the feedback now (`sfu/worker/loop-watch.ts`).
    assert.ok(after.loopStalls - before.loopStalls >= 3, `the worker saw its three stalls (${after.loopStalls - before.loopStalls})`);
    const stallsOnMetrics = sample((await scrape(env.server.url)).text, 'parley_sfu_worker_loop_stalls_total');
    assert.ok(stallsOnMetrics! >= after.loopStalls, `an operator sees them on /metrics (parley_sfu_worker_loop_stalls_total ${stallsOnMetrics}, the room's worker ${after.loopStalls})`);
    assert.ok(topLayerPauseMs < 300, `the publisher kept sending its top layer (longest pause ${Math.round(topLayerPauseMs)} ms)`);
    assert.equal(after.layerSwitches - before.layerSwitches, 0, 'the SFU kept the subscriber on its layer (no switch)');
    assert.ok(Math.min(...heights) >= Math.min(540, topLayerLowest), `the subscriber stayed on the top layer (lowest ${Math.min(...heights)}p; the top layer itself at least ${topLayerLowest}p)`);
  });

  test('a 400 kbit/s downlink: the SFU moves the subscriber to the lowest layer on its transport-wide feedback, the picture keeps moving, the top layer comes back once the link does', async () => {
    const stats = () => env.server.media.sfuStats(ROOM);
    const height = async () => ((await subscriber.stats()).find((s) => s.direction === 'inbound' && s.kind === 'video')?.frameHeight ?? 0);
    const before = await stats();
    assert.ok(before.subscriberFeedbacks > 0, `Chromium sends the SFU transport-wide feedback for what it receives (${before.subscriberFeedbacks} packets)`);
    const shapedAt = performance.now();
    await env.network.shape({ rateKbit: 400, direction: 'download' });
    try {
      await subscriber.page.waitFor(
        async () => ((await (window as unknown as ParleyWindow).__parley.room.getStats()).find((s) => s.direction === 'inbound' && s.kind === 'video')?.frameHeight ?? 0) <= 180,
        undefined,
        { timeoutMs: 15_000, what: 'the lowest layer under 400 kbit/s' },
      );
      const steppedDownMs = Math.round(performance.now() - shapedAt);
      const [watch, encoded] = await Promise.all([watchVideo(subscriber, 'pub', WATCH_MS), watchEncoded(publisher, WATCH_MS)]);
      console.log(`400 kbit/s downlink: lowest layer after ${steppedDownMs} ms; then over ${WATCH_MS} ms: ${JSON.stringify(watch)} (the publisher's encoders' longest pause ${encoded.gapMs} ms)`);
      assert.ok(watch.frames > 60, `frames keep decoding on the lowest layer (${watch.frames})`);
      assert.ok(watch.freezeMs <= Math.max(1000, encoded.gapMs + 200), `no freeze over 1 s once on the lowest layer (longest ${watch.freezeMs} ms; the publisher's encoders paused at most ${encoded.gapMs} ms)`);
    } finally {
      await env.network.shape({});
    }
    const clearedAt = performance.now();
    await subscriber.page.waitFor(
      async () => ((await (window as unknown as ParleyWindow).__parley.room.getStats()).find((s) => s.direction === 'inbound' && s.kind === 'video')?.frameHeight ?? 0) >= 540,
      undefined,
      { timeoutMs: 30_000, what: 'the top layer again once the link is clear' },
    );
    const after = await stats();
    console.log(`cleared: top layer again after ${Math.round(performance.now() - clearedAt)} ms (${await height()}p); probe packets sent ${after.probePackets - before.probePackets}`);
    assert.ok(after.probePackets > before.probePackets, 'the SFU probed the link before going back up');
  });

  test("a publisher's uplink falling from unlimited to 300 kbit/s: the SFU sees it collapse, moves its subscriber to the lowest layer, and the picture moves again", async () => {
    const uplink = await SdkParticipant.join(env.shapedBrowser, env.proxyUrl, ROOM, 'collapse', { roomConfig: sfuRoom, microphone: false });
    try {
      await publisher.waitForVideoFrom('collapse', 30);
      await publisher.page.evaluate(() => (window as unknown as ParleyWindow).__parley.room.remoteParticipants.get('collapse')!.setVideoQuality('high'), undefined);
      const height = async () => (await publisher.stats()).find((s) => s.direction === 'inbound' && s.kind === 'video' && s.participant === 'collapse')?.frameHeight ?? 0;
      await publisher.page.waitFor(
        async () => ((await (window as unknown as ParleyWindow).__parley.room.getStats()).find((s) => s.direction === 'inbound' && s.kind === 'video' && s.participant === 'collapse')?.frameHeight ?? 0) >= 540,
        undefined,
        { timeoutMs: 20_000, what: "the publisher's top layer at its subscriber" },
      );
      const collapses = async () => (await env.server.media.sfuStats(ROOM)).uplinkCollapses;
      const before = await collapses();
      const droppedAt = performance.now();
      await env.network.shape({ rateKbit: 300 });
      let collapsedMs: number | undefined;
      for (const deadline = droppedAt + 5000; collapsedMs === undefined && performance.now() < deadline; ) {
        if ((await collapses()) > before) collapsedMs = Math.round(performance.now() - droppedAt);
        else await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const watch = await watchVideo(publisher, 'collapse', 6000);
      const heightAfter = await height();
      await env.network.shape({});
      console.log(`uplink 300 kbit/s: collapse seen after ${collapsedMs} ms; over the next 6 s its subscriber saw ${JSON.stringify(watch)}`);
      assert.ok(collapsedMs !== undefined, 'the SFU saw the uplink collapse within 5 s');
      assert.ok(watch.frames >= 20, `the picture moves again on the lowest layer (${watch.frames} frames in 6 s)`);
      assert.ok(heightAfter > 0 && heightAfter <= 240, `the subscriber gets the lowest layer (${heightAfter}p)`);
    } finally {
      await uplink.close();
    }
  });

  test(`${LOSS_PERCENT} % loss on a publisher's uplink: the SFU NACKs the publisher, which resends, and its subscriber's picture keeps moving`, async () => {
    const uplink = await SdkParticipant.join(env.shapedBrowser, env.proxyUrl, ROOM, 'uplink', { roomConfig: sfuRoom, microphone: false });
    try {
      await publisher.waitForVideoFrom('uplink', 30);
      const sent = async () => (await uplink.stats()).filter((s) => s.direction === 'outbound' && s.kind === 'video');
      const sfu = () => env.server.media.sfuStats(ROOM);
      const sentBefore = await sent();
      const sfuBefore = await sfu();
      await env.network.shape({ lossPercent: LOSS_PERCENT });
      const [watch, encoded] = await Promise.all([watchVideo(publisher, 'uplink', WATCH_MS), watchEncoded(uplink, WATCH_MS)]);
      const dropped = await env.network.droppedPackets();
      await env.network.shape({});
      const sentAfter = await sent();
      const grew = (key: 'nackCount' | 'retransmittedPackets') =>
        sentAfter.reduce((sum, layer) => sum + (layer[key] ?? 0) - (sentBefore.find((before) => before.rid === layer.rid)?.[key] ?? 0), 0);
      const sfuAfter = await sfu();
      const asked = sfuAfter.nacksToPublishers - sfuBefore.nacksToPublishers;
      // What the SFU did meanwhile, for a freeze to be read against: layer switches wait for a keyframe.
      const sfuDid = `uplink collapses ${sfuAfter.uplinkCollapses - sfuBefore.uplinkCollapses}, layer switches ${sfuAfter.layerSwitches - sfuBefore.layerSwitches}, keyframe requests ${sfuAfter.keyframeRequests - sfuBefore.keyframeRequests}, resends to subscribers ${sfuAfter.retransmissions - sfuBefore.retransmissions}`;
      console.log(
        `${LOSS_PERCENT} % loss on the uplink over ${WATCH_MS} ms: the link dropped ${dropped.upload} packets from the publisher (media, RTCP, ICE, signaling); ` +
          `the SFU asked for ${asked} packets, the publisher got ${grew('nackCount')} NACKs and resent ${grew('retransmittedPackets')} packets; ` +
          `its subscriber saw ${JSON.stringify(watch)}; its encoders' longest pause ${encoded.gapMs} ms (${encoded.frames} frames, every layer); the SFU: ${sfuDid}`,
      );
      assert.ok(dropped.upload >= 5, `the loss rule dropped packets from the publisher (${dropped.upload})`);
      assert.ok(asked >= 3, `the SFU asked the publisher for lost packets (${asked})`);
      assert.ok(grew('nackCount') >= 3, `the publisher received NACKs (${grew('nackCount')})`);
      assert.ok(watch.packetsLost <= dropped.upload / 8, `nearly every packet lost on the uplink reached the subscriber after all (lost padding closed over): ${watch.packetsLost} still lost of ${dropped.upload} dropped`);
      assert.ok(watch.frames > 100, `frames keep decoding (${watch.frames})`);
      // No freeze over 1 s, unless the publisher's encoders themselves paused (a starved machine):
      // then no longer than that pause and a little more.
      assert.ok(watch.freezeMs <= Math.max(1000, encoded.gapMs + 200), `no freeze over 1 s (longest ${watch.freezeMs} ms; the publisher's encoders paused at most ${encoded.gapMs} ms)`);
    } finally {
      await uplink.close();
    }
  });
});
