/** The spare decoder's bookkeeping (`spare-pool.ts`) with fake processes and a hand-driven clock. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SparePool, SPARE_REFILL_MS } from '../../../src/mcu/video/spare-pool.ts';

class FakeProcess {
  closed = false;
  constructor(
    readonly id: number,
    readonly exit: () => void,
  ) {}
  close(): void {
    this.closed = true;
  }
}

/** A pool over fake processes; `advance(ms)` runs the timers that fall due. */
function fakePool(options: { retryMs?: number; maxRetryMs?: number } = {}) {
  const started: FakeProcess[] = [];
  let now = 0;
  let timers: Array<{ at: number; callback: () => void; id: number }> = [];
  let nextTimer = 0;
  const pool = new SparePool<FakeProcess>({
    ...options,
    start: (onExit) => {
      const process = new FakeProcess(started.length, onExit);
      started.push(process);
      return process;
    },
    setTimer: (callback, ms) => {
      const id = nextTimer++;
      timers.push({ at: now + ms, callback, id });
      return id;
    },
    clearTimer: (id) => (timers = timers.filter((timer) => timer.id !== id)),
  });
  const advance = (ms: number) => {
    const until = now + ms;
    for (;;) {
      const due = timers.filter((timer) => timer.at <= until).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      timers = timers.filter((timer) => timer !== due);
      now = due.at;
      due.callback();
    }
    now = until;
  };
  return { pool, started, advance, pendingTimers: () => timers.length };
}

describe('SparePool', () => {
  test('one spare is started at once and handed to the first taker; the next is started behind it in the next task, not during the take', () => {
    const { pool, started, advance, pendingTimers } = fakePool();
    assert.equal(SPARE_REFILL_MS, 0);
    assert.equal(started.length, 1, 'a spare from the start');
    assert.ok(pool.ready);
    const first = pool.take();
    assert.equal(first, started[0], 'the spare, not a new one');
    assert.equal(started.length, 1, 'nothing started during the take (the taker hands it its codec first)');
    assert.ok(!pool.ready);
    assert.equal(pendingTimers(), 1);
    advance(0);
    assert.equal(started.length, 2, 'the next spare, on a timer of 0 ms');
    assert.equal(pool.take(), started[1]);
    assert.deepEqual(pool.stats, { warm: 2, cold: 0, died: 0 });
  });

  test('cameras published close together, each in a task of its own (ms apart), each find a spare: one spare at a time, never more', () => {
    const { pool, started, advance } = fakePool();
    for (let i = 0; i < 3; i++) {
      assert.equal(pool.take(), started[i], `take ${i + 1}: the spare`);
      advance(50);
      assert.equal(started.length, i + 2, 'one spare behind it, no more');
    }
    advance(60_000);
    assert.equal(started.length, 4);
    assert.deepEqual(pool.stats, { warm: 3, cold: 0, died: 0 });
  });

  test('takers in one task after the spare is taken start their own; then one spare, not one per take', () => {
    const { pool, started, advance } = fakePool();
    pool.take();
    const second = pool.take();
    const third = pool.take();
    assert.equal(started.length, 3, 'two started on demand');
    assert.ok(second === started[1] && third === started[2]);
    advance(60_000);
    assert.equal(started.length, 4, 'then one spare');
    assert.deepEqual(pool.stats, { warm: 1, cold: 2, died: 0 });
  });

  test('a spare that dies while waiting is started again, later after each death in a row, and the delay resets once a spare is taken', () => {
    const { pool, started, advance } = fakePool({ retryMs: 100, maxRetryMs: 350 });
    started[0]!.exit();
    assert.ok(!pool.ready);
    advance(99);
    assert.equal(started.length, 1);
    advance(1);
    assert.equal(started.length, 2, 'again after 100 ms');
    started[1]!.exit();
    advance(199);
    assert.equal(started.length, 2);
    advance(1);
    assert.equal(started.length, 3, 'again after 200 ms');
    started[2]!.exit();
    advance(350);
    assert.equal(started.length, 4, 'capped at 350 ms');
    started[3]!.exit();
    advance(350);
    assert.equal(started.length, 5, 'still 350 ms');
    assert.equal(pool.take(), started[4]);
    advance(SPARE_REFILL_MS);
    started[5]!.exit();
    advance(100);
    assert.equal(started.length, 7, 'back to 100 ms after a spare lived to be taken');
    assert.equal(pool.stats.died, 5);
  });

  test("a taken process's exit is its user's business, not the pool's", () => {
    const { pool, started, advance, pendingTimers } = fakePool();
    const taken = pool.take();
    advance(SPARE_REFILL_MS);
    assert.equal(started.length, 2);
    taken.exit();
    assert.ok(pool.ready, 'the waiting spare is still there');
    assert.equal(pendingTimers(), 0);
    assert.equal(pool.stats.died, 0);
  });

  test('close closes the waiting spare and cancels the timers: nothing is started after it', () => {
    const { pool, started, advance, pendingTimers } = fakePool();
    pool.take();
    advance(SPARE_REFILL_MS);
    pool.take();
    assert.equal(pendingTimers(), 1);
    advance(SPARE_REFILL_MS);
    const spare = started[2]!;
    pool.close();
    assert.ok(spare.closed, 'the waiting spare closed');
    assert.ok(!started[0]!.closed && !started[1]!.closed, 'those taken are their users to close');
    assert.equal(pendingTimers(), 0);
    spare.exit();
    advance(60_000);
    assert.equal(started.length, 3, 'nothing started after close');
    assert.throws(() => pool.take(), /closed/);
  });
});
