/**
 * `UplinkCollapse`: when a publisher's uplink loses most of what it sends (the SFU then caps its
 * subscribers to the lowest layer), and when it counts as recovered.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { UplinkCollapse } from '../../../src/sfu/worker/uplink-collapse.ts';
import { LayerController } from '../../../src/sfu/worker/layer-controller.ts';

/** Feeds `ms` of packets every `intervalMs`, each advancing the sequence by `advance` (advance - 1 lost); returns the time after. */
function feed(detector: UplinkCollapse, from: number, ms: number, intervalMs: number, advance: number): number {
  let now = from;
  for (; now < from + ms; now += intervalMs) detector.onAdvance(advance, now);
  return now;
}

describe('UplinkCollapse', () => {
  test('7 % random loss never collapses; most of the packets lost does, within a window', () => {
    const detector = new UplinkCollapse();
    let seed = 7;
    const random = () => ((seed = (seed * 48271) % 0x7fffffff) / 0x7fffffff);
    let now = 0;
    for (let i = 0; i < 6000; i++, now += 4) {
      // 250 packets a second, each lost with probability 0.07: a lost one shows as an advance of 2.
      detector.onAdvance(random() < 0.07 ? 2 : 1, now);
      if (i % 12 === 0) assert.equal(detector.update(now), false, `no collapse at ${now} ms`);
    }
    // 2 of every 3 packets lost: collapsed within the 500 ms window.
    const start = now;
    let collapsedAt: number | undefined;
    for (; now < start + 600; now += 12) {
      detector.onAdvance(3, now);
      if (collapsedAt === undefined && detector.update(now)) collapsedAt = now;
    }
    assert.ok(collapsedAt !== undefined && collapsedAt - start <= 500, `collapsed ${collapsedAt === undefined ? 'never' : `${collapsedAt - start} ms`} after the loss began`);
  });

  test('too few packets to judge is not a collapse', () => {
    const detector = new UplinkCollapse();
    feed(detector, 0, 500, 50, 3); // 10 packets advancing 3: 30 expected, 20 lost: judged
    const sparse = new UplinkCollapse();
    feed(sparse, 0, 500, 100, 2); // 5 packets advancing 2: 10 expected, below the minimum
    assert.equal(sparse.update(500), false);
    const outage = new UplinkCollapse();
    feed(outage, 0, 500, 10, 1);
    outage.onAdvance(2000, 500); // 5 s without a packet, then the link is back
    assert.equal(outage.update(510), false, 'an outage over is not a collapse');
    assert.equal(detector.update(500), true);
  });

  test('held 3 s after the loss stops; a second collapse within 30 s holds 6 s', () => {
    const detector = new UplinkCollapse();
    let now = feed(detector, 0, 500, 10, 4);
    assert.equal(detector.update(now), true);
    now = feed(detector, now, 2900, 10, 1);
    assert.equal(detector.update(now), true, 'still held 2.9 s after the last lossy window');
    now = feed(detector, now, 700, 10, 1);
    assert.equal(detector.update(now), false, 'recovered after 3 s clean');
    const ended = now;
    now = feed(detector, now, 5000, 10, 1);
    now = feed(detector, now, 500, 10, 4);
    assert.equal(detector.update(now), true, 'collapsed again');
    const lossEnded = now;
    now = feed(detector, now, 5500, 10, 1);
    assert.equal(detector.update(now), true, `held longer the second time (${now - lossEnded} ms clean, ${now - ended} ms after the first ended)`);
    now = feed(detector, now, 1000, 10, 1);
    assert.equal(detector.update(now), false);
  });
});

describe('UplinkCollapse losingMost (no resends asked for)', () => {
  test('the first long gaps of a collapse count at once, before a whole window can judge', () => {
    const detector = new UplinkCollapse();
    let now = feed(detector, 0, 1000, 4, 1); // 250 packets a second, none lost
    assert.equal(detector.losingMost, false);
    // The link falls: 1 packet in 8 gets through. Two arrivals later, the resends are not worth asking for.
    detector.onAdvance(8, now);
    now += 32;
    detector.onAdvance(8, now);
    assert.equal(detector.losingMost, true, 'two gaps of 7 among the last 200 ms');
    assert.equal(detector.update(now), false, 'while the 500 ms window does not count it as a collapse yet');
  });

  test('7 % random loss never counts as losing most', () => {
    const detector = new UplinkCollapse();
    let seed = 11;
    const random = () => ((seed = (seed * 48271) % 0x7fffffff) / 0x7fffffff);
    let flagged = 0;
    for (let i = 0, now = 0; i < 15000; i++, now += 4) {
      detector.onAdvance(random() < 0.07 ? 2 : 1, now);
      if (detector.losingMost) flagged += 1;
    }
    assert.equal(flagged, 0);
  });

  test('too few packets to judge: a 180p layer alone losing two packets is not a collapse', () => {
    const detector = new UplinkCollapse();
    detector.onAdvance(1, 0);
    detector.onAdvance(3, 50);
    assert.equal(detector.losingMost, false);
  });
});

describe('LayerController upstream cap', () => {
  test('a collapsed uplink caps the wanted layer and stops the forwarded one at once; lifting it restores what the downlink allows', () => {
    const layers = new LayerController(3);
    layers.started();
    layers.setAllocated(2);
    assert.equal(layers.target([0, 1, 2]), 2);
    layers.setUpstreamCap(0);
    assert.equal(layers.wanted, 0);
    assert.equal(layers.dropsAboveWanted, true);
    assert.equal(layers.target([0, 1, 2]), 0);
    layers.setUpstreamCap(undefined);
    assert.equal(layers.wanted, 2);
    assert.equal(layers.dropsAboveWanted, false);
  });

  test('under the cap the target stays the lowest layer while it looks idle, rather than the next live one above', () => {
    const layers = new LayerController(3);
    layers.started();
    layers.setAllocated(2);
    layers.setUpstreamCap(0);
    // Most of every layer lost: the 180p layer's few packets read as stopped, the upper ones trickle in.
    assert.equal(layers.target([1, 2]), 0, 'the 180p keyframe, not a 360p one');
    assert.equal(layers.target([]), -1, 'nothing arriving at all');
    layers.setUpstreamCap(undefined);
    assert.equal(layers.target([1, 2]), 2, 'without the cap, the live layers decide');
  });
});
