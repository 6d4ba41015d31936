/**
 * The SFU's downlink estimate, piece by piece: the transport-wide send history, GCC's delay-based
 * detector and rate control on synthetic links and on a trace Chromium reported through the SFU,
 * the allocator's choices, and what a probe shows.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { allocate, KEEP_MARGIN, UPGRADE_MARGIN, type AllocationTrack } from '../../src/sfu/bwe/allocator.ts';
import { BandwidthEstimator } from '../../src/sfu/bwe/bandwidth-estimator.ts';
import { DelayBasedDetector, slope } from '../../src/sfu/bwe/delay-based.ts';
import { TransportSendHistory, type PacketResult } from '../../src/sfu/bwe/send-history.ts';
import type { TransportFeedback } from '../../src/sfu/rtp/twcc.ts';
import { probeRate } from '../../src/sfu/worker/downlink-controller.ts';

const feedbackFor = (baseSequence: number, arrivalsUs: (number | undefined)[]): TransportFeedback => ({
  senderSsrc: 1,
  mediaSsrc: 2,
  baseSequence,
  referenceTime: 0,
  feedbackCount: 0,
  arrivalsUs,
});

describe('TransportSendHistory', () => {
  test('numbers packets in order across the wrap, and turns feedback into send/arrival pairs once', () => {
    const history = new TransportSendHistory();
    const first = history.onSent(1000, 10);
    const sequences = [first, history.onSent(500, 20, 7), history.onSent(300, 30)];
    assert.deepEqual(sequences, [first, (first + 1) & 0xffff, (first + 2) & 0xffff]);
    const results = history.results(feedbackFor(first, [5_000, undefined, 25_000]));
    assert.deepEqual(results, [
      { sentAtMs: 10, size: 1000, probe: 0, arrivalMs: 5 },
      { sentAtMs: 20, size: 500, probe: 7, arrivalMs: undefined },
      { sentAtMs: 30, size: 300, probe: 0, arrivalMs: 25 },
    ]);
    assert.deepEqual(history.results(feedbackFor(first, [5_000])), [], 'a sequence is reported once');
    assert.deepEqual(history.results(feedbackFor((first + 100) & 0xffff, [1])), [], 'never sent');
  });

  test('send rate over the window', () => {
    const history = new TransportSendHistory();
    for (let t = 0; t < 1000; t += 10) history.onSent(1250, t); // 1 Mbit/s
    assert.equal(history.sendRate(990, 500), 1_000_000);
    assert.equal(history.sendRate(2000, 500), 0);
  });
});

/** Packets of `size` bytes sent at `sendBps` through a bottleneck of `linkBps` with a FIFO queue. */
function bottleneck(options: { sendBps: number; linkBps: number; size?: number; fromMs: number; toMs: number; lossEvery?: number }): PacketResult[] {
  const size = options.size ?? 1200;
  const interval = (size * 8 * 1000) / options.sendBps;
  const service = (size * 8 * 1000) / options.linkBps;
  const results: PacketResult[] = [];
  let free = 0;
  let n = 0;
  for (let sent = options.fromMs; sent < options.toMs; sent += interval) {
    n += 1;
    free = Math.max(free, sent) + service;
    const lost = options.lossEvery !== undefined && n % options.lossEvery === 0;
    results.push({ sentAtMs: sent, size, probe: 0, arrivalMs: lost ? undefined : free + 20 });
  }
  return results;
}

/** Feeds results in feedbacks every 50 ms, as Chromium sends them; returns the estimate after each. */
function feed(estimator: BandwidthEstimator, results: PacketResult[]): { at: number; bps: number; usage: string }[] {
  const out: { at: number; bps: number; usage: string }[] = [];
  for (let i = 0; i < results.length; ) {
    const until = results[i]!.sentAtMs + 50;
    const batch: PacketResult[] = [];
    while (i < results.length && results[i]!.sentAtMs < until) batch.push(results[i++]!);
    const now = until + 25;
    estimator.onFeedback(batch, now);
    out.push({ at: now, bps: estimator.bps, usage: estimator.usage });
  }
  return out;
}

describe('DelayBasedDetector', () => {
  test('a steady path is normal; a queue building is overuse within a few hundred ms; draining is underuse', () => {
    const detector = new DelayBasedDetector();
    for (const r of bottleneck({ sendBps: 500_000, linkBps: 1_000_000, fromMs: 0, toMs: 3000 })) detector.onPacket(r.sentAtMs, r.arrivalMs!);
    assert.equal(detector.state, 'normal');
    let overuseAt: number | undefined;
    for (const r of bottleneck({ sendBps: 1_500_000, linkBps: 1_000_000, fromMs: 3000, toMs: 4000 })) {
      if (detector.onPacket(r.sentAtMs, r.arrivalMs!) === 'overusing') overuseAt ??= r.sentAtMs;
    }
    assert.ok(overuseAt !== undefined && overuseAt - 3000 < 300, `overuse detected ${overuseAt === undefined ? 'never' : `${overuseAt - 3000} ms`} after the queue began`);
  });

  test('slope is the least-squares fit', () => {
    assert.equal(slope([{ x: 0, y: 1 }, { x: 1, y: 3 }, { x: 2, y: 5 }]), 2);
    assert.equal(slope([{ x: 1, y: 1 }, { x: 1, y: 2 }]), undefined);
  });
});

describe('BandwidthEstimator', () => {
  test('sending 2 Mbit/s into 300 kbit/s: the estimate falls under the link within a second and stays near it', () => {
    const estimator = new BandwidthEstimator({ initialBps: 2_000_000 });
    const trace = feed(estimator, bottleneck({ sendBps: 2_000_000, linkBps: 300_000, fromMs: 0, toMs: 1000 }));
    const firstUnder = trace.find((point) => point.bps <= 300_000);
    assert.ok(firstUnder && firstUnder.at < 1000, `under the link after ${firstUnder?.at} ms`);
    // Then the sender follows the estimate (an SFU picking lower layers): it holds near the link.
    const settled = feed(estimator, bottleneck({ sendBps: 250_000, linkBps: 300_000, fromMs: 2000, toMs: 8000 }));
    const last = settled[settled.length - 1]!.bps;
    assert.ok(last > 150_000 && last < 400_000, `settled at ${Math.round(last)}`);
  });

  test('a clean link forwarding 300 kbit/s: the estimate climbs no further than 1.5x what gets through', () => {
    const estimator = new BandwidthEstimator({ initialBps: 300_000 });
    feed(estimator, bottleneck({ sendBps: 300_000, linkBps: 10_000_000, fromMs: 0, toMs: 20_000 }));
    assert.ok(estimator.bps > 400_000 && estimator.bps <= 1.5 * 300_000 + 10_000 + 1, `${Math.round(estimator.bps)}`);
  });

  test('loss: over 10 % cuts by half the loss, 2-10 % holds, under 2 % lets it climb', () => {
    const heavy = new BandwidthEstimator({ initialBps: 1_000_000 });
    const heavyTrace = feed(heavy, bottleneck({ sendBps: 800_000, linkBps: 10_000_000, fromMs: 0, toMs: 4000, lossEvery: 5 }));
    const cuts = heavyTrace.filter((point, i) => i > 0 && point.bps < heavyTrace[i - 1]!.bps);
    assert.ok(cuts.length >= 2 && cuts.every((cut) => cut.usage === 'normal'), `20 % loss cuts once per second of feedback: ${cuts.length}`);
    assert.ok(heavy.bps < 1_000_000 * 0.9, `${Math.round(heavy.bps)}`);
    const moderate = new BandwidthEstimator({ initialBps: 500_000 });
    const moderateTrace = feed(moderate, bottleneck({ sendBps: 450_000, linkBps: 10_000_000, fromMs: 0, toMs: 5000, lossEvery: 20 }));
    const afterFirstWindow = moderateTrace.filter((point) => point.at > 1100).map((point) => point.bps);
    assert.ok(afterFirstWindow.every((bps) => bps === afterFirstWindow[0]), '5 % loss holds the estimate');
    const clean = new BandwidthEstimator({ initialBps: 500_000 });
    feed(clean, bottleneck({ sendBps: 450_000, linkBps: 10_000_000, fromMs: 0, toMs: 5000, lossEvery: 100 }));
    assert.ok(clean.bps > 600_000, `1 % loss climbs: ${Math.round(clean.bps)}`);
  });

  test('a probe raises the estimate only if no queue built up during it', () => {
    const estimator = new BandwidthEstimator({ initialBps: 300_000 });
    feed(estimator, bottleneck({ sendBps: 250_000, linkBps: 10_000_000, fromMs: 0, toMs: 2000 }));
    estimator.onProbeResult(900_000, 1900);
    assert.equal(estimator.bps, 900_000);
    const queued = new BandwidthEstimator({ initialBps: 1_000_000 });
    feed(queued, bottleneck({ sendBps: 2_000_000, linkBps: 500_000, fromMs: 0, toMs: 1000 }));
    const before = queued.bps;
    queued.onProbeResult(2_000_000, 500);
    assert.equal(queued.bps, before);
  });

  test("Chromium's feedback through the SFU when its link fell from 2000 to 300 kbit/s (recorded)", () => {
    const fixture = JSON.parse(readFileSync(new URL('../fixtures/chromium-downlink-step.json', import.meta.url), 'utf8')) as {
      linkDropAtMs: number;
      trace: { at: number; results: [number, number, number | null][] }[];
    };
    const estimator = new BandwidthEstimator({ initialBps: 1_500_000 });
    const points: { at: number; bps: number; usage: string }[] = [];
    for (const feedback of fixture.trace) {
      const results = feedback.results.map(([sentAtMs, size, arrival]) => ({ sentAtMs, size, probe: 0, arrivalMs: arrival ?? undefined }));
      estimator.onFeedback(results, feedback.at);
      points.push({ at: feedback.at, bps: estimator.bps, usage: estimator.usage });
    }
    const beforeDrop = points.filter((p) => p.at < fixture.linkDropAtMs);
    assert.ok(beforeDrop.every((p) => p.usage !== 'overusing'), 'no overuse on the 2 Mbit/s link');
    assert.ok(Math.min(...beforeDrop.map((p) => p.bps)) > 800_000, 'nor a cut');
    const firstOveruse = points.find((p) => p.usage === 'overusing');
    assert.ok(firstOveruse && firstOveruse.at - fixture.linkDropAtMs < 500, `overuse ${firstOveruse && firstOveruse.at - fixture.linkDropAtMs} ms after the drop`);
    const underLink = points.find((p) => p.at > fixture.linkDropAtMs && p.bps <= 300_000);
    assert.ok(underLink && underLink.at - fixture.linkDropAtMs < 1000, `under 300 kbit/s ${underLink && underLink.at - fixture.linkDropAtMs} ms after the drop`);
  });
});

const video = (id: string, priority: number, layerBps: number[], currentLayer = -1, maxLayer = layerBps.length - 1): AllocationTrack => ({ id, kind: 'video', priority, layerBps, maxLayer, currentLayer });
const audio = (id: string): AllocationTrack => ({ id, kind: 'audio', priority: 0, layerBps: [40_000], maxLayer: 0, currentLayer: 0 });
const LAYERS = [150_000, 500_000, 1_500_000];

describe('allocate', () => {
  test('audio first, every video its lowest layer, then the highest priority as far as it wants', () => {
    const result = allocate(1_000_000, [audio('a1'), video('camera', 0, LAYERS), audio('a2'), video('screen', 2, LAYERS)]);
    // 1000 - 80 (audio) - 300 (two low layers) = 620: the screen goes to 500 (needs 350 x 1.15), the camera stays low.
    assert.deepEqual(Object.fromEntries(result.layers), { screen: 1, camera: 0 });
    assert.equal(result.usedBps, 80_000 + 500_000 + 150_000);
    assert.equal(result.nextStepBps, 730_000 + 1_000_000 * UPGRADE_MARGIN, 'the screen to 1.5 Mbit/s is next');
  });

  test('a layer already forwarded stays while it nearly fits; a new one needs headroom', () => {
    // 40 audio + 150 + a 350 step: 540 is the cost of layer 1.
    const short = 40_000 + 150_000 + 350_000 * KEEP_MARGIN + 1000;
    assert.equal(allocate(short, [audio('a'), video('v', 0, LAYERS, 1)]).layers.get('v'), 1, 'keeps 1 a little short of its cost');
    assert.equal(allocate(540_000 + 10_000, [audio('a'), video('v', 0, LAYERS, 0)]).layers.get('v'), 0, 'does not move up to 1 without the headroom');
    assert.equal(allocate(short - 2000, [audio('a'), video('v', 0, LAYERS, 1)]).layers.get('v'), 0, 'leaves 1 when it falls further short');
  });

  test('the wanted maximum caps it, and then nothing is held back', () => {
    const result = allocate(5_000_000, [video('v', 0, LAYERS, 0, 1)]);
    assert.equal(result.layers.get('v'), 1);
    assert.equal(result.nextStepBps, undefined);
  });

  test('below the lowest layers, every video still gets its lowest', () => {
    const result = allocate(100_000, [video('a', 0, LAYERS), video('b', 1, LAYERS)]);
    assert.deepEqual([...result.layers.values()], [0, 0]);
  });
});

describe('probeRate', () => {
  const probe = (sent: [number, number, number], received: [number, number, number]) => ({
    sent: { bytes: sent[0], lastSize: 250, first: sent[1], last: sent[2], packets: 40 },
    received: { bytes: received[0], firstSize: 250, first: received[1], last: received[2], packets: 40 },
  });

  test('min of send and receive rates when the link kept up; 95 % of received when it saturated', () => {
    // 10,250 bytes over 100 ms sent = 800 kbit/s; received over 100 ms too.
    assert.equal(probeRate(probe([10_250, 0, 100], [10_250, 1000, 1100])), 800_000);
    // received over 200 ms: 400 kbit/s < 90 % of 800: saturated.
    assert.equal(probeRate(probe([10_250, 0, 100], [10_250, 1000, 1200])), 0.95 * 400_000);
  });

  test('too little received to tell', () => {
    assert.equal(probeRate({ sent: { bytes: 10_000, lastSize: 250, first: 0, last: 100, packets: 40 }, received: { bytes: 5000, firstSize: 250, first: 0, last: 100, packets: 20 } }), undefined);
  });
});
