/**
 * A webinar through the real mixer process and the SFU worker's side of its connection
 * (MixerLink), no browser: 3 speakers publish tones as Opus RTP in real time, 50 listeners who
 * publish nothing each get a stream back. Every listener hears every speaker, the mixer encodes
 * 4 frames per tick (its own `stats` messages, the metric's source), a listener who starts
 * publishing gets its own mix-minus within a second and goes back to the shared mix when its
 * track ends (`inputEnded`, what the worker sends on unpublish).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MixerStats } from '../../src/mcu/mixer-main.ts';
import { MixerProcess } from '../../src/mcu/mixer-process.ts';
import { OpusDecoder } from '../../src/mcu/opus-codec.ts';
import type { PacketRecorder } from '../../src/sfu/worker/recording-tap.ts';
import { MixerLink } from '../../src/sfu/worker/mixer-link.ts';
import { concat, describeTrack, levelDb, TonePublisher } from './tones.ts';

const SPEAKERS = { a: 440, b: 1000, c: 2300 } as const;
const LISTENERS = Array.from({ length: 50 }, (_, i) => `listener-${i}`);
const NEW_SPEAKER_HZ = 3100;
const TIMEOUT_MS = 10_000;

interface Received {
  at: number;
  payload: Buffer;
}

async function until(condition: () => boolean, what: string): Promise<number> {
  const start = performance.now();
  while (!condition()) {
    if (performance.now() - start > TIMEOUT_MS) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return performance.now() - start;
}

test('3 speakers and 50 listeners through the mixer process: every listener hears every speaker from 4 encodes per tick; a listener who publishes gets its own mix-minus within a second, and the shared mix back when it stops', async () => {
  const stats: MixerStats[] = [];
  const mixerProcess = await MixerProcess.start({ room: 'webinar', secret: 's3cret' }, (error) => assert.fail(error), (s) => stats.push(s));
  const received = new Map<string, Received[]>(LISTENERS.map((listener) => [listener, []]));
  const link = new MixerLink({
    target: { recording: 'webinar', port: mixerProcess.port, secret: 's3cret' },
    onError: (message) => assert.fail(message),
    onMixed: (listener, packet) => received.get(listener)?.push({ at: performance.now(), payload: packet.subarray(12) }),
  });
  const publishers = new Map<string, { publisher: TonePublisher; input: PacketRecorder }>();
  const publish = (participant: string, hz: number) => publishers.set(participant, { publisher: new TonePublisher(hz), input: link.input(describeTrack(participant)) });
  // Real time: a packet of each publisher every 20 ms, as a browser sends them.
  const feeding = setInterval(() => {
    for (const { publisher, input } of publishers.values()) input.rtp(0, publisher.next());
  }, 20);
  const steady = (perTick: number, shared: number) => stats.some((s) => s.ticks >= 40 && s.encodes === perTick * s.ticks && s.sharedListeners === shared);
  try {
    for (const [speaker, hz] of Object.entries(SPEAKERS)) publish(speaker, hz);
    for (const participant of [...Object.keys(SPEAKERS), ...LISTENERS]) link.listener(participant, true);
    await until(() => received.get(LISTENERS[49]!)!.length >= 100, "2 s of every listener's mix");
    await until(() => steady(4, 50), 'a second of the mixer encoding 4 frames per tick for 50 shared listeners');
    console.log(`mixer stats: ${JSON.stringify(stats.at(-1))}`);

    for (const listener of LISTENERS) {
      const decoder = new OpusDecoder();
      const audio = concat(received.get(listener)!.slice(20).map(({ payload }) => decoder.decode(payload)));
      decoder.close();
      for (const hz of Object.values(SPEAKERS)) assert.ok(levelDb(audio, hz) > 15, `${listener} hears ${hz} Hz (${levelDb(audio, hz).toFixed(1)} dB)`);
    }

    // listener-7 starts publishing: from when its first packet goes to the mixer, until its stream
    // stops carrying the shared payload (listener-0's packet of the same tick).
    const newSpeaker = LISTENERS[7]!;
    const distinctFromShared = (from: number) => {
      const own = received.get(newSpeaker)!;
      const shared = received.get(LISTENERS[0]!)!;
      for (let i = from; i < Math.min(own.length, shared.length); i++) if (!own[i]!.payload.equals(shared[i]!.payload)) return own[i];
      return undefined;
    };
    assert.equal(received.get(newSpeaker)!.length, received.get(LISTENERS[0]!)!.length, 'listeners get one packet each per tick');
    const before = received.get(newSpeaker)!.length;
    const publishedAt = performance.now();
    publish(newSpeaker, NEW_SPEAKER_HZ);
    await until(() => distinctFromShared(before) !== undefined, `${newSpeaker}'s own mix`);
    const ownMixMs = distinctFromShared(before)!.at - publishedAt;
    await until(() => steady(5, 49), 'the mixer encoding 5 frames per tick, 49 on the shared mix');
    const switched = received.get(newSpeaker)!.length;
    await until(() => received.get(newSpeaker)!.length >= switched + 50, `a second of ${newSpeaker}'s own mix`);
    const decoder = new OpusDecoder();
    const ownMix = concat(received.get(newSpeaker)!.slice(switched).map(({ payload }) => decoder.decode(payload)).slice(10));
    decoder.close();
    console.log(`${newSpeaker} published: its own mix-minus ${ownMixMs.toFixed(0)} ms later; in it 440 Hz ${levelDb(ownMix, 440).toFixed(1)} dB, its own ${NEW_SPEAKER_HZ} Hz ${levelDb(ownMix, NEW_SPEAKER_HZ).toFixed(1)} dB`);
    assert.ok(ownMixMs < 1000, 'within a second');
    assert.ok(levelDb(ownMix, 440) > levelDb(ownMix, NEW_SPEAKER_HZ) + 40, 'it does not hear itself');

    // Its track ends (the worker's unpublish): back on the shared mix.
    const endedAt = performance.now();
    publishers.delete(newSpeaker);
    link.inputEnded(`TR_${newSpeaker}`);
    const sameAsShared = (from: number) => {
      const own = received.get(newSpeaker)!;
      const shared = received.get(LISTENERS[0]!)!;
      for (let i = from; i < Math.min(own.length, shared.length); i++) if (own[i]!.payload.equals(shared[i]!.payload)) return own[i];
      return undefined;
    };
    const endIndex = received.get(newSpeaker)!.length;
    await until(() => sameAsShared(endIndex) !== undefined, `${newSpeaker} back on the shared mix`);
    console.log(`its track ended: back on the shared mix ${(sameAsShared(endIndex)!.at - endedAt).toFixed(0)} ms later`);
    assert.ok(sameAsShared(endIndex)!.at - endedAt < 1000);
    stats.length = 0;
    await until(() => steady(4, 50), 'the mixer back at 4 encodes per tick');
  } finally {
    clearInterval(feeding);
    link.close();
    await mixerProcess.stop();
    for (const { publisher } of publishers.values()) publisher.close();
  }
});
