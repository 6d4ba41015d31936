/**
 * GCC's delay-based detector and rate control on synthetic links and on a trace Chromium
 * reported through the SFU.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { BandwidthEstimator } from '../../../src/sfu/bwe/bandwidth-estimator.ts';
import type { PacketResult } from '../../../src/sfu/bwe/send-history.ts';
import { bottleneck } from './links.ts';

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
    const fixture = JSON.parse(readFileSync(new URL('../../fixtures/chromium-downlink-step.json', import.meta.url), 'utf8')) as {
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
