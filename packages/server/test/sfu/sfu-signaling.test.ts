/**
 * SFU signaling and media end to end: a real server, a real SFU worker process, real UDP on
 * loopback, and the synthetic WebRTC clients of synthetic-media.ts that send and receive
 * hand-made RTP and RTCP.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import nodeDataChannel from 'node-datachannel';
import * as sdpTransform from 'sdp-transform';
import { ErrorCode, type RoomConfig, type ServerMessage } from '@parley/protocol';
import { createToken, type RunningServer } from '../../src/index.ts';
import { buildNack, buildPli } from '../../src/sfu/rtp/rtcp.ts';
import type { WorkerPool } from '../../src/sfu/worker-pool.ts';
import { freeUdpPort, TEST_KEY, TEST_SECRET, TestClient, startTestServer } from '../helpers.ts';
import { sample, scrape } from '../metrics-text.ts';
import { CLOCK_RATE, FRAME_INTERVAL_MS, LossyRelay, MEDIA_TIMEOUT_MS, SyntheticPublisher, SyntheticSubscriber, until, VP8_PT, type Cleanups } from './synthetic-media.ts';

let server: RunningServer;
let sfuPort: number;
let roomCounter = 0;
const freshRoom = () => `sfu-room-${++roomCounter}`;
const cleanups: Cleanups = [];

before(async () => {
  sfuPort = await freeUdpPort();
  // A stopped worker's request fails after 3 s here (10 s by default), so that test does not wait out the default.
  server = await startTestServer({ rooms: { topology: 'sfu' }, sfu: { workers: 1, udpPort: sfuPort, requestTimeoutMs: 3000 } });
});
after(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  // libdatachannel's threads keep the process alive until its global cleanup.
  nodeDataChannel.cleanup();
  await server.close();
});

// ---- helpers ------------------------------------------------------------------------------------

async function join(room: string, identity: string, options: { grants?: Record<string, boolean>; roomConfig?: RoomConfig } = {}): Promise<TestClient> {
  const client = await TestClient.open(server);
  cleanups.push(() => client.close());
  const token = await createToken({ apiKey: TEST_KEY, apiSecret: TEST_SECRET, room, identity, ttlSeconds: 600, ...options });
  const reply = await client.request({ type: 'join', token });
  if (reply.type !== 'joined') throw new Error(`join failed: ${JSON.stringify(reply)}`);
  return client;
}

function expectError(reply: ServerMessage, code: ErrorCode, pattern?: RegExp): void {
  assert.equal(reply.type, 'error', JSON.stringify(reply));
  if (reply.type !== 'error') return;
  assert.equal(reply.code, code, reply.message);
  assert.equal(reply.fatal, false);
  if (pattern) assert.match(reply.message, pattern);
}

async function pingWorks(client: TestClient): Promise<void> {
  const pong = await client.request({ type: 'ping' });
  assert.equal(pong.type, 'pong');
}


async function publish(client: TestClient, publisher: SyntheticPublisher, source = 'camera'): Promise<Extract<ServerMessage, { type: 'trackPublished' }>> {
  const reply = await client.request({ type: 'publishTrack', source, sdp: await publisher.offer() });
  if (reply.type !== 'trackPublished') throw new Error(`publish failed: ${JSON.stringify(reply)}`);
  return reply;
}

const subscriberOffers = (client: TestClient) => client.of('subscriberOffer');

async function nextSubscriberOffer(client: TestClient, after: number, what: string, timeoutMs = MEDIA_TIMEOUT_MS) {
  await client.waitFor(() => subscriberOffers(client).length > after, what, timeoutMs);
  return subscriberOffers(client)[after]!;
}

/** The SSRC and VP8 payload type the subscriber offer announces for one mid. */
function announced(offerSdp: string, mid: string): { ssrc: number; payloadType: number } {
  const media = sdpTransform.parse(offerSdp).media.find((m) => String(m.mid) === mid);
  assert.ok(media, `the offer has mid ${mid}`);
  const vp8 = media.rtp.find((rtp) => rtp.codec.toUpperCase() === 'VP8');
  assert.ok(vp8, 'VP8 in the offer');
  const announcedSsrc = media.ssrcs?.[0]?.id;
  assert.ok(announcedSsrc !== undefined, 'an a=ssrc line');
  return { ssrc: Number(announcedSsrc), payloadType: vp8.payload };
}

const sfuPool = async () => (await server.media.service()) as WorkerPool;

// ---- tests --------------------------------------------------------------------------------------

describe('publish, subscribe and forward media', () => {
  test('VP8 from a publisher reaches a subscriber; NACK, PLI and leaving work end to end', async () => {
    const room = freshRoom();
    const alice = await join(room, 'alice');
    const publisher = new SyntheticPublisher(cleanups);
    const published = await publish(alice, publisher);
    assert.equal(published.codec, 'vp8');
    assert.match(published.trackId, /^TR_/);
    const answer = sdpTransform.parse(published.sdp).media[0]!;
    assert.equal(answer.direction, 'recvonly');
    assert.deepEqual(answer.rtp.map((rtp) => rtp.payload), [VP8_PT]);
    await publisher.connect(published.sdp);
    publisher.start();
    assert.equal((await server.media.sfuStats(room)).publishedTracks, 1);
    // The publisher is offered its own receiving connection at once, with nothing in it yet: it
    // connects before anything is there for it (a newcomer's tracks then need one renegotiation).
    const own = await nextSubscriberOffer(alice, 0, "alice's receiving connection, offered with her publish");
    assert.deepEqual([own.tracks, own.offerId], [[], 1]);

    // A second participant is offered the track, labelled with its publisher and source.
    const bob = await join(room, 'bob');
    const offer = await nextSubscriberOffer(bob, 0, "bob's first subscriberOffer");
    assert.deepEqual(offer.tracks, [{ mid: offer.tracks[0]!.mid, trackId: published.trackId, participant: 'alice', source: 'camera', kind: 'video' }]);
    const mid = offer.tracks[0]!.mid;
    const expected = announced(offer.sdp, mid);

    const relay = await LossyRelay.start(sfuPort, 10, cleanups);
    const subscriber = new SyntheticSubscriber(cleanups);
    const reply = await bob.request({ type: 'subscriberAnswer', sdp: await subscriber.answer(offer.sdp, { port: relay.port }) });
    assert.equal(reply.type, 'ack', JSON.stringify(reply));

    // Media flows, starting on a keyframe, rewritten into the stream the offer announced.
    await until(() => subscriber.packets.length >= 8, 'the first 8 forwarded packets');
    const first = subscriber.packets.slice(0, 8);
    assert.equal(first[0]!.keyframe, true, 'forwarding starts on a keyframe');
    for (const packet of first) {
      assert.equal(packet.ssrc, expected.ssrc);
      assert.equal(packet.payloadType, expected.payloadType);
      assert.equal(packet.marker, true);
    }
    // The timeline (bench:join's "first keyframe forwarded") has the worker's time of sending it, before it arrived.
    const delivery = (await server.media.timeline(room)).delivered.find((d) => d.trackId === published.trackId && d.subscriber === 'bob');
    assert.ok(delivery && delivery.at <= first[0]!.receivedAt, `first keyframe sent at ${delivery?.at}, received at ${first[0]!.receivedAt}`);
    for (let i = 1; i < first.length; i++) {
      assert.equal(first[i]!.sequence, (first[i - 1]!.sequence + 1) & 0xffff, 'consecutive sequence numbers');
      assert.equal(first[i]!.frame, first[i - 1]!.frame + 1, 'payload forwarded untouched, in order');
      assert.equal((first[i]!.timestamp - first[i - 1]!.timestamp) >>> 0, (CLOCK_RATE * FRAME_INTERVAL_MS) / 1000, 'timestamps keep their spacing');
    }

    // The relay lost one packet: the subscriber NACKs it and receives it.
    await until(() => relay.dropped !== undefined, 'the relay to drop a packet');
    const lost = relay.dropped!;
    assert.equal(subscriber.packets.some((p) => p.sequence === lost), false, 'the dropped packet did not arrive');
    await until(() => subscriber.packets.some((p) => sequenceAfter(p.sequence, lost)), 'a packet after the gap');
    const retransmissionsBefore = (await server.media.sfuStats(room)).retransmissions;
    subscriber.sendRtcp(mid, buildNack(0x5ab5c71b, expected.ssrc, [lost]));
    await until(() => subscriber.packets.some((p) => p.sequence === lost), `the retransmission of ${lost}`, 3000);
    const recovered = subscriber.packets.find((p) => p.sequence === lost)!;
    assert.equal(recovered.ssrc, expected.ssrc);
    assert.equal(recovered.payloadType, expected.payloadType);
    const previous = subscriber.packets.find((p) => p.sequence === ((lost - 1) & 0xffff))!;
    assert.equal(recovered.frame, previous.frame + 1, 'the retransmission carries the lost payload');
    assert.equal(relay.seen.get(lost), 2, 'sent once, lost, sent again');
    assert.ok((await server.media.sfuStats(room)).retransmissions > retransmissionsBefore, 'retransmissions counted');

    // A NACK for a packet that did arrive is answered too (the subscriber's SRTP drops the replay; the wire shows it).
    const delivered = subscriber.packets[subscriber.packets.length - 3]!.sequence;
    subscriber.sendRtcp(mid, buildNack(0x5ab5c71b, expected.ssrc, [delivered]));
    await until(() => relay.seen.get(delivered) === 2, `a second copy of ${delivered} on the wire`, 3000);

    // Every packet from the first to the latest arrived: no gaps.
    const sequences = new Set(subscriber.packets.map((p) => p.sequence));
    const start = subscriber.packets[0]!.sequence;
    const span = (subscriber.packets[subscriber.packets.length - 1]!.sequence - start) & 0xffff;
    for (let i = 0; i <= span; i++) assert.ok(sequences.has((start + i) & 0xffff), `sequence ${(start + i) & 0xffff} arrived`);

    // A PLI from the subscriber reaches the publisher as a PLI for its own SSRC.
    await until(() => publisher.plis.length === 0 || performance.now() - publisher.plis[publisher.plis.length - 1]! > 400, 'the keyframe request rate limit to pass');
    const plisBefore = publisher.plis.length;
    const keyframeRequestsBefore = (await server.media.sfuStats(room)).keyframeRequests;
    const keyframesBefore = subscriber.packets.filter((p) => p.keyframe).length;
    subscriber.sendRtcp(mid, buildPli(0x5ab5c71b, expected.ssrc));
    await until(() => publisher.plis.length > plisBefore, 'a PLI at the publisher', 3000);
    assert.ok((await server.media.sfuStats(room)).keyframeRequests > keyframeRequestsBefore);
    // The same figures on the node's /metrics, summed over its workers.
    const metrics = (await scrape(server.url)).text;
    const stats = await server.media.sfuStats();
    for (const [series, atLeast] of [
      ['parley_sfu_packets_received_total', 1],
      ['parley_sfu_packets_sent_total', 1],
      ['parley_sfu_retransmitted_packets_total', 1],
      ['parley_sfu_keyframe_requests_total', 1],
      ['parley_sfu_published_tracks{kind="video",codec="vp8"}', 1],
      ['parley_sfu_subscriptions{kind="video",codec="vp8"}', 1],
      // The worker process's own CPU: starting it (tsx, node-datachannel) alone takes well over 10 ms.
      ['parley_sfu_worker_cpu_seconds_total', 0.01],
      ['parley_sfu_received_bytes_total', 100],
      ['parley_sfu_sent_bytes_total', 100],
      // The worker's loop, sampled every 25 ms: a p99 of at least that once it has run.
      ['parley_sfu_worker_eventloop_lag_p99_seconds', 0.001],
    ] as const) assert.ok((sample(metrics, series) ?? 0) >= atLeast, `${series} on /metrics: ${sample(metrics, series)}`);
    assert.ok((sample(metrics, 'parley_sfu_packets_received_total') ?? 0) <= stats.packetsIn, 'read from the workers at the scrape');
    await until(() => subscriber.packets.filter((p) => p.keyframe).length > keyframesBefore, 'the new keyframe at the subscriber', 3000);

    // The publisher leaves: the subscriber is offered a session without the track.
    const offersBefore = subscriberOffers(bob).length;
    publisher.stop();
    await alice.request({ type: 'leave' });
    const withoutTrack = await nextSubscriberOffer(bob, offersBefore, 'a subscriberOffer without the track');
    assert.deepEqual(withoutTrack.tracks, []);
    assert.equal((await server.media.sfuStats(room)).publishedTracks, 0);
  });
});

describe('loss on the publisher uplink', () => {
  test('a packet the publisher sent but the SFU never got: the SFU NACKs the publisher and the resent packet reaches the subscriber', async () => {
    const room = freshRoom();
    const alice = await join(room, 'alice');
    const publisher = new SyntheticPublisher(cleanups);
    const published = await publish(alice, publisher);
    await publisher.connect(published.sdp);
    publisher.start();
    const bob = await join(room, 'bob');
    const offer = await nextSubscriberOffer(bob, 0, "bob's first subscriberOffer");
    const subscriber = new SyntheticSubscriber(cleanups);
    await bob.request({ type: 'subscriberAnswer', sdp: await subscriber.answer(offer.sdp) });
    await until(() => subscriber.packets.length >= 8, 'the first 8 forwarded packets');
    const nacksBefore = (await server.media.sfuStats(room)).nacksToPublishers;

    const lost = await publisher.loseNext();
    // The subscriber never asks: the SFU saw the gap in the publisher's sequence numbers itself.
    await until(() => subscriber.packets.some((p) => p.frame === lost.frame), `frame ${lost.frame} at the subscriber`, 3000);
    assert.ok(publisher.nacked.includes(lost.sequence), `the publisher was asked for ${lost.sequence} (asked: ${publisher.nacked.join(', ')})`);
    assert.ok(publisher.nacked.every((sequence) => sequence === lost.sequence), 'only the lost packet was asked for');
    assert.ok((await server.media.sfuStats(room)).nacksToPublishers > nacksBefore, 'NACKs to publishers counted');
    // Resent late, it still lands in its place in the subscriber's numbering.
    const recovered = subscriber.packets.find((p) => p.frame === lost.frame)!;
    const before = subscriber.packets.find((p) => p.frame === lost.frame - 1)!;
    assert.equal(recovered.sequence, (before.sequence + 1) & 0xffff);
    publisher.stop();
  });
});

/** Whether `b` comes after `a` in 16-bit sequence space. */
function sequenceAfter(b: number, a: number): boolean {
  const delta = (b - a) & 0xffff;
  return delta > 0 && delta < 0x8000;
}

describe('refusals', () => {
  test('publishTrack in a P2P room: WRONG_TOPOLOGY', async () => {
    const client = await join(freshRoom(), 'p2p-user', { roomConfig: { topology: 'p2p' } });
    expectError(await client.request({ type: 'publishTrack', source: 'camera', sdp: await new SyntheticPublisher(cleanups).offer() }), ErrorCode.WRONG_TOPOLOGY, /p2p/);
    expectError(await client.request({ type: 'subscriberAnswer', sdp: 'v=0' }), ErrorCode.WRONG_TOPOLOGY);
    expectError(await client.request({ type: 'unpublishTrack', trackId: 'TR_x' }), ErrorCode.WRONG_TOPOLOGY);
    await pingWorks(client);
  });

  test('publishTrack without canPublish: PERMISSION_DENIED, and nothing is published', async () => {
    const room = freshRoom();
    const viewer = await join(room, 'viewer', { grants: { canPublish: false } });
    expectError(await viewer.request({ type: 'publishTrack', source: 'camera', sdp: await new SyntheticPublisher(cleanups).offer() }), ErrorCode.PERMISSION_DENIED);
    assert.equal((await server.media.sfuStats(room)).publishedTracks, 0);
    await pingWorks(viewer);
  });

  test('malformed offers: MEDIA_REJECTED with the reason; the connection, the room and the worker carry on', async () => {
    const room = freshRoom();
    const alice = await join(room, 'alice');
    const bob = await join(room, 'bob');
    const [pidBefore] = (await sfuPool()).pids;
    const valid = await new SyntheticPublisher(cleanups).offer();
    const videoSection = valid.slice(valid.indexOf('m=video'));
    const cases: Array<[string, string, RegExp]> = [
      ['garbage', 'this is not SDP', /exactly one m-line \(got 0\)/],
      ['two m-lines', valid + videoSection.replace('a=mid:0', 'a=mid:1'), /exactly one m-line \(got 2\)/],
      ['no common codec', valid.replace(/VP8\/90000/g, 'H265/90000'), /none of the room's codecs/],
      ['receive-only', valid.replace('a=sendonly', 'a=recvonly'), /does not send/],
      ['no ICE or DTLS parameters', valid.replace(/^a=(fingerprint|ice-ufrag|ice-pwd|setup):.*\r\n/gm, ''), /refused the offer/],
    ];
    for (const [what, sdp, reason] of cases) {
      const reply = await alice.request({ type: 'publishTrack', source: 'camera', sdp });
      expectError(reply, ErrorCode.MEDIA_REJECTED, reason);
      await pingWorks(alice);
      assert.equal((await server.media.sfuStats(room)).publishedTracks, 0, `${what}: nothing published`);
      assert.equal(server.rooms.get(room)?.get('alice')?.publishedTracks.size, 0, `${what}: no track recorded`);
    }
    assert.deepEqual((await sfuPool()).pids, [pidBefore], 'the SFU worker survived');
    // A valid offer still publishes afterwards, and only now is bob offered anything.
    assert.equal(subscriberOffers(bob).length, 0, 'no offer for bob from refused publishes');
    const publisher = new SyntheticPublisher(cleanups);
    await publish(alice, publisher);
    const offer = await nextSubscriberOffer(bob, 0, 'an offer for the valid track');
    assert.equal(offer.tracks.length, 1);
  });

  test('unpublishTrack of an unknown id: TRACK_NOT_FOUND; setVideoQuality too', async () => {
    const client = await join(freshRoom(), 'alice');
    expectError(await client.request({ type: 'unpublishTrack', trackId: 'TR_nonexistent' }), ErrorCode.TRACK_NOT_FOUND);
    expectError(await client.request({ type: 'setVideoQuality', trackId: 'TR_nonexistent', quality: 'low' }), ErrorCode.TRACK_NOT_FOUND);
    await pingWorks(client);
  });

  test('subscriberAnswer with no offer pending, or to an offer already answered: STALE_ANSWER; to an offer never made: MEDIA_REJECTED', async () => {
    const room = freshRoom();
    const alone = await join(room, 'alone');
    expectError(await alone.request({ type: 'subscriberAnswer', sdp: 'v=0\r\n' }), ErrorCode.STALE_ANSWER, /no subscriber offer/);

    const publisherClient = await join(room, 'publisher');
    await publish(publisherClient, new SyntheticPublisher(cleanups));
    const offer = await nextSubscriberOffer(alone, 0, 'a subscriberOffer');
    assert.equal(offer.offerId, 1);
    expectError(await alone.request({ type: 'subscriberAnswer', sdp: 'v=0\r\n', offerId: 2 }), ErrorCode.MEDIA_REJECTED, /no subscriber offer 2 was made/);
    const subscriber = new SyntheticSubscriber(cleanups);
    const answer = await subscriber.answer(offer.sdp);
    assert.equal((await alone.request({ type: 'subscriberAnswer', sdp: answer, offerId: 1 })).type, 'ack');
    // Answered once already (a re-sent offer answered twice): ignored, not refused into a resubscribe.
    expectError(await alone.request({ type: 'subscriberAnswer', sdp: answer, offerId: 1 }), ErrorCode.STALE_ANSWER, /offer 1 is not the one waiting/);
    expectError(await alone.request({ type: 'subscriberAnswer', sdp: answer }), ErrorCode.STALE_ANSWER, /no subscriber offer/);
    // The connection is still negotiable: the next change is offer 2 and takes its answer.
    await publish(publisherClient, new SyntheticPublisher(cleanups), 'screen');
    const second = await nextSubscriberOffer(alone, 1, 'a second subscriberOffer');
    assert.equal(second.offerId, 2);
    assert.equal((await alone.request({ type: 'subscriberAnswer', sdp: await subscriber.answer(second.sdp), offerId: 2 })).type, 'ack');
    await pingWorks(alone);
  });

  test('an answer the engine refuses: MEDIA_REJECTED, that negotiation ends, and resubscribe starts a fresh connection', async () => {
    const room = freshRoom();
    const subscriberClient = await join(room, 'refused');
    const publisherClient = await join(room, 'publisher');
    const published = await publish(publisherClient, new SyntheticPublisher(cleanups));
    await nextSubscriberOffer(subscriberClient, 0, 'the first subscriberOffer');
    expectError(await subscriberClient.request({ type: 'subscriberAnswer', sdp: 'v=0\r\n' }), ErrorCode.MEDIA_REJECTED);
    // Not waiting for an answer any more: a late answer to that offer is stale.
    expectError(await subscriberClient.request({ type: 'subscriberAnswer', sdp: 'v=0\r\n', offerId: 1 }), ErrorCode.STALE_ANSWER, /offer 1 is not the one waiting/);

    const offersBefore = subscriberOffers(subscriberClient).length;
    assert.equal((await subscriberClient.request({ type: 'resubscribe' })).type, 'ack');
    const fresh = await nextSubscriberOffer(subscriberClient, offersBefore, 'a fresh subscriberOffer');
    assert.deepEqual(fresh.tracks.map((t) => t.trackId), [published.trackId]);
    assert.equal(fresh.offerId, 2, "the fresh connection's offers continue the numbering");
    const answer = await new SyntheticSubscriber(cleanups).answer(fresh.sdp);
    assert.equal((await subscriberClient.request({ type: 'subscriberAnswer', sdp: answer })).type, 'ack');
    await pingWorks(subscriberClient);
  });

  test('resubscribe and publishTrack share a budget (each sets up an SFU PeerConnection): past the burst, RATE_LIMITED', async () => {
    const room = freshRoom();
    const client = await join(room, 'restless');
    const replies = [];
    for (let i = 0; i < 10; i++) replies.push((await client.request({ type: 'resubscribe' })).type);
    assert.deepEqual(replies, Array(10).fill('ack'), 'the burst of 10 is served');
    expectError(await client.request({ type: 'resubscribe' }), ErrorCode.RATE_LIMITED, /publishTrack\/resubscribe/);
    expectError(await client.request({ type: 'publishTrack', source: 'camera', sdp: await new SyntheticPublisher(cleanups).offer() }), ErrorCode.RATE_LIMITED);
    assert.equal((await server.media.sfuStats(room)).publishedTracks, 0, 'the refused publish set nothing up');
    await pingWorks(client);
  });

  test('a ninth track: MEDIA_REJECTED; eight stay published', async () => {
    const room = freshRoom();
    const client = await join(room, 'octopus');
    const publisher = new SyntheticPublisher(cleanups);
    const offer = await publisher.offer();
    for (let i = 0; i < 8; i++) {
      const reply = await client.request({ type: 'publishTrack', source: 'camera', sdp: offer });
      assert.equal(reply.type, 'trackPublished', `track ${i + 1}: ${JSON.stringify(reply)}`);
    }
    expectError(await client.request({ type: 'publishTrack', source: 'screen', sdp: offer }), ErrorCode.MEDIA_REJECTED, /at most 8/);
    assert.equal((await server.media.sfuStats(room)).publishedTracks, 8);
    await pingWorks(client);
  });
});

describe('worker not answering', () => {
  test('a stopped SFU worker: setVideoQuality is INTERNAL ("did not answer"), not TRACK_NOT_FOUND; once it runs again an unknown track is TRACK_NOT_FOUND', async () => {
    const room = freshRoom();
    const client = await join(room, 'alice');
    // The media join runs after the signaling join: stopped before it is done, the worker would
    // leave setVideoQuality queued behind it (two timeouts, not one).
    for (const deadline = Date.now() + 5000; (await server.media.sfuStats(room)).rooms === 0 && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal((await server.media.sfuStats(room)).rooms, 1, "alice's room is on the SFU worker");
    const [pid] = (await sfuPool()).pids;
    assert.ok(pid !== undefined);
    process.kill(pid, 'SIGSTOP');
    try {
      const id = client.send({ type: 'setVideoQuality', trackId: 'TR_anything', quality: 'low' });
      const reply = await client.waitFor((m) => 'replyTo' in m && m.replyTo === id, 'the reply while the worker is stopped', 15_000);
      expectError(reply, ErrorCode.INTERNAL, /did not answer setQuality within 3000 ms/);
      await pingWorks(client);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    expectError(await client.request({ type: 'setVideoQuality', trackId: 'TR_nonexistent', quality: 'low' }), ErrorCode.TRACK_NOT_FOUND);
  });
});

describe('worker crash', () => {
  test('requests sent to an SFU worker the moment it is killed fail at once with a coded error; the server lives on', async () => {
    const pool = await sfuPool();
    const [pid] = pool.pids;
    assert.ok(pid !== undefined);
    process.kill(pid, 'SIGKILL');
    // Until the pool has seen the exit, each request goes to the dead worker: some are written
    // while it still reads as connected (EPIPE), later ones find it disconnected.
    const sent: Array<Promise<{ ms: number; code: string }>> = [];
    while (pool.pids.includes(pid)) {
      for (let i = 0; i < 10; i++) {
        const at = performance.now();
        sent.push(pool.stats().then(
          () => ({ ms: performance.now() - at, code: 'answered' }),
          (error: { code?: string; cause?: { code?: string } }) => ({ ms: performance.now() - at, code: error.cause?.code === 'EPIPE' ? `${error.code} (EPIPE)` : (error.code ?? String(error)) }),
        ));
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    const outcomes = await Promise.all(sent);
    const failed = outcomes.filter((o) => o.code !== 'answered');
    const counts = new Map<string, number>();
    for (const { code } of outcomes) counts.set(code, (counts.get(code) ?? 0) + 1);
    console.log(`requests to the killed worker: ${[...counts].map(([code, n]) => `${code} ${n}`).join(', ')}`);
    assert.ok(failed.length > 0, `some requests reached the dead worker (${outcomes.length} sent)`);
    assert.deepEqual([...new Set(failed.map((o) => o.code))].filter((code) => !/^(NOT_RUNNING|EXITED)( \(EPIPE\))?$/.test(code)), [], 'each failure is NOT_RUNNING or EXITED');
    const slowest = Math.max(...failed.map((o) => o.ms));
    assert.ok(slowest < 1000, `each failed at once, not at the 3 s request timeout (slowest ${slowest.toFixed(0)} ms)`);
    await until(() => pool.pids.length === 1 && pool.pids[0] !== pid, 'the worker restarted', 20_000);
    assert.equal((await pool.stats()).length, 1, 'the new worker answers');
    await pingWorks(await join(freshRoom(), 'carol'));
  });

  test('a killed SFU worker: everyone gets mediaReset, signaling carries on, publishing works on the new worker', async () => {
    const room = freshRoom();
    const alice = await join(room, 'alice');
    const bob = await join(room, 'bob');
    const before = await publish(alice, new SyntheticPublisher(cleanups));
    await nextSubscriberOffer(bob, 0, "bob's subscriberOffer");
    const pool = await sfuPool();
    const [pid] = pool.pids;
    assert.ok(pid !== undefined);
    process.kill(pid, 'SIGKILL');

    await alice.waitFor((m) => m.type === 'mediaReset', 'mediaReset for alice', 20_000);
    await bob.waitFor((m) => m.type === 'mediaReset', 'mediaReset for bob', 20_000);
    await pingWorks(alice);
    await pingWorks(bob);
    const [restarted] = pool.pids;
    assert.ok(restarted !== undefined && restarted !== pid, 'a new worker process');
    assert.ok((sample((await scrape(server.url)).text, 'parley_sfu_worker_restarts_total') ?? 0) >= 1, 'the restart counted on /metrics');
    assert.equal(server.rooms.get(room)?.get('alice')?.publishedTracks.size, 0, 'published tracks were reset');

    // Publish again: the new worker answers, and bob is offered the new track.
    const offersBefore = subscriberOffers(bob).length;
    const again = await publish(alice, new SyntheticPublisher(cleanups));
    assert.notEqual(again.trackId, before.trackId);
    const offer = await nextSubscriberOffer(bob, offersBefore, 'an offer for the republished track');
    assert.deepEqual(offer.tracks.map((t) => [t.trackId, t.participant]), [[again.trackId, 'alice']]);
    assert.equal((await server.media.sfuStats(room)).publishedTracks, 1);
  });
});
