import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { KeyframeRequests } from '../../../src/sfu/worker/keyframe-requests.ts';

describe('KeyframeRequests: keyframe requests to a publisher, paced', () => {
  test('the first request goes at once; one within the interval is owed and goes when the interval ends', () => {
    const requests = new KeyframeRequests(300);
    assert.equal(requests.request(1000), true, 'first subscriber: sent');
    assert.equal(requests.request(1100), false, 'second subscriber 100 ms later: owed, not dropped');
    assert.equal(requests.waiting, true);
    assert.equal(requests.due(1250), false, 'not before 300 ms');
    assert.equal(requests.due(1300), true, 'sent at the end of the interval');
    assert.equal(requests.due(1350), false, 'once');
    assert.equal(requests.waiting, false);
  });

  test('several requests within one interval are owed as one', () => {
    const requests = new KeyframeRequests(300);
    requests.request(0);
    for (const at of [10, 50, 200, 290]) assert.equal(requests.request(at), false);
    assert.equal(requests.due(300), true);
    assert.equal(requests.due(600), false, 'nothing more owed');
  });

  test('a keyframe arriving after the owed request settles it', () => {
    const requests = new KeyframeRequests(300);
    requests.request(0);
    requests.request(100);
    requests.keyframeArrived();
    assert.equal(requests.waiting, false);
    assert.equal(requests.due(300), false, 'no extra keyframe asked for');
  });

  test('a request after the interval goes at once and starts a new interval', () => {
    const requests = new KeyframeRequests(300);
    requests.request(0);
    assert.equal(requests.request(300), true);
    assert.equal(requests.request(500), false, '200 ms after the last one sent');
    assert.equal(requests.due(599), false);
    assert.equal(requests.due(600), true);
  });
});
