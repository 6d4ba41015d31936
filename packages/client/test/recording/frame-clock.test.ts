/**
 * FrameClock's choice of clock and its ticks, with a stand-in Worker and page visibility (Node has
 * no DOM); that a real Worker's clock keeps the frame rate in a hidden tab is
 * e2e/recording-hidden-tab.test.ts.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { FrameClock, type PageVisibility } from '../../src/recording/frame-clock.ts';

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
  /** The Worker's setInterval posting a tick. */
  fire(): void {
    this.onmessage?.({ data: 0 });
  }
}

/** A page whose visibility the test sets. */
class FakePage implements PageVisibility {
  private listeners = new Set<() => void>();
  constructor(private isHidden: boolean) {}
  hidden = () => this.isHidden;
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  set(hidden: boolean): void {
    this.isHidden = hidden;
    for (const listener of this.listeners) listener();
  }
  get watchers(): number {
    return this.listeners.size;
  }
}

/** A tick counter, and a promise for `n` more ticks from now (rejected after `timeoutMs`). */
function counter(): { tick: () => void; count: () => number; more: (n: number, timeoutMs?: number) => Promise<void> } {
  let count = 0;
  let waiter: { at: number; resolve: () => void } | undefined;
  return {
    tick: () => {
      count += 1;
      if (waiter && count >= waiter.at) waiter.resolve();
    },
    count: () => count,
    more: (n, timeoutMs = 5000) =>
      new Promise<void>((resolve, reject) => {
        const at = count + n;
        const timer = setTimeout(() => reject(new Error(`${count} of ${at} ticks within ${timeoutMs} ms`)), timeoutMs);
        waiter = {
          at,
          resolve: () => {
            clearTimeout(timer);
            waiter = undefined;
            resolve();
          },
        };
      }),
  };
}

const globals = globalThis as unknown as { Worker?: unknown };
let saved: unknown;
let revoked: string[];
let revoke: typeof URL.revokeObjectURL;

beforeEach(() => {
  saved = globals.Worker;
  globals.Worker = FakeWorker;
  FakeWorker.made = [];
  revoked = [];
  revoke = URL.revokeObjectURL;
  URL.revokeObjectURL = (url: string) => {
    revoked.push(url);
    revoke(url);
  };
});

afterEach(() => {
  globals.Worker = saved;
  URL.revokeObjectURL = revoke;
});

describe('FrameClock', () => {
  test("a visible page ticks on the page's timer and makes no Worker", async () => {
    const ticks = counter();
    const clock = new FrameClock(10, ticks.tick, new FakePage(false));
    assert.equal(clock.kind, 'page');
    await ticks.more(3);
    clock.stop();
    const counted = ticks.count();
    await sleep(40);
    assert.equal(ticks.count(), counted, 'nothing after stop()');
    assert.equal(FakeWorker.made.length, 0);
  });

  test("a hidden page ticks on a Worker's messages, one at a time: each tick is answered before the Worker sends the next", async () => {
    const page = new FakePage(true);
    const ticks = counter();
    const clock = new FrameClock(20, ticks.tick, page);
    const worker = FakeWorker.made[0];
    assert.ok(worker, 'a Worker was made');
    assert.match(worker.url, /^blob:/, 'from a Blob URL: the SDK stays one file');
    assert.deepEqual(worker.posted, [20], 'asked to tick every 20 ms');
    assert.equal(clock.kind, 'worker');
    await sleep(60);
    assert.equal(ticks.count(), 0, "no page timer tick while the Worker's clock runs");
    worker.fire();
    assert.equal(ticks.count(), 1);
    assert.deepEqual(worker.posted, [20, 'drawn'], 'the tick answered once drawn');
    assert.deepEqual(revoked, [worker.url], 'its Blob URL released once it runs');
    clock.stop();
    assert.equal(worker.terminated, true);
    assert.equal(page.watchers, 0, 'no longer follows the visibility');
    worker.fire();
    assert.equal(ticks.count(), 1, 'nothing after stop()');
  });

  test("hidden, visible, hidden again: the Worker's clock, the page's timer (the Worker paused), the same Worker again", async () => {
    const page = new FakePage(false);
    const ticks = counter();
    const clock = new FrameClock(10, ticks.tick, page);
    page.set(true);
    const worker = FakeWorker.made[0]!;
    assert.equal(clock.kind, 'worker');
    worker.fire();
    assert.equal(ticks.count(), 1);
    page.set(false);
    assert.equal(clock.kind, 'page');
    assert.deepEqual(worker.posted, [10, 'drawn', 0], 'the Worker told to stop ticking');
    worker.fire();
    assert.equal(ticks.count(), 1, 'a Worker tick still on its way is not drawn');
    await ticks.more(3);
    page.set(true);
    assert.equal(FakeWorker.made.length, 1, 'the same Worker');
    assert.deepEqual(worker.posted.at(-1), 10, 'ticking again');
    const counted = ticks.count();
    await sleep(40);
    assert.equal(ticks.count(), counted, "the page's timer stopped");
    clock.stop();
  });

  test("a Worker the page may not start (an error event, as a CSP without blob: workers gives): the page's timer, also when hidden", async () => {
    const ticks = counter();
    const page = new FakePage(true);
    const clock = new FrameClock(10, ticks.tick, page);
    const worker = FakeWorker.made[0]!;
    let prevented = false;
    worker.onerror?.({ preventDefault: () => (prevented = true) });
    assert.equal(prevented, true, 'the failure is handled, not reported as an uncaught error');
    assert.equal(worker.terminated, true);
    assert.equal(clock.kind, 'page');
    await ticks.more(3);
    page.set(false);
    page.set(true);
    assert.equal(FakeWorker.made.length, 1, 'not tried again');
    assert.equal(clock.kind, 'page');
    await ticks.more(2);
    clock.stop();
  });

  test("no Worker at all, or one refused in its constructor: the page's timer when hidden", async () => {
    for (const worker of [undefined, class { constructor() { throw new Error('SecurityError'); } }]) {
      globals.Worker = worker;
      const ticks = counter();
      const clock = new FrameClock(10, ticks.tick, new FakePage(true));
      assert.equal(clock.kind, 'page');
      await ticks.more(3);
      clock.stop();
    }
  });
});
