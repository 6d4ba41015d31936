import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FRAME_SAMPLES } from '../../src/mcu/mix-minus.ts';
import { OpusDecoder, OpusEncoder } from '../../src/mcu/opus-codec.ts';

const tone = (hz: number, amplitude: number, frame: number) => Float32Array.from({ length: FRAME_SAMPLES }, (_, i) => amplitude * Math.sin((2 * Math.PI * hz * (frame * FRAME_SAMPLES + i)) / 48_000));
const rms = (samples: Float32Array) => Math.sqrt(samples.reduce((sum, s) => sum + s * s, 0) / samples.length);

test('a tone through the encoder and the decoder comes back at its level', () => {
  const encoder = new OpusEncoder();
  const decoder = new OpusDecoder();
  try {
    let out: Float32Array = new Float32Array(0);
    for (let frame = 0; frame < 20; frame++) out = decoder.decode(encoder.encode(tone(700, 0.3, frame)));
    assert.equal(out.length, FRAME_SAMPLES);
    assert.ok(Math.abs(rms(out) - 0.3 / Math.SQRT2) < 0.03, `rms ${rms(out)}`);
  } finally {
    encoder.close();
    decoder.close();
  }
});

test('codecs coming and going beside a long-lived pair, past a growth of the heap, leave its packets bit for bit what a pair alone makes', () => {
  // Two encoders fed the same frames make the same packets while nothing else writes into their
  // state. Hundreds of other codecs, made, used and closed between their frames, grow the
  // WebAssembly heap (opusscript's own class then throws on a detached buffer) and reuse freed
  // memory around them (where its misplaced buffers overwrote a neighbour's state).
  const alone = new OpusEncoder();
  const crowded = new OpusEncoder();
  const decoder = new OpusDecoder();
  const others: Array<OpusEncoder | OpusDecoder> = [];
  try {
    for (let frame = 0; frame < 60; frame++) {
      const input = tone(440 + frame, 0.2, frame);
      const expected = alone.encode(input);
      for (let i = 0; i < 10; i++) {
        const other = i % 2 === 0 ? new OpusEncoder() : new OpusDecoder();
        if (other instanceof OpusEncoder) decoder.decode(other.encode(tone(1000, 0.5, frame)));
        else other.decode(expected);
        others.push(other);
      }
      // Close some, keep most: the heap both grows and reuses.
      for (const other of others.splice(0, 3)) other.close();
      assert.deepEqual(crowded.encode(input), expected, `frame ${frame}: the crowded encoder's packet`);
      assert.equal(decoder.decode(expected).length, FRAME_SAMPLES);
    }
  } finally {
    for (const codec of [alone, crowded, decoder, ...others]) codec.close();
  }
});

test('a closed codec says so instead of touching freed memory', () => {
  const encoder = new OpusEncoder();
  encoder.close();
  assert.throws(() => encoder.encode(tone(440, 0.1, 0)), /closed/);
  encoder.close();
});
