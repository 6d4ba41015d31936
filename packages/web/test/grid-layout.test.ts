import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chooseGridShape, MIN_TILE_WIDTH } from '../src/grid-layout.ts';

const desktop = { width: 1248, height: 650, gap: 8, aspect: 16 / 9 };
const phonePortrait = { width: 374, height: 700, gap: 8, aspect: 1 };

describe('chooseGridShape', () => {
  it('shows one tile full size', () => {
    assert.deepEqual(chooseGridShape(1, desktop), { columns: 1, rows: 1, rowHeight: undefined });
  });

  it('puts two tiles side by side on a wide screen and stacks them on a phone', () => {
    assert.equal(chooseGridShape(2, desktop).columns, 2);
    assert.equal(chooseGridShape(2, phonePortrait).columns, 1);
  });

  it('uses a grid for more people', () => {
    assert.deepEqual(chooseGridShape(4, desktop), { columns: 2, rows: 2, rowHeight: undefined });
    assert.deepEqual(chooseGridShape(9, desktop), { columns: 3, rows: 3, rowHeight: undefined });
    assert.deepEqual(chooseGridShape(5, phonePortrait), { columns: 2, rows: 3, rowHeight: undefined });
  });

  it('scrolls instead of shrinking tiles below the minimum width', () => {
    const shape = chooseGridShape(30, phonePortrait);
    assert.equal(shape.rows, undefined);
    assert.equal(shape.columns, 2);
    assert.ok((shape.rowHeight ?? 0) >= MIN_TILE_WIDTH);
  });

  it('copes with a grid that has no size yet', () => {
    assert.deepEqual(chooseGridShape(3, { width: 0, height: 0, gap: 8, aspect: 16 / 9 }).rowHeight, undefined);
  });
});
