import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sparklinePoints } from '../src/sparkline.ts';

describe('sparklinePoints', () => {
  const scale = { width: 62, height: 22, capacity: 61, minimumMax: 10 };

  it('puts the newest sample at the right edge, zero at the bottom and the maximum at the top', () => {
    const points = sparklinePoints([0, 50, 100], scale);
    assert.equal(points.length, 3);
    assert.deepEqual(points.at(-1), { x: 61, y: 1 });
    assert.deepEqual(points[0], { x: 59, y: 21 });
    assert.equal(points[1]?.y, 11);
  });

  it('keeps small values low against the minimum top, and treats junk as zero', () => {
    const points = sparklinePoints([5, Number.NaN, -3, Infinity], scale);
    assert.equal(points[0]?.y, 11, '5 of a minimum top of 10 is half way');
    assert.deepEqual(points.slice(1).map((p) => p.y), [21, 21, 21]);
  });

  it('spans the whole width when full and drops samples beyond the capacity', () => {
    const values = Array.from({ length: 100 }, (_, i) => i);
    const points = sparklinePoints(values, scale);
    assert.equal(points.length, 61);
    assert.equal(points[0]?.x, 1);
    assert.equal(points.at(-1)?.x, 61);
    assert.equal(points.at(-1)?.y, 1, 'the newest (99) is the maximum of the samples shown');
    assert.equal(points[0]?.y, 1 + 20 - (39 / 99) * 20);
  });

  it('draws nothing for no samples', () => {
    assert.deepEqual(sparklinePoints([], scale), []);
  });
});
