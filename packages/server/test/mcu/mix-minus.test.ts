import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FRAME_SAMPLES, GATE_RMS, LevelNormalizer, LIMITER_KNEE, MAX_GAIN, mixMinus, mixRoom, rms, softLimit, TARGET_RMS, floatToPcm, pcmToFloat } from '../../src/mcu/mix-minus.ts';

const tone = (hz: number, amplitude: number, frame = 0) =>
  Float32Array.from({ length: FRAME_SAMPLES }, (_, i) => amplitude * Math.sin((2 * Math.PI * hz * (frame * FRAME_SAMPLES + i)) / 48_000));
const constant = (value: number) => new Float32Array(FRAME_SAMPLES).fill(value);

describe('mixRoom', () => {
  test("one mix of every voice for those who publish none, and each speaker's own without its voices", () => {
    const voices = [
      { owner: 'a', samples: constant(0.1) },
      { owner: 'a', samples: constant(0.01) },
      { owner: 'b', samples: constant(0.02) },
    ];
    const { everyone, minus } = mixRoom(voices, ['a', 'b', 'quiet']);
    assert.ok(Math.abs(everyone[0]! - 0.13) < 1e-7);
    assert.ok(Math.abs(minus.get('a')![0]! - 0.02) < 1e-7);
    assert.ok(Math.abs(minus.get('b')![0]! - 0.11) < 1e-7);
    // A speaker with nothing buffered this tick hears everyone (the same frame, not a copy).
    assert.equal(minus.get('quiet'), everyone);
    assert.equal(minus.size, 3);
  });

  test('the shared mix is limited like a mix-minus', () => {
    const { everyone } = mixRoom(['a', 'b', 'c'].map((owner) => ({ owner, samples: constant(0.9) })), []);
    assert.ok(everyone[0]! < 1 && everyone[0]! > LIMITER_KNEE);
  });
});

describe('mixMinus', () => {
  test('each listener gets the sum of the others and never its own voice', () => {
    const voices = [
      { owner: 'a', samples: constant(0.1) },
      { owner: 'b', samples: constant(0.02) },
      { owner: 'c', samples: constant(-0.05) },
    ];
    const mixes = mixMinus(voices, ['a', 'b', 'c', 'viewer']);
    assert.ok(Math.abs(mixes.get('a')![0]! - (0.02 - 0.05)) < 1e-7);
    assert.ok(Math.abs(mixes.get('b')![0]! - (0.1 - 0.05)) < 1e-7);
    assert.ok(Math.abs(mixes.get('c')![0]! - (0.1 + 0.02)) < 1e-7);
    // Someone who publishes nothing hears everyone.
    assert.ok(Math.abs(mixes.get('viewer')![0]! - 0.07) < 1e-7);
  });

  test("taking a voice out of the float64 sum leaves none of it (not even float32's rounding)", () => {
    const own = tone(440, 0.4);
    const mixes = mixMinus([{ owner: 'me', samples: own }, { owner: 'other', samples: tone(700, 1e-9) }], ['me']);
    const residue = mixes.get('me')!;
    for (let i = 0; i < FRAME_SAMPLES; i++) assert.ok(Math.abs(residue[i]! - (1e-9 * Math.sin((2 * Math.PI * 700 * i) / 48_000))) < 1e-12);
  });

  test("all of a participant's voices are left out (microphone and screen audio)", () => {
    const mixes = mixMinus([{ owner: 'a', samples: constant(0.2) }, { owner: 'a', samples: constant(0.1) }, { owner: 'b', samples: constant(0.05) }], ['a']);
    assert.ok(Math.abs(mixes.get('a')![0]! - 0.05) < 1e-7);
  });

  test('a listener alone hears silence', () => {
    const mixes = mixMinus([{ owner: 'a', samples: constant(0.3) }], ['a']);
    assert.ok(mixes.get('a')!.every((s) => s === 0));
    assert.equal(mixMinus([], ['a']).get('a')!.length, FRAME_SAMPLES);
  });
});

describe('softLimit', () => {
  test('the identity up to the knee, continuous, monotonic and never full scale above it', () => {
    assert.equal(softLimit(0.3), 0.3);
    assert.equal(softLimit(-LIMITER_KNEE), -LIMITER_KNEE);
    assert.ok(Math.abs(softLimit(LIMITER_KNEE + 1e-6) - LIMITER_KNEE) < 1e-5);
    let previous = 0;
    for (let x = 0; x <= 8; x += 0.01) {
      const y = softLimit(x);
      assert.ok(y >= previous && y < 1, `limited at ${x}`);
      assert.equal(softLimit(-x), -y);
      previous = y;
    }
  });

  test('four loud voices summed stay within full scale', () => {
    const mixes = mixMinus(['a', 'b', 'c', 'd', 'e'].map((owner) => ({ owner, samples: constant(0.9) })), ['a']);
    assert.ok(mixes.get('a')!.every((s) => s < 1 && s > 0.9));
  });
});

describe('LevelNormalizer', () => {
  test('a quiet and a loud voice converge to the target level within half a second', () => {
    for (const amplitude of [0.02, 0.3]) {
      const normalizer = new LevelNormalizer();
      let out: Float32Array = new Float32Array();
      for (let frame = 0; frame < 25; frame++) out = normalizer.process(tone(300, amplitude, frame));
      const level = rms(out);
      assert.ok(Math.abs(20 * Math.log10(level / TARGET_RMS)) < 1, `amplitude ${amplitude}: ${level.toFixed(4)} against ${TARGET_RMS}`);
    }
  });

  test('silence below the gate keeps the gain (no pumping up of noise), and the gain is capped', () => {
    const normalizer = new LevelNormalizer();
    for (let frame = 0; frame < 50; frame++) normalizer.process(constant(GATE_RMS / 2));
    assert.equal(normalizer.gain, 1);
    for (let frame = 0; frame < 200; frame++) normalizer.process(tone(300, 0.005, frame));
    assert.ok(normalizer.gain <= MAX_GAIN + 1e-9 && normalizer.gain > MAX_GAIN * 0.99);
  });

  test('the input frame is left as it is', () => {
    const input = tone(300, 0.5);
    const copy = Float32Array.from(input);
    new LevelNormalizer().process(input);
    assert.deepEqual(input, copy);
  });
});

test('PCM conversion round trip, clamped at full scale', () => {
  const samples = Float32Array.from([0, 0.5, -0.5, 1.5, -1.5]);
  const back = pcmToFloat(floatToPcm(samples));
  assert.ok(Math.abs(back[1]! - 0.5) < 1e-4 && Math.abs(back[2]! + 0.5) < 1e-4);
  assert.ok(back[3]! < 1 && back[3]! > 0.999 && back[4]! >= -1);
});
