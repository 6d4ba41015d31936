import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TransportSendHistory } from '../../../src/sfu/bwe/send-history.ts';
import type { TransportFeedback } from '../../../src/sfu/rtp/twcc.ts';

const feedbackFor = (baseSequence: number, arrivalsUs: (number | undefined)[]): TransportFeedback => ({
  senderSsrc: 1,
  mediaSsrc: 2,
  baseSequence,
  referenceTime: 0,
  feedbackCount: 0,
  arrivalsUs,
});

describe('TransportSendHistory', () => {
  test('numbers packets in order across the wrap, and turns feedback into send/arrival pairs once', () => {
    const history = new TransportSendHistory();
    const first = history.onSent(1000, 10);
    const sequences = [first, history.onSent(500, 20, 7), history.onSent(300, 30)];
    assert.deepEqual(sequences, [first, (first + 1) & 0xffff, (first + 2) & 0xffff]);
    const results = history.results(feedbackFor(first, [5_000, undefined, 25_000]));
    assert.deepEqual(results, [
      { sentAtMs: 10, size: 1000, probe: 0, arrivalMs: 5 },
      { sentAtMs: 20, size: 500, probe: 7, arrivalMs: undefined },
      { sentAtMs: 30, size: 300, probe: 0, arrivalMs: 25 },
    ]);
    assert.deepEqual(history.results(feedbackFor(first, [5_000])), [], 'a sequence is reported once');
    assert.deepEqual(history.results(feedbackFor((first + 100) & 0xffff, [1])), [], 'never sent');
  });

  test('send rate over the window', () => {
    const history = new TransportSendHistory();
    for (let t = 0; t < 1000; t += 10) history.onSent(1250, t); // 1 Mbit/s
    assert.equal(history.sendRate(990, 500), 1_000_000);
    assert.equal(history.sendRate(2000, 500), 0);
  });
});
