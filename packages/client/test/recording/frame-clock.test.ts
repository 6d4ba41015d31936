/**
 * FrameClock's choice of clock and its ticks, with a stand-in Worker (Node has no DOM Worker);
 * that a real Worker's clock keeps the frame rate in a hidden tab is e2e/recording-hidden-tab.test.ts.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { FrameClock } from '../../src/recording/frame-clock.ts';

class FakeWorker {
  static made: FakeWorker[] = [];
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onerror: ((event: { preventDefault(): void }) => void) | null = null;
  posted: unknown[] = [];
  terminated = false;
  constructor(readonly url: string) {
    FakeWorker.made.push(this);
  }
  postMessage(data: unknown): void {
    this.posted.push(data);
  }
  terminate(): void {
    this.terminated = true;
  }
  /** The Worker's setInterval firing once. */
  fire(): void {
    this.onmessage?.({ data: 0 });
  }
}

const globals = globalThis as unknown as { Worker?: unknown };
let saved: unknown;
let revoked: string[];
let revoke: typeof URL.revokeObjectURL;

beforeEach(() => {
  saved = globals.Worker;
  FakeWorker.made = [];
  revoked = [];
  revoke = URL.revokeObjectURL;
  URL.revokeObjectURL = (url: string) => {
    revoked.push(url);
    revoke(url);
  };
});

/** A tick counter, and a promise for its `n`th tick (rejected after `timeoutMs`). */
function counter(n: number, timeoutMs = 5000): { tick: () => void; count: () => number; reached: Promise<void> } {
  let count = 0;
  let reach: () => void = () => undefined;
  const reached = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${count} of ${n} ticks within ${timeoutMs} ms`)), timeoutMs);
    reach = () => {
      clearTimeout(timer);
      resolve();
    };
  });
  return {
    tick: () => {
      count += 1;
      if (count === n) reach();
    },
    count: () => count,
    reached,
  };
}

afterEach(() => {
  globals.Worker = saved;
  URL.revokeObjectURL = revoke;
});

describe('FrameClock', () => {
  test("a Worker's messages drive the ticks: it is asked for the interval, a backlog gives one tick, stop() ends it", async () => {
    globals.Worker = FakeWorker;
    let ticks = 0;
    const clock = new FrameClock(20, () => ticks++);
    const worker = FakeWorker.made[0];
    assert.ok(worker, 'a Worker was made');
    assert.match(worker.url, /^blob:/, 'from a Blob URL: the SDK stays one file');
    assert.deepEqual(worker.posted, [20]);
    assert.equal(clock.kind, 'worker');
    worker.fire();
    assert.equal(ticks, 1);
    assert.deepEqual(revoked, [worker.url], 'its Blob URL released once it runs');
    // Messages that queued while the page was busy arrive together: one drawing, not a burst.
    worker.fire();
    worker.fire();
    assert.equal(ticks, 1);
    await sleep(15);
    worker.fire();
    assert.equal(ticks, 2, 'the next tick half an interval later counts');
    clock.stop();
    assert.equal(worker.terminated, true);
    await sleep(15);
    worker.fire();
    assert.equal(ticks, 2, 'nothing after stop()');
  });

  test('a Worker the page may not start (an error event, as a CSP without blob: workers gives) falls back to the page timer', async () => {
    globals.Worker = FakeWorker;
    const ticks = counter(5);
    const clock = new FrameClock(10, ticks.tick);
    const worker = FakeWorker.made[0]!;
    assert.equal(clock.kind, 'worker');
    let prevented = false;
    worker.onerror?.({ preventDefault: () => (prevented = true) });
    assert.equal(prevented, true, 'the failure is handled, not reported as an uncaught error');
    assert.equal(worker.terminated, true);
    assert.equal(clock.kind, 'page');
    await ticks.reached;
    clock.stop();
    const counted = ticks.count();
    await sleep(40);
    assert.equal(ticks.count(), counted, 'nothing after stop()');
  });

  test('no Worker at all, or one refused in its constructor: the page timer', async () => {
    for (const worker of [undefined, class { constructor() { throw new Error('SecurityError'); } }]) {
      globals.Worker = worker;
      const ticks = counter(3);
      const clock = new FrameClock(10, ticks.tick);
      assert.equal(clock.kind, 'page');
      await ticks.reached;
      clock.stop();
    }
  });
});
