import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DelayBasedDetector, slope } from '../../../src/sfu/bwe/delay-based.ts';
import { bottleneck } from './links.ts';

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
