import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { WorkerClock } from '../../../src/sfu/worker/worker-clock.ts';

describe('WorkerClock: the SFU worker\'s periodic work on one timer', () => {
  test('each job runs on the ticks that end its period, in the order given', () => {
    const ran: string[] = [];
    const clock = new WorkerClock(25, [
      { name: 'lag', everyMs: 25, run: () => ran.push('lag') },
      { name: 'feedback', everyMs: 50, run: () => ran.push('feedback') },
      { name: 'poll', everyMs: 200, run: () => ran.push('poll') },
      { name: 'speakers', everyMs: 250, run: () => ran.push('speakers') },
      { name: 'reports', everyMs: 1000, run: () => ran.push('reports') },
    ]);
    const counts = new Map<string, number>();
    for (let tick = 1; tick <= 400; tick++) {
      ran.length = 0;
      clock.tick();
      for (const name of ran) counts.set(name, (counts.get(name) ?? 0) + 1);
      if (tick === 40) assert.deepEqual(ran, ['lag', 'feedback', 'poll', 'speakers', 'reports'], 'a second in: every job, in order');
      if (tick === 1) assert.deepEqual(ran, ['lag']);
      if (tick === 2) assert.deepEqual(ran, ['lag', 'feedback']);
    }
    // 400 ticks of 25 ms: 10 s.
    assert.deepEqual(Object.fromEntries(counts), { lag: 400, feedback: 200, poll: 50, speakers: 40, reports: 10 });
  });

  test('a period that is not a whole number of ticks is refused when the clock is made, naming the job', () => {
    assert.throws(() => new WorkerClock(25, [{ name: 'feedback', everyMs: 60, run: () => undefined }]), /feedback: every 60 ms is not a whole number of 25 ms ticks/);
    assert.throws(() => new WorkerClock(25, [{ name: 'too fast', everyMs: 10, run: () => undefined }]), /too fast/);
  });
});
