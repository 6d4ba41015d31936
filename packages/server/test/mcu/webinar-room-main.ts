/**
 * The webinar scenario of `webinar-room.test.ts`, run as a child process of that test: a webinar
 * in an `mcu` room with every real part but the browsers: a real server, its SFU worker and the
 * room's mixer process, and synthetic WebRTC participants built with node-datachannel
 * (DTLS-SRTP, ICE on loopback): 3 speakers publish Opus tones, N listeners who publish nothing
 * answer their subscriber offer and receive their one mixed track. Every listener hears every
 * speaker; /metrics says the mixer encodes 4 frames per 20 ms tick with N listeners on the shared
 * mix; a listener who publishes hears its own mix-minus within a second, and the shared mix again
 * once it unpublishes. Exits 0 when every assertion held, 1 with the failure on stderr.
 *
 * Why a child: run as the test file itself, libdatachannel's global `cleanup()` crashed the
 * process at exit (segfault or bus error) in every run here that went past 2 s of received media
 * (9 of 9), and in a short one too once a garbage collection was forced before it; the
 * assertions had passed. This process ends with `process.exit` after closing its peers and its
 * server, without that cleanup.
 */
import assert from 'node:assert/strict';
import nodeDataChannel, { type PeerConnection, type Track } from 'node-datachannel';
import { gatheredDescription, loopbackPeer } from '../sfu/loopback-peer.ts';
import { type RunningServer } from '../../src/index.ts';
import { isRtcp, payloadEnd, payloadOffset, payloadType } from '../../src/sfu/rtp/rtp.ts';
import { freeUdpPort, startTestServer, TestClient } from '../helpers.ts';
import { sample, scrape } from '../metrics-text.ts';
import { TonePublisher, toneLevelsDb } from './tones.ts';

/** The mix's Opus payload type toward subscribers (`subscriberPayloadTypes`). */
const OPUS_PAYLOAD_TYPE = 111;

const SPEAKERS = { alice: 440, bob: 1000, carol: 2300 } as const;
const LISTENER_COUNT = Number(process.env.WEBINAR_LISTENERS ?? 50);
if (!Number.isInteger(LISTENER_COUNT) || LISTENER_COUNT < 2) throw new Error(`WEBINAR_LISTENERS: at least 2 (got ${process.env.WEBINAR_LISTENERS})`);
const NEW_SPEAKER_HZ = 3100;
/** A frequency nobody sends: the floor a tone that is heard stands above. */
const NOBODY_HZ = 3700;
const TIMEOUT_MS = 20_000;

let server: RunningServer | undefined;
const cleanups: Array<() => void | Promise<void>> = [];



async function until(condition: () => boolean, what: string, detail?: () => string): Promise<number> {
  const start = performance.now();
  while (!condition()) {
    if (performance.now() - start > TIMEOUT_MS) throw new Error(`timed out waiting for ${what}${detail ? ` (${detail()})` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return performance.now() - start;
}

async function join(room: string, identity: string): Promise<TestClient> {
  const client = await TestClient.joined(server!, room, identity);
  cleanups.push(() => client.close());
  return client;
}

/** A microphone: a tone as Opus RTP every 20 ms over its own publish connection. */
class Microphone {
  private readonly pc = loopbackPeer('microphone', cleanups);
  private readonly track: Track;
  private readonly tone: TonePublisher;
  /** Held as long as the track it describes. */
  private readonly media: nodeDataChannel.Audio;
  private timer: NodeJS.Timeout | undefined;
  trackId = '';

  constructor(hz: number) {
    this.tone = new TonePublisher(hz);
    const audio = new nodeDataChannel.Audio('0', 'SendOnly');
    audio.addOpusCodec(111);
    audio.addSSRC(0x2000_0000 + hz, 'synthetic', 'synthetic-stream', 'synthetic-microphone');
    this.media = audio;
    this.track = this.pc.addTrack(audio);
    cleanups.push(() => this.stop());
  }

  async publish(client: TestClient): Promise<void> {
    // Without this side's candidates: the SFU learns the address from its checks (see SyntheticPublisher.offer in sfu/synthetic-media.ts).
    const offer = (await gatheredDescription(this.pc, TIMEOUT_MS)).replace(/^a=candidate:.*\r\n/gm, '');
    const reply = await client.request({ type: 'publishTrack', source: 'microphone', sdp: offer }, TIMEOUT_MS);
    if (reply.type !== 'trackPublished') throw new Error(`publish failed: ${JSON.stringify(reply)}`);
    this.trackId = reply.trackId;
    this.pc.setRemoteDescription(reply.sdp, 'answer');
    await until(() => this.track.isOpen(), 'the microphone track to open');
    this.timer = setInterval(() => this.track.isOpen() && this.track.sendMessageBinary(this.tone.next()), 20);
  }

  stop(): void {
    if (this.timer === undefined) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.tone.close();
    this.track.close();
  }
}

/** A listener's receiving connection: the Opus payloads of its mixed audio track, with their arrival time (its video grid track stays silent: nobody publishes video). */
class MixReceiver {
  private readonly pc = loopbackPeer('listener', cleanups);
  readonly payloads: Array<{ at: number; payload: Buffer }> = [];
  /** Held as long as the receiver: libdatachannel calls into them for every packet. */
  private readonly tracks: Track[] = [];
  /** Candidates in the SFU's offer (none: nothing to check against). */
  private offerCandidates = -1;

  constructor() {
    cleanups.push(() => this.tracks.forEach((track) => track.close()));
    this.pc.onTrack((track) => {
      this.tracks.push(track);
      track.onMessage((message) => {
        if (isRtcp(message) || payloadType(message) !== OPUS_PAYLOAD_TYPE) return;
        this.payloads.push({ at: performance.now(), payload: Buffer.from(message.subarray(payloadOffset(message), payloadEnd(message))) });
      });
    });
  }

  async answer(client: TestClient): Promise<void> {
    await client.waitFor((m) => m.type === 'subscriberOffer', 'a subscriber offer', TIMEOUT_MS);
    const offer = client.of('subscriberOffer')[0]!;
    assert.deepEqual(offer.tracks.map((t) => [t.kind, t.source]), [['audio', 'mix'], ['video', 'mix']], 'two tracks: the mix and the grid');
    this.offerCandidates = (offer.sdp.match(/^a=candidate:/gm) ?? []).length;
    this.pc.setRemoteDescription(offer.sdp, 'offer');
    // Without this side's candidates, as for the microphones: with them, the SFU (the offerer here)
    // refused an answer now and then ("Got a remote candidate without ICE transport", 1 of 3 runs
    // of 50 answers); it learns the address from this side's checks instead.
    const answer = (await gatheredDescription(this.pc, TIMEOUT_MS)).replace(/^a=candidate:.*\r\n/gm, '');
    const reply = await client.request({ type: 'subscriberAnswer', sdp: answer }, TIMEOUT_MS);
    assert.equal(reply.type, 'ack', JSON.stringify(reply));
  }

  /** Its connection's states and what it received, for a failure's message. */
  describe(): string {
    return `${this.payloads.length} payloads, ${this.tracks.length} tracks, ${this.offerCandidates} candidates offered, connection ${this.pc.state()}, ICE ${this.pc.iceState()}, signaling ${this.pc.signalingState()}`;
  }

  /** The payloads received from `since` on (at most `count`). */
  since(since: number, count = 50): Buffer[] {
    return this.payloads.filter((p) => p.at >= since).slice(0, count).map((p) => p.payload);
  }
}

/** Each stream's level of each tone (dB). */
const toneLevels = async (streams: Buffer[][], tones: number[]): Promise<number[][]> => streams.map((payloads) => toneLevelsDb(payloads, tones));

async function mcuMetrics(): Promise<{ encodes: number; ticks: number; shared: number }> {
  const { text } = await scrape(server!.url);
  return { encodes: sample(text, 'parley_mcu_mix_encodes_total')!, ticks: sample(text, 'parley_mcu_mixer_ticks_total')!, shared: sample(text, 'parley_mcu_shared_mix_listeners')! };
}

async function webinar(): Promise<void> {
  const room = 'webinar';
  const speakers = await Promise.all(Object.keys(SPEAKERS).map((name) => join(room, name)));
  const microphones = Object.values(SPEAKERS).map((hz) => new Microphone(hz));
  for (const [i, microphone] of microphones.entries()) await microphone.publish(speakers[i]!);
  const listenerNames = Array.from({ length: LISTENER_COUNT }, (_, i) => `listener-${i}`);
  const listeners = await Promise.all(listenerNames.map((name) => join(room, name)));
  const receivers = listeners.map(() => new MixReceiver());
  const joinedAt = performance.now();
  await Promise.all(receivers.map((receiver, i) => receiver.answer(listeners[i]!)));
  await until(() => receivers.every((r) => r.payloads.length >= 100), "2 s of every listener's mix", () =>
    receivers.flatMap((r, i) => (r.payloads.length >= 100 ? [] : [`listener-${i}: ${r.describe()}`])).join('; '),
  );
  console.log(`every listener's mix flowing ${(performance.now() - joinedAt).toFixed(0)} ms after the ${LISTENER_COUNT} joined`);

  // Every listener hears every speaker: each tone 20 dB or more above a frequency nobody sends.
  const since = performance.now() - 1500;
  const tones = [...Object.values(SPEAKERS), NOBODY_HZ];
  const levels = await toneLevels(receivers.map((receiver) => receiver.since(since)), tones);
  console.log(`listener-0 hears ${tones.map((hz, t) => `${hz} Hz ${levels[0]![t]!.toFixed(1)} dB`).join(', ')}`);
  for (const [i, heard] of levels.entries()) {
    for (const [t, hz] of Object.values(SPEAKERS).entries()) assert.ok(heard[t]! > heard.at(-1)! + 20, `listener-${i} hears ${hz} Hz (${heard[t]!.toFixed(1)} dB, nobody's ${NOBODY_HZ} Hz ${heard.at(-1)!.toFixed(1)} dB)`);
  }

  // The mixer's own count, through signaling's /metrics (its stats reach signaling once a second).
  await eventually(async () => (await mcuMetrics()).shared === LISTENER_COUNT, `${LISTENER_COUNT} listeners on the shared mix in /metrics`);
  const start = await mcuMetrics();
  let end = start;
  await eventually(async () => (end = await mcuMetrics()).ticks - start.ticks >= 100, '2 s of mixer ticks in /metrics');
  const perTick = (end.encodes - start.encodes) / (end.ticks - start.ticks);
  console.log(`/metrics: ${end.encodes - start.encodes} encodes in ${end.ticks - start.ticks} ticks (${perTick} per tick), ${end.shared} listeners on the shared mix`);
  assert.equal(perTick, Object.keys(SPEAKERS).length + 1, 'one encode per speaker and one for all the listeners');

  // A listener starts publishing: its stream stops carrying the shared payloads (listener-0's).
  const chosen = Math.min(7, LISTENER_COUNT - 1);
  const [newSpeaker, reference] = [receivers[chosen]!, receivers[0]!];
  const microphone = new Microphone(NEW_SPEAKER_HZ);
  const publishedAt = performance.now();
  await microphone.publish(listeners[chosen]!);
  const sharedPayloads = () => new Set(reference.payloads.map((p) => p.payload.toString('base64')));
  await until(() => newSpeaker.payloads.filter((p) => p.at >= publishedAt).length >= 75, "1.5 s of the new speaker's mix after it published");
  const own = newSpeaker.payloads.find((p) => p.at >= publishedAt && !sharedPayloads().has(p.payload.toString('base64')));
  assert.ok(own, "the new speaker's stream has payloads of its own after it published");
  const ownAfterMs = own.at - publishedAt;
  await until(() => newSpeaker.payloads.filter((p) => p.at >= own.at + 200).length >= 50, "a second of the new speaker's own mix");
  const [ownMix, sharedMix] = await toneLevels([newSpeaker.since(own.at + 200), reference.since(own.at + 200)], [440, NEW_SPEAKER_HZ, NOBODY_HZ]);
  console.log(`the new speaker published: its own mix-minus ${ownAfterMs.toFixed(0)} ms after publishTrack was sent; in it 440 Hz ${ownMix![0]!.toFixed(1)} dB, its own ${NEW_SPEAKER_HZ} Hz ${ownMix![1]!.toFixed(1)} dB (nobody's ${NOBODY_HZ} Hz ${ownMix![2]!.toFixed(1)} dB); listener-0 hears ${NEW_SPEAKER_HZ} Hz at ${sharedMix![1]!.toFixed(1)} dB`);
  assert.ok(ownAfterMs < 1000, 'its own mix within a second');
  assert.ok(ownMix![0]! > ownMix![1]! + 20, 'the new speaker does not hear itself');
  assert.ok(ownMix![1]! < ownMix![2]! + 6, 'its own tone is no louder than a frequency nobody sends');
  assert.ok(sharedMix![1]! > sharedMix![2]! + 20, 'the other listeners hear it');
  await eventually(async () => (await mcuMetrics()).shared === LISTENER_COUNT - 1, `${LISTENER_COUNT - 1} listeners on the shared mix in /metrics`);

  // It unpublishes: back on the shared mix.
  const unpublishedAt = performance.now();
  const reply = await listeners[chosen]!.request({ type: 'unpublishTrack', trackId: microphone.trackId }, TIMEOUT_MS);
  assert.equal(reply.type, 'ack', JSON.stringify(reply));
  microphone.stop();
  await until(() => newSpeaker.payloads.filter((p) => p.at >= unpublishedAt).length >= 75, "1.5 s of the new speaker's mix after it unpublished");
  const back = newSpeaker.payloads.find((p) => p.at >= unpublishedAt && sharedPayloads().has(p.payload.toString('base64')));
  assert.ok(back, 'the new speaker hears the shared mix again');
  console.log(`the new speaker unpublished: back on the shared mix ${(back.at - unpublishedAt).toFixed(0)} ms after unpublishTrack was sent`);
  assert.ok(back.at - unpublishedAt < 1000, 'within a second');
  await eventually(async () => (await mcuMetrics()).shared === LISTENER_COUNT, `${LISTENER_COUNT} listeners on the shared mix again in /metrics`);
}

async function eventually(condition: () => Promise<boolean>, what: string): Promise<void> {
  const start = performance.now();
  while (!(await condition())) {
    if (performance.now() - start > TIMEOUT_MS) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

let failed = false;
try {
  // A webinar is bigger than the default room (16).
  server = await startTestServer({ rooms: { topology: 'mcu', maxParticipants: 64 }, sfu: { workers: 1, udpPort: await freeUdpPort() } });
  await webinar();
} catch (error) {
  failed = true;
  console.error(error);
} finally {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await server?.close();
}
process.exit(failed ? 1 : 0);
