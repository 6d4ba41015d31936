import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SfuConnection } from '../../src/sfu/sfu-connection.ts';
import { Timeline } from '../../src/timeline.ts';

/** What the fake connections did, in order. */
const steps: string[] = [];
let nextId = 0;

/** Enough of RTCPeerConnection for SfuPublisher and SfuSubscriber; each step is logged. */
class FakePeerConnection extends EventTarget {
  readonly id = nextId++;
  localDescription: { type: string; sdp: string } | null = null;
  iceConnectionState = 'new';
  connectionState = 'new';
  oniceconnectionstatechange: (() => void) | null = null;
  onconnectionstatechange: (() => void) | null = null;
  ontrack: (() => void) | null = null;
  addTransceiver() {
    return { sender: {} };
  }
  async setLocalDescription(description?: { type: string; sdp: string }) {
    this.localDescription = description ?? { type: 'offer', sdp: `offer ${this.id}` };
    steps.push(`pc${this.id} setLocalDescription ${this.localDescription.type}`);
  }
  async setRemoteDescription(description: { type: string; sdp: string }) {
    steps.push(`pc${this.id} setRemoteDescription ${description.type}`);
  }
  async createAnswer() {
    return { type: 'answer', sdp: 'answer' };
  }
  close() {}
}

test('a subscriber offer that arrives while a publication waits for its answer is applied after that answer', async () => {
  const globals = globalThis as unknown as Record<string, unknown>;
  globals.RTCPeerConnection = FakePeerConnection;
  globals.MediaStream = class {};
  let answerPublish: (reply: { trackId: string; sdp: string }) => void = () => undefined;
  const signal = {
    request: (message: { type: string }) => {
      steps.push(`request ${message.type}`);
      return message.type === 'publishTrack' ? new Promise((resolve) => (answerPublish = resolve)) : Promise.resolve({});
    },
  };
  const connection = new SfuConnection({
    signal: signal as never,
    configuration: {},
    timeline: new Timeline(),
    handlers: { trackAdded: () => undefined, trackRemoved: () => undefined, failed: (error) => assert.fail(error) },
  });
  const published = connection.publish('microphone', { kind: 'audio' } as MediaStreamTrack);
  await new Promise((resolve) => setImmediate(resolve));
  connection.receiveOffer('v=0', [], 1);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(steps, ['pc0 setLocalDescription offer', 'request publishTrack'], 'the subscriber offer waits');
  answerPublish({ trackId: 'TR_1', sdp: 'v=0' });
  await published;
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(steps.slice(2), ['pc0 setRemoteDescription answer', 'pc1 setRemoteDescription offer', 'pc1 setLocalDescription answer', 'request subscriberAnswer']);
  connection.close();
});

test('a subscriber answer the SFU refuses is marked on the timeline with the reason, and a fresh receiving connection is asked for', async () => {
  const globals = globalThis as unknown as Record<string, unknown>;
  globals.RTCPeerConnection = FakePeerConnection;
  globals.MediaStream = class {};
  const requests: string[] = [];
  const refusal = 'libdatachannel error while adding remote description: Unexpected remote answer description in signaling state stable';
  const signal = {
    request: (message: { type: string }) => {
      requests.push(message.type);
      return message.type === 'subscriberAnswer' ? Promise.reject(new Error(refusal)) : Promise.resolve({});
    },
  };
  const timeline = new Timeline();
  const connection = new SfuConnection({
    signal: signal as never,
    configuration: {},
    timeline,
    handlers: { trackAdded: () => undefined, trackRemoved: () => undefined, failed: (error) => assert.fail(error) },
  });
  connection.receiveOffer('v=0', [], 1);
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(requests, ['subscriberAnswer', 'resubscribe']);
  assert.deepEqual(
    timeline.marks.filter((m) => m.step === 'resubscribe').map((m) => m.detail),
    [refusal],
  );
  connection.close();
});
