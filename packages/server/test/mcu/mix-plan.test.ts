import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encodesPerTick, planMixes } from '../../src/mcu/mix-plan.ts';

describe('planMixes', () => {
  test('listeners who publish no audio share one mix; each speaker who listens has its own', () => {
    const listeners = ['s1', 'l1', 's2', 'l2', 'l3'];
    const plan = planMixes(listeners, new Set(['s1', 's2', 's3']));
    assert.deepEqual(plan, { shared: ['l1', 'l2', 'l3'], own: ['s1', 's2'] });
    // s3 publishes but receives nothing (a publish-only token): no mix is made for it.
    assert.equal(encodesPerTick(plan), 3);
  });

  test('a webinar of 3 speakers and 50 listeners encodes 4 frames per tick, not 53', () => {
    const listeners = Array.from({ length: 50 }, (_, i) => `listener-${i}`);
    const speakers = ['a', 'b', 'c'];
    assert.equal(encodesPerTick(planMixes([...speakers, ...listeners], new Set(speakers))), 4);
  });

  test('a listener who starts publishing moves to its own mix, and back when it stops', () => {
    const listeners = ['a', 'l1', 'l2'];
    assert.deepEqual(planMixes(listeners, new Set(['a'])), { shared: ['l1', 'l2'], own: ['a'] });
    assert.deepEqual(planMixes(listeners, new Set(['a', 'l2'])), { shared: ['l1'], own: ['a', 'l2'] });
    assert.deepEqual(planMixes(listeners, new Set(['a'])), { shared: ['l1', 'l2'], own: ['a'] });
  });

  test('nobody speaking: everyone on the shared (silent) mix, one encode; nobody listening: none', () => {
    assert.equal(encodesPerTick(planMixes(['l1', 'l2'], new Set())), 1);
    assert.equal(encodesPerTick(planMixes([], new Set(['a']))), 0);
    // Only speakers, as in a meeting where everyone publishes: one mix-minus each, nothing shared.
    assert.deepEqual(planMixes(['a', 'b'], new Set(['a', 'b'])), { shared: [], own: ['a', 'b'] });
  });
});
