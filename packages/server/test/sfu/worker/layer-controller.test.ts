import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LayerController } from '../../../src/sfu/worker/layer-controller.ts';

describe('LayerController', () => {
  test('the first picture comes from the lowest live layer, whatever is wanted; then the wanted layer', () => {
    const layers = new LayerController(3);
    assert.equal(layers.wanted, 2);
    assert.equal(layers.target([0, 1, 2]), 0);
    assert.equal(layers.target([1, 2]), 1, 'the lowest that is live');
    layers.started();
    assert.equal(layers.target([0, 1, 2]), 2);
  });

  test('starts at the best layer; an explicit quality caps it; one layer stays one layer', () => {
    const layers = new LayerController(3);
    layers.started();
    assert.equal(layers.wanted, 2);
    assert.equal(layers.target([0, 1, 2]), 2);
    layers.setRequested('low');
    assert.equal(layers.target([0, 1, 2]), 0);
    layers.setRequested('medium');
    assert.equal(layers.target([0, 1, 2]), 1);
    layers.setRequested('high');
    assert.equal(layers.target([0, 1, 2]), 2);
    const single = new LayerController(1);
    single.setRequested('high');
    assert.equal(single.wanted, 0);
  });

  test('target: the wanted layer, else the best active below it, else the lowest active, -1 for none', () => {
    const layers = new LayerController(3);
    layers.started();
    assert.equal(layers.target([0, 1]), 1, 'top layer paused: best below');
    assert.equal(layers.target([0, 2]), 2);
    layers.setRequested('medium');
    assert.equal(layers.target([0, 2]), 0, 'medium paused: low, not high');
    layers.setRequested('low');
    assert.equal(layers.target([1, 2]), 1, 'nothing at or below wanted: the lowest active');
    assert.equal(layers.target([]), -1);
  });

  test('loss above 10% steps down one layer per report, never below 0; 10% exactly does not', () => {
    const t0 = performance.now();
    const layers = new LayerController(3);
    layers.onLoss(0.1, t0);
    assert.equal(layers.wanted, 2);
    layers.onLoss(0.11, t0 + 1000);
    assert.equal(layers.wanted, 1);
    layers.onLoss(0.5, t0 + 2000);
    assert.equal(layers.wanted, 0);
    layers.onLoss(0.9, t0 + 3000);
    assert.equal(layers.wanted, 0);
  });

  test('steps down from what it receives, not from a cap above its request', () => {
    const layers = new LayerController(3);
    layers.setRequested('medium');
    layers.onLoss(0.3, performance.now());
    assert.equal(layers.wanted, 0);
    layers.setRequested('high');
    assert.equal(layers.wanted, 0, 'the bandwidth cap still holds');
  });

  test('steps up one layer after 8 s of clean reports; moderate loss restarts the clock', () => {
    const t0 = performance.now();
    const layers = new LayerController(3);
    layers.onLoss(0.2, t0);
    layers.onLoss(0.2, t0 + 1000);
    assert.equal(layers.wanted, 0);
    layers.onLoss(0, t0 + 5000);
    assert.equal(layers.wanted, 0, '4 s clean: too early');
    layers.onLoss(0.05, t0 + 8500);
    layers.onLoss(0, t0 + 9500);
    assert.equal(layers.wanted, 0, '5% loss at 8.5 s restarted the clock');
    layers.onLoss(0.01, t0 + 16_501);
    assert.equal(layers.wanted, 1, '8 s after the last lossy report');
    layers.onLoss(0, t0 + 20_000);
    assert.equal(layers.wanted, 1, 'the next step needs another 8 s');
    layers.onLoss(0, t0 + 24_502);
    assert.equal(layers.wanted, 2);
    layers.onLoss(0, t0 + 40_000);
    assert.equal(layers.wanted, 2, 'never above the top layer');
  });
});
