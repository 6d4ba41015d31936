import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { untilMediaMoved, type MediaActivity } from '../../src/cluster/drain.ts';

/** Media activity that follows a script: one entry per poll, the last one repeating. */
function scripted(entries: MediaActivity[]): () => Promise<MediaActivity> {
  let i = 0;
  return async () => entries[Math.min(i++, entries.length - 1)]!;
}

describe('untilMediaMoved (a draining node keeps its SFU while media reaches it)', () => {
  test('at once when no SFU room is left', async () => {
    const started = Date.now();
    assert.equal(await untilMediaMoved(scripted([{ rooms: 0, packetsIn: 500 }]), Date.now() + 5000, 200, 10), true);
    assert.ok(Date.now() - started < 100);
  });

  test('waits while packets keep arriving, then for the idle time after the last', async () => {
    let packets = 0;
    const flowing = Date.now() + 300;
    const activity = async () => ({ rooms: 1, packetsIn: Date.now() < flowing ? (packets += 10) : packets });
    const started = Date.now();
    assert.equal(await untilMediaMoved(activity, Date.now() + 5000, 200, 10), true);
    const took = Date.now() - started;
    assert.ok(took >= 480 && took < 1500, `media flowed 300 ms, then 200 ms idle: ${took} ms`);
  });

  test('false at the deadline while media still flows', async () => {
    let packets = 0;
    const started = Date.now();
    assert.equal(await untilMediaMoved(async () => ({ rooms: 1, packetsIn: (packets += 1) }), Date.now() + 300, 200, 10), false);
    assert.ok(Date.now() - started < 1000);
  });

  test('an SFU that cannot answer serves nobody', async () => {
    assert.equal(await untilMediaMoved(() => Promise.reject(new Error('workers gone')), Date.now() + 5000, 200, 10), true);
  });
});
