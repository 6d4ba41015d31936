import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { allocate, KEEP_MARGIN, UPGRADE_MARGIN, type AllocationTrack } from '../../../src/sfu/bwe/allocator.ts';

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
