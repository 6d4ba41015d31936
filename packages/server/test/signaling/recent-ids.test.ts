import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RecentIds } from '../../src/signaling/recent-ids.ts';

describe('RecentIds', () => {
  test('refuses a replay and forgets the oldest beyond capacity', () => {
    const ids = new RecentIds(2);
    assert.deepEqual([ids.add('a'), ids.add('a'), ids.add('b'), ids.add('c'), ids.add('a')], [true, false, true, true, true]);
  });
});
