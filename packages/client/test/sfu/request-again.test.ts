import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ParleyError } from '../../src/errors.ts';
import { requestAgain, requestAgainDelayMs, WHILE_RECONNECTING_ATTEMPTS, type RequestSchedule } from '../../src/sfu/request-again.ts';
import { PUBLISH_SCHEDULE } from '../../src/sfu/sfu-publisher.ts';
import { RESUBSCRIBE_SCHEDULE } from '../../src/sfu/sfu-subscriber.ts';

const lost = new ParleyError('CONNECTION_LOST', 'the signaling connection closed');
const reconnecting = new ParleyError('NOT_CONNECTED', 'not connected to the signaling server');
const late = new ParleyError('REQUEST_TIMEOUT', 'the server did not answer in time');
const refused = new ParleyError('MEDIA_REJECTED', 'the SFU refused the offer');

describe('requestAgainDelayMs', () => {
  test('publishTrack: lost with the signaling connection, again each second; late, at once a few times; refused, never', () => {
    assert.equal(requestAgainDelayMs(PUBLISH_SCHEDULE, lost, 1), 1000);
    assert.equal(requestAgainDelayMs(PUBLISH_SCHEDULE, reconnecting, WHILE_RECONNECTING_ATTEMPTS - 1), 1000);
    assert.equal(requestAgainDelayMs(PUBLISH_SCHEDULE, reconnecting, WHILE_RECONNECTING_ATTEMPTS), undefined, 'given up after the membership would have expired');
    assert.equal(requestAgainDelayMs(PUBLISH_SCHEDULE, late, 1), 0);
    assert.equal(requestAgainDelayMs(PUBLISH_SCHEDULE, late, 3), undefined);
    assert.equal(requestAgainDelayMs(PUBLISH_SCHEDULE, refused, 1), undefined);
    assert.equal(requestAgainDelayMs(PUBLISH_SCHEDULE, new Error('not a ParleyError'), 1), undefined);
  });

  test('resubscribe: lost or late, again each second for as long as the membership lasts; refused, never', () => {
    for (const error of [lost, reconnecting, late]) {
      assert.equal(requestAgainDelayMs(RESUBSCRIBE_SCHEDULE, error, 1), 1000);
      assert.equal(requestAgainDelayMs(RESUBSCRIBE_SCHEDULE, error, WHILE_RECONNECTING_ATTEMPTS), undefined);
    }
    assert.equal(requestAgainDelayMs(RESUBSCRIBE_SCHEDULE, refused, 1), undefined);
  });
});

describe('requestAgain', () => {
  const quick: RequestSchedule = { lostDelayMs: 0, lostAttempts: 4, timeoutDelayMs: 0, timeoutAttempts: 2 };

  test('sends again through a reconnect (a synchronous NOT_CONNECTED too) and resolves with the answer; each retry is told', async () => {
    const errors = [reconnecting, lost];
    const told: string[] = [];
    let sends = 0;
    const answer = await requestAgain(
      () => {
        sends += 1;
        const error = errors.shift();
        if (error === reconnecting) throw error; // the channel throws before it returns a promise
        return error ? Promise.reject(error) : Promise.resolve('answered');
      },
      { schedule: quick, wanted: () => true, onAgain: (error, delayMs) => told.push(`${(error as ParleyError).code} ${delayMs}`) },
    );
    assert.equal(answer, 'answered');
    assert.equal(sends, 3);
    assert.deepEqual(told, ['NOT_CONNECTED 0', 'CONNECTION_LOST 0']);
  });

  test('gives up with the last error when the schedule ends, and at once on a refusal', async () => {
    let sends = 0;
    await assert.rejects(requestAgain(() => (sends++, Promise.reject(lost)), { schedule: quick, wanted: () => true }), (error) => error === lost);
    assert.equal(sends, 4);
    sends = 0;
    await assert.rejects(requestAgain(() => (sends++, Promise.reject(refused)), { schedule: quick, wanted: () => true }), (error) => error === refused);
    assert.equal(sends, 1);
  });

  test('a request no longer wanted (closed, replaced) resolves undefined instead of failing or sending again', async () => {
    let sends = 0;
    let wanted = true;
    const answer = await requestAgain(
      () => {
        sends += 1;
        wanted = false;
        return Promise.reject(lost);
      },
      { schedule: quick, wanted: () => wanted },
    );
    assert.equal(answer, undefined);
    assert.equal(sends, 1);
  });
});
