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

describe('UplinkCollapse seen by its queue, and the rate cap (REMB to the publisher)', () => {
  /**
   * A publisher at ~2 Mbit/s: a 30 fps frame of 8 packets of 1000 bytes every 33 ms, each packet
   * arriving `delayOf(frame)` ms after its capture (90 kHz RTP timestamps), none lost.
   */
  function publish(detector: UplinkCollapse, fromFrame: number, frames: number, delayOf: (frame: number) => number, packetsOf: (frame: number) => number = () => 8): number | undefined {
    let collapsedAt: number | undefined;
    for (let frame = fromFrame; frame < fromFrame + frames; frame++) {
      const captured = frame * 33;
      const packets = packetsOf(frame);
      for (let i = 0; i < packets; i++) {
        const now = captured + delayOf(frame) + i;
        detector.onBytes(1000, now);
        detector.onAdvance(1, now);
        detector.onMedia(0, (captured * 90) >>> 0, 90000, now);
        if (collapsedAt === undefined && detector.update(now)) collapsedAt = now;
      }
    }
    return collapsedAt;
  }

  test('a link falling from 2 Mbit/s to 300 kbit/s: seen from its queue within ~150 ms, before any loss; the cap is 3/4 of what it carried', () => {
    const detector = new UplinkCollapse();
    assert.equal(publish(detector, 0, 60, () => 5), undefined, 'a steady link');
    // From frame 60 (1980 ms) the link carries 300 kbit/s: one 1000-byte packet every ~27 ms, so
    // the publisher's 8 packets a frame queue up and each one waits behind those before it.
    const fellAt = 60 * 33;
    let departed = fellAt;
    let collapsedAt: number | undefined;
    for (let frame = 60; frame < 80 && collapsedAt === undefined; frame++) {
      const captured = frame * 33;
      for (let i = 0; i < 8 && collapsedAt === undefined; i++) {
        departed = Math.max(departed + 27, captured + 5 + i);
        detector.onBytes(1000, departed);
        detector.onAdvance(1, departed);
        detector.onMedia(0, (captured * 90) >>> 0, 90000, departed);
        if (detector.update(departed)) collapsedAt = departed;
      }
    }
    assert.ok(collapsedAt !== undefined && collapsedAt - fellAt <= 250, `collapsed ${collapsedAt === undefined ? 'never' : `${collapsedAt - fellAt} ms`} after the fall`);
    assert.equal(detector.seenBeforeLoss, true);
    const cap = detector.rateCap(4_000_000, collapsedAt);
    assert.ok(cap >= 100_000 && cap <= 300_000, `cap ${cap} bit/s, under the link's 300 kbit/s`);
  });

  test("a 720p keyframe's burst on a healthy link queues too, but arrives at the link's full rate: no collapse", () => {
    const detector = new UplinkCollapse();
    assert.equal(publish(detector, 0, 60, () => 5), undefined);
    // Frame 60 is a keyframe of 60 packets: at 2 Mbit/s they take 240 ms, the frames behind wait.
    let backlogUntil = 0;
    const collapsed = publish(
      detector,
      60,
      30,
      (frame) => {
        const captured = frame * 33;
        const start = Math.max(captured + 5, backlogUntil);
        backlogUntil = start + (frame === 60 ? 240 : 32);
        return start - captured;
      },
      (frame) => (frame === 60 ? 60 : 8),
    );
    assert.equal(collapsed, undefined);
  });

  for (const stallMs of [60, 120, 200, 300]) {
    test(`a link that stalls ${stallMs} ms and then delivers everything at once (Wi-Fi retries: jitter, no rate lost) is not a collapse, judged between any two packets`, () => {
      const detector = new UplinkCollapse();
      assert.equal(publish(detector, 0, 60, () => 5), undefined);
      // From frame 60 the link holds every packet for up to stallMs every ~700 ms, then releases
      // the backlog in order at ~10x its rate (0.1 ms a packet); the publisher's rate is unchanged.
      let released = 0;
      const collapsed = publish(detector, 60, 300, (frame) => {
        const captured = frame * 33;
        const cycle = captured % 700;
        const stallEnd = captured - cycle + stallMs;
        const arrival = cycle < stallMs ? stallEnd + 5 + 0.8 * (frame - Math.ceil((captured - cycle) / 33)) : captured + 5;
        released = Math.max(released, arrival);
        return released - captured;
      });
      assert.equal(collapsed, undefined, `collapsed at ${collapsed} ms`);
    });
  }

  test('a publisher sending less (an upper layer paused, a still scene) is not a collapse: no queue', () => {
    const detector = new UplinkCollapse();
    assert.equal(publish(detector, 0, 60, () => 5), undefined);
    assert.equal(publish(detector, 60, 60, () => 5, () => 1), undefined);
  });

  test('the cap holds while collapsed, measured once; after, it rises 1.5x a second back to the ceiling', () => {
    const detector = new UplinkCollapse();
    // A 300 kbit/s link (1000-byte packets every ~27 ms), delivering all at first, then 1 of every 8 sent.
    let now = 0;
    for (; now < 1000; now += 27) {
      detector.onAdvance(1, now);
      detector.onBytes(1000, now);
    }
    for (; now < 2000 && !detector.update(now); now += 27) {
      detector.onAdvance(8, now);
      detector.onBytes(1000, now);
    }
    assert.equal(detector.collapsed, true, 'collapsed on loss');
    assert.equal(detector.seenBeforeLoss, false);
    const cap = detector.rateCap(4_000_000, now);
    // The last 200 ms hold 6 or 7 of the 27 ms arrivals, as the 50 ms bins fall (the collapse is
    // judged one arrival later since a 30 % share alone no longer decides: 6 here).
    assert.ok(cap >= 0.75 * 240_000 && cap < 0.75 * 350_000, `cap ${cap} bit/s: 3/4 of ~300 kbit/s`);
    // The capped publisher sends far less and loses nothing: the cap does not follow it down.
    for (const end = now + 1000; now < end; now += 100) {
      detector.onAdvance(1, now);
      detector.onBytes(1000, now);
      detector.update(now);
    }
    assert.equal(detector.rateCap(4_000_000, now), cap, 'measured once, at the onset');
    for (; detector.update(now); now += 20) {
      detector.onAdvance(1, now);
      detector.onBytes(1000, now);
    }
    assert.equal(detector.rateCap(4_000_000, now), cap, 'the collapse just ended: the cap starts rising from where it was');
    assert.equal(detector.rateCap(4_000_000, now + 2000), Math.round(cap * 2.25), 'two seconds later');
    assert.equal(detector.rateCap(4_000_000, now + 20_000), 4_000_000, 'back at the ceiling');
    assert.equal(detector.rateCap(4_000_000, now + 1000), 4_000_000, 'and it stays there');
  });

  test('a link that carried almost nothing still leaves the lowest layer room', () => {
    const detector = new UplinkCollapse();
    let now = 0;
    for (; now < 600 && !detector.update(now); now += 10) {
      detector.onAdvance(4, now);
      detector.onBytes(60, now);
    }
    assert.equal(detector.rateCap(4_000_000, now), 50_000);
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

  test('7 % random loss at the rate of a 360p and a 180p layer at 15 fps (~60 packets a second) counts neither as losing most nor as a collapse', () => {
    // bench:quality's uplink `lossy`: ~12 packets in 200 ms, where 30 % (4) is lost in ~1 % of
    // windows; judged at every lost packet, resends of the forwarded layer were withheld (a freeze).
    const detector = new UplinkCollapse();
    let seed = 5;
    const random = () => ((seed = (seed * 48271) % 0x7fffffff) / 0x7fffffff);
    let losingMost = 0;
    let collapsed = 0;
    for (let i = 0, now = 0; i < 60 * 600; i++, now += 1000 / 60) {
      const advance = random() < 0.07 ? (random() < 0.07 ? 3 : 2) : 1;
      detector.onAdvance(advance, now);
      if (advance > 1 && detector.losingMost) losingMost += 1;
      if (i % 3 === 0 && detector.update(now)) collapsed += 1;
    }
    assert.deepEqual({ losingMost, collapsed }, { losingMost: 0, collapsed: 0 }, 'over 10 simulated minutes');
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

  test('a collapse seen from its queue, before loss: the layer forwarded goes on until the switch (its frames still arrive whole)', () => {
    const layers = new LayerController(3);
    layers.started();
    layers.setAllocated(2);
    layers.setUpstreamCap(0, false);
    assert.equal(layers.target([0, 1, 2]), 0, 'the switch to the lowest layer is asked for');
    assert.equal(layers.dropsAboveWanted, false, 'but the 720p frames already queued are still shown until its keyframe');
    layers.setUpstreamCap(0);
    assert.equal(layers.dropsAboveWanted, true, 'seen from loss: stopped at once');
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
