import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ParleyError } from '../../src/errors.ts';
import { SfuSubscriber } from '../../src/sfu/sfu-subscriber.ts';
import { answerFailureAction, MAX_ANSWER_ATTEMPTS, offerAction } from '../../src/sfu/subscriber-negotiation.ts';
import { Timeline } from '../../src/timeline.ts';

describe('offerAction', () => {
  test('the first offer, and any newer than the last answered, is applied', () => {
    assert.equal(offerAction(1, undefined), 'apply');
    assert.equal(offerAction(7, undefined), 'apply', 'a fresh SfuSubscriber takes whatever number comes first');
    assert.equal(offerAction(4, 3), 'apply');
  });
  test('the offer last answered, re-sent after a resume, is answered again without touching the connection', () => {
    assert.equal(offerAction(3, 3), 'answerAgain');
  });
  test('an older offer is ignored', () => {
    assert.equal(offerAction(2, 3), 'ignore');
  });
});

describe('answerFailureAction', () => {
  const failure = (code: ConstructorParameters<typeof ParleyError>[0]) => new ParleyError(code, code);
  test('a stale answer is harmless', () => {
    assert.equal(answerFailureAction(failure('STALE_ANSWER'), 1), 'stale');
  });
  test('a signaling connection that dropped or is resuming: wait for the offer the server re-sends', () => {
    assert.equal(answerFailureAction(failure('CONNECTION_LOST'), 1), 'awaitResend');
    assert.equal(answerFailureAction(failure('NOT_CONNECTED'), 2), 'awaitResend');
  });
  test('no reply in time: the same answer again, then give the connection up', () => {
    assert.equal(answerFailureAction(failure('REQUEST_TIMEOUT'), 1), 'again');
    assert.equal(answerFailureAction(failure('REQUEST_TIMEOUT'), MAX_ANSWER_ATTEMPTS - 1), 'again');
    assert.equal(answerFailureAction(failure('REQUEST_TIMEOUT'), MAX_ANSWER_ATTEMPTS), 'resubscribe');
  });
  test('an answer the SFU refused, or an SFU failure, or anything unknown: a fresh connection', () => {
    assert.equal(answerFailureAction(failure('MEDIA_REJECTED'), 1), 'resubscribe');
    assert.equal(answerFailureAction(failure('INTERNAL'), 1), 'resubscribe');
    assert.equal(answerFailureAction(new Error('setRemoteDescription failed'), 1), 'resubscribe');
  });
});

/** Enough of an answering RTCPeerConnection for SfuSubscriber (no browser in unit tests); counts what it was asked to do. */
class FakeReceivingConnection {
  static made = 0;
  signalingState = 'stable';
  localDescription: { type: string; sdp: string } | null = null;
  connectionState = 'new';
  iceConnectionState = 'new';
  remoteDescriptions = 0;
  onconnectionstatechange: (() => void) | null = null;
  oniceconnectionstatechange: (() => void) | null = null;
  ontrack: (() => void) | null = null;
  constructor() {
    FakeReceivingConnection.made++;
  }
  addEventListener() {}
  async setRemoteDescription() {
    this.remoteDescriptions++;
  }
  async createAnswer() {
    return { type: 'answer', sdp: `answer ${this.remoteDescriptions}` };
  }
  async setLocalDescription(description: { type: string; sdp: string }) {
    this.localDescription = description;
  }
  close() {}
}

const settle = async () => {
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
};

/**
 * A subscriber whose `subscriberAnswer` requests get `reply(offerId, attempt)` (undefined:
 * accepted; `sync` thrown at once, as the room's channel does while it reconnects).
 */
function subscriber(reply: (offerId: number, attempt: number) => ParleyError | { sync: ParleyError } | undefined) {
  (globalThis as unknown as Record<string, unknown>).RTCPeerConnection = FakeReceivingConnection;
  FakeReceivingConnection.made = 0;
  const requests: string[] = [];
  const attempts = new Map<number, number>();
  const timeline = new Timeline();
  const failures: Error[] = [];
  const sub = new SfuSubscriber({
    signal: {
      request: ((message: { type: string; offerId?: number; sdp?: string }) => {
        requests.push(message.type === 'subscriberAnswer' ? `subscriberAnswer ${message.offerId} (${message.sdp})` : message.type);
        if (message.type !== 'subscriberAnswer') return Promise.resolve({});
        const attempt = (attempts.get(message.offerId!) ?? 0) + 1;
        attempts.set(message.offerId!, attempt);
        const error = reply(message.offerId!, attempt);
        if (error && 'sync' in error) throw error.sync;
        return error ? Promise.reject(error) : Promise.resolve({});
      }) as never,
    },
    configuration: {},
    timeline,
    handlers: { trackAdded: () => undefined, trackRemoved: () => undefined, failed: (error) => failures.push(error) },
  });
  return { sub, requests, timeline, failures, connection: () => sub.pc as unknown as FakeReceivingConnection };
}

describe('SfuSubscriber, answers that do not get through', () => {
  test('STALE_ANSWER keeps the connection: no resubscribe, the next offer applies on the same connection', async () => {
    const { sub, requests, timeline, connection } = subscriber((offerId) => (offerId === 1 ? new ParleyError('STALE_ANSWER', 'subscriber offer 1 is not the one waiting for an answer') : undefined));
    sub.receiveOffer('offer 1', [], 1);
    await settle();
    const first = connection();
    sub.receiveOffer('offer 2', [], 2);
    await settle();
    assert.deepEqual(requests, ['subscriberAnswer 1 (answer 1)', 'subscriberAnswer 2 (answer 2)']);
    assert.equal(connection(), first, 'the same receiving connection');
    assert.equal(FakeReceivingConnection.made, 1);
    assert.equal(timeline.marks.filter((m) => m.step === 'resubscribe').length, 0);
    assert.deepEqual(timeline.marks.filter((m) => m.step === 'subscriberAnswerFailed').map((m) => m.detail), ['1 stale: subscriber offer 1 is not the one waiting for an answer']);
    sub.close();
  });

  test('an answer lost with the signaling connection is sent again, unchanged, when the server re-sends its offer after the resume', async () => {
    const { sub, requests, timeline, connection } = subscriber((_offerId, attempt) => (attempt === 1 ? new ParleyError('CONNECTION_LOST', 'the signaling connection closed (4000: no answer to ping)') : undefined));
    sub.receiveOffer('offer 1', [], 1);
    await settle();
    assert.equal(connection().remoteDescriptions, 1);
    sub.receiveOffer('offer 1', [], 1); // participantResumed -> resendOffer
    await settle();
    assert.deepEqual(requests, ['subscriberAnswer 1 (answer 1)', 'subscriberAnswer 1 (answer 1)']);
    assert.equal(connection().remoteDescriptions, 1, 'the re-sent offer is not applied again');
    assert.equal(timeline.marks.filter((m) => m.step === 'resubscribe').length, 0);
    assert.deepEqual(timeline.marks.filter((m) => m.step === 'subscriberOfferRepeated').map((m) => m.detail), ['1 answerAgain']);
    sub.close();
  });

  test('an answer refused at once because the room is reconnecting (thrown, not rejected) waits for the re-sent offer too', async () => {
    const { sub, requests, timeline } = subscriber((_offerId, attempt) => (attempt === 1 ? { sync: new ParleyError('NOT_CONNECTED', 'the room is not connected') } : undefined));
    sub.receiveOffer('offer 1', [], 1);
    await settle();
    sub.receiveOffer('offer 1', [], 1);
    await settle();
    assert.deepEqual(requests, ['subscriberAnswer 1 (answer 1)', 'subscriberAnswer 1 (answer 1)']);
    assert.equal(timeline.marks.filter((m) => m.step === 'resubscribe').length, 0);
    sub.close();
  });

  test("after a resubscribe, an offer of the dropped connection still in flight is ignored (its numbering went on), the fresh connection's is applied", async () => {
    const { sub, requests, timeline, connection } = subscriber((offerId) => (offerId === 1 ? new ParleyError('MEDIA_REJECTED', 'refused') : undefined));
    sub.receiveOffer('a=ice-ufrag:old\r\noffer 1', [], 1);
    await settle();
    assert.deepEqual(requests, ['subscriberAnswer 1 (answer 1)', 'resubscribe']);
    assert.equal(sub.pc, undefined, 'the receiving connection was dropped');
    sub.receiveOffer('a=ice-ufrag:old\r\noffer 2', [], 2); // made by the old connection before the server took the resubscribe
    sub.receiveOffer('a=ice-ufrag:fresh\r\noffer 3', [], 3);
    await settle();
    assert.deepEqual(requests.slice(2), ['subscriberAnswer 3 (answer 1)']);
    assert.equal(connection().remoteDescriptions, 1, 'only the fresh offer was applied to the fresh connection');
    assert.deepEqual(timeline.marks.filter((m) => m.step === 'subscriberOfferRepeated').map((m) => m.detail), ["2 ignore: the dropped connection's"]);
    sub.close();
  });

  test('a late copy of an older offer is ignored', async () => {
    const { sub, requests, connection } = subscriber(() => undefined);
    sub.receiveOffer('offer 1', [], 1);
    sub.receiveOffer('offer 2', [], 2);
    sub.receiveOffer('offer 1', [], 1);
    await settle();
    assert.deepEqual(requests, ['subscriberAnswer 1 (answer 1)', 'subscriberAnswer 2 (answer 2)']);
    assert.equal(connection().remoteDescriptions, 2);
    sub.close();
  });

  test('no reply in time: the same answer again, and after the last attempt a fresh connection', async () => {
    const timeout = () => new ParleyError('REQUEST_TIMEOUT', 'the server did not answer subscriberAnswer in time');
    const { sub, requests, timeline } = subscriber(timeout);
    sub.receiveOffer('offer 1', [], 1);
    await settle();
    assert.deepEqual(requests, ['subscriberAnswer 1 (answer 1)', 'subscriberAnswer 1 (answer 1)', 'subscriberAnswer 1 (answer 1)', 'resubscribe']);
    assert.deepEqual(timeline.marks.filter((m) => m.step === 'resubscribe').map((m) => m.detail), ['the server did not answer subscriberAnswer in time']);
    sub.close();
  });

  test('an answer the SFU refuses (MEDIA_REJECTED) still rebuilds the connection', async () => {
    const { sub, requests } = subscriber(() => new ParleyError('MEDIA_REJECTED', 'libdatachannel error while adding remote description'));
    sub.receiveOffer('offer 1', [], 1);
    await settle();
    assert.deepEqual(requests, ['subscriberAnswer 1 (answer 1)', 'resubscribe']);
    sub.close();
  });
});
