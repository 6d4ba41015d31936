/**
 * The shared mix in process (RoomMixer with real Opus, no I/O): a webinar of 3 speakers and 50
 * listeners who publish nothing. The listeners all get the same Opus payloads (one encode per
 * tick for all of them) in packets of their own numbering, holding every speaker's tone; each
 * speaker gets its own mix-minus; a listener who starts publishing moves to a mix-minus of its
 * own at the next tick and back to the shared mix when its track ends.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OpusDecoder } from '../../src/mcu/opus-codec.ts';
import { RoomMixer, type MixedPacket } from '../../src/mcu/room-mixer.ts';
import { sequenceNumber } from '../../src/sfu/rtp/rtp.ts';
import { concat, describeTrack, levelDb, TonePublisher } from './tones.ts';

const SPEAKERS = { a: 440, b: 1000, c: 2300 } as const;
const LISTENERS = Array.from({ length: 50 }, (_, i) => `listener-${i}`);
/** The tone a listener publishes when it starts speaking. */
const NEW_SPEAKER_HZ = 3100;

test('3 speakers and 50 listeners: 4 encodes per tick; every listener hears every speaker; a listener who speaks gets its own mix-minus and goes back', () => {
  const mixer = new RoomMixer();
  const publishers = new Map<string, TonePublisher>();
  let nextTrack = 1;
  const tracks = new Map<string, number>();
  const publish = (participant: string, hz: number) => {
    tracks.set(participant, nextTrack);
    mixer.addInput(nextTrack++, describeTrack(participant));
    publishers.set(participant, new TonePublisher(hz));
  };
  for (const [speaker, hz] of Object.entries(SPEAKERS)) publish(speaker, hz);
  for (const participant of [...Object.keys(SPEAKERS), ...LISTENERS]) mixer.setListener(participant, true);

  const heard = new Map<string, Float32Array[]>();
  const decoders = new Map<string, OpusDecoder>();
  const lastSequence = new Map<string, number>();
  let frame = 0;
  /** One tick with every publisher's next packet; checks each listener's numbering continues. */
  const tick = (): { packets: Map<string, MixedPacket>; encodes: number } => {
    for (const [participant, publisher] of publishers) mixer.receive(tracks.get(participant)!, publisher.next(), 1000 + frame);
    frame += 1;
    const before = mixer.encodes;
    const packets = new Map(mixer.tick().map((packet) => [packet.listener, packet]));
    for (const [listener, { packet }] of packets) {
      const previous = lastSequence.get(listener);
      if (previous !== undefined) assert.equal(sequenceNumber(packet), (previous + 1) & 0xffff, `${listener}'s stream goes on without a hole`);
      lastSequence.set(listener, sequenceNumber(packet));
      if (!decoders.has(listener)) decoders.set(listener, new OpusDecoder());
      (heard.get(listener) ?? heard.set(listener, []).get(listener)!).push(decoders.get(listener)!.decode(packet.subarray(12)));
    }
    return { packets, encodes: mixer.encodes - before };
  };
  const payload = (packet: MixedPacket) => packet.packet.subarray(12);
  const heardSince = (listener: string, from: number) => concat(heard.get(listener)!.slice(from));

  for (let i = 0; i < 50; i++) {
    const { packets, encodes } = tick();
    assert.equal(packets.size, 53, 'a packet for every listener each tick');
    assert.equal(encodes, 4, 'one encode per speaker and one shared by the 50 listeners');
    const shared = payload(packets.get(LISTENERS[0]!)!);
    for (const listener of LISTENERS) assert.ok(payload(packets.get(listener)!).equals(shared), `${listener} gets the shared payload`);
    assert.equal(new Set(LISTENERS.map((listener) => packets.get(listener)!.output)).size, 50, 'each listener in its own output (numbering)');
  }
  assert.equal(mixer.sharedListeners, 50);
  for (const listener of [LISTENERS[0]!, LISTENERS[49]!]) {
    const audio = heardSince(listener, 10);
    for (const hz of Object.values(SPEAKERS)) assert.ok(levelDb(audio, hz) > 15, `${listener} hears ${hz} Hz (${levelDb(audio, hz).toFixed(1)} dB)`);
  }
  for (const [speaker, hz] of Object.entries(SPEAKERS)) {
    const audio = heardSince(speaker, 10);
    const others = Object.values(SPEAKERS).filter((other) => other !== hz);
    for (const other of others) assert.ok(levelDb(audio, other) > levelDb(audio, hz) + 40, `${speaker} hears ${other} Hz, not its own ${hz} Hz`);
  }

  // listener-7 starts publishing: its own mix-minus from the next tick (its track is known before
  // its first audio is buffered), the 49 others stay on the shared one.
  const newSpeaker = LISTENERS[7]!;
  publish(newSpeaker, NEW_SPEAKER_HZ);
  const switchedAt = heard.get(newSpeaker)!.length;
  for (let i = 0; i < 50; i++) {
    const { packets, encodes } = tick();
    assert.equal(encodes, 5);
    assert.ok(!payload(packets.get(newSpeaker)!).equals(payload(packets.get(LISTENERS[0]!)!)), 'the new speaker has a mix of its own');
  }
  assert.equal(mixer.sharedListeners, 49);
  const ownMix = heardSince(newSpeaker, switchedAt + 10);
  const sharedMix = heardSince(LISTENERS[0]!, switchedAt + 10);
  console.log(`after publishing, ${newSpeaker} hears its own ${NEW_SPEAKER_HZ} Hz at ${levelDb(ownMix, NEW_SPEAKER_HZ).toFixed(1)} dB and 440 Hz at ${levelDb(ownMix, 440).toFixed(1)} dB; the shared mix has ${NEW_SPEAKER_HZ} Hz at ${levelDb(sharedMix, NEW_SPEAKER_HZ).toFixed(1)} dB`);
  assert.ok(levelDb(ownMix, 440) > levelDb(ownMix, NEW_SPEAKER_HZ) + 40, 'it does not hear itself');
  assert.ok(levelDb(sharedMix, NEW_SPEAKER_HZ) > 15, 'the others hear it');

  // Its track ends: back on the shared mix at the next tick.
  mixer.removeInput(`TR_${newSpeaker}`);
  publishers.delete(newSpeaker);
  for (let i = 0; i < 5; i++) {
    const { packets, encodes } = tick();
    assert.equal(encodes, 4);
    assert.ok(payload(packets.get(newSpeaker)!).equals(payload(packets.get(LISTENERS[0]!)!)), 'back on the shared mix');
  }
  assert.equal(mixer.sharedListeners, 50);

  // A speaker leaving the mix's listeners (its membership ends) takes its encoder with it.
  mixer.setListener('a', false);
  mixer.removeInputsOf('a');
  assert.equal(tick().encodes, 3);
  mixer.close();
  for (const decoder of decoders.values()) decoder.close();
  for (const publisher of publishers.values()) publisher.close();
});
