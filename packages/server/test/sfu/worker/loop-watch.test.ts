import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LoopWatch, MAX_BACKLOG_MS, STALL_MS, TICK_MS } from '../../../src/sfu/worker/loop-watch.ts';

describe('LoopWatch: the worker loop\'s lag and stalls', () => {
  test('a loop that runs its timer on time (or a little late under load) has no stall; lateness is measured', () => {
    const loop = new LoopWatch(0);
    let now = 0;
    for (let i = 0; i < 100; i++) {
      now += TICK_MS + (i % 7); // up to 6 ms late
      assert.equal(loop.tick(now), i % 7);
      assert.equal(loop.inStall(now + 3), false, 'packets between ticks are live');
    }
    assert.equal(loop.stalls, 0);
  });

  test('a stall seen first by a packet: its backlog lasts as long as the stall (at most MAX_BACKLOG_MS), then packets are live again', () => {
    const loop = new LoopWatch(0);
    loop.tick(10);
    // The process stopped 250 ms; the first packet handled after it comes before the timer runs.
    assert.equal(loop.inStall(260), true);
    assert.equal(loop.inStall(262), true, 'the rest of the backlog');
    assert.equal(loop.tick(263), 263 - 10 - TICK_MS, 'the timer still measures the whole stall for the lag metric');
    // Backlog until MAX_BACKLOG_MS after the last packet handled before the timer ran again (262).
    for (let now = 263 + TICK_MS; now < 262 + MAX_BACKLOG_MS; now += TICK_MS) loop.tick(now); // running on time again
    assert.equal(loop.inStall(262 + MAX_BACKLOG_MS - 1), true);
    loop.tick(262 + MAX_BACKLOG_MS);
    assert.equal(loop.inStall(262 + MAX_BACKLOG_MS + 1), false);
    assert.equal(loop.stalls, 1, 'one stall, counted once');
  });

  test('a stall seen first by the timer marks what follows as backlog; a short one lasts its own length', () => {
    const loop = new LoopWatch(0);
    loop.tick(10);
    const resumed = 10 + STALL_MS + 20; // 80 ms without the timer
    loop.tick(resumed);
    assert.equal(loop.inStall(resumed + 1), true);
    for (let now = resumed + TICK_MS; now <= resumed + STALL_MS + 10; now += TICK_MS) loop.tick(now);
    assert.equal(loop.inStall(resumed + STALL_MS + 19), true);
    loop.tick(resumed + STALL_MS + 20);
    assert.equal(loop.inStall(resumed + STALL_MS + 21), false);
    assert.equal(loop.stalls, 1);
  });

  test('a gap just under STALL_MS is no stall', () => {
    const loop = new LoopWatch(0);
    assert.equal(loop.inStall(STALL_MS), false);
    assert.equal(loop.tick(STALL_MS), STALL_MS - TICK_MS);
    assert.equal(loop.stalls, 0);
  });
});
