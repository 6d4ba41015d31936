/**
 * The mixer with real Opus (libopus in WebAssembly) and no browser: two publishers' tones go in
 * as RTP, each listener's mix comes out as RTP; decoded, a listener's mix holds the other's tone
 * and not its own. First in process (RoomMixer), then through the mixer process and the SFU
 * worker's side of the connection (MixerLink), as an MCU room runs them.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { OpusDecoder } from '../../src/mcu/opus-codec.ts';
import { RoomMixer } from '../../src/mcu/room-mixer.ts';
import { MixerProcess } from '../../src/mcu/mixer-process.ts';
import { MixerLink } from '../../src/sfu/worker/mixer-link.ts';
import { concat, describeTrack, levelDb, TonePublisher } from './tones.ts';

describe('RoomMixer', () => {
  test("each listener's decoded mix holds the other's tone, ~40 dB above its own", () => {
    const mixer = new RoomMixer();
    mixer.addInput(1, describeTrack('a'));
    mixer.addInput(2, describeTrack('b'));
    mixer.setListener('a', true);
    mixer.setListener('b', true);
    const publishers = { a: new TonePublisher(440), b: new TonePublisher(1000) };
    const decoders = { a: new OpusDecoder(), b: new OpusDecoder() };
    const heard: Record<'a' | 'b', Float32Array[]> = { a: [], b: [] };
    for (let frame = 0; frame < 50; frame++) {
      mixer.receive(1, publishers.a.next(), 1000 + frame);
      mixer.receive(2, publishers.b.next(), 1000 + frame);
      for (const { listener, packet, inputArrivalMs } of mixer.tick()) {
        if (frame > 2) assert.equal(inputArrivalMs, 1000 + frame - 1, 'two frames primed: the mix is one frame behind the newest input');
        heard[listener as 'a' | 'b'].push(decoders[listener as 'a' | 'b'].decode(packet.subarray(12)));
      }
    }
    const a = concat(heard.a.slice(10));
    const b = concat(heard.b.slice(10));
    console.log(`a hears 1000 Hz at ${levelDb(a, 1000).toFixed(1)} dB, its own 440 Hz at ${levelDb(a, 440).toFixed(1)} dB; b hears 440 Hz at ${levelDb(b, 440).toFixed(1)} dB, its own 1000 Hz at ${levelDb(b, 1000).toFixed(1)} dB`);
    assert.ok(levelDb(a, 1000) > levelDb(a, 440) + 40);
    assert.ok(levelDb(b, 440) > levelDb(b, 1000) + 40);
    mixer.close();
  });

  test('repeated, foreign-payload-type and corrupt packets are skipped', () => {
    const mixer = new RoomMixer();
    mixer.addInput(1, describeTrack('a'));
    mixer.setListener('b', true);
    const publisher = new TonePublisher(440);
    const packet = publisher.next();
    mixer.receive(1, packet, 1);
    mixer.receive(1, packet, 2);
    const foreign = Buffer.from(publisher.next());
    foreign[1] = 96;
    mixer.receive(1, foreign, 3);
    mixer.receive(9, publisher.next(), 4);
    // One frame buffered: not primed, so b hears silence and nothing is attributed to an input.
    assert.deepEqual(mixer.tick().map((p) => p.inputArrivalMs), [0]);
    mixer.close();
  });
});

describe('mixer process and MixerLink', () => {
  test('the worker side feeds two publishers and gets back each listener\'s mix-minus; a stranger without the secret is refused', async () => {
    const mixerProcess = await MixerProcess.start({ room: 'r', secret: 's3cret' }, () => undefined);
    const received = new Map<string, Buffer[]>();
    const latencies: number[] = [];
    const link = new MixerLink({
      target: { recording: 'r', port: mixerProcess.port, secret: 's3cret' },
      onError: (message) => assert.fail(message),
      onMixed: (listener, packet, inputArrivalMs) => {
        (received.get(listener) ?? received.set(listener, []).get(listener)!).push(packet);
        if (inputArrivalMs > 0) latencies.push(performance.timeOrigin + performance.now() - inputArrivalMs);
      },
    });
    const stranger = new MixerLink({ target: { recording: 'r', port: mixerProcess.port, secret: 'wrong' }, onError: () => undefined, onMixed: () => assert.fail('a stranger got a mix') });
    stranger.listener('x', true);
    try {
      link.listener('a', true);
      link.listener('b', true);
      const inputs = { a: link.input(describeTrack('a')), b: link.input(describeTrack('b')) };
      const publishers = { a: new TonePublisher(440), b: new TonePublisher(1000) };
      for (let frame = 0; frame < 60; frame++) {
        inputs.a.rtp(0, publishers.a.next());
        inputs.b.rtp(0, publishers.b.next());
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const decode = (listener: string) => {
        const decoder = new OpusDecoder();
        return concat((received.get(listener) ?? []).slice(15).map((packet) => decoder.decode(packet.subarray(12))));
      };
      const [a, b] = [decode('a'), decode('b')];
      latencies.sort((x, y) => x - y);
      console.log(`through the process: ${received.get('a')?.length} packets for a, ${received.get('b')?.length} for b; a hears 1000 Hz ${levelDb(a, 1000).toFixed(1)} dB / own 440 Hz ${levelDb(a, 440).toFixed(1)} dB; input arrival -> mix back: median ${latencies[latencies.length >> 1]?.toFixed(1)} ms, p95 ${latencies[Math.floor(latencies.length * 0.95)]?.toFixed(1)} ms`);
      assert.ok((received.get('a')?.length ?? 0) > 40, 'a mix packet every 20 ms');
      assert.ok(levelDb(a, 1000) > levelDb(a, 440) + 40);
      assert.ok(levelDb(b, 440) > levelDb(b, 1000) + 40);
      assert.ok(latencies[latencies.length >> 1]! < 80, 'the mixer holds audio for two to three frames, not more');
    } finally {
      link.close();
      stranger.close();
      await mixerProcess.stop();
    }
  });
});
