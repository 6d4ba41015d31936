/**
 * `liveLayers`: which simulcast layers a publisher is sending, from when each last sent media.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LAYER_IDLE_MS, LAYER_STOPPED_BELOW_LIVE_MS, liveLayers } from '../../../src/sfu/worker/live-layers.ts';

describe('liveLayers', () => {
  test('a layer is live until it has sent nothing for LAYER_IDLE_MS; layers not seen yet are not live', () => {
    assert.deepEqual(liveLayers([1000, 1000, 1000], 1050), [0, 1, 2]);
    assert.deepEqual(liveLayers([1000, undefined, 1000], 1050), [0, 2]);
    assert.deepEqual(liveLayers([1000, 1000, 1000], 1000 + LAYER_IDLE_MS), [], 'everything silent: none live');
    assert.deepEqual(liveLayers([1000, 1000, 1000], 1000 + LAYER_IDLE_MS - 1), [0, 1, 2], 'an outage of every layer shorter than LAYER_IDLE_MS changes nothing');
  });

  test('an upper layer silent for LAYER_STOPPED_BELOW_LIVE_MS while a lower one still sends has stopped', () => {
    // The top layer's last packet at 1000; the lower layers sent 50 ms ago.
    const now = 1000 + LAYER_STOPPED_BELOW_LIVE_MS;
    assert.deepEqual(liveLayers([now - 50, now - 50, 1000], now), [0, 1], 'stopped well before LAYER_IDLE_MS');
    assert.deepEqual(liveLayers([now - 50, now - 50, 1000], now - 1), [0, 1, 2], 'not before');
    assert.deepEqual(liveLayers([now - 50, undefined, 1000], now), [0], 'a live layer two below counts too');
  });

  test('the lowest layer, and an upper one whose lower layers are silent too, only by LAYER_IDLE_MS', () => {
    const now = 1000 + LAYER_STOPPED_BELOW_LIVE_MS + 50;
    assert.deepEqual(liveLayers([1000, now - 10, now - 10], now), [0, 1, 2], 'the lowest layer silent, the upper ones sending');
    assert.deepEqual(liveLayers([now - 150, now - 150, 1000], now), [0, 1, 2], 'a link that stalled every layer: nothing to fall back to');
  });
});
