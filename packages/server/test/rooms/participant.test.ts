import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { defaultGrants } from '../../src/index.ts';
import { Participant } from '../../src/rooms/participant.ts';

describe('participant aggregates', () => {
  test('time in each reported connection quality, the current one counted up to now; repeats change nothing', () => {
    const participant = new Participant({ identity: 'p', name: 'P', grants: defaultGrants, link: { send: () => undefined, sendEncoded: () => undefined, terminate: () => undefined, drop: () => undefined } });
    assert.equal(participant.reportConnectionQuality('excellent', 0), true);
    assert.equal(participant.reportConnectionQuality('excellent', 5_000), false);
    assert.equal(participant.reportConnectionQuality('poor', 10_000), true);
    const aggregates = participant.aggregates(13_000);
    assert.deepEqual(aggregates.secondsByQuality, { excellent: 10, good: 0, poor: 3, lost: 0 });
    assert.equal(aggregates.connectionQuality, 'poor');
    assert.equal(aggregates.qualityChanges, 2);
  });
});
