/**
 * The subscriber connection's offer numbering and its stale answers, on a real engine
 * (libdatachannel on loopback) answered by a real libdatachannel peer. Only the forwarded tracks
 * are stand-ins: no packet flows here, the tests are about negotiation.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import nodeDataChannel from 'node-datachannel';
import type { SubscribedTrack } from '@parley/protocol';
import { MediaEngine } from '../../../src/sfu/worker/engine.ts';
import { SubscriberConnection, type ForwardedTrack } from '../../../src/sfu/worker/subscriber-connection.ts';
import { gatheredDescription, loopbackPeer } from '../loopback-peer.ts';

const cleanups: Array<() => void | Promise<void>> = [];
after(() => {
  for (const cleanup of cleanups.splice(0).reverse()) void cleanup();
  nodeDataChannel.cleanup();
});

const engine = new MediaEngine({ bindAddress: '127.0.0.1', udpPort: undefined, portRange: undefined, announcedAddress: undefined });
const counters = { packetsOut: 0, bytesOut: 0, layerSwitches: 0, retransmissions: 0, keyframeRequests: 0, probePackets: 0, subscriberFeedbacks: 0 };

/** A microphone as the subscriber connection sees a published track (nothing is ever sent on it here). */
function microphone(id: string): ForwardedTrack {
  return {
    id,
    publisher: `publisher-${id}`,
    kind: 'audio',
    source: 'microphone',
    codec: 'opus',
    clockRate: 48000,
    layerCount: 1,
    negotiatedCodec: { kind: 'audio', name: 'opus', payloadType: 111, clockRate: 48000, fmtp: 'minptime=10;useinbandfec=1' },
    downstreams: new Set(),
    activeLayers: () => [0],
    requestKeyframe: () => undefined,
    delivered: () => undefined,
    layerBitrate: () => undefined,
    senderReport: () => undefined,
  };
}

interface Offer {
  sdp: string;
  tracks: SubscribedTrack[];
  offerId: number;
}

function connection(lastOfferId?: number) {
  const offers: Offer[] = [];
  const errors: string[] = [];
  const subscriber = new SubscriberConnection({
    participant: 'viewer',
    engine,
    counters,
    sendOffer: (sdp, tracks, offerId) => offers.push({ sdp, tracks, offerId }),
    onError: (message) => errors.push(message),
    priorityOf: () => 0,
    ...(lastOfferId === undefined ? {} : { lastOfferId }),
  });
  cleanups.push(() => subscriber.close());
  const browser = loopbackPeer('viewer', cleanups);
  const answer = async (offer: Offer) => {
    browser.setRemoteDescription(offer.sdp, 'offer');
    return gatheredDescription(browser, 3000);
  };
  return { subscriber, offers, errors, answer, browser };
}

function iceUfrag(sdp: string): string | undefined {
  return /^a=ice-ufrag:(\S+)/m.exec(sdp)?.[1];
}

async function offerCount(offers: Offer[], count: number): Promise<Offer> {
  const start = performance.now();
  while (offers.length < count) {
    if (performance.now() - start > 3000) throw new Error(`offer ${count} not made within 3 s (${offers.length} made)`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return offers[count - 1]!;
}

describe('SubscriberConnection offers and answers', () => {
  test('offers are numbered from 1; a re-sent offer keeps its number; the answer to the one waiting is applied', async () => {
    const { subscriber, offers, errors, answer } = connection();
    subscriber.add(microphone('TR_a'));
    const first = await offerCount(offers, 1);
    assert.equal(first.offerId, 1);
    subscriber.resendOffer();
    assert.equal(offers.length, 2);
    assert.equal(offers[1]!.offerId, 1, 'the re-sent offer is the same offer');
    assert.equal(offers[1]!.sdp, first.sdp);
    assert.equal(subscriber.applyAnswer(await answer(first), 1), 'applied');
    subscriber.add(microphone('TR_b'));
    const second = await offerCount(offers, 3);
    assert.equal(second.offerId, 2);
    assert.deepEqual(second.tracks.map((t) => t.trackId), ['TR_a', 'TR_b']);
    assert.equal(subscriber.offerId, 2);
    assert.deepEqual(errors, []);
  });

  test('the same answer twice in one turn (a re-sent offer answered twice, both in one IPC read): the second is stale, and the next offer still goes out', async () => {
    const { subscriber, offers, errors, answer } = connection();
    subscriber.add(microphone('TR_a'));
    const sdp = await answer(await offerCount(offers, 1));
    subscriber.add(microphone('TR_b')); // a change while offer 1 waits: its answer starts offer 2
    assert.equal(subscriber.applyAnswer(sdp, 1), 'applied');
    // Before: negotiating already set for offer 2, no local description yet, and libdatachannel
    // threw "Unexpected remote answer description in signaling state stable" (MEDIA_REJECTED, a resubscribe).
    assert.equal(subscriber.applyAnswer(sdp, 1), 'stale');
    assert.equal(subscriber.applyAnswer(sdp), 'stale', 'without a number too: no offer waits yet');
    const second = await offerCount(offers, 2);
    assert.equal(second.offerId, 2);
    assert.equal(subscriber.applyAnswer(sdp, 1), 'stale', 'an answer to an older offer while offer 2 waits');
    assert.equal(subscriber.applyAnswer(await answer(second), 2), 'applied', 'offer 2 still takes its own answer');
    assert.equal(subscriber.applyAnswer(sdp, 2), 'stale', 'answered already');
    assert.deepEqual(errors, []);
  });

  test('an answer when no offer was ever made is stale; one to an offer number never made is refused', async () => {
    const { subscriber, offers, answer } = connection();
    assert.equal(subscriber.applyAnswer('v=0\r\n'), 'stale');
    subscriber.add(microphone('TR_a'));
    const first = await offerCount(offers, 1);
    assert.throws(() => subscriber.applyAnswer('v=0\r\n', 5), /no subscriber offer 5 was made \(the last is 1\)/);
    assert.equal(subscriber.applyAnswer(await answer(first), 1), 'applied', 'the refused answer left offer 1 waiting');
  });

  test('open(): the anchor alone is offered and connects; the first track then comes in a renegotiation of that connection; open() again changes nothing', async () => {
    const { subscriber, offers, errors, answer, browser } = connection();
    subscriber.open();
    const first = await offerCount(offers, 1);
    assert.deepEqual(first.tracks, [], 'nothing to receive yet');
    assert.match(first.sdp, /a=mid:anchor/);
    assert.equal(subscriber.applyAnswer(await answer(first), 1), 'applied');
    const started = performance.now();
    while (browser.state() !== 'connected') {
      assert.ok(performance.now() - started < 5000, `the receiving connection connects with the anchor alone (${browser.state()})`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    subscriber.open();
    subscriber.add(microphone('TR_a'));
    const second = await offerCount(offers, 2);
    assert.equal(offers.length, 2, 'open() on an open connection made no offer');
    assert.deepEqual(second.tracks.map((t) => t.trackId), ['TR_a']);
    assert.equal(iceUfrag(second.sdp), iceUfrag(first.sdp), 'the same ICE session: a renegotiation, not a new connection');
    assert.equal(subscriber.applyAnswer(await answer(second), 2), 'applied');
    assert.equal(browser.state(), 'connected');
    assert.deepEqual(errors, []);
  });

  test('a fresh connection (resubscribe) continues the numbering of the one it replaces', async () => {
    const { subscriber, offers } = connection(7);
    subscriber.add(microphone('TR_a'));
    assert.equal((await offerCount(offers, 1)).offerId, 8);
    assert.equal(subscriber.applyAnswer('v=0\r\n', 7), 'stale', "the old connection's last offer");
  });
});
